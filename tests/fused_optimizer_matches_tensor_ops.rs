//! On the CPU backends the book's clipping and Adam run as single loops over
//! host memory. They must compute what the plain Burn tensor-op form computes.

mod common;

use burn::optim::{GradientsParams, ModuleOptimizer, Optimizer};
use burn::tensor::{Device, Distribution, Tensor};
use rand::SeedableRng;
use rnnlm::arch::ModelKind;
use rnnlm::check::{self, Sizes, ids_tensor, random_ids};
use rnnlm::model::Rnnlm;
use rnnlm::optim::{AdamState, BookAdam, clip_grads_global_with};

/// One Adam step on one tensor, three times over (so the moments are not
/// zero): the fused loop performs the same f32 operations in the same order as
/// the tensor ops, so the results are equal bit for bit.
fn adam_step_is_bitwise_equal(device: &Device) {
    let p0 = Tensor::<2>::random([300, 70], Distribution::Normal(0.0, 1.0), device);
    let (fused, plain) = (BookAdam::default(), BookAdam::unfused());
    let (mut pf, mut pp) = (p0.clone(), p0);
    let (mut sf, mut sp) = (None, None);
    for step in 0..3 {
        let g = Tensor::<2>::random([300, 70], Distribution::Normal(0.0, 0.1 * (step + 1) as f64), device);
        (pf, sf) = fused.step(1e-3, pf, g.clone(), sf);
        (pp, sp) = plain.step(1e-3, pp, g, sp);
    }
    let (a, b) = (pf.into_data(), pp.into_data());
    assert_eq!(a.as_slice::<f32>().unwrap(), b.as_slice::<f32>().unwrap());
    let (Some(AdamState::Live(sf)), Some(AdamState::Live(sp))) = (sf, sp) else {
        panic!("a step leaves the state on the parameter's device")
    };
    assert_eq!(sf.time, sp.time);
    assert_eq!(sf.moment_2.into_data().as_slice::<f32>().unwrap(), sp.moment_2.into_data().as_slice::<f32>().unwrap());
}

/// Adam's state as a checkpoint holds it, read back: it stays in host memory
/// (no device is picked for it) until the next step puts it on the
/// parameter's own device, and that step is the one the state never saved
/// would have made, bit for bit.
fn adam_state_read_back_steps_as_the_state_kept(device: &Device) {
    use burn::optim::{RecordState, StateSink, StateSource};
    let adam = BookAdam::default();
    let p = Tensor::<2>::random([40, 30], Distribution::Normal(0.0, 1.0), device);
    let g = |s: f64| Tensor::<2>::random([40, 30], Distribution::Normal(0.0, s), device);
    let (mut p, mut state) = (p, None);
    for s in [0.1, 0.2] {
        (p, state) = adam.step(1e-3, p, g(s), state);
    }
    let kept = state.expect("a state after two steps");
    let mut sink = StateSink::default();
    kept.state_flatten("7", &mut sink);
    let mut source = StateSource::new(sink.scalars.into_iter().collect());
    for (name, data) in sink.tensors {
        source.insert_tensor(name, data);
    }
    // Read with a device argument that is not the parameter's: it is not used.
    let read = AdamState::<2>::state_unflatten("7", &mut source, &Device::default()).expect("a complete state");
    assert!(matches!(read, AdamState::Read { time: 2, .. }));
    let grad = g(0.3);
    let (from_kept, kept) = adam.step(1e-3, p.clone(), grad.clone(), Some(kept));
    let (from_read, read) = adam.step(1e-3, p, grad, Some(read));
    assert_eq!(from_kept.into_data().as_slice::<f32>().unwrap(), from_read.into_data().as_slice::<f32>().unwrap());
    let (Some(AdamState::Live(k)), Some(AdamState::Live(r))) = (kept, read) else { panic!("stepped states are live") };
    assert_eq!((k.time, r.time), (3, 3));
    assert_eq!(r.moment_1.device(), *device);
    assert_eq!(k.moment_1.into_data().as_slice::<f32>().unwrap(), r.moment_1.into_data().as_slice::<f32>().unwrap());
}

fn params(model: &Rnnlm) -> Vec<Vec<f32>> {
    model.weights().tensors
}

/// A clipping threshold below the gradient norms of these sizes (about 0.5 to 1),
/// so that every step clips.
const MAX_NORM: f64 = 0.1;

/// Thirty training steps of the model with clipping at a norm small enough
/// to clip at every step: host loops against tensor ops. The global norm is
/// summed in f64 on the host and in f32 by the tensor ops, so the clipping
/// factor may differ in its last bits; 1e-5 of the largest parameter is f32
/// rounding compounded over 30 steps, far below the size of one update
/// (lr = 1e-3).
fn training_steps_match(device: &Device) {
    let s = Sizes::SMALL;
    let device = device.clone().autodiff();
    let w = check::check_weights(ModelKind::Rnn, s, 21);
    let cfg = check::model_config(ModelKind::Rnn, s);
    let mut fused = cfg.init_with(&w, &device).unwrap();
    let mut plain = cfg.init_with(&w, &device).unwrap();
    let mut opt_fused = ModuleOptimizer::from(BookAdam::default());
    let mut opt_plain = ModuleOptimizer::from(BookAdam::unfused());
    let mut rng = rand::rngs::StdRng::seed_from_u64(21);
    let mut clipped = 0;
    for _ in 0..30 {
        let xs = ids_tensor(&random_ids(&mut rng, s.batch, s.time, s.vocab), &device);
        let ts = ids_tensor(&random_ids(&mut rng, s.batch, s.time, s.vocab), &device);
        let step = |model: Rnnlm, optim: &mut ModuleOptimizer, on_host: bool| {
            let (loss, _) = model.forward(xs.clone(), ts.clone(), None);
            let mut grads = GradientsParams::from_grads(loss.backward(), &model);
            let norm = clip_grads_global_with(&model, &mut grads, MAX_NORM, on_host);
            (optim.step(1e-3, model, grads), norm)
        };
        let (f, norm_f) = step(fused, &mut opt_fused, true);
        let (p, norm_p) = step(plain, &mut opt_plain, false);
        assert!((norm_f - norm_p).abs() <= 1e-5 * norm_p, "norms {norm_f} vs {norm_p}");
        clipped += usize::from(norm_p > MAX_NORM);
        (fused, plain) = (f, p);
    }
    assert_eq!(clipped, 30, "every step should have clipped");
    for (a, b) in params(&fused).iter().zip(params(&plain)) {
        let scale = b.iter().fold(0f32, |m, x| m.max(x.abs()));
        let diff = a.iter().zip(&b).fold(0f32, |m, (x, y)| m.max((x - y).abs()));
        assert!(diff <= 1e-5 * scale, "max |fused - plain| = {diff:e}, max |plain| = {scale}");
    }
    // The comparison is not vacuous: the models did move.
    let start = cfg.init_with(&w, &device).unwrap();
    assert_ne!(params(&start)[2], params(&plain)[2]);
}

#[test]
fn flex_fused_adam_step_is_bitwise_equal_to_tensor_ops() {
    adam_step_is_bitwise_equal(&common::flex());
}

#[test]
fn ndarray_fused_adam_step_is_bitwise_equal_to_tensor_ops() {
    adam_step_is_bitwise_equal(&common::ndarray());
}

#[test]
fn adam_state_read_back_steps_on_the_parameters_device() {
    for device in [common::flex(), common::ndarray()] {
        adam_state_read_back_steps_as_the_state_kept(&device);
    }
}

#[test]
fn flex_fused_training_steps_match_tensor_ops() {
    training_steps_match(&common::flex());
}

#[test]
fn ndarray_fused_training_steps_match_tensor_ops() {
    training_steps_match(&common::ndarray());
}
