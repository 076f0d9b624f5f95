//! Calendar dates as the EFI runtime services exchange them (UEFI 2.10 §8.3,
//! EFI_TIME), with the validity rules SetTime must enforce.
#![forbid(unsafe_code)]

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

impl DateTime {
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
