//! The book's encoder-decoder (chapter 7, `ch07/seq2seq.py` and
//! `peeky_seq2seq.py`), built from the same layers as the language models:
//! each embedding, each `TimeLstm` and the affine layer with its loss is one
//! autodiff node whose backward is the book's, so `loss.backward()` runs the
//! book's `Seq2seq.backward`, the encoder's `dh` included.
//!
//! - [`Encoder`]: Embedding → TimeLSTM from zeros; its output is the last `h`.
//! - [`Decoder`]: Embedding → TimeLSTM started from the encoder's `h` (its `c`
//!   at zero) → Affine.
//! - [`PeekyDecoder`]: the same, with the encoder's `h` joined to every
//!   step's input (`[h, x]`) and to the affine layer's (`[h, h_t]`).
//! - [`Seq2seq`]: an encoder and either decoder; with a `PeekyDecoder` it is
//!   the book's `PeekySeq2seq`. Trained by teacher forcing: the decoder reads
//!   the answer `t[:, :-1]` and is scored against `t[:, 1:]`, the mean
//!   softmax cross-entropy over all N·T positions.

use burn::config::Config;
use burn::module::{Module, Param};
use burn::nn::Embedding;
use burn::tensor::module::linear;
use burn::tensor::{Device, Int, Tensor, TensorData};

use super::{
    Backprop, LstmCellConfig, LstmState, TimeLstm, affine_softmax_with_loss, cross_entropy_autodiff, param,
    time_embedding,
};
use crate::arch::Seq2seqArch;
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
    /// The decoder peeks at the encoder's `h` at every step (`PeekySeq2seq`).
    #[config(default = false)]
    pub peeky: bool,
}

impl Seq2seqConfig {
    /// The configuration of a model with these parameters.
    pub fn for_architecture(a: Seq2seqArch) -> Self {
        Seq2seqConfig::new(a.vocab_size)
            .with_wordvec_size(a.wordvec_size)
            .with_hidden_size(a.hidden_size)
            .with_peeky(a.peeky)
    }

    /// Which parameters the model has.
    pub fn architecture(&self) -> Seq2seqArch {
        Seq2seqArch {
            vocab_size: self.vocab_size,
            wordvec_size: self.wordvec_size,
            hidden_size: self.hidden_size,
            peeky: self.peeky,
        }
    }

    /// The model with the given weights, which must be of this configuration.
    pub fn init_with(&self, w: &Seq2seqWeights, device: &Device) -> crate::Result<Seq2seq> {
        let a = self.architecture();
        if w.arch != a {
            return Err(crate::Error::Weights(format!("the weights are for {}, the configuration is {a}", w.arch)));
        }
        let (v, d, h) = (a.vocab_size, a.wordvec_size, a.hidden_size);
        let lstm = |part: &str, input: usize| TimeLstm {
            cell: LstmCellConfig::new(input, h).init_with(
                w.get(&format!("{part}.lstm.Wx")),
                w.get(&format!("{part}.lstm.Wh")),
                w.get(&format!("{part}.lstm.b")),
                device,
            ),
        };
        let embed = |part: &str| Embedding { weight: param(w.get(&format!("{part}.embed.W")), [v, d], device) };
        let encoder = Encoder { embed: embed("encoder"), lstm: lstm("encoder", d) };
        let peek = if a.peeky { h } else { 0 };
        let (embed, lstm) = (embed("decoder"), lstm("decoder", peek + d));
        let affine_w = param(w.get("decoder.affine.W"), [peek + h, v], device);
        let affine_b = param(w.get("decoder.affine.b"), [v], device);
        let decoder = match a.peeky {
            false => Seq2seqDecoder::Plain(Decoder { embed, lstm, affine_w, affine_b }),
            true => Seq2seqDecoder::Peeky(PeekyDecoder { embed, lstm, affine_w, affine_b }),
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

/// The encoder: Embedding → TimeLSTM, from zeros (no state carried).
#[derive(Module, Debug)]
pub struct Encoder {
    /// Character vectors, weight `[V, D]`.
    pub embed: Embedding,
    pub lstm: TimeLstm,
}

impl Encoder {
    /// Every hidden state `[N, T, H]` of the questions `xs [N, T]`, and the last state.
    pub fn forward_all(&self, xs: Tensor<2, Int>, backprop: Backprop) -> (Tensor<3>, LstmState) {
        recur(&self.lstm, embed(&self.embed, xs, backprop), None, backprop)
    }

    /// The last hidden state `h [N, H]`: what the decoder starts from.
    pub fn forward(&self, xs: Tensor<2, Int>, backprop: Backprop) -> Tensor<2> {
        self.forward_all(xs, backprop).1.h
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

/// Either decoder.
#[derive(Module, Debug)]
pub enum Seq2seqDecoder {
    Plain(Decoder),
    Peeky(PeekyDecoder),
}

impl Seq2seqDecoder {
    fn parts(&self) -> (&Embedding, &TimeLstm, &Param<Tensor<2>>, &Param<Tensor<1>>) {
        match self {
            Seq2seqDecoder::Plain(d) => (&d.embed, &d.lstm, &d.affine_w, &d.affine_b),
            Seq2seqDecoder::Peeky(d) => (&d.embed, &d.lstm, &d.affine_w, &d.affine_b),
        }
    }

    fn peeky(&self) -> bool {
        matches!(self, Seq2seqDecoder::Peeky(_))
    }

    /// The affine layer's input at every step of `xs [N, T]`, from the
    /// encoder's `h [N, H]` and the LSTM's `state` (the encoder's `h` with
    /// zero `c` at the first step): `[N, T, H]` (Peeky: `[N, T, 2H]`) and the
    /// state after the last step.
    fn hidden(
        &self,
        xs: Tensor<2, Int>,
        h: &Tensor<2>,
        state: LstmState,
        backprop: Backprop,
    ) -> (Tensor<3>, LstmState) {
        let (e, lstm, _, _) = self.parts();
        let x = embed(e, xs, backprop); // [N, T, D]
        if !self.peeky() {
            return recur(lstm, x, Some(state), backprop);
        }
        let [n, t, _] = x.dims();
        let hidden = h.dims()[1];
        let peek = h.clone().reshape([n, 1, hidden]).repeat_dim(1, t); // [N, T, H]
        let (hs, state) = recur(lstm, Tensor::cat(vec![peek.clone(), x], 2), Some(state), backprop);
        (Tensor::cat(vec![peek, hs], 2), state) // [N, T, 2H]
    }

    /// The mean softmax cross-entropy of the scores at every step of `xs`
    /// against `ts` (both `[N, T]`), from the encoder's `h`.
    fn loss(&self, xs: Tensor<2, Int>, h: Tensor<2>, ts: Tensor<2, Int>, backprop: Backprop) -> Tensor<1> {
        let [n, t] = xs.dims();
        let state = LstmState { c: h.zeros_like(), h: h.clone() };
        let (out, _) = self.hidden(xs, &h, state, backprop); // [N, T, K]
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

/// The encoder-decoder: `Seq2seq`, or with a [`PeekyDecoder`] the book's `PeekySeq2seq`.
#[derive(Module, Debug)]
pub struct Seq2seq {
    pub encoder: Encoder,
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
        Seq2seqArch {
            vocab_size: v,
            wordvec_size: d,
            hidden_size: self.encoder.lstm.cell.hidden_size(),
            peeky: self.decoder.peeky(),
        }
    }

    /// The loss by teacher forcing (the book's `Seq2seq.forward`): the
    /// questions `xs [N, Tq]` encoded, the decoder fed the answers
    /// `ts [N, Ta]` less their last character and scored against them less
    /// their first (the start mark `_`); the mean over N·(Ta − 1) positions,
    /// padding included. `loss.backward()` gives every parameter's gradient.
    pub fn forward(&self, xs: Tensor<2, Int>, ts: Tensor<2, Int>) -> Tensor<1> {
        let [n, ta] = ts.dims();
        let h = self.encoder.forward(xs, self.backprop); // [N, H]
        let decoder_xs = ts.clone().slice([0..n, 0..ta - 1]);
        let decoder_ts = ts.slice([0..n, 1..ta]);
        self.decoder.loss(decoder_xs, h, decoder_ts, self.backprop)
    }

    /// Greedy answers (the book's `generate`, for a whole batch at once):
    /// the questions `xs [N, Tq]` encoded, then `steps` characters, each the
    /// highest-scoring one after the one before, starting from `start_id`.
    /// Returns `[N, steps]` ids, row-major.
    pub fn generate(&self, xs: Tensor<2, Int>, start_id: u32, steps: usize) -> Vec<u32> {
        let [n, _] = xs.dims();
        let device = xs.device();
        let h = self.encoder.forward(xs, Backprop::Book); // [N, H]
        let mut state = LstmState { c: h.zeros_like(), h: h.clone() };
        let (_, _, w, b) = self.decoder.parts();
        let mut ids = Tensor::<2, Int>::from_data(TensorData::new(vec![start_id as i64; n], [n, 1]), &device);
        let mut sampled = Vec::with_capacity(steps);
        for _ in 0..steps {
            let (out, next) = self.decoder.hidden(ids, &h, state, Backprop::Book); // [N, 1, K]
            state = next;
            let k = out.dims()[2];
            let scores = linear(out.reshape([n, k]), w.val(), Some(b.val())); // [N, V]
            ids = scores.argmax(1); // [N, 1]
            sampled.push(ids.clone());
        }
        if sampled.is_empty() {
            return Vec::new();
        }
        let all = Tensor::cat(sampled, 1); // [N, steps]
        all.into_data().iter::<i64>().map(|v| v as u32).collect()
    }

    /// Every parameter in the book's order ([`Seq2seqArch::params`]).
    pub fn params(&self) -> Vec<super::ParamRef<'_>> {
        use super::ParamRef::{Matrix, Vector};
        let (e, lstm, w, b) = self.decoder.parts();
        let enc = &self.encoder;
        vec![
            Matrix(&enc.embed.weight),
            Matrix(&enc.lstm.cell.wx),
            Matrix(&enc.lstm.cell.wh),
            Vector(&enc.lstm.cell.b),
            Matrix(&e.weight),
            Matrix(&lstm.cell.wx),
            Matrix(&lstm.cell.wh),
            Vector(&lstm.cell.b),
            Matrix(w),
            Vector(b),
        ]
    }

    /// The parameters as host arrays (read back from the device).
    pub fn weights(&self) -> Seq2seqWeights {
        Seq2seqWeights { arch: self.architecture(), tensors: self.params().iter().map(|p| p.values()).collect() }
    }
}
