//! What a training run leaves in its folder: `config.json`, `metrics.csv`,
//! `perplexity.png` and `checkpoint/`. Every file is written atomically
//! (see [`crate::atomic`]), so a crash never leaves one half-written.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use plotters::prelude::*;

use crate::atomic::write_atomic;

/// One epoch's numbers, one row of `metrics.csv`.
#[derive(Clone, Debug, PartialEq)]
pub struct EpochMetrics {
    pub epoch: usize,
    pub train_loss: f64,
    pub train_perplexity: f64,
    pub valid_loss: f64,
    pub valid_perplexity: f64,
    pub seconds: f64,
}

pub const CSV_HEADER: &str = "epoch,train_loss,train_perplexity,valid_loss,valid_perplexity,seconds";

impl EpochMetrics {
    /// The line printed per epoch when stdout is not a terminal.
    pub fn summary_line(&self) -> String {
        format!(
            "| epoch {} | train loss {:.6} | train perplexity {:.6} | valid loss {:.6} | valid perplexity {:.6} | {:.1} s |",
            self.epoch, self.train_loss, self.train_perplexity, self.valid_loss, self.valid_perplexity, self.seconds
        )
    }
}

/// The paths of a run folder.
#[derive(Clone, Debug)]
pub struct RunDir {
    pub root: PathBuf,
}

impl RunDir {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }
    pub fn config(&self) -> PathBuf {
        self.root.join("config.json")
    }
    pub fn metrics(&self) -> PathBuf {
        self.root.join("metrics.csv")
    }
    pub fn plot(&self) -> PathBuf {
        self.root.join("perplexity.png")
    }
    pub fn checkpoints(&self) -> PathBuf {
        self.root.join("checkpoint")
    }
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
    pub fn model_checkpoint(&self, epoch: usize) -> PathBuf {
        self.checkpoints().join(format!("model-{epoch}.bpk"))
    }
    pub fn optim_checkpoint(&self, epoch: usize) -> PathBuf {
        self.checkpoints().join(format!("optim-{epoch}.bpk"))
    }
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
        for path in self.epoch_files(epoch) {
            match std::fs::remove_file(&path) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
                _ => {}
            }
        }
        Ok(())
    }
}

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
                _ => Err(format!("--keep-checkpoints takes all or a number of epochs of at least 1, not {s:?}")),
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
    let KeepCheckpoints::Last(n) = keep else { return Vec::new() };
    let Some(&last) = complete.last() else { return Vec::new() };
    let mut kept: Vec<usize> = complete.iter().rev().take(n.max(1)).copied().collect();
    let best = rows
        .iter()
        .filter(|r| complete.contains(&r.epoch) && r.valid_perplexity.is_finite())
        .min_by(|a, b| a.valid_perplexity.total_cmp(&b.valid_perplexity));
    kept.extend(best.map(|r| r.epoch));
    present.iter().copied().filter(|e| *e < last && !kept.contains(e)).collect()
}

/// Deletes the checkpoints [`epochs_to_prune`] names, keeping the last `keep`
/// complete epochs and the best.
pub fn prune_checkpoints(dir: &RunDir, rows: &[EpochMetrics], keep: KeepCheckpoints) -> Result<(), String> {
    for epoch in epochs_to_prune(&dir.checkpoint_epochs(), &dir.complete_epochs(), rows, keep) {
        dir.remove_epoch(epoch).map_err(|e| {
            format!("cannot delete the checkpoint of epoch {epoch} in {}: {e}", dir.checkpoints().display())
        })?;
    }
    Ok(())
}

/// A `vocab.json`: the words in id order.
pub fn read_vocab(path: &Path) -> Result<Vec<String>, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    serde_json::from_slice(&bytes)
        .map_err(|e| format!("{} is not a vocabulary (a JSON list of words): {e}", path.display()))
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
pub fn read_metrics(path: &Path) -> Result<Vec<EpochMetrics>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let mut lines = text.lines();
    if lines.next() != Some(CSV_HEADER) {
        return Err(format!("{} does not start with the header {CSV_HEADER}", path.display()));
    }
    lines
        .enumerate()
        .map(|(i, line)| {
            let bad = || format!("{} line {}: cannot parse {line:?}", path.display(), i + 2);
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

fn register_font() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // ab_glyph needs the font's bytes; DejaVu Sans ships inside the binary.
        let _ = plotters::style::register_font("sans-serif", FontStyle::Normal, dejavu::sans::regular());
    });
}

/// Draws train and valid perplexity per epoch (log scale) to a PNG, as the
/// notebook plotted its `ppl_list`.
pub fn plot_perplexity(path: &Path, rows: &[EpochMetrics]) -> Result<(), String> {
    if rows.is_empty() {
        return Ok(());
    }
    register_font();
    let tmp = path.with_extension("png.tmp.png");
    {
        let root = BitMapBackend::new(&tmp, (800, 500)).into_drawing_area();
        let e = |err: &dyn std::fmt::Display| format!("cannot draw {}: {err}", path.display());
        root.fill(&WHITE).map_err(|x| e(&x))?;
        let last = rows.last().map(|r| r.epoch).unwrap_or(1).max(2);
        let values =
            rows.iter().flat_map(|r| [r.train_perplexity, r.valid_perplexity]).filter(|v| v.is_finite() && *v > 0.0);
        let (lo, hi) = values.fold((f64::MAX, f64::MIN), |(lo, hi), v| (lo.min(v), hi.max(v)));
        let (lo, hi) = if lo > hi { (1.0, 10.0) } else { (lo * 0.8, hi * 1.25) };
        let mut chart = ChartBuilder::on(&root)
            .caption("SimpleRnnlm on Penn Treebank", ("sans-serif", 24))
            .margin(15)
            .x_label_area_size(45)
            .y_label_area_size(70)
            .build_cartesian_2d(1usize..last, (lo..hi).log_scale())
            .map_err(|x| e(&x))?;
        chart
            .configure_mesh()
            .x_desc("epoch")
            .y_desc("perplexity")
            .label_style(("sans-serif", 15))
            .draw()
            .map_err(|x| e(&x))?;
        let series = [
            ("train", BLUE, rows.iter().map(|r| (r.epoch, r.train_perplexity)).collect::<Vec<_>>()),
            ("valid", RED, rows.iter().map(|r| (r.epoch, r.valid_perplexity)).collect::<Vec<_>>()),
        ];
        for (name, color, points) in series {
            chart
                .draw_series(LineSeries::new(points, color.stroke_width(2)))
                .map_err(|x| e(&x))?
                .label(name)
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2)));
        }
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK)
            .label_font(("sans-serif", 15))
            .draw()
            .map_err(|x| e(&x))?;
        root.present().map_err(|x| e(&x))?;
    }
    std::fs::rename(&tmp, path).map_err(|err| format!("cannot write {}: {err}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(epoch: usize) -> EpochMetrics {
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
    fn the_plot_is_a_png() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("perplexity.png");
        plot_perplexity(&path, &[row(1), row(2), row(3)]).unwrap();
        let bytes = std::fs::read(&path).unwrap();
        assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

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
        assert_eq!("all".parse::<KeepCheckpoints>().unwrap(), KeepCheckpoints::All);
        assert_eq!("3".parse::<KeepCheckpoints>().unwrap(), KeepCheckpoints::Last(3));
        assert!("0".parse::<KeepCheckpoints>().unwrap_err().contains("at least 1"));
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
