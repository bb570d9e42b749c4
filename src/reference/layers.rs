//! The book's layers, written the book's way: each has `forward`, which keeps
//! what `backward` needs in a cache, and `backward`, which takes the gradient of
//! the loss with respect to the layer's output, stores the gradients of its
//! parameters in `grads`, and returns the gradient with respect to its input.
//!
//! Shapes follow the book: N batch, T time steps, D word-vector size, H hidden
//! size, V vocabulary size. The recurrent layers have files of their own
//! (`rnn.rs`, `lstm.rs`, `gru.rs`, as in `crate::model`); these are the rest:
//! Embedding, Affine, the loss and Dropout.

use ndarray::{Array1, Array2, Array3, Axis};

use super::Real;

/// `Embedding`: picks rows of `W [V, D]`.
pub struct Embedding<F: Real> {
    /// `W [V, D]`.
    pub w: Array2<F>,
    /// Its gradient from the last backward.
    pub grad_w: Array2<F>,
    idx: Vec<usize>,
}

impl<F: Real> Embedding<F> {
    /// The layer of `w`.
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
    /// The embedding every step uses.
    pub embed: Embedding<F>,
    shape: (usize, usize),
}

impl<F: Real> TimeEmbedding<F> {
    /// The layer of `w`.
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

/// `TimeAffine`: `x·W + b` at every time step, `W [H, V]`, `b [V]`.
pub struct TimeAffine<F: Real> {
    /// `W [H, V]`.
    pub w: Array2<F>,
    /// `b [V]`.
    pub b: Array1<F>,
    /// `W`'s gradient from the last backward.
    pub grad_w: Array2<F>,
    /// `b`'s gradient from the last backward.
    pub grad_b: Array1<F>,
    x: Option<Array3<F>>,
}

impl<F: Real> TimeAffine<F> {
    /// The layer of `w` and `b`.
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
    /// The share of elements dropped.
    pub ratio: f64,
    /// Whether it drops (training) or passes everything (evaluation).
    pub train: bool,
    rng: rand::rngs::StdRng,
    /// The scaled mask of the last training forward.
    pub mask: Option<Array3<F>>,
    next_keep: Option<Array3<bool>>,
}

impl<F: Real> TimeDropout<F> {
    /// A layer dropping `ratio` of the elements, its masks drawn from `seed`.
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
