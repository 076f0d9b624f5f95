//! hypervisor-fw: the composition root. Brings up the console, the heap and the
//! page tables from the VMM's boot information, then looks for something to boot.
//!
//! On the host this builds as an empty program so that `cargo test --workspace`
//! works; the firmware is built with `--target x86_64-unknown-none` (a PVH ELF)
//! or `--target aarch64-unknown-none` (an arm64 Linux `Image`) or
//! `--target riscv64gc-unknown-none-elf` (an S-mode ELF for OpenSBI at 0x80200000).
#![cfg_attr(target_os = "none", no_std)]
#![cfg_attr(target_os = "none", no_main)]

#[cfg(target_os = "none")]
mod disks;
#[cfg(target_os = "none")]
mod display;
#[cfg(target_os = "none")]
mod efi_disks;
#[cfg(target_os = "none")]
mod efi_drivers;
#[cfg(target_os = "none")]
mod efi_pci;
#[cfg(target_os = "none")]
mod efi_setup;
#[cfg(target_os = "none")]
mod firmware;
#[cfg(target_os = "none")]
mod fw_cfg_acpi;
#[cfg(target_os = "none")]
mod heap;
#[cfg(target_os = "none")]
mod persistent_variables;
#[cfg(target_os = "none")]
mod platform;
#[cfg(all(target_os = "none", target_arch = "x86_64"))]
mod power;
#[cfg(target_os = "none")]
mod secure_boot_keys;
#[cfg(target_os = "none")]
mod smbios;
#[cfg(all(target_os = "none", feature = "test-hooks"))]
mod test_hooks;

#[cfg(target_os = "none")]
extern crate alloc;

#[cfg(not(target_os = "none"))]
fn main() {
    eprintln!("hypervisor-fw is firmware: build it with `cargo build --release --target x86_64-unknown-none`");
    eprintln!("(or aarch64-unknown-none, riscv64gc-unknown-none-elf)");
    eprintln!("or boot it in QEMU with `cargo xtask run`.");
}
