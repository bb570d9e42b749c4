//! The book's language models as one Burn module over a choice of recurrent
//! layer:
//!
//! - `SimpleRnnlm` (chapter 5): Embedding → TimeRNN → Affine;
//! - `Rnnlm` (chapter 6): Embedding → TimeLSTM → Affine (or a TimeGRU);
//! - `BetterRnnlm` (chapter 6): Embedding → Dropout → LSTM → Dropout → LSTM →
//!   Dropout → Affine whose weight is the embedding matrix transposed.
//!
//! All are scored by the mean softmax cross-entropy over every position.

use burn::config::Config;
use burn::module::{Module, Param};
use burn::nn::Embedding;
use burn::tensor::module::linear;
use burn::tensor::{Device, Int, Tensor};

use super::{
    Backprop, Recurrent, RecurrentState, affine_softmax_with_loss, cross_entropy_autodiff, param, softmax_with_loss,
    time_dropout, time_embedding,
};
use crate::arch::{Architecture, CellKind, ModelKind};
use crate::weights::RnnlmWeights;

/// Configuration of a language model; the defaults are chapter 5's notebook.
#[derive(Config, Debug)]
pub struct RnnlmConfig {
    /// V: number of words in the vocabulary.
    pub vocab_size: usize,
    /// The recurrent layer: rnn, lstm or gru.
    #[config(default = "CellKind::Rnn")]
    pub cell: CellKind,
    /// D: size of a word vector.
    #[config(default = 100)]
    pub wordvec_size: usize,
    /// H: size of the hidden state.
    #[config(default = 100)]
    pub hidden_size: usize,
    /// Recurrent layers stacked.
    #[config(default = 1)]
    pub layers: usize,
    /// Dropout ratio before each recurrent layer and before the affine layer (0: none).
    #[config(default = 0.0)]
    pub dropout: f64,
    /// The affine layer's weight is the embedding matrix transposed (needs D = H).
    #[config(default = false)]
    pub tied: bool,
}

/// Embedding → (Dropout → recurrent layer) × layers → Dropout → Affine, scored
/// by the mean softmax cross-entropy.
#[derive(Module, Debug)]
pub struct Rnnlm {
    /// Word vectors, weight `[V, D]`.
    pub embed: Embedding,
    /// The recurrent layers, bottom first.
    pub layers: Vec<Recurrent>,
    /// Affine weight `[H, V]`; `None` when tied to the embedding.
    pub affine_w: Option<Param<Tensor<2>>>,
    /// Affine bias `[V]` (its own parameter, tied or not).
    pub affine_b: Param<Tensor<1>>,
    /// Dropout ratio (0: none).
    #[module(skip)]
    pub dropout: f64,
    /// How the gradients are found: each layer one node with the book's
    /// backward (training), or every op through autodiff (`check`'s plain path).
    #[module(skip)]
    pub backprop: Backprop,
}

impl RnnlmConfig {
    /// The configuration of a model with these parameters, without dropout
    /// (for evaluation and sampling, where dropout does nothing).
    pub fn for_architecture(a: Architecture) -> Self {
        RnnlmConfig::new(a.vocab_size)
            .with_cell(a.cell)
            .with_wordvec_size(a.wordvec_size)
            .with_hidden_size(a.hidden_size)
            .with_layers(a.layers)
            .with_tied(a.tied)
    }

    /// The architecture (which parameters the model has).
    pub fn architecture(&self) -> Architecture {
        Architecture {
            cell: self.cell,
            vocab_size: self.vocab_size,
            wordvec_size: self.wordvec_size,
            hidden_size: self.hidden_size,
            layers: self.layers,
            tied: self.tied,
        }
    }

    /// The model with the given weights, which must match this configuration.
    pub fn init_with(&self, w: &RnnlmWeights, device: &Device) -> crate::Result<Rnnlm> {
        let a = self.architecture();
        if w.arch != a {
            return Err(crate::Error::Weights(format!(
                "the weights are for {:?}, the configuration is {:?}",
                w.arch, a
            )));
        }
        if !(0.0..1.0).contains(&self.dropout) {
            return Err(crate::Error::Weights(format!("the dropout ratio must be in [0, 1), not {}", self.dropout)));
        }
        w.validate()?;
        let (v, d, h) = (a.vocab_size, a.wordvec_size, a.hidden_size);
        let layers = (0..a.layers)
            .map(|k| {
                let name = a.layer_name(k);
                let (wx, wh, b) =
                    (w.get(&format!("{name}.Wx")), w.get(&format!("{name}.Wh")), w.get(&format!("{name}.b")));
                Recurrent::init_with(a.cell, a.layer_input(k), h, wx, wh, b, device)
            })
            .collect();
        Ok(Rnnlm {
            embed: Embedding { weight: param(w.get("embed.W"), [v, d], device) },
            layers,
            affine_w: (!a.tied).then(|| param(w.get("affine.W"), [h, v], device)),
            affine_b: param(w.get("affine.b"), [v], device),
            dropout: self.dropout,
            backprop: Backprop::Book,
        })
    }
}

impl Rnnlm {
    /// The architecture this model was built with.
    pub fn architecture(&self) -> Architecture {
        let cell = self.layers.first().expect("at least one layer").cell();
        let [v, d] = self.embed.weight.dims();
        Architecture {
            cell,
            vocab_size: v,
            wordvec_size: d,
            hidden_size: self.layers[0].params().1.dims()[0],
            layers: self.layers.len(),
            tied: self.affine_w.is_none(),
        }
    }

    /// How many dropout masks a training forward draws (0 without dropout):
    /// one before each recurrent layer and one before the affine layer.
    pub fn dropout_sites(&self) -> usize {
        if self.dropout > 0.0 { self.layers.len() + 1 } else { 0 }
    }

    fn dropout(&self, xs: Tensor<3>, keep: Option<Tensor<3>>) -> Tensor<3> {
        time_dropout(xs, self.dropout, keep)
    }

    /// The affine layer's input at every position: embedding, recurrent
    /// layers and the dropouts between them, with the masks given (`masks`:
    /// [`Rnnlm::dropout_sites`] tensors of 0s and 1s) or drawn.
    ///
    /// - `xs`: word ids `[N, T]`; `state`: every layer's state, or `None` for zeros;
    /// - returns `[N, T, H]` and the state after the last step.
    pub(super) fn forward_hidden(
        &self,
        xs: Tensor<2, Int>,
        state: Option<RecurrentState>,
        masks: Option<Vec<Tensor<3>>>,
    ) -> (Tensor<3>, RecurrentState) {
        if let Some(m) = &masks {
            assert_eq!(m.len(), self.dropout_sites(), "a mask per dropout site");
        }
        let mut masks = masks.map(|m| m.into_iter());
        let mut next_mask = || masks.as_mut().and_then(|m| m.next());
        let mut states = state.map(|s| s.layers.into_iter());
        let mut x = match self.backprop {
            Backprop::Book => time_embedding(self.embed.weight.val(), xs),
            Backprop::OpByOp => self.embed.forward(xs),
        }; // [N, T, D]
        let mut out_states = Vec::with_capacity(self.layers.len());
        for layer in &self.layers {
            x = self.dropout(x, next_mask());
            let (hs, s) = layer.forward(x, states.as_mut().and_then(|s| s.next()), self.backprop);
            out_states.push(s);
            x = hs; // [N, T, H]
        }
        (self.dropout(x, next_mask()), RecurrentState { layers: out_states })
    }

    /// The affine layer's weight `[H, V]`.
    pub(super) fn affine_weight(&self) -> Tensor<2> {
        match &self.affine_w {
            Some(w) => w.val(),
            // Weight tying: the scores use the embedding matrix transposed, so
            // autodiff sums the gradients of both uses into one parameter (the
            // book's `remove_duplicate`).
            None => self.embed.weight.val().transpose(), // [D, V]
        }
    }

    /// Scores of the next word at every position, with the dropout masks
    /// given (`masks`: [`Rnnlm::dropout_sites`] tensors of 0s and 1s) or drawn.
    ///
    /// - `xs`: word ids `[N, T]`; `state`: every layer's state, or `None` for zeros;
    /// - returns logits `[N, T, V]` and the state after the last step.
    pub fn forward_logits_masked(
        &self,
        xs: Tensor<2, Int>,
        state: Option<RecurrentState>,
        masks: Option<Vec<Tensor<3>>>,
    ) -> (Tensor<3>, RecurrentState) {
        let (h, state) = self.forward_hidden(xs, state, masks);
        (linear(h, self.affine_weight(), Some(self.affine_b.val())), state) // [N, T, V]
    }

    /// Scores of the next word at every position (dropout masks drawn in training).
    pub fn forward_logits(&self, xs: Tensor<2, Int>, state: Option<RecurrentState>) -> (Tensor<3>, RecurrentState) {
        self.forward_logits_masked(xs, state, None)
    }

    /// Mean softmax cross-entropy over all N·T positions (the book's
    /// `TimeSoftmaxWithLoss`); dropout masks drawn in training.
    ///
    /// - `xs`, `ts`: inputs and targets `[N, T]`; `state`: as [`Rnnlm::forward_logits`];
    /// - returns the loss `[1]` and the state after the last step.
    ///
    /// `loss.backward()` then gives every parameter's gradient: with
    /// [`Backprop::Book`], by the book's backward of each layer.
    pub fn forward(
        &self,
        xs: Tensor<2, Int>,
        ts: Tensor<2, Int>,
        state: Option<RecurrentState>,
    ) -> (Tensor<1>, RecurrentState) {
        self.loss(xs, ts, state, None)
    }

    /// [`Rnnlm::forward`] with the dropout masks given.
    pub fn forward_masked(
        &self,
        xs: Tensor<2, Int>,
        ts: Tensor<2, Int>,
        state: Option<RecurrentState>,
        masks: Vec<Tensor<3>>,
    ) -> (Tensor<1>, RecurrentState) {
        self.loss(xs, ts, state, Some(masks))
    }

    fn loss(
        &self,
        xs: Tensor<2, Int>,
        ts: Tensor<2, Int>,
        state: Option<RecurrentState>,
        masks: Option<Vec<Tensor<3>>>,
    ) -> (Tensor<1>, RecurrentState) {
        let [n, t] = xs.dims();
        let (h, state) = self.forward_hidden(xs, state, masks); // [N, T, H]
        let logits = |h: Tensor<3>| linear(h, self.affine_weight(), Some(self.affine_b.val())); // [N, T, V]
        let loss = match (self.backprop, h.device().is_autodiff()) {
            // Evaluation: no backward to prepare for.
            (_, false) => softmax_with_loss(logits(h), ts),
            (Backprop::Book, true) => {
                let hidden = h.dims()[2];
                let (w, tied) = match &self.affine_w {
                    Some(w) => (w.val(), false),
                    None => (self.embed.weight.val(), true), // E [V, H]: the weight is its transpose
                };
                affine_softmax_with_loss(h.reshape([n * t, hidden]), w, self.affine_b.val(), ts.reshape([n * t]), tied)
            }
            (Backprop::OpByOp, true) => cross_entropy_autodiff(logits(h), ts),
        };
        (loss, state)
    }

    /// Every parameter, in the book's order ([`Architecture::params`]).
    pub fn params(&self) -> Vec<ParamRef<'_>> {
        let mut p = vec![ParamRef::Matrix(&self.embed.weight)];
        for layer in &self.layers {
            let (wx, wh, b) = layer.params();
            p.extend([ParamRef::Matrix(wx), ParamRef::Matrix(wh), ParamRef::Vector(b)]);
        }
        if let Some(w) = &self.affine_w {
            p.push(ParamRef::Matrix(w));
        }
        p.push(ParamRef::Vector(&self.affine_b));
        p
    }

    /// The parameters as host arrays (reads them back from the device).
    pub fn weights(&self) -> RnnlmWeights {
        let tensors = self.params().iter().map(|p| p.values()).collect();
        RnnlmWeights { arch: self.architecture(), tensors }
    }
}

/// A parameter of the model, of either rank.
pub enum ParamRef<'a> {
    /// A weight matrix.
    Matrix(&'a Param<Tensor<2>>),
    /// A bias.
    Vector(&'a Param<Tensor<1>>),
}

impl ParamRef<'_> {
    /// The values, read back to the host.
    pub fn values(&self) -> Vec<f32> {
        match self {
            ParamRef::Matrix(p) => p.val().try_into_vec_as::<f32>(),
            ParamRef::Vector(p) => p.val().try_into_vec_as::<f32>(),
        }
        .expect("readable parameters")
    }

    /// The gradient in `grads`, read back to the host (`None` if it has none).
    pub fn grad(&self, grads: &burn::tensor::Gradients) -> Option<Vec<f32>> {
        match self {
            ParamRef::Matrix(p) => p.val().grad(grads).map(|g| g.try_into_vec_as::<f32>()),
            ParamRef::Vector(p) => p.val().grad(grads).map(|g| g.try_into_vec_as::<f32>()),
        }
        .map(|r| r.expect("readable gradient"))
    }
}

impl ModelKind {
    /// The configuration of this model at the given sizes; `dropout` is used
    /// by BetterRnnlm only (the others have none).
    pub fn config(self, vocab_size: usize, wordvec_size: usize, hidden_size: usize, dropout: f64) -> RnnlmConfig {
        RnnlmConfig::new(vocab_size)
            .with_cell(self.cell())
            .with_wordvec_size(wordvec_size)
            .with_hidden_size(hidden_size)
            .with_layers(self.layers())
            .with_tied(self.tied())
            .with_dropout(if self == ModelKind::BetterLstm { dropout } else { 0.0 })
    }
}
