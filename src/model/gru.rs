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
use burn::tensor::{Device, Tensor};

use super::cell::{self, Cell, Weights};
use super::{book_normal, param};
use crate::cpu::{matmul, sigmoid, tanh};

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
            wx: book_normal([d, 3 * h], d, device),
            wh: book_normal([h, 3 * h], h, device),
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
        self.step(matmul(x, self.wx.val()), h_prev)
    }

    /// The step with `x·Wx` already computed (`xw`: `[N, 3H]`).
    pub fn step(&self, xw: Tensor<2>, h_prev: Tensor<2>) -> Tensor<2> {
        let [h_next, ..] = gru_step(xw, h_prev, self.wh.val(), self.b.val());
        h_next
    }

    /// H: the size of the hidden state.
    pub fn hidden_size(&self) -> usize {
        self.wh.dims()[0]
    }
}

/// What one GRU step keeps for its backward: the state before it, the gates
/// z and r, the candidate h̃ and `r·h` (the input of `Whh`), each `[N, H]`.
pub struct GruCache {
    h_prev: Tensor<2>,
    z: Tensor<2>,
    r: Tensor<2>,
    h_hat: Tensor<2>,
    rh: Tensor<2>,
}

/// The GRU step on the weights given: `(h_next, z, r, h̃, r·h)`.
fn gru_step(xw: Tensor<2>, h_prev: Tensor<2>, wh: Tensor<2>, b: Tensor<1>) -> [Tensor<2>; 5] {
    let [n, width] = xw.dims();
    let h = width / 3;
    let xwb = xw + b.unsqueeze_dim::<2>(0); // [N, 3H]
    // z and r both read h_prev·Wh: one product for the two gates, [N, 2H]
    let hw_zr = matmul(h_prev.clone(), wh.clone().slice([0..h, 0..2 * h]));
    let zr = sigmoid(xwb.clone().slice([0..n, 0..2 * h]) + hw_zr);
    let z = zr.clone().slice([0..n, 0..h]);
    let r = zr.slice([0..n, h..2 * h]);
    let rh = r.clone() * h_prev.clone();
    let h_hat = tanh(xwb.slice([0..n, 2 * h..3 * h]) + matmul(rh.clone(), wh.slice([0..h, 2 * h..3 * h])));
    // (1 - z)·h + z·h̃, written as h + z·(h̃ - h)
    let h_next = h_prev.clone() + z.clone() * (h_hat.clone() - h_prev);
    [h_next, z, r, h_hat, rh]
}

impl Cell for GruCell {
    type State = Tensor<2>; // h [N, H]
    type Cache = GruCache;

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
        GruCell::step(self, xw, h_prev)
    }

    fn output(h: &Tensor<2>) -> Tensor<2> {
        h.clone()
    }

    fn step_keep(w: &Weights, xw: Tensor<2>, h_prev: Tensor<2>) -> (Tensor<2>, GruCache) {
        let [h_next, z, r, h_hat, rh] = gru_step(xw, h_prev.clone(), w.wh_step.clone(), w.b.clone());
        (h_next, GruCache { h_prev, z, r, h_hat, rh })
    }

    /// The book's `GRU.backward`: `dh` reaches `h_prev` directly through
    /// `1 - z`, through the candidate's `(r·h)·Whh`, and through both gates'
    /// `h·Wh`.
    fn step_backward(wh_back: &Tensor<2>, k: &GruCache, dh: Tensor<2>) -> (Tensor<2>, Tensor<2>) {
        let [n, h] = dh.dims();
        let one_minus = |x: Tensor<2>| x.neg().add_scalar(1.0); // 1 - x
        // Whᵀ's rows: the gates' block and the candidate's
        let wh_zr_t = wh_back.clone().slice([0..2 * h, 0..h]); // [2H, H]
        let wh_h_t = wh_back.clone().slice([2 * h..3 * h, 0..h]); // [H, H]
        // the candidate: tanh' = 1 - h̃²
        let dt_h = dh.clone() * k.z.clone() * one_minus(k.h_hat.clone() * k.h_hat.clone());
        let dhr = matmul(dt_h.clone(), wh_h_t); // of r·h
        // the gates: σ' = s(1 - s)
        let dz = dh.clone() * (k.h_hat.clone() - k.h_prev.clone());
        let dt_z = dz * k.z.clone() * one_minus(k.z.clone());
        let dt_r = dhr.clone() * k.h_prev.clone() * k.r.clone() * one_minus(k.r.clone());
        let dt_zr = Tensor::cat(vec![dt_z, dt_r], 1); // [N, 2H]
        let dh_prev = dh * one_minus(k.z.clone()) + k.r.clone() * dhr + matmul(dt_zr.clone(), wh_zr_t);
        debug_assert_eq!(dh_prev.dims(), [n, h]);
        (Tensor::cat(vec![dt_zr, dt_h], 1), dh_prev) // [N, 3H], packed as the gates
    }

    fn add_output_grad(dh_next: Tensor<2>, dh: Tensor<2>) -> Tensor<2> {
        dh + dh_next
    }

    /// `Wh`'s gates read `h_prev`, its candidate block `r·h_prev`.
    fn wh_grad(caches: &[GruCache], da: Tensor<2>) -> Tensor<2> {
        let [rows, width] = da.dims();
        let h = width / 3;
        let h_prev = cell::rows(caches.iter().map(|k| k.h_prev.clone()).collect());
        let rh = cell::rows(caches.iter().map(|k| k.rh.clone()).collect());
        let d_zr = matmul(h_prev.transpose(), da.clone().slice([0..rows, 0..2 * h]));
        let d_h = matmul(rh.transpose(), da.slice([0..rows, 2 * h..3 * h]));
        Tensor::cat(vec![d_zr, d_h], 1)
    }
}

/// The GRU cell unrolled over T steps, sharing one set of weights.
#[derive(Module, Debug)]
pub struct TimeGru {
    /// The cell applied at every step.
    pub cell: GruCell,
}

impl TimeGru {
    /// Runs the cell over every time step, as one autodiff node whose
    /// backward is the book's `TimeGRU.backward`.
    ///
    /// - `xs`: `[N, T, D]`; `h0`: `[N, H]` or `None` for zeros;
    /// - returns all hidden states `[N, T, H]` and the last one `[N, H]`.
    pub fn forward(&self, xs: Tensor<3>, h0: Option<Tensor<2>>) -> (Tensor<3>, Tensor<2>) {
        cell::time_node(&self.cell, xs, h0)
    }

    /// [`TimeGru::forward`] with every step's tensor ops recorded by
    /// autodiff one by one: the plain path `check` compares against.
    pub fn forward_op_by_op(&self, xs: Tensor<3>, h0: Option<Tensor<2>>) -> (Tensor<3>, Tensor<2>) {
        cell::time_forward(&self.cell, xs, h0)
    }
}
