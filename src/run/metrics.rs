//! `metrics.csv`: one row per epoch, and the line printed for it.

use crate::error::RunError;
use std::fmt::Write as _;
use std::path::Path;

use crate::atomic::write_atomic;

/// One epoch's numbers, one row of `metrics.csv`.
#[derive(Clone, Debug, PartialEq)]
pub struct EpochMetrics {
    /// The epoch, from 1.
    pub epoch: usize,
    /// The mean training loss.
    pub train_loss: f64,
    /// `exp` of it.
    pub train_perplexity: f64,
    /// The validation loss.
    pub valid_loss: f64,
    /// `exp` of it.
    pub valid_perplexity: f64,
    /// How long the epoch took, validation included.
    pub seconds: f64,
}

/// The first line of a language model's `metrics.csv`.
pub const CSV_HEADER: &str = "epoch,train_loss,train_perplexity,valid_loss,valid_perplexity,seconds";

impl EpochMetrics {
    /// The row of an epoch with these mean losses (perplexity is their `exp`).
    pub fn from_losses(epoch: usize, train_loss: f64, valid_loss: f64, seconds: f64) -> Self {
        let (train_perplexity, valid_perplexity) = (train_loss.exp(), valid_loss.exp());
        EpochMetrics { epoch, train_loss, train_perplexity, valid_loss, valid_perplexity, seconds }
    }

    /// The line printed per epoch when stdout is not a terminal.
    pub fn summary_line(&self) -> String {
        format!(
            "| epoch {} | train loss {:.6} | train perplexity {:.6} | valid loss {:.6} | valid perplexity {:.6} | {:.1} s |",
            self.epoch, self.train_loss, self.train_perplexity, self.valid_loss, self.valid_perplexity, self.seconds
        )
    }
}

/// Writes `metrics.csv` with every row so far.
pub fn write_metrics(path: &Path, rows: &[EpochMetrics]) -> std::io::Result<()> {
    let mut out = String::from(CSV_HEADER);
    out.push('\n');
    for r in rows {
        writeln!(
            out,
            "{},{},{},{},{},{:.3}",
            r.epoch, r.train_loss, r.train_perplexity, r.valid_loss, r.valid_perplexity, r.seconds
        )
        .expect("writing to a String");
    }
    write_atomic(path, out.as_bytes())
}

/// Reads `metrics.csv` back (for resuming).
pub fn read_metrics(path: &Path) -> crate::Result<Vec<EpochMetrics>> {
    let text = std::fs::read_to_string(path).map_err(|e| crate::Error::read(path, e))?;
    let mut lines = text.lines();
    if lines.next() != Some(CSV_HEADER) {
        return Err(RunError::Damaged(format!("{} does not start with the header {CSV_HEADER}", path.display())).into());
    }
    lines
        .enumerate()
        .map(|(i, line)| {
            let bad = || {
                crate::Error::from(RunError::Damaged(format!(
                    "{} line {}: cannot parse {line:?}",
                    path.display(),
                    i + 2
                )))
            };
            let f: Vec<&str> = line.split(',').collect();
            if f.len() != 6 {
                return Err(bad());
            }
            let num = |s: &str| s.parse::<f64>().map_err(|_| bad());
            Ok(EpochMetrics {
                epoch: f[0].parse().map_err(|_| bad())?,
                train_loss: num(f[1])?,
                train_perplexity: num(f[2])?,
                valid_loss: num(f[3])?,
                valid_perplexity: num(f[4])?,
                seconds: num(f[5])?,
            })
        })
        .collect()
}

/// One epoch of an encoder-decoder (chapter 7): one row of its `metrics.csv`.
#[derive(Clone, Debug, PartialEq)]
pub struct AnswerMetrics {
    /// The epoch, from 1.
    pub epoch: usize,
    /// The mean training loss over the epoch's batches.
    pub train_loss: f64,
    /// The share of test questions answered exactly, padding included, in [0, 1].
    pub valid_accuracy: f64,
    /// How long the epoch took, the test answers included.
    pub seconds: f64,
}

/// The first line of an encoder-decoder's `metrics.csv`.
pub const ANSWER_CSV_HEADER: &str = "epoch,train_loss,valid_accuracy,seconds";

impl AnswerMetrics {
    /// The line printed per epoch when stdout is not a terminal.
    pub fn summary_line(&self) -> String {
        format!(
            "| epoch {} | train loss {:.6} | valid accuracy {:.3}% | {:.1} s |",
            self.epoch,
            self.train_loss,
            100.0 * self.valid_accuracy,
            self.seconds
        )
    }
}

/// Writes an encoder-decoder's `metrics.csv` with every row so far.
pub fn write_answer_metrics(path: &Path, rows: &[AnswerMetrics]) -> std::io::Result<()> {
    let mut out = String::from(ANSWER_CSV_HEADER);
    out.push('\n');
    for r in rows {
        writeln!(out, "{},{},{},{:.3}", r.epoch, r.train_loss, r.valid_accuracy, r.seconds)
            .expect("writing to a String");
    }
    write_atomic(path, out.as_bytes())
}

/// Reads an encoder-decoder's `metrics.csv` back (for resuming).
pub fn read_answer_metrics(path: &Path) -> crate::Result<Vec<AnswerMetrics>> {
    let text = std::fs::read_to_string(path).map_err(|e| crate::Error::read(path, e))?;
    let mut lines = text.lines();
    if lines.next() != Some(ANSWER_CSV_HEADER) {
        return Err(RunError::Damaged(format!(
            "{} does not start with the header {ANSWER_CSV_HEADER}",
            path.display()
        ))
        .into());
    }
    lines
        .enumerate()
        .map(|(i, line)| {
            let bad = || {
                crate::Error::from(RunError::Damaged(format!(
                    "{} line {}: cannot parse {line:?}",
                    path.display(),
                    i + 2
                )))
            };
            let f: Vec<&str> = line.split(',').collect();
            if f.len() != 4 {
                return Err(bad());
            }
            let num = |s: &str| s.parse::<f64>().map_err(|_| bad());
            Ok(AnswerMetrics {
                epoch: f[0].parse().map_err(|_| bad())?,
                train_loss: num(f[1])?,
                valid_accuracy: num(f[2])?,
                seconds: num(f[3])?,
            })
        })
        .collect()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn row(epoch: usize) -> EpochMetrics {
        EpochMetrics {
            epoch,
            train_loss: 7.3 / epoch as f64,
            train_perplexity: (7.3 / epoch as f64).exp(),
            valid_loss: 6.5,
            valid_perplexity: 6.5f64.exp(),
            seconds: 1.25,
        }
    }

    #[test]
    fn metrics_round_trip_through_csv() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("metrics.csv");
        let rows = vec![row(1), row(2)];
        write_metrics(&path, &rows).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.starts_with("epoch,train_loss,train_perplexity,valid_loss,valid_perplexity,seconds\n1,"));
        let back = read_metrics(&path).unwrap();
        assert_eq!(back.len(), 2);
        assert_eq!(back[1].train_perplexity, rows[1].train_perplexity);
    }

    #[test]
    fn the_epoch_line_has_the_promised_fields() {
        let line = row(3).summary_line();
        assert!(line.starts_with("| epoch 3 |"), "{line}");
        assert!(
            line.contains("train perplexity ") && line.contains("valid perplexity ") && line.contains(" s |"),
            "{line}"
        );
    }
}
