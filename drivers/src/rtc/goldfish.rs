//! The Goldfish real-time clock of QEMU's riscv64 `virt` machine (device tree
//! `compatible = "google,goldfish-rtc"`; Android emulator's "Goldfish virtual
//! hardware" specification, RTC section, as QEMU's `hw/rtc/goldfish_rtc.c`
//! implements it): a 64-bit count of nanoseconds since the Unix epoch. Reading
//! TIME_LOW samples the clock and latches the high half that TIME_HIGH then
//! returns; writing TIME_HIGH, then TIME_LOW, sets it.

use super::calendar::{DateTime, UnixTimeError};
use crate::mmio::Registers32;

const TIME_LOW: usize = 0x00;
const TIME_HIGH: usize = 0x04;

const NANOS_PER_SECOND: u64 = 1_000_000_000;

/// The Goldfish RTC (QEMU `virt` on riscv64): nanoseconds since 1970.
/// Its registers: `mmio::Mmio32` on the machine, a model in tests.
pub struct Goldfish<R: Registers32> {
    regs: R,
}

impl<R: Registers32> Goldfish<R> {
    /// The clock behind `regs`.
    pub const fn new(regs: R) -> Self {
        Goldfish { regs }
    }

    /// Nanoseconds since the epoch; low half first, which latches the high.
    pub fn nanoseconds(&self) -> u64 {
        let low = self.regs.read(TIME_LOW);
        let high = self.regs.read(TIME_HIGH);
        u64::from(high) << 32 | u64::from(low)
    }

    /// The UTC time, to the second. A count past what the calendar conversion
    /// holds (after 2106) reads as its last second rather than wrapping.
    pub fn read(&self) -> DateTime {
        let seconds = self.nanoseconds() / NANOS_PER_SECOND;
        DateTime::from_unix_seconds(u32::try_from(seconds).unwrap_or(u32::MAX))
    }

    /// Sets the clock to `t` (UTC).
    pub fn write(&self, t: &DateTime) -> Result<(), UnixTimeError> {
        let nanoseconds = t.to_unix_seconds()? * NANOS_PER_SECOND + u64::from(t.nanosecond);
        self.regs.write(TIME_HIGH, (nanoseconds >> 32) as u32);
        self.regs.write(TIME_LOW, nanoseconds as u32);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::cell::Cell;

    /// A clock that behaves like QEMU's: TIME_LOW latches the high half, and a
    /// write replaces one half of the current count.
    struct Model {
        now: Cell<u64>,
        latched_high: Cell<u32>,
    }

    impl Registers32 for &Model {
        fn read(&self, offset: usize) -> u32 {
            match offset {
                TIME_LOW => {
                    self.latched_high.set((self.now.get() >> 32) as u32);
                    let low = self.now.get() as u32;
                    // The clock moves on between the two reads.
                    self.now.set(self.now.get() + 5);
                    low
                }
                TIME_HIGH => self.latched_high.get(),
                _ => 0,
            }
        }
        fn write(&self, offset: usize, value: u32) {
            let now = self.now.get();
            match offset {
                TIME_LOW => self.now.set(now & !0xFFFF_FFFF | u64::from(value)),
                TIME_HIGH => self.now.set(now & 0xFFFF_FFFF | u64::from(value) << 32),
                _ => {}
            }
        }
    }

    #[test]
    fn reads_nanoseconds_since_the_epoch_as_utc() {
        // 2024-12-31 23:59:58 UTC and a bit: `date -u -d @1735689598`.
        let model = Model {
            now: Cell::new(1_735_689_598 * NANOS_PER_SECOND + 123),
            latched_high: Cell::new(0),
        };
        let t = Goldfish::new(&model).read();
        assert_eq!((t.year, t.month, t.day), (2024, 12, 31));
        assert_eq!((t.hour, t.minute, t.second), (23, 59, 58));
    }

    #[test]
    fn high_half_comes_from_the_same_sample_as_the_low_half() {
        // Just before the low half wraps: a second sample would carry.
        let model = Model {
            now: Cell::new(0x1_FFFF_FFFE),
            latched_high: Cell::new(0),
        };
        assert_eq!(Goldfish::new(&model).nanoseconds(), 0x1_FFFF_FFFE);
    }

    #[test]
    fn set_time_reads_back() {
        let model = Model {
            now: Cell::new(0),
            latched_high: Cell::new(0),
        };
        let rtc = Goldfish::new(&model);
        let t = DateTime {
            year: 2030,
            month: 6,
            day: 15,
            hour: 12,
            minute: 0,
            second: 1,
            ..Default::default()
        };
        rtc.write(&t).unwrap();
        assert_eq!(rtc.read(), t);
        let before_epoch = DateTime { year: 1969, ..t };
        assert_eq!(rtc.write(&before_epoch), Err(UnixTimeError::OutOfRange { year: 1969 }));
    }
}
