//! A recurrent layer of the language model, whichever its cell, and what it
//! carries from one batch to the next: the one place that matches on the cell.

use burn::module::{Module, Param};
use burn::tensor::{Device, Tensor};

use super::cell::{self, Cell, TimeCache};
use super::{
    GruCell, GruCellConfig, LstmCell, LstmCellConfig, LstmState, RnnCell, RnnCellConfig, TimeGru, TimeLstm, TimeRnn,
};
use crate::arch::CellKind;

/// One time-unrolled recurrent layer.
#[derive(Module, Debug)]
pub enum Recurrent {
    Rnn(TimeRnn),
    Lstm(TimeLstm),
    Gru(TimeGru),
}

/// What [`Recurrent::forward_keep`] keeps for [`Recurrent::backward`].
pub enum LayerCache {
    Rnn(TimeCache<RnnCell>),
    Lstm(TimeCache<LstmCell>),
    Gru(TimeCache<GruCell>),
}

/// The gradients of a layer's input `dxs [N, T, D]` and of its `Wx`, `Wh`, `b`.
pub struct LayerGrads {
    pub dxs: Tensor<3>,
    pub wx: Tensor<2>,
    pub wh: Tensor<2>,
    pub b: Tensor<1>,
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
    /// A `cell` layer from `input` to `hidden` units with the book's random
    /// initialisation, drawn from the device's generator.
    pub fn init(cell: CellKind, input: usize, hidden: usize, device: &Device) -> Recurrent {
        match cell {
            CellKind::Rnn => Recurrent::Rnn(TimeRnn { cell: RnnCellConfig::new(input, hidden).init(device) }),
            CellKind::Lstm => Recurrent::Lstm(TimeLstm { cell: LstmCellConfig::new(input, hidden).init(device) }),
            CellKind::Gru => Recurrent::Gru(TimeGru { cell: GruCellConfig::new(input, hidden).init(device) }),
        }
    }

    /// The kind of cell.
    pub fn cell(&self) -> CellKind {
        match self {
            Recurrent::Rnn(_) => CellKind::Rnn,
            Recurrent::Lstm(_) => CellKind::Lstm,
            Recurrent::Gru(_) => CellKind::Gru,
        }
    }

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

    /// [`Recurrent::forward`] outside any graph, keeping what
    /// [`Recurrent::backward`] needs (the book's `Time*.forward`).
    pub fn forward_keep(&self, xs: Tensor<3>, state: Option<LayerState>) -> (Tensor<3>, LayerState, LayerCache) {
        match self {
            Recurrent::Rnn(layer) => {
                let (hs, h, cache) = cell::time_forward_keep(&layer.cell, xs, state.map(|s| s.h));
                (hs, LayerState { h, c: None }, LayerCache::Rnn(cache))
            }
            Recurrent::Gru(layer) => {
                let (hs, h, cache) = cell::time_forward_keep(&layer.cell, xs, state.map(|s| s.h));
                (hs, LayerState { h, c: None }, LayerCache::Gru(cache))
            }
            Recurrent::Lstm(layer) => {
                let state = state.map(|s| LstmState { h: s.h, c: s.c.expect("an LSTM state has a cell state") });
                let (hs, s, cache) = cell::time_forward_keep(&layer.cell, xs, state);
                (hs, LayerState { h: s.h, c: Some(s.c) }, LayerCache::Lstm(cache))
            }
        }
    }

    /// The book's `Time*.backward` of the layer: from the gradients of its
    /// outputs `dhs [N, T, H]`, those of its input `[N, T, D]` and its weights.
    pub fn backward(&self, cache: LayerCache, dhs: Tensor<3>) -> LayerGrads {
        let (dxs, wx, wh, b) = match (self, cache) {
            (Recurrent::Rnn(l), LayerCache::Rnn(k)) => cell::time_backward(&l.cell, k, dhs).into_parts(),
            (Recurrent::Lstm(l), LayerCache::Lstm(k)) => cell::time_backward(&l.cell, k, dhs).into_parts(),
            (Recurrent::Gru(l), LayerCache::Gru(k)) => cell::time_backward(&l.cell, k, dhs).into_parts(),
            _ => unreachable!("a layer's cache comes from its own forward_keep"),
        };
        LayerGrads { dxs, wx, wh, b }
    }

    /// The layer's `Wx`, `Wh` and `b`.
    pub fn params(&self) -> (&Param<Tensor<2>>, &Param<Tensor<2>>, &Param<Tensor<1>>) {
        match self {
            Recurrent::Rnn(l) => l.cell.params(),
            Recurrent::Lstm(l) => l.cell.params(),
            Recurrent::Gru(l) => l.cell.params(),
        }
    }
}
