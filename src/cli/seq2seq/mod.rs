//! `rnnlm seq2seq`: the encoder-decoders of chapters 7 and 8 on the book's
//! addition and date data sets: train one, score it on the test questions
//! (or the book's trained `AttentionSeq2seq.pkl`), ask it questions, draw
//! where its attention looks, export its weights by the book's names.

mod trained;

use std::io::IsTerminal;
use std::path::PathBuf;

use clap::{Args, Subcommand};

use super::choice;
use crate::explain::Failure;
use rnnlm::arch::Seq2seqKind;
use rnnlm::backend::{self, Backend};
use rnnlm::data::sequence::{SequenceData, SequenceSet};
use rnnlm::run::RunDir;
use rnnlm::train::Progress;
use rnnlm::train::seq2seq::{Seq2seqTrainConfig, load_trained_seq2seq, train_seq2seq};
use trained::{AnswerArgs, AttentionArgs, EvalArgs};

#[derive(Args, Debug)]
pub(crate) struct Seq2seqArgs {
    #[command(subcommand)]
    pub(crate) command: Seq2seqCommand,
}

#[derive(Subcommand, Debug)]
pub(crate) enum Seq2seqCommand {
    /// Train an encoder-decoder with burn-train's Learner, as `train_seq2seq.py` and `ch08/train.py` do (defaults: train_seq2seq.py's Seq2seq on addition.txt, 25 epochs).
    Train(TrainArgs),
    /// Answer the test questions greedily and print the accuracy, with the first ten shown as the book shows them.
    Eval(EvalArgs),
    /// Answer questions typed here ("16+75", "september 27, 1994").
    Answer(AnswerArgs),
    /// Answer one question and draw where the attention looked while answering, as visualize_attention.py does: a PNG heatmap, the question's characters across, the answer's down.
    Attention(AttentionArgs),
    /// Write a trained run's weights as .safetensors or .npz, by the book's parameter names (encoder.embed.W, ...), with vocab.json beside.
    Export(ExportArgs),
    /// Draw several runs' test accuracy per epoch in one picture (as the book compares seq2seq, reversed input and Peeky).
    Plot(PlotArgs),
    /// Time training iterations at the book's sizes (train_seq2seq.py's: batches of 128, D 16, H 128; with attention ch08/train.py's on dates: H 256) and print tokens per second.
    Bench(BenchArgs),
}

#[derive(Args, Debug)]
pub(crate) struct PlotArgs {
    /// Run folders written by `seq2seq train`; each line is labelled with its folder's name.
    #[arg(required = true)]
    runs: Vec<PathBuf>,
    /// The PNG to write.
    #[arg(long)]
    out: PathBuf,
    /// The picture's title.
    #[arg(long, default_value = "test accuracy per epoch")]
    title: String,
}

#[derive(Args, Debug)]
pub(crate) struct BenchArgs {
    /// The model.
    #[arg(long, value_parser = choice::<Seq2seqKind>(), default_value_t = Seq2seqKind::Seq2seq)]
    model: Seq2seqKind,
    /// Timed iterations (after 5 untimed).
    #[arg(long, default_value_t = 100)]
    iters: usize,
    /// Backend to run on [default: wgpu on a hardware GPU, else the fastest CPU backend, flex].
    #[arg(long, value_parser = choice::<Backend>())]
    backend: Option<Backend>,
}

#[derive(Args, Debug)]
pub(crate) struct TrainArgs {
    /// The model.
    #[arg(long, value_parser = choice::<Seq2seqKind>(), default_value_t = Seq2seqKind::Seq2seq)]
    model: Seq2seqKind,
    /// The data set (the book's dataset/ folder: $BOOK_DIR, else downloaded once to data/book/dataset).
    #[arg(long, value_parser = choice::<SequenceSet>(), default_value_t = SequenceSet::Addition)]
    data: SequenceSet,
    /// Read the questions back to front (train_seq2seq.py's is_reverse).
    #[arg(long)]
    reverse: bool,
    /// Epochs to train (in total, with --resume) [default: 25 on addition, as train_seq2seq.py; 10 on date, as ch08/train.py].
    #[arg(long)]
    epochs: Option<usize>,
    /// Questions per training batch.
    #[arg(long, default_value_t = 128)]
    batch_size: usize,
    /// D: size of a character vector.
    #[arg(long, default_value_t = 16)]
    wordvec_size: usize,
    /// H: size of the hidden state [default: 128 on addition, as train_seq2seq.py; 256 on date, as ch08/train.py].
    #[arg(long)]
    hidden_size: Option<usize>,
    /// The book's Adam's learning rate.
    #[arg(long, default_value_t = 0.001)]
    lr: f64,
    /// Clip the gradients to this global norm (the book's clip_grads).
    #[arg(long, default_value_t = 5.0)]
    max_grad: f64,
    /// numpy.random.seed(SEED) before the first epoch: epoch k trains in the order of the k-th numpy.random.permutation, as the book's Trainer.fit after the same seed. Also seeds the initial weights.
    #[arg(long, default_value_t = 0)]
    seed: u32,
    /// Test questions answered at once after each epoch.
    #[arg(long, default_value_t = 1000)]
    eval_batch_size: usize,
    /// Folder for this run's config, metrics.csv, accuracy.png and checkpoints [default: artifacts/ and the model (seq2seq, peeky-seq2seq, ...), with -date on dates and -reversed].
    #[arg(long)]
    artifacts: Option<PathBuf>,
    /// Continue the run in --artifacts from its last complete checkpoint.
    #[arg(long)]
    resume: bool,
    /// Start from the weights in this file (.safetensors or .npz, named as `seq2seq export` writes them) instead of the book's random initialisation. A copy is kept in the run folder as init.safetensors.
    #[arg(long, conflicts_with = "resume")]
    init: Option<PathBuf>,
    /// Checkpoints to keep: the last N epochs' and the most accurate epoch's (which eval, answer and export use by default), or all.
    #[arg(long, default_value_t = rnnlm::run::KeepCheckpoints::default())]
    keep_checkpoints: rnnlm::run::KeepCheckpoints,
    /// Backend to train on [default: wgpu on a hardware GPU, else the fastest CPU backend, flex].
    #[arg(long, value_parser = choice::<Backend>())]
    backend: Option<Backend>,
}

#[derive(Args, Debug)]
pub(crate) struct ExportArgs {
    /// The run folder written by `seq2seq train`.
    #[arg(long)]
    artifacts: PathBuf,
    /// The epoch whose checkpoint to export [default: the most accurate].
    #[arg(long)]
    epoch: Option<usize>,
    /// The file to write: .safetensors or .npz (float32, the book's names: encoder.embed.W, ..., decoder.affine.b); vocab.json is written beside it.
    #[arg(long)]
    out: PathBuf,
}

pub(crate) fn run(args: Seq2seqArgs) -> Result<u8, Failure> {
    match args.command {
        Seq2seqCommand::Train(a) => run_train(a),
        Seq2seqCommand::Eval(a) => trained::run_eval(a),
        Seq2seqCommand::Answer(a) => trained::run_answer(a),
        Seq2seqCommand::Attention(a) => trained::run_attention(a),
        Seq2seqCommand::Export(a) => run_export(a),
        Seq2seqCommand::Plot(a) => run_plot(a),
        Seq2seqCommand::Bench(a) => run_bench(a),
    }
}

/// The data set as the run reads it: questions reversed with `reverse`.
fn load(set: SequenceSet, reverse: bool) -> Result<SequenceData, Failure> {
    let mut data = set.load()?;
    if reverse {
        (data.train, data.test) = (data.train.reversed(), data.test.reversed());
    }
    Ok(data)
}

fn run_train(a: TrainArgs) -> Result<u8, Failure> {
    let (backend, why) = backend::choose(a.backend);
    println!("{why}");
    let data = load(a.data, a.reverse)?;
    let book = Seq2seqTrainConfig::book(a.model, &data, a.data);
    let cfg = Seq2seqTrainConfig {
        reverse: a.reverse,
        wordvec_size: a.wordvec_size,
        hidden_size: a.hidden_size.unwrap_or(book.hidden_size),
        batch_size: a.batch_size,
        epochs: a.epochs.unwrap_or(book.epochs),
        lr: a.lr,
        max_grad: a.max_grad,
        seed: a.seed,
        eval_batch_size: a.eval_batch_size,
        init: a.init.as_ref().map(|p| p.display().to_string()),
        keep_checkpoints: a.keep_checkpoints,
        ..book
    };
    let artifacts = a.artifacts.unwrap_or_else(|| {
        let data = if a.data == SequenceSet::Date { "-date" } else { "" };
        let reversed = if a.reverse { "-reversed" } else { "" };
        PathBuf::from("artifacts").join(format!("{}{data}{reversed}", a.model))
    });
    println!(
        "training {} on {backend}: {} training and {} test questions, {} characters, {} epochs, run folder {}",
        cfg.title(),
        data.train.len(),
        data.test.len(),
        data.chars.len(),
        cfg.epochs,
        artifacts.display()
    );
    let progress = if std::io::stdout().is_terminal() { Progress::Dashboard } else { Progress::EpochLines };
    let rows = train_seq2seq(&cfg, backend, &data, &artifacts, a.resume, progress).map_err(|e| match e {
        rnnlm::Error::Write { .. } => {
            let began = RunDir::new(&artifacts).config().exists();
            let next = if began { "continue the run with --resume" } else { "run the command again" };
            Failure(format!("{}; once it can be written, {next}", crate::explain::explain(&e)))
        }
        e => e.into(),
    })?;
    if progress == Progress::Dashboard {
        for row in &rows {
            println!("{}", row.summary_line());
        }
    }
    Ok(0)
}

fn run_export(a: ExportArgs) -> Result<u8, Failure> {
    // An export beside a run's own files would replace its vocab.json (as the
    // language models' export refuses too).
    let beside = rnnlm::atomic::folder_of(&a.out);
    if RunDir::new(beside).checkpoints().exists() {
        return Err(Failure(format!(
            "{} is a run folder, whose vocab.json an export would replace: export elsewhere",
            beside.display()
        )));
    }
    let device = Backend::Flex.device()?;
    let (cfg, model, epoch) = load_trained_seq2seq(&a.artifacts, a.epoch, &device)?;
    let source = RunDir::new(&a.artifacts).vocab();
    let chars = std::fs::read(&source).map_err(|e| rnnlm::Error::read(&source, e))?;
    let weights = model.weights();
    // Everything read first; each file written whole or not at all, the weights last.
    let vocab = beside.join("vocab.json");
    rnnlm::atomic::write_atomic(&vocab, &chars).map_err(|e| rnnlm::Error::write(&vocab, e))?;
    weights.write(&a.out, &[("model".to_string(), cfg.architecture().model_name().to_string())])?;
    println!("exported epoch {epoch} of {} ({})", a.artifacts.display(), cfg.architecture());
    for path in [&a.out, &vocab] {
        println!("wrote {}", path.display());
    }
    Ok(0)
}

fn run_bench(a: BenchArgs) -> Result<u8, Failure> {
    crate::cli::bench::check_iters(a.iters)?;
    let (backend, _) = backend::choose(a.backend);
    let device = backend.device()?;
    let (n, tq, ta, v, h) = crate::cli::bench::seq2seq_bench_sizes(a.model);
    println!(
        "bench {} on {backend}: N {n}, Tq {tq}, Ta {ta}, D 16, H {h}, V {v}; 5 warm-up + {} timed iterations",
        a.model, a.iters
    );
    let result = crate::cli::bench::run_seq2seq(&device, a.model, 5, a.iters);
    let [grads, clip, update] = result.phase_ms;
    println!("ms per iteration: median {:.2}", result.median_ms());
    println!("median ms per phase: forward+backward {grads:.2}, clip {clip:.2}, adam {update:.2}");
    println!("tokens/s: {:.0}", result.tokens_per_second());
    Ok(0)
}

fn run_plot(a: PlotArgs) -> Result<u8, Failure> {
    let mut runs = Vec::new();
    for dir in &a.runs {
        let rows = rnnlm::run::metrics::read_answer_metrics(&RunDir::new(dir).metrics())?;
        let name = dir.file_name().map_or(dir.display().to_string(), |n| n.to_string_lossy().into_owned());
        runs.push((name, rows));
    }
    let named: Vec<(&str, &[rnnlm::run::AnswerMetrics])> =
        runs.iter().map(|(n, r)| (n.as_str(), r.as_slice())).collect();
    rnnlm::run::plot::plot_accuracies(&a.out, &a.title, &named)?;
    println!("wrote {}", a.out.display());
    Ok(0)
}
