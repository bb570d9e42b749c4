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
//! reference's book-written backward (`reference/attention.rs`). A
//! hand-written node for it was measured no faster (docs/chapter8.md).

use burn::tensor::Tensor;
use burn::tensor::activation::softmax;

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
