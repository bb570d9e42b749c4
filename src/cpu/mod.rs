//! The CPU's fast paths: kernels of this crate that work on Flex's host
//! buffers where Burn's own ops are slow at a recurrent model's shapes, and
//! the choice, by timing, of how each product's operands are laid out.
//! `crate::model` reads as the book's layers and calls in here through a few
//! functions; the reference and the proof know nothing of it.
//!
//! - [`matmul`], [`tanh`], [`sigmoid`]: Burn's ops for the layers, run by this
//!   module's kernels on plain f32 tensors on Flex and by Burn's op
//!   elsewhere (ndarray, wgpu, a tensor inside an autodiff graph), so that the
//!   layers stay backend-agnostic and equal, to f32 rounding, on every
//!   backend. A few rows times a transposed matrix (a time step's `h·Wh` and
//!   `dA·Whᵀ`) runs as dot products 8 or 16 lanes wide (`few_rows`), any other
//!   product by `gemm` into an output it need not zero first, the
//!   activations 8 lanes at a time (`activation`);
//! - [`lstm`]: an LSTM step's element-wise work, forward and back, as one pass
//!   over host memory; [`softmax_with_loss`]: the loss and its gradient, one
//!   pass a row; both on `math`'s branch-free `exp`, `sigmoid` and `tanh`;
//! - `optim`: the book's Adam step, the gradients' norm and their clipping,
//!   each one pass over host memory (Flex and ndarray);
//! - [`layout`]: how a layer lays its weights out for each product, and
//!   [`measure`]: the choice among them by timing, kept in a run folder.
//!
//! The few-rows kernel's settings (its width, its pass over a long K) and
//! whether anything is timed ([`measure::set_fixed`]) are the process's.

mod activation;
#[cfg(target_arch = "x86_64")]
mod few_rows;
mod flex;
pub use flex::zeros;
pub mod layout;
pub mod lstm;
mod math;
mod matmul;
pub mod measure;
pub(crate) mod optim;
pub mod softmax_with_loss;

pub use activation::{sigmoid, tanh};
pub use layout::{BackLayout, FewRowLanes, FewRowPass, HeadLayout, StepLayout};
pub use matmul::{
    few_row_lanes, few_row_lanes_settable, few_rows_chunks_k, few_rows_product, few_rows_takes, fix_few_row_lanes,
    matmul, set_few_row_lanes, set_few_rows_chunks_k,
};
pub use measure::Layout;
