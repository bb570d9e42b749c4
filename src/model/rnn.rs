//! The book's RNN layer: one step `h' = tanh(h·Wh + x·Wx + b)` (`RnnCell`) and
//! the step unrolled over T time steps (`TimeRnn`).

use burn::config::Config;
use burn::module::{Module, Param};
use burn::tensor::{Device, Tensor};

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
        RnnCell {
            wx: param(wx, [d, h], device),
            wh: param(wh, [h, h], device),
            b: param(b, [h], device),
        }
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
        let b = self.b.val().unsqueeze_dim::<2>(0); // [1, H], broadcast over N
        (h_prev.matmul(self.wh.val()) + xw + b).tanh()
    }

    /// H: the size of the hidden state.
    pub fn hidden_size(&self) -> usize {
        self.wh.dims()[0]
    }
}

/// Configuration of the time-unrolled RNN.
#[derive(Config, Debug)]
pub struct TimeRnnConfig {
    /// D: size of the input vectors.
    pub input_size: usize,
    /// H: size of the hidden state.
    pub hidden_size: usize,
}

/// The RNN cell unrolled over T steps, sharing one set of weights.
#[derive(Module, Debug)]
pub struct TimeRnn {
    /// The cell applied at every step.
    pub cell: RnnCell,
}

impl TimeRnnConfig {
    /// The book's initialisation (see [`RnnCellConfig::init`]).
    pub fn init(&self, device: &Device) -> TimeRnn {
        TimeRnn {
            cell: RnnCellConfig::new(self.input_size, self.hidden_size).init(device),
        }
    }
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
        let [n, t, d] = xs.dims();
        let h_size = self.cell.hidden_size();
        let device = xs.device();
        // x·Wx for all N·T inputs in one product: [N·T, D] @ [D, H] -> [N, T, H]
        let xw = xs
            .reshape([n * t, d])
            .matmul(self.cell.wx.val())
            .reshape([n, t, h_size]);
        let mut h = h0.unwrap_or_else(|| Tensor::zeros([n, h_size], &device));
        let mut hs = Vec::with_capacity(t);
        for step in 0..t {
            let xw_t = xw.clone().slice([0..n, step..step + 1, 0..h_size]).reshape([n, h_size]);
            h = self.cell.step(xw_t, h);
            hs.push(h.clone());
        }
        (Tensor::stack(hs, 1), h) // [N, T, H], [N, H]
    }
}
