//! Base address registers: sizing (PCI 3.0 §6.2.5.1: write all ones, read back the
//! mask, restore), and the address windows BARs are placed in (see `assign`).
#![forbid(unsafe_code)]

use super::{ConfigAccess, PciAddress, BAR0, COMMAND};
use super::{COMMAND_IO_SPACE, COMMAND_MEMORY_SPACE};
use log::debug;

/// Bit 0 of a BAR: 1 for I/O space.
pub const BAR_IO_SPACE: u32 = 1 << 0;
/// Bits 2:1 of a memory BAR: its type.
pub const BAR_MEMORY_TYPE_MASK: u32 = 0b11 << 1;
/// Memory type 10b: a 64-bit BAR.
pub const BAR_MEMORY_TYPE_64: u32 = 0b10 << 1;
/// Bit 3 of a memory BAR: prefetchable.
pub const BAR_PREFETCHABLE: u32 = 1 << 3;
/// A memory BAR's address bits.
pub const BAR_MEMORY_ADDRESS_MASK: u32 = !0xF;
/// An I/O BAR's address bits.
pub const BAR_IO_ADDRESS_MASK: u32 = !0x3;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
/// What a BAR decodes.
pub enum BarKind {
    /// 32-bit memory space.
    Memory32,
    /// Takes two BAR slots, `index` and `index + 1`.
    Memory64,
    /// I/O space.
    Io,
}

/// One implemented BAR.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Bar {
    /// Slot number (0..6; 0..2 for bridges).
    pub index: u8,
    /// What it decodes.
    pub kind: BarKind,
    /// Whether the memory is prefetchable.
    pub prefetchable: bool,
    /// Physical (bus) address; 0 when unassigned.
    pub address: u64,
    /// Bytes decoded; a power of two.
    pub size: u64,
}

impl Bar {
    /// Whether firmware or VMM gave it an address.
    pub fn is_assigned(&self) -> bool {
        self.address != 0
    }

    /// Whether it decodes memory space.
    pub fn is_memory(&self) -> bool {
        self.kind != BarKind::Io
    }

    pub(crate) fn offset(&self) -> u16 {
        BAR0 + 4 * u16::from(self.index)
    }
}

/// Reads and sizes a function's BARs (`slots` is 6 for type 0, 2 for bridges).
/// Decoding is switched off while the BARs hold all ones, so that the device does
/// not briefly claim the top of the address space.
pub(crate) fn size_bars<C: ConfigAccess>(config: &C, address: PciAddress, slots: u8) -> [Option<Bar>; 6] {
    let mut bars = [None; 6];
    let command = config.read16(address, COMMAND);
    config.write16(address, COMMAND, command & !(COMMAND_IO_SPACE | COMMAND_MEMORY_SPACE));
    let mut index = 0u8;
    while index < slots.min(6) {
        let offset = BAR0 + 4 * u16::from(index);
        let original = config.read32(address, offset);
        let mut next = index + 1;
        if original & BAR_IO_SPACE != 0 {
            config.write32(address, offset, u32::MAX);
            let mask = config.read32(address, offset) & BAR_IO_ADDRESS_MASK;
            config.write32(address, offset, original);
            if mask != 0 {
                bars[index as usize] = Some(Bar {
                    index,
                    kind: BarKind::Io,
                    prefetchable: false,
                    address: u64::from(original & BAR_IO_ADDRESS_MASK),
                    size: 1 << mask.trailing_zeros(),
                });
            }
        } else {
            let is_64 = original & BAR_MEMORY_TYPE_MASK == BAR_MEMORY_TYPE_64;
            let prefetchable = original & BAR_PREFETCHABLE != 0;
            if is_64 && index + 1 < slots.min(6) {
                let high_offset = offset + 4;
                let original_high = config.read32(address, high_offset);
                config.write32(address, offset, u32::MAX);
                config.write32(address, high_offset, u32::MAX);
                let low = config.read32(address, offset) & BAR_MEMORY_ADDRESS_MASK;
                let high = config.read32(address, high_offset);
                config.write32(address, offset, original);
                config.write32(address, high_offset, original_high);
                let mask = u64::from(high) << 32 | u64::from(low);
                if mask != 0 {
                    bars[index as usize] = Some(Bar {
                        index,
                        kind: BarKind::Memory64,
                        prefetchable,
                        address: u64::from(original_high) << 32 | u64::from(original & BAR_MEMORY_ADDRESS_MASK),
                        size: 1 << mask.trailing_zeros(),
                    });
                }
                next = index + 2;
            } else if is_64 {
                debug!("pci {address}: 64-bit BAR{index} in the last slot, ignored");
            } else {
                config.write32(address, offset, u32::MAX);
                let mask = config.read32(address, offset) & BAR_MEMORY_ADDRESS_MASK;
                config.write32(address, offset, original);
                if mask != 0 {
                    bars[index as usize] = Some(Bar {
                        index,
                        kind: BarKind::Memory32,
                        prefetchable,
                        address: u64::from(original & BAR_MEMORY_ADDRESS_MASK),
                        size: 1 << mask.trailing_zeros(),
                    });
                }
            }
        }
        index = next;
    }
    config.write16(address, COMMAND, command);
    bars
}

/// A range of bus addresses BARs may be placed in, handed out upwards.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Window {
    base: u64,
    /// One past the last address.
    end: u64,
    next: u64,
}

impl Window {
    /// A window of `size` bytes at `base`, nothing placed yet.
    pub fn new(base: u64, size: u64) -> Window {
        let end = base.saturating_add(size);
        Window { base, end, next: base }
    }

    /// The window's first address.
    pub fn base(&self) -> u64 {
        self.base
    }

    /// One past the last address.
    pub fn end(&self) -> u64 {
        self.end
    }

    /// The first address not yet handed out.
    pub fn next_free(&self) -> u64 {
        self.next
    }

    /// Takes `size` bytes aligned to `align` (a power of two), skipping the `taken` ranges
    /// (`(start, size)` of BARs the VMM placed).
    pub(crate) fn allocate(&mut self, size: u64, align: u64, taken: &[(u64, u64)]) -> Option<u64> {
        let mut candidate = align_up(self.next, align)?;
        // Each pass either succeeds or moves past one taken range.
        for _ in 0..=taken.len() {
            let end = candidate.checked_add(size)?;
            if end > self.end {
                return None;
            }
            match taken
                .iter()
                .find(|&&(start, len)| start < end && candidate < start.saturating_add(len))
            {
                Some(&(start, len)) => candidate = align_up(start.saturating_add(len), align)?,
                None => {
                    self.next = end;
                    return Some(candidate);
                }
            }
        }
        None
    }
}

pub(crate) fn align_up(value: u64, align: u64) -> Option<u64> {
    Some(value.checked_add(align - 1)? & !(align - 1))
}

/// The windows a platform gives for BARs. 64-bit BARs go to `mmio64` when there
/// is one (and room), else to `mmio32`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BarWindows {
    /// Memory below 4 GiB.
    pub mmio32: Option<Window>,
    /// Memory above 4 GiB.
    pub mmio64: Option<Window>,
    /// I/O ports.
    pub io: Option<Window>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pci::model::{ModelBar, ModelConfig};
    use crate::pci::{assign_bars, enable_devices, enumerate, Error, COMMAND_BUS_MASTER};

    const A: PciAddress = PciAddress::new(0, 1, 0);
    const B: PciAddress = PciAddress::new(0, 2, 0);

    fn windows() -> BarWindows {
        BarWindows {
            mmio32: Some(Window::new(0x1000_0000, 0x1000_0000)),
            mmio64: Some(Window::new(0x80_0000_0000, 0x10_0000_0000)),
            io: Some(Window::new(0x1000, 0xF000)),
        }
    }

    #[test]
    fn sizes_32_bit_64_bit_prefetchable_and_io_bars() {
        let mut model = ModelConfig::new();
        model.add_function(A, 0x1AF4, 0x1042, 0x01_00_00);
        model.add_bar(A, 0, ModelBar::Io { size: 0x40 }, 0xC000);
        model.add_bar(
            A,
            1,
            ModelBar::Memory32 {
                size: 0x1000,
                prefetchable: false,
            },
            0xFEBF_1000,
        );
        let big = ModelBar::Memory64 {
            size: 0x2_0000_0000,
            prefetchable: true,
        };
        model.add_bar(A, 4, big, 0);
        model.set16(A, COMMAND, COMMAND_MEMORY_SPACE | COMMAND_IO_SPACE);
        let bars = enumerate(&model)[0].bars;
        assert_eq!(
            bars[0],
            Some(Bar {
                index: 0,
                kind: BarKind::Io,
                prefetchable: false,
                address: 0xC000,
                size: 0x40
            })
        );
        assert_eq!(
            bars[1],
            Some(Bar {
                index: 1,
                kind: BarKind::Memory32,
                prefetchable: false,
                address: 0xFEBF_1000,
                size: 0x1000
            })
        );
        assert_eq!((bars[2], bars[3], bars[5]), (None, None, None));
        assert_eq!(
            bars[4],
            Some(Bar {
                index: 4,
                kind: BarKind::Memory64,
                prefetchable: true,
                address: 0,
                size: 0x2_0000_0000
            })
        );
        // Sizing restored the registers, and decoding.
        assert_eq!(model.read32(A, BAR0), 0xC001);
        assert_eq!(model.read32(A, BAR0 + 4), 0xFEBF_1000);
        assert_eq!(model.read16(A, COMMAND), COMMAND_MEMORY_SPACE | COMMAND_IO_SPACE);
    }

    #[test]
    fn assigns_unplaced_bars_aligned_largest_first_and_keeps_placed_ones() {
        let mut model = ModelConfig::new();
        model.add_function(A, 0x1AF4, 0x1042, 0x01_00_00);
        model.add_bar(
            A,
            0,
            ModelBar::Memory32 {
                size: 0x1000,
                prefetchable: false,
            },
            0,
        );
        model.add_bar(
            A,
            1,
            ModelBar::Memory32 {
                size: 0x10_0000,
                prefetchable: false,
            },
            0,
        );
        model.add_bar(A, 2, ModelBar::Io { size: 0x20 }, 0);
        model.add_bar(
            A,
            4,
            ModelBar::Memory64 {
                size: 0x4000,
                prefetchable: true,
            },
            0,
        );
        model.add_function(B, 0x1AF4, 0x1041, 0x02_00_00);
        // Placed by the VMM inside our window: must stay, and not be overlapped.
        model.add_bar(
            B,
            0,
            ModelBar::Memory32 {
                size: 0x10_0000,
                prefetchable: false,
            },
            0x1000_0000,
        );
        let mut devices = enumerate(&model);
        assign_bars(&model, &mut devices, &mut windows()).unwrap();
        enable_devices(&model, &devices);

        let a = &devices[0].bars;
        assert_eq!(a[1].unwrap().address, 0x1010_0000, "1 MiB BAR skips the placed one");
        assert_eq!(a[0].unwrap().address, 0x1020_0000);
        assert_eq!(a[2].unwrap().address, 0x1000);
        assert_eq!(a[4].unwrap().address, 0x80_0000_0000);
        assert_eq!(devices[1].bars[0].unwrap().address, 0x1000_0000);
        assert!(!model
            .writes
            .borrow()
            .iter()
            .any(|&(addr, off, v)| addr == B && off == BAR0 && v != u32::MAX && v != 0x1000_0000));

        // What the device now decodes, read back through the model.
        let again = enumerate(&model);
        assert_eq!(again[0].bars, devices[0].bars);
        assert_eq!(model.read32(A, BAR0 + 16), 0x0C);
        assert_eq!(model.read32(A, BAR0 + 20), 0x80);
        let command = COMMAND_MEMORY_SPACE | COMMAND_IO_SPACE | COMMAND_BUS_MASTER;
        assert_eq!(model.read16(A, COMMAND), command);
        assert_eq!(model.read16(B, COMMAND), COMMAND_MEMORY_SPACE | COMMAND_BUS_MASTER);
    }

    #[test]
    fn bar_that_does_not_fit_leaves_memory_decoding_off() {
        let mut model = ModelConfig::new();
        model.add_function(A, 0x1AF4, 0x1042, 0x01_00_00);
        model.add_bar(
            A,
            0,
            ModelBar::Memory32 {
                size: 0x10_0000,
                prefetchable: false,
            },
            0,
        );
        let mut devices = enumerate(&model);
        let mut small = BarWindows {
            mmio32: Some(Window::new(0x1000_0000, 0x8_0000)),
            ..BarWindows::default()
        };
        assert_eq!(
            assign_bars(&model, &mut devices, &mut small),
            Err(Error::NoSpaceForBar {
                address: A,
                bar: 0,
                size: 0x10_0000
            })
        );
        enable_devices(&model, &devices);
        assert_eq!(model.read16(A, COMMAND), COMMAND_BUS_MASTER);
        assert_eq!(model.read32(A, BAR0), 0);
    }

    #[test]
    fn sixty_four_bit_bar_falls_back_to_the_32_bit_window() {
        let mut model = ModelConfig::new();
        model.add_function(A, 0x1AF4, 0x1042, 0x01_00_00);
        model.add_bar(
            A,
            0,
            ModelBar::Memory64 {
                size: 0x4000,
                prefetchable: true,
            },
            0,
        );
        let mut devices = enumerate(&model);
        let mut only32 = BarWindows {
            mmio32: Some(Window::new(0x4000_0000, 0x1000_0000)),
            ..BarWindows::default()
        };
        assign_bars(&model, &mut devices, &mut only32).unwrap();
        assert_eq!(devices[0].bars[0].unwrap().address, 0x4000_0000);
        assert_eq!(model.read32(A, BAR0 + 4), 0);
    }
}
