//! The matrix product of two f32 matrices on Flex: the few-rows kernel
//! ([`super::few_rows`]) where it takes the shape and layout, otherwise
//! `gemm` (the library behind Flex's own product) into an output that is not
//! zeroed first, since both kernels write every element of it and read none.
//! At chapter 6's sizes the affine layer's scores are `[700, 10000]`: 28 MB
//! that Flex's product zeroes before `gemm` writes them.
//!
//! Off Flex, for another type, a tensor in an autodiff graph or a shape that
//! is not two plain matrices, the product is Burn's own.

use burn::tensor::{Shape, Tensor};

use super::flex;

/// `a [M, K] · b [K, N]`, as `a.matmul(b)`; on Flex by this module's kernels.
pub fn matmul(a: Tensor<2>, b: Tensor<2>) -> Tensor<2> {
    #[cfg(target_arch = "x86_64")]
    {
        let (pa, pb) = match (flex::take(a), flex::take(b)) {
            (Ok(pa), Ok(pb)) => (pa, pb),
            (a, b) => return either(a).matmul(either(b)),
        };
        let ([m, k], [k2, n]) = (dims(&pa), dims(&pb));
        if k != k2 || m == 0 || n == 0 || k == 0 {
            return flex::give::<2>(pa).matmul(flex::give(pb));
        }
        let (a_rs, a_cs) = strides(&pa);
        let (b_rs, b_cs) = strides(&pb);
        let a_ptr = pa.storage::<f32>()[pa.layout().start_offset()..].as_ptr();
        let b_ptr = pb.storage::<f32>()[pb.layout().start_offset()..].as_ptr();
        let mut out = Vec::<f32>::with_capacity(m * n);
        // The few-rows kernel pairs contiguous rows of `a` with contiguous
        // columns of `b` (`b` the transposed view of a row-major matrix).
        let few_rows = a_cs == 1 && b_rs == 1 && a_rs > 0 && b_cs > 0 && {
            // SAFETY: `a` and `b` hold the elements their layouts name from
            // these pointers on; `out` has room for `m·n` and is not an input.
            unsafe {
                super::few_rows::a_times_wt(m, n, k, out.as_mut_ptr(), a_ptr, a_rs as usize, b_ptr, b_cs as usize)
            }
        };
        if !few_rows {
            let parallelism = if m.saturating_mul(n).saturating_mul(k) >= PARALLEL_WORK {
                gemm::Parallelism::Rayon(0)
            } else {
                gemm::Parallelism::None
            };
            // SAFETY: as above; with `read_dst` false `gemm` writes every
            // output element (`alpha` unused) without reading one.
            unsafe {
                gemm::gemm(
                    m,
                    n,
                    k,
                    out.as_mut_ptr(),
                    1,
                    n as isize,
                    false,
                    a_ptr,
                    a_cs,
                    a_rs,
                    b_ptr,
                    b_cs,
                    b_rs,
                    0.0,
                    1.0,
                    false,
                    false,
                    false,
                    parallelism,
                )
            };
        }
        // SAFETY: either kernel wrote all `m·n` elements.
        unsafe { out.set_len(m * n) };
        flex::give(flex::from_vec(out, Shape::new([m, n])))
    }
    #[cfg(not(target_arch = "x86_64"))]
    a.matmul(b)
}

/// Flex's threshold for sharing a `gemm` product among threads (192³
/// multiply-adds), kept so that the products run as Flex ran them.
#[cfg(target_arch = "x86_64")]
const PARALLEL_WORK: usize = 192 * 192 * 192;

#[cfg(target_arch = "x86_64")]
fn either(t: Result<burn_flex::FlexTensor, Tensor<2>>) -> Tensor<2> {
    match t {
        Ok(p) => flex::give(p),
        Err(t) => t,
    }
}

#[cfg(target_arch = "x86_64")]
fn dims(t: &burn_flex::FlexTensor) -> [usize; 2] {
    let shape = t.layout().shape();
    [shape[0], shape[1]]
}

/// (row stride, column stride) in elements.
#[cfg(target_arch = "x86_64")]
fn strides(t: &burn_flex::FlexTensor) -> (isize, isize) {
    let s = t.layout().strides();
    (s[0], s[1])
}

/// The few-rows kernel's width in f32 lanes for the products from now on,
/// 16 (AVX-512F) or 8 (AVX2 and FMA); 0 where the kernel does not run.
pub fn few_row_lanes() -> usize {
    #[cfg(target_arch = "x86_64")]
    if is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma") {
        return super::few_rows::lanes();
    }
    0
}

/// Whether the few-rows kernel takes `a [m, k] · w [n, k]ᵀ` (1 to 64 rows,
/// n ≥ 3, k ≥ 16) on this CPU (AVX2 and FMA).
pub fn few_rows_takes(m: usize, n: usize, k: usize) -> bool {
    #[cfg(target_arch = "x86_64")]
    return few_row_lanes() != 0 && super::few_rows::takes(m, n, k);
    #[cfg(not(target_arch = "x86_64"))]
    {
        let _ = (m, n, k);
        false
    }
}

/// Whether the few-rows kernel, 16 lanes wide, takes a long K in chunks
/// (each for all the rows before the next) rather than in one pass. The
/// products' values are the same either way.
pub fn few_rows_chunks_k() -> bool {
    #[cfg(target_arch = "x86_64")]
    return super::few_rows::chunks_k();
    #[cfg(not(target_arch = "x86_64"))]
    false
}

/// Has the few-rows kernel, 16 lanes wide, take a long K in chunks (`true`,
/// the default) or in one pass from now on, in every thread; the products'
/// values do not change, so that this may change at any time.
pub fn set_few_rows_chunks_k(chunks: bool) {
    #[cfg(target_arch = "x86_64")]
    super::few_rows::set_chunks_k(chunks);
    #[cfg(not(target_arch = "x86_64"))]
    let _ = chunks;
}

/// Whether [`set_few_row_lanes`] may still change the width: this CPU runs
/// both (AVX-512F), [`fix_few_row_lanes`] fixed neither, and no product has
/// run with the kernel yet (from the first, the width stays, so that a
/// process's products sum in one order).
pub fn few_row_lanes_settable() -> bool {
    #[cfg(target_arch = "x86_64")]
    return super::few_rows::lanes_settable();
    #[cfg(not(target_arch = "x86_64"))]
    false
}

/// Runs the few-rows kernel `lanes` wide (16 or 8) from now on, in every
/// thread; false, changing nothing, where [`few_row_lanes_settable`] is
/// false or the CPU lacks that width's instructions.
pub fn set_few_row_lanes(lanes: usize) -> bool {
    #[cfg(target_arch = "x86_64")]
    return super::few_rows::set_lanes(lanes);
    #[cfg(not(target_arch = "x86_64"))]
    {
        let _ = lanes;
        false
    }
}

/// Fixes the few-rows kernel's width at `lanes` (8, or 16 where the CPU has
/// AVX-512F) for the process, so that timing leaves it: false, changing
/// nothing, where the CPU lacks it or a product already ran with another.
pub fn fix_few_row_lanes(lanes: usize) -> bool {
    #[cfg(target_arch = "x86_64")]
    return few_row_lanes() != 0 && super::few_rows::fix_lanes(lanes);
    #[cfg(not(target_arch = "x86_64"))]
    {
        let _ = lanes;
        false
    }
}

/// `a [m, k] · w [n, k]ᵀ` (both row-major and contiguous) by the few-rows
/// kernel `lanes` wide (16 or 8), whatever the width in use: for timing the
/// two. None where this CPU lacks that width's instructions or the shape is
/// not one the kernel takes (1 to 64 rows, n ≥ 3, k ≥ 16).
///
/// # Panics
/// If `a` or `w` does not hold the elements the shape names.
pub fn few_rows_product(lanes: usize, a: &[f32], w: &[f32], m: usize, n: usize, k: usize) -> Option<Vec<f32>> {
    assert!(
        a.len() == m * k && w.len() == n * k,
        "few_rows_product: [{m}, {k}]·[{n}, {k}]ᵀ from {} and {} elements",
        a.len(),
        w.len()
    );
    #[cfg(target_arch = "x86_64")]
    {
        let mut out = vec![0.0f32; m * n];
        // SAFETY: `a`, `w` and `out` hold the elements of their shapes
        // (checked above), `out` is fresh.
        let made = unsafe {
            super::few_rows::a_times_wt_lanes(lanes, m, n, k, out.as_mut_ptr(), a.as_ptr(), k, w.as_ptr(), k)
        };
        if made {
            return Some(out);
        }
    }
    let _ = lanes;
    None
}
