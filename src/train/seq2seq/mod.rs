//! Training an encoder-decoder (chapter 7) with burn-train's Learner, with
//! the book's `Trainer.fit` semantics: a fresh permutation of the training
//! rows every epoch (NumPy's legacy stream, so a run replays against the
//! book's), `N // batch` batches, the book's Adam, global-norm clipping;
//! after every epoch the test split is answered greedily and scored.
//!
//! - `config`: what defines a run;
//! - `step`: the Learner's steps, the epoch order and the run state;
//! - here: [`train_seq2seq`] (a new run, a resumed one, one from `--init`)
//!   and [`load_trained_seq2seq`].

use std::path::Path;
use std::sync::{Arc, Mutex};

use burn::data::dataloader::DataLoaderBuilder;
use burn::data::dataset::InMemDataset;
use burn::optim::ModuleOptimizer;
use burn::tensor::Device;
use burn::train::metric::LossMetric;
use burn::train::{Learner, SupervisedTraining};

mod config;
mod step;

pub use config::{Seq2seqTrainConfig, read_seq2seq_config};
pub use step::{PairBatch, QuestionBatch, SharedRun, TrainingSeq2seq};

use super::Progress;
use super::progress::{EpochLinesOnly, MetricsCsvOnly};
use crate::atomic::{remove_if_present, write_atomic};
use crate::backend::Backend;
use crate::cpu::measure;
use crate::data::sequence::SequenceData;
use crate::error::{Error, Result, RunError};
use crate::metric::AnswerAccuracy;
use crate::model::Seq2seq;
use crate::optim::BookAdam;
use crate::run::checkpoint::{self, AtomicCheckpointer};
use crate::run::layouts::read_layouts;
use crate::run::{AnswerMetrics, RunDir, metrics, plot, retention};
use crate::weights::Seq2seqWeights;
use step::{EpochOrder, Retention, RunState, TestBatcher, TrainBatcher, load_checkpoint, load_order};

/// Trains (or resumes) an encoder-decoder run in `dir` on `data` (already
/// reversed when `cfg.reverse`) and returns every epoch's metrics.
pub fn train_seq2seq(
    cfg: &Seq2seqTrainConfig,
    backend: Backend,
    data: &SequenceData,
    dir: &Path,
    resume: bool,
    progress: Progress,
) -> Result<Vec<AnswerMetrics>> {
    cfg.validate(data)?;
    let run_dir = RunDir::new(dir);
    let device = backend.device()?;
    let init = match (&cfg.init, resume) {
        (Some(path), false) => Some(read_init(Path::new(path), cfg, data).map_err(|e| Error::Init(Box::new(e)))?),
        _ => None,
    };
    let _lock = run_dir.lock()?;
    let (start_epoch, rows) =
        if resume { prepare_resume(cfg, &run_dir, data)? } else { prepare_new(cfg, &run_dir, data, init.as_ref())? };
    if resume {
        // The kernels the run's products ran with: the same digits as if it had not stopped.
        measure::adopt(&device, &read_layouts(&run_dir.layouts())?);
    }
    if start_epoch >= cfg.epochs {
        return Err(RunError::Finished { dir: dir.to_path_buf(), epochs: start_epoch }.into());
    }
    let init = match init {
        Some(w) => w,
        None => Seq2seqWeights::read(&run_dir.init_weights(), cfg.architecture())?,
    };
    let ad_device = device.clone().autodiff();
    let model = cfg.model().init_with(&init, &ad_device)?;
    if start_epoch > 0 {
        // Burn panics on a checkpoint it cannot decode; decode it here first.
        load_checkpoint(&run_dir, start_epoch, &model)?;
        checkpoint::check_records_readable(&run_dir, start_epoch)?;
        let saved = load_order(&run_dir.state(start_epoch))?;
        if saved.seed != cfg.seed || saved.permutations_drawn != start_epoch {
            return Err(RunError::Damaged(format!(
                "{} says the order drew {} permutations from seed {}; epoch {start_epoch} of seed {} needs {start_epoch}",
                run_dir.state(start_epoch).display(),
                saved.permutations_drawn,
                saved.seed,
                cfg.seed
            ))
            .into());
        }
    }

    let train_iters = data.train.len() / cfg.batch_size;
    let order = Arc::new(Mutex::new(EpochOrder::new(cfg.seed, start_epoch, data.train.clone(), cfg.batch_size)));
    let test = TestBatcher { test: data.test.clone(), batch_size: cfg.eval_batch_size };
    let run = SharedRun(Arc::new(Mutex::new(RunState {
        train_iters,
        valid_iters: test.batches(),
        rows,
        title: cfg.title(),
        print_lines: progress == Progress::EpochLines,
        ..RunState::new(run_dir.clone(), start_epoch + 1, order.clone())
    })));
    let model = TrainingSeq2seq { model, run: run.clone(), max_grad: cfg.max_grad };
    let learner = Learner::new(model, ModuleOptimizer::from(BookAdam::default()), cfg.lr);

    // One batch per item, in order, on the main thread: the epoch's order is
    // drawn at its first batch.
    let loader_train = DataLoaderBuilder::new(TrainBatcher(order))
        .batch_size(1)
        .set_device(ad_device.clone())
        .build(InMemDataset::new((0..train_iters).collect()));
    let loader_valid = DataLoaderBuilder::new(test.clone())
        .batch_size(1)
        .set_device(device.clone())
        .build(InMemDataset::new((0..test.batches()).collect()));

    let checkpoints = run_dir.checkpoints();
    let checkpoint_failure = Arc::new(Mutex::new(None));
    let ckpt = |name| AtomicCheckpointer { dir: checkpoints.clone(), name, failure: checkpoint_failure.clone() };
    let mut training = SupervisedTraining::new(dir, loader_train, loader_valid)
        .metric_train_numeric(LossMetric::new())
        .metric_valid_numeric(AnswerAccuracy::new())
        .with_application_logger(None)
        .with_metric_logger(MetricsCsvOnly)
        .with_custom_checkpointers(ckpt("model"), ckpt("optim"), ckpt("scheduler"))
        .with_checkpointing_strategy(Retention { run: run.clone(), keep: cfg.keep_checkpoints })
        .num_epochs(cfg.epochs);
    if start_epoch > 0 {
        training = training.checkpoint(start_epoch);
    }
    if progress == Progress::EpochLines {
        training = training.renderer(Box::new(EpochLinesOnly));
    }
    run.0.lock().expect("run state").interrupter = Some(training.interrupter());

    let result = training.launch(learner);
    let mut state = run.0.lock().expect("run state");
    if let Some(failure) = state.failure.take() {
        return Err(failure);
    }
    if let Some(failure) = checkpoint_failure.lock().expect("checkpoint failure").take() {
        return Err(failure);
    }
    if let Some(error) = result.error {
        return Err(Error::Training(error.to_string()));
    }
    let rows = state.rows.clone();
    retention::prune_checkpoints_keeping(&run_dir, |c| retention::best_accuracy(&rows, c), cfg.keep_checkpoints)?;
    Ok(rows)
}

/// The weights of `--init`, checked against the model, and its vocabulary
/// (a `vocab.json` beside it, as `seq2seq export` writes) against the data's.
fn read_init(path: &Path, cfg: &Seq2seqTrainConfig, data: &SequenceData) -> Result<Seq2seqWeights> {
    let w = Seq2seqWeights::read(path, cfg.architecture())?;
    if let Some(chars) = crate::run::vocab::vocab_beside(path)? {
        let ours: Vec<String> = data.chars.iter().map(|c| c.to_string()).collect();
        if chars != ours {
            return Err(Error::Invalid(format!(
                "the vocabulary beside {} is not {}'s ({} characters there, {} here)",
                path.display(),
                cfg.data.file_name(),
                chars.len(),
                ours.len()
            )));
        }
    }
    Ok(w)
}

fn prepare_new(
    cfg: &Seq2seqTrainConfig,
    run_dir: &RunDir,
    data: &SequenceData,
    init: Option<&Seq2seqWeights>,
) -> Result<(usize, Vec<AnswerMetrics>)> {
    if run_dir.config().exists() || run_dir.checkpoints().exists() {
        return Err(RunError::Exists { dir: run_dir.root.clone() }.into());
    }
    // The starting weights, whether from --init or the seed: the run folder
    // alone reproduces the run, and the book's code can replay it from them
    // (`bench/seq2seq_book.py`).
    let source = cfg.init.clone().unwrap_or_else(|| format!("book initialisation, seed {}", cfg.seed));
    init.cloned()
        .unwrap_or_else(|| cfg.initial_weights())
        .write(&run_dir.init_weights(), &[("source".to_string(), source)])?;
    write_chars(run_dir, data)?;
    // Last: a folder with config.json holds a run that --resume continues.
    let json = serde_json::to_vec_pretty(cfg).expect("config serializes");
    write_atomic(&run_dir.config(), &json).map_err(|e| Error::write(run_dir.config(), e))?;
    Ok((0, Vec::new()))
}

/// `vocab.json`: the characters in id order.
fn write_chars(run_dir: &RunDir, data: &SequenceData) -> Result<()> {
    let chars: Vec<String> = data.chars.iter().map(|c| c.to_string()).collect();
    crate::run::vocab::write_vocab(&run_dir.vocab(), &chars)
}

/// The epoch a resumed run goes on from (the last complete one that has a
/// row in `metrics.csv`), and the rows before it; what the folder holds of
/// later epochs is deleted, as for the language models.
fn prepare_resume(
    cfg: &Seq2seqTrainConfig,
    run_dir: &RunDir,
    data: &SequenceData,
) -> Result<(usize, Vec<AnswerMetrics>)> {
    if !run_dir.config().exists() {
        return Err(RunError::NothingToResume { dir: run_dir.root.clone() }.into());
    }
    let saved = read_seq2seq_config(run_dir)?;
    if let Some(difference) = cfg.difference(&saved) {
        return Err(RunError::Differs { dir: run_dir.root.clone(), difference }.into());
    }
    let path = run_dir.metrics();
    let mut rows = if path.exists() { metrics::read_answer_metrics(&path)? } else { Vec::new() };
    let complete = run_dir.complete_epochs();
    let epoch = complete.into_iter().rev().find(|&e| rows.iter().any(|r| r.epoch == e)).unwrap_or(0);
    run_dir.remove_epochs_after(epoch).map_err(|e| Error::write(run_dir.checkpoints(), e))?;
    if rows.iter().any(|r| r.epoch > epoch) || !run_dir.accuracy_plot().exists() {
        rows.retain(|r| r.epoch <= epoch);
        if rows.is_empty() {
            for path in [run_dir.metrics(), run_dir.accuracy_plot()] {
                remove_if_present(&path).map_err(|e| Error::write(&path, e))?;
            }
        } else {
            metrics::write_answer_metrics(&path, &rows).map_err(|e| Error::write(&path, e))?;
            plot::plot_accuracy(&run_dir.accuracy_plot(), &cfg.title(), &rows)?;
        }
    }
    if !run_dir.vocab().exists() {
        write_chars(run_dir, data)?;
    }
    Ok((epoch, rows))
}

/// A trained encoder-decoder from a run folder: the weights saved at the end
/// of `epoch`, or by default of the epoch with the best test accuracy.
pub fn load_trained_seq2seq(
    dir: &Path,
    epoch: Option<usize>,
    device: &Device,
) -> Result<(Seq2seqTrainConfig, Seq2seq, usize)> {
    let run_dir = RunDir::new(dir);
    let cfg = read_seq2seq_config(&run_dir)?;
    let complete = run_dir.complete_epochs();
    let epoch = match epoch {
        Some(e) if run_dir.model_checkpoint(e).exists() => e,
        Some(epoch) => {
            return Err(RunError::NoSuchEpoch { checkpoints: run_dir.checkpoints(), epoch, kept: complete }.into());
        }
        None => {
            let last = *complete.last().ok_or_else(|| {
                RunError::Damaged(format!("{} has no complete checkpoint", run_dir.checkpoints().display()))
            })?;
            let rows =
                if run_dir.metrics().exists() { metrics::read_answer_metrics(&run_dir.metrics())? } else { Vec::new() };
            retention::best_accuracy(&rows, &complete).unwrap_or(last)
        }
    };
    let model = cfg.model().init_with(&cfg.initial_weights(), device)?;
    let model = load_checkpoint(&run_dir, epoch, &model)?;
    Ok((cfg, model, epoch))
}
