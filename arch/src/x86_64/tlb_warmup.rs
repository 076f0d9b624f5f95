//! Readying QEMU's TCG for an image before it starts.
//!
//! TCG translates guest memory accesses through a software TLB of 4 KiB
//! entries that starts at 256 entries (1 MiB of reach) and is resized only
//! when the guest flushes it: a flush that finds more than 70% of the entries
//! used doubles it (QEMU `accel/tcg/cputlb.c`, `tlb_mmu_resize_locked`). This
//! firmware keeps one set of page tables and never reloads CR3, so every image
//! it starts inherits the smallest TLB. Linux's x86 EFI stub then decompresses
//! some 40 MB through 1 MiB of reach: measured, 175 ms from StartImage to
//! ExitBootServices instead of 65 ms, which is what the same stub takes once
//! the TLB has grown.
//!
//! So under TCG (CPUID's hypervisor leaf says "TCGTCGTCGTCG"), StartImage first
//! reads one byte of each page of the image and reloads CR3, in rounds of 256,
//! 512, 1024, ... pages, until a round covers the image: each flush sees a
//! well-used TLB and doubles it. On hardware or under KVM nothing is done.
//!
//! `hvfw.tlb-warmup=off` on the VMM's command line (`-append`) turns it off, so
//! `cargo xtask bench` can show what the firmware itself costs and what this
//! emulator quirk gives.

use core::sync::atomic::{AtomicBool, Ordering};

/// CPUID.40000000h's EBX:ECX:EDX under QEMU's TCG.
#[cfg(target_os = "none")]
const TCG_SIGNATURE: &[u8; 12] = b"TCGTCGTCGTCG";
/// TCG's initial TLB size in entries (`CPU_TLB_DYN_DEFAULT_BITS` = 8).
const FIRST_ROUND_PAGES: usize = 256;
/// Pages read at most in one round (64 MiB of image).
const MAX_ROUND_PAGES: usize = 16 * 1024;
#[cfg(target_os = "none")]
const PAGE_SIZE: usize = 4096;

/// The command-line word that turns the readying off.
pub const OFF_SWITCH: &str = "hvfw.tlb-warmup=off";

/// Cleared by [`disable`].
static ENABLED: AtomicBool = AtomicBool::new(true);

/// Leaves TCG's TLB as it is for every image started from now on.
pub fn disable() {
    ENABLED.store(false, Ordering::Relaxed);
}

/// Whether StartImage readies the TLB (when running under TCG).
pub fn enabled() -> bool {
    ENABLED.load(Ordering::Relaxed)
}

/// The pages to read before each flush for an image of `pages` pages:
/// doubling from 256 until a round covers the image (or the cap).
pub fn rounds(pages: usize) -> impl Iterator<Item = usize> {
    let last = pages.min(MAX_ROUND_PAGES);
    let mut next = Some(FIRST_ROUND_PAGES);
    core::iter::from_fn(move || {
        let want = next?;
        let count = want.min(last);
        next = (count < last).then(|| want * 2);
        (count > 0).then_some(count)
    })
}

#[cfg(target_os = "none")]
fn running_under_tcg() -> bool {
    use core::sync::atomic::AtomicU8;
    // 0: not asked yet, 1: no, 2: yes.
    static UNDER_TCG: AtomicU8 = AtomicU8::new(0);
    match UNDER_TCG.load(Ordering::Relaxed) {
        1 => false,
        2 => true,
        _ => {
            let tcg = super::hypervisor::identify().is_some_and(|(_, signature)| &signature == TCG_SIGNATURE);
            UNDER_TCG.store(if tcg { 2 } else { 1 }, Ordering::Relaxed);
            tcg
        }
    }
}

/// `Platform::prepare_image` for x86_64: see the module documentation.
#[cfg(target_os = "none")]
pub fn prepare_image(base: u64, len: usize) {
    if !enabled() || !running_under_tcg() {
        return;
    }
    let pages = len / PAGE_SIZE;
    let mut flushes = 0;
    for count in rounds(pages) {
        for page in 0..count {
            let at = base as usize + page * PAGE_SIZE;
            // SAFETY: `at` lies in the image's own pages, which LoadImage
            // allocated and wrote and which are identity mapped; reading a
            // byte has no effect on them.
            unsafe { core::ptr::read_volatile(at as *const u8) };
        }
        // SAFETY: writing CR3 with its current value changes no mapping; it
        // only flushes the TLB.
        unsafe {
            core::arch::asm!("mov {t}, cr3", "mov cr3, {t}", t = out(reg) _, options(nostack, preserves_flags));
        }
        flushes += 1;
    }
    log::debug!("TCG: TLB readied over {pages} pages with {flushes} flushes");
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::vec::Vec;

    #[test]
    fn rounds_double_until_they_cover_the_image() {
        // A 14 MB kernel: 3532 pages.
        assert_eq!(rounds(3532).collect::<Vec<_>>(), [256, 512, 1024, 2048, 3532]);
        assert_eq!(rounds(1024).collect::<Vec<_>>(), [256, 512, 1024]);
        assert_eq!(rounds(100).collect::<Vec<_>>(), [100]);
        assert_eq!(rounds(0).count(), 0);
    }

    #[test]
    fn the_off_switch_turns_readying_off() {
        assert!(enabled());
        disable();
        assert!(!enabled());
        ENABLED.store(true, Ordering::Relaxed);
    }

    #[test]
    fn rounds_stop_at_the_cap() {
        let all: Vec<usize> = rounds(1 << 20).collect();
        assert_eq!(all.last(), Some(&MAX_ROUND_PAGES));
        assert_eq!(all.len(), 7);
    }
}
