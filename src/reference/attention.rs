//! The book's attention (`ch08/attention_layer.py`), layer by layer with its
//! hand-written backward: `WeightSum`, `AttentionWeight` (with
//! `common/layers.py`'s `Softmax`), `Attention` (one decoder step) and
//! `TimeAttention` (one `Attention` per step).

use ndarray::{Array2, Array3, Axis, s};

use super::Real;

/// `Softmax` over the last axis of `[N, T]`.
struct Softmax<F: Real> {
    out: Array2<F>,
}

impl<F: Real> Softmax<F> {
    fn forward(&mut self, x: &Array2<F>) -> Array2<F> {
        let mut y = x.clone();
        for mut row in y.rows_mut() {
            let max = row.fold(F::neg_infinity(), |m, &v| m.max(v));
            row.mapv_inplace(|v| (v - max).exp());
            let sum = row.sum();
            row.mapv_inplace(|v| v / sum);
        }
        self.out = y.clone();
        y
    }

    /// `dx = y·dout − y·Σ(y·dout)`.
    fn backward(&self, dout: &Array2<F>) -> Array2<F> {
        let mut dx = &self.out * dout;
        let sumdx = dx.sum_axis(Axis(1)).insert_axis(Axis(1));
        dx = dx - &self.out * &sumdx;
        dx
    }
}

/// Empty arrays, for the caches before the first forward.
fn empty2<F: Real>() -> Array2<F> {
    Array2::zeros((0, 0))
}

fn empty3<F: Real>() -> Array3<F> {
    Array3::zeros((0, 0, 0))
}

impl<F: Real> Default for Softmax<F> {
    fn default() -> Self {
        Softmax { out: empty2() }
    }
}

impl<F: Real> Default for WeightSum<F> {
    fn default() -> Self {
        WeightSum { hs: empty3(), a: empty2() }
    }
}

impl<F: Real> Default for AttentionWeight<F> {
    fn default() -> Self {
        AttentionWeight { softmax: Softmax::default(), hs: empty3(), h: empty2() }
    }
}

impl<F: Real> Default for Attention<F> {
    fn default() -> Self {
        Attention { weight: AttentionWeight::default(), sum: WeightSum::default(), attention_weight: empty2() }
    }
}

impl<F: Real> Default for TimeAttention<F> {
    fn default() -> Self {
        TimeAttention { layers: Vec::new() }
    }
}

/// `WeightSum`: `c = Σ_t a_t · hs_t`.
pub struct WeightSum<F: Real> {
    hs: Array3<F>,
    a: Array2<F>,
}

impl<F: Real> WeightSum<F> {
    /// `hs [N, T, H]`, `a [N, T]` → `c [N, H]`.
    pub fn forward(&mut self, hs: &Array3<F>, a: &Array2<F>) -> Array2<F> {
        let t = hs * &a.clone().insert_axis(Axis(2));
        self.hs = hs.clone();
        self.a = a.clone();
        t.sum_axis(Axis(1))
    }

    /// `dc [N, H]` → `dhs [N, T, H]`, `da [N, T]`.
    pub fn backward(&self, dc: &Array2<F>) -> (Array3<F>, Array2<F>) {
        let dt = dc.clone().insert_axis(Axis(1)); // broadcast over T, the book's repeat
        let dar = &dt * &self.hs;
        let dhs = &dt * &self.a.clone().insert_axis(Axis(2));
        (dhs, dar.sum_axis(Axis(2)))
    }
}

/// `AttentionWeight`: `a = softmax(Σ_h hs · h)`.
pub struct AttentionWeight<F: Real> {
    softmax: Softmax<F>,
    hs: Array3<F>,
    h: Array2<F>,
}

impl<F: Real> AttentionWeight<F> {
    /// `hs [N, T, H]`, `h [N, H]` → `a [N, T]`.
    pub fn forward(&mut self, hs: &Array3<F>, h: &Array2<F>) -> Array2<F> {
        let hr = h.clone().insert_axis(Axis(1));
        let scores = (hs * &hr).sum_axis(Axis(2));
        self.hs = hs.clone();
        self.h = h.clone();
        self.softmax.forward(&scores)
    }

    /// `da [N, T]` → `dhs [N, T, H]`, `dh [N, H]`.
    pub fn backward(&self, da: &Array2<F>) -> (Array3<F>, Array2<F>) {
        let ds = self.softmax.backward(da);
        let dt = ds.insert_axis(Axis(2)); // broadcast over H, the book's repeat
        let dhs = &dt * &self.h.clone().insert_axis(Axis(1));
        let dhr = &dt * &self.hs;
        (dhs, dhr.sum_axis(Axis(1)))
    }
}

/// `Attention`: one decoder step.
pub struct Attention<F: Real> {
    weight: AttentionWeight<F>,
    sum: WeightSum<F>,
    /// The weights of the last forward, `[N, T]`.
    pub attention_weight: Array2<F>,
}

impl<F: Real> Attention<F> {
    /// `hs [N, T, H]`, `h [N, H]` → `c [N, H]`.
    pub fn forward(&mut self, hs: &Array3<F>, h: &Array2<F>) -> Array2<F> {
        let a = self.weight.forward(hs, h);
        let out = self.sum.forward(hs, &a);
        self.attention_weight = a;
        out
    }

    /// `dout [N, H]` → `dhs [N, T, H]`, `dh [N, H]`.
    pub fn backward(&self, dout: &Array2<F>) -> (Array3<F>, Array2<F>) {
        let (dhs0, da) = self.sum.backward(dout);
        let (dhs1, dh) = self.weight.backward(&da);
        (dhs0 + dhs1, dh)
    }
}

/// `TimeAttention`: an `Attention` at each decoder step.
pub struct TimeAttention<F: Real> {
    layers: Vec<Attention<F>>,
}

impl<F: Real> TimeAttention<F> {
    /// `hs_enc [N, Te, H]`, `hs_dec [N, Td, H]` → contexts `[N, Td, H]`.
    pub fn forward(&mut self, hs_enc: &Array3<F>, hs_dec: &Array3<F>) -> Array3<F> {
        let mut out = Array3::zeros(hs_dec.raw_dim());
        self.layers.clear();
        for t in 0..hs_dec.dim().1 {
            let mut layer = Attention::default();
            out.slice_mut(s![.., t, ..]).assign(&layer.forward(hs_enc, &hs_dec.slice(s![.., t, ..]).to_owned()));
            self.layers.push(layer);
        }
        out
    }

    /// The weights of the last forward, one `[N, Te]` per decoder step.
    pub fn attention_weights(&self) -> Vec<Array2<F>> {
        self.layers.iter().map(|l| l.attention_weight.clone()).collect()
    }

    /// `dout [N, Td, H]` → `dhs_enc [N, Te, H]`, `dhs_dec [N, Td, H]`.
    pub fn backward(&self, hs_enc_dim: (usize, usize, usize), dout: &Array3<F>) -> (Array3<F>, Array3<F>) {
        let mut dhs_enc = Array3::zeros(hs_enc_dim);
        let mut dhs_dec = Array3::zeros(dout.raw_dim());
        for (t, layer) in self.layers.iter().enumerate() {
            let (dhs, dh) = layer.backward(&dout.slice(s![.., t, ..]).to_owned());
            dhs_enc += &dhs;
            dhs_dec.slice_mut(s![.., t, ..]).assign(&dh);
        }
        (dhs_enc, dhs_dec)
    }
}
