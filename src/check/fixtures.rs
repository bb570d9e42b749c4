//! What the comparisons share: their sizes, the checked models' weights
//! (the book's initialisation with non-zero biases), random word ids and
//! dropout masks, and conversions between Burn tensors and host arrays. The
//! benchmark draws its batches from here too.

use burn::tensor::Gradients;
use burn::tensor::{Device, Int, Tensor, TensorData};
use ndarray::{Array2, Array3};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use rand_distr::{Distribution, StandardNormal};

use crate::arch::ModelKind;
use crate::model::{Rnnlm, RnnlmConfig};
use crate::weights::RnnlmWeights;

/// The sizes of a comparison.
#[derive(Clone, Copy, Debug)]
pub struct Sizes {
    /// N: rows of a batch.
    pub batch: usize,
    /// T: time steps of a batch.
    pub time: usize,
    /// V: words in the vocabulary.
    pub vocab: usize,
    /// D: size of a word vector.
    pub wordvec: usize,
    /// H: size of the hidden state.
    pub hidden: usize,
}

impl Sizes {
    /// Small sizes where every entry can be checked: N=3, T=4, V=50, D=8, H=7.
    pub const SMALL: Sizes = Sizes { batch: 3, time: 4, vocab: 50, wordvec: 8, hidden: 7 };
    /// The notebook's sizes: N=10, T=5, V=10000, D=H=100.
    pub const SEED: Sizes = Sizes { batch: 10, time: 5, vocab: 10_000, wordvec: 100, hidden: 100 };

    pub(super) fn label(&self) -> String {
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

pub(super) fn read<const D: usize>(t: Tensor<D>) -> Vec<f64> {
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
pub(super) fn random_masks(
    arch: &crate::arch::Architecture,
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

/// A random `[rows, cols]` f32 matrix, scaled.
pub(super) fn randn_f32(rng: &mut StdRng, len: usize, scale: f64) -> Vec<f32> {
    (0..len).map(|_| (scale * <StandardNormal as Distribution<f64>>::sample(&StandardNormal, rng)) as f32).collect()
}

pub(super) fn tensor<const D: usize>(values: &[f32], shape: [usize; D], device: &Device) -> Tensor<D> {
    Tensor::from_data(TensorData::new(values.to_vec(), shape), device).require_grad()
}

pub(super) fn f64s(values: &[f32]) -> Vec<f64> {
    values.iter().map(|&x| x as f64).collect()
}

pub(super) fn arr2(values: &[f32], r: usize, c: usize) -> Array2<f64> {
    Array2::from_shape_vec((r, c), f64s(values)).expect("shape")
}

pub(super) fn arr3(values: &[f32], a: usize, b: usize, c: usize) -> Array3<f64> {
    Array3::from_shape_vec((a, b, c), f64s(values)).expect("shape")
}

/// The values in row-major order, whatever the array's memory layout.
pub(super) fn flat<D: ndarray::Dimension>(a: &ndarray::Array<f64, D>) -> Vec<f64> {
    a.iter().copied().collect()
}
