//! The same product 16 lanes at a time (AVX-512F): a 4 x 6 block of outputs
//! in 24 of the 32 registers, 4 rows of `A` and 6 of `W` read for each 24
//! fused multiply-adds.

use super::{In, Out, PARALLEL_WORK};
use std::arch::x86_64::*;
use std::mem::MaybeUninit;

/// Columns of the output in one block.
const NR: usize = 6;

/// [`super::a_times_wt`] for a CPU with AVX-512F.
///
/// # Safety
/// As [`super::a_times_wt`], whose checks of the shape have passed.
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
) {
    // blocks of NR columns, the last one narrower where NR does not divide n
    let blocks = n.div_ceil(NR);
    // Past 32 rows each block of columns is two units of work, one for
    // each half of the rows (in blocks of 4): a unit streams half as much
    // of `A` past its columns (the `seed` head's `G·Wᵀ`, 50 rows of
    // 10,000, 10% faster on a Zen 4). No sum changes.
    let parts = if m > 32 { 2 } else { 1 };
    let units = blocks * parts;
    let tasks = if m * n * k < PARALLEL_WORK { 1 } else { (rayon::current_num_threads() * 4).min(units) };
    let (a, w, out) = (In(a), In(w), Out(out));
    let row_blocks = m.div_ceil(4);
    let run = move |t: usize| {
        let (a, w, out) = (a, w, out); // the wrappers, not their pointer fields
        let (lo, hi) = (units * t / tasks, units * (t + 1) / tasks);
        for u in lo..hi {
            let (q, part) = (u / parts, u % parts);
            let r0 = row_blocks * part / parts * 4;
            let r1 = (row_blocks * (part + 1) / parts * 4).min(m);
            let (j, m) = (q * NR, r1 - r0);
            // SAFETY: r0 < m and j < n: row r0 of `a`, row j of `w` and
            // that element of `out` are in them.
            let (a, w, out) = unsafe { (a.0.add(r0 * a_rs), w.0.add(j * w_rs), out.0.add(r0 * n + j)) };
            // SAFETY: rows r0..r1 and min(NR, n - j) columns from j are in
            // the shapes the caller promised; the caller found AVX-512F.
            unsafe {
                match n - j {
                    1 => columns::<1>(m, k, a, a_rs, w, w_rs, out, n),
                    2 => columns::<2>(m, k, a, a_rs, w, w_rs, out, n),
                    3 => columns::<3>(m, k, a, a_rs, w, w_rs, out, n),
                    4 => columns::<4>(m, k, a, a_rs, w, w_rs, out, n),
                    5 => columns::<5>(m, k, a, a_rs, w, w_rs, out, n),
                    _ => columns::<NR>(m, k, a, a_rs, w, w_rs, out, n),
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
}

/// Terms of the sum over a long K taken for all the rows before the next
/// ones, where [`super::chunks_k`] says so: `KC` terms of every row of
/// `A` (20 KB for 20 rows) and of `C` rows of `W` stay in the first-level
/// cache while each block of rows reads them. On a Xeon `dA·Whᵀ` with K
/// = 2600 gains from it and `h·Wh` with K = 650 does not, hence `4 * KC`;
/// on a Zen 4 one pass is faster (docs/speed.md).
const KC: usize = 256;

/// `C` columns of the output, all `m` rows, four rows at a time.
///
/// Where `m` and `k` are large and [`super::chunks_k`], K is taken `KC`
/// terms at a time for every block of rows, each block's 16-lane sums
/// kept in `acc` between the chunks: every lane adds the same terms in
/// the same order as in one pass. Otherwise each block of rows takes K in
/// one pass, its sums in registers only.
///
/// # Safety
/// The CPU has AVX-512F; `a [m, k]`, `w [C, k]` and `out [m, C]` (row
/// strides `a_rs`, `w_rs`, `out_rs`) are readable, `out` writable.
#[target_feature(enable = "avx512f")]
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
    if m <= 4 || k < 4 * KC || !super::chunks_k() {
        // one pass over K, a block of rows at a time: its sums need no
        // room beside the registers
        for i in (0..m).step_by(4) {
            let mut sums = [[_mm512_setzero_ps(); C]; 4];
            // SAFETY: i < m: rows i..min(i + 4, m) of `a` and `out` are in them.
            unsafe { add_rows(&mut sums, m - i, k, a.add(i * a_rs), a_rs, w, w_rs) };
            // SAFETY: as above.
            unsafe { store(&sums, m - i, out.add(i * out_rs), out_rs) };
        }
        return;
    }
    // each block's sums, zeroed by the first chunk (not all 64 rows' for
    // every block of columns)
    let blocks = m.div_ceil(4);
    let mut acc = [const { MaybeUninit::<[[__m512; C]; 4]>::uninit() }; super::MAX_ROWS / 4];
    for sums in acc.iter_mut().take(blocks) {
        sums.write([[_mm512_setzero_ps(); C]; 4]);
    }
    for k0 in (0..k).step_by(KC) {
        let kl = KC.min(k - k0);
        for (b, sums) in acc.iter_mut().enumerate().take(blocks) {
            let i = b * 4;
            // SAFETY: the first `blocks` are written above
            let sums = unsafe { sums.assume_init_mut() };
            // SAFETY: i < m and k0 + kl <= k: terms k0..k0 + kl of those rows.
            unsafe { add_rows(sums, m - i, kl, a.add(i * a_rs + k0), a_rs, w.add(k0), w_rs) };
        }
    }
    for (b, sums) in acc.iter().enumerate().take(blocks) {
        let i = b * 4;
        // SAFETY: the first `blocks` sums are written; i < m: rows of `out`.
        unsafe { store(sums.assume_init_ref(), m - i, out.add(i * out_rs), out_rs) };
    }
}

/// [`part`] for the first `rows` (up to 4) rows of `a`.
///
/// # Safety
/// As [`part`], for `min(rows, 4)` rows.
#[target_feature(enable = "avx512f")]
#[inline]
unsafe fn add_rows<const C: usize>(
    sums: &mut [[__m512; C]; 4],
    rows: usize,
    k: usize,
    a: *const f32,
    a_rs: usize,
    w: *const f32,
    w_rs: usize,
) {
    // SAFETY: the caller's promise, for the rows it has.
    unsafe {
        match rows {
            1 => part::<1, C>(sums, k, a, a_rs, w, w_rs),
            2 => part::<2, C>(sums, k, a, a_rs, w, w_rs),
            3 => part::<3, C>(sums, k, a, a_rs, w, w_rs),
            _ => part::<4, C>(sums, k, a, a_rs, w, w_rs),
        }
    }
}

/// The first `rows` (up to 4) rows of `sums`' dot products, their lanes
/// summed, into `out`.
///
/// # Safety
/// The CPU has AVX-512F; `out [min(rows, 4), C]` (row stride `out_rs`) is
/// writable.
#[target_feature(enable = "avx512f")]
#[inline]
unsafe fn store<const C: usize>(sums: &[[__m512; C]; 4], rows: usize, out: *mut f32, out_rs: usize) {
    for (r, row) in sums.iter().enumerate().take(rows) {
        for (j, s) in row.iter().enumerate() {
            // SAFETY: r < rows, j < C: inside `out`.
            unsafe { *out.add(r * out_rs + j) = _mm512_reduce_add_ps(*s) };
        }
    }
}

/// Adds `a [R, k] · w [C, k]ᵀ` to `acc`, 16 lanes of each dot product in
/// a register (the last `k mod 16` terms in lanes of their own, the lanes
/// past K masked off: a masked load reads nothing there).
///
/// # Safety
/// The CPU has AVX-512F; `a [R, k]` and `w [C, k]` (row strides `a_rs`,
/// `w_rs`) are readable.
#[target_feature(enable = "avx512f")]
#[inline]
unsafe fn part<const R: usize, const C: usize>(
    acc: &mut [[__m512; C]; 4],
    k: usize,
    a: *const f32,
    a_rs: usize,
    w: *const f32,
    w_rs: usize,
) {
    let mut sums = [[_mm512_setzero_ps(); C]; R];
    sums.copy_from_slice(&acc[..R]);
    let (ar, wr) = super::rows::<R, C>(a, a_rs, w, w_rs);
    let k16 = k / 16 * 16;
    let mut p = 0;
    while p < k16 {
        let mut wv = [_mm512_setzero_ps(); C];
        for (j, v) in wv.iter_mut().enumerate() {
            // SAFETY: p + 16 <= k: inside row j of `w`.
            *v = unsafe { _mm512_loadu_ps(wr[j].add(p)) };
        }
        for (r, row) in sums.iter_mut().enumerate() {
            // SAFETY: p + 16 <= k: inside row r of `a`.
            let av = unsafe { _mm512_loadu_ps(ar[r].add(p)) };
            for (j, s) in row.iter_mut().enumerate() {
                *s = _mm512_fmadd_ps(av, wv[j], *s);
            }
        }
        p += 16;
    }
    if k16 < k {
        let mask: __mmask16 = ((1u32 << (k - k16)) - 1) as u16;
        let mut wv = [_mm512_setzero_ps(); C];
        for (j, v) in wv.iter_mut().enumerate() {
            // SAFETY: the mask reads only terms k16..k of row j of `w`.
            *v = unsafe { _mm512_maskz_loadu_ps(mask, wr[j].add(k16)) };
        }
        for (r, row) in sums.iter_mut().enumerate() {
            // SAFETY: the mask reads only terms k16..k of row r of `a`.
            let av = unsafe { _mm512_maskz_loadu_ps(mask, ar[r].add(k16)) };
            for (j, s) in row.iter_mut().enumerate() {
                *s = _mm512_fmadd_ps(av, wv[j], *s);
            }
        }
    }
    acc[..R].copy_from_slice(&sums);
}
