//! The book's LSTM layer: one step (`LstmCell`) and the step unrolled over T
//! time steps (`TimeLstm`), with the book's parameters.
//!
//! burn-nn's `Lstm` keeps one linear layer (two biases) per gate and another
//! gate order; the book packs the four gates f, g, i, o side by side in
//! `Wx [D, 4H]`, `Wh [H, 4H]` and a single `b [4H]`, which is what this module
//! holds, so that the book's weights (and its trained `Rnnlm.pkl`) load as they
//! are.

use burn::config::Config;
use burn::module::{Module, Param};
use burn::tensor::activation::sigmoid;
use burn::tensor::{Device, Tensor};

use super::cell::{self, Cell};
use super::{param, randn};

/// Configuration of one LSTM step.
#[derive(Config, Debug)]
pub struct LstmCellConfig {
    /// D: size of the input vector.
    pub input_size: usize,
    /// H: size of the hidden state (and of the cell state).
    pub hidden_size: usize,
}

/// One LSTM step: `Wx [D, 4H]`, `Wh [H, 4H]`, `b [4H]`, gates packed f, g, i, o.
#[derive(Module, Debug)]
pub struct LstmCell {
    /// Input-to-gates weights, `[D, 4H]`.
    pub wx: Param<Tensor<2>>,
    /// Hidden-to-gates weights, `[H, 4H]`.
    pub wh: Param<Tensor<2>>,
    /// Gate biases, `[4H]`.
    pub b: Param<Tensor<1>>,
}

/// The LSTM's state: the hidden state `h` (the layer's output) and the cell
/// state `c` (its memory), both `[N, H]`.
#[derive(Clone, Debug)]
pub struct LstmState {
    pub h: Tensor<2>,
    pub c: Tensor<2>,
}

impl LstmState {
    /// Zeros for a batch of `n`.
    pub fn zeros(n: usize, hidden_size: usize, device: &Device) -> Self {
        Self { h: Tensor::zeros([n, hidden_size], device), c: Tensor::zeros([n, hidden_size], device) }
    }

    /// The same values without their history (truncated BPTT carries the
    /// state, not the graph that made it).
    pub fn detach(self) -> Self {
        Self { h: self.h.detach(), c: self.c.detach() }
    }
}

impl LstmCellConfig {
    /// The book's initialisation (`ch06/rnnlm.py`): Wx ~ N(0,1)/√D,
    /// Wh ~ N(0,1)/√H, b = 0.
    pub fn init(&self, device: &Device) -> LstmCell {
        let (d, h) = (self.input_size, self.hidden_size);
        LstmCell {
            wx: randn([d, 4 * h], (d as f64).sqrt(), device),
            wh: randn([h, 4 * h], (h as f64).sqrt(), device),
            b: Param::from_tensor(Tensor::zeros([4 * h], device)),
        }
    }

    /// A cell with the given row-major weights `wx [D,4H]`, `wh [H,4H]`, `b [4H]`.
    pub fn init_with(&self, wx: &[f32], wh: &[f32], b: &[f32], device: &Device) -> LstmCell {
        let (d, h) = (self.input_size, self.hidden_size);
        LstmCell { wx: param(wx, [d, 4 * h], device), wh: param(wh, [h, 4 * h], device), b: param(b, [4 * h], device) }
    }
}

impl LstmCell {
    /// One step: `x [N, D]` and the state before → the state after.
    pub fn forward(&self, x: Tensor<2>, state: LstmState) -> LstmState {
        self.step(x.matmul(self.wx.val()), state)
    }

    /// The step with `x·Wx` already computed (`xw`: `[N, 4H]`).
    pub fn step(&self, xw: Tensor<2>, state: LstmState) -> LstmState {
        let [n, _] = xw.dims();
        let h = self.hidden_size();
        let b = self.b.val().unsqueeze_dim::<2>(0); // [1, 4H], broadcast over N
        let a = state.h.matmul(self.wh.val()) + xw + b; // [N, 4H]
        let gate = |k: usize| a.clone().slice([0..n, k * h..(k + 1) * h]); // [N, H]
        let f = sigmoid(gate(0)); // forget
        let g = gate(1).tanh(); // new memory
        let i = sigmoid(gate(2)); // input
        let o = sigmoid(gate(3)); // output
        let c = f * state.c + g * i;
        LstmState { h: o * c.clone().tanh(), c }
    }

    /// H: the size of the hidden state.
    pub fn hidden_size(&self) -> usize {
        self.wh.dims()[0]
    }
}

impl Cell for LstmCell {
    type State = LstmState;

    fn wx(&self) -> Tensor<2> {
        self.wx.val()
    }

    fn zero_state(&self, n: usize, device: &Device) -> LstmState {
        LstmState::zeros(n, self.hidden_size(), device)
    }

    fn step(&self, xw: Tensor<2>, state: LstmState) -> LstmState {
        LstmCell::step(self, xw, state)
    }

    fn output(state: &LstmState) -> Tensor<2> {
        state.h.clone()
    }
}

/// The LSTM cell unrolled over T steps, sharing one set of weights.
#[derive(Module, Debug)]
pub struct TimeLstm {
    /// The cell applied at every step.
    pub cell: LstmCell,
}

impl TimeLstm {
    /// Runs the cell over every time step.
    ///
    /// - `xs`: `[N, T, D]`; `state`: `(h, c)` before step 0, or `None` for zeros;
    /// - returns all hidden states `[N, T, H]` and the state after the last step.
    pub fn forward(&self, xs: Tensor<3>, state: Option<LstmState>) -> (Tensor<3>, LstmState) {
        cell::time_forward(&self.cell, xs, state)
    }
}
