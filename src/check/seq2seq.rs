//! The encoder-decoders of chapters 7 and 8 (`Seq2seq`, `PeekySeq2seq`,
//! `AttentionSeq2seq` with a one-way or bidirectional encoder): Burn, both
//! ways it computes gradients, against the manual-backward reference (loss,
//! every gradient, the greedy answers and attention's weights), and the
//! reference against central finite differences in f64.

use ndarray::Array2;
use rand::SeedableRng;
use rand::rngs::StdRng;
use rand_distr::{Distribution, StandardNormal};

use super::fixtures::{flat, ids_tensor, random_ids, read};
use super::{FD_EPSILON, FD_TOLERANCE, Report, rel_err};
use crate::arch::{Seq2seqArch, Seq2seqKind};
use crate::model::{Backprop, Seq2seq, Seq2seqConfig};
use crate::reference;
use crate::weights::Seq2seqWeights;

/// The sizes of an encoder-decoder comparison.
#[derive(Clone, Copy, Debug)]
pub struct Seq2seqSizes {
    /// N: questions in a batch.
    pub batch: usize,
    /// Characters per question.
    pub question: usize,
    /// Characters per answer, the start mark included.
    pub answer: usize,
    /// V: characters in the vocabulary.
    pub vocab: usize,
    /// D: size of a character vector.
    pub wordvec: usize,
    /// H: size of the hidden state.
    pub hidden: usize,
}

impl Seq2seqSizes {
    /// Small sizes where every entry can be checked.
    pub const SMALL: Seq2seqSizes = Seq2seqSizes { batch: 3, question: 5, answer: 4, vocab: 13, wordvec: 6, hidden: 7 };
    /// The book's sizes (`train_seq2seq.py`, addition.txt), on a batch of 16.
    pub const BOOK: Seq2seqSizes =
        Seq2seqSizes { batch: 16, question: 7, answer: 5, vocab: 13, wordvec: 16, hidden: 128 };
    /// The book's sizes for attention (`ch08/train.py`, date.txt), on a batch of 16.
    pub const DATES: Seq2seqSizes =
        Seq2seqSizes { batch: 16, question: 29, answer: 11, vocab: 59, wordvec: 16, hidden: 256 };

    /// The sizes the book trains `kind` at.
    pub fn book(kind: Seq2seqKind) -> Seq2seqSizes {
        if kind.attention() { Self::DATES } else { Self::BOOK }
    }

    fn label(&self) -> String {
        format!(
            "N={} Tq={} Ta={} V={} D={} H={}",
            self.batch, self.question, self.answer, self.vocab, self.wordvec, self.hidden
        )
    }

    fn arch(&self, kind: Seq2seqKind) -> Seq2seqArch {
        Seq2seqArch { vocab_size: self.vocab, wordvec_size: self.wordvec, hidden_size: self.hidden, kind }
    }
}

/// Weights for a check: the book's initialisation with the biases made
/// non-zero, so that a bias applied wrongly shows in the loss too.
pub fn seq2seq_check_weights(kind: Seq2seqKind, s: Seq2seqSizes, seed: u64) -> Seq2seqWeights {
    let mut w = Seq2seqWeights::book_init(s.arch(kind), seed);
    let mut rng = StdRng::seed_from_u64(seed ^ 0x5eed);
    for ((name, _), values) in w.arch.params().iter().zip(w.tensors.iter_mut()) {
        if name.ends_with(".b") {
            for b in values.iter_mut() {
                let z: f64 = StandardNormal.sample(&mut rng);
                *b = (0.1 * z) as f32;
            }
        }
    }
    w
}

/// Burn's loss, gradients and greedy answers against the reference's, for
/// `batches` batches of random questions and answers.
pub fn seq2seq_burn_vs_reference(
    device: &burn::tensor::Device,
    kind: Seq2seqKind,
    s: Seq2seqSizes,
    batches: usize,
    tolerance: f64,
    seed: u64,
) -> Report {
    let mut report = Report::default();
    let w = seq2seq_check_weights(kind, s, seed);
    let ad = device.clone().autodiff();
    let model = Seq2seqConfig::for_architecture(w.arch).init_with(&w, &ad).expect("weights match config");
    let op_by_op = Seq2seq { backprop: Backprop::OpByOp, ..model.clone() };
    let names: Vec<String> = w.arch.params().into_iter().map(|(n, _)| n).collect();
    let mut reference = reference::seq2seq::Seq2seq::<f64>::from_weights(&w);
    let mut rng = StdRng::seed_from_u64(seed + 1);
    for k in 1..=batches {
        let xs = random_ids(&mut rng, s.batch, s.question, s.vocab);
        let ts = random_ids(&mut rng, s.batch, s.answer, s.vocab);
        let grads = |m: &Seq2seq| {
            let loss = m.forward(ids_tensor(&xs, &ad), ids_tensor(&ts, &ad));
            let g = loss.backward();
            let g: Vec<Vec<f64>> = m
                .params()
                .iter()
                .map(|p| p.grad(&g).expect("a gradient").iter().map(|&x| x as f64).collect())
                .collect();
            (read(loss)[0], g)
        };
        let (loss, burn_g) = grads(&model);
        let (plain_loss, plain_g) = grads(&op_by_op);
        let ref_loss = reference.forward(&xs, &ts);
        reference.backward(1.0);
        let ref_g: Vec<Vec<f64>> = reference.grads().iter().map(flat).collect();
        for (label, (l1, g1), (l2, g2)) in [
            ("burn vs burn op-by-op", (loss, &burn_g), (plain_loss, &plain_g)),
            ("burn vs ref", (loss, &burn_g), (ref_loss, &ref_g)),
            ("burn op-by-op vs ref", (plain_loss, &plain_g), (ref_loss, &ref_g)),
        ] {
            let label = format!("{label} {kind} {} batch {k}", s.label());
            report.push(format!("{label}: loss"), ((l1 - l2) / l2).abs(), tolerance);
            for ((name, a), b) in names.iter().zip(g1).zip(g2) {
                report.push(format!("{label}: grad {name}"), rel_err(a, b), tolerance);
            }
        }
        // Greedy answers, off the autodiff device as evaluation runs them.
        let plain = burn::module::Module::valid(&model);
        let steps = s.answer - 1;
        let ours = plain.answer(ids_tensor(&xs, device), ts[[0, 0]] as u32, steps);
        let (theirs, looked) = reference.answer(&xs, ts[[0, 0]], steps);
        let differ = ours.ids.iter().zip(theirs.iter()).filter(|(a, b)| **a as usize != **b).count();
        report.push(
            format!("burn vs ref {kind} {} batch {k}: greedy answers differing", s.label()),
            differ as f64 / ours.ids.len() as f64,
            0.0,
        );
        if kind.attention() {
            // [N, steps, Tq]: the reference keeps one [N, Tq] per step
            let theirs: Vec<f64> =
                (0..s.batch).flat_map(|r| looked.iter().flat_map(move |a| a.row(r).to_vec())).collect();
            let ours: Vec<f64> = ours.attention.iter().map(|&x| x as f64).collect();
            report.push(
                format!("burn vs ref {kind} {} batch {k}: greedy attention weights", s.label()),
                rel_err(&ours, &theirs),
                tolerance,
            );
        }
    }
    report
}

struct Case {
    model: reference::seq2seq::Seq2seq<f64>,
    xs: Array2<usize>,
    ts: Array2<usize>,
    which: usize,
}

/// The reference encoder-decoder against central finite differences in f64,
/// at the small sizes: every parameter's gradient, the encoder's through the
/// decoder's `dh` (and, for Peeky, through every step's peek).
pub fn seq2seq_reference_vs_finite_differences(kind: Seq2seqKind, seed: u64) -> Report {
    let s = Seq2seqSizes::SMALL;
    let w = seq2seq_check_weights(kind, s, seed);
    let mut rng = StdRng::seed_from_u64(seed + 4);
    let xs = random_ids(&mut rng, s.batch, s.question, s.vocab);
    let ts = random_ids(&mut rng, s.batch, s.answer, s.vocab);
    let mut c = Case { model: reference::seq2seq::Seq2seq::from_weights(&w), xs, ts, which: 0 };
    c.model.forward(&c.xs, &c.ts);
    c.model.backward(1.0);
    let grads = c.model.grads();
    let mut report = Report::default();
    for (k, ((name, _), g)) in w.arch.params().into_iter().zip(&grads).enumerate() {
        c.which = k;
        let n = flat(g).len();
        let numeric: Vec<f64> = (0..n)
            .map(|i| {
                let mut at = |delta: f64| {
                    let orig = {
                        let mut p = c.model.params_mut().swap_remove(c.which);
                        let v = p.as_slice_mut().expect("standard layout");
                        let orig = v[i];
                        v[i] = orig + delta;
                        orig
                    };
                    let loss = c.model.forward(&c.xs, &c.ts);
                    c.model.params_mut().swap_remove(c.which).as_slice_mut().expect("standard layout")[i] = orig;
                    loss
                };
                (at(FD_EPSILON) - at(-FD_EPSILON)) / (2.0 * FD_EPSILON)
            })
            .collect();
        report.push(
            format!("reference vs finite differences: {kind} {} d{name}", s.label()),
            rel_err(&flat(g), &numeric),
            FD_TOLERANCE,
        );
    }
    report
}
