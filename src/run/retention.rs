//! Which epochs' checkpoints a run folder keeps: the whole policy.
//!
//! Keep the last N complete epochs and the best one (lowest validation
//! perplexity, which `eval`, `generate` and `export` use by default); delete
//! the rest, but never an epoch newer than the last complete one (it is being
//! written), so the epoch a resume would start from is always there.

use super::{AnswerMetrics, EpochMetrics, RunDir};

/// How many epochs' checkpoints a run folder keeps (`--keep-checkpoints`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeepCheckpoints {
    /// Every epoch's.
    All,
    /// The last N complete epochs', and the best one's by validation perplexity.
    Last(usize),
}

impl Default for KeepCheckpoints {
    fn default() -> Self {
        KeepCheckpoints::Last(2)
    }
}

impl std::str::FromStr for KeepCheckpoints {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "all" => Ok(KeepCheckpoints::All),
            _ => match s.parse::<usize>() {
                Ok(n) if n >= 1 => Ok(KeepCheckpoints::Last(n)),
                _ => Err(format!("takes all or a number of epochs of at least 1, not {s:?}")),
            },
        }
    }
}

impl std::fmt::Display for KeepCheckpoints {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            KeepCheckpoints::All => f.write_str("all"),
            KeepCheckpoints::Last(n) => write!(f, "{n}"),
        }
    }
}

impl serde::Serialize for KeepCheckpoints {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

impl<'de> serde::Deserialize<'de> for KeepCheckpoints {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d)?.parse().map_err(serde::de::Error::custom)
    }
}

/// The epochs whose checkpoints pruning deletes: those older than the last
/// complete epoch that are neither among the last `keep` complete ones nor
/// the best complete one (lowest validation perplexity in `rows`). Epochs
/// after the last complete one are being written and are never touched, so
/// the epoch a resume would start from is never deleted.
pub fn epochs_to_prune(
    present: &[usize],
    complete: &[usize],
    rows: &[EpochMetrics],
    keep: KeepCheckpoints,
) -> Vec<usize> {
    epochs_to_prune_keeping(present, complete, best(rows, complete), keep)
}

/// [`epochs_to_prune`] with the best epoch given (`None`: none is best).
pub fn epochs_to_prune_keeping(
    present: &[usize],
    complete: &[usize],
    best: Option<usize>,
    keep: KeepCheckpoints,
) -> Vec<usize> {
    let KeepCheckpoints::Last(n) = keep else { return Vec::new() };
    let Some(&last) = complete.last() else { return Vec::new() };
    let mut kept: Vec<usize> = complete.iter().rev().take(n.max(1)).copied().collect();
    kept.extend(best);
    present.iter().copied().filter(|e| *e < last && !kept.contains(e)).collect()
}

/// The best epoch among `complete`: the lowest finite validation perplexity
/// in `rows` (the first of equals), or `None` when none has one.
pub fn best(rows: &[EpochMetrics], complete: &[usize]) -> Option<usize> {
    rows.iter()
        .filter(|r| complete.contains(&r.epoch) && r.valid_perplexity.is_finite())
        .min_by(|a, b| a.valid_perplexity.total_cmp(&b.valid_perplexity))
        .map(|r| r.epoch)
}

/// What to keep while an epoch is being written. Burn asks for its
/// checkpointing actions before it writes the epoch's checkpoint (on threads
/// of its own), so pruning then counts only the epochs already complete on
/// disk and keeps one fewer of them: with the one being written, the folder
/// holds the last N and the best. The epoch a resume would start from is
/// never deleted before the next one is complete, even at N = 1. After the
/// last epoch the run prunes to exactly `keep`.
pub fn while_writing(keep: KeepCheckpoints) -> KeepCheckpoints {
    match keep {
        KeepCheckpoints::Last(n) => KeepCheckpoints::Last(n.saturating_sub(1).max(1)),
        all => all,
    }
}

/// Deletes the checkpoints [`epochs_to_prune`] names, keeping the last `keep`
/// complete epochs and the best.
pub fn prune_checkpoints(dir: &RunDir, rows: &[EpochMetrics], keep: KeepCheckpoints) -> crate::Result<()> {
    prune_checkpoints_keeping(dir, |complete| best(rows, complete), keep)
}

/// The best epoch of an encoder-decoder among `complete`: the highest test
/// accuracy in `rows` (the first of equals).
pub fn best_accuracy(rows: &[AnswerMetrics], complete: &[usize]) -> Option<usize> {
    rows.iter()
        .filter(|r| complete.contains(&r.epoch) && r.valid_accuracy.is_finite())
        .rev()
        .max_by(|a, b| a.valid_accuracy.total_cmp(&b.valid_accuracy))
        .map(|r| r.epoch)
}

/// [`prune_checkpoints`] with the best epoch found by `best` among the
/// complete epochs.
pub fn prune_checkpoints_keeping(
    dir: &RunDir,
    best: impl Fn(&[usize]) -> Option<usize>,
    keep: KeepCheckpoints,
) -> crate::Result<()> {
    let complete = dir.complete_epochs();
    for epoch in epochs_to_prune_keeping(&dir.checkpoint_epochs(), &complete, best(&complete), keep) {
        dir.remove_epoch(epoch).map_err(|e| {
            crate::Error::write(dir.checkpoints(), format!("cannot delete the checkpoint of epoch {epoch}: {e}"))
        })?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::run::metrics::tests::row;

    #[test]
    fn pruning_keeps_the_last_complete_epochs_the_best_and_what_is_being_written() {
        let rows: Vec<EpochMetrics> = (1..=9)
            .map(|e| EpochMetrics { valid_perplexity: [9., 8., 3., 7., 6., 5., 4., 4.5, 4.2][e - 1], ..row(e) })
            .collect();
        let complete: Vec<usize> = (1..=8).collect();
        // 9 is being written (some of its files exist): untouched.
        let present: Vec<usize> = (1..=9).collect();
        assert_eq!(epochs_to_prune(&present, &complete, &rows, KeepCheckpoints::Last(2)), [1, 2, 4, 5, 6]);
        assert_eq!(epochs_to_prune(&present, &complete, &rows, KeepCheckpoints::Last(1)), [1, 2, 4, 5, 6, 7]);
        assert_eq!(epochs_to_prune(&present, &complete, &rows, KeepCheckpoints::All), Vec::<usize>::new());
        // Stray files of a half-deleted epoch go too; nothing without a complete epoch.
        assert_eq!(epochs_to_prune(&[1, 5, 6], &[5, 6], &rows, KeepCheckpoints::Last(1)), [1, 5]);
        assert_eq!(epochs_to_prune(&[1, 2], &[], &rows, KeepCheckpoints::Last(1)), Vec::<usize>::new());
    }

    #[test]
    fn keep_checkpoints_parses_all_or_a_count_of_at_least_1() {
        assert_eq!("all".parse::<KeepCheckpoints>().unwrap(), KeepCheckpoints::All);
        assert_eq!("3".parse::<KeepCheckpoints>().unwrap(), KeepCheckpoints::Last(3));
        assert!("0".parse::<KeepCheckpoints>().unwrap_err().contains("at least 1"));
    }
}
