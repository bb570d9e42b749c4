//! What defines a run: the model and its sizes, the optimizer, clipping,
//! the data, the schedule (`TrainConfig`, saved as the run's `config.json`),
//! and the book's runs as presets of it.

use serde::{Deserialize, Serialize};

use crate::arch::ModelKind;
use crate::choice::{Choice, display_as_name};
use crate::data::corpus::CorpusRecord;
use crate::error::{Error, Result, RunError};
use crate::model::RnnlmConfig;
use crate::run::{KeepCheckpoints, RunDir};
use crate::weights::RnnlmWeights;

/// How gradients are clipped before the update.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ClipMode {
    /// By one norm over every gradient together, as the book does.
    Global,
    /// Each tensor by its own norm (burn-train's `GradientClippingConfig::Norm`).
    PerTensor,
}

/// The update rule.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum OptimizerKind {
    /// The book's Adam.
    #[default]
    Adam,
    /// The book's SGD.
    Sgd,
}

impl Choice for ClipMode {
    const NAMES: &'static [(Self, &'static str)] = &[(ClipMode::Global, "global"), (ClipMode::PerTensor, "per-tensor")];
}

impl Choice for OptimizerKind {
    const NAMES: &'static [(Self, &'static str)] = &[(OptimizerKind::Adam, "adam"), (OptimizerKind::Sgd, "sgd")];
}

display_as_name!(ClipMode, OptimizerKind, TrainPreset);

fn rnn() -> ModelKind {
    ModelKind::Rnn
}

/// The book's training runs (`--preset`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TrainPreset {
    /// Chapter 5 as the notebook this project started from runs it: SimpleRnnlm on the first 10,000 tokens.
    Ch5,
    /// Chapter 6's `train_rnnlm.py`: Rnnlm on the whole corpus.
    Ch6Rnnlm,
    /// Chapter 6's `train_better_rnnlm.py`: BetterRnnlm.
    Ch6Better,
}

impl Choice for TrainPreset {
    const NAMES: &'static [(Self, &'static str)] =
        &[(TrainPreset::Ch5, "ch5"), (TrainPreset::Ch6Rnnlm, "ch6-rnnlm"), (TrainPreset::Ch6Better, "ch6-better")];
}

impl TrainPreset {
    /// The preset's configuration for a vocabulary of `vocab_size` words.
    pub fn config(self, vocab_size: usize) -> TrainConfig {
        let ch6 = TrainConfig {
            model: ModelKind::Lstm,
            batch_size: 20,
            time_size: 35,
            optimizer: OptimizerKind::Sgd,
            lr: 20.0,
            max_grad: 0.25,
            corpus_size: 0,
            epochs: 4,
            ..TrainConfig::notebook(vocab_size)
        };
        match self {
            TrainPreset::Ch5 => TrainConfig::notebook(vocab_size),
            TrainPreset::Ch6Rnnlm => ch6,
            TrainPreset::Ch6Better => TrainConfig {
                model: ModelKind::BetterLstm,
                wordvec_size: 650,
                hidden_size: 650,
                dropout: 0.5,
                lr_decay: true,
                epochs: 40,
                ..ch6
            },
        }
    }
}

/// Everything that defines a run; saved as `config.json`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TrainConfig {
    /// Which of the book's models (a run folder of an earlier version, which
    /// had only SimpleRnnlm, reads as rnn).
    #[serde(default = "rnn")]
    pub model: ModelKind,
    /// V: words in the vocabulary.
    pub vocab_size: usize,
    /// D: size of a word vector.
    pub wordvec_size: usize,
    /// H: size of the hidden state.
    pub hidden_size: usize,
    /// N: rows of a batch.
    pub batch_size: usize,
    /// T: time steps of a batch (truncated BPTT's length).
    pub time_size: usize,
    /// Dropout ratio (BetterRnnlm only).
    #[serde(default)]
    pub dropout: f64,
    /// The update rule.
    #[serde(default)]
    pub optimizer: OptimizerKind,
    /// The learning rate.
    pub lr: f64,
    /// Divide the learning rate by 4 after an epoch whose validation
    /// perplexity is not the best so far (the book's `train_better_rnnlm.py`).
    #[serde(default)]
    pub lr_decay: bool,
    /// Gradients are clipped to this norm.
    pub max_grad: f64,
    /// How.
    pub clip: ClipMode,
    /// The corpus folder and its files, when the run trains on one of its
    /// own (`--corpus`); none for Penn Treebank, the book's, which is known
    /// by its published checksums.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub corpus: Option<CorpusRecord>,
    /// The vocabulary's size at most, `<unk>` included (`--vocab-size`): the
    /// most frequent words of the training split are kept and the others read
    /// as `<unk>`. None: every word of the training split.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vocab_limit: Option<usize>,
    /// Tokens of the training split used for training (0: all).
    pub corpus_size: usize,
    /// Epochs to train.
    pub epochs: usize,
    /// The seed of the initialisation and the dropout masks.
    pub seed: u64,
    /// Validation batches: the book's `eval_perplexity` uses 10 x 35.
    pub eval_batch_size: usize,
    /// T of a validation batch.
    pub eval_time_size: usize,
    /// The weights file the run started from (`--init`), as given; its
    /// tensors are kept in the run folder's `init.safetensors`. None: the
    /// book's initialisation with `seed`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub init: Option<String>,
    /// Checkpoints kept: the last N epochs' and the best, or all.
    #[serde(default)]
    pub keep_checkpoints: KeepCheckpoints,
}

impl TrainConfig {
    /// The notebook's run: N 10, T 5, D = H 100, Adam lr 0.001, clipping at
    /// 5.0, the first 10,000 words, validation in batches of 10 x 35, 20 epochs.
    pub fn notebook(vocab_size: usize) -> Self {
        TrainConfig {
            model: ModelKind::Rnn,
            vocab_size,
            wordvec_size: 100,
            hidden_size: 100,
            batch_size: 10,
            time_size: 5,
            dropout: 0.0,
            optimizer: OptimizerKind::Adam,
            lr: 0.001,
            lr_decay: false,
            max_grad: 5.0,
            clip: ClipMode::Global,
            corpus: None,
            vocab_limit: None,
            corpus_size: 10_000,
            epochs: 20,
            seed: 0,
            eval_batch_size: 10,
            eval_time_size: 35,
            init: None,
            keep_checkpoints: KeepCheckpoints::default(),
        }
    }

    /// Refuses hyperparameters that cannot train.
    pub fn validate(&self) -> Result<()> {
        let positive = [
            ("batch_size", self.batch_size),
            ("time_size", self.time_size),
            ("wordvec_size", self.wordvec_size),
            ("hidden_size", self.hidden_size),
            ("epochs", self.epochs),
            ("eval_batch_size", self.eval_batch_size),
            ("eval_time_size", self.eval_time_size),
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
        if !(0.0..1.0).contains(&self.dropout) {
            return Err(Error::setting("dropout", format!("must be at least 0 and below 1, not {}", self.dropout)));
        }
        if self.dropout > 0.0 && self.model != ModelKind::BetterLstm {
            return Err(Error::setting(
                "dropout",
                format!("is for the better-lstm model; {} has no dropout layers", self.model),
            ));
        }
        self.model().architecture().validate()
    }

    /// The first field in which a saved run differs from this one, ignoring
    /// what a resume may change or need not repeat: `epochs` (resuming may ask
    /// for more), `keep_checkpoints`, and `init` (the checkpoint replaces the
    /// starting weights); the corpus is compared by
    /// [`corpus_difference`](Self::corpus_difference).
    pub fn difference(&self, saved: &TrainConfig) -> Option<String> {
        let a = serde_json::to_value(self).expect("config serializes");
        let b = serde_json::to_value(saved).expect("config serializes");
        let (a, b) = (a.as_object().expect("object"), b.as_object().expect("object"));
        // Both sides' fields, in name order (a field left out as None is on one side only).
        let keys: std::collections::BTreeSet<&String> = a.keys().chain(b.keys()).collect();
        keys.into_iter()
            .filter(|k| !["epochs", "keep_checkpoints", "init", "corpus"].contains(&k.as_str()))
            .find(|k| a.get(k.as_str()) != b.get(k.as_str()))
            .map(|k| {
                let value = |v: Option<&serde_json::Value>| v.cloned().unwrap_or_default();
                format!("{k} is {} there, {} here", value(b.get(k.as_str())), value(a.get(k.as_str())))
            })
    }

    /// How this run's corpus differs from a saved run's, if it does: by the
    /// files' contents, not the folder's name (a corpus may move).
    pub fn corpus_difference(&self, saved: &TrainConfig) -> Option<String> {
        match (&saved.corpus, &self.corpus) {
            (None, None) => None,
            (None, Some(here)) => Some(format!("Penn Treebank there, the corpus in {} here", here.dir)),
            (Some(there), None) => Some(format!("the corpus in {} there, Penn Treebank here", there.dir)),
            (Some(there), Some(here)) => there.difference(here).map(|d| format!("the corpus in {}: {d}", there.dir)),
        }
    }

    /// The corpus's name: Penn Treebank, or its folder's.
    pub fn corpus_name(&self) -> String {
        match &self.corpus {
            None => "Penn Treebank".into(),
            Some(record) => {
                let dir = std::path::Path::new(&record.dir);
                dir.file_name().map_or(record.dir.clone(), |n| n.to_string_lossy().into_owned())
            }
        }
    }

    /// The model this run trains.
    pub fn model(&self) -> RnnlmConfig {
        self.model.config(self.vocab_size, self.wordvec_size, self.hidden_size, self.dropout)
    }

    /// What the run trains, as the plot's title says it: the book's class
    /// name, the `--model`, and the corpus.
    pub fn title(&self) -> String {
        format!("{} ({}) on {}", self.model.book_name(), self.model, self.corpus_name())
    }

    /// The book's initial weights of this run's model.
    pub fn initial_weights(&self) -> RnnlmWeights {
        RnnlmWeights::book_init(self.model().architecture(), self.seed)
    }
}

/// Reads a run's `config.json`.
pub fn read_config(run_dir: &RunDir) -> Result<TrainConfig> {
    let path = run_dir.config();
    let bytes = std::fs::read(&path).map_err(|e| Error::read(&path, e))?;
    let cfg: TrainConfig = serde_json::from_slice(&bytes)
        .map_err(|e| RunError::Damaged(format!("{} is not a run configuration: {e}", path.display())))?;
    // A run wrote it valid: anything else was changed by hand or damaged.
    cfg.validate().map_err(|e| RunError::Damaged(format!("{}: {e}", path.display())))?;
    Ok(cfg)
}
