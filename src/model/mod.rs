//! The book's recurrent language model as Burn modules.
//!
//! `RnnCell` is one step `h' = tanh(h·Wh + x·Wx + b)`, `TimeRnn` unrolls it over T
//! steps, and `SimpleRnnlm` is Embedding → TimeRnn → Affine → softmax
//! cross-entropy. The modules are backend-agnostic: the backend is the `Device`
//! their parameters live on.
//!
//! None of them holds a hidden state between calls. The book's `TimeRNN` is
//! stateful (`self.h`); here the state is an input and an output, and the caller
//! (the training loop, evaluation, generation) decides whether to carry it,
//! detach it or drop it.

use burn::config::Config;
use burn::module::{Module, Param};
use burn::nn::{Embedding, Linear};
use burn::tensor::{Device, Distribution, Int, Tensor, TensorData};

use crate::weights::RnnlmWeights;

mod softmax_with_loss;
pub use softmax_with_loss::{cross_entropy_autodiff, softmax_with_loss};

/// A parameter tensor from host values.
fn param<const D: usize>(values: &[f32], shape: [usize; D], device: &Device) -> Param<Tensor<D>> {
    Param::from_data(TensorData::new(values.to_vec(), shape), device)
}

/// A parameter drawn from N(0, 1) / `scale`, as the book's `np.random.randn(..) / scale`.
fn randn<const D: usize>(shape: [usize; D], scale: f64, device: &Device) -> Param<Tensor<D>> {
    Param::from_tensor(Tensor::random(shape, Distribution::Normal(0.0, 1.0 / scale), device))
}

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

/// Configuration of the book's `SimpleRnnlm`; the defaults are the notebook's.
#[derive(Config, Debug)]
pub struct SimpleRnnlmConfig {
    /// V: number of words in the vocabulary.
    pub vocab_size: usize,
    /// D: size of a word vector.
    #[config(default = 100)]
    pub wordvec_size: usize,
    /// H: size of the hidden state.
    #[config(default = 100)]
    pub hidden_size: usize,
}

/// Embedding → TimeRnn → Affine, scored by mean softmax cross-entropy.
#[derive(Module, Debug)]
pub struct SimpleRnnlm {
    /// Word vectors, weight `[V, D]`.
    pub embed: Embedding,
    /// The recurrent layer.
    pub rnn: TimeRnn,
    /// Scores of every word from the hidden state, weight `[H, V]`, bias `[V]`.
    pub affine: Linear,
}

impl SimpleRnnlmConfig {
    /// The book's initialisation, drawn from the device's generator.
    ///
    /// Use [`SimpleRnnlmConfig::init_with`] with
    /// [`RnnlmWeights::book_init`] for weights that are the same on every backend.
    pub fn init(&self, device: &Device) -> SimpleRnnlm {
        let (v, d, h) = (self.vocab_size, self.wordvec_size, self.hidden_size);
        SimpleRnnlm {
            embed: Embedding { weight: randn([v, d], 100.0, device) },
            rnn: TimeRnnConfig::new(d, h).init(device),
            affine: Linear {
                weight: randn([h, v], (h as f64).sqrt(), device),
                bias: Some(Param::from_tensor(Tensor::zeros([v], device))),
            },
        }
    }

    /// The model with the given weights, which must match this configuration.
    pub fn init_with(&self, w: &RnnlmWeights, device: &Device) -> Result<SimpleRnnlm, String> {
        if (w.vocab_size, w.wordvec_size, w.hidden_size)
            != (self.vocab_size, self.wordvec_size, self.hidden_size)
        {
            return Err(format!(
                "weights are V={} D={} H={}, the configuration is V={} D={} H={}",
                w.vocab_size, w.wordvec_size, w.hidden_size,
                self.vocab_size, self.wordvec_size, self.hidden_size
            ));
        }
        w.validate()?;
        let (v, d, h) = (self.vocab_size, self.wordvec_size, self.hidden_size);
        Ok(SimpleRnnlm {
            embed: Embedding { weight: param(&w.embed_w, [v, d], device) },
            rnn: TimeRnn {
                cell: RnnCellConfig::new(d, h).init_with(&w.rnn_wx, &w.rnn_wh, &w.rnn_b, device),
            },
            affine: Linear {
                weight: param(&w.affine_w, [h, v], device),
                bias: Some(param(&w.affine_b, [v], device)),
            },
        })
    }
}

impl SimpleRnnlm {
    /// Scores of the next word at every position.
    ///
    /// - `xs`: word ids `[N, T]`; `h0`: state `[N, H]` or `None` for zeros;
    /// - returns logits `[N, T, V]` and the last hidden state `[N, H]`.
    pub fn forward_logits(&self, xs: Tensor<2, Int>, h0: Option<Tensor<2>>) -> (Tensor<3>, Tensor<2>) {
        let embedded = self.embed.forward(xs); // [N, T, D]
        let (hs, h_last) = self.rnn.forward(embedded, h0); // [N, T, H]
        (self.affine.forward(hs), h_last) // [N, T, V]
    }

    /// Mean softmax cross-entropy over all N·T positions (the book's
    /// `TimeSoftmaxWithLoss`).
    ///
    /// - `xs`, `ts`: inputs and targets `[N, T]`; `h0`: state `[N, H]` or `None`;
    /// - returns the loss `[1]` and the last hidden state `[N, H]`.
    pub fn forward(&self, xs: Tensor<2, Int>, ts: Tensor<2, Int>, h0: Option<Tensor<2>>) -> (Tensor<1>, Tensor<2>) {
        let (logits, h_last) = self.forward_logits(xs, h0);
        (softmax_with_loss(logits, ts), h_last)
    }

    /// The parameters as host arrays (reads them back from the device).
    pub fn weights(&self) -> RnnlmWeights {
        let host = |t: Tensor<2>| t.try_into_vec_as::<f32>().expect("readable parameters");
        let host1 = |t: Tensor<1>| t.try_into_vec_as::<f32>().expect("readable parameters");
        let [v, d] = self.embed.weight.dims();
        let h = self.rnn.cell.hidden_size();
        RnnlmWeights {
            vocab_size: v,
            wordvec_size: d,
            hidden_size: h,
            embed_w: host(self.embed.weight.val()),
            rnn_wx: host(self.rnn.cell.wx.val()),
            rnn_wh: host(self.rnn.cell.wh.val()),
            rnn_b: host1(self.rnn.cell.b.val()),
            affine_w: host(self.affine.weight.val()),
            affine_b: host1(self.affine.bias.as_ref().expect("affine bias").val()),
        }
    }
}
