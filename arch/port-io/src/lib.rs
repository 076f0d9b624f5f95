//! x86 port I/O instructions (Intel SDM vol. 2, IN and OUT).
//!
//! Architecture code, kept as a leaf crate beside `fw-arch` rather than inside
//! it: `fw-drivers` (the UART, PCI configuration, fw_cfg) needs these
//! instructions and sits below `fw-arch`, which depends on it. `fw-arch`
//! re-exports them as `fw_arch::x86_64::io`.
//!
//! Each function is `unsafe`: writing to a port can reconfigure any device, and the
//! caller must know what lives at the port. On other architectures the crate is empty.
#![no_std]
#![cfg(target_arch = "x86_64")]

use core::arch::asm;

/// # Safety
/// The caller owns the device at `port`.
pub unsafe fn outb(port: u16, value: u8) {
    // SAFETY: the caller owns the port; `out` touches no memory.
    unsafe { asm!("out dx, al", in("dx") port, in("al") value, options(nomem, nostack, preserves_flags)) };
}

/// # Safety
/// The caller owns the device at `port`.
pub unsafe fn inb(port: u16) -> u8 {
    let value: u8;
    // SAFETY: the caller owns the port; `in` touches no memory.
    unsafe { asm!("in al, dx", out("al") value, in("dx") port, options(nomem, nostack, preserves_flags)) };
    value
}

/// # Safety
/// The caller owns the device at `port`.
pub unsafe fn outw(port: u16, value: u16) {
    // SAFETY: as for `outb`.
    unsafe { asm!("out dx, ax", in("dx") port, in("ax") value, options(nomem, nostack, preserves_flags)) };
}

/// # Safety
/// The caller owns the device at `port`.
pub unsafe fn inw(port: u16) -> u16 {
    let value: u16;
    // SAFETY: as for `inb`.
    unsafe { asm!("in ax, dx", out("ax") value, in("dx") port, options(nomem, nostack, preserves_flags)) };
    value
}

/// # Safety
/// The caller owns the device at `port`.
pub unsafe fn outl(port: u16, value: u32) {
    // SAFETY: as for `outb`.
    unsafe { asm!("out dx, eax", in("dx") port, in("eax") value, options(nomem, nostack, preserves_flags)) };
}

/// # Safety
/// The caller owns the device at `port`.
pub unsafe fn inl(port: u16) -> u32 {
    let value: u32;
    // SAFETY: as for `inb`.
    unsafe { asm!("in eax, dx", out("eax") value, in("dx") port, options(nomem, nostack, preserves_flags)) };
    value
}
