//! Your own model from the crate's layers: not one of the book's, but a
//! classifier that reads a sequence with two stacked `TimeLstm`s and
//! answers from the last hidden state, between Burn's own `Embedding` and
//! `Linear`. It is trained by a plain Burn loop (`forward`, `backward()`,
//! `GradientsParams::from_grads`, Adam); each `TimeLstm` is one autodiff
//! node whose backward is the book's, so nothing else is needed for speed.
//!
//! The task: which of 4 classes the first of 10 random tokens belongs to,
//! read after the other 9, so the answer must be carried through every step
//! (at this length Adam learns it in a few hundred steps; at 25 tokens it
//! takes far longer). Then the same model built with `burn::nn::Lstm` is
//! timed beside it, at larger sizes, in the same run.
//!
//! ```text
//! cargo run --example your_own_model [training steps, 300 by default]
//! ```

use std::time::Instant;

use burn::config::Config;
use burn::module::Module;
use burn::nn::loss::CrossEntropyLossConfig;
use burn::nn::{Embedding, EmbeddingConfig, Linear, LinearConfig, Lstm, LstmConfig};
use burn::optim::{AdamConfig, GradientsParams};
use burn::tensor::{Device, Int, Tensor, TensorData};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use rnnlm::model::{Backprop, LstmCellConfig, TimeLstm};

/// A two-layer LSTM classifier over the last hidden state.
#[derive(Config, Debug)]
pub struct ClassifierConfig {
    /// Tokens in the vocabulary.
    pub vocab_size: usize,
    /// Classes to tell apart.
    pub classes: usize,
    /// Size of a token's vector.
    #[config(default = 32)]
    pub embed_size: usize,
    /// Size of each LSTM's hidden state.
    #[config(default = 64)]
    pub hidden_size: usize,
}

/// Embedding → TimeLstm → TimeLstm → last `h` → Linear.
#[derive(Module, Debug)]
pub struct Classifier {
    embed: Embedding,
    lower: TimeLstm,
    upper: TimeLstm,
    out: Linear,
}

impl ClassifierConfig {
    pub fn init(&self, device: &Device) -> Classifier {
        let (e, h) = (self.embed_size, self.hidden_size);
        Classifier {
            embed: EmbeddingConfig::new(self.vocab_size, e).init(device),
            lower: TimeLstm { cell: LstmCellConfig::new(e, h).init(device) },
            upper: TimeLstm { cell: LstmCellConfig::new(h, h).init(device) },
            out: LinearConfig::new(h, self.classes).init(device),
        }
    }

    /// The same model with burn-nn's `Lstm` in place of `TimeLstm`.
    pub fn init_burn_nn(&self, device: &Device) -> BurnNnClassifier {
        let (e, h) = (self.embed_size, self.hidden_size);
        BurnNnClassifier {
            embed: EmbeddingConfig::new(self.vocab_size, e).init(device),
            lower: LstmConfig::new(e, h, true).init(device),
            upper: LstmConfig::new(h, h, true).init(device),
            out: LinearConfig::new(h, self.classes).init(device),
        }
    }
}

impl Classifier {
    /// Class scores `[N, classes]` of the token sequences `[N, T]`, the
    /// LSTMs' gradients found as `backprop` says (the book's backward, one
    /// node a layer, or every op through autodiff).
    pub fn forward(&self, tokens: Tensor<2, Int>, backprop: Backprop) -> Tensor<2> {
        let lstm = |layer: &TimeLstm, xs| match backprop {
            Backprop::Book => layer.forward(xs, None),
            Backprop::OpByOp => layer.forward_op_by_op(xs, None),
        };
        let xs = self.embed.forward(tokens); // [N, T, E]
        let (hs, _) = lstm(&self.lower, xs); // [N, T, H]
        let (_, last) = lstm(&self.upper, hs); // last.h: [N, H]
        self.out.forward(last.h) // [N, classes]
    }
}

/// [`Classifier`] with burn-nn's `Lstm`.
#[derive(Module, Debug)]
pub struct BurnNnClassifier {
    embed: Embedding,
    lower: Lstm,
    upper: Lstm,
    out: Linear,
}

impl BurnNnClassifier {
    pub fn forward(&self, tokens: Tensor<2, Int>) -> Tensor<2> {
        let xs = self.embed.forward(tokens); // [N, T, E]
        let (hs, _) = self.lower.forward(xs, None); // [N, T, H]
        let (_, last) = self.upper.forward(hs, None);
        self.out.forward(last.hidden) // [N, classes]
    }
}

/// A batch of `n` random sequences of `t` tokens and their classes (the
/// first token modulo `classes`).
pub fn batch(
    rng: &mut StdRng,
    n: usize,
    t: usize,
    c: &ClassifierConfig,
    device: &Device,
) -> (Tensor<2, Int>, Tensor<1, Int>) {
    let tokens: Vec<i64> = (0..n * t).map(|_| rng.random_range(0..c.vocab_size as i64)).collect();
    let classes: Vec<i64> = (0..n).map(|i| tokens[i * t] % c.classes as i64).collect();
    (
        Tensor::from_data(TensorData::new(tokens, [n, t]), device),
        Tensor::from_data(TensorData::new(classes, [n]), device),
    )
}

/// The mean cross-entropy of the scores against the classes.
pub fn loss(scores: Tensor<2>, classes: Tensor<1, Int>) -> Tensor<1> {
    CrossEntropyLossConfig::new().init(&scores.device()).forward(scores, classes)
}

/// Tokens per second of `steps` training steps (forward, backward, Adam),
/// after two to warm up: the median step.
fn tokens_per_second<M, F>(mut model: M, steps: usize, n: usize, t: usize, config: &ClassifierConfig, forward: F) -> f64
where
    M: Module,
    F: Fn(&M, Tensor<2, Int>) -> Tensor<2>,
{
    let device = Device::flex().autodiff();
    let mut optim = AdamConfig::new().init();
    let mut rng = StdRng::seed_from_u64(1);
    let mut times = Vec::new();
    for step in 0..steps + 2 {
        let (tokens, classes) = batch(&mut rng, n, t, config, &device);
        let start = Instant::now();
        let loss = loss(forward(&model, tokens), classes);
        let _ = loss.clone().into_scalar::<f32>();
        let grads = GradientsParams::from_grads(loss.backward(), &model);
        model = optim.step(1e-3, model, grads);
        if step >= 2 {
            times.push(start.elapsed().as_secs_f64());
        }
    }
    times.sort_by(f64::total_cmp);
    (n * t) as f64 / times[times.len() / 2]
}

#[allow(dead_code)] // a test includes this file for its model
fn main() {
    let steps: usize = std::env::args().nth(1).map_or(300, |a| a.parse().expect("steps: a number"));
    let device = Device::flex().autodiff();
    let config = ClassifierConfig::new(16, 4);
    let mut model = config.init(&device);
    let mut optim = AdamConfig::new().init();
    let mut rng = StdRng::seed_from_u64(0);
    let (n, t) = (64, 10);
    println!("training a two-layer TimeLstm classifier: {n} sequences of {t} tokens a step, {steps} steps");
    let mut running = 0.0;
    for step in 1..=steps {
        let (tokens, classes) = batch(&mut rng, n, t, &config, &device);
        let loss = loss(model.forward(tokens, Backprop::Book), classes);
        running += f64::from(loss.clone().into_scalar::<f32>());
        let grads = GradientsParams::from_grads(loss.backward(), &model);
        model = optim.step(3e-3, model, grads);
        if step % 25 == 0 {
            println!("step {step:4} | loss {:.4}", running / 25.0);
            running = 0.0;
        }
    }

    // The same model at larger sizes, both ways, in turn.
    let big = ClassifierConfig::new(1000, 10).with_embed_size(256).with_hidden_size(256);
    let (n, t, timed) = (32, 35, 10);
    println!("\ntiming training steps at N {n}, T {t}, E = H 256 on Flex (median of {timed}):");
    let mut ours = Vec::new();
    let mut theirs = Vec::new();
    for _ in 0..2 {
        let model = big.init(&device);
        ours.push(tokens_per_second(model, timed, n, t, &big, |m, x| m.forward(x, Backprop::Book)));
        let model = big.init_burn_nn(&device);
        theirs.push(tokens_per_second(model, timed, n, t, &big, |m, x| m.forward(x)));
    }
    let best = |v: &[f64]| v.iter().copied().fold(0.0, f64::max);
    println!("  TimeLstm (the book's backward, one node a layer): {:.0} tokens/s", best(&ours));
    println!("  burn::nn::Lstm (op by op through autodiff):      {:.0} tokens/s", best(&theirs));
    println!("  ratio: {:.2}x", best(&ours) / best(&theirs));
}
