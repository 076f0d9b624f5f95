//! The memory-mapped fw_cfg interface of QEMU's Arm and RISC-V `virt` machines
//! (QEMU `docs/specs/fw_cfg.rst`, "Memory-Mapped Interface"; the device tree
//! node is `compatible = "qemu,fw-cfg-mmio"`): the data register at offset 0,
//! the big-endian 16-bit selector at 8 and the big-endian 64-bit DMA address
//! at 16, whose low half (offset 20) starts the request when written.

use super::Transport;

const DATA: usize = 0x00;
const SELECTOR: usize = 0x08;
const DMA_ADDRESS_HIGH: usize = 0x10;
const DMA_ADDRESS_LOW: usize = 0x14;
/// The register block's size: what the device tree's `reg` must cover.
pub const REGISTERS_LENGTH: u64 = 0x18;

/// The fw_cfg registers at an identity-mapped physical address.
pub struct MmioTransport {
    /// An integer, not a pointer, so that the transport is `Send + Sync`.
    base: usize,
}

impl MmioTransport {
    /// # Safety
    /// `base..base + REGISTERS_LENGTH` must be the identity-mapped registers of a
    /// fw_cfg device, which nothing else accesses while this value is in use,
    /// and RAM must be identity mapped (DMA gets the buffers' addresses).
    pub unsafe fn new(base: u64) -> MmioTransport {
        MmioTransport { base: base as usize }
    }
}

impl Transport for MmioTransport {
    fn select(&self, key: u16) {
        // SAFETY: `new`'s contract: the selector register, naturally aligned.
        unsafe { core::ptr::write_volatile((self.base + SELECTOR) as *mut u16, key.to_be()) };
    }

    fn read_data(&self, buf: &mut [u8]) {
        for byte in buf {
            // SAFETY: `new`'s contract: the data register; a byte read returns
            // the next byte of the selected item.
            *byte = unsafe { core::ptr::read_volatile((self.base + DATA) as *const u8) };
        }
    }

    fn dma(&self, control: u32, buf: &mut [u8]) -> u32 {
        let base = self.base;
        super::dma::run(control, buf, |high, low| {
            // SAFETY: `new`'s contract: the DMA address register, written as
            // two aligned 32-bit halves, high first; the low half starts the
            // request. `run` keeps the request and `buf` alive until the
            // device is done, or abandons it with the device still pointing at
            // a stack slot only if it never completes.
            unsafe {
                core::ptr::write_volatile((base + DMA_ADDRESS_HIGH) as *mut u32, high);
                core::ptr::write_volatile((base + DMA_ADDRESS_LOW) as *mut u32, low);
            }
        })
    }
}
