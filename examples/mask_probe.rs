//! How long a dropout mask for one of BetterRnnlm's sites (`[20, 35, 650]`
//! at the `big` preset) takes on Flex: Burn's `Distribution::Bernoulli`
//! against `rnnlm::model::dropout_mask` (one seed from Burn's generator,
//! expanded by SplitMix64 in parallel).
//!
//! ```text
//! cargo run --example mask_probe
//! ```

use burn::tensor::{Device, Distribution, Tensor};
use rnnlm::model::dropout_mask;
mod common;

fn main() {
    let dev = Device::flex();
    let shape = [20, 35, 650];
    let x: Tensor<3> = Tensor::zeros(shape, &dev);
    let pool = rayon::ThreadPoolBuilder::new().build().expect("a thread pool");
    pool.install(|| {
        let burn = common::seconds_per_call(|| {
            x.random_like(Distribution::Bernoulli(0.5)).slice([0..1, 0..1, 0..1]).into_scalar()
        });
        let ours = common::seconds_per_call(|| dropout_mask(shape, 0.5, &dev).slice([0..1, 0..1, 0..1]).into_scalar());
        let seed = common::seconds_per_call(|| {
            let d = Tensor::<1, burn::tensor::Int>::random([3], Distribution::Uniform(0.0, 16777216.0), &dev);
            d.try_into_vec_as::<i64>().unwrap()[0] as f32
        });
        let upload = common::seconds_per_call(|| {
            let v = vec![1f32; 455_000];
            Tensor::<3>::from_data(burn::tensor::TensorData::new(v, shape), &dev)
                .slice([0..1, 0..1, 0..1])
                .into_scalar()
        });
        println!("seed {:.3} ms, vec+from_data {:.3} ms", seed * 1e3, upload * 1e3);
        println!("mask {shape:?}: Burn's Bernoulli {:.2} ms, dropout_mask {:.2} ms", burn * 1e3, ours * 1e3);
    });
}
