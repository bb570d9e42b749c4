//! The `rnnlm` command line.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

use rnnlm::backend::{self, Backend};
use rnnlm::data::batches::StreamBatches;
use rnnlm::data::book;
use rnnlm::data::ptb::{self, Ptb};
use rnnlm::model::ModelKind;
use rnnlm::reference;
use rnnlm::train::{self, ClipMode, Display, OptimizerKind, TrainConfig, TrainPreset};
use rnnlm::{bench, check, infer};

// Training allocates and frees buffers of megabytes at every step (scores,
// their gradients, the dense embedding gradient). glibc's malloc hands such
// buffers back to the kernel and faults fresh zeroed pages in on the next
// step; mimalloc keeps them for reuse. Measured with `rnnlm bench`: see the
// README's "Speed".
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The recurrent language models of "Deep Learning from Scratch 2", chapters 5 and 6, on Burn.
#[derive(Parser, Debug)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Train a language model on Penn Treebank with burn-train's Learner (defaults: the chapter-5 notebook's run).
    Train(TrainArgs),
    /// Run the book's training loop on the manual-backward reference.
    Reference(ReferenceArgs),
    /// Perplexity of a trained model on a PTB split (the book's eval_perplexity).
    Eval(EvalArgs),
    /// Sample text from a trained model, one word at a time.
    Generate(GenerateArgs),
    /// Time full training iterations and print tokens per second.
    Bench(BenchArgs),
    /// Write a trained run's weights as .safetensors or .npz, by the book's parameter names, with vocab.json and config.json beside.
    Export(ExportArgs),
    /// Compare the Burn model with the manual-backward reference, and the
    /// reference with finite differences; exit 1 if any tolerance fails.
    Check(CheckArgs),
}

/// Which trained model to use: a run folder, or a model file.
#[derive(Args, Debug)]
#[group(required = true, multiple = false)]
struct ModelSource {
    /// The run folder written by `train`.
    #[arg(long)]
    artifacts: Option<PathBuf>,
    /// A weights file: .safetensors or .npz named as the book's parameters (as `export` writes), or a .pkl of the book's; the architecture is read from its names and shapes, the vocabulary from a vocab.json beside it, else PTB's.
    #[arg(long)]
    weights: Option<PathBuf>,
    /// A model saved by the book's `save_params` (a .pkl such as the book's ch06/Rnnlm.pkl): the same as --weights.
    #[arg(long)]
    book_pkl: Option<PathBuf>,
    /// The book's own trained chapter-6 model, ch06/Rnnlm.pkl: read from $BOOK_DIR/ch06/Rnnlm.pkl if BOOK_DIR is set, else from data/book/Rnnlm.pkl, downloaded there on first use from the book's repository (or $BOOK_URL) and checked against its SHA-256.
    #[arg(long)]
    book_model: bool,
}

impl ModelSource {
    /// The model on `device`, and a description of where it came from.
    fn load(
        &self,
        checkpoint: Option<usize>,
        device: &burn::tensor::Device,
    ) -> Result<(rnnlm::model::Rnnlm, String), String> {
        if let Some(dir) = &self.artifacts {
            let (_, model, epoch) = train::load_trained(dir, checkpoint, device)?;
            return Ok((model, format!("epoch {epoch} of {}", dir.display())));
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
        Ok((model, format!("{what} from {}", file.display())))
    }

    /// The weights file given, or the book's model (fetched on first use).
    fn file(&self) -> Result<Option<PathBuf>, String> {
        if self.book_model {
            return book::trained_model().map(Some).map_err(|e| format!("--book-model: {e}"));
        }
        Ok(self.weights.clone().or_else(|| self.book_pkl.clone()))
    }

    /// The vocabulary the model's ids index.
    fn vocab(&self, data: &DataArgs) -> Result<ptb::Vocab, String> {
        let words = match &self.artifacts {
            Some(dir) => Some(rnnlm::artifacts::read_vocab(&rnnlm::artifacts::RunDir::new(dir).vocab())?),
            None => match self.file()? {
                Some(file) => rnnlm::export::vocab_beside(&file)?,
                None => None,
            },
        };
        match words {
            Some(words) => Ok(ptb::Vocab::from_id_to_word(words)),
            // The book's ptb.load_data builds the same vocabulary from ptb.train.txt.
            None => Ok(data.load()?.vocab),
        }
    }
}

#[derive(Args, Debug)]
struct EvalArgs {
    #[command(flatten)]
    source: ModelSource,
    /// Which split to score.
    #[arg(long, value_enum, default_value_t = ptb::Split::Valid)]
    split: ptb::Split,
    /// The epoch whose checkpoint to use [default: the one with the best validation perplexity, which the run folder always keeps].
    #[arg(long, visible_alias = "epoch")]
    checkpoint: Option<usize>,
    /// Rows per evaluation batch.
    #[arg(long, default_value_t = 10)]
    batch_size: usize,
    /// Time steps per evaluation batch.
    #[arg(long, default_value_t = 35)]
    time_size: usize,
    /// Backend to run on [default: wgpu on a hardware GPU, else the fastest CPU backend, flex].
    #[arg(long, value_enum)]
    backend: Option<Backend>,
    #[command(flatten)]
    data: DataArgs,
}

#[derive(Args, Debug)]
struct GenerateArgs {
    #[command(flatten)]
    source: ModelSource,
    /// The first word (must be in the vocabulary).
    #[arg(long)]
    start: String,
    /// Words to generate after it.
    #[arg(long, default_value_t = 100)]
    words: usize,
    /// Softmax temperature: below 1 greedier, above 1 more random.
    #[arg(long, default_value_t = 1.0)]
    temperature: f64,
    /// Seed of the sampling: the same seed gives the same text.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Also allow `<unk>` and `N`, which the book skips.
    #[arg(long)]
    no_skip: bool,
    /// The epoch whose checkpoint to use [default: the one with the best validation perplexity, which the run folder always keeps].
    #[arg(long, visible_alias = "epoch")]
    checkpoint: Option<usize>,
    /// Backend to run on [default: wgpu on a hardware GPU, else the fastest CPU backend, flex].
    #[arg(long, value_enum)]
    backend: Option<Backend>,
    #[command(flatten)]
    data: DataArgs,
}

#[derive(Args, Debug)]
struct ExportArgs {
    /// The run folder written by `train`.
    #[arg(long)]
    artifacts: PathBuf,
    /// The epoch whose checkpoint to export [default: the best by validation perplexity, as --best].
    #[arg(long, conflicts_with = "best")]
    epoch: Option<usize>,
    /// Export the epoch with the best validation perplexity (the default; the run folder always keeps it).
    #[arg(long)]
    best: bool,
    /// The file to write: .safetensors or .npz (float32, the book's names: embed.W, rnn.Wx, ...); vocab.json and config.json are written beside it.
    #[arg(long)]
    out: PathBuf,
}

#[derive(Args, Debug)]
struct BenchArgs {
    /// Backend to time [default: wgpu on a hardware GPU, else the fastest CPU backend, flex].
    #[arg(long, value_enum)]
    backend: Option<Backend>,
    /// Model and batch sizes.
    #[arg(long, value_enum, default_value_t = bench::Preset::Seed)]
    preset: bench::Preset,
    /// The model (better-lstm: dropout 0.5, needs equal D and H, as both presets have).
    #[arg(long, value_enum, default_value_t = ModelKind::Rnn)]
    model: ModelKind,
    /// How the gradients are computed: as `train` does (the affine layer and the loss by hand), or all through autodiff.
    #[arg(long, value_enum, default_value_t = bench::GradientPath::Train)]
    gradients: bench::GradientPath,
    /// Timed iterations (after 5 untimed warm-up ones).
    #[arg(long, default_value_t = 50)]
    iters: usize,
    /// Also time one epoch of the Learner (`train`) at the seed preset, to show the framework's overhead (needs PTB).
    #[arg(long)]
    learner: bool,
    #[command(flatten)]
    data: DataArgs,
}

/// Where the data comes from.
#[derive(Args, Debug)]
struct DataArgs {
    /// Folder holding ptb.{train,valid,test}.txt [default: $PTB_DIR, else data/ptb]; missing files are downloaded there.
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// Where missing files are downloaded from, a mirror of tomsercu/lstm's data/ folder [default: $PTB_URL, else tomsercu/lstm on GitHub].
    #[arg(long)]
    data_url: Option<String>,
}

impl DataArgs {
    fn load(&self) -> Result<Ptb, String> {
        ptb::load(self.data_dir.as_deref(), &ptb::resolve_url(self.data_url.as_deref())).map_err(|e| e.to_string())
    }
}

/// The run's model and hyperparameters: a preset of the book's, any of
/// whose values a flag replaces.
#[derive(Args, Debug)]
struct HyperParams {
    /// The book's run to start from: ch5 (the chapter-5 notebook: SimpleRnnlm, Adam, 10,000 words), ch6-rnnlm (train_rnnlm.py: LSTM 100, SGD lr 20, whole corpus, 4 epochs) or ch6-better (train_better_rnnlm.py: BetterRnnlm 650, dropout 0.5, lr / 4 when validation stalls, 40 epochs).
    #[arg(long, value_enum, default_value_t = TrainPreset::Ch5)]
    preset: TrainPreset,
    /// The model: rnn (SimpleRnnlm), lstm (Rnnlm), gru, better-lstm (BetterRnnlm) [default: the preset's].
    #[arg(long, value_enum)]
    model: Option<ModelKind>,
    /// Rows per batch (N) [default: the preset's; ch5 10, ch6 20].
    #[arg(long)]
    batch_size: Option<usize>,
    /// Time steps per batch (T), the truncated-BPTT length [default: the preset's; ch5 5, ch6 35].
    #[arg(long)]
    time_size: Option<usize>,
    /// Size of a word vector (D) [default: the preset's; 100, ch6-better 650].
    #[arg(long)]
    wordvec_size: Option<usize>,
    /// Size of the hidden state (H) [default: the preset's; 100, ch6-better 650].
    #[arg(long)]
    hidden_size: Option<usize>,
    /// Dropout ratio of better-lstm [default: 0.5 for better-lstm, else 0].
    #[arg(long)]
    dropout: Option<f64>,
    /// The update rule [default: the preset's; ch5 adam, ch6 sgd].
    #[arg(long, value_enum)]
    optimizer: Option<OptimizerKind>,
    /// Learning rate [default: the preset's; ch5 0.001, ch6 20].
    #[arg(long)]
    lr: Option<f64>,
    /// Divide the learning rate by 4 after an epoch whose validation perplexity is not the best so far (the book's train_better_rnnlm.py) [default: on for ch6-better].
    #[arg(long)]
    lr_decay: Option<bool>,
    /// Gradients are clipped to this norm [default: the preset's; ch5 5.0, ch6 0.25].
    #[arg(long)]
    max_grad: Option<f64>,
    /// Train on the first N tokens of ptb.train.txt (0: all 929,589); the vocabulary is always the full one [default: ch5 10,000, ch6 0].
    #[arg(long)]
    corpus_size: Option<usize>,
    /// Epochs to train [default: the preset's; ch5 20 (the notebook set 1000 and printed 17), ch6-rnnlm 4, ch6-better 40].
    #[arg(long)]
    epochs: Option<usize>,
    /// Seed of the weight initialisation [default: 0].
    #[arg(long)]
    seed: Option<u64>,
    /// Validation batch rows [default: 10, as the book's eval_perplexity].
    #[arg(long)]
    eval_batch_size: Option<usize>,
    /// Validation time steps [default: 35, as the book's eval_perplexity].
    #[arg(long)]
    eval_time_size: Option<usize>,
}

impl HyperParams {
    fn config(&self, vocab_size: usize, clip: ClipMode) -> TrainConfig {
        let mut c = self.preset.config(vocab_size);
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
struct TrainArgs {
    #[command(flatten)]
    hyper: HyperParams,
    #[command(flatten)]
    data: DataArgs,
    /// Gradient clipping: one norm over all gradients (the book's clip_grads) or each tensor on its own (Burn's).
    #[arg(long, value_enum, default_value_t = ClipMode::Global)]
    clip: ClipMode,
    /// Folder for this run's config, metrics.csv, perplexity.png and checkpoints.
    #[arg(long, default_value = "artifacts/simple-rnnlm")]
    artifacts: PathBuf,
    /// Continue the run in --artifacts from its last complete checkpoint.
    #[arg(long)]
    resume: bool,
    /// Start from the weights in this file (.safetensors or .npz as `export` writes, or a .pkl of the book's) instead of the book's random initialisation; names and shapes must match the model, and a vocab.json beside it the data's. A copy is kept in the run folder as init.safetensors.
    #[arg(long, conflicts_with = "resume")]
    init: Option<PathBuf>,
    /// Checkpoints to keep: the last N epochs' and the best epoch's (which eval, generate and export use by default), or all. metrics.csv keeps every epoch.
    #[arg(long, default_value_t = rnnlm::artifacts::KeepCheckpoints::default())]
    keep_checkpoints: rnnlm::artifacts::KeepCheckpoints,
    /// Backend to train on [default: wgpu on a hardware GPU, else the fastest CPU backend, flex].
    #[arg(long, value_enum)]
    backend: Option<Backend>,
}

#[derive(Args, Debug)]
struct ReferenceArgs {
    #[command(flatten)]
    hyper: HyperParams,
    #[command(flatten)]
    data: DataArgs,
}

#[derive(Args, Debug)]
struct CheckArgs {
    /// Backend to run the Burn model on [default: wgpu on a hardware GPU, else the fastest CPU backend, flex].
    #[arg(long, value_enum)]
    backend: Option<Backend>,
    /// Skip the comparison at the notebook's sizes (V = 10,000).
    #[arg(long)]
    small_only: bool,
    /// Optimizer steps in the trajectory comparison.
    #[arg(long, default_value_t = 50)]
    steps: usize,
    /// Seed of the weights and data.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// The models to check [default: all: rnn, lstm, gru, better-lstm].
    #[arg(long, value_enum, num_args = 1.., value_delimiter = ',')]
    model: Vec<ModelKind>,
}

fn run_train(args: TrainArgs) -> Result<u8, String> {
    let (backend, why) = backend::choose(args.backend);
    println!("{why}");
    let data = args.data.load()?;
    let mut cfg = args.hyper.config(data.vocab.len(), args.clip);
    cfg.init = args.init.as_ref().map(|p| p.display().to_string());
    cfg.keep_checkpoints = args.keep_checkpoints;
    let display = if std::io::stdout().is_terminal() { Display::Dashboard } else { Display::EpochLines };
    println!(
        "training {} ({}) on {backend}: corpus {} tokens, vocabulary {}, {} epochs, run folder {}",
        cfg.model.book_name(),
        cfg.model,
        data.training_corpus(cfg.corpus_size)?.len(),
        data.vocab.len(),
        cfg.epochs,
        args.artifacts.display()
    );
    let rows = train::train(&cfg, backend, &data, &args.artifacts, args.resume, display)?;
    if display == Display::Dashboard {
        for row in &rows {
            println!("{}", row.summary_line());
        }
    }
    Ok(0)
}

fn run_reference(args: ReferenceArgs) -> Result<u8, String> {
    let data = args.data.load()?;
    let cfg = args.hyper.config(data.vocab.len(), ClipMode::Global);
    cfg.validate()?;
    let corpus = data.training_corpus(cfg.corpus_size)?;
    let train = StreamBatches::train(corpus, cfg.batch_size, cfg.time_size).map_err(|e| e.to_string())?;
    let valid = StreamBatches::eval(&data.valid, cfg.eval_batch_size, cfg.eval_time_size)
        .map_err(|e| format!("validation: {e}"))?;
    if cfg.lr_decay {
        return Err("the reference trains without --lr-decay".into());
    }
    let mut model = reference::Rnnlm::<f32>::from_weights(&cfg.initial_weights(), cfg.dropout, cfg.seed)?;
    println!(
        "training the manual-backward reference of {} ({}): corpus {} tokens, vocabulary {}, {} epochs",
        cfg.model.book_name(),
        cfg.model,
        corpus.len(),
        cfg.vocab_size,
        cfg.epochs
    );
    let mut optimizer: Box<dyn reference::Optimizer<f32>> = match cfg.optimizer {
        OptimizerKind::Adam => Box::new(reference::Adam::new(cfg.lr as f32)),
        OptimizerKind::Sgd => Box::new(reference::Sgd { lr: cfg.lr as f32 }),
    };
    reference::train::train(&mut model, &train, &valid, optimizer.as_mut(), cfg.max_grad as f32, cfg.epochs, |row| {
        println!("{}", row.summary_line())
    })?;
    Ok(0)
}

fn run_eval(args: EvalArgs) -> Result<u8, String> {
    let (backend, _) = backend::choose(args.backend);
    let device = backend.device()?;
    let (model, what) = args.source.load(args.checkpoint, &device)?;
    let data = args.data.load()?;
    let vocab_size = model.architecture().vocab_size;
    if data.vocab.len() != vocab_size {
        return Err(format!("the model has V={vocab_size}, the data {}", data.vocab.len()));
    }
    let batches =
        StreamBatches::eval(data.split(args.split), args.batch_size, args.time_size).map_err(|e| e.to_string())?;
    println!(
        "evaluating {what} on {} ({} batches of {} x {}, backend {backend})",
        args.split,
        batches.iters(),
        args.batch_size,
        args.time_size
    );
    let loss = infer::eval_loss(&model, &batches, &device);
    println!("{} loss: {loss:.6}", args.split);
    println!("{} perplexity: {:.4}", args.split, loss.exp());
    Ok(0)
}

fn run_generate(args: GenerateArgs) -> Result<u8, String> {
    let (backend, _) = backend::choose(args.backend);
    let vocab = args.source.vocab(&args.data)?;
    let start = vocab
        .id(&args.start)
        .ok_or_else(|| format!("the start word {:?} is not in the vocabulary of {} words", args.start, vocab.len()))?;
    let device = backend.device()?;
    let (model, _) = args.source.load(args.checkpoint, &device)?;
    let skip = if args.no_skip { Vec::new() } else { ["<unk>", "N"].iter().filter_map(|w| vocab.id(w)).collect() };
    let opts = infer::SampleOptions { words: args.words, temperature: args.temperature, seed: args.seed, skip };
    let mut ids = vec![start];
    ids.extend(infer::generate(&model, start, &opts, &device)?);
    println!("{}", infer::format_text(&vocab, &ids));
    Ok(0)
}

fn run_export(args: ExportArgs) -> Result<u8, String> {
    // --best is the default; it conflicts with --epoch.
    let epoch = if args.best { None } else { args.epoch };
    let done = rnnlm::export::export(&args.artifacts, epoch, &args.out)?;
    let i = &done.info;
    let ppl = i.valid_perplexity.map_or(String::new(), |p| format!(", valid perplexity {p:.4}"));
    println!("exported epoch {} of {} ({} {}{ppl})", i.epoch, args.artifacts.display(), i.book_class, i.architecture);
    for path in [&done.weights, &done.vocab, &done.config] {
        println!("wrote {}", path.display());
    }
    Ok(0)
}

fn run_bench(args: BenchArgs) -> Result<u8, String> {
    let (backend, _) = backend::choose(args.backend);
    if args.iters == 0 {
        return Err("--iters must be at least 1".into());
    }
    let device = backend.device()?;
    let (n, t, d, h, v) = args.preset.sizes();
    println!(
        "bench {:?} {} on {backend}, gradients {:?}: N {n}, T {t}, D {d}, H {h}, V {v}; 5 warm-up + {} timed iterations",
        args.preset, args.model, args.gradients, args.iters
    );
    let result = bench::run(&device, args.model, args.preset, args.gradients, 5, args.iters);
    let mut sorted = result.iteration_ms.clone();
    sorted.sort_by(f64::total_cmp);
    println!(
        "ms per iteration: median {:.2}, min {:.2}, max {:.2}",
        result.median_ms(),
        sorted[0],
        sorted[sorted.len() - 1]
    );
    let [grads, clip, adam] = result.phase_ms;
    println!("median ms per phase: forward+backward {grads:.2}, clip {clip:.2}, adam {adam:.2}");
    if args.learner {
        let data = args.data.load()?;
        let cfg = TrainConfig { epochs: 1, ..TrainConfig::notebook(data.vocab.len()) };
        let iters = StreamBatches::train(data.training_corpus(cfg.corpus_size)?, cfg.batch_size, cfg.time_size)
            .map_err(|e| e.to_string())?
            .iters();
        // A throw-away run folder, removed whether the epoch succeeds or not.
        let dir = std::env::temp_dir().join(format!("rnnlm-bench-{}", std::process::id()));
        let rows = train::train(&cfg, backend, &data, &dir, false, Display::EpochLines);
        let _ = std::fs::remove_dir_all(&dir);
        let secs = rows?[0].seconds;
        println!("learner epoch (seed preset, {iters} iterations + validation): {secs:.2} s");
    }
    println!("tokens/s: {:.0}", result.tokens_per_second());
    Ok(0)
}

fn run_check(args: CheckArgs) -> Result<u8, String> {
    let (backend, _) = backend::choose(args.backend);
    let device = backend.device()?;
    println!("checking the Burn model on {backend} against the manual-backward reference");
    let models = if args.model.is_empty() { ModelKind::ALL.to_vec() } else { args.model };
    let opts = check::CheckOptions { models, seed_sizes: !args.small_only, steps: args.steps, seed: args.seed };
    let report = check::run(&device, check::tolerance_for(backend), &opts);
    print!("{}", check::format_report(&report));
    Ok(if report.passed() { 0 } else { 1 })
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // The CPU backends split each tensor op over rayon's threads. Run from
    // inside the pool, the command's own thread is one of those workers, so
    // the many small ops of a training step hand their work to a worker that
    // is still awake rather than waking one from outside every time (18 against
    // 21 ms per iteration at the seed preset, see the README's "Speed").
    let result = match rayon::ThreadPoolBuilder::new().build() {
        Ok(pool) => pool.install(|| run(cli)),
        Err(e) => Err(format!("cannot start the thread pool: {e}")),
    };
    let code = match result {
        Ok(code) => code,
        Err(message) => {
            eprintln!("error: {message}");
            2
        }
    };
    leave(code)
}

/// Ends the process with `code`. Once a wgpu driver has been loaded (the
/// default backend's probe loads them all), a normal exit runs the drivers'
/// teardown, and Mesa's software Vulkan driver (lavapipe, through LLVM)
/// sometimes corrupts the heap there: `double free or corruption (out)` after
/// `check --backend wgpu` had printed its last line, once in CI and once at
/// the end of `generate` (llvm-project#105547, mesa#11797 describe the same
/// abort). Every file this program writes is complete and closed by now, so it
/// flushes its output and leaves without that teardown.
fn leave(code: u8) -> ExitCode {
    #[cfg(unix)]
    if rnnlm::backend::gpu_driver_loaded() {
        use std::io::Write;
        let _ = std::io::stdout().flush();
        let _ = std::io::stderr().flush();
        // SAFETY: _exit ends the process at once; nothing runs after it.
        unsafe { libc::_exit(i32::from(code)) }
    }
    ExitCode::from(code)
}

fn run(cli: Cli) -> Result<u8, String> {
    match cli.command {
        Command::Train(args) => run_train(args),
        Command::Reference(args) => run_reference(args),
        Command::Eval(args) => run_eval(args),
        Command::Generate(args) => run_generate(args),
        Command::Bench(args) => run_bench(args),
        Command::Export(args) => run_export(args),
        Command::Check(args) => run_check(args),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn train_flag_defaults_are_the_notebooks_configuration() {
        let Command::Train(args) = Cli::parse_from(["rnnlm", "train"]).command else { panic!("train parses") };
        assert_eq!(args.hyper.config(10_000, args.clip), TrainConfig::notebook(10_000));
        assert!(!args.resume);
        assert_eq!(args.artifacts, PathBuf::from("artifacts/simple-rnnlm"));
    }
}
