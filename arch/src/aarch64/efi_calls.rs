//! Calls across the EFI ABI that Rust cannot express by itself: entering an
//! image so that `Exit()` can unwind straight back (a setjmp/longjmp pair), and
//! the two variadic boot services (UEFI 2.10 §2.3.6, AArch64 platforms: the
//! AAPCS64 procedure call standard).

use core::arch::naked_asm;
use fw_core::efi::image::JumpContext;
use r_efi::efi;

/// Saves the callee-saved registers (x19-x28, x29, x30, sp, d8-d15) in
/// `context`, then calls `entry(handle, system_table)`. Returns the entry
/// point's status, or the status `leave` passes when the image calls Exit.
#[unsafe(naked)]
unsafe extern "C" fn enter(
    entry: u64,
    handle: efi::Handle,
    system_table: *mut efi::SystemTable,
    context: *mut JumpContext,
) -> usize {
    naked_asm!(
        "stp x19, x20, [x3, #0]",
        "stp x21, x22, [x3, #16]",
        "stp x23, x24, [x3, #32]",
        "stp x25, x26, [x3, #48]",
        "stp x27, x28, [x3, #64]",
        "stp x29, x30, [x3, #80]",
        "mov x9, sp",
        "str x9, [x3, #96]",
        "stp d8, d9, [x3, #104]",
        "stp d10, d11, [x3, #120]",
        "stp d12, d13, [x3, #136]",
        "stp d14, d15, [x3, #152]",
        // x19 is callee-saved: the image hands it back unchanged.
        "mov x19, x3",
        "mov x16, x0",
        "mov x0, x1",
        "mov x1, x2",
        "blr x16",
        "mov x1, x0",
        "mov x0, x19",
        "b {leave}",
        leave = sym leave,
    )
}

/// Restores what `enter` saved and returns from it with `status`.
#[unsafe(naked)]
unsafe extern "C" fn leave(context: *mut JumpContext, status: usize) -> ! {
    naked_asm!(
        "ldp x19, x20, [x0, #0]",
        "ldp x21, x22, [x0, #16]",
        "ldp x23, x24, [x0, #32]",
        "ldp x25, x26, [x0, #48]",
        "ldp x27, x28, [x0, #64]",
        "ldp x29, x30, [x0, #80]",
        "ldr x9, [x0, #96]",
        "mov sp, x9",
        "ldp d8, d9, [x0, #104]",
        "ldp d10, d11, [x0, #120]",
        "ldp d12, d13, [x0, #136]",
        "ldp d14, d15, [x0, #152]",
        "mov x0, x1",
        "ret",
    )
}

/// `Platform::enter_image` for aarch64.
///
/// # Safety
/// `entry` is the entry point of a loaded image; `context` stays valid until
/// this returns.
pub unsafe fn enter_image(
    entry: u64,
    handle: efi::Handle,
    system_table: *mut efi::SystemTable,
    context: *mut JumpContext,
) -> efi::Status {
    // SAFETY: the caller's contract.
    efi::Status::from_usize(unsafe { enter(entry, handle, system_table, context) })
}

/// `Platform::exit_image` for aarch64.
///
/// # Safety
/// `context` was filled by an `enter_image` call that has not returned yet.
pub unsafe fn exit_image(context: *mut JumpContext, status: efi::Status) -> ! {
    // SAFETY: the caller's contract.
    unsafe { leave(context, status.as_usize()) }
}

/// InstallMultipleProtocolInterfaces: AAPCS64 passes the handle and the first
/// seven variadic arguments in x0-x7 and the rest on the stack. Spilling x0-x7
/// just below the incoming stack pointer makes all of them one array, whose
/// address goes on.
#[unsafe(naked)]
pub unsafe extern "efiapi" fn install_multiple_protocol_interfaces(
    _handle: *mut efi::Handle,
    _first: *mut core::ffi::c_void,
    _second: *mut core::ffi::c_void,
) -> efi::Status {
    naked_asm!(
        "sub sp, sp, #64",
        "stp x0, x1, [sp, #0]",
        "stp x2, x3, [sp, #16]",
        "stp x4, x5, [sp, #32]",
        "stp x6, x7, [sp, #48]",
        "mov x0, sp",
        "stp x29, x30, [sp, #-16]!",
        "mov x29, sp",
        "bl {target}",
        "ldp x29, x30, [sp], #16",
        "add sp, sp, #64",
        "ret",
        target = sym fw_core::efi::protocol::install_multiple_from_args,
    )
}

/// UninstallMultipleProtocolInterfaces, like the above.
#[unsafe(naked)]
pub unsafe extern "efiapi" fn uninstall_multiple_protocol_interfaces(
    _handle: efi::Handle,
    _first: *mut core::ffi::c_void,
    _second: *mut core::ffi::c_void,
) -> efi::Status {
    naked_asm!(
        "sub sp, sp, #64",
        "stp x0, x1, [sp, #0]",
        "stp x2, x3, [sp, #16]",
        "stp x4, x5, [sp, #32]",
        "stp x6, x7, [sp, #48]",
        "mov x0, sp",
        "stp x29, x30, [sp, #-16]!",
        "mov x29, sp",
        "bl {target}",
        "ldp x29, x30, [sp], #16",
        "add sp, sp, #64",
        "ret",
        target = sym fw_core::efi::protocol::uninstall_multiple_from_args,
    )
}
