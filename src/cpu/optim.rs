//! The book's optimizer's loops over host memory (`crate::optim` calls them
//! for f32 tensors on Flex or ndarray): one Adam step as one pass, the sum of
//! the gradients' squares for the global norm, and their scaling by the
//! clipping rate. As tensor ops each is several passes over full-size
//! tensors; the loops do the same f32 operations in the same order
//! (`tests/fused_optimizer_matches_tensor_ops.rs`).

use burn::tensor::{Tensor, TensorData};

/// Adam's constants for one step, in f32 as the tensor ops apply them.
pub(crate) struct AdamCoefs {
    /// 1 − β1.
    pub(crate) one_minus_beta1: f32,
    /// 1 − β2.
    pub(crate) one_minus_beta2: f32,
    /// ε, added to `sqrt(v)`.
    pub(crate) epsilon: f32,
    /// The step's bias-corrected learning rate.
    pub(crate) lr_t: f32,
}

/// Elements per parallel chunk of the fused loops: large enough that the
/// thread hand-off is negligible, small enough to split 1e4-element tensors.
const CHUNK: usize = 16 * 1024;

/// One Adam step as one pass over host memory: `param`, `m` and `v` are
/// updated in their own buffers (zero-copy when uniquely owned, as they are
/// outside the Learner). All four tensors must be f32.
pub(crate) fn adam_step<const D: usize>(
    c: &AdamCoefs,
    param: Tensor<D>,
    grad: Tensor<D>,
    m: Tensor<D>,
    v: Tensor<D>,
) -> (Tensor<D>, Tensor<D>, Tensor<D>) {
    use rayon::prelude::*;
    let device = param.device();
    let (mut p, g, mut m, mut v) = (param.into_data(), grad.into_data(), m.into_data(), v.into_data());
    {
        let g = f32s(&g);
        let (p, m, v) = (f32s_mut(&mut p), f32s_mut(&mut m), f32s_mut(&mut v));
        p.par_chunks_mut(CHUNK)
            .zip(m.par_chunks_mut(CHUNK))
            .zip(v.par_chunks_mut(CHUNK))
            .zip(g.par_chunks(CHUNK))
            .for_each(|(((p, m), v), g)| {
                for i in 0..p.len() {
                    let g = g[i];
                    m[i] += (g - m[i]) * c.one_minus_beta1; // m += (1-β1)(g-m)
                    v[i] += (g * g - v[i]) * c.one_minus_beta2; // v += (1-β2)(g²-v)
                    p[i] -= m[i] / (v[i].sqrt() + c.epsilon) * c.lr_t; // lr_t·m/(sqrt(v)+ε)
                }
            });
    }
    (Tensor::from_data(p, &device), Tensor::from_data(m, &device), Tensor::from_data(v, &device))
}

fn f32s(data: &TensorData) -> &[f32] {
    data.as_slice::<f32>().expect("an f32 tensor's buffer")
}

fn f32s_mut(data: &mut TensorData) -> &mut [f32] {
    data.as_mut_slice::<f32>().expect("an f32 tensor's buffer")
}

/// `Σg²` of `g` in f64, and `g` back (its buffer untouched).
pub(crate) fn sum_of_squares<const D: usize>(g: Tensor<D>) -> (f64, Tensor<D>) {
    use rayon::prelude::*;
    let device = g.device();
    let data = g.into_data();
    let sum = f32s(&data).par_chunks(CHUNK).map(chunk_sum_of_squares).sum::<f64>();
    (sum, Tensor::from_data(data, &device))
}

/// `g · rate`, in `g`'s own buffer where it is the only owner.
pub(crate) fn scale<const D: usize>(g: Tensor<D>, rate: f32) -> Tensor<D> {
    use rayon::prelude::*;
    let device = g.device();
    let mut data = g.into_data();
    f32s_mut(&mut data).par_chunks_mut(CHUNK).for_each(|c| c.iter_mut().for_each(|x| *x *= rate));
    Tensor::from_data(data, &device)
}

/// Σx² of a chunk: eight f32 lanes over blocks of 256 elements (a form the
/// compiler vectorises), each block's sum added in f64.
fn chunk_sum_of_squares(chunk: &[f32]) -> f64 {
    chunk
        .chunks(256)
        .map(|block| {
            let mut acc = [0f32; 8];
            let mut lanes = block.chunks_exact(8);
            for c in &mut lanes {
                for k in 0..8 {
                    acc[k] += c[k] * c[k];
                }
            }
            let tail: f32 = lanes.remainder().iter().map(|x| x * x).sum();
            acc.iter().map(|&a| f64::from(a)).sum::<f64>() + f64::from(tail)
        })
        .sum()
}
