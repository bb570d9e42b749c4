//! How fast Flex multiplies the matrices of the `big` preset's affine layer
//! (the forward product, the weight gradient and the input gradient), of
//! its LSTM layer and of the `seed` preset's affine layer, each timed for a second inside rayon's pool (as the CLI runs), in GFLOP/s,
//! and as a share of the CPU's multiply-add ceiling: every thread of the pool
//! running independent multiply-adds on its widest vectors, as no product can.
//!
//! ```text
//! cargo run --example matmul_probe
//! ```
//!
//! Compare with `python bench/matmul_peak.py --threads 2` (NumPy's and
//! PyTorch's BLAS on the same shapes).

use burn::tensor::{Device, Distribution, Tensor};
use rnnlm::cpu::matmul;
mod common;

/// Prints the rate of `f`, a product of `flops` floating-point operations,
/// and its share of `peak` (GFLOP/s) where the CPU's is known.
fn time<F: FnMut() -> f32>(label: &str, flops: f64, peak: Option<f64>, f: F) {
    let dt = common::seconds_per_call(f);
    let rate = flops / dt / 1e9;
    let share = peak.map(|p| format!(", {:.0}% of the ceiling", 100.0 * rate / p)).unwrap_or_default();
    println!("{label:>30}: {rate:.1} GFLOP/s ({:.1} ms{share})", dt * 1e3);
}

/// [`time`] with the few-rows kernel taking a long K the other way (in one
/// pass or in chunks, `model::FewRowPass`), the pass in effect restored after.
fn time_other_pass<F: FnMut() -> f32>(label: &str, flops: f64, peak: Option<f64>, f: F) {
    use rnnlm::cpu::{few_rows_chunks_k, set_few_rows_chunks_k};
    let chunks = few_rows_chunks_k();
    set_few_rows_chunks_k(!chunks);
    time(&format!("{label}, K {}", if chunks { "in one pass" } else { "in chunks" }), flops, peak, f);
    set_few_rows_chunks_k(chunks);
}

/// The CPU's multiply-add ceiling in GFLOP/s: 12 independent chains of
/// multiply-adds on each of the pool's threads at once (a product's kernel
/// must also load its operands, so none reaches it), 16 lanes with AVX-512F,
/// else 8 with AVX2 and FMA; the best of three runs. None elsewhere.
fn fma_ceiling(pool: &rayon::ThreadPool) -> Option<f64> {
    const ROUNDS: usize = 50_000_000;
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::*;
        // Each round: 12 multiply-adds of `lanes` lanes, each on its own chain.
        #[target_feature(enable = "avx512f")]
        fn chains_16() -> f32 {
            let (x, y) = (_mm512_set1_ps(0.999_999), _mm512_set1_ps(1e-7));
            let mut acc = [_mm512_set1_ps(1.0); 12];
            for _ in 0..ROUNDS {
                for a in &mut acc {
                    *a = _mm512_fmadd_ps(*a, x, y);
                }
            }
            acc.iter().map(|&a| _mm512_reduce_add_ps(a)).sum()
        }
        #[target_feature(enable = "avx2,fma")]
        fn chains_8() -> f32 {
            let (x, y) = (_mm256_set1_ps(0.999_999), _mm256_set1_ps(1e-7));
            let mut acc = [_mm256_set1_ps(1.0); 12];
            for _ in 0..ROUNDS {
                for a in &mut acc {
                    *a = _mm256_fmadd_ps(*a, x, y);
                }
            }
            let mut lanes = [0.0f32; 8];
            acc.iter()
                .map(|&a| {
                    // SAFETY: `lanes` holds 8 f32s.
                    unsafe { _mm256_storeu_ps(lanes.as_mut_ptr(), a) };
                    lanes.iter().sum::<f32>()
                })
                .sum()
        }
        let (lanes, chains): (f64, fn() -> f32) = if is_x86_feature_detected!("avx512f") {
            // SAFETY: the CPU has AVX-512F.
            (16.0, || unsafe { chains_16() })
        } else if is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma") {
            // SAFETY: the CPU has AVX2 and FMA.
            (8.0, || unsafe { chains_8() })
        } else {
            return None;
        };
        let flops = pool.current_num_threads() as f64 * ROUNDS as f64 * 12.0 * lanes * 2.0;
        let best = (0..3)
            .map(|_| {
                let t = std::time::Instant::now();
                std::hint::black_box(pool.broadcast(|_| chains()));
                t.elapsed().as_secs_f64()
            })
            .fold(f64::INFINITY, f64::min);
        Some(flops / best / 1e9)
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let _ = (pool, ROUNDS);
        None
    }
}

fn main() {
    let dev = Device::flex();
    let a: Tensor<2> = Tensor::random([700, 650], Distribution::Default, &dev);
    let w: Tensor<2> = Tensor::random([650, 10000], Distribution::Default, &dev);
    let g: Tensor<2> = Tensor::random([700, 10000], Distribution::Default, &dev);
    let fl = 2.0 * 700.0 * 650.0 * 10000.0;
    let pool = rayon::ThreadPoolBuilder::new().build().expect("a thread pool");
    let peak = fma_ceiling(&pool);
    match peak {
        Some(p) => println!("{:>30}: {p:.1} GFLOP/s on {} threads", "multiply-add ceiling", pool.current_num_threads()),
        None => println!("{:>30}: not measured on this CPU", "multiply-add ceiling"),
    }
    pool.install(|| {
        time("fwd a@w", fl, peak, || matmul(a.clone(), w.clone()).slice([0..1, 0..1]).into_scalar());
        time("dW a^T@g", fl, peak, || matmul(a.clone().transpose(), g.clone()).slice([0..1, 0..1]).into_scalar());
        time("dx g@w^T", fl, peak, || matmul(g.clone(), w.clone().transpose()).slice([0..1, 0..1]).into_scalar());
    });
    // An LSTM layer's products at the same sizes: one time step's h·Wh and
    // its backward dA·Whᵀ, and dWh summed over the N·T rows in one product.
    let h: Tensor<2> = Tensor::random([20, 650], Distribution::Default, &dev);
    let wh: Tensor<2> = Tensor::random([650, 2600], Distribution::Default, &dev);
    let da: Tensor<2> = Tensor::random([20, 2600], Distribution::Default, &dev);
    let hs: Tensor<2> = Tensor::random([700, 650], Distribution::Default, &dev);
    let das: Tensor<2> = Tensor::random([700, 2600], Distribution::Default, &dev);
    let step = 2.0 * 20.0 * 650.0 * 2600.0;
    pool.install(|| {
        time("lstm step h@Wh", step, peak, || matmul(h.clone(), wh.clone()).slice([0..1, 0..1]).into_scalar());
        // as training asks it: Wh stored column by column (its
        // transpose row-major), which Flex multiplies as dot products
        let wh_cols = wh.clone().transpose().reshape([2600 * 650]).reshape([2600, 650]).transpose();
        time("lstm step h@Wh, Wh by columns", step, peak, || {
            matmul(h.clone(), wh_cols.clone()).slice([0..1, 0..1]).into_scalar()
        });
        time("lstm step dA@Wh^T", step, peak, || {
            matmul(da.clone(), wh.clone().transpose()).slice([0..1, 0..1]).into_scalar()
        });
        time_other_pass("dA@Wh^T", step, peak, || {
            matmul(da.clone(), wh.clone().transpose()).slice([0..1, 0..1]).into_scalar()
        });
        // Whᵀ copied row-major: gemm's layout, slower than the transposed
        // view that the few-rows kernel takes (src/cpu/layout.rs, `BackLayout`)
        let wh_t = wh_cols.clone().transpose();
        time("lstm step dA@Wh^T, row-major", step, peak, || {
            matmul(da.clone(), wh_t.clone()).slice([0..1, 0..1]).into_scalar()
        });
        time("lstm dWh hs^T@dA", step * 35.0, peak, || {
            matmul(hs.clone().transpose(), das.clone()).slice([0..1, 0..1]).into_scalar()
        });
    });
    // The `seed` preset's head: 50 rows (batch 10 × time 5), H = 100, V = 10000.
    // Its `dx = G·Wᵀ` has a long inner dimension and an output too small for
    // `gemm` to share among threads (src/cpu/layout.rs, `HeadLayout`).
    let x: Tensor<2> = Tensor::random([50, 100], Distribution::Default, &dev);
    let ws: Tensor<2> = Tensor::random([100, 10000], Distribution::Default, &dev);
    let gs: Tensor<2> = Tensor::random([50, 10000], Distribution::Default, &dev);
    let head = 2.0 * 50.0 * 100.0 * 10000.0;
    pool.install(|| {
        time("seed head x@W", head, peak, || matmul(x.clone(), ws.clone()).slice([0..1, 0..1]).into_scalar());
        time("seed head dx g@W^T", head, peak, || {
            matmul(gs.clone(), ws.clone().transpose()).slice([0..1, 0..1]).into_scalar()
        });
        let half = |r: std::ops::Range<usize>| {
            let (gs, ws) = (&gs, &ws);
            move || matmul(gs.clone().slice([0..50, r.clone()]), ws.clone().slice([0..100, r]).transpose())
        };
        time("seed head dx, V in halves", head, peak, || {
            let (a, b) = rayon::join(half(0..5000), half(5000..10000));
            (a + b).slice([0..1, 0..1]).into_scalar()
        });
        time_other_pass("seed head dx", head, peak, || {
            matmul(gs.clone(), ws.clone().transpose()).slice([0..1, 0..1]).into_scalar()
        });
    });
}
