//! The stack the firmware moves to once its memory map exists.
//!
//! The entry stack lives in the image's `.bss`, at 1 MiB, and everything
//! there is memory a small VM's kernel does not get below 16 MiB (Debian's x86
//! stub wants the kernel's PE image there, see
//! `loaders/src/linux/stub_memory.rs`). So the image keeps only a small entry
//! stack for bringing the machine up, and the firmware then continues, runs
//! the boot manager and every EFI application on a stack allocated from the
//! memory map (boot services data, at the top of RAM), with a guard page below.

use super::paging;
use core::sync::atomic::{AtomicU64, Ordering};

const PAGE: u64 = 4096;

/// The guard page below the stack [`run_on_stack`] moved to; 0 before.
static MOVED_GUARD: AtomicU64 = AtomicU64::new(0);

/// The guard page of the stack the firmware moved to, if it has moved.
pub fn moved_stack_guard() -> Option<u64> {
    match MOVED_GUARD.load(Ordering::Relaxed) {
        0 => None,
        guard => Some(guard),
    }
}

/// Continues on a new stack: the page at `base` becomes its guard page (not
/// present), the stack is the rest of `base..base + size`, and `next(arg)`
/// runs on it, never to return.
///
/// # Safety
/// `base..base + size` is page-aligned, identity-mapped RAM below 4 GiB that
/// the caller allocated for good and nothing else uses; `arg` is what `next`
/// expects. Nothing borrowed from the current stack may be used after the
/// switch except through `arg` (the old stack stays, unused, where it is).
pub unsafe fn run_on_stack(base: u64, size: u64, next: extern "C" fn(*mut u8) -> !, arg: *mut u8) -> ! {
    debug_assert!(base.is_multiple_of(PAGE) && size.is_multiple_of(PAGE) && size > PAGE);
    paging::protect_guard_pages(&[base]);
    MOVED_GUARD.store(base, Ordering::Relaxed);
    let top = base + size;
    // SAFETY: the caller vouches for the stack; `top` is page aligned, so the
    // call leaves the stack as the System V ABI wants it at a function's entry.
    // `next` never returns, so nothing after the call runs.
    unsafe {
        core::arch::asm!(
            "mov rsp, {top}",
            "xor ebp, ebp",
            "call {next}",
            "ud2",
            top = in(reg) top,
            next = in(reg) next,
            in("rdi") arg,
            options(noreturn),
        )
    }
}
