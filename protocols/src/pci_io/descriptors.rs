//! ACPI resource descriptors as the PCI protocols return them: QWORD Address
//! Space Descriptors (ACPI 6.5 §6.4.3.5.1) ending with an End Tag (§6.4.2.9).
//! Root Bridge I/O's Configuration (UEFI 2.10 §14.2.2) lists the bus range and
//! the windows; PCI I/O's GetBarAttributes (§14.4) one BAR.
#![forbid(unsafe_code)]

use super::bridge::{Apertures, Range};
use alloc::vec::Vec;
use fw_drivers::pci::{Bar, BarKind};

/// ACPI QWord Address Space Descriptor's tag (ACPI 6.5 §6.4.3.5.1).
pub const QWORD_ADDRESS_SPACE: u8 = 0x8A;
/// Bytes after the length field.
const QWORD_LENGTH: u16 = 0x2B;
/// A QWord descriptor's whole size.
pub const QWORD_SIZE: usize = 3 + QWORD_LENGTH as usize;
/// The End Tag that closes the list (ACPI 6.5 §6.4.2.9).
pub const END_TAG: u8 = 0x79;

/// Resource type: memory range.
pub const RESOURCE_MEMORY: u8 = 0;
/// Resource type: I/O range.
pub const RESOURCE_IO: u8 = 1;
/// Resource type: bus number range.
pub const RESOURCE_BUS: u8 = 2;
/// Type-specific flags of a memory range: cacheable and prefetchable.
pub const MEMORY_PREFETCHABLE: u8 = 0x06;

/// One QWORD descriptor: `granularity` is the address width (32 or 64) for
/// memory, as EFI's PCI drivers read it.
fn qword(out: &mut Vec<u8>, kind: u8, specific: u8, granularity: u64, range: Range) {
    out.push(QWORD_ADDRESS_SPACE);
    out.extend_from_slice(&QWORD_LENGTH.to_le_bytes());
    out.push(kind);
    out.push(0); // general flags
    out.push(specific);
    let max = range.base.saturating_add(range.size.saturating_sub(1));
    for field in [granularity, range.base, max, 0, range.size] {
        out.extend_from_slice(&field.to_le_bytes());
    }
}

fn end(out: &mut Vec<u8>) {
    out.extend_from_slice(&[END_TAG, 0]);
}

/// Configuration(): the bus numbers, the 32- and 64-bit memory windows and
/// the I/O window.
pub fn root_bridge(buses: (u8, u8), apertures: &Apertures) -> Vec<u8> {
    let mut out = Vec::new();
    let bus_count = u64::from(buses.1.saturating_sub(buses.0)) + 1;
    qword(
        &mut out,
        RESOURCE_BUS,
        0,
        0,
        Range {
            base: u64::from(buses.0),
            size: bus_count,
        },
    );
    if let Some(r) = apertures.mmio32 {
        qword(&mut out, RESOURCE_MEMORY, 0, 32, r);
    }
    if let Some(r) = apertures.mmio64 {
        qword(&mut out, RESOURCE_MEMORY, 0, 64, r);
    }
    if let Some(r) = apertures.io {
        qword(&mut out, RESOURCE_IO, 0, 0, r);
    }
    end(&mut out);
    out
}

/// GetBarAttributes(): the BAR's address and size.
pub fn bar(bar: &Bar) -> Vec<u8> {
    let mut out = Vec::new();
    let range = Range {
        base: bar.address,
        size: bar.size,
    };
    match bar.kind {
        BarKind::Io => qword(&mut out, RESOURCE_IO, 0, 0, range),
        BarKind::Memory32 | BarKind::Memory64 => {
            let granularity = if bar.kind == BarKind::Memory64 { 64 } else { 32 };
            let specific = if bar.prefetchable { MEMORY_PREFETCHABLE } else { 0 };
            qword(&mut out, RESOURCE_MEMORY, specific, granularity, range);
        }
    }
    end(&mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(d: &[u8], at: usize) -> u64 {
        u64::from_le_bytes(d[at..at + 8].try_into().unwrap())
    }

    #[test]
    fn root_bridge_lists_buses_then_windows_and_ends_with_the_end_tag() {
        let apertures = Apertures {
            mmio32: Some(Range {
                base: 0x1000_0000,
                size: 0x2eff_0000,
            }),
            mmio64: None,
            io: Some(Range {
                base: 0x1000,
                size: 0xf000,
            }),
        };
        let d = root_bridge((0, 0xff), &apertures);
        assert_eq!(d.len(), 3 * QWORD_SIZE + 2);
        assert_eq!(
            (d[0], u16::from_le_bytes([d[1], d[2]]), d[3]),
            (0x8A, 0x2B, RESOURCE_BUS)
        );
        assert_eq!((field(&d, 14), field(&d, 22), field(&d, 38)), (0, 0xff, 0x100));
        let m = &d[QWORD_SIZE..];
        assert_eq!((m[3], field(m, 6), field(m, 14)), (RESOURCE_MEMORY, 32, 0x1000_0000));
        assert_eq!((field(m, 22), field(m, 38)), (0x3efe_ffff, 0x2eff_0000));
        let io = &d[2 * QWORD_SIZE..];
        assert_eq!((io[3], field(io, 14), field(io, 38)), (RESOURCE_IO, 0x1000, 0xf000));
        assert_eq!(&d[3 * QWORD_SIZE..], &[END_TAG, 0]);
    }

    #[test]
    fn a_prefetchable_64_bit_bar_says_so() {
        let d = bar(&Bar {
            index: 4,
            kind: BarKind::Memory64,
            prefetchable: true,
            address: 0x80_0000_0000,
            size: 0x4000,
        });
        assert_eq!((d[3], d[5], field(&d, 6)), (RESOURCE_MEMORY, MEMORY_PREFETCHABLE, 64));
        assert_eq!((field(&d, 14), field(&d, 38)), (0x80_0000_0000, 0x4000));
        assert_eq!(&d[QWORD_SIZE..], &[END_TAG, 0]);
    }
}
