//! What a `Device` is, for the code that runs faster when it knows: whether
//! the tensors live in host memory (so host loops may read and write their
//! buffers, as the optimizer's fused loop does) and whether the backend is
//! Flex (whose buffers the loss's host loop takes). The model and the
//! optimizer ask here; picking a backend is the command line's business
//! ([`crate::backend`]).

use burn::tensor::Device;

/// Whether the device keeps tensors in host memory (Flex, ndarray), where a
/// tensor's buffer can be taken, read and written by host code and given back.
pub fn in_host_memory(device: &Device) -> bool {
    is_flex(device) || is_ndarray(device)
}

/// Whether the device is burn-ndarray's.
pub fn is_ndarray(device: &Device) -> bool {
    #[cfg(feature = "ndarray")]
    #[allow(deprecated)]
    return device.clone().without_autodiff() == Device::ndarray();
    #[cfg(not(feature = "ndarray"))]
    {
        let _ = device;
        false
    }
}

/// Whether the device is Flex's.
pub fn is_flex(device: &Device) -> bool {
    #[cfg(feature = "flex")]
    return device.clone().without_autodiff() == Device::flex();
    #[cfg(not(feature = "flex"))]
    {
        let _ = device;
        false
    }
}
