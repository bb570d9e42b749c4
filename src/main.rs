//! The `rnnlm` command line.

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::Parser;

use rnnlm::backend;
use rnnlm::data::batches::StreamBatches;
use rnnlm::reference;
use rnnlm::run::EpochMetrics;
use rnnlm::train::{self, ClipMode, OptimizerKind, Progress, TrainConfig};
use rnnlm::{check, infer};

mod cli;
mod explain;
use cli::bench;
use cli::{
    BenchArgs, CheckArgs, Checked, Cli, Command, CorpusArgs, EvalArgs, ExportArgs, GenerateArgs, ReferenceArgs,
    TrainArgs,
};
use explain::Failure;

// Training allocates and frees buffers of megabytes at every step (scores,
// their gradients, the dense embedding gradient). glibc's malloc hands such
// buffers back to the kernel and faults fresh zeroed pages in on the next
// step; mimalloc keeps them for reuse. Measured with `rnnlm bench`: see the
// docs/speed.md.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// mimalloc's `mi_option_purge_delay` (v3's `include/mimalloc.h`).
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// mimalloc still hands memory freed for a while back to the kernel (purges
/// it), and the next step's buffers of megabytes fault in fresh zeroed pages:
/// at the `big` preset the kernel spent an eighth of an LSTM iteration
/// clearing pages. A training process reuses the same sizes every step, so
/// it never purges (docs/speed.md has the measurement).
fn keep_freed_memory() {
    // SAFETY: called first in main, before any other thread exists
    // (mi_option_set is not thread safe).
    unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, -1) }
}

/// On a machine with no display (no `XDG_RUNTIME_DIR` folder, no `DISPLAY`), Mesa's
/// Vulkan device-selection layer, which the GPU probe loads, asks Wayland for
/// the default GPU, and libwayland prints `error: XDG_RUNTIME_DIR is invalid
/// or not set in the environment.` twice before every command's own output.
/// There is no display to ask, so the layer has nothing to select by: it is
/// switched off there (its own `NODEVICE_SELECT`), unless the user chose a
/// device through it. Nothing is hidden: a driver's own errors still print.
fn quiet_headless_vulkan() {
    let set = |name| std::env::var_os(name).is_some();
    let runtime_dir = std::env::var_os("XDG_RUNTIME_DIR").is_some_and(|d| std::path::Path::new(&d).is_dir());
    let display = runtime_dir || set("DISPLAY") || set("WAYLAND_DISPLAY");
    let chosen = set("NODEVICE_SELECT") || set("MESA_VK_DEVICE_SELECT") || set("DRI_PRIME");
    if !display && !chosen {
        // SAFETY: called first in main, before any other thread exists.
        unsafe { std::env::set_var("NODEVICE_SELECT", "1") }
    }
}

fn run_train(args: TrainArgs) -> Result<u8, Failure> {
    let (backend, why) = backend::choose(args.backend);
    println!("{why}");
    let data = args.data.load(args.vocab.vocab_size)?;
    let mut cfg = args.hyper.config(data.vocab.len(), args.clip, data.source.is_some());
    cfg.corpus = data.source.clone();
    cfg.vocab_limit = args.vocab.vocab_size;
    cfg.init = args.init.as_ref().map(|p| p.display().to_string());
    cfg.keep_checkpoints = args.keep_checkpoints;
    // Sizes that cannot train are refused before the first line says it trains.
    cfg.validate()?;
    let progress = if std::io::stdout().is_terminal() { Progress::Dashboard } else { Progress::EpochLines };
    let artifacts = args.run_folder(cfg.model);
    println!(
        "training {} ({}) on {backend}: {}, corpus {} tokens, vocabulary {}, {} epochs, run folder {}",
        cfg.model.book_name(),
        cfg.model,
        cfg.corpus_name(),
        data.training_corpus(cfg.corpus_size)?.len(),
        data.vocab.len(),
        cfg.epochs,
        artifacts.display()
    );
    if data.source.is_some() || cfg.vocab_limit.is_some() {
        println!("{}", data.unknown_line());
    }
    let rows = train::train(&cfg, backend, &data, &artifacts, args.resume, progress).map_err(|e| match e {
        rnnlm::Error::Write { .. } => {
            let began = rnnlm::run::RunDir::new(&artifacts).config().exists();
            let next = if began { "continue the run with --resume" } else { "run the command again" };
            Failure(format!("{}; once it can be written, {next}", explain::explain(&e)))
        }
        e => e.into(),
    })?;
    if progress == Progress::Dashboard {
        for row in &rows {
            println!(
                "{}",
                EpochMetrics::from_losses(row.epoch, row.train_loss, row.valid_loss, row.seconds).summary_line()
            );
        }
    }
    Ok(0)
}

fn run_reference(args: ReferenceArgs) -> Result<u8, Failure> {
    let data = args.data.load(args.vocab.vocab_size)?;
    let cfg = args.hyper.config(data.vocab.len(), ClipMode::Global, data.source.is_some());
    cfg.validate()?;
    let corpus = data.training_corpus(cfg.corpus_size)?;
    let train = StreamBatches::train(corpus, cfg.batch_size, cfg.time_size).map_err(rnnlm::Error::from)?;
    let valid = StreamBatches::eval(&data.valid, cfg.eval_batch_size, cfg.eval_time_size)
        .map_err(|source| rnnlm::Error::Batches { validation: true, source })?;
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
        println!("{}", EpochMetrics::from_losses(row.epoch, row.train_loss, row.valid_loss, row.seconds).summary_line())
    })?;
    Ok(0)
}

/// A model's ids index its own vocabulary: one of another size is refused.
fn same_size(model: &rnnlm::model::Rnnlm, vocab: &rnnlm::data::vocab::Vocab) -> Result<(), Failure> {
    let vocab_size = model.architecture().vocab_size;
    match vocab.len() == vocab_size {
        true => Ok(()),
        false => Err(Failure(format!("the model has V={vocab_size}, its vocabulary {} words", vocab.len()))),
    }
}

fn run_eval(args: EvalArgs) -> Result<u8, Failure> {
    let (backend, _) = backend::choose(args.backend);
    let device = backend.device()?;
    let cli::Loaded { model, what, run } = args.source.load(args.checkpoint, &device)?;
    let vocab = args.source.vocab(&args.data)?;
    same_size(&model, &vocab)?;
    let (scored, label) = args.scored(&vocab, run.as_ref())?;
    let batches = StreamBatches::eval(&scored.ids, args.batch_size, args.time_size).map_err(rnnlm::Error::from)?;
    println!(
        "evaluating {what} on {} ({} tokens, {} read as <unk>; {} batches of {} x {}, backend {backend})",
        scored.source,
        scored.ids.len(),
        scored.unknown,
        batches.iters(),
        args.batch_size,
        args.time_size
    );
    let loss = infer::eval_loss(&model, &batches, &device);
    println!("{label} loss: {loss:.6}");
    println!("{label} perplexity: {:.4}", loss.exp());
    Ok(0)
}

fn run_generate(args: GenerateArgs) -> Result<u8, Failure> {
    let (backend, _) = backend::choose(args.backend);
    let vocab = args.source.vocab(&args.data)?;
    let start = vocab.id(&args.start).ok_or_else(|| {
        Failure(format!("the start word {:?} is not in the vocabulary of {} words", args.start, vocab.len()))
    })?;
    let device = backend.device()?;
    let loaded = args.source.load(args.checkpoint, &device)?;
    same_size(&loaded.model, &vocab)?;
    // The book skips <unk> and PTB's number token N; a word "N" of one's own corpus is a word.
    // A weights file is taken to be of PTB: only a run folder says what its corpus was.
    let own_corpus = loaded.run.as_ref().is_some_and(|cfg| cfg.corpus.is_some());
    let skipped: &[&str] = match (args.no_skip, own_corpus) {
        (true, _) => &[],
        (false, true) => &["<unk>"],
        (false, false) => &["<unk>", "N"],
    };
    let skip = skipped.iter().filter_map(|w| vocab.id(w)).collect();
    let opts = infer::SampleOptions { words: args.words, temperature: args.temperature, seed: args.seed, skip };
    let mut ids = vec![start];
    ids.extend(infer::generate(&loaded.model, start, &opts, &device)?);
    println!("{}", infer::format_text(&vocab, &ids));
    Ok(0)
}

fn run_export(args: ExportArgs) -> Result<u8, Failure> {
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

fn run_bench(args: BenchArgs) -> Result<u8, Failure> {
    let (backend, _) = backend::choose(args.backend);
    crate::cli::bench::check_iters(args.iters)?;
    let device = backend.device()?;
    let (n, t, d, h, v) = args.preset.sizes();
    println!(
        "bench {:?} {} on {backend}, {}: N {n}, T {t}, D {d}, H {h}, V {v}; 5 warm-up + {} timed iterations",
        args.preset, args.model, args.optimizer, args.iters
    );
    let result = bench::run(&device, args.model, args.preset, args.optimizer, 5, args.iters);
    let mut sorted = result.iteration_ms.clone();
    sorted.sort_by(f64::total_cmp);
    println!(
        "ms per iteration: median {:.2}, min {:.2}, max {:.2}",
        result.median_ms(),
        sorted[0],
        sorted[sorted.len() - 1]
    );
    let [grads, clip, update] = result.phase_ms;
    println!("median ms per phase: forward+backward {grads:.2}, clip {clip:.2}, {} {update:.2}", args.optimizer);
    println!("the iteration's products here, GFLOP/s (* the layout training gives it):");
    for p in bench::product_rates(&device, args.model, args.preset) {
        let mark = if p.chosen { "*" } else { " " };
        println!("  {mark} {:<42} {:<22} {:>7.1}", p.product, p.layout, p.gflops);
    }
    println!("layouts chosen by measurement in this run, µs per product (its fastest call + its copy's share):");
    for c in rnnlm::cpu::measure::choices() {
        let costs: Vec<String> = (c.candidates.iter())
            .map(|(name, secs)| format!("{name} {:.1}{}", secs * 1e6, if *name == c.chosen { "*" } else { "" }))
            .collect();
        let costs = match costs.is_empty() {
            true => format!("{} (not timed)", c.chosen),
            false => costs.join(", "),
        };
        println!("  {:<42} {costs}", c.product);
    }
    if args.learner {
        let data = args.data.load(None)?;
        let cfg = TrainConfig { epochs: 1, corpus: data.source.clone(), ..TrainConfig::notebook(data.vocab.len()) };
        let iters = StreamBatches::train(data.training_corpus(cfg.corpus_size)?, cfg.batch_size, cfg.time_size)
            .map_err(rnnlm::Error::from)?
            .iters();
        // A throw-away run folder, removed whether the epoch succeeds or not.
        let dir = std::env::temp_dir().join(format!("rnnlm-bench-{}", std::process::id()));
        let rows = train::train(&cfg, backend, &data, &dir, false, Progress::EpochLines);
        let _ = std::fs::remove_dir_all(&dir);
        let secs = rows?[0].seconds;
        println!("learner epoch (seed preset, {iters} iterations + validation): {secs:.2} s");
    }
    println!("tokens/s: {:.0}", result.tokens_per_second());
    Ok(0)
}

fn run_corpus(args: CorpusArgs) -> Result<u8, Failure> {
    let started = std::time::Instant::now();
    let data = args.data.load(args.vocab.vocab_size)?;
    let seconds = started.elapsed().as_secs_f64();
    match &data.source {
        Some(record) => {
            println!("corpus {}", record.dir);
            for f in &record.files {
                println!("  {}: {} bytes, SHA-256 {}", f.name, f.bytes, f.sha256);
            }
        }
        None => println!("Penn Treebank"),
    }
    println!("{}", data.unknown_line());
    println!("read in {seconds:.2} s");
    Ok(0)
}

fn run_check(args: CheckArgs) -> Result<u8, Failure> {
    let (backend, _) = backend::choose(args.backend);
    let device = backend.device()?;
    println!("checking the Burn model on {backend} against the manual-backward reference");
    let mut opts =
        check::CheckOptions { seed_sizes: !args.small_only, steps: args.steps, seed: args.seed, ..Default::default() };
    if !args.model.is_empty() {
        opts.models = args.model.iter().filter_map(|m| if let Checked::Lm(k) = m { Some(*k) } else { None }).collect();
        opts.encoder_decoders =
            args.model.iter().filter_map(|m| if let Checked::Seq2seq(k) = m { Some(*k) } else { None }).collect();
    }
    let report = check::run(&device, check::tolerance_for(backend), &opts);
    print!("{}", check::format_report(&report));
    Ok(if report.passed() { 0 } else { 1 })
}

fn main() -> ExitCode {
    keep_freed_memory();
    quiet_headless_vulkan();
    let cli = Cli::parse();
    // RNNLM_KERNELS=fixed: nothing timed, every product in its first layout.
    rnnlm::cpu::measure::set_fixed(std::env::var("RNNLM_KERNELS").is_ok_and(|v| v == "fixed"));
    if let Err(message) = fix_few_row_lanes() {
        eprintln!("error: {message}");
        return leave(2);
    }
    // The CPU backends split each tensor op over rayon's threads. Run from
    // inside the pool, the command's own thread is one of those workers, so
    // the many small ops of a training step hand their work to a worker that
    // is still awake rather than waking one from outside every time (18 against
    // 21 ms per iteration at the seed preset, see the docs/speed.md).
    let result = match rayon::ThreadPoolBuilder::new().build() {
        Ok(pool) => pool.install(|| run(cli)),
        Err(e) => Err(Failure(format!("cannot start the thread pool: {e}"))),
    };
    let code = match result {
        Ok(code) => code,
        Err(Failure(message)) => {
            eprintln!("error: {message}");
            2
        }
    };
    leave(code)
}

/// `RNNLM_FEW_ROWS=8` (or `16`) fixes the few-rows kernel's width for the
/// process instead of timing both: for comparing them, and for the tests
/// that hold each width to the same bound.
fn fix_few_row_lanes() -> Result<(), String> {
    let lanes = match std::env::var("RNNLM_FEW_ROWS").as_deref() {
        Err(_) => return Ok(()),
        Ok("8") => 8,
        Ok("16") => 16,
        Ok(v) => return Err(format!("RNNLM_FEW_ROWS={v}: expected 8 or 16")),
    };
    // Before any product this fails only where the CPU lacks that width,
    // which then runs the one it has, as without the variable.
    rnnlm::cpu::fix_few_row_lanes(lanes);
    Ok(())
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

fn run(cli: Cli) -> Result<u8, Failure> {
    match cli.command {
        Command::Train(args) => run_train(args),
        Command::Reference(args) => run_reference(args),
        Command::Eval(args) => run_eval(args),
        Command::Generate(args) => run_generate(args),
        Command::Bench(args) => run_bench(args),
        Command::Export(args) => run_export(args),
        Command::Corpus(args) => run_corpus(args),
        Command::Seq2seq(args) => cli::seq2seq::run(args),
        Command::Check(args) => run_check(args),
    }
}
