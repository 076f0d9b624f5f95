//! Calls across the EFI ABI that Rust cannot express by itself: entering an
//! image so that `Exit()` can unwind straight back (a setjmp/longjmp pair), and
//! the two variadic boot services (UEFI 2.10 §2.3.4, the x64 calling convention).

use fw_core::efi::image::JumpContext;

// `enter_image` and `exit_image` over `enter` and `leave` (see `crate::shared_calls`).
// `enter` saves the firmware's callee-saved registers, stack pointer and
// return address in `context` (rcx), then calls `entry` (rdi) with the
// Microsoft x64 convention; `leave` restores them and returns the status in rax.
image_calls! {
    abi: "sysv64",
    enter: {
        "mov [rcx], rbx",
        "mov [rcx + 8], rbp",
        "mov [rcx + 16], r12",
        "mov [rcx + 24], r13",
        "mov [rcx + 32], r14",
        "mov [rcx + 40], r15",
        "lea rax, [rsp + 8]",
        "mov [rcx + 48], rax",
        "mov rax, [rsp]",
        "mov [rcx + 56], rax",
        "stmxcsr [rcx + 64]",
        "fnstcw [rcx + 72]",
        // Microsoft x64: arguments in rcx, rdx; 32 bytes of shadow space; the
        // stack 16-byte aligned at the call (it is 8 mod 16 on entry here).
        "mov rax, rdi",
        "mov rcx, rsi",
        "sub rsp, 40",
        "call rax",
        "add rsp, 40",
        "ret",
    },
    leave: {
        "mov rbx, [rdi]",
        "mov rbp, [rdi + 8]",
        "mov r12, [rdi + 16]",
        "mov r13, [rdi + 24]",
        "mov r14, [rdi + 32]",
        "mov r15, [rdi + 40]",
        "ldmxcsr [rdi + 64]",
        "fldcw [rdi + 72]",
        "mov rsp, [rdi + 48]",
        "mov rax, rsi",
        "jmp qword ptr [rdi + 56]",
    },
}

// The variadic services (see `crate::shared_calls`): spills the four register arguments into
// their shadow space, which makes all arguments one array on the stack, and
// passes its address on.
variadic_services!(
    "mov [rsp + 8], rcx",
    "mov [rsp + 16], rdx",
    "mov [rsp + 24], r8",
    "mov [rsp + 32], r9",
    "lea rcx, [rsp + 8]",
    "sub rsp, 40",
    "call {target}",
    "add rsp, 40",
    "ret",
);

/// `Platform::sync_code` for x86_64: instruction fetch sees stores to memory
/// without help (Intel SDM Vol. 3 §11.6, self-modifying code), so nothing to do.
pub fn sync_code(_start: u64, _len: usize) {}

pub use super::tlb_warmup::prepare_image;
