//! kvmclock, KVM's paravirtual clock (Linux `Documentation/virt/kvm/x86/msr.rst`,
//! MSR_KVM_SYSTEM_TIME_NEW; `cpuid.rst`, KVM_FEATURE_CLOCKSOURCE2): the guest
//! writes the address of a 32-byte `pvclock_vcpu_time_info` to an MSR and KVM
//! fills it with the scale (`tsc_to_system_mul`, `tsc_shift`) that turns the
//! guest's TSC ticks into nanoseconds, which states the TSC's rate exactly.
//!
//! The firmware asks once while calibrating, reads the scale, and disables the
//! clock again (writes 0 to the MSR): the OS must not inherit a hypervisor that
//! keeps writing into firmware memory.

use core::hint::spin_loop;

/// KVM's signature in CPUID leaf 0x40000000.
pub const KVM_SIGNATURE: &[u8; 12] = b"KVMKVMKVM\0\0\0";
/// KVM_CPUID_FEATURES: EAX holds the paravirtual feature bits.
pub const KVM_CPUID_FEATURES: u32 = 0x4000_0001;
/// The old clock: the time structure's address goes to MSR_KVM_SYSTEM_TIME.
const KVM_FEATURE_CLOCKSOURCE: u32 = 1 << 0;
/// The current clock: MSR_KVM_SYSTEM_TIME_NEW.
const KVM_FEATURE_CLOCKSOURCE2: u32 = 1 << 3;
const MSR_KVM_SYSTEM_TIME: u32 = 0x12;
const MSR_KVM_SYSTEM_TIME_NEW: u32 = 0x4b56_4d01;
/// Bit 0 of the MSR value turns the clock on; the rest is the address.
#[cfg(target_os = "none")]
const SYSTEM_TIME_ENABLE: u64 = 1;

// `pvclock_vcpu_time_info` as 32-bit words: version, pad, tsc_timestamp (2),
// system_time (2), tsc_to_system_mul, then tsc_shift (i8), flags (u8), pad (2).
#[cfg(any(test, target_os = "none"))]
const WORDS: usize = 8;
const VERSION: usize = 0;
const TSC_TO_SYSTEM_MUL: usize = 6;
const TSC_SHIFT_AND_FLAGS: usize = 7;

/// Reads of the version before giving up on a structure that KVM never
/// finishes writing (it writes it before the guest runs on after the MSR write,
/// so one read normally suffices).
const READ_ATTEMPTS: u32 = 100_000;

/// Why kvmclock gave no TSC rate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Error {
    /// Not running under KVM (no hypervisor, or another signature).
    NotKvm,
    /// KVM without either clock source feature.
    NoClockSource {
        /// KVM's feature bits (CPUID 0x40000001 EAX).
        features: u32,
    },
    /// The structure never showed a finished update (even, non-zero version).
    NotWritten,
    /// KVM wrote a scale that gives no rate.
    BadScale {
        /// `tsc_to_system_mul`.
        mul: u32,
        /// `tsc_shift`.
        shift: i8,
    },
}

impl core::fmt::Display for Error {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Error::NotKvm => write!(f, "not running under KVM"),
            Error::NoClockSource { features } => {
                write!(f, "KVM offers no clock source (features {features:#x})")
            }
            Error::NotWritten => write!(f, "KVM did not fill in the time structure"),
            Error::BadScale { mul, shift } => {
                write!(f, "KVM's scale (mul {mul:#x}, shift {shift}) gives no TSC rate")
            }
        }
    }
}

/// The MSR that takes the time structure's address, from KVM's feature bits
/// (CPUID 0x40000001 EAX): the current one when offered, else the old one.
pub fn system_time_msr(features: u32) -> Result<u32, Error> {
    if features & KVM_FEATURE_CLOCKSOURCE2 != 0 {
        Ok(MSR_KVM_SYSTEM_TIME_NEW)
    } else if features & KVM_FEATURE_CLOCKSOURCE != 0 {
        Ok(MSR_KVM_SYSTEM_TIME)
    } else {
        Err(Error::NoClockSource { features })
    }
}

/// Reads (`tsc_to_system_mul`, `tsc_shift`) through `word` (the structure's
/// 32-bit words) with pvclock's version protocol: an odd version means KVM is
/// writing, a version that changed during the read means it wrote meanwhile,
/// and version 0 means it has not written yet; each is read again.
pub fn read_scale(mut word: impl FnMut(usize) -> u32) -> Result<(u32, i8), Error> {
    for _ in 0..READ_ATTEMPTS {
        let version = word(VERSION);
        if version != 0 && version.is_multiple_of(2) {
            let mul = word(TSC_TO_SYSTEM_MUL);
            let shift = word(TSC_SHIFT_AND_FLAGS).to_le_bytes()[0] as i8;
            if word(VERSION) == version {
                return Ok((mul, shift));
            }
        }
        spin_loop();
    }
    Err(Error::NotWritten)
}

#[cfg(target_os = "none")]
pub use hardware::tsc_frequency;

#[cfg(target_os = "none")]
mod hardware {
    use super::*;
    use crate::x86_64::{hypervisor, msr};
    use core::arch::x86_64::__cpuid;
    use core::sync::atomic::{AtomicU32, Ordering};

    /// The `pvclock_vcpu_time_info` KVM writes: 32 bytes, aligned so that it
    /// never crosses a page. Atomics, because KVM writes it behind the
    /// compiler's back.
    #[repr(C, align(32))]
    struct TimeInfo([AtomicU32; WORDS]);

    static TIME_INFO: TimeInfo = TimeInfo([const { AtomicU32::new(0) }; WORDS]);

    /// The TSC rate KVM states through kvmclock.
    pub fn tsc_frequency() -> Result<u64, Error> {
        match hypervisor::identify() {
            Some((_, signature)) if &signature == KVM_SIGNATURE => {}
            _ => return Err(Error::NotKvm),
        }
        let msr = system_time_msr(__cpuid(KVM_CPUID_FEATURES).eax)?;
        // The firmware runs identity mapped: the static's address is its
        // physical address.
        let address = core::ptr::addr_of!(TIME_INFO) as u64;
        // SAFETY: KVM offers this MSR (checked above); it makes KVM write the
        // 32 bytes of TIME_INFO, which hold only atomics and nothing else.
        unsafe { msr::wrmsr(msr, address | SYSTEM_TIME_ENABLE) };
        let scale = read_scale(|index| TIME_INFO.0[index].load(Ordering::Acquire));
        // SAFETY: as above; 0 turns the clock off, so KVM stops writing to
        // firmware memory before anything else can own it.
        unsafe { msr::wrmsr(msr, 0) };
        let (mul, shift) = scale?;
        fw_core::clock::pvclock_tsc_frequency(mul, shift).ok_or(Error::BadScale { mul, shift })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::cell::Cell;

    #[test]
    fn prefers_the_current_clock_msr_to_the_old_one() {
        // KVM usually offers both, beside other features (here bits 0-7 but
        // 2, and 24: CLOCKSOURCE_STABLE_BIT).
        assert_eq!(system_time_msr(0x0100_00fb), Ok(MSR_KVM_SYSTEM_TIME_NEW));
        assert_eq!(system_time_msr(KVM_FEATURE_CLOCKSOURCE), Ok(MSR_KVM_SYSTEM_TIME));
        assert_eq!(system_time_msr(1 << 1), Err(Error::NoClockSource { features: 1 << 1 }));
    }

    /// A structure as KVM leaves it after its first update: version 2,
    /// a 2.6 GHz scale, PVCLOCK_TSC_STABLE_BIT in the flags.
    fn written() -> [u32; WORDS] {
        let mut words = [0u32; WORDS];
        words[VERSION] = 2;
        words[TSC_TO_SYSTEM_MUL] = 3_303_820_996;
        words[TSC_SHIFT_AND_FLAGS] = u32::from_le_bytes([(-1i8) as u8, 1, 0, 0]);
        words
    }

    #[test]
    fn reads_the_scale_of_a_written_structure() {
        let words = written();
        assert_eq!(read_scale(|i| words[i]), Ok((3_303_820_996, -1)));
    }

    #[test]
    fn waits_out_an_update_in_progress() {
        // The first read sees version 3 (KVM writing), the next ones 4.
        let words = written();
        let reads = Cell::new(0);
        let word = |i: usize| {
            if i == VERSION {
                reads.set(reads.get() + 1);
                return if reads.get() == 1 { 3 } else { 4 };
            }
            words[i]
        };
        assert_eq!(read_scale(word), Ok((3_303_820_996, -1)));
        assert_eq!(reads.get(), 3);
    }

    #[test]
    fn rereads_when_the_version_changed_during_the_read() {
        let words = written();
        let reads = Cell::new(0u32);
        let word = |i: usize| {
            if i == VERSION {
                reads.set(reads.get() + 1);
                // 2, then 4 after the scale was read, then 4 again.
                return if reads.get() == 1 { 2 } else { 4 };
            }
            words[i]
        };
        assert_eq!(read_scale(word), Ok((3_303_820_996, -1)));
        assert_eq!(reads.get(), 4);
    }

    #[test]
    fn gives_up_on_a_structure_never_written() {
        assert_eq!(read_scale(|_| 0), Err(Error::NotWritten));
        assert_eq!(read_scale(|i| if i == VERSION { 7 } else { 1 }), Err(Error::NotWritten));
    }
}
