//! `exp`-based activations of f32, 8 lanes at a time: `tanh` and `sigmoid`.
//! Added to the vendored crate by rnnlm (see `vendor/README.md`): a recurrent
//! cell computes them on every gate of every time step, and the published
//! crate calls the scalar `f32::tanh` and `f32::exp` once per element.
//!
//! `exp` is Cephes' `expf` (the argument reduced by `ln 2` in two parts, a
//! degree-5 polynomial, the power of two put in the exponent bits): about one
//! ulp. `tanh` is `1 - 2 / (exp(2|x|) + 1)` with the sign of `x`, and Cephes'
//! odd polynomial below |x| = 0.625, where that form would cancel. `sigmoid`
//! is `1 / (1 + exp(-x))`. NaN gives NaN; ±∞ give the limits.
//! `tests/flex_activations.rs` of rnnlm holds every result within a few ulp
//! of the f64 function.

use std::arch::x86_64::*;

/// Whether this CPU runs the kernels (AVX2 and FMA); otherwise the caller
/// maps the scalar functions.
pub fn available() -> bool {
    is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma")
}

/// `dst[i] = tanh(src[i])`. Call only where [`available`].
pub fn tanh(src: &[f32], dst: &mut [f32]) {
    assert_eq!(src.len(), dst.len());
    unsafe { map(src.as_ptr(), dst.as_mut_ptr(), src.len(), Kind::Tanh) }
}

/// `x = tanh(x)` in place. Call only where [`available`].
pub fn tanh_in_place(x: &mut [f32]) {
    unsafe { map(x.as_ptr(), x.as_mut_ptr(), x.len(), Kind::Tanh) }
}

/// `dst[i] = 1 / (1 + exp(-src[i]))`. Call only where [`available`].
pub fn sigmoid(src: &[f32], dst: &mut [f32]) {
    assert_eq!(src.len(), dst.len());
    unsafe { map(src.as_ptr(), dst.as_mut_ptr(), src.len(), Kind::Sigmoid) }
}

/// `x = sigmoid(x)` in place. Call only where [`available`].
pub fn sigmoid_in_place(x: &mut [f32]) {
    unsafe { map(x.as_ptr(), x.as_mut_ptr(), x.len(), Kind::Sigmoid) }
}

#[derive(Clone, Copy)]
enum Kind {
    Tanh,
    Sigmoid,
}

/// Reads `src[i]` before writing `dst[i]`, lane block by lane block, so
/// `src` and `dst` may be the same buffer. The last `len mod 8` elements go
/// through a zero-padded block.
#[target_feature(enable = "avx2,fma")]
unsafe fn map(src: *const f32, dst: *mut f32, len: usize, kind: Kind) {
    let f = |v| match kind {
        Kind::Tanh => tanh8(v),
        Kind::Sigmoid => sigmoid8(v),
    };
    let mut i = 0;
    while i + 8 <= len {
        unsafe { _mm256_storeu_ps(dst.add(i), f(_mm256_loadu_ps(src.add(i)))) };
        i += 8;
    }
    if i < len {
        let mut block = [0.0f32; 8];
        for (j, b) in block.iter_mut().enumerate().take(len - i) {
            *b = unsafe { *src.add(i + j) };
        }
        let mut out = [0.0f32; 8];
        unsafe { _mm256_storeu_ps(out.as_mut_ptr(), f(_mm256_loadu_ps(block.as_ptr()))) };
        for (j, o) in out.iter().enumerate().take(len - i) {
            unsafe { *dst.add(i + j) = *o };
        }
    }
}

/// Cephes `expf` on 8 lanes, for arguments clamped to [-87.3, 88.37] (the
/// finite, normal results); NaN lanes are not handled here.
#[target_feature(enable = "avx2,fma")]
fn exp8(x: __m256) -> __m256 {
    let x = _mm256_min_ps(_mm256_max_ps(x, _mm256_set1_ps(-87.33654)), _mm256_set1_ps(88.37626));
    // n = round(x / ln 2); r = x - n ln 2, with ln 2 in two parts for accuracy
    let n = _mm256_floor_ps(_mm256_fmadd_ps(x, _mm256_set1_ps(std::f32::consts::LOG2_E), _mm256_set1_ps(0.5)));
    let r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693_359_4), x);
    let r = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.121_944_4e-4), r);
    let mut p = _mm256_set1_ps(1.987_569_1e-4);
    for c in [1.398_199_9e-3, 8.333_452e-3, 4.166_579_6e-2, 1.666_666_5e-1, 5.000_000_1e-1] {
        p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(c));
    }
    let y = _mm256_add_ps(_mm256_fmadd_ps(p, _mm256_mul_ps(r, r), r), _mm256_set1_ps(1.0));
    // 2^n in the exponent bits
    let pow2 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23));
    _mm256_mul_ps(y, pow2)
}

/// NaN lanes of `x` back into `y`.
#[target_feature(enable = "avx2,fma")]
fn keep_nan(x: __m256, y: __m256) -> __m256 {
    _mm256_blendv_ps(y, x, _mm256_cmp_ps(x, x, _CMP_UNORD_Q))
}

#[target_feature(enable = "avx2,fma")]
fn sigmoid8(x: __m256) -> __m256 {
    let one = _mm256_set1_ps(1.0);
    let e = exp8(_mm256_sub_ps(_mm256_setzero_ps(), x));
    keep_nan(x, _mm256_div_ps(one, _mm256_add_ps(one, e)))
}

#[target_feature(enable = "avx2,fma")]
fn tanh8(x: __m256) -> __m256 {
    let sign = _mm256_and_ps(x, _mm256_set1_ps(-0.0));
    let a = _mm256_andnot_ps(_mm256_set1_ps(-0.0), x); // |x|
    let one = _mm256_set1_ps(1.0);
    // large |x|: 1 - 2 / (exp(2|x|) + 1), which reaches 1 for |x| > 9.1
    let e = exp8(_mm256_add_ps(a, a));
    let large = _mm256_sub_ps(one, _mm256_div_ps(_mm256_set1_ps(2.0), _mm256_add_ps(e, one)));
    // small |x|: x + x·z·P(z), z = x²
    let z = _mm256_mul_ps(a, a);
    let mut p = _mm256_set1_ps(-5.704_988_7e-3);
    for c in [2.063_908_9e-2, -5.373_971_6e-2, 1.333_144_2e-1, -3.333_328_2e-1] {
        p = _mm256_fmadd_ps(p, z, _mm256_set1_ps(c));
    }
    let small = _mm256_fmadd_ps(_mm256_mul_ps(p, z), a, a);
    let is_small = _mm256_cmp_ps(a, _mm256_set1_ps(0.625), _CMP_LT_OQ);
    let t = _mm256_or_ps(_mm256_blendv_ps(large, small, is_small), sign);
    keep_nan(x, t)
}
