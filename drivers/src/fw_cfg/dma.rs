//! One fw_cfg DMA request (QEMU `docs/specs/fw_cfg.rst`, "DMA interface"), the
//! same on every transport but for how the request's address reaches the
//! device: I/O ports on x86, memory-mapped registers elsewhere.

use core::sync::atomic::{fence, Ordering};

/// How often a DMA request's control word is read before giving up. QEMU
/// finishes a request while the write that starts it is handled, so this is
/// only a guard against a device that never does.
const DMA_POLLS: u32 = 1_000_000;

/// `FWCfgDmaAccess`: every field big-endian, read and written by the device.
#[repr(C, align(16))]
struct DmaAccess {
    control: u32,
    length: u32,
    address: u64,
}

/// Runs one request with `control` over `buf` and returns the control word
/// the device left (0 when done, FW_CFG_DMA_CTL_ERROR set on failure, other
/// bits if it never finished). `start(high, low)` writes the request's
/// address to the device, high half first, each half already big-endian; the
/// low half starts it.
///
/// The request and `buf` must be identity-mapped RAM (the device gets their
/// addresses), which the stack and heap are.
pub(super) fn run(control: u32, buf: &mut [u8], start: impl FnOnce(u32, u32)) -> u32 {
    let mut access = DmaAccess {
        control: control.to_be(),
        length: (buf.len() as u32).to_be(),
        address: (buf.as_mut_ptr() as u64).to_be(),
    };
    let request = core::ptr::addr_of_mut!(access) as u64;
    // The request and the buffer must be in memory before the device looks.
    fence(Ordering::SeqCst);
    start(((request >> 32) as u32).to_be(), (request as u32).to_be());
    let mut left = 0;
    for _ in 0..DMA_POLLS {
        // SAFETY: `access` is a live local; the device writes its control
        // word, so it is read volatile.
        left = u32::from_be(unsafe { core::ptr::read_volatile(core::ptr::addr_of!(access.control)) });
        if left == 0 || left & super::FW_CFG_DMA_CTL_ERROR != 0 {
            break;
        }
        core::hint::spin_loop();
    }
    fence(Ordering::SeqCst);
    left
}
