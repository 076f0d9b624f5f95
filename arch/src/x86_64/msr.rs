//! Model-specific registers (Intel SDM Vol. 2B, "WRMSR").

use core::arch::asm;

/// Writes `value` to the model-specific register `msr`.
///
/// # Safety
/// The processor (or the hypervisor) must implement `msr`, else WRMSR faults, and
/// the write must leave the machine in a state the firmware can run in. The
/// register may make the processor or hypervisor write memory, so this is not a
/// pure register write to the compiler.
pub unsafe fn wrmsr(msr: u32, value: u64) {
    // SAFETY: the caller vouches for the register and the value; EDX:EAX holds
    // the value split in halves, as WRMSR takes it.
    unsafe {
        asm!(
            "wrmsr",
            in("ecx") msr,
            in("eax") value as u32,
            in("edx") (value >> 32) as u32,
            options(nostack, preserves_flags)
        )
    };
}
