//! The book's RNN layer: one step `h' = tanh(h·Wh + x·Wx + b)` (`RnnCell`) and
//! the step unrolled over T time steps (`TimeRnn`); beside the step, the
//! book's `RNN.backward` of it, which the layer's autodiff node runs.

use burn::config::Config;
use burn::module::{Module, Param};
use burn::tensor::{Device, Tensor};

use super::cell::{self, Cell, Weights};
use super::{book_normal, param};
use crate::cpu::{matmul, tanh};

/// Configuration of one RNN step.
#[derive(Config, Debug)]
pub struct RnnCellConfig {
    /// D: size of the input vector.
    pub input_size: usize,
    /// H: size of the hidden state.
    pub hidden_size: usize,
}

/// One RNN step with the book's parameters: `Wx [D,H]`, `Wh [H,H]` and a single
/// bias `b [H]` (burn-nn's `Rnn` has two biases; the book has one).
#[derive(Module, Debug)]
pub struct RnnCell {
    /// Input-to-hidden weights, `[D, H]`.
    pub wx: Param<Tensor<2>>,
    /// Hidden-to-hidden weights, `[H, H]`.
    pub wh: Param<Tensor<2>>,
    /// Bias, `[H]`.
    pub b: Param<Tensor<1>>,
}

impl RnnCellConfig {
    /// The book's initialisation: Wx ~ N(0,1)/√D, Wh ~ N(0,1)/√H, b = 0.
    pub fn init(&self, device: &Device) -> RnnCell {
        let (d, h) = (self.input_size, self.hidden_size);
        RnnCell {
            wx: book_normal([d, h], d, device),
            wh: book_normal([h, h], h, device),
            b: Param::from_tensor(Tensor::zeros([h], device)),
        }
    }

    /// A cell with the given weights (row-major `wx [D,H]`, `wh [H,H]`, `b [H]`).
    pub fn init_with(&self, wx: &[f32], wh: &[f32], b: &[f32], device: &Device) -> RnnCell {
        let (d, h) = (self.input_size, self.hidden_size);
        RnnCell { wx: param(wx, [d, h], device), wh: param(wh, [h, h], device), b: param(b, [h], device) }
    }
}

impl RnnCell {
    /// `h_next = tanh(h_prev·Wh + x·Wx + b)`.
    ///
    /// - `x`: `[N, D]`, `h_prev`: `[N, H]`; returns `[N, H]`.
    pub fn forward(&self, x: Tensor<2>, h_prev: Tensor<2>) -> Tensor<2> {
        self.step(matmul(x, self.wx.val()), h_prev)
    }

    /// The step with `x·Wx` already computed (`xw`: `[N, H]`). `TimeRnn` projects
    /// all T inputs in one matrix product, which is the same arithmetic, batched.
    pub fn step(&self, xw: Tensor<2>, h_prev: Tensor<2>) -> Tensor<2> {
        step(xw, h_prev, self.wh.val(), self.b.val())
    }

    /// H: the size of the hidden state.
    pub fn hidden_size(&self) -> usize {
        self.wh.dims()[0]
    }
}

/// What one RNN step keeps for its backward: the state before it and after.
pub struct RnnCache {
    h_prev: Tensor<2>,
    h: Tensor<2>,
}

impl Cell for RnnCell {
    type State = Tensor<2>; // h [N, H]
    type Cache = RnnCache;

    fn params(&self) -> (&Param<Tensor<2>>, &Param<Tensor<2>>, &Param<Tensor<1>>) {
        (&self.wx, &self.wh, &self.b)
    }

    fn zeros(n: usize, hidden: usize, device: &Device) -> Tensor<2> {
        crate::cpu::zeros([n, hidden], device)
    }

    fn split(h: Tensor<2>) -> (Tensor<2>, Option<Tensor<2>>) {
        (h, None)
    }

    fn join(h: Tensor<2>, _: Option<Tensor<2>>) -> Tensor<2> {
        h
    }

    fn step(&self, xw: Tensor<2>, h_prev: Tensor<2>) -> Tensor<2> {
        RnnCell::step(self, xw, h_prev)
    }

    fn output(h: &Tensor<2>) -> Tensor<2> {
        h.clone()
    }

    fn step_keep(w: &Weights, xw: Tensor<2>, h_prev: Tensor<2>) -> (Tensor<2>, RnnCache) {
        let h = step(xw, h_prev.clone(), w.wh_step.clone(), w.b.clone());
        (h.clone(), RnnCache { h_prev, h })
    }

    /// The book's `RNN.backward`: `dt = dh ⊙ (1 − h²)` (tanh's derivative
    /// from its output), `dh_prev = dt·Whᵀ`.
    fn step_backward(wh_back: &Tensor<2>, cache: &RnnCache, dh: Tensor<2>) -> (Tensor<2>, Tensor<2>) {
        let y = cache.h.clone();
        let dt = dh * (y.clone() * y).neg().add_scalar(1.0); // [N, H]
        (dt.clone(), matmul(dt, wh_back.clone()))
    }

    fn add_output_grad(dh_next: Tensor<2>, dh: Tensor<2>) -> Tensor<2> {
        dh + dh_next
    }

    fn wh_grad(caches: &[RnnCache], dt: Tensor<2>) -> Tensor<2> {
        matmul(cell::rows(caches.iter().map(|k| k.h_prev.clone()).collect()).transpose(), dt)
    }
}

/// The RNN cell unrolled over T steps, sharing one set of weights.
#[derive(Module, Debug)]
pub struct TimeRnn {
    /// The cell applied at every step.
    pub cell: RnnCell,
}

/// `tanh(h_prev·Wh + xw + b)`: the cell's formula, on the weights given
/// (tracked by autodiff or not).
fn step(xw: Tensor<2>, h_prev: Tensor<2>, wh: Tensor<2>, b: Tensor<1>) -> Tensor<2> {
    tanh(matmul(h_prev, wh) + xw + b.unsqueeze_dim::<2>(0)) // b: [1, H], broadcast over N
}

impl TimeRnn {
    /// Runs the cell over every time step, as one autodiff node whose
    /// backward is the book's `TimeRNN.backward`.
    ///
    /// - `xs`: `[N, T, D]`;
    /// - `h0`: the state before step 0, `[N, H]`, or `None` for zeros;
    /// - returns all hidden states `[N, T, H]` and the last one `[N, H]`.
    ///
    /// Gradients flow into `h0` if it is part of a graph: a caller carrying the
    /// state between batches detaches it first (truncated BPTT).
    pub fn forward(&self, xs: Tensor<3>, h0: Option<Tensor<2>>) -> (Tensor<3>, Tensor<2>) {
        cell::time_node(&self.cell, xs, h0)
    }

    /// [`TimeRnn::forward`] with every step's tensor ops recorded by
    /// autodiff one by one: the plain path `check` compares against.
    pub fn forward_op_by_op(&self, xs: Tensor<3>, h0: Option<Tensor<2>>) -> (Tensor<3>, Tensor<2>) {
        cell::time_forward(&self.cell, xs, h0)
    }
}
