//! `rnnlm export`: a trained run's weights out of Burn's checkpoints, into a
//! `.safetensors` or `.npz` file named and shaped as the book's parameters
//! (see [`crate::weights::files`]), with the vocabulary (`vocab.json`, the
//! words in id order) and the configuration (`config.json`) beside it.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::arch::Architecture;
use crate::arch::ModelKind;
use crate::atomic::{folder_of, write_atomic};
use crate::backend::Backend;
use crate::run::{RunDir, metrics, vocab};
use crate::train::{self, TrainConfig};
use crate::weights::files::{self, Format};

/// What `config.json` beside an exported file says about it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ExportInfo {
    /// `rnn`, `lstm`, `gru` or `better-lstm`.
    pub model: ModelKind,
    /// The book's class: SimpleRnnlm, Rnnlm, BetterRnnlm.
    pub book_class: String,
    /// The parameters' names and shapes.
    pub architecture: Architecture,
    /// The epoch whose checkpoint was exported.
    pub epoch: usize,
    /// That epoch's validation perplexity, when the run recorded it.
    pub valid_perplexity: Option<f64>,
    /// The run folder it came from, and the run's whole configuration.
    pub run_folder: String,
    /// The run's whole configuration.
    pub run: TrainConfig,
}

/// The files an export writes.
#[derive(Clone, Debug)]
pub struct Exported {
    /// What was exported (`config.json`).
    pub info: ExportInfo,
    /// The weights file.
    pub weights: PathBuf,
    /// The vocabulary, `vocab.json` beside it.
    pub vocab: PathBuf,
    /// The description, `config.json` beside it.
    pub config: PathBuf,
}

/// Exports epoch `epoch` of the run in `run` (by default its best by
/// validation perplexity) to `out`. Everything is read and checked before
/// anything is written, and each file is written atomically, the weights last.
pub fn export(run: &Path, epoch: Option<usize>, out: &Path) -> crate::Result<Exported> {
    if Format::of(out)? == Format::BookPickle {
        return Err(crate::Error::Invalid(format!("{}: export writes .safetensors or .npz", out.display())));
    }
    let beside = folder_of(out);
    let (vocab_path, config_path) = (beside.join("vocab.json"), beside.join("config.json"));
    if RunDir::new(beside).checkpoints().exists() {
        return Err(crate::Error::Invalid(format!(
            "{} is a run folder, whose config.json and vocab.json an export would replace: export elsewhere",
            beside.display()
        )));
    }
    if config_path.exists() && read_info(&config_path).is_err() {
        return Err(crate::Error::Invalid(format!(
            "{} exists and is not an export's: export to another folder",
            config_path.display()
        )));
    }

    // The weights are copied out, not computed on: the CPU does it.
    let device = Backend::fastest_cpu().device()?;
    let (cfg, model, epoch) = train::load_trained(run, epoch, &device)?;
    let weights = model.weights();
    let run_dir = RunDir::new(run);
    let words = vocab::read_vocab(&run_dir.vocab())?;
    if words.len() != weights.arch.vocab_size {
        return Err(crate::Error::Weights(format!(
            "{} has {} words, the model V={}",
            run_dir.vocab().display(),
            words.len(),
            weights.arch.vocab_size
        )));
    }
    let valid_perplexity = match run_dir.metrics().exists() {
        true => {
            metrics::read_metrics(&run_dir.metrics())?.iter().find(|r| r.epoch == epoch).map(|r| r.valid_perplexity)
        }
        false => None,
    };
    let info = ExportInfo {
        model: cfg.model,
        book_class: cfg.model.book_name().to_string(),
        architecture: weights.arch,
        epoch,
        valid_perplexity,
        run_folder: run.display().to_string(),
        run: cfg,
    };

    let json = serde_json::to_vec_pretty(&info).expect("export info serializes");
    vocab::write_vocab(&vocab_path, &words)?;
    write_atomic(&config_path, &json).map_err(|e| crate::Error::write(&config_path, e))?;
    let metadata = [
        ("model".to_string(), info.model.to_string()),
        ("architecture".to_string(), info.architecture.to_string()),
        ("epoch".to_string(), epoch.to_string()),
    ];
    files::write(out, &weights, &metadata)?;
    Ok(Exported { info, weights: out.to_path_buf(), vocab: vocab_path, config: config_path })
}

fn read_info(path: &Path) -> crate::Result<ExportInfo> {
    let bytes = std::fs::read(path).map_err(|e| crate::Error::read(path, e))?;
    serde_json::from_slice(&bytes).map_err(|e| crate::Error::Invalid(format!("{}: {e}", path.display())))
}

#[cfg(test)]
mod tests {
    /// `config.json`'s perplexity is the run's own number: JSON written and
    /// read back gives every f64 to the last bit (1871.9901814046107, a run's
    /// perplexity on an AVX2 EPYC, read back one bit off before
    /// `float_roundtrip`), here over a spread of magnitudes and mantissas.
    #[test]
    fn a_number_written_to_json_reads_back_to_the_last_bit() {
        let mut bits = 0x4093_4000_0000_0001_u64; // about 1232.0
        let mut values = vec![1_871.990_181_404_610_7_f64];
        for _ in 0..20_000 {
            // a 64-bit LCG
            bits = bits.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
            // a random mantissa times 2^-30 to 2^30
            values.push(f64::from_bits(bits >> 12 | (1023 - 30 + bits % 61) << 52));
        }
        for x in values {
            let text = serde_json::to_string(&x).unwrap();
            let back: f64 = serde_json::from_str(&text).unwrap();
            assert_eq!(back.to_bits(), x.to_bits(), "{x:?} written as {text} read back as {back:?}");
        }
    }
}
