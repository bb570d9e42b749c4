//! The book's encoder-decoders (`ch07/seq2seq.py`, `peeky_seq2seq.py`,
//! `ch08/attention_seq2seq.py`), written as the book writes them: layers
//! with their forward and backward, the encoder's last `h` handed to the
//! decoder's stateful LSTM (and with attention every `h` to the attention
//! layer), and the decoder's gradients of them handed back.

use ndarray::{Array2, Array3, ArrayD, Axis, concatenate, s};

use super::Real;
use super::attention::TimeAttention;
use super::cell::CellParams;
use super::layers::{TimeAffine, TimeEmbedding, TimeSoftmaxWithLoss};
use super::lstm::TimeLstm;
use super::model::{array1, array2};
use crate::arch::{Seq2seqArch, Seq2seqKind};
use crate::weights::Seq2seqWeights;

fn lstm<F: Real>(w: &Seq2seqWeights, name: &str, input: usize, stateful: bool) -> TimeLstm<F> {
    let h = w.arch.hidden_size;
    let params = CellParams {
        wx: array2(w.get(&format!("{name}.Wx")), input, 4 * h),
        wh: array2(w.get(&format!("{name}.Wh")), h, 4 * h),
        b: array1(w.get(&format!("{name}.b"))),
    };
    TimeLstm::new(params, stateful)
}

/// `np.concatenate((a, b), axis=2)`, in row-major order.
fn join<F: Real>(a: &Array3<F>, b: &Array3<F>) -> Array3<F> {
    concatenate![Axis(2), *a, *b].as_standard_layout().into_owned()
}

/// `h [N, H]` → `[N, T, H]`, zero but at the last step (how the book's
/// `Encoder.backward` hands `dh` to its LSTM).
fn at_last<F: Real>(dh: &Array2<F>, t: usize) -> Array3<F> {
    let (n, hidden) = dh.dim();
    let mut dhs = Array3::zeros((n, t, hidden));
    dhs.slice_mut(s![.., -1, ..]).assign(dh);
    dhs
}

/// `xs[:, ::-1]`, in row-major order.
fn reversed<F: Real>(xs: &Array3<F>) -> Array3<F> {
    xs.slice(s![.., ..;-1, ..]).to_owned()
}

/// `Encoder`/`AttentionEncoder`: TimeEmbedding → TimeLSTM (not stateful),
/// every `h` out. The bidirectional encoder runs a second TimeLSTM over the
/// reversed question (as the book's `TimeBiLSTM`) and adds its states to
/// the first's where `TimeBiLSTM` joins them.
pub struct Encoder<F: Real> {
    /// The question's characters as vectors.
    pub embed: TimeEmbedding<F>,
    /// Reads the question front to back.
    pub lstm: TimeLstm<F>,
    /// The bidirectional encoder's second LSTM, back to front.
    pub backward_lstm: Option<TimeLstm<F>>,
}

impl<F: Real> Encoder<F> {
    /// `xs [N, T]` → `hs [N, T, H]`.
    pub fn forward(&mut self, xs: &Array2<usize>) -> Array3<F> {
        let x = self.embed.forward(xs);
        let hs = self.lstm.forward(&x);
        match &mut self.backward_lstm {
            None => hs,
            Some(backward) => hs + reversed(&backward.forward(&reversed(&x))),
        }
    }

    /// `dhs [N, T, H]`, the gradient of every `h`.
    pub fn backward(&mut self, dhs: &Array3<F>) {
        let mut dout = self.lstm.backward(dhs);
        if let Some(backward) = &mut self.backward_lstm {
            dout = dout + reversed(&backward.backward(&reversed(dhs)));
        }
        self.embed.backward(&dout);
    }
}

/// `Decoder`, `PeekyDecoder` or `AttentionDecoder`: TimeEmbedding →
/// TimeLSTM (stateful, set to the encoder's last `h` with zero `c`) →
/// (TimeAttention) → TimeAffine.
pub struct Decoder<F: Real> {
    /// The answer's characters as vectors.
    pub embed: TimeEmbedding<F>,
    /// Writes the answer.
    pub lstm: TimeLstm<F>,
    /// The attention layer (used by `AttentionDecoder` only).
    pub attention: TimeAttention<F>,
    /// Scores of each character.
    pub affine: TimeAffine<F>,
    /// Which of the book's decoders.
    pub kind: Seq2seqKind,
    enc_dim: (usize, usize, usize),
}

impl<F: Real> Decoder<F> {
    /// `xs [N, T]` from the encoder's `enc_hs [N, Tq, H]` → scores `[N, T, V]`.
    pub fn forward(&mut self, xs: &Array2<usize>, enc_hs: &Array3<F>) -> Array3<F> {
        self.enc_dim = enc_hs.dim();
        let h = enc_hs.slice(s![.., -1, ..]).to_owned();
        self.lstm.set_state(h.clone(), Array2::zeros(h.raw_dim()));
        let out = self.embed.forward(xs);
        if self.kind.peeky() {
            let hs = Self::peek(&h, xs.ncols());
            let out = self.lstm.forward(&join(&hs, &out));
            return self.affine.forward(&join(&hs, &out));
        }
        let dec_hs = self.lstm.forward(&out);
        if !self.kind.attention() {
            return self.affine.forward(&dec_hs);
        }
        let c = self.attention.forward(enc_hs, &dec_hs);
        self.affine.forward(&join(&c, &dec_hs))
    }

    /// `h [N, H]` repeated at each of `t` steps, `[N, T, H]` (`np.repeat`).
    fn peek(h: &Array2<F>, t: usize) -> Array3<F> {
        let (n, hidden) = h.dim();
        h.clone().insert_axis(Axis(1)).broadcast((n, t, hidden)).expect("broadcast over T").to_owned()
    }

    /// `dscore [N, T, V]` → the gradient of the encoder's states `[N, Tq, H]`.
    pub fn backward(&mut self, dscore: &Array3<F>) -> Array3<F> {
        let dout = self.affine.backward(dscore);
        let hidden = self.lstm.params.wh.nrows();
        let tq = self.enc_dim.1;
        if self.kind.attention() {
            let (dc, ddec_hs0) = (dout.slice(s![.., .., ..hidden]).to_owned(), dout.slice(s![.., .., hidden..]));
            let (mut denc_hs, ddec_hs1) = self.attention.backward(self.enc_dim, &dc);
            let dout = self.lstm.backward(&(ddec_hs1 + ddec_hs0));
            let dh = self.lstm.dh.clone().expect("after backward");
            let mut last = denc_hs.slice_mut(s![.., -1, ..]);
            last += &dh;
            self.embed.backward(&dout);
            return denc_hs;
        }
        if !self.kind.peeky() {
            let dout = self.lstm.backward(&dout);
            self.embed.backward(&dout);
            return at_last(&self.lstm.dh.clone().expect("after backward"), tq);
        }
        let (dhs0, dout) = (dout.slice(s![.., .., ..hidden]).to_owned(), dout.slice(s![.., .., hidden..]).to_owned());
        let dout = self.lstm.backward(&dout);
        let (dhs1, dembed) = (dout.slice(s![.., .., ..hidden]).to_owned(), dout.slice(s![.., .., hidden..]).to_owned());
        self.embed.backward(&dembed);
        let dhs = dhs0 + dhs1;
        at_last(&(self.lstm.dh.clone().expect("after backward") + dhs.sum_axis(Axis(1))), tq)
    }

    /// Greedy generation for one batch: `sample_size` ids per row after
    /// `start_id`, and (with attention) each step's weights `[N, Tq]`.
    pub fn generate(
        &mut self,
        enc_hs: &Array3<F>,
        start_id: usize,
        sample_size: usize,
    ) -> (Array2<usize>, Vec<Array2<F>>) {
        let h = enc_hs.slice(s![.., -1, ..]).to_owned();
        let n = h.nrows();
        self.lstm.set_state(h.clone(), Array2::zeros(h.raw_dim()));
        let mut ids = Array2::from_elem((n, 1), start_id);
        let mut sampled = Array2::zeros((n, sample_size));
        let mut weights = Vec::new();
        for step in 0..sample_size {
            let mut out = self.embed.forward(&ids);
            if self.kind.peeky() {
                out = join(&Self::peek(&h, 1), &out);
            }
            out = self.lstm.forward(&out);
            if self.kind.peeky() {
                out = join(&Self::peek(&h, 1), &out);
            }
            if self.kind.attention() {
                let c = self.attention.forward(enc_hs, &out);
                weights.extend(self.attention.attention_weights());
                out = join(&c, &out);
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
        (sampled, weights)
    }
}

/// `Seq2seq` (or `PeekySeq2seq`, `AttentionSeq2seq`): encoder, decoder, TimeSoftmaxWithLoss.
pub struct Seq2seq<F: Real> {
    /// The sizes and the kind.
    pub arch: Seq2seqArch,
    /// Reads the question.
    pub encoder: Encoder<F>,
    /// Writes the answer.
    pub decoder: Decoder<F>,
    /// The loss.
    pub softmax: TimeSoftmaxWithLoss<F>,
}

impl<F: Real> Seq2seq<F> {
    /// The model of the weights `w`.
    pub fn from_weights(w: &Seq2seqWeights) -> Self {
        let a = w.arch;
        let (v, d) = (a.vocab_size, a.wordvec_size);
        Seq2seq {
            arch: a,
            encoder: Encoder {
                embed: TimeEmbedding::new(array2(w.get("encoder.embed.W"), v, d)),
                lstm: lstm(w, "encoder.lstm", d, false),
                backward_lstm: a.kind.bidirectional().then(|| lstm(w, "encoder.backward_lstm", d, false)),
            },
            decoder: Decoder {
                embed: TimeEmbedding::new(array2(w.get("decoder.embed.W"), v, d)),
                lstm: lstm(w, "decoder.lstm", a.decoder_lstm_input(), true),
                attention: TimeAttention::default(),
                affine: TimeAffine::new(
                    array2(w.get("decoder.affine.W"), a.affine_input(), v),
                    array1(w.get("decoder.affine.b")),
                ),
                kind: a.kind,
                enc_dim: (0, 0, 0),
            },
            softmax: TimeSoftmaxWithLoss::default(),
        }
    }

    /// `xs [N, Tq]`, `ts [N, Ta]` → the mean loss of teacher forcing.
    pub fn forward(&mut self, xs: &Array2<usize>, ts: &Array2<usize>) -> F {
        let (decoder_xs, decoder_ts) = (ts.slice(s![.., ..-1]).to_owned(), ts.slice(s![.., 1..]).to_owned());
        let hs = self.encoder.forward(xs);
        let score = self.decoder.forward(&decoder_xs, &hs);
        self.softmax.forward(&score, &decoder_ts)
    }

    /// The gradients of every parameter from that of the loss (`dout`, 1 for the loss itself), kept in the layers.
    pub fn backward(&mut self, dout: F) {
        let dout = self.softmax.backward(dout);
        let dhs = self.decoder.backward(&dout);
        self.encoder.backward(&dhs);
    }

    /// Greedy answers `[N, sample_size]` to the questions `xs [N, Tq]`.
    pub fn generate(&mut self, xs: &Array2<usize>, start_id: usize, sample_size: usize) -> Array2<usize> {
        self.answer(xs, start_id, sample_size).0
    }

    /// [`Seq2seq::generate`] with attention's weights at each step, `[N, Tq]` each.
    pub fn answer(
        &mut self,
        xs: &Array2<usize>,
        start_id: usize,
        sample_size: usize,
    ) -> (Array2<usize>, Vec<Array2<F>>) {
        let hs = self.encoder.forward(xs);
        self.decoder.generate(&hs, start_id, sample_size)
    }

    /// The gradients in the book's order ([`Seq2seqArch::params`]).
    pub fn grads(&self) -> Vec<ArrayD<F>> {
        let (e, d) = (&self.encoder, &self.decoder);
        let lstm = |l: &TimeLstm<F>| {
            [l.grads.wx.clone().into_dyn(), l.grads.wh.clone().into_dyn(), l.grads.b.clone().into_dyn()]
        };
        let mut g = vec![e.embed.embed.grad_w.clone().into_dyn()];
        g.extend(lstm(&e.lstm));
        if let Some(backward) = &e.backward_lstm {
            g.extend(lstm(backward));
        }
        g.push(d.embed.embed.grad_w.clone().into_dyn());
        g.extend(lstm(&d.lstm));
        g.extend([d.affine.grad_w.clone().into_dyn(), d.affine.grad_b.clone().into_dyn()]);
        g
    }

    /// Mutable views of the parameters, in the order of [`Seq2seq::grads`].
    pub fn params_mut(&mut self) -> Vec<ndarray::ArrayViewMutD<'_, F>> {
        let (e, d) = (&mut self.encoder, &mut self.decoder);
        fn lstm<F: Real>(l: &mut TimeLstm<F>) -> [ndarray::ArrayViewMutD<'_, F>; 3] {
            let p = &mut l.params;
            [p.wx.view_mut().into_dyn(), p.wh.view_mut().into_dyn(), p.b.view_mut().into_dyn()]
        }
        let mut p = vec![e.embed.embed.w.view_mut().into_dyn()];
        p.extend(lstm(&mut e.lstm));
        if let Some(backward) = &mut e.backward_lstm {
            p.extend(lstm(backward));
        }
        p.push(d.embed.embed.w.view_mut().into_dyn());
        p.extend(lstm(&mut d.lstm));
        p.extend([d.affine.w.view_mut().into_dyn(), d.affine.b.view_mut().into_dyn()]);
        p
    }
}
