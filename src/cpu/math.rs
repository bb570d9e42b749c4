//! `exp`, `sigmoid` and `tanh` of f32 for the CPU kernels that work on host
//! memory (the softmax with loss, the LSTM's gates), written without branches
//! so that the compiler runs them 8 lanes at a time where the CPU has AVX2,
//! and without fused multiply-adds, so that those lanes round as the scalar
//! code does.

// `e^x` for `x ≤ 88` (the softmax's `x − max`, the gates' `−x`), to about 2 ulp: `x = n·ln2 + r` with
// `|r| ≤ ln2/2`, `e^r` by Cephes' degree-6 polynomial, `2^n` put in the
// exponent bits. Below −87.3, where e^x leaves the normal range of f32, it
// returns e^−87.3 ≈ 1e−38 instead of a denormal or zero: no difference to a
// sum that holds at least e^0 = 1, nor to `1 + e^x`. The softmax's AVX2 rows
// (`softmax_with_loss/avx2.rs`) have the same `exp`, 8 lanes wide.
pub(super) const EXP_MIN: f32 = -87.3;
pub(super) const LOG2E: f32 = std::f32::consts::LOG2_E;
pub(super) const LN2_HI: f32 = 0.693_359_4;
pub(super) const LN2_LO: f32 = -2.121_944_4e-4;
/// Adding and subtracting 1.5·2^23 rounds to the nearest integer.
pub(super) const ROUND: f32 = 12_582_912.0;
/// Cephes' coefficients, highest degree first (its 5.0000001e-1 is 0.5 in f32).
pub(super) const EXP_POLY: [f32; 6] =
    [1.987_569_1e-4, 1.398_199_9e-3, 8.333_452e-3, 4.166_579_6e-2, 1.666_666_5e-1, 0.5];
/// `n + 127` added to 2^23 lands in the low mantissa bits, which a shift by
/// 23 moves into the exponent field: 2^n.
pub(super) const EXP_BIAS: f32 = 8_388_735.0;

pub(super) fn exp(x: f32) -> f32 {
    let x = if x < EXP_MIN { EXP_MIN } else { x };
    let n = (x * LOG2E + ROUND) - ROUND;
    let r = x - n * LN2_HI - n * LN2_LO;
    let p = EXP_POLY[1..].iter().fold(EXP_POLY[0], |p, &c| p * r + c);
    let er = p * r * r + r + 1.0;
    er * f32::from_bits((n + EXP_BIAS).to_bits() << 23)
}

/// The largest argument given to [`exp`]: `e^88 ≈ 1.65e38` is finite, and
/// beyond `88.7` the power of two would leave the exponent field.
const EXP_MAX: f32 = 88.0;

/// `1 / (1 + e^−x)`. Below `x = −88`, `e^−x` is held at `e^88` (the result,
/// about 6e−39, is then off by at most 1e−39); NaN gives NaN.
#[inline(always)]
pub(super) fn sigmoid(x: f32) -> f32 {
    let y = -x;
    let y = if y > EXP_MAX { EXP_MAX } else { y };
    1.0 / (1.0 + exp(y))
}

/// Cephes' odd polynomial for `tanh` below `|x| = 0.625` (as f32), highest degree
/// first: `tanh x = x + x·z·P(z)`, `z = x²`.
const TANH_POLY: [f32; 5] = [-5.704_988_7e-3, 2.063_909e-2, -5.373_971_6e-2, 1.333_144_2e-1, -3.333_328e-1];
/// Where `1 − 2 / (e^2|x| + 1)` stops cancelling.
const TANH_SMALL: f32 = 0.625;

/// `tanh x`: `1 − 2 / (e^2|x| + 1)` with the sign of `x`, and Cephes'
/// polynomial below `|x| = 0.625`, where that form would cancel. Both are
/// computed and one is chosen, so that the lanes need no branch. ±∞ give ±1,
/// NaN gives NaN.
#[inline(always)]
pub(super) fn tanh(x: f32) -> f32 {
    let a = x.abs();
    let z = a * a;
    let p = TANH_POLY[1..].iter().fold(TANH_POLY[0], |p, &c| p * z + c);
    let small = p * z * a + a;
    let two_a = a + a;
    let e = exp(if two_a > EXP_MAX { EXP_MAX } else { two_a });
    let large = 1.0 - 2.0 / (e + 1.0);
    let t = if a < TANH_SMALL { small } else { large };
    t.copysign(x)
}

/// `len` test values in [−`spread`, `spread`] from a fixed xorshift (`seed`
/// 0: the sequence the softmax's tests were written with), for the kernels'
/// tests.
#[cfg(test)]
pub(super) fn test_values(len: usize, spread: f32, seed: u64) -> Vec<f32> {
    let mut state = 0x2545_f491_4f6c_dd1d ^ seed;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            ((state >> 40) as f32 / (1u64 << 24) as f32 * 2.0 - 1.0) * spread
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exp_is_within_3_ulp_of_the_library_exp() {
        let mut worst = 0f64;
        for i in 0..=870_000 {
            let x = -(i as f32) * 1e-4; // 0 down to -87
            let (fast, exact) = (f64::from(exp(x)), f64::from(x).exp());
            worst = worst.max(((fast - exact) / exact).abs());
        }
        assert!(worst < 3.0 * f64::from(f32::EPSILON), "worst relative error {worst:e}");
    }

    /// A dense sweep of [−30, 30], both branches of `tanh`, the ends of
    /// `exp`'s range and the special values.
    fn inputs() -> Vec<f32> {
        let mut xs: Vec<f32> = (0..=120_000).map(|i| -30.0 + i as f32 * 5e-4).collect();
        xs.extend([0.0, -0.0, 1e-30, -1e-30, 1e-8, -3e-5, 0.624_999_9, 0.625, -0.625_000_1, 9.1, -9.1]);
        xs.extend([44.0, 87.0, -87.0, 88.5, -88.5, 100.0, -100.0, f32::MAX, f32::MIN, f32::MIN_POSITIVE]);
        xs.extend([f32::INFINITY, f32::NEG_INFINITY, f32::NAN]);
        xs
    }

    /// Within 4ε relative of the f64 function (an absolute 1e−37 where the
    /// result is below f32's normal range), NaN where it is NaN.
    fn within_4_eps(label: &str, f: fn(f32) -> f32, exact: fn(f64) -> f64) {
        let mut worst = 0f64;
        for x in inputs() {
            let (y, want) = (f(x), exact(f64::from(x)));
            if want.is_nan() {
                assert!(y.is_nan(), "{label}({x:e}) = {y:e}, not NaN");
                continue;
            }
            let err = (f64::from(y) - want).abs();
            assert!(
                err <= 4.0 * f64::from(f32::EPSILON) * want.abs() + 1e-37,
                "{label}({x:e}) = {y:e}, exact {want:e}"
            );
            if want.abs() > 1e-30 {
                worst = worst.max(err / want.abs());
            }
        }
        eprintln!("{label}: worst relative error {:.2} ε", worst / f64::from(f32::EPSILON));
    }

    #[test]
    fn sigmoid_is_within_4_eps_of_the_f64_function() {
        within_4_eps("sigmoid", sigmoid, |x| 1.0 / (1.0 + (-x).exp()));
    }

    #[test]
    fn tanh_is_within_4_eps_of_the_f64_function() {
        within_4_eps("tanh", tanh, f64::tanh);
    }
}
