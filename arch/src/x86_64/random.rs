//! The CPU's random number generator (RDRAND, Intel SDM vol. 1 §7.3.17).

use core::arch::x86_64::{__cpuid, _rdrand64_step};

/// The instruction's name, for the log.
pub const NAME: &str = "RDRAND";

/// Retries per 64-bit value: Intel's guidance is that ten failures in a row
/// mean the generator is broken.
const RETRIES: usize = 10;

/// Whether the CPU has RDRAND (CPUID.01H:ECX bit 30).
pub fn available() -> bool {
    __cpuid(1).ecx & (1 << 30) != 0
}

#[target_feature(enable = "rdrand")]
fn next() -> Option<u64> {
    let mut value = 0u64;
    for _ in 0..RETRIES {
        if _rdrand64_step(&mut value) == 1 {
            return Some(value);
        }
    }
    None
}

/// Fills `buffer` with RDRAND output; `false` if the CPU has no RDRAND or it
/// kept failing.
pub fn fill(buffer: &mut [u8]) -> bool {
    if !available() {
        return false;
    }
    // SAFETY: RDRAND is available (checked above).
    crate::random_words::fill_from_words(buffer, || unsafe { next() })
}
