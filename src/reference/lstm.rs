//! The book's `LSTM` and `TimeLSTM` (`common/time_layers.py`), with their
//! hand-written backward passes.
//!
//! The four gates are packed in the columns of `Wx [D, 4H]`, `Wh [H, 4H]` and
//! `b [4H]` in the book's order f, g, i, o:
//! `c' = f·c + g·i`, `h' = o·tanh(c')`.

use ndarray::{Array2, Array3, Axis, s};

use super::Real;
use super::cell::{CellGrads, CellParams, sigmoid};

struct Cache<F: Real> {
    x: Array2<F>,
    h_prev: Array2<F>,
    c_prev: Array2<F>,
    f: Array2<F>,
    g: Array2<F>,
    i: Array2<F>,
    o: Array2<F>,
    c_next: Array2<F>,
}

/// One LSTM step.
pub struct Lstm<F: Real> {
    cache: Option<Cache<F>>,
}

impl<F: Real> Default for Lstm<F> {
    fn default() -> Self {
        Self { cache: None }
    }
}

impl<F: Real> Lstm<F> {
    /// `x [N, D]`, `h_prev`, `c_prev [N, H]` → `(h_next, c_next)`.
    pub fn forward(
        &mut self,
        p: &CellParams<F>,
        x: &Array2<F>,
        h_prev: &Array2<F>,
        c_prev: &Array2<F>,
    ) -> (Array2<F>, Array2<F>) {
        let h = h_prev.ncols();
        let a = x.dot(&p.wx) + h_prev.dot(&p.wh) + &p.b; // [N, 4H]
        let f = a.slice(s![.., 0..h]).mapv(sigmoid);
        let g = a.slice(s![.., h..2 * h]).mapv(F::tanh);
        let i = a.slice(s![.., 2 * h..3 * h]).mapv(sigmoid);
        let o = a.slice(s![.., 3 * h..]).mapv(sigmoid);
        let c_next = &f * c_prev + &g * &i;
        let h_next = &o * &c_next.mapv(F::tanh);
        self.cache = Some(Cache {
            x: x.clone(),
            h_prev: h_prev.clone(),
            c_prev: c_prev.clone(),
            f,
            g,
            i,
            o,
            c_next: c_next.clone(),
        });
        (h_next, c_next)
    }

    /// `(dh_next, dc_next)` → `(dx, dh_prev, dc_prev)`; this step's parameter
    /// gradients are written to `grads`.
    pub fn backward(
        &mut self,
        p: &CellParams<F>,
        dh_next: &Array2<F>,
        dc_next: &Array2<F>,
        grads: &mut CellGrads<F>,
    ) -> (Array2<F>, Array2<F>, Array2<F>) {
        let Cache { x, h_prev, c_prev, f, g, i, o, c_next } = self.cache.as_ref().expect("forward before backward");
        let one = F::one();
        let tanh_c = c_next.mapv(F::tanh);
        // gradient reaching c_next: from the carried cell state and through h' = o·tanh(c')
        let ds = dc_next + &(dh_next * o * &tanh_c.mapv(|t| one - t * t));
        let dc_prev = &ds * f;
        // through each gate, then through its nonlinearity
        let df = &ds * c_prev * &f.mapv(|v| v * (one - v));
        let dg = &ds * i * &g.mapv(|v| one - v * v);
        let di = &ds * g * &i.mapv(|v| v * (one - v));
        let do_ = dh_next * &tanh_c * &o.mapv(|v| v * (one - v));
        let da =
            ndarray::concatenate(Axis(1), &[df.view(), dg.view(), di.view(), do_.view()]).expect("four [N, H] gates");
        grads.wh = h_prev.t().dot(&da);
        grads.wx = x.t().dot(&da);
        grads.b = da.sum_axis(Axis(0));
        let dx = da.dot(&p.wx.t());
        let dh_prev = da.dot(&p.wh.t());
        (dx, dh_prev, dc_prev)
    }
}

/// `TimeLSTM`: T `LSTM` steps over `[N, T, D]`. With `stateful`, the last
/// `(h, c)` of one `forward` starts the next (truncated BPTT, as `TimeRnn`).
pub struct TimeLstm<F: Real> {
    /// The cell's parameters, shared by every step.
    pub params: CellParams<F>,
    /// Their gradients from the last backward.
    pub grads: CellGrads<F>,
    layers: Vec<Lstm<F>>,
    /// The hidden state the next forward starts from (`None`: zeros).
    pub h: Option<Array2<F>>,
    /// The cell state the next forward starts from (`None`: zeros).
    pub c: Option<Array2<F>>,
    /// Gradients with respect to the `(h, c)` the last forward started from.
    pub dh: Option<Array2<F>>,
    /// The gradient of the cell state the last forward started from.
    pub dc: Option<Array2<F>>,
    /// Whether the last state of a forward starts the next.
    pub stateful: bool,
}

impl<F: Real> TimeLstm<F> {
    /// A layer of these parameters, its state zeros.
    pub fn new(params: CellParams<F>, stateful: bool) -> Self {
        let grads = CellGrads::zeros_like(&params);
        Self { params, grads, layers: Vec::new(), h: None, c: None, dh: None, dc: None, stateful }
    }

    /// Starts the next forward from `(h, c)`.
    pub fn set_state(&mut self, h: Array2<F>, c: Array2<F>) {
        self.h = Some(h);
        self.c = Some(c);
    }

    /// Starts the next forward from zeros.
    pub fn reset_state(&mut self) {
        self.h = None;
        self.c = None;
    }

    /// `xs [N, T, D]` → `hs [N, T, H]`.
    pub fn forward(&mut self, xs: &Array3<F>) -> Array3<F> {
        let (n, t, _) = xs.dim();
        let h_size = self.params.wh.nrows();
        let zeros = || Array2::zeros((n, h_size));
        let (mut h, mut c) = match self.stateful {
            true => (self.h.clone().unwrap_or_else(zeros), self.c.clone().unwrap_or_else(zeros)),
            false => (zeros(), zeros()),
        };
        let mut hs = Array3::zeros((n, t, h_size));
        self.layers = Vec::with_capacity(t);
        for step in 0..t {
            let mut layer = Lstm::default();
            (h, c) = layer.forward(&self.params, &xs.slice(s![.., step, ..]).to_owned(), &h, &c);
            hs.slice_mut(s![.., step, ..]).assign(&h);
            self.layers.push(layer);
        }
        self.h = Some(h);
        self.c = Some(c);
        hs
    }

    /// `dhs [N, T, H]` → `dxs [N, T, D]`.
    pub fn backward(&mut self, dhs: &Array3<F>) -> Array3<F> {
        let (n, t, h_size) = dhs.dim();
        let d = self.params.wx.nrows();
        let mut dxs = Array3::zeros((n, t, d));
        let (mut dh, mut dc) = (Array2::zeros((n, h_size)), Array2::zeros((n, h_size)));
        let mut total = CellGrads::zeros_like(&self.params);
        let mut step_grads = CellGrads::zeros_like(&self.params);
        for step in (0..t).rev() {
            let upstream = &dhs.slice(s![.., step, ..]) + &dh;
            let (dx, dh_prev, dc_prev) = self.layers[step].backward(&self.params, &upstream, &dc, &mut step_grads);
            dxs.slice_mut(s![.., step, ..]).assign(&dx);
            total.add(&step_grads);
            (dh, dc) = (dh_prev, dc_prev);
        }
        self.grads = total;
        self.dh = Some(dh);
        self.dc = Some(dc);
        dxs
    }
}
