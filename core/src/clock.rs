//! Time arithmetic for the polled clock: the arch layer reads a free-running
//! counter (TSC, generic timer, `time` CSR) whose frequency it measured; this
//! turns counts into nanoseconds and does the calibration arithmetic.
#![forbid(unsafe_code)]

/// The ACPI power-management timer's fixed rate (ACPI 6.5 §4.8.3.3).
pub const PM_TIMER_HZ: u64 = 3_579_545;

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
    let hz = (counter_ticks as u128 * reference_hz as u128) / reference_ticks as u128;
    u64::try_from(hz).ok().filter(|&hz| hz > 0)
}

/// Converts ticks of a `hz` counter to nanoseconds without overflow.
pub fn ticks_to_ns(ticks: u64, hz: u64) -> u64 {
    if hz == 0 {
        return 0;
    }
    u64::try_from(ticks as u128 * 1_000_000_000 / hz as u128).unwrap_or(u64::MAX)
}

/// Converts nanoseconds to ticks of a `hz` counter, rounding up.
pub fn ns_to_ticks(ns: u64, hz: u64) -> u64 {
    u64::try_from((ns as u128 * hz as u128).div_ceil(1_000_000_000)).unwrap_or(u64::MAX)
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

    #[test]
    fn converts_between_ticks_and_nanoseconds() {
        assert_eq!(ticks_to_ns(3_000_000_000, 3_000_000_000), 1_000_000_000);
        assert_eq!(ns_to_ticks(1, 3_000_000_000), 3);
        assert_eq!(ticks_to_ns(u64::MAX, 1), u64::MAX);
        assert_eq!(ticks_to_ns(5, 0), 0);
    }
}
