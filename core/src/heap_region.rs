//! Choosing where the firmware's heap lives, from the VMM's memory map.
#![forbid(unsafe_code)]

use crate::boot_info::{MemoryKind, MemoryRegion};
use core::ops::Range;

const PAGE: u64 = 4096;
/// The heap stays below 4 GiB so that it is reachable before the page tables for
/// high memory exist, and so that 32-bit DMA (if a device ever needs it) works.
const LIMIT: u64 = 1 << 32;
/// Nothing is placed below 1 MiB: the VMM keeps real-mode structures there.
const LOW_LIMIT: u64 = 1 << 20;

/// The smallest heap: the firmware holds ~64 KiB when it hands over to Linux, and
/// more while it scans disks.
pub const MIN_HEAP: u64 = 2 << 20;
/// The largest heap: enough for many disks and partitions.
pub const MAX_HEAP: u64 = 16 << 20;

/// The firmware's heap for a VM with `ram` bytes of RAM: 1/32 of it in whole
/// MiB, between [`MIN_HEAP`] and [`MAX_HEAP`]. A small VM keeps room for what it
/// boots (Linux's x86 stub wants 52 MiB in one block above 16 MiB, and QEMU's
/// direct kernel boot of the same kernel runs in 72 MiB).
pub fn heap_size(ram: u64) -> u64 {
    ((ram / 32) & !((1 << 20) - 1)).clamp(MIN_HEAP, MAX_HEAP)
}

/// Picks `size` bytes of RAM for the heap: the highest page-aligned range below
/// 4 GiB inside one `Ram` region that overlaps none of `in_use` (the firmware
/// image, the start info, modules). Returns `None` when nothing fits.
pub fn choose_heap(regions: &[MemoryRegion], in_use: &[Range<u64>], size: u64) -> Option<Range<u64>> {
    let size = size.div_ceil(PAGE) * PAGE;
    let mut best: Option<Range<u64>> = None;
    for region in regions.iter().filter(|r| r.kind == MemoryKind::Ram) {
        let start = region.start.max(LOW_LIMIT).div_ceil(PAGE) * PAGE;
        let end = region.end().min(LIMIT) / PAGE * PAGE;
        if end <= start {
            continue;
        }
        if let Some(candidate) = highest_free(start..end, in_use, size) {
            if best.as_ref().is_none_or(|b| candidate.start > b.start) {
                best = Some(candidate);
            }
        }
    }
    best
}

/// Where a device tree the VMM left in the middle of RAM moves to: the top,
/// by the same rule as the heap (which then goes just below it), so that the
/// RAM under them stays one block. QEMU's aarch64 `virt` puts the tree halfway
/// up a small VM's RAM, which split 56 MiB into two halves too small for
/// Debian's 32 MiB arm64 kernel.
pub fn device_tree_destination(regions: &[MemoryRegion], in_use: &[Range<u64>], size: u64) -> Option<Range<u64>> {
    choose_heap(regions, in_use, size)
}

/// The highest `size`-byte range inside `window` that overlaps nothing in `in_use`.
fn highest_free(window: Range<u64>, in_use: &[Range<u64>], size: u64) -> Option<Range<u64>> {
    let mut top = window.end;
    loop {
        let bottom = top.checked_sub(size)?;
        if bottom < window.start {
            return None;
        }
        // If the candidate overlaps a used range, move below the lowest such start.
        match in_use
            .iter()
            .filter(|u| u.start < top && u.end > bottom)
            .map(|u| u.start)
            .min()
        {
            None => return Some(bottom..top),
            Some(used_start) => top = used_start / PAGE * PAGE,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ram(start: u64, end: u64) -> MemoryRegion {
        MemoryRegion {
            start,
            size: end - start,
            kind: MemoryKind::Ram,
        }
    }

    #[test]
    fn heap_shrinks_with_the_machine() {
        const MIB: u64 = 1 << 20;
        assert_eq!(heap_size(72 * MIB), MIN_HEAP);
        assert_eq!(heap_size(0), MIN_HEAP);
        assert_eq!(heap_size(128 * MIB), 4 * MIB);
        assert_eq!(heap_size(200 * MIB), 6 * MIB);
        assert_eq!(heap_size(512 * MIB), MAX_HEAP);
        assert_eq!(heap_size(u64::MAX), MAX_HEAP);
    }

    #[test]
    fn a_tree_halfway_up_ram_moves_to_the_top_and_the_heap_goes_below_it() {
        const MIB: u64 = 1 << 20;
        const RAM: u64 = 0x4000_0000;
        // QEMU virt -m 56M: the firmware at +2 MiB, the tree at +28 MiB.
        let regions = [ram(RAM, RAM + 56 * MIB)];
        let image = RAM + 2 * MIB..RAM + 3 * MIB;
        let tree = RAM + 28 * MIB..RAM + 28 * MIB + 0x1_0000;
        let to = device_tree_destination(&regions, &[image.clone(), tree.clone()], 0x1_0000).unwrap();
        assert_eq!(to, RAM + 56 * MIB - 0x1_0000..RAM + 56 * MIB);
        // The original copy is free again; the heap takes the RAM below the new one.
        let heap = choose_heap(&regions, &[image.clone(), to.clone()], heap_size(56 * MIB)).unwrap();
        assert_eq!(heap.end, to.start);
        // What is left between the image and the heap is one block of ~51 MiB.
        assert!(heap.start - image.end > 50 * MIB);
    }

    #[test]
    fn takes_the_top_of_the_highest_low_region() {
        let regions = [ram(0, 0x9f000), ram(0x100000, 0x800_0000)];
        let heap = choose_heap(&regions, core::slice::from_ref(&(0x100000..0x200000)), 0x100_0000).unwrap();
        assert_eq!(heap, 0x700_0000..0x800_0000);
    }

    #[test]
    fn steps_below_ranges_in_use() {
        let regions = [ram(0x100000, 0x800_0000)];
        let heap = choose_heap(&regions, core::slice::from_ref(&(0x7ff_f000..0x800_0000)), 0x10_0000).unwrap();
        assert_eq!(heap, 0x7ef_f000..0x7ff_f000);
    }

    #[test]
    fn stays_below_4_gib_and_above_1_mib() {
        let regions = [ram(0, 0x8_0000), ram(0x1_0000_0000, 0x2_0000_0000)];
        assert_eq!(choose_heap(&regions, &[], 0x1000), None);
        let regions = [ram(0x100000, 0x1_8000_0000)];
        assert_eq!(choose_heap(&regions, &[], 0x1000), Some(0xffff_f000..0x1_0000_0000));
    }

    #[test]
    fn returns_none_when_nothing_fits() {
        let regions = [ram(0x100000, 0x200000)];
        assert_eq!(
            choose_heap(&regions, core::slice::from_ref(&(0x100000..0x180000)), 0x100000),
            None
        );
    }
}
