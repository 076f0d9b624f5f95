//! The CPU's random number generator: RNDR (Armv8.5 FEAT_RNG, Arm ARM DDI 0487
//! D19.2 "RNDR, Random Number"), present when ID_AA64ISAR0_EL1.RNDR is 1.

use aarch64_cpu::registers::*;

/// The instruction's name, for the log.
pub const NAME: &str = "RNDR";

/// Retries per 64-bit value: RNDR fails (NZCV.Z set) only transiently.
const RETRIES: usize = 10;

/// Whether the CPU has the RNDR instruction (FEAT_RNG).
pub fn available() -> bool {
    ID_AA64ISAR0_EL1.get() >> 60 & 0xf != 0
}

fn next() -> Option<u64> {
    for _ in 0..RETRIES {
        let value: u64;
        let ok: u64;
        // SAFETY: RNDR exists (checked by the caller) and only reads; `cset`
        // turns "Z clear" (success) into 1.
        unsafe {
            core::arch::asm!(
                "mrs {value}, s3_3_c2_c4_0",
                "cset {ok}, ne",
                value = out(reg) value,
                ok = out(reg) ok,
                options(nomem, nostack),
            )
        };
        if ok == 1 {
            return Some(value);
        }
    }
    None
}

/// Fills `buffer` with RNDR output; `false` if the CPU has no RNDR or it kept failing.
pub fn fill(buffer: &mut [u8]) -> bool {
    if !available() {
        return false;
    }
    crate::random_words::fill_from_words(buffer, next)
}
