//! Calls across the EFI ABI that Rust cannot express by itself: entering an
//! image so that `Exit()` can unwind straight back (a setjmp/longjmp pair), and
//! the two variadic boot services (UEFI 2.10 §2.3.7, RISC-V platforms: the
//! standard LP64D calling convention of the RISC-V psABI, which `efiapi` is).

use fw_core::efi::image::JumpContext;

// `enter_image` and `exit_image` over `enter` and `leave` (see `crate::shared_calls`).
// `enter` saves what the callee may not change in `context` (a3; slots 0-15:
// ra, sp, gp, tp, s0-s11; slots 16-27: fs0-fs11), then calls `entry` (a0)
// with the handle and system table in a0 and a1; `leave` restores them and
// returns the status in a0.
image_calls! {
    abi: "C",
    enter: {
        "sd ra, 0(a3)",
        "sd sp, 8(a3)",
        "sd gp, 16(a3)",
        "sd tp, 24(a3)",
        "sd s0, 32(a3)",
        "sd s1, 40(a3)",
        "sd s2, 48(a3)",
        "sd s3, 56(a3)",
        "sd s4, 64(a3)",
        "sd s5, 72(a3)",
        "sd s6, 80(a3)",
        "sd s7, 88(a3)",
        "sd s8, 96(a3)",
        "sd s9, 104(a3)",
        "sd s10, 112(a3)",
        "sd s11, 120(a3)",
        // Module-level assembly does not see the target's features: say
        // that D (and so the F registers) is there.
        ".option push",
        ".option arch, +d",
        "fsd fs0, 128(a3)",
        "fsd fs1, 136(a3)",
        "fsd fs2, 144(a3)",
        "fsd fs3, 152(a3)",
        "fsd fs4, 160(a3)",
        "fsd fs5, 168(a3)",
        "fsd fs6, 176(a3)",
        "fsd fs7, 184(a3)",
        "fsd fs8, 192(a3)",
        "fsd fs9, 200(a3)",
        "fsd fs10, 208(a3)",
        "fsd fs11, 216(a3)",
        ".option pop",
        // s1 is callee-saved: the image hands it back unchanged.
        "mv s1, a3",
        "mv t0, a0",
        "mv a0, a1",
        "mv a1, a2",
        "jalr t0",
        "mv a1, a0",
        "mv a0, s1",
        "j {leave}",
        leave = sym leave,
    },
    leave: {
        "ld ra, 0(a0)",
        "ld sp, 8(a0)",
        "ld gp, 16(a0)",
        "ld tp, 24(a0)",
        "ld s0, 32(a0)",
        "ld s1, 40(a0)",
        "ld s2, 48(a0)",
        "ld s3, 56(a0)",
        "ld s4, 64(a0)",
        "ld s5, 72(a0)",
        "ld s6, 80(a0)",
        "ld s7, 88(a0)",
        "ld s8, 96(a0)",
        "ld s9, 104(a0)",
        "ld s10, 112(a0)",
        "ld s11, 120(a0)",
        ".option push",
        ".option arch, +d",
        "fld fs0, 128(a0)",
        "fld fs1, 136(a0)",
        "fld fs2, 144(a0)",
        "fld fs3, 152(a0)",
        "fld fs4, 160(a0)",
        "fld fs5, 168(a0)",
        "fld fs6, 176(a0)",
        "fld fs7, 184(a0)",
        "fld fs8, 192(a0)",
        "fld fs9, 200(a0)",
        "fld fs10, 208(a0)",
        "fld fs11, 216(a0)",
        ".option pop",
        "mv a0, a1",
        "ret",
    },
}

// The variadic services (see `crate::shared_calls`): the psABI passes variadic arguments like
// named ones, the first eight (the handle and seven more) in a0-a7 and the
// rest on the stack from the incoming sp up. Spilling a0-a7 into the 64 bytes
// just below the incoming sp makes all of them one array, whose address goes
// on. The frame stays 16-byte aligned: 64 bytes of spill, ra and padding.
variadic_services!(
    "addi sp, sp, -80",
    "sd ra, 8(sp)",
    "sd a0, 16(sp)",
    "sd a1, 24(sp)",
    "sd a2, 32(sp)",
    "sd a3, 40(sp)",
    "sd a4, 48(sp)",
    "sd a5, 56(sp)",
    "sd a6, 64(sp)",
    "sd a7, 72(sp)",
    "addi a0, sp, 16",
    "call {target}",
    "ld ra, 8(sp)",
    "addi sp, sp, 80",
    "ret",
);

/// `Platform::prepare_image` for riscv64: nothing to ready.
pub fn prepare_image(_base: u64, _len: usize) {}

/// `Platform::sync_code` for riscv64 (Zifencei, "Instruction-Fetch Fence"):
/// one hart, so a local fence.i makes the instructions LoadImage stored
/// visible to instruction fetch.
pub fn sync_code(_start: u64, _len: usize) {
    // SAFETY: fence.i only orders instruction fetch after earlier stores.
    unsafe { core::arch::asm!("fence.i", options(nostack)) };
}
