//! `rnnlm`: the recurrent models of "Deep Learning from Scratch 2", chapters
//! 5 to 8, as Burn modules: the RNN, LSTM and GRU cells and their Time layers,
//! the language models over them (chapters 5 and 6), the encoder-decoders
//! that learn addition (chapter 7) and attention that rewrites dates (chapter
//! 8). Each Time layer is one node of Burn's autodiff graph whose backward is
//! the book's, so that `forward` then `loss.backward()` runs it, in any model
//! built from the layers, on any backend (Flex, ndarray, wgpu); a separate
//! manual-backward reference, written the book's way, proves them right.
//!
//! A model of your own from the crate's `TimeLstm` and Burn's `Linear`, and
//! one training step:
//!
//! ```
//! use burn::module::Module;
//! use burn::nn::{Linear, LinearConfig};
//! use burn::optim::{AdamConfig, GradientsParams};
//! use burn::tensor::{Device, Distribution, Tensor};
//! use rnnlm::model::{LstmCellConfig, TimeLstm};
//!
//! /// A value for every time step of a sequence of vectors.
//! #[derive(Module, Debug)]
//! struct Tagger {
//!     lstm: TimeLstm,
//!     out: Linear,
//! }
//!
//! let device = Device::flex().autodiff();
//! let model = Tagger {
//!     lstm: TimeLstm { cell: LstmCellConfig::new(8, 16).init(&device) },
//!     out: LinearConfig::new(16, 1).init(&device),
//! };
//! let xs = Tensor::<3>::random([4, 5, 8], Distribution::Default, &device); // [batch, time, input]
//! let targets = Tensor::<3>::zeros([4, 5, 1], &device);
//! let (hs, _state) = model.lstm.forward(xs, None); // [batch, time, hidden]
//! let loss = (model.out.forward(hs) - targets).powf_scalar(2.0).mean();
//! let grads = GradientsParams::from_grads(loss.backward(), &model); // the book's backward, one node
//! let mut optim = AdamConfig::new().init();
//! let model = optim.step(1e-2, model, grads);
//! # let _ = model;
//! ```
//!
//! The parts, in the order data flows through them:
//! - [`data`]: text, vocabularies, Penn Treebank, the book's truncated-BPTT
//!   batches, chapter 7's question–answer sets;
//! - [`model`]: the layers and models, their configs; [`arch`] names them;
//! - [`cpu`]: the kernels that make them fast on Flex, behind three
//!   functions the layers call;
//! - [`train`]: training with burn-train's Learner ([`optim`]: the book's
//!   Adam and clipping; [`metric`]: perplexity), into a [`run`] folder;
//! - [`infer`] (evaluation and generation), [`weights`] (the book's files,
//!   `.npz`, safetensors) and [`export`];
//! - [`reference`](mod@reference): the book's NumPy code in Rust with its manual backward,
//!   and [`check`], which proves the models against it and against finite
//!   differences;
//! - [`backend`] and [`device`]: the backends and what the code asks of a
//!   device; [`error`], [`atomic`] (files written whole or not at all).

#![warn(missing_docs)]
// Every `unsafe` block says why it is sound (`// SAFETY:`), as every `unsafe fn` says what its caller must promise.
#![warn(clippy::undocumented_unsafe_blocks, clippy::missing_safety_doc)]

pub mod arch;
pub mod atomic;
pub mod backend;
pub mod check;
pub mod choice;
pub mod cpu;
pub mod data;
pub mod device;
pub mod error;
pub mod export;
pub mod infer;
pub mod metric;
pub mod model;
pub mod optim;
pub mod reference;
pub mod run;
pub mod train;
pub mod weights;

pub use error::{Error, Result};
