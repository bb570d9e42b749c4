//! The book's optimiser and gradient clipping for Burn models.
//!
//! Burn's `Adam` adds its epsilon to the bias-corrected `sqrt(v̂)` and its
//! `GradientClippingConfig::Norm` clips every tensor by its own norm. The book
//! adds 1e-7 to the uncorrected `sqrt(v)` and clips by one norm over all the
//! gradients together; both are reproduced here exactly.

use burn::module::{Module, ModuleVisitor, Param};
use burn::optim::{AdaptiveMomentumState, GradientsParams, LearningRate, Optimizer};
use burn::tensor::{Device, Tensor};

/// The book's `Adam` (`common/optimizer.py`) as a Burn [`Optimizer`]: at step t,
/// `lr_t = lr·sqrt(1-β2^t)/(1-β1^t)`, `m += (1-β1)(g-m)`, `v += (1-β2)(g²-v)`,
/// `param -= lr_t·m/(sqrt(v)+ε)`.
///
/// Its state is Burn's own [`AdaptiveMomentumState`] (step, m, v), so Burn's
/// checkpoints save and restore it.
#[derive(Clone, Debug)]
pub struct BookAdam {
    /// β1, 0.9 in the book.
    pub beta1: f64,
    /// β2, 0.999 in the book.
    pub beta2: f64,
    /// ε, 1e-7 in the book, added to the uncorrected `sqrt(v)`.
    pub epsilon: f64,
}

impl Default for BookAdam {
    fn default() -> Self {
        Self { beta1: 0.9, beta2: 0.999, epsilon: 1e-7 }
    }
}

impl Optimizer for BookAdam {
    type State<const D: usize> = AdaptiveMomentumState<D>;

    fn step<const D: usize>(
        &self,
        lr: LearningRate,
        tensor: Tensor<D>,
        grad: Tensor<D>,
        state: Option<Self::State<D>>,
    ) -> (Tensor<D>, Option<Self::State<D>>) {
        let (m, v, t) = match state {
            Some(s) => (s.moment_1, s.moment_2, s.time + 1),
            None => (grad.zeros_like(), grad.zeros_like(), 1),
        };
        // The same arithmetic as the book, ordered so that each intermediate
        // is uniquely owned when the next op consumes it: the backend can then
        // reuse its buffer instead of allocating (this pass touches every
        // parameter every step, so allocations dominate its cost).
        let g2 = grad.clone().square();
        let m = m.clone() + (grad - m).mul_scalar(1.0 - self.beta1); // m += (1-β1)(g-m)
        let v = v.clone() + (g2 - v).mul_scalar(1.0 - self.beta2); // v += (1-β2)(g²-v)
        let lr_t = lr * (1.0 - self.beta2.powi(t as i32)).sqrt() / (1.0 - self.beta1.powi(t as i32));
        let denom = v.clone().sqrt().add_scalar(self.epsilon);
        let update = m.clone().div(denom).mul_scalar(lr_t); // lr_t·m/(sqrt(v)+ε)
        (tensor - update, Some(AdaptiveMomentumState::new(t, m, v)))
    }

    fn to_device<const D: usize>(state: Self::State<D>, device: &Device) -> Self::State<D> {
        state.to_device(device)
    }
}

/// Sums the squares of every gradient of a module.
struct SquaredNorm<'a> {
    grads: &'a GradientsParams,
    total: Option<Tensor<1>>,
}

impl ModuleVisitor for SquaredNorm<'_> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        if let Some(g) = self.grads.get::<D>(param.id) {
            let s = g.square().sum(); // [1]
            self.total = Some(match self.total.take() {
                Some(t) => t + s,
                None => s,
            });
        }
    }
}

/// Multiplies every gradient of a module by one factor.
struct Scale<'a> {
    grads: &'a mut GradientsParams,
    rate: f64,
}

impl ModuleVisitor for Scale<'_> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        if let Some(g) = self.grads.remove::<D>(param.id) {
            self.grads.register(param.id, g.mul_scalar(self.rate));
        }
    }
}

/// The global L2 norm of all of `module`'s gradients.
pub fn grad_norm<M: Module>(module: &M, grads: &GradientsParams) -> f64 {
    let mut visitor = SquaredNorm { grads, total: None };
    module.visit(&mut visitor);
    visitor.total.map_or(0.0, |t| t.into_scalar::<f64>().sqrt())
}

/// The book's `clip_grads`: `rate = max_norm / (total_norm + 1e-6)`, and if
/// `rate < 1` every gradient is multiplied by it. Returns the norm before
/// clipping.
pub fn clip_grads_global<M: Module>(module: &M, grads: &mut GradientsParams, max_norm: f64) -> f64 {
    let total = grad_norm(module, grads);
    let rate = max_norm / (total + 1e-6);
    if rate < 1.0 {
        module.visit(&mut Scale { grads, rate });
    }
    total
}
