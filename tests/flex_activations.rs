//! The cells' activations, `tanh` and `sigmoid`, which `rnnlm::cpu` computes
//! on Flex 8 lanes at a time on CPUs with AVX2 and FMA
//! (`src/cpu/activation.rs`), are the f64 functions to
//! within 4ε relative (ε = f32::EPSILON; an absolute 1e-37 where the result
//! is below f32's normal range), on every layout a tensor can have, with NaN
//! and the infinities as the functions give them. (Not a bound every backend
//! meets: Burn's default `sigmoid`, which ndarray runs, is
//! `exp(-log1p(exp(-x)))`, whose error grows with |x|: 4.4ε at x = -14.7.)

mod common;

use burn::tensor::{Device, Tensor, TensorData};
use rnnlm::cpu::{sigmoid, tanh};

/// A dense sweep of [-30, 30], both branches of `tanh` (|x| < 0.625 and
/// above), the ends of `exp`'s range, and the special values.
fn inputs() -> Vec<f32> {
    let mut xs: Vec<f32> = (0..=120_000).map(|i| -30.0 + i as f32 * 5e-4).collect();
    xs.extend([
        0.0,
        -0.0,
        1e-30,
        -1e-30,
        1e-8,
        -3e-5,
        0.624_999_9,
        0.625,
        -0.625_000_1,
        9.1,
        -9.1,
        44.0,
        87.0,
        -87.0,
        88.5,
        -88.5,
        100.0,
        -100.0,
        f32::MAX,
        f32::MIN,
        f32::MIN_POSITIVE,
        f32::INFINITY,
        f32::NEG_INFINITY,
    ]);
    xs.resize(xs.len().next_multiple_of(4) + 3, 0.5); // a tail that is not a whole 8 lanes
    xs
}

fn check(label: &str, xs: &[f32], got: &[f32], exact: fn(f64) -> f64) {
    assert_eq!(xs.len(), got.len());
    for (&x, &y) in xs.iter().zip(got) {
        let want = exact(x as f64);
        if want.is_nan() {
            assert!(y.is_nan(), "{label}({x:e}) = {y:e}, not NaN");
            continue;
        }
        let err = (y as f64 - want).abs();
        let bound = 4.0 * f32::EPSILON as f64 * want.abs() + 1e-37;
        assert!(
            err <= bound || y as f64 == want,
            "{label}({x:e}) = {y:e}, exact {want:e}: error {err:e} over {bound:e}"
        );
    }
}

fn sigmoid_f64(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

/// `tanh` and `sigmoid` of the inputs laid out four ways: contiguous (in
/// place), a column block of a wider matrix (an LSTM gate's slice: runs of
/// contiguous elements), a transposed view, and the rows in reverse order
/// (a flipped view).
fn agrees(device: &Device) {
    let mut xs = inputs();
    xs.push(f32::NAN);
    xs.resize(xs.len().next_multiple_of(4), 0.25);
    let rows = xs.len() / 4;
    let t = |v: Vec<f32>, shape: [usize; 2]| Tensor::<2>::from_data(TensorData::new(v, shape), device);
    let values = |t: Tensor<2>| t.into_data().as_slice::<f32>().expect("f32").to_vec();
    for (label, op, exact) in [
        ("tanh", (|t: Tensor<2>| tanh(t)) as fn(Tensor<2>) -> Tensor<2>, f64::tanh as fn(f64) -> f64),
        ("sigmoid", |t: Tensor<2>| sigmoid(t), sigmoid_f64),
    ] {
        // contiguous [rows, 4]
        check(label, &xs, &values(op(t(xs.clone(), [rows, 4]))), exact);
        // the middle 4 columns of [rows, 12], whose other columns are 9s
        let wide: Vec<f32> =
            xs.chunks(4).flat_map(|r| [9.0; 4].into_iter().chain(r.iter().copied()).chain([9.0; 4])).collect();
        let block = t(wide, [rows, 12]).slice([0..rows, 4..8]);
        check(&format!("{label} of a column block"), &xs, &values(op(block)), exact);
        // the transpose of [4, rows] holding xs column by column
        let mut by_columns = vec![0.0; xs.len()];
        for (i, &x) in xs.iter().enumerate() {
            by_columns[(i % 4) * rows + i / 4] = x;
        }
        let transposed = t(by_columns, [4, rows]).transpose();
        check(&format!("{label} of a transposed view"), &xs, &values(op(transposed)), exact);
        // [rows, 4] with its rows stored last to first, flipped back
        let reversed: Vec<f32> = xs.chunks(4).rev().flatten().copied().collect();
        check(&format!("{label} of a flipped view"), &xs, &values(op(t(reversed, [rows, 4]).flip([0]))), exact);
    }
}

#[test]
fn flex_tanh_and_sigmoid_are_the_functions_to_4_epsilon() {
    agrees(&common::flex());
}
