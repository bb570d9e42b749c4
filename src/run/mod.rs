//! The run folder: what a training run leaves, and reading it back.
//!
//! ```text
//! config.json        the run's configuration (train::TrainConfig)
//! vocab.json         the words in id order (vocab.rs)
//! metrics.csv        one row per epoch (metrics.rs)
//! perplexity.png     train and valid perplexity per epoch (plot.rs); an
//!                    encoder-decoder's run (chapter 7) has accuracy.png instead,
//!                    and its metrics.csv train loss and test accuracy
//! init.safetensors   the starting weights, when the run began from --init
//! layouts.json       the layout each matrix product was given (layouts.rs), which
//!                    a resumed run takes again
//! checkpoint/        model-E.bpk, optim-E.bpk, scheduler-E.bpk, state-E.json for
//!                    the epochs kept (checkpoint.rs; which ones: retention.rs)
//! ```
//!
//! Every file is written atomically (see [`crate::atomic`]), so a crash never
//! leaves one half-written, and one process at a time trains in a folder
//! ([`RunDir::lock`]). Nothing here knows how a model trains: the
//! training loop ([`crate::train`]) writes through these, and evaluation,
//! generation and export read through them.

use crate::error::RunError;
use std::path::PathBuf;

pub mod checkpoint;
pub mod layouts;
pub mod metrics;
pub mod plot;
pub mod retention;
pub mod vocab;

pub use metrics::{AnswerMetrics, EpochMetrics};
pub use retention::KeepCheckpoints;

/// The paths of a run folder.
#[derive(Clone, Debug)]
pub struct RunDir {
    /// The folder.
    pub root: PathBuf,
}

impl RunDir {
    /// The run folder at `root` (nothing is created).
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }
    /// The run's configuration.
    pub fn config(&self) -> PathBuf {
        self.root.join("config.json")
    }
    /// One row per epoch.
    pub fn metrics(&self) -> PathBuf {
        self.root.join("metrics.csv")
    }
    /// A language model's perplexity per epoch.
    pub fn plot(&self) -> PathBuf {
        self.root.join("perplexity.png")
    }
    /// An encoder-decoder's test accuracy per epoch (chapter 7).
    pub fn accuracy_plot(&self) -> PathBuf {
        self.root.join("accuracy.png")
    }
    /// The layout each product was given (`cpu::layout`).
    pub fn layouts(&self) -> PathBuf {
        self.root.join("layouts.json")
    }
    /// The folder of the checkpoints kept.
    pub fn checkpoints(&self) -> PathBuf {
        self.root.join("checkpoint")
    }
    /// The words in id order.
    pub fn vocab(&self) -> PathBuf {
        self.root.join("vocab.json")
    }
    /// The weights a run started from when given `--init` (a run without it
    /// starts from the book's initialisation with its seed).
    pub fn init_weights(&self) -> PathBuf {
        self.root.join("init.safetensors")
    }
    /// The carried hidden state at the end of epoch `epoch`.
    pub fn state(&self, epoch: usize) -> PathBuf {
        self.checkpoints().join(format!("state-{epoch}.json"))
    }
    /// The model's weights at the end of epoch `epoch`.
    pub fn model_checkpoint(&self, epoch: usize) -> PathBuf {
        self.checkpoints().join(format!("model-{epoch}.bpk"))
    }
    /// The optimizer's state at the end of epoch `epoch`.
    pub fn optim_checkpoint(&self, epoch: usize) -> PathBuf {
        self.checkpoints().join(format!("optim-{epoch}.bpk"))
    }
    /// The learning rate schedule's state at the end of epoch `epoch`.
    pub fn scheduler_checkpoint(&self, epoch: usize) -> PathBuf {
        self.checkpoints().join(format!("scheduler-{epoch}.bpk"))
    }

    /// Epoch `epoch`'s checkpoint files, the model's first.
    fn epoch_files(&self, epoch: usize) -> [PathBuf; 4] {
        [
            self.model_checkpoint(epoch),
            self.optim_checkpoint(epoch),
            self.scheduler_checkpoint(epoch),
            self.state(epoch),
        ]
    }

    /// The epochs for which every checkpoint file exists, in increasing order.
    pub fn complete_epochs(&self) -> Vec<usize> {
        let mut epochs = self.checkpoint_epochs();
        epochs.retain(|&e| self.epoch_files(e).iter().all(|p| p.exists()));
        epochs
    }

    /// Every epoch with any checkpoint file, complete or not, in increasing order.
    pub fn checkpoint_epochs(&self) -> Vec<usize> {
        let Ok(entries) = std::fs::read_dir(self.checkpoints()) else { return Vec::new() };
        let mut epochs: Vec<usize> = entries
            .filter_map(|e| e.ok())
            .filter_map(|e| {
                let name = e.file_name().to_string_lossy().into_owned();
                let stem = ["model-", "optim-", "scheduler-", "state-"].iter().find_map(|p| name.strip_prefix(p))?;
                stem.strip_suffix(".bpk").or_else(|| stem.strip_suffix(".json"))?.parse().ok()
            })
            .collect();
        epochs.sort_unstable();
        epochs.dedup();
        epochs
    }

    /// Deletes epoch `epoch`'s checkpoint files, the model's first: from its
    /// removal on the epoch no longer counts as complete, so a crash part-way
    /// leaves stray files (removed by the next pruning), never an epoch that
    /// looks complete and is not.
    pub fn remove_epoch(&self, epoch: usize) -> std::io::Result<()> {
        self.epoch_files(epoch).iter().try_for_each(|path| crate::atomic::remove_if_present(path))
    }
}

/// The exclusive lock of a run folder, held by the process training in it
/// and released when dropped or when the process dies (an OS lock on the
/// folder: no lock file is left behind after a crash).
#[derive(Debug)]
pub struct RunLock {
    _folder: std::fs::File,
}

impl RunDir {
    /// Takes the folder (created if missing) for this process to train in, or
    /// says at once that another process holds it. Readers (`eval`,
    /// `generate`, `export`) take no lock: every file is replaced atomically,
    /// and they read complete epochs only.
    pub fn lock(&self) -> crate::Result<RunLock> {
        let cannot = |e: std::io::Error| crate::Error::write(&self.root, format!("cannot lock the run folder: {e}"));
        std::fs::create_dir_all(&self.root).map_err(cannot)?;
        let folder = std::fs::File::open(&self.root).map_err(cannot)?;
        match folder.try_lock() {
            Ok(()) => {
                // What a killed writer left: only the lock's holder writes here.
                for dir in [self.root.clone(), self.checkpoints()] {
                    crate::atomic::remove_temporaries(&dir).map_err(cannot)?;
                }
                Ok(RunLock { _folder: folder })
            }
            Err(std::fs::TryLockError::WouldBlock) => Err(RunError::Busy { dir: self.root.clone() }.into()),
            Err(std::fs::TryLockError::Error(e)) => Err(cannot(e)),
        }
    }

    /// Deletes every checkpoint file of the epochs after `epoch`: what a
    /// crash or a failed write left of epochs that a resume trains again.
    pub fn remove_epochs_after(&self, epoch: usize) -> std::io::Result<()> {
        for e in self.checkpoint_epochs().into_iter().filter(|&e| e > epoch) {
            self.remove_epoch(e)?;
        }
        Ok(())
    }

    /// The epoch `eval`, `generate` and `export` use by default: the complete
    /// epoch with the lowest validation perplexity (the model the book's
    /// chapter-6 script keeps), or the last complete one when no metrics were
    /// written.
    pub fn best_epoch(&self) -> crate::Result<usize> {
        let complete = self.complete_epochs();
        let no_epoch = || RunError::Damaged(format!("{} has no complete checkpoint", self.checkpoints().display()));
        let last = *complete.last().ok_or_else(no_epoch)?;
        if !self.metrics().exists() {
            return Ok(last);
        }
        let rows = metrics::read_metrics(&self.metrics())?;
        Ok(retention::best(&rows, &complete).unwrap_or(last))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn removing_an_epoch_leaves_the_others_and_parses_every_file() {
        let dir = tempfile::tempdir().unwrap();
        let run = RunDir::new(dir.path());
        std::fs::create_dir_all(run.checkpoints()).unwrap();
        for e in [1, 2, 10] {
            for p in [run.model_checkpoint(e), run.optim_checkpoint(e), run.scheduler_checkpoint(e), run.state(e)] {
                std::fs::write(p, b"x").unwrap();
            }
        }
        std::fs::write(run.optim_checkpoint(11), b"x").unwrap();
        assert_eq!(run.checkpoint_epochs(), [1, 2, 10, 11]);
        assert_eq!(run.complete_epochs(), [1, 2, 10]);
        run.remove_epoch(2).unwrap();
        run.remove_epoch(11).unwrap();
        assert_eq!(run.checkpoint_epochs(), [1, 10]);
    }

    #[test]
    fn taking_the_lock_removes_what_a_killed_writer_left() {
        let dir = tempfile::tempdir().unwrap();
        let run = RunDir::new(dir.path());
        std::fs::create_dir_all(run.checkpoints()).unwrap();
        let left = [dir.path().join(".metrics.csv.4242.tmp"), run.checkpoints().join(".model-3.bpk.4242.tmp")];
        for p in &left {
            std::fs::write(p, b"half").unwrap();
        }
        std::fs::write(run.metrics(), b"kept").unwrap();
        let _lock = run.lock().unwrap();
        assert!(left.iter().all(|p| !p.exists()), "temporaries left");
        assert_eq!(std::fs::read(run.metrics()).unwrap(), b"kept");
    }
}
