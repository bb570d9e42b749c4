//! Softmax with loss as one loop per row over host memory, for the CPU
//! backends: the row's maximum, then `exp(x − max)` summed (and written to
//! the gradient buffer, or over the scores, when training), then the gradient
//! scaled.
//!
//! The negative log-likelihood is `log Σ exp(x − max) − (x_t − max)`, exact
//! even where the target's probability underflows f32.

use rayon::prelude::*;

/// Rows per parallel task: a few hundred kilobytes of scores.
const ROWS_PER_TASK: usize = 8;

/// Sum over the rows of `x` (`[M, V]`, row-major) of the negative
/// log-likelihood of `targets` (`[M]`). With `grad` (`[M, V]`), also writes
/// the book's `dx = (softmax(x) − onehot(t)) / M` there.
pub fn softmax_with_loss(x: &[f32], targets: &[i64], v: usize, grad: Option<&mut [f32]>) -> f64 {
    let m = targets.len();
    assert_eq!(x.len(), m * v, "scores [M, V] for M targets");
    let chunk = ROWS_PER_TASK * v;
    match grad {
        Some(grad) => {
            assert_eq!(grad.len(), x.len());
            x.par_chunks(chunk)
                .zip(grad.par_chunks_mut(chunk))
                .zip(targets.par_chunks(ROWS_PER_TASK))
                .map(|((x, g), t)| {
                    g.copy_from_slice(x);
                    rows_in_place(g, t, v, m)
                })
                .sum()
        }
        None => x.par_chunks(chunk).zip(targets.par_chunks(ROWS_PER_TASK)).map(|(x, t)| rows(x, t, v)).sum(),
    }
}

// The loops over rows, compiled for AVX2 where the CPU has it. The crate is
// built for baseline x86-64, whose 4-wide SSE runs them at half the speed;
// the results are the same, lane for lane (no fused multiply-add: Rust never
// contracts `a·b + c`).

/// The loss of each row of `x` (`[rows, V]`) against `t`, summed.
fn rows(x: &[f32], t: &[i64], v: usize) -> f64 {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: this CPU has AVX2.
        return unsafe { rows_avx2(x, t, v) };
    }
    rows_any(x, t, v)
}

/// [`rows`], with each row replaced by its gradient (`m`: all rows of the batch).
fn rows_in_place(x: &mut [f32], t: &[i64], v: usize, m: usize) -> f64 {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: this CPU has AVX2.
        return unsafe { rows_in_place_avx2(x, t, v, m) };
    }
    rows_in_place_any(x, t, v, m)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn rows_avx2(x: &[f32], t: &[i64], v: usize) -> f64 {
    rows_any(x, t, v)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn rows_in_place_avx2(x: &mut [f32], t: &[i64], v: usize, m: usize) -> f64 {
    rows_in_place_any(x, t, v, m)
}

#[inline(always)]
fn rows_any(x: &[f32], t: &[i64], v: usize) -> f64 {
    let mut sum = 0.0;
    for (x, &t) in x.chunks(v).zip(t) {
        sum += row(x, t);
    }
    sum
}

#[inline(always)]
fn rows_in_place_any(x: &mut [f32], t: &[i64], v: usize, m: usize) -> f64 {
    let mut sum = 0.0;
    for (x, &t) in x.chunks_mut(v).zip(t) {
        sum += row_in_place(x, t, m);
    }
    sum
}

fn target_index(t: i64, v: usize) -> usize {
    usize::try_from(t).ok().filter(|&t| t < v).unwrap_or_else(|| panic!("target id {t} outside the vocabulary of {v}"))
}

/// One row's loss.
#[inline(always)]
fn row(x: &[f32], t: i64) -> f64 {
    let t = target_index(t, x.len());
    let max = row_max(x);
    let mut acc = [0f32; 8];
    let mut chunks = x.chunks_exact(8);
    for c in &mut chunks {
        for k in 0..8 {
            acc[k] += exp(c[k] - max);
        }
    }
    let tail: f32 = chunks.remainder().iter().map(|&xi| exp(xi - max)).sum();
    let sum = acc.iter().map(|&a| f64::from(a)).sum::<f64>() + f64::from(tail);
    sum.ln() - f64::from(x[t] - max)
}

/// Sum over the rows of the negative log-likelihood, as [`softmax_with_loss`],
/// with each row of `x` replaced by its gradient: no second `[M, V]` buffer.
pub fn softmax_with_loss_in_place(x: &mut [f32], targets: &[i64], v: usize) -> f64 {
    let m = targets.len();
    assert_eq!(x.len(), m * v, "scores [M, V] for M targets");
    x.par_chunks_mut(ROWS_PER_TASK * v)
        .zip(targets.par_chunks(ROWS_PER_TASK))
        .map(|(x, t)| rows_in_place(x, t, v, m))
        .sum()
}

/// One row's loss; the row's scores are replaced by their gradient
/// `(softmax(x) − onehot(t)) / m`.
#[inline(always)]
fn row_in_place(x: &mut [f32], t: i64, m: usize) -> f64 {
    let t = target_index(t, x.len());
    let max = row_max(x);
    let x_t = x[t];
    let mut acc = [0f32; 8];
    let mut chunks = x.chunks_exact_mut(8);
    for c in &mut chunks {
        for k in 0..8 {
            let e = exp(c[k] - max);
            c[k] = e;
            acc[k] += e;
        }
    }
    let mut tail = 0f32;
    for xi in chunks.into_remainder() {
        let e = exp(*xi - max);
        *xi = e;
        tail += e;
    }
    let sum = acc.iter().map(|&a| f64::from(a)).sum::<f64>() + f64::from(tail);
    let scale = (1.0 / (sum * m as f64)) as f32; // y = e / sum, then / M
    for xi in x.iter_mut() {
        *xi *= scale;
    }
    x[t] -= (1.0 / m as f64) as f32;
    sum.ln() - f64::from(x_t - max)
}

#[inline(always)]
fn row_max(x: &[f32]) -> f32 {
    let mut acc = [f32::NEG_INFINITY; 8];
    let mut chunks = x.chunks_exact(8);
    for c in &mut chunks {
        for k in 0..8 {
            // (a > b ? a : b): a form the compiler turns into vector max.
            acc[k] = if c[k] > acc[k] { c[k] } else { acc[k] };
        }
    }
    let mut max = acc.iter().fold(f32::NEG_INFINITY, |a, &b| a.max(b));
    for &xi in chunks.remainder() {
        max = max.max(xi);
    }
    max
}

/// `e^x` for `x ≤ 0` (here `x − max`), to about 2 ulp: `x = n·ln2 + r` with
/// `|r| ≤ ln2/2`, `e^r` by Cephes' degree-6 polynomial, `2^n` put in the
/// exponent bits. Plain arithmetic that the compiler vectorises, where
/// `f32::exp` is a call per element. Below −87.3, where e^x leaves the normal
/// range of f32, it returns e^−87.3 ≈ 1e−38 instead of a denormal or zero: no
/// difference to a sum that holds at least e^0 = 1.
#[inline(always)]
fn exp(x: f32) -> f32 {
    const LOG2E: f32 = std::f32::consts::LOG2_E;
    const LN2_HI: f32 = 0.693_359_4;
    const LN2_LO: f32 = -2.121_944_4e-4;
    // Adding and subtracting 1.5·2^23 rounds to the nearest integer.
    const ROUND: f32 = 12_582_912.0;
    let x = if x < -87.3 { -87.3 } else { x };
    let n = (x * LOG2E + ROUND) - ROUND;
    let r = x - n * LN2_HI - n * LN2_LO;
    let p = ((((1.987_569_1e-4 * r + 1.398_199_9e-3) * r + 8.333_452e-3) * r + 4.166_579_6e-2) * r + 1.666_666_5e-1)
        * r
        + 0.5; // Cephes' 5.0000001e-1, which is 0.5 in f32
    let er = p * r * r + r + 1.0;
    // 2^n: n + 127 lands in the low mantissa bits of 2^23 + n + 127, and the
    // shift moves it into the exponent field (float tricks only, no int
    // conversion, so that the loop stays vectorised).
    let two_n = f32::from_bits((n + 8_388_735.0).to_bits() << 23);
    er * two_n
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

    #[test]
    fn a_row_matches_the_definition() {
        let x = [0.5f32, -1.0, 2.0, 0.0, 3.5, -2.5, 1.0, 0.25, -0.75, 1.5, 2.25];
        let m = 2;
        let mut g = x;
        let nll = row_in_place(&mut g, 4, m);
        let lse = x.iter().map(|&v| f64::from(v).exp()).sum::<f64>().ln();
        assert!((nll - (lse - 3.5)).abs() < 1e-6, "{nll}");
        assert!((row(&x, 4) - nll).abs() < 1e-12);
        for (j, &gj) in g.iter().enumerate() {
            let y = (f64::from(x[j]) - lse).exp();
            let expected = (y - if j == 4 { 1.0 } else { 0.0 }) / m as f64;
            assert!((f64::from(gj) - expected).abs() < 1e-7, "g[{j}] {gj} vs {expected}");
        }
    }
}
