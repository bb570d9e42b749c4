//! [`super::row`] and [`super::row_in_place`] with AVX2 intrinsics: the same
//! operations in the same order, 8 lanes at a time, so that the results are
//! the portable ones bit for bit (no fused multiply-add, which would round
//! once where the portable code rounds twice).

use std::arch::x86_64::*;

use super::{EXP_BIAS, EXP_MIN, EXP_POLY, LN2_HI, LN2_LO, LOG2E, ROUND, exp, gradient_scale, lane_sum, lanes_max};

/// [`super::row`].
///
/// # Safety
/// The CPU must have AVX2 (`is_x86_feature_detected!("avx2")`).
#[target_feature(enable = "avx2")]
pub unsafe fn row(x: &[f32], t: usize) -> f64 {
    let max = row_max(x);
    let (max8, mut acc) = (_mm256_set1_ps(max), _mm256_setzero_ps());
    let chunks = x.chunks_exact(8);
    let mut tail = 0f32;
    for &xi in chunks.remainder() {
        tail += exp(xi - max);
    }
    for c in chunks {
        // SAFETY: `c` holds 8 floats.
        let e = exp8(_mm256_sub_ps(unsafe { load(c.as_ptr()) }, max8));
        acc = _mm256_add_ps(acc, e);
    }
    lane_sum(&lanes(acc), tail).ln() - f64::from(x[t] - max)
}

/// [`super::row_in_place`].
///
/// # Safety
/// The CPU must have AVX2 (`is_x86_feature_detected!("avx2")`).
#[target_feature(enable = "avx2")]
pub unsafe fn row_in_place(x: &mut [f32], b: Option<&[f32]>, t: usize, m: usize, db: Option<&mut [f32]>) -> f64 {
    let v = x.len();
    let whole = v - v % 8;
    // Each pointer loop takes its pointer from `x` afresh: a pointer taken
    // once and used after `x` is indexed again would be invalidated by that
    // reborrow (Rust's aliasing rules), however the memory is laid out.
    // x += b, and the row's maximum.
    let mut max8 = _mm256_set1_ps(f32::NEG_INFINITY);
    let p = x.as_mut_ptr();
    if let Some(b) = b {
        assert_eq!(b.len(), v, "a bias per score");
        for i in (0..whole).step_by(8) {
            // SAFETY: i + 8 <= whole <= v, the length of x and of b.
            unsafe {
                let s = _mm256_add_ps(load(p.add(i)), load(b.as_ptr().add(i)));
                store(p.add(i), s);
                max8 = _mm256_max_ps(s, max8);
            }
        }
        for (xi, &bi) in x[whole..].iter_mut().zip(&b[whole..]) {
            *xi += bi;
        }
    } else {
        for i in (0..whole).step_by(8) {
            // SAFETY: i + 8 <= whole <= v.
            max8 = _mm256_max_ps(unsafe { load(p.add(i)) }, max8);
        }
    }
    let max = lanes_max(&lanes(max8), &x[whole..]);
    let x_t = x[t];
    // exp(x − max), written over x and summed.
    let (max8, mut acc) = (_mm256_set1_ps(max), _mm256_setzero_ps());
    let p = x.as_mut_ptr();
    for i in (0..whole).step_by(8) {
        // SAFETY: i + 8 <= whole <= v.
        unsafe {
            let e = exp8(_mm256_sub_ps(load(p.add(i)), max8));
            store(p.add(i), e);
            acc = _mm256_add_ps(acc, e);
        }
    }
    let mut tail = 0f32;
    for xi in &mut x[whole..] {
        let e = exp(*xi - max);
        *xi = e;
        tail += e;
    }
    let sum = lane_sum(&lanes(acc), tail);
    // The gradient, and its rows added into db.
    let (scale, one) = gradient_scale(sum, m);
    let scale8 = _mm256_set1_ps(scale);
    let p = x.as_mut_ptr();
    for i in (0..whole).step_by(8) {
        // SAFETY: i + 8 <= whole <= v.
        unsafe { store(p.add(i), _mm256_mul_ps(load(p.add(i)), scale8)) };
    }
    for xi in &mut x[whole..] {
        *xi *= scale;
    }
    x[t] -= one;
    if let Some(db) = db {
        assert_eq!(db.len(), v, "a bias gradient per score");
        let (d, p) = (db.as_mut_ptr(), x.as_ptr());
        for i in (0..whole).step_by(8) {
            // SAFETY: i + 8 <= whole <= v, the length of x and of db.
            unsafe { store(d.add(i), _mm256_add_ps(load(d.add(i)), load(p.add(i)))) };
        }
        for (dj, &g) in db[whole..].iter_mut().zip(&x[whole..]) {
            *dj += g;
        }
    }
    sum.ln() - f64::from(x_t - max)
}

/// [`super::row_max`].
#[inline]
#[target_feature(enable = "avx2")]
fn row_max(x: &[f32]) -> f32 {
    let chunks = x.chunks_exact(8);
    let tail = chunks.remainder();
    let mut max8 = _mm256_set1_ps(f32::NEG_INFINITY);
    for c in chunks {
        // (c > acc ? c : acc), as the portable loop.
        // SAFETY: `c` holds 8 floats.
        max8 = _mm256_max_ps(unsafe { load(c.as_ptr()) }, max8);
    }
    lanes_max(&lanes(max8), tail)
}

/// [`super::exp`], 8 lanes at a time.
#[inline]
#[target_feature(enable = "avx2")]
fn exp8(x: __m256) -> __m256 {
    // max(c, x) is (c > x ? c : x): x where x is NaN, as the portable
    // `if x < c { c } else { x }`.
    let x = _mm256_max_ps(_mm256_set1_ps(EXP_MIN), x);
    let round = _mm256_set1_ps(ROUND);
    let n = _mm256_sub_ps(_mm256_add_ps(_mm256_mul_ps(x, _mm256_set1_ps(LOG2E)), round), round);
    let r = _mm256_sub_ps(
        _mm256_sub_ps(x, _mm256_mul_ps(n, _mm256_set1_ps(LN2_HI))),
        _mm256_mul_ps(n, _mm256_set1_ps(LN2_LO)),
    );
    let mut p = _mm256_set1_ps(EXP_POLY[0]);
    for &c in &EXP_POLY[1..] {
        p = _mm256_add_ps(_mm256_mul_ps(p, r), _mm256_set1_ps(c));
    }
    let er = _mm256_add_ps(_mm256_add_ps(_mm256_mul_ps(_mm256_mul_ps(p, r), r), r), _mm256_set1_ps(1.0));
    let two_n =
        _mm256_castsi256_ps(_mm256_slli_epi32::<23>(_mm256_castps_si256(_mm256_add_ps(n, _mm256_set1_ps(EXP_BIAS)))));
    _mm256_mul_ps(er, two_n)
}

/// 8 floats as an AVX register, by a plain unaligned move. `_mm256_loadu_ps`
/// and `_mm256_storeu_ps` copy through `ptr::copy_nonoverlapping`, whose
/// precondition check is on in a profile with debug assertions: a pointer comparison and a round trip through the stack for
/// every 8 floats, which took half of these loops' time. A packed struct's
/// field is read and written with unaligned moves and no such check.
#[repr(C, packed)]
#[derive(Clone, Copy)]
struct Unaligned(__m256);

/// The 8 floats at `p`.
///
/// # Safety
/// `p` must point to 8 readable floats.
#[inline]
#[target_feature(enable = "avx2")]
unsafe fn load(p: *const f32) -> __m256 {
    // SAFETY: the caller's promise; Unaligned has alignment 1.
    unsafe { p.cast::<Unaligned>().read() }.0
}

/// Writes `v` to the 8 floats at `p`.
///
/// # Safety
/// `p` must point to 8 writable floats.
#[inline]
#[target_feature(enable = "avx2")]
unsafe fn store(p: *mut f32, v: __m256) {
    // SAFETY: the caller's promise; Unaligned has alignment 1.
    unsafe { p.cast::<Unaligned>().write(Unaligned(v)) }
}

/// The eight lanes, in order.
#[inline]
#[target_feature(enable = "avx2")]
fn lanes(v: __m256) -> [f32; 8] {
    let mut out = [0f32; 8];
    // SAFETY: `out` holds 8 floats.
    unsafe { store(out.as_mut_ptr(), v) };
    out
}
