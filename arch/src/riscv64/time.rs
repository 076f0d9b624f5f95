//! The time source: the `time` CSR (RISC-V Privileged Architecture, §3.1.11
//! "Machine Timer Registers"; read with rdtime), counting at the device tree's
//! `/cpus/timebase-frequency` (Devicetree bindings, riscv/cpus.yaml).
//! Everything time-related (Stall, timers, request timeouts) polls this.

use core::sync::atomic::{AtomicU64, Ordering};

/// QEMU `virt`'s timebase, used when the tree names none.
const FALLBACK_HZ: u64 = 10_000_000;

static FREQUENCY: AtomicU64 = AtomicU64::new(FALLBACK_HZ);

/// Records the timebase frequency (from the device tree, at entry).
pub fn set_frequency(hz: u64) {
    if hz != 0 {
        FREQUENCY.store(hz, Ordering::Relaxed);
    }
}

/// The `time` CSR's counter.
pub fn ticks() -> u64 {
    let value: u64;
    // SAFETY: reading the time CSR has no side effects; OpenSBI lets S-mode
    // read it (mcounteren.TM) or emulates the read.
    unsafe { core::arch::asm!("rdtime {}", out(reg) value, options(nomem, nostack)) };
    value
}

/// The counter's frequency in Hz (the device tree's `timebase-frequency`).
pub fn frequency() -> u64 {
    FREQUENCY.load(Ordering::Relaxed)
}

pub use crate::counter::{now_ns, stall_ns};
