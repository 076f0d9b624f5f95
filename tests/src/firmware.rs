//! Builds the firmware ELF for QEMU.

use crate::debian::Arch;
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

/// Builds the x86_64 firmware's `variant` and returns the path of a copy that
/// later builds of the other variant do not overwrite.
pub fn build(variant: Variant) -> Result<PathBuf, String> {
    build_for(Arch::Amd64, variant)
}

/// The Rust target the firmware is built for on `arch`.
pub fn target(arch: Arch) -> &'static str {
    match arch {
        Arch::Amd64 => "x86_64-unknown-none",
        Arch::Arm64 => "aarch64-unknown-none",
        Arch::Riscv64 => "riscv64gc-unknown-none-elf",
    }
}

/// Builds the firmware for `arch` (x86_64: a PVH ELF; aarch64: an arm64 Image)
/// and returns the path of a copy that builds of other variants do not overwrite.
pub fn build_for(arch: Arch, variant: Variant) -> Result<PathBuf, String> {
    let target = target(arch);
    let mut cargo = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    cargo
        .current_dir(workspace_root())
        .args(["build", "--release", "--target", target]);
    if variant == Variant::TestHooks {
        cargo.args(["--features", "test-hooks"]);
    }
    let status = cargo.status().map_err(|e| format!("cannot run cargo: {e}"))?;
    if !status.success() {
        return Err("firmware build failed".into());
    }
    let built = target_dir().join(target).join("release/hypervisor-fw");
    let name = match (arch, variant) {
        (Arch::Amd64, Variant::Release) => "hypervisor-fw",
        (Arch::Amd64, Variant::TestHooks) => "hypervisor-fw-test-hooks",
        (Arch::Arm64, Variant::Release) => "hypervisor-fw-aarch64",
        (Arch::Arm64, Variant::TestHooks) => "hypervisor-fw-aarch64-test-hooks",
        (Arch::Riscv64, Variant::Release) => "hypervisor-fw-riscv64",
        (Arch::Riscv64, Variant::TestHooks) => "hypervisor-fw-riscv64-test-hooks",
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
    build_efi_test_app_for(Arch::Amd64)
}

/// Builds the EFI test application for `arch` (`BOOTX64.EFI` or `BOOTAA64.EFI`).
pub fn build_efi_test_app_for(arch: Arch) -> Result<PathBuf, String> {
    let target = match arch {
        Arch::Amd64 => "x86_64-unknown-uefi",
        Arch::Arm64 => "aarch64-unknown-uefi",
        Arch::Riscv64 => return Err("Rust has no riscv64 UEFI target to build the EFI test application".into()),
    };
    let status = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .current_dir(workspace_root())
        .args(["build", "--release", "--package", "fw-efi-test-app", "--target", target])
        .status()
        .map_err(|e| format!("cannot run cargo: {e}"))?;
    if !status.success() {
        return Err("EFI test application build failed".into());
    }
    Ok(target_dir().join(target).join("release/fw-efi-test-app.efi"))
}
