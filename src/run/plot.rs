//! `perplexity.png`: train and valid perplexity per epoch, as the notebook
//! plotted its `ppl_list`; `accuracy.png`: an encoder-decoder's test
//! accuracy per epoch, as `train_seq2seq.py` plots its `acc_list`.

use std::path::Path;

use plotters::prelude::*;

use super::{AnswerMetrics, EpochMetrics};

fn register_font() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // ab_glyph needs the font's bytes; DejaVu Sans ships inside the binary.
        let _ = plotters::style::register_font("sans-serif", FontStyle::Normal, dejavu::sans::regular());
    });
}

/// Draws train and valid perplexity per epoch (log scale) to a PNG under
/// `title` (the model trained), as the notebook plotted its `ppl_list`.
pub fn plot_perplexity(path: &Path, title: &str, rows: &[EpochMetrics]) -> crate::Result<()> {
    if rows.is_empty() {
        return Ok(());
    }
    register_font();
    let tmp = scratch_file(path)?;
    {
        let root = BitMapBackend::new(&tmp, (800, 500)).into_drawing_area();
        let e = |err: &dyn std::fmt::Display| crate::Error::write(path, format!("cannot draw: {err}"));
        root.fill(&WHITE).map_err(|x| e(&x))?;
        let last = rows.last().map(|r| r.epoch).unwrap_or(1).max(2);
        let values =
            rows.iter().flat_map(|r| [r.train_perplexity, r.valid_perplexity]).filter(|v| v.is_finite() && *v > 0.0);
        let (lo, hi) = values.fold((f64::MAX, f64::MIN), |(lo, hi), v| (lo.min(v), hi.max(v)));
        let (lo, hi) = if lo > hi { (1.0, 10.0) } else { (lo * 0.8, hi * 1.25) };
        let mut chart = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 24))
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
    publish(&tmp, path)
}

/// The file plotters draws into before it takes `path`'s place, made here
/// first: a folder that is missing or not writable is then an I/O error of
/// one line, where plotters' own would print its error chain's debug text.
fn scratch_file(path: &Path) -> crate::Result<std::path::PathBuf> {
    let tmp = path.with_extension("png.tmp.png");
    std::fs::File::create(&tmp).map_err(|err| crate::Error::write(path, err))?;
    Ok(tmp)
}

/// The file plotters drew at `tmp`, moved to `path` atomically: plotters
/// writes the file itself; its bytes take the atomic path from there.
fn publish(tmp: &Path, path: &Path) -> crate::Result<()> {
    let written = std::fs::read(tmp).and_then(|bytes| crate::atomic::write_atomic(path, &bytes));
    let _ = std::fs::remove_file(tmp);
    written.map_err(|err| crate::Error::write(path, err))
}

/// Draws an encoder-decoder's test accuracy per epoch (0 to 100%) to a PNG
/// under `title`, as `train_seq2seq.py` plots its `acc_list`.
pub fn plot_accuracy(path: &Path, title: &str, rows: &[AnswerMetrics]) -> crate::Result<()> {
    plot_accuracies(path, title, &[("test accuracy", rows)])
}

/// Draws several runs' test accuracy per epoch in one picture, each line
/// labelled (the book's figures comparing seq2seq, reversed input and Peeky).
pub fn plot_accuracies(path: &Path, title: &str, runs: &[(&str, &[AnswerMetrics])]) -> crate::Result<()> {
    if runs.iter().all(|(_, rows)| rows.is_empty()) {
        return Ok(());
    }
    register_font();
    let tmp = scratch_file(path)?;
    {
        let root = BitMapBackend::new(&tmp, (800, 500)).into_drawing_area();
        let e = |err: &dyn std::fmt::Display| crate::Error::write(path, format!("cannot draw: {err}"));
        root.fill(&WHITE).map_err(|x| e(&x))?;
        let last = runs.iter().flat_map(|(_, rows)| rows.last()).map(|r| r.epoch).max().unwrap_or(1).max(2);
        let mut chart = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 24))
            .margin(15)
            .x_label_area_size(45)
            .y_label_area_size(70)
            .build_cartesian_2d(1usize..last, 0.0..100.0)
            .map_err(|x| e(&x))?;
        chart
            .configure_mesh()
            .x_desc("epoch")
            .y_desc("test accuracy (%)")
            .label_style(("sans-serif", 15))
            .draw()
            .map_err(|x| e(&x))?;
        for (k, (name, rows)) in runs.iter().enumerate() {
            // red, blue, green, orange, then plotters' palette
            let color = match k {
                0 => RGBColor(214, 39, 40),
                1 => RGBColor(31, 119, 180),
                2 => RGBColor(44, 160, 44),
                3 => RGBColor(255, 127, 14),
                _ => {
                    let (r, g, b) = Palette99::pick(k).rgb();
                    RGBColor(r, g, b)
                }
            };
            let points: Vec<(usize, f64)> = rows.iter().map(|r| (r.epoch, 100.0 * r.valid_accuracy)).collect();
            chart
                .draw_series(LineSeries::new(points.clone(), color.stroke_width(2)))
                .map_err(|x| e(&x))?
                .label(*name)
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2)));
            chart.draw_series(points.into_iter().map(|p| Circle::new(p, 3, color.filled()))).map_err(|x| e(&x))?;
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperLeft)
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK)
            .label_font(("sans-serif", 15))
            .draw()
            .map_err(|x| e(&x))?;
        root.present().map_err(|x| e(&x))?;
    }
    publish(&tmp, path)
}

/// Pixels of one cell of the attention heatmap.
const CELL: u32 = 26;
/// Pixels left of the cells (the answer's characters) and above them (the title)
/// and below them (the question's characters).
const HEATMAP_LEFT: u32 = 40;
const HEATMAP_TOP: u32 = 40;
const HEATMAP_BOTTOM: u32 = 40;
const HEATMAP_RIGHT: u32 = 20;

/// The size in pixels of [`plot_attention`]'s picture for an answer of
/// `rows` characters and a question of `cols`: one square cell each.
pub fn attention_plot_size(rows: usize, cols: usize) -> (u32, u32) {
    (HEATMAP_LEFT + CELL * cols as u32 + HEATMAP_RIGHT, HEATMAP_TOP + CELL * rows as u32 + HEATMAP_BOTTOM)
}

/// Draws attention weights as `visualize_attention.py` does: one row per
/// character of the answer, one column per character of the question (in
/// reading order), each cell grey from black (0) to white (1); `weights`
/// is `[answer.len(), question.len()]`, row-major.
pub fn plot_attention(
    path: &Path,
    title: &str,
    question: &[char],
    answer: &[char],
    weights: &[f32],
) -> crate::Result<()> {
    let (rows, cols) = (answer.len(), question.len());
    if weights.len() != rows * cols {
        return Err(crate::Error::Invalid(format!(
            "{} attention weights for {rows} answer and {cols} question characters",
            weights.len()
        )));
    }
    register_font();
    let tmp = scratch_file(path)?;
    {
        let root = BitMapBackend::new(&tmp, attention_plot_size(rows, cols)).into_drawing_area();
        let e = |err: &dyn std::fmt::Display| crate::Error::write(path, format!("cannot draw: {err}"));
        root.fill(&WHITE).map_err(|x| e(&x))?;
        let font = ("sans-serif", 16).into_font();
        root.draw(&Text::new(title.to_string(), (HEATMAP_LEFT as i32, 10), font.clone())).map_err(|x| e(&x))?;
        let (left, top, cell) = (HEATMAP_LEFT as i32, HEATMAP_TOP as i32, CELL as i32);
        for (r, row) in weights.chunks(cols.max(1)).enumerate() {
            for (c, &w) in row.iter().enumerate() {
                let grey = (w.clamp(0.0, 1.0) * 255.0).round() as u8;
                let (x, y) = (left + c as i32 * cell, top + r as i32 * cell);
                let square = Rectangle::new([(x, y), (x + cell, y + cell)], RGBColor(grey, grey, grey).filled());
                root.draw(&square).map_err(|x| e(&x))?;
            }
        }
        let label = |ch: char, x: i32, y: i32| {
            let shown = if ch == ' ' { '\u{2423}' } else { ch }; // ␣: a space is a character too
            Text::new(shown.to_string(), (x, y), font.clone())
        };
        for (r, &ch) in answer.iter().enumerate() {
            root.draw(&label(ch, left - 22, top + r as i32 * cell + 5)).map_err(|x| e(&x))?;
        }
        let below = top + rows as i32 * cell + 8;
        for (c, &ch) in question.iter().enumerate() {
            root.draw(&label(ch, left + c as i32 * cell + 8, below)).map_err(|x| e(&x))?;
        }
        root.present().map_err(|x| e(&x))?;
    }
    publish(&tmp, path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::run::metrics::tests::row;

    #[test]
    fn the_plot_is_a_png() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("perplexity.png");
        plot_perplexity(&path, "Rnnlm (lstm) on Penn Treebank", &[row(1), row(2), row(3)]).unwrap();
        let bytes = std::fs::read(&path).unwrap();
        assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
        // The title is drawn: another title, another picture.
        let other = dir.path().join("other.png");
        plot_perplexity(&other, "BetterRnnlm (better-lstm) on Penn Treebank", &[row(1), row(2), row(3)]).unwrap();
        assert_ne!(std::fs::read(&other).unwrap(), bytes);
    }
}
