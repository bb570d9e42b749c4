//! A layer whose backward is written by hand, as one node of Burn's autodiff
//! graph.
//!
//! A [`HandWritten`] layer gives its forward, which keeps what its backward
//! needs (the book's `self.cache`), and its backward, both as plain tensor
//! code outside any graph. [`apply`] records it as a single node: on an
//! autodiff device the forward runs once, its output joins the graph, and
//! `loss.backward()` calls the layer's own backward when it reaches the node,
//! handing the gradients it returns to the node's inputs. On a device without
//! autodiff only the forward runs and nothing is kept.
//!
//! Burn 0.22's tensors pick their backend at run time; a node is typed by its
//! backend (burn-autodiff's `Backward<B, N>`). [`apply`] finds the backend the
//! inputs live on (Flex, ndarray or wgpu's CubeCL), records the node for it,
//! and hands the layer the tensors outside the graph on that backend, so the
//! layer's code is written once, with Burn's tensor API, for every backend.

use std::fmt;
use std::marker::PhantomData;
use std::sync::{Arc, Mutex};

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::{BalancedCheckpointing, CheckpointStrategy, NoCheckpointing};
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::tensor::FloatTensor;
use burn::backend::{
    Autodiff, AutodiffBackend, Backend, BackendTensor, DispatchAutodiffContext, DispatchKindConversion, DispatchTensor,
    DispatchTensorKind, GradientCheckpointingStrategy,
};
use burn::tensor::Tensor;

/// A float tensor of any rank, outside any graph, as a node's input, output
/// or gradient.
pub struct Float(DispatchTensor);

impl Float {
    /// `t` as a rank-free tensor.
    pub fn new<const D: usize>(t: Tensor<D>) -> Self {
        Float(t.into_dispatch())
    }

    /// The tensor at rank `D` (its shape must have D dimensions).
    pub fn get<const D: usize>(self) -> Tensor<D> {
        let t = Tensor::<D>::from_dispatch(self.0);
        debug_assert_eq!(t.shape().num_dims(), D, "a node's tensor read at another rank");
        t
    }
}

/// A layer written as forward and backward by hand, with `N` float inputs.
pub trait HandWritten<const N: usize>: Send + Sync + 'static {
    /// What the forward keeps for the backward (the book's `self.cache`).
    type Kept: Send + 'static;

    /// The forward, outside any graph: the output from the inputs, and what
    /// the backward needs when `keep` (there is a backward to come).
    fn forward(&self, inputs: [Float; N], keep: bool) -> (Float, Option<Self::Kept>);

    /// The backward: from the gradient of the output, those of the inputs
    /// (`None` where `wanted` is false: that input needs none).
    ///
    /// `prior[k]`, for an input that [`HandWritten::accumulates`], is the
    /// gradient already collected for it from the other places it is used;
    /// the backward then returns the sum, made in that tensor's own buffer
    /// (the book's weight tying, without a second `[V, D]` buffer).
    fn backward(
        &self,
        kept: Self::Kept,
        grad: Float,
        wanted: [bool; N],
        prior: [Option<Float>; N],
    ) -> [Option<Float>; N];

    /// Which inputs take in the gradient already collected for them
    /// (`prior` in [`HandWritten::backward`]); none unless a layer says so.
    /// Such an input should be a parameter: the node holds on to it until
    /// its backward runs.
    fn accumulates(&self) -> [bool; N] {
        [false; N]
    }
}

/// `layer` as one node of the graph its inputs belong to (see the module
/// docs); its output, on the inputs' device.
///
/// Inputs outside autodiff beside tracked ones are constants, as in Burn's
/// own ops.
pub fn apply<const N: usize, L: HandWritten<N>>(layer: L, inputs: [Float; N]) -> Float {
    use GradientCheckpointingStrategy::{Balanced, Disabled};
    let context = inputs.iter().fold(DispatchAutodiffContext::Disabled, |c, t| c.merge(t.0.autodiff));
    let DispatchAutodiffContext::Enabled(strategy) = context else {
        return layer.forward(inputs, false).0;
    };
    let inputs = inputs.map(|t| lift(t, strategy));
    let DispatchTensorKind::Autodiff(inner) = &inputs[0].0.kind else { unreachable!("lifted to autodiff") };
    // Burn's conversions name each backend and checkpointing strategy by type.
    #[allow(deprecated)]
    match (&**inner, strategy) {
        #[cfg(feature = "flex")]
        (DispatchTensorKind::Flex(_), Disabled) => record::<burn::backend::Flex, NoCheckpointing, N, L>(layer, inputs),
        #[cfg(feature = "flex")]
        (DispatchTensorKind::Flex(_), Balanced) => {
            record::<burn::backend::Flex, BalancedCheckpointing, N, L>(layer, inputs)
        }
        #[cfg(feature = "ndarray")]
        (DispatchTensorKind::NdArray(_), Disabled) => {
            record::<burn::backend::NdArray, NoCheckpointing, N, L>(layer, inputs)
        }
        #[cfg(feature = "ndarray")]
        (DispatchTensorKind::NdArray(_), Balanced) => {
            record::<burn::backend::NdArray, BalancedCheckpointing, N, L>(layer, inputs)
        }
        #[cfg(feature = "wgpu")]
        (DispatchTensorKind::Cube(_), Disabled) => record::<burn::backend::Cube, NoCheckpointing, N, L>(layer, inputs),
        #[cfg(feature = "wgpu")]
        (DispatchTensorKind::Cube(_), Balanced) => {
            record::<burn::backend::Cube, BalancedCheckpointing, N, L>(layer, inputs)
        }
        #[allow(unreachable_patterns)]
        (other, _) => panic!("hand-written layers run on Flex, ndarray and wgpu, not {}", other_name(other)),
    }
}

/// A tensor outside autodiff taken into the node's graph as a constant.
fn lift(t: Float, strategy: GradientCheckpointingStrategy) -> Float {
    if t.0.autodiff != DispatchAutodiffContext::Disabled {
        return t;
    }
    #[allow(deprecated)]
    let inner = match t.0.kind {
        #[cfg(feature = "flex")]
        DispatchTensorKind::Flex(BackendTensor::Float(p)) => {
            DispatchTensorKind::Flex(BackendTensor::Autodiff(untracked::<burn::backend::Flex>(p)))
        }
        #[cfg(feature = "ndarray")]
        DispatchTensorKind::NdArray(BackendTensor::Float(p)) => {
            DispatchTensorKind::NdArray(BackendTensor::Autodiff(untracked::<burn::backend::NdArray>(p)))
        }
        #[cfg(feature = "wgpu")]
        DispatchTensorKind::Cube(BackendTensor::Float(p)) => {
            DispatchTensorKind::Cube(BackendTensor::Autodiff(untracked::<burn::backend::Cube>(p)))
        }
        other => panic!("a hand-written layer got a tensor it cannot take: {}", other_name(&other)),
    };
    let kind = DispatchTensorKind::Autodiff(Box::new(inner));
    Float(DispatchTensor { kind, autodiff: DispatchAutodiffContext::Enabled(strategy) })
}

/// `p` as a constant of `Autodiff<B>` (no node requires its gradient).
fn untracked<B: Backend>(p: B::FloatTensorPrimitive) -> FloatTensor<Autodiff<B>> {
    <Autodiff<B> as AutodiffBackend>::from_inner(p)
}

/// The variant's name, for an error.
fn other_name(kind: &DispatchTensorKind) -> String {
    let debug = format!("{kind:?}");
    debug.split(['(', ' ']).next().unwrap_or("another backend").to_string()
}

/// What the node keeps until its backward: the layer, what its forward kept,
/// and the inputs that take in their collected gradient. Taken once, by the
/// backward (a `Mutex` because a node's state must be `Clone`, `Send` and
/// `Debug`, and the layer's cache need not be).
struct State<B: Backend, L, K> {
    inner: Arc<Mutex<Option<(L, K)>>>,
    accumulating: Vec<(usize, FloatTensor<Autodiff<B>>)>,
}

impl<B: Backend, L, K> Clone for State<B, L, K> {
    fn clone(&self) -> Self {
        State { inner: self.inner.clone(), accumulating: self.accumulating.clone() }
    }
}

impl<B: Backend, L, K> fmt::Debug for State<B, L, K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("hand-written layer's kept state")
    }
}

/// The node's backward, typed by the layer.
struct Node<L>(PhantomData<fn() -> L>);

impl<L> fmt::Debug for Node<L> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(std::any::type_name::<L>())
    }
}

/// A tensor of `B` outside the graph, as the layer's code takes it.
fn wrap<B: Backend>(p: B::FloatTensorPrimitive) -> Float
where
    DispatchTensor: DispatchKindConversion<B>,
{
    Float(<DispatchTensor as DispatchKindConversion<B>>::from_backend(BackendTensor::Float(p)))
}

/// The layer's tensor as `B`'s primitive.
fn unwrap<B: Backend>(t: Float) -> B::FloatTensorPrimitive
where
    DispatchTensor: DispatchKindConversion<B>,
{
    match <DispatchTensor as DispatchKindConversion<B>>::try_into_backend(t.0) {
        Ok(BackendTensor::Float(p)) => p,
        Ok(other) => panic!("a hand-written layer returned a {} tensor where a float was due", other.name()),
        Err(e) => panic!("a hand-written layer returned a tensor of another backend: {e}"),
    }
}

fn record<B, C, const N: usize, L>(layer: L, inputs: [Float; N]) -> Float
where
    B: Backend,
    C: CheckpointStrategy,
    L: HandWritten<N>,
    DispatchTensor: DispatchKindConversion<B> + DispatchKindConversion<Autodiff<B, C>>,
{
    let tracked =
        inputs.map(|t| match <DispatchTensor as DispatchKindConversion<Autodiff<B, C>>>::try_into_backend(t.0) {
            Ok(BackendTensor::Float(t)) => t,
            Ok(other) => panic!("a hand-written layer's input must be a float tensor, not {}", other.name()),
            Err(e) => panic!("a hand-written layer's inputs must share one backend: {e}"),
        });
    let accumulates = layer.accumulates();
    let accumulating: Vec<_> = (0..N).filter(|&k| accumulates[k]).map(|k| (k, tracked[k].clone())).collect();
    let guards = tracked.each_ref().map(|t| t.node());
    let plain = tracked.map(|t| wrap::<B>(t.into_primitive()));
    let output = match Node::<L>(PhantomData).prepare::<C>(guards).compute_bound().stateful() {
        OpsKind::Tracked(prep) => {
            let (out, kept) = layer.forward(plain, true);
            let kept = kept.expect("a layer keeps its cache when asked");
            let state = State::<B, L, L::Kept> { inner: Arc::new(Mutex::new(Some((layer, kept)))), accumulating };
            prep.finish(state, unwrap::<B>(out))
        }
        OpsKind::UnTracked(prep) => prep.finish(unwrap::<B>(layer.forward(plain, false).0)),
    };
    Float(<DispatchTensor as DispatchKindConversion<Autodiff<B, C>>>::from_backend(BackendTensor::Float(output)))
}

impl<B, const N: usize, L> Backward<B, N> for Node<L>
where
    B: Backend,
    L: HandWritten<N>,
    DispatchTensor: DispatchKindConversion<B>,
{
    type State = State<B, L, L::Kept>;

    fn backward(self, ops: Ops<Self::State, N>, grads: &mut Gradients, _checkpointer: &mut Checkpointer) {
        let grad = wrap::<B>(grads.consume::<B>(&ops.node));
        let (layer, kept) = ops.state.inner.lock().expect("a node's state").take().expect("one backward per node");
        let wanted = ops.parents.each_ref().map(Option::is_some);
        let mut prior: [Option<Float>; N] = std::array::from_fn(|_| None);
        for (k, t) in &ops.state.accumulating {
            if wanted[*k] {
                prior[*k] = grads.remove::<B>(t).map(wrap::<B>);
            }
        }
        let d_inputs = layer.backward(kept, grad, wanted, prior);
        for (parent, d) in ops.parents.into_iter().zip(d_inputs) {
            if let (Some(node), Some(d)) = (parent, d) {
                grads.register::<B>(node.id, unwrap::<B>(d));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use burn::tensor::{Device, Distribution, Tensor};

    use crate::model::{RnnCellConfig, TimeRnn};

    /// An input outside autodiff beside tracked parameters is a constant:
    /// the parameters' gradients are those of the same input inside autodiff,
    /// and the node asks for no gradient of it.
    #[test]
    fn an_input_outside_autodiff_is_a_constant() {
        let device = Device::flex().autodiff();
        let layer = TimeRnn { cell: RnnCellConfig::new(3, 4).init(&device) };
        let xs = Tensor::<3>::random([2, 5, 3], Distribution::Default, &device.clone().inner());
        let grad_of_wh = |xs: Tensor<3>| {
            let (hs, _) = layer.forward(xs, None);
            let g = hs.sum().backward();
            layer.cell.wh.val().grad(&g).expect("Wh's gradient").into_data()
        };
        let constant = grad_of_wh(xs.clone());
        let tracked = grad_of_wh(xs.autodiff());
        assert_eq!(constant.as_slice::<f32>().unwrap(), tracked.as_slice::<f32>().unwrap());
    }
}
