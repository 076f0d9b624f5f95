//! Time arithmetic for the polled clock: the arch layer reads a free-running
//! counter (TSC, generic timer, `time` CSR) whose frequency it measured; this
//! turns counts into nanoseconds and does the calibration arithmetic: the
//! bounded measurement against a reference clock (the ACPI PM timer, ACPI 6.5
//! §4.8.3.3; the HPET, IA-PC HPET Specification 1.0a §2.3.4) and the TSC rate
//! that KVM's pvclock states (`pvclock_vcpu_time_info`, Linux
//! `Documentation/virt/kvm/x86/msr.rst`, MSR_KVM_SYSTEM_TIME_NEW).
#![forbid(unsafe_code)]

use core::fmt;

/// The ACPI power-management timer's fixed rate (ACPI 6.5 §4.8.3.3).
pub const PM_TIMER_HZ: u64 = 3_579_545;

const NS_PER_SECOND: u64 = 1_000_000_000;

/// The HPET states its tick in femtoseconds (COUNTER_CLK_PERIOD).
pub const FEMTOSECONDS_PER_SECOND: u64 = 1_000_000_000_000_000;

/// The longest COUNTER_CLK_PERIOD the HPET specification allows (100 ns, so the
/// main counter runs at 10 MHz or faster; IA-PC HPET 1.0a §2.3.4).
pub const HPET_MAX_PERIOD_FS: u32 = 0x05F5_E100;

/// Reads of the reference clock after which a measurement gives up.
const MAX_REFERENCE_READS: u32 = 10_000_000;

/// Ticks of the measured counter after which a measurement gives up: 1 ms of
/// any counter slower than 200 GHz stays below it, and at a 1 GHz TSC giving
/// up on a stopped reference costs 0.2 s.
const MAX_COUNTER_TICKS: u64 = 200_000_000;

/// Why a counter could not be measured against a reference clock.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MeasureError {
    /// The reference advanced only `advanced` of the `wanted` ticks before the
    /// measurement gave up.
    ReferenceStalled {
        /// Ticks the reference advanced.
        advanced: u64,
        /// Ticks the measurement waited for.
        wanted: u64,
    },
    /// The measured counter did not advance.
    CounterStalled,
}

impl fmt::Display for MeasureError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MeasureError::ReferenceStalled { advanced, wanted } => {
                write!(
                    f,
                    "the reference advanced {advanced} of {wanted} ticks before the wait ran out"
                )
            }
            MeasureError::CounterStalled => write!(f, "the measured counter did not advance"),
        }
    }
}

/// Ticks between two reads of a counter `bits` wide that may have wrapped once.
pub fn wrapping_delta(start: u64, end: u64, bits: u32) -> u64 {
    let mask = if bits >= 64 { u64::MAX } else { (1u64 << bits) - 1 };
    end.wrapping_sub(start) & mask
}

/// A counter's frequency, from `counter_ticks` counted while a reference clock of
/// `reference_hz` advanced `reference_ticks`.
pub fn frequency(counter_ticks: u64, reference_ticks: u64, reference_hz: u64) -> Option<u64> {
    if reference_ticks == 0 {
        return None;
    }
    let hz = (u128::from(counter_ticks) * u128::from(reference_hz)) / u128::from(reference_ticks);
    u64::try_from(hz).ok().filter(|&hz| hz > 0)
}

/// Measures the rate of `counter` over `duration_ns` of a reference clock that
/// counts `reference_bits` wide at `reference_hz`. Never hangs: it gives up
/// after a bounded number of reads and of counter ticks.
pub fn measure(
    mut counter: impl FnMut() -> u64,
    mut reference: impl FnMut() -> u64,
    reference_hz: u64,
    reference_bits: u32,
    duration_ns: u64,
) -> Result<u64, MeasureError> {
    let wanted = ns_to_ticks(duration_ns, reference_hz).max(1);
    let reference_start = reference();
    let counter_start = counter();
    let mut advanced = 0;
    for _ in 0..MAX_REFERENCE_READS {
        advanced = wrapping_delta(reference_start, reference(), reference_bits);
        let counted = counter().wrapping_sub(counter_start);
        if advanced >= wanted {
            return frequency(counted, advanced, reference_hz).ok_or(MeasureError::CounterStalled);
        }
        if counted > MAX_COUNTER_TICKS {
            break;
        }
    }
    Err(MeasureError::ReferenceStalled { advanced, wanted })
}

/// The rate of a TSC that pvclock converts with `mul` and `shift` (the
/// `tsc_to_system_mul` and `tsc_shift` of `pvclock_vcpu_time_info`). The ABI
/// turns TSC ticks into nanoseconds as `((ticks << shift) * mul) >> 32`, with a
/// right shift by `-shift` when `shift` is negative; so a second is
/// `1e9 * 2^32 / mul` ticks, divided by `2^shift` (multiplied for a negative
/// shift). `None` when `mul` is 0 or the rate does not fit in a `u64` Hz.
pub fn pvclock_tsc_frequency(mul: u32, shift: i8) -> Option<u64> {
    // Beyond 64 either way the rate is below 1 Hz or above u64::MAX; within it
    // the u128 arithmetic cannot overflow (1e9 < 2^30, 30 + 32 + 64 < 128).
    let magnitude = u32::from(shift.unsigned_abs());
    let (up, down) = if shift < 0 { (magnitude, 0) } else { (0, magnitude) };
    if mul == 0 || up > 64 || down > 64 {
        return None;
    }
    let numerator = u128::from(NS_PER_SECOND) << (32 + up);
    let denominator = u128::from(mul) << down;
    u64::try_from(numerator / denominator).ok().filter(|&hz| hz > 0)
}

/// The HPET main counter's rate from its COUNTER_CLK_PERIOD in femtoseconds;
/// `None` for a period the specification does not allow (0, or longer than
/// 100 ns, which is also what all-ones from an absent device reads as).
pub fn hpet_frequency(period_fs: u32) -> Option<u64> {
    (period_fs != 0 && period_fs <= HPET_MAX_PERIOD_FS).then(|| FEMTOSECONDS_PER_SECOND / u64::from(period_fs))
}

/// Converts ticks of a `hz` counter to nanoseconds without overflow.
pub fn ticks_to_ns(ticks: u64, hz: u64) -> u64 {
    if hz == 0 {
        return 0;
    }
    u64::try_from(u128::from(ticks) * 1_000_000_000 / u128::from(hz)).unwrap_or(u64::MAX)
}

/// Converts nanoseconds to ticks of a `hz` counter, rounding up.
pub fn ns_to_ticks(ns: u64, hz: u64) -> u64 {
    u64::try_from((u128::from(ns) * u128::from(hz)).div_ceil(1_000_000_000)).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_24_bit_pm_timer_wraps() {
        assert_eq!(wrapping_delta(0xff_fff0, 0x10, 24), 0x20);
        assert_eq!(wrapping_delta(5, 10, 32), 5);
        assert_eq!(wrapping_delta(u64::MAX, 1, 64), 2);
    }

    #[test]
    fn measures_a_2_ghz_counter_against_the_pm_timer() {
        // 10 ms of PM timer.
        let pm = PM_TIMER_HZ / 100;
        let hz = frequency(20_000_000, pm, PM_TIMER_HZ).unwrap();
        assert!((hz as i64 - 2_000_000_000).abs() < 100_000, "{hz}");
        assert_eq!(frequency(1, 0, PM_TIMER_HZ), None);
    }

    /// Linux's `pvclock_tsc_khz`: kHz = (1e6 << 32) / mul, then shifted by
    /// `tsc_shift` (left for a negative one). It divides before shifting, so it
    /// may round a kHz lower than the exact rate.
    fn linux_pvclock_khz(mul: u32, shift: i8) -> u64 {
        let khz = (1_000_000u64 << 32) / u64::from(mul);
        if shift < 0 {
            khz << -shift
        } else {
            khz >> shift
        }
    }

    #[test]
    fn pvclock_scale_gives_the_tsc_rate_kvm_scaled_for() {
        // (mul, shift) as KVM's kvm_get_time_scale computes them for the TSC
        // rate beside them (1e9 ns per second scaled by the TSC's Hz).
        let cases: [(u32, i8, u64); 7] = [
            (3_303_820_996, -1, 2_600_000_000),
            (2_147_483_648, 1, 1_000_000_000),
            (2_863_311_530, -1, 3_000_000_000),
            (4_100_054_791, -1, 2_095_078_000),
            (3_817_748_707, -2, 4_500_000_000),
            (2_684_354_560, 1, 800_000_000),
            (2_684_354_560, 4, 100_000_000),
        ];
        for (mul, shift, tsc_hz) in cases {
            let hz = pvclock_tsc_frequency(mul, shift).unwrap();
            assert_eq!(hz, tsc_hz, "mul {mul} shift {shift}");
            assert!(hz / 1000 - linux_pvclock_khz(mul, shift) <= 1, "{mul} {shift}");
        }
    }

    #[test]
    fn pvclock_scale_round_trips_a_second() {
        // One second of TSC ticks turned into nanoseconds the way the ABI
        // does it comes back as one second (less rounding).
        for (mul, shift) in [(3_303_820_996u32, -1i8), (2_147_483_648, 1), (2_863_311_530, -1)] {
            let ticks = pvclock_tsc_frequency(mul, shift).unwrap();
            let scaled = if shift < 0 { ticks >> -shift } else { ticks << shift };
            let ns = (u128::from(scaled) * u128::from(mul)) >> 32;
            assert!((999_999_998..=1_000_000_000).contains(&ns), "{ns}");
        }
    }

    #[test]
    fn unusable_pvclock_scales_give_no_rate() {
        assert_eq!(pvclock_tsc_frequency(0, 0), None, "not yet written by the hypervisor");
        assert_eq!(pvclock_tsc_frequency(1, -64), None, "beyond u64 Hz");
        assert_eq!(pvclock_tsc_frequency(u32::MAX, 64), None, "below 1 Hz");
        assert_eq!(pvclock_tsc_frequency(1, i8::MIN), None);
        assert_eq!(pvclock_tsc_frequency(1, i8::MAX), None);
    }

    #[test]
    fn hpet_period_gives_the_counter_rate() {
        // QEMU's HPET ticks every 10 ns.
        assert_eq!(hpet_frequency(10_000_000), Some(100_000_000));
        // The classic 14.31818 MHz HPET and Intel's 24 MHz one (rounded down).
        assert_eq!(hpet_frequency(69_841_279), Some(14_318_179));
        assert_eq!(hpet_frequency(41_666_667), Some(23_999_999));
        assert_eq!(hpet_frequency(HPET_MAX_PERIOD_FS), Some(10_000_000));
        assert_eq!(hpet_frequency(0), None);
        assert_eq!(hpet_frequency(HPET_MAX_PERIOD_FS + 1), None);
        assert_eq!(hpet_frequency(u32::MAX), None, "all ones: nothing answers there");
    }

    /// A counter and a reference clock: the reference advances `step` per read,
    /// the counter reads `rate` times the reference.
    fn clocks(step: u64, rate: u64) -> (impl FnMut() -> u64, impl FnMut() -> u64) {
        let reference = std::rc::Rc::new(core::cell::Cell::new(0u64));
        let seen = reference.clone();
        let read_reference = move || {
            reference.set(reference.get() + step);
            reference.get()
        };
        let read_counter = move || seen.get() * rate;
        (read_counter, read_reference)
    }

    #[test]
    fn measures_a_counter_over_a_millisecond_of_reference() {
        // A 2.6 GHz TSC against a 100 MHz HPET read 7 ticks apart.
        let (tsc, hpet) = clocks(7, 26);
        assert_eq!(measure(tsc, hpet, 100_000_000, 32, 1_000_000), Ok(2_600_000_000));
        // Against a 24-bit PM timer that wraps during the millisecond: 280 TSC
        // ticks per PM timer tick.
        let mut pm = 0xff_fff0u64;
        let mut tsc = 0u64;
        let hz = measure(
            || {
                tsc += 280;
                tsc
            },
            || {
                pm = (pm + 1) & 0xff_ffff;
                pm
            },
            PM_TIMER_HZ,
            24,
            1_000_000,
        )
        .unwrap();
        assert_eq!(hz, 280 * PM_TIMER_HZ);
    }

    #[test]
    fn a_stopped_reference_or_counter_does_not_hang() {
        let mut tsc = 0u64;
        let counting = || {
            tsc += 100;
            tsc
        };
        assert_eq!(
            measure(counting, || 5, PM_TIMER_HZ, 24, 1_000_000),
            Err(MeasureError::ReferenceStalled {
                advanced: 0,
                wanted: 3580
            })
        );
        // A stopped TSC as well: the read bound ends it.
        assert!(matches!(
            measure(|| 1, || 5, PM_TIMER_HZ, 24, 1_000_000),
            Err(MeasureError::ReferenceStalled { .. })
        ));
        let mut pm = 0u64;
        let moving = || {
            pm += 1;
            pm
        };
        assert_eq!(
            measure(|| 1, moving, PM_TIMER_HZ, 24, 1_000_000),
            Err(MeasureError::CounterStalled)
        );
    }

    #[test]
    fn converts_between_ticks_and_nanoseconds() {
        assert_eq!(ticks_to_ns(3_000_000_000, 3_000_000_000), 1_000_000_000);
        assert_eq!(ns_to_ticks(1, 3_000_000_000), 3);
        assert_eq!(ticks_to_ns(u64::MAX, 1), u64::MAX);
        assert_eq!(ticks_to_ns(5, 0), 0);
    }
}
