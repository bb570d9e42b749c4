//! How fast Flex computes an LSTM step's activations at the `big` preset:
//! `sigmoid` and `tanh` of one gate's `[20, 650]`, contiguous and as a
//! column block of the step's `[20, 2600]` pre-activations, in millions of
//! elements per second (each timed for a second after one warm-up call).
//!
//! ```text
//! cargo run --example activation_probe
//! ```

use burn::tensor::activation::sigmoid;
use burn::tensor::{Device, Distribution, Tensor};

mod common;

/// Prints the rate of `f`, an activation of `elements` values.
fn time<F: FnMut() -> f32>(label: &str, elements: f64, f: F) {
    let dt = common::seconds_per_call(f);
    println!("{label:>28}: {:.0} M elements/s ({:.1} µs)", elements / dt / 1e6, dt * 1e6);
}

fn main() {
    let dev = Device::flex();
    let a: Tensor<2> = Tensor::random([20, 2600], Distribution::Normal(0.0, 2.0), &dev);
    let gate = a.clone().slice([0..20, 0..650]);
    let contiguous: Tensor<2> = Tensor::random([20, 650], Distribution::Normal(0.0, 2.0), &dev);
    let n = 20.0 * 650.0;
    time("sigmoid, contiguous", n, || sigmoid(contiguous.clone()).slice([0..1, 0..1]).into_scalar());
    time("tanh, contiguous", n, || contiguous.clone().tanh().slice([0..1, 0..1]).into_scalar());
    time("sigmoid, a gate's columns", n, || sigmoid(gate.clone()).slice([0..1, 0..1]).into_scalar());
    time("tanh, a gate's columns", n, || gate.clone().tanh().slice([0..1, 0..1]).into_scalar());
}
