//! The Learner's steps for an encoder-decoder, and the run state they share.
//! One epoch, in the order burn-train runs it:
//!
//! 1. The training batches: at the epoch's first batch [`TrainBatcher`]
//!    draws the epoch's order, the next `numpy.random.permutation(N)` of the
//!    run's legacy stream (the book's `Trainer.fit`); batch k is rows
//!    `k·B..(k+1)·B` of it, and the tail that fills no batch is left out.
//!    [`TrainStep::step`] runs forward and `loss.backward()`; after the last
//!    batch the order's position is saved as `checkpoint/state-E.json`.
//! 2. [`TrainStep::optimize`]: global clipping (the book's `clip_grads`),
//!    then the book's Adam.
//! 3. The test questions, in batches: [`InferenceStep::step`] answers them
//!    greedily and counts the exact answers. After the last: the epoch's
//!    row is printed and written to `metrics.csv`, and `accuracy.png` drawn.
//! 4. [`Retention`] prunes older checkpoints; burn-train writes the epoch's.

use std::sync::{Arc, Mutex};
use std::time::Instant;

use burn::data::dataloader::batcher::Batcher;
use burn::lr_scheduler::module_lr_scheduler::ModuleLearningRate;
use burn::module::Module;
use burn::optim::{GradientsParams, ModuleOptimizer};
use burn::tensor::{Device, Int, Tensor, TensorData};
use burn::train::checkpoint::{Checkpoint, CheckpointingAction, CheckpointingStrategy};
use burn::train::metric::store::EventStoreClient;
use burn::train::{InferenceStep, Interrupter, TrainOutput, TrainStep};
use serde::{Deserialize, Serialize};

use crate::atomic::write_atomic;
use crate::cpu::measure;
use crate::data::numpy_random::LegacyRandom;
use crate::data::sequence::{Ids, Pairs};
use crate::error::{Error, Result};
use crate::infer::count_correct;
use crate::metric::{AnswerOutput, LmOutput};
use crate::model::Seq2seq;
use crate::optim::clip_grads_global;
use crate::run::checkpoint::{read_bytes, unreadable};
use crate::run::layouts::write_layouts;
use crate::run::{AnswerMetrics, KeepCheckpoints, RunDir, metrics, plot, retention};

/// What the Learner's steps remember between calls.
pub(super) struct RunState {
    pub(super) epoch: usize,
    pub(super) train_iters: usize,
    pub(super) valid_iters: usize,
    pub(super) train_seen: usize,
    pub(super) valid_seen: usize,
    pub(super) train_loss_sum: f64,
    pub(super) correct: usize,
    pub(super) answered: usize,
    pub(super) epoch_start: Instant,
    pub(super) rows: Vec<AnswerMetrics>,
    pub(super) dir: RunDir,
    pub(super) title: String,
    pub(super) print_lines: bool,
    /// The order's seed and how many epochs' permutations it has drawn.
    pub(super) order: Arc<Mutex<EpochOrder>>,
    pub(super) interrupter: Option<Interrupter>,
    pub(super) failure: Option<Error>,
}

impl RunState {
    /// The state of a run about to train from `epoch` (1-based) in `dir`.
    pub(super) fn new(dir: RunDir, epoch: usize, order: Arc<Mutex<EpochOrder>>) -> Self {
        RunState {
            epoch,
            train_iters: 0,
            valid_iters: 0,
            train_seen: 0,
            valid_seen: 0,
            train_loss_sum: 0.0,
            correct: 0,
            answered: 0,
            epoch_start: Instant::now(),
            rows: Vec::new(),
            dir,
            title: String::new(),
            print_lines: false,
            order,
            interrupter: None,
            failure: None,
        }
    }

    fn fail(&mut self, error: Error) {
        if let Some(i) = &self.interrupter {
            i.stop(Some(&error.to_string()));
        }
        self.failure.get_or_insert(error);
    }

    fn end_of_epoch(&mut self) -> Result<()> {
        let row = AnswerMetrics {
            epoch: self.epoch,
            train_loss: self.train_loss_sum / self.train_iters as f64,
            valid_accuracy: self.correct as f64 / self.answered as f64,
            seconds: self.epoch_start.elapsed().as_secs_f64(),
        };
        if self.print_lines {
            println!("{}", row.summary_line());
        }
        self.rows.push(row);
        let path = self.dir.metrics();
        metrics::write_answer_metrics(&path, &self.rows).map_err(|e| Error::write(&path, e))?;
        plot::plot_accuracy(&self.dir.accuracy_plot(), &self.title, &self.rows)?;
        self.epoch += 1;
        (self.train_seen, self.valid_seen, self.train_loss_sum, self.correct, self.answered) = (0, 0, 0.0, 0, 0);
        self.epoch_start = Instant::now();
        Ok(())
    }
}

/// Shared handle to the `RunState` (a `#[module(skip)]` field is cloned
/// with the module, so the training model and its validation copy share it).
#[derive(Clone)]
pub struct SharedRun(pub(super) Arc<Mutex<RunState>>);

impl std::fmt::Debug for SharedRun {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SharedRun")
    }
}

/// The order of the training rows: the run's legacy NumPy stream and the
/// epoch's permutation.
pub(super) struct EpochOrder {
    pub(super) seed: u32,
    rng: LegacyRandom,
    /// Permutations drawn so far: the epochs begun.
    pub(super) drawn: usize,
    permutation: Vec<u32>,
    train: Pairs,
    batch_size: usize,
}

impl EpochOrder {
    /// The order after `epochs` epochs of a run seeded with `seed`.
    pub(super) fn new(seed: u32, epochs: usize, train: Pairs, batch_size: usize) -> Self {
        let mut order =
            EpochOrder { seed, rng: LegacyRandom::seed(seed), drawn: 0, permutation: Vec::new(), train, batch_size };
        for _ in 0..epochs {
            order.next_epoch();
        }
        order
    }

    fn next_epoch(&mut self) {
        self.permutation = self.rng.permutation(self.train.len());
        self.drawn += 1;
    }

    /// Batch `k` of the epoch (the epoch's order drawn at its first batch).
    fn batch(&mut self, k: usize) -> (Ids, Ids) {
        if k == 0 {
            self.next_epoch();
        }
        let rows = &self.permutation[k * self.batch_size..(k + 1) * self.batch_size];
        (self.train.x.select(rows), self.train.t.select(rows))
    }
}

/// What `state-E.json` holds: where the order's stream stands after epoch E.
#[derive(Serialize, Deserialize, PartialEq, Debug)]
pub(super) struct SavedOrder {
    pub(super) seed: u32,
    pub(super) permutations_drawn: usize,
}

pub(super) fn save_order(path: &std::path::Path, order: SavedOrder) -> Result<()> {
    let json = serde_json::to_vec(&order).expect("order serializes");
    write_atomic(path, &json).map_err(|e| Error::write(path, e))
}

pub(super) fn load_order(path: &std::path::Path) -> Result<SavedOrder> {
    let bytes = std::fs::read(path).map_err(|e| unreadable(path, e))?;
    serde_json::from_slice(&bytes).map_err(|e| unreadable(path, e))
}

fn ids_tensor(ids: &Ids, device: &Device) -> Tensor<2, Int> {
    let data: Vec<i64> = ids.data.iter().map(|&v| v as i64).collect();
    Tensor::from_data(TensorData::new(data, [ids.rows, ids.cols]), device)
}

/// A training batch on the device: questions `[N, Tq]`, answers `[N, Ta]`.
#[derive(Clone, Debug)]
pub struct PairBatch {
    /// The questions, `[N, Tq]`.
    pub xs: Tensor<2, Int>,
    /// The answers, `[N, Ta]`.
    pub ts: Tensor<2, Int>,
}

/// Batch k of the epoch's order, on the device. One item per batch: the
/// DataLoader uses batch size 1 and the main thread, in order.
#[derive(Clone)]
pub(super) struct TrainBatcher(pub(super) Arc<Mutex<EpochOrder>>);

impl Batcher<usize, PairBatch> for TrainBatcher {
    fn batch(&self, items: Vec<usize>, device: &Device) -> PairBatch {
        assert_eq!(items.len(), 1, "one item per batch: build the DataLoader with batch_size(1)");
        let (x, t) = self.0.lock().expect("epoch order").batch(items[0]);
        PairBatch { xs: ids_tensor(&x, device), ts: ids_tensor(&t, device) }
    }
}

/// Test questions on the device, with their answers kept on the host.
#[derive(Clone, Debug)]
pub struct QuestionBatch {
    /// The questions, `[N, Tq]`.
    pub xs: Tensor<2, Int>,
    /// Their answers, on the host.
    pub answers: Ids,
}

/// Batch k of the test split, `eval_batch_size` questions (the last may be fewer).
#[derive(Clone)]
pub(super) struct TestBatcher {
    pub(super) test: Pairs,
    pub(super) batch_size: usize,
}

impl TestBatcher {
    pub(super) fn batches(&self) -> usize {
        self.test.len().div_ceil(self.batch_size)
    }
}

impl Batcher<usize, QuestionBatch> for TestBatcher {
    fn batch(&self, items: Vec<usize>, device: &Device) -> QuestionBatch {
        assert_eq!(items.len(), 1, "one item per batch: build the DataLoader with batch_size(1)");
        let from = items[0] * self.batch_size;
        let to = (from + self.batch_size).min(self.test.len());
        QuestionBatch { xs: ids_tensor(&self.test.x.range(from, to), device), answers: self.test.t.range(from, to) }
    }
}

/// The model as the Learner trains it: [`Seq2seq`] plus the run's state.
#[derive(Module, Debug)]
pub struct TrainingSeq2seq {
    /// The model trained.
    pub model: Seq2seq,
    #[module(skip)]
    pub(super) run: SharedRun,
    #[module(skip)]
    pub(super) max_grad: f64,
}

impl TrainStep for TrainingSeq2seq {
    type Input = PairBatch;
    type Output = LmOutput;

    fn step(&self, batch: PairBatch) -> TrainOutput<LmOutput> {
        let [n, ta] = batch.ts.dims();
        let device = batch.xs.device();
        let loss = self.model.forward(batch.xs, batch.ts);
        let value = loss.clone().into_scalar::<f32>() as f64;
        let mut run = self.run.0.lock().expect("run state");
        run.train_seen += 1;
        let output = LmOutput { loss: loss.clone().detach(), tokens: n * (ta - 1) };
        if !value.is_finite() {
            let (epoch, iteration) = (run.epoch, run.train_seen);
            run.fail(Error::Diverged { loss: value, epoch, iteration });
            return TrainOutput { grads: GradientsParams::new(), item: output };
        }
        run.train_loss_sum += value;
        if run.train_seen == run.train_iters {
            // Saved before Burn's checkpoint of the epoch, so that an epoch
            // whose model and optimizer files exist always has its order too.
            let (path, order) = {
                let order = run.order.lock().expect("epoch order");
                (run.dir.state(run.epoch), SavedOrder { seed: order.seed, permutations_drawn: order.drawn })
            };
            // and the kernels its products ran with, for a resumption to run with
            let layouts = || write_layouts(&run.dir.layouts(), &measure::chosen_on(&device));
            if let Err(e) = save_order(&path, order).and_then(|()| layouts()) {
                run.fail(e);
            }
        }
        drop(run);
        let grads = GradientsParams::from_grads(loss.backward(), &self.model);
        TrainOutput { grads, item: output }
    }

    fn optimize(self, optim: &mut ModuleOptimizer, lr: ModuleLearningRate, mut grads: GradientsParams) -> Self {
        clip_grads_global(&self, &mut grads, self.max_grad);
        optim.step(lr, self, grads)
    }
}

impl InferenceStep for TrainingSeq2seq {
    type Input = QuestionBatch;
    type Output = AnswerOutput;

    fn step(&self, batch: QuestionBatch) -> AnswerOutput {
        let answers = batch.answers;
        let steps = answers.cols - 1;
        let start = answers.row(0)[0];
        let guess = Ids { rows: answers.rows, cols: steps, data: self.model.generate(batch.xs, start, steps) };
        let correct = count_correct(&guess, &answers);
        let mut run = self.run.0.lock().expect("run state");
        run.correct += correct;
        run.answered += answers.rows;
        run.valid_seen += 1;
        if run.valid_seen == run.valid_iters
            && let Err(e) = run.end_of_epoch()
        {
            run.fail(e);
        }
        AnswerOutput { correct, total: answers.rows }
    }
}

/// A checkpoint every epoch; older ones pruned to the last N and the most accurate.
pub(super) struct Retention {
    pub(super) run: SharedRun,
    pub(super) keep: KeepCheckpoints,
}

impl CheckpointingStrategy for Retention {
    fn checkpointing(&mut self, _epoch: usize, _store: &EventStoreClient) -> Vec<CheckpointingAction> {
        let mut run = self.run.0.lock().expect("run state");
        let rows = run.rows.clone();
        let best = |complete: &[usize]| retention::best_accuracy(&rows, complete);
        if let Err(e) = retention::prune_checkpoints_keeping(&run.dir, best, retention::while_writing(self.keep)) {
            run.fail(e);
        }
        vec![CheckpointingAction::Save]
    }
}

/// The model's weights as saved at the end of `epoch`, loaded into `model`.
pub(super) fn load_checkpoint(run_dir: &RunDir, epoch: usize, model: &Seq2seq) -> Result<Seq2seq> {
    use burn::store::ModuleRecord;
    let path = run_dir.model_checkpoint(epoch);
    let record = ModuleRecord::checkpoint_from_bytes(read_bytes(&path)?).map_err(|e| unreadable(&path, e))?;
    let empty = Ids { rows: 0, cols: 0, data: Vec::new() };
    let order = EpochOrder::new(0, 0, Pairs { x: empty.clone(), t: empty }, 1);
    let run = SharedRun(Arc::new(Mutex::new(RunState::new(run_dir.clone(), epoch, Arc::new(Mutex::new(order))))));
    let wrapper = TrainingSeq2seq { model: model.clone(), run, max_grad: 1.0 };
    Ok(wrapper.try_load_record(record).map_err(|e| unreadable(&path, e))?.model)
}
