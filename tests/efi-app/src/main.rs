//! An EFI application the test harness puts on disks: it calls boot and
//! runtime services the way real loaders do, prints one `HVFW-APP: ok NAME` or
//! `HVFW-APP: FAIL NAME: why` line per check, then leaves through `Exit()`.
//!
//! Built for `x86_64-unknown-uefi`; on the host it is an empty program so that
//! `cargo test --workspace` builds.
#![cfg_attr(target_os = "uefi", no_std)]
#![cfg_attr(target_os = "uefi", no_main)]

#[cfg(target_os = "uefi")]
mod app;
#[cfg(target_os = "uefi")]
mod collation;
#[cfg(target_os = "uefi")]
mod device_path_text;
#[cfg(target_os = "uefi")]
mod drivers;
#[cfg(target_os = "uefi")]
mod faults;
#[cfg(target_os = "uefi")]
mod gop;
#[cfg(target_os = "uefi")]
mod hostile;
#[cfg(target_os = "uefi")]
mod hostile_sizes;
#[cfg(target_os = "uefi")]
mod image_buffer;
#[cfg(target_os = "uefi")]
mod keyboard;
#[cfg(target_os = "uefi")]
mod nv;
#[cfg(target_os = "uefi")]
mod pci_io;
#[cfg(target_os = "uefi")]
mod reset_notify;
#[cfg(target_os = "uefi")]
mod sb_arch;
#[cfg(target_os = "uefi")]
mod sb_auth;
#[cfg(target_os = "uefi")]
mod sb_vars;
#[cfg(target_os = "uefi")]
mod smbios;
#[cfg(target_os = "uefi")]
mod watchdog;

#[cfg(not(target_os = "uefi"))]
fn main() {
    eprintln!("fw-efi-test-app is an EFI application: build it with --target x86_64-unknown-uefi");
}
