//! The Learner's steps, and the run state they share.
//!
//! The model itself ([`crate::model::Rnnlm`]) holds no state. Everything the
//! Learner's steps need to remember between calls (the carried hidden
//! states, the epoch's running loss, the rows so far) lives in [`RunState`],
//! shared by the training model and the validation copy the Learner makes of
//! it. One epoch, in the order burn-train runs it:
//!
//! 1. [`TrainStep::step`], once per training batch: the loss and gradients
//!    from the state carried from the previous batch (never reset, as the
//!    book's stateful layers); the state after the batch is kept, detached
//!    (truncated BPTT). After the epoch's last batch the carried state is
//!    written to `checkpoint/state-E.json`.
//! 2. [`TrainStep::optimize`], after each step: global clipping (the book's
//!    `clip_grads`), then the optimizer, at the rate of [`super::schedule`].
//! 3. [`InferenceStep::step`], once per validation batch: from zeros at the
//!    first batch (the book's `reset_state()` before `eval_perplexity`).
//!    After the last: the epoch's row is printed and written to
//!    `metrics.csv`, and `perplexity.png` is drawn.
//! 4. [`Retention`], when burn-train checkpoints the epoch: older epochs are
//!    pruned ([`crate::run::retention`]), then burn-train writes `model-E`,
//!    `optim-E` and `scheduler-E` through the atomic checkpointer.
//!
//! A step that fails (a loss that is not finite, a file that cannot be
//! written) stops the Learner through the interrupter and leaves the error in
//! [`RunState::failure`], which [`super::train`] returns.

use std::sync::{Arc, Mutex};
use std::time::Instant;

use burn::lr_scheduler::module_lr_scheduler::ModuleLearningRate;
use burn::module::Module;
use burn::optim::{GradientsParams, ModuleOptimizer};
use burn::tensor::Device;
use burn::train::checkpoint::{Checkpoint, CheckpointingAction, CheckpointingStrategy};
use burn::train::metric::store::EventStoreClient;
use burn::train::{InferenceStep, Interrupter, TrainOutput, TrainStep};

use crate::cpu::measure;
use crate::data::batches::TbpttBatch;
use crate::error::{Error, Result};
use crate::metric::LmOutput;
use crate::model::{RecurrentState, Rnnlm};
use crate::optim::clip_grads_global;
use crate::run::checkpoint::{self, read_bytes, unreadable};
use crate::run::layouts::write_layouts;
use crate::run::{EpochMetrics, KeepCheckpoints, RunDir, metrics, plot, retention};

/// What the Learner's steps remember between calls. See the module docs.
pub(super) struct RunState {
    /// The state carried from one training batch to the next: the book's
    /// stateful Time layers. Never reset between epochs, as in the book.
    pub(super) train_h: Option<RecurrentState>,
    /// The validation state, carried through one evaluation and reset at its
    /// first batch.
    pub(super) valid_h: Option<RecurrentState>,
    pub(super) epoch: usize,
    pub(super) train_iters: usize,
    pub(super) valid_iters: usize,
    pub(super) train_seen: usize,
    pub(super) valid_seen: usize,
    pub(super) train_loss_sum: f64,
    pub(super) valid_loss_sum: f64,
    pub(super) epoch_start: Instant,
    pub(super) rows: Vec<EpochMetrics>,
    pub(super) dir: RunDir,
    /// The plot's title: the model trained ([`TrainConfig::title`]).
    pub(super) plot_title: String,
    pub(super) print_lines: bool,
    pub(super) interrupter: Option<Interrupter>,
    pub(super) failure: Option<Error>,
}

impl RunState {
    pub(super) fn new(dir: RunDir) -> Self {
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
            plot_title: String::new(),
            print_lines: false,
            interrupter: None,
            failure: None,
        }
    }

    /// Stops training with an error that `train` reports once the Learner returns.
    pub(super) fn fail(&mut self, error: Error) {
        if let Some(i) = &self.interrupter {
            i.stop(Some(&error.to_string()));
        }
        self.failure.get_or_insert(error);
    }

    fn end_of_train_epoch(&mut self, device: &Device) -> Result<()> {
        // Saved before Burn's checkpoint of the epoch, so that an epoch whose
        // model and optimizer files exist always has its state too.
        let h = self.train_h.clone().expect("a state after an epoch");
        checkpoint::save_state(&self.dir.state(self.epoch), h)?;
        // The kernels its products ran with, for a resumption to run with.
        write_layouts(&self.dir.layouts(), &measure::chosen_on(device))
    }

    fn end_of_epoch(&mut self) -> Result<()> {
        let train_loss = self.train_loss_sum / self.train_iters as f64;
        let valid_loss = self.valid_loss_sum / self.valid_iters as f64;
        let row =
            EpochMetrics::from_losses(self.epoch, train_loss, valid_loss, self.epoch_start.elapsed().as_secs_f64());
        if self.print_lines {
            println!("{}", row.summary_line());
        }
        self.rows.push(row);
        metrics::write_metrics(&self.dir.metrics(), &self.rows).map_err(|e| Error::write(self.dir.metrics(), e))?;
        plot::plot_perplexity(&self.dir.plot(), &self.plot_title, &self.rows)?;
        self.epoch += 1;
        self.train_seen = 0;
        self.valid_seen = 0;
        self.train_loss_sum = 0.0;
        self.valid_loss_sum = 0.0;
        self.epoch_start = Instant::now();
        Ok(())
    }
}

/// Shared handle to the `RunState`; a `#[module(skip)]` field is cloned with
/// the module, so the training model and its validation copy see one state.
#[derive(Clone)]
pub struct SharedRun(pub(super) Arc<Mutex<RunState>>);

impl std::fmt::Debug for SharedRun {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SharedRun")
    }
}

/// The model as the Learner trains it: [`Rnnlm`] plus the run's state.
#[derive(Module, Debug)]
pub struct TrainingModel {
    /// The model trained.
    pub model: Rnnlm,
    #[module(skip)]
    pub(super) run: SharedRun,
    #[module(skip)]
    pub(super) clip: Option<f64>,
}

impl TrainStep for TrainingModel {
    type Input = TbpttBatch;
    type Output = LmOutput;

    fn step(&self, batch: TbpttBatch) -> TrainOutput<LmOutput> {
        let mut run = self.run.0.lock().expect("run state");
        let h0 = run.train_h.take();
        let [n, t] = batch.xs.dims();
        let device = batch.xs.device();
        // Every layer of the model is one autodiff node whose backward is the
        // book's (`check` holds them to the op-by-op path and the reference).
        let (loss, h_last) = self.model.forward(batch.xs, batch.ts, h0);
        let value = loss.clone().into_scalar::<f32>() as f64;
        // Truncated BPTT: the next batch starts from this state's value, but
        // its gradient must stop at the batch boundary, so the history is cut.
        run.train_h = Some(h_last.detach());
        run.train_seen += 1;
        if !value.is_finite() {
            let (epoch, iteration) = (run.epoch, run.train_seen);
            run.fail(Error::Diverged { loss: value, epoch, iteration });
            // No gradients: the optimizer leaves the model as it was.
            let output = LmOutput { loss: loss.detach(), tokens: n * t };
            return TrainOutput { grads: GradientsParams::new(), item: output };
        }
        run.train_loss_sum += value;
        if run.train_seen == run.train_iters
            && let Err(e) = run.end_of_train_epoch(&device)
        {
            run.fail(e);
        }
        let grads = GradientsParams::from_grads(loss.backward(), &self.model);
        let output = LmOutput { loss: loss.detach(), tokens: n * t };
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

/// A checkpoint every epoch; older ones pruned to `--keep-checkpoints`.
///
/// The policy is [`retention`]'s; this is where Burn asks for it, before it
/// writes the epoch's checkpoint (so [`retention::while_writing`]). The
/// pruning here, not Burn's `Delete`, which knows nothing of the state files.
pub(super) struct Retention {
    pub(super) run: SharedRun,
    pub(super) keep: KeepCheckpoints,
}

impl CheckpointingStrategy for Retention {
    fn checkpointing(&mut self, _epoch: usize, _store: &EventStoreClient) -> Vec<CheckpointingAction> {
        let mut run = self.run.0.lock().expect("run state");
        if let Err(e) = retention::prune_checkpoints(&run.dir, &run.rows, retention::while_writing(self.keep)) {
            run.fail(e);
        }
        vec![CheckpointingAction::Save]
    }
}

/// The model's weights as saved at the end of `epoch`, loaded into `model`.
pub(super) fn load_checkpoint(run_dir: &RunDir, epoch: usize, model: &Rnnlm) -> Result<Rnnlm> {
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
