//! The Arm PrimeCell real-time clock PL031 (Arm DDI 0224, "PrimeCell Real Time
//! Clock (PL031) Technical Reference Manual", §3.3): a 32-bit count of seconds,
//! which QEMU and Cloud Hypervisor start at the host's UTC time since the Unix
//! epoch. Reading is RTCDR; setting writes RTCLR.

use super::calendar::{DateTime, UnixTimeError};
use crate::mmio::Registers32;

const RTCDR: usize = 0x000;
const RTCLR: usize = 0x008;

/// The PL031 RTC (QEMU `virt` on aarch64): seconds since 1970 in 32 bits.
/// Its registers: `mmio::Mmio32` on the machine, a model in tests.
pub struct Pl031<R: Registers32> {
    regs: R,
}

impl<R: Registers32> Pl031<R> {
    /// The clock behind `regs`.
    pub const fn new(regs: R) -> Self {
        Pl031 { regs }
    }

    /// The UTC time, to the second.
    pub fn read(&self) -> DateTime {
        DateTime::from_unix_seconds(self.regs.read(RTCDR))
    }

    /// Sets the clock to `t` (UTC).
    pub fn write(&self, t: &DateTime) -> Result<(), UnixTimeError> {
        let seconds = u32::try_from(t.to_unix_seconds()?).map_err(|_| UnixTimeError::OutOfRange { year: t.year })?;
        self.regs.write(RTCLR, seconds);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::cell::Cell;

    struct Model {
        seconds: Cell<u32>,
    }

    impl Registers32 for &Model {
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

    #[test]
    fn round_trips_through_the_clock() {
        let model = Model { seconds: Cell::new(0) };
        let rtc = Pl031::new(&model);
        let t = DateTime::at(2024, 12, 31, 23, 59, 58);
        rtc.write(&t).unwrap();
        assert_eq!(rtc.read(), t);
        assert_eq!(model.seconds.get(), 1_735_689_598);
    }

    #[test]
    fn refuses_times_it_cannot_hold() {
        let model = Model { seconds: Cell::new(7) };
        let rtc = Pl031::new(&model);
        assert_eq!(
            rtc.write(&DateTime::at(1969, 12, 31, 0, 0, 0)),
            Err(UnixTimeError::OutOfRange { year: 1969 })
        );
        assert_eq!(
            rtc.write(&DateTime::at(2024, 2, 30, 0, 0, 0)),
            Err(UnixTimeError::InvalidTime)
        );
        assert_eq!(model.seconds.get(), 7);
    }
}
