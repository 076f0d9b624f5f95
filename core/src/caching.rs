//! How the firmware's identity map caches each page of the address space
//! (Intel SDM vol. 3, §12.3 "Methods of Caching Available" and §4.9.2 "Paging and
//! Memory Typing"): RAM the VMM reported is write-back; everything else is
//! uncached, because below 4 GiB it is device address space: the PCI hole with
//! the ECAM and the BARs, the local APIC (0xFEE00000), the I/O APIC (0xFEC00000),
//! the HPET (0xFED00000), the legacy VGA window and the BIOS ROM.
//!
//! The paging code asks for each 2 MiB page. A page that is partly RAM is
//! [`PageCaching::Mixed`]: it is split into 4 KiB pages and each is asked again.
//! A 4 KiB page that is still partly RAM (a VMM's reserved range that does not
//! start on a page, as the EBDA at 0x9FC00 on QEMU) stays write-back: such
//! sub-page reservations are RAM set aside, never device registers, which PCI
//! and ACPI place on page boundaries at least.
#![forbid(unsafe_code)]

use crate::boot_info::{MemoryKind, MemoryRegion};
use alloc::vec::Vec;
use core::ops::Range;

/// The caching of one page, or that it must be split to say.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PageCaching {
    /// Only RAM.
    WriteBack,
    /// No RAM at all.
    Uncached,
    /// Partly RAM.
    Mixed,
}

/// Whether a region of this kind is backed by RAM. `Reserved` is not: the VMM
/// uses it for device windows (QEMU's ECAM at 0xB0000000, the BIOS ROM).
pub fn is_ram(kind: MemoryKind) -> bool {
    match kind {
        MemoryKind::Ram
        | MemoryKind::AcpiReclaimable
        | MemoryKind::AcpiNvs
        | MemoryKind::Unusable
        | MemoryKind::Persistent
        | MemoryKind::ReservedRam => true,
        MemoryKind::Reserved => false,
    }
}

/// The caching of `page`: RAM bytes are those in a RAM region and in no
/// `Reserved` region (reserved ranges win over RAM, as in the EFI memory map),
/// whatever order and overlaps the VMM's list has.
pub fn page_caching(regions: &[MemoryRegion], page: Range<u64>) -> PageCaching {
    let inside = |r: &MemoryRegion| r.start < page.end && r.end() > page.start;
    // The page cut at every region edge inside it: each piece is wholly in or
    // out of every region.
    let mut edges: Vec<u64> = regions
        .iter()
        .filter(|r| inside(r))
        .flat_map(|r| [r.start, r.end()])
        .filter(|&a| a > page.start && a < page.end)
        .chain([page.start, page.end])
        .collect();
    edges.sort_unstable();
    edges.dedup();
    let mut ram = 0;
    for piece in edges.windows(2) {
        let covered_by = |ram_kind: bool| {
            regions
                .iter()
                .any(|r| is_ram(r.kind) == ram_kind && r.start <= piece[0] && piece[1] <= r.end())
        };
        if covered_by(true) && !covered_by(false) {
            ram += piece[1] - piece[0];
        }
    }
    match ram {
        0 => PageCaching::Uncached,
        n if n == page.end - page.start => PageCaching::WriteBack,
        _ => PageCaching::Mixed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use MemoryKind::*;

    const MIB: u64 = 1 << 20;
    const TWO_MIB: u64 = 2 * MIB;

    fn region(start: u64, end: u64, kind: MemoryKind) -> MemoryRegion {
        MemoryRegion {
            start,
            size: end - start,
            kind,
        }
    }

    /// QEMU q35 with -m 5G behind SeaBIOS, as its E820 map says.
    fn q35_5g() -> [MemoryRegion; 6] {
        [
            region(0, 0x9_FC00, Ram),
            region(0x9_FC00, 0xA_0000, Reserved),
            region(0xF_0000, 0x10_0000, Reserved),
            region(0x10_0000, 0x8000_0000, Ram),
            region(0xB000_0000, 0xC000_0000, Reserved),
            region(0x1_0000_0000, 0x1_C000_0000, Ram),
        ]
    }

    fn two_mib(index: u64) -> Range<u64> {
        index * TWO_MIB..(index + 1) * TWO_MIB
    }

    #[test]
    fn ram_is_write_back_and_the_pci_hole_uncached() {
        let map = q35_5g();
        assert_eq!(page_caching(&map, two_mib(1)), PageCaching::WriteBack);
        assert_eq!(page_caching(&map, two_mib(0x3FF)), PageCaching::WriteBack);
        // The ECAM, the gap below it, the I/O APIC, HPET and local APIC.
        for addr in [0x8000_0000u64, 0xB000_0000, 0xFEC0_0000, 0xFED0_0000, 0xFEE0_0000] {
            let page = addr / TWO_MIB;
            assert_eq!(page_caching(&map, two_mib(page)), PageCaching::Uncached, "{addr:#x}");
        }
    }

    #[test]
    fn the_first_2_mib_are_split_into_ram_and_device_pages() {
        let map = q35_5g();
        assert_eq!(page_caching(&map, two_mib(0)), PageCaching::Mixed);
        let page = |a: u64| page_caching(&map, a..a + 4096);
        assert_eq!(page(0), PageCaching::WriteBack);
        // The EBDA page is RAM but for its last KiB: it stays write-back.
        assert_eq!(page(0x9_F000), PageCaching::Mixed);
        // VGA window and BIOS area: not RAM.
        assert_eq!(page(0xA_0000), PageCaching::Uncached);
        assert_eq!(page(0xF_0000), PageCaching::Uncached);
        assert_eq!(page(0x10_0000), PageCaching::WriteBack);
    }

    #[test]
    fn reserved_ranges_win_over_ram_in_any_order() {
        // A VMM that lists RAM across a reserved window.
        let map = [
            region(0x4000_0000, 0x4100_0000, Reserved),
            region(0, 0x8000_0000, Ram),
            region(0x4000_0000, 0x4080_0000, Reserved),
        ];
        assert_eq!(page_caching(&map, two_mib(0x200)), PageCaching::Uncached);
        assert_eq!(page_caching(&map, two_mib(0x208)), PageCaching::WriteBack);
        // ACPI tables and reserved RAM are RAM.
        let acpi = [
            region(0, TWO_MIB, AcpiReclaimable),
            region(TWO_MIB, 4 * MIB, ReservedRam),
        ];
        assert_eq!(page_caching(&acpi, 0..4 * MIB), PageCaching::WriteBack);
    }

    #[test]
    fn ram_ending_inside_a_2_mib_page_makes_it_mixed() {
        let map = [region(0, 0x7FF0_0000, Ram)];
        assert_eq!(page_caching(&map, two_mib(0x3FF)), PageCaching::Mixed);
        assert_eq!(page_caching(&map, two_mib(0x400)), PageCaching::Uncached);
        // Overlapping RAM regions do not count twice.
        let twice = [region(0, 3 * MIB, Ram), region(MIB, 3 * MIB, Ram)];
        assert_eq!(page_caching(&twice, two_mib(1)), PageCaching::Mixed);
    }
}
