//! The book's `GRU` and `TimeGRU` (`common/time_layers.py`), with their
//! hand-written backward passes.
//!
//! The gates are packed in the columns of `Wx [D, 3H]`, `Wh [H, 3H]` and
//! `b [3H]` in the book's order z (update), r (reset), h̃ (candidate):
//! `z = σ(x·Wxz + h·Whz + bz)`, `r = σ(x·Wxr + h·Whr + br)`,
//! `h̃ = tanh(x·Wxh + (r·h)·Whh + bh)`, `h' = (1 - z)·h + z·h̃`.

use ndarray::{Array2, Array3, ArrayView2, Axis, s};

use super::Real;
use super::cell::{CellGrads, CellParams, sigmoid};

/// Columns `k·H .. (k+1)·H` of a packed matrix: gate `k`'s block.
fn gate<F: Real>(w: &Array2<F>, k: usize, h: usize) -> ArrayView2<'_, F> {
    w.slice(s![.., k * h..(k + 1) * h])
}

struct Cache<F: Real> {
    x: Array2<F>,
    h_prev: Array2<F>,
    z: Array2<F>,
    r: Array2<F>,
    h_hat: Array2<F>,
}

/// One GRU step.
pub struct Gru<F: Real> {
    cache: Option<Cache<F>>,
}

impl<F: Real> Default for Gru<F> {
    fn default() -> Self {
        Self { cache: None }
    }
}

impl<F: Real> Gru<F> {
    /// `x [N, D]`, `h_prev [N, H]` → `h_next [N, H]`.
    pub fn forward(&mut self, p: &CellParams<F>, x: &Array2<F>, h_prev: &Array2<F>) -> Array2<F> {
        let h = h_prev.ncols();
        let (bz, br, bh) = (p.b.slice(s![0..h]), p.b.slice(s![h..2 * h]), p.b.slice(s![2 * h..]));
        let z = (x.dot(&gate(&p.wx, 0, h)) + h_prev.dot(&gate(&p.wh, 0, h)) + bz).mapv(sigmoid);
        let r = (x.dot(&gate(&p.wx, 1, h)) + h_prev.dot(&gate(&p.wh, 1, h)) + br).mapv(sigmoid);
        let h_hat = (x.dot(&gate(&p.wx, 2, h)) + (&r * h_prev).dot(&gate(&p.wh, 2, h)) + bh).mapv(F::tanh);
        let h_next = z.mapv(|v| F::one() - v) * h_prev + &z * &h_hat;
        self.cache = Some(Cache { x: x.clone(), h_prev: h_prev.clone(), z, r, h_hat });
        h_next
    }

    /// `dh_next` → `(dx, dh_prev)`; this step's parameter gradients are written
    /// to `grads`.
    pub fn backward(
        &mut self,
        p: &CellParams<F>,
        dh_next: &Array2<F>,
        grads: &mut CellGrads<F>,
    ) -> (Array2<F>, Array2<F>) {
        let Cache { x, h_prev, z, r, h_hat } = self.cache.as_ref().expect("forward before backward");
        let h = h_prev.ncols();
        let one = F::one();
        let mut dh_prev = dh_next * &z.mapv(|v| one - v);

        // candidate h̃ = tanh(..)
        let dt_h = dh_next * z * &h_hat.mapv(|v| one - v * v);
        let dhr = dt_h.dot(&gate(&p.wh, 2, h).t()); // gradient wrt r·h_prev
        dh_prev = dh_prev + r * &dhr;

        // update gate z
        let dt_z = dh_next * &(h_hat - h_prev) * &z.mapv(|v| v * (one - v));
        // reset gate r
        let dt_r = &dhr * h_prev * &r.mapv(|v| v * (one - v));

        dh_prev = dh_prev + dt_z.dot(&gate(&p.wh, 0, h).t()) + dt_r.dot(&gate(&p.wh, 1, h).t());
        let dx = dt_z.dot(&gate(&p.wx, 0, h).t()) + dt_r.dot(&gate(&p.wx, 1, h).t()) + dt_h.dot(&gate(&p.wx, 2, h).t());

        let cat = |a: Array2<F>, b: Array2<F>, c: Array2<F>| {
            ndarray::concatenate(Axis(1), &[a.view(), b.view(), c.view()]).expect("three gate blocks")
        };
        grads.wx = cat(x.t().dot(&dt_z), x.t().dot(&dt_r), x.t().dot(&dt_h));
        grads.wh = cat(h_prev.t().dot(&dt_z), h_prev.t().dot(&dt_r), (r * h_prev).t().dot(&dt_h));
        grads.b = ndarray::concatenate(
            Axis(0),
            &[dt_z.sum_axis(Axis(0)).view(), dt_r.sum_axis(Axis(0)).view(), dt_h.sum_axis(Axis(0)).view()],
        )
        .expect("three gate blocks");
        (dx, dh_prev)
    }
}

/// `TimeGRU`: T `GRU` steps over `[N, T, D]`, stateful as `TimeRnn`.
pub struct TimeGru<F: Real> {
    /// The cell's parameters, shared by every step.
    pub params: CellParams<F>,
    /// Their gradients from the last backward.
    pub grads: CellGrads<F>,
    layers: Vec<Gru<F>>,
    /// The hidden state the next forward starts from (`None`: zeros).
    pub h: Option<Array2<F>>,
    /// Gradient with respect to the state the last forward started from.
    pub dh: Option<Array2<F>>,
    /// Whether the last state of a forward starts the next.
    pub stateful: bool,
}

impl<F: Real> TimeGru<F> {
    /// A layer of these parameters, its state zeros.
    pub fn new(params: CellParams<F>, stateful: bool) -> Self {
        let grads = CellGrads::zeros_like(&params);
        Self { params, grads, layers: Vec::new(), h: None, dh: None, stateful }
    }

    /// Starts the next forward from `h`.
    pub fn set_state(&mut self, h: Array2<F>) {
        self.h = Some(h);
    }

    /// Starts the next forward from zeros.
    pub fn reset_state(&mut self) {
        self.h = None;
    }

    /// `xs [N, T, D]` → `hs [N, T, H]`.
    pub fn forward(&mut self, xs: &Array3<F>) -> Array3<F> {
        let (n, t, _) = xs.dim();
        let h_size = self.params.wh.nrows();
        let mut h = match (&self.h, self.stateful) {
            (Some(h), true) => h.clone(),
            _ => Array2::zeros((n, h_size)),
        };
        let mut hs = Array3::zeros((n, t, h_size));
        self.layers = Vec::with_capacity(t);
        for step in 0..t {
            let mut layer = Gru::default();
            h = layer.forward(&self.params, &xs.slice(s![.., step, ..]).to_owned(), &h);
            hs.slice_mut(s![.., step, ..]).assign(&h);
            self.layers.push(layer);
        }
        self.h = Some(h);
        hs
    }

    /// `dhs [N, T, H]` → `dxs [N, T, D]`.
    pub fn backward(&mut self, dhs: &Array3<F>) -> Array3<F> {
        let (n, t, h_size) = dhs.dim();
        let d = self.params.wx.nrows();
        let mut dxs = Array3::zeros((n, t, d));
        let mut dh = Array2::zeros((n, h_size));
        let mut total = CellGrads::zeros_like(&self.params);
        let mut step_grads = CellGrads::zeros_like(&self.params);
        for step in (0..t).rev() {
            let upstream = &dhs.slice(s![.., step, ..]) + &dh;
            let (dx, dh_prev) = self.layers[step].backward(&self.params, &upstream, &mut step_grads);
            dxs.slice_mut(s![.., step, ..]).assign(&dx);
            total.add(&step_grads);
            dh = dh_prev;
        }
        self.grads = total;
        self.dh = Some(dh);
        dxs
    }
}
