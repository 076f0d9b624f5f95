//! SetWatchdogTimer (UEFI 2.10 §7.5.1). The check: the statuses (codes
//! 0x0001-0xFFFF are the firmware's: INVALID_PARAMETER when arming with one),
//! and that disarming works: armed for one second and disarmed, the watchdog
//! leaves the application alone through a 1.5 s Stall.
//!
//! With `\hvfw-watchdog` on the volume, [`expire`] arms it for one second and
//! waits: the firmware must log the expiry and reset the system (with the
//! reset notification the application registered seeing EfiResetCold).

use crate::app::ok;
use uefi_raw::table::boot::BootServices;
use uefi_raw::Status;

/// A code outside the firmware's reserved range.
const APP_CODE: u64 = 0x1_0000;

fn ucs2<const N: usize>(s: &str) -> [u16; N] {
    let mut out = [0u16; N];
    for (i, b) in s.bytes().enumerate() {
        out[i] = u16::from(b);
    }
    out
}

pub(crate) unsafe fn check(bs: &BootServices) -> Result<(), &'static str> {
    // SAFETY: boot services called as the specification describes.
    unsafe {
        // The boot manager armed it before starting us; code 0 disarms, as GRUB does.
        ok(
            (bs.set_watchdog_timer)(0, 0, 0, core::ptr::null()),
            "SetWatchdogTimer(0, 0) to disarm",
        )?;
        if (bs.set_watchdog_timer)(60, 0x1234, 0, core::ptr::null()) != Status::INVALID_PARAMETER {
            let _ = (bs.set_watchdog_timer)(0, 0, 0, core::ptr::null());
            return Err("arming with the reserved code 0x1234 is not INVALID_PARAMETER");
        }
        let data = ucs2::<32>("hvfw watchdog check");
        ok(
            (bs.set_watchdog_timer)(1, APP_CODE, 2 * data.len(), data.as_ptr()),
            "SetWatchdogTimer(1 s, 0x10000)",
        )?;
        ok(
            (bs.set_watchdog_timer)(0, APP_CODE, 0, core::ptr::null()),
            "SetWatchdogTimer(0) after arming",
        )?;
        // Were it still armed, the firmware would reset the machine here.
        ok((bs.stall)(1_500_000), "Stall 1.5 s")
    }
}

/// Arms the watchdog for one second and stalls for five: returns only if the
/// firmware did not reset.
pub(crate) unsafe fn expire(bs: &BootServices) -> Status {
    let data = ucs2::<32>("hvfw watchdog expiry");
    // SAFETY: boot services called as the specification describes.
    unsafe {
        let status = (bs.set_watchdog_timer)(1, APP_CODE, 2 * data.len(), data.as_ptr());
        if status != Status::SUCCESS {
            return status;
        }
        let _ = (bs.stall)(5_000_000);
    }
    Status::ABORTED
}
