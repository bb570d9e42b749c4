//! The loss with the book's closed-form backward against Burn's autodiff of
//! its own log-softmax: same value, same gradient, on every backend.

mod common;

use burn::tensor::{Device, Int, Tensor, TensorData};
use rand::SeedableRng;
use rand::rngs::StdRng;
use rand_distr::{Distribution, StandardNormal};
use rnnlm::model::{cross_entropy_autodiff, softmax_with_loss};

/// Loss and gradient with respect to the scores, both ways.
fn both(device: &Device, logits: Tensor<3>, ts: Tensor<2, Int>) -> [(f64, Vec<f32>); 2] {
    let run = |f: fn(Tensor<3>, Tensor<2, Int>) -> Tensor<1>| {
        let x = Tensor::<3>::from_data(logits.to_data(), device).require_grad();
        let loss = f(x.clone(), ts.clone());
        let grads = loss.backward();
        let g = x.grad(&grads).expect("a gradient").try_into_vec_as::<f32>().unwrap();
        (loss.into_scalar::<f64>(), g)
    };
    [run(softmax_with_loss), run(cross_entropy_autodiff)]
}

/// f32 softmax over 10,000 scores: the loss to 1e-6 relative; each gradient
/// entry, of size up to 1/(N·T), to 1e-5 of the largest. Both sides sum a
/// row's 10,000 exponentials in f32 in different orders (the host loop in 8
/// lanes of 1,250 terms), and the sum's rounding, of order √1250·ε ≈ 2e-6
/// relative, scales the row's every entry: 6.3e-8 of a largest entry of 5e-2
/// (1.3e-6 of it) was seen once on Flex with other scores than these.
fn matches(device: &Device) {
    let device = device.clone().autodiff();
    let (n, t, v) = (4, 5, 10_000);
    // Fixed scores, N(0, 3): the test sees the same numbers every run.
    let mut rng = StdRng::seed_from_u64(7);
    let scores: Vec<f32> = (0..n * t * v)
        .map(|_| {
            let z: f32 = StandardNormal.sample(&mut rng);
            3.0 * z
        })
        .collect();
    let logits = Tensor::<3>::from_data(TensorData::new(scores, [n, t, v]), &device);
    let ids: Vec<i64> = (0..n * t).map(|i| (i * 997 % v) as i64).collect();
    let ts = Tensor::<2, Int>::from_data(TensorData::new(ids, [n, t]), &device);
    let [(loss, g), (loss_ad, g_ad)] = both(&device, logits, ts);
    assert!(((loss - loss_ad) / loss_ad).abs() < 1e-6, "loss {loss} vs autodiff {loss_ad}");
    let scale = g_ad.iter().fold(0f32, |m, x| m.max(x.abs()));
    let diff = g.iter().zip(&g_ad).fold(0f32, |m, (a, b)| m.max((a - b).abs()));
    assert!(diff <= 1e-5 * scale, "gradient: max diff {diff:e}, max |g| {scale:e}");
}

/// A target scored 200 below its row's maximum has probability e^-200, zero
/// in f32: the loss must still be the finite ≈200, not infinity.
fn finite_when_the_target_probability_underflows(device: &Device) {
    let device = device.clone().autodiff();
    let mut scores = vec![0f32; 2 * 8];
    scores[3] = 200.0; // row 0: the maximum at 3, the target 0 is 200 below
    let logits = Tensor::<3>::from_data(TensorData::new(scores, [1, 2, 8]), &device);
    let ts = Tensor::<2, Int>::from_data(TensorData::new(vec![0i64, 5], [1, 2]), &device);
    let [(loss, g), (loss_ad, g_ad)] = both(&device, logits, ts);
    assert!(loss.is_finite() && (loss - loss_ad).abs() < 1e-4 * loss_ad, "loss {loss} vs autodiff {loss_ad}");
    for (a, b) in g.iter().zip(&g_ad) {
        assert!((a - b).abs() < 1e-6, "gradient {g:?} vs {g_ad:?}");
    }
}

#[test]
fn flex_softmax_with_loss_matches_autodiff() {
    matches(&common::flex());
    finite_when_the_target_probability_underflows(&common::flex());
}

#[test]
fn ndarray_softmax_with_loss_matches_autodiff() {
    matches(&common::ndarray());
    finite_when_the_target_probability_underflows(&common::ndarray());
}

#[test]
fn wgpu_softmax_with_loss_matches_autodiff() {
    if let Some(device) = common::wgpu() {
        matches(&device);
        finite_when_the_target_probability_underflows(&device);
    }
}
