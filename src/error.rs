//! The library's one error type. Each message says what is wrong; a setting
//! is named as the library names it (`batch_size`), and the way out that only
//! a command line can give (`--resume`) is left to the command line, which
//! reads the variant (`src/cli/`, `explain`).

use std::path::PathBuf;

use crate::data::batches::BatchError;
use crate::data::error::DataError;
use crate::data::fetch::FetchError;

/// The crate's `Result`, its error [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What can go wrong in the library, each said in one line by its `Display`.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A setting (a [`TrainConfig`](crate::train::TrainConfig) field, or an
    /// argument of the same name) that cannot be used: `"{name} {problem}"`.
    #[error("{name} {problem}")]
    Setting {
        /// The setting's name.
        name: &'static str,
        /// What is wrong with its value.
        problem: String,
    },
    /// A corpus (Penn Treebank or one's own) or a text could not be had or read.
    #[error(transparent)]
    Data(DataError),
    /// A checked download failed (the book's model).
    #[error(transparent)]
    Fetch(#[from] FetchError),
    /// A stream too short for one batch, or a batch of no words.
    #[error("{}{source}", if *.validation { "validation: " } else { "" })]
    Batches {
        /// Whether the validation stream (not the training one).
        validation: bool,
        /// Why.
        source: BatchError,
    },
    /// A file that cannot be read.
    #[error("cannot read {}: {reason}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why, as the system says it.
        reason: String,
    },
    /// A file that cannot be written.
    #[error("cannot write {}: {reason}", path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// Why, as the system says it.
        reason: String,
    },
    /// A weights file, or weights, that do not make the model asked for.
    #[error("{0}")]
    Weights(String),
    /// A run folder that cannot be used as asked.
    #[error(transparent)]
    Run(#[from] RunError),
    /// The starting weights a run was given cannot start it.
    #[error("{0}")]
    Init(Box<Error>),
    /// A backend this build does not have.
    #[error("{0}")]
    Backend(String),
    /// The wgpu backend on a machine where wgpu finds no adapter.
    #[error(
        "no GPU adapter found for the wgpu backend: install a Vulkan driver \
         (Debian/Ubuntu: `apt-get install mesa-vulkan-drivers libvulkan1`)"
    )]
    NoGpuAdapter,
    /// The loss stopped being a number; the checkpoints of earlier epochs are intact.
    #[error(
        "the loss became {loss} at epoch {epoch}, iteration {iteration}; training stopped, \
         the checkpoints of the epochs before it are intact"
    )]
    Diverged {
        /// The loss, not finite.
        loss: f64,
        /// The epoch, from 1.
        epoch: usize,
        /// The iteration of the epoch, from 1.
        iteration: usize,
    },
    /// Burn's Learner stopped with an error of its own.
    #[error("training failed: {0}")]
    Training(String),
    /// Anything else a request asks that cannot be done, said in one sentence.
    #[error("{0}")]
    Invalid(String),
}

/// Why a run folder cannot be used as asked.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// A new run in a folder that already holds one.
    #[error("{} already holds a run", dir.display())]
    Exists {
        /// The run folder.
        dir: PathBuf,
    },
    /// A resume whose configuration is not the saved one.
    #[error("{} holds a run of another configuration ({difference})", dir.display())]
    Differs {
        /// The run folder.
        dir: PathBuf,
        /// The settings that differ.
        difference: String,
    },
    /// A resume on another corpus than the run's.
    #[error("{} holds a run trained on another corpus ({difference})", dir.display())]
    OtherCorpus {
        /// The run folder.
        dir: PathBuf,
        /// The files that differ.
        difference: String,
    },
    /// A resume of a folder that holds no run.
    #[error("{} holds no run to resume (it has no config.json)", dir.display())]
    NothingToResume {
        /// The folder.
        dir: PathBuf,
    },
    /// A folder that another process is training in.
    #[error("another rnnlm process is training in {}", dir.display())]
    Busy {
        /// The run folder.
        dir: PathBuf,
    },
    /// A resume of a run that has already trained as many epochs as asked.
    #[error("{} already holds {epochs} epochs", dir.display())]
    Finished {
        /// The run folder.
        dir: PathBuf,
        /// The epochs it holds.
        epochs: usize,
    },
    /// An epoch that was never saved, or has been pruned.
    #[error("{} has no checkpoint of epoch {epoch}{}", checkpoints.display(), kept_list(kept))]
    NoSuchEpoch {
        /// The run's checkpoint folder.
        checkpoints: PathBuf,
        /// The epoch asked for.
        epoch: usize,
        /// The epochs it holds.
        kept: Vec<usize>,
    },
    /// A file of the run folder that cannot be read as what it should be.
    #[error("{0}")]
    Damaged(String),
}

fn kept_list(kept: &[usize]) -> String {
    match kept {
        [] => ", nor of any other".into(),
        _ => format!("; it keeps epochs {}", kept.iter().map(|e| e.to_string()).collect::<Vec<_>>().join(", ")),
    }
}

impl Error {
    /// A setting that cannot be used.
    pub fn setting(name: &'static str, problem: impl Into<String>) -> Self {
        Error::Setting { name, problem: problem.into() }
    }

    /// A failed read of `path`.
    pub fn read(path: impl Into<PathBuf>, reason: impl std::fmt::Display) -> Self {
        Error::Read { path: path.into(), reason: reason.to_string() }
    }

    /// A failed write of `path`.
    pub fn write(path: impl Into<PathBuf>, reason: impl std::fmt::Display) -> Self {
        Error::Write { path: path.into(), reason: reason.to_string() }
    }
}

impl From<BatchError> for Error {
    fn from(source: BatchError) -> Self {
        match source {
            BatchError::ZeroSize { what } => Error::setting(what, "must be at least 1"),
            source => Error::Batches { validation: false, source },
        }
    }
}

impl From<DataError> for Error {
    fn from(source: DataError) -> Self {
        match source {
            // A setting's problem, named as the library names the setting.
            DataError::CorpusSize { .. } => Error::setting("corpus_size", source.to_string()),
            source => Error::Data(source),
        }
    }
}
