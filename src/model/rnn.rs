//! The book's RNN layer: one step `h' = tanh(h·Wh + x·Wx + b)` (`RnnCell`) and
//! the step unrolled over T time steps (`TimeRnn`), with the book's
//! `TimeRNN.backward` for the training step ([`TimeRnn::backward`]).

use burn::config::Config;
use burn::module::{Module, Param};
use burn::tensor::{Device, Tensor};

use super::cell::{self, Cell};
use super::{param, randn};

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
            wx: randn([d, h], (d as f64).sqrt(), device),
            wh: randn([h, h], (h as f64).sqrt(), device),
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
        self.step(x.matmul(self.wx.val()), h_prev)
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

impl Cell for RnnCell {
    type State = Tensor<2>; // h [N, H]

    fn wx(&self) -> Tensor<2> {
        self.wx.val()
    }

    fn zero_state(&self, n: usize, device: &Device) -> Tensor<2> {
        Tensor::zeros([n, self.hidden_size()], device)
    }

    fn step(&self, xw: Tensor<2>, h_prev: Tensor<2>) -> Tensor<2> {
        RnnCell::step(self, xw, h_prev)
    }

    fn output(h: &Tensor<2>) -> Tensor<2> {
        h.clone()
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
    (h_prev.matmul(wh) + xw + b.unsqueeze_dim::<2>(0)).tanh() // b: [1, H], broadcast over N
}

/// What [`TimeRnn::forward_keep`] keeps for [`TimeRnn::backward`]: as the
/// book's `TimeRNN`, every step's input, previous state and output.
pub struct TimeRnnCache {
    /// The inputs `[N·T, D]`.
    xs: Tensor<2>,
    /// The state before each step `[N·T, H]` (`h0`, then the outputs but the last).
    h_prev: Tensor<2>,
    /// The outputs `[N, T, H]`.
    hs: Tensor<3>,
}

/// The gradients [`TimeRnn::backward`] returns.
pub struct TimeRnnGrads {
    /// Of the inputs, `[N, T, D]`.
    pub dxs: Tensor<3>,
    /// Of the state before step 0, `[N, H]` (dropped under truncated BPTT).
    pub dh0: Tensor<2>,
    /// Of `Wx` `[D, H]`, `Wh` `[H, H]` and `b` `[H]`.
    pub wx: Tensor<2>,
    pub wh: Tensor<2>,
    pub b: Tensor<1>,
}

impl TimeRnn {
    /// Runs the cell over every time step.
    ///
    /// - `xs`: `[N, T, D]`;
    /// - `h0`: the state before step 0, `[N, H]`, or `None` for zeros;
    /// - returns all hidden states `[N, T, H]` and the last one `[N, H]`.
    ///
    /// Gradients flow into `h0` if it is part of a graph: a caller carrying the
    /// state between batches detaches it first (truncated BPTT).
    pub fn forward(&self, xs: Tensor<3>, h0: Option<Tensor<2>>) -> (Tensor<3>, Tensor<2>) {
        cell::time_forward(&self.cell, xs, h0)
    }

    /// [`TimeRnn::forward`] outside any graph, keeping what
    /// [`TimeRnn::backward`] needs. Returns `hs [N, T, H]`, the last state
    /// `[N, H]` and the cache.
    pub fn forward_keep(&self, xs: Tensor<3>, h0: Option<Tensor<2>>) -> (Tensor<3>, Tensor<2>, TimeRnnCache) {
        let [n, t, d] = xs.dims();
        let h_size = self.cell.hidden_size();
        let xs = xs.inner();
        let h0 = h0.map(Tensor::inner).unwrap_or_else(|| Tensor::zeros([n, h_size], &xs.device()));
        let c = &self.cell;
        let (wh, b) = (c.wh.val().inner(), c.b.val().inner());
        // x·Wx for all N·T inputs in one product: [N·T, D] @ [D, H] -> [N, T, H]
        let xw = xs.clone().reshape([n * t, d]).matmul(c.wx.val().inner()).reshape([n, t, h_size]);
        let (hs, h) = cell::unroll(xw, h0.clone(), Clone::clone, |xw_t, h| step(xw_t, h, wh.clone(), b.clone()));
        // [h0, h_0 .. h_{T-2}]: the state each step started from
        let mut h_prev = vec![h0.unsqueeze_dim::<3>(1)];
        if t > 1 {
            h_prev.push(hs.clone().slice([0..n, 0..t - 1, 0..h_size]));
        }
        let h_prev = Tensor::cat(h_prev, 1);
        let cache =
            TimeRnnCache { xs: xs.reshape([n * t, d]), h_prev: h_prev.reshape([n * t, h_size]), hs: hs.clone() };
        (hs, h, cache)
    }

    /// The book's `TimeRNN.backward`: from the gradients of the outputs
    /// `dhs [N, T, H]`, back through the steps from the last to the first.
    /// At each step `dt = (dh_t + dh_next) ⊙ (1 − h_t²)` (tanh's derivative
    /// from its output) and `dh_next = dt·Whᵀ`. The weights' gradients sum
    /// over the steps; here that sum is one product over all N·T rows
    /// (`Σ_t h_prevᵀ·dt = H_prevᵀ·D`), the same arithmetic, batched.
    pub fn backward(&self, cache: TimeRnnCache, dhs: Tensor<3>) -> TimeRnnGrads {
        let [n, t, h] = dhs.dims();
        let wx = self.cell.wx.val().inner();
        let wh_t = self.cell.wh.val().inner().transpose(); // [H, H]
        let dhs = dhs.inner();
        let mut dh_next = Tensor::<2>::zeros([n, h], &dhs.device());
        let mut dts = Vec::with_capacity(t);
        for step in (0..t).rev() {
            let at = |x: &Tensor<3>| x.clone().slice([0..n, step..step + 1, 0..h]).reshape([n, h]);
            let y = at(&cache.hs); // this step's output
            let dt = (at(&dhs) + dh_next) * (y.clone() * y).neg().add_scalar(1.0); // [N, H]
            dh_next = dt.clone().matmul(wh_t.clone());
            dts.push(dt);
        }
        dts.reverse();
        let dt = Tensor::stack::<3>(dts, 1).reshape([n * t, h]); // [N·T, H]
        let d = wx.dims()[0];
        TimeRnnGrads {
            dxs: dt.clone().matmul(wx.transpose()).reshape([n, t, d]),
            dh0: dh_next,
            wx: cache.xs.transpose().matmul(dt.clone()),
            wh: cache.h_prev.transpose().matmul(dt.clone()),
            b: dt.sum_dim(0).reshape([h]),
        }
    }
}
