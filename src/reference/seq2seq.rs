//! The book's encoder-decoder (`ch07/seq2seq.py`, `peeky_seq2seq.py`),
//! written as the book writes it: layers with their forward and backward,
//! the encoder's last `h` handed to the decoder's stateful LSTM, and the
//! decoder's `dh` handed back.

use ndarray::{Array2, Array3, ArrayD, Axis, concatenate, s};

use super::Real;
use super::cell::CellParams;
use super::layers::{TimeAffine, TimeEmbedding, TimeSoftmaxWithLoss};
use super::lstm::TimeLstm;
use super::model::{array1, array2};
use crate::arch::Seq2seqArch;
use crate::weights::Seq2seqWeights;

fn lstm<F: Real>(w: &Seq2seqWeights, part: &str, input: usize, stateful: bool) -> TimeLstm<F> {
    let h = w.arch.hidden_size;
    let params = CellParams {
        wx: array2(w.get(&format!("{part}.lstm.Wx")), input, 4 * h),
        wh: array2(w.get(&format!("{part}.lstm.Wh")), h, 4 * h),
        b: array1(w.get(&format!("{part}.lstm.b"))),
    };
    TimeLstm::new(params, stateful)
}

/// `np.concatenate((a, b), axis=2)`, in row-major order.
fn join<F: Real>(a: &Array3<F>, b: &Array3<F>) -> Array3<F> {
    concatenate![Axis(2), *a, *b].as_standard_layout().into_owned()
}

/// `Encoder`: TimeEmbedding → TimeLSTM (not stateful); the last `h` out.
pub struct Encoder<F: Real> {
    pub embed: TimeEmbedding<F>,
    pub lstm: TimeLstm<F>,
    hs_shape: (usize, usize, usize),
}

impl<F: Real> Encoder<F> {
    /// `xs [N, T]` → `h [N, H]`.
    pub fn forward(&mut self, xs: &Array2<usize>) -> Array2<F> {
        let x = self.embed.forward(xs);
        let hs = self.lstm.forward(&x);
        self.hs_shape = hs.dim();
        hs.slice(s![.., -1, ..]).to_owned()
    }

    /// `dh [N, H]`, the gradient of the last `h`.
    pub fn backward(&mut self, dh: &Array2<F>) {
        let mut dhs = Array3::zeros(self.hs_shape);
        dhs.slice_mut(s![.., -1, ..]).assign(dh);
        let dout = self.lstm.backward(&dhs);
        self.embed.backward(&dout);
    }
}

/// `Decoder` or, with `peeky`, `PeekyDecoder`: TimeEmbedding → TimeLSTM
/// (stateful, set to the encoder's `h` with zero `c`) → TimeAffine.
pub struct Decoder<F: Real> {
    pub embed: TimeEmbedding<F>,
    pub lstm: TimeLstm<F>,
    pub affine: TimeAffine<F>,
    pub peeky: bool,
}

impl<F: Real> Decoder<F> {
    /// `xs [N, T]` from the encoder's `h [N, H]` → scores `[N, T, V]`.
    pub fn forward(&mut self, xs: &Array2<usize>, h: &Array2<F>) -> Array3<F> {
        self.lstm.set_state(h.clone(), Array2::zeros(h.raw_dim()));
        let out = self.embed.forward(xs);
        if !self.peeky {
            let out = self.lstm.forward(&out);
            return self.affine.forward(&out);
        }
        let hs = Self::peek(h, xs.ncols());
        let out = self.lstm.forward(&join(&hs, &out));
        self.affine.forward(&join(&hs, &out))
    }

    /// `h [N, H]` repeated at each of `t` steps, `[N, T, H]` (`np.repeat`).
    fn peek(h: &Array2<F>, t: usize) -> Array3<F> {
        let (n, hidden) = h.dim();
        h.clone().insert_axis(Axis(1)).broadcast((n, t, hidden)).expect("broadcast over T").to_owned()
    }

    /// `dscore [N, T, V]` → the gradient of the encoder's `h`.
    pub fn backward(&mut self, dscore: &Array3<F>) -> Array2<F> {
        let dout = self.affine.backward(dscore);
        if !self.peeky {
            let dout = self.lstm.backward(&dout);
            self.embed.backward(&dout);
            return self.lstm.dh.clone().expect("after backward");
        }
        let hidden = self.lstm.params.wh.nrows();
        let (dhs0, dout) = (dout.slice(s![.., .., ..hidden]).to_owned(), dout.slice(s![.., .., hidden..]).to_owned());
        let dout = self.lstm.backward(&dout);
        let (dhs1, dembed) = (dout.slice(s![.., .., ..hidden]).to_owned(), dout.slice(s![.., .., hidden..]).to_owned());
        self.embed.backward(&dembed);
        let dhs = dhs0 + dhs1;
        self.lstm.dh.clone().expect("after backward") + dhs.sum_axis(Axis(1))
    }

    /// Greedy generation for one batch: `sample_size` ids per row after `start_id`.
    pub fn generate(&mut self, h: &Array2<F>, start_id: usize, sample_size: usize) -> Array2<usize> {
        let n = h.nrows();
        self.lstm.set_state(h.clone(), Array2::zeros(h.raw_dim()));
        let mut ids = Array2::from_elem((n, 1), start_id);
        let mut sampled = Array2::zeros((n, sample_size));
        for step in 0..sample_size {
            let mut out = self.embed.forward(&ids);
            if self.peeky {
                out = join(&Self::peek(h, 1), &out);
            }
            out = self.lstm.forward(&out);
            if self.peeky {
                out = join(&Self::peek(h, 1), &out);
            }
            let score = self.affine.forward(&out);
            for r in 0..n {
                let row = score.slice(s![r, 0, ..]);
                // np.argmax: the first of equal maxima
                let best = row.iter().enumerate().fold(0, |b, (i, &v)| if v > row[b] { i } else { b });
                ids[[r, 0]] = best;
                sampled[[r, step]] = best;
            }
        }
        sampled
    }
}

/// `Seq2seq` (or `PeekySeq2seq`): encoder, decoder, TimeSoftmaxWithLoss.
pub struct Seq2seq<F: Real> {
    pub arch: Seq2seqArch,
    pub encoder: Encoder<F>,
    pub decoder: Decoder<F>,
    pub softmax: TimeSoftmaxWithLoss<F>,
}

impl<F: Real> Seq2seq<F> {
    pub fn from_weights(w: &Seq2seqWeights) -> Self {
        let a = w.arch;
        let (v, d, h) = (a.vocab_size, a.wordvec_size, a.hidden_size);
        let peek = if a.peeky { h } else { 0 };
        Seq2seq {
            arch: a,
            encoder: Encoder {
                embed: TimeEmbedding::new(array2(w.get("encoder.embed.W"), v, d)),
                lstm: lstm(w, "encoder", d, false),
                hs_shape: (0, 0, 0),
            },
            decoder: Decoder {
                embed: TimeEmbedding::new(array2(w.get("decoder.embed.W"), v, d)),
                lstm: lstm(w, "decoder", peek + d, true),
                affine: TimeAffine::new(
                    array2(w.get("decoder.affine.W"), peek + h, v),
                    array1(w.get("decoder.affine.b")),
                ),
                peeky: a.peeky,
            },
            softmax: TimeSoftmaxWithLoss::default(),
        }
    }

    /// `xs [N, Tq]`, `ts [N, Ta]` → the mean loss of teacher forcing.
    pub fn forward(&mut self, xs: &Array2<usize>, ts: &Array2<usize>) -> F {
        let (decoder_xs, decoder_ts) = (ts.slice(s![.., ..-1]).to_owned(), ts.slice(s![.., 1..]).to_owned());
        let h = self.encoder.forward(xs);
        let score = self.decoder.forward(&decoder_xs, &h);
        self.softmax.forward(&score, &decoder_ts)
    }

    pub fn backward(&mut self, dout: F) {
        let dout = self.softmax.backward(dout);
        let dh = self.decoder.backward(&dout);
        self.encoder.backward(&dh);
    }

    /// Greedy answers `[N, sample_size]` to the questions `xs [N, Tq]`.
    pub fn generate(&mut self, xs: &Array2<usize>, start_id: usize, sample_size: usize) -> Array2<usize> {
        let h = self.encoder.forward(xs);
        self.decoder.generate(&h, start_id, sample_size)
    }

    /// The gradients in the book's order ([`Seq2seqArch::params`]).
    pub fn grads(&self) -> Vec<ArrayD<F>> {
        let (e, d) = (&self.encoder, &self.decoder);
        vec![
            e.embed.embed.grad_w.clone().into_dyn(),
            e.lstm.grads.wx.clone().into_dyn(),
            e.lstm.grads.wh.clone().into_dyn(),
            e.lstm.grads.b.clone().into_dyn(),
            d.embed.embed.grad_w.clone().into_dyn(),
            d.lstm.grads.wx.clone().into_dyn(),
            d.lstm.grads.wh.clone().into_dyn(),
            d.lstm.grads.b.clone().into_dyn(),
            d.affine.grad_w.clone().into_dyn(),
            d.affine.grad_b.clone().into_dyn(),
        ]
    }

    /// Mutable views of the parameters, in the order of [`Seq2seq::grads`].
    pub fn params_mut(&mut self) -> Vec<ndarray::ArrayViewMutD<'_, F>> {
        let (e, d) = (&mut self.encoder, &mut self.decoder);
        vec![
            e.embed.embed.w.view_mut().into_dyn(),
            e.lstm.params.wx.view_mut().into_dyn(),
            e.lstm.params.wh.view_mut().into_dyn(),
            e.lstm.params.b.view_mut().into_dyn(),
            d.embed.embed.w.view_mut().into_dyn(),
            d.lstm.params.wx.view_mut().into_dyn(),
            d.lstm.params.wh.view_mut().into_dyn(),
            d.lstm.params.b.view_mut().into_dyn(),
            d.affine.w.view_mut().into_dyn(),
            d.affine.b.view_mut().into_dyn(),
        ]
    }
}
