//! Training with burn-train's Learner, reproducing the book's loop:
//! truncated BPTT with the hidden state carried from batch to batch, the
//! book's Adam or SGD, global-norm gradient clipping, perplexity per epoch.
//!
//! - `config`: what defines a run (`TrainConfig`, the book's presets);
//! - `step`: the Learner's steps and the run state they share, with the
//!   order of events in one epoch;
//! - `schedule`: the book's `lr /= 4`;
//! - `progress`: the dashboard or one line per epoch;
//! - here: [`train`] (a new run, a resumed one, one from `--init`) and
//!   [`load_trained`], a trained epoch back out of a run folder;
//! - [`seq2seq`]: the same for chapter 7's encoder-decoders, with the book's
//!   `Trainer.fit` (a fresh order of the rows every epoch) and the test
//!   split's answers scored after each.

use std::path::Path;
use std::sync::{Arc, Mutex};

use burn::data::dataloader::DataLoaderBuilder;
use burn::grad_clipping::GradientClippingConfig;
use burn::optim::ModuleOptimizer;
use burn::tensor::Device;
use burn::train::metric::LossMetric;
use burn::train::{Learner, SupervisedTraining};

mod config;
mod progress;
mod schedule;
pub mod seq2seq;
mod step;

pub use config::{ClipMode, OptimizerKind, TrainConfig, TrainPreset, read_config};
pub use progress::Progress;
pub use schedule::decayed_lr;
pub use step::{SharedRun, TrainingModel};

use crate::atomic::{remove_if_present, write_atomic};
use crate::backend::Backend;
use crate::cpu::measure;
use crate::data::batches::{StreamBatches, TbpttBatcher};
use crate::data::corpus::Corpus;
use crate::error::{Error, Result, RunError};
use crate::metric::LossPerplexity;
use crate::model::Rnnlm;
use crate::optim::BookAdam;
use crate::run::checkpoint::{self, AtomicCheckpointer};
use crate::run::layouts::read_layouts;
use crate::run::{EpochMetrics, RunDir, metrics, plot, retention, vocab};
use crate::weights::{RnnlmWeights, files};
use progress::{EpochLinesOnly, MetricsCsvOnly};
use schedule::BookDecay;
use step::{Retention, RunState, load_checkpoint};

/// Trains (or resumes) a run in `dir` and returns every epoch's metrics.
pub fn train(
    cfg: &TrainConfig,
    backend: Backend,
    data: &Corpus,
    dir: &Path,
    resume: bool,
    progress: Progress,
) -> Result<Vec<EpochMetrics>> {
    cfg.validate()?;
    if cfg.vocab_size != data.vocab.len() {
        return Err(Error::Invalid(format!(
            "the configuration has V={}, the data {}",
            cfg.vocab_size,
            data.vocab.len()
        )));
    }
    if cfg.corpus != data.source {
        return Err(Error::Invalid("the configuration names another corpus than the data's".into()));
    }
    let corpus = data.training_corpus(cfg.corpus_size)?;
    let train_batches = StreamBatches::train(corpus, cfg.batch_size, cfg.time_size)?;
    let valid_batches = StreamBatches::eval(&data.valid, cfg.eval_batch_size, cfg.eval_time_size)
        .map_err(|source| Error::Batches { validation: true, source })?;
    let run_dir = RunDir::new(dir);
    // Before anything is written: a missing GPU must not leave a half-made run folder.
    let device = backend.device()?;

    // Read and checked before anything is written.
    let init = match (&cfg.init, resume) {
        (Some(path), false) => Some(read_init(Path::new(path), cfg, data)?),
        _ => None,
    };
    // One writer per run folder, from here until training returns.
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
    // A resumed run none of whose epochs completed starts again from its own
    // first weights: its seed's, or those it kept from --init.
    let init = match init {
        None if resume && start_epoch == 0 && run_dir.init_weights().exists() => {
            Some(files::read_weights(&run_dir.init_weights(), cfg.model().architecture())?)
        }
        init => init,
    };

    let ad_device = device.clone().autodiff();
    let model = match &init {
        Some(w) => cfg.model().init_with(w, &ad_device)?,
        None => cfg.model().init_with(&cfg.initial_weights(), &ad_device)?,
    };
    let train_h = match start_epoch {
        0 => None,
        e => Some(checkpoint::load_state(&run_dir.state(e), &cfg.model().architecture(), cfg.batch_size, &ad_device)?),
    };
    if start_epoch > 0 {
        // Burn panics on a checkpoint it cannot decode; decode it here first.
        load_checkpoint(&run_dir, start_epoch, &model)?;
        checkpoint::check_records_readable(&run_dir, start_epoch)?;
    }

    let run = SharedRun(Arc::new(Mutex::new(RunState {
        train_h,
        epoch: start_epoch + 1,
        train_iters: train_batches.iters(),
        valid_iters: valid_batches.iters(),
        rows,
        plot_title: cfg.title(),
        print_lines: progress == Progress::EpochLines,
        ..RunState::new(run_dir.clone())
    })));
    let clip = (cfg.clip == ClipMode::Global).then_some(cfg.max_grad);
    let model = TrainingModel { model, run: run.clone(), clip };

    let mut optim = match cfg.optimizer {
        OptimizerKind::Adam => ModuleOptimizer::from(BookAdam::default()),
        OptimizerKind::Sgd => burn::optim::SgdConfig::new().init(),
    };
    if cfg.clip == ClipMode::PerTensor {
        optim = optim.with_grad_clipping(GradientClippingConfig::Norm(cfg.max_grad as f32).init());
    }
    let learner = match cfg.lr_decay {
        true => Learner::new(model, optim, BookDecay { base: cfg.lr, run: run.clone() }),
        false => Learner::new(model, optim, cfg.lr),
    };

    // One batch per item, in order, on the main thread: the carried state
    // needs the notebook's order (worker threads would deliver out of order).
    let loader_train =
        DataLoaderBuilder::new(TbpttBatcher).batch_size(1).set_device(ad_device.clone()).build(train_batches);
    let loader_valid =
        DataLoaderBuilder::new(TbpttBatcher).batch_size(1).set_device(device.clone()).build(valid_batches);

    let checkpoints = run_dir.checkpoints();
    let checkpoint_failure = Arc::new(Mutex::new(None));
    let ckpt = |name| AtomicCheckpointer { dir: checkpoints.clone(), name, failure: checkpoint_failure.clone() };
    let mut training = SupervisedTraining::new(dir, loader_train, loader_valid)
        .metric_train_numeric(LossMetric::new())
        .metric_valid_numeric(LossMetric::new())
        .metric_train_numeric(LossPerplexity::new())
        .metric_valid_numeric(LossPerplexity::new())
        // burn-train's file logger writes a line per iteration to experiment.log;
        // errors reach the user through `train`'s result instead.
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
    // Burn's checkpoint threads have finished with the last epoch.
    retention::prune_checkpoints(&run_dir, &state.rows, cfg.keep_checkpoints)?;
    Ok(state.rows.clone())
}

/// The weights of `--init`: the file's tensors checked against this run's
/// model, and its vocabulary (a `vocab.json` beside it, as `export` writes)
/// against the data's, since the ids must mean the same words.
fn read_init(path: &Path, cfg: &TrainConfig, data: &Corpus) -> Result<RnnlmWeights> {
    let init = |e| Error::Init(Box::new(e));
    let w = files::read_weights(path, cfg.model().architecture()).map_err(init)?;
    if let Some(words) = vocab::vocab_beside(path).map_err(init)?
        && let Some(i) = (0..words.len().max(data.vocab.len())).find(|&i| words.get(i) != data.vocab.id_to_word.get(i))
    {
        let word = |w: Option<&String>| w.map_or("nothing".to_string(), |w| format!("{w:?}"));
        return Err(init(Error::Invalid(format!(
            "the vocabulary beside {} differs from the data's at id {i} ({} there, {} here)",
            path.display(),
            word(words.get(i)),
            word(data.vocab.id_to_word.get(i))
        ))));
    }
    Ok(w)
}

fn prepare_new(
    cfg: &TrainConfig,
    run_dir: &RunDir,
    data: &Corpus,
    init: Option<&RnnlmWeights>,
) -> Result<(usize, Vec<EpochMetrics>)> {
    if run_dir.config().exists() || run_dir.checkpoints().exists() {
        return Err(RunError::Exists { dir: run_dir.root.clone() }.into());
    }
    if let Some(w) = init {
        // The run folder alone reproduces the run, wherever --init pointed.
        let source = cfg.init.clone().unwrap_or_default();
        files::write(&run_dir.init_weights(), w, &[("source".to_string(), source)])?;
    }
    vocab::write_vocab(&run_dir.vocab(), &data.vocab.id_to_word)?;
    // Last: a folder with config.json holds a run that --resume continues.
    let json = serde_json::to_vec_pretty(cfg).expect("config serializes");
    write_atomic(&run_dir.config(), &json).map_err(|e| Error::write(run_dir.config(), e))?;
    Ok((0, Vec::new()))
}

/// The epoch a resumed run goes on from, and the rows before it. That is the
/// last epoch whose checkpoint is complete and whose row `metrics.csv` has
/// (0 when there is none: the run starts again); what the folder holds of
/// later epochs (a crash, a failed write) is deleted, `metrics.csv` and the
/// plot rewritten without their rows, so the run continues as if they had
/// never begun.
fn prepare_resume(cfg: &TrainConfig, run_dir: &RunDir, data: &Corpus) -> Result<(usize, Vec<EpochMetrics>)> {
    if !run_dir.config().exists() {
        return Err(RunError::NothingToResume { dir: run_dir.root.clone() }.into());
    }
    let saved = read_config(run_dir)?;
    if let Some(difference) = cfg.corpus_difference(&saved) {
        return Err(RunError::OtherCorpus { dir: run_dir.root.clone(), difference }.into());
    }
    if let Some(difference) = cfg.difference(&saved) {
        return Err(RunError::Differs { dir: run_dir.root.clone(), difference }.into());
    }
    let mut rows = if run_dir.metrics().exists() { metrics::read_metrics(&run_dir.metrics())? } else { Vec::new() };
    let complete = run_dir.complete_epochs();
    let epoch = complete.into_iter().rev().find(|&e| rows.iter().any(|r| r.epoch == e)).unwrap_or(0);
    run_dir.remove_epochs_after(epoch).map_err(|e| Error::write(run_dir.checkpoints(), e))?;
    if rows.iter().any(|r| r.epoch > epoch) || !run_dir.plot().exists() {
        rows.retain(|r| r.epoch <= epoch);
        if rows.is_empty() {
            for path in [run_dir.metrics(), run_dir.plot()] {
                remove_if_present(&path).map_err(|e| Error::write(&path, e))?;
            }
        } else {
            metrics::write_metrics(&run_dir.metrics(), &rows).map_err(|e| Error::write(run_dir.metrics(), e))?;
            plot::plot_perplexity(&run_dir.plot(), &cfg.title(), &rows)?;
        }
    }
    if !run_dir.vocab().exists() {
        // the write that failed when the run began
        vocab::write_vocab(&run_dir.vocab(), &data.vocab.id_to_word)?;
    }
    Ok((epoch, rows))
}

/// A trained model from a run folder: the weights saved at the end of
/// `epoch`, or by default of the epoch with the best validation perplexity.
/// Returns the run's configuration, the model (on `device`) and the epoch.
pub fn load_trained(dir: &Path, epoch: Option<usize>, device: &Device) -> Result<(TrainConfig, Rnnlm, usize)> {
    let run_dir = RunDir::new(dir);
    let cfg = read_config(&run_dir)?;
    let epoch = match epoch {
        Some(e) if run_dir.model_checkpoint(e).exists() => e,
        Some(epoch) => {
            let kept = run_dir.complete_epochs();
            return Err(RunError::NoSuchEpoch { checkpoints: run_dir.checkpoints(), epoch, kept }.into());
        }
        None => run_dir.best_epoch()?,
    };
    // Fresh weights of the right shapes, then the saved values over them.
    let model = cfg.model().init_with(&cfg.initial_weights(), device)?;
    let model = load_checkpoint(&run_dir, epoch, &model)?;
    Ok((cfg, model, epoch))
}
