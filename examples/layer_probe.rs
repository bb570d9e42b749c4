//! How long one LSTM layer of the `big` preset (N 20, T 35, D = H 650; or of
//! H given as the argument, 100 for `ch6`) takes
//! on Flex as training runs it (one autodiff node, the book's forward and
//! backward): forward alone (the node recorded, no backward), and forward
//! then `backward()`,
//! beside the time of its matrix products alone: what the recurrence spends
//! outside them (the gates' element-wise work, the copies) is the difference.
//! Each time is the fastest of 15 calls, this machine's noise being one-sided.
//!
//! ```text
//! cargo run --example layer_probe [H]
//! ```

use std::time::Instant;

use burn::tensor::{Device, Distribution, Tensor};
use rnnlm::cpu::matmul;
use rnnlm::model::{LstmCellConfig, TimeLstm};

/// The fastest of 15 calls of `f` (after one to warm up), printed and returned.
fn time<F: FnMut() -> f32>(label: &str, mut f: F) -> f64 {
    f();
    let best = (0..15)
        .map(|_| {
            let t0 = Instant::now();
            std::hint::black_box(f());
            t0.elapsed().as_secs_f64()
        })
        .fold(f64::MAX, f64::min);
    println!("{label:>30}: {:.2} ms", best * 1e3);
    best
}

fn main() {
    let dev = Device::flex();
    let h = std::env::args().nth(1).map_or(650, |a| a.parse().expect("H: a number of units"));
    let (n, t) = (20, 35);
    let layer = TimeLstm { cell: LstmCellConfig::new(h, h).init(&dev.clone().autodiff()) };
    let xs: Tensor<3> = Tensor::random([n, t, h], Distribution::Default, &dev);
    let dhs: Tensor<3> = Tensor::random([n, t, h], Distribution::Default, &dev);
    let (wx, wh) = (layer.cell.wx.val().inner(), layer.cell.wh.val().inner());
    // Wh stored by columns, as training's forward steps ask it.
    let wh_cols = wh.clone().transpose().reshape([4 * h * h]).reshape([4 * h, h]).transpose();
    let x2: Tensor<2> = xs.clone().reshape([n * t, h]); // [N·T, D]
    let h_step: Tensor<2> = Tensor::random([n, h], Distribution::Default, &dev); // [N, H]
    let da_step: Tensor<2> = Tensor::random([n, 4 * h], Distribution::Default, &dev); // [N, 4H]
    let da: Tensor<2> = Tensor::random([n * t, 4 * h], Distribution::Default, &dev); // [N·T, 4H]
    let corner = |m: Tensor<2>| m.slice([0..1, 0..1]).into_scalar::<f32>();
    let pool = rayon::ThreadPoolBuilder::new().build().expect("a thread pool");
    pool.install(|| {
        let fwd = time("forward", || {
            let (hs, _) = layer.forward(xs.clone().autodiff(), None);
            hs.slice([0..1, 0..1, 0..1]).into_scalar()
        });
        let both = time("forward + backward", || {
            let (hs, _) = layer.forward(xs.clone().autodiff(), None);
            let grads = (hs * dhs.clone().autodiff()).sum().backward();
            corner(layer.cell.wh.val().grad(&grads).expect("Wh's gradient"))
        });
        let xw = time("x·Wx", || corner(matmul(x2.clone(), wx.clone())));
        let step = time("h·Wh, a step", || corner(matmul(h_step.clone(), wh_cols.clone())));
        let back_step = time("dA·Whᵀ, a step", || corner(matmul(da_step.clone(), wh.clone().transpose())));
        let dx = time("dA·Wxᵀ", || corner(matmul(da.clone(), wx.clone().transpose())));
        let dw = time("xᵀ·dA", || corner(matmul(x2.clone().transpose(), da.clone())));
        let forward_products = xw + t as f64 * step;
        // dWx and dWh are products of the same shape.
        let backward_products = t as f64 * back_step + dx + 2.0 * dw;
        println!("forward: {:.1} ms, of which products {:.1}", fwd * 1e3, forward_products * 1e3);
        println!("backward: {:.1} ms, of which products {:.1}", (both - fwd) * 1e3, backward_products * 1e3);
    });
}
