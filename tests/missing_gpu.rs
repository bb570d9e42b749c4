//! Without any GPU adapter, the wgpu backend is a one-line error naming what
//! to install, not Burn's panic from a background thread.

mod common;

use std::process::Command;

#[test]
fn no_adapter_is_a_one_line_error() {
    for args in [
        vec!["check", "--backend", "wgpu", "--small-only"],
        vec!["train", "--backend", "wgpu", "--epochs", "1", "--corpus-size", "2000", "--artifacts", "unused"],
        vec!["bench", "--backend", "wgpu", "--iters", "1"],
    ] {
        let dir = tempfile::tempdir().unwrap();
        let out = Command::new(env!("CARGO_BIN_EXE_rnnlm"))
            .args(&args)
            .current_dir(dir.path())
            .env("PTB_DIR", common::ptb_dir())
            // Hide every Vulkan driver and every EGL (OpenGL) vendor: wgpu sees no adapter.
            .env("VK_ICD_FILENAMES", "/nonexistent/icd.json")
            .env("VK_DRIVER_FILES", "/nonexistent/icd.json")
            .env("__EGL_VENDOR_LIBRARY_FILENAMES", "/nonexistent/egl.json")
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        let errors: Vec<&str> = stderr.lines().filter(|l| !l.contains("XDG_RUNTIME_DIR")).collect();
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert_eq!(
            errors,
            ["error: no GPU adapter found for the wgpu backend: install a Vulkan driver \
              (Debian/Ubuntu: `apt-get install mesa-vulkan-drivers libvulkan1`) or use `--backend flex`"],
            "{args:?}"
        );
        assert!(!dir.path().join("unused").exists(), "nothing written");
    }
}
