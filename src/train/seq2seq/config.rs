//! What defines an encoder-decoder run (chapter 7); saved as `config.json`.

use serde::{Deserialize, Serialize};

use crate::arch::{Seq2seqArch, Seq2seqKind};
use crate::data::sequence::{SequenceData, SequenceSet};
use crate::error::{Error, Result, RunError};
use crate::model::Seq2seqConfig;
use crate::run::{KeepCheckpoints, RunDir};
use crate::weights::Seq2seqWeights;

/// Everything that defines an encoder-decoder run. The defaults
/// ([`Seq2seqTrainConfig::book`]) are `train_seq2seq.py`'s.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Seq2seqTrainConfig {
    /// `seq2seq`, `peeky-seq2seq`, `attention-seq2seq` or `bi-attention-seq2seq`.
    pub model: Seq2seqKind,
    /// The data set: `addition` (or `date`).
    pub data: SequenceSet,
    /// The questions are read back to front (`is_reverse`).
    pub reverse: bool,
    /// V: characters in the data set's vocabulary.
    pub vocab_size: usize,
    /// Characters per question and per answer (the start mark `_` included).
    pub question_size: usize,
    /// Characters per answer, `_` included.
    pub answer_size: usize,
    /// D: size of a character vector.
    pub wordvec_size: usize,
    /// H: size of the hidden state.
    pub hidden_size: usize,
    /// N: questions in a training batch.
    pub batch_size: usize,
    /// Epochs to train.
    pub epochs: usize,
    /// The book's Adam's learning rate.
    pub lr: f64,
    /// Gradients are clipped to this global norm (the book's `clip_grads`).
    pub max_grad: f64,
    /// `numpy.random.seed(seed)` before the first epoch: epoch k trains in the
    /// order of the k-th `numpy.random.permutation`. Also seeds the book's
    /// initialisation of the weights (when there is no `--init`).
    pub seed: u32,
    /// Questions answered at once when the test split is scored.
    pub eval_batch_size: usize,
    /// The weights file the run started from (`--init`), as given; its
    /// tensors are kept in the run folder's `init.safetensors`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub init: Option<String>,
    /// Checkpoints kept: the last N epochs' and the best, or all.
    #[serde(default)]
    pub keep_checkpoints: KeepCheckpoints,
}

impl Seq2seqTrainConfig {
    /// The book's run of `model` on `data`: `train_seq2seq.py`'s on
    /// addition (D 16, H 128, 25 epochs), `ch08/train.py`'s on dates (D 16,
    /// H 256, 10 epochs); both batches of 128, Adam at 0.001, clipping at 5.0.
    pub fn book(model: Seq2seqKind, data: &SequenceData, set: SequenceSet) -> Self {
        let dates = set == SequenceSet::Date;
        Seq2seqTrainConfig {
            model,
            data: set,
            reverse: false,
            vocab_size: data.chars.len(),
            question_size: data.train.x.cols,
            answer_size: data.train.t.cols,
            wordvec_size: 16,
            hidden_size: if dates { 256 } else { 128 },
            batch_size: 128,
            epochs: if dates { 10 } else { 25 },
            lr: 0.001,
            max_grad: 5.0,
            seed: 0,
            eval_batch_size: 1000,
            init: None,
            keep_checkpoints: KeepCheckpoints::default(),
        }
    }

    /// Refuses hyperparameters that cannot train, and data of other sizes
    /// than the configuration's.
    pub fn validate(&self, data: &SequenceData) -> Result<()> {
        self.validate_sizes()?;
        let sizes = (data.chars.len(), data.train.x.cols, data.train.t.cols);
        if sizes != (self.vocab_size, self.question_size, self.answer_size) {
            return Err(Error::Invalid(format!(
                "the configuration has V={} and {}-character questions and {}-character answers, \
                 the data V={} and {} and {}",
                self.vocab_size, self.question_size, self.answer_size, sizes.0, sizes.1, sizes.2
            )));
        }
        if self.batch_size > data.train.len() {
            return Err(Error::setting(
                "batch_size",
                format!("is larger than the training split ({} questions)", data.train.len()),
            ));
        }
        Ok(())
    }

    /// Refuses sizes and rates that cannot make or train a model, whatever
    /// the data (a saved run's configuration is checked so when it is read).
    pub fn validate_sizes(&self) -> Result<()> {
        let positive = [
            ("batch_size", self.batch_size),
            ("wordvec_size", self.wordvec_size),
            ("hidden_size", self.hidden_size),
            ("epochs", self.epochs),
            ("eval_batch_size", self.eval_batch_size),
            ("question_size", self.question_size),
        ];
        for (name, value) in positive {
            if value == 0 {
                return Err(Error::setting(name, "must be at least 1"));
            }
        }
        for (name, value) in [("lr", self.lr), ("max_grad", self.max_grad)] {
            if !(value.is_finite() && value > 0.0) {
                return Err(Error::setting(name, format!("must be a positive number, not {value}")));
            }
        }
        if self.answer_size < 2 {
            return Err(Error::setting("answer_size", "must be at least 2 (the start mark and one character)"));
        }
        self.architecture().validate()
    }

    /// The model's configuration.
    pub fn model(&self) -> Seq2seqConfig {
        Seq2seqConfig::for_architecture(self.architecture())
    }

    /// The parameters this run's model has.
    pub fn architecture(&self) -> Seq2seqArch {
        Seq2seqArch {
            vocab_size: self.vocab_size,
            wordvec_size: self.wordvec_size,
            hidden_size: self.hidden_size,
            kind: self.model,
        }
    }

    /// What the run trains, as the plot's title says it.
    pub fn title(&self) -> String {
        let reversed = if self.reverse { ", reversed questions" } else { "" };
        format!("{} on {}{reversed}", self.architecture().model_name(), self.data.file_name())
    }

    /// The book's initial weights of this run's model, from `seed`.
    pub fn initial_weights(&self) -> Seq2seqWeights {
        Seq2seqWeights::book_init(self.architecture(), self.seed as u64)
    }

    /// The first field in which a saved run differs from this one, ignoring
    /// what a resume may change: `epochs`, `keep_checkpoints` and `init`.
    pub fn difference(&self, saved: &Seq2seqTrainConfig) -> Option<String> {
        let a = serde_json::to_value(self).expect("config serializes");
        let b = serde_json::to_value(saved).expect("config serializes");
        let (a, b) = (a.as_object().expect("object"), b.as_object().expect("object"));
        let keys: std::collections::BTreeSet<&String> = a.keys().chain(b.keys()).collect();
        keys.into_iter()
            .filter(|k| !["epochs", "keep_checkpoints", "init"].contains(&k.as_str()))
            .find(|k| a.get(k.as_str()) != b.get(k.as_str()))
            .map(|k| {
                let value = |v: Option<&serde_json::Value>| v.cloned().unwrap_or_default();
                format!("{k} is {} there, {} here", value(b.get(k.as_str())), value(a.get(k.as_str())))
            })
    }
}

/// Reads an encoder-decoder run's `config.json`.
pub fn read_seq2seq_config(run_dir: &RunDir) -> Result<Seq2seqTrainConfig> {
    let path = run_dir.config();
    let bytes = std::fs::read(&path).map_err(|e| Error::read(&path, e))?;
    let cfg: Seq2seqTrainConfig = serde_json::from_slice(&bytes).map_err(|e| {
        RunError::Damaged(format!("{} is not the configuration of an encoder-decoder run: {e}", path.display()))
    })?;
    // A run wrote it valid: anything else was changed by hand or damaged.
    cfg.validate_sizes().map_err(|e| RunError::Damaged(format!("{}: {e}", path.display())))?;
    Ok(cfg)
}
