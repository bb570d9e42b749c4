//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::path::PathBuf;

use burn::tensor::Device;
use rnnlm::backend::Backend;

/// The CPU device.
pub fn ndarray() -> Device {
    Backend::Ndarray.device().expect("this build has the ndarray backend")
}

/// The wgpu device, or `None` (with a note) when this machine has no adapter.
/// With `RNNLM_REQUIRE_WGPU=1` (as in CI) a missing adapter fails the test
/// instead, so the GPU path cannot be skipped silently there.
pub fn wgpu() -> Option<Device> {
    match Backend::Wgpu.device() {
        Ok(device) => Some(device),
        Err(reason) if std::env::var("RNNLM_REQUIRE_WGPU").as_deref() == Ok("1") => {
            panic!("RNNLM_REQUIRE_WGPU=1 but: {reason}")
        }
        Err(reason) => {
            eprintln!("skipping the wgpu half of this test: {reason}");
            None
        }
    }
}

/// The Penn Treebank folder, from `PTB_DIR`.
pub fn ptb_dir() -> PathBuf {
    let dir = std::env::var_os("PTB_DIR")
        .map(PathBuf::from)
        .expect("set PTB_DIR to the folder holding ptb.{train,valid,test}.txt (e.g. ../shared/data/ptb)");
    assert!(dir.join("ptb.train.txt").exists(), "PTB_DIR={} has no ptb.train.txt", dir.display());
    dir
}
