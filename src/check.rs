//! The proof that the Burn model is right: it is compared with the
//! manual-backward reference (same weights, same data), and the reference is
//! compared with central finite differences.
//!
//! Every comparison gives a [`Row`]: a quantity, its largest relative error and
//! the tolerance it must meet. Gradients are compared per tensor as
//! `max|g − g_ref| / max|g_ref|`, which does not blow up on entries that are
//! near zero.

use burn::module::Param;
use burn::optim::{GradientsParams, ModuleOptimizer};
use burn::tensor::Gradients;
use burn::tensor::{Device, Int, Tensor, TensorData};
use ndarray::{Array1, Array2, Array3, ArrayD};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use rand_distr::{Distribution, StandardNormal};

use crate::model::{SimpleRnnlm, SimpleRnnlmConfig};
use crate::optim::{BookAdam, clip_grads_global};
use crate::reference::{self, layers};
use crate::weights::{PARAM_NAMES, RnnlmWeights};

/// Finite differences in f64 must agree with the reference's backward to
/// this relative error.
pub const FD_TOLERANCE: f64 = 1e-6;
/// The step of the central differences. The truncation error is O(ε²)·f''' and
/// the rounding error O(1e-16/ε): both are far below 1e-6 relative at 1e-5.
pub const FD_EPSILON: f64 = 1e-5;
/// Optimizer trajectories (loss per step) must agree to this relative error.
pub const TRAJECTORY_TOLERANCE: f64 = 1e-4;

/// One compared quantity.
#[derive(Clone, Debug)]
pub struct Row {
    /// What was compared, e.g. `burn vs ref N=3 T=4 V=50 D=8 H=7 batch 1: grad rnn.Wh`.
    pub quantity: String,
    /// Its largest relative error.
    pub rel_err: f64,
    /// The tolerance it must meet.
    pub tolerance: f64,
}

impl Row {
    /// Whether the error is within tolerance (a NaN never is).
    pub fn ok(&self) -> bool {
        self.rel_err <= self.tolerance
    }
}

/// The rows of a whole check.
#[derive(Clone, Debug, Default)]
pub struct Report {
    pub rows: Vec<Row>,
}

impl Report {
    /// The largest relative error of all rows (NaN if any is NaN).
    pub fn max_rel_err(&self) -> f64 {
        self.rows.iter().map(|r| r.rel_err).fold(0.0, nan_max)
    }

    /// Whether every row is within its tolerance.
    pub fn passed(&self) -> bool {
        !self.rows.is_empty() && self.rows.iter().all(Row::ok)
    }

    fn push(&mut self, quantity: impl Into<String>, rel_err: f64, tolerance: f64) {
        self.rows.push(Row { quantity: quantity.into(), rel_err, tolerance });
    }
}

/// The maximum, where a NaN on either side wins (`f64::max` would drop it).
fn nan_max(a: f64, b: f64) -> f64 {
    if a.is_nan() || b.is_nan() { f64::NAN } else { a.max(b) }
}

/// `max|a − b| / max|b|` (0 when both are all zeros).
pub fn rel_err(a: &[f64], b: &[f64]) -> f64 {
    assert_eq!(a.len(), b.len(), "compared tensors differ in size");
    let diff = a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0.0, nan_max);
    let scale = b.iter().map(|y| y.abs()).fold(0.0, f64::max);
    if diff == 0.0 { 0.0 } else { diff / scale }
}

/// The sizes of a comparison.
#[derive(Clone, Copy, Debug)]
pub struct Sizes {
    pub batch: usize,
    pub time: usize,
    pub vocab: usize,
    pub wordvec: usize,
    pub hidden: usize,
}

impl Sizes {
    /// Small sizes where every entry can be checked: N=3, T=4, V=50, D=8, H=7.
    pub const SMALL: Sizes = Sizes { batch: 3, time: 4, vocab: 50, wordvec: 8, hidden: 7 };
    /// The notebook's sizes: N=10, T=5, V=10000, D=H=100.
    pub const SEED: Sizes = Sizes { batch: 10, time: 5, vocab: 10_000, wordvec: 100, hidden: 100 };

    fn label(&self) -> String {
        format!("N={} T={} V={} D={} H={}", self.batch, self.time, self.vocab, self.wordvec, self.hidden)
    }
}

/// Weights for a check: the book's initialisation, with biases made non-zero
/// so that a mistake in how a bias is applied shows in the loss too.
pub fn check_weights(s: Sizes, seed: u64) -> RnnlmWeights {
    let mut w = RnnlmWeights::book_init(s.vocab, s.wordvec, s.hidden, seed);
    let mut rng = StdRng::seed_from_u64(seed ^ 0x5eed);
    for b in w.rnn_b.iter_mut().chain(w.affine_b.iter_mut()) {
        let z: f64 = StandardNormal.sample(&mut rng);
        *b = (0.1 * z) as f32;
    }
    w
}

/// Random word ids `[N, T]`.
pub fn random_ids(rng: &mut StdRng, n: usize, t: usize, vocab: usize) -> Array2<usize> {
    Array2::from_shape_fn((n, t), |_| rng.random_range(0..vocab))
}

/// Word ids as a Burn `Int` tensor `[N, T]`.
pub fn ids_tensor(ids: &Array2<usize>, device: &Device) -> Tensor<2, Int> {
    let (n, t) = ids.dim();
    let values: Vec<i64> = ids.iter().map(|&i| i as i64).collect();
    Tensor::from_data(TensorData::new(values, [n, t]), device)
}

fn read<const D: usize>(t: Tensor<D>) -> Vec<f64> {
    t.try_into_vec_as::<f32>().expect("readable tensor").iter().map(|&x| x as f64).collect()
}

/// The six gradients of the Burn model, in the order of [`PARAM_NAMES`].
pub fn burn_grads(model: &SimpleRnnlm, grads: &Gradients) -> Vec<Vec<f64>> {
    fn g<const D: usize>(p: &Param<Tensor<D>>, grads: &Gradients) -> Vec<f64> {
        read(p.val().grad(grads).expect("parameter has a gradient"))
    }
    vec![
        g(&model.embed.weight, grads),
        g(&model.rnn.cell.wx, grads),
        g(&model.rnn.cell.wh, grads),
        g(&model.rnn.cell.b, grads),
        g(&model.affine.weight, grads),
        g(model.affine.bias.as_ref().expect("affine bias"), grads),
    ]
}

/// Burn's loss and gradients against the reference's, over `batches`
/// consecutive batches. With `carry`, the last hidden state of each batch
/// starts the next (detached on the Burn side, a plain array on the reference
/// side); without it both start every batch from zeros.
pub fn burn_vs_reference(device: &Device, s: Sizes, batches: usize, carry: bool, tolerance: f64, seed: u64) -> Report {
    let mut report = Report::default();
    let w = check_weights(s, seed);
    let device = device.clone().autodiff();
    let model = SimpleRnnlmConfig::new(s.vocab)
        .with_wordvec_size(s.wordvec)
        .with_hidden_size(s.hidden)
        .init_with(&w, &device)
        .expect("weights match config");
    let mut reference = reference::SimpleRnnlm::<f64>::from_weights(&w).expect("valid weights");
    let mut rng = StdRng::seed_from_u64(seed + 1);
    let mut h: Option<Tensor<2>> = None;
    let mode = if carry { "carried" } else { "reset" };
    for k in 1..=batches {
        let xs = random_ids(&mut rng, s.batch, s.time, s.vocab);
        let ts = random_ids(&mut rng, s.batch, s.time, s.vocab);
        let (loss, h_last) = model.forward(ids_tensor(&xs, &device), ids_tensor(&ts, &device), h.take());
        let grads = loss.backward();
        let burn_loss = read(loss)[0];
        let burn_g = burn_grads(&model, &grads);
        // Truncated BPTT: the next batch starts from this state's value, not its history.
        h = carry.then(|| h_last.detach());

        if !carry {
            reference.reset_state();
        }
        let ref_loss = reference.forward(&xs, &ts);
        reference.backward(1.0);
        let label = format!("burn vs ref {} state {mode} batch {k}", s.label());
        report.push(format!("{label}: loss"), ((burn_loss - ref_loss) / ref_loss).abs(), tolerance);
        for ((name, g), r) in PARAM_NAMES.iter().zip(&burn_g).zip(reference.grads()) {
            report.push(format!("{label}: grad {name}"), rel_err(g, r.as_slice().expect("standard layout")), tolerance);
        }
    }
    report
}

/// `steps` training steps of both implementations from identical weights:
/// Adam (lr 1e-3), global clipping at 5.0, state carried. Compares the loss of
/// every step.
pub fn trajectory(device: &Device, s: Sizes, steps: usize, seed: u64) -> Report {
    let (lr, max_grad) = (1e-3, 5.0);
    let w = check_weights(s, seed);
    let device = device.clone().autodiff();
    let mut model = SimpleRnnlmConfig::new(s.vocab)
        .with_wordvec_size(s.wordvec)
        .with_hidden_size(s.hidden)
        .init_with(&w, &device)
        .expect("weights match config");
    let mut optim = ModuleOptimizer::from(BookAdam::default());
    let mut reference = reference::SimpleRnnlm::<f64>::from_weights(&w).expect("valid weights");
    let mut ref_optim = reference::Adam::new(lr);
    let mut rng = StdRng::seed_from_u64(seed + 2);
    let mut h: Option<Tensor<2>> = None;
    let mut worst: f64 = 0.0;
    for _ in 0..steps {
        let xs = random_ids(&mut rng, s.batch, s.time, s.vocab);
        let ts = random_ids(&mut rng, s.batch, s.time, s.vocab);
        let (loss, h_last) = model.forward(ids_tensor(&xs, &device), ids_tensor(&ts, &device), h.take());
        let mut grads = GradientsParams::from_grads(loss.backward(), &model);
        let burn_loss = read(loss)[0];
        clip_grads_global(&model, &mut grads, max_grad);
        model = optim.step(lr, model, grads);
        h = Some(h_last.detach());

        let ref_loss = reference.train_step(&xs, &ts, &mut ref_optim, Some(max_grad));
        let e = ((burn_loss - ref_loss) / ref_loss).abs();
        worst = nan_max(worst, e);
    }
    let mut report = Report::default();
    report.push(format!("trajectory {} {steps} Adam steps, clip 5.0, state carried: loss", s.label()), worst, TRAJECTORY_TOLERANCE);
    report
}

// ---------------------------------------------------------------------------
// The reference against finite differences (f64).

/// Central differences of `loss` with respect to the entries of the array
/// that `select` picks out of `case`, perturbed in place.
fn numerical<C>(case: &mut C, select: fn(&mut C) -> &mut [f64], loss: fn(&mut C) -> f64) -> Vec<f64> {
    let n = select(case).len();
    (0..n)
        .map(|i| {
            let orig = select(case)[i];
            select(case)[i] = orig + FD_EPSILON;
            let plus = loss(case);
            select(case)[i] = orig - FD_EPSILON;
            let minus = loss(case);
            select(case)[i] = orig;
            (plus - minus) / (2.0 * FD_EPSILON)
        })
        .collect()
}

fn randn2(rng: &mut StdRng, r: usize, c: usize) -> Array2<f64> {
    Array2::from_shape_fn((r, c), |_| StandardNormal.sample(rng))
}
fn randn3(rng: &mut StdRng, a: usize, b: usize, c: usize) -> Array3<f64> {
    Array3::from_shape_fn((a, b, c), |_| StandardNormal.sample(rng))
}
fn randn1(rng: &mut StdRng, n: usize) -> Array1<f64> {
    Array1::from_shape_fn(n, |_| StandardNormal.sample(rng))
}
fn slice<D: ndarray::Dimension>(a: &mut ndarray::Array<f64, D>) -> &mut [f64] {
    a.as_slice_mut().expect("standard layout")
}
fn dot<D: ndarray::Dimension>(a: &ndarray::Array<f64, D>, b: &ndarray::Array<f64, D>) -> f64 {
    (a * b).sum()
}

struct RnnCase {
    p: layers::RnnParams<f64>,
    x: Array2<f64>,
    h: Array2<f64>,
    r: Array2<f64>, // upstream gradient: loss = sum(h_next ⊙ r)
}

struct TimeRnnCase {
    layer: layers::TimeRnn<f64>,
    xs: Array3<f64>,
    h0: Array2<f64>,
    r: Array3<f64>,
}

impl TimeRnnCase {
    fn loss(&mut self) -> f64 {
        self.layer.set_state(self.h0.clone());
        let hs = self.layer.forward(&self.xs);
        dot(&hs, &self.r)
    }
}

struct AffineCase {
    layer: layers::TimeAffine<f64>,
    x: Array3<f64>,
    r: Array3<f64>,
}

struct EmbedCase {
    layer: layers::TimeEmbedding<f64>,
    ids: Array2<usize>,
    r: Array3<f64>,
}

struct SoftmaxCase {
    layer: layers::TimeSoftmaxWithLoss<f64>,
    x: Array3<f64>,
    ts: Array2<usize>,
}

struct ModelCase {
    model: reference::SimpleRnnlm<f64>,
    xs: Array2<usize>,
    ts: Array2<usize>,
    h0: Array2<f64>,
}

impl ModelCase {
    fn loss(&mut self) -> f64 {
        self.model.rnn.set_state(self.h0.clone());
        self.model.forward(&self.xs, &self.ts)
    }
}

/// Every reference layer, and the whole reference model, against central
/// finite differences in f64, at the small sizes.
pub fn reference_vs_finite_differences(seed: u64) -> Report {
    let s = Sizes::SMALL;
    let (n, t, v, d, h) = (s.batch, s.time, s.vocab, s.wordvec, s.hidden);
    let mut rng = StdRng::seed_from_u64(seed + 3);
    let mut report = Report::default();
    let mut row = |what: &str, analytic: &[f64], numeric: &[f64]| {
        report.push(format!("reference vs finite differences: {what}"), rel_err(analytic, numeric), FD_TOLERANCE);
    };

    // RNN (one step)
    let mut c = RnnCase {
        p: layers::RnnParams { wx: randn2(&mut rng, d, h) * 0.5, wh: randn2(&mut rng, h, h) * 0.5, b: randn1(&mut rng, h) * 0.1 },
        x: randn2(&mut rng, n, d),
        h: randn2(&mut rng, n, h),
        r: randn2(&mut rng, n, h),
    };
    let rnn_loss: fn(&mut RnnCase) -> f64 = |c| dot(&layers::Rnn::default().forward(&c.p, &c.x, &c.h), &c.r);
    let mut cell = layers::Rnn::default();
    let mut grads = layers::RnnGrads::zeros_like(&c.p);
    cell.forward(&c.p, &c.x, &c.h);
    let (dx, dh) = cell.backward(&c.p, &c.r, &mut grads);
    row("RNN dx", dx.as_slice().unwrap(), &numerical(&mut c, |c| slice(&mut c.x), rnn_loss));
    row("RNN dh_prev", dh.as_slice().unwrap(), &numerical(&mut c, |c| slice(&mut c.h), rnn_loss));
    row("RNN dWx", grads.wx.as_slice().unwrap(), &numerical(&mut c, |c| slice(&mut c.p.wx), rnn_loss));
    row("RNN dWh", grads.wh.as_slice().unwrap(), &numerical(&mut c, |c| slice(&mut c.p.wh), rnn_loss));
    row("RNN db", grads.b.as_slice().unwrap(), &numerical(&mut c, |c| slice(&mut c.p.b), rnn_loss));

    // TimeRNN, starting from a given state
    let params = layers::RnnParams { wx: randn2(&mut rng, d, h) * 0.5, wh: randn2(&mut rng, h, h) * 0.5, b: randn1(&mut rng, h) * 0.1 };
    let mut c = TimeRnnCase {
        layer: layers::TimeRnn::new(params, true),
        xs: randn3(&mut rng, n, t, d),
        h0: randn2(&mut rng, n, h),
        r: randn3(&mut rng, n, t, h),
    };
    c.loss();
    let dxs = c.layer.backward(&c.r.clone());
    let g = (c.layer.grads.wx.clone(), c.layer.grads.wh.clone(), c.layer.grads.b.clone(), c.layer.dh.clone().unwrap());
    row("TimeRNN dxs", dxs.as_slice().unwrap(), &numerical(&mut c, |c| slice(&mut c.xs), TimeRnnCase::loss));
    row("TimeRNN dh0", g.3.as_slice().unwrap(), &numerical(&mut c, |c| slice(&mut c.h0), TimeRnnCase::loss));
    row("TimeRNN dWx", g.0.as_slice().unwrap(), &numerical(&mut c, |c| slice(&mut c.layer.params.wx), TimeRnnCase::loss));
    row("TimeRNN dWh", g.1.as_slice().unwrap(), &numerical(&mut c, |c| slice(&mut c.layer.params.wh), TimeRnnCase::loss));
    row("TimeRNN db", g.2.as_slice().unwrap(), &numerical(&mut c, |c| slice(&mut c.layer.params.b), TimeRnnCase::loss));

    // TimeAffine
    let mut c = AffineCase {
        layer: layers::TimeAffine::new(randn2(&mut rng, h, v), randn1(&mut rng, v)),
        x: randn3(&mut rng, n, t, h),
        r: randn3(&mut rng, n, t, v),
    };
    let affine_loss: fn(&mut AffineCase) -> f64 = |c| {
        let out = c.layer.forward(&c.x);
        dot(&out, &c.r)
    };
    affine_loss(&mut c);
    let dx = c.layer.backward(&c.r.clone());
    let (gw, gb) = (c.layer.grad_w.clone(), c.layer.grad_b.clone());
    row("TimeAffine dx", dx.as_slice().unwrap(), &numerical(&mut c, |c| slice(&mut c.x), affine_loss));
    row("TimeAffine dW", gw.as_slice().unwrap(), &numerical(&mut c, |c| slice(&mut c.layer.w), affine_loss));
    row("TimeAffine db", gb.as_slice().unwrap(), &numerical(&mut c, |c| slice(&mut c.layer.b), affine_loss));

    // TimeEmbedding (ids repeat, so rows of dW collect several gradients)
    let mut c = EmbedCase {
        layer: layers::TimeEmbedding::new(randn2(&mut rng, v, d)),
        ids: Array2::from_shape_fn((n, t), |(i, j)| (i * 7 + j * 3) % 5),
        r: randn3(&mut rng, n, t, d),
    };
    let embed_loss: fn(&mut EmbedCase) -> f64 = |c| {
        let out = c.layer.forward(&c.ids);
        dot(&out, &c.r)
    };
    embed_loss(&mut c);
    c.layer.backward(&c.r.clone());
    let gw = c.layer.embed.grad_w.clone();
    row("TimeEmbedding dW", gw.as_slice().unwrap(), &numerical(&mut c, |c| slice(&mut c.layer.embed.w), embed_loss));

    // TimeSoftmaxWithLoss
    let mut c = SoftmaxCase {
        layer: layers::TimeSoftmaxWithLoss::default(),
        x: randn3(&mut rng, n, t, v) * 3.0,
        ts: random_ids(&mut rng, n, t, v),
    };
    let softmax_loss: fn(&mut SoftmaxCase) -> f64 = |c| c.layer.forward(&c.x, &c.ts);
    softmax_loss(&mut c);
    let dx = c.layer.backward(1.0);
    row("TimeSoftmaxWithLoss dx", dx.as_slice().unwrap(), &numerical(&mut c, |c| slice(&mut c.x), softmax_loss));

    // The whole model, from a non-zero carried state
    let w = check_weights(s, seed);
    let mut c = ModelCase {
        model: reference::SimpleRnnlm::from_weights(&w).expect("valid weights"),
        xs: random_ids(&mut rng, n, t, v),
        ts: random_ids(&mut rng, n, t, v),
        h0: randn2(&mut rng, n, h) * 0.5,
    };
    c.loss();
    c.model.backward(1.0);
    let grads: Vec<ArrayD<f64>> = c.model.grads();
    let selects: [fn(&mut ModelCase) -> &mut [f64]; 6] = [
        |c| slice(&mut c.model.embed.embed.w),
        |c| slice(&mut c.model.rnn.params.wx),
        |c| slice(&mut c.model.rnn.params.wh),
        |c| slice(&mut c.model.rnn.params.b),
        |c| slice(&mut c.model.affine.w),
        |c| slice(&mut c.model.affine.b),
    ];
    for ((name, g), select) in PARAM_NAMES.iter().zip(&grads).zip(selects) {
        row(&format!("SimpleRnnlm d{name}"), g.as_slice().unwrap(), &numerical(&mut c, select, ModelCase::loss));
    }
    report
}

/// Which comparisons to run.
#[derive(Clone, Copy, Debug)]
pub struct CheckOptions {
    /// Also compare at the notebook's sizes (V = 10,000), which takes longer.
    pub seed_sizes: bool,
    /// Optimizer steps compared in the trajectory check.
    pub steps: usize,
    /// Seed of the weights and data.
    pub seed: u64,
}

impl Default for CheckOptions {
    fn default() -> Self {
        Self { seed_sizes: true, steps: 50, seed: 0 }
    }
}

/// The tolerance of Burn-vs-reference gradients on a device: f32 on the CPU
/// stays near 1e-6; GPU kernels reorder sums (and may fuse), so allow 1e-4.
pub fn tolerance_for(backend: crate::backend::Backend) -> f64 {
    match backend {
        crate::backend::Backend::Flex | crate::backend::Backend::Ndarray => 1e-5,
        crate::backend::Backend::Wgpu => 1e-4,
    }
}

/// Every comparison: the reference against finite differences, then Burn on
/// `device` against the reference (one batch and three carried batches at the
/// small sizes, three reset batches, one batch at the seed sizes) and the
/// optimizer trajectory.
pub fn run(device: &Device, tolerance: f64, opts: CheckOptions) -> Report {
    let mut report = reference_vs_finite_differences(opts.seed);
    report.rows.extend(burn_vs_reference(device, Sizes::SMALL, 3, true, tolerance, opts.seed).rows);
    report.rows.extend(burn_vs_reference(device, Sizes::SMALL, 3, false, tolerance, opts.seed).rows);
    if opts.seed_sizes {
        report.rows.extend(burn_vs_reference(device, Sizes::SEED, 1, true, tolerance, opts.seed).rows);
    }
    if opts.steps > 0 {
        report.rows.extend(trajectory(device, Sizes::SMALL, opts.steps, opts.seed).rows);
    }
    report
}

/// Formats a report as the `check` command prints it: one row per quantity,
/// then `max relative error: <value>`.
pub fn format_report(report: &Report) -> String {
    let mut out = String::new();
    for r in &report.rows {
        out.push_str(&format!(
            "{:<4} {:>10.3e} (tol {:.0e})  {}\n",
            if r.ok() { "ok" } else { "FAIL" },
            r.rel_err,
            r.tolerance,
            r.quantity
        ));
    }
    out.push_str(&format!("max relative error: {:.3e}\n", report.max_rel_err()));
    out
}
