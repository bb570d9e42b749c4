//! Text in, the book's truncated-BPTT batches out.
//!
//! [`text`] reads a file into words the book's way, [`vocab`] maps words to
//! ids, [`corpus`] turns a folder's three splits into id streams, and
//! [`ptb`] is the book's corpus, downloaded and verified; [`batches`] cuts
//! the streams into the notebook's `[N, T]` batches as Burn datasets.
//! [`error`] says what went wrong reading any of them. [`book`] finds the book's trained model, and [`fetch`] is the one path by
//! which it and Penn Treebank are checked and downloaded.
//!
//! Chapters 7 and 8: [`sequence`] reads the book's question–answer data sets
//! (`addition.txt`, `date.txt`) and splits them as the book does, with
//! NumPy's legacy generator ([`numpy_random`]).

pub mod batches;
pub mod book;
pub mod corpus;
pub mod error;
pub mod fetch;
pub mod numpy_random;
pub mod ptb;
pub mod sequence;
pub mod text;
pub mod vocab;
