//! A batch's few rows times a transposed row-major matrix (a time step's
//! `h · Wh` and `dA · Whᵀ`), which `rnnlm::cpu::matmul` runs on Flex as dot
//! products (`src/cpu/few_rows.rs`, on CPUs with AVX2 and FMA), is the
//! product to f32's rounding, and so is every other layout it hands to gemm
//! instead; ndarray's product (Burn's own) is held to the same bound.

mod common;

use burn::tensor::{Device, Tensor, TensorData};
use rnnlm::cpu::matmul;

/// A deterministic spread of values in [-0.5, 0.5).
fn values(n: usize, seed: u64) -> Vec<f32> {
    let mut s = seed;
    (0..n)
        .map(|_| {
            s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            (s >> 40) as f32 / (1u64 << 24) as f32 - 0.5
        })
        .collect()
}

/// `a [m, k] · w [n, k]ᵀ` against the f64 sum of the same terms: each element
/// within K·ε·Σ|aᵢ·wᵢ| (the bound on any order of summing K f32 products).
fn agrees(device: &Device, m: usize, n: usize, k: usize) {
    let (a, w) = (values(m * k, 1 + m as u64), values(n * k, 2 + n as u64));
    let at: Tensor<2> = Tensor::from_data(TensorData::new(a.clone(), [m, k]), device);
    let wt: Tensor<2> = Tensor::from_data(TensorData::new(w.clone(), [n, k]), device);
    // as the backward asks it (rows of W), and as the forward asks it (W's
    // transpose stored row-major, then transposed back)
    let wt_rows = wt.clone().transpose().reshape([k * n]).reshape([k, n]);
    let products = [("a·wᵀ", matmul(at.clone(), wt.transpose())), ("a·(wᵀ stored)", matmul(at, wt_rows))];
    for (label, product) in products {
        within_rounding(&format!("{label} {m}x{k}x{n}"), product, &a, &w, [m, n, k]);
    }
}

/// `got [m, n]` against the f64 sums `a [m, k] · w [n, k]ᵀ`: each element
/// within K·ε·Σ|aᵢ·wᵢ| (the bound on any order of summing K f32 products).
fn within_rounding(label: &str, got: Tensor<2>, a: &[f32], w: &[f32], [m, n, k]: [usize; 3]) {
    let got = got.into_data();
    let got = got.as_slice::<f32>().expect("f32 values");
    for i in 0..m {
        for j in 0..n {
            let terms = (0..k).map(|p| a[i * k + p] as f64 * w[j * k + p] as f64);
            let exact: f64 = terms.clone().sum();
            let bound = k as f64 * f32::EPSILON as f64 * terms.map(f64::abs).sum::<f64>();
            let err = (got[i * n + j] as f64 - exact).abs();
            assert!(err <= bound, "{label} at ({i}, {j}): error {err:e} over {bound:e}");
        }
    }
}

/// The shapes of the presets' steps (`ch6`: N 20, H 100; `big`: H 650, the
/// LSTM's 4H and the GRU's 2H), and shapes at each edge of the kernel: a row
/// block's remainder, each remainder of a column block (1 to 5 columns past
/// the 16-lane kernel's blocks of 6, 1 and 2 past the 8-lane's of 3), K
/// without a multiple of 8, the most rows it takes (64) and one more (left to
/// gemm), K long enough for the 16-lane kernel to take it in chunks of 256
/// (from 1024), with and without a last partial chunk, and the `seed`
/// preset's head backward (`G [50, 10000] · W`).
const SHAPES: &[(usize, usize, usize)] = &[
    (20, 400, 100),
    (32, 13, 1030),
    (6, 7, 1024),
    (5, 6, 1041),
    (20, 100, 400),
    (20, 2600, 650),
    (20, 650, 2600),
    (20, 1300, 650),
    (1, 3, 16),
    (5, 10, 33),
    (7, 70, 17),
    (32, 101, 64),
    (33, 101, 64),
    (64, 10, 1100),
    (65, 101, 64),
    (50, 100, 10000),
    (3, 2, 8),
];

#[test]
fn flex_few_row_products_are_the_product_to_f32_rounding() {
    if std::env::var("RNNLM_FEW_ROWS").as_deref() == Ok("8") {
        // the child process of the eight-lane test below
        assert!(rnnlm::cpu::fix_few_row_lanes(8) || !cpu_runs(8), "8 lanes fixed");
    }
    let device = common::flex();
    for &(m, n, k) in SHAPES {
        agrees(&device, m, n, k);
    }
}

#[test]
fn ndarray_few_row_products_are_the_product_to_f32_rounding() {
    let device = common::ndarray();
    for &(m, n, k) in SHAPES {
        agrees(&device, m, n, k);
    }
}

/// `rnnlm::cpu::matmul` hands a product's output buffer to its kernels
/// without zeroing it first: every element must then be written. Freed buffers of the same size, full of NaN, are left for the
/// allocator to hand back, so that an element a kernel skipped would show;
/// each product is checked whole against ndarray's, within 2·K·ε·(|A|·|W|)
/// (both orders of summing within K·ε·Σ|aᵢwᵢ| of the exact sum).
#[test]
fn flex_products_write_every_element_of_their_unzeroed_output() {
    let (flex, ndarray) = (common::flex(), common::ndarray());
    // (m, n, k, lhs transposed, rhs transposed): the affine layer's forward
    // (ch6), its dW (hᵀ·G) and dx (G·Wᵀ), a time step (the few-rows kernel),
    // an output whose bytes are not a multiple of 16 (zeroed first), and K = 0.
    let cases = [
        (700, 10000, 100, false, false),
        (100, 10000, 700, true, false),
        (700, 100, 10000, false, true),
        (20, 2600, 650, false, true),
        (7, 3, 5, false, false),
        (4, 8, 0, false, false),
    ];
    for (m, n, k, lhs_t, rhs_t) in cases {
        let (a, w) = (values(m * k, 3 + m as u64), values(k * n, 4 + n as u64));
        let tensor = |values: &[f32], rows: usize, cols: usize, transposed: bool, device: &Device| {
            if transposed {
                Tensor::<2>::from_data(TensorData::new(values.to_vec(), [cols, rows]), device).transpose()
            } else {
                Tensor::<2>::from_data(TensorData::new(values.to_vec(), [rows, cols]), device)
            }
        };
        let stale: Vec<Tensor<2>> = (0..4).map(|_| Tensor::full([m, n], f32::NAN, &flex)).collect();
        drop(stale);
        let got = matmul(tensor(&a, m, k, lhs_t, &flex), tensor(&w, k, n, rhs_t, &flex)).into_data();
        let got = got.as_slice::<f32>().expect("f32").to_vec();
        let (expected, bound) = if k == 0 {
            (vec![0.0; m * n], vec![0.0; m * n]) // an empty sum (which ndarray does not take)
        } else {
            let (at, wt) = (tensor(&a, m, k, lhs_t, &ndarray), tensor(&w, k, n, rhs_t, &ndarray));
            let expected = at.clone().matmul(wt.clone()).into_data();
            let bound = at.abs().matmul(wt.abs()).into_data();
            let [e, b] = [expected, bound].map(|d| d.as_slice::<f32>().expect("f32").to_vec());
            (e, b)
        };
        assert_eq!(got.len(), m * n);
        for (i, ((&g, &e), &b)) in got.iter().zip(&expected).zip(&bound).enumerate() {
            let tol = 2.0 * k as f64 * f32::EPSILON as f64 * b as f64;
            assert!(
                (g as f64 - e as f64).abs() <= tol,
                "{m}x{k}x{n} at ({}, {}): {g} against {e} (tolerance {tol:e})",
                i / n,
                i % n
            );
        }
    }
}

/// The head's `dh = G·Wᵀ` `[M, V]·[V, H]` in each of its layouts
/// (`cpu::HeadLayout`: one product, or V in two halves added), with `Wᵀ`
/// as the untied head holds it (a transposed view of `W [H, V]`) and as the
/// tied head does (the embedding `E [V, H]`, row-major): every element
/// within V·ε·Σ|gᵢwᵢ| of the f64 sum, at V odd and no multiple of a
/// vector's width, and at a V of one (no second half).
fn head_layouts_agree(device: &Device) {
    use rnnlm::cpu::{HeadLayout, Layout};
    for (m, v, h) in [(50, 1001, 13), (33, 517, 20), (1, 64, 3), (4, 1, 5)] {
        let (g, w) = (values(m * v, 5 + m as u64), values(h * v, 6 + v as u64));
        let gt: Tensor<2> = Tensor::from_data(TensorData::new(g.clone(), [m, v]), device);
        // W [H, V] row-major: its transpose a view; E = Wᵀ [V, H] row-major.
        let w_view = Tensor::<2>::from_data(TensorData::new(w.clone(), [h, v]), device).transpose();
        let e = w_view.clone().reshape([v * h]).reshape([v, h]);
        for (held, w_t) in [("a transposed view", w_view), ("the embedding", e)] {
            for &layout in HeadLayout::ALL {
                let label = format!("{}, Wᵀ {held}, {m}x{v}x{h}", layout.name());
                within_rounding(&label, layout.product(&gt, &w_t), &g, &w, [m, h, v]);
            }
        }
    }
}

#[test]
fn flex_head_products_in_every_layout_are_the_product_to_f32_rounding() {
    head_layouts_agree(&common::flex());
}

#[test]
fn ndarray_head_products_in_every_layout_are_the_product_to_f32_rounding() {
    head_layouts_agree(&common::ndarray());
}

/// The few-rows kernel's 8-lane version, which CPUs with AVX-512 leave for
/// the 16-lane one: the products above again in a process that asks for it
/// (`RNNLM_FEW_ROWS=8`). Where the CPU lacks AVX-512 the 8-lane kernel is
/// what every test above ran.
#[test]
fn the_eight_lane_few_row_kernel_is_the_product_to_f32_rounding_too() {
    if std::env::var("RNNLM_FEW_ROWS").is_ok() {
        return; // this is the child process
    }
    let test = "flex_few_row_products_are_the_product_to_f32_rounding";
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", test, "--nocapture"])
        .env("RNNLM_FEW_ROWS", "8")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("1 passed"), "the test ran: {stdout}");
}

/// Whether this CPU runs the few-rows kernel `lanes` wide.
fn cpu_runs(lanes: usize) -> bool {
    #[cfg(target_arch = "x86_64")]
    return match lanes {
        16 => std::arch::is_x86_feature_detected!("avx512f"),
        8 => std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma"),
        _ => false,
    };
    #[cfg(not(target_arch = "x86_64"))]
    return lanes == 0;
}

/// Each width of the few-rows kernel this CPU runs, asked for whatever the
/// width in use (as the choice of the width times them), is the product to
/// f32 rounding on every edge shape; a width the CPU lacks, or a shape the
/// kernel does not take, gives nothing.
#[test]
fn each_width_of_the_few_row_kernel_is_the_product_to_f32_rounding() {
    use rnnlm::cpu::few_rows_product;
    let device = common::flex();
    for &(m, n, k) in SHAPES {
        let (a, w) = (values(m * k, 1 + m as u64), values(n * k, 2 + n as u64));
        let takes = (1..=64).contains(&m) && n >= 3 && k >= 16;
        for lanes in [16, 8] {
            let label = format!("{lanes} lanes, {m}x{k}x{n}");
            match few_rows_product(lanes, &a, &w, m, n, k) {
                Some(out) => {
                    let out = Tensor::<2>::from_data(TensorData::new(out, [m, n]), &device);
                    within_rounding(&label, out, &a, &w, [m, n, k]);
                }
                None => assert!(!(takes && cpu_runs(lanes)), "{label}: the kernel should take it"),
            }
        }
    }
}

/// The 16-lane kernel takes a long K in chunks or in one pass, as
/// `FewRowPass` chose; its products are the same to the last bit either way,
/// so that the choice may change while other products run.
#[test]
fn the_few_row_kernel_sums_a_long_k_alike_in_chunks_and_in_one_pass() {
    use rnnlm::cpu::{few_rows_chunks_k, few_rows_product, set_few_rows_chunks_k};
    if !cpu_runs(16) {
        return; // the 8-lane kernel takes K in one pass only
    }
    for &(m, n, k) in SHAPES.iter().filter(|&&(m, _, k)| m > 4 && k >= 1024) {
        let (a, w) = (values(m * k, 5 + m as u64), values(n * k, 6 + n as u64));
        set_few_rows_chunks_k(true);
        let chunks = few_rows_product(16, &a, &w, m, n, k).expect("the kernel takes it");
        set_few_rows_chunks_k(false);
        assert!(!few_rows_chunks_k());
        let one_pass = few_rows_product(16, &a, &w, m, n, k).expect("the kernel takes it");
        set_few_rows_chunks_k(true);
        let same = chunks.iter().zip(&one_pass).all(|(x, y)| x.to_bits() == y.to_bits());
        assert!(same, "{m}x{k}x{n}: the two passes differ");
    }
}

/// Once a product has run with the few-rows kernel, its width stays for the
/// process, so that all its products sum in one order: setting it fails.
#[test]
fn the_few_row_kernels_width_stays_once_a_product_ran() {
    use rnnlm::cpu::{few_row_lanes, few_row_lanes_settable, set_few_row_lanes};
    agrees(&common::flex(), 20, 100, 400);
    let lanes = few_row_lanes();
    assert_eq!(lanes != 0, cpu_runs(8), "the kernel runs where the CPU has AVX2 and FMA");
    assert!(!few_row_lanes_settable());
    for other in [16, 8] {
        assert!(!set_few_row_lanes(other), "{other} lanes set after a product ran");
    }
    assert_eq!(few_row_lanes(), lanes);
}

/// `rnnlm bench` chooses the width by timing both where the CPU has both
/// (AVX-512F), and prints the two times; `RNNLM_FEW_ROWS` fixes it instead.
/// So with the 16-lane kernel's pass over a long K, timed here on the head's
/// `dh = G·Wᵀ` (`[50, 10000]·[10000, 100]`), which the 8-lane kernel lacks.
#[test]
fn the_few_row_kernels_width_and_pass_are_chosen_by_timing_where_the_cpu_has_both() {
    let bench = |few_rows: Option<&str>| {
        let mut cmd = common::rnnlm();
        cmd.args(["bench", "--backend", "flex", "--model", "lstm", "--preset", "seed", "--iters", "1"]);
        cmd.env("PTB_DIR", common::ptb_dir()).env_remove("RNNLM_KERNELS").env_remove("RNNLM_FEW_ROWS");
        if let Some(lanes) = few_rows {
            cmd.env("RNNLM_FEW_ROWS", lanes);
        }
        let out = cmd.output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let out = bench(None);
    let line = |out: &str, product: &str| out.lines().find(|l| l.trim_start().starts_with(product)).map(str::to_string);
    let (width, pass) = (line(&out, "few-rows kernel's width"), line(&out, "few-rows kernel's pass over K"));
    if cpu_runs(16) {
        let width = width.unwrap_or_else(|| panic!("no width chosen: {out}"));
        assert!(width.contains("16 lanes ") && width.contains("8 lanes ") && width.contains('*'), "{width}");
        // the chosen candidate's time is starred: "16 lanes 4.9*, 8 lanes 4.5"
        if width.split(", ").any(|c| c.contains("16 lanes ") && c.ends_with('*')) {
            let pass = pass.unwrap_or_else(|| panic!("no pass chosen: {out}"));
            assert!(pass.contains("K in chunks ") && pass.contains("K in one pass ") && pass.contains('*'), "{pass}");
        } else {
            assert!(pass.is_none(), "the 8-lane kernel has one pass: {out}");
        }
    } else {
        assert!(width.is_none() && pass.is_none(), "one width on this CPU, nothing to choose: {out}");
    }
    let fixed = bench(Some("8"));
    assert!(!fixed.contains("few-rows kernel's width"), "RNNLM_FEW_ROWS=8 fixes the width: {fixed}");
    assert!(!fixed.contains("few-rows kernel's pass"), "the 8-lane kernel has one pass: {fixed}");
}
