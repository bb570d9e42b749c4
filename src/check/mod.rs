//! The proof that the Burn model is right: it is compared with the
//! manual-backward reference (same weights, same data), and the reference is
//! compared with central finite differences.
//!
//! Every comparison gives a [`Row`]: a quantity, its largest relative error and
//! the tolerance it must meet. Gradients are compared per tensor as
//! `max|g − g_ref| / max|g_ref|`, which does not blow up on entries that are
//! near zero.

mod burn_vs_ref;
mod finite_diff;
pub mod fixtures;
mod seq2seq;

pub use burn_vs_ref::{CheckOptimizer, burn_vs_reference, recurrent_layers_burn_vs_reference, trajectory};
pub use finite_diff::{reference_model_vs_finite_differences, reference_vs_finite_differences};
pub use fixtures::{CHECK_DROPOUT, Sizes, burn_grads, check_weights, ids_tensor, model_config, random_ids};
pub use seq2seq::{
    Seq2seqSizes, seq2seq_burn_vs_reference, seq2seq_check_weights, seq2seq_reference_vs_finite_differences,
};

use burn::tensor::Device;

use crate::arch::{ModelKind, Seq2seqKind};

/// Finite differences in f64 must agree with the reference's backward to
/// this relative error.
pub const FD_TOLERANCE: f64 = 1e-6;
/// The step of the central differences. The truncation error is O(ε²)·f''' and
/// the rounding error about 1e-16·|loss|/ε, both measured against the largest
/// gradient entry of a tensor. The smallest such entry is BetterRnnlm's first
/// `Wx` (2.7e-5: its inputs are word vectors of scale 0.01), where ε = 1e-5
/// leaves 2.7e-6 of rounding; at 1e-4 every row stays below 3e-7.
pub const FD_EPSILON: f64 = 1e-4;
/// Optimizer trajectories (loss per step) must agree to this relative error.
pub const TRAJECTORY_TOLERANCE: f64 = 1e-4;

/// One compared quantity.
#[derive(Clone, Debug)]
pub struct Row {
    /// What was compared, e.g. `burn vs ref N=3 T=4 V=50 D=8 H=7 batch 1: grad rnn.Wh`.
    pub quantity: String,
    /// Its largest relative error.
    pub rel_err: f64,
    /// The tolerance it must meet.
    pub tolerance: f64,
}

impl Row {
    /// Whether the error is within tolerance (a NaN never is).
    pub fn ok(&self) -> bool {
        self.rel_err <= self.tolerance
    }
}

/// The rows of a whole check.
#[derive(Clone, Debug, Default)]
pub struct Report {
    /// One row per comparison, in the order run.
    pub rows: Vec<Row>,
}

impl Report {
    /// The largest relative error of all rows (NaN if any is NaN).
    pub fn max_rel_err(&self) -> f64 {
        self.rows.iter().map(|r| r.rel_err).fold(0.0, nan_max)
    }

    /// Whether every row is within its tolerance.
    pub fn passed(&self) -> bool {
        !self.rows.is_empty() && self.rows.iter().all(Row::ok)
    }

    pub(super) fn push(&mut self, quantity: impl Into<String>, rel_err: f64, tolerance: f64) {
        self.rows.push(Row { quantity: quantity.into(), rel_err, tolerance });
    }
}

/// The maximum, where a NaN on either side wins (`f64::max` would drop it).
pub(super) fn nan_max(a: f64, b: f64) -> f64 {
    if a.is_nan() || b.is_nan() { f64::NAN } else { a.max(b) }
}

/// `max|a − b| / max|b|` (0 when both are all zeros).
pub fn rel_err(a: &[f64], b: &[f64]) -> f64 {
    assert_eq!(a.len(), b.len(), "compared tensors differ in size");
    let diff = a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0.0, nan_max);
    let scale = b.iter().map(|y| y.abs()).fold(0.0, f64::max);
    if diff == 0.0 { 0.0 } else { diff / scale }
}

/// Which comparisons to run.
#[derive(Clone, Debug)]
pub struct CheckOptions {
    /// The language models to check.
    pub models: Vec<ModelKind>,
    /// The encoder-decoders to check (chapter 7).
    pub encoder_decoders: Vec<Seq2seqKind>,
    /// Also compare at the notebook's sizes (V = 10,000), which takes longer.
    pub seed_sizes: bool,
    /// Optimizer steps compared in the trajectory check.
    pub steps: usize,
    /// Seed of the weights and data.
    pub seed: u64,
}

impl Default for CheckOptions {
    fn default() -> Self {
        Self {
            models: ModelKind::ALL.to_vec(),
            encoder_decoders: Seq2seqKind::ALL.to_vec(),
            seed_sizes: true,
            steps: 50,
            seed: 0,
        }
    }
}

/// The tolerance of Burn-vs-reference gradients on a device: f32 on the CPU
/// stays near 1e-6; GPU kernels reorder sums (and may fuse), so allow 1e-4.
pub fn tolerance_for(backend: crate::backend::Backend) -> f64 {
    match backend {
        crate::backend::Backend::Flex | crate::backend::Backend::Ndarray => 1e-5,
        crate::backend::Backend::Wgpu => 1e-4,
    }
}

/// Every comparison: each reference layer against finite differences, the
/// Burn LSTM and GRU layers against the reference's, then for each model the
/// reference model against finite differences and Burn on `device` against
/// the reference (one batch and three carried batches at the small sizes,
/// three reset batches, one batch at the notebook's sizes) and 50-step
/// trajectories with Adam and with SGD; for each encoder-decoder the
/// reference against finite differences and Burn against the reference
/// (three batches at the small sizes, one at the book's: `train_seq2seq.py`'s
/// on addition, `ch08/train.py`'s on dates for attention).
pub fn run(device: &Device, tolerance: f64, opts: &CheckOptions) -> Report {
    let mut report = reference_vs_finite_differences(opts.seed);
    let seed = opts.seed;
    report.rows.extend(recurrent_layers_burn_vs_reference(device, Sizes::SMALL, tolerance, seed).rows);
    if opts.seed_sizes {
        report.rows.extend(recurrent_layers_burn_vs_reference(device, Sizes::SEED, tolerance, seed).rows);
    }
    for &model in &opts.models {
        report.rows.extend(reference_model_vs_finite_differences(model, seed).rows);
        report.rows.extend(burn_vs_reference(device, model, Sizes::SMALL, 3, true, tolerance, seed).rows);
        report.rows.extend(burn_vs_reference(device, model, Sizes::SMALL, 3, false, tolerance, seed).rows);
        if opts.seed_sizes {
            report.rows.extend(burn_vs_reference(device, model, Sizes::SEED, 1, true, tolerance, seed).rows);
        }
        if opts.steps > 0 {
            report.rows.extend(
                trajectory(device, model, Sizes::SMALL, opts.steps, CheckOptimizer::Adam { lr: 1e-3 }, seed).rows,
            );
            report.rows.extend(
                trajectory(device, model, Sizes::SMALL, opts.steps, CheckOptimizer::Sgd { lr: 1.0 }, seed).rows,
            );
        }
    }
    for &kind in &opts.encoder_decoders {
        report.rows.extend(seq2seq_reference_vs_finite_differences(kind, seed).rows);
        report.rows.extend(seq2seq_burn_vs_reference(device, kind, Seq2seqSizes::SMALL, 3, tolerance, seed).rows);
        if opts.seed_sizes {
            report
                .rows
                .extend(seq2seq_burn_vs_reference(device, kind, Seq2seqSizes::book(kind), 1, tolerance, seed).rows);
        }
    }
    report
}

/// Formats a report as the `check` command prints it: one row per quantity,
/// then `max relative error: <value>`.
pub fn format_report(report: &Report) -> String {
    let mut out = String::new();
    for r in &report.rows {
        out.push_str(&format!(
            "{:<4} {:>10.3e} (tol {:.0e})  {}\n",
            if r.ok() { "ok" } else { "FAIL" },
            r.rel_err,
            r.tolerance,
            r.quantity
        ));
    }
    out.push_str(&format!("max relative error: {:.3e}\n", report.max_rel_err()));
    out
}
