//! The time source: the Arm generic timer's physical count (CNTPCT_EL0) at the
//! rate CNTFRQ_EL0 reports (Arm ARM DDI 0487, D11 "The Generic Timer").
//! Everything time-related (Stall, timers, request timeouts) polls this.

use aarch64_cpu::asm::barrier;
use aarch64_cpu::registers::*;

/// Assumed when CNTFRQ_EL0 reads 0 (firmware should have set it; the VMMs do).
const FALLBACK_HZ: u64 = 62_500_000;

/// The generic timer's virtual count (CNTVCT_EL0).
pub fn ticks() -> u64 {
    // The ISB keeps the read from being done ahead of earlier instructions.
    barrier::isb(barrier::SY);
    CNTPCT_EL0.get()
}

/// The generic timer's frequency in Hz (CNTFRQ_EL0).
pub fn frequency() -> u64 {
    match CNTFRQ_EL0.get() & 0xffff_ffff {
        0 => FALLBACK_HZ,
        hz => hz,
    }
}

pub use crate::counter::{now_ns, stall_ns};
