//! `A [M, K] · Wᵀ` for a few rows of `A` (M ≤ 64) and a row-major `W [N, K]`:
//! every output element the dot product of two contiguous rows. It is the
//! product of one recurrent time step (`h [20, 650] · Whᵀ`), which `gemm`
//! runs at about half of its rate on large matrices because the few rows of
//! `A` leave it little to reuse each packed panel of `W` for, and of a small
//! batch's output layer backward (`G [50, 10000] · W`, the `seed` preset's),
//! whose output is too small for `gemm` to share among threads.
//!
//! The kernel keeps a 4 x 3 block of outputs in twelve AVX2 registers (8
//! lanes), or a 4 x 6 block in 24 AVX-512 registers (16 lanes), reads 4 rows
//! of `A` and a block's rows of `W` for each block of fused multiply-adds,
//! and sums the lanes at the end; the blocks of columns are shared among
//! rayon's threads when the product is large enough to pay for them. The sum
//! over K is in one fixed order, whatever the number of threads.
//!
//! Which width runs is a setting of the process ([`set_lanes`], [`fix_lanes`]),
//! chosen by timing ([`super::layout::FewRowLanes`]); once a product has run
//! with it, it stays, so that every product of a process sums in one order.

use std::arch::x86_64::*;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

/// At most this many rows of `A`. At 50 (the `seed` preset's head backward)
/// the kernel runs that product 1.3 to 4 times as fast as `gemm`
/// (docs/speed.md); with many rows `gemm`'s packed kernels, which reuse
/// each panel of `W` for all of them, are the ones to use.
pub const MAX_ROWS: usize = 64;
/// Products of fewer multiply-adds than this run on the calling thread.
const PARALLEL_WORK: usize = 1 << 21;
/// Columns of the output in one block (the kernel's width).
const NR: usize = 3;

/// The output's pointer, shared by the threads of one product.
#[derive(Clone, Copy)]
struct Out(*mut f32);
// SAFETY: each thread of a product writes its own blocks of columns (or of
// rows), so no two write one element, and the product returns only after
// every thread has finished.
unsafe impl Send for Out {}
// SAFETY: as for Send: the threads write disjoint elements.
unsafe impl Sync for Out {}
/// An input's pointer, shared by the threads of one product.
#[derive(Clone, Copy)]
struct In(*const f32);
// SAFETY: the inputs are only read, while the product runs, and no thread
// writes them (the caller promises `out` overlaps neither).
unsafe impl Send for In {}
// SAFETY: as for Send: shared reads only.
unsafe impl Sync for In {}

/// `out [m, n]` (row-major, row stride `n`) = `a [m, k]` (row stride `a_rs`,
/// columns contiguous) · `w [n, k]`ᵀ (row stride `w_rs`, columns contiguous).
/// Returns false, touching nothing, where this CPU lacks AVX2 and FMA or the
/// shape is not one this kernel is for; the caller then runs `gemm`.
///
/// # Safety
/// `a`, `w` and `out` must hold the elements those shapes and strides name,
/// and `out` must not overlap either input.
#[allow(clippy::too_many_arguments)]
pub unsafe fn a_times_wt(
    m: usize,
    n: usize,
    k: usize,
    out: *mut f32,
    a: *const f32,
    a_rs: usize,
    w: *const f32,
    w_rs: usize,
) -> bool {
    // a product the kernel does not take leaves its width free
    if !takes(m, n, k) {
        return false;
    }
    // SAFETY: the caller's promise, passed on.
    unsafe { a_times_wt_lanes(lanes_in_use(), m, n, k, out, a, a_rs, w, w_rs) }
}

/// Whether the kernel takes `a [m, k] · w [n, k]ᵀ`: 1 to [`MAX_ROWS`] rows,
/// a block of columns or more, K of at least 16.
pub fn takes(m: usize, n: usize, k: usize) -> bool {
    (1..=MAX_ROWS).contains(&m) && n >= NR && k >= 16
}

/// [`a_times_wt`] with the kernel `lanes` wide (16 or 8), whatever the width
/// in use: for timing the two. False, touching nothing, where this CPU lacks
/// that width's instructions or the shape is not one the kernel is for.
///
/// # Safety
/// As [`a_times_wt`].
#[allow(clippy::too_many_arguments)]
pub unsafe fn a_times_wt_lanes(
    lanes: usize,
    m: usize,
    n: usize,
    k: usize,
    out: *mut f32,
    a: *const f32,
    a_rs: usize,
    w: *const f32,
    w_rs: usize,
) -> bool {
    if !takes(m, n, k) || !runs(lanes) {
        return false;
    }
    if lanes == 16 {
        // SAFETY: the caller's promise; `runs(16)` found AVX-512F.
        unsafe { wide::a_times_wt(m, n, k, out, a, a_rs, w, w_rs) };
        return true;
    }
    // blocks of NR columns, the last one narrower where NR does not divide n
    let blocks = n.div_ceil(NR);
    let tasks = if m * n * k < PARALLEL_WORK { 1 } else { (rayon::current_num_threads() * 4).min(blocks) };
    let (a, w, out) = (In(a), In(w), Out(out));
    let run = move |t: usize| {
        let (a, w, out) = (a, w, out); // the wrappers, not their pointer fields
        let (lo, hi) = (blocks * t / tasks, blocks * (t + 1) / tasks);
        for q in lo..hi {
            let j = q * NR;
            // SAFETY: j < n: row j of `w` and column j of `out` are in them.
            let (w, out) = unsafe { (w.0.add(j * w_rs), out.0.add(j)) };
            // SAFETY: min(NR, n - j) columns from j, all m rows, are in the
            // shapes the caller promised; `runs(8)` found AVX2 and FMA.
            unsafe {
                match n - j {
                    1 => columns::<1>(m, k, a.0, a_rs, w, w_rs, out, n),
                    2 => columns::<2>(m, k, a.0, a_rs, w, w_rs, out, n),
                    _ => columns::<NR>(m, k, a.0, a_rs, w, w_rs, out, n),
                }
            }
        }
    };
    if tasks == 1 {
        run(0);
    } else {
        use rayon::prelude::*;
        (0..tasks).into_par_iter().for_each(run);
    }
    true
}

/// `C` columns of the output, all `m` rows, four rows at a time.
///
/// # Safety
/// The CPU has AVX2 and FMA; `a [m, k]`, `w [C, k]` and `out [m, C]`
/// (row strides `a_rs`, `w_rs`, `out_rs`) are readable, `out` writable.
#[target_feature(enable = "avx2,fma")]
#[allow(clippy::too_many_arguments)]
unsafe fn columns<const C: usize>(
    m: usize,
    k: usize,
    a: *const f32,
    a_rs: usize,
    w: *const f32,
    w_rs: usize,
    out: *mut f32,
    out_rs: usize,
) {
    let mut i = 0;
    while i < m {
        // SAFETY: i < m: row i of `a` and of `out` are in them.
        let (ai, oi) = unsafe { (a.add(i * a_rs), out.add(i * out_rs)) };
        // SAFETY: min(4, m - i) rows from row i are in the shapes promised.
        unsafe {
            match m - i {
                1 => block::<1, C>(k, ai, a_rs, w, w_rs, oi, out_rs),
                2 => block::<2, C>(k, ai, a_rs, w, w_rs, oi, out_rs),
                3 => block::<3, C>(k, ai, a_rs, w, w_rs, oi, out_rs),
                _ => block::<4, C>(k, ai, a_rs, w, w_rs, oi, out_rs),
            }
        }
        i += 4;
    }
}

/// `out [R, C]` = `a [R, k] · w [C, k]ᵀ`: 8 lanes of each dot product in a
/// register, the lanes summed at the end, the last `k mod 8` terms after them.
///
/// # Safety
/// As [`columns`], for `R` rows.
#[target_feature(enable = "avx2,fma")]
#[allow(clippy::too_many_arguments)]
unsafe fn block<const R: usize, const C: usize>(
    k: usize,
    a: *const f32,
    a_rs: usize,
    w: *const f32,
    w_rs: usize,
    out: *mut f32,
    out_rs: usize,
) {
    let mut acc = [[_mm256_setzero_ps(); C]; R];
    // each row's start, once: the loop's loads add only `p` (no overflow
    // check a load in the crate's profile)
    let (ar, wr) = rows::<R, C>(a, a_rs, w, w_rs);
    let k8 = k / 8 * 8;
    let mut p = 0;
    while p < k8 {
        let mut wv = [_mm256_setzero_ps(); C];
        for (j, v) in wv.iter_mut().enumerate() {
            // SAFETY: p + 8 <= k: inside row j of `w`.
            *v = unsafe { _mm256_loadu_ps(wr[j].add(p)) };
        }
        for (r, row) in acc.iter_mut().enumerate() {
            // SAFETY: p + 8 <= k: inside row r of `a`.
            let av = unsafe { _mm256_loadu_ps(ar[r].add(p)) };
            for (j, s) in row.iter_mut().enumerate() {
                *s = _mm256_fmadd_ps(av, wv[j], *s);
            }
        }
        p += 8;
    }
    for (r, row) in acc.iter().enumerate() {
        for (j, s) in row.iter().enumerate() {
            let mut sum = lanes_sum(*s);
            for q in k8..k {
                // SAFETY: q < k: inside row r of `a` and row j of `w`.
                sum += unsafe { *ar[r].add(q) * *wr[j].add(q) };
            }
            // SAFETY: r < R, j < C: inside `out`.
            unsafe { *out.add(r * out_rs + j) = sum };
        }
    }
}

/// The first element of each of `R` rows of `a` and `C` rows of `w`.
#[inline(always)]
fn rows<const R: usize, const C: usize>(
    a: *const f32,
    a_rs: usize,
    w: *const f32,
    w_rs: usize,
) -> ([*const f32; R], [*const f32; C]) {
    (std::array::from_fn(|r| a.wrapping_add(r * a_rs)), std::array::from_fn(|j| w.wrapping_add(j * w_rs)))
}

/// The sum of a register's 8 lanes.
#[target_feature(enable = "avx2,fma")]
fn lanes_sum(v: __m256) -> f32 {
    let s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    let s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    _mm_cvtss_f32(_mm_add_ss(s, _mm_shuffle_ps(s, s, 1)))
}

/// The kernel's width in lanes (16: [`wide`], or 8), 0 while not set, and
/// [`IN_USE`] once a product has run with it: from then on it stays, so that
/// every product of a process sums in one order.
static LANES: AtomicUsize = AtomicUsize::new(0);
/// The flag in [`LANES`] that a product has run with its width.
const IN_USE: usize = 1 << 8;

/// Whether the 16-lane kernel takes a long K in chunks (the default) or in
/// one pass; either way every lane adds the same terms in the same order, so
/// that this may change at any time.
static CHUNKS_K: AtomicBool = AtomicBool::new(true);

/// Whether the 16-lane kernel takes a long K (4 chunks or more) in chunks,
/// each for all the rows before the next: `true` unless [`set_chunks_k`]
/// said otherwise.
pub fn chunks_k() -> bool {
    CHUNKS_K.load(Ordering::Relaxed)
}

/// Takes a long K in chunks (`true`) or in one pass from now on, in every
/// thread; the products' values do not change.
pub fn set_chunks_k(chunks: bool) {
    CHUNKS_K.store(chunks, Ordering::Relaxed);
}

/// Whether this CPU runs the kernel `lanes` wide.
fn runs(lanes: usize) -> bool {
    match lanes {
        16 => is_x86_feature_detected!("avx512f"),
        8 => is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma"),
        _ => false,
    }
}

/// Set by [`fix_lanes`]: the width may no longer change.
static FIXED: AtomicBool = AtomicBool::new(false);

/// Fixes the width at `lanes` (8, or 16 where the CPU has AVX-512F) before
/// any product has run, so that timing does not change it: the command
/// line's `RNNLM_FEW_ROWS`. False, changing nothing, where the CPU lacks
/// that width or a product has already run with another.
pub fn fix_lanes(lanes: usize) -> bool {
    if lanes != self::lanes() && !set_lanes(lanes) {
        return false;
    }
    FIXED.store(true, Ordering::Release);
    true
}

/// The width before any is set: 16 where the CPU has AVX-512F, else 8.
fn default_lanes() -> usize {
    if runs(16) { 16 } else { 8 }
}

/// The kernel's width for the products from now on: 16 where the CPU has
/// AVX-512F, 8 otherwise, unless [`set_lanes`] or [`fix_lanes`] said
/// otherwise.
pub fn lanes() -> usize {
    match LANES.load(Ordering::Acquire) & !IN_USE {
        0 => default_lanes(),
        lanes => lanes,
    }
}

/// Whether [`set_lanes`] may still change the width: the CPU runs both
/// widths (AVX-512F), [`fix_lanes`] has fixed neither, and no product has
/// run with the width in effect.
pub fn lanes_settable() -> bool {
    runs(16) && !FIXED.load(Ordering::Acquire) && LANES.load(Ordering::Acquire) & IN_USE == 0
}

/// Runs the kernel `lanes` wide (16 or 8) from now on, in every thread.
/// False, changing nothing, where [`lanes_settable`] is false or this CPU
/// lacks that width's instructions.
pub fn set_lanes(lanes: usize) -> bool {
    if !runs(lanes) || !lanes_settable() {
        return false;
    }
    let mut now = LANES.load(Ordering::Acquire);
    while now & IN_USE == 0 {
        match LANES.compare_exchange_weak(now, lanes, Ordering::AcqRel, Ordering::Acquire) {
            Ok(_) => return true,
            Err(seen) => now = seen,
        }
    }
    false
}

/// The width a product runs with, marked in use: set from then on.
fn lanes_in_use() -> usize {
    let mut now = LANES.load(Ordering::Acquire);
    loop {
        if now & IN_USE != 0 {
            return now & !IN_USE;
        }
        let lanes = if now == 0 { default_lanes() } else { now };
        match LANES.compare_exchange_weak(now, lanes | IN_USE, Ordering::AcqRel, Ordering::Acquire) {
            Ok(_) => return lanes,
            Err(seen) => now = seen,
        }
    }
}

// The same product 16 lanes at a time, where the CPU has AVX-512F.
mod wide;
