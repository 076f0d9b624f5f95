//! Where, below 4 GiB, the firmware may place PCI memory BARs the VMM left
//! unassigned, read from the VMM's memory map (x86_64: QEMU q35 and Cloud
//! Hypervisor describe low RAM, the ECAM and their reserved ranges there).
#![forbid(unsafe_code)]

use crate::boot_info::{MemoryKind, MemoryRegion};
use alloc::vec::Vec;
use core::ops::Range;

/// The local APIC / I/O APIC area at 0xfec00000 and what follows it up to
/// 4 GiB (HPET, BIOS ROM) are the chipset's: the window stays below.
pub const TOP: u64 = 0xfec0_0000;
/// Windows start on a MiB boundary above low RAM.
const ALIGN: u64 = 1 << 20;

/// The largest stretch of 32-bit address space above low RAM (from the first
/// MiB boundary after it) that no region of `regions` claims, below [`TOP`].
/// `None` when there is no RAM below 4 GiB or no free stretch.
pub fn mmio32_window(regions: &[MemoryRegion]) -> Option<Range<u64>> {
    let low_ram_top = regions
        .iter()
        .filter(|r| r.kind == MemoryKind::Ram && r.start < 1 << 32)
        .map(|r| r.end().min(1 << 32))
        .max()?;
    let mut claimed: Vec<(u64, u64)> = regions
        .iter()
        .filter(|r| r.end() > low_ram_top && r.start < TOP)
        .map(|r| (r.start, r.end()))
        .collect();
    claimed.sort_unstable();
    let mut best: Option<(u64, u64)> = None;
    let mut cursor = low_ram_top.next_multiple_of(ALIGN);
    for (start, end) in claimed.into_iter().chain([(TOP, TOP)]) {
        if start > cursor && best.is_none_or(|(s, e)| start - cursor > e - s) {
            best = Some((cursor, start.min(TOP)));
        }
        cursor = cursor.max(end);
    }
    best.map(|(start, end)| start..end)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn region(start: u64, size: u64, kind: MemoryKind) -> MemoryRegion {
        MemoryRegion { start, size, kind }
    }

    #[test]
    fn q35_with_512_mib_gets_everything_between_ram_and_the_ecam() {
        let regions = [
            region(0, 0x9_fc00, MemoryKind::Ram),
            region(0x10_0000, 0x1ff0_0000, MemoryKind::Ram),
            region(0xb000_0000, 0x1000_0000, MemoryKind::Reserved),
            region(0xfffc_0000, 0x4_0000, MemoryKind::Reserved),
        ];
        assert_eq!(mmio32_window(&regions), Some(0x2000_0000..0xb000_0000));
    }

    #[test]
    fn the_larger_gap_wins_and_the_apic_area_bounds_it() {
        let regions = [
            region(0x10_0000, 0x7ff0_0000, MemoryKind::Ram),
            region(0x8800_0000, 0x10_0000, MemoryKind::Reserved),
            region(0xe800_0000, 0x1000_0000, MemoryKind::Reserved),
        ];
        // 0x80000000-0x88000000 (128 MiB) against 0x88100000-0xe8000000.
        assert_eq!(mmio32_window(&regions), Some(0x8810_0000..0xe800_0000));
        let above_ecam = [region(0x10_0000, 0x7ff0_0000, MemoryKind::Ram)];
        assert_eq!(mmio32_window(&above_ecam), Some(0x8000_0000..TOP));
    }

    #[test]
    fn low_ram_ends_off_a_mib_boundary_and_the_window_starts_on_one() {
        let regions = [region(0x10_0000, 0x1fff_f000, MemoryKind::Ram)];
        assert_eq!(mmio32_window(&regions), Some(0x2010_0000..TOP));
    }

    #[test]
    fn no_low_ram_or_no_room_gives_no_window() {
        assert_eq!(mmio32_window(&[region(1 << 32, 1 << 30, MemoryKind::Ram)]), None);
        let full = [
            region(0, 0xc000_0000, MemoryKind::Ram),
            region(0xc000_0000, 0x3ec0_0000, MemoryKind::Reserved),
        ];
        assert_eq!(mmio32_window(&full), None);
    }
}
