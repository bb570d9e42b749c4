//! A Flex tensor's buffer, reached from Burn's `Tensor`: the seam between
//! Burn's tensors and this module's kernels, which read and write host
//! memory.
//!
//! Burn 0.22's `Tensor` holds a dispatch tensor that names its backend; a
//! plain (untracked) f32 tensor on Flex holds a `FlexTensor`, an `Arc` of
//! bytes with a strided layout. Taking it out and putting a new one back
//! costs no copy. [`zeros`] makes one for the model to fill.

use burn::backend::{BackendTensor, DispatchAutodiffContext, DispatchTensor, DispatchTensorKind};
use burn::tensor::{Bytes, DType, Device, Shape, Tensor};
use burn_flex::{Flex, FlexTensor, Layout};

/// `t`'s Flex tensor where `t` is a plain f32 tensor on Flex (outside any
/// autodiff graph); otherwise `t` back, untouched.
#[allow(clippy::result_large_err)] // the `Err` is the caller's own tensor, handed back
pub(super) fn take<const D: usize>(t: Tensor<D>) -> Result<FlexTensor, Tensor<D>> {
    match t.into_dispatch() {
        DispatchTensor {
            kind: DispatchTensorKind::Flex(BackendTensor::Float(p)),
            autodiff: DispatchAutodiffContext::Disabled,
        } if p.dtype() == DType::F32 => Ok(p),
        other => Err(Tensor::from_dispatch(other)),
    }
}

/// A tensor from a Flex tensor [`take`] gave (or one made from it).
pub(super) fn give<const D: usize>(p: FlexTensor) -> Tensor<D> {
    Tensor::from_primitive::<Flex>(p)
}

/// A Flex tensor of `shape`, row-major, holding `values` (no copy).
pub(super) fn from_vec(values: Vec<f32>, shape: Shape) -> FlexTensor {
    debug_assert_eq!(values.len(), shape.num_elements());
    FlexTensor::new(Bytes::from_elems(values), Layout::contiguous(shape), DType::F32)
}

/// `Tensor::zeros(shape, device)`; on Flex in one allocation that the
/// allocator zeroes (Flex's own `zeros` allocates bytes and copies them into
/// a second, aligned buffer: 26 MB for the embedding's gradient at the `big`
/// preset).
pub fn zeros<const D: usize>(shape: [usize; D], device: &Device) -> Tensor<D> {
    #[cfg(feature = "flex")]
    if *device == Device::flex() {
        let n = shape.iter().product();
        return give(from_vec(vec![0f32; n], Shape::new(shape)));
    }
    Tensor::zeros(shape, device)
}
