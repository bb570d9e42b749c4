//! The command line: one clap struct per command, whose `///` comments are
//! its `--help`, and the small steps from flags to the library's values (a
//! `TrainConfig` from a preset and the flags that replace its values). What
//! a command reads, the model, the corpus, the text `eval` scores, is in
//! [`sources`]. `main.rs` runs them.

use std::path::PathBuf;

pub(crate) mod bench;
mod help;
pub(crate) mod seq2seq;
mod sources;
pub(crate) use sources::{DataArgs, Loaded, ModelSource, VocabArgs};

use clap::builder::{PossibleValue, PossibleValuesParser, TypedValueParser};
use clap::{Args, Parser, Subcommand};
use help::Help;

use rnnlm::arch::{ModelKind, Seq2seqKind};
use rnnlm::backend::Backend;
use rnnlm::data::corpus::Split;
use rnnlm::train::{ClipMode, OptimizerKind, TrainConfig, TrainPreset};

/// The recurrent models of "Deep Learning from Scratch 2", chapters 5 to 7, on Burn.
#[derive(Parser, Debug)]
#[command(version, about)]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Subcommand, Debug)]
pub(crate) enum Command {
    /// Train a language model with burn-train's Learner, on Penn Treebank or a corpus of your own (defaults: the chapter-5 notebook's run).
    Train(TrainArgs),
    /// Run the book's training loop on the manual-backward reference.
    Reference(ReferenceArgs),
    /// Perplexity of a trained model on a split of its corpus, or on any text file (the book's eval_perplexity).
    Eval(EvalArgs),
    /// Sample text from a trained model, one word at a time.
    Generate(GenerateArgs),
    /// Time full training iterations and print tokens per second, each matrix product's rate in each layout, and the layouts measurement chose (RNNLM_KERNELS=fixed: no timing, each product's first layout).
    Bench(BenchArgs),
    /// Write a trained run's weights as .safetensors or .npz, by the book's parameter names, with vocab.json and config.json beside.
    Export(ExportArgs),
    /// Read a corpus as `train` would and say what it holds: its files, the vocabulary, each split's tokens and how many are read as <unk>, and how long the reading took.
    Corpus(CorpusArgs),
    /// Chapters 7 and 8: encoder-decoders that learn addition and rewrite dates, with attention (train, eval, answer, attention, export, plot, bench).
    Seq2seq(seq2seq::Seq2seqArgs),
    /// Compare the Burn model with the manual-backward reference, and the
    /// reference with finite differences; exit 1 if any tolerance fails.
    Check(CheckArgs),
}

#[derive(Args, Debug)]
pub(crate) struct EvalArgs {
    #[command(flatten)]
    pub(crate) source: ModelSource,
    /// Which split to score: of the --corpus or --data-dir given, else of the corpus the run trained on, else of Penn Treebank.
    #[arg(long, value_parser = choice::<Split>(), default_value_t = Split::Valid)]
    pub(crate) split: Split,
    /// Score this text file instead of a split: read as the corpus was (words split on whitespace, <eos> at each line's end), words outside the model's vocabulary as <unk>.
    #[arg(long, value_name = "FILE", conflicts_with = "split")]
    pub(crate) text: Option<PathBuf>,
    /// The epoch whose checkpoint to use [default: the one with the best validation perplexity, which the run folder always keeps].
    #[arg(long, visible_alias = "epoch")]
    pub(crate) checkpoint: Option<usize>,
    /// Rows per evaluation batch.
    #[arg(long, default_value_t = 10)]
    pub(crate) batch_size: usize,
    /// Time steps per evaluation batch.
    #[arg(long, default_value_t = 35)]
    pub(crate) time_size: usize,
    /// Backend to run on [default: wgpu on a hardware GPU, else the fastest CPU backend, flex].
    #[arg(long, value_parser = choice::<Backend>())]
    pub(crate) backend: Option<Backend>,
    #[command(flatten)]
    pub(crate) data: DataArgs,
}

#[derive(Args, Debug)]
pub(crate) struct GenerateArgs {
    #[command(flatten)]
    pub(crate) source: ModelSource,
    /// The first word (must be in the vocabulary).
    #[arg(long)]
    pub(crate) start: String,
    /// Words to generate after it.
    #[arg(long, default_value_t = 100)]
    pub(crate) words: usize,
    /// Softmax temperature: below 1 greedier, above 1 more random.
    #[arg(long, default_value_t = 1.0)]
    pub(crate) temperature: f64,
    /// Seed of the sampling: the same seed gives the same text.
    #[arg(long, default_value_t = 0)]
    pub(crate) seed: u64,
    /// Also allow `<unk>` and `N`, which the book skips (`N`, Penn Treebank's number, is skipped only for a model of PTB: a run folder that trained on a --corpus of its own keeps it).
    #[arg(long)]
    pub(crate) no_skip: bool,
    /// The epoch whose checkpoint to use [default: the one with the best validation perplexity, which the run folder always keeps].
    #[arg(long, visible_alias = "epoch")]
    pub(crate) checkpoint: Option<usize>,
    /// Backend to run on [default: wgpu on a hardware GPU, else the fastest CPU backend, flex].
    #[arg(long, value_parser = choice::<Backend>())]
    pub(crate) backend: Option<Backend>,
    #[command(flatten)]
    pub(crate) data: DataArgs,
}

#[derive(Args, Debug)]
pub(crate) struct ExportArgs {
    /// The run folder written by `train`.
    #[arg(long)]
    pub(crate) artifacts: PathBuf,
    /// The epoch whose checkpoint to export [default: the best by validation perplexity, as --best].
    #[arg(long, conflicts_with = "best")]
    pub(crate) epoch: Option<usize>,
    /// Export the epoch with the best validation perplexity (the default; the run folder always keeps it).
    #[arg(long)]
    pub(crate) best: bool,
    /// The file to write: .safetensors or .npz (float32, the book's names: embed.W, rnn.Wx, ...); vocab.json and config.json are written beside it.
    #[arg(long)]
    pub(crate) out: PathBuf,
}

#[derive(Args, Debug)]
pub(crate) struct BenchArgs {
    /// Backend to time [default: wgpu on a hardware GPU, else the fastest CPU backend, flex].
    #[arg(long, value_parser = choice::<Backend>())]
    pub(crate) backend: Option<Backend>,
    /// Model and batch sizes.
    #[arg(long, value_parser = choice::<bench::Preset>(), default_value_t = bench::Preset::Seed)]
    pub(crate) preset: bench::Preset,
    /// The model (better-lstm: dropout 0.5, needs equal D and H, as both presets have).
    #[arg(long, value_parser = choice::<ModelKind>(), default_value_t = ModelKind::Rnn)]
    pub(crate) model: ModelKind,
    /// The update: adam (lr 1e-3, clip 5, chapter 5's) or sgd (lr 20, clip 0.25, chapter 6's).
    #[arg(long, value_parser = choice::<OptimizerKind>(), default_value_t = OptimizerKind::Adam)]
    pub(crate) optimizer: OptimizerKind,
    /// Timed iterations (after 5 untimed warm-up ones).
    #[arg(long, default_value_t = 50)]
    pub(crate) iters: usize,
    /// Also time one epoch of the Learner (`train`) at the seed preset, to show the framework's overhead (needs PTB).
    #[arg(long)]
    pub(crate) learner: bool,
    #[command(flatten)]
    pub(crate) data: DataArgs,
}

/// The run's model and hyperparameters: a preset of the book's, any of
/// whose values a flag replaces.
#[derive(Args, Debug)]
pub(crate) struct HyperParams {
    /// The book's run to start from: ch5 (the chapter-5 notebook: SimpleRnnlm, Adam, 10,000 words), ch6-rnnlm (train_rnnlm.py: LSTM 100, SGD lr 20, whole corpus, 4 epochs) or ch6-better (train_better_rnnlm.py: BetterRnnlm 650, dropout 0.5, lr / 4 when validation stalls, 40 epochs).
    #[arg(long, value_parser = choice::<TrainPreset>(), default_value_t = TrainPreset::Ch5)]
    pub(crate) preset: TrainPreset,
    /// The model: rnn (SimpleRnnlm), lstm (Rnnlm), gru, better-lstm (BetterRnnlm) [default: the preset's].
    #[arg(long, value_parser = choice::<ModelKind>())]
    pub(crate) model: Option<ModelKind>,
    /// Rows per batch (N) [default: the preset's; ch5 10, ch6 20].
    #[arg(long)]
    pub(crate) batch_size: Option<usize>,
    /// Time steps per batch (T), the truncated-BPTT length [default: the preset's; ch5 5, ch6 35].
    #[arg(long)]
    pub(crate) time_size: Option<usize>,
    /// Size of a word vector (D) [default: the preset's; 100, ch6-better 650].
    #[arg(long)]
    pub(crate) wordvec_size: Option<usize>,
    /// Size of the hidden state (H) [default: the preset's; 100, ch6-better 650].
    #[arg(long)]
    pub(crate) hidden_size: Option<usize>,
    /// Dropout ratio of better-lstm [default: 0.5 for better-lstm, else 0].
    #[arg(long)]
    pub(crate) dropout: Option<f64>,
    /// The update rule [default: the preset's; ch5 adam, ch6 sgd].
    #[arg(long, value_parser = choice::<OptimizerKind>())]
    pub(crate) optimizer: Option<OptimizerKind>,
    /// Learning rate [default: the preset's; ch5 0.001, ch6 20].
    #[arg(long)]
    pub(crate) lr: Option<f64>,
    /// Divide the learning rate by 4 after an epoch whose validation perplexity is not the best so far (the book's train_better_rnnlm.py) [default: on for ch6-better].
    #[arg(long)]
    pub(crate) lr_decay: Option<bool>,
    /// Gradients are clipped to this norm [default: the preset's; ch5 5.0, ch6 0.25].
    #[arg(long)]
    pub(crate) max_grad: Option<f64>,
    /// Train on the first N tokens of the training split (0: all; ptb.train.txt has 929,589); the vocabulary is always the whole split's [default: 0, but ch5 on Penn Treebank 10,000].
    #[arg(long)]
    pub(crate) corpus_size: Option<usize>,
    /// Epochs to train [default: the preset's; ch5 20 (the notebook set 1000 and printed 17), ch6-rnnlm 4, ch6-better 40].
    #[arg(long)]
    pub(crate) epochs: Option<usize>,
    /// Seed of the weight initialisation [default: 0].
    #[arg(long)]
    pub(crate) seed: Option<u64>,
    /// Validation batch rows [default: 10, as the book's eval_perplexity].
    #[arg(long)]
    pub(crate) eval_batch_size: Option<usize>,
    /// Validation time steps [default: 35, as the book's eval_perplexity].
    #[arg(long)]
    pub(crate) eval_time_size: Option<usize>,
}

impl TrainArgs {
    /// The run folder: --artifacts, or one named after the model trained.
    pub(crate) fn run_folder(&self, model: ModelKind) -> PathBuf {
        let name = match model {
            ModelKind::Rnn => "simple-rnnlm",
            ModelKind::Lstm => "rnnlm",
            ModelKind::Gru => "gru-rnnlm",
            ModelKind::BetterLstm => "better-rnnlm",
        };
        self.artifacts.clone().unwrap_or_else(|| PathBuf::from("artifacts").join(name))
    }
}

impl HyperParams {
    /// The run's configuration; `own_corpus`: the data is a `--corpus`, all
    /// of which ch5 trains on (its 10,000 words are the notebook's slice of PTB).
    pub(crate) fn config(&self, vocab_size: usize, clip: ClipMode, own_corpus: bool) -> TrainConfig {
        let mut c = self.preset.config(vocab_size);
        if own_corpus {
            c.corpus_size = 0;
        }
        if let Some(model) = self.model {
            c.model = model;
            // Dropout belongs to BetterRnnlm: a change of model takes the model's own default.
            c.dropout = if model == ModelKind::BetterLstm { 0.5 } else { 0.0 };
        }
        fn set<T: Copy>(field: &mut T, value: Option<T>) {
            if let Some(v) = value {
                *field = v;
            }
        }
        set(&mut c.batch_size, self.batch_size);
        set(&mut c.time_size, self.time_size);
        set(&mut c.wordvec_size, self.wordvec_size);
        set(&mut c.hidden_size, self.hidden_size);
        set(&mut c.dropout, self.dropout);
        set(&mut c.optimizer, self.optimizer);
        set(&mut c.lr, self.lr);
        set(&mut c.lr_decay, self.lr_decay);
        set(&mut c.max_grad, self.max_grad);
        set(&mut c.corpus_size, self.corpus_size);
        set(&mut c.epochs, self.epochs);
        set(&mut c.seed, self.seed);
        set(&mut c.eval_batch_size, self.eval_batch_size);
        set(&mut c.eval_time_size, self.eval_time_size);
        c.clip = clip;
        c
    }
}

#[derive(Args, Debug)]
pub(crate) struct TrainArgs {
    #[command(flatten)]
    pub(crate) hyper: HyperParams,
    #[command(flatten)]
    pub(crate) data: DataArgs,
    #[command(flatten)]
    pub(crate) vocab: VocabArgs,
    /// Gradient clipping: one norm over all gradients (the book's clip_grads) or each tensor on its own (Burn's).
    #[arg(long, value_parser = choice::<ClipMode>(), default_value_t = ClipMode::Global)]
    pub(crate) clip: ClipMode,
    /// Folder for this run's config, metrics.csv, perplexity.png and checkpoints [default: artifacts/ and the model trained: simple-rnnlm, rnnlm, gru-rnnlm or better-rnnlm].
    #[arg(long)]
    pub(crate) artifacts: Option<PathBuf>,
    /// Continue the run in --artifacts from its last complete checkpoint.
    #[arg(long)]
    pub(crate) resume: bool,
    /// Start from the weights in this file (.safetensors or .npz as `export` writes, or a .pkl of the book's) instead of the book's random initialisation; names and shapes must match the model, and a vocab.json beside it the data's. A copy is kept in the run folder as init.safetensors.
    #[arg(long, conflicts_with = "resume")]
    pub(crate) init: Option<PathBuf>,
    /// Checkpoints to keep: the last N epochs' and the best epoch's (which eval, generate and export use by default), or all. metrics.csv keeps every epoch.
    #[arg(long, default_value_t = rnnlm::run::KeepCheckpoints::default())]
    pub(crate) keep_checkpoints: rnnlm::run::KeepCheckpoints,
    /// Backend to train on [default: wgpu on a hardware GPU, else the fastest CPU backend, flex].
    #[arg(long, value_parser = choice::<Backend>())]
    pub(crate) backend: Option<Backend>,
}

#[derive(Args, Debug)]
pub(crate) struct CorpusArgs {
    #[command(flatten)]
    pub(crate) data: DataArgs,
    #[command(flatten)]
    pub(crate) vocab: VocabArgs,
}

#[derive(Args, Debug)]
pub(crate) struct ReferenceArgs {
    #[command(flatten)]
    pub(crate) hyper: HyperParams,
    #[command(flatten)]
    pub(crate) data: DataArgs,
    #[command(flatten)]
    pub(crate) vocab: VocabArgs,
}

#[derive(Args, Debug)]
pub(crate) struct CheckArgs {
    /// Backend to run the Burn model on [default: wgpu on a hardware GPU, else the fastest CPU backend, flex].
    #[arg(long, value_parser = choice::<Backend>())]
    pub(crate) backend: Option<Backend>,
    /// Skip the comparison at the notebook's sizes (V = 10,000).
    #[arg(long)]
    pub(crate) small_only: bool,
    /// Optimizer steps in the trajectory comparison.
    #[arg(long, default_value_t = 50)]
    pub(crate) steps: usize,
    /// Seed of the weights and data.
    #[arg(long, default_value_t = 0)]
    pub(crate) seed: u64,
    /// The models to check [default: all: rnn, lstm, gru, better-lstm, seq2seq, peeky-seq2seq, attention-seq2seq, bi-attention-seq2seq].
    #[arg(long, value_parser = choice::<Checked>(), num_args = 1.., value_delimiter = ',')]
    pub(crate) model: Vec<Checked>,
}

/// A model `check` compares: a language model or an encoder-decoder.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Checked {
    Lm(ModelKind),
    Seq2seq(Seq2seqKind),
}

impl rnnlm::choice::Choice for Checked {
    const NAMES: &'static [(Self, &'static str)] = &[
        (Checked::Lm(ModelKind::Rnn), "rnn"),
        (Checked::Lm(ModelKind::Lstm), "lstm"),
        (Checked::Lm(ModelKind::Gru), "gru"),
        (Checked::Lm(ModelKind::BetterLstm), "better-lstm"),
        (Checked::Seq2seq(Seq2seqKind::Seq2seq), "seq2seq"),
        (Checked::Seq2seq(Seq2seqKind::PeekySeq2seq), "peeky-seq2seq"),
        (Checked::Seq2seq(Seq2seqKind::AttentionSeq2seq), "attention-seq2seq"),
        (Checked::Seq2seq(Seq2seqKind::BiAttentionSeq2seq), "bi-attention-seq2seq"),
    ];
}

impl Help for Checked {
    fn about(self) -> &'static str {
        match self {
            Checked::Lm(m) => m.about(),
            Checked::Seq2seq(k) => k.about(),
        }
    }
}

/// The value parser of a flag that picks one of a library type's named
/// values (`rnnlm::choice`): its names, each with its line in `--help`.
fn choice<T: Help>() -> impl TypedValueParser<Value = T> {
    let values = T::NAMES.iter().map(|&(value, name)| PossibleValue::new(name).help(value.about()));
    PossibleValuesParser::new(values).map(|name| T::from_name(&name).expect("one of the possible values"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn train_flag_defaults_are_the_notebooks_configuration() {
        let Command::Train(args) = Cli::parse_from(["rnnlm", "train"]).command else { panic!("train parses") };
        assert_eq!(args.hyper.config(10_000, args.clip, false), TrainConfig::notebook(10_000));
        assert!(!args.resume);
        assert_eq!(args.run_folder(ModelKind::Rnn), PathBuf::from("artifacts/simple-rnnlm"));
    }

    #[test]
    fn the_default_run_folder_follows_the_model_trained() {
        let folder = |argv: &[&str]| {
            let Command::Train(args) = Cli::parse_from(argv).command else { panic!("train parses") };
            args.run_folder(args.hyper.config(10_000, args.clip, false).model)
        };
        assert_eq!(folder(&["rnnlm", "train", "--preset", "ch6-better"]), PathBuf::from("artifacts/better-rnnlm"));
        assert_eq!(folder(&["rnnlm", "train", "--preset", "ch6-rnnlm"]), PathBuf::from("artifacts/rnnlm"));
        assert_eq!(folder(&["rnnlm", "train", "--model", "gru"]), PathBuf::from("artifacts/gru-rnnlm"));
        let given = ["rnnlm", "train", "--preset", "ch6-better", "--artifacts", "runs/mine"];
        assert_eq!(folder(&given), PathBuf::from("runs/mine"));
    }
}
