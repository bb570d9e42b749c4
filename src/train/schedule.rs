//! The book's learning-rate schedule (`train_better_rnnlm.py`): divide by 4
//! after every epoch that does not improve on the best validation perplexity.

use super::step::SharedRun;
use crate::run::EpochMetrics;

/// The learning rate for the epoch after `rows`: the book's chapter-6
/// schedule (`train_better_rnnlm.py`) divides it by 4 after every epoch whose
/// validation perplexity is not the best so far.
pub fn decayed_lr(base: f64, rows: &[EpochMetrics]) -> f64 {
    let mut best = f64::INFINITY;
    let mut lr = base;
    for row in rows {
        if row.valid_perplexity < best {
            best = row.valid_perplexity;
        } else {
            lr /= 4.0;
        }
    }
    lr
}

/// [`decayed_lr`] as burn-train's scheduler. It has no state of its own: the
/// rate follows from the validation perplexities of the epochs so far, which
/// the run keeps (and a resumed run reads back from `metrics.csv`).
#[derive(Clone)]
pub(super) struct BookDecay {
    pub(super) base: f64,
    pub(super) run: SharedRun,
}

impl burn::lr_scheduler::LrScheduler for BookDecay {
    fn step(&mut self) -> f64 {
        decayed_lr(self.base, &self.run.0.lock().expect("run state").rows)
    }

    fn to_record(&self) -> burn::lr_scheduler::LrSchedulerRecord {
        burn::lr_scheduler::LrSchedulerRecord::new()
    }

    fn load_record(&mut self, _record: burn::lr_scheduler::LrSchedulerRecord) {}
}
