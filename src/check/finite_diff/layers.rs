//! Each reference layer against central finite differences in f64: for every
//! layer the case it is checked on (weights, inputs, a random upstream
//! gradient `r` with `loss = Σ out ⊙ r`) directly above its check.

use ndarray::{Array2, Array3};
use rand::SeedableRng;
use rand::rngs::StdRng;

use super::{dot, numerical, randn1, randn2, randn3, slice};
use crate::check::fixtures::{Sizes, flat, random_ids};
use crate::check::{FD_TOLERANCE, Report, rel_err};
use crate::reference::{cell, gru, layers, lstm, rnn};

/// A row of the report: an analytic gradient against the numerical one.
fn row(report: &mut Report, what: &str, analytic: &[f64], numeric: &[f64]) {
    report.push(format!("reference vs finite differences: {what}"), rel_err(analytic, numeric), FD_TOLERANCE);
}

/// A cell's weights for `g` gates: `Wx [D, gH]` and `Wh [H, gH]` of scale
/// 0.5 (gate pre-activations spread over the sigmoid's curve), `b [gH]` of 0.1.
fn cell_params(rng: &mut StdRng, d: usize, h: usize, g: usize) -> cell::CellParams<f64> {
    cell::CellParams { wx: randn2(rng, d, g * h) * 0.5, wh: randn2(rng, h, g * h) * 0.5, b: randn1(rng, g * h) * 0.1 }
}

/// Every reference layer against central finite differences in f64, at the
/// small sizes, each from its own draws of one generator (in this order).
pub fn reference_vs_finite_differences(seed: u64) -> Report {
    let s = Sizes::SMALL;
    let mut rng = StdRng::seed_from_u64(seed + 3);
    let mut report = Report::default();
    let r = &mut report;
    rnn(&mut rng, s, r);
    time_rnn(&mut rng, s, r);
    lstm_step(&mut rng, s, r);
    time_lstm(&mut rng, s, r);
    gru_step(&mut rng, s, r);
    time_gru(&mut rng, s, r);
    time_dropout(&mut rng, s, seed, r);
    time_affine(&mut rng, s, r);
    time_embedding(&mut rng, s, r);
    time_softmax_with_loss(&mut rng, s, r);
    report
}

struct RnnCase {
    p: cell::CellParams<f64>,
    x: Array2<f64>,
    h: Array2<f64>,
    r: Array2<f64>, // upstream gradient: loss = sum(h_next ⊙ r)
}

/// RNN, one step.
fn rnn(rng: &mut StdRng, s: Sizes, report: &mut Report) {
    let (n, d, h) = (s.batch, s.wordvec, s.hidden);
    let mut c =
        RnnCase { p: cell_params(rng, d, h, 1), x: randn2(rng, n, d), h: randn2(rng, n, h), r: randn2(rng, n, h) };
    let rnn_loss: fn(&mut RnnCase) -> f64 = |c| dot(&rnn::Rnn::default().forward(&c.p, &c.x, &c.h), &c.r);
    let mut cell = rnn::Rnn::default();
    let mut grads = cell::CellGrads::zeros_like(&c.p);
    cell.forward(&c.p, &c.x, &c.h);
    let (dx, dh) = cell.backward(&c.p, &c.r, &mut grads);
    row(report, "RNN dx", &flat(&dx), &numerical(&mut c, |c| slice(&mut c.x), rnn_loss));
    row(report, "RNN dh_prev", &flat(&dh), &numerical(&mut c, |c| slice(&mut c.h), rnn_loss));
    row(report, "RNN dWx", &flat(&grads.wx), &numerical(&mut c, |c| slice(&mut c.p.wx), rnn_loss));
    row(report, "RNN dWh", &flat(&grads.wh), &numerical(&mut c, |c| slice(&mut c.p.wh), rnn_loss));
    row(report, "RNN db", &flat(&grads.b), &numerical(&mut c, |c| slice(&mut c.p.b), rnn_loss));
}

struct TimeRnnCase {
    layer: rnn::TimeRnn<f64>,
    xs: Array3<f64>,
    h0: Array2<f64>,
    r: Array3<f64>,
}

impl TimeRnnCase {
    fn loss(&mut self) -> f64 {
        self.layer.set_state(self.h0.clone());
        let hs = self.layer.forward(&self.xs);
        dot(&hs, &self.r)
    }
}

/// TimeRNN, starting from a given state.
fn time_rnn(rng: &mut StdRng, s: Sizes, report: &mut Report) {
    let (n, t, d, h) = (s.batch, s.time, s.wordvec, s.hidden);
    let params = cell_params(rng, d, h, 1);
    let mut c = TimeRnnCase {
        layer: rnn::TimeRnn::new(params, true),
        xs: randn3(rng, n, t, d),
        h0: randn2(rng, n, h),
        r: randn3(rng, n, t, h),
    };
    c.loss();
    let dxs = c.layer.backward(&c.r.clone());
    let g = (c.layer.grads.wx.clone(), c.layer.grads.wh.clone(), c.layer.grads.b.clone(), c.layer.dh.clone().unwrap());
    row(report, "TimeRNN dxs", &flat(&dxs), &numerical(&mut c, |c| slice(&mut c.xs), TimeRnnCase::loss));
    row(report, "TimeRNN dh0", &flat(&g.3), &numerical(&mut c, |c| slice(&mut c.h0), TimeRnnCase::loss));
    row(report, "TimeRNN dWx", &flat(&g.0), &numerical(&mut c, |c| slice(&mut c.layer.params.wx), TimeRnnCase::loss));
    row(report, "TimeRNN dWh", &flat(&g.1), &numerical(&mut c, |c| slice(&mut c.layer.params.wh), TimeRnnCase::loss));
    row(report, "TimeRNN db", &flat(&g.2), &numerical(&mut c, |c| slice(&mut c.layer.params.b), TimeRnnCase::loss));
}

struct LstmCase {
    p: cell::CellParams<f64>,
    x: Array2<f64>,
    h: Array2<f64>,
    c: Array2<f64>,
    rh: Array2<f64>, // loss = sum(h_next ⊙ rh) + sum(c_next ⊙ rc)
    rc: Array2<f64>,
}

impl LstmCase {
    fn loss(&mut self) -> f64 {
        let (h, c) = lstm::Lstm::default().forward(&self.p, &self.x, &self.h, &self.c);
        dot(&h, &self.rh) + dot(&c, &self.rc)
    }
}

/// LSTM, one step.
fn lstm_step(rng: &mut StdRng, s: Sizes, report: &mut Report) {
    let (n, d, h) = (s.batch, s.wordvec, s.hidden);
    let mut c = LstmCase {
        p: cell_params(rng, d, h, 4),
        x: randn2(rng, n, d),
        h: randn2(rng, n, h),
        c: randn2(rng, n, h),
        rh: randn2(rng, n, h),
        rc: randn2(rng, n, h),
    };
    let mut cell = lstm::Lstm::default();
    let mut grads = cell::CellGrads::zeros_like(&c.p);
    cell.forward(&c.p, &c.x, &c.h, &c.c);
    let (dx, dh, dc) = cell.backward(&c.p, &c.rh, &c.rc, &mut grads);
    row(report, "LSTM dx", &flat(&dx), &numerical(&mut c, |c| slice(&mut c.x), LstmCase::loss));
    row(report, "LSTM dh_prev", &flat(&dh), &numerical(&mut c, |c| slice(&mut c.h), LstmCase::loss));
    row(report, "LSTM dc_prev", &flat(&dc), &numerical(&mut c, |c| slice(&mut c.c), LstmCase::loss));
    row(report, "LSTM dWx", &flat(&grads.wx), &numerical(&mut c, |c| slice(&mut c.p.wx), LstmCase::loss));
    row(report, "LSTM dWh", &flat(&grads.wh), &numerical(&mut c, |c| slice(&mut c.p.wh), LstmCase::loss));
    row(report, "LSTM db", &flat(&grads.b), &numerical(&mut c, |c| slice(&mut c.p.b), LstmCase::loss));
}

struct TimeLstmCase {
    layer: lstm::TimeLstm<f64>,
    xs: Array3<f64>,
    h0: Array2<f64>,
    c0: Array2<f64>,
    r: Array3<f64>,
}

impl TimeLstmCase {
    fn loss(&mut self) -> f64 {
        self.layer.set_state(self.h0.clone(), self.c0.clone());
        let hs = self.layer.forward(&self.xs);
        dot(&hs, &self.r)
    }
}

/// TimeLSTM, starting from a given `(h, c)`.
fn time_lstm(rng: &mut StdRng, s: Sizes, report: &mut Report) {
    let (n, t, d, h) = (s.batch, s.time, s.wordvec, s.hidden);
    let mut c = TimeLstmCase {
        layer: lstm::TimeLstm::new(cell_params(rng, d, h, 4), true),
        xs: randn3(rng, n, t, d),
        h0: randn2(rng, n, h),
        c0: randn2(rng, n, h),
        r: randn3(rng, n, t, h),
    };
    c.loss();
    let dxs = c.layer.backward(&c.r.clone());
    let l = &c.layer;
    let g = (l.grads.wx.clone(), l.grads.wh.clone(), l.grads.b.clone(), l.dh.clone().unwrap(), l.dc.clone().unwrap());
    row(report, "TimeLSTM dxs", &flat(&dxs), &numerical(&mut c, |c| slice(&mut c.xs), TimeLstmCase::loss));
    row(report, "TimeLSTM dh0", &flat(&g.3), &numerical(&mut c, |c| slice(&mut c.h0), TimeLstmCase::loss));
    row(report, "TimeLSTM dc0", &flat(&g.4), &numerical(&mut c, |c| slice(&mut c.c0), TimeLstmCase::loss));
    row(report, "TimeLSTM dWx", &flat(&g.0), &numerical(&mut c, |c| slice(&mut c.layer.params.wx), TimeLstmCase::loss));
    row(report, "TimeLSTM dWh", &flat(&g.1), &numerical(&mut c, |c| slice(&mut c.layer.params.wh), TimeLstmCase::loss));
    row(report, "TimeLSTM db", &flat(&g.2), &numerical(&mut c, |c| slice(&mut c.layer.params.b), TimeLstmCase::loss));
}

struct GruCase {
    p: cell::CellParams<f64>,
    x: Array2<f64>,
    h: Array2<f64>,
    r: Array2<f64>,
}

impl GruCase {
    fn loss(&mut self) -> f64 {
        dot(&gru::Gru::default().forward(&self.p, &self.x, &self.h), &self.r)
    }
}

/// GRU, one step.
fn gru_step(rng: &mut StdRng, s: Sizes, report: &mut Report) {
    let (n, d, h) = (s.batch, s.wordvec, s.hidden);
    let mut c =
        GruCase { p: cell_params(rng, d, h, 3), x: randn2(rng, n, d), h: randn2(rng, n, h), r: randn2(rng, n, h) };
    let mut cell = gru::Gru::default();
    let mut grads = cell::CellGrads::zeros_like(&c.p);
    cell.forward(&c.p, &c.x, &c.h);
    let (dx, dh) = cell.backward(&c.p, &c.r, &mut grads);
    row(report, "GRU dx", &flat(&dx), &numerical(&mut c, |c| slice(&mut c.x), GruCase::loss));
    row(report, "GRU dh_prev", &flat(&dh), &numerical(&mut c, |c| slice(&mut c.h), GruCase::loss));
    row(report, "GRU dWx", &flat(&grads.wx), &numerical(&mut c, |c| slice(&mut c.p.wx), GruCase::loss));
    row(report, "GRU dWh", &flat(&grads.wh), &numerical(&mut c, |c| slice(&mut c.p.wh), GruCase::loss));
    row(report, "GRU db", &flat(&grads.b), &numerical(&mut c, |c| slice(&mut c.p.b), GruCase::loss));
}

struct TimeGruCase {
    layer: gru::TimeGru<f64>,
    xs: Array3<f64>,
    h0: Array2<f64>,
    r: Array3<f64>,
}

impl TimeGruCase {
    fn loss(&mut self) -> f64 {
        self.layer.set_state(self.h0.clone());
        let hs = self.layer.forward(&self.xs);
        dot(&hs, &self.r)
    }
}

/// TimeGRU, starting from a given state.
fn time_gru(rng: &mut StdRng, s: Sizes, report: &mut Report) {
    let (n, t, d, h) = (s.batch, s.time, s.wordvec, s.hidden);
    let mut c = TimeGruCase {
        layer: gru::TimeGru::new(cell_params(rng, d, h, 3), true),
        xs: randn3(rng, n, t, d),
        h0: randn2(rng, n, h),
        r: randn3(rng, n, t, h),
    };
    c.loss();
    let dxs = c.layer.backward(&c.r.clone());
    let g = (c.layer.grads.wx.clone(), c.layer.grads.wh.clone(), c.layer.grads.b.clone(), c.layer.dh.clone().unwrap());
    row(report, "TimeGRU dxs", &flat(&dxs), &numerical(&mut c, |c| slice(&mut c.xs), TimeGruCase::loss));
    row(report, "TimeGRU dh0", &flat(&g.3), &numerical(&mut c, |c| slice(&mut c.h0), TimeGruCase::loss));
    row(report, "TimeGRU dWx", &flat(&g.0), &numerical(&mut c, |c| slice(&mut c.layer.params.wx), TimeGruCase::loss));
    row(report, "TimeGRU dWh", &flat(&g.1), &numerical(&mut c, |c| slice(&mut c.layer.params.wh), TimeGruCase::loss));
    row(report, "TimeGRU db", &flat(&g.2), &numerical(&mut c, |c| slice(&mut c.layer.params.b), TimeGruCase::loss));
}

struct DropoutCase {
    layer: layers::TimeDropout<f64>,
    keep: Array3<bool>,
    x: Array3<f64>,
    r: Array3<f64>,
}

impl DropoutCase {
    fn loss(&mut self) -> f64 {
        self.layer.set_next_keep(self.keep.clone());
        let out = self.layer.forward(&self.x);
        dot(&out, &self.r)
    }
}

/// TimeDropout with a fixed mask (ratio 0.5: kept entries are doubled).
fn time_dropout(rng: &mut StdRng, s: Sizes, seed: u64, report: &mut Report) {
    let (n, t, h) = (s.batch, s.time, s.hidden);
    let mut c = DropoutCase {
        layer: layers::TimeDropout::new(0.5, seed),
        keep: Array3::from_shape_fn((n, t, h), |(i, j, k)| (i + 2 * j + 3 * k) % 3 != 0),
        x: randn3(rng, n, t, h),
        r: randn3(rng, n, t, h),
    };
    c.loss();
    let dx = c.layer.backward(&c.r.clone());
    row(report, "TimeDropout dx", &flat(&dx), &numerical(&mut c, |c| slice(&mut c.x), DropoutCase::loss));
}

struct AffineCase {
    layer: layers::TimeAffine<f64>,
    x: Array3<f64>,
    r: Array3<f64>,
}

/// TimeAffine.
fn time_affine(rng: &mut StdRng, s: Sizes, report: &mut Report) {
    let (n, t, v, h) = (s.batch, s.time, s.vocab, s.hidden);
    let mut c = AffineCase {
        layer: layers::TimeAffine::new(randn2(rng, h, v), randn1(rng, v)),
        x: randn3(rng, n, t, h),
        r: randn3(rng, n, t, v),
    };
    let affine_loss: fn(&mut AffineCase) -> f64 = |c| {
        let out = c.layer.forward(&c.x);
        dot(&out, &c.r)
    };
    affine_loss(&mut c);
    let dx = c.layer.backward(&c.r.clone());
    let (gw, gb) = (c.layer.grad_w.clone(), c.layer.grad_b.clone());
    row(report, "TimeAffine dx", &flat(&dx), &numerical(&mut c, |c| slice(&mut c.x), affine_loss));
    row(report, "TimeAffine dW", &flat(&gw), &numerical(&mut c, |c| slice(&mut c.layer.w), affine_loss));
    row(report, "TimeAffine db", &flat(&gb), &numerical(&mut c, |c| slice(&mut c.layer.b), affine_loss));
}

struct EmbedCase {
    layer: layers::TimeEmbedding<f64>,
    ids: Array2<usize>,
    r: Array3<f64>,
}

/// TimeEmbedding (ids repeat, so rows of dW collect several gradients).
fn time_embedding(rng: &mut StdRng, s: Sizes, report: &mut Report) {
    let (n, t, v, d) = (s.batch, s.time, s.vocab, s.wordvec);
    let mut c = EmbedCase {
        layer: layers::TimeEmbedding::new(randn2(rng, v, d)),
        ids: Array2::from_shape_fn((n, t), |(i, j)| (i * 7 + j * 3) % 5),
        r: randn3(rng, n, t, d),
    };
    let embed_loss: fn(&mut EmbedCase) -> f64 = |c| {
        let out = c.layer.forward(&c.ids);
        dot(&out, &c.r)
    };
    embed_loss(&mut c);
    c.layer.backward(&c.r.clone());
    let gw = c.layer.embed.grad_w.clone();
    row(report, "TimeEmbedding dW", &flat(&gw), &numerical(&mut c, |c| slice(&mut c.layer.embed.w), embed_loss));
}

struct SoftmaxCase {
    layer: layers::TimeSoftmaxWithLoss<f64>,
    x: Array3<f64>,
    ts: Array2<usize>,
}

/// TimeSoftmaxWithLoss.
fn time_softmax_with_loss(rng: &mut StdRng, s: Sizes, report: &mut Report) {
    let (n, t, v) = (s.batch, s.time, s.vocab);
    let mut c = SoftmaxCase {
        layer: layers::TimeSoftmaxWithLoss::default(),
        x: randn3(rng, n, t, v) * 3.0,
        ts: random_ids(rng, n, t, v),
    };
    let softmax_loss: fn(&mut SoftmaxCase) -> f64 = |c| c.layer.forward(&c.x, &c.ts);
    softmax_loss(&mut c);
    let dx = c.layer.backward(1.0);
    row(report, "TimeSoftmaxWithLoss dx", &flat(&dx), &numerical(&mut c, |c| slice(&mut c.x), softmax_loss));
}
