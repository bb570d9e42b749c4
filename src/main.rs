//! The `rnnlm` command line.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

use rnnlm::backend::{self, Backend};
use rnnlm::{bench, check, infer};
use rnnlm::data::batches::StreamBatches;
use rnnlm::data::ptb::{self, Ptb};
use rnnlm::reference;
use rnnlm::train::{self, ClipMode, Display, TrainConfig};
use rnnlm::weights::RnnlmWeights;

// Training allocates and frees buffers of megabytes at every step (scores,
// their gradients, the dense embedding gradient). glibc's malloc hands such
// buffers back to the kernel and faults fresh zeroed pages in on the next
// step; mimalloc keeps them for reuse. Measured with `rnnlm bench`: see the
// README's "Speed".
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The recurrent language model of "Deep Learning from Scratch 2", chapter 5, on Burn.
#[derive(Parser, Debug)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Train SimpleRnnlm on Penn Treebank with burn-train's Learner (defaults: the notebook's run).
    Train(TrainArgs),
    /// Run the notebook's training loop on the manual-backward reference.
    Reference(ReferenceArgs),
    /// Perplexity of a trained model on a PTB split (the book's eval_perplexity).
    Eval(EvalArgs),
    /// Sample text from a trained model, one word at a time.
    Generate(GenerateArgs),
    /// Time full training iterations and print tokens per second.
    Bench(BenchArgs),
    /// Compare the Burn model with the manual-backward reference, and the
    /// reference with finite differences; exit 1 if any tolerance fails.
    Check(CheckArgs),
}

#[derive(Args, Debug)]
struct EvalArgs {
    /// The run folder written by `train`.
    #[arg(long)]
    artifacts: PathBuf,
    /// Which split to score.
    #[arg(long, value_enum, default_value_t = ptb::Split::Valid)]
    split: ptb::Split,
    /// The epoch whose checkpoint to use [default: the last complete one].
    #[arg(long)]
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
    /// The run folder written by `train`.
    #[arg(long)]
    artifacts: PathBuf,
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
    /// The epoch whose checkpoint to use [default: the last complete one].
    #[arg(long)]
    checkpoint: Option<usize>,
    /// Backend to run on [default: wgpu on a hardware GPU, else the fastest CPU backend, flex].
    #[arg(long, value_enum)]
    backend: Option<Backend>,
}

#[derive(Args, Debug)]
struct BenchArgs {
    /// Backend to time [default: wgpu on a hardware GPU, else the fastest CPU backend, flex].
    #[arg(long, value_enum)]
    backend: Option<Backend>,
    /// Model and batch sizes.
    #[arg(long, value_enum, default_value_t = bench::Preset::Seed)]
    preset: bench::Preset,
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

/// The notebook's hyperparameters.
#[derive(Args, Debug)]
struct HyperParams {
    /// Rows per batch (N).
    #[arg(long, default_value_t = 10)]
    batch_size: usize,
    /// Time steps per batch (T), the truncated-BPTT length.
    #[arg(long, default_value_t = 5)]
    time_size: usize,
    /// Size of a word vector (D).
    #[arg(long, default_value_t = 100)]
    wordvec_size: usize,
    /// Size of the hidden state (H).
    #[arg(long, default_value_t = 100)]
    hidden_size: usize,
    /// Adam's learning rate.
    #[arg(long, default_value_t = 0.001)]
    lr: f64,
    /// Gradients are clipped to this norm.
    #[arg(long, default_value_t = 5.0)]
    max_grad: f64,
    /// Train on the first N tokens of ptb.train.txt (0: all 929,589); the vocabulary is always the full one.
    #[arg(long, default_value_t = 10_000)]
    corpus_size: usize,
    /// Epochs to train (the notebook set 1000 and printed 17).
    #[arg(long, default_value_t = 20)]
    epochs: usize,
    /// Seed of the weight initialisation.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Validation batch rows (the book's eval_perplexity uses 10).
    #[arg(long, default_value_t = 10)]
    eval_batch_size: usize,
    /// Validation time steps (the book's eval_perplexity uses 35).
    #[arg(long, default_value_t = 35)]
    eval_time_size: usize,
}

impl HyperParams {
    fn config(&self, vocab_size: usize, clip: ClipMode) -> TrainConfig {
        TrainConfig {
            vocab_size,
            wordvec_size: self.wordvec_size,
            hidden_size: self.hidden_size,
            batch_size: self.batch_size,
            time_size: self.time_size,
            lr: self.lr,
            max_grad: self.max_grad,
            clip,
            corpus_size: self.corpus_size,
            epochs: self.epochs,
            seed: self.seed,
            eval_batch_size: self.eval_batch_size,
            eval_time_size: self.eval_time_size,
        }
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
}

fn run_train(args: TrainArgs) -> Result<ExitCode, String> {
    let (backend, why) = backend::choose(args.backend);
    println!("{why}");
    let data = args.data.load()?;
    let cfg = args.hyper.config(data.vocab.len(), args.clip);
    let display = if std::io::stdout().is_terminal() { Display::Dashboard } else { Display::EpochLines };
    println!(
        "training SimpleRnnlm on {backend}: corpus {} tokens, vocabulary {}, {} epochs, run folder {}",
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
    Ok(ExitCode::SUCCESS)
}

fn run_reference(args: ReferenceArgs) -> Result<ExitCode, String> {
    let data = args.data.load()?;
    let cfg = args.hyper.config(data.vocab.len(), ClipMode::Global);
    cfg.validate()?;
    let corpus = data.training_corpus(cfg.corpus_size)?;
    let train = StreamBatches::train(corpus, cfg.batch_size, cfg.time_size).map_err(|e| e.to_string())?;
    let valid = StreamBatches::eval(&data.valid, cfg.eval_batch_size, cfg.eval_time_size).map_err(|e| format!("validation: {e}"))?;
    let weights = RnnlmWeights::book_init(cfg.vocab_size, cfg.wordvec_size, cfg.hidden_size, cfg.seed);
    let mut model = reference::SimpleRnnlm::<f32>::from_weights(&weights)?;
    println!("training the manual-backward reference: corpus {} tokens, vocabulary {}, {} epochs", corpus.len(), cfg.vocab_size, cfg.epochs);
    reference::train::train(&mut model, &train, &valid, cfg.lr as f32, cfg.max_grad as f32, cfg.epochs, |row| {
        println!("{}", row.summary_line())
    })?;
    Ok(ExitCode::SUCCESS)
}

fn run_eval(args: EvalArgs) -> Result<ExitCode, String> {
    let (backend, _) = backend::choose(args.backend);
    let device = backend.device()?;
    let (cfg, model, epoch) = train::load_trained(&args.artifacts, args.checkpoint, &device)?;
    let data = args.data.load()?;
    if data.vocab.len() != cfg.vocab_size {
        return Err(format!("the run has V={}, the data {}", cfg.vocab_size, data.vocab.len()));
    }
    let batches = StreamBatches::eval(data.split(args.split), args.batch_size, args.time_size).map_err(|e| e.to_string())?;
    println!(
        "evaluating epoch {epoch} of {} on {} ({} batches of {} x {}, backend {backend})",
        args.artifacts.display(), args.split, batches.iters(), args.batch_size, args.time_size
    );
    let loss = infer::eval_loss(&model, &batches, &device);
    println!("{} loss: {loss:.6}", args.split);
    println!("{} perplexity: {:.4}", args.split, loss.exp());
    Ok(ExitCode::SUCCESS)
}

fn run_generate(args: GenerateArgs) -> Result<ExitCode, String> {
    let (backend, _) = backend::choose(args.backend);
    let vocab_path = rnnlm::artifacts::RunDir::new(&args.artifacts).vocab();
    let vocab_json = std::fs::read(&vocab_path).map_err(|e| format!("cannot read {}: {e}", vocab_path.display()))?;
    let words: Vec<String> = serde_json::from_slice(&vocab_json).map_err(|e| format!("{} is not a vocabulary: {e}", vocab_path.display()))?;
    let vocab = ptb::Vocab::from_id_to_word(words);
    let start = vocab.id(&args.start).ok_or_else(|| format!("the start word {:?} is not in the vocabulary of {} words", args.start, vocab.len()))?;
    let device = backend.device()?;
    let (_, model, _) = train::load_trained(&args.artifacts, args.checkpoint, &device)?;
    let skip = if args.no_skip { Vec::new() } else { ["<unk>", "N"].iter().filter_map(|w| vocab.id(w)).collect() };
    let opts = infer::SampleOptions { words: args.words, temperature: args.temperature, seed: args.seed, skip };
    let mut ids = vec![start];
    ids.extend(infer::generate(&model, start, &opts, &device)?);
    println!("{}", infer::format_text(&vocab, &ids));
    Ok(ExitCode::SUCCESS)
}

fn run_bench(args: BenchArgs) -> Result<ExitCode, String> {
    let (backend, _) = backend::choose(args.backend);
    if args.iters == 0 {
        return Err("--iters must be at least 1".into());
    }
    let device = backend.device()?;
    let (n, t, d, h, v) = args.preset.sizes();
    println!("bench {:?} on {backend}: N {n}, T {t}, D {d}, H {h}, V {v}; 5 warm-up + {} timed iterations", args.preset, args.iters);
    let result = bench::run(&device, args.preset, 5, args.iters);
    let mut sorted = result.iteration_ms.clone();
    sorted.sort_by(f64::total_cmp);
    println!("ms per iteration: median {:.2}, min {:.2}, max {:.2}", result.median_ms(), sorted[0], sorted[sorted.len() - 1]);
    let [fwd, bwd, clip, adam] = result.phase_ms;
    println!("median ms per phase: forward {fwd:.2}, backward {bwd:.2}, clip {clip:.2}, adam {adam:.2}");
    if args.learner {
        let data = args.data.load()?;
        let cfg = TrainConfig { epochs: 1, ..TrainConfig::notebook(data.vocab.len()) };
        let iters = StreamBatches::train(data.training_corpus(cfg.corpus_size)?, cfg.batch_size, cfg.time_size).map_err(|e| e.to_string())?.iters();
        // A throw-away run folder, removed whether the epoch succeeds or not.
        let dir = std::env::temp_dir().join(format!("rnnlm-bench-{}", std::process::id()));
        let rows = train::train(&cfg, backend, &data, &dir, false, Display::EpochLines);
        let _ = std::fs::remove_dir_all(&dir);
        let secs = rows?[0].seconds;
        println!("learner epoch (seed preset, {iters} iterations + validation): {secs:.2} s");
    }
    println!("tokens/s: {:.0}", result.tokens_per_second());
    Ok(ExitCode::SUCCESS)
}

fn run_check(args: CheckArgs) -> Result<ExitCode, String> {
    let (backend, _) = backend::choose(args.backend);
    let device = backend.device()?;
    println!("checking the Burn model on {backend} against the manual-backward reference");
    let opts = check::CheckOptions { seed_sizes: !args.small_only, steps: args.steps, seed: args.seed };
    let report = check::run(&device, check::tolerance_for(backend), opts);
    print!("{}", check::format_report(&report));
    Ok(if report.passed() { ExitCode::SUCCESS } else { ExitCode::FAILURE })
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
    match result {
        Ok(code) => code,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::from(2)
        }
    }
}

fn run(cli: Cli) -> Result<ExitCode, String> {
    match cli.command {
        Command::Train(args) => run_train(args),
        Command::Reference(args) => run_reference(args),
        Command::Eval(args) => run_eval(args),
        Command::Generate(args) => run_generate(args),
        Command::Bench(args) => run_bench(args),
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
