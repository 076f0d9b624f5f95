//! Time from the architecture's free-running counter (`time::ticks` at
//! `time::frequency` Hz: the TSC, the generic timer, the `time` CSR): the
//! monotonic nanoseconds behind timers and events, and busy waits (Stall).

use crate::time::{frequency, ticks};
use fw_core::clock;

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
