//! What a command reads: the trained model (`--artifacts`, `--weights`,
//! `--book-model`) with its vocabulary and run configuration, the corpus
//! (Penn Treebank or `--corpus`), and the text `eval` scores.

use std::path::{Path, PathBuf};

use clap::Args;

use super::EvalArgs;
use crate::explain::Failure;
use rnnlm::arch::ModelKind;
use rnnlm::data::book;
use rnnlm::data::corpus::{self, Corpus, DataError};
use rnnlm::data::ptb;
use rnnlm::data::vocab::Vocab;
use rnnlm::run::RunDir;
use rnnlm::train::{self, TrainConfig};

/// A model as a command loaded it.
pub(crate) struct Loaded {
    pub(crate) model: rnnlm::model::Rnnlm,
    /// Where it came from, for the command's first line.
    pub(crate) what: String,
    /// The run's configuration, when it came from a run folder.
    pub(crate) run: Option<TrainConfig>,
}

/// Which trained model to use: a run folder, or a model file.
#[derive(Args, Debug)]
#[group(required = true, multiple = false)]
pub(crate) struct ModelSource {
    /// The run folder written by `train`.
    #[arg(long)]
    pub(crate) artifacts: Option<PathBuf>,
    /// A weights file: .safetensors or .npz named as the book's parameters (as `export` writes), or a .pkl of the book's; the architecture is read from its names and shapes, the vocabulary from a vocab.json beside it, else PTB's.
    #[arg(long)]
    pub(crate) weights: Option<PathBuf>,
    /// A model saved by the book's `save_params` (a .pkl such as the book's ch06/Rnnlm.pkl): the same as --weights.
    #[arg(long)]
    pub(crate) book_pkl: Option<PathBuf>,
    /// The book's own trained chapter-6 model, ch06/Rnnlm.pkl: read from $BOOK_DIR/ch06/Rnnlm.pkl if BOOK_DIR is set, else from data/book/Rnnlm.pkl, downloaded there on first use from the book's repository (or $BOOK_URL) and checked against its SHA-256.
    #[arg(long)]
    pub(crate) book_model: bool,
}

impl ModelSource {
    /// The model on `device`, where it came from, and its run's configuration.
    pub(crate) fn load(&self, checkpoint: Option<usize>, device: &burn::tensor::Device) -> Result<Loaded, Failure> {
        if let Some(dir) = &self.artifacts {
            let (cfg, model, epoch) = train::load_trained(dir, checkpoint, device)?;
            return Ok(Loaded { model, what: format!("epoch {epoch} of {}", dir.display()), run: Some(cfg) });
        }
        let file = self.file()?.ok_or("give --artifacts, --weights, --book-pkl or --book-model")?;
        if checkpoint.is_some() {
            return Err("--checkpoint picks an epoch of a run folder; a weights file holds one model".into());
        }
        let w = rnnlm::weights::files::read_any(&file)?;
        // Dropout acts in training only: evaluation and sampling run without it.
        let model = rnnlm::model::RnnlmConfig::for_architecture(w.arch).init_with(&w, device)?;
        let what = match ModelKind::of(w.arch) {
            Some(kind) => {
                let a = w.arch;
                format!("{} ({kind}, V={} D={} H={})", kind.book_name(), a.vocab_size, a.wordvec_size, a.hidden_size)
            }
            None => w.arch.to_string(),
        };
        Ok(Loaded { model, what: format!("{what} from {}", file.display()), run: None })
    }

    /// The weights file given, or the book's model (fetched on first use).
    pub(crate) fn file(&self) -> Result<Option<PathBuf>, Failure> {
        if self.book_model {
            return book::trained_model().map(Some).map_err(|e| Failure(format!("--book-model: {e}")));
        }
        Ok(self.weights.clone().or_else(|| self.book_pkl.clone()))
    }

    /// The vocabulary the model's ids index: the run's, the one beside the
    /// weights file, else the training split's of the data.
    pub(crate) fn vocab(&self, data: &DataArgs) -> Result<Vocab, Failure> {
        let words = match &self.artifacts {
            Some(dir) => Some(rnnlm::run::vocab::read_vocab(&RunDir::new(dir).vocab())?),
            None => match self.file()? {
                Some(file) => rnnlm::run::vocab::vocab_beside(&file)?,
                None => None,
            },
        };
        match words {
            Some(words) => Ok(Vocab::from_id_to_word(words)),
            // The book's ptb.load_data builds the same vocabulary from ptb.train.txt.
            None => Ok(data.load(None)?.vocab),
        }
    }
}

/// Where the data comes from: Penn Treebank (the default), or a corpus of one's own.
#[derive(Args, Debug)]
pub(crate) struct DataArgs {
    /// A corpus of your own instead of Penn Treebank: a folder holding train.txt, valid.txt and test.txt (or WikiText's wiki.train.tokens, wiki.valid.tokens, wiki.test.tokens), UTF-8 text read the book's way: words split on whitespace, <eos> at the end of every line.
    #[arg(long, value_name = "DIR", conflicts_with_all = ["data_dir", "data_url"])]
    pub(crate) corpus: Option<PathBuf>,
    /// Folder holding Penn Treebank's ptb.{train,valid,test}.txt [default: $PTB_DIR, else data/ptb]; missing files are downloaded there.
    #[arg(long)]
    pub(crate) data_dir: Option<PathBuf>,
    /// Where missing files are downloaded from, a mirror of tomsercu/lstm's data/ folder [default: $PTB_URL, else tomsercu/lstm on GitHub].
    #[arg(long)]
    pub(crate) data_url: Option<String>,
}

impl DataArgs {
    /// The corpus, its vocabulary at most `limit` words (see `--vocab-size`).
    pub(crate) fn load(&self, limit: Option<usize>) -> Result<Corpus, Failure> {
        let loaded = match &self.corpus {
            Some(dir) => corpus::load(dir, limit),
            None => ptb::load(self.data_dir.as_deref(), &ptb::resolve_url(self.data_url.as_deref()), limit),
        };
        loaded.map_err(|e| match e {
            DataError::UnknownWord { .. } => {
                Failure(format!("{e}; give --vocab-size to read rare and unseen words as <unk>"))
            }
            e => rnnlm::Error::from(e).into(),
        })
    }
}

/// The vocabulary a new run builds from the training split.
#[derive(Args, Debug)]
pub(crate) struct VocabArgs {
    /// Keep the K-1 most frequent words of the training split (ties: the one seen first) and <unk>, reading every other word of every split as <unk> [default: every word of the training split, in order of first appearance, as the book].
    #[arg(long, value_name = "K")]
    pub(crate) vocab_size: Option<usize>,
}

/// The tokens `eval` scores.
pub(crate) struct Scored {
    pub(crate) ids: Vec<u32>,
    /// Tokens read as `<unk>`, not being in the model's vocabulary.
    pub(crate) unknown: usize,
    /// Where they came from, e.g. "test.txt of corpus/".
    pub(crate) source: String,
}

impl EvalArgs {
    /// What to score, as ids of `vocab`, and its name in the output ("text" or
    /// the split's): the --text file, or the split of the corpus that
    /// --corpus or --data-dir names, else of the corpus of `run` (the
    /// model's run, if it came from one), else of Penn Treebank.
    pub(crate) fn scored(&self, vocab: &Vocab, run: Option<&TrainConfig>) -> Result<(Scored, String), Failure> {
        let encode = |path: &Path| corpus::encode_file(path, vocab).map_err(rnnlm::Error::from);
        if let Some(file) = &self.text {
            let (ids, unknown, _) = encode(file)?;
            return Ok((Scored { ids, unknown, source: file.display().to_string() }, "text".into()));
        }
        let (split, data) = (self.split, &self.data);
        let run_corpus = match (run, &data.corpus, &data.data_dir) {
            (Some(cfg), None, None) => cfg.corpus.as_ref(),
            _ => None,
        };
        let scored = match (run_corpus, &data.corpus) {
            (Some(record), _) => {
                let path = corpus::split_file(Path::new(&record.dir), split).map_err(|e| {
                    Failure(format!("the corpus the run trained on: {}; name it with --corpus", rnnlm::Error::from(e)))
                })?;
                let (ids, unknown, now) = encode(&path)?;
                let then = &record.files[split as usize];
                if (now.bytes, &now.sha256) != (then.bytes, &then.sha256) {
                    return Err(Failure(format!(
                        "{} has changed since the run trained on it ({} bytes, SHA-256 {} then; {} bytes, {} now): \
                         score it with --text, or name a corpus with --corpus",
                        path.display(),
                        then.bytes,
                        then.sha256,
                        now.bytes,
                        now.sha256
                    )));
                }
                Scored { ids, unknown, source: path.display().to_string() }
            }
            (None, Some(dir)) => {
                let path = corpus::split_file(dir, split).map_err(rnnlm::Error::from)?;
                let (ids, unknown, _) = encode(&path)?;
                Scored { ids, unknown, source: path.display().to_string() }
            }
            (None, None) => {
                let url = ptb::resolve_url(data.data_url.as_deref());
                let (ids, unknown) =
                    ptb::encode_split(data.data_dir.as_deref(), &url, split, vocab).map_err(rnnlm::Error::from)?;
                Scored { ids, unknown, source: format!("{split} of Penn Treebank") }
            }
        };
        Ok((scored, split.to_string()))
    }
}
