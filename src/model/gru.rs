//! The book's GRU layer (`common/time_layers.py`): one step (`GruCell`) and the
//! step unrolled over T time steps (`TimeGru`).
//!
//! The gates z (update), r (reset) and h̃ (candidate) are packed side by side in
//! `Wx [D, 3H]`, `Wh [H, 3H]` and one `b [3H]`. As in the book, the reset gate
//! multiplies the state *before* the product with `Whh`:
//! `h̃ = tanh(x·Wxh + (r·h)·Whh + bh)`, and `h' = (1 - z)·h + z·h̃`
//! (burn-nn's `Gru` differs in both the layout and the biases).

use burn::config::Config;
use burn::module::{Module, Param};
use burn::tensor::activation::sigmoid;
use burn::tensor::{Device, Tensor};

use super::cell::{self, Cell};
use super::{param, randn};

/// Configuration of one GRU step.
#[derive(Config, Debug)]
pub struct GruCellConfig {
    /// D: size of the input vector.
    pub input_size: usize,
    /// H: size of the hidden state.
    pub hidden_size: usize,
}

/// One GRU step: `Wx [D, 3H]`, `Wh [H, 3H]`, `b [3H]`, gates packed z, r, h̃.
#[derive(Module, Debug)]
pub struct GruCell {
    /// Input-to-gates weights, `[D, 3H]`.
    pub wx: Param<Tensor<2>>,
    /// Hidden-to-gates weights, `[H, 3H]`.
    pub wh: Param<Tensor<2>>,
    /// Gate biases, `[3H]`.
    pub b: Param<Tensor<1>>,
}

impl GruCellConfig {
    /// The book's initialisation, as its LSTM's: Wx ~ N(0,1)/√D,
    /// Wh ~ N(0,1)/√H, b = 0.
    pub fn init(&self, device: &Device) -> GruCell {
        let (d, h) = (self.input_size, self.hidden_size);
        GruCell {
            wx: randn([d, 3 * h], (d as f64).sqrt(), device),
            wh: randn([h, 3 * h], (h as f64).sqrt(), device),
            b: Param::from_tensor(Tensor::zeros([3 * h], device)),
        }
    }

    /// A cell with the given row-major weights `wx [D,3H]`, `wh [H,3H]`, `b [3H]`.
    pub fn init_with(&self, wx: &[f32], wh: &[f32], b: &[f32], device: &Device) -> GruCell {
        let (d, h) = (self.input_size, self.hidden_size);
        GruCell { wx: param(wx, [d, 3 * h], device), wh: param(wh, [h, 3 * h], device), b: param(b, [3 * h], device) }
    }
}

impl GruCell {
    /// One step: `x [N, D]`, `h_prev [N, H]` → `h_next [N, H]`.
    pub fn forward(&self, x: Tensor<2>, h_prev: Tensor<2>) -> Tensor<2> {
        self.step(x.matmul(self.wx.val()), h_prev)
    }

    /// The step with `x·Wx` already computed (`xw`: `[N, 3H]`).
    pub fn step(&self, xw: Tensor<2>, h_prev: Tensor<2>) -> Tensor<2> {
        let [n, _] = xw.dims();
        let h = self.hidden_size();
        let xwb = xw + self.b.val().unsqueeze_dim::<2>(0); // [N, 3H]
        let wh = self.wh.val();
        // z and r both read h_prev·Wh: one product for the two gates, [N, 2H]
        let hw_zr = h_prev.clone().matmul(wh.clone().slice([0..h, 0..2 * h]));
        let zr = sigmoid(xwb.clone().slice([0..n, 0..2 * h]) + hw_zr);
        let z = zr.clone().slice([0..n, 0..h]);
        let r = zr.slice([0..n, h..2 * h]);
        let h_hat =
            (xwb.slice([0..n, 2 * h..3 * h]) + (r * h_prev.clone()).matmul(wh.slice([0..h, 2 * h..3 * h]))).tanh();
        // (1 - z)·h + z·h̃, written as h + z·(h̃ - h)
        h_prev.clone() + z * (h_hat - h_prev)
    }

    /// H: the size of the hidden state.
    pub fn hidden_size(&self) -> usize {
        self.wh.dims()[0]
    }
}

impl Cell for GruCell {
    type State = Tensor<2>; // h [N, H]

    fn wx(&self) -> Tensor<2> {
        self.wx.val()
    }

    fn zero_state(&self, n: usize, device: &Device) -> Tensor<2> {
        Tensor::zeros([n, self.hidden_size()], device)
    }

    fn step(&self, xw: Tensor<2>, h_prev: Tensor<2>) -> Tensor<2> {
        GruCell::step(self, xw, h_prev)
    }

    fn output(h: &Tensor<2>) -> Tensor<2> {
        h.clone()
    }
}

/// The GRU cell unrolled over T steps, sharing one set of weights.
#[derive(Module, Debug)]
pub struct TimeGru {
    /// The cell applied at every step.
    pub cell: GruCell,
}

impl TimeGru {
    /// Runs the cell over every time step.
    ///
    /// - `xs`: `[N, T, D]`; `h0`: `[N, H]` or `None` for zeros;
    /// - returns all hidden states `[N, T, H]` and the last one `[N, H]`.
    pub fn forward(&self, xs: Tensor<3>, h0: Option<Tensor<2>>) -> (Tensor<3>, Tensor<2>) {
        cell::time_forward(&self.cell, xs, h0)
    }
}
