//! Timing full training iterations as `train` runs them: forward, then
//! `backward()` (each layer's backward the book's, inside autodiff), global
//! clipping and the book's Adam or SGD, with the batches already on the
//! device.

use std::time::Instant;

use burn::optim::{GradientsParams, ModuleOptimizer, SgdConfig};
use burn::tensor::Device;
use rand::SeedableRng;
use rand::rngs::StdRng;

use rnnlm::arch::ModelKind;
use rnnlm::check::fixtures::{ids_tensor, random_ids};
use rnnlm::choice::Choice;
use rnnlm::cpu::matmul;
use rnnlm::model::RecurrentState;
use rnnlm::optim::{BookAdam, clip_grads_global};
use rnnlm::train::OptimizerKind;
use rnnlm::weights::RnnlmWeights;

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

impl std::fmt::Display for Preset {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

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

/// The most timed iterations one `bench` runs (their times are kept to take
/// the median).
pub const MAX_ITERS: usize = 100_000;

/// `--iters` as a bench can run it: 1 to [`MAX_ITERS`].
pub fn check_iters(iters: usize) -> Result<(), crate::explain::Failure> {
    match iters {
        0 => Err("--iters must be at least 1".into()),
        n if n > MAX_ITERS => Err(format!("--iters must be at most {MAX_ITERS}, not {n}").into()),
        _ => Ok(()),
    }
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
pub fn seq2seq_bench_sizes(kind: rnnlm::arch::Seq2seqKind) -> (usize, usize, usize, usize, usize) {
    if kind.attention() { (128, 29, 11, 59, 256) } else { (128, 7, 5, 13, 128) }
}

/// [`run`] for an encoder-decoder at the book's sizes
/// ([`seq2seq_bench_sizes`]), each iteration the book's `Trainer.fit` step:
/// forward, backward, global clipping at 5.0, the book's Adam. A token is
/// one encoder or decoder time step of one question: Tq + Ta − 1 per question.
pub fn run_seq2seq(device: &Device, kind: rnnlm::arch::Seq2seqKind, warmup: usize, iters: usize) -> BenchResult {
    let (n, tq, ta, v, h) = seq2seq_bench_sizes(kind);
    let device = device.clone().autodiff();
    let arch = rnnlm::arch::Seq2seqArch { vocab_size: v, wordvec_size: 16, hidden_size: h, kind };
    let weights = rnnlm::weights::Seq2seqWeights::book_init(arch, 0);
    let mut model = rnnlm::model::Seq2seqConfig::for_architecture(arch).init_with(&weights, &device).expect("sizes");
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

/// One product of a training iteration, in one layout, and its rate here.
#[derive(Clone, Debug)]
pub struct ProductRate {
    /// The product and its shape (`[M, K]·[K, N]`).
    pub product: String,
    /// How its operands are laid out.
    pub layout: &'static str,
    /// Whether training gives the product this layout.
    pub chosen: bool,
    pub gflops: f64,
}

/// The matrix products one training iteration of `model` at `preset` makes,
/// each in the layouts the layers can give it, timed on `device` (each for
/// at least 20 ms after an untimed call): a time step's recurrent products
/// forward (`h·Wh`; the GRU's two) and backward (`dA·Whᵀ`; the GRU's two),
/// for the RNN and LSTM `dWh` over all steps, then the head's forward, `dW`
/// and `dx`. The layouts differ in which kernel runs a product, never in its
/// value (`model::StepLayout`, `model::BackLayout`); the one marked chosen is
/// the one measurement picked for training (`cpu::layout`).
pub fn product_rates(device: &Device, model: ModelKind, preset: Preset) -> Vec<ProductRate> {
    use burn::tensor::{Distribution, Tensor};
    use rnnlm::arch::CellKind;
    use rnnlm::cpu::{BackLayout, HeadLayout, Layout, StepLayout};

    let (n, t, _, h, v) = preset.sizes();
    let (gh, m) = (model.cell().gates() * h, n * t);
    let random = |rows: usize, cols: usize| Tensor::<2>::random([rows, cols], Distribution::Default, device);
    let (h_prev, wh, da, hs, das) = (random(n, h), random(h, gh), random(n, gh), random(m, h), random(m, gh));
    let mut rates = Vec::new();
    let mut add = |product: String, layout, chosen, flops: usize, f: &dyn Fn() -> Tensor<2>| {
        rates.push(ProductRate { product, layout, chosen, gflops: flops as f64 / seconds_per_call(f) / 1e9 });
    };
    let shape = |name: &str, [a, b, c]: [usize; 3]| format!("{name} [{a}, {b}]·[{b}, {c}]");
    let gru = model.cell() == CellKind::Gru;
    // The GRU's step makes two products each way: z and r together, then h̃
    // from r⊙h (model/gru.rs); the others one. Each block of Wh's columns:
    // (forward's name, backward's name, columns).
    let blocks = match gru {
        true => {
            vec![("step h·Wh_zr", "step dA_zr·Wh_zrᵀ", 0, 2 * h), ("step (r⊙h)·Wh_h", "step dA_h·Wh_hᵀ", 2 * h, gh)]
        }
        false => vec![("step h·Wh", "step dA·Whᵀ", 0, gh)],
    };
    let (step, back) = (StepLayout::measured(&wh, n, t), BackLayout::measured(&wh, n, t));
    for &(name, _, lo, hi) in &blocks {
        for &layout in StepLayout::ALL {
            let w = layout.apply(&wh).slice([0..h, lo..hi]);
            add(shape(name, [n, h, hi - lo]), layout.name(), layout == step, 2 * n * h * (hi - lo), &|| {
                matmul(h_prev.clone(), w.clone())
            });
        }
    }
    for &(_, name, lo, hi) in &blocks {
        let da = da.clone().slice([0..n, lo..hi]);
        for &layout in BackLayout::ALL {
            let w = layout.apply(&wh).slice([lo..hi, 0..h]);
            add(shape(name, [n, hi - lo, h]), layout.name(), layout == back, 2 * n * (hi - lo) * h, &|| {
                matmul(da.clone(), w.clone())
            });
        }
    }
    if !gru {
        add(shape("dWh = hsᵀ·dA", [h, m, gh]), "hsᵀ a transposed view", true, 2 * h * m * gh, &|| {
            matmul(hs.clone().transpose(), das.clone())
        });
    }
    let (g, head_flops) = (random(m, v), 2 * m * h * v);
    // `Wᵀ` as the head holds it: with tying the embedding, else W's transposed view
    let (dh_name, w_t) = if model.tied() {
        let e = random(v, h); // the embedding, the head's weight transposed
        add(shape("head h·Eᵀ", [m, h, v]), "Eᵀ a transposed view", true, head_flops, &|| {
            matmul(hs.clone(), e.clone().transpose())
        });
        add(shape("head dEᵀ = Gᵀ·h", [v, m, h]), "Gᵀ a transposed view", true, head_flops, &|| {
            matmul(g.clone().transpose(), hs.clone())
        });
        ("head dh = G·E", e)
    } else {
        let w = random(h, v);
        add(shape("head h·W", [m, h, v]), "W row-major", true, head_flops, &|| matmul(hs.clone(), w.clone()));
        add(shape("head dW = hᵀ·G", [h, m, v]), "hᵀ a transposed view", true, head_flops, &|| {
            matmul(hs.clone().transpose(), g.clone())
        });
        ("head dh = G·Wᵀ", w.transpose())
    };
    let chosen = HeadLayout::measured(&g, &w_t, model.tied());
    for &layout in HeadLayout::ALL {
        add(shape(dh_name, [m, v, h]), layout.name(), layout == chosen, head_flops, &|| layout.product(&g, &w_t));
    }
    rates
}

/// Seconds per call of the product `f`: one untimed call, then batches of
/// calls, each batch ended by reading one value back (which waits for an
/// asynchronous device), until 20 ms and three batches have passed.
fn seconds_per_call(f: &dyn Fn() -> burn::tensor::Tensor<2>) -> f64 {
    const BATCH: usize = 4;
    let sync = |x: burn::tensor::Tensor<2>| x.slice([0..1, 0..1]).into_scalar::<f32>();
    sync(f());
    let (start, mut calls) = (Instant::now(), 0);
    while calls < 3 * BATCH || start.elapsed().as_secs_f64() < 0.02 {
        let mut last = f();
        for _ in 1..BATCH {
            last = f();
        }
        sync(last);
        calls += BATCH;
    }
    start.elapsed().as_secs_f64() / calls as f64
}

#[cfg(test)]
mod tests {
    use super::{Preset, product_rates};
    use rnnlm::arch::ModelKind;

    /// Every product `bench` reports is timed in each layout a layer can give
    /// it, and exactly one of them is marked as training's.
    #[test]
    fn each_product_has_its_layouts_timed_and_one_chosen() {
        let device = burn::tensor::Device::flex();
        for model in ModelKind::ALL {
            let rates = product_rates(&device, model, Preset::Seed);
            let mut products: Vec<&str> = rates.iter().map(|r| r.product.as_str()).collect();
            products.dedup();
            // the step's product(s) forward and backward, for RNN and LSTM dWh, the head's three
            let expected = if model == ModelKind::Gru { 2 + 2 + 3 } else { 1 + 1 + 1 + 3 };
            assert_eq!(products.len(), expected, "{model}: {products:?}");
            for product in products {
                let of: Vec<_> = rates.iter().filter(|r| r.product == product).collect();
                assert_eq!(of.iter().filter(|r| r.chosen).count(), 1, "{model} {product}");
                assert!(of.iter().all(|r| r.gflops.is_finite() && r.gflops > 0.0), "{model} {product}");
            }
        }
    }
}
