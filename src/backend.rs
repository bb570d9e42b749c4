//! Picking the Burn `Device` from the cargo features and the `--backend` flag.

use std::fmt;

use burn::tensor::Device;

/// The compute backends this build can use.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Backend {
    /// CPU, through burn-ndarray (cargo feature `ndarray`).
    Ndarray,
    /// GPU, through burn-wgpu (cargo feature `wgpu`): Vulkan, Metal or DX12.
    Wgpu,
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Backend::Ndarray => "ndarray",
            Backend::Wgpu => "wgpu",
        })
    }
}

impl Backend {
    /// The backend used when `--backend` is not given: wgpu in a build that
    /// has it, otherwise ndarray.
    pub fn default_for_build() -> Self {
        if cfg!(feature = "wgpu") { Backend::Wgpu } else { Backend::Ndarray }
    }

    /// The device for this backend (without autodiff), or a one-line reason
    /// why it cannot be had: a backend this build lacks, or a GPU backend with
    /// no adapter on this machine. Checking first matters: Burn would otherwise
    /// panic from a background thread when the first tensor is made.
    pub fn device(self) -> Result<Device, String> {
        match self {
            Backend::Ndarray => ndarray_device(),
            Backend::Wgpu => wgpu_device(),
        }
    }
}

#[cfg(feature = "ndarray")]
fn ndarray_device() -> Result<Device, String> {
    // burn-ndarray is deprecated upstream in favour of Flex; this project keeps
    // it because it is the CPU backend its users and the book's readers know.
    #[allow(deprecated)]
    Ok(Device::ndarray())
}

#[cfg(not(feature = "ndarray"))]
fn ndarray_device() -> Result<Device, String> {
    Err("this build has no ndarray backend: rebuild with `--features ndarray`".into())
}

#[cfg(feature = "wgpu")]
fn wgpu_device() -> Result<Device, String> {
    let instance = wgpu::Instance::default();
    let adapters = pollster::block_on(instance.enumerate_adapters(wgpu::Backends::all()));
    if adapters.is_empty() {
        return Err("no GPU adapter found for the wgpu backend: install a Vulkan driver \
                    (Debian/Ubuntu: `apt-get install mesa-vulkan-drivers libvulkan1`) or use `--backend ndarray`"
            .into());
    }
    Ok(Device::wgpu(burn::tensor::DeviceKind::DefaultDevice))
}

#[cfg(not(feature = "wgpu"))]
fn wgpu_device() -> Result<Device, String> {
    Err("this build has no wgpu backend: rebuild with `--features wgpu`".into())
}

/// The backends compiled into this build.
pub fn available() -> Vec<Backend> {
    let mut out = Vec::new();
    if cfg!(feature = "ndarray") {
        out.push(Backend::Ndarray);
    }
    if cfg!(feature = "wgpu") {
        out.push(Backend::Wgpu);
    }
    out
}
