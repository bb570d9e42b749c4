//! The Burn model against the manual-backward reference: same weights, same
//! data, same loss and gradients, on every backend this build has.

mod common;

use burn::tensor::Device;
use rnnlm::backend::Backend;
use rnnlm::check::{self, Report, Sizes};

fn assert_within(report: &Report) {
    print!("{}", check::format_report(report));
    assert!(!report.rows.is_empty());
    for row in &report.rows {
        assert!(row.ok(), "{}: relative error {:e} > {:e}", row.quantity, row.rel_err, row.tolerance);
    }
}

fn one_batch_small_and_seed_sizes(device: &Device, tol: f64) {
    assert_within(&check::burn_vs_reference(device, Sizes::SMALL, 1, true, tol, 11));
    assert_within(&check::burn_vs_reference(device, Sizes::SEED, 1, true, tol, 12));
}

fn three_batches_carried_and_reset(device: &Device, tol: f64) {
    let carried = check::burn_vs_reference(device, Sizes::SMALL, 3, true, tol, 13);
    assert_eq!(carried.rows.len(), 3 * 7);
    assert_within(&carried);
    assert_within(&check::burn_vs_reference(device, Sizes::SMALL, 3, false, tol, 14));
}

fn fifty_adam_steps(device: &Device) {
    assert_within(&check::trajectory(device, Sizes::SMALL, 50, 15));
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
    fifty_adam_steps(&common::ndarray());
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
    fifty_adam_steps(&common::flex());
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
        fifty_adam_steps(&device);
    }
}

#[test]
fn carrying_the_state_changes_the_next_batch() {
    // The carried-state comparisons above would prove nothing if the state
    // had no effect: the same batch from a carried state and from zeros must
    // give different losses.
    use rand::SeedableRng;
    use rnnlm::model::SimpleRnnlmConfig;
    let device = common::ndarray();
    let s = Sizes::SMALL;
    let w = check::check_weights(s, 17);
    let model = SimpleRnnlmConfig::new(s.vocab).with_wordvec_size(s.wordvec).with_hidden_size(s.hidden).init_with(&w, &device).unwrap();
    let mut rng = rand::rngs::StdRng::seed_from_u64(17);
    let mut batch = || check::ids_tensor(&check::random_ids(&mut rng, s.batch, s.time, s.vocab), &device);
    let (x1, t1, x2, t2) = (batch(), batch(), batch(), batch());
    let (_, h) = model.forward(x1, t1, None);
    let (carried, _) = model.forward(x2.clone(), t2.clone(), Some(h));
    let (reset, _) = model.forward(x2, t2, None);
    let (carried, reset) = (carried.into_scalar::<f64>(), reset.into_scalar::<f64>());
    assert!((carried - reset).abs() > 1e-4, "carried {carried} vs reset {reset}");
}
