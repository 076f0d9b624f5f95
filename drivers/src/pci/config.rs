//! Configuration space access: the [`ConfigAccess`] trait and its two real
//! implementations, ECAM (PCIe Base Specification §7.2.2, the MCFG region of ACPI
//! or the `pci-host-ecam-generic` FDT node) and the x86 configuration mechanism
//! #1 at ports 0xCF8/0xCFC (PCI 3.0 §3.2.2.3.2).

use super::PciAddress;

/// Reads and writes a function's configuration space. Offsets are in bytes;
/// 32-bit accesses must be 4-byte aligned, 16-bit ones 2-byte aligned. An absent
/// function reads as all ones and ignores writes.
pub trait ConfigAccess {
    /// The bus enumeration starts from (the first bus of an ECAM segment).
    fn root_bus(&self) -> u8 {
        0
    }

    /// The highest bus number reachable (the last bus of an ECAM segment):
    /// bridges are numbered within `root_bus()..=last_bus()`.
    fn last_bus(&self) -> u8 {
        255
    }

    /// Bytes of configuration space reachable per function: 4096 under
    /// ECAM, 256 through the x86 ports.
    fn config_size(&self) -> u16 {
        ECAM_FUNCTION_SIZE as u16
    }

    /// The dword at `offset` (a multiple of 4) of `address`'s configuration space.
    fn read32(&self, address: PciAddress, offset: u16) -> u32;
    /// Writes the dword at `offset` (a multiple of 4).
    fn write32(&self, address: PciAddress, offset: u16, value: u32);

    /// The word at `offset` (even), read through its dword.
    fn read16(&self, address: PciAddress, offset: u16) -> u16 {
        (self.read32(address, offset & !3) >> ((offset & 2) * 8)) as u16
    }

    /// The byte at `offset`, read through its dword.
    fn read8(&self, address: PciAddress, offset: u16) -> u8 {
        (self.read32(address, offset & !3) >> ((offset & 3) * 8)) as u8
    }

    /// The default is a read-modify-write of the dword. Real implementations
    /// override it with a native 16-bit access, because rewriting the dword can
    /// clear write-one-to-clear bits of the neighbouring register (status).
    fn write16(&self, address: PciAddress, offset: u16, value: u16) {
        let shift = (offset & 2) * 8;
        let old = self.read32(address, offset & !3) & !(0xFFFF << shift);
        self.write32(address, offset & !3, old | u32::from(value) << shift);
    }

    /// See [`ConfigAccess::write16`].
    fn write8(&self, address: PciAddress, offset: u16, value: u8) {
        let shift = (offset & 3) * 8;
        let old = self.read32(address, offset & !3) & !(0xFF << shift);
        self.write32(address, offset & !3, old | u32::from(value) << shift);
    }
}

impl<C: ConfigAccess + ?Sized> ConfigAccess for &C {
    fn root_bus(&self) -> u8 {
        (**self).root_bus()
    }
    fn last_bus(&self) -> u8 {
        (**self).last_bus()
    }
    fn config_size(&self) -> u16 {
        (**self).config_size()
    }
    fn read32(&self, address: PciAddress, offset: u16) -> u32 {
        (**self).read32(address, offset)
    }
    fn write32(&self, address: PciAddress, offset: u16, value: u32) {
        (**self).write32(address, offset, value)
    }
    fn read16(&self, address: PciAddress, offset: u16) -> u16 {
        (**self).read16(address, offset)
    }
    fn read8(&self, address: PciAddress, offset: u16) -> u8 {
        (**self).read8(address, offset)
    }
    fn write16(&self, address: PciAddress, offset: u16, value: u16) {
        (**self).write16(address, offset, value)
    }
    fn write8(&self, address: PciAddress, offset: u16, value: u8) {
        (**self).write8(address, offset, value)
    }
}

/// Bytes of configuration space per function under ECAM.
pub const ECAM_FUNCTION_SIZE: u64 = 4096;

/// The enhanced configuration access mechanism: every function's 4 KiB of
/// configuration space is memory-mapped at
/// `base + (bus - start_bus) << 20 | device << 15 | function << 12`.
pub struct Ecam {
    /// Kept as an integer so that `Ecam` is `Send + Sync`; it is only turned into
    /// a pointer for each access.
    base: usize,
    start_bus: u8,
    end_bus: u8,
}

impl Ecam {
    /// # Safety
    /// `base` must be the identity-mapped address of an ECAM region decoding buses
    /// `start_bus..=end_bus` (so `(end_bus - start_bus + 1) << 20` bytes), and
    /// nothing else may access that region while this value is in use.
    pub unsafe fn new(base: u64, start_bus: u8, end_bus: u8) -> Ecam {
        Ecam {
            base: base as usize,
            start_bus,
            end_bus,
        }
    }

    /// The first and last bus the window decodes.
    pub fn bus_range(&self) -> (u8, u8) {
        (self.start_bus, self.end_bus)
    }

    /// The address of `offset` in `address`'s configuration space, if the region
    /// covers that bus and the access stays inside the function's 4 KiB.
    fn locate(&self, address: PciAddress, offset: u16, width: u16) -> Option<usize> {
        if address.bus < self.start_bus
            || address.bus > self.end_bus
            || address.device >= super::MAX_DEVICES
            || address.function >= super::MAX_FUNCTIONS
            || u64::from(offset) + u64::from(width) > ECAM_FUNCTION_SIZE
            || !offset.is_multiple_of(width)
        {
            return None;
        }
        let index = ((address.bus - self.start_bus) as usize) << 20
            | (address.device as usize) << 15
            | (address.function as usize) << 12;
        Some(self.base + index + offset as usize)
    }
}

impl ConfigAccess for Ecam {
    fn root_bus(&self) -> u8 {
        self.start_bus
    }

    fn last_bus(&self) -> u8 {
        self.end_bus
    }

    fn read32(&self, address: PciAddress, offset: u16) -> u32 {
        match self.locate(address, offset, 4) {
            // SAFETY: `new`'s contract: the address lies in the ECAM region, and
            // `locate` checked alignment and bounds.
            Some(at) => unsafe { (at as *const u32).read_volatile() },
            None => u32::MAX,
        }
    }

    fn write32(&self, address: PciAddress, offset: u16, value: u32) {
        if let Some(at) = self.locate(address, offset, 4) {
            // SAFETY: as in `read32`.
            unsafe { (at as *mut u32).write_volatile(value) }
        }
    }

    fn read16(&self, address: PciAddress, offset: u16) -> u16 {
        match self.locate(address, offset, 2) {
            // SAFETY: as in `read32`.
            Some(at) => unsafe { (at as *const u16).read_volatile() },
            None => u16::MAX,
        }
    }

    fn read8(&self, address: PciAddress, offset: u16) -> u8 {
        match self.locate(address, offset, 1) {
            // SAFETY: as in `read32`.
            Some(at) => unsafe { (at as *const u8).read_volatile() },
            None => u8::MAX,
        }
    }

    fn write16(&self, address: PciAddress, offset: u16, value: u16) {
        if let Some(at) = self.locate(address, offset, 2) {
            // SAFETY: as in `read32`.
            unsafe { (at as *mut u16).write_volatile(value) }
        }
    }

    fn write8(&self, address: PciAddress, offset: u16, value: u8) {
        if let Some(at) = self.locate(address, offset, 1) {
            // SAFETY: as in `read32`.
            unsafe { (at as *mut u8).write_volatile(value) }
        }
    }
}

/// Configuration mechanism #1: the dword address goes to CONFIG_ADDRESS, the data
/// moves through CONFIG_DATA. Only the first 256 bytes of each function are
/// reachable. The address/data pair is not atomic; the firmware runs on one CPU
/// without interrupts, so no lock is needed.
#[cfg(all(target_arch = "x86_64", target_os = "none"))]
pub struct PortIo {
    _private: (),
}

#[cfg(all(target_arch = "x86_64", target_os = "none"))]
/// The x86 configuration address port (mechanism #1).
pub const CONFIG_ADDRESS: u16 = 0xCF8;
#[cfg(all(target_arch = "x86_64", target_os = "none"))]
/// The x86 configuration data port (mechanism #1).
pub const CONFIG_DATA: u16 = 0xCFC;
#[cfg(all(target_arch = "x86_64", target_os = "none"))]
const CONFIG_ENABLE: u32 = 1 << 31;
#[cfg(all(target_arch = "x86_64", target_os = "none"))]
const PORT_IO_CONFIG_SIZE: u16 = 256;

#[cfg(all(target_arch = "x86_64", target_os = "none"))]
impl PortIo {
    /// # Safety
    /// The caller owns ports 0xCF8..0xD00 (no one else uses configuration
    /// mechanism #1 while this value is in use).
    pub unsafe fn new() -> PortIo {
        PortIo { _private: () }
    }

    /// Selects the dword holding `offset`; `None` if the access cannot be made.
    fn select(&self, address: PciAddress, offset: u16, width: u16) -> Option<u16> {
        if address.device >= super::MAX_DEVICES
            || address.function >= super::MAX_FUNCTIONS
            || u32::from(offset) + u32::from(width) > u32::from(PORT_IO_CONFIG_SIZE)
            || !offset.is_multiple_of(width)
        {
            return None;
        }
        let value = CONFIG_ENABLE
            | u32::from(address.bus) << 16
            | u32::from(address.device) << 11
            | u32::from(address.function) << 8
            | u32::from(offset & 0xFC);
        // SAFETY: `new`'s contract: we own the configuration ports.
        unsafe { fw_port_io::outl(CONFIG_ADDRESS, value) };
        Some(CONFIG_DATA + (offset & 3))
    }
}

#[cfg(all(target_arch = "x86_64", target_os = "none"))]
impl ConfigAccess for PortIo {
    fn config_size(&self) -> u16 {
        PORT_IO_CONFIG_SIZE
    }

    fn read32(&self, address: PciAddress, offset: u16) -> u32 {
        match self.select(address, offset, 4) {
            // SAFETY: `new`'s contract: we own the configuration ports.
            Some(port) => unsafe { fw_port_io::inl(port) },
            None => u32::MAX,
        }
    }

    fn write32(&self, address: PciAddress, offset: u16, value: u32) {
        if let Some(port) = self.select(address, offset, 4) {
            // SAFETY: as in `read32`.
            unsafe { fw_port_io::outl(port, value) }
        }
    }

    fn read16(&self, address: PciAddress, offset: u16) -> u16 {
        match self.select(address, offset, 2) {
            // SAFETY: as in `read32`.
            Some(port) => unsafe { fw_port_io::inw(port) },
            None => u16::MAX,
        }
    }

    fn read8(&self, address: PciAddress, offset: u16) -> u8 {
        match self.select(address, offset, 1) {
            // SAFETY: as in `read32`.
            Some(port) => unsafe { fw_port_io::inb(port) },
            None => u8::MAX,
        }
    }

    fn write16(&self, address: PciAddress, offset: u16, value: u16) {
        if let Some(port) = self.select(address, offset, 2) {
            // SAFETY: as in `read32`.
            unsafe { fw_port_io::outw(port, value) }
        }
    }

    fn write8(&self, address: PciAddress, offset: u16, value: u8) {
        if let Some(port) = self.select(address, offset, 1) {
            // SAFETY: as in `read32`.
            unsafe { fw_port_io::outb(port, value) }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::vec;

    #[test]
    fn ecam_maps_bus_device_function_to_4k_pages() {
        // Two buses of ECAM in ordinary memory (u32 elements keep it aligned).
        let mut memory = vec![0u32; 2 << 20 >> 2];
        let base = memory.as_mut_ptr() as u64;
        // SAFETY: the region is the vector, sized for buses 4..=5.
        let ecam = unsafe { Ecam::new(base, 4, 5) };
        let addr = PciAddress::new(5, 3, 2);
        ecam.write32(addr, 0x10, 0x1234_5678);
        ecam.write16(addr, 0x06, 0xBEEF);
        ecam.write8(addr, 0x0E, 0x80);
        let dword = ((1 << 20) | (3 << 15) | (2 << 12) | 0x10) / 4;
        assert_eq!(memory[dword], 0x1234_5678);
        assert_eq!(ecam.read16(addr, 0x12), 0x1234);
        assert_eq!(ecam.read16(addr, 0x06), 0xBEEF);
        assert_eq!(ecam.read8(addr, 0x0E), 0x80);
    }

    #[test]
    fn ecam_reads_all_ones_outside_its_buses() {
        let mut memory = vec![0u32; 1 << 20 >> 2];
        // SAFETY: the region is the vector, sized for bus 0.
        let ecam = unsafe { Ecam::new(memory.as_mut_ptr() as u64, 0, 0) };
        assert_eq!(ecam.read32(PciAddress::new(1, 0, 0), 0), u32::MAX);
        ecam.write32(PciAddress::new(1, 0, 0), 0, 0);
        assert_eq!(ecam.read32(PciAddress::new(0, 0, 0), 4096), u32::MAX);
        assert!(memory.iter().all(|&d| d == 0));
    }
}
