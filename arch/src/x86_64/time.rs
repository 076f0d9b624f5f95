//! The time source: the TSC. Everything time-related (Stall, timers, the boot
//! menu's timeout, request timeouts) polls it, so its rate must be right. The
//! rate comes from the first of these that the VMM offers:
//!
//! 1. CPUID stating it exactly: leaf 0x15 (TSC/crystal ratio and the crystal's
//!    frequency, Intel SDM Vol. 2A "CPUID"), else the hypervisor timing leaf
//!    0x40000010 (TSC kHz) that KVM-based VMMs fill when the TSC is invariant;
//! 2. kvmclock: KVM's paravirtual clock states the scale it converts TSC ticks
//!    with (Cloud Hypervisor, QEMU under KVM; see [`super::kvmclock`]);
//! 3. the ACPI PM timer (ACPI 6.5 §4.8.3.3) from the FADT, hardware-reduced
//!    or not (QEMU q35; Cloud Hypervisor names one at I/O 0x608): 1 ms of it
//!    is measured;
//! 4. the HPET from the ACPI HPET table (QEMU q35; see [`super::hpet`]): 1 ms
//!    of it is measured;
//! 5. guesses, logged as warnings: the processor's base frequency (leaf 0x16,
//!    not stated to be the TSC's rate), else an assumed 1 GHz.
//!
//! Each measurement is bounded: a counter that does not move costs a fraction
//! of a second, never a hang.

use super::{hpet, kvmclock};
use core::arch::x86_64::{__cpuid, _rdtsc};
use core::sync::atomic::{AtomicU64, Ordering};
use fw_core::clock::{self, MeasureError, PM_TIMER_HZ};
use fw_drivers::acpi::{Hpet, PmTimer};
use log::{debug, warn};

/// Assumed when nothing tells the TSC's rate; only affects how long waits last.
const FALLBACK_HZ: u64 = 1_000_000_000;

/// How long the TSC is measured against a reference: 1 ms is one part in
/// 3580 of PM timer and ample for timeouts, and each millisecond here is a
/// millisecond of boot time.
const MEASURE_NS: u64 = 1_000_000;

/// The hypervisor timing leaf: EAX is the TSC's rate in kHz.
const HYPERVISOR_TIMING_LEAF: u32 = 0x4000_0010;

static TSC_HZ: AtomicU64 = AtomicU64::new(FALLBACK_HZ);

/// Where the TSC frequency came from, for the log.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    /// CPUID leaf 0x15 (TSC/crystal ratio).
    Cpuid15,
    /// CPUID leaf 0x40000010 (the hypervisor's TSC kHz).
    HypervisorLeaf,
    /// KVM's pvclock scale.
    Kvmclock,
    /// Measured against the ACPI PM timer.
    PmTimer,
    /// Measured against the HPET.
    Hpet,
    /// CPUID leaf 0x16: a guess.
    BaseFrequency,
    /// Nothing: a guess.
    Assumed,
}

/// The time-stamp counter (RDTSC).
pub fn ticks() -> u64 {
    // SAFETY: RDTSC has no side effects.
    unsafe { _rdtsc() }
}

/// The TSC's frequency in Hz, as calibrated at start.
pub fn frequency() -> u64 {
    TSC_HZ.load(Ordering::Relaxed)
}

pub use crate::counter::{now_ns, stall_ns};

/// Finds the TSC rate (see the module documentation for the order) and makes
/// it the clock's. `pm_timer` and `hpet` are what the ACPI tables describe.
pub fn calibrate(pm_timer: Option<PmTimer>, hpet: Option<Hpet>) -> (u64, Source) {
    let (hz, source) = find_frequency(pm_timer, hpet);
    TSC_HZ.store(hz, Ordering::Relaxed);
    (hz, source)
}

fn find_frequency(pm_timer: Option<PmTimer>, hpet: Option<Hpet>) -> (u64, Source) {
    const NOTHING: &str = "no clock to calibrate against (no CPUID 0x15/0x40000010, kvmclock, PM timer or HPET)";
    if let Some(hz) = crystal_frequency() {
        return (hz, Source::Cpuid15);
    }
    if let Some(hz) = hypervisor_leaf_frequency() {
        return (hz, Source::HypervisorLeaf);
    }
    match kvmclock::tsc_frequency() {
        Ok(hz) => return (hz, Source::Kvmclock),
        Err(e @ (kvmclock::Error::NotKvm | kvmclock::Error::NoClockSource { .. })) => debug!("TSC: no kvmclock: {e}"),
        Err(e) => warn!("TSC: kvmclock unusable: {e}"),
    }
    if let Some(timer) = pm_timer {
        match measure_with_pm_timer(timer) {
            Ok(hz) => return (hz, Source::PmTimer),
            Err(e) => warn!("TSC: the PM timer at port {:#x} is unusable: {e}", timer.port),
        }
    }
    if let Some(block) = hpet {
        match hpet::measure(block.base_address, ticks, MEASURE_NS) {
            Ok(hz) => return (hz, Source::Hpet),
            Err(e) => warn!("TSC: the HPET at {:#x} is unusable: {e}", block.base_address),
        }
    }
    if let Some(hz) = base_frequency() {
        warn!(
            "TSC: {NOTHING}; taking the processor's base frequency, {} MHz (CPUID 0x16), \
             which is not stated to be the TSC's: timeouts may be wrong",
            hz / 1_000_000
        );
        return (hz, Source::BaseFrequency);
    }
    warn!(
        "TSC: {NOTHING}; assuming {} MHz: timeouts may be wrong",
        FALLBACK_HZ / 1_000_000
    );
    (FALLBACK_HZ, Source::Assumed)
}

/// Counts TSC ticks over 1 ms of PM timer.
fn measure_with_pm_timer(timer: PmTimer) -> Result<u64, MeasureError> {
    let read = || {
        // SAFETY: the FADT names this port as the PM timer; reading it has no
        // side effects.
        u64::from(unsafe { super::io::inl(timer.port) })
    };
    let bits = if timer.wide { 32 } else { 24 };
    clock::measure(ticks, read, PM_TIMER_HZ, bits, MEASURE_NS)
}

/// The TSC rate from leaf 0x15: the TSC/crystal ratio (EBX/EAX) and the
/// crystal's frequency (ECX), when all three are stated.
fn crystal_frequency() -> Option<u64> {
    if __cpuid(0).eax < 0x15 {
        return None;
    }
    let leaf = __cpuid(0x15);
    if leaf.eax == 0 || leaf.ebx == 0 || leaf.ecx == 0 {
        return None;
    }
    Some(u64::from(leaf.ecx) * u64::from(leaf.ebx) / u64::from(leaf.eax))
}

/// The TSC rate from the hypervisor timing leaf 0x40000010, present only when
/// the hypervisor's leaf range reaches it.
fn hypervisor_leaf_frequency() -> Option<u64> {
    let (max_leaf, _) = super::hypervisor::identify()?;
    if max_leaf < HYPERVISOR_TIMING_LEAF {
        return None;
    }
    let khz = __cpuid(HYPERVISOR_TIMING_LEAF).eax;
    (khz != 0).then(|| u64::from(khz) * 1000)
}

/// The processor's base frequency (leaf 0x16): close to the TSC rate on most
/// processors, but not stated to be it.
fn base_frequency() -> Option<u64> {
    if __cpuid(0).eax < 0x16 {
        return None;
    }
    let mhz = __cpuid(0x16).eax & 0xffff;
    (mhz != 0).then(|| u64::from(mhz) * 1_000_000)
}
