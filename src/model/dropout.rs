//! The book's `TimeDropout`: inverted dropout, each entry kept with
//! probability `1 - ratio` and kept entries scaled by `1 / (1 - ratio)`, and
//! the masks it draws.
//!
//! The masks are drawn here rather than by Burn's `Distribution::Bernoulli`,
//! which runs its generator once per entry on one thread (about 25 ns an
//! entry on the CPU: a third of a BetterRnnlm iteration's element-wise work,
//! `cargo run --example mask_probe`). One 64-bit seed is drawn from Burn's
//! generator, so that the backend's seed still fixes every mask, and
//! expanded by SplitMix64 as a counter: entry `i` takes half of the hash of
//! `seed + ⌊i/2⌋`, in parallel, the same whatever the threads.

use burn::tensor::{Device, Distribution, Int, Tensor, TensorData};
use rayon::prelude::*;

/// Inverted dropout, as the book's `TimeDropout`: each entry is kept with
/// probability `1 - ratio` (a fresh mask every call) and kept entries are
/// scaled by `1 / (1 - ratio)`, so the expected output is the input. It is
/// active only where a backward pass can follow (an autodiff device:
/// training); in evaluation it is the identity, as the book's `train_flg`.
/// `keep` (1 = kept, 0 = dropped) replaces the random mask, for tests.
pub fn time_dropout(xs: Tensor<3>, ratio: f64, keep: Option<Tensor<3>>) -> Tensor<3> {
    if ratio == 0.0 || !xs.device().is_autodiff() {
        return xs;
    }
    let keep = keep.unwrap_or_else(|| dropout_mask(xs.dims(), 1.0 - ratio, &xs.device()));
    xs * keep * (1.0 / (1.0 - ratio))
}

/// A mask of `shape`: each entry 1 with probability `keep` (to 2⁻³²), else 0,
/// independently; a fresh one every call.
pub fn dropout_mask(shape: [usize; 3], keep: f64, device: &Device) -> Tensor<3> {
    // Three 24-bit draws (Burn's uniform integers are exact at that size).
    let draws = Tensor::<1, Int>::random([3], Distribution::Uniform(0.0, (1u64 << 24) as f64), device);
    let draws = draws.try_into_vec_as::<i64>().expect("readable seed draws");
    let seed = draws.iter().fold(0u64, |s, &d| (s << 24) ^ d as u64);
    let n = shape.iter().product::<usize>();
    let mut mask = vec![0f32; n];
    fill_mask(&mut mask, keep, seed);
    Tensor::from_data(TensorData::new(mask, shape), device)
}

/// Entries per parallel task (an even number: a hash serves two entries).
const PER_TASK: usize = 1 << 14;

/// `mask[i]` = 1 where the 32-bit uniform of entry `i` is below `keep`·2³².
fn fill_mask(mask: &mut [f32], keep: f64, seed: u64) {
    let threshold = (keep.clamp(0.0, 1.0) * 4_294_967_296.0).round() as u64; // P(u < t) = t / 2³²
    mask.par_chunks_mut(PER_TASK).enumerate().for_each(|(task, chunk)| {
        let first = seed.wrapping_add((task * PER_TASK / 2) as u64);
        let kept = |u: u64| f32::from(u8::from(u < threshold));
        let whole_pairs = (chunk.len() / 2) as u64;
        let mut pairs = chunk.chunks_exact_mut(2);
        for (j, pair) in (&mut pairs).enumerate() {
            let bits = splitmix64(first.wrapping_add(j as u64));
            pair[0] = kept(bits & 0xffff_ffff);
            pair[1] = kept(bits >> 32);
        }
        if let [last] = pairs.into_remainder() {
            *last = kept(splitmix64(first.wrapping_add(whole_pairs)) & 0xffff_ffff);
        }
    });
}

/// Vigna's SplitMix64 output function of the counter `x` (its state after
/// `x` steps from 0): a 64-bit hash whose outputs pass BigCrush.
fn splitmix64(x: u64) -> u64 {
    let mut z = x.wrapping_add(1).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splitmix64_is_vignas() {
        // The first outputs of SplitMix64 seeded with 0 (Vigna's splitmix64.c).
        assert_eq!(splitmix64(0), 0xe220_a839_7b1d_cdaf);
        assert_eq!(splitmix64(1), 0x6e78_9e6a_a1b9_65f4);
    }

    #[test]
    fn a_mask_is_the_same_whatever_the_threads_and_keeps_its_rate() {
        let n = 3 * PER_TASK + 5; // tasks and an odd tail
        let mut parallel = vec![0f32; n];
        fill_mask(&mut parallel, 0.3, 42);
        let mut serial = vec![0f32; n];
        rayon::ThreadPoolBuilder::new().num_threads(1).build().unwrap().install(|| fill_mask(&mut serial, 0.3, 42));
        assert_eq!(parallel, serial);
        let kept = parallel.iter().filter(|&&m| m == 1.0).count() as f64 / n as f64;
        let sd = (0.3f64 * 0.7 / n as f64).sqrt();
        assert!((kept - 0.3).abs() < 6.0 * sd, "kept {kept}");
        // Neighbours (the two halves of one hash, and across hashes) are not
        // correlated: both kept about keep² of the time.
        for lag in [1, 2] {
            let both = parallel.windows(lag + 1).filter(|w| w[0] == 1.0 && w[lag] == 1.0).count() as f64;
            let both = both / (n - lag) as f64;
            assert!((both - 0.09).abs() < 0.006, "lag {lag}: both kept {both}");
        }
        let mut other = vec![0f32; n];
        fill_mask(&mut other, 0.3, 43);
        assert_ne!(parallel, other, "another seed, another mask");
        let (mut none, mut all) = (vec![1f32; 64], vec![0f32; 64]);
        fill_mask(&mut none, 0.0, 1);
        fill_mask(&mut all, 1.0, 1);
        assert!(none.iter().all(|&m| m == 0.0) && all.iter().all(|&m| m == 1.0));
    }
}
