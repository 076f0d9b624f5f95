//! The PC CMOS real-time clock (MC146818-compatible; QEMU and Cloud Hypervisor
//! both emulate it at I/O ports 0x70/0x71): reading and setting the date in BCD
//! or binary, 12- or 24-hour mode, as status register B says.
#![forbid(unsafe_code)]

use super::calendar::{DateTime, UNSPECIFIED_TIMEZONE};
use core::fmt;

/// Register access (index/data ports on x86, a model in tests).
pub trait CmosRegisters {
    /// The register at `index`.
    fn read(&self, index: u8) -> u8;
    /// Writes the register at `index`.
    fn write(&self, index: u8, value: u8);
}

const SECONDS: u8 = 0x00;
const MINUTES: u8 = 0x02;
const HOURS: u8 = 0x04;
const DAY_OF_MONTH: u8 = 0x07;
const MONTH: u8 = 0x08;
const YEAR: u8 = 0x09;
const STATUS_A: u8 = 0x0a;
const STATUS_B: u8 = 0x0b;
/// The century register QEMU and most PCs use (the ACPI FADT names it).
const CENTURY: u8 = 0x32;

const A_UPDATE_IN_PROGRESS: u8 = 0x80;
const B_SET: u8 = 0x80;
const B_24_HOUR: u8 = 0x02;
const B_BINARY: u8 = 0x04;
const HOUR_PM: u8 = 0x80;

/// Reads before giving up on an update cycle that never ends.
const MAX_POLLS: u32 = 1_000_000;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
/// Why the CMOS clock could not be read or set.
pub enum RtcError {
    /// The clock stayed in its update cycle.
    NeverSettles,
    /// The clock holds a date that is not one: the time read.
    InvalidReading(DateTime),
    /// The requested time is outside what the RTC and EFI_TIME allow.
    InvalidTime,
}

impl fmt::Display for RtcError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RtcError::NeverSettles => write!(f, "CMOS clock never left its update cycle"),
            RtcError::InvalidReading(t) => write!(
                f,
                "CMOS clock holds an invalid date {:04}-{:02}-{:02} {:02}:{:02}:{:02}",
                t.year, t.month, t.day, t.hour, t.minute, t.second
            ),
            RtcError::InvalidTime => write!(f, "time out of range"),
        }
    }
}

fn from_bcd(v: u8) -> u8 {
    (v >> 4) * 10 + (v & 0x0f)
}

fn to_bcd(v: u8) -> u8 {
    ((v / 10) << 4) | (v % 10)
}

/// The MC146818-compatible CMOS real-time clock of a PC.
pub struct CmosRtc<R: CmosRegisters> {
    regs: R,
}

#[derive(PartialEq, Eq, Clone, Copy)]
struct Raw([u8; 7]);

impl<R: CmosRegisters> CmosRtc<R> {
    /// The clock behind `regs`.
    pub const fn new(regs: R) -> Self {
        CmosRtc { regs }
    }

    fn wait_until_settled(&self) -> Result<(), RtcError> {
        for _ in 0..MAX_POLLS {
            if self.regs.read(STATUS_A) & A_UPDATE_IN_PROGRESS == 0 {
                return Ok(());
            }
        }
        Err(RtcError::NeverSettles)
    }

    fn raw(&self) -> Raw {
        Raw([SECONDS, MINUTES, HOURS, DAY_OF_MONTH, MONTH, YEAR, CENTURY].map(|r| self.regs.read(r)))
    }

    /// The current time (the RTC keeps local time with no zone information).
    pub fn read(&self) -> Result<DateTime, RtcError> {
        // Read until two consecutive readings agree, so an update between the
        // register reads cannot tear the value.
        let mut previous = None;
        for _ in 0..8 {
            self.wait_until_settled()?;
            let raw = self.raw();
            if previous == Some(raw) {
                return self.decode(raw);
            }
            previous = Some(raw);
        }
        Err(RtcError::NeverSettles)
    }

    fn decode(&self, raw: Raw) -> Result<DateTime, RtcError> {
        let b = self.regs.read(STATUS_B);
        let bin = |v: u8| if b & B_BINARY != 0 { v } else { from_bcd(v) };
        let [sec, min, hour_raw, day, month, year, century] = raw.0;
        let pm = hour_raw & HOUR_PM != 0;
        let mut hour = bin(hour_raw & !HOUR_PM);
        if b & B_24_HOUR == 0 {
            hour %= 12;
            if pm {
                hour += 12;
            }
        }
        let century = match bin(century) {
            c @ 19..=99 => u16::from(c),
            // No century register: the years 2000-2099 are the sane guess.
            _ => 20,
        };
        let t = DateTime {
            year: century * 100 + u16::from(bin(year)),
            month: bin(month),
            day: bin(day),
            hour,
            minute: bin(min),
            second: bin(sec),
            nanosecond: 0,
            timezone: UNSPECIFIED_TIMEZONE,
            daylight: 0,
        };
        if !t.is_valid() {
            return Err(RtcError::InvalidReading(t));
        }
        Ok(t)
    }

    /// Sets the clock, in the format the clock already uses.
    pub fn write(&self, t: &DateTime) -> Result<(), RtcError> {
        if !t.is_valid() {
            return Err(RtcError::InvalidTime);
        }
        self.wait_until_settled()?;
        let b = self.regs.read(STATUS_B);
        let enc = |v: u8| if b & B_BINARY != 0 { v } else { to_bcd(v) };
        let hour = if b & B_24_HOUR != 0 {
            enc(t.hour)
        } else {
            let h12 = match t.hour % 12 {
                0 => 12,
                h => h,
            };
            enc(h12) | if t.hour >= 12 { HOUR_PM } else { 0 }
        };
        // Halt updates while the registers are written.
        self.regs.write(STATUS_B, b | B_SET);
        self.regs.write(SECONDS, enc(t.second));
        self.regs.write(MINUTES, enc(t.minute));
        self.regs.write(HOURS, hour);
        self.regs.write(DAY_OF_MONTH, enc(t.day));
        self.regs.write(MONTH, enc(t.month));
        self.regs.write(YEAR, enc((t.year % 100) as u8));
        self.regs.write(CENTURY, enc((t.year / 100) as u8));
        self.regs.write(STATUS_B, b & !B_SET);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::cell::RefCell;

    struct Model {
        regs: RefCell<[u8; 128]>,
    }

    impl CmosRegisters for &Model {
        fn read(&self, index: u8) -> u8 {
            self.regs.borrow()[index as usize]
        }
        fn write(&self, index: u8, value: u8) {
            self.regs.borrow_mut()[index as usize] = value;
        }
    }

    fn model(status_b: u8, values: [u8; 7]) -> Model {
        let mut regs = [0u8; 128];
        for (reg, v) in [SECONDS, MINUTES, HOURS, DAY_OF_MONTH, MONTH, YEAR, CENTURY]
            .into_iter()
            .zip(values)
        {
            regs[reg as usize] = v;
        }
        regs[STATUS_B as usize] = status_b;
        Model {
            regs: RefCell::new(regs),
        }
    }

    #[test]
    fn reads_bcd_24_hour_time_like_qemu() {
        let m = model(B_24_HOUR, [0x59, 0x34, 0x17, 0x25, 0x11, 0x26, 0x20]);
        let t = CmosRtc::new(&m).read().unwrap();
        assert_eq!(
            (t.year, t.month, t.day, t.hour, t.minute, t.second),
            (2026, 11, 25, 17, 34, 59)
        );
        assert_eq!(t.timezone, UNSPECIFIED_TIMEZONE);
    }

    #[test]
    fn reads_binary_12_hour_time() {
        let m = model(B_BINARY, [5, 6, 12 | HOUR_PM, 1, 2, 24, 20]);
        let t = CmosRtc::new(&m).read().unwrap();
        assert_eq!((t.year, t.hour), (2024, 12));
        let m = model(B_BINARY, [5, 6, 12, 1, 2, 24, 20]);
        assert_eq!(CmosRtc::new(&m).read().unwrap().hour, 0, "12 AM is midnight");
    }

    #[test]
    fn writes_in_the_clocks_own_format_and_reads_back() {
        for b in [B_24_HOUR, 0, B_BINARY | B_24_HOUR, B_BINARY] {
            let m = model(b, [0; 7]);
            let rtc = CmosRtc::new(&m);
            let t = DateTime {
                year: 2031,
                month: 7,
                day: 4,
                hour: 21,
                minute: 5,
                second: 9,
                timezone: UNSPECIFIED_TIMEZONE,
                ..Default::default()
            };
            rtc.write(&t).unwrap();
            assert_eq!(rtc.read().unwrap(), t, "status B {b:#x}");
            assert_eq!(m.regs.borrow()[STATUS_B as usize] & B_SET, 0, "updates resumed");
        }
    }

    #[test]
    fn rejects_garbage_and_stuck_clocks() {
        let m = model(B_24_HOUR, [0x99, 0x99, 0x99, 0x99, 0x99, 0x99, 0x20]);
        assert!(matches!(CmosRtc::new(&m).read(), Err(RtcError::InvalidReading(_))));
        let m = model(B_24_HOUR, [0; 7]);
        m.regs.borrow_mut()[STATUS_A as usize] = A_UPDATE_IN_PROGRESS;
        assert_eq!(CmosRtc::new(&m).read(), Err(RtcError::NeverSettles));
        let bad = DateTime {
            year: 2026,
            month: 2,
            day: 30,
            ..Default::default()
        };
        assert_eq!(CmosRtc::new(&model(0, [0; 7])).write(&bad), Err(RtcError::InvalidTime));
    }
}
