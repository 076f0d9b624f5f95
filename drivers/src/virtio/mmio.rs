//! The virtio-mmio transport, version 2 (modern) only (virtio 1.2 §4.2.2).

use super::regs::Registers;
use super::{Error, QueueAreas, Transport};

/// "virt" in little-endian.
pub const VIRTIO_MMIO_MAGIC: u32 = 0x7472_6976;
/// The legacy (pre-1.0) register layout, which this driver refuses.
pub const VIRTIO_MMIO_VERSION_LEGACY: u32 = 1;
/// The virtio 1.x register layout.
pub const VIRTIO_MMIO_VERSION: u32 = 2;
/// Bytes of the register block before the device configuration.
pub const VIRTIO_MMIO_CONFIG: usize = 0x100;

// Register offsets (§4.2.2).
const MAGIC_VALUE: usize = 0x000;
const VERSION: usize = 0x004;
const DEVICE_ID: usize = 0x008;
const DEVICE_FEATURES: usize = 0x010;
const DEVICE_FEATURES_SEL: usize = 0x014;
const DRIVER_FEATURES: usize = 0x020;
const DRIVER_FEATURES_SEL: usize = 0x024;
const QUEUE_SEL: usize = 0x030;
const QUEUE_NUM_MAX: usize = 0x034;
const QUEUE_NUM: usize = 0x038;
const QUEUE_READY: usize = 0x044;
const QUEUE_NOTIFY: usize = 0x050;
const STATUS: usize = 0x070;
const QUEUE_DESC_LOW: usize = 0x080;
const QUEUE_DRIVER_LOW: usize = 0x090;
const QUEUE_DEVICE_LOW: usize = 0x0A0;
const CONFIG_GENERATION: usize = 0x0FC;

/// A virtio-mmio device (from the FDT's `virtio,mmio` nodes or the ACPI
/// `LNRO0005` devices), its registers behind `R` (an [`super::MmioRegion`] of at
/// least 0x200 bytes on real hardware).
pub struct MmioTransport<R> {
    regs: R,
    device_type: u32,
}

impl<R: Registers> MmioTransport<R> {
    /// Checks the magic and version; [`Error::NoDevice`] for an empty slot.
    pub fn new(regs: R) -> Result<MmioTransport<R>, Error> {
        let magic = regs.read32(MAGIC_VALUE);
        if magic != VIRTIO_MMIO_MAGIC {
            return Err(Error::BadMagic { value: magic });
        }
        match regs.read32(VERSION) {
            VIRTIO_MMIO_VERSION => {}
            VIRTIO_MMIO_VERSION_LEGACY => return Err(Error::LegacyOnly),
            version => return Err(Error::UnsupportedMmioVersion { version }),
        }
        let device_type = regs.read32(DEVICE_ID);
        if device_type == 0 {
            return Err(Error::NoDevice);
        }
        Ok(MmioTransport { regs, device_type })
    }

    fn write64(&self, low: usize, value: u64) {
        self.regs.write32(low, value as u32);
        self.regs.write32(low + 4, (value >> 32) as u32);
    }
}

impl<R: Registers> Transport for MmioTransport<R> {
    fn device_type(&self) -> u32 {
        self.device_type
    }

    fn status(&self) -> u8 {
        self.regs.read32(STATUS) as u8
    }

    fn set_status(&mut self, status: u8) {
        self.regs.write32(STATUS, u32::from(status));
    }

    fn device_features(&mut self) -> u64 {
        self.regs.write32(DEVICE_FEATURES_SEL, 0);
        let low = self.regs.read32(DEVICE_FEATURES);
        self.regs.write32(DEVICE_FEATURES_SEL, 1);
        let high = self.regs.read32(DEVICE_FEATURES);
        u64::from(high) << 32 | u64::from(low)
    }

    fn set_driver_features(&mut self, features: u64) {
        self.regs.write32(DRIVER_FEATURES_SEL, 0);
        self.regs.write32(DRIVER_FEATURES, features as u32);
        self.regs.write32(DRIVER_FEATURES_SEL, 1);
        self.regs.write32(DRIVER_FEATURES, (features >> 32) as u32);
    }

    fn select_queue(&mut self, queue: u16) {
        self.regs.write32(QUEUE_SEL, u32::from(queue));
    }

    fn queue_max_size(&self) -> u16 {
        self.regs.read32(QUEUE_NUM_MAX).min(u32::from(u16::MAX)) as u16
    }

    fn set_queue_size(&mut self, size: u16) {
        self.regs.write32(QUEUE_NUM, u32::from(size));
    }

    fn set_queue_areas(&mut self, areas: &QueueAreas) {
        self.write64(QUEUE_DESC_LOW, areas.descriptors);
        self.write64(QUEUE_DRIVER_LOW, areas.driver);
        self.write64(QUEUE_DEVICE_LOW, areas.device);
    }

    fn queue_enabled(&self) -> bool {
        self.regs.read32(QUEUE_READY) != 0
    }

    fn enable_queue(&mut self) {
        self.regs.write32(QUEUE_READY, 1);
    }

    fn notify(&mut self, queue: u16) {
        self.regs.write32(QUEUE_NOTIFY, u32::from(queue));
    }

    fn config_generation(&self) -> u32 {
        self.regs.read32(CONFIG_GENERATION)
    }

    fn config_read8(&self, offset: usize) -> u8 {
        self.regs.read8(VIRTIO_MMIO_CONFIG + offset)
    }

    fn config_read16(&self, offset: usize) -> u16 {
        self.regs.read16(VIRTIO_MMIO_CONFIG + offset)
    }

    fn config_read32(&self, offset: usize) -> u32 {
        self.regs.read32(VIRTIO_MMIO_CONFIG + offset)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::virtio::MmioRegion;
    use std::vec;

    /// A register block in ordinary memory.
    fn block(magic: u32, version: u32, device_id: u32) -> std::vec::Vec<u32> {
        let mut memory = vec![0u32; 0x200 / 4];
        memory[0] = magic;
        memory[1] = version;
        memory[2] = device_id;
        memory
    }

    fn region(memory: &mut [u32]) -> MmioRegion {
        // SAFETY: the region is the slice.
        unsafe { MmioRegion::new(memory.as_mut_ptr() as u64, memory.len() * 4) }
    }

    #[test]
    fn accepts_only_version_2_devices() {
        let mut m = block(VIRTIO_MMIO_MAGIC, 2, 2);
        assert_eq!(MmioTransport::new(region(&mut m)).unwrap().device_type(), 2);
        let mut m = block(VIRTIO_MMIO_MAGIC, 1, 2);
        assert_eq!(MmioTransport::new(region(&mut m)).err(), Some(Error::LegacyOnly));
        let mut m = block(VIRTIO_MMIO_MAGIC, 2, 0);
        assert_eq!(MmioTransport::new(region(&mut m)).err(), Some(Error::NoDevice));
        let mut m = block(0, 2, 2);
        assert_eq!(
            MmioTransport::new(region(&mut m)).err(),
            Some(Error::BadMagic { value: 0 })
        );
    }

    #[test]
    fn queue_areas_and_config_are_at_spec_offsets() {
        let mut m = block(VIRTIO_MMIO_MAGIC, 2, 2);
        m[0x100 / 4] = 0x0000_2000; // capacity, low half
        m[0x114 / 4] = 4096; // blk_size
        let mut t = MmioTransport::new(region(&mut m)).unwrap();
        t.set_queue_areas(&QueueAreas {
            descriptors: 0x1_0000_1000,
            driver: 0x2000,
            device: 0x3000,
        });
        t.notify(0);
        assert_eq!(t.config_read64(0), 0x2000);
        assert_eq!(t.config_read32(0x14), 4096);
        assert_eq!(&m[0x80 / 4..0x88 / 4], &[0x1000, 1]);
        assert_eq!(m[0x90 / 4], 0x2000);
        assert_eq!(m[0xA0 / 4], 0x3000);
    }
}
