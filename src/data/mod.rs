//! Penn Treebank in, the book's truncated-BPTT batches out.
//!
//! [`ptb`] finds (or downloads and verifies) the three files and turns them
//! into id streams with the book's vocabulary; [`batches`] cuts those streams
//! into the notebook's `[N, T]` batches as Burn datasets. [`book`] finds the
//! book's trained model the same way, and [`fetch`] is the one path by which
//! both are checked and downloaded.

pub mod batches;
pub mod book;
pub mod fetch;
pub mod ptb;
