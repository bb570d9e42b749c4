//! The manual-backward reference: the book's NumPy code ported to the `ndarray`
//! crate, with explicit `forward` and `backward` for every layer.
//!
//! It shares no code with the Burn model in `crate::model`, so that each can
//! catch the other's mistakes: only the plain-array weights
//! ([`crate::weights::RnnlmWeights`]) go in. It is generic over `f32` and `f64`;
//! finite differences run in `f64`.

pub mod attention;
pub mod cell;
pub mod gru;
pub mod layers;
pub mod lstm;
mod model;
mod optim;
pub mod rnn;
pub mod seq2seq;
pub mod train;

pub use model::{Rnnlm, TimeRecurrent};
pub use optim::{Adam, Optimizer, Sgd, clip_grads};

/// The float types the reference runs in (`f32`, `f64`).
pub trait Real: ndarray::NdFloat + num_traits::FromPrimitive + std::iter::Sum {}
impl<T: ndarray::NdFloat + num_traits::FromPrimitive + std::iter::Sum> Real for T {}
