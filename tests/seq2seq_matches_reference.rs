//! Chapter 7's encoder-decoders proven as the language models are: the
//! reference against finite differences, and Burn (each layer one node with
//! the book's backward, and every op through autodiff) against the
//! reference, on every backend: loss, every gradient, and the greedy answers.

mod common;

use burn::tensor::Device;
use rnnlm::arch::Seq2seqKind;
use rnnlm::check::{self, FD_TOLERANCE, Report, Seq2seqSizes};

fn assert_within(report: &Report) {
    print!("{}", check::format_report(report));
    assert!(!report.rows.is_empty());
    for row in &report.rows {
        assert!(row.ok(), "{}: relative error {:e} > {:e}", row.quantity, row.rel_err, row.tolerance);
    }
}

#[test]
fn the_reference_encoder_decoders_match_finite_differences() {
    for kind in Seq2seqKind::ALL {
        let report = check::seq2seq_reference_vs_finite_differences(kind, 0);
        // every parameter of the book's `params`, the encoder's included
        let params = if kind.bidirectional() { 13 } else { 10 };
        assert_eq!(report.rows.len(), params);
        assert!(report.rows.iter().all(|r| r.tolerance == FD_TOLERANCE));
        assert_within(&report);
    }
}

fn burn_matches_the_reference(device: &Device, tolerance: f64) {
    for kind in Seq2seqKind::ALL {
        let small = check::seq2seq_burn_vs_reference(device, kind, Seq2seqSizes::SMALL, 2, tolerance, 21);
        // per batch: three comparisons of the loss and every gradient, the answers,
        // and with attention the weights of each greedy step
        let params = if kind.bidirectional() { 13 } else { 10 };
        let looked = usize::from(kind.attention());
        assert_eq!(small.rows.len(), 2 * (3 * (params + 1) + 1 + looked));
        assert_within(&small);
        assert_within(&check::seq2seq_burn_vs_reference(device, kind, Seq2seqSizes::book(kind), 1, tolerance, 22));
    }
}

common::on_every_backend!(burn_matches_the_reference:
    flex_seq2seq_matches_the_reference,
    ndarray_seq2seq_matches_the_reference,
    wgpu_seq2seq_matches_the_reference);
