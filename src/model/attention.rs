//! The book's attention (chapter 8, `ch08/attention_layer.py`): at each
//! decoder step, the scores of the encoder's states against the decoder's
//! state (`AttentionWeight`: `s = hs · h`, softmax over the encoder's steps)
//! weight a sum of the encoder's states (`WeightSum`: `c = Σ a·hs`).
//!
//! The book loops over the decoder's steps, one `Attention` each; all steps
//! at once are two batched products, which is how this is written. It has no
//! parameters and is built from differentiable tensor ops, so autodiff
//! finds its backward: the products' backward is the book's `WeightSum` and
//! `AttentionWeight` backward (`dhs = dt·h`, `dh = Σ dt·hs`, `da = Σ dc·hs`),
//! and softmax's is the book's `Softmax.backward`. `check` holds it to the
//! reference's book-written backward (`reference/attention.rs`).

use burn::tensor::Tensor;
use burn::tensor::activation::softmax;

use super::node::{self, Float, HandWritten};

/// The book's `TimeAttention.forward`: for the encoder's states
/// `enc_hs [N, Te, H]` and the decoder's `dec_hs [N, Td, H]`, the context
/// vectors `[N, Td, H]` and the attention weights `[N, Td, Te]` (each row
/// sums to one).
pub fn time_attention(enc_hs: Tensor<3>, dec_hs: Tensor<3>) -> (Tensor<3>, Tensor<3>) {
    let scores = dec_hs.matmul(enc_hs.clone().swap_dims(1, 2)); // [N, Td, Te]
    let weights = softmax(scores, 2); // [N, Td, Te]
    let context = weights.clone().matmul(enc_hs); // [N, Td, H]
    (context, weights)
}

/// The attention decoder's affine input `[context, dec_hs]` `[N, Td, 2H]`
/// (the book's `AttentionDecoder` joins them in this order), as one autodiff
/// node whose backward is the book's `TimeAttention.backward`.
pub fn attention_joined(enc_hs: Tensor<3>, dec_hs: Tensor<3>) -> Tensor<3> {
    node::apply(AttentionNode, [Float::new(enc_hs), Float::new(dec_hs)]).get()
}

/// [`attention_joined`]'s node: inputs `enc_hs`, `dec_hs`.
struct AttentionNode;

impl HandWritten<2> for AttentionNode {
    /// `enc_hs`, `dec_hs` and the attention weights.
    type Kept = [Tensor<3>; 3];

    fn forward(&self, inputs: [Float; 2], keep: bool) -> (Float, Option<Self::Kept>) {
        let [enc, dec] = inputs.map(|t| t.get::<3>());
        let (context, weights) = time_attention(enc.clone(), dec.clone());
        let out = Tensor::cat(vec![context, dec.clone()], 2);
        (Float::new(out), keep.then_some([enc, dec, weights]))
    }

    fn backward(
        &self,
        kept: Self::Kept,
        grad: Float,
        _wanted: [bool; 2],
        _prior: [Option<Float>; 2],
    ) -> [Option<Float>; 2] {
        let [enc, dec, a] = kept;
        let dout = grad.get::<3>(); // [N, Td, 2H]
        let h = enc.dims()[2];
        let dc = dout.clone().narrow(2, 0, h); // [N, Td, H]
        let ddec = dout.narrow(2, h, h);
        // WeightSum: c = a·hs
        let da = dc.clone().matmul(enc.clone().swap_dims(1, 2)); // [N, Td, Te]
        let denc = a.clone().swap_dims(1, 2).matmul(dc); // [N, Te, H]
        // Softmax
        let ds = a.clone() * (da.clone() - (a * da).sum_dim(2)); // [N, Td, Te]
        // AttentionWeight: s = dec·hsᵀ
        let ddec = ddec + ds.clone().matmul(enc);
        let denc = denc + ds.swap_dims(1, 2).matmul(dec);
        [Some(Float::new(denc)), Some(Float::new(ddec))]
    }
}
