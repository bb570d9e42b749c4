//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::path::PathBuf;
use std::sync::OnceLock;

use burn::tensor::Device;
use rnnlm::backend::Backend;
use rnnlm::data::ptb;

/// The Flex CPU device.
pub fn flex() -> Device {
    Backend::Flex.device().expect("this build has the flex backend")
}

/// The ndarray CPU device.
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

/// The Penn Treebank folder, found as the program finds it: `PTB_DIR` if set,
/// else `data/ptb` in the repository (the tests run from its root), with
/// missing files downloaded there once (from `PTB_URL` if set) and verified.
///
/// Without the files and without network this ends the test binary with one
/// line saying which folder to fill or which variable to set, instead of a
/// panic in every test that needs the corpus.
pub fn ptb_dir() -> PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| match ptb::prepare(None, &ptb::resolve_url(None)) {
        // Absolute, so that it can be handed to a child process in another folder.
        Ok(dir) => std::path::absolute(&dir).unwrap_or(dir),
        Err(message) => {
            // Inside the initialiser, so that the other test threads wait here
            // and the line is printed once; straight to the stream, because
            // the test harness captures eprintln!.
            use std::io::Write;
            let _ = writeln!(std::io::stderr(), "error: these tests need Penn Treebank: {message}");
            std::process::exit(1)
        }
    })
    .clone()
}
