//! The book's encoder-decoders (chapter 7, `ch07/seq2seq.py` and
//! `peeky_seq2seq.py`; chapter 8, `ch08/attention_seq2seq.py`), built from
//! the same layers as the language models: each embedding, each `TimeLstm`
//! and the affine layer with its loss is one autodiff node whose backward is
//! the book's, so `loss.backward()` runs the book's `Seq2seq.backward`, the
//! encoder's `dh` included.
//!
//! - [`Encoder`]: Embedding → TimeLSTM from zeros; its output is every `h`
//!   and the last. With a second LSTM that reads the question back to front
//!   (a bidirectional encoder, section 8.4.1), the two states of each
//!   character are summed, so the decoder's sizes stay those of `H`.
//! - [`Decoder`]: Embedding → TimeLSTM started from the encoder's last `h`
//!   (its `c` at zero) → Affine.
//! - [`PeekyDecoder`]: the same, with the encoder's `h` joined to every
//!   step's input (`[h, x]`) and to the affine layer's (`[h, h_t]`).
//! - [`AttentionDecoder`]: the same as `Decoder`, with the context that
//!   attention ([`super::attention`]) reads from every encoder state joined
//!   to the affine layer's input (`[c_t, h_t]`).
//! - [`Seq2seq`]: an encoder and a decoder; with a `PeekyDecoder` it is the
//!   book's `PeekySeq2seq`, with an `AttentionDecoder` its
//!   `AttentionSeq2seq`. Trained by teacher forcing: the decoder reads the
//!   answer `t[:, :-1]` and is scored against `t[:, 1:]`, the mean softmax
//!   cross-entropy over all N·T positions.

use burn::config::Config;
use burn::module::{Module, Param};
use burn::nn::Embedding;
use burn::tensor::module::linear;
use burn::tensor::{Device, Int, Tensor, TensorData};

use super::attention::time_attention;
use super::{
    Backprop, LstmCellConfig, LstmState, TimeLstm, affine_softmax_with_loss, cross_entropy_autodiff, param,
    time_embedding,
};
use crate::arch::{Seq2seqArch, Seq2seqKind};
use crate::weights::Seq2seqWeights;

/// Configuration of an encoder-decoder; the defaults are `train_seq2seq.py`'s.
#[derive(Config, Debug)]
pub struct Seq2seqConfig {
    /// V: number of characters.
    pub vocab_size: usize,
    /// D: size of a character vector.
    #[config(default = 16)]
    pub wordvec_size: usize,
    /// H: size of the hidden state.
    #[config(default = 128)]
    pub hidden_size: usize,
    /// Which of the book's models.
    #[config(default = "Seq2seqKind::Seq2seq")]
    pub kind: Seq2seqKind,
}

impl Seq2seqConfig {
    /// The configuration of a model with these parameters.
    pub fn for_architecture(a: Seq2seqArch) -> Self {
        Seq2seqConfig::new(a.vocab_size)
            .with_wordvec_size(a.wordvec_size)
            .with_hidden_size(a.hidden_size)
            .with_kind(a.kind)
    }

    /// Which parameters the model has.
    pub fn architecture(&self) -> Seq2seqArch {
        Seq2seqArch {
            vocab_size: self.vocab_size,
            wordvec_size: self.wordvec_size,
            hidden_size: self.hidden_size,
            kind: self.kind,
        }
    }

    /// The model with the given weights, which must be of this configuration.
    pub fn init_with(&self, w: &Seq2seqWeights, device: &Device) -> crate::Result<Seq2seq> {
        let a = self.architecture();
        if w.arch != a {
            return Err(crate::Error::Weights(format!("the weights are for {}, the configuration is {a}", w.arch)));
        }
        let (v, d, h) = (a.vocab_size, a.wordvec_size, a.hidden_size);
        let lstm = |name: &str, input: usize| TimeLstm {
            cell: LstmCellConfig::new(input, h).init_with(
                w.get(&format!("{name}.Wx")),
                w.get(&format!("{name}.Wh")),
                w.get(&format!("{name}.b")),
                device,
            ),
        };
        let embed = |part: &str| Embedding { weight: param(w.get(&format!("{part}.embed.W")), [v, d], device) };
        let backward_lstm = a.kind.bidirectional().then(|| lstm("encoder.backward_lstm", d));
        let encoder = Encoder { embed: embed("encoder"), lstm: lstm("encoder.lstm", d), backward_lstm };
        let (embed, lstm) = (embed("decoder"), lstm("decoder.lstm", a.decoder_lstm_input()));
        let affine_w = param(w.get("decoder.affine.W"), [a.affine_input(), v], device);
        let affine_b = param(w.get("decoder.affine.b"), [v], device);
        let decoder = match a.kind {
            Seq2seqKind::Seq2seq => Seq2seqDecoder::Plain(Decoder { embed, lstm, affine_w, affine_b }),
            Seq2seqKind::PeekySeq2seq => Seq2seqDecoder::Peeky(PeekyDecoder { embed, lstm, affine_w, affine_b }),
            Seq2seqKind::AttentionSeq2seq | Seq2seqKind::BiAttentionSeq2seq => {
                Seq2seqDecoder::Attention(AttentionDecoder { embed, lstm, affine_w, affine_b })
            }
        };
        Ok(Seq2seq { encoder, decoder, backprop: Backprop::Book })
    }
}

/// The word vectors of `ids [N, T]`: `[N, T, D]`.
fn embed(e: &Embedding, ids: Tensor<2, Int>, backprop: Backprop) -> Tensor<3> {
    match backprop {
        Backprop::Book => time_embedding(e.weight.val(), ids),
        Backprop::OpByOp => e.forward(ids),
    }
}

/// `lstm` over `xs [N, T, D]` from `state`: `[N, T, H]` and the last state.
fn recur(lstm: &TimeLstm, xs: Tensor<3>, state: Option<LstmState>, backprop: Backprop) -> (Tensor<3>, LstmState) {
    match backprop {
        Backprop::Book => lstm.forward(xs, state),
        Backprop::OpByOp => lstm.forward_op_by_op(xs, state),
    }
}

/// What the encoder hands the decoder: every state and the last.
#[derive(Clone, Debug)]
pub struct Encoded {
    /// `[N, T, H]`: what attention reads.
    pub hs: Tensor<3>,
    /// `[N, H]`: what the decoder's LSTM starts from (`hs[:, -1]`).
    pub h: Tensor<2>,
}

/// The encoder: Embedding → TimeLSTM, from zeros (no state carried), and
/// for a bidirectional encoder a second TimeLSTM over the reversed question.
#[derive(Module, Debug)]
pub struct Encoder {
    /// Character vectors, weight `[V, D]`.
    pub embed: Embedding,
    /// Reads the question front to back.
    pub lstm: TimeLstm,
    /// Reads the question back to front; its state at each character is
    /// added to `lstm`'s.
    pub backward_lstm: Option<TimeLstm>,
}

impl Encoder {
    /// Every hidden state `[N, T, H]` of the questions `xs [N, T]`, and the last.
    pub fn encode(&self, xs: Tensor<2, Int>, backprop: Backprop) -> Encoded {
        let x = embed(&self.embed, xs, backprop); // [N, T, D]
        let Some(backward) = &self.backward_lstm else {
            let (hs, last) = recur(&self.lstm, x, None, backprop);
            return Encoded { hs, h: last.h };
        };
        let (forward_hs, _) = recur(&self.lstm, x.clone(), None, backprop);
        let (backward_hs, _) = recur(backward, x.flip([1]), None, backprop);
        let hs = forward_hs + backward_hs.flip([1]); // [N, T, H]
        let [n, t, hidden] = hs.dims();
        let h = hs.clone().slice([0..n, t - 1..t]).reshape([n, hidden]);
        Encoded { hs, h }
    }

    /// The last hidden state `h [N, H]`: what the decoder starts from.
    pub fn forward(&self, xs: Tensor<2, Int>, backprop: Backprop) -> Tensor<2> {
        self.encode(xs, backprop).h
    }
}

/// The decoder: Embedding → TimeLSTM from the encoder's `h` → Affine.
#[derive(Module, Debug)]
pub struct Decoder {
    /// Character vectors, weight `[V, D]`.
    pub embed: Embedding,
    /// Reads `[N, T, D]`.
    pub lstm: TimeLstm,
    /// Affine weight `[H, V]`.
    pub affine_w: Param<Tensor<2>>,
    /// Affine bias `[V]`.
    pub affine_b: Param<Tensor<1>>,
}

/// The decoder that peeks: the encoder's `h` is joined to every step's input
/// and to the affine layer's input.
#[derive(Module, Debug)]
pub struct PeekyDecoder {
    /// Character vectors, weight `[V, D]`.
    pub embed: Embedding,
    /// Reads `[h, x]`, `[N, T, H + D]`.
    pub lstm: TimeLstm,
    /// Affine weight `[2H, V]`, reading `[h, h_t]`.
    pub affine_w: Param<Tensor<2>>,
    /// Affine bias `[V]`.
    pub affine_b: Param<Tensor<1>>,
}

/// The decoder with attention (`AttentionDecoder`): at each step, the context
/// read from every encoder state is joined to the affine layer's input.
#[derive(Module, Debug)]
pub struct AttentionDecoder {
    /// Character vectors, weight `[V, D]`.
    pub embed: Embedding,
    /// Reads `[N, T, D]`.
    pub lstm: TimeLstm,
    /// Affine weight `[2H, V]`, reading `[c_t, h_t]`.
    pub affine_w: Param<Tensor<2>>,
    /// Affine bias `[V]`.
    pub affine_b: Param<Tensor<1>>,
}

/// Any of the decoders.
#[derive(Module, Debug)]
pub enum Seq2seqDecoder {
    /// The book's `Decoder`.
    Plain(Decoder),
    /// The book's `PeekyDecoder`.
    Peeky(PeekyDecoder),
    /// The book's `AttentionDecoder`.
    Attention(AttentionDecoder),
}

/// The affine layer's input at each decoder step, the LSTM's state after
/// the last, and (with attention) the attention weights `[N, T, Tq]`.
struct Hidden {
    out: Tensor<3>,
    state: LstmState,
    weights: Option<Tensor<3>>,
}

impl Seq2seqDecoder {
    fn parts(&self) -> (&Embedding, &TimeLstm, &Param<Tensor<2>>, &Param<Tensor<1>>) {
        match self {
            Seq2seqDecoder::Plain(d) => (&d.embed, &d.lstm, &d.affine_w, &d.affine_b),
            Seq2seqDecoder::Peeky(d) => (&d.embed, &d.lstm, &d.affine_w, &d.affine_b),
            Seq2seqDecoder::Attention(d) => (&d.embed, &d.lstm, &d.affine_w, &d.affine_b),
        }
    }

    /// The affine layer's input at every step of `xs [N, T]`, from what the
    /// encoder gave and the LSTM's `state` (the encoder's `h` with zero `c`
    /// at the first step): `[N, T, H]` (Peeky and attention: `[N, T, 2H]`).
    fn hidden(&self, xs: Tensor<2, Int>, enc: &Encoded, state: LstmState, backprop: Backprop) -> Hidden {
        let (e, lstm, _, _) = self.parts();
        let x = embed(e, xs, backprop); // [N, T, D]
        match self {
            Seq2seqDecoder::Plain(_) => {
                let (out, state) = recur(lstm, x, Some(state), backprop);
                Hidden { out, state, weights: None }
            }
            Seq2seqDecoder::Peeky(_) => {
                let [n, t, _] = x.dims();
                let hidden = enc.h.dims()[1];
                let peek = enc.h.clone().reshape([n, 1, hidden]).repeat_dim(1, t); // [N, T, H]
                let (hs, state) = recur(lstm, Tensor::cat(vec![peek.clone(), x], 2), Some(state), backprop);
                Hidden { out: Tensor::cat(vec![peek, hs], 2), state, weights: None } // [N, T, 2H]
            }
            Seq2seqDecoder::Attention(_) => {
                let (hs, state) = recur(lstm, x, Some(state), backprop); // [N, T, H]
                let (context, weights) = time_attention(enc.hs.clone(), hs.clone());
                Hidden { out: Tensor::cat(vec![context, hs], 2), state, weights: Some(weights) } // [N, T, 2H]
            }
        }
    }

    /// The mean softmax cross-entropy of the scores at every step of `xs`
    /// against `ts` (both `[N, T]`), from what the encoder gave.
    fn loss(&self, xs: Tensor<2, Int>, enc: Encoded, ts: Tensor<2, Int>, backprop: Backprop) -> Tensor<1> {
        let [n, t] = xs.dims();
        let state = LstmState { c: enc.h.zeros_like(), h: enc.h.clone() };
        let out = self.hidden(xs, &enc, state, backprop).out; // [N, T, K]
        let (_, _, w, b) = self.parts();
        match backprop {
            Backprop::Book => {
                let k = out.dims()[2];
                affine_softmax_with_loss(out.reshape([n * t, k]), w.val(), b.val(), ts.reshape([n * t]), false)
            }
            Backprop::OpByOp => cross_entropy_autodiff(linear(out, w.val(), Some(b.val())), ts),
        }
    }
}

/// Greedy answers, and where the model looked while it gave them.
#[derive(Clone, Debug, PartialEq)]
pub struct Answers {
    /// `[N, steps]` ids, row-major.
    pub ids: Vec<u32>,
    /// With attention: `[N, steps, Tq]` weights, row-major (at each step, the
    /// weight of each character of the question as the model read it).
    /// Empty for the other models.
    pub attention: Vec<f32>,
}

/// The encoder-decoder: `Seq2seq`, or with a [`PeekyDecoder`] the book's
/// `PeekySeq2seq`, or with an [`AttentionDecoder`] its `AttentionSeq2seq`.
#[derive(Module, Debug)]
pub struct Seq2seq {
    /// Reads the question.
    pub encoder: Encoder,
    /// Writes the answer from what the encoder read.
    pub decoder: Seq2seqDecoder,
    /// How the gradients are found: each layer one node with the book's
    /// backward (training), or every op through autodiff (`check`'s plain path).
    #[module(skip)]
    pub backprop: Backprop,
}

impl Seq2seq {
    /// Which parameters the model has.
    pub fn architecture(&self) -> Seq2seqArch {
        let [v, d] = self.encoder.embed.weight.dims();
        let kind = match (&self.decoder, self.encoder.backward_lstm.is_some()) {
            (Seq2seqDecoder::Plain(_), _) => Seq2seqKind::Seq2seq,
            (Seq2seqDecoder::Peeky(_), _) => Seq2seqKind::PeekySeq2seq,
            (Seq2seqDecoder::Attention(_), false) => Seq2seqKind::AttentionSeq2seq,
            (Seq2seqDecoder::Attention(_), true) => Seq2seqKind::BiAttentionSeq2seq,
        };
        Seq2seqArch { vocab_size: v, wordvec_size: d, hidden_size: self.encoder.lstm.cell.hidden_size(), kind }
    }

    /// The loss by teacher forcing (the book's `Seq2seq.forward`): the
    /// questions `xs [N, Tq]` encoded, the decoder fed the answers
    /// `ts [N, Ta]` less their last character and scored against them less
    /// their first (the start mark `_`); the mean over N·(Ta − 1) positions,
    /// padding included. `loss.backward()` gives every parameter's gradient.
    pub fn forward(&self, xs: Tensor<2, Int>, ts: Tensor<2, Int>) -> Tensor<1> {
        let [n, ta] = ts.dims();
        let enc = self.encoder.encode(xs, self.backprop);
        let decoder_xs = ts.clone().slice([0..n, 0..ta - 1]);
        let decoder_ts = ts.slice([0..n, 1..ta]);
        self.decoder.loss(decoder_xs, enc, decoder_ts, self.backprop)
    }

    /// Greedy answers (the book's `generate`, for a whole batch at once):
    /// the questions `xs [N, Tq]` encoded, then `steps` characters, each the
    /// highest-scoring one after the one before, starting from `start_id`.
    /// Returns `[N, steps]` ids, row-major.
    pub fn generate(&self, xs: Tensor<2, Int>, start_id: u32, steps: usize) -> Vec<u32> {
        self.answer(xs, start_id, steps).ids
    }

    /// [`Seq2seq::generate`], with the attention weights of every step
    /// (the book's `TimeAttention.attention_weights`, which
    /// `visualize_attention.py` draws).
    pub fn answer(&self, xs: Tensor<2, Int>, start_id: u32, steps: usize) -> Answers {
        let [n, _] = xs.dims();
        let device = xs.device();
        let enc = self.encoder.encode(xs, Backprop::Book);
        let mut state = LstmState { c: enc.h.zeros_like(), h: enc.h.clone() };
        let (_, _, w, b) = self.decoder.parts();
        let mut ids = Tensor::<2, Int>::from_data(TensorData::new(vec![start_id as i64; n], [n, 1]), &device);
        let (mut sampled, mut looked) = (Vec::with_capacity(steps), Vec::with_capacity(steps));
        for _ in 0..steps {
            let step = self.decoder.hidden(ids, &enc, state, Backprop::Book); // out [N, 1, K]
            state = step.state;
            looked.extend(step.weights); // [N, 1, Tq]
            let k = step.out.dims()[2];
            let scores = linear(step.out.reshape([n, k]), w.val(), Some(b.val())); // [N, V]
            ids = scores.argmax(1); // [N, 1]
            sampled.push(ids.clone());
        }
        if sampled.is_empty() {
            return Answers { ids: Vec::new(), attention: Vec::new() };
        }
        let ids = Tensor::cat(sampled, 1).into_data().iter::<i64>().map(|v| v as u32).collect(); // [N, steps]
        let attention = match looked.is_empty() {
            true => Vec::new(),
            false => Tensor::cat(looked, 1).into_data().iter::<f32>().collect(), // [N, steps, Tq]
        };
        Answers { ids, attention }
    }

    /// Every parameter in the book's order ([`Seq2seqArch::params`]).
    pub fn params(&self) -> Vec<super::ParamRef<'_>> {
        use super::ParamRef::{Matrix, Vector};
        let (e, lstm, w, b) = self.decoder.parts();
        let enc = &self.encoder;
        fn time_lstm(l: &TimeLstm) -> [super::ParamRef<'_>; 3] {
            [Matrix(&l.cell.wx), Matrix(&l.cell.wh), Vector(&l.cell.b)]
        }
        let mut p = vec![Matrix(&enc.embed.weight)];
        p.extend(time_lstm(&enc.lstm));
        if let Some(backward) = &enc.backward_lstm {
            p.extend(time_lstm(backward));
        }
        p.push(Matrix(&e.weight));
        p.extend(time_lstm(lstm));
        p.extend([Matrix(w), Vector(b)]);
        p
    }

    /// The parameters as host arrays (read back from the device).
    pub fn weights(&self) -> Seq2seqWeights {
        Seq2seqWeights { arch: self.architecture(), tensors: self.params().iter().map(|p| p.values()).collect() }
    }
}
