//! What can go wrong getting a corpus or reading a text.

use std::path::PathBuf;

/// Everything that can go wrong getting a corpus; each message says what is wrong, and where.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    /// Penn Treebank's file could not be had: missing and not downloadable, or damaged.
    #[error(transparent)]
    Fetch(#[from] super::fetch::FetchError),
    /// A file that cannot be read.
    #[error("cannot use {}: {reason}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// Why, as the system says it.
        reason: String,
    },
    /// A folder without a corpus's files.
    #[error(
        "{} holds no corpus: it needs train.txt, valid.txt and test.txt (or WikiText's wiki.train.tokens, \
         wiki.valid.tokens and wiki.test.tokens)",
        dir.display()
    )]
    NoCorpus {
        /// The folder.
        dir: PathBuf,
    },
    /// A corpus folder with one split missing.
    #[error("{} is missing: a corpus folder holds {} beside {}", path.display(), needs, has)]
    MissingSplit {
        /// The split's file that is missing.
        path: PathBuf,
        /// The files a corpus folder of its kind holds.
        needs: String,
        /// The ones it has.
        has: String,
    },
    /// A file holds no words.
    #[error("{} holds no words", path.display())]
    Empty {
        /// The file.
        path: PathBuf,
    },
    /// A line that is not UTF-8 text.
    #[error("{} line {line} is not UTF-8 text (byte {column} of the line)", path.display())]
    NotUtf8 {
        /// The file.
        path: PathBuf,
        /// The line, from 1.
        line: usize,
        /// The first byte that is not UTF-8, from 1.
        column: usize,
    },
    /// A word outside a vocabulary that has no `<unk>` to read it as.
    #[error("{} line {line}: the word {word:?} is not in the vocabulary, which has no <unk>", path.display())]
    UnknownWord {
        /// The file.
        path: PathBuf,
        /// The line, from 1.
        line: usize,
        /// The word.
        word: String,
    },
    /// A part of the training split longer than the split.
    #[error("{asked} is larger than the training split ({tokens} tokens); use 0 for all of it")]
    CorpusSize {
        /// Tokens asked for.
        asked: usize,
        /// Tokens in the training split.
        tokens: usize,
    },
    /// A line of a sequence data set (`addition.txt`) that is not what the book's reader expects.
    #[error("{} line {line} {reason}", path.display())]
    Sequence {
        /// The file.
        path: PathBuf,
        /// The line, from 1.
        line: usize,
        /// What is wrong with it.
        reason: String,
    },
    /// A vocabulary limit that cannot hold one word and `<unk>`.
    #[error("a vocabulary of {0} words cannot hold one word and <unk>: the limit must be at least 2")]
    VocabLimit(usize),
}
