//! The Burn model's dropout draws the masks the book's TimeDropout draws:
//! each entry kept with probability 1 - ratio, kept entries scaled by
//! 1 / (1 - ratio), a fresh mask every call, and nothing in evaluation.

mod common;

use burn::tensor::Tensor;
use rnnlm::model::time_dropout;

/// Fraction of kept entries and the set of values they take.
fn kept(out: Tensor<3>) -> (f64, Vec<f32>) {
    let v = out.try_into_vec_as::<f32>().unwrap();
    let mut values: Vec<f32> = v.iter().copied().filter(|&x| x != 0.0).collect();
    let fraction = values.len() as f64 / v.len() as f64;
    values.sort_by(f32::total_cmp);
    values.dedup();
    (fraction, values)
}

#[test]
fn masks_keep_one_minus_the_ratio_and_scale_what_they_keep() {
    let device = common::flex().autodiff();
    let shape = [20, 35, 650]; // 455,000 entries, one BetterRnnlm site
    let n = (shape[0] * shape[1] * shape[2]) as f64;
    for (ratio, scale) in [(0.5, 2.0f32), (0.2, 1.25)] {
        let ones = Tensor::<3>::ones(shape, &device);
        let (fraction, values) = kept(time_dropout(ones.clone(), ratio, None));
        // The kept count is binomial: 6 standard deviations is a band a
        // correct mask leaves once in 10^9 runs; a wrong rate (0.5 for 0.2,
        // or ratio kept instead of dropped) is hundreds of deviations away.
        let sd = (ratio * (1.0 - ratio) / n).sqrt();
        assert!((fraction - (1.0 - ratio)).abs() < 6.0 * sd, "ratio {ratio}: kept {fraction}");
        assert_eq!(values, [scale], "kept entries are scaled by 1 / (1 - ratio)");
        // A fresh mask every call: two masks agree on about half + ratio² of
        // the entries, never on all of them.
        let a = time_dropout(ones.clone(), ratio, None).try_into_vec_as::<f32>().unwrap();
        let b = time_dropout(ones, ratio, None).try_into_vec_as::<f32>().unwrap();
        let same = a.iter().zip(&b).filter(|(x, y)| x == y).count() as f64 / n;
        let expected = (1.0 - ratio).powi(2) + ratio * ratio;
        assert!((same - expected).abs() < 0.01, "ratio {ratio}: masks agree on {same}, expected {expected}");
    }
}

#[test]
fn evaluation_and_ratio_zero_are_the_identity() {
    let x = Tensor::<3>::ones([4, 5, 6], &common::flex());
    assert_eq!(time_dropout(x.clone(), 0.5, None).try_into_vec_as::<f32>().unwrap(), vec![1.0; 120]);
    let x = x.to_device(&common::flex().autodiff());
    assert_eq!(time_dropout(x, 0.0, None).try_into_vec_as::<f32>().unwrap(), vec![1.0; 120]);
}
