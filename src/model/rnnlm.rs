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
use burn::optim::GradientsParams;
use burn::tensor::module::{embedding, linear};
use burn::tensor::{Device, Distribution, IndexingUpdateOp, Int, Tensor};

use super::{
    GruCellConfig, LstmCellConfig, LstmState, RnnCellConfig, TimeGru, TimeLstm, TimeRnn, head, param, randn,
    softmax_with_loss,
};
use crate::weights::{Architecture, CellKind, RnnlmWeights};

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

/// One time-unrolled recurrent layer.
#[derive(Module, Debug)]
pub enum Recurrent {
    Rnn(TimeRnn),
    Lstm(TimeLstm),
    Gru(TimeGru),
}

/// What one recurrent layer carries from a batch to the next: the hidden
/// state `h` `[N, H]`, and for an LSTM its cell state `c`.
#[derive(Clone, Debug)]
pub struct LayerState {
    pub h: Tensor<2>,
    pub c: Option<Tensor<2>>,
}

/// The state of every recurrent layer, bottom first.
#[derive(Clone, Debug)]
pub struct RecurrentState {
    pub layers: Vec<LayerState>,
}

impl RecurrentState {
    /// The same values without their history. Truncated BPTT carries the
    /// state's value to the next batch, but its gradient must stop at the
    /// batch boundary, so the graph that made it is cut.
    pub fn detach(self) -> Self {
        let layers =
            self.layers.into_iter().map(|l| LayerState { h: l.h.detach(), c: l.c.map(Tensor::detach) }).collect();
        Self { layers }
    }

    /// Every tensor, in order: each layer's `h`, then its `c` if it has one.
    pub fn tensors(&self) -> Vec<Tensor<2>> {
        self.layers.iter().flat_map(|l| std::iter::once(l.h.clone()).chain(l.c.clone())).collect()
    }

    /// The state whose [`RecurrentState::tensors`] are `tensors`, for layers of `cell`.
    pub fn from_tensors(cell: CellKind, tensors: Vec<Tensor<2>>) -> Self {
        let mut it = tensors.into_iter();
        let mut layers = Vec::new();
        while let Some(h) = it.next() {
            let c = (cell == CellKind::Lstm).then(|| it.next().expect("an LSTM layer has h and c"));
            layers.push(LayerState { h, c });
        }
        Self { layers }
    }
}

impl Recurrent {
    /// A `cell` layer from `input` to `hidden` units with the given row-major
    /// weights `wx [input, G·H]`, `wh [H, G·H]`, `b [G·H]`.
    pub fn init_with(
        cell: CellKind,
        input: usize,
        hidden: usize,
        wx: &[f32],
        wh: &[f32],
        b: &[f32],
        device: &Device,
    ) -> Recurrent {
        match cell {
            CellKind::Rnn => {
                Recurrent::Rnn(TimeRnn { cell: RnnCellConfig::new(input, hidden).init_with(wx, wh, b, device) })
            }
            CellKind::Lstm => {
                Recurrent::Lstm(TimeLstm { cell: LstmCellConfig::new(input, hidden).init_with(wx, wh, b, device) })
            }
            CellKind::Gru => {
                Recurrent::Gru(TimeGru { cell: GruCellConfig::new(input, hidden).init_with(wx, wh, b, device) })
            }
        }
    }

    /// Runs the layer over `xs [N, T, D]` from `state` (zeros when `None`);
    /// returns `hs [N, T, H]` and the state after the last step.
    pub fn forward(&self, xs: Tensor<3>, state: Option<LayerState>) -> (Tensor<3>, LayerState) {
        match self {
            Recurrent::Rnn(layer) => {
                let (hs, h) = layer.forward(xs, state.map(|s| s.h));
                (hs, LayerState { h, c: None })
            }
            Recurrent::Gru(layer) => {
                let (hs, h) = layer.forward(xs, state.map(|s| s.h));
                (hs, LayerState { h, c: None })
            }
            Recurrent::Lstm(layer) => {
                let state = state.map(|s| LstmState { h: s.h, c: s.c.expect("an LSTM state has a cell state") });
                let (hs, s) = layer.forward(xs, state);
                (hs, LayerState { h: s.h, c: Some(s.c) })
            }
        }
    }

    /// The layer's `Wx`, `Wh` and `b`.
    pub fn params(&self) -> (&Param<Tensor<2>>, &Param<Tensor<2>>, &Param<Tensor<1>>) {
        match self {
            Recurrent::Rnn(l) => (&l.cell.wx, &l.cell.wh, &l.cell.b),
            Recurrent::Lstm(l) => (&l.cell.wx, &l.cell.wh, &l.cell.b),
            Recurrent::Gru(l) => (&l.cell.wx, &l.cell.wh, &l.cell.b),
        }
    }
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

    /// The book's initialisation, drawn from the device's generator.
    ///
    /// Use [`RnnlmConfig::init_with`] with [`RnnlmWeights::book_init`] for
    /// weights that are the same on every backend.
    pub fn init(&self, device: &Device) -> Rnnlm {
        let a = self.architecture();
        let (v, d, h) = (a.vocab_size, a.wordvec_size, a.hidden_size);
        let layers = (0..a.layers)
            .map(|k| {
                let input = a.layer_input(k);
                match a.cell {
                    CellKind::Rnn => Recurrent::Rnn(TimeRnn { cell: RnnCellConfig::new(input, h).init(device) }),
                    CellKind::Lstm => Recurrent::Lstm(TimeLstm { cell: LstmCellConfig::new(input, h).init(device) }),
                    CellKind::Gru => Recurrent::Gru(TimeGru { cell: GruCellConfig::new(input, h).init(device) }),
                }
            })
            .collect();
        Rnnlm {
            embed: Embedding { weight: randn([v, d], 100.0, device) },
            layers,
            affine_w: (!a.tied).then(|| randn([h, v], (h as f64).sqrt(), device)),
            affine_b: Param::from_tensor(Tensor::zeros([v], device)),
            dropout: self.dropout,
        }
    }

    /// The model with the given weights, which must match this configuration.
    pub fn init_with(&self, w: &RnnlmWeights, device: &Device) -> Result<Rnnlm, String> {
        let a = self.architecture();
        if w.arch != a {
            return Err(format!("the weights are for {:?}, the configuration is {:?}", w.arch, a));
        }
        if !(0.0..1.0).contains(&self.dropout) {
            return Err(format!("the dropout ratio must be in [0, 1), not {}", self.dropout));
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
        })
    }
}

impl Rnnlm {
    /// The architecture this model was built with.
    pub fn architecture(&self) -> Architecture {
        let cell = match self.layers.first().expect("at least one layer") {
            Recurrent::Rnn(_) => CellKind::Rnn,
            Recurrent::Lstm(_) => CellKind::Lstm,
            Recurrent::Gru(_) => CellKind::Gru,
        };
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
    fn forward_hidden(
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
        let mut x = self.embed.forward(xs); // [N, T, D]
        let mut out_states = Vec::with_capacity(self.layers.len());
        for layer in &self.layers {
            x = self.dropout(x, next_mask());
            let (hs, s) = layer.forward(x, states.as_mut().and_then(|s| s.next()));
            out_states.push(s);
            x = hs; // [N, T, H]
        }
        (self.dropout(x, next_mask()), RecurrentState { layers: out_states })
    }

    /// The affine layer's weight `[H, V]`.
    fn affine_weight(&self) -> Tensor<2> {
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
    /// `TimeSoftmaxWithLoss`).
    ///
    /// - `xs`, `ts`: inputs and targets `[N, T]`; `state`: as [`Rnnlm::forward_logits`];
    /// - returns the loss `[1]` and the state after the last step.
    pub fn forward(
        &self,
        xs: Tensor<2, Int>,
        ts: Tensor<2, Int>,
        state: Option<RecurrentState>,
    ) -> (Tensor<1>, RecurrentState) {
        let (logits, state) = self.forward_logits(xs, state);
        (softmax_with_loss(logits, ts), state)
    }

    /// [`Rnnlm::forward`] with the dropout masks given.
    pub fn forward_masked(
        &self,
        xs: Tensor<2, Int>,
        ts: Tensor<2, Int>,
        state: Option<RecurrentState>,
        masks: Vec<Tensor<3>>,
    ) -> (Tensor<1>, RecurrentState) {
        let (logits, state) = self.forward_logits_masked(xs, state, Some(masks));
        (softmax_with_loss(logits, ts), state)
    }

    /// A training step's loss and gradients, as `forward` then `backward`
    /// give them, computed faster: the affine layer and the loss by hand
    /// ([`super::head`]), so that the `[N·T, V]` scores never enter the
    /// graph; RNN layers without dropout by hand too (the book's backward,
    /// [`TimeRnn::backward`]), LSTM and GRU layers through Burn's autodiff.
    /// Autodiff's layers receive `dh` as the gradient of `Σ h·dh` (`dh` held
    /// constant); `dW` and `db` go to the optimizer directly (with weight
    /// tying, `dWᵀ` is added to the embedding's gradient, the book's
    /// `remove_duplicate`).
    ///
    /// - `xs`, `ts`: inputs and targets `[N, T]`; `state`, `masks`: as
    ///   [`Rnnlm::forward_logits_masked`];
    /// - returns the loss, the gradients of every parameter, and the state
    ///   after the last step.
    pub fn loss_and_gradients(
        &self,
        xs: Tensor<2, Int>,
        ts: Tensor<2, Int>,
        state: Option<RecurrentState>,
        masks: Option<Vec<Tensor<3>>>,
    ) -> (f64, GradientsParams, RecurrentState) {
        if self.dropout == 0.0 && self.layers.iter().all(|l| matches!(l, Recurrent::Rnn(_))) {
            return self.rnn_loss_and_gradients(xs, ts, state);
        }
        let (h, state) = self.forward_hidden(xs, state, masks);
        let [n, t, hidden] = h.dims();
        let h = h.reshape([n * t, hidden]); // [N·T, H]
        let head = head::affine_softmax_with_loss(
            h.clone().inner(),
            self.affine_weight().inner(),
            self.affine_b.val().inner(),
            ts.reshape([n * t]).inner(),
        );
        let dh = Tensor::from_inner(head.dh); // a constant in the graph
        let mut grads = GradientsParams::from_grads((h * dh).sum().backward(), self);
        self.register_head_grads(&mut grads, head.dw, head.db);
        (head.loss, grads, state)
    }

    /// Hands the affine layer's `dW` `[H, V]` and `db` `[V]` to `grads`. With
    /// weight tying, `dWᵀ` is added to the embedding's gradient already there
    /// (the book's `remove_duplicate`).
    fn register_head_grads(&self, grads: &mut GradientsParams, dw: Tensor<2>, db: Tensor<1>) {
        match &self.affine_w {
            Some(w) => grads.register(w.id, dw),
            None => {
                let id = self.embed.weight.id;
                let dw_t = dw.transpose(); // [V, D]
                let sum = match grads.remove::<2>(id) {
                    Some(g) => g + dw_t,
                    None => dw_t,
                };
                grads.register(id, sum);
            }
        }
        grads.register(self.affine_b.id, db);
    }

    /// [`Rnnlm::loss_and_gradients`] for chapter 5's model (RNN layers, no
    /// dropout) with no graph at all: every layer's backward is the book's,
    /// written with tensor ops. Autodiff would record each of the T steps'
    /// products and element-wise ops and add up T partial gradients of `Wh`;
    /// the book's `TimeRNN.backward` ([`TimeRnn::backward`]) sums them in one
    /// product, and the embedding's backward adds `dx` into the rows of the
    /// words seen (the book's `Embedding.backward`, `np.add.at`).
    fn rnn_loss_and_gradients(
        &self,
        xs: Tensor<2, Int>,
        ts: Tensor<2, Int>,
        state: Option<RecurrentState>,
    ) -> (f64, GradientsParams, RecurrentState) {
        let [n, t] = xs.dims();
        let ids = xs.inner();
        let embed_w = self.embed.weight.val().inner(); // [V, D]
        let [v, d] = embed_w.dims();
        let mut x = embedding(embed_w.clone(), ids.clone()); // [N, T, D]
        let mut states = state.map(|s| s.layers.into_iter());
        let (mut caches, mut out_states) = (Vec::new(), Vec::new());
        for layer in &self.layers {
            let Recurrent::Rnn(rnn) = layer else { unreachable!("RNN layers only") };
            let (hs, h, cache) = rnn.forward_keep(x, states.as_mut().and_then(|s| s.next()).map(|s| s.h));
            caches.push((rnn, cache));
            // Handed on as a constant: truncated BPTT cuts the state's history
            // at the batch boundary anyway.
            out_states.push(LayerState { h: Tensor::from_inner(h), c: None });
            x = hs; // [N, T, H]
        }
        let hidden = x.dims()[2];
        let head = head::affine_softmax_with_loss(
            x.reshape([n * t, hidden]),
            self.affine_weight().inner(),
            self.affine_b.val().inner(),
            ts.reshape([n * t]).inner(),
        );
        let mut grads = GradientsParams::new();
        let mut dx = head.dh.reshape([n, t, hidden]); // [N, T, H]
        for (rnn, cache) in caches.into_iter().rev() {
            let g = rnn.backward(cache, dx);
            grads.register(rnn.cell.wx.id, g.wx);
            grads.register(rnn.cell.wh.id, g.wh);
            grads.register(rnn.cell.b.id, g.b);
            dx = g.dxs; // the gradient of the layer's input: the layer below's output
        }
        let rows = Tensor::<2>::zeros([v, d], &embed_w.device());
        let d_embed = rows.select_assign(0, ids.reshape([n * t]), dx.reshape([n * t, d]), IndexingUpdateOp::Add);
        grads.register(self.embed.weight.id, d_embed);
        self.register_head_grads(&mut grads, head.dw, head.db);
        (head.loss, grads, RecurrentState { layers: out_states })
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
    let keep = keep.unwrap_or_else(|| xs.random_like(Distribution::Bernoulli(1.0 - ratio)));
    xs * keep * (1.0 / (1.0 - ratio))
}

/// A parameter of the model, of either rank.
pub enum ParamRef<'a> {
    Matrix(&'a Param<Tensor<2>>),
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

    /// The gradient in `grads` (a training step's, per parameter), read back
    /// to the host (`None` if it has none).
    pub fn grad_in(&self, grads: &GradientsParams) -> Option<Vec<f32>> {
        match self {
            ParamRef::Matrix(p) => grads.get::<2>(p.id).map(|g| g.try_into_vec_as::<f32>()),
            ParamRef::Vector(p) => grads.get::<1>(p.id).map(|g| g.try_into_vec_as::<f32>()),
        }
        .map(|r| r.expect("readable gradient"))
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

/// The book's models, by name (`--model`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum ModelKind {
    /// Chapter 5's SimpleRnnlm: one RNN layer.
    Rnn,
    /// Chapter 6's Rnnlm: one LSTM layer.
    Lstm,
    /// Rnnlm with a GRU layer instead.
    Gru,
    /// Chapter 6's BetterRnnlm: two LSTM layers, dropout, affine tied to the embedding.
    BetterLstm,
}

impl ModelKind {
    /// Every model, in the book's order.
    pub const ALL: [ModelKind; 4] = [ModelKind::Rnn, ModelKind::Lstm, ModelKind::Gru, ModelKind::BetterLstm];

    /// The recurrent layer.
    pub fn cell(self) -> CellKind {
        match self {
            ModelKind::Rnn => CellKind::Rnn,
            ModelKind::Lstm | ModelKind::BetterLstm => CellKind::Lstm,
            ModelKind::Gru => CellKind::Gru,
        }
    }

    /// Which of the book's models has these parameters, if any.
    pub fn of(a: Architecture) -> Option<ModelKind> {
        ModelKind::ALL.into_iter().find(|k| {
            let c = k.config(a.vocab_size, a.wordvec_size, a.hidden_size, 0.0);
            (c.cell, c.layers, c.tied) == (a.cell, a.layers, a.tied)
        })
    }

    /// The book's class name.
    pub fn book_name(self) -> &'static str {
        match self {
            ModelKind::Rnn => "SimpleRnnlm",
            ModelKind::Lstm => "Rnnlm",
            ModelKind::Gru => "Rnnlm (GRU)",
            ModelKind::BetterLstm => "BetterRnnlm",
        }
    }

    /// The configuration of this model at the given sizes; `dropout` is used
    /// by BetterRnnlm only (the others have none).
    pub fn config(self, vocab_size: usize, wordvec_size: usize, hidden_size: usize, dropout: f64) -> RnnlmConfig {
        let c = RnnlmConfig::new(vocab_size)
            .with_cell(self.cell())
            .with_wordvec_size(wordvec_size)
            .with_hidden_size(hidden_size);
        match self {
            ModelKind::BetterLstm => c.with_layers(2).with_tied(true).with_dropout(dropout),
            _ => c,
        }
    }
}

impl std::fmt::Display for ModelKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        use clap::ValueEnum;
        f.write_str(self.to_possible_value().expect("no skipped variants").get_name())
    }
}
