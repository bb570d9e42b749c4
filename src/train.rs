//! Training with burn-train's Learner, reproducing the notebook's loop:
//! truncated BPTT with the hidden state carried from batch to batch, the
//! book's Adam, global-norm gradient clipping, perplexity per epoch.
//!
//! The model itself ([`crate::model::Rnnlm`]) holds no state. Everything
//! the Learner's steps need to remember between calls (the carried hidden
//! states, the epoch's running loss) lives in [`RunState`], shared by the
//! training model and the validation copy the Learner makes of it.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use burn::data::dataloader::DataLoaderBuilder;
use burn::grad_clipping::GradientClippingConfig;
use burn::lr_scheduler::module_lr_scheduler::ModuleLearningRate;
use burn::module::Module;
use burn::optim::{GradientsParams, ModuleOptimizer};
use burn::tensor::{Bytes, Device, Tensor, TensorData};
use burn::train::checkpoint::{
    Checkpoint, Checkpointer, CheckpointerError, CheckpointingAction, CheckpointingStrategy,
};
use burn::train::logger::{EvaluationProgressLogger, TrainingProgressLogger};
use burn::train::metric::store::EventStoreClient;
use burn::train::metric::{LossMetric, MetricDefinition};
use burn::train::renderer::{
    EvaluationName, MetricState, MetricsRenderer, MetricsRendererEvaluation, MetricsRendererTraining,
};
use burn::train::{InferenceStep, Interrupter, Learner, SupervisedTraining, TrainOutput, TrainStep};
use serde::{Deserialize, Serialize};

use crate::artifacts::{self, EpochMetrics, KeepCheckpoints, RunDir};
use crate::atomic::write_atomic;
use crate::backend::Backend;
use crate::data::batches::{StreamBatches, TbpttBatch, TbpttBatcher};
use crate::data::ptb::Ptb;
use crate::metric::{LmOutput, LossPerplexity};
use crate::model::{ModelKind, RecurrentState, Rnnlm, RnnlmConfig};
use crate::optim::{BookAdam, clip_grads_global};
use crate::weights::{RnnlmWeights, files};

/// How gradients are clipped before the update.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum ClipMode {
    /// One norm over all gradients together, as the book's `clip_grads`.
    Global,
    /// Each tensor by its own norm (Burn's `GradientClippingConfig::Norm`).
    PerTensor,
}

/// The update rule.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum OptimizerKind {
    /// The book's Adam (chapter 5).
    #[default]
    Adam,
    /// The book's SGD, `param -= lr·grad` (chapter 6).
    Sgd,
}

fn rnn() -> ModelKind {
    ModelKind::Rnn
}

/// The book's training runs (`--preset`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum TrainPreset {
    /// Chapter 5's notebook: SimpleRnnlm, Adam, the first 10,000 words.
    Ch5,
    /// `ch06/train_rnnlm.py`: Rnnlm (LSTM 100/100), SGD lr 20, clip 0.25,
    /// batches of 20 x 35, the whole corpus, 4 epochs.
    Ch6Rnnlm,
    /// `ch06/train_better_rnnlm.py`: BetterRnnlm (650/650, dropout 0.5, tied),
    /// SGD lr 20 divided by 4 whenever validation does not improve, 40 epochs.
    Ch6Better,
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
    pub vocab_size: usize,
    pub wordvec_size: usize,
    pub hidden_size: usize,
    pub batch_size: usize,
    pub time_size: usize,
    /// Dropout ratio (BetterRnnlm only).
    #[serde(default)]
    pub dropout: f64,
    #[serde(default)]
    pub optimizer: OptimizerKind,
    pub lr: f64,
    /// Divide the learning rate by 4 after an epoch whose validation
    /// perplexity is not the best so far (the book's `train_better_rnnlm.py`).
    #[serde(default)]
    pub lr_decay: bool,
    pub max_grad: f64,
    pub clip: ClipMode,
    /// Tokens of ptb.train.txt used for training (0: all).
    pub corpus_size: usize,
    pub epochs: usize,
    pub seed: u64,
    /// Validation batches: the book's `eval_perplexity` uses 10 x 35.
    pub eval_batch_size: usize,
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
    pub fn validate(&self) -> Result<(), String> {
        let positive = [
            ("--batch-size", self.batch_size),
            ("--time-size", self.time_size),
            ("--wordvec-size", self.wordvec_size),
            ("--hidden-size", self.hidden_size),
            ("--epochs", self.epochs),
            ("--eval-batch-size", self.eval_batch_size),
            ("--eval-time-size", self.eval_time_size),
        ];
        for (flag, value) in positive {
            if value == 0 {
                return Err(format!("{flag} must be at least 1"));
            }
        }
        if !(self.lr.is_finite() && self.lr > 0.0) {
            return Err(format!("--lr must be a positive number, not {}", self.lr));
        }
        if !(self.max_grad.is_finite() && self.max_grad > 0.0) {
            return Err(format!("--max-grad must be a positive number, not {}", self.max_grad));
        }
        if !(0.0..1.0).contains(&self.dropout) {
            return Err(format!("--dropout must be at least 0 and below 1, not {}", self.dropout));
        }
        if self.dropout > 0.0 && self.model != ModelKind::BetterLstm {
            return Err(format!("--dropout is for --model better-lstm; {} has no dropout layers", self.model));
        }
        self.model().architecture().validate()
    }

    /// The first field in which a saved run differs from this one, ignoring
    /// what a resume may change or need not repeat: `epochs` (resuming may ask
    /// for more), `keep_checkpoints`, and `init` (the checkpoint replaces the
    /// starting weights).
    pub fn difference(&self, saved: &TrainConfig) -> Option<String> {
        let a = serde_json::to_value(self).expect("config serializes");
        let b = serde_json::to_value(saved).expect("config serializes");
        let (a, b) = (a.as_object().expect("object"), b.as_object().expect("object"));
        a.iter()
            .filter(|(k, _)| !["epochs", "keep_checkpoints", "init"].contains(&k.as_str()))
            .find(|(k, v)| b.get(k.as_str()) != Some(v))
            .map(|(k, v)| format!("{k} is {} there, {v} here", b.get(k.as_str()).cloned().unwrap_or_default()))
    }

    pub fn model(&self) -> RnnlmConfig {
        self.model.config(self.vocab_size, self.wordvec_size, self.hidden_size, self.dropout)
    }

    /// The book's initial weights of this run's model.
    pub fn initial_weights(&self) -> RnnlmWeights {
        RnnlmWeights::book_init(self.model().architecture(), self.seed)
    }
}

/// What the Learner's steps remember between calls. See the module docs.
struct RunState {
    /// The state carried from one training batch to the next: the book's
    /// stateful Time layers. Never reset between epochs, as in the book.
    train_h: Option<RecurrentState>,
    /// The validation state, carried through one evaluation and reset at its
    /// first batch.
    valid_h: Option<RecurrentState>,
    epoch: usize,
    train_iters: usize,
    valid_iters: usize,
    train_seen: usize,
    valid_seen: usize,
    train_loss_sum: f64,
    valid_loss_sum: f64,
    epoch_start: Instant,
    rows: Vec<EpochMetrics>,
    dir: RunDir,
    print_lines: bool,
    interrupter: Option<Interrupter>,
    failure: Option<String>,
}

impl RunState {
    fn new(dir: RunDir) -> Self {
        RunState {
            train_h: None,
            valid_h: None,
            epoch: 1,
            train_iters: 0,
            valid_iters: 0,
            train_seen: 0,
            valid_seen: 0,
            train_loss_sum: 0.0,
            valid_loss_sum: 0.0,
            epoch_start: Instant::now(),
            rows: Vec::new(),
            dir,
            print_lines: false,
            interrupter: None,
            failure: None,
        }
    }

    /// Stops training with an error that `train` reports once the Learner returns.
    fn fail(&mut self, message: String) {
        if let Some(i) = &self.interrupter {
            i.stop(Some(&message));
        }
        self.failure.get_or_insert(message);
    }

    fn end_of_train_epoch(&mut self) -> Result<(), String> {
        // Saved before Burn's checkpoint of the epoch, so that an epoch whose
        // model and optimizer files exist always has its state too.
        let h = self.train_h.clone().expect("a state after an epoch");
        save_state(&self.dir.state(self.epoch), h)
    }

    fn end_of_epoch(&mut self) -> Result<(), String> {
        let train_loss = self.train_loss_sum / self.train_iters as f64;
        let valid_loss = self.valid_loss_sum / self.valid_iters as f64;
        let row = EpochMetrics {
            epoch: self.epoch,
            train_loss,
            train_perplexity: train_loss.exp(),
            valid_loss,
            valid_perplexity: valid_loss.exp(),
            seconds: self.epoch_start.elapsed().as_secs_f64(),
        };
        if self.print_lines {
            println!("{}", row.summary_line());
        }
        self.rows.push(row);
        artifacts::write_metrics(&self.dir.metrics(), &self.rows)
            .map_err(|e| format!("cannot write {}: {e}", self.dir.metrics().display()))?;
        artifacts::plot_perplexity(&self.dir.plot(), &self.rows)?;
        self.epoch += 1;
        self.train_seen = 0;
        self.valid_seen = 0;
        self.train_loss_sum = 0.0;
        self.valid_loss_sum = 0.0;
        self.epoch_start = Instant::now();
        Ok(())
    }
}

/// Shared handle to the [`RunState`]; a `#[module(skip)]` field is cloned with
/// the module, so the training model and its validation copy see one state.
#[derive(Clone)]
pub struct SharedRun(Arc<Mutex<RunState>>);

impl std::fmt::Debug for SharedRun {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SharedRun")
    }
}

/// The model as the Learner trains it: [`Rnnlm`] plus the run's state.
#[derive(Module, Debug)]
pub struct TrainingModel {
    pub model: Rnnlm,
    #[module(skip)]
    run: SharedRun,
    #[module(skip)]
    clip: Option<f64>,
}

impl TrainStep for TrainingModel {
    type Input = TbpttBatch;
    type Output = LmOutput;

    fn step(&self, batch: TbpttBatch) -> TrainOutput<LmOutput> {
        let mut run = self.run.0.lock().expect("run state");
        let h0 = run.train_h.take();
        let [n, t] = batch.xs.dims();
        let device = batch.xs.device();
        // Forward and backward at once: the affine layer and the loss by hand,
        // RNN layers too (proven equal to autodiff's and the reference's by
        // `check`'s "burn training path vs ref" rows and tests/rnn_training_path.rs).
        let (value, grads, h_last) = self.model.loss_and_gradients(batch.xs, batch.ts, h0, None);
        // The loss as an f32, as the book's (and as the metrics read it).
        let value = value as f32 as f64;
        // Truncated BPTT: the next batch starts from this state's value, but
        // its gradient must stop at the batch boundary, so the history is cut.
        run.train_h = Some(h_last.detach());
        run.train_seen += 1;
        let loss = Tensor::<1>::from_data(TensorData::new(vec![value as f32], [1]), &device);
        let output = LmOutput { loss, tokens: n * t };
        if !value.is_finite() {
            let (epoch, iteration) = (run.epoch, run.train_seen);
            run.fail(format!(
                "the loss became {value} at epoch {epoch}, iteration {iteration}; training stopped, \
                 the checkpoints of the epochs before it are intact (try a smaller --lr or --max-grad)"
            ));
            // No gradients: the optimizer leaves the model as it was.
            return TrainOutput { grads: GradientsParams::new(), item: output };
        }
        run.train_loss_sum += value;
        if run.train_seen == run.train_iters
            && let Err(e) = run.end_of_train_epoch()
        {
            run.fail(e);
        }
        TrainOutput { grads, item: output }
    }

    fn optimize(self, optim: &mut ModuleOptimizer, lr: ModuleLearningRate, mut grads: GradientsParams) -> Self {
        if let Some(max_norm) = self.clip {
            clip_grads_global(&self, &mut grads, max_norm);
        }
        optim.step(lr, self, grads)
    }
}

impl InferenceStep for TrainingModel {
    type Input = TbpttBatch;
    type Output = LmOutput;

    fn step(&self, batch: TbpttBatch) -> LmOutput {
        let mut run = self.run.0.lock().expect("run state");
        if batch.first {
            // Each evaluation starts from zeros, as the book's reset_state()
            // before eval_perplexity; the training state is not touched.
            run.valid_h = None;
        }
        let h0 = run.valid_h.take();
        let [n, t] = batch.xs.dims();
        let (loss, h_last) = self.model.forward(batch.xs, batch.ts, h0);
        run.valid_h = Some(h_last);
        run.valid_loss_sum += loss.clone().into_scalar::<f64>();
        run.valid_seen += 1;
        if run.valid_seen == run.valid_iters
            && let Err(e) = run.end_of_epoch()
        {
            run.fail(e);
        }
        LmOutput { loss, tokens: n * t }
    }
}

/// The learning rate for the epoch after `rows`: the book's chapter-6
/// schedule (`train_better_rnnlm.py`) divides it by 4 after every epoch whose
/// validation perplexity is not the best so far.
pub fn decayed_lr(base: f64, rows: &[EpochMetrics]) -> f64 {
    let mut best = f64::INFINITY;
    let mut lr = base;
    for row in rows {
        if row.valid_perplexity < best {
            best = row.valid_perplexity;
        } else {
            lr /= 4.0;
        }
    }
    lr
}

/// [`decayed_lr`] as burn-train's scheduler. It has no state of its own: the
/// rate follows from the validation perplexities of the epochs so far, which
/// the run keeps (and a resumed run reads back from `metrics.csv`).
#[derive(Clone)]
struct BookDecay {
    base: f64,
    run: SharedRun,
}

impl burn::lr_scheduler::LrScheduler for BookDecay {
    fn step(&mut self) -> f64 {
        decayed_lr(self.base, &self.run.0.lock().expect("run state").rows)
    }

    fn to_record(&self) -> burn::lr_scheduler::LrSchedulerRecord {
        burn::lr_scheduler::LrSchedulerRecord::new()
    }

    fn load_record(&mut self, _record: burn::lr_scheduler::LrSchedulerRecord) {}
}

/// The carried state on disk: every layer's `h` (and an LSTM's `c`), each
/// `[N, H]`: `{"shape": [N, H], "tensors": [[...], ...]}`.
#[derive(Serialize, Deserialize)]
struct SavedState {
    shape: [usize; 2],
    tensors: Vec<Vec<f32>>,
}

fn save_state(path: &Path, state: RecurrentState) -> Result<(), String> {
    let tensors = state.tensors();
    let shape = tensors[0].dims();
    let tensors = tensors
        .into_iter()
        .map(|t| t.try_into_vec_as::<f32>().map_err(|e| format!("cannot read the hidden state: {e:?}")))
        .collect::<Result<_, _>>()?;
    let json = serde_json::to_vec(&SavedState { shape, tensors }).expect("state serializes");
    write_atomic(path, &json).map_err(|e| format!("cannot write {}: {e}", path.display()))
}

fn load_state(path: &Path, cfg: &TrainConfig, device: &Device) -> Result<RecurrentState, String> {
    let bytes = std::fs::read(path).map_err(|e| unreadable(path, e))?;
    let saved: SavedState = serde_json::from_slice(&bytes).map_err(|e| unreadable(path, e))?;
    let arch = cfg.model().architecture();
    let shape = [cfg.batch_size, cfg.hidden_size];
    let count = arch.layers * if arch.cell == crate::weights::CellKind::Lstm { 2 } else { 1 };
    if saved.shape != shape
        || saved.tensors.len() != count
        || saved.tensors.iter().any(|t| t.len() != shape[0] * shape[1])
    {
        return Err(unreadable(
            path,
            format!(
                "it holds {} state tensors of shape {:?}, this run needs {count} of {shape:?}",
                saved.tensors.len(),
                saved.shape
            ),
        ));
    }
    let tensors = saved.tensors.into_iter().map(|v| Tensor::from_data(TensorData::new(v, shape), device)).collect();
    Ok(RecurrentState::from_tensors(arch.cell, tensors))
}

/// Burn's file checkpointer writes in place; this one writes atomically, so a
/// crash (even `kill -9`) mid-write leaves the previous epochs readable and no
/// half file under a checkpoint's name.
struct AtomicCheckpointer {
    dir: PathBuf,
    name: &'static str,
}

impl AtomicCheckpointer {
    fn path(&self, epoch: usize) -> PathBuf {
        self.dir.join(format!("{}-{epoch}.bpk", self.name))
    }
}

impl<R: Checkpoint> Checkpointer<R> for AtomicCheckpointer {
    fn save(&self, epoch: usize, record: R) -> Result<(), CheckpointerError> {
        let bytes = record.checkpoint_into_bytes().map_err(CheckpointerError::Record)?;
        write_atomic(&self.path(epoch), &bytes).map_err(CheckpointerError::IOError)
    }

    fn delete(&self, epoch: usize) -> Result<(), CheckpointerError> {
        match std::fs::remove_file(self.path(epoch)) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(CheckpointerError::IOError(e)),
            _ => Ok(()),
        }
    }

    fn restore(&self, epoch: usize) -> Result<R, CheckpointerError> {
        let bytes = std::fs::read(self.path(epoch)).map_err(CheckpointerError::IOError)?;
        R::checkpoint_from_bytes(Bytes::from_bytes_vec(bytes)).map_err(CheckpointerError::Record)
    }
}

/// A checkpoint every epoch; older ones pruned to `--keep-checkpoints`.
///
/// Burn asks for the actions before it writes the epoch's checkpoint, on
/// threads of its own; the pruning here (not Burn's `Delete`, which knows
/// nothing of the state files) runs then, so it counts only epochs already
/// complete on disk and keeps one fewer of them: with the one being written,
/// the folder holds the last N and the best. The epoch a resume would start
/// from is never deleted before the next one is complete, even at N = 1.
/// After the last epoch, [`train`] prunes to exactly N.
struct Retention {
    run: SharedRun,
    keep: KeepCheckpoints,
}

impl CheckpointingStrategy for Retention {
    fn checkpointing(&mut self, _epoch: usize, _store: &EventStoreClient) -> Vec<CheckpointingAction> {
        let keep = match self.keep {
            KeepCheckpoints::Last(n) => KeepCheckpoints::Last(n.saturating_sub(1).max(1)),
            all => all,
        };
        let mut run = self.run.0.lock().expect("run state");
        if let Err(e) = artifacts::prune_checkpoints(&run.dir, &run.rows, keep) {
            run.fail(e);
        }
        vec![CheckpointingAction::Save]
    }
}

/// The renderer used when stdout is not a terminal: Burn's fallback prints a
/// progress line per iteration and no metric values; this prints nothing, and
/// the training prints one summary line per epoch instead.
struct EpochLinesOnly;

impl MetricsRendererTraining for EpochLinesOnly {
    fn update_train(&mut self, _state: MetricState) {}
    fn update_valid(&mut self, _state: MetricState) {}
}

impl MetricsRendererEvaluation for EpochLinesOnly {
    fn update_test(&mut self, _name: EvaluationName, _state: MetricState) {}
}

impl TrainingProgressLogger for EpochLinesOnly {
    fn start(&mut self, _: usize, _: usize, _: Option<usize>, _: Option<&str>) {}
    fn update_epoch(&mut self, _: usize) {}
    fn start_split(&mut self, _: &str, _: usize) {}
    fn update_split(&mut self, _: usize) {}
    fn end_split(&mut self) {}
    fn end(&mut self) {}
    fn log_event_training(&mut self, _: String) {}
}

impl EvaluationProgressLogger for EpochLinesOnly {
    fn start_global_progress(&mut self, _: usize) {}
    fn start_test(&mut self, _: &str, _: usize) {}
    fn update_test_progress(&mut self, _: usize) {}
    fn end_test(&mut self) {}
    fn end_global_progress(&mut self) {}
    fn log_event_evaluation(&mut self, _: String) {}
}

impl MetricsRenderer for EpochLinesOnly {
    fn manual_close(&mut self) {}
    fn register_metric(&mut self, _definition: MetricDefinition) {}
}

/// How `train` shows progress.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Display {
    /// Burn's terminal dashboard (stdout is a terminal).
    Dashboard,
    /// One `| epoch N | ...` line per epoch.
    EpochLines,
}

/// Trains (or resumes) a run in `dir` and returns every epoch's metrics.
pub fn train(
    cfg: &TrainConfig,
    backend: Backend,
    data: &Ptb,
    dir: &Path,
    resume: bool,
    display: Display,
) -> Result<Vec<EpochMetrics>, String> {
    cfg.validate()?;
    if cfg.vocab_size != data.vocab.len() {
        return Err(format!("the configuration has V={}, the data {}", cfg.vocab_size, data.vocab.len()));
    }
    let corpus = data.training_corpus(cfg.corpus_size)?;
    let train_batches = StreamBatches::train(corpus, cfg.batch_size, cfg.time_size).map_err(|e| e.to_string())?;
    let valid_batches = StreamBatches::eval(&data.valid, cfg.eval_batch_size, cfg.eval_time_size)
        .map_err(|e| format!("validation: {e}"))?;
    let run_dir = RunDir::new(dir);
    // Before anything is written: a missing GPU must not leave a half-made run folder.
    let device = backend.device()?;

    // Read and checked before anything is written.
    let init = match (&cfg.init, resume) {
        (Some(path), false) => Some(read_init(Path::new(path), cfg, data)?),
        _ => None,
    };
    let (start_epoch, rows) =
        if resume { prepare_resume(cfg, &run_dir)? } else { prepare_new(cfg, &run_dir, data, init.as_ref())? };
    if start_epoch >= cfg.epochs {
        return Err(format!("{} already holds {start_epoch} epochs; ask for more with --epochs", dir.display()));
    }

    if backend.is_cpu() {
        // burn-optim restores optimizer state on Device::default(), which in a
        // build with wgpu is the GPU (and a panic where there is none): pin it.
        // SAFETY: set before any thread that reads the environment is started.
        unsafe { std::env::set_var("BURN_DEVICE", backend.to_string()) };
    }
    let ad_device = device.clone().autodiff();
    let model = match &init {
        Some(w) => cfg.model().init_with(w, &ad_device)?,
        None => cfg.model().init_with(&cfg.initial_weights(), &ad_device)?,
    };
    let train_h = match start_epoch {
        0 => None,
        e => Some(load_state(&run_dir.state(e), cfg, &ad_device)?),
    };
    if start_epoch > 0 {
        // Burn panics on a checkpoint it cannot decode; decode it here first.
        load_checkpoint(&run_dir, start_epoch, &model)?;
        check_optimizer_readable(&run_dir, start_epoch)?;
    }

    let run = SharedRun(Arc::new(Mutex::new(RunState {
        train_h,
        epoch: start_epoch + 1,
        train_iters: train_batches.iters(),
        valid_iters: valid_batches.iters(),
        rows,
        print_lines: display == Display::EpochLines,
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
    let ckpt = |name| AtomicCheckpointer { dir: checkpoints.clone(), name };
    let mut training = SupervisedTraining::new(dir, loader_train, loader_valid)
        .metric_train_numeric(LossMetric::new())
        .metric_valid_numeric(LossMetric::new())
        .metric_train_numeric(LossPerplexity::new())
        .metric_valid_numeric(LossPerplexity::new())
        // burn-train's file logger writes a line per iteration to experiment.log;
        // errors reach the user through `train`'s result instead.
        .with_application_logger(None)
        .with_custom_checkpointers(ckpt("model"), ckpt("optim"), ckpt("scheduler"))
        .with_checkpointing_strategy(Retention { run: run.clone(), keep: cfg.keep_checkpoints })
        .num_epochs(cfg.epochs);
    if start_epoch > 0 {
        training = training.checkpoint(start_epoch);
    }
    if display == Display::EpochLines {
        training = training.renderer(Box::new(EpochLinesOnly));
    }
    run.0.lock().expect("run state").interrupter = Some(training.interrupter());

    let result = training.launch(learner);
    let state = run.0.lock().expect("run state");
    if let Some(failure) = &state.failure {
        return Err(failure.clone());
    }
    if let Some(error) = result.error {
        return Err(format!("training failed: {error}"));
    }
    // Burn's checkpoint threads have finished with the last epoch.
    artifacts::prune_checkpoints(&run_dir, &state.rows, cfg.keep_checkpoints)?;
    Ok(state.rows.clone())
}

/// The weights of `--init`: the file's tensors checked against this run's
/// model, and its vocabulary (a `vocab.json` beside it, as `export` writes)
/// against the data's, since the ids must mean the same words.
fn read_init(path: &Path, cfg: &TrainConfig, data: &Ptb) -> Result<RnnlmWeights, String> {
    let w = files::read_weights(path, cfg.model().architecture()).map_err(|e| {
        format!("--init: {e} (give the sizes it was trained with: --model, --wordvec-size, --hidden-size)")
    })?;
    if let Some(words) = crate::export::vocab_beside(path)?
        && let Some(i) = (0..words.len().max(data.vocab.len())).find(|&i| words.get(i) != data.vocab.id_to_word.get(i))
    {
        let word = |w: Option<&String>| w.map_or("nothing".to_string(), |w| format!("{w:?}"));
        return Err(format!(
            "--init: the vocabulary beside {} differs from the data's at id {i} ({} there, {} here)",
            path.display(),
            word(words.get(i)),
            word(data.vocab.id_to_word.get(i))
        ));
    }
    Ok(w)
}

fn prepare_new(
    cfg: &TrainConfig,
    run_dir: &RunDir,
    data: &Ptb,
    init: Option<&RnnlmWeights>,
) -> Result<(usize, Vec<EpochMetrics>), String> {
    if run_dir.config().exists() || run_dir.checkpoints().exists() {
        return Err(format!(
            "{} already holds a run; continue it with --resume, or choose another --artifacts folder",
            run_dir.root.display()
        ));
    }
    if let Some(w) = init {
        // The run folder alone reproduces the run, wherever --init pointed.
        let source = cfg.init.clone().unwrap_or_default();
        files::write(&run_dir.init_weights(), w, &[("source".to_string(), source)])?;
    }
    let json = serde_json::to_vec_pretty(cfg).expect("config serializes");
    write_atomic(&run_dir.config(), &json).map_err(|e| format!("cannot write {}: {e}", run_dir.config().display()))?;
    let vocab = serde_json::to_vec(&data.vocab.id_to_word).expect("vocab serializes");
    write_atomic(&run_dir.vocab(), &vocab).map_err(|e| format!("cannot write {}: {e}", run_dir.vocab().display()))?;
    Ok((0, Vec::new()))
}

/// Reads a run's `config.json`.
pub fn read_config(run_dir: &RunDir) -> Result<TrainConfig, String> {
    let path = run_dir.config();
    let bytes = std::fs::read(&path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    serde_json::from_slice(&bytes).map_err(|e| format!("{} is not a run configuration: {e}", path.display()))
}

fn prepare_resume(cfg: &TrainConfig, run_dir: &RunDir) -> Result<(usize, Vec<EpochMetrics>), String> {
    let saved = read_config(run_dir)?;
    if let Some(diff) = cfg.difference(&saved) {
        return Err(format!(
            "{} holds a run of another configuration ({diff}); resume with its settings or choose another --artifacts folder",
            run_dir.root.display()
        ));
    }
    let Some(&epoch) = run_dir.complete_epochs().last() else {
        return Err(format!("{} has no complete checkpoint to resume from", run_dir.checkpoints().display()));
    };
    let mut rows = if run_dir.metrics().exists() { artifacts::read_metrics(&run_dir.metrics())? } else { Vec::new() };
    // Epochs after the checkpoint (a crash after their metrics were written)
    // are trained again.
    rows.retain(|r| r.epoch <= epoch);
    Ok((epoch, rows))
}

fn unreadable(path: &Path, why: impl std::fmt::Display) -> String {
    format!("checkpoint {} cannot be read: {why}", path.display())
}

fn read_bytes(path: &Path) -> Result<Bytes, String> {
    std::fs::read(path).map(Bytes::from_bytes_vec).map_err(|e| unreadable(path, e))
}

/// The model's weights as saved at the end of `epoch`, loaded into `model`.
fn load_checkpoint(run_dir: &RunDir, epoch: usize, model: &Rnnlm) -> Result<Rnnlm, String> {
    use burn::store::ModuleRecord;
    let path = run_dir.model_checkpoint(epoch);
    let record = ModuleRecord::checkpoint_from_bytes(read_bytes(&path)?).map_err(|e| unreadable(&path, e))?;
    let wrapper = TrainingModel {
        model: model.clone(),
        run: SharedRun(Arc::new(Mutex::new(RunState::new(run_dir.clone())))),
        clip: None,
    };
    Ok(wrapper.try_load_record(record).map_err(|e| unreadable(&path, e))?.model)
}

fn check_optimizer_readable(run_dir: &RunDir, epoch: usize) -> Result<(), String> {
    use burn::optim::OptimizerRecord;
    let path = run_dir.optim_checkpoint(epoch);
    OptimizerRecord::checkpoint_from_bytes(read_bytes(&path)?).map(|_| ()).map_err(|e| unreadable(&path, e))
}

/// The complete epoch with the lowest validation perplexity (the model the
/// book's chapter-6 script keeps), or the last complete one when no metrics
/// were written.
pub fn best_epoch(run_dir: &RunDir) -> Result<usize, String> {
    let complete = run_dir.complete_epochs();
    let last =
        *complete.last().ok_or_else(|| format!("{} has no complete checkpoint", run_dir.checkpoints().display()))?;
    if !run_dir.metrics().exists() {
        return Ok(last);
    }
    let rows = artifacts::read_metrics(&run_dir.metrics())?;
    Ok(rows
        .iter()
        .filter(|r| complete.contains(&r.epoch) && r.valid_perplexity.is_finite())
        .min_by(|a, b| a.valid_perplexity.total_cmp(&b.valid_perplexity))
        .map_or(last, |r| r.epoch))
}

/// A trained model from a run folder: the weights saved at the end of
/// `epoch`, or by default of the epoch with the best validation perplexity.
/// Returns the run's configuration, the model (on `device`) and the epoch.
pub fn load_trained(dir: &Path, epoch: Option<usize>, device: &Device) -> Result<(TrainConfig, Rnnlm, usize), String> {
    let run_dir = RunDir::new(dir);
    let cfg = read_config(&run_dir)?;
    let epoch = match epoch {
        Some(e) if run_dir.model_checkpoint(e).exists() => e,
        Some(e) => {
            let kept: Vec<String> = run_dir.complete_epochs().iter().map(|e| e.to_string()).collect();
            return Err(match kept.len() {
                0 => format!("{} has no checkpoint of epoch {e}, nor of any other", run_dir.checkpoints().display()),
                _ => format!(
                    "{} has no checkpoint of epoch {e}; it keeps epochs {}",
                    run_dir.checkpoints().display(),
                    kept.join(", ")
                ),
            });
        }
        None => best_epoch(&run_dir)?,
    };
    // Fresh weights of the right shapes, then the saved values over them.
    let model = cfg.model().init_with(&cfg.initial_weights(), device)?;
    let model = load_checkpoint(&run_dir, epoch, &model)?;
    Ok((cfg, model, epoch))
}
