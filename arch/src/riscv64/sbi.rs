//! Calls into the SBI firmware (RISC-V Supervisor Binary Interface v2.0,
//! §3 "Binary Encoding": EID in a7, FID in a6, arguments in a0-a5, error in a0
//! and value in a1 on return; §10 "System Reset Extension").

/// The System Reset extension, "SRST".
const EID_SRST: u64 = 0x5352_5354;
/// sbi_system_reset(reset_type, reset_reason).
const FID_SYSTEM_RESET: u64 = 0;

const RESET_TYPE_SHUTDOWN: u64 = 0;
const RESET_TYPE_COLD_REBOOT: u64 = 1;
const RESET_REASON_NO_REASON: u64 = 0;
const RESET_REASON_SYSTEM_FAILURE: u64 = 1;

fn system_reset(kind: u64, reason: u64) {
    let mut a0 = kind;
    let mut a1 = reason;
    // SAFETY: an SBI call: the SBI implementation preserves every register
    // except a0 and a1 (§3); SRST does not return on success.
    unsafe {
        core::arch::asm!(
            "ecall",
            inout("a0") a0,
            inout("a1") a1,
            in("a6") FID_SYSTEM_RESET,
            in("a7") EID_SRST,
            options(nostack),
        )
    };
    let _ = (a0, a1);
}

/// Powers the machine off. Returns only if the SBI has no SRST or refused.
pub fn shutdown() {
    system_reset(RESET_TYPE_SHUTDOWN, RESET_REASON_NO_REASON);
}

/// Powers the machine off, telling the SBI that the system failed.
pub fn shutdown_after_failure() {
    system_reset(RESET_TYPE_SHUTDOWN, RESET_REASON_SYSTEM_FAILURE);
}

/// Resets the machine. Returns only if the SBI has no SRST or refused.
pub fn cold_reboot() {
    system_reset(RESET_TYPE_COLD_REBOOT, RESET_REASON_NO_REASON);
}
