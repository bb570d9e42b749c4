//! One LSTM step's element-wise work as one pass over each row in host
//! memory, for Flex: the book's `LSTM.forward` after its product `h·Wh`, and
//! its `LSTM.backward` before `dA·Whᵀ`. As Burn tensor ops these are about
//! a dozen passes forward and thirty back, each allocating its `[N, H]`
//! result, on tensors small enough (`[20, 650]` at the `big` preset) that the
//! passes cost more than their arithmetic.
//!
//! Each function is written once, portably, and compiled twice: as it is and
//! with AVX2 enabled, where the CPU has it. Element-wise code with no fused
//! multiply-adds rounds the same in both, so they agree bit for bit (tested).
//! The gates are packed as the book packs them: f, g, i, o, each `H` wide.

use super::math::{sigmoid, tanh};

/// The forward step of `n` rows: `a` (`[n, 4H]`, the product `h·Wh`) plus
/// `xw` (`[n, 4H]`, `x·Wx`) plus `b` (`[4H]`) is replaced by the gates
/// `f = σ(·), g = tanh(·), i = σ(·), o = σ(·)`; then, each `[n, H]`,
/// `c = f·c_prev + g·i`, `tanh_c = tanh(c)` and `h = o·tanh_c`.
pub fn forward(a: &mut [f32], xw: &[f32], b: &[f32], c_prev: &[f32], c: &mut [f32], tanh_c: &mut [f32], h: &mut [f32]) {
    let hs = b.len() / 4;
    assert!(hs > 0 && b.len() == 4 * hs, "a bias of 4H");
    let n = c_prev.len() / hs;
    for (len, what) in [(a.len(), "a"), (xw.len(), "xw")] {
        assert_eq!(len, n * 4 * hs, "{what}: [N, 4H]");
    }
    for (len, what) in [(c_prev.len(), "c_prev"), (c.len(), "c"), (tanh_c.len(), "tanh_c"), (h.len(), "h")] {
        assert_eq!(len, n * hs, "{what}: [N, H]");
    }
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: this CPU has AVX2.
        return unsafe { forward_avx2(a, xw, b, c_prev, c, tanh_c, h) };
    }
    forward_rows(a, xw, b, c_prev, c, tanh_c, h)
}

/// The backward step of `n` rows of `hidden` (H) units, from the gates and
/// `c_prev`, `tanh_c` kept by [`forward`] and the gradients `dh`, `dc` of
/// the state after the step (each `[n, H]`): `ds = dc + dh·o·(1 − tanh²c)`,
/// `dc_prev = ds·f`, and in `da` (`[n, 4H]`, packed as the gates) each gate's
/// gradient through its own derivative: `df = ds·c_prev·f(1 − f)`,
/// `dg = ds·i(1 − g²)`, `di = ds·g·i(1 − i)`, `do = dh·tanh_c·o(1 − o)`.
pub fn backward(k: Kept<'_>, dh: &[f32], dc: &[f32], da: &mut [f32], dc_prev: &mut [f32]) {
    let n_h = k.c_prev.len();
    assert!(k.hidden > 0 && n_h.is_multiple_of(k.hidden), "[N, H] states");
    for (len, what) in [(k.tanh_c.len(), "tanh_c"), (dh.len(), "dh"), (dc.len(), "dc"), (dc_prev.len(), "dc_prev")] {
        assert_eq!(len, n_h, "{what}: [N, H] as c_prev");
    }
    assert!(k.gates.len() == 4 * n_h && da.len() == 4 * n_h, "gates and da: [N, 4H]");
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: this CPU has AVX2.
        return unsafe { backward_avx2(k, dh, dc, da, dc_prev) };
    }
    backward_rows(k, dh, dc, da, dc_prev)
}

/// What [`forward`] left for [`backward`]: the gates `[N, 4H]`, `c_prev` and
/// `tanh_c` `[N, H]`, and H.
#[derive(Clone, Copy)]
pub struct Kept<'a> {
    /// The gates after their activations, `[N, 4H]`, packed f, g, i, o.
    pub gates: &'a [f32],
    /// The cell state before the step, `[N, H]`.
    pub c_prev: &'a [f32],
    /// `tanh` of the cell state after the step, `[N, H]`.
    pub tanh_c: &'a [f32],
    /// H: the size of the hidden state.
    pub hidden: usize,
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn forward_avx2(
    a: &mut [f32],
    xw: &[f32],
    b: &[f32],
    c_prev: &[f32],
    c: &mut [f32],
    tanh_c: &mut [f32],
    h: &mut [f32],
) {
    forward_rows(a, xw, b, c_prev, c, tanh_c, h)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn backward_avx2(k: Kept<'_>, dh: &[f32], dc: &[f32], da: &mut [f32], dc_prev: &mut [f32]) {
    backward_rows(k, dh, dc, da, dc_prev)
}

/// [`forward`], row by row (sizes checked by the caller).
#[inline(always)]
fn forward_rows(
    a: &mut [f32],
    xw: &[f32],
    b: &[f32],
    c_prev: &[f32],
    c: &mut [f32],
    tanh_c: &mut [f32],
    h: &mut [f32],
) {
    let hs = b.len() / 4;
    let rows = a.chunks_exact_mut(4 * hs).zip(xw.chunks_exact(4 * hs));
    let state = c_prev
        .chunks_exact(hs)
        .zip(c.chunks_exact_mut(hs))
        .zip(tanh_c.chunks_exact_mut(hs))
        .zip(h.chunks_exact_mut(hs));
    for ((a, xw), (((c_prev, c), tanh_c), h)) in rows.zip(state) {
        // The book's A = h·Wh + x·Wx + b, added in that order.
        for ((a, &x), &b) in a.iter_mut().zip(xw).zip(b) {
            *a = *a + x + b;
        }
        let (f, rest) = a.split_at_mut(hs);
        let (g, rest) = rest.split_at_mut(hs);
        let (i, o) = rest.split_at_mut(hs);
        // Every slice H long, so that indexing needs no checks and the loop
        // is vectorised (a chain of zips this long is not).
        let (f, g, i, o) = (&mut f[..hs], &mut g[..hs], &mut i[..hs], &mut o[..hs]);
        let (c_prev, c, tanh_c, h) = (&c_prev[..hs], &mut c[..hs], &mut tanh_c[..hs], &mut h[..hs]);
        for j in 0..hs {
            (f[j], g[j], i[j], o[j]) = (sigmoid(f[j]), tanh(g[j]), sigmoid(i[j]), sigmoid(o[j]));
            c[j] = f[j] * c_prev[j] + g[j] * i[j];
            tanh_c[j] = tanh(c[j]);
            h[j] = o[j] * tanh_c[j];
        }
    }
}

/// [`backward`], row by row (sizes checked by the caller).
#[inline(always)]
fn backward_rows(k: Kept<'_>, dh: &[f32], dc: &[f32], da: &mut [f32], dc_prev: &mut [f32]) {
    let hs = k.hidden;
    let rows = k.gates.chunks_exact(4 * hs).zip(da.chunks_exact_mut(4 * hs));
    let kept = k.c_prev.chunks_exact(hs).zip(k.tanh_c.chunks_exact(hs));
    let grads = dh.chunks_exact(hs).zip(dc.chunks_exact(hs)).zip(dc_prev.chunks_exact_mut(hs));
    for ((gates, da), ((c_prev, tanh_c), ((dh, dc), dc_prev))) in rows.zip(kept.zip(grads)) {
        let (f, rest) = gates.split_at(hs);
        let (g, rest) = rest.split_at(hs);
        let (i, o) = rest.split_at(hs);
        let (df, rest) = da.split_at_mut(hs);
        let (dg, rest) = rest.split_at_mut(hs);
        let (di, d_o) = rest.split_at_mut(hs);
        let (f, g, i, o, df, dg, di, d_o) =
            (&f[..hs], &g[..hs], &i[..hs], &o[..hs], &mut df[..hs], &mut dg[..hs], &mut di[..hs], &mut d_o[..hs]);
        let (c_prev, tanh_c, dh, dc, dc_prev) =
            (&c_prev[..hs], &tanh_c[..hs], &dh[..hs], &dc[..hs], &mut dc_prev[..hs]);
        for j in 0..hs {
            // As the tensor ops of `LstmCell::step_backward` order them.
            let ds = dc[j] + dh[j] * o[j] * (1.0 - tanh_c[j] * tanh_c[j]);
            dc_prev[j] = ds * f[j];
            df[j] = (1.0 - f[j]) * (ds * c_prev[j] * f[j]);
            dg[j] = (1.0 - g[j] * g[j]) * (ds * i[j]);
            di[j] = (1.0 - i[j]) * (ds * g[j] * i[j]);
            d_o[j] = (1.0 - o[j]) * (dh[j] * tanh_c[j] * o[j]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::math::test_values as values;
    use super::*;

    const EPS: f64 = f32::EPSILON as f64;

    fn sigmoid64(x: f64) -> f64 {
        1.0 / (1.0 + (-x).exp())
    }

    /// The forward step's inputs for `n` rows of `hs` units: `a`, `xw`, `b`
    /// and `c_prev` in [−3, 3].
    fn forward_inputs(n: usize, hs: usize) -> [Vec<f32>; 4] {
        [values(n * 4 * hs, 3.0, 1), values(n * 4 * hs, 3.0, 2), values(4 * hs, 3.0, 3), values(n * hs, 3.0, 4)]
    }

    /// Runs `step` (the dispatching [`forward`], or one of its two builds) and
    /// returns the gates, `c`, `tanh_c` and `h`.
    fn run_forward(
        n: usize,
        hs: usize,
        step: impl Fn(&mut [f32], &[f32], &[f32], &[f32], &mut [f32], &mut [f32], &mut [f32]),
    ) -> [Vec<f32>; 4] {
        let [mut a, xw, b, c_prev] = forward_inputs(n, hs);
        let (mut c, mut tanh_c, mut h) = (vec![f32::NAN; n * hs], vec![f32::NAN; n * hs], vec![f32::NAN; n * hs]);
        step(&mut a, &xw, &b, &c_prev, &mut c, &mut tanh_c, &mut h);
        [a, c, tanh_c, h]
    }

    /// Each of the step's outputs is a few f32 roundings (each within ε of
    /// values at most 9 in size) and activations (within 4ε, with
    /// derivatives at most 1) away from the f64 step on the same inputs: the
    /// bound allowed, 128ε absolute, is that chain's worst case with room.
    #[test]
    fn the_forward_step_is_the_books_in_f64_to_128_eps() {
        for (n, hs) in [(1, 1), (3, 13), (20, 64)] {
            let [a, xw, b, c_prev] = forward_inputs(n, hs);
            let [gates, c, tanh_c, h] = run_forward(n, hs, forward);
            for r in 0..n {
                for j in 0..hs {
                    let pre = |k: usize| {
                        let q = r * 4 * hs + k * hs + j;
                        f64::from(a[q]) + f64::from(xw[q]) + f64::from(b[k * hs + j])
                    };
                    let (f, g, i, o) = (sigmoid64(pre(0)), pre(1).tanh(), sigmoid64(pre(2)), sigmoid64(pre(3)));
                    let cw = f * f64::from(c_prev[r * hs + j]) + g * i;
                    let want = [f, g, i, o, cw, cw.tanh(), o * cw.tanh()];
                    let q = |k: usize| r * 4 * hs + k * hs + j;
                    let got = [
                        gates[q(0)],
                        gates[q(1)],
                        gates[q(2)],
                        gates[q(3)],
                        c[r * hs + j],
                        tanh_c[r * hs + j],
                        h[r * hs + j],
                    ];
                    for (k, (&got, want)) in got.iter().zip(want).enumerate() {
                        assert!(
                            (f64::from(got) - want).abs() <= 128.0 * EPS,
                            "n {n} H {hs} [{r},{j}] output {k}: {got} vs {want}"
                        );
                    }
                }
            }
        }
    }

    /// The backward step's inputs for `n` rows of `hs` units: gates and
    /// `tanh_c` as a forward step leaves them, `c_prev`, `dh` and `dc` in [−1, 1].
    fn backward_inputs(n: usize, hs: usize) -> [Vec<f32>; 5] {
        let [mut gates, _, tanh_c, _] = run_forward(n, hs, forward);
        gates.iter_mut().for_each(|g| *g = g.clamp(-1.0, 1.0));
        [gates, values(n * hs, 1.0, 5), tanh_c, values(n * hs, 1.0, 6), values(n * hs, 1.0, 7)]
    }

    /// With every input at most 1 in size, each gradient is at most five f32
    /// products and sums of values at most 3: within 32ε absolute of the f64
    /// formulas on the same inputs.
    #[test]
    fn the_backward_step_is_the_books_in_f64_to_32_eps() {
        for (n, hs) in [(1, 1), (3, 13), (20, 64)] {
            let [gates, c_prev, tanh_c, dh, dc] = backward_inputs(n, hs);
            let (mut da, mut dc_prev) = (vec![f32::NAN; n * 4 * hs], vec![f32::NAN; n * hs]);
            backward(
                Kept { gates: &gates, c_prev: &c_prev, tanh_c: &tanh_c, hidden: hs },
                &dh,
                &dc,
                &mut da,
                &mut dc_prev,
            );
            for r in 0..n {
                for j in 0..hs {
                    let q = |k: usize| r * 4 * hs + k * hs + j;
                    let x = |v: &[f32]| f64::from(v[r * hs + j]);
                    let (f, g, i, o) = (
                        f64::from(gates[q(0)]),
                        f64::from(gates[q(1)]),
                        f64::from(gates[q(2)]),
                        f64::from(gates[q(3)]),
                    );
                    let (tc, dh) = (x(&tanh_c), x(&dh));
                    let ds = x(&dc) + dh * o * (1.0 - tc * tc);
                    let want = [
                        ds * x(&c_prev) * f * (1.0 - f),
                        ds * i * (1.0 - g * g),
                        ds * g * i * (1.0 - i),
                        dh * tc * o * (1.0 - o),
                        ds * f,
                    ];
                    let got = [da[q(0)], da[q(1)], da[q(2)], da[q(3)], dc_prev[r * hs + j]];
                    for (k, (&got, want)) in got.iter().zip(want).enumerate() {
                        assert!(
                            (f64::from(got) - want).abs() <= 32.0 * EPS,
                            "n {n} H {hs} [{r},{j}] output {k}: {got} vs {want}"
                        );
                    }
                }
            }
        }
    }

    #[cfg(target_arch = "x86_64")]
    #[test]
    fn the_avx2_build_equals_the_portable_one_bit_for_bit() {
        if !std::arch::is_x86_feature_detected!("avx2") {
            eprintln!("no AVX2 on this CPU: nothing to compare");
            return;
        }
        let bits =
            |v: &[Vec<f32>]| v.iter().map(|v| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>()).collect::<Vec<_>>();
        for (n, hs) in [(1, 1), (3, 13), (20, 100), (2, 650)] {
            // SAFETY: this CPU has AVX2.
            let fast = run_forward(n, hs, |a, x, b, cp, c, t, h| unsafe { forward_avx2(a, x, b, cp, c, t, h) });
            let plain = run_forward(n, hs, forward_rows);
            assert_eq!(bits(&fast), bits(&plain), "forward, n {n} H {hs}");
            let [gates, c_prev, tanh_c, dh, dc] = backward_inputs(n, hs);
            let k = Kept { gates: &gates, c_prev: &c_prev, tanh_c: &tanh_c, hidden: hs };
            let grads = |avx2: bool| {
                let (mut da, mut dc_prev) = (vec![0f32; n * 4 * hs], vec![0f32; n * hs]);
                if avx2 {
                    // SAFETY: this CPU has AVX2.
                    unsafe { backward_avx2(k, &dh, &dc, &mut da, &mut dc_prev) }
                } else {
                    backward_rows(k, &dh, &dc, &mut da, &mut dc_prev)
                }
                vec![da, dc_prev]
            };
            assert_eq!(bits(&grads(true)), bits(&grads(false)), "backward, n {n} H {hs}");
        }
    }
}
