//! The book's recurrent language models as Burn modules.
//!
//! One file per recurrent cell, each with its time-unrolled layer: `rnn`
//! (`h' = tanh(h·Wh + x·Wx + b)`), `lstm` and `gru`; `rnnlm` is the language
//! model over a choice of them (Embedding → recurrent layers → Affine → softmax
//! cross-entropy), `softmax_with_loss` its loss, and `head` the affine layer
//! and the loss with the book's backward, for training. The modules are
//! backend-agnostic: the backend is the `Device` their parameters live on.
//!
//! None of them holds a state between calls. The book's Time layers are
//! stateful (`self.h`); here the state is an input and an output, and the caller
//! (the training loop, evaluation, generation) decides whether to carry it,
//! detach it or drop it.

use burn::module::Param;
use burn::tensor::{Device, Distribution, Tensor, TensorData};

mod gru;
mod head;
mod lstm;
mod rnn;
mod rnnlm;
mod softmax_with_loss;
pub use gru::{GruCell, GruCellConfig, TimeGru, TimeGruConfig};
pub use lstm::{LstmCell, LstmCellConfig, LstmState, TimeLstm, TimeLstmConfig};
pub use rnn::{RnnCell, RnnCellConfig, TimeRnn, TimeRnnCache, TimeRnnConfig, TimeRnnGrads};
pub use rnnlm::{LayerState, ModelKind, ParamRef, Recurrent, RecurrentState, Rnnlm, RnnlmConfig, time_dropout};
pub use softmax_with_loss::{cross_entropy_autodiff, softmax_with_loss};

/// A parameter tensor from host values.
fn param<const D: usize>(values: &[f32], shape: [usize; D], device: &Device) -> Param<Tensor<D>> {
    Param::from_data(TensorData::new(values.to_vec(), shape), device)
}

/// A parameter drawn from N(0, 1) / `scale`, as the book's `np.random.randn(..) / scale`.
fn randn<const D: usize>(shape: [usize; D], scale: f64, device: &Device) -> Param<Tensor<D>> {
    Param::from_tensor(Tensor::random(shape, Distribution::Normal(0.0, 1.0 / scale), device))
}
