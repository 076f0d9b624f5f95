//! The address windows of a PCI-to-PCI bridge (PCI-to-PCI Bridge Architecture
//! Specification 1.2 §3.2.5.6-10): the bridge forwards I/O and memory
//! transactions in its I/O window (4 KiB granular; 16 or 32 bits of address),
//! its memory window (1 MiB granular, below 4 GiB) and its prefetchable memory
//! window (1 MiB granular; 32 or 64 bits of address) to its secondary bus.
//! A window is closed when its base is above its limit.
#![forbid(unsafe_code)]

use super::PREFETCHABLE_MEMORY_LIMIT;
use super::{ConfigAccess, PciAddress};
use super::{IO_BASE, IO_BASE_UPPER_16, IO_LIMIT, IO_LIMIT_UPPER_16, MEMORY_BASE, MEMORY_LIMIT};
use super::{PREFETCHABLE_BASE_UPPER_32, PREFETCHABLE_LIMIT_UPPER_32, PREFETCHABLE_MEMORY_BASE};

/// Memory windows start and end on 1 MiB boundaries (§3.2.5.8).
pub const MEMORY_WINDOW_GRANULARITY: u64 = 1 << 20;
/// I/O windows start and end on 4 KiB boundaries (§3.2.5.6).
pub const IO_WINDOW_GRANULARITY: u64 = 1 << 12;

/// Bits 3:0 of the I/O base and of the prefetchable base: the addressing the
/// bridge implements (read-only).
const ADDRESSING_MASK: u16 = 0xF;
const ADDRESSING_WIDE: u16 = 0x1;

/// The three windows, and the address spaces BARs are placed in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Space {
    /// The I/O window.
    Io,
    /// The non-prefetchable memory window (32-bit).
    Memory,
    /// The prefetchable memory window (32- or 64-bit).
    Prefetchable,
}

impl Space {
    /// The three spaces, in [`Space::index`] order.
    pub const ALL: [Space; 3] = [Space::Io, Space::Memory, Space::Prefetchable];

    /// The space's index into per-space arrays.
    pub fn index(self) -> usize {
        self as usize
    }

    /// The alignment and size unit of the space's window (4 KiB for I/O, 1 MiB for memory).
    pub fn granularity(self) -> u64 {
        match self {
            Space::Io => IO_WINDOW_GRANULARITY,
            Space::Memory | Space::Prefetchable => MEMORY_WINDOW_GRANULARITY,
        }
    }
}

/// A bridge's windows as found, and what its registers can hold.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BridgeWindows {
    /// `(base, size)` of each open window, by [`Space::index`]. A window at bus
    /// address 0 is a bridge's reset state (all registers zero), not a placement,
    /// and counts as closed.
    pub open: [Option<(u64, u64)>; 3],
    /// Whether the I/O window takes 32-bit addresses.
    pub io_32: bool,
    /// Whether the bridge has a prefetchable window.
    pub prefetchable_implemented: bool,
    /// Whether the prefetchable window takes 64-bit addresses.
    pub prefetchable_64: bool,
}

/// Reads a bridge's windows. A prefetchable window whose registers read zero is
/// probed (write, read back, restore): the register is optional.
pub fn read_windows<C: ConfigAccess>(config: &C, address: PciAddress) -> BridgeWindows {
    let mut windows = BridgeWindows::default();

    let io_base = u16::from(config.read8(address, IO_BASE));
    let io_limit = u16::from(config.read8(address, IO_LIMIT));
    windows.io_32 = io_base & ADDRESSING_MASK == ADDRESSING_WIDE;
    let (io_upper_base, io_upper_limit) = if windows.io_32 {
        (
            u64::from(config.read16(address, IO_BASE_UPPER_16)),
            u64::from(config.read16(address, IO_LIMIT_UPPER_16)),
        )
    } else {
        (0, 0)
    };
    let base = io_upper_base << 16 | u64::from(io_base & 0xF0) << 8;
    let limit = io_upper_limit << 16 | u64::from(io_limit & 0xF0) << 8 | (IO_WINDOW_GRANULARITY - 1);
    windows.open[Space::Io.index()] = open(base, limit);

    let base = u64::from(config.read16(address, MEMORY_BASE) & 0xFFF0) << 16;
    let limit = u64::from(config.read16(address, MEMORY_LIMIT) & 0xFFF0) << 16 | (MEMORY_WINDOW_GRANULARITY - 1);
    windows.open[Space::Memory.index()] = open(base, limit);

    let mut pref_base = config.read16(address, PREFETCHABLE_MEMORY_BASE);
    let pref_limit = config.read16(address, PREFETCHABLE_MEMORY_LIMIT);
    windows.prefetchable_implemented = true;
    if pref_base == 0 && pref_limit == 0 {
        config.write16(address, PREFETCHABLE_MEMORY_BASE, 0xFFF0);
        pref_base = config.read16(address, PREFETCHABLE_MEMORY_BASE);
        config.write16(address, PREFETCHABLE_MEMORY_BASE, 0);
        windows.prefetchable_implemented = pref_base != 0;
        pref_base = 0;
    }
    windows.prefetchable_64 = pref_base & ADDRESSING_MASK == ADDRESSING_WIDE;
    let (upper_base, upper_limit) = if windows.prefetchable_64 {
        (
            u64::from(config.read32(address, PREFETCHABLE_BASE_UPPER_32)),
            u64::from(config.read32(address, PREFETCHABLE_LIMIT_UPPER_32)),
        )
    } else {
        (0, 0)
    };
    let base = upper_base << 32 | u64::from(pref_base & 0xFFF0) << 16;
    let limit = upper_limit << 32 | u64::from(pref_limit & 0xFFF0) << 16 | (MEMORY_WINDOW_GRANULARITY - 1);
    if windows.prefetchable_implemented {
        windows.open[Space::Prefetchable.index()] = open(base, limit);
    }
    windows
}

fn open(base: u64, limit: u64) -> Option<(u64, u64)> {
    (base != 0 && base <= limit).then(|| (base, limit - base + 1))
}

/// Programs one window to `range` (`(base, size)`, aligned to the space's
/// granularity), or closes it. The read-only addressing bits are written back
/// as they read.
pub fn write_window<C: ConfigAccess>(config: &C, address: PciAddress, space: Space, range: Option<(u64, u64)>) {
    // Closed: base above limit.
    let (base, limit) = match range {
        Some((base, size)) => (base, base + size - 1),
        None => (!(space.granularity() - 1), 0),
    };
    match space {
        Space::Io => {
            let keep = config.read8(address, IO_BASE) & ADDRESSING_MASK as u8;
            config.write16(address, IO_BASE_UPPER_16, (base >> 16) as u16);
            config.write16(address, IO_LIMIT_UPPER_16, (limit >> 16) as u16);
            config.write8(address, IO_BASE, (base >> 8) as u8 & 0xF0 | keep);
            config.write8(address, IO_LIMIT, (limit >> 8) as u8 & 0xF0 | keep);
        }
        Space::Memory => {
            config.write16(address, MEMORY_BASE, (base >> 16) as u16 & 0xFFF0);
            config.write16(address, MEMORY_LIMIT, (limit >> 16) as u16 & 0xFFF0);
        }
        Space::Prefetchable => {
            let keep = config.read16(address, PREFETCHABLE_MEMORY_BASE) & ADDRESSING_MASK;
            config.write32(address, PREFETCHABLE_BASE_UPPER_32, (base >> 32) as u32);
            config.write32(address, PREFETCHABLE_LIMIT_UPPER_32, (limit >> 32) as u32);
            config.write16(address, PREFETCHABLE_MEMORY_BASE, (base >> 16) as u16 & 0xFFF0 | keep);
            config.write16(address, PREFETCHABLE_MEMORY_LIMIT, (limit >> 16) as u16 & 0xFFF0 | keep);
        }
    }
}
