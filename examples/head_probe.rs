//! How long each piece of the affine layer and its loss takes on Flex at
//! chapter 6's sizes (`H = 100`) and the `big` preset's (`H = 650`), with
//! `M = 700` rows (N 20 x T 35) and a vocabulary of 10,000: the forward
//! product, the bias added as a pass of its own, the bias's gradient as a
//! column sum, the weight's and the input's gradients (the input's made four
//! ways: one product, the vocabulary in two halves on two threads, `Wᵀ`
//! copied row-major first, `G`'s rows 64 at a time through the few-rows
//! kernel), and a fresh zeroed buffer of the scores' size (Flex's own, and
//! `rnnlm::cpu::zeros`, in one allocation); then, with the
//! weight tied to the embedding `E [V, H]` (BetterRnnlm), the ways to build
//! the embedding's gradient.
//!
//! ```text
//! cargo run --example head_probe
//! ```
//!
//! Training (the head's node) adds the bias and sums its gradient inside the
//! softmax's own passes (`src/cpu/softmax_with_loss.rs`): the two
//! passes timed here are what that saves.

use burn::tensor::{Device, Distribution, IndexingUpdateOp, Int, Tensor};
use rnnlm::cpu::{HeadLayout, matmul};
mod common;

/// Prints the time of `f` and, for a product of `flops` operations, its rate.
fn time<F: FnMut() -> f32>(label: &str, flops: f64, f: F) {
    let dt = common::seconds_per_call(f);
    let rate = if flops > 0.0 { format!("{:.1} GFLOP/s, ", flops / dt / 1e9) } else { String::new() };
    println!("{label:>24}: {rate}{:.2} ms", dt * 1e3);
}

fn main() {
    let dev = Device::flex();
    let pool = rayon::ThreadPoolBuilder::new().build().expect("a thread pool");
    for hidden in [100usize, 650] {
        let h: Tensor<2> = Tensor::random([700, hidden], Distribution::Default, &dev); // [M, H]
        let w: Tensor<2> = Tensor::random([hidden, 10000], Distribution::Default, &dev); // [H, V]
        let b: Tensor<1> = Tensor::random([10000], Distribution::Default, &dev); // [V]
        let g: Tensor<2> = Tensor::random([700, 10000], Distribution::Default, &dev); // [M, V]
        let fl = 2.0 * 700.0 * hidden as f64 * 10000.0;
        println!("H = {hidden}");
        pool.install(|| {
            time("h·W", fl, || matmul(h.clone(), w.clone()).slice([0..1, 0..1]).into_scalar());
            time("G + b", 0.0, || (g.clone() + b.clone().unsqueeze_dim(0)).slice([0..1, 0..1]).into_scalar());
            time("db: G summed over rows", 0.0, || g.clone().sum_dim(0).slice([0..1, 0..1]).into_scalar());
            time("dW: hᵀ·G", fl, || matmul(h.clone().transpose(), g.clone()).slice([0..1, 0..1]).into_scalar());
            let w_t = w.clone().transpose(); // [V, H], W's transposed view
            time("dh: G·Wᵀ", fl, || matmul(g.clone(), w_t.clone()).slice([0..1, 0..1]).into_scalar());
            // Other ways to make dh, none of them faster at H = 650 (docs/speed.md):
            // what training chooses among (cpu::HeadLayout) and two it does not.
            time("dh: V in halves", fl, || {
                HeadLayout::HalvesInParallel.product(&g, &w_t).slice([0..1, 0..1]).into_scalar()
            });
            time("dh: Wᵀ copied, then G·Wᵀ", fl, || {
                let copied = w_t.clone().reshape([10000 * hidden]).reshape([10000, hidden]); // row-major [V, H]
                matmul(g.clone(), copied).slice([0..1, 0..1]).into_scalar()
            });
            time("dh: G's rows by 64", fl, || {
                let rows = (0..700)
                    .step_by(64)
                    .map(|r| matmul(g.clone().slice([r..(r + 64).min(700), 0..10000]), w_t.clone()));
                Tensor::cat(rows.collect(), 0).slice([0..1, 0..1]).into_scalar()
            });
            time("zeros [700, 10000]", 0.0, || {
                Tensor::<2>::zeros([700, 10000], &dev).slice([0..1, 0..1]).into_scalar()
            });
            time("cpu::zeros [700, 10000]", 0.0, || {
                rnnlm::cpu::zeros([700, 10000], &dev).slice([0..1, 0..1]).into_scalar()
            });
        });
    }
    // Weight tying (BetterRnnlm): W is the embedding E [V, H] transposed.
    // Training (the head's node) makes dWᵀ = Gᵀ·h and adds the rows into it in place
    // (one owner, so no copy): what it saves is the transposed add and the
    // zeroed buffer. (A timed call on a shared dWᵀ would copy it first and
    // measure the copy.)
    let e: Tensor<2> = Tensor::random([10000, 650], Distribution::Default, &dev); // [V, H]
    let h: Tensor<2> = Tensor::random([700, 650], Distribution::Default, &dev); // [M, H]
    let g: Tensor<2> = Tensor::random([700, 10000], Distribution::Default, &dev); // [M, V]
    let de: Tensor<2> = Tensor::random([10000, 650], Distribution::Default, &dev); // [V, H]
    let ids: Tensor<1, Int> = Tensor::arange(0..700, &dev);
    let fl = 2.0 * 700.0 * 650.0 * 10000.0;
    println!("H = 650, tied (W = Eᵀ)");
    pool.install(|| {
        time("h·Eᵀ", fl, || matmul(h.clone(), e.clone().transpose()).slice([0..1, 0..1]).into_scalar());
        time("dh: G·E", fl, || matmul(g.clone(), e.clone()).slice([0..1, 0..1]).into_scalar());
        time("dW: hᵀ·G", fl, || matmul(h.clone().transpose(), g.clone()).slice([0..1, 0..1]).into_scalar());
        time("dWᵀ: Gᵀ·h", fl, || matmul(g.clone().transpose(), h.clone()).slice([0..1, 0..1]).into_scalar());
        let dw = matmul(h.clone().transpose(), g.clone());
        time("dWᵀ + dE (strided)", 0.0, || (dw.clone().transpose() + de.clone()).slice([0..1, 0..1]).into_scalar());
        time("zeros [V, H], rows added", 0.0, || {
            let rows = Tensor::<2>::zeros([10000, 650], &dev);
            rows.select_assign(0, ids.clone(), h.clone(), IndexingUpdateOp::Add).slice([0..1, 0..1]).into_scalar()
        });
        // the embedding's gradient as its node makes it (an untied model)
        time("cpu::zeros, rows added", 0.0, || {
            let rows = rnnlm::cpu::zeros([10000, 650], &dev);
            rows.select_assign(0, ids.clone(), h.clone(), IndexingUpdateOp::Add).slice([0..1, 0..1]).into_scalar()
        });
    });
}
