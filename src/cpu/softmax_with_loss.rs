//! Softmax with loss as one loop per row over host memory, for the CPU
//! backends: the row's maximum, then `exp(x − max)` summed (and written to
//! the gradient buffer, or over the scores, when training), then the gradient
//! scaled. For the affine layer ([`affine_softmax_with_loss_in_place`]) the
//! bias is added in the first pass and its gradient summed in the last, so
//! that neither costs a pass of its own over the `[M, V]` scores.
//!
//! The negative log-likelihood is `log Σ exp(x − max) − (x_t − max)`, exact
//! even where the target's probability underflows f32.
//!
//! Each row is written twice: portably (`row`, `row_in_place`), and with
//! AVX2 intrinsics (`avx2`) where the CPU has them. The second does the
//! same operations in the same order, 8 lanes at a time, so the two agree bit
//! for bit (tested); the compiler's own vectorisation of the first spent
//! most of its time moving lanes between registers. Sums run in a fixed
//! order whatever the threads, so a step's result does not depend on which
//! thread ran which rows.

use rayon::prelude::*;

use super::math::exp;
#[cfg(target_arch = "x86_64")]
use super::math::{EXP_BIAS, EXP_MIN, EXP_POLY, LN2_HI, LN2_LO, LOG2E, ROUND};

#[cfg(target_arch = "x86_64")]
mod avx2;

/// Rows per parallel task: a few hundred kilobytes of scores.
const ROWS_PER_TASK: usize = 8;
/// Rows per parallel task where each task also sums its rows' bias gradient
/// into a `[V]` of its own: fewer, larger tasks, fewer partial sums to add.
const ROWS_PER_BIAS_TASK: usize = 32;

/// Sum over the rows of `x` (`[M, V]`, row-major) of the negative
/// log-likelihood of `targets` (`[M]`). With `grad` (`[M, V]`), also writes
/// the book's `dx = (softmax(x) − onehot(t)) / M` there.
pub fn softmax_with_loss(x: &[f32], targets: &[i64], v: usize, grad: Option<&mut [f32]>) -> f64 {
    let m = targets.len();
    assert_eq!(x.len(), m * v, "scores [M, V] for M targets");
    let chunk = ROWS_PER_TASK * v;
    let per_task: Vec<f64> = match grad {
        Some(grad) => {
            assert_eq!(grad.len(), x.len());
            x.par_chunks(chunk)
                .zip(grad.par_chunks_mut(chunk))
                .zip(targets.par_chunks(ROWS_PER_TASK))
                .map(|((x, g), t)| {
                    g.copy_from_slice(x);
                    rows_in_place(g, None, t, m, None)
                })
                .collect()
        }
        None => x.par_chunks(chunk).zip(targets.par_chunks(ROWS_PER_TASK)).map(|(x, t)| rows(x, t, v)).collect(),
    };
    per_task.iter().sum()
}

/// The affine layer's end: the scores are `x + b` (`x`: the product `h·W`,
/// `[M, V]`; `b`: `[V]`). Returns the sum over the rows of the negative
/// log-likelihood of `targets` (`[M]`), writes the book's
/// `dx = (softmax(x + b) − onehot(t)) / M` over `x`, and the bias's gradient
/// (the column sums of `dx`) into `db`: no second `[M, V]` buffer and no
/// pass of their own for the bias and its gradient.
pub fn affine_softmax_with_loss_in_place(x: &mut [f32], b: &[f32], targets: &[i64], db: &mut [f32]) -> f64 {
    let (m, v) = (targets.len(), b.len());
    assert_eq!(x.len(), m * v, "scores [M, V] for M targets");
    assert_eq!(db.len(), v, "a bias gradient [V]");
    // Each task sums its rows' gradients into its own row of `partial`; the
    // rows of `partial` are then added in order.
    let tasks = m.div_ceil(ROWS_PER_BIAS_TASK);
    let mut partial = vec![0f32; tasks * v];
    let per_task: Vec<f64> = x
        .par_chunks_mut(ROWS_PER_BIAS_TASK * v)
        .zip(targets.par_chunks(ROWS_PER_BIAS_TASK))
        .zip(partial.par_chunks_mut(v))
        .map(|((x, t), db)| rows_in_place(x, Some(b), t, m, Some(db)))
        .collect();
    db.fill(0.0);
    for p in partial.chunks(v) {
        for (d, &pj) in db.iter_mut().zip(p) {
            *d += pj;
        }
    }
    per_task.iter().sum()
}

/// The loss of each row of `x` (`[rows, V]`) against `t`, summed.
fn rows(x: &[f32], t: &[i64], v: usize) -> f64 {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: this CPU has AVX2.
        return x.chunks(v).zip(t).map(|(x, &t)| unsafe { avx2::row(x, target_index(t, v)) }).sum();
    }
    x.chunks(v).zip(t).map(|(x, &t)| row(x, target_index(t, v))).sum()
}

/// [`rows`], with each row replaced by its gradient (`m`: all rows of the
/// batch), the bias `b` added to each row first and the gradient's rows
/// added into `db`, when given.
fn rows_in_place(x: &mut [f32], b: Option<&[f32]>, t: &[i64], m: usize, mut db: Option<&mut [f32]>) -> f64 {
    let v = x.len() / t.len();
    let mut sum = 0.0;
    for (x, &t) in x.chunks_mut(v).zip(t) {
        let t = target_index(t, v);
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: this CPU has AVX2.
            sum += unsafe { avx2::row_in_place(x, b, t, m, db.as_deref_mut()) };
            continue;
        }
        sum += row_in_place(x, b, t, m, db.as_deref_mut());
    }
    sum
}

fn target_index(t: i64, v: usize) -> usize {
    usize::try_from(t).ok().filter(|&t| t < v).unwrap_or_else(|| panic!("target id {t} outside the vocabulary of {v}"))
}

/// One row's loss against its target `t`.
fn row(x: &[f32], t: usize) -> f64 {
    let max = row_max(x);
    let mut acc = [0f32; 8];
    let mut chunks = x.chunks_exact(8);
    for c in &mut chunks {
        for k in 0..8 {
            acc[k] += exp(c[k] - max);
        }
    }
    let mut tail = 0f32;
    for &xi in chunks.remainder() {
        tail += exp(xi - max);
    }
    lane_sum(&acc, tail).ln() - f64::from(x[t] - max)
}

/// One row's loss; the row's scores (plus `b`, when given) are replaced by
/// their gradient `(softmax(x + b) − onehot(t)) / m`, which is added into `db`.
fn row_in_place(x: &mut [f32], b: Option<&[f32]>, t: usize, m: usize, db: Option<&mut [f32]>) -> f64 {
    if let Some(b) = b {
        for (xi, &bi) in x.iter_mut().zip(b) {
            *xi += bi;
        }
    }
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
    let sum = lane_sum(&acc, tail);
    let (scale, one) = gradient_scale(sum, m);
    for xi in x.iter_mut() {
        *xi *= scale;
    }
    x[t] -= one;
    if let Some(db) = db {
        for (d, &g) in db.iter_mut().zip(x.iter()) {
            *d += g;
        }
    }
    sum.ln() - f64::from(x_t - max)
}

/// The sum of the eight lanes and the tail, in f64.
fn lane_sum(acc: &[f32; 8], tail: f32) -> f64 {
    acc.iter().map(|&a| f64::from(a)).sum::<f64>() + f64::from(tail)
}

/// The factor that turns `exp(x − max)` into `y / m` (`sum`: the row's sum
/// of exponentials), and the `1 / m` subtracted at the target.
fn gradient_scale(sum: f64, m: usize) -> (f32, f32) {
    ((1.0 / (sum * m as f64)) as f32, (1.0 / m as f64) as f32)
}

fn row_max(x: &[f32]) -> f32 {
    let mut acc = [f32::NEG_INFINITY; 8];
    let mut chunks = x.chunks_exact(8);
    for c in &mut chunks {
        for k in 0..8 {
            acc[k] = if c[k] > acc[k] { c[k] } else { acc[k] };
        }
    }
    lanes_max(&acc, chunks.remainder())
}

/// The largest of the eight lanes and the tail (`f32::max`: a NaN lane is
/// passed over, as the book's `np.max` is not; a NaN score gives a NaN loss
/// through its own `exp` anyway).
fn lanes_max(acc: &[f32; 8], tail: &[f32]) -> f32 {
    let max = acc.iter().fold(f32::NEG_INFINITY, |a, &b| a.max(b));
    tail.iter().fold(max, |a, &b| a.max(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_row_matches_the_definition() {
        let x = [0.5f32, -1.0, 2.0, 0.0, 3.5, -2.5, 1.0, 0.25, -0.75, 1.5, 2.25];
        let b = [0.25f32, 0.0, -0.5, 1.0, 0.5, 0.0, 0.0, -1.0, 0.0, 0.75, 0.0];
        let m = 2;
        let mut g = x;
        let mut db = [1f32; 11];
        let nll = row_in_place(&mut g, Some(&b), 4, m, Some(&mut db));
        let scores: Vec<f64> = x.iter().zip(&b).map(|(&x, &b)| f64::from(x) + f64::from(b)).collect();
        let lse = scores.iter().map(|s| s.exp()).sum::<f64>().ln();
        assert!((nll - (lse - scores[4])).abs() < 1e-6, "{nll}");
        let plus_b: Vec<f32> = x.iter().zip(&b).map(|(x, b)| x + b).collect();
        assert!((row(&plus_b, 4) - nll).abs() < 1e-12);
        for (j, &gj) in g.iter().enumerate() {
            let y = (scores[j] - lse).exp();
            let expected = (y - if j == 4 { 1.0 } else { 0.0 }) / m as f64;
            assert!((f64::from(gj) - expected).abs() < 1e-7, "g[{j}] {gj} vs {expected}");
            assert_eq!(db[j], 1.0 + gj, "db[{j}]");
        }
    }

    /// Rows of `v` scores spread over ±`spread`, with targets at the row's
    /// start, its end and inside the 8-lane tail.
    fn scores(m: usize, v: usize, spread: f32) -> (Vec<f32>, Vec<i64>) {
        let x = crate::cpu::math::test_values(m * v, spread, 0);
        let t = (0..m).map(|i| [0, v - 1, v / 2, v.saturating_sub(3)][i % 4] as i64).collect();
        (x, t)
    }

    #[test]
    fn the_affine_end_equals_the_bias_added_then_the_plain_loss() {
        for v in [1, 7, 8, 13, 100, 1003] {
            let m = 45; // a task of the bias's gradient and a part
            let (x, t) = scores(m, v, 30.0);
            let (b, _) = scores(1, v, 5.0);
            let plus_b: Vec<f32> = x.chunks(v).flat_map(|r| r.iter().zip(&b).map(|(x, b)| x + b)).collect();
            let mut plain = vec![0f32; m * v];
            let nll = softmax_with_loss(&plus_b, &t, v, Some(&mut plain));
            let (mut fused, mut db) = (x.clone(), vec![7f32; v]);
            let fused_nll = affine_softmax_with_loss_in_place(&mut fused, &b, &t, &mut db);
            assert!((fused_nll - nll).abs() <= 1e-12 * nll.abs(), "V {v}: {fused_nll} vs {nll}");
            assert_eq!(fused, plain, "V {v}");
            assert_eq!(softmax_with_loss(&plus_b, &t, v, None), nll, "V {v}: the loss alone");
            for j in 0..v {
                let column: f64 = plain.chunks(v).map(|r| f64::from(r[j])).sum();
                assert!((f64::from(db[j]) - column).abs() < 1e-6, "V {v}: db[{j}] {} vs {column}", db[j]);
            }
        }
    }

    #[cfg(target_arch = "x86_64")]
    #[test]
    fn the_avx2_rows_equal_the_portable_ones_bit_for_bit() {
        if !std::arch::is_x86_feature_detected!("avx2") {
            eprintln!("no AVX2 on this CPU: nothing to compare");
            return;
        }
        for (v, spread) in [(1, 1.0), (8, 1.0), (15, 200.0), (64, 0.0), (1003, 30.0), (10_000, 10.0)] {
            let (x, t) = scores(4, v, spread);
            let (b, _) = scores(1, v, 3.0);
            for (row_x, &t) in x.chunks(v).zip(&t) {
                let t = t as usize;
                // SAFETY: this CPU has AVX2.
                assert_eq!(unsafe { avx2::row(row_x, t) }.to_bits(), row(row_x, t).to_bits(), "V {v}: loss");
                for bias in [None, Some(&b[..])] {
                    let (mut p, mut q) = (row_x.to_vec(), row_x.to_vec());
                    let (mut dp, mut dq) = (vec![0.5f32; v], vec![0.5f32; v]);
                    let lp = row_in_place(&mut p, bias, t, 700, Some(&mut dp));
                    // SAFETY: this CPU has AVX2.
                    let lq = unsafe { avx2::row_in_place(&mut q, bias, t, 700, Some(&mut dq)) };
                    assert_eq!(lq.to_bits(), lp.to_bits(), "V {v}: loss in place");
                    let bits = |s: &[f32]| s.iter().map(|f| f.to_bits()).collect::<Vec<_>>();
                    assert_eq!(bits(&q), bits(&p), "V {v}: gradient");
                    assert_eq!(bits(&dq), bits(&dp), "V {v}: bias gradient");
                }
            }
        }
        // The ends of exp's range, a NaN, and ±∞ take the same path in both.
        for special in [f32::NAN, f32::INFINITY, f32::NEG_INFINITY, -1e30, 88.0, -88.0] {
            let mut x: Vec<f32> = (0..21).map(|i| i as f32 * 0.1).collect();
            x[9] = special;
            // SAFETY: this CPU has AVX2.
            let (a, p) = (unsafe { avx2::row(&x, 3) }, row(&x, 3));
            assert!(a.to_bits() == p.to_bits() || (a.is_nan() && p.is_nan()), "{special}: {a} vs {p}");
        }
    }
}
