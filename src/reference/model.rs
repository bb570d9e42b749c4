use ndarray::{Array1, Array2, ArrayD};

use super::Real;
use super::layers::{RnnParams, TimeAffine, TimeEmbedding, TimeRnn, TimeSoftmaxWithLoss};
use crate::weights::{PARAM_NAMES, RnnlmWeights};

/// The book's `SimpleRnnlm`: TimeEmbedding → TimeRNN (stateful) → TimeAffine →
/// TimeSoftmaxWithLoss.
pub struct SimpleRnnlm<F: Real> {
    pub embed: TimeEmbedding<F>,
    pub rnn: TimeRnn<F>,
    pub affine: TimeAffine<F>,
    pub loss_layer: TimeSoftmaxWithLoss<F>,
}

fn array2<F: Real>(values: &[f32], rows: usize, cols: usize) -> Array2<F> {
    Array2::from_shape_vec((rows, cols), values.iter().map(|&x| F::from_f32(x).expect("finite")).collect())
        .expect("shape checked by validate")
}

fn array1<F: Real>(values: &[f32]) -> Array1<F> {
    values.iter().map(|&x| F::from_f32(x).expect("finite")).collect()
}

impl<F: Real> SimpleRnnlm<F> {
    /// The model with the given weights and a stateful `TimeRNN`, as in the book.
    pub fn from_weights(w: &RnnlmWeights) -> Result<Self, String> {
        w.validate()?;
        let (v, d, h) = (w.vocab_size, w.wordvec_size, w.hidden_size);
        let params = RnnParams {
            wx: array2(&w.rnn_wx, d, h),
            wh: array2(&w.rnn_wh, h, h),
            b: array1(&w.rnn_b),
        };
        Ok(Self {
            embed: TimeEmbedding::new(array2(&w.embed_w, v, d)),
            rnn: TimeRnn::new(params, true),
            affine: TimeAffine::new(array2(&w.affine_w, h, v), array1(&w.affine_b)),
            loss_layer: TimeSoftmaxWithLoss::default(),
        })
    }

    /// `xs`, `ts [N, T]` → mean loss.
    pub fn forward(&mut self, xs: &Array2<usize>, ts: &Array2<usize>) -> F {
        let e = self.embed.forward(xs);
        let hs = self.rnn.forward(&e);
        let scores = self.affine.forward(&hs);
        self.loss_layer.forward(&scores, ts)
    }

    /// Back-propagates `dout` (1 for the training loss) through every layer.
    pub fn backward(&mut self, dout: F) {
        let d = self.loss_layer.backward(dout);
        let d = self.affine.backward(&d);
        let d = self.rnn.backward(&d);
        self.embed.backward(&d);
    }

    pub fn reset_state(&mut self) {
        self.rnn.reset_state();
    }

    /// Scores `[N, T, V]` without a loss (for evaluation and generation).
    pub fn predict(&mut self, xs: &Array2<usize>) -> ndarray::Array3<F> {
        let e = self.embed.forward(xs);
        let hs = self.rnn.forward(&e);
        self.affine.forward(&hs)
    }

    /// The six gradients, in the order of [`PARAM_NAMES`], as dynamic-rank arrays.
    pub fn grads(&self) -> Vec<ArrayD<F>> {
        vec![
            self.embed.embed.grad_w.clone().into_dyn(),
            self.rnn.grads.wx.clone().into_dyn(),
            self.rnn.grads.wh.clone().into_dyn(),
            self.rnn.grads.b.clone().into_dyn(),
            self.affine.grad_w.clone().into_dyn(),
            self.affine.grad_b.clone().into_dyn(),
        ]
    }

    /// Mutable views of the six parameters, in the order of [`PARAM_NAMES`].
    pub fn params_mut(&mut self) -> Vec<ndarray::ArrayViewMutD<'_, F>> {
        vec![
            self.embed.embed.w.view_mut().into_dyn(),
            self.rnn.params.wx.view_mut().into_dyn(),
            self.rnn.params.wh.view_mut().into_dyn(),
            self.rnn.params.b.view_mut().into_dyn(),
            self.affine.w.view_mut().into_dyn(),
            self.affine.b.view_mut().into_dyn(),
        ]
    }

    /// The parameters as plain `f32` arrays.
    pub fn weights(&mut self) -> RnnlmWeights {
        let (v, d) = self.embed.embed.w.dim();
        let h = self.rnn.params.wh.nrows();
        let mut p = self.params_mut().into_iter().map(|a| {
            a.iter().map(|x| x.to_f32().expect("finite")).collect::<Vec<f32>>()
        });
        let mut next = || p.next().expect("six parameters");
        RnnlmWeights {
            vocab_size: v,
            wordvec_size: d,
            hidden_size: h,
            embed_w: next(),
            rnn_wx: next(),
            rnn_wh: next(),
            rnn_b: next(),
            affine_w: next(),
            affine_b: next(),
        }
    }

    /// Names of the parameters, as [`PARAM_NAMES`].
    pub fn param_names() -> [&'static str; 6] {
        PARAM_NAMES
    }

    /// One training step as the notebook's loop does it: forward, backward,
    /// clip, update. Returns the loss before the update.
    pub fn train_step(&mut self, xs: &Array2<usize>, ts: &Array2<usize>, optimizer: &mut super::Adam<F>, max_grad: Option<F>) -> F {
        let loss = self.forward(xs, ts);
        self.backward(F::one());
        let mut grads = self.grads();
        if let Some(max_norm) = max_grad {
            super::clip_grads(&mut grads, max_norm);
        }
        optimizer.update(&mut self.params_mut(), &grads);
        loss
    }
}
