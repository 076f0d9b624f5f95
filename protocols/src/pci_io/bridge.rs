//! A root bridge as the firmware enumerated it, and the checked accesses both
//! protocols make through it: memory and I/O (only inside what the bridge
//! decodes and the firmware has mapped), configuration space, polling and
//! copies. Everything here is safe; the hardware is behind
//! [`HostSpaces`] and [`ConfigAccess`].
#![forbid(unsafe_code)]

use super::width::{Step, Width};
use super::Error;
use alloc::boxed::Box;
use alloc::vec::Vec;
use fw_drivers::pci::{AccessWidth, BarKind, ConfigAccess, HostSpaces, PciAddress, PciDevice, Space};

/// What the platform lends the protocols: allocation and time.
#[derive(Clone, Copy)]
pub struct Services {
    /// Pages of `memory_type` wholly below `max_address + 1`, as
    /// AllocatePages(AllocateMaxAddress) does; the address or its status.
    pub allocate_pages: fn(max_address: u64, memory_type: u32, pages: usize) -> Result<u64, r_efi::efi::Status>,
    /// Frees pages `allocate_pages` gave.
    pub free_pages: fn(address: u64, pages: usize) -> r_efi::efi::Status,
    /// Pool memory (EfiBootServicesData) the caller frees with FreePool.
    pub allocate_pool: fn(usize) -> Option<*mut u8>,
    /// Monotonic nanoseconds.
    pub now_ns: fn() -> u64,
}

/// A range of addresses `[base, base + size)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Range {
    /// The first address.
    pub base: u64,
    /// The number of addresses.
    pub size: u64,
}

impl Range {
    /// Whether `[address, address + len)` lies wholly inside.
    pub fn contains(&self, address: u64, len: u64) -> bool {
        address >= self.base
            && address
                .checked_add(len)
                .is_some_and(|end| end <= self.base.saturating_add(self.size))
    }
}

/// The address windows a root bridge decodes (what Configuration reports).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Apertures {
    /// The memory window below 4 GiB.
    pub mmio32: Option<Range>,
    /// The memory window above 4 GiB.
    pub mmio64: Option<Range>,
    /// The I/O port window.
    pub io: Option<Range>,
}

/// One PCI root bridge: a segment's bus range and what was found on it.
pub struct RootBridge {
    /// The PCI segment.
    pub segment: u32,
    /// The first and last bus numbers.
    pub buses: (u8, u8),
    /// The address windows it decodes.
    pub apertures: Apertures,
    /// Every function found, bridges before what is behind them.
    pub devices: Vec<PciDevice>,
    /// Configuration space access for its buses.
    pub config: Box<dyn ConfigAccess + Send + Sync>,
    /// Memory and I/O space access.
    pub spaces: Box<dyn HostSpaces>,
    /// Allocation and time, for DMA and polling.
    pub services: Services,
}

/// The spaces an access goes to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    /// Memory space.
    Memory,
    /// I/O space.
    Io,
    /// One function's configuration space; addresses are register offsets.
    Config(PciAddress),
}

impl RootBridge {
    /// Memory accesses reach only assigned memory BARs: those the firmware
    /// has identity mapped (the rest of a window may be unmapped).
    fn memory_reachable(&self, address: u64, len: u64) -> bool {
        self.devices
            .iter()
            .flat_map(|d| d.bars.iter().flatten())
            .filter(|b| b.kind != BarKind::Io && b.is_assigned())
            .any(|b| {
                Range {
                    base: b.address,
                    size: b.size,
                }
                .contains(address, len)
            })
    }

    fn io_reachable(&self, address: u64, len: u64) -> bool {
        self.apertures.io.is_some_and(|r| r.contains(address, len))
            || self
                .devices
                .iter()
                .flat_map(|d| d.bars.iter().flatten())
                .filter(|b| b.kind == BarKind::Io && b.is_assigned())
                .any(|b| {
                    Range {
                        base: b.address,
                        size: b.size,
                    }
                    .contains(address, len)
                })
    }

    /// Checks a request of `count` accesses of `width` at `address`.
    fn check(&self, target: Target, width: Width, address: u64, count: usize) -> Result<(), Error> {
        let span = width.span(count)?;
        if !address.is_multiple_of(width.bytes()) {
            return Err(Error::Unaligned {
                address,
                width: width.bytes(),
            });
        }
        let reachable = match target {
            Target::Memory => self.memory_reachable(address, span),
            Target::Io => self.io_reachable(address, span),
            Target::Config(at) => {
                let bus_ok = (self.buses.0..=self.buses.1).contains(&at.bus);
                let size = u64::from(self.config.config_size());
                let in_space = address.checked_add(span).is_some_and(|end| end <= size);
                if !(bus_ok && at.device < 32 && at.function < 8 && in_space) {
                    return Err(Error::OutsideConfigSpace {
                        address: at,
                        offset: address,
                        len: span,
                    });
                }
                true
            }
        };
        if reachable {
            Ok(())
        } else {
            Err(Error::NotDecoded { address, len: span })
        }
    }

    fn read_one(&self, target: Target, address: u64, width: AccessWidth) -> u64 {
        match target {
            Target::Memory => self.spaces.read(Space::Memory, address, width),
            Target::Io => self.spaces.read(Space::Io, address, width),
            Target::Config(at) => {
                let offset = address as u16;
                match width {
                    AccessWidth::U8 => u64::from(self.config.read8(at, offset)),
                    AccessWidth::U16 => u64::from(self.config.read16(at, offset)),
                    AccessWidth::U32 => u64::from(self.config.read32(at, offset)),
                    AccessWidth::U64 => {
                        u64::from(self.config.read32(at, offset)) | u64::from(self.config.read32(at, offset + 4)) << 32
                    }
                }
            }
        }
    }

    fn write_one(&self, target: Target, address: u64, width: AccessWidth, value: u64) {
        match target {
            Target::Memory => self.spaces.write(Space::Memory, address, width, value),
            Target::Io => self.spaces.write(Space::Io, address, width, value),
            Target::Config(at) => {
                let offset = address as u16;
                match width {
                    AccessWidth::U8 => self.config.write8(at, offset, value as u8),
                    AccessWidth::U16 => self.config.write16(at, offset, value as u16),
                    AccessWidth::U32 => self.config.write32(at, offset, value as u32),
                    AccessWidth::U64 => {
                        self.config.write32(at, offset, value as u32);
                        self.config.write32(at, offset + 4, (value >> 32) as u32);
                    }
                }
            }
        }
    }

    /// The buffer length a request needs, after checking it.
    pub fn prepare(&self, target: Target, width: Width, address: u64, count: usize) -> Result<usize, Error> {
        self.check(target, width, address, count)?;
        width.buffer_len(count)
    }

    /// Checks a read or write of `count` values against the bridge
    /// ([`RootBridge::prepare`]) and a buffer of `buffer_len` bytes; the bytes
    /// of one value.
    fn value_len(
        &self,
        target: Target,
        width: Width,
        address: u64,
        count: usize,
        buffer_len: usize,
    ) -> Result<usize, Error> {
        let len = self.prepare(target, width, address, count)?;
        if buffer_len < len {
            return Err(Error::NullBuffer);
        }
        Ok(width.bytes() as usize)
    }

    /// Reads `count` values into `buffer` (little-endian, as the CPU stores
    /// them); `buffer` is [`RootBridge::prepare`]'s length.
    pub fn read(
        &self,
        target: Target,
        width: Width,
        address: u64,
        count: usize,
        buffer: &mut [u8],
    ) -> Result<(), Error> {
        let n = self.value_len(target, width, address, count, buffer.len())?;
        for i in 0..count {
            let (at, place) = width.position(address, i);
            let value = self.read_one(target, at, width.access);
            buffer[place..place + n].copy_from_slice(&value.to_le_bytes()[..n]);
        }
        Ok(())
    }

    /// Writes `count` values from `buffer`.
    pub fn write(&self, target: Target, width: Width, address: u64, count: usize, buffer: &[u8]) -> Result<(), Error> {
        let n = self.value_len(target, width, address, count, buffer.len())?;
        for i in 0..count {
            let (at, place) = width.position(address, i);
            let mut bytes = [0u8; 8];
            bytes[..n].copy_from_slice(&buffer[place..place + n]);
            self.write_one(target, at, width.access, u64::from_le_bytes(bytes));
        }
        Ok(())
    }

    /// PollMem/PollIo: reads until `(value & mask) == expected` or `delay`
    /// (in 100 ns units) has passed. A delay of 0 reads once and succeeds.
    /// The last value read comes back in both cases.
    pub fn poll(
        &self,
        target: Target,
        raw_width: u32,
        address: u64,
        mask: u64,
        expected: u64,
        delay: u64,
    ) -> Result<u64, (Error, u64)> {
        let access = Width::plain(raw_width).map_err(|e| (e, 0))?;
        let width = Width {
            access,
            step: Step::Normal,
        };
        self.check(target, width, address, 1).map_err(|e| (e, 0))?;
        let mut value = self.read_one(target, address, access);
        if delay == 0 || value & mask == expected {
            return Ok(value);
        }
        let start = (self.services.now_ns)();
        let limit = delay.saturating_mul(100);
        loop {
            value = self.read_one(target, address, access);
            if value & mask == expected {
                return Ok(value);
            }
            if (self.services.now_ns)().saturating_sub(start) >= limit {
                return Err((Error::Timeout, value));
            }
        }
    }

    /// CopyMem: `count` values from `source` to `destination` in memory
    /// space, backwards when the ranges overlap with the destination above.
    pub fn copy(&self, raw_width: u32, destination: u64, source: u64, count: usize) -> Result<(), Error> {
        let access = Width::plain(raw_width)?;
        let width = Width {
            access,
            step: Step::Normal,
        };
        self.check(Target::Memory, width, source, count)?;
        self.check(Target::Memory, width, destination, count)?;
        let n = access.bytes();
        let len = width.span(count)?;
        let backwards = destination > source && destination < source + len;
        for k in 0..count as u64 {
            let i = if backwards { count as u64 - 1 - k } else { k };
            let value = self.spaces.read(Space::Memory, source + i * n, access);
            self.spaces.write(Space::Memory, destination + i * n, access, value);
        }
        Ok(())
    }
}
