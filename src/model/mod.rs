//! The book's recurrent language models as Burn modules.
//!
//! One file per recurrent cell, each writing its step and, beside it, the
//! book's backward of the step: `rnn` (`h' = tanh(h·Wh + x·Wx + b)`), `lstm`
//! and `gru`; `cell` is what they share (the `Cell` trait, and the loops over
//! time, forward and backward, written once); `recurrent` a layer
//! of any cell and the state it carries; `rnnlm` the language model over them
//! (Embedding → recurrent layers → Affine → softmax cross-entropy),
//! `embedding` its first layer and `head` its affine layer with the loss
//! (`softmax_with_loss` the loss's arithmetic); `seq2seq` the encoder-decoders
//! of chapters 7 and 8 over the same layers, `attention` chapter 8's
//! attention layer. Each Time layer, the
//! embedding and the head is one node of Burn's autodiff graph whose
//! backward is the book's (`node`: how a hand-written backward joins the
//! graph), so `forward` then `loss.backward()` runs the book's backward of
//! every layer, in any model built from them. The modules are
//! backend-agnostic: the backend is the `Device` their parameters live on.
//!
//! None of them holds a state between calls. The book's Time layers are
//! stateful (`self.h`); here the state is an input and an output, and the caller
//! (the training loop, evaluation, generation) decides whether to carry it,
//! detach it or drop it.

use burn::module::Param;
use burn::tensor::{Device, Tensor, TensorData};

mod attention;
mod cell;
mod dropout;
mod embedding;
mod gru;
mod head;
mod lstm;
pub mod node;
mod recurrent;
mod rnn;
mod rnnlm;
mod seq2seq;
mod softmax_with_loss;
pub use attention::time_attention;
pub use cell::{Cell, Weights};
pub use dropout::{dropout_mask, time_dropout};
pub use embedding::time_embedding;
pub use gru::{GruCell, GruCellConfig, TimeGru};
pub use head::affine_softmax_with_loss;
pub use lstm::{LstmCell, LstmCellConfig, LstmState, TimeLstm};
pub use recurrent::{Backprop, LayerState, Recurrent, RecurrentState};
pub use rnn::{RnnCell, RnnCellConfig, TimeRnn};
pub use rnnlm::{ParamRef, Rnnlm, RnnlmConfig};
pub use seq2seq::{
    Answers, AttentionDecoder, Decoder, Encoded, Encoder, PeekyDecoder, Seq2seq, Seq2seqConfig, Seq2seqDecoder,
};
pub use softmax_with_loss::{cross_entropy_autodiff, softmax_with_loss};

/// A parameter tensor from host values.
fn param<const D: usize>(values: &[f32], shape: [usize; D], device: &Device) -> Param<Tensor<D>> {
    Param::from_data(TensorData::new(values.to_vec(), shape), device)
}

/// A parameter drawn from N(0, 1/√fan_in), the book's `randn(..) / np.sqrt(fan_in)`,
/// from the device's generator (Burn's initializer).
fn book_normal<const D: usize>(shape: [usize; D], fan_in: usize, device: &Device) -> Param<Tensor<D>> {
    burn::nn::Initializer::Normal { mean: 0.0, std: 1.0 / (fan_in as f64).sqrt() }.init(shape, device)
}
