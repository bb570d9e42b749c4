//! How fast Flex multiplies the matrices of the `big` preset's affine layer
//! (the forward product, the weight gradient and the input gradient) and of
//! its LSTM layer, each timed for a second inside rayon's pool (as the CLI runs), in GFLOP/s.
//!
//! ```text
//! cargo run --example matmul_probe
//! ```
//!
//! Compare with `python bench/matmul_peak.py --threads 2` (NumPy's and
//! PyTorch's BLAS on the same shapes).

use burn::tensor::{Device, Distribution, Tensor};
mod common;

/// Prints the rate of `f`, a product of `flops` floating-point operations.
fn time<F: FnMut() -> f32>(label: &str, flops: f64, f: F) {
    let dt = common::seconds_per_call(f);
    println!("{label:>30}: {:.1} GFLOP/s ({:.1} ms)", flops / dt / 1e9, dt * 1e3);
}
fn main() {
    let dev = Device::flex();
    let a: Tensor<2> = Tensor::random([700, 650], Distribution::Default, &dev);
    let w: Tensor<2> = Tensor::random([650, 10000], Distribution::Default, &dev);
    let g: Tensor<2> = Tensor::random([700, 10000], Distribution::Default, &dev);
    let fl = 2.0 * 700.0 * 650.0 * 10000.0;
    let pool = rayon::ThreadPoolBuilder::new().build().expect("a thread pool");
    pool.install(|| {
        time("fwd a@w", fl, || a.clone().matmul(w.clone()).slice([0..1, 0..1]).into_scalar());
        time("dW a^T@g", fl, || a.clone().transpose().matmul(g.clone()).slice([0..1, 0..1]).into_scalar());
        time("dx g@w^T", fl, || g.clone().matmul(w.clone().transpose()).slice([0..1, 0..1]).into_scalar());
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
        time("lstm step h@Wh", step, || h.clone().matmul(wh.clone()).slice([0..1, 0..1]).into_scalar());
        // as training asks it: Wh stored column by column (its
        // transpose row-major), which Flex multiplies as dot products
        let wh_cols = wh.clone().transpose().reshape([2600 * 650]).reshape([2600, 650]).transpose();
        time("lstm step h@Wh, Wh by columns", step, || {
            h.clone().matmul(wh_cols.clone()).slice([0..1, 0..1]).into_scalar()
        });
        time("lstm step dA@Wh^T", step, || da.clone().matmul(wh.clone().transpose()).slice([0..1, 0..1]).into_scalar());
        // Whᵀ copied row-major: gemm's layout, slower than the transposed
        // view that the few-rows kernel takes (src/model/layout.rs, `BackLayout`)
        let wh_t = wh_cols.clone().transpose();
        time("lstm step dA@Wh^T, row-major", step, || {
            da.clone().matmul(wh_t.clone()).slice([0..1, 0..1]).into_scalar()
        });
        time("lstm dWh hs^T@dA", step * 35.0, || {
            hs.clone().transpose().matmul(das.clone()).slice([0..1, 0..1]).into_scalar()
        });
    });
}
