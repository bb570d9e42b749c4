//! `rnnlm`: the recurrent language models of "Deep Learning from Scratch 2",
//! chapters 5 and 6, on Burn, proven against a manual-backward reference.
//!
//! Data flows one way: [`data`] → [`model`] → [`train`] → [`run`] (the run folder). The
//! [`reference`] shares no code with [`model`]; [`check`] compares the two.

pub mod arch;
pub mod atomic;
pub mod backend;
pub mod bench;
pub mod check;
pub mod choice;
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
