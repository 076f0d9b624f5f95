//! The boot services watchdog (UEFI 2.10 §7.5.1 SetWatchdogTimer, §3.1.2):
//! a deadline in the firmware's polled clock, with the code and description
//! of whoever armed it. The firmware polls it wherever it polls timers; when
//! it has passed, the system is reset.
//!
//! Codes 0x0000-0xFFFF are the firmware's own (§7.5.1: "The firmware reserves
//! codes 0x0000 to 0xFFFF"); 0x0000 is the boot manager's, as §3.1.2 arms it
//! before starting a boot option. An application arming the watchdog with
//! another reserved code is refused. Disarming takes any code: nothing is
//! logged then, and GRUB and shim disarm with code 0.
#![forbid(unsafe_code)]

use alloc::string::String;
use core::fmt;

/// The code the boot manager arms the watchdog with.
pub const BOOT_MANAGER_CODE: u64 = 0x0000;
/// The highest code the firmware reserves.
pub const LAST_RESERVED_CODE: u64 = 0xFFFF;
/// The boot manager's timeout before it starts a boot option (§3.1.2).
pub const BOOT_OPTION_TIMEOUT_SECONDS: usize = 5 * 60;

const NS_PER_SECOND: u64 = 1_000_000_000;

/// Why SetWatchdogTimer refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Error {
    /// Arming with a code in the firmware's reserved range (other than the
    /// boot manager's).
    ReservedCode {
        /// The code given.
        code: u64,
    },
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::ReservedCode { code } => write!(
                f,
                "watchdog code {code:#x} is reserved for the firmware (0x0000-{LAST_RESERVED_CODE:#06x})"
            ),
        }
    }
}

/// An armed watchdog.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Armed {
    /// When it fires, on the firmware's nanosecond clock.
    pub deadline_ns: u64,
    /// The timeout it was armed with.
    pub timeout_seconds: usize,
    /// The watchdog code, reported when it fires.
    pub code: u64,
    /// The caller's description (WatchdogData's string), possibly empty.
    pub description: String,
}

#[derive(Debug, Default)]
/// The watchdog timer of SetWatchdogTimer: armed or not, and when it fires.
pub struct Watchdog {
    armed: Option<Armed>,
}

impl Watchdog {
    /// A disarmed watchdog.
    pub const fn new() -> Watchdog {
        Watchdog { armed: None }
    }

    /// SetWatchdogTimer: a timeout of 0 disarms; anything else (re)arms for
    /// that many seconds from `now_ns`.
    pub fn set(&mut self, now_ns: u64, timeout_seconds: usize, code: u64, description: String) -> Result<(), Error> {
        if timeout_seconds == 0 {
            self.armed = None;
            return Ok(());
        }
        if code != BOOT_MANAGER_CODE && code <= LAST_RESERVED_CODE {
            return Err(Error::ReservedCode { code });
        }
        let delay = (timeout_seconds as u64).saturating_mul(NS_PER_SECOND);
        self.armed = Some(Armed {
            deadline_ns: now_ns.saturating_add(delay),
            timeout_seconds,
            code,
            description,
        });
        Ok(())
    }

    /// The armed watchdog, if any.
    pub fn armed(&self) -> Option<&Armed> {
        self.armed.as_ref()
    }

    /// The watchdog, disarmed, if its deadline has passed at `now_ns`: it
    /// fires once.
    pub fn take_expired(&mut self, now_ns: u64) -> Option<Armed> {
        if self.armed.as_ref()?.deadline_ns <= now_ns {
            self.armed.take()
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::ToString;

    const S: u64 = NS_PER_SECOND;

    #[test]
    fn fires_once_after_its_timeout() {
        let mut w = Watchdog::new();
        w.set(10 * S, 300, BOOT_MANAGER_CODE, String::new()).unwrap();
        assert_eq!(w.take_expired(309 * S), None);
        let fired = w.take_expired(310 * S).unwrap();
        assert_eq!((fired.code, fired.timeout_seconds), (0, 300));
        assert_eq!(w.take_expired(400 * S), None);
    }

    #[test]
    fn a_zero_timeout_disarms_whatever_the_code() {
        let mut w = Watchdog::new();
        w.set(0, 5, 0x10000, "loader".to_string()).unwrap();
        assert_eq!(w.set(S, 0, 0, String::new()), Ok(()));
        assert!(w.armed().is_none());
        assert_eq!(w.take_expired(100 * S), None);
        assert_eq!(w.set(S, 0, 0x1234, String::new()), Ok(()));
    }

    #[test]
    fn setting_again_restarts_the_countdown() {
        let mut w = Watchdog::new();
        w.set(0, 5, 0x10000, String::new()).unwrap();
        w.set(4 * S, 5, 0x10001, "again".to_string()).unwrap();
        assert_eq!(w.take_expired(8 * S), None);
        let fired = w.take_expired(9 * S).unwrap();
        assert_eq!((fired.code, fired.description.as_str()), (0x10001, "again"));
    }

    #[test]
    fn reserved_codes_cannot_arm_it() {
        let mut w = Watchdog::new();
        assert_eq!(w.set(0, 5, 1, String::new()), Err(Error::ReservedCode { code: 1 }));
        assert_eq!(
            w.set(0, 5, 0xFFFF, String::new()),
            Err(Error::ReservedCode { code: 0xFFFF })
        );
        assert!(w.armed().is_none());
        assert_eq!(w.set(0, 5, 0x1_0000, String::new()), Ok(()));
    }

    #[test]
    fn huge_timeouts_do_not_overflow() {
        let mut w = Watchdog::new();
        w.set(5, usize::MAX, 0x10000, String::new()).unwrap();
        assert_eq!(w.armed().unwrap().deadline_ns, u64::MAX);
        assert_eq!(w.take_expired(u64::MAX - 1), None);
    }
}
