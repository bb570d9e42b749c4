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
        let errors: Vec<&str> = stderr.lines().collect();
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

/// On a machine without a display, the GPU probe that every command runs
/// prints nothing of its own: Mesa's device-selection layer used to make
/// libwayland print `error: XDG_RUNTIME_DIR is invalid or not set in the
/// environment.` twice before the command's output.
#[test]
fn the_gpu_probe_prints_nothing_on_a_machine_without_a_display() {
    let out = Command::new(env!("CARGO_BIN_EXE_rnnlm"))
        .args(["check", "--small-only"])
        .env_remove("XDG_RUNTIME_DIR")
        .env_remove("DISPLAY")
        .env_remove("WAYLAND_DISPLAY")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert_eq!(stderr, "", "nothing on stderr");
}
