//! `tanh` and `sigmoid` of f32 tensors on Flex, 8 lanes at a time where the
//! CPU has AVX2 and FMA. A recurrent cell computes them on every gate of
//! every time step, and Flex calls the scalar `f32::tanh` and `f32::exp` once
//! per element (20-25 million `tanh` a second against 340-460 million here;
//! docs/speed.md).
//!
//! `exp` is Cephes' `expf` (the argument reduced by `ln 2` in two parts, a
//! degree-5 polynomial, the power of two put in the exponent bits): about one
//! ulp. `tanh` is `1 - 2 / (exp(2|x|) + 1)` with the sign of `x`, and Cephes'
//! odd polynomial below |x| = 0.625, where that form would cancel. `sigmoid`
//! is `1 / (1 + exp(-x))`. NaN gives NaN; ±∞ give the limits.
//! `tests/flex_activations.rs` holds every result within a few ulp of the
//! f64 function.

use burn::tensor::Tensor;
#[cfg(target_arch = "x86_64")]
use burn_flex::FlexTensor;
#[cfg(target_arch = "x86_64")]
use std::arch::x86_64::*;

#[cfg(target_arch = "x86_64")]
use super::flex;

/// `tanh` of every element, as `x.tanh()`.
pub fn tanh<const D: usize>(x: Tensor<D>) -> Tensor<D> {
    #[cfg(target_arch = "x86_64")]
    if available() {
        return match flex::take(x) {
            Ok(p) => flex::give(map_tensor(p, Kind::Tanh)),
            Err(x) => x.tanh(),
        };
    }
    x.tanh()
}

/// `1 / (1 + e^−x)` of every element, as Burn's `activation::sigmoid`.
pub fn sigmoid<const D: usize>(x: Tensor<D>) -> Tensor<D> {
    #[cfg(target_arch = "x86_64")]
    if available() {
        return match flex::take(x) {
            Ok(p) => flex::give(map_tensor(p, Kind::Sigmoid)),
            Err(x) => burn::tensor::activation::sigmoid(x),
        };
    }
    burn::tensor::activation::sigmoid(x)
}

/// Whether this CPU runs the kernels (AVX2 and FMA).
#[cfg(target_arch = "x86_64")]
fn available() -> bool {
    is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma")
}

#[cfg(target_arch = "x86_64")]
#[derive(Clone, Copy)]
enum Kind {
    Tanh,
    Sigmoid,
}

/// The function of every element of `t`: in place where `t` alone holds its
/// contiguous buffer; in a new buffer in storage order, the layout kept,
/// where the elements fill the buffer in some order (a transposed view);
/// row by row into a contiguous buffer for a matrix of contiguous rows (a
/// block of columns); otherwise element by element in a contiguous copy.
#[cfg(target_arch = "x86_64")]
fn map_tensor(mut t: FlexTensor, kind: Kind) -> FlexTensor {
    let layout = t.layout().clone();
    let n = layout.num_elements();
    if layout.is_contiguous()
        && layout.start_offset() == 0
        && let Some(x) = t.try_storage_mut::<f32>()
    {
        in_place(&mut x[..n], kind);
        return t;
    }
    let src = t.storage::<f32>();
    let mut out = vec![0f32; n];
    if layout.start_offset() == 0 && src.len() == n && layout.strides().iter().all(|&s| s > 0) {
        map(src, &mut out, kind);
        return FlexTensor::new(burn::tensor::Bytes::from_elems(out), layout, burn::tensor::DType::F32);
    }
    let (shape, strides) = (layout.shape(), layout.strides());
    if shape.num_dims() == 2 && strides[1] == 1 && strides[0] > 0 && shape[1] > 0 {
        let (cols, rs, start) = (shape[1], strides[0] as usize, layout.start_offset());
        for (r, dst) in out.chunks_exact_mut(cols).enumerate() {
            let at = start + r * rs;
            map(&src[at..at + cols], dst, kind);
        }
    } else {
        map(&t.to_contiguous().storage::<f32>()[..n], &mut out, kind);
    }
    flex::from_vec(out, shape.clone())
}

/// `dst[i] = f(src[i])`.
#[cfg(target_arch = "x86_64")]
fn map(src: &[f32], dst: &mut [f32], kind: Kind) {
    assert_eq!(src.len(), dst.len());
    // SAFETY: `available()` (the callers' check); `src` and `dst` are two
    // slices of `len` elements, which the borrow checker keeps apart.
    unsafe { map_ptr(src.as_ptr(), dst.as_mut_ptr(), src.len(), kind) }
}

/// `x[i] = f(x[i])`.
#[cfg(target_arch = "x86_64")]
fn in_place(x: &mut [f32], kind: Kind) {
    let p = x.as_mut_ptr();
    // SAFETY: `available()` (the callers' check); one pointer, derived from
    // the one `&mut`, is read and written: each block is read before it is
    // written.
    unsafe { map_ptr(p, p, x.len(), kind) }
}

/// Reads `src[i]` before writing `dst[i]`, lane block by lane block, so
/// `src` and `dst` may be the same pointer. The last `len mod 8` elements go
/// through a zero-padded block.
///
/// # Safety
/// The CPU has AVX2 and FMA; `src` is valid for reading and `dst` for
/// writing `len` elements; where they differ they do not overlap.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn map_ptr(src: *const f32, dst: *mut f32, len: usize, kind: Kind) {
    let f = |v| match kind {
        Kind::Tanh => tanh8(v),
        Kind::Sigmoid => sigmoid8(v),
    };
    let mut i = 0;
    while i + 8 <= len {
        // SAFETY: `i + 8 <= len` elements from each pointer.
        unsafe { _mm256_storeu_ps(dst.add(i), f(_mm256_loadu_ps(src.add(i)))) };
        i += 8;
    }
    if i < len {
        let mut block = [0.0f32; 8];
        for (j, b) in block.iter_mut().enumerate().take(len - i) {
            // SAFETY: `i + j < len`.
            *b = unsafe { *src.add(i + j) };
        }
        let mut out = [0.0f32; 8];
        // SAFETY: `out` holds 8 floats.
        unsafe { _mm256_storeu_ps(out.as_mut_ptr(), f(_mm256_loadu_ps(block.as_ptr()))) };
        for (j, o) in out.iter().enumerate().take(len - i) {
            // SAFETY: `i + j < len`.
            unsafe { *dst.add(i + j) = *o };
        }
    }
}

/// Cephes `expf` on 8 lanes, for arguments clamped to [-87.3, 88.37] (the
/// finite, normal results); NaN lanes are not handled here.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
#[allow(clippy::excessive_precision)] // Cephes' coefficients as it prints them
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
    let pow2 =
        _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23));
    _mm256_mul_ps(y, pow2)
}

/// NaN lanes of `x` back into `y`.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn keep_nan(x: __m256, y: __m256) -> __m256 {
    _mm256_blendv_ps(y, x, _mm256_cmp_ps(x, x, _CMP_UNORD_Q))
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn sigmoid8(x: __m256) -> __m256 {
    let one = _mm256_set1_ps(1.0);
    let e = exp8(_mm256_sub_ps(_mm256_setzero_ps(), x));
    keep_nan(x, _mm256_div_ps(one, _mm256_add_ps(one, e)))
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
#[allow(clippy::excessive_precision)] // Cephes' coefficients as it prints them
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
