//! The CPU's view of what a PCI root bridge decodes: memory space (identity
//! mapped, as the firmware maps every BAR) and I/O space (x86 port
//! instructions, or a memory-mapped window on aarch64 and riscv64, where the
//! host bridge's `ranges` translate port numbers to CPU addresses). EFI's
//! PCI Root Bridge I/O and PCI I/O protocols (`fw_protocols::pci_io`) reach
//! devices through [`HostSpaces`], so their checks run on the host against a
//! model; [`MachineSpaces`] is the real one.

/// The two address spaces a root bridge forwards besides configuration space.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Space {
    /// Memory space.
    Memory,
    /// I/O space.
    Io,
}

/// One access: 1, 2, 4 or 8 bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AccessWidth {
    /// One byte.
    U8,
    /// Two bytes.
    U16,
    /// Four bytes.
    U32,
    /// Eight bytes.
    U64,
}

impl AccessWidth {
    /// The width in bytes.
    pub fn bytes(self) -> u64 {
        match self {
            AccessWidth::U8 => 1,
            AccessWidth::U16 => 2,
            AccessWidth::U32 => 4,
            AccessWidth::U64 => 8,
        }
    }
}

/// Single accesses to memory or I/O space. The caller has checked that the
/// address lies in what the root bridge decodes and is aligned to the width;
/// values are zero-extended (reads) or truncated (writes) to the width.
pub trait HostSpaces: Send + Sync {
    /// Reads one value.
    fn read(&self, space: Space, address: u64, width: AccessWidth) -> u64;
    /// Writes one value.
    fn write(&self, space: Space, address: u64, width: AccessWidth, value: u64);
}

/// The machine's memory and I/O spaces.
pub struct MachineSpaces {
    /// The CPU address of I/O port 0, where I/O space is memory-mapped
    /// (`None` on x86, which has port instructions).
    io_base: Option<u64>,
}

impl MachineSpaces {
    /// # Safety
    /// Callers of [`HostSpaces`] on the result must only pass addresses of
    /// device registers that are identity mapped (memory BARs, the I/O
    /// window at `io_base`) and that no other driver of the firmware uses
    /// behind its back; `io_base`, when given, must be the CPU address of
    /// the host bridge's I/O window for port 0.
    pub unsafe fn new(io_base: Option<u64>) -> MachineSpaces {
        MachineSpaces { io_base }
    }

    fn mmio_read(address: u64, width: AccessWidth) -> u64 {
        let at = address as usize;
        // SAFETY: `new`'s contract: the address is a mapped device register,
        // aligned to the width (the caller's check).
        unsafe {
            match width {
                AccessWidth::U8 => u64::from((at as *const u8).read_volatile()),
                AccessWidth::U16 => u64::from((at as *const u16).read_volatile()),
                AccessWidth::U32 => u64::from((at as *const u32).read_volatile()),
                AccessWidth::U64 => (at as *const u64).read_volatile(),
            }
        }
    }

    fn mmio_write(address: u64, width: AccessWidth, value: u64) {
        let at = address as usize;
        // SAFETY: as in `mmio_read`.
        unsafe {
            match width {
                AccessWidth::U8 => (at as *mut u8).write_volatile(value as u8),
                AccessWidth::U16 => (at as *mut u16).write_volatile(value as u16),
                AccessWidth::U32 => (at as *mut u32).write_volatile(value as u32),
                AccessWidth::U64 => (at as *mut u64).write_volatile(value),
            }
        }
    }

    #[cfg(all(target_arch = "x86_64", target_os = "none"))]
    fn port_read(port: u64, width: AccessWidth) -> u64 {
        use fw_port_io::{inb, inl, inw};
        let port = port as u16;
        // SAFETY: `new`'s contract: the port lies in the root bridge's I/O
        // window, a device's register.
        unsafe {
            match width {
                AccessWidth::U8 => u64::from(inb(port)),
                AccessWidth::U16 => u64::from(inw(port)),
                AccessWidth::U32 => u64::from(inl(port)),
                // x86 has no 64-bit port access: two dwords, low first.
                AccessWidth::U64 => u64::from(inl(port)) | u64::from(inl(port.wrapping_add(4))) << 32,
            }
        }
    }

    #[cfg(all(target_arch = "x86_64", target_os = "none"))]
    fn port_write(port: u64, width: AccessWidth, value: u64) {
        use fw_port_io::{outb, outl, outw};
        let port = port as u16;
        // SAFETY: as in `port_read`.
        unsafe {
            match width {
                AccessWidth::U8 => outb(port, value as u8),
                AccessWidth::U16 => outw(port, value as u16),
                AccessWidth::U32 => outl(port, value as u32),
                AccessWidth::U64 => {
                    outl(port, value as u32);
                    outl(port.wrapping_add(4), (value >> 32) as u32);
                }
            }
        }
    }

    #[cfg(not(all(target_arch = "x86_64", target_os = "none")))]
    fn port_read(_port: u64, _width: AccessWidth) -> u64 {
        u64::MAX
    }

    #[cfg(not(all(target_arch = "x86_64", target_os = "none")))]
    fn port_write(_port: u64, _width: AccessWidth, _value: u64) {}
}

impl HostSpaces for MachineSpaces {
    fn read(&self, space: Space, address: u64, width: AccessWidth) -> u64 {
        match (space, self.io_base) {
            (Space::Memory, _) => Self::mmio_read(address, width),
            (Space::Io, Some(base)) => Self::mmio_read(base.wrapping_add(address), width),
            (Space::Io, None) => Self::port_read(address, width),
        }
    }

    fn write(&self, space: Space, address: u64, width: AccessWidth, value: u64) {
        match (space, self.io_base) {
            (Space::Memory, _) => Self::mmio_write(address, width, value),
            (Space::Io, Some(base)) => Self::mmio_write(base.wrapping_add(address), width, value),
            (Space::Io, None) => Self::port_write(address, width, value),
        }
    }
}
