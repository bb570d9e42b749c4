//! The book's LSTM layer: one step (`LstmCell`) and the step unrolled over T
//! time steps (`TimeLstm`), with the book's parameters; beside the step, the
//! book's `LSTM.backward` of it, which the layer's autodiff node runs. On Flex the
//! step's element-wise work, forward and back, is one pass over host memory
//! ([`host`]); the products stay Burn's.
//!
//! burn-nn's `Lstm` keeps one linear layer (two biases) per gate and another
//! gate order; the book packs the four gates f, g, i, o side by side in
//! `Wx [D, 4H]`, `Wh [H, 4H]` and a single `b [4H]`, which is what this module
//! holds, so that the book's weights (and its trained `Rnnlm.pkl`) load as they
//! are.

use burn::config::Config;
use burn::module::{Module, Param};
use burn::tensor::{DType, Device, Tensor, TensorData};

use super::cell::{self, Cell, Weights};
use super::{book_normal, param};
use crate::cpu::{lstm as host, matmul, sigmoid, tanh};
use crate::device::is_flex;

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
    /// The hidden state, `[N, H]`.
    pub h: Tensor<2>,
    /// The cell state, `[N, H]`.
    pub c: Tensor<2>,
}

impl LstmState {
    /// Zeros for a batch of `n`.
    pub fn zeros(n: usize, hidden_size: usize, device: &Device) -> Self {
        Self { h: crate::cpu::zeros([n, hidden_size], device), c: crate::cpu::zeros([n, hidden_size], device) }
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
            wx: book_normal([d, 4 * h], d, device),
            wh: book_normal([h, 4 * h], h, device),
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
        self.step(matmul(x, self.wx.val()), state)
    }

    /// The step with `x·Wx` already computed (`xw`: `[N, 4H]`).
    pub fn step(&self, xw: Tensor<2>, state: LstmState) -> LstmState {
        let [f, g, i, o] = gates(xw, &state.h, &self.wh.val(), &self.b.val());
        let c = f * state.c + g * i;
        LstmState { h: o * tanh(c.clone()), c }
    }

    /// H: the size of the hidden state.
    pub fn hidden_size(&self) -> usize {
        self.wh.dims()[0]
    }
}

/// The four gates f (forget), g (new memory), i (input), o (output), each
/// `[N, H]`, from `h·Wh + x·Wx + b` (`xw` = `x·Wx`), on the weights given.
fn gates(xw: Tensor<2>, h: &Tensor<2>, wh: &Tensor<2>, b: &Tensor<1>) -> [Tensor<2>; 4] {
    let [n, width] = xw.dims();
    let hs = width / 4;
    let a = matmul(h.clone(), wh.clone()) + xw + b.clone().unsqueeze_dim::<2>(0); // [N, 4H]; b broadcast over N
    let gate = |k: usize| a.clone().slice([0..n, k * hs..(k + 1) * hs]); // [N, H]
    [sigmoid(gate(0)), tanh(gate(1)), sigmoid(gate(2)), sigmoid(gate(3))]
}

/// What one LSTM step keeps for its backward: the state before it, the four
/// gates and `tanh(c)` of the new cell state, each `[N, H]`.
pub struct LstmCache {
    h_prev: Tensor<2>,
    kept: Kept,
}

/// The cache's `c_prev`, gates and `tanh_c`: as tensors, or, where the host
/// step ran them ([`host`]), as host memory for its backward. (The first
/// variant, the larger, stays inline: a layer holds one cache per time step,
/// and boxing would allocate each for nothing.)
#[allow(clippy::large_enum_variant)]
enum Kept {
    Tensors {
        c_prev: Tensor<2>,
        f: Tensor<2>,
        g: Tensor<2>,
        i: Tensor<2>,
        o: Tensor<2>,
        tanh_c: Tensor<2>,
    },
    /// `c_prev` and `tanh_c` `[N, H]`, the gates `[N, 4H]` packed f, g, i, o.
    Host {
        c_prev: TensorData,
        gates: TensorData,
        tanh_c: TensorData,
    },
}

/// Whether the step's element-wise work runs on host memory: f32 on Flex,
/// which hands a tensor's buffer over without a copy when no one else holds it.
fn on_host(x: &Tensor<2>) -> bool {
    x.dtype() == DType::F32 && is_flex(&x.device())
}

/// A host buffer's values (Flex tensors' data are f32 here, by [`on_host`]).
fn floats(data: &TensorData) -> &[f32] {
    data.as_slice::<f32>().expect("f32 host data")
}

/// `values` `[n, k]` as a tensor on `device`.
fn tensor(values: Vec<f32>, n: usize, k: usize, device: &Device) -> Tensor<2> {
    Tensor::from_data(TensorData::new(values, [n, k]), device)
}

/// [`Cell::step_keep`] with the element-wise work in one host pass per row.
fn step_keep_host(w: &Weights, xw: Tensor<2>, state: LstmState) -> (LstmState, LstmCache) {
    let [n, width] = xw.dims();
    let hs = width / 4;
    let device = xw.device();
    // The product is ours alone: its buffer becomes the gates.
    let mut gates = matmul(state.h.clone(), w.wh_step.clone()).into_data(); // [N, 4H]
    let (xw, b, c_prev) = (xw.into_data(), w.b.to_data(), state.c.into_data());
    let (mut c, mut tanh_c, mut h) = (vec![0f32; n * hs], vec![0f32; n * hs], vec![0f32; n * hs]);
    let a = gates.as_mut_slice::<f32>().expect("an f32 product");
    host::forward(a, floats(&xw), floats(&b), floats(&c_prev), &mut c, &mut tanh_c, &mut h);
    let next = LstmState { h: tensor(h, n, hs, &device), c: tensor(c, n, hs, &device) };
    let tanh_c = TensorData::new(tanh_c, [n, hs]);
    (next, LstmCache { h_prev: state.h, kept: Kept::Host { c_prev, gates, tanh_c } })
}

/// [`Cell::step_backward`] from what [`step_keep_host`] kept.
fn step_backward_host(wh_back: &Tensor<2>, kept: host::Kept<'_>, d: LstmState) -> (Tensor<2>, LstmState) {
    let [n, hs] = d.h.dims();
    let device = d.h.device();
    let (dh, dc) = (d.h.into_data(), d.c.into_data());
    let (mut da, mut dc_prev) = (vec![0f32; n * 4 * hs], vec![0f32; n * hs]);
    host::backward(kept, floats(&dh), floats(&dc), &mut da, &mut dc_prev);
    let da = tensor(da, n, 4 * hs, &device); // [N, 4H]
    let dh_prev = matmul(da.clone(), wh_back.clone());
    (da, LstmState { h: dh_prev, c: tensor(dc_prev, n, hs, &device) })
}

impl Cell for LstmCell {
    type State = LstmState;
    type Cache = LstmCache;

    fn params(&self) -> (&Param<Tensor<2>>, &Param<Tensor<2>>, &Param<Tensor<1>>) {
        (&self.wx, &self.wh, &self.b)
    }

    const CELL_STATE: bool = true;

    fn zeros(n: usize, hidden: usize, device: &Device) -> LstmState {
        LstmState::zeros(n, hidden, device)
    }

    fn split(s: LstmState) -> (Tensor<2>, Option<Tensor<2>>) {
        (s.h, Some(s.c))
    }

    fn join(h: Tensor<2>, c: Option<Tensor<2>>) -> LstmState {
        LstmState { h, c: c.expect("an LSTM state has a cell state") }
    }

    fn step(&self, xw: Tensor<2>, state: LstmState) -> LstmState {
        LstmCell::step(self, xw, state)
    }

    fn output(state: &LstmState) -> Tensor<2> {
        state.h.clone()
    }

    fn step_keep(w: &Weights, xw: Tensor<2>, state: LstmState) -> (LstmState, LstmCache) {
        if on_host(&xw) {
            return step_keep_host(w, xw, state);
        }
        let [f, g, i, o] = gates(xw, &state.h, &w.wh_step, &w.b);
        let c = f.clone() * state.c.clone() + g.clone() * i.clone();
        let tanh_c = tanh(c.clone());
        let h = o.clone() * tanh_c.clone();
        let kept = Kept::Tensors { c_prev: state.c, f, g, i, o, tanh_c };
        (LstmState { h, c }, LstmCache { h_prev: state.h, kept })
    }

    /// The book's `LSTM.backward`: `ds = dc + dh·o·(1 - tanh²c)` reaches the
    /// cell state before through `f`, and each gate through its own derivative.
    fn step_backward(wh_back: &Tensor<2>, k: &LstmCache, d: LstmState) -> (Tensor<2>, LstmState) {
        let (c_prev, f, g, i, o, tanh_c) = match &k.kept {
            Kept::Host { c_prev, gates, tanh_c } => {
                let [_, hidden] = d.h.dims();
                let kept = host::Kept { gates: floats(gates), c_prev: floats(c_prev), tanh_c: floats(tanh_c), hidden };
                return step_backward_host(wh_back, kept, d);
            }
            Kept::Tensors { c_prev, f, g, i, o, tanh_c } => (c_prev, f, g, i, o, tanh_c),
        };
        let LstmState { h: dh, c: dc } = d;
        let one_minus = |x: &Tensor<2>, y: Tensor<2>| y.neg().add_scalar(1.0) * x.clone(); // x·(1 - y)
        let ds = dc + dh.clone() * o.clone() * (tanh_c.clone() * tanh_c.clone()).neg().add_scalar(1.0);
        let dc_prev = ds.clone() * f.clone();
        let df = one_minus(&(ds.clone() * c_prev.clone() * f.clone()), f.clone()); // σ' = f(1 - f)
        let dg = one_minus(&(ds.clone() * i.clone()), g.clone() * g.clone()); // tanh' = 1 - g²
        let di = one_minus(&(ds * g.clone() * i.clone()), i.clone());
        let d_o = one_minus(&(dh * tanh_c.clone() * o.clone()), o.clone());
        let da = Tensor::cat(vec![df, dg, di, d_o], 1); // [N, 4H], packed as the gates
        let dh_prev = matmul(da.clone(), wh_back.clone());
        (da, LstmState { h: dh_prev, c: dc_prev })
    }

    fn add_output_grad(d: LstmState, dh: Tensor<2>) -> LstmState {
        LstmState { h: d.h + dh, c: d.c }
    }

    fn wh_grad(caches: &[LstmCache], da: Tensor<2>) -> Tensor<2> {
        matmul(cell::rows(caches.iter().map(|k| k.h_prev.clone()).collect()).transpose(), da)
    }
}

/// The LSTM cell unrolled over T steps, sharing one set of weights.
#[derive(Module, Debug)]
pub struct TimeLstm {
    /// The cell applied at every step.
    pub cell: LstmCell,
}

impl TimeLstm {
    /// Runs the cell over every time step, as one autodiff node whose
    /// backward is the book's `TimeLSTM.backward`.
    ///
    /// - `xs`: `[N, T, D]`; `state`: `(h, c)` before step 0, or `None` for zeros;
    /// - returns all hidden states `[N, T, H]` and the state after the last step.
    ///
    /// Gradients flow into `state` if it is part of a graph: a caller carrying
    /// it between batches detaches it first (truncated BPTT).
    pub fn forward(&self, xs: Tensor<3>, state: Option<LstmState>) -> (Tensor<3>, LstmState) {
        cell::time_node(&self.cell, xs, state)
    }

    /// [`TimeLstm::forward`] with every step's tensor ops recorded by
    /// autodiff one by one: the plain path `check` compares against.
    pub fn forward_op_by_op(&self, xs: Tensor<3>, state: Option<LstmState>) -> (Tensor<3>, LstmState) {
        cell::time_forward(&self.cell, xs, state)
    }
}
