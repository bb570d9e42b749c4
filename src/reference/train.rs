//! The book's training loop, run on the manual-backward reference: the same
//! batches, the book's optimizers and `clip_grads`, one line per epoch.

use std::time::Instant;

use ndarray::Array2;

use super::{Optimizer, Rnnlm};
use crate::data::batches::{BatchIds, StreamBatches};

fn to_array(ids: &[u32], n: usize, t: usize) -> Array2<usize> {
    Array2::from_shape_vec((n, t), ids.iter().map(|&i| i as usize).collect()).expect("N*T ids")
}

/// The book's `eval_perplexity`: the state reset, then every batch of the
/// stream forward only, the state carried; returns the mean loss.
pub fn eval_loss(model: &mut Rnnlm<f32>, batches: &StreamBatches) -> f64 {
    model.reset_state();
    model.train = false;
    let mut total = 0.0;
    for k in 0..batches.iters() {
        let BatchIds { xs, ts, batch_size, time_size, .. } = batches.batch(k).expect("k < iters");
        total += model.forward(&to_array(&xs, batch_size, time_size), &to_array(&ts, batch_size, time_size)) as f64;
    }
    model.reset_state();
    total / batches.iters() as f64
}

/// One epoch's mean losses, as the book's loop prints them (perplexity is
/// their `exp`).
#[derive(Clone, Debug, PartialEq)]
pub struct Epoch {
    /// The epoch, from 1.
    pub epoch: usize,
    /// The mean training loss.
    pub train_loss: f64,
    /// The mean validation loss.
    pub valid_loss: f64,
    /// How long the epoch took.
    pub seconds: f64,
}

impl Epoch {
    /// `exp` of the training loss.
    pub fn train_perplexity(&self) -> f64 {
        self.train_loss.exp()
    }

    /// `exp` of the validation loss.
    pub fn valid_perplexity(&self) -> f64 {
        self.valid_loss.exp()
    }
}

/// Trains `model` for `epochs` epochs as the notebook does (state carried,
/// never reset, time_idx back to 0 each epoch), evaluating `valid` after each.
/// `on_epoch` sees each epoch's metrics as soon as they exist.
pub fn train(
    model: &mut Rnnlm<f32>,
    train: &StreamBatches,
    valid: &StreamBatches,
    optimizer: &mut dyn Optimizer<f32>,
    max_grad: f32,
    epochs: usize,
    mut on_epoch: impl FnMut(&Epoch),
) -> Result<Vec<Epoch>, String> {
    let mut rows = Vec::new();
    for epoch in 1..=epochs {
        let start = Instant::now();
        let mut total_loss = 0.0f64;
        for k in 0..train.iters() {
            let BatchIds { xs, ts, batch_size, time_size, .. } = train.batch(k).expect("k < iters");
            let (xs, ts) = (to_array(&xs, batch_size, time_size), to_array(&ts, batch_size, time_size));
            let loss = model.train_step(&xs, &ts, optimizer, Some(max_grad));
            if !loss.is_finite() {
                return Err(format!("the loss became {loss} at epoch {epoch}, iteration {}", k + 1));
            }
            total_loss += loss as f64;
        }
        let train_loss = total_loss / train.iters() as f64;
        // Validation has its own state: keep the training state aside.
        let carried = model.state();
        let valid_loss = eval_loss(model, valid);
        model.set_state(carried);
        let row = Epoch { epoch, train_loss, valid_loss, seconds: start.elapsed().as_secs_f64() };
        on_epoch(&row);
        rows.push(row);
    }
    Ok(rows)
}
