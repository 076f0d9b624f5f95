//! The Arm PrimeCell real-time clock PL031 (Arm DDI 0224, "PrimeCell Real Time
//! Clock (PL031) Technical Reference Manual", §3.3): a 32-bit count of seconds,
//! which QEMU and Cloud Hypervisor start at the host's UTC time since the Unix
//! epoch. Reading is RTCDR; setting writes RTCLR.

use super::calendar::{days_in_month, DateTime};

/// The PL031's register access: MMIO on the machine, a model in tests.
pub use crate::mmio::Registers32 as Pl031Registers;

const RTCDR: usize = 0x000;
const RTCLR: usize = 0x008;

const SECONDS_PER_DAY: u64 = 86_400;
/// The counter is 32 bits: it runs from 1970 to early 2106.
const LAST_YEAR: u16 = 2105;

/// Why the clock cannot take a time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Error {
    /// Before 1970 or past what 32 bits of seconds hold.
    OutOfRange {
        /// The year asked for.
        year: u16,
    },
    /// A date that is not one (the 31st of April, ...).
    InvalidTime,
}

impl core::fmt::Display for Error {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Error::OutOfRange { year } => write!(f, "year {year} is outside the PL031's 1970-{LAST_YEAR}"),
            Error::InvalidTime => write!(f, "not a valid time"),
        }
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date.
fn days_from_civil(year: u16, month: u8, day: u8) -> u64 {
    let mut days = 0u64;
    for y in 1970..year {
        days += if super::calendar::is_leap_year(y) { 366 } else { 365 };
    }
    for m in 1..month {
        days += u64::from(days_in_month(year, m));
    }
    days + u64::from(day) - 1
}

/// The UTC date and time `seconds` after the Unix epoch.
pub fn from_unix_seconds(seconds: u32) -> DateTime {
    let seconds = u64::from(seconds);
    let mut days = seconds / SECONDS_PER_DAY;
    let rest = seconds % SECONDS_PER_DAY;
    let mut year = 1970u16;
    loop {
        let length = if super::calendar::is_leap_year(year) { 366 } else { 365 };
        if days < length {
            break;
        }
        days -= length;
        year += 1;
    }
    let mut month = 1u8;
    while days >= u64::from(days_in_month(year, month)) {
        days -= u64::from(days_in_month(year, month));
        month += 1;
    }
    DateTime {
        year,
        month,
        day: days as u8 + 1,
        hour: (rest / 3600) as u8,
        minute: (rest / 60 % 60) as u8,
        second: (rest % 60) as u8,
        nanosecond: 0,
        timezone: 0,
        daylight: 0,
    }
}

/// Seconds since the Unix epoch of a UTC time (its time zone is ignored:
/// the clock keeps UTC).
pub fn to_unix_seconds(t: &DateTime) -> Result<u64, Error> {
    if !t.is_valid() {
        return Err(Error::InvalidTime);
    }
    if !(1970..=LAST_YEAR).contains(&t.year) {
        return Err(Error::OutOfRange { year: t.year });
    }
    Ok(days_from_civil(t.year, t.month, t.day) * SECONDS_PER_DAY
        + u64::from(t.hour) * 3600
        + u64::from(t.minute) * 60
        + u64::from(t.second))
}

/// The PL031 RTC (QEMU `virt` on aarch64): seconds since 1970 in 32 bits.
pub struct Pl031<R: Pl031Registers> {
    regs: R,
}

impl<R: Pl031Registers> Pl031<R> {
    /// The clock behind `regs`.
    pub const fn new(regs: R) -> Self {
        Pl031 { regs }
    }

    /// The UTC time, to the second.
    pub fn read(&self) -> DateTime {
        from_unix_seconds(self.regs.read(RTCDR))
    }

    /// Sets the clock to `t` (UTC).
    pub fn write(&self, t: &DateTime) -> Result<(), Error> {
        let seconds = u32::try_from(to_unix_seconds(t)?).map_err(|_| Error::OutOfRange { year: t.year })?;
        self.regs.write(RTCLR, seconds);
        Ok(())
    }
}

/// The registers of a PL031 at a physical address.
#[cfg(target_os = "none")]
pub use crate::mmio::Mmio32 as MmioRegisters;

#[cfg(test)]
mod tests {
    use super::*;
    use core::cell::Cell;

    struct Model {
        seconds: Cell<u32>,
    }

    impl Pl031Registers for &Model {
        fn read(&self, offset: usize) -> u32 {
            if offset == RTCDR {
                self.seconds.get()
            } else {
                0
            }
        }
        fn write(&self, offset: usize, value: u32) {
            if offset == RTCLR {
                self.seconds.set(value);
            }
        }
    }

    fn time(year: u16, month: u8, day: u8, hour: u8, minute: u8, second: u8) -> DateTime {
        DateTime {
            year,
            month,
            day,
            hour,
            minute,
            second,
            ..Default::default()
        }
    }

    #[test]
    fn converts_known_instants() {
        assert_eq!(from_unix_seconds(0), time(1970, 1, 1, 0, 0, 0));
        // `date -u -d @951782400`: the leap day of 2000.
        assert_eq!(from_unix_seconds(951_782_400), time(2000, 2, 29, 0, 0, 0));
        assert_eq!(from_unix_seconds(1_700_000_000), time(2023, 11, 14, 22, 13, 20));
        assert_eq!(from_unix_seconds(u32::MAX), time(2106, 2, 7, 6, 28, 15));
    }

    #[test]
    fn round_trips_through_the_clock() {
        let model = Model { seconds: Cell::new(0) };
        let rtc = Pl031::new(&model);
        let t = time(2024, 12, 31, 23, 59, 58);
        rtc.write(&t).unwrap();
        assert_eq!(rtc.read(), t);
        assert_eq!(model.seconds.get(), 1_735_689_598);
    }

    #[test]
    fn refuses_times_it_cannot_hold() {
        let model = Model { seconds: Cell::new(7) };
        let rtc = Pl031::new(&model);
        assert_eq!(
            rtc.write(&time(1969, 12, 31, 0, 0, 0)),
            Err(Error::OutOfRange { year: 1969 })
        );
        assert_eq!(rtc.write(&time(2024, 2, 30, 0, 0, 0)), Err(Error::InvalidTime));
        assert_eq!(model.seconds.get(), 7);
    }
}
