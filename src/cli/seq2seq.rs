//! `rnnlm seq2seq`: chapter 7's encoder-decoders on the book's addition data
//! set: train one, score it on the test questions, ask it questions, export
//! its weights by the book's names.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use clap::{Args, Subcommand};

use super::choice;
use crate::explain::Failure;
use rnnlm::arch::Seq2seqKind;
use rnnlm::backend::{self, Backend};
use rnnlm::data::sequence::{self, Ids, SequenceData, SequenceSet};
use rnnlm::infer::{count_correct, greedy_answers};
use rnnlm::run::RunDir;
use rnnlm::train::Progress;
use rnnlm::train::seq2seq::{Seq2seqTrainConfig, load_trained_seq2seq, train_seq2seq};

#[derive(Args, Debug)]
pub(crate) struct Seq2seqArgs {
    #[command(subcommand)]
    pub(crate) command: Seq2seqCommand,
}

#[derive(Subcommand, Debug)]
pub(crate) enum Seq2seqCommand {
    /// Train an encoder-decoder with burn-train's Learner, as `train_seq2seq.py` does (defaults: its Seq2seq on addition.txt, 25 epochs).
    Train(TrainArgs),
    /// Answer the test questions greedily and print the accuracy, with the first ten shown as the book shows them.
    Eval(EvalArgs),
    /// Answer questions typed here ("16+75").
    Answer(AnswerArgs),
    /// Write a trained run's weights as .safetensors or .npz, by the book's parameter names (encoder.embed.W, ...), with vocab.json beside.
    Export(ExportArgs),
    /// Draw several runs' test accuracy per epoch in one picture (as the book compares seq2seq, reversed input and Peeky).
    Plot(PlotArgs),
    /// Time training iterations at train_seq2seq.py's sizes (batches of 128, D 16, H 128) and print tokens per second.
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
    /// Epochs to train (in total, with --resume).
    #[arg(long, default_value_t = 25)]
    epochs: usize,
    /// Questions per training batch.
    #[arg(long, default_value_t = 128)]
    batch_size: usize,
    /// D: size of a character vector.
    #[arg(long, default_value_t = 16)]
    wordvec_size: usize,
    /// H: size of the hidden state.
    #[arg(long, default_value_t = 128)]
    hidden_size: usize,
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
    /// Folder for this run's config, metrics.csv, accuracy.png and checkpoints [default: artifacts/ and the model: seq2seq or peeky-seq2seq, with -reversed].
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
pub(crate) struct EvalArgs {
    /// The run folder written by `seq2seq train`.
    #[arg(long)]
    artifacts: PathBuf,
    /// The epoch whose checkpoint to use [default: the most accurate, which the run folder always keeps].
    #[arg(long, visible_alias = "epoch")]
    checkpoint: Option<usize>,
    /// Questions answered at once.
    #[arg(long, default_value_t = 1000)]
    batch_size: usize,
    /// Backend to run on [default: wgpu on a hardware GPU, else the fastest CPU backend, flex].
    #[arg(long, value_parser = choice::<Backend>())]
    backend: Option<Backend>,
}

#[derive(Args, Debug)]
pub(crate) struct AnswerArgs {
    /// The run folder written by `seq2seq train`.
    #[arg(long)]
    artifacts: PathBuf,
    /// The questions, as the data set writes them ("16+75"); shorter ones are padded with spaces.
    #[arg(required = true)]
    questions: Vec<String>,
    /// The epoch whose checkpoint to use [default: the most accurate].
    #[arg(long, visible_alias = "epoch")]
    checkpoint: Option<usize>,
    /// Backend to run on [default: wgpu on a hardware GPU, else the fastest CPU backend, flex].
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
        Seq2seqCommand::Eval(a) => run_eval(a),
        Seq2seqCommand::Answer(a) => run_answer(a),
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
    let cfg = Seq2seqTrainConfig {
        reverse: a.reverse,
        wordvec_size: a.wordvec_size,
        hidden_size: a.hidden_size,
        batch_size: a.batch_size,
        epochs: a.epochs,
        lr: a.lr,
        max_grad: a.max_grad,
        seed: a.seed,
        eval_batch_size: a.eval_batch_size,
        init: a.init.as_ref().map(|p| p.display().to_string()),
        keep_checkpoints: a.keep_checkpoints,
        ..Seq2seqTrainConfig::book(a.model, &data, a.data)
    };
    let artifacts = a.artifacts.unwrap_or_else(|| {
        let reversed = if a.reverse { "-reversed" } else { "" };
        PathBuf::from("artifacts").join(format!("{}{reversed}", a.model))
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

fn run_eval(a: EvalArgs) -> Result<u8, Failure> {
    let (backend, _) = backend::choose(a.backend);
    let device = backend.device()?;
    let (cfg, model, epoch) = load_trained_seq2seq(&a.artifacts, a.checkpoint, &device)?;
    let data = load(cfg.data, cfg.reverse)?;
    same_data(&cfg, &data, &a.artifacts)?;
    println!("evaluating {} from epoch {epoch} of {} on {backend}", cfg.title(), a.artifacts.display());
    let test = &data.test;
    let steps = test.t.cols - 1;
    let guess = greedy_answers(&model, &test.x, test.t.row(0)[0], steps, a.batch_size, &device);
    let colors = std::io::stdout().is_terminal();
    for r in 0..test.len().min(10) {
        show(&data.chars, &test.x, &test.t, &guess, r, cfg.reverse, colors);
    }
    let correct = count_correct(&guess, &test.t);
    println!("test accuracy: {:.3}% ({correct} of {})", 100.0 * correct as f64 / test.len() as f64, test.len());
    Ok(0)
}

/// Question `r` as `eval_seq2seq` prints it: Q, T, then ☑ or ☒ with the guess.
fn show(chars: &[char], x: &Ids, t: &Ids, guess: &Ids, r: usize, reverse: bool, colors: bool) {
    let mut question: Vec<u32> = x.row(r).to_vec();
    if reverse {
        question.reverse();
    }
    let correct = sequence::text(chars, &t.row(r)[1..]);
    let answer = sequence::text(chars, guess.row(r));
    let (mark, color) = if answer == correct { ('☑', "\x1b[92m") } else { ('☒', "\x1b[91m") };
    let mark = if colors { format!("{color}{mark}\x1b[0m") } else { mark.to_string() };
    println!("Q {}\nT {correct}\n{mark} {answer}\n---", sequence::text(chars, &question));
}

/// The run's data set must be the one it trained on: the same vocabulary and sizes.
fn same_data(cfg: &Seq2seqTrainConfig, data: &SequenceData, dir: &Path) -> Result<(), Failure> {
    let chars = rnnlm::run::vocab::read_vocab(&RunDir::new(dir).vocab())?;
    let ours: Vec<String> = data.chars.iter().map(|c| c.to_string()).collect();
    if chars != ours || cfg.vocab_size != data.chars.len() {
        return Err(Failure(format!(
            "{} trained on another vocabulary than {}'s",
            dir.display(),
            cfg.data.file_name()
        )));
    }
    Ok(())
}

fn run_answer(a: AnswerArgs) -> Result<u8, Failure> {
    let (backend, _) = backend::choose(a.backend);
    let device = backend.device()?;
    let (cfg, model, _) = load_trained_seq2seq(&a.artifacts, a.checkpoint, &device)?;
    let chars: Vec<char> = rnnlm::run::vocab::read_vocab(&RunDir::new(&a.artifacts).vocab())?
        .iter()
        .map(|c| c.chars().next().unwrap_or(' '))
        .collect();
    let start = chars.iter().position(|&c| c == '_').ok_or("the run's vocabulary has no start mark '_'")? as u32;
    let mut data = Vec::new();
    for q in &a.questions {
        data.extend(sequence::encode_question(&chars, q, cfg.question_size, cfg.reverse)?);
    }
    let x = Ids { rows: a.questions.len(), cols: cfg.question_size, data };
    let guess = greedy_answers(&model, &x, start, cfg.answer_size - 1, 1000, &device);
    for (r, q) in a.questions.iter().enumerate() {
        println!("{q} {}", sequence::text(&chars, guess.row(r)).trim_end());
    }
    Ok(0)
}

fn run_export(a: ExportArgs) -> Result<u8, Failure> {
    let device = Backend::Flex.device()?;
    let (cfg, model, epoch) = load_trained_seq2seq(&a.artifacts, a.epoch, &device)?;
    let weights = model.weights();
    weights.write(&a.out, &[("model".to_string(), cfg.architecture().model_name().to_string())])?;
    let vocab = a.out.with_file_name("vocab.json");
    std::fs::copy(RunDir::new(&a.artifacts).vocab(), &vocab)
        .map_err(|e| Failure(format!("cannot write {}: {e}", vocab.display())))?;
    println!("exported epoch {epoch} of {} ({})", a.artifacts.display(), cfg.architecture());
    for path in [&a.out, &vocab] {
        println!("wrote {}", path.display());
    }
    Ok(0)
}

fn run_bench(a: BenchArgs) -> Result<u8, Failure> {
    if a.iters == 0 {
        return Err("--iters must be at least 1".into());
    }
    let (backend, _) = backend::choose(a.backend);
    let device = backend.device()?;
    println!(
        "bench {} on {backend}: N 128, Tq 7, Ta 5, D 16, H 128, V 13; 5 warm-up + {} timed iterations",
        a.model, a.iters
    );
    let result = rnnlm::bench::run_seq2seq(&device, a.model, 5, a.iters);
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
