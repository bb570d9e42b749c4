use ndarray::{ArrayD, ArrayViewMutD, Zip};

use super::Real;

/// The book's `clip_grads`: one norm over ALL gradients together; if it
/// exceeds `max_norm`, every gradient is scaled by `max_norm / (norm + 1e-6)`.
/// Returns the norm before clipping.
pub fn clip_grads<F: Real>(grads: &mut [ArrayD<F>], max_norm: F) -> F {
    let total: F = grads.iter().map(|g| g.iter().map(|&x| x * x).sum::<F>()).sum::<F>().sqrt();
    let rate = max_norm / (total + F::from_f64(1e-6).expect("constant"));
    if rate < F::one() {
        for g in grads.iter_mut() {
            g.mapv_inplace(|x| x * rate);
        }
    }
    total
}

/// The book's `Adam`: at step t, `lr_t = lr·sqrt(1-β2^t)/(1-β1^t)`,
/// `m += (1-β1)(g-m)`, `v += (1-β2)(g²-v)`, `param -= lr_t·m/(sqrt(v)+1e-7)`.
/// Note the 1e-7 is added to the uncorrected `sqrt(v)`.
pub struct Adam<F: Real> {
    /// The learning rate.
    pub lr: F,
    /// β1, 0.9.
    pub beta1: F,
    /// β2, 0.999.
    pub beta2: F,
    /// Steps taken.
    pub iter: i32,
    /// The first moment of each parameter.
    pub m: Vec<ArrayD<F>>,
    /// The second moment of each parameter.
    pub v: Vec<ArrayD<F>>,
}

impl<F: Real> Adam<F> {
    /// The book's Adam with learning rate `lr`, β1 0.9 and β2 0.999.
    pub fn new(lr: F) -> Self {
        let c = |x: f64| F::from_f64(x).expect("constant");
        Self { lr, beta1: c(0.9), beta2: c(0.999), iter: 0, m: Vec::new(), v: Vec::new() }
    }
}

/// An update rule: new parameters from the gradients.
pub trait Optimizer<F: Real> {
    /// Updates `params` in place from their `grads`, in the same order.
    fn update(&mut self, params: &mut [ArrayViewMutD<'_, F>], grads: &[ArrayD<F>]);
}

/// The book's `SGD`: `param -= lr·grad`.
pub struct Sgd<F: Real> {
    /// The learning rate.
    pub lr: F,
}

impl<F: Real> Optimizer<F> for Sgd<F> {
    fn update(&mut self, params: &mut [ArrayViewMutD<'_, F>], grads: &[ArrayD<F>]) {
        let lr = self.lr;
        for (p, g) in params.iter_mut().zip(grads) {
            Zip::from(p).and(g).for_each(|p, &g| *p -= lr * g);
        }
    }
}

impl<F: Real> Optimizer<F> for Adam<F> {
    fn update(&mut self, params: &mut [ArrayViewMutD<'_, F>], grads: &[ArrayD<F>]) {
        if self.m.is_empty() {
            self.m = params.iter().map(|p| ArrayD::zeros(p.raw_dim())).collect();
            self.v = params.iter().map(|p| ArrayD::zeros(p.raw_dim())).collect();
        }
        self.iter += 1;
        let one = F::one();
        let lr_t = self.lr * (one - self.beta2.powi(self.iter)).sqrt() / (one - self.beta1.powi(self.iter));
        let eps = F::from_f64(1e-7).expect("constant");
        let (b1, b2) = (self.beta1, self.beta2);
        for ((p, g), (m, v)) in params.iter_mut().zip(grads).zip(self.m.iter_mut().zip(self.v.iter_mut())) {
            Zip::from(p).and(g).and(m).and(v).for_each(|p, &g, m, v| {
                *m += (one - b1) * (g - *m);
                *v += (one - b2) * (g * g - *v);
                *p -= lr_t * *m / (v.sqrt() + eps);
            });
        }
    }
}
