//! The time source: the Arm generic timer's physical count (CNTPCT_EL0) at the
//! rate CNTFRQ_EL0 reports (Arm ARM DDI 0487, D11 "The Generic Timer").
//! Everything time-related (Stall, timers, request timeouts) polls this.

use aarch64_cpu::asm::barrier;
use aarch64_cpu::registers::*;
use fw_core::clock;

/// Assumed when CNTFRQ_EL0 reads 0 (firmware should have set it; the VMMs do).
const FALLBACK_HZ: u64 = 62_500_000;

pub fn ticks() -> u64 {
    // The ISB keeps the read from being done ahead of earlier instructions.
    barrier::isb(barrier::SY);
    CNTPCT_EL0.get()
}

pub fn frequency() -> u64 {
    match CNTFRQ_EL0.get() & 0xffff_ffff {
        0 => FALLBACK_HZ,
        hz => hz,
    }
}

/// Nanoseconds since an arbitrary point (reset).
pub fn now_ns() -> u64 {
    clock::ticks_to_ns(ticks(), frequency())
}

/// Busy-waits `ns` nanoseconds.
pub fn stall_ns(ns: u64) {
    let end = ticks().saturating_add(clock::ns_to_ticks(ns, frequency()));
    while ticks() < end {
        core::hint::spin_loop();
    }
}
