//! Picking the Burn `Device` from the cargo features and the `--backend` flag.

use crate::choice::{Choice, display_as_name};
use std::sync::atomic::{AtomicBool, Ordering};

use burn::tensor::Device;

/// The compute backends this build can use.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Backend {
    /// Flex, Burn's pure-Rust CPU backend.
    Flex,
    /// burn-ndarray, the CPU backend on `ndarray`.
    Ndarray,
    /// burn-wgpu: a GPU through Vulkan, Metal or DirectX (or a software driver).
    Wgpu,
}

impl Choice for Backend {
    const NAMES: &'static [(Self, &'static str)] =
        &[(Backend::Flex, "flex"), (Backend::Ndarray, "ndarray"), (Backend::Wgpu, "wgpu")];
}

display_as_name!(Backend);

impl Backend {
    /// The fastest CPU backend in this build (see the docs/speed.md).
    pub fn fastest_cpu() -> Self {
        if cfg!(feature = "flex") { Backend::Flex } else { Backend::Ndarray }
    }

    /// Whether the tensors live in host memory (so that host code may read
    /// and write their buffers directly).
    pub fn is_cpu(self) -> bool {
        matches!(self, Backend::Flex | Backend::Ndarray)
    }

    /// The backend used when `--backend` is not given, and why: wgpu when it
    /// finds a hardware GPU, otherwise the fastest CPU backend. A software
    /// Vulkan driver (Mesa's llvmpipe/lavapipe) is a CPU in disguise, slower
    /// than the CPU backends, so it is not chosen unless asked for.
    pub fn auto() -> (Self, String) {
        let cpu = Backend::fastest_cpu();
        match hardware_gpu() {
            Some(name) => (Backend::Wgpu, format!("hardware GPU found ({name}); running on wgpu")),
            None => (cpu, format!("no hardware GPU found; running on the CPU ({cpu})")),
        }
    }

    /// The device for this backend (without autodiff), or a one-line reason
    /// why it cannot be had: a backend this build lacks, or a GPU backend with
    /// no adapter on this machine. Checking first matters: Burn would otherwise
    /// panic from a background thread when the first tensor is made.
    pub fn device(self) -> crate::Result<Device> {
        match self {
            Backend::Flex => flex_device(),
            Backend::Ndarray => ndarray_device(),
            Backend::Wgpu => wgpu_device(),
        }
    }
}

/// `--backend` as given, or [`Backend::auto`]; returns the backend and the
/// line that says which one runs and why.
pub fn choose(flag: Option<Backend>) -> (Backend, String) {
    match flag {
        Some(backend) => (backend, format!("running on {backend} (--backend)")),
        None => Backend::auto(),
    }
}

#[cfg(feature = "flex")]
fn flex_device() -> crate::Result<Device> {
    Ok(Device::flex())
}

#[cfg(not(feature = "flex"))]
fn flex_device() -> crate::Result<Device> {
    Err(crate::Error::Backend("this build has no flex backend: rebuild with `--features flex`".into()))
}

#[cfg(feature = "ndarray")]
fn ndarray_device() -> crate::Result<Device> {
    // burn-ndarray is deprecated upstream in favour of Flex; this project keeps
    // it because it is the CPU backend its users and the book's readers know.
    #[allow(deprecated)]
    Ok(Device::ndarray())
}

#[cfg(not(feature = "ndarray"))]
fn ndarray_device() -> crate::Result<Device> {
    Err(crate::Error::Backend("this build has no ndarray backend: rebuild with `--features ndarray`".into()))
}

/// Set once a wgpu driver may have been loaded into this process (see
/// [`gpu_driver_loaded`]).
static GPU_DRIVER_LOADED: AtomicBool = AtomicBool::new(false);

/// Whether this process has asked wgpu for adapters or a device, which loads
/// the system's GPU drivers (the CLI then skips their exit-time teardown).
pub fn gpu_driver_loaded() -> bool {
    GPU_DRIVER_LOADED.load(Ordering::Relaxed)
}

#[cfg(feature = "wgpu")]
fn adapters() -> Vec<wgpu::Adapter> {
    GPU_DRIVER_LOADED.store(true, Ordering::Relaxed);
    let instance = wgpu::Instance::default();
    pollster::block_on(instance.enumerate_adapters(wgpu::Backends::all()))
}

/// The name of the first adapter that is real hardware (integrated, discrete
/// or virtual GPU), if any.
#[cfg(feature = "wgpu")]
fn hardware_gpu() -> Option<String> {
    adapters()
        .into_iter()
        .map(|a| a.get_info())
        .find(|info| info.device_type != wgpu::DeviceType::Cpu)
        .map(|info| format!("{}, {:?}", info.name, info.backend))
}

#[cfg(not(feature = "wgpu"))]
fn hardware_gpu() -> Option<String> {
    None
}

#[cfg(feature = "wgpu")]
fn wgpu_device() -> crate::Result<Device> {
    if adapters().is_empty() {
        return Err(crate::Error::NoGpuAdapter);
    }
    Ok(Device::wgpu(burn::tensor::DeviceKind::DefaultDevice))
}

#[cfg(not(feature = "wgpu"))]
fn wgpu_device() -> crate::Result<Device> {
    Err(crate::Error::Backend("this build has no wgpu backend: rebuild with `--features wgpu`".into()))
}

/// The backends compiled into this build.
pub fn available() -> Vec<Backend> {
    let mut out = Vec::new();
    if cfg!(feature = "flex") {
        out.push(Backend::Flex);
    }
    if cfg!(feature = "ndarray") {
        out.push(Backend::Ndarray);
    }
    if cfg!(feature = "wgpu") {
        out.push(Backend::Wgpu);
    }
    out
}
