//! The Burn model against the manual-backward reference: same weights, same
//! data, same loss and gradients, on every backend this build has.

mod common;

use burn::tensor::Device;
use rnnlm::arch::ModelKind;
use rnnlm::backend::Backend;
use rnnlm::check::{self, CheckOptimizer, Report, Sizes};

fn assert_within(report: &Report) {
    print!("{}", check::format_report(report));
    assert!(!report.rows.is_empty());
    for row in &report.rows {
        assert!(row.ok(), "{}: relative error {:e} > {:e}", row.quantity, row.rel_err, row.tolerance);
    }
}

fn one_batch_small_and_seed_sizes(device: &Device, tol: f64) {
    for model in ModelKind::ALL {
        assert_within(&check::burn_vs_reference(device, model, Sizes::SMALL, 1, true, tol, 11));
        assert_within(&check::burn_vs_reference(device, model, Sizes::SEED, 1, true, tol, 12));
    }
}

fn three_batches_carried_and_reset(device: &Device, tol: f64) {
    for model in ModelKind::ALL {
        let carried = check::burn_vs_reference(device, model, Sizes::SMALL, 3, true, tol, 13);
        // per batch: the loss and every parameter's gradient of the nodes
        // against op by op, of each against the reference, and the state the
        // nodes hand on against op by op
        let params = check::model_config(model, Sizes::SMALL.for_model(model)).architecture().params().len();
        assert_eq!(carried.rows.len(), 3 * (3 * (1 + params) + 1));
        assert_within(&carried);
        assert_within(&check::burn_vs_reference(device, model, Sizes::SMALL, 3, false, tol, 14));
    }
}

fn fifty_steps_with_adam_and_sgd(device: &Device) {
    for model in ModelKind::ALL {
        assert_within(&check::trajectory(device, model, Sizes::SMALL, 50, CheckOptimizer::Adam { lr: 1e-3 }, 15));
        assert_within(&check::trajectory(device, model, Sizes::SMALL, 50, CheckOptimizer::Sgd { lr: 1.0 }, 16));
    }
}

#[test]
fn ndarray_loss_and_gradients_match_the_reference() {
    one_batch_small_and_seed_sizes(&common::ndarray(), check::tolerance_for(Backend::Ndarray));
}

#[test]
fn ndarray_matches_over_carried_and_reset_batches() {
    three_batches_carried_and_reset(&common::ndarray(), check::tolerance_for(Backend::Ndarray));
}

#[test]
fn ndarray_training_trajectory_matches_for_50_steps() {
    fifty_steps_with_adam_and_sgd(&common::ndarray());
}

#[test]
fn flex_loss_and_gradients_match_the_reference() {
    one_batch_small_and_seed_sizes(&common::flex(), check::tolerance_for(Backend::Flex));
}

#[test]
fn flex_matches_over_carried_and_reset_batches() {
    three_batches_carried_and_reset(&common::flex(), check::tolerance_for(Backend::Flex));
}

#[test]
fn flex_training_trajectory_matches_for_50_steps() {
    fifty_steps_with_adam_and_sgd(&common::flex());
}

#[test]
fn wgpu_loss_and_gradients_match_the_reference() {
    if let Some(device) = common::wgpu() {
        one_batch_small_and_seed_sizes(&device, check::tolerance_for(Backend::Wgpu));
    }
}

#[test]
fn wgpu_matches_over_carried_and_reset_batches() {
    if let Some(device) = common::wgpu() {
        three_batches_carried_and_reset(&device, check::tolerance_for(Backend::Wgpu));
    }
}

#[test]
fn wgpu_training_trajectory_matches_for_50_steps() {
    if let Some(device) = common::wgpu() {
        fifty_steps_with_adam_and_sgd(&device);
    }
}

#[test]
fn carrying_the_state_changes_the_next_batch() {
    // The carried-state comparisons above would prove nothing if the state
    // had no effect: the same batch from a carried state and from zeros must
    // give different losses.
    use rand::SeedableRng;
    let device = common::ndarray();
    let s = Sizes::SMALL;
    let w = check::check_weights(ModelKind::Rnn, s, 17);
    let model = check::model_config(ModelKind::Rnn, s).init_with(&w, &device).unwrap();
    let mut rng = rand::rngs::StdRng::seed_from_u64(17);
    let mut batch = || check::ids_tensor(&check::random_ids(&mut rng, s.batch, s.time, s.vocab), &device);
    let (x1, t1, x2, t2) = (batch(), batch(), batch(), batch());
    let (_, h) = model.forward(x1, t1, None);
    let (carried, _) = model.forward(x2.clone(), t2.clone(), Some(h));
    let (reset, _) = model.forward(x2, t2, None);
    let (carried, reset) = (carried.into_scalar::<f64>(), reset.into_scalar::<f64>());
    assert!((carried - reset).abs() > 1e-4, "carried {carried} vs reset {reset}");
}

fn lstm_and_gru_layers(device: &Device, tol: f64) {
    let small = check::recurrent_layers_burn_vs_reference(device, Sizes::SMALL, tol, 21);
    // LSTM: hs, dWx, dWh, db, dxs, dh0, dc0; GRU: the same without dc0; each
    // of the nodes against op by op, and of both against the reference
    assert_eq!(small.rows.len(), 3 * 13);
    assert_within(&small);
    assert_within(&check::recurrent_layers_burn_vs_reference(device, Sizes::SEED, tol, 22));
}

#[test]
fn flex_lstm_and_gru_layers_match_the_reference() {
    lstm_and_gru_layers(&common::flex(), check::tolerance_for(Backend::Flex));
}

#[test]
fn ndarray_lstm_and_gru_layers_match_the_reference() {
    lstm_and_gru_layers(&common::ndarray(), check::tolerance_for(Backend::Ndarray));
}

#[test]
fn wgpu_lstm_and_gru_layers_match_the_reference() {
    if let Some(device) = common::wgpu() {
        lstm_and_gru_layers(&device, check::tolerance_for(Backend::Wgpu));
    }
}
