//! The book's layers, written the book's way: each has `forward`, which keeps
//! what `backward` needs in a cache, and `backward`, which takes the gradient of
//! the loss with respect to the layer's output, stores the gradients of its
//! parameters in `grads`, and returns the gradient with respect to its input.
//!
//! Shapes follow the book: N batch, T time steps, D word-vector size, H hidden
//! size, V vocabulary size.

use ndarray::{Array1, Array2, Array3, Axis, s};

use super::Real;

/// `Embedding`: picks rows of `W [V, D]`.
pub struct Embedding<F: Real> {
    pub w: Array2<F>,
    pub grad_w: Array2<F>,
    idx: Vec<usize>,
}

impl<F: Real> Embedding<F> {
    pub fn new(w: Array2<F>) -> Self {
        let grad_w = Array2::zeros(w.raw_dim());
        Self { w, grad_w, idx: Vec::new() }
    }

    /// `idx [N]` → `out [N, D]`.
    pub fn forward(&mut self, idx: &[usize]) -> Array2<F> {
        self.idx = idx.to_vec();
        let mut out = Array2::zeros((idx.len(), self.w.ncols()));
        for (row, &i) in idx.iter().enumerate() {
            out.row_mut(row).assign(&self.w.row(i));
        }
        out
    }

    /// Adds each row of `dout [N, D]` into the row of `dW` it was read from
    /// (`np.add.at`: a word used twice gets both gradients).
    pub fn backward(&mut self, dout: &Array2<F>) {
        self.grad_w.fill(F::zero());
        for (row, &i) in self.idx.iter().enumerate() {
            let mut g = self.grad_w.row_mut(i);
            g += &dout.row(row);
        }
    }
}

/// `TimeEmbedding`: the same `Embedding` at every time step.
pub struct TimeEmbedding<F: Real> {
    pub embed: Embedding<F>,
    shape: (usize, usize),
}

impl<F: Real> TimeEmbedding<F> {
    pub fn new(w: Array2<F>) -> Self {
        Self { embed: Embedding::new(w), shape: (0, 0) }
    }

    /// `xs [N, T]` (word ids) → `[N, T, D]`.
    pub fn forward(&mut self, xs: &Array2<usize>) -> Array3<F> {
        let (n, t) = xs.dim();
        self.shape = (n, t);
        let flat: Vec<usize> = xs.iter().copied().collect(); // row-major: n-major, then t
        let out = self.embed.forward(&flat);
        let d = out.ncols();
        out.into_shape_with_order((n, t, d)).expect("N*T rows")
    }

    /// `dout [N, T, D]`; the input is word ids, so nothing is returned.
    pub fn backward(&mut self, dout: &Array3<F>) {
        let (n, t) = self.shape;
        let d = dout.dim().2;
        let flat = dout.to_owned().into_shape_with_order((n * t, d)).expect("N*T rows");
        self.embed.backward(&flat);
    }
}

/// Parameters of one recurrent layer, shared by all its time steps. The gates
/// of a step are packed side by side: G = 1 for the RNN, 4 for the LSTM
/// (f, g, i, o), 3 for the GRU (z, r, h̃).
pub struct CellParams<F: Real> {
    /// `[D, G·H]`
    pub wx: Array2<F>,
    /// `[H, G·H]`
    pub wh: Array2<F>,
    /// `[G·H]`
    pub b: Array1<F>,
}

/// Gradients of [`CellParams`].
pub struct CellGrads<F: Real> {
    pub wx: Array2<F>,
    pub wh: Array2<F>,
    pub b: Array1<F>,
}

impl<F: Real> CellGrads<F> {
    pub fn zeros_like(p: &CellParams<F>) -> Self {
        Self { wx: Array2::zeros(p.wx.raw_dim()), wh: Array2::zeros(p.wh.raw_dim()), b: Array1::zeros(p.b.raw_dim()) }
    }

    /// Adds one step's gradients (a Time layer sums them over its steps).
    pub fn add(&mut self, step: &CellGrads<F>) {
        self.wx += &step.wx;
        self.wh += &step.wh;
        self.b += &step.b;
    }
}

/// The logistic sigmoid, as the book's `1 / (1 + exp(-x))`.
pub fn sigmoid<F: Real>(x: F) -> F {
    F::one() / (F::one() + (-x).exp())
}

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
    pub params: CellParams<F>,
    pub grads: CellGrads<F>,
    layers: Vec<Rnn<F>>,
    pub h: Option<Array2<F>>,
    /// Gradient with respect to the state the last forward started from.
    pub dh: Option<Array2<F>>,
    pub stateful: bool,
}

impl<F: Real> TimeRnn<F> {
    pub fn new(params: CellParams<F>, stateful: bool) -> Self {
        let grads = CellGrads::zeros_like(&params);
        Self { params, grads, layers: Vec::new(), h: None, dh: None, stateful }
    }

    pub fn set_state(&mut self, h: Array2<F>) {
        self.h = Some(h);
    }

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

/// `TimeAffine`: `x·W + b` at every time step, `W [H, V]`, `b [V]`.
pub struct TimeAffine<F: Real> {
    pub w: Array2<F>,
    pub b: Array1<F>,
    pub grad_w: Array2<F>,
    pub grad_b: Array1<F>,
    x: Option<Array3<F>>,
}

impl<F: Real> TimeAffine<F> {
    pub fn new(w: Array2<F>, b: Array1<F>) -> Self {
        let (grad_w, grad_b) = (Array2::zeros(w.raw_dim()), Array1::zeros(b.raw_dim()));
        Self { w, b, grad_w, grad_b, x: None }
    }

    /// `x [N, T, H]` → `[N, T, V]`.
    pub fn forward(&mut self, x: &Array3<F>) -> Array3<F> {
        let (n, t, h) = x.dim();
        let rx = x.to_owned().into_shape_with_order((n * t, h)).expect("N*T rows");
        let out = rx.dot(&self.w) + &self.b;
        self.x = Some(x.clone());
        out.into_shape_with_order((n, t, self.w.ncols())).expect("N*T rows")
    }

    /// `dout [N, T, V]` → `dx [N, T, H]`.
    pub fn backward(&mut self, dout: &Array3<F>) -> Array3<F> {
        let x = self.x.as_ref().expect("forward before backward");
        let (n, t, h) = x.dim();
        let v = self.w.ncols();
        let dout = dout.to_owned().into_shape_with_order((n * t, v)).expect("N*T rows");
        let rx = x.to_owned().into_shape_with_order((n * t, h)).expect("N*T rows");
        self.grad_b = dout.sum_axis(Axis(0));
        self.grad_w = rx.t().dot(&dout);
        let dx = dout.dot(&self.w.t());
        dx.into_shape_with_order((n, t, h)).expect("N*T rows")
    }
}

/// What the loss keeps for its backward: the softmax `[N·T, V]`, the
/// targets, and the input's shape `(N, T, V)`.
type SoftmaxCache<F> = (Array2<F>, Vec<usize>, (usize, usize, usize));

/// `TimeSoftmaxWithLoss`: softmax over V and cross-entropy, averaged over all
/// N·T positions.
pub struct TimeSoftmaxWithLoss<F: Real> {
    cache: Option<SoftmaxCache<F>>,
}

impl<F: Real> Default for TimeSoftmaxWithLoss<F> {
    fn default() -> Self {
        Self { cache: None }
    }
}

impl<F: Real> TimeSoftmaxWithLoss<F> {
    /// `xs [N, T, V]` (scores), `ts [N, T]` (target ids) → mean loss.
    pub fn forward(&mut self, xs: &Array3<F>, ts: &Array2<usize>) -> F {
        let (n, t, v) = xs.dim();
        let mut y = xs.to_owned().into_shape_with_order((n * t, v)).expect("N*T rows");
        // softmax with the row maximum subtracted, so exp never overflows
        for mut row in y.rows_mut() {
            let max = row.fold(F::neg_infinity(), |m, &x| m.max(x));
            row.mapv_inplace(|x| (x - max).exp());
            let sum = row.sum();
            row.mapv_inplace(|x| x / sum);
        }
        let targets: Vec<usize> = ts.iter().copied().collect();
        let mut loss = F::zero();
        for (row, &target) in targets.iter().enumerate() {
            loss -= y[[row, target]].max(F::min_positive_value()).ln();
        }
        self.cache = Some((y, targets, (n, t, v)));
        loss / F::from_usize(n * t).expect("count")
    }

    /// `dout` (gradient of the final loss wrt the mean, 1 in training) →
    /// `dxs [N, T, V] = (softmax - onehot) · dout / (N·T)`.
    pub fn backward(&mut self, dout: F) -> Array3<F> {
        let (y, targets, (n, t, v)) = self.cache.as_ref().expect("forward before backward");
        let mut dx = y.clone();
        for (row, &target) in targets.iter().enumerate() {
            dx[[row, target]] -= F::one();
        }
        let scale = dout / F::from_usize(n * t).expect("count");
        dx.mapv_inplace(|g| g * scale);
        dx.into_shape_with_order((*n, *t, *v)).expect("N*T rows")
    }
}

/// `TimeDropout`: in training, each element is kept with probability
/// `1 - ratio` and scaled by `1 / (1 - ratio)` (inverted dropout, a fresh mask
/// every call); in evaluation it is the identity.
pub struct TimeDropout<F: Real> {
    pub ratio: f64,
    pub train: bool,
    rng: rand::rngs::StdRng,
    /// The scaled mask of the last training forward.
    pub mask: Option<Array3<F>>,
    next_keep: Option<Array3<bool>>,
}

impl<F: Real> TimeDropout<F> {
    pub fn new(ratio: f64, seed: u64) -> Self {
        use rand::SeedableRng;
        Self { ratio, train: true, rng: rand::rngs::StdRng::seed_from_u64(seed), mask: None, next_keep: None }
    }

    /// Fixes which elements the next training forward keeps (tests use this to
    /// give the reference and the Burn model the same mask).
    pub fn set_next_keep(&mut self, keep: Array3<bool>) {
        self.next_keep = Some(keep);
    }

    /// `xs [N, T, H]` → the same shape.
    pub fn forward(&mut self, xs: &Array3<F>) -> Array3<F> {
        if !self.train {
            return xs.clone();
        }
        let keep = match self.next_keep.take() {
            Some(keep) => keep,
            None => {
                use rand::RngExt;
                let ratio = self.ratio;
                let rng = &mut self.rng;
                Array3::from_shape_fn(xs.raw_dim(), |_| rng.random::<f64>() > ratio)
            }
        };
        assert_eq!(keep.dim(), xs.dim(), "dropout mask shape");
        let scale = F::from_f64(1.0 / (1.0 - self.ratio)).expect("finite scale");
        let mask = keep.mapv(|k| if k { scale } else { F::zero() });
        let out = xs * &mask;
        self.mask = Some(mask);
        out
    }

    /// `dout` → `dout ⊙ mask` (the identity in evaluation).
    pub fn backward(&self, dout: &Array3<F>) -> Array3<F> {
        match (&self.mask, self.train) {
            (Some(mask), true) => dout * mask,
            _ => dout.clone(),
        }
    }
}
