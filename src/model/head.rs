//! The book's `Affine` followed by `TimeSoftmaxWithLoss`, as one autodiff
//! node whose backward is the book's.
//!
//! Through autodiff op by op, the `[N·T, V]` scores would be recorded in the
//! graph, the log-softmax run as half a dozen element-wise ops over them and
//! their gradient built as another `[N·T, V]` tensor: some 250 MB of memory
//! traffic per step at the `big` preset that the book's backward does not
//! need. Here the forward computes the loss and `G = (softmax − onehot) / M`
//! in one pass, writing `G` over the scores (on Flex, one loop per row,
//! [`super::softmax_with_loss`]), and keeps `G`; the backward is the book's
//! `Affine.backward`, three products.

use burn::tensor::{Int, Tensor, TensorData};

use super::node::{self, Float, HandWritten};
use super::softmax_with_loss::affine_softmax_with_loss_and_grad;
use crate::cpu::{HeadLayout, matmul};

/// The mean softmax cross-entropy of the scores `h·W + b` against `ts`, as
/// one autodiff node (its gradients the book's `Affine.backward`).
///
/// - `h`: the layer's input `[M, H]`; `b`: `[V]`; `ts`: targets `[M]`;
/// - `w`: the weight `[H, V]`, or with `tied`, the embedding `E [V, H]` whose
///   transpose is the weight (weight tying). Its gradient is then made as
///   `dWᵀ = Gᵀ·h` `[V, H]`, in the embedding's own layout, so that the
///   embedding's rows can be added into it where it stands
///   ([`super::embedding::time_embedding`]);
/// - returns the loss `[1]`.
pub fn affine_softmax_with_loss(h: Tensor<2>, w: Tensor<2>, b: Tensor<1>, ts: Tensor<1, Int>, tied: bool) -> Tensor<1> {
    let head = Head { ts: ts.inner(), tied };
    node::apply(head, [Float::new(h), Float::new(w), Float::new(b)]).get()
}

/// [`affine_softmax_with_loss`]'s node: inputs `h`, `W` (or `E`), `b`.
struct Head {
    ts: Tensor<1, Int>,
    tied: bool,
}

/// What the forward keeps: the input, the weight as given and `G` `[M, V]`,
/// with the bias's gradient `G`'s column sums `[V]`, summed in the same pass.
struct Kept {
    h: Tensor<2>,
    w: Tensor<2>,
    g: Tensor<2>,
    db: Tensor<1>,
}

impl HandWritten<3> for Head {
    type Kept = Kept;

    fn forward(&self, inputs: [Float; 3], keep: bool) -> (Float, Option<Kept>) {
        let [h, w, b] = inputs;
        let (h, w, b) = (h.get::<2>(), w.get::<2>(), b.get::<1>());
        let weight = if self.tied { w.clone().transpose() } else { w.clone() }; // [H, V]
        let product = matmul(h.clone(), weight); // [M, V], the scores less the bias
        // G = (y − t) / M, [M, V]; db its column sums, [V]
        let (loss, g, db) = affine_softmax_with_loss_and_grad(product, b, self.ts.clone());
        // The loss as an f32, as the book's.
        let loss = Tensor::<1>::from_data(TensorData::new(vec![loss as f32], [1]), &h.device());
        (Float::new(loss), keep.then_some(Kept { h, w, g, db }))
    }

    fn backward(&self, kept: Kept, grad: Float, wanted: [bool; 3], _: [Option<Float>; 3]) -> [Option<Float>; 3] {
        let Kept { h, w, mut g, mut db } = kept;
        // The loss itself is the usual root (its gradient 1, exactly): then
        // `G` stands as it is; otherwise it is scaled once.
        let scale = grad.get::<1>().into_scalar::<f32>();
        if scale != 1.0 {
            g = g.mul_scalar(scale);
            db = db.mul_scalar(scale);
        }
        let dh = wanted[0].then(|| {
            let w_t = if self.tied { w.clone() } else { w.clone().transpose() }; // [V, H]
            HeadLayout::measured(&g, &w_t, self.tied).product(&g, &w_t) // [M, V]·[V, H]
        });
        let dw = wanted[1].then(|| match self.tied {
            true => matmul(g.transpose(), h),  // dWᵀ = Gᵀ·h, [V, H]
            false => matmul(h.transpose(), g), // [H, V]
        });
        [dh.map(Float::new), dw.map(Float::new), wanted[2].then(|| Float::new(db))]
    }
}
