//! Builds the firmware ELF for QEMU.

use crate::workspace_root;
use std::path::PathBuf;
use std::process::Command;

/// Where cargo puts build output: `CARGO_TARGET_DIR` when set (a relative
/// value is taken from the workspace root, as cargo does), else `target/`.
pub fn target_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => workspace_root().join(dir),
        None => workspace_root().join("target"),
    }
}

/// Which build of the firmware.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Variant {
    /// What users run.
    Release,
    /// With `test-hooks`: panics and exceptions exit QEMU with status 3, and
    /// `hvfw.test=...` command-line words trigger faults.
    TestHooks,
}

/// Builds `variant` and returns the path of a copy that later builds of the
/// other variant do not overwrite.
pub fn build(variant: Variant) -> Result<PathBuf, String> {
    let mut cargo = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    cargo
        .current_dir(workspace_root())
        .args(["build", "--release", "--target", "x86_64-unknown-none"]);
    if variant == Variant::TestHooks {
        cargo.args(["--features", "test-hooks"]);
    }
    let status = cargo.status().map_err(|e| format!("cannot run cargo: {e}"))?;
    if !status.success() {
        return Err("firmware build failed".into());
    }
    let built = target_dir().join("x86_64-unknown-none/release/hypervisor-fw");
    let name = match variant {
        Variant::Release => "hypervisor-fw",
        Variant::TestHooks => "hypervisor-fw-test-hooks",
    };
    // Beside the build, so that concurrent builds in other target dirs keep their own.
    let dir = target_dir().join("fw");
    std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let copy = dir.join(name);
    std::fs::copy(&built, &copy).map_err(|e| format!("cannot copy {}: {e}", built.display()))?;
    Ok(copy)
}

/// Builds the EFI test application (`tests/efi-app`) and returns its path.
pub fn build_efi_test_app() -> Result<PathBuf, String> {
    let status = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .current_dir(workspace_root())
        .args([
            "build",
            "--release",
            "--package",
            "fw-efi-test-app",
            "--target",
            "x86_64-unknown-uefi",
        ])
        .status()
        .map_err(|e| format!("cannot run cargo: {e}"))?;
    if !status.success() {
        return Err("EFI test application build failed".into());
    }
    Ok(target_dir().join("x86_64-unknown-uefi/release/fw-efi-test-app.efi"))
}
