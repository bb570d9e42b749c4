//! How fast an LSTM step's activations run at the `big` preset, by Flex's
//! own ops and by `rnnlm::cpu`'s (what the layers call): `sigmoid` and
//! `tanh` of one gate's `[20, 650]`, contiguous and as a column block of the
//! step's `[20, 2600]` pre-activations, in millions of elements per second
//! (each timed for a second after one warm-up call).
//!
//! ```text
//! cargo run --example activation_probe
//! ```

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
    type Op = fn(Tensor<2>) -> Tensor<2>;
    let ops: [(&str, Op, Op); 2] = [
        ("Flex", burn::tensor::activation::sigmoid, |t| t.tanh()),
        ("rnnlm::cpu", rnnlm::cpu::sigmoid, rnnlm::cpu::tanh),
    ];
    for (by, sigmoid, tanh) in ops {
        println!("{by}:");
        time("sigmoid, contiguous", n, || sigmoid(contiguous.clone()).slice([0..1, 0..1]).into_scalar());
        time("tanh, contiguous", n, || tanh(contiguous.clone()).slice([0..1, 0..1]).into_scalar());
        time("sigmoid, a gate's columns", n, || sigmoid(gate.clone()).slice([0..1, 0..1]).into_scalar());
        time("tanh, a gate's columns", n, || tanh(gate.clone()).slice([0..1, 0..1]).into_scalar());
    }
}
