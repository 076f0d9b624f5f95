//! The time source: the TSC. Its frequency comes from CPUID when the processor or
//! hypervisor states it exactly (leaf 0x15 with the crystal clock, or the
//! hypervisor timing leaf 0x40000010 that KVM-based VMMs fill), else it is
//! measured against the ACPI PM timer (QEMU q35, Cloud Hypervisor), else taken
//! from the processor's base frequency (leaf 0x16).
//! Everything time-related (Stall, timers, request timeouts) polls this.

use core::arch::x86_64::{__cpuid, _rdtsc};
use core::sync::atomic::{AtomicU64, Ordering};
use fw_core::clock::{self, PM_TIMER_HZ};

/// Assumed when nothing tells the TSC's rate; only affects how long waits last.
const FALLBACK_HZ: u64 = 1_000_000_000;

static TSC_HZ: AtomicU64 = AtomicU64::new(FALLBACK_HZ);

/// Where the TSC frequency came from, for the log.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    PmTimer,
    Cpuid,
    Assumed,
}

pub fn ticks() -> u64 {
    // SAFETY: RDTSC has no side effects.
    unsafe { _rdtsc() }
}

pub fn frequency() -> u64 {
    TSC_HZ.load(Ordering::Relaxed)
}

pub use crate::counter::{now_ns, stall_ns};

/// Measures the TSC rate. `pm_timer` is the ACPI PM timer's I/O port and whether
/// it counts 32 bits (else 24), from the FADT.
pub fn calibrate(pm_timer: Option<(u16, bool)>) -> (u64, Source) {
    let (hz, source) = if let Some(hz) = stated_frequency() {
        (hz, Source::Cpuid)
    } else if let Some(hz) = pm_timer.and_then(|(port, wide)| measure_with_pm_timer(port, if wide { 32 } else { 24 })) {
        (hz, Source::PmTimer)
    } else if let Some(hz) = base_frequency() {
        (hz, Source::Cpuid)
    } else {
        (FALLBACK_HZ, Source::Assumed)
    };
    TSC_HZ.store(hz, Ordering::Relaxed);
    (hz, source)
}

fn read_pm_timer(port: u16) -> u64 {
    // SAFETY: the FADT names this port as the PM timer; reading it has no side effects.
    u64::from(unsafe { super::io::inl(port) })
}

/// Counts TSC ticks over 1 ms of PM timer. `None` if the timer does not move.
fn measure_with_pm_timer(port: u16, bits: u32) -> Option<u64> {
    // 1 ms of PM timer: one tick in 3580, ample for timeouts and Stall, and
    // each millisecond here is a millisecond of boot time.
    let target = PM_TIMER_HZ / 1000;
    let pm_start = read_pm_timer(port);
    let tsc_start = ticks();
    // A PM timer that never advances must not hang us: give up after far more
    // reads than 1 ms can take (each port read is at least ~100 ns).
    for _ in 0..10_000_000u32 {
        let elapsed = clock::wrapping_delta(pm_start, read_pm_timer(port), bits);
        if elapsed >= target {
            let tsc_elapsed = ticks() - tsc_start;
            return clock::frequency(tsc_elapsed, elapsed, PM_TIMER_HZ);
        }
    }
    None
}

/// The TSC rate where CPUID states it exactly: leaf 0x15 (TSC/crystal ratio
/// and the crystal's frequency, Intel SDM Vol. 2A "CPUID"), or the hypervisor
/// timing leaf 0x40000010 (TSC rate in kHz), present only when the hypervisor
/// leaf range (CPUID.1:ECX bit 31 set) reaches it.
fn stated_frequency() -> Option<u64> {
    if __cpuid(0).eax >= 0x15 {
        let leaf = __cpuid(0x15);
        if leaf.eax != 0 && leaf.ebx != 0 && leaf.ecx != 0 {
            return Some(u64::from(leaf.ecx) * u64::from(leaf.ebx) / u64::from(leaf.eax));
        }
    }
    let under_hypervisor = __cpuid(1).ecx & (1 << 31) != 0;
    if under_hypervisor && __cpuid(0x4000_0000).eax >= 0x4000_0010 {
        let khz = __cpuid(0x4000_0010).eax;
        if khz != 0 {
            return Some(u64::from(khz) * 1000);
        }
    }
    None
}

/// The processor's base frequency (leaf 0x16): close to the TSC rate on most
/// processors, but not stated to be it.
fn base_frequency() -> Option<u64> {
    if __cpuid(0).eax >= 0x16 {
        let mhz = __cpuid(0x16).eax & 0xffff;
        if mhz != 0 {
            return Some(u64::from(mhz) * 1_000_000);
        }
    }
    None
}
