//! The Debian EFI binaries the real-binary host tests read: shim, GRUB,
//! systemd-boot, systemd-stub and the cloud kernel, from the directory that
//! `HVFW_EFI_BINARIES` names. `cargo xtask test` fills it with links into the
//! extracted packages (`fw_tests::debian::efi_binaries_dir`) and runs the tests,
//! which are marked ignored since a plain `cargo test` has no such directory.
//!
//! A crate of its own, a dev-dependency only, because two crates read these
//! files: `fw-core` (the PE loader and Secure Boot) and `fw-loaders` (the Linux
//! setup header), and neither may depend on the other. Every reader panics with
//! the package to extract when a file is missing: these are test helpers.

use std::fs;
use std::path::PathBuf;

/// The environment variable naming the directory.
pub const VARIABLE: &str = "HVFW_EFI_BINARIES";

/// The files the directory holds besides the kernel, each with the Debian
/// package it comes from.
pub const FILES: [(&str, &str); 4] = [
    ("shimx64.efi.signed", "shim-signed"),
    ("grubx64.efi.signed", "grub-efi-amd64-signed"),
    ("systemd-bootx64.efi", "systemd-boot-efi"),
    ("linuxx64.efi.stub", "systemd-boot-efi"),
];

/// The package whose versioned dependency ships the kernel, `/boot/vmlinuz-*`.
pub const KERNEL_PACKAGE: &str = "linux-image-cloud-amd64";

/// The directory `HVFW_EFI_BINARIES` names.
pub fn dir() -> PathBuf {
    match std::env::var_os(VARIABLE) {
        Some(dir) => PathBuf::from(dir),
        None => panic!(
            "{VARIABLE} is not set: it must name a directory holding shimx64.efi.signed, grubx64.efi.signed, \
             systemd-bootx64.efi, linuxx64.efi.stub and vmlinuz-* (Debian packages shim-signed, \
             grub-efi-amd64-signed, systemd-boot-efi, {KERNEL_PACKAGE}); `cargo xtask test` sets it"
        ),
    }
}

/// The bytes of `name`, one of [`FILES`].
pub fn read(name: &str) -> Vec<u8> {
    let Some(&(_, package)) = FILES.iter().find(|(file, _)| *file == name) else {
        panic!("{name} is none of the files {VARIABLE} holds: {FILES:?}")
    };
    let path = dir().join(name);
    fs::read(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e}. {VARIABLE} is set but this file is missing: extract it from Debian package {package}",
            path.display()
        )
    })
}

/// The name and bytes of the one `vmlinuz-*` in the directory.
pub fn kernel() -> (String, Vec<u8>) {
    let dir = dir();
    let entries = fs::read_dir(&dir).unwrap_or_else(|e| panic!("{VARIABLE}={}: {e}", dir.display()));
    let name = entries
        .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
        .find(|name| name.starts_with("vmlinuz-"))
        .unwrap_or_else(|| {
            panic!(
                "{VARIABLE}={} holds no vmlinuz-*: extract /boot/vmlinuz-* from Debian package \
                 {KERNEL_PACKAGE} (its versioned dependency)",
                dir.display()
            )
        });
    let file = fs::read(dir.join(&name)).unwrap_or_else(|e| panic!("{name}: {e}"));
    (name, file)
}
