//! The book's optimiser and gradient clipping for Burn models.
//!
//! Burn's `Adam` adds its epsilon to the bias-corrected `sqrt(v̂)` and its
//! `GradientClippingConfig::Norm` clips every tensor by its own norm. The book
//! adds 1e-7 to the uncorrected `sqrt(v)` and clips by one norm over all the
//! gradients together; both are reproduced here exactly.

use burn::module::{Module, ModuleVisitor, Param};
use burn::optim::{
    AdaptiveMomentumState, GradientsParams, LearningRate, Optimizer, RecordState, StateSink, StateSource,
};
use burn::tensor::{DType, Device, Tensor, TensorData};

use crate::cpu;
use crate::device::in_host_memory;

/// The book's `Adam` (`common/optimizer.py`) as a Burn [`Optimizer`]: at step t,
/// `lr_t = lr·sqrt(1-β2^t)/(1-β1^t)`, `m += (1-β1)(g-m)`, `v += (1-β2)(g²-v)`,
/// `param -= lr_t·m/(sqrt(v)+ε)`.
///
/// Its state is Burn's own [`AdaptiveMomentumState`] (step, m, v), so Burn's
/// checkpoints save and restore it ([`AdamState`]).
///
/// On a CPU backend the update is one loop over the parameter's buffer
/// (`cpu::optim::adam_step`): as tensor ops it is ~13 separate passes, each reading
/// and writing a full-size tensor, and Adam touches every parameter every
/// step. The loop does the same f32 operations in the same order, so it gives
/// the same numbers (a test holds it to the tensor-op path); on a GPU the
/// tensor ops run where the parameters are.
#[derive(Clone, Debug)]
pub struct BookAdam {
    /// β1, 0.9 in the book.
    pub beta1: f64,
    /// β2, 0.999 in the book.
    pub beta2: f64,
    /// ε, 1e-7 in the book, added to the uncorrected `sqrt(v)`.
    pub epsilon: f64,
    /// Update host-memory parameters in one fused loop (true by default).
    pub fuse_on_host: bool,
}

impl Default for BookAdam {
    fn default() -> Self {
        Self { beta1: 0.9, beta2: 0.999, epsilon: 1e-7, fuse_on_host: true }
    }
}

impl BookAdam {
    /// The same optimiser computed with Burn tensor ops only, on every backend:
    /// the plain form that the fused loop is tested against.
    pub fn unfused() -> Self {
        Self { fuse_on_host: false, ..Self::default() }
    }
}

/// [`BookAdam`]'s state of one parameter: Burn's [`AdaptiveMomentumState`],
/// or, read back from a checkpoint, its values in host memory until the
/// first step puts them on the parameter's own device.
///
/// Burn's optimizer reads a checkpoint's state onto `Device::default()`
/// (`ModuleOptimizer::load_record`), which is not the run's device: in a
/// build with wgpu it is the GPU, and where there is none, a panic. Kept on
/// the host, the state needs no device until the step that uses it.
// One per parameter, replaced at every step: boxing the larger variant would
// allocate at every step for nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Clone)]
pub enum AdamState<const D: usize> {
    /// On the parameter's device.
    Live(AdaptiveMomentumState<D>),
    /// As read from a checkpoint: the step count and the two moments.
    Read {
        /// Steps taken.
        time: usize,
        /// `m`, the mean of the gradients.
        moment_1: TensorData,
        /// `v`, the mean of their squares.
        moment_2: TensorData,
    },
}

impl<const D: usize> RecordState for AdamState<D> {
    fn state_flatten(&self, prefix: &str, out: &mut StateSink) {
        // The names of Burn's own AdaptiveMomentumState, so checkpoints read either way.
        match self {
            AdamState::Live(s) => s.state_flatten(prefix, out),
            AdamState::Read { time, moment_1, moment_2 } => {
                out.push_scalar(prefix, "time", (*time).into());
                out.push_tensor(prefix, "moment_1", moment_1.clone());
                out.push_tensor(prefix, "moment_2", moment_2.clone());
            }
        }
    }

    fn state_unflatten(prefix: &str, src: &mut StateSource, _: &Device) -> Option<Self> {
        let time = usize::try_from(src.take_scalar(prefix, "time")?).ok()?;
        let moment_1 = src.take_tensor(prefix, "moment_1")?;
        let moment_2 = src.take_tensor(prefix, "moment_2")?;
        Some(AdamState::Read { time, moment_1, moment_2 })
    }
}

impl Optimizer for BookAdam {
    type State<const D: usize> = AdamState<D>;

    fn step<const D: usize>(
        &self,
        lr: LearningRate,
        tensor: Tensor<D>,
        grad: Tensor<D>,
        state: Option<Self::State<D>>,
    ) -> (Tensor<D>, Option<Self::State<D>>) {
        let device = grad.device();
        let (m, v, t) = match state {
            Some(AdamState::Live(s)) => (s.moment_1, s.moment_2, s.time + 1),
            Some(AdamState::Read { time, moment_1, moment_2 }) => {
                (Tensor::from_data(moment_1, &device), Tensor::from_data(moment_2, &device), time + 1)
            }
            None => (grad.zeros_like(), grad.zeros_like(), 1),
        };
        let lr_t = lr * (1.0 - self.beta2.powi(t as i32)).sqrt() / (1.0 - self.beta1.powi(t as i32));
        if self.fuse_on_host && [&tensor, &grad, &m, &v].iter().all(|t| host_f32(t)) {
            let coefs = cpu::optim::AdamCoefs {
                one_minus_beta1: (1.0 - self.beta1) as f32,
                one_minus_beta2: (1.0 - self.beta2) as f32,
                epsilon: self.epsilon as f32,
                lr_t: lr_t as f32,
            };
            let (tensor, m, v) = cpu::optim::adam_step(&coefs, tensor, grad, m, v);
            return (tensor, Some(AdamState::Live(AdaptiveMomentumState::new(t, m, v))));
        }
        // The same arithmetic as the book, ordered so that each intermediate
        // is uniquely owned when the next op consumes it: the backend can then
        // reuse its buffer instead of allocating.
        let g2 = grad.clone().square();
        let m = m.clone() + (grad - m).mul_scalar(1.0 - self.beta1); // m += (1-β1)(g-m)
        let v = v.clone() + (g2 - v).mul_scalar(1.0 - self.beta2); // v += (1-β2)(g²-v)
        let denom = v.clone().sqrt().add_scalar(self.epsilon);
        let update = m.clone().div(denom).mul_scalar(lr_t); // lr_t·m/(sqrt(v)+ε)
        (tensor - update, Some(AdamState::Live(AdaptiveMomentumState::new(t, m, v))))
    }

    fn to_device<const D: usize>(state: Self::State<D>, device: &Device) -> Self::State<D> {
        match state {
            AdamState::Live(s) => AdamState::Live(s.to_device(device)),
            read => read, // goes to the parameter's device at its step
        }
    }
}

/// Whether host code may work on this tensor's buffer as f32s: an f32
/// tensor in host memory.
fn host_f32<const D: usize>(t: &Tensor<D>) -> bool {
    t.dtype() == DType::F32 && in_host_memory(&t.device())
}

/// Sums the squares of every gradient of a module: on the host for buffers in
/// host memory (one read, accumulated in f64), with tensor ops elsewhere.
struct SquaredNorm<'a> {
    grads: &'a mut GradientsParams,
    on_host: bool,
    host_total: f64,
    device_total: Option<Tensor<1>>,
}

impl ModuleVisitor for SquaredNorm<'_> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        let Some(g) = self.grads.remove::<D>(param.id) else { return };
        if self.on_host && host_f32(&g) {
            let (sum, g) = cpu::optim::sum_of_squares(g);
            self.host_total += sum;
            self.grads.register(param.id, g);
        } else {
            let s = g.clone().square().sum(); // [1]
            self.device_total = Some(match self.device_total.take() {
                Some(t) => t + s,
                None => s,
            });
            self.grads.register(param.id, g);
        }
    }
}

/// Multiplies every gradient of a module by one factor (in place on the host
/// where the buffers are in host memory).
struct Scale<'a> {
    grads: &'a mut GradientsParams,
    on_host: bool,
    rate: f64,
}

impl ModuleVisitor for Scale<'_> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        let Some(g) = self.grads.remove::<D>(param.id) else { return };
        let g =
            if self.on_host && host_f32(&g) { cpu::optim::scale(g, self.rate as f32) } else { g.mul_scalar(self.rate) };
        self.grads.register(param.id, g);
    }
}

/// The global L2 norm of all of `module`'s gradients.
pub fn grad_norm<M: Module>(module: &M, grads: &mut GradientsParams) -> f64 {
    grad_norm_with(module, grads, true)
}

fn grad_norm_with<M: Module>(module: &M, grads: &mut GradientsParams, on_host: bool) -> f64 {
    let mut visitor = SquaredNorm { grads, on_host, host_total: 0.0, device_total: None };
    module.visit(&mut visitor);
    let device_total = visitor.device_total.map_or(0.0, |t| t.into_scalar::<f64>());
    (visitor.host_total + device_total).sqrt()
}

/// The book's `clip_grads`: `rate = max_norm / (total_norm + 1e-6)`, and if
/// `rate < 1` every gradient is multiplied by it. Returns the norm before
/// clipping.
pub fn clip_grads_global<M: Module>(module: &M, grads: &mut GradientsParams, max_norm: f64) -> f64 {
    clip_grads_global_with(module, grads, max_norm, true)
}

/// [`clip_grads_global`], with `on_host: false` computed by Burn tensor ops
/// alone on every backend (the plain form the host loops are tested against).
pub fn clip_grads_global_with<M: Module>(module: &M, grads: &mut GradientsParams, max_norm: f64, on_host: bool) -> f64 {
    let total = grad_norm_with(module, grads, on_host);
    let rate = max_norm / (total + 1e-6);
    if rate < 1.0 {
        module.visit(&mut Scale { grads, on_host, rate });
    }
    total
}
