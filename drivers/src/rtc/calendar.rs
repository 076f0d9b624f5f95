//! Calendar dates as the EFI runtime services exchange them (UEFI 2.10 §8.3,
//! EFI_TIME), with the validity rules SetTime must enforce, their EFI_TIME
//! bytes, and their count of seconds since the Unix epoch (what the PL031 and
//! Goldfish clocks keep). The one wall-clock type of the firmware: the RTCs,
//! GetTime/SetTime and the file system's EFI_FILE_INFO all hold it.
#![forbid(unsafe_code)]

use core::fmt;

/// EFI_UNSPECIFIED_TIMEZONE.
pub const UNSPECIFIED_TIMEZONE: i16 = 0x07ff;

/// A wall-clock time.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct DateTime {
    /// The year (1900-9999).
    pub year: u16,
    /// 1-12.
    pub month: u8,
    /// 1-31.
    pub day: u8,
    /// 0-23.
    pub hour: u8,
    /// 0-59.
    pub minute: u8,
    /// 0-59.
    pub second: u8,
    /// 0-999,999,999.
    pub nanosecond: u32,
    /// Minutes from UTC, or [`UNSPECIFIED_TIMEZONE`].
    pub timezone: i16,
    /// The `EFI_TIME_*` daylight bits.
    pub daylight: u8,
}

/// Whether `year` has a 29th of February (Gregorian rules).
pub fn is_leap_year(year: u16) -> bool {
    (year.is_multiple_of(4) && !year.is_multiple_of(100)) || year.is_multiple_of(400)
}

/// The days of `month` (1-12) in `year`; 0 for a month that is not one.
pub fn days_in_month(year: u16, month: u8) -> u8 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if is_leap_year(year) => 29,
        2 => 28,
        _ => 0,
    }
}

/// The bytes of an EFI_TIME (§8.3): Year, Month, Day, Hour, Minute, Second,
/// Pad1, Nanosecond, TimeZone, Daylight, Pad2; little-endian.
pub const EFI_TIME_SIZE: usize = 16;

const SECONDS_PER_DAY: u64 = 86_400;

/// The last year whose every second a 32-bit count of Unix seconds holds (the
/// count runs out in February 2106).
pub const LAST_UNIX32_YEAR: u16 = 2105;

/// Why a time has no count of Unix seconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UnixTimeError {
    /// Before 1970 or past what 32 bits of seconds hold.
    OutOfRange {
        /// The year asked for.
        year: u16,
    },
    /// A date that is not one (the 31st of April, ...).
    InvalidTime,
}

impl fmt::Display for UnixTimeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UnixTimeError::OutOfRange { year } => {
                write!(f, "year {year} is outside the clock's 1970-{LAST_UNIX32_YEAR}")
            }
            UnixTimeError::InvalidTime => write!(f, "not a valid time"),
        }
    }
}

fn days_in_year(year: u16) -> u64 {
    if is_leap_year(year) {
        366
    } else {
        365
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date.
fn days_from_civil(year: u16, month: u8, day: u8) -> u64 {
    let mut days = 0u64;
    for y in 1970..year {
        days += days_in_year(y);
    }
    for m in 1..month {
        days += u64::from(days_in_month(year, m));
    }
    days + u64::from(day) - 1
}

impl DateTime {
    /// The date and time of day given, with no fraction of a second, time
    /// zone 0 and no daylight bits.
    pub const fn at(year: u16, month: u8, day: u8, hour: u8, minute: u8, second: u8) -> DateTime {
        DateTime {
            year,
            month,
            day,
            hour,
            minute,
            second,
            nanosecond: 0,
            timezone: 0,
            daylight: 0,
        }
    }

    /// The UTC date and time `seconds` after the Unix epoch (time zone 0).
    pub fn from_unix_seconds(seconds: u32) -> DateTime {
        let seconds = u64::from(seconds);
        let mut days = seconds / SECONDS_PER_DAY;
        let rest = seconds % SECONDS_PER_DAY;
        let mut year = 1970u16;
        while days >= days_in_year(year) {
            days -= days_in_year(year);
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

    /// Seconds since the Unix epoch of a UTC time, for the years a 32-bit
    /// count holds (its time zone is ignored: the clocks keep UTC).
    pub fn to_unix_seconds(&self) -> Result<u64, UnixTimeError> {
        if !self.is_valid() {
            return Err(UnixTimeError::InvalidTime);
        }
        if !(1970..=LAST_UNIX32_YEAR).contains(&self.year) {
            return Err(UnixTimeError::OutOfRange { year: self.year });
        }
        Ok(days_from_civil(self.year, self.month, self.day) * SECONDS_PER_DAY
            + u64::from(self.hour) * 3600
            + u64::from(self.minute) * 60
            + u64::from(self.second))
    }

    /// The time in an EFI_TIME's bytes; the pad bytes are not read.
    pub fn from_efi_bytes(b: &[u8; EFI_TIME_SIZE]) -> DateTime {
        DateTime {
            year: u16::from_le_bytes([b[0], b[1]]),
            month: b[2],
            day: b[3],
            hour: b[4],
            minute: b[5],
            second: b[6],
            nanosecond: u32::from_le_bytes([b[8], b[9], b[10], b[11]]),
            timezone: i16::from_le_bytes([b[12], b[13]]),
            daylight: b[14],
        }
    }

    /// The time as an EFI_TIME's bytes, the pad bytes zero.
    pub fn to_efi_bytes(&self) -> [u8; EFI_TIME_SIZE] {
        let mut b = [0u8; EFI_TIME_SIZE];
        b[0..2].copy_from_slice(&self.year.to_le_bytes());
        b[2] = self.month;
        b[3] = self.day;
        b[4] = self.hour;
        b[5] = self.minute;
        b[6] = self.second;
        b[8..12].copy_from_slice(&self.nanosecond.to_le_bytes());
        b[12..14].copy_from_slice(&self.timezone.to_le_bytes());
        b[14] = self.daylight;
        b
    }

    /// Whether every field is in the range EFI_TIME allows.
    pub fn is_valid(&self) -> bool {
        (1900..=9999).contains(&self.year)
            && (1..=12).contains(&self.month)
            && self.day >= 1
            && self.day <= days_in_month(self.year, self.month)
            && self.hour < 24
            && self.minute < 60
            && self.second < 60
            && self.nanosecond < 1_000_000_000
            && ((-1440..=1440).contains(&self.timezone) || self.timezone == UNSPECIFIED_TIMEZONE)
            && self.daylight & !0x03 == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(year: u16, month: u8, day: u8) -> DateTime {
        DateTime {
            year,
            month,
            day,
            timezone: UNSPECIFIED_TIMEZONE,
            ..Default::default()
        }
    }

    #[test]
    fn validates_dates_including_leap_days() {
        assert!(date(2024, 2, 29).is_valid());
        assert!(!date(2023, 2, 29).is_valid());
        assert!(!date(1900, 2, 29).is_valid());
        assert!(date(2000, 2, 29).is_valid());
        assert!(!date(2026, 13, 1).is_valid());
        assert!(!date(1899, 12, 31).is_valid());
        assert!(!date(2026, 4, 31).is_valid());
    }

    /// The fields a Unix time sets, as one tuple to compare.
    fn ymd_hms(t: DateTime) -> (u16, u8, u8, u8, u8, u8) {
        (t.year, t.month, t.day, t.hour, t.minute, t.second)
    }

    /// The UTC time at `seconds`, given as a date and a time of day.
    fn utc(year: u16, month: u8, day: u8, seconds_of_day: u32) -> DateTime {
        DateTime {
            hour: (seconds_of_day / 3600) as u8,
            minute: (seconds_of_day / 60 % 60) as u8,
            second: (seconds_of_day % 60) as u8,
            timezone: 0,
            ..date(year, month, day)
        }
    }

    #[test]
    fn converts_known_unix_instants() {
        assert_eq!(DateTime::from_unix_seconds(0), utc(1970, 1, 1, 0));
        // `date -u -d @951782400`: the leap day of 2000.
        assert_eq!(DateTime::from_unix_seconds(951_782_400), utc(2000, 2, 29, 0));
        let t = DateTime::from_unix_seconds(1_700_000_000);
        assert_eq!(ymd_hms(t), (2023, 11, 14, 22, 13, 20));
        let t = DateTime::from_unix_seconds(u32::MAX);
        assert_eq!(ymd_hms(t), (2106, 2, 7, 6, 28, 15));
        assert_eq!(utc(2024, 12, 31, 86_398).to_unix_seconds(), Ok(1_735_689_598));
        assert_eq!(utc(1970, 1, 1, 0).to_unix_seconds(), Ok(0));
    }

    #[test]
    fn unix_seconds_refuse_what_32_bits_cannot_hold() {
        assert_eq!(
            utc(1969, 12, 31, 0).to_unix_seconds(),
            Err(UnixTimeError::OutOfRange { year: 1969 })
        );
        assert_eq!(
            utc(2106, 1, 1, 0).to_unix_seconds(),
            Err(UnixTimeError::OutOfRange { year: 2106 })
        );
        assert_eq!(utc(2024, 2, 30, 0).to_unix_seconds(), Err(UnixTimeError::InvalidTime));
    }

    #[test]
    fn efi_time_bytes_round_trip_with_zero_pads() {
        let t = DateTime {
            nanosecond: 123_456_789,
            timezone: -60,
            daylight: 1,
            ..utc(2024, 2, 29, 13 * 3600 + 37 * 60 + 42)
        };
        let b = t.to_efi_bytes();
        assert_eq!(b[..7], [0xe8, 0x07, 2, 29, 13, 37, 42]);
        assert_eq!((b[7], b[15]), (0, 0));
        assert_eq!(b[12..14], (-60i16).to_le_bytes());
        assert_eq!(DateTime::from_efi_bytes(&b), t);
        let mut padded = b;
        padded[7] = 0xff;
        padded[15] = 0xff;
        assert_eq!(DateTime::from_efi_bytes(&padded), t);
    }

    #[test]
    fn validates_time_fields_and_timezone() {
        let mut t = date(2026, 11, 25);
        t.hour = 24;
        assert!(!t.is_valid());
        t.hour = 23;
        t.timezone = 1441;
        assert!(!t.is_valid());
        t.timezone = -60;
        assert!(t.is_valid());
        t.daylight = 4;
        assert!(!t.is_valid());
    }
}
