use ndarray::{Array1, Array2, Array3, ArrayD};

use super::Real;
use super::cell::CellParams;
use super::gru::TimeGru;
use super::layers::{TimeAffine, TimeDropout, TimeEmbedding, TimeSoftmaxWithLoss};
use super::lstm::TimeLstm;
use super::rnn::TimeRnn;
use crate::arch::{Architecture, CellKind};
use crate::weights::RnnlmWeights;

pub(super) fn array2<F: Real>(values: &[f32], rows: usize, cols: usize) -> Array2<F> {
    Array2::from_shape_vec((rows, cols), values.iter().map(|&x| F::from_f32(x).expect("finite")).collect())
        .expect("shape checked by validate")
}

pub(super) fn array1<F: Real>(values: &[f32]) -> Array1<F> {
    values.iter().map(|&x| F::from_f32(x).expect("finite")).collect()
}

/// One of the book's stateful Time layers.
pub enum TimeRecurrent<F: Real> {
    /// `TimeRNN`.
    Rnn(TimeRnn<F>),
    /// `TimeLSTM`.
    Lstm(TimeLstm<F>),
    /// `TimeGRU`.
    Gru(TimeGru<F>),
}

impl<F: Real> TimeRecurrent<F> {
    /// A stateful `cell` layer with the given parameters.
    pub fn new(cell: CellKind, params: CellParams<F>) -> Self {
        match cell {
            CellKind::Rnn => Self::Rnn(TimeRnn::new(params, true)),
            CellKind::Lstm => Self::Lstm(TimeLstm::new(params, true)),
            CellKind::Gru => Self::Gru(TimeGru::new(params, true)),
        }
    }

    /// `[N, T, D]` → `[N, T, H]`, keeping what the backward needs.
    pub fn forward(&mut self, xs: &Array3<F>) -> Array3<F> {
        match self {
            Self::Rnn(l) => l.forward(xs),
            Self::Lstm(l) => l.forward(xs),
            Self::Gru(l) => l.forward(xs),
        }
    }

    /// The gradient of the inputs from that of the outputs, `[N, T, H]` → `[N, T, D]`; the parameters' gradients kept in the layer.
    pub fn backward(&mut self, dhs: &Array3<F>) -> Array3<F> {
        match self {
            Self::Rnn(l) => l.backward(dhs),
            Self::Lstm(l) => l.backward(dhs),
            Self::Gru(l) => l.backward(dhs),
        }
    }

    /// Starts the next forward from zeros.
    pub fn reset_state(&mut self) {
        match self {
            Self::Rnn(l) => l.reset_state(),
            Self::Lstm(l) => l.reset_state(),
            Self::Gru(l) => l.reset_state(),
        }
    }

    /// The carried state: `[h]`, or `[h, c]` for an LSTM (`None` before any forward).
    pub fn state(&self) -> Option<Vec<Array2<F>>> {
        match self {
            Self::Rnn(l) => l.h.clone().map(|h| vec![h]),
            Self::Gru(l) => l.h.clone().map(|h| vec![h]),
            Self::Lstm(l) => l.h.clone().zip(l.c.clone()).map(|(h, c)| vec![h, c]),
        }
    }

    /// The gradient with respect to the state the last forward started from:
    /// `[dh]`, or `[dh, dc]` for an LSTM (`None` before any backward).
    pub fn dstate(&self) -> Option<Vec<Array2<F>>> {
        match self {
            Self::Rnn(l) => l.dh.clone().map(|dh| vec![dh]),
            Self::Gru(l) => l.dh.clone().map(|dh| vec![dh]),
            Self::Lstm(l) => l.dh.clone().zip(l.dc.clone()).map(|(dh, dc)| vec![dh, dc]),
        }
    }

    /// Puts a state back (as returned by [`TimeRecurrent::state`]).
    pub fn set_state(&mut self, state: Option<Vec<Array2<F>>>) {
        match (self, state) {
            (Self::Rnn(l), Some(mut s)) => l.set_state(s.remove(0)),
            (Self::Gru(l), Some(mut s)) => l.set_state(s.remove(0)),
            (Self::Lstm(l), Some(mut s)) => {
                let c = s.pop().expect("h and c");
                l.set_state(s.pop().expect("h and c"), c)
            }
            (layer, None) => layer.reset_state(),
        }
    }

    /// The layer's parameters.
    pub fn params(&self) -> &CellParams<F> {
        match self {
            Self::Rnn(l) => &l.params,
            Self::Lstm(l) => &l.params,
            Self::Gru(l) => &l.params,
        }
    }

    /// The layer's parameters, to update.
    pub fn params_mut(&mut self) -> &mut CellParams<F> {
        match self {
            Self::Rnn(l) => &mut l.params,
            Self::Lstm(l) => &mut l.params,
            Self::Gru(l) => &mut l.params,
        }
    }

    /// The gradients of `Wx`, `Wh` and `b` from the last backward.
    pub fn grads(&self) -> [ArrayD<F>; 3] {
        let g = match self {
            Self::Rnn(l) => &l.grads,
            Self::Lstm(l) => &l.grads,
            Self::Gru(l) => &l.grads,
        };
        [g.wx.clone().into_dyn(), g.wh.clone().into_dyn(), g.b.clone().into_dyn()]
    }
}

/// The book's language models, written as the book writes them (a list of
/// layers, each with its forward and backward):
/// TimeEmbedding → (TimeDropout → Time{RNN,LSTM,GRU}, stateful) × layers →
/// TimeDropout → TimeAffine → TimeSoftmaxWithLoss. `SimpleRnnlm` is one RNN
/// layer without dropout; `Rnnlm` one LSTM; `BetterRnnlm` two LSTMs, dropout
/// and the affine weight tied to the embedding.
pub struct Rnnlm<F: Real> {
    /// The model's sizes and cell.
    pub arch: Architecture,
    /// The first layer.
    pub embed: TimeEmbedding<F>,
    /// Before each recurrent layer and before the affine layer; empty without dropout.
    pub dropouts: Vec<TimeDropout<F>>,
    /// The recurrent layers, bottom first.
    pub layers: Vec<TimeRecurrent<F>>,
    /// When tied, its `w` is a copy of the embedding matrix transposed, made
    /// before every forward (NumPy shares the memory; `embed_W.T` is a view).
    pub affine: TimeAffine<F>,
    /// The loss.
    pub loss_layer: TimeSoftmaxWithLoss<F>,
    /// Dropout is applied only in training (the book's `train_flg`).
    pub train: bool,
}

impl<F: Real> Rnnlm<F> {
    /// The model with the given weights and stateful recurrent layers, as in
    /// the book; `dropout` is the ratio of every TimeDropout (0: none), whose
    /// random masks come from `seed` unless set with [`Rnnlm::set_next_masks`].
    pub fn from_weights(w: &RnnlmWeights, dropout: f64, seed: u64) -> crate::Result<Self> {
        w.validate()?;
        let a = w.arch;
        let (v, d, h, g) = (a.vocab_size, a.wordvec_size, a.hidden_size, a.cell.gates());
        let layers = (0..a.layers)
            .map(|k| {
                let name = a.layer_name(k);
                let params = CellParams {
                    wx: array2(w.get(&format!("{name}.Wx")), a.layer_input(k), g * h),
                    wh: array2(w.get(&format!("{name}.Wh")), h, g * h),
                    b: array1(w.get(&format!("{name}.b"))),
                };
                TimeRecurrent::new(a.cell, params)
            })
            .collect();
        let embed_w = array2(w.get("embed.W"), v, d);
        let affine_w = if a.tied { embed_w.t().to_owned() } else { array2(w.get("affine.W"), h, v) };
        let dropouts = match dropout {
            0.0 => Vec::new(),
            r => (0..=a.layers).map(|k| TimeDropout::new(r, seed + k as u64)).collect(),
        };
        Ok(Self {
            arch: a,
            embed: TimeEmbedding::new(embed_w),
            dropouts,
            layers,
            affine: TimeAffine::new(affine_w, array1(w.get("affine.b"))),
            loss_layer: TimeSoftmaxWithLoss::default(),
            train: true,
        })
    }

    /// Fixes the masks of the next training forward: one `[N, T, ·]` keep-mask
    /// per dropout site, bottom first.
    pub fn set_next_masks(&mut self, keep: Vec<Array3<bool>>) {
        assert_eq!(keep.len(), self.dropouts.len(), "a mask per dropout site");
        for (d, k) in self.dropouts.iter_mut().zip(keep) {
            d.set_next_keep(k);
        }
    }

    /// Scores `[N, T, V]`.
    pub fn predict(&mut self, xs: &Array2<usize>) -> Array3<F> {
        if self.arch.tied {
            self.affine.w = self.embed.embed.w.t().to_owned();
        }
        let train = self.train;
        for d in &mut self.dropouts {
            d.train = train;
        }
        let mut x = self.embed.forward(xs);
        for (k, layer) in self.layers.iter_mut().enumerate() {
            if let Some(d) = self.dropouts.get_mut(k) {
                x = d.forward(&x);
            }
            x = layer.forward(&x);
        }
        if let Some(d) = self.dropouts.last_mut() {
            x = d.forward(&x);
        }
        self.affine.forward(&x)
    }

    /// `xs`, `ts [N, T]` → mean loss.
    pub fn forward(&mut self, xs: &Array2<usize>, ts: &Array2<usize>) -> F {
        let scores = self.predict(xs);
        self.loss_layer.forward(&scores, ts)
    }

    /// Back-propagates `dout` (1 for the training loss) through every layer.
    pub fn backward(&mut self, dout: F) {
        let mut d = self.loss_layer.backward(dout);
        d = self.affine.backward(&d);
        let n = self.layers.len();
        if let Some(drop) = self.dropouts.last() {
            d = drop.backward(&d);
        }
        for k in (0..n).rev() {
            d = self.layers[k].backward(&d);
            if let Some(drop) = self.dropouts.get(k) {
                d = drop.backward(&d);
            }
        }
        self.embed.backward(&d);
    }

    /// Starts every layer's next forward from zeros.
    pub fn reset_state(&mut self) {
        for layer in &mut self.layers {
            layer.reset_state();
        }
    }

    /// Every layer's carried state, bottom first.
    pub fn state(&self) -> Vec<Option<Vec<Array2<F>>>> {
        self.layers.iter().map(TimeRecurrent::state).collect()
    }

    /// Puts back a state returned by [`Rnnlm::state`].
    pub fn set_state(&mut self, state: Vec<Option<Vec<Array2<F>>>>) {
        for (layer, s) in self.layers.iter_mut().zip(state) {
            layer.set_state(s);
        }
    }

    /// The gradients in the book's order ([`Architecture::params`]), after
    /// `remove_duplicate`: with tied weights, the affine layer's `dW` is added,
    /// transposed, to the embedding's.
    pub fn grads(&self) -> Vec<ArrayD<F>> {
        let mut embed_g = self.embed.embed.grad_w.clone();
        if self.arch.tied {
            embed_g += &self.affine.grad_w.t();
        }
        let mut g = vec![embed_g.into_dyn()];
        for layer in &self.layers {
            g.extend(layer.grads());
        }
        if !self.arch.tied {
            g.push(self.affine.grad_w.clone().into_dyn());
        }
        g.push(self.affine.grad_b.clone().into_dyn());
        g
    }

    /// Mutable views of the parameters, in the order of [`Rnnlm::grads`].
    pub fn params_mut(&mut self) -> Vec<ndarray::ArrayViewMutD<'_, F>> {
        let mut p = vec![self.embed.embed.w.view_mut().into_dyn()];
        for layer in &mut self.layers {
            let c = layer.params_mut();
            p.extend([c.wx.view_mut().into_dyn(), c.wh.view_mut().into_dyn(), c.b.view_mut().into_dyn()]);
        }
        if !self.arch.tied {
            p.push(self.affine.w.view_mut().into_dyn());
        }
        p.push(self.affine.b.view_mut().into_dyn());
        p
    }

    /// The parameters as plain `f32` arrays.
    pub fn weights(&mut self) -> RnnlmWeights {
        let arch = self.arch;
        let tensors =
            self.params_mut().into_iter().map(|a| a.iter().map(|x| x.to_f32().expect("finite")).collect()).collect();
        RnnlmWeights { arch, tensors }
    }

    /// One training step as the book's trainer does it: forward, backward,
    /// clip, update. Returns the loss before the update.
    pub fn train_step(
        &mut self,
        xs: &Array2<usize>,
        ts: &Array2<usize>,
        optimizer: &mut dyn super::Optimizer<F>,
        max_grad: Option<F>,
    ) -> F {
        self.train = true;
        let loss = self.forward(xs, ts);
        self.backward(F::one());
        let mut grads = self.grads();
        if let Some(max_norm) = max_grad {
            super::clip_grads(&mut grads, max_norm);
        }
        optimizer.update(&mut self.params_mut(), &grads);
        loss
    }
}
