//! The affine layer and the loss with the book's backward, for training:
//! `Affine` then `TimeSoftmaxWithLoss`, forward and backward by hand, as the
//! book's layers compute them.
//!
//! Through autodiff, the `[N·T, V]` scores would be recorded in the graph,
//! the loss handed back as a product `Σ x·G` over them, and its gradient
//! built as another `[N·T, V]` tensor: some 250 MB of memory traffic per step
//! at the `big` preset that the book's backward does not need. Here the
//! scores never enter the graph: `G` is written over them, and the layer's
//! three products are the book's `Affine.backward`.

use burn::tensor::{Int, Tensor};

use super::softmax_with_loss::affine_softmax_with_loss_and_grad;

/// The loss and the gradients of the affine layer's input and parameters.
pub struct Head {
    /// Mean softmax cross-entropy over the `M` positions.
    pub loss: f64,
    /// Gradient of the layer's input `[M, H]`.
    pub dh: Tensor<2>,
    /// Gradient of the weight `[H, V]`; with weight tying, its transpose
    /// `[V, H]`, the embedding's own layout.
    pub dw: Tensor<2>,
    /// Gradient of the bias `[V]`.
    pub db: Tensor<1>,
}

/// Forward and backward of `softmax_with_loss(h·W + b, ts)`, all outside the
/// graph (the tensors given are not tracked).
///
/// - `h`: the layer's input `[M, H]`; `w`: `[H, V]`; `b`: `[V]`; `ts`: targets `[M]`;
/// - `tied`: whether `w` is the embedding `E [V, H]` transposed. `dw` is then
///   `dWᵀ = Gᵀ·h` `[V, H]`, made in the embedding's layout, so that the
///   embedding's own gradient can be added into it where it stands, with no
///   pass over a transposed `[H, V]`.
pub fn affine_softmax_with_loss(h: Tensor<2>, w: Tensor<2>, b: Tensor<1>, ts: Tensor<1, Int>, tied: bool) -> Head {
    let product = h.clone().matmul(w.clone()); // [M, V], the scores less the bias
    // G = (y − t) / M, [M, V]; db its column sums, [V]
    let (loss, g, db) = affine_softmax_with_loss_and_grad(product, b, ts);
    let dh = g.clone().matmul(w.transpose()); // [M, H]
    let dw = match tied {
        true => g.transpose().matmul(h),  // [V, H]
        false => h.transpose().matmul(g), // [H, V]
    };
    Head { loss, dh, dw, db }
}
