//! The manual-backward reference against central finite differences in f64.

use rnnlm::check::{self, FD_TOLERANCE};

#[test]
fn every_reference_layer_and_the_model_match_finite_differences() {
    let report = check::reference_vs_finite_differences(0);
    print!("{}", check::format_report(&report));
    // RNN 5, TimeRNN 5, TimeAffine 3, TimeEmbedding 1, softmax 1, model 6
    assert_eq!(report.rows.len(), 21);
    for row in &report.rows {
        assert!(row.rel_err <= FD_TOLERANCE, "{} has relative error {:e}", row.quantity, row.rel_err);
    }
}

#[test]
fn finite_differences_catch_a_wrong_gradient() {
    // The comparison itself must be able to fail: a gradient off by 1% is far
    // outside the tolerance.
    let a = [1.0, -2.0, 0.5];
    let b = [1.0, -2.02, 0.5];
    assert!(check::rel_err(&a, &b) > 100.0 * FD_TOLERANCE);
    assert!(check::rel_err(&[f64::NAN], &[1.0]).is_nan());
}
