//! Timing full training iterations as `train` runs them: forward, then
//! `backward()` (each layer's backward the book's, inside autodiff), global
//! clipping and the book's Adam or SGD, with the batches already on the
//! device.

use std::time::Instant;

use burn::optim::{GradientsParams, ModuleOptimizer, SgdConfig};
use burn::tensor::Device;
use rand::SeedableRng;
use rand::rngs::StdRng;

use crate::arch::ModelKind;
use crate::check::fixtures::{ids_tensor, random_ids};
use crate::choice::{Choice, display_as_name};
use crate::model::RecurrentState;
use crate::optim::{BookAdam, clip_grads_global};
use crate::train::OptimizerKind;
use crate::weights::RnnlmWeights;

/// Sizes of a benchmark.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Preset {
    Seed,
    Big,
    Ch6,
}

impl Choice for Preset {
    const NAMES: &'static [(Self, &'static str)] =
        &[(Preset::Seed, "seed"), (Preset::Big, "big"), (Preset::Ch6, "ch6")];
}

display_as_name!(Preset);

impl Preset {
    /// (N, T, D, H, V)
    pub fn sizes(self) -> (usize, usize, usize, usize, usize) {
        match self {
            Preset::Seed => (10, 5, 100, 100, 10_000),
            Preset::Big => (20, 35, 650, 650, 10_000),
            Preset::Ch6 => (20, 35, 100, 100, 10_000),
        }
    }
}

/// What a benchmark measured.
#[derive(Clone, Debug)]
pub struct BenchResult {
    /// Milliseconds of each timed iteration.
    pub iteration_ms: Vec<f64>,
    /// Median milliseconds of each phase: forward and backward, clipping,
    /// the optimizer's step. On an asynchronous (GPU) backend a phase may include work queued
    /// by the one before it.
    pub phase_ms: [f64; 3],
    pub tokens_per_iteration: usize,
}

impl BenchResult {
    pub fn median_ms(&self) -> f64 {
        median(&self.iteration_ms)
    }

    pub fn tokens_per_second(&self) -> f64 {
        self.tokens_per_iteration as f64 / (self.median_ms() / 1000.0)
    }
}

fn median(values: &[f64]) -> f64 {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 { v[n / 2] } else { (v[n / 2 - 1] + v[n / 2]) / 2.0 }
}

/// Runs `warmup` untimed then `iters` timed training iterations on `device`.
/// Each iteration ends by reading the loss back, which waits for the device.
pub fn run(
    device: &Device,
    model: ModelKind,
    preset: Preset,
    optimizer: OptimizerKind,
    warmup: usize,
    iters: usize,
) -> BenchResult {
    let (n, t, d, h, v) = preset.sizes();
    let device = device.clone().autodiff();
    let config = model.config(v, d, h, 0.5);
    let weights = RnnlmWeights::book_init(config.architecture(), 0);
    let mut model = config.init_with(&weights, &device).expect("sizes match");
    // The book's two steps: chapter 5's Adam, chapter 6's SGD.
    let (mut optim, lr, max_grad) = match optimizer {
        OptimizerKind::Adam => (ModuleOptimizer::from(BookAdam::default()), 1e-3, 5.0),
        OptimizerKind::Sgd => (SgdConfig::new().init(), 20.0, 0.25),
    };
    let mut rng = StdRng::seed_from_u64(0);
    // A few distinct batches, on the device before timing starts.
    let batches: Vec<_> = (0..8)
        .map(|_| {
            (ids_tensor(&random_ids(&mut rng, n, t, v), &device), ids_tensor(&random_ids(&mut rng, n, t, v), &device))
        })
        .collect();
    let mut state: Option<RecurrentState> = None;
    let mut times = Vec::with_capacity(iters);
    let mut phases: [Vec<f64>; 3] = Default::default();
    let ms = |since: Instant| since.elapsed().as_secs_f64() * 1000.0;
    for i in 0..warmup + iters {
        let (xs, ts) = batches[i % batches.len()].clone();
        let start = Instant::now();
        let (loss, h_last) = model.forward(xs, ts, state.take());
        let _ = loss.clone().into_scalar::<f32>(); // as `train` reads it
        let mut grads = GradientsParams::from_grads(loss.backward(), &model);
        state = Some(h_last.detach());
        let t_grads = Instant::now();
        clip_grads_global(&model, &mut grads, max_grad); // reads the norm back: a sync point
        let t_clip = Instant::now();
        model = optim.step(lr, model, grads);
        let _ = device.sync();
        if i >= warmup {
            times.push(ms(start));
            phases[0].push((t_grads - start).as_secs_f64() * 1000.0);
            phases[1].push((t_clip - t_grads).as_secs_f64() * 1000.0);
            phases[2].push(ms(t_clip));
        }
    }
    let phase_ms = [median(&phases[0]), median(&phases[1]), median(&phases[2])];
    BenchResult { iteration_ms: times, phase_ms, tokens_per_iteration: n * t }
}

/// The sizes [`run_seq2seq`] times a model at: `(N, Tq, Ta, V, H)`, those of
/// `train_seq2seq.py` on addition.txt (chapter 7: 128, 7, 5, 13, 128) or,
/// with attention, of `ch08/train.py` on date.txt (128, 29, 11, 59, 256).
/// D is 16 for both.
pub fn seq2seq_bench_sizes(kind: crate::arch::Seq2seqKind) -> (usize, usize, usize, usize, usize) {
    if kind.attention() { (128, 29, 11, 59, 256) } else { (128, 7, 5, 13, 128) }
}

/// [`run`] for an encoder-decoder at the book's sizes
/// ([`seq2seq_bench_sizes`]), each iteration the book's `Trainer.fit` step:
/// forward, backward, global clipping at 5.0, the book's Adam. A token is
/// one encoder or decoder time step of one question: Tq + Ta − 1 per question.
pub fn run_seq2seq(device: &Device, kind: crate::arch::Seq2seqKind, warmup: usize, iters: usize) -> BenchResult {
    let (n, tq, ta, v, h) = seq2seq_bench_sizes(kind);
    let device = device.clone().autodiff();
    let arch = crate::arch::Seq2seqArch { vocab_size: v, wordvec_size: 16, hidden_size: h, kind };
    let weights = crate::weights::Seq2seqWeights::book_init(arch, 0);
    let mut model = crate::model::Seq2seqConfig::for_architecture(arch).init_with(&weights, &device).expect("sizes");
    let mut optim = ModuleOptimizer::from(BookAdam::default());
    let mut rng = StdRng::seed_from_u64(0);
    let batches: Vec<_> = (0..8)
        .map(|_| {
            (ids_tensor(&random_ids(&mut rng, n, tq, v), &device), ids_tensor(&random_ids(&mut rng, n, ta, v), &device))
        })
        .collect();
    let mut times = Vec::with_capacity(iters);
    let mut phases: [Vec<f64>; 3] = Default::default();
    let ms = |since: Instant| since.elapsed().as_secs_f64() * 1000.0;
    for i in 0..warmup + iters {
        let (xs, ts) = batches[i % batches.len()].clone();
        let start = Instant::now();
        let loss = model.forward(xs, ts);
        let _ = loss.clone().into_scalar::<f32>(); // as `train` reads it
        let mut grads = GradientsParams::from_grads(loss.backward(), &model);
        let t_grads = Instant::now();
        clip_grads_global(&model, &mut grads, 5.0);
        let t_clip = Instant::now();
        model = optim.step(1e-3, model, grads);
        let _ = device.sync();
        if i >= warmup {
            times.push(ms(start));
            phases[0].push((t_grads - start).as_secs_f64() * 1000.0);
            phases[1].push((t_clip - t_grads).as_secs_f64() * 1000.0);
            phases[2].push(ms(t_clip));
        }
    }
    let phase_ms = [median(&phases[0]), median(&phases[1]), median(&phases[2])];
    BenchResult { iteration_ms: times, phase_ms, tokens_per_iteration: n * (tq + ta - 1) }
}
