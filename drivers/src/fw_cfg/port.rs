//! The x86 I/O-port fw_cfg interface of QEMU's PC and Q35 machines (QEMU
//! `docs/specs/fw_cfg.rst`, "Selector Register IOport", "Data Register
//! IOport", "DMA Address IOport"): the little-endian 16-bit selector at 0x510,
//! the data register at 0x511, and the big-endian 64-bit DMA address at 0x514,
//! written as two 32-bit halves whose low one (0x518) starts the request.

use super::Transport;
use fw_port_io::{inb, outl, outw};

const SELECTOR: u16 = 0x510;
const DATA: u16 = 0x511;
const DMA_ADDRESS_HIGH: u16 = 0x514;
const DMA_ADDRESS_LOW: u16 = 0x518;

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
        super::dma::run(control, buf, |high, low| {
            // SAFETY: `new`'s contract: the DMA address port, high half
            // first; `run` keeps the request and `buf` alive until the device
            // is done (QEMU completes it during the second write).
            unsafe {
                outl(DMA_ADDRESS_HIGH, high);
                outl(DMA_ADDRESS_LOW, low);
            }
        })
    }
}
