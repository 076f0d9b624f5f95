//! Page arithmetic for placing the kernel, initrd and boot data: AllocatePages
//! (UEFI 2.10 §7.2.1) has no alignment parameter, so an aligned block is made by
//! over-allocating and freeing the unaligned head and the unused tail.
#![forbid(unsafe_code)]

/// The EFI page size.
pub const PAGE_SIZE: u64 = 4096;
/// The highest byte below 4 GiB, for MaxAddress allocations.
pub const BELOW_4G: u64 = 0xFFFF_FFFF;

/// Pages that hold `bytes` (at least one).
pub fn pages_for(bytes: u64) -> u64 {
    bytes.div_ceil(PAGE_SIZE).max(1)
}

/// Pages to request so that `pages` pages aligned to `align` fit inside,
/// wherever the firmware puts the block. `None` on overflow.
pub fn over_allocation(pages: u64, align: u64) -> Option<u64> {
    let extra = align.max(PAGE_SIZE) / PAGE_SIZE - 1;
    pages.checked_add(extra)
}

/// How an over-allocated block is cut down to an aligned one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Trim {
    /// The aligned address to use.
    pub aligned: u64,
    /// Pages from the block's start to `aligned`, to free.
    pub head_pages: u64,
    /// The block's pages after the aligned part, to free (at `tail_start`).
    pub tail_pages: u64,
    /// Where the pages after the aligned part start.
    pub tail_start: u64,
}

/// Cuts the block of `total_pages` at `base` to `pages` pages aligned to
/// `align` (a power of two). `None` if they do not fit.
pub fn trim(base: u64, total_pages: u64, pages: u64, align: u64) -> Option<Trim> {
    let align = align.max(PAGE_SIZE);
    if !align.is_power_of_two() {
        return None;
    }
    let aligned = base.checked_add(align - 1)? & !(align - 1);
    let head_pages = (aligned - base) / PAGE_SIZE;
    let tail_pages = total_pages.checked_sub(head_pages)?.checked_sub(pages)?;
    let tail_start = aligned.checked_add(pages.checked_mul(PAGE_SIZE)?)?;
    Some(Trim {
        aligned,
        head_pages,
        tail_pages,
        tail_start,
    })
}

/// Whether `addr` is a multiple of `align` (a power of two).
pub fn is_aligned(addr: u64, align: u64) -> bool {
    addr & (align.max(1) - 1) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_pages_rounding_up() {
        assert_eq!(pages_for(0), 1);
        assert_eq!(pages_for(1), 1);
        assert_eq!(pages_for(4096), 1);
        assert_eq!(pages_for(4097), 2);
        assert_eq!(pages_for(0x3378000), 0x3378);
    }

    #[test]
    fn over_allocates_by_alignment_minus_a_page() {
        assert_eq!(over_allocation(10, 0x20_0000), Some(10 + 511));
        assert_eq!(over_allocation(10, 4096), Some(10));
        assert_eq!(over_allocation(10, 0), Some(10));
        assert_eq!(over_allocation(u64::MAX, 0x2000), None);
    }

    #[test]
    fn trims_head_and_tail_around_the_aligned_block() {
        let total = over_allocation(4, 0x20_0000).unwrap();
        let t = trim(0x12_3000, total, 4, 0x20_0000).unwrap();
        assert_eq!(t.aligned, 0x20_0000);
        assert_eq!(t.head_pages, (0x20_0000 - 0x12_3000) / 4096);
        assert_eq!(t.tail_start, 0x20_4000);
        assert_eq!(t.head_pages + 4 + t.tail_pages, total);
        // Already aligned: nothing before, all the slack after.
        let t = trim(0x40_0000, total, 4, 0x20_0000).unwrap();
        assert_eq!((t.aligned, t.head_pages, t.tail_pages), (0x40_0000, 0, 511));
    }

    #[test]
    fn refuses_blocks_that_cannot_hold_the_aligned_part() {
        assert_eq!(trim(0x1000, 4, 4, 0x20_0000), None);
        assert_eq!(trim(0x1000, 600, 4, 0x3000), None);
        assert_eq!(trim(u64::MAX - 0xFFF, 600, 4, 0x20_0000), None);
    }

    #[test]
    fn checks_alignment() {
        assert!(is_aligned(0x20_0000, 0x20_0000));
        assert!(!is_aligned(0x20_1000, 0x20_0000));
    }
}
