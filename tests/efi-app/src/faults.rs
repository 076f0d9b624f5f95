//! Faults on purpose, for the firmware's exception report: with
//! `\hvfw-fault-write` on the volume the application writes through a pointer
//! to unmapped memory; with `\hvfw-fault-stack` it recurses until its stack
//! runs out; with `\hvfw-fault-sp` it points its stack pointer at unmapped
//! memory and pushes. Before faulting it says where the faulting function lies in its
//! image (`HVFW-APP: fault-write: code at image offset 0x...`), so the test
//! can check that the firmware's report names the same place.

use crate::app::{ok, read_own_volume, Console};
use core::ffi::c_void;
use core::fmt::Write;
use uefi_raw::protocol::loaded_image::LoadedImageProtocol;
use uefi_raw::table::boot::BootServices;
use uefi_raw::Handle;

/// Canonical on x86_64, within 48-bit addressing on aarch64, and mapped by
/// neither firmware (they map RAM and devices only).
const UNMAPPED: u64 = 0x7e00_0000_0000;

#[inline(never)]
fn write_through_bad_pointer() {
    // SAFETY: none: the write is meant to fault.
    unsafe { core::ptr::write_volatile(UNMAPPED as *mut u64, 0x5a5a) };
}

/// Uses 512 bytes of stack per call and never ends (the exit is a value the
/// optimiser cannot know is never reached). The frame is filled with volatile
/// stores, so every write to the stack is in this function: a copy through
/// `memcpy` would put the faulting store in another function, wherever the
/// guard page happens to fall.
#[inline(never)]
fn recurse(depth: u64) -> u64 {
    let mut frame = core::mem::MaybeUninit::<[u64; 64]>::uninit();
    let slots = frame.as_mut_ptr().cast::<u64>();
    for i in 0..64 {
        // SAFETY: slot `i` of this frame's own array.
        unsafe { core::ptr::write_volatile(slots.add(i), depth) };
    }
    if core::hint::black_box(depth) == u64::MAX {
        return 0;
    }
    // SAFETY: slot 7 was written above.
    recurse(depth + 1).wrapping_add(unsafe { core::ptr::read_volatile(slots.add(7)) })
}

/// Moves the stack pointer to 4 KiB above [`UNMAPPED`] and stores below it,
/// as a function prologue on a corrupt stack would.
#[inline(never)]
fn push_on_a_corrupt_stack() -> ! {
    // SAFETY: none: the store is meant to fault, and the firmware ends the
    // application there (it never returns to this code).
    unsafe {
        #[cfg(target_arch = "x86_64")]
        core::arch::asm!("mov rsp, {sp}", "push rax", sp = in(reg) UNMAPPED + 0x1000, options(noreturn));
        #[cfg(target_arch = "aarch64")]
        core::arch::asm!("mov sp, {sp}", "str xzr, [sp, #-16]!", sp = in(reg) UNMAPPED + 0x1000, options(noreturn));
    }
}

/// Runs the fault the volume asks for, if any; returns only if there was none
/// or it did not fault.
pub(crate) unsafe fn run(bs: &BootServices, image: Handle, out: &mut Console) {
    let [write, stack, sp] = ["\\hvfw-fault-write", "\\hvfw-fault-stack", "\\hvfw-fault-sp"].map(|name| {
        // SAFETY: boot services called as the specification describes.
        unsafe { read_own_volume(bs, image, name, &mut [0u8; 64]) }.is_ok()
    });
    if !write && !stack && !sp {
        return;
    }
    let mut loaded: *mut c_void = core::ptr::null_mut();
    // SAFETY: as above; the protocol is the firmware's for our own image.
    let base = match unsafe {
        ok(
            (bs.handle_protocol)(image, &LoadedImageProtocol::GUID, &mut loaded),
            "HandleProtocol(LoadedImage)",
        )
    } {
        // SAFETY: HandleProtocol succeeded: `loaded` is the interface.
        Ok(()) => unsafe { (*(loaded as *const LoadedImageProtocol)).image_base as usize },
        Err(why) => {
            let _ = writeln!(out, "HVFW-APP: FAIL faults: {why}");
            return;
        }
    };
    if write {
        let at = write_through_bad_pointer as *const () as usize - base;
        let _ = writeln!(out, "HVFW-APP: fault-write: code at image offset {at:#x}");
        write_through_bad_pointer();
        let _ = writeln!(out, "HVFW-APP: FAIL fault-write: the write did not fault");
    }
    if stack {
        let at = recurse as *const () as usize - base;
        let _ = writeln!(out, "HVFW-APP: fault-stack: code at image offset {at:#x}");
        let depth = recurse(0);
        let _ = writeln!(out, "HVFW-APP: FAIL fault-stack: the recursion ended ({depth})");
    }
    if sp {
        let at = push_on_a_corrupt_stack as *const () as usize - base;
        let _ = writeln!(out, "HVFW-APP: fault-sp: code at image offset {at:#x}");
        push_on_a_corrupt_stack();
    }
}
