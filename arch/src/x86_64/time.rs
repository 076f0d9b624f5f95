//! The time source: the TSC, its frequency measured against the ACPI PM timer when
//! the platform has one (QEMU q35, Cloud Hypervisor), else taken from CPUID.
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

/// Measures the TSC rate. `pm_timer` is the ACPI PM timer's I/O port and whether
/// it counts 32 bits (else 24), from the FADT.
pub fn calibrate(pm_timer: Option<(u16, bool)>) -> (u64, Source) {
    let measured = pm_timer.and_then(|(port, wide)| measure_with_pm_timer(port, if wide { 32 } else { 24 }));
    let (hz, source) = match measured {
        Some(hz) => (hz, Source::PmTimer),
        None => match cpuid_frequency() {
            Some(hz) => (hz, Source::Cpuid),
            None => (FALLBACK_HZ, Source::Assumed),
        },
    };
    TSC_HZ.store(hz, Ordering::Relaxed);
    (hz, source)
}

fn read_pm_timer(port: u16) -> u64 {
    // SAFETY: the FADT names this port as the PM timer; reading it has no side effects.
    u64::from(unsafe { super::io::inl(port) })
}

/// Counts TSC ticks over 2 ms of PM timer. `None` if the timer does not move.
fn measure_with_pm_timer(port: u16, bits: u32) -> Option<u64> {
    // 2 ms of PM timer: ample precision (one tick in 7000) at little boot time.
    let target = PM_TIMER_HZ / 500;
    let pm_start = read_pm_timer(port);
    let tsc_start = ticks();
    // A PM timer that never advances must not hang us: give up after far more
    // reads than 2 ms can take (each port read is at least ~100 ns).
    for _ in 0..10_000_000u32 {
        let elapsed = clock::wrapping_delta(pm_start, read_pm_timer(port), bits);
        if elapsed >= target {
            let tsc_elapsed = ticks() - tsc_start;
            return clock::frequency(tsc_elapsed, elapsed, PM_TIMER_HZ);
        }
    }
    None
}

fn cpuid_frequency() -> Option<u64> {
    let max = __cpuid(0).eax;
    if max >= 0x15 {
        let leaf = __cpuid(0x15);
        if leaf.eax != 0 && leaf.ebx != 0 && leaf.ecx != 0 {
            return Some(u64::from(leaf.ecx) * u64::from(leaf.ebx) / u64::from(leaf.eax));
        }
    }
    if max >= 0x16 {
        let mhz = __cpuid(0x16).eax & 0xffff;
        if mhz != 0 {
            return Some(u64::from(mhz) * 1_000_000);
        }
    }
    // Hypervisor timing leaf (KVM and VMware): TSC rate in kHz.
    if __cpuid(0x4000_0000).eax >= 0x4000_0010 {
        let khz = __cpuid(0x4000_0010).eax;
        if khz != 0 {
            return Some(u64::from(khz) * 1000);
        }
    }
    None
}
