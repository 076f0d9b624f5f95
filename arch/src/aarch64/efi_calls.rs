//! Calls across the EFI ABI that Rust cannot express by itself: entering an
//! image so that `Exit()` can unwind straight back (a setjmp/longjmp pair), and
//! the two variadic boot services, and runtime services that keep the
//! platform register x18 (UEFI 2.10 §2.3.6, AArch64 platforms: the AAPCS64
//! procedure call standard).

use core::arch::naked_asm;
use core::ffi::c_void;
use fw_core::efi::image::JumpContext;
use fw_core::efi::runtime;
use r_efi::efi;

// `enter_image` and `exit_image` over `enter` and `leave` (see `crate::shared_calls`).
// `enter` saves the callee-saved registers (x19-x28, x29, x30, sp, d8-d15) in
// `context` (x3), then calls `entry` (x0) with the handle and system table in
// x0 and x1; `leave` restores them and returns the status in x0.
image_calls! {
    abi: "C",
    enter: {
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
    },
    leave: {
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
    },
}

/// `leave` from the exception handler, which runs at EL1 on SP_EL1: resets
/// SP_EL1 to the top of the exception stack for the next exception, then
/// returns (ERET) to `leave` at EL1 with SP_EL0 selected (EL1t, where the
/// firmware and its images run) and interrupts masked (SPSR_EL1.M = 0b0100,
/// DAIF set; Arm ARM C5.2.18).
#[unsafe(naked)]
unsafe extern "C" fn leave_after_exception(context: *mut JumpContext, status: usize) -> ! {
    naked_asm!(
        "adrp x9, exception_stack_top",
        "add x9, x9, :lo12:exception_stack_top",
        "mov sp, x9",
        "adrp x9, {leave}",
        "add x9, x9, :lo12:{leave}",
        "msr elr_el1, x9",
        "mov x9, #0x3c4",
        "msr spsr_el1, x9",
        "eret",
        leave = sym leave,
    )
}

/// `exit_image` for the exception handler: returns from the `enter_image`
/// call that saved `context` with `status`.
///
/// # Safety
/// Called from the exception handler only; `context` was filled by an
/// `enter_image` call that has not returned yet.
pub unsafe fn exit_image_after_exception(context: *mut JumpContext, status: efi::Status) -> ! {
    // SAFETY: the caller's contract.
    unsafe { leave_after_exception(context, status.as_usize()) }
}

// The variadic services (see `crate::shared_calls`): AAPCS64 passes the handle and the first
// seven variadic arguments in x0-x7 and the rest on the stack. Spilling x0-x7
// just below the incoming stack pointer makes all of them one array, whose
// address goes on.
variadic_services!(
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
);

/// `Platform::prepare_image` for aarch64: nothing yet (the TCG TLB warm-up of
/// x86_64's `tlb_warmup` would need a way to recognise TCG here).
pub fn prepare_image(_base: u64, _len: usize) {}

/// `Platform::sync_code` for aarch64 (Arm ARM B2.4.4, "Concurrent
/// modification and execution of instructions"): cleans the data cache to the
/// point of unification line by line over the range, then invalidates the
/// instruction cache (one CPU: all of it), so that a loaded image executes
/// what LoadImage wrote rather than stale lines.
pub fn sync_code(start: u64, len: usize) {
    let ctr: u64;
    // SAFETY: reading CTR_EL0 has no side effects.
    unsafe { core::arch::asm!("mrs {}, ctr_el0", out(reg) ctr, options(nomem, nostack)) };
    // CTR_EL0.DminLine: log2 of the smallest data cache line, in 4-byte words.
    let line = 4u64 << ((ctr >> 16) & 0xf);
    let end = start.saturating_add(len as u64);
    let mut at = start & !(line - 1);
    while at < end {
        // SAFETY: `at` is in the image just written, identity mapped; cleaning
        // a line to PoU does not change memory's contents.
        unsafe { core::arch::asm!("dc cvau, {}", in(reg) at, options(nostack)) };
        at += line;
    }
    // SAFETY: barriers and an instruction cache invalidation have no effect
    // on memory.
    unsafe { core::arch::asm!("dsb ish", "ic iallu", "dsb ish", "isb", options(nostack)) };
}

/// Defines a trampoline into the runtime service `$target` that saves x18
/// around it. UEFI 2.10 §2.3.6.1 leaves x18 to the OS, but the firmware is
/// built for `aarch64-unknown-none`, where x18 is an ordinary register (and
/// stable Rust cannot reserve it). The services take at most eight arguments,
/// all in x0-x7, so moving the stack pointer leaves them intact.
macro_rules! keeping_x18 {
    ($name:ident => $target:path, fn($($ty:ty),*) $(-> $ret:ty)?) => {
        #[unsafe(naked)]
        unsafe extern "efiapi" fn $name($(_: $ty),*) $(-> $ret)? {
            naked_asm!(
                "stp x18, x30, [sp, #-16]!",
                "bl {target}",
                "ldp x18, x30, [sp], #16",
                "ret",
                target = sym $target,
            )
        }
    };
}

keeping_x18!(get_time => runtime::get_time, fn(*mut efi::Time, *mut efi::TimeCapabilities) -> efi::Status);
keeping_x18!(set_time => runtime::set_time, fn(*mut efi::Time) -> efi::Status);
keeping_x18!(get_wakeup_time => runtime::get_wakeup_time,
    fn(*mut efi::Boolean, *mut efi::Boolean, *mut efi::Time) -> efi::Status);
keeping_x18!(set_wakeup_time => runtime::set_wakeup_time, fn(efi::Boolean, *mut efi::Time) -> efi::Status);
keeping_x18!(set_virtual_address_map => runtime::set_virtual_address_map,
    fn(usize, usize, u32, *mut efi::MemoryDescriptor) -> efi::Status);
keeping_x18!(convert_pointer => runtime::convert_pointer, fn(usize, *mut *mut c_void) -> efi::Status);
keeping_x18!(get_variable => runtime::get_variable,
    fn(*mut efi::Char16, *mut efi::Guid, *mut u32, *mut usize, *mut c_void) -> efi::Status);
keeping_x18!(get_next_variable_name => runtime::get_next_variable_name,
    fn(*mut usize, *mut efi::Char16, *mut efi::Guid) -> efi::Status);
keeping_x18!(set_variable => runtime::set_variable,
    fn(*mut efi::Char16, *mut efi::Guid, u32, usize, *mut c_void) -> efi::Status);
keeping_x18!(get_next_high_mono_count => runtime::get_next_high_mono_count, fn(*mut u32) -> efi::Status);
keeping_x18!(reset_system => runtime::reset_system, fn(efi::ResetType, efi::Status, usize, *mut c_void));
keeping_x18!(update_capsule => runtime::update_capsule,
    fn(*mut *mut efi::CapsuleHeader, usize, efi::PhysicalAddress) -> efi::Status);
keeping_x18!(query_capsule_capabilities => runtime::query_capsule_capabilities,
    fn(*mut *mut efi::CapsuleHeader, usize, *mut u64, *mut efi::ResetType) -> efi::Status);
keeping_x18!(query_variable_info => runtime::query_variable_info,
    fn(u32, *mut u64, *mut u64, *mut u64) -> efi::Status);

/// Points the runtime services table at the trampolines above
/// (`tables::wrap_runtime_services`).
pub fn wrap_runtime_services(rt: &mut efi::RuntimeServices) {
    rt.get_time = get_time;
    rt.set_time = set_time;
    rt.get_wakeup_time = get_wakeup_time;
    rt.set_wakeup_time = set_wakeup_time;
    rt.set_virtual_address_map = set_virtual_address_map;
    rt.convert_pointer = convert_pointer;
    rt.get_variable = get_variable;
    rt.get_next_variable_name = get_next_variable_name;
    rt.set_variable = set_variable;
    rt.get_next_high_mono_count = get_next_high_mono_count;
    rt.reset_system = reset_system;
    rt.update_capsule = update_capsule;
    rt.query_capsule_capabilities = query_capsule_capabilities;
    rt.query_variable_info = query_variable_info;
}
