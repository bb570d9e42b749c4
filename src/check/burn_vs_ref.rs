//! Burn against the manual-backward reference: the same weights, data and
//! dropout masks give the same loss and gradients (both ways Burn computes
//! them: each layer one autodiff node with the book's backward, and every op
//! through autodiff), the same LSTM and GRU layer outputs and gradients, and
//! the same optimizer trajectory.

use burn::optim::{GradientsParams, ModuleOptimizer};
use burn::tensor::{Device, Tensor, TensorData};
use ndarray::Array1;
use rand::SeedableRng;
use rand::rngs::StdRng;

use super::fixtures::{
    Sizes, arr2, arr3, burn_grads, check_weights, f64s, flat, ids_tensor, model_config, randn_f32, random_ids,
    random_masks, read, tensor,
};
use super::{Report, TRAJECTORY_TOLERANCE, nan_max, rel_err};
use crate::arch::ModelKind;
use crate::model::{Backprop, RecurrentState, Rnnlm};
use crate::optim::{BookAdam, clip_grads_global};
use crate::reference::{self, cell};

/// Burn's loss and gradients against the reference's for `model`, both
/// ways Burn computes them (each layer one node with the book's backward,
/// [`Backprop::Book`], as training runs it; and every op through autodiff,
/// [`Backprop::OpByOp`]), and the two against each other, over `batches`
/// consecutive batches (dropout masks shared). With `carry`, the last state
/// of each batch starts the next (detached on the Burn side, a plain array
/// on the reference side); without it both start every batch from zeros.
pub fn burn_vs_reference(
    device: &Device,
    model_kind: ModelKind,
    s: Sizes,
    batches: usize,
    carry: bool,
    tolerance: f64,
    seed: u64,
) -> Report {
    let mut report = Report::default();
    let s = s.for_model(model_kind);
    let w = check_weights(model_kind, s, seed);
    let device = device.clone().autodiff();
    let model = model_config(model_kind, s).init_with(&w, &device).expect("weights match config");
    let op_by_op = Rnnlm { backprop: Backprop::OpByOp, ..model.clone() };
    let sites = model.dropout_sites();
    let mut reference = reference::Rnnlm::<f64>::from_weights(&w, model.dropout, seed).expect("valid weights");
    let names: Vec<String> = w.arch.params().into_iter().map(|(n, _)| n).collect();
    let mut rng = StdRng::seed_from_u64(seed + 1);
    let mut state: Option<RecurrentState> = None;
    let mode = if carry { "carried" } else { "reset" };
    for k in 1..=batches {
        let xs = random_ids(&mut rng, s.batch, s.time, s.vocab);
        let ts = random_ids(&mut rng, s.batch, s.time, s.vocab);
        let (keep, masks) = random_masks(&w.arch, sites, s, &mut rng, &device);
        // Op by op, from the same state and masks as the nodes'.
        let (plain_loss, plain_last) =
            op_by_op.forward_masked(ids_tensor(&xs, &device), ids_tensor(&ts, &device), state.clone(), masks.clone());
        let plain_g = burn_grads(&op_by_op, &plain_loss.backward());
        let plain_loss = read(plain_loss)[0];
        let (loss, last) =
            model.forward_masked(ids_tensor(&xs, &device), ids_tensor(&ts, &device), state.take(), masks);
        let burn_g = burn_grads(&model, &loss.backward());
        let burn_loss = read(loss)[0];
        let handed_on = |s: &RecurrentState| s.tensors().into_iter().flat_map(read).collect::<Vec<f64>>();
        let label = format!("burn vs burn op-by-op {model_kind} {} state {mode} batch {k}", s.label());
        report.push(
            format!("{label}: state handed on"),
            rel_err(&handed_on(&last), &handed_on(&plain_last)),
            tolerance,
        );
        report.push(format!("{label}: loss"), ((burn_loss - plain_loss) / plain_loss).abs(), tolerance);
        for ((name, g), p) in names.iter().zip(&burn_g).zip(&plain_g) {
            report.push(format!("{label}: grad {name}"), rel_err(g, p), tolerance);
        }
        // Truncated BPTT: the next batch starts from this state's value, not its history.
        state = carry.then(|| last.detach());

        if !carry {
            reference.reset_state();
        }
        if sites > 0 {
            reference.set_next_masks(keep);
        }
        let ref_loss = reference.forward(&xs, &ts);
        reference.backward(1.0);
        // Both of Burn's ways against the reference's one backward.
        let ref_g: Vec<Vec<f64>> = reference.grads().iter().map(|r| r.iter().copied().collect()).collect();
        for (path, loss, g) in [("burn", burn_loss, &burn_g), ("burn op-by-op", plain_loss, &plain_g)] {
            let label = format!("{path} vs ref {model_kind} {} state {mode} batch {k}", s.label());
            report.push(format!("{label}: loss"), ((loss - ref_loss) / ref_loss).abs(), tolerance);
            for ((name, g), r) in names.iter().zip(g).zip(&ref_g) {
                report.push(format!("{label}: grad {name}"), rel_err(g, r), tolerance);
            }
        }
    }
    report
}

/// The update rule of a trajectory comparison.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum CheckOptimizer {
    /// The book's Adam.
    Adam {
        /// Its learning rate.
        lr: f64,
    },
    /// The book's SGD: `param -= lr·grad`.
    Sgd {
        /// Its learning rate.
        lr: f64,
    },
}

/// `steps` training steps of both implementations of `model` from identical
/// weights (dropout masks shared), global clipping at `max_grad`, state
/// carried. Compares the loss of every step.
pub fn trajectory(
    device: &Device,
    model_kind: ModelKind,
    s: Sizes,
    steps: usize,
    optimizer: CheckOptimizer,
    seed: u64,
) -> Report {
    let s = s.for_model(model_kind);
    let max_grad = match optimizer {
        CheckOptimizer::Adam { .. } => 5.0,
        CheckOptimizer::Sgd { .. } => 0.25, // the book's chapter-6 setting
    };
    let w = check_weights(model_kind, s, seed);
    let device = device.clone().autodiff();
    let mut model = model_config(model_kind, s).init_with(&w, &device).expect("weights match config");
    let sites = model.dropout_sites();
    let mut reference = reference::Rnnlm::<f64>::from_weights(&w, model.dropout, seed).expect("valid weights");
    let (lr, mut optim, mut ref_optim): (f64, ModuleOptimizer, Box<dyn reference::Optimizer<f64>>) = match optimizer {
        CheckOptimizer::Adam { lr } => {
            (lr, ModuleOptimizer::from(BookAdam::default()), Box::new(reference::Adam::new(lr)))
        }
        CheckOptimizer::Sgd { lr } => (lr, burn::optim::SgdConfig::new().init(), Box::new(reference::Sgd { lr })),
    };
    let mut rng = StdRng::seed_from_u64(seed + 2);
    let mut state: Option<RecurrentState> = None;
    let mut worst: f64 = 0.0;
    for _ in 0..steps {
        let xs = random_ids(&mut rng, s.batch, s.time, s.vocab);
        let ts = random_ids(&mut rng, s.batch, s.time, s.vocab);
        let (keep, masks) = random_masks(&w.arch, sites, s, &mut rng, &device);
        let (loss, last) =
            model.forward_masked(ids_tensor(&xs, &device), ids_tensor(&ts, &device), state.take(), masks);
        let mut grads = GradientsParams::from_grads(loss.backward(), &model);
        let burn_loss = read(loss)[0];
        clip_grads_global(&model, &mut grads, max_grad);
        model = optim.step(lr, model, grads);
        state = Some(last.detach());

        if sites > 0 {
            reference.set_next_masks(keep);
        }
        let ref_loss = reference.train_step(&xs, &ts, ref_optim.as_mut(), Some(max_grad));
        let e = ((burn_loss - ref_loss) / ref_loss).abs();
        worst = nan_max(worst, e);
    }
    let mut report = Report::default();
    let what = match optimizer {
        CheckOptimizer::Adam { lr } => format!("Adam lr {lr}"),
        CheckOptimizer::Sgd { lr } => format!("SGD lr {lr}"),
    };
    report.push(
        format!("trajectory {model_kind} {} {steps} steps {what}, clip {max_grad}, state carried: loss", s.label()),
        worst,
        TRAJECTORY_TOLERANCE,
    );
    report
}

/// The Burn LSTM and GRU time layers against the reference's, from the same
/// weights, inputs and starting state: the hidden states and every gradient
/// of `loss = Σ hs ⊙ R` (R random), including those of the inputs and of the
/// starting state.
pub fn recurrent_layers_burn_vs_reference(device: &Device, s: Sizes, tolerance: f64, seed: u64) -> Report {
    use crate::arch::CellKind;
    use crate::model::{Backprop, LayerState, Recurrent};
    let mut report = Report::default();
    let (n, t, d, h) = (s.batch, s.time, s.wordvec, s.hidden);
    let device = device.clone().autodiff();
    let plain_label = format!("burn vs burn op-by-op N={n} T={t} D={d} H={h}");
    for (name, cell) in [("TimeLSTM", CellKind::Lstm), ("TimeGRU", CellKind::Gru)] {
        let (g, lstm) = (cell.gates(), cell == CellKind::Lstm);
        let mut rng = StdRng::seed_from_u64(seed + g as u64);
        let wx = randn_f32(&mut rng, d * g * h, 1.0 / (d as f64).sqrt());
        let wh = randn_f32(&mut rng, h * g * h, 1.0 / (h as f64).sqrt());
        let b = randn_f32(&mut rng, g * h, 0.1);
        let xs = randn_f32(&mut rng, n * t * d, 1.0);
        let h0 = randn_f32(&mut rng, n * h, 0.5);
        let c0 = randn_f32(&mut rng, n * h, 0.5);
        let r = randn_f32(&mut rng, n * t * h, 1.0);

        // Burn, both ways: the gradients of Σ hs ⊙ R, from (h0, c0) for the LSTM, h0 for the GRU.
        let layer = Recurrent::init_with(cell, d, h, &wx, &wh, &b, &device);
        let burn = |backprop: Backprop| {
            let (xs_t, h0_t, c0_t) =
                (tensor(&xs, [n, t, d], &device), tensor(&h0, [n, h], &device), tensor(&c0, [n, h], &device));
            let r_t = Tensor::<3>::from_data(TensorData::new(r.clone(), [n, t, h]), &device);
            let state = LayerState { h: h0_t.clone(), c: lstm.then(|| c0_t.clone()) };
            let (hs, _) = layer.forward(xs_t.clone(), Some(state), backprop);
            let grads = (hs.clone() * r_t).sum().backward();
            let (p_wx, p_wh, p_b) = layer.params();
            let mut got = vec![
                read(hs),
                read(p_wx.val().grad(&grads).expect("grad")),
                read(p_wh.val().grad(&grads).expect("grad")),
                read(p_b.val().grad(&grads).expect("grad")),
                read(xs_t.grad(&grads).expect("grad")),
                read(h0_t.grad(&grads).expect("grad")),
            ];
            if lstm {
                got.push(read(c0_t.grad(&grads).expect("grad")));
            }
            got
        };
        let (book, plain) = (burn(Backprop::Book), burn(Backprop::OpByOp));

        // The reference: forward from the same state, backward from R.
        let params = cell::CellParams { wx: arr2(&wx, d, g * h), wh: arr2(&wh, h, g * h), b: Array1::from(f64s(&b)) };
        let mut reference = reference::TimeRecurrent::new(cell, params);
        let state = if lstm { vec![arr2(&h0, n, h), arr2(&c0, n, h)] } else { vec![arr2(&h0, n, h)] };
        reference.set_state(Some(state));
        let ref_hs = reference.forward(&arr3(&xs, n, t, d));
        let ref_dxs = reference.backward(&arr3(&r, n, t, h));
        let mut expected: Vec<Vec<f64>> = vec![flat(&ref_hs)];
        expected.extend(reference.grads().iter().map(flat));
        expected.push(flat(&ref_dxs));
        expected.extend(reference.dstate().expect("after a backward").iter().map(flat));

        let whats = ["hs", "dWx", "dWh", "db", "dxs", "dh0", "dc0"];
        for ((what, got), want) in whats.iter().zip(&book).zip(&plain) {
            report.push(format!("{plain_label}: {name} {what}"), rel_err(got, want), tolerance);
        }
        for (path, got) in [("burn", &book), ("burn op-by-op", &plain)] {
            for ((what, got), want) in whats.iter().zip(got).zip(&expected) {
                report.push(
                    format!("{path} vs ref N={n} T={t} D={d} H={h}: {name} {what}"),
                    rel_err(got, want),
                    tolerance,
                );
            }
        }
    }
    report
}
