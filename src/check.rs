//! The proof that the Burn model is right: it is compared with the
//! manual-backward reference (same weights, same data), and the reference is
//! compared with central finite differences.
//!
//! Every comparison gives a [`Row`]: a quantity, its largest relative error and
//! the tolerance it must meet. Gradients are compared per tensor as
//! `max|g − g_ref| / max|g_ref|`, which does not blow up on entries that are
//! near zero.

use burn::optim::{GradientsParams, ModuleOptimizer};
use burn::tensor::Gradients;
use burn::tensor::{Device, Int, Tensor, TensorData};
use ndarray::{Array1, Array2, Array3, ArrayD};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use rand_distr::{Distribution, StandardNormal};

use crate::model::{ModelKind, RecurrentState, Rnnlm, RnnlmConfig};
use crate::optim::{BookAdam, clip_grads_global};
use crate::reference::{self, gru, layers, lstm};
use crate::weights::RnnlmWeights;

/// Finite differences in f64 must agree with the reference's backward to
/// this relative error.
pub const FD_TOLERANCE: f64 = 1e-6;
/// The step of the central differences. The truncation error is O(ε²)·f''' and
/// the rounding error about 1e-16·|loss|/ε, both measured against the largest
/// gradient entry of a tensor. The smallest such entry is BetterRnnlm's first
/// `Wx` (2.7e-5: its inputs are word vectors of scale 0.01), where ε = 1e-5
/// leaves 2.7e-6 of rounding; at 1e-4 every row stays below 3e-7.
pub const FD_EPSILON: f64 = 1e-4;
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

    /// These sizes as `model` can have them: a tied model needs H = D.
    pub fn for_model(self, model: ModelKind) -> Sizes {
        match model {
            ModelKind::BetterLstm => Sizes { hidden: self.wordvec, ..self },
            _ => self,
        }
    }
}

/// The dropout ratio of the checked BetterRnnlm: the book's.
pub const CHECK_DROPOUT: f64 = 0.5;

/// The configuration of `model` at sizes `s`.
pub fn model_config(model: ModelKind, s: Sizes) -> RnnlmConfig {
    model.config(s.vocab, s.wordvec, s.hidden, CHECK_DROPOUT)
}

/// Weights for a check: the book's initialisation, with biases made non-zero
/// so that a mistake in how a bias is applied shows in the loss too.
pub fn check_weights(model: ModelKind, s: Sizes, seed: u64) -> RnnlmWeights {
    let mut w = RnnlmWeights::book_init(model_config(model, s).architecture(), seed);
    let mut rng = StdRng::seed_from_u64(seed ^ 0x5eed);
    let names: Vec<String> = w.arch.params().into_iter().map(|(n, _)| n).filter(|n| n.ends_with(".b")).collect();
    for name in names {
        for b in w.get_mut(&name).iter_mut() {
            let z: f64 = StandardNormal.sample(&mut rng);
            *b = (0.1 * z) as f32;
        }
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

/// Every gradient of the Burn model, in the book's order.
pub fn burn_grads(model: &Rnnlm, grads: &Gradients) -> Vec<Vec<f64>> {
    model
        .params()
        .iter()
        .map(|p| p.grad(grads).expect("parameter has a gradient").iter().map(|&x| x as f64).collect())
        .collect()
}

/// Random keep-masks for every dropout site of `model` (empty without
/// dropout): the reference takes them as booleans, Burn as 0/1 floats.
fn random_masks(
    arch: &crate::weights::Architecture,
    sites: usize,
    s: Sizes,
    rng: &mut StdRng,
    device: &Device,
) -> (Vec<ndarray::Array3<bool>>, Vec<Tensor<3>>) {
    (0..sites)
        .map(|k| {
            let width = if k == 0 { arch.wordvec_size } else { arch.hidden_size };
            let keep =
                ndarray::Array3::from_shape_fn((s.batch, s.time, width), |_| rng.random::<f64>() >= CHECK_DROPOUT);
            let floats: Vec<f32> = keep.iter().map(|&k| if k { 1.0 } else { 0.0 }).collect();
            let tensor = Tensor::from_data(TensorData::new(floats, [s.batch, s.time, width]), device);
            (keep, tensor)
        })
        .unzip()
}

/// Burn's loss and gradients against the reference's for `model`, both
/// ways Burn computes them (`forward_masked` then autodiff's `backward`, and
/// the training path, [`Rnnlm::loss_and_gradients`]), over
/// `batches` consecutive batches (dropout masks shared). With `carry`, the
/// last state of each batch starts the next (detached on the Burn side, a
/// plain array on the reference side); without it both start every batch
/// from zeros.
pub fn burn_vs_reference(
    device: &Device,
    model_kind: ModelKind,
    s: Sizes,
    batches: usize,
    carry: bool,
    tolerance: f64,
    seed: u64,
) -> Report {
    let mut report = Report::default();
    let s = s.for_model(model_kind);
    let w = check_weights(model_kind, s, seed);
    let device = device.clone().autodiff();
    let model = model_config(model_kind, s).init_with(&w, &device).expect("weights match config");
    let sites = model.dropout_sites();
    let mut reference = reference::Rnnlm::<f64>::from_weights(&w, model.dropout, seed).expect("valid weights");
    let names: Vec<String> = w.arch.params().into_iter().map(|(n, _)| n).collect();
    let mut rng = StdRng::seed_from_u64(seed + 1);
    let mut state: Option<RecurrentState> = None;
    let mode = if carry { "carried" } else { "reset" };
    for k in 1..=batches {
        let xs = random_ids(&mut rng, s.batch, s.time, s.vocab);
        let ts = random_ids(&mut rng, s.batch, s.time, s.vocab);
        let (keep, masks) = random_masks(&w.arch, sites, s, &mut rng, &device);
        // The training path (the affine layer and the loss by hand) from the
        // same state and masks as autodiff's.
        let (train_loss, train_grads, _) = model.loss_and_gradients(
            ids_tensor(&xs, &device),
            ids_tensor(&ts, &device),
            state.clone(),
            Some(masks.clone()),
        );
        let train_g: Vec<Vec<f64>> = model
            .params()
            .iter()
            .map(|p| p.grad_in(&train_grads).expect("parameter has a gradient").iter().map(|&x| x as f64).collect())
            .collect();
        let (loss, last) =
            model.forward_masked(ids_tensor(&xs, &device), ids_tensor(&ts, &device), state.take(), masks);
        let grads = loss.backward();
        let burn_loss = read(loss)[0];
        let burn_g = burn_grads(&model, &grads);
        // Truncated BPTT: the next batch starts from this state's value, not its history.
        state = carry.then(|| last.detach());

        if !carry {
            reference.reset_state();
        }
        if sites > 0 {
            reference.set_next_masks(keep);
        }
        let ref_loss = reference.forward(&xs, &ts);
        reference.backward(1.0);
        let label = format!("burn vs ref {model_kind} {} state {mode} batch {k}", s.label());
        report.push(format!("{label}: loss"), ((burn_loss - ref_loss) / ref_loss).abs(), tolerance);
        for ((name, g), r) in names.iter().zip(&burn_g).zip(reference.grads()) {
            report.push(
                format!("{label}: grad {name}"),
                rel_err(g, &r.iter().copied().collect::<Vec<f64>>()),
                tolerance,
            );
        }
        let label = format!("burn training path vs ref {model_kind} {} state {mode} batch {k}", s.label());
        report.push(format!("{label}: loss"), ((train_loss - ref_loss) / ref_loss).abs(), tolerance);
        for ((name, g), r) in names.iter().zip(&train_g).zip(reference.grads()) {
            report.push(
                format!("{label}: grad {name}"),
                rel_err(g, &r.iter().copied().collect::<Vec<f64>>()),
                tolerance,
            );
        }
    }
    report
}

/// The update rule of a trajectory comparison.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum CheckOptimizer {
    /// The book's Adam.
    Adam { lr: f64 },
    /// The book's SGD: `param -= lr·grad`.
    Sgd { lr: f64 },
}

/// `steps` training steps of both implementations of `model` from identical
/// weights (dropout masks shared), global clipping at `max_grad`, state
/// carried. Compares the loss of every step.
pub fn trajectory(
    device: &Device,
    model_kind: ModelKind,
    s: Sizes,
    steps: usize,
    optimizer: CheckOptimizer,
    seed: u64,
) -> Report {
    let s = s.for_model(model_kind);
    let max_grad = match optimizer {
        CheckOptimizer::Adam { .. } => 5.0,
        CheckOptimizer::Sgd { .. } => 0.25, // the book's chapter-6 setting
    };
    let w = check_weights(model_kind, s, seed);
    let device = device.clone().autodiff();
    let mut model = model_config(model_kind, s).init_with(&w, &device).expect("weights match config");
    let sites = model.dropout_sites();
    let mut reference = reference::Rnnlm::<f64>::from_weights(&w, model.dropout, seed).expect("valid weights");
    let (lr, mut optim, mut ref_optim): (f64, ModuleOptimizer, Box<dyn reference::Optimizer<f64>>) = match optimizer {
        CheckOptimizer::Adam { lr } => {
            (lr, ModuleOptimizer::from(BookAdam::default()), Box::new(reference::Adam::new(lr)))
        }
        CheckOptimizer::Sgd { lr } => (lr, burn::optim::SgdConfig::new().init(), Box::new(reference::Sgd { lr })),
    };
    let mut rng = StdRng::seed_from_u64(seed + 2);
    let mut state: Option<RecurrentState> = None;
    let mut worst: f64 = 0.0;
    for _ in 0..steps {
        let xs = random_ids(&mut rng, s.batch, s.time, s.vocab);
        let ts = random_ids(&mut rng, s.batch, s.time, s.vocab);
        let (keep, masks) = random_masks(&w.arch, sites, s, &mut rng, &device);
        let (loss, last) =
            model.forward_masked(ids_tensor(&xs, &device), ids_tensor(&ts, &device), state.take(), masks);
        let mut grads = GradientsParams::from_grads(loss.backward(), &model);
        let burn_loss = read(loss)[0];
        clip_grads_global(&model, &mut grads, max_grad);
        model = optim.step(lr, model, grads);
        state = Some(last.detach());

        if sites > 0 {
            reference.set_next_masks(keep);
        }
        let ref_loss = reference.train_step(&xs, &ts, ref_optim.as_mut(), Some(max_grad));
        let e = ((burn_loss - ref_loss) / ref_loss).abs();
        worst = nan_max(worst, e);
    }
    let mut report = Report::default();
    let what = match optimizer {
        CheckOptimizer::Adam { lr } => format!("Adam lr {lr}"),
        CheckOptimizer::Sgd { lr } => format!("SGD lr {lr}"),
    };
    report.push(
        format!("trajectory {model_kind} {} {steps} steps {what}, clip {max_grad}, state carried: loss", s.label()),
        worst,
        TRAJECTORY_TOLERANCE,
    );
    report
}

/// A random `[rows, cols]` f32 matrix, scaled.
fn randn_f32(rng: &mut StdRng, len: usize, scale: f64) -> Vec<f32> {
    (0..len).map(|_| (scale * <StandardNormal as Distribution<f64>>::sample(&StandardNormal, rng)) as f32).collect()
}

fn tensor<const D: usize>(values: &[f32], shape: [usize; D], device: &Device) -> Tensor<D> {
    Tensor::from_data(TensorData::new(values.to_vec(), shape), device).require_grad()
}

fn f64s(values: &[f32]) -> Vec<f64> {
    values.iter().map(|&x| x as f64).collect()
}

fn arr2(values: &[f32], r: usize, c: usize) -> Array2<f64> {
    Array2::from_shape_vec((r, c), f64s(values)).expect("shape")
}

fn arr3(values: &[f32], a: usize, b: usize, c: usize) -> Array3<f64> {
    Array3::from_shape_vec((a, b, c), f64s(values)).expect("shape")
}

/// The Burn LSTM and GRU time layers against the reference's, from the same
/// weights, inputs and starting state: the hidden states and every gradient
/// of `loss = Σ hs ⊙ R` (R random), including those of the inputs and of the
/// starting state.
pub fn recurrent_layers_burn_vs_reference(device: &Device, s: Sizes, tolerance: f64, seed: u64) -> Report {
    use crate::model::{LayerState, Recurrent};
    use crate::weights::CellKind;
    let mut report = Report::default();
    let (n, t, d, h) = (s.batch, s.time, s.wordvec, s.hidden);
    let device = device.clone().autodiff();
    let label = format!("burn vs ref N={n} T={t} D={d} H={h}");
    for (name, cell) in [("TimeLSTM", CellKind::Lstm), ("TimeGRU", CellKind::Gru)] {
        let (g, lstm) = (cell.gates(), cell == CellKind::Lstm);
        let mut rng = StdRng::seed_from_u64(seed + g as u64);
        let wx = randn_f32(&mut rng, d * g * h, 1.0 / (d as f64).sqrt());
        let wh = randn_f32(&mut rng, h * g * h, 1.0 / (h as f64).sqrt());
        let b = randn_f32(&mut rng, g * h, 0.1);
        let xs = randn_f32(&mut rng, n * t * d, 1.0);
        let h0 = randn_f32(&mut rng, n * h, 0.5);
        let c0 = randn_f32(&mut rng, n * h, 0.5);
        let r = randn_f32(&mut rng, n * t * h, 1.0);

        // Burn: autodiff of Σ hs ⊙ R, from (h0, c0) for the LSTM, h0 for the GRU.
        let layer = Recurrent::init_with(cell, d, h, &wx, &wh, &b, &device);
        let (xs_t, h0_t, c0_t) =
            (tensor(&xs, [n, t, d], &device), tensor(&h0, [n, h], &device), tensor(&c0, [n, h], &device));
        let r_t = Tensor::<3>::from_data(TensorData::new(r.clone(), [n, t, h]), &device);
        let (hs, _) = layer.forward(xs_t.clone(), Some(LayerState { h: h0_t.clone(), c: lstm.then(|| c0_t.clone()) }));
        let grads = (hs.clone() * r_t).sum().backward();
        let (p_wx, p_wh, p_b) = layer.params();
        let mut burn = vec![
            read(hs),
            read(p_wx.val().grad(&grads).expect("grad")),
            read(p_wh.val().grad(&grads).expect("grad")),
            read(p_b.val().grad(&grads).expect("grad")),
            read(xs_t.grad(&grads).expect("grad")),
            read(h0_t.grad(&grads).expect("grad")),
        ];
        if lstm {
            burn.push(read(c0_t.grad(&grads).expect("grad")));
        }

        // The reference: forward from the same state, backward from R.
        let params = layers::CellParams { wx: arr2(&wx, d, g * h), wh: arr2(&wh, h, g * h), b: Array1::from(f64s(&b)) };
        let mut reference = reference::TimeRecurrent::new(cell, params);
        let state = if lstm { vec![arr2(&h0, n, h), arr2(&c0, n, h)] } else { vec![arr2(&h0, n, h)] };
        reference.set_state(Some(state));
        let ref_hs = reference.forward(&arr3(&xs, n, t, d));
        let ref_dxs = reference.backward(&arr3(&r, n, t, h));
        let mut expected: Vec<Vec<f64>> = vec![flat(&ref_hs)];
        expected.extend(reference.grads().iter().map(flat));
        expected.push(flat(&ref_dxs));
        expected.extend(reference.dstate().expect("after a backward").iter().map(flat));

        for ((what, got), want) in ["hs", "dWx", "dWh", "db", "dxs", "dh0", "dc0"].iter().zip(&burn).zip(&expected) {
            report.push(format!("{label}: {name} {what}"), rel_err(got, want), tolerance);
        }
    }
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
/// The values in row-major order, whatever the array's memory layout.
fn flat<D: ndarray::Dimension>(a: &ndarray::Array<f64, D>) -> Vec<f64> {
    a.iter().copied().collect()
}
fn slice<D: ndarray::Dimension>(a: &mut ndarray::Array<f64, D>) -> &mut [f64] {
    a.as_slice_mut().expect("standard layout")
}
fn dot<D: ndarray::Dimension>(a: &ndarray::Array<f64, D>, b: &ndarray::Array<f64, D>) -> f64 {
    (a * b).sum()
}

struct RnnCase {
    p: layers::CellParams<f64>,
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

struct LstmCase {
    p: layers::CellParams<f64>,
    x: Array2<f64>,
    h: Array2<f64>,
    c: Array2<f64>,
    rh: Array2<f64>, // loss = sum(h_next ⊙ rh) + sum(c_next ⊙ rc)
    rc: Array2<f64>,
}

impl LstmCase {
    fn loss(&mut self) -> f64 {
        let (h, c) = lstm::Lstm::default().forward(&self.p, &self.x, &self.h, &self.c);
        dot(&h, &self.rh) + dot(&c, &self.rc)
    }
}

struct TimeLstmCase {
    layer: lstm::TimeLstm<f64>,
    xs: Array3<f64>,
    h0: Array2<f64>,
    c0: Array2<f64>,
    r: Array3<f64>,
}

impl TimeLstmCase {
    fn loss(&mut self) -> f64 {
        self.layer.set_state(self.h0.clone(), self.c0.clone());
        let hs = self.layer.forward(&self.xs);
        dot(&hs, &self.r)
    }
}

struct GruCase {
    p: layers::CellParams<f64>,
    x: Array2<f64>,
    h: Array2<f64>,
    r: Array2<f64>,
}

impl GruCase {
    fn loss(&mut self) -> f64 {
        dot(&gru::Gru::default().forward(&self.p, &self.x, &self.h), &self.r)
    }
}

struct TimeGruCase {
    layer: gru::TimeGru<f64>,
    xs: Array3<f64>,
    h0: Array2<f64>,
    r: Array3<f64>,
}

impl TimeGruCase {
    fn loss(&mut self) -> f64 {
        self.layer.set_state(self.h0.clone());
        let hs = self.layer.forward(&self.xs);
        dot(&hs, &self.r)
    }
}

struct DropoutCase {
    layer: layers::TimeDropout<f64>,
    keep: Array3<bool>,
    x: Array3<f64>,
    r: Array3<f64>,
}

impl DropoutCase {
    fn loss(&mut self) -> f64 {
        self.layer.set_next_keep(self.keep.clone());
        let out = self.layer.forward(&self.x);
        dot(&out, &self.r)
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
    model: reference::Rnnlm<f64>,
    xs: Array2<usize>,
    ts: Array2<usize>,
    state: Vec<Option<Vec<Array2<f64>>>>,
    masks: Vec<Array3<bool>>,
    /// The parameter being perturbed, by its index in the book's order.
    which: usize,
}

impl ModelCase {
    fn loss(&mut self) -> f64 {
        self.model.set_state(self.state.clone());
        if !self.masks.is_empty() {
            self.model.set_next_masks(self.masks.clone());
        }
        self.model.forward(&self.xs, &self.ts)
    }

    fn param(&mut self) -> &mut [f64] {
        let k = self.which;
        self.model.params_mut().swap_remove(k).into_slice().expect("standard layout")
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
        p: layers::CellParams {
            wx: randn2(&mut rng, d, h) * 0.5,
            wh: randn2(&mut rng, h, h) * 0.5,
            b: randn1(&mut rng, h) * 0.1,
        },
        x: randn2(&mut rng, n, d),
        h: randn2(&mut rng, n, h),
        r: randn2(&mut rng, n, h),
    };
    let rnn_loss: fn(&mut RnnCase) -> f64 = |c| dot(&layers::Rnn::default().forward(&c.p, &c.x, &c.h), &c.r);
    let mut cell = layers::Rnn::default();
    let mut grads = layers::CellGrads::zeros_like(&c.p);
    cell.forward(&c.p, &c.x, &c.h);
    let (dx, dh) = cell.backward(&c.p, &c.r, &mut grads);
    row("RNN dx", &flat(&dx), &numerical(&mut c, |c| slice(&mut c.x), rnn_loss));
    row("RNN dh_prev", &flat(&dh), &numerical(&mut c, |c| slice(&mut c.h), rnn_loss));
    row("RNN dWx", &flat(&grads.wx), &numerical(&mut c, |c| slice(&mut c.p.wx), rnn_loss));
    row("RNN dWh", &flat(&grads.wh), &numerical(&mut c, |c| slice(&mut c.p.wh), rnn_loss));
    row("RNN db", &flat(&grads.b), &numerical(&mut c, |c| slice(&mut c.p.b), rnn_loss));

    // TimeRNN, starting from a given state
    let params = layers::CellParams {
        wx: randn2(&mut rng, d, h) * 0.5,
        wh: randn2(&mut rng, h, h) * 0.5,
        b: randn1(&mut rng, h) * 0.1,
    };
    let mut c = TimeRnnCase {
        layer: layers::TimeRnn::new(params, true),
        xs: randn3(&mut rng, n, t, d),
        h0: randn2(&mut rng, n, h),
        r: randn3(&mut rng, n, t, h),
    };
    c.loss();
    let dxs = c.layer.backward(&c.r.clone());
    let g = (c.layer.grads.wx.clone(), c.layer.grads.wh.clone(), c.layer.grads.b.clone(), c.layer.dh.clone().unwrap());
    row("TimeRNN dxs", &flat(&dxs), &numerical(&mut c, |c| slice(&mut c.xs), TimeRnnCase::loss));
    row("TimeRNN dh0", &flat(&g.3), &numerical(&mut c, |c| slice(&mut c.h0), TimeRnnCase::loss));
    row("TimeRNN dWx", &flat(&g.0), &numerical(&mut c, |c| slice(&mut c.layer.params.wx), TimeRnnCase::loss));
    row("TimeRNN dWh", &flat(&g.1), &numerical(&mut c, |c| slice(&mut c.layer.params.wh), TimeRnnCase::loss));
    row("TimeRNN db", &flat(&g.2), &numerical(&mut c, |c| slice(&mut c.layer.params.b), TimeRnnCase::loss));

    // LSTM (one step); gate pre-activations spread over the sigmoid's curve
    let gates = |rng: &mut StdRng, g: usize| layers::CellParams {
        wx: randn2(rng, d, g * h) * 0.5,
        wh: randn2(rng, h, g * h) * 0.5,
        b: randn1(rng, g * h) * 0.1,
    };
    let mut c = LstmCase {
        p: gates(&mut rng, 4),
        x: randn2(&mut rng, n, d),
        h: randn2(&mut rng, n, h),
        c: randn2(&mut rng, n, h),
        rh: randn2(&mut rng, n, h),
        rc: randn2(&mut rng, n, h),
    };
    let mut cell = lstm::Lstm::default();
    let mut grads = layers::CellGrads::zeros_like(&c.p);
    cell.forward(&c.p, &c.x, &c.h, &c.c);
    let (dx, dh, dc) = cell.backward(&c.p, &c.rh, &c.rc, &mut grads);
    row("LSTM dx", &flat(&dx), &numerical(&mut c, |c| slice(&mut c.x), LstmCase::loss));
    row("LSTM dh_prev", &flat(&dh), &numerical(&mut c, |c| slice(&mut c.h), LstmCase::loss));
    row("LSTM dc_prev", &flat(&dc), &numerical(&mut c, |c| slice(&mut c.c), LstmCase::loss));
    row("LSTM dWx", &flat(&grads.wx), &numerical(&mut c, |c| slice(&mut c.p.wx), LstmCase::loss));
    row("LSTM dWh", &flat(&grads.wh), &numerical(&mut c, |c| slice(&mut c.p.wh), LstmCase::loss));
    row("LSTM db", &flat(&grads.b), &numerical(&mut c, |c| slice(&mut c.p.b), LstmCase::loss));

    // TimeLSTM, starting from a given (h, c)
    let mut c = TimeLstmCase {
        layer: lstm::TimeLstm::new(gates(&mut rng, 4), true),
        xs: randn3(&mut rng, n, t, d),
        h0: randn2(&mut rng, n, h),
        c0: randn2(&mut rng, n, h),
        r: randn3(&mut rng, n, t, h),
    };
    c.loss();
    let dxs = c.layer.backward(&c.r.clone());
    let l = &c.layer;
    let g = (l.grads.wx.clone(), l.grads.wh.clone(), l.grads.b.clone(), l.dh.clone().unwrap(), l.dc.clone().unwrap());
    row("TimeLSTM dxs", &flat(&dxs), &numerical(&mut c, |c| slice(&mut c.xs), TimeLstmCase::loss));
    row("TimeLSTM dh0", &flat(&g.3), &numerical(&mut c, |c| slice(&mut c.h0), TimeLstmCase::loss));
    row("TimeLSTM dc0", &flat(&g.4), &numerical(&mut c, |c| slice(&mut c.c0), TimeLstmCase::loss));
    row("TimeLSTM dWx", &flat(&g.0), &numerical(&mut c, |c| slice(&mut c.layer.params.wx), TimeLstmCase::loss));
    row("TimeLSTM dWh", &flat(&g.1), &numerical(&mut c, |c| slice(&mut c.layer.params.wh), TimeLstmCase::loss));
    row("TimeLSTM db", &flat(&g.2), &numerical(&mut c, |c| slice(&mut c.layer.params.b), TimeLstmCase::loss));

    // GRU (one step)
    let mut c = GruCase {
        p: gates(&mut rng, 3),
        x: randn2(&mut rng, n, d),
        h: randn2(&mut rng, n, h),
        r: randn2(&mut rng, n, h),
    };
    let mut cell = gru::Gru::default();
    let mut grads = layers::CellGrads::zeros_like(&c.p);
    cell.forward(&c.p, &c.x, &c.h);
    let (dx, dh) = cell.backward(&c.p, &c.r, &mut grads);
    row("GRU dx", &flat(&dx), &numerical(&mut c, |c| slice(&mut c.x), GruCase::loss));
    row("GRU dh_prev", &flat(&dh), &numerical(&mut c, |c| slice(&mut c.h), GruCase::loss));
    row("GRU dWx", &flat(&grads.wx), &numerical(&mut c, |c| slice(&mut c.p.wx), GruCase::loss));
    row("GRU dWh", &flat(&grads.wh), &numerical(&mut c, |c| slice(&mut c.p.wh), GruCase::loss));
    row("GRU db", &flat(&grads.b), &numerical(&mut c, |c| slice(&mut c.p.b), GruCase::loss));

    // TimeGRU, starting from a given state
    let mut c = TimeGruCase {
        layer: gru::TimeGru::new(gates(&mut rng, 3), true),
        xs: randn3(&mut rng, n, t, d),
        h0: randn2(&mut rng, n, h),
        r: randn3(&mut rng, n, t, h),
    };
    c.loss();
    let dxs = c.layer.backward(&c.r.clone());
    let g = (c.layer.grads.wx.clone(), c.layer.grads.wh.clone(), c.layer.grads.b.clone(), c.layer.dh.clone().unwrap());
    row("TimeGRU dxs", &flat(&dxs), &numerical(&mut c, |c| slice(&mut c.xs), TimeGruCase::loss));
    row("TimeGRU dh0", &flat(&g.3), &numerical(&mut c, |c| slice(&mut c.h0), TimeGruCase::loss));
    row("TimeGRU dWx", &flat(&g.0), &numerical(&mut c, |c| slice(&mut c.layer.params.wx), TimeGruCase::loss));
    row("TimeGRU dWh", &flat(&g.1), &numerical(&mut c, |c| slice(&mut c.layer.params.wh), TimeGruCase::loss));
    row("TimeGRU db", &flat(&g.2), &numerical(&mut c, |c| slice(&mut c.layer.params.b), TimeGruCase::loss));

    // TimeDropout with a fixed mask (ratio 0.5: kept entries are doubled)
    let mut c = DropoutCase {
        layer: layers::TimeDropout::new(0.5, seed),
        keep: Array3::from_shape_fn((n, t, h), |(i, j, k)| (i + 2 * j + 3 * k) % 3 != 0),
        x: randn3(&mut rng, n, t, h),
        r: randn3(&mut rng, n, t, h),
    };
    c.loss();
    let dx = c.layer.backward(&c.r.clone());
    row("TimeDropout dx", &flat(&dx), &numerical(&mut c, |c| slice(&mut c.x), DropoutCase::loss));

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
    row("TimeAffine dx", &flat(&dx), &numerical(&mut c, |c| slice(&mut c.x), affine_loss));
    row("TimeAffine dW", &flat(&gw), &numerical(&mut c, |c| slice(&mut c.layer.w), affine_loss));
    row("TimeAffine db", &flat(&gb), &numerical(&mut c, |c| slice(&mut c.layer.b), affine_loss));

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
    row("TimeEmbedding dW", &flat(&gw), &numerical(&mut c, |c| slice(&mut c.layer.embed.w), embed_loss));

    // TimeSoftmaxWithLoss
    let mut c = SoftmaxCase {
        layer: layers::TimeSoftmaxWithLoss::default(),
        x: randn3(&mut rng, n, t, v) * 3.0,
        ts: random_ids(&mut rng, n, t, v),
    };
    let softmax_loss: fn(&mut SoftmaxCase) -> f64 = |c| c.layer.forward(&c.x, &c.ts);
    softmax_loss(&mut c);
    let dx = c.layer.backward(1.0);
    row("TimeSoftmaxWithLoss dx", &flat(&dx), &numerical(&mut c, |c| slice(&mut c.x), softmax_loss));

    report
}

/// The whole reference model against central finite differences in f64, at
/// the small sizes, from a non-zero carried state (and fixed dropout masks):
/// the gradient of every parameter (with tied weights, the embedding's
/// gradient collects both of its uses).
pub fn reference_model_vs_finite_differences(model: ModelKind, seed: u64) -> Report {
    let s = Sizes::SMALL.for_model(model);
    let (n, t, v, h) = (s.batch, s.time, s.vocab, s.hidden);
    let mut rng = StdRng::seed_from_u64(seed + 4);
    let w = check_weights(model, s, seed);
    let dropout = model_config(model, s).dropout;
    let mut m = reference::Rnnlm::from_weights(&w, dropout, seed).expect("valid weights");
    let state = (0..w.arch.layers)
        .map(|_| {
            Some(
                (0..if w.arch.cell == crate::weights::CellKind::Lstm { 2 } else { 1 })
                    .map(|_| randn2(&mut rng, n, h) * 0.5)
                    .collect(),
            )
        })
        .collect();
    let masks = (0..m.dropouts.len())
        .map(|k| {
            let width = if k == 0 { s.wordvec } else { h };
            Array3::from_shape_fn((n, t, width), |_| rng.random::<f64>() >= dropout)
        })
        .collect();
    m.train = true;
    let mut c = ModelCase {
        model: m,
        xs: random_ids(&mut rng, n, t, v),
        ts: random_ids(&mut rng, n, t, v),
        state,
        masks,
        which: 0,
    };
    c.loss();
    c.model.backward(1.0);
    let grads: Vec<ArrayD<f64>> = c.model.grads();
    let mut report = Report::default();
    for (k, ((name, _), g)) in w.arch.params().into_iter().zip(&grads).enumerate() {
        c.which = k;
        let numeric = numerical(&mut c, ModelCase::param, ModelCase::loss);
        report.push(
            format!("reference vs finite differences: {} ({model}) d{name}", model.book_name()),
            rel_err(&flat(g), &numeric),
            FD_TOLERANCE,
        );
    }
    report
}

/// Which comparisons to run.
#[derive(Clone, Debug)]
pub struct CheckOptions {
    /// The models to check.
    pub models: Vec<ModelKind>,
    /// Also compare at the notebook's sizes (V = 10,000), which takes longer.
    pub seed_sizes: bool,
    /// Optimizer steps compared in the trajectory check.
    pub steps: usize,
    /// Seed of the weights and data.
    pub seed: u64,
}

impl Default for CheckOptions {
    fn default() -> Self {
        Self { models: ModelKind::ALL.to_vec(), seed_sizes: true, steps: 50, seed: 0 }
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

/// Every comparison: each reference layer against finite differences, the
/// Burn LSTM and GRU layers against the reference's, then for each model the
/// reference model against finite differences and Burn on `device` against
/// the reference (one batch and three carried batches at the small sizes,
/// three reset batches, one batch at the notebook's sizes) and 50-step
/// trajectories with Adam and with SGD.
pub fn run(device: &Device, tolerance: f64, opts: &CheckOptions) -> Report {
    let mut report = reference_vs_finite_differences(opts.seed);
    let seed = opts.seed;
    report.rows.extend(recurrent_layers_burn_vs_reference(device, Sizes::SMALL, tolerance, seed).rows);
    if opts.seed_sizes {
        report.rows.extend(recurrent_layers_burn_vs_reference(device, Sizes::SEED, tolerance, seed).rows);
    }
    for &model in &opts.models {
        report.rows.extend(reference_model_vs_finite_differences(model, seed).rows);
        report.rows.extend(burn_vs_reference(device, model, Sizes::SMALL, 3, true, tolerance, seed).rows);
        report.rows.extend(burn_vs_reference(device, model, Sizes::SMALL, 3, false, tolerance, seed).rows);
        if opts.seed_sizes {
            report.rows.extend(burn_vs_reference(device, model, Sizes::SEED, 1, true, tolerance, seed).rows);
        }
        if opts.steps > 0 {
            report.rows.extend(
                trajectory(device, model, Sizes::SMALL, opts.steps, CheckOptimizer::Adam { lr: 1e-3 }, seed).rows,
            );
            report.rows.extend(
                trajectory(device, model, Sizes::SMALL, opts.steps, CheckOptimizer::Sgd { lr: 1.0 }, seed).rows,
            );
        }
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
