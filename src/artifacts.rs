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

    /// The epochs for which every checkpoint file exists, in increasing order.
    pub fn complete_epochs(&self) -> Vec<usize> {
        let Ok(entries) = std::fs::read_dir(self.checkpoints()) else { return Vec::new() };
        let mut epochs: Vec<usize> = entries
            .filter_map(|e| e.ok())
            .filter_map(|e| {
                let name = e.file_name().to_string_lossy().into_owned();
                name.strip_prefix("model-")?.strip_suffix(".bpk")?.parse().ok()
            })
            .filter(|&e| {
                self.optim_checkpoint(e).exists() && self.scheduler_checkpoint(e).exists() && self.state(e).exists()
            })
            .collect();
        epochs.sort_unstable();
        epochs
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
        let values = rows.iter().flat_map(|r| [r.train_perplexity, r.valid_perplexity]).filter(|v| v.is_finite() && *v > 0.0);
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
        let series = [("train", BLUE, rows.iter().map(|r| (r.epoch, r.train_perplexity)).collect::<Vec<_>>()),
                      ("valid", RED, rows.iter().map(|r| (r.epoch, r.valid_perplexity)).collect::<Vec<_>>())];
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
    fn the_epoch_line_has_the_promised_fields() {
        let line = row(3).summary_line();
        assert!(line.starts_with("| epoch 3 |"), "{line}");
        assert!(line.contains("train perplexity ") && line.contains("valid perplexity ") && line.contains(" s |"), "{line}");
    }
}
