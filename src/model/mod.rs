//! The book's recurrent language models as Burn modules.
//!
//! One file per recurrent cell, each writing its step and, beside it, the
//! book's backward of the step: `rnn` (`h' = tanh(h·Wh + x·Wx + b)`), `lstm`
//! and `gru`; `cell` is what they share (the `Cell` trait, and the loops over
//! time, forward and backward, written once); `recurrent` a layer
//! of any cell and the state it carries; `rnnlm` the language model over them
//! (Embedding → recurrent layers → Affine → softmax cross-entropy),
//! `softmax_with_loss` its loss; `training_path` a training step's loss and
//! gradients with `head`, the affine layer and the loss by hand. The modules
//! are backend-agnostic: the backend is the `Device` their parameters live on.
//!
//! None of them holds a state between calls. The book's Time layers are
//! stateful (`self.h`); here the state is an input and an output, and the caller
//! (the training loop, evaluation, generation) decides whether to carry it,
//! detach it or drop it.

use burn::module::Param;
use burn::tensor::{Device, Distribution, Tensor, TensorData};

mod cell;
mod dropout;
mod gru;
mod head;
mod host_math;
mod lstm;
mod recurrent;
mod rnn;
mod rnnlm;
mod softmax_with_loss;
mod training_path;
pub use cell::{Cell, TimeCache, TimeGrads, Weights};
pub use dropout::{dropout_mask, time_dropout};
pub use gru::{GruCell, GruCellConfig, TimeGru};
pub use lstm::{LstmCell, LstmCellConfig, LstmState, TimeLstm};
pub use recurrent::{LayerCache, LayerGrads, LayerState, Recurrent, RecurrentState};
pub use rnn::{RnnCell, RnnCellConfig, TimeRnn};
pub use rnnlm::{ParamRef, Rnnlm, RnnlmConfig};
pub use softmax_with_loss::{cross_entropy_autodiff, softmax_with_loss};

/// A parameter tensor from host values.
fn param<const D: usize>(values: &[f32], shape: [usize; D], device: &Device) -> Param<Tensor<D>> {
    Param::from_data(TensorData::new(values.to_vec(), shape), device)
}

/// A parameter drawn from N(0, 1) / `scale`, as the book's `np.random.randn(..) / scale`.
fn randn<const D: usize>(shape: [usize; D], scale: f64, device: &Device) -> Param<Tensor<D>> {
    Param::from_tensor(Tensor::random(shape, Distribution::Normal(0.0, 1.0 / scale), device))
}
