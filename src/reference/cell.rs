//! What the reference's recurrent cells share: their packed parameters and
//! gradients, and the sigmoid.

use ndarray::{Array1, Array2};

use super::Real;

/// Parameters of one recurrent layer, shared by all its time steps. The gates
/// of a step are packed side by side: G = 1 for the RNN, 4 for the LSTM
/// (f, g, i, o), 3 for the GRU (z, r, h̃).
pub struct CellParams<F: Real> {
    /// `[D, G·H]`
    pub wx: Array2<F>,
    /// `[H, G·H]`
    pub wh: Array2<F>,
    /// `[G·H]`
    pub b: Array1<F>,
}

/// Gradients of [`CellParams`].
pub struct CellGrads<F: Real> {
    /// Of `Wx`.
    pub wx: Array2<F>,
    /// Of `Wh`.
    pub wh: Array2<F>,
    /// Of `b`.
    pub b: Array1<F>,
}

impl<F: Real> CellGrads<F> {
    /// Zeros of the shapes of `p`.
    pub fn zeros_like(p: &CellParams<F>) -> Self {
        Self { wx: Array2::zeros(p.wx.raw_dim()), wh: Array2::zeros(p.wh.raw_dim()), b: Array1::zeros(p.b.raw_dim()) }
    }

    /// Adds one step's gradients (a Time layer sums them over its steps).
    pub fn add(&mut self, step: &CellGrads<F>) {
        self.wx += &step.wx;
        self.wh += &step.wh;
        self.b += &step.b;
    }
}

/// The logistic sigmoid, as the book's `1 / (1 + exp(-x))`.
pub fn sigmoid<F: Real>(x: F) -> F {
    F::one() / (F::one() + (-x).exp())
}
