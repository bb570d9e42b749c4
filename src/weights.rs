//! The model's parameters as plain arrays, and the book's initialisation.
//!
//! Both the Burn model and the manual-backward reference are built from an
//! [`RnnlmWeights`], so a test can start them from identical numbers. This file
//! is data only: it knows shapes and the book's random initialisation, nothing
//! about either implementation.

use rand::SeedableRng;
use rand::rngs::StdRng;
use rand_distr::{Distribution, StandardNormal};
use serde::{Deserialize, Serialize};

/// Every parameter of `SimpleRnnlm`, row-major, in the book's order.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RnnlmWeights {
    /// V: number of words.
    pub vocab_size: usize,
    /// D: size of a word vector.
    pub wordvec_size: usize,
    /// H: size of the hidden state.
    pub hidden_size: usize,
    /// Embedding matrix, `[V, D]`.
    pub embed_w: Vec<f32>,
    /// Input-to-hidden weights, `[D, H]`.
    pub rnn_wx: Vec<f32>,
    /// Hidden-to-hidden weights, `[H, H]`.
    pub rnn_wh: Vec<f32>,
    /// The RNN's single bias, `[H]`.
    pub rnn_b: Vec<f32>,
    /// Affine (output) weights, `[H, V]`.
    pub affine_w: Vec<f32>,
    /// Affine bias, `[V]`.
    pub affine_b: Vec<f32>,
}

/// The name and shape of each parameter, in the order of [`RnnlmWeights::tensors`].
pub const PARAM_NAMES: [&str; 6] = ["embed.W", "rnn.Wx", "rnn.Wh", "rnn.b", "affine.W", "affine.b"];

impl RnnlmWeights {
    /// The book's initialisation (`SimpleRnnlm.__init__`): embed N(0,1)/100,
    /// Wx N(0,1)/sqrt(D), Wh N(0,1)/sqrt(H), affine W N(0,1)/sqrt(H), zero biases,
    /// drawn in that order from one generator seeded with `seed`.
    pub fn book_init(vocab_size: usize, wordvec_size: usize, hidden_size: usize, seed: u64) -> Self {
        let (v, d, h) = (vocab_size, wordvec_size, hidden_size);
        let mut rng = StdRng::seed_from_u64(seed);
        let mut randn = |n: usize, scale: f64| -> Vec<f32> {
            (0..n)
                .map(|_| {
                    let z: f64 = StandardNormal.sample(&mut rng);
                    (z / scale) as f32
                })
                .collect()
        };
        let embed_w = randn(v * d, 100.0);
        let rnn_wx = randn(d * h, (d as f64).sqrt());
        let rnn_wh = randn(h * h, (h as f64).sqrt());
        let affine_w = randn(h * v, (h as f64).sqrt());
        Self {
            vocab_size: v,
            wordvec_size: d,
            hidden_size: h,
            embed_w,
            rnn_wx,
            rnn_wh,
            rnn_b: vec![0.0; h],
            affine_w,
            affine_b: vec![0.0; v],
        }
    }

    /// The shapes of the six parameters, in the order of [`PARAM_NAMES`].
    pub fn shapes(&self) -> [Vec<usize>; 6] {
        let (v, d, h) = (self.vocab_size, self.wordvec_size, self.hidden_size);
        [vec![v, d], vec![d, h], vec![h, h], vec![h], vec![h, v], vec![v]]
    }

    /// The six parameters' values, in the order of [`PARAM_NAMES`].
    pub fn tensors(&self) -> [&[f32]; 6] {
        [
            &self.embed_w,
            &self.rnn_wx,
            &self.rnn_wh,
            &self.rnn_b,
            &self.affine_w,
            &self.affine_b,
        ]
    }

    /// Checks that every array has the length its shape asks for.
    pub fn validate(&self) -> Result<(), String> {
        for ((name, shape), values) in PARAM_NAMES.iter().zip(self.shapes()).zip(self.tensors()) {
            let expected: usize = shape.iter().product();
            if values.len() != expected {
                return Err(format!(
                    "parameter {name} has {} values, its shape {shape:?} needs {expected}",
                    values.len()
                ));
            }
        }
        Ok(())
    }

    /// Total number of scalar parameters.
    pub fn num_params(&self) -> usize {
        self.tensors().iter().map(|t| t.len()).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn book_init_is_seeded_and_scaled_as_the_book() {
        let a = RnnlmWeights::book_init(2000, 100, 100, 7);
        let b = RnnlmWeights::book_init(2000, 100, 100, 7);
        let c = RnnlmWeights::book_init(2000, 100, 100, 8);
        assert_eq!(a, b);
        assert_ne!(a.embed_w, c.embed_w);
        a.validate().unwrap();
        let std = |x: &[f32]| {
            let n = x.len() as f64;
            let mean = x.iter().map(|&v| v as f64).sum::<f64>() / n;
            (x.iter().map(|&v| (v as f64 - mean).powi(2)).sum::<f64>() / n).sqrt()
        };
        // 200,000 draws: the sample std is within 1% of the target.
        assert!((std(&a.embed_w) - 0.01).abs() < 1e-4);
        assert!((std(&a.rnn_wx) - 0.1).abs() < 0.003);
        assert!((std(&a.affine_w) - 0.1).abs() < 1e-3);
        assert!(a.rnn_b.iter().chain(&a.affine_b).all(|&v| v == 0.0));
    }
}
