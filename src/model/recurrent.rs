//! A recurrent layer of the language model, whichever its cell, and what it
//! carries from one batch to the next: the one place that matches on the cell.

use burn::module::{Module, Param};
use burn::tensor::{Device, Tensor};

use super::cell::Cell;
use super::{GruCellConfig, LstmCellConfig, LstmState, RnnCellConfig, TimeGru, TimeLstm, TimeRnn};
use crate::arch::CellKind;

/// One time-unrolled recurrent layer.
#[derive(Module, Debug)]
pub enum Recurrent {
    /// The RNN layer.
    Rnn(TimeRnn),
    /// The LSTM layer.
    Lstm(TimeLstm),
    /// The GRU layer.
    Gru(TimeGru),
}

/// How a layer's gradients are found.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Backprop {
    /// Each Time layer is one autodiff node whose backward is the book's
    /// (the layers' `forward`; training runs it).
    #[default]
    Book,
    /// Every step's tensor ops recorded by autodiff one by one (the layers'
    /// `forward_op_by_op`): the plain path `check` compares against.
    OpByOp,
}

/// What one recurrent layer carries from a batch to the next: the hidden
/// state `h` `[N, H]`, and for an LSTM its cell state `c`.
#[derive(Clone, Debug)]
pub struct LayerState {
    /// The hidden state, `[N, H]`.
    pub h: Tensor<2>,
    /// An LSTM's cell state, `[N, H]`; `None` for the other cells.
    pub c: Option<Tensor<2>>,
}

/// The state of every recurrent layer, bottom first.
#[derive(Clone, Debug)]
pub struct RecurrentState {
    /// Each layer's, bottom first.
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

    /// Runs the layer over `xs [N, T, D]` from `state` (zeros when `None`),
    /// its gradients found as `backprop` says; returns `hs [N, T, H]` and the
    /// state after the last step.
    pub fn forward(&self, xs: Tensor<3>, state: Option<LayerState>, backprop: Backprop) -> (Tensor<3>, LayerState) {
        let book = backprop == Backprop::Book;
        match self {
            Recurrent::Rnn(layer) => {
                let h0 = state.map(|s| s.h);
                let (hs, h) = if book { layer.forward(xs, h0) } else { layer.forward_op_by_op(xs, h0) };
                (hs, LayerState { h, c: None })
            }
            Recurrent::Gru(layer) => {
                let h0 = state.map(|s| s.h);
                let (hs, h) = if book { layer.forward(xs, h0) } else { layer.forward_op_by_op(xs, h0) };
                (hs, LayerState { h, c: None })
            }
            Recurrent::Lstm(layer) => {
                let state = state.map(|s| LstmState { h: s.h, c: s.c.expect("an LSTM state has a cell state") });
                let (hs, s) = if book { layer.forward(xs, state) } else { layer.forward_op_by_op(xs, state) };
                (hs, LayerState { h: s.h, c: Some(s.c) })
            }
        }
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
