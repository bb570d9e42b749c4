//! The book's `RNN` and `TimeRNN`, written the book's way: `forward` keeps
//! what `backward` needs, `backward` stores the parameters' gradients and
//! returns the input's.

use ndarray::{Array2, Array3, Axis, s};

use super::Real;
use super::cell::{CellGrads, CellParams};

/// `RNN`: one time step, `h_next = tanh(h_prev·Wh + x·Wx + b)`.
pub struct Rnn<F: Real> {
    cache: Option<(Array2<F>, Array2<F>, Array2<F>)>, // x, h_prev, h_next
}

impl<F: Real> Default for Rnn<F> {
    fn default() -> Self {
        Self { cache: None }
    }
}

impl<F: Real> Rnn<F> {
    /// `x [N, D]`, `h_prev [N, H]` → `h_next [N, H]`.
    pub fn forward(&mut self, p: &CellParams<F>, x: &Array2<F>, h_prev: &Array2<F>) -> Array2<F> {
        let t = h_prev.dot(&p.wh) + x.dot(&p.wx) + &p.b;
        let h_next = t.mapv(F::tanh);
        self.cache = Some((x.clone(), h_prev.clone(), h_next.clone()));
        h_next
    }

    /// `dh_next [N, H]` → `(dx [N, D], dh_prev [N, H])`; the parameter
    /// gradients of this step are written to `grads`.
    pub fn backward(
        &mut self,
        p: &CellParams<F>,
        dh_next: &Array2<F>,
        grads: &mut CellGrads<F>,
    ) -> (Array2<F>, Array2<F>) {
        let (x, h_prev, h_next) = self.cache.as_ref().expect("forward before backward");
        // derivative of tanh: 1 - tanh²
        let dt = dh_next * &h_next.mapv(|h| F::one() - h * h);
        grads.b = dt.sum_axis(Axis(0));
        grads.wh = h_prev.t().dot(&dt);
        grads.wx = x.t().dot(&dt);
        let dh_prev = dt.dot(&p.wh.t());
        let dx = dt.dot(&p.wx.t());
        (dx, dh_prev)
    }
}

/// `TimeRNN`: T `RNN` steps over `[N, T, D]`, with the book's state handling.
///
/// With `stateful`, the last hidden state of one `forward` is the first of the
/// next (truncated BPTT: `backward` stops at the batch boundary, because the
/// carried `h` is a plain array with no history). `reset_state` starts over from
/// zeros; `set_state` puts a given state in.
pub struct TimeRnn<F: Real> {
    /// The cell's parameters, shared by every step.
    pub params: CellParams<F>,
    /// Their gradients from the last backward.
    pub grads: CellGrads<F>,
    layers: Vec<Rnn<F>>,
    /// The hidden state the next forward starts from (`None`: zeros).
    pub h: Option<Array2<F>>,
    /// Gradient with respect to the state the last forward started from.
    pub dh: Option<Array2<F>>,
    /// Whether the last state of a forward starts the next.
    pub stateful: bool,
}

impl<F: Real> TimeRnn<F> {
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
            let mut layer = Rnn::default();
            h = layer.forward(&self.params, &xs.slice(s![.., step, ..]).to_owned(), &h);
            hs.slice_mut(s![.., step, ..]).assign(&h);
            self.layers.push(layer);
        }
        self.h = Some(h);
        hs
    }

    /// `dhs [N, T, H]` → `dxs [N, T, D]`. Walks the steps backwards, adding the
    /// gradient coming from step t+1 (`dh`) to the one from the output at t.
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
