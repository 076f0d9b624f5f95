//! The x86 I/O-port fw_cfg interface of QEMU's PC and Q35 machines (QEMU
//! `docs/specs/fw_cfg.rst`, "Selector Register IOport", "Data Register
//! IOport", "DMA Address IOport"): the little-endian 16-bit selector at 0x510,
//! the data register at 0x511, and the big-endian 64-bit DMA address at 0x514,
//! written as two 32-bit halves whose low one (0x518) starts the request.

use super::Transport;
use crate::portio::{inb, outl, outw};
use core::sync::atomic::{fence, Ordering};

const SELECTOR: u16 = 0x510;
const DATA: u16 = 0x511;
const DMA_ADDRESS_HIGH: u16 = 0x514;
const DMA_ADDRESS_LOW: u16 = 0x518;
const DMA_POLLS: u32 = 1_000_000;

/// `FWCfgDmaAccess`: every field big-endian.
#[repr(C, align(16))]
struct DmaAccess {
    control: u32,
    length: u32,
    address: u64,
}

/// fw_cfg at QEMU's fixed x86 ports.
pub struct PortTransport(());

impl PortTransport {
    /// # Safety
    /// The machine is QEMU's PC or Q35 (or the ports are unused: the probe then
    /// finds no signature), nothing else uses the ports meanwhile, and RAM is
    /// identity mapped (DMA gets the buffers' addresses).
    pub unsafe fn new() -> PortTransport {
        PortTransport(())
    }
}

impl Transport for PortTransport {
    fn select(&self, key: u16) {
        // SAFETY: `new`'s contract: the fw_cfg selector port.
        unsafe { outw(SELECTOR, key) };
    }

    fn read_data(&self, buf: &mut [u8]) {
        for byte in buf {
            // SAFETY: `new`'s contract: the fw_cfg data port.
            *byte = unsafe { inb(DATA) };
        }
    }

    fn dma(&self, control: u32, buf: &mut [u8]) -> u32 {
        let mut access = DmaAccess {
            control: control.to_be(),
            length: (buf.len() as u32).to_be(),
            address: (buf.as_mut_ptr() as u64).to_be(),
        };
        let request = core::ptr::addr_of_mut!(access) as u64;
        fence(Ordering::SeqCst);
        // SAFETY: `new`'s contract: the DMA address port, high half first, each
        // half big-endian; `access` and `buf` are identity-mapped RAM that
        // outlive the request (QEMU completes it during the second write).
        unsafe {
            outl(DMA_ADDRESS_HIGH, ((request >> 32) as u32).to_be());
            outl(DMA_ADDRESS_LOW, (request as u32).to_be());
        }
        let mut left = 0;
        for _ in 0..DMA_POLLS {
            // SAFETY: `access` is a live local the device writes.
            left = u32::from_be(unsafe { core::ptr::read_volatile(core::ptr::addr_of!(access.control)) });
            if left == 0 || left & super::FW_CFG_DMA_CTL_ERROR != 0 {
                break;
            }
            core::hint::spin_loop();
        }
        fence(Ordering::SeqCst);
        left
    }
}
