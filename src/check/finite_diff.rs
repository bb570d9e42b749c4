//! The manual-backward reference against central finite differences in f64:
//! every layer (`layers.rs`), then every whole model (here), at the small sizes.

use ndarray::{Array1, Array2, Array3, ArrayD};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use rand_distr::{Distribution, StandardNormal};

use super::fixtures::{Sizes, check_weights, flat, model_config, random_ids};
use super::{FD_EPSILON, FD_TOLERANCE, Report, rel_err};
use crate::arch::ModelKind;
use crate::reference;

mod layers;
pub use layers::reference_vs_finite_differences;

/// Central differences of `loss` with respect to the entries of the array
/// that `select` picks out of `case`, perturbed in place.
fn numerical<C>(case: &mut C, select: fn(&mut C) -> &mut [f64], loss: fn(&mut C) -> f64) -> Vec<f64> {
    let n = select(case).len();
    (0..n)
        .map(|i| {
            let orig = select(case)[i];
            select(case)[i] = orig + FD_EPSILON;
            let plus = loss(case);
            select(case)[i] = orig - FD_EPSILON;
            let minus = loss(case);
            select(case)[i] = orig;
            (plus - minus) / (2.0 * FD_EPSILON)
        })
        .collect()
}

fn randn2(rng: &mut StdRng, r: usize, c: usize) -> Array2<f64> {
    Array2::from_shape_fn((r, c), |_| StandardNormal.sample(rng))
}
fn randn3(rng: &mut StdRng, a: usize, b: usize, c: usize) -> Array3<f64> {
    Array3::from_shape_fn((a, b, c), |_| StandardNormal.sample(rng))
}
fn randn1(rng: &mut StdRng, n: usize) -> Array1<f64> {
    Array1::from_shape_fn(n, |_| StandardNormal.sample(rng))
}
fn slice<D: ndarray::Dimension>(a: &mut ndarray::Array<f64, D>) -> &mut [f64] {
    a.as_slice_mut().expect("standard layout")
}
fn dot<D: ndarray::Dimension>(a: &ndarray::Array<f64, D>, b: &ndarray::Array<f64, D>) -> f64 {
    (a * b).sum()
}

struct ModelCase {
    model: reference::Rnnlm<f64>,
    xs: Array2<usize>,
    ts: Array2<usize>,
    state: Vec<Option<Vec<Array2<f64>>>>,
    masks: Vec<Array3<bool>>,
    /// The parameter being perturbed, by its index in the book's order.
    which: usize,
}

impl ModelCase {
    fn loss(&mut self) -> f64 {
        self.model.set_state(self.state.clone());
        if !self.masks.is_empty() {
            self.model.set_next_masks(self.masks.clone());
        }
        self.model.forward(&self.xs, &self.ts)
    }

    fn param(&mut self) -> &mut [f64] {
        let k = self.which;
        self.model.params_mut().swap_remove(k).into_slice().expect("standard layout")
    }
}

/// The whole reference model against central finite differences in f64, at
/// the small sizes, from a non-zero carried state (and fixed dropout masks):
/// the gradient of every parameter (with tied weights, the embedding's
/// gradient collects both of its uses).
pub fn reference_model_vs_finite_differences(model: ModelKind, seed: u64) -> Report {
    let s = Sizes::SMALL.for_model(model);
    let (n, t, v, h) = (s.batch, s.time, s.vocab, s.hidden);
    let mut rng = StdRng::seed_from_u64(seed + 4);
    let w = check_weights(model, s, seed);
    let dropout = model_config(model, s).dropout;
    let mut m = reference::Rnnlm::from_weights(&w, dropout, seed).expect("valid weights");
    let state = (0..w.arch.layers)
        .map(|_| {
            Some(
                (0..if w.arch.cell == crate::arch::CellKind::Lstm { 2 } else { 1 })
                    .map(|_| randn2(&mut rng, n, h) * 0.5)
                    .collect(),
            )
        })
        .collect();
    let masks = (0..m.dropouts.len())
        .map(|k| {
            let width = if k == 0 { s.wordvec } else { h };
            Array3::from_shape_fn((n, t, width), |_| rng.random::<f64>() >= dropout)
        })
        .collect();
    m.train = true;
    let mut c = ModelCase {
        model: m,
        xs: random_ids(&mut rng, n, t, v),
        ts: random_ids(&mut rng, n, t, v),
        state,
        masks,
        which: 0,
    };
    c.loss();
    c.model.backward(1.0);
    let grads: Vec<ArrayD<f64>> = c.model.grads();
    let mut report = Report::default();
    for (k, ((name, _), g)) in w.arch.params().into_iter().zip(&grads).enumerate() {
        c.which = k;
        let numeric = numerical(&mut c, ModelCase::param, ModelCase::loss);
        report.push(
            format!("reference vs finite differences: {} ({model}) d{name}", model.book_name()),
            rel_err(&flat(g), &numeric),
            FD_TOLERANCE,
        );
    }
    report
}
