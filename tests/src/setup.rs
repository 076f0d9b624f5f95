//! Installs what a fresh machine lacks: rustup targets and Debian packages.
//! As root, packages come from `apt-get`; otherwise the exact command is printed.

use std::process::Command;

/// Debian packages the commands need, with a program each one provides.
pub const PACKAGES: &[(&str, &str)] = &[
    ("qemu-system-x86", "qemu-system-x86_64"),
    ("qemu-system-arm", "qemu-system-aarch64"),
    // qemu-system-riscv64 (OpenSBI comes with qemu-system-data).
    ("qemu-system-misc", "qemu-system-riscv64"),
    ("mtools", "mcopy"),
    ("dosfstools", "mkfs.fat"),
    ("gdisk", "sgdisk"),
    // fdisk writes GPTs for 4096-byte sectors (`-b 4096`); sgdisk cannot.
    ("fdisk", "fdisk"),
    ("e2fsprogs", "mkfs.ext4"),
    ("busybox-static", "busybox"),
    ("cpio", "cpio"),
    ("gzip", "gzip"),
    ("binutils", "objcopy"),
    // Cloud Hypervisor comes xz-compressed.
    ("xz-utils", "xz"),
    // A path: the package provides a file, not a program.
    ("ovmf", "/usr/share/OVMF/OVMF_CODE_4M.fd"),
    // Secure Boot tests: keys, signing, signature lists.
    ("openssl", "openssl"),
    ("sbsigntool", "sbsign"),
    ("efitools", "hash-to-efi-sig-list"),
];

/// Targets: the firmware (bare metal) and the EFI test application (x86_64, aarch64).
pub const TARGETS: &[&str] = &[
    "x86_64-unknown-none",
    "aarch64-unknown-none",
    "riscv64gc-unknown-none-elf",
    "x86_64-unknown-uefi",
    "aarch64-unknown-uefi",
];

/// Rustup components `cargo xtask lint` runs (rust-toolchain.toml lists them too).
pub const COMPONENTS: &[&str] = &["clippy", "rustfmt"];

/// Whether `name` is a program on the PATH (or in /usr/sbin, /sbin), or, when
/// it is an absolute path, whether that file exists.
pub fn have_program(name: &str) -> bool {
    if name.starts_with('/') {
        return std::path::Path::new(name).is_file();
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin", "/sbin"].iter().map(Into::into))
        .any(|dir| dir.join(name).is_file())
}

/// Whether this process runs as root (and may call `apt-get install`).
pub fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| o.stdout.trim_ascii() == b"0")
        .unwrap_or(false)
}

/// Makes sure the rustup targets and Debian packages are present.
pub fn ensure_all() -> Result<(), String> {
    ensure_targets()?;
    ensure_packages()
}

/// Makes sure the rustup targets of [`TARGETS`] and the components of
/// [`COMPONENTS`] are installed for the pinned toolchain.
pub fn ensure_targets() -> Result<(), String> {
    ensure_rustup("target", TARGETS)?;
    ensure_rustup("component", COMPONENTS)
}

/// `rustup KIND add` of those of `wanted` that `rustup KIND list --installed`
/// does not list (a component is listed with its host triple appended).
fn ensure_rustup(kind: &str, wanted: &[&str]) -> Result<(), String> {
    let installed = Command::new("rustup")
        .args([kind, "list", "--installed"])
        .current_dir(crate::workspace_root())
        .output()
        .map_err(|e| format!("cannot run rustup: {e}"))?;
    let installed = String::from_utf8_lossy(&installed.stdout).into_owned();
    let missing: Vec<&str> = wanted
        .iter()
        .copied()
        .filter(|w| {
            !installed.lines().map(str::trim).any(|l| {
                l == *w || (kind == "component" && l.strip_prefix(*w).is_some_and(|rest| rest.starts_with('-')))
            })
        })
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    eprintln!("setup: rustup {kind} add {}", missing.join(" "));
    let status = Command::new("rustup")
        .args([kind, "add"])
        .args(&missing)
        .current_dir(crate::workspace_root())
        .status()
        .map_err(|e| format!("cannot run rustup: {e}"))?;
    if !status.success() {
        return Err(format!("`rustup {kind} add {}` failed", missing.join(" ")));
    }
    Ok(())
}

pub fn ensure_packages() -> Result<(), String> {
    let missing: Vec<&str> = PACKAGES
        .iter()
        .filter(|(_, program)| !have_program(program))
        .map(|(package, _)| *package)
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    let command = format!("apt-get install -y {}", missing.join(" "));
    if !is_root() {
        return Err(format!(
            "missing Debian packages; install them with:\n  sudo apt-get update && sudo {command}"
        ));
    }
    eprintln!("setup: apt-get update && {command}");
    let update = Command::new("apt-get").arg("update").arg("-qq").status();
    if !matches!(update, Ok(s) if s.success()) {
        return Err("`apt-get update` failed".into());
    }
    let status = Command::new("apt-get")
        .args(["install", "-y", "-qq", "--no-install-recommends"])
        .args(&missing)
        .env("DEBIAN_FRONTEND", "noninteractive")
        .status()
        .map_err(|e| format!("cannot run apt-get: {e}"))?;
    if !status.success() {
        return Err(format!("`{command}` failed"));
    }
    Ok(())
}
