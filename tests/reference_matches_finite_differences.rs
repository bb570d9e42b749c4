//! The manual-backward reference against central finite differences in f64.

use rnnlm::arch::ModelKind;
use rnnlm::check::{self, FD_TOLERANCE};

#[test]
fn every_reference_layer_matches_finite_differences() {
    let report = check::reference_vs_finite_differences(0);
    print!("{}", check::format_report(&report));
    // RNN 5, TimeRNN 5, LSTM 6, TimeLSTM 6, GRU 5, TimeGRU 5, TimeDropout 1,
    // TimeAffine 3, TimeEmbedding 1, softmax 1
    assert_eq!(report.rows.len(), 38);
    for row in &report.rows {
        assert!(row.rel_err <= FD_TOLERANCE, "{} has relative error {:e}", row.quantity, row.rel_err);
    }
}

#[test]
fn every_reference_model_matches_finite_differences() {
    // SimpleRnnlm, Rnnlm (LSTM and GRU) and BetterRnnlm (two LSTMs, dropout
    // with fixed masks, tied weights): every parameter's gradient.
    for (model, params) in [(ModelKind::Rnn, 6), (ModelKind::Lstm, 6), (ModelKind::Gru, 6), (ModelKind::BetterLstm, 8)]
    {
        let report = check::reference_model_vs_finite_differences(model, 0);
        print!("{}", check::format_report(&report));
        assert_eq!(report.rows.len(), params);
        for row in &report.rows {
            assert!(row.rel_err <= FD_TOLERANCE, "{} has relative error {:e}", row.quantity, row.rel_err);
        }
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
