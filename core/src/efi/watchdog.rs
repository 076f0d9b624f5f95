//! SetWatchdogTimer (UEFI 2.10 §7.5.1) and the watchdog's expiry over
//! [`crate::watchdog`]: the deadline is checked wherever timers are polled
//! (Stall, WaitForEvent, CheckEvent, RestoreTPL, the idle loop), as the
//! firmware takes no interrupts. When it has passed while boot services run,
//! the firmware logs which image was running and resets the system with
//! ResetSystem(EfiResetCold), which first calls the reset notifications.
//! ExitBootServices disarms it (§7.5.1).

// The EFI ABI edge: see boot.rs.
#![allow(clippy::not_unsafe_ptr_arg_deref)]

use super::now_ns;
use crate::watchdog::Watchdog;
use alloc::string::String;
use log::{debug, error};
use r_efi::efi;
use spin::Mutex;

static WATCHDOG: Mutex<Watchdog> = Mutex::new(Watchdog::new());

/// The longest description read from WatchdogData, in UCS-2 units.
const MAX_DESCRIPTION: usize = 256;

/// WatchdogData's leading NUL-terminated string, within DataSize bytes.
///
/// # Safety
/// A non-null `data` is readable for `size` bytes (the spec's contract).
unsafe fn description(size: usize, data: *const efi::Char16) -> String {
    if data.is_null() {
        return String::new();
    }
    let units = (size / 2).min(MAX_DESCRIPTION);
    let mut text = alloc::vec::Vec::with_capacity(units);
    for i in 0..units {
        // SAFETY: `i` < size / 2: within the caller's DataSize bytes.
        let unit = unsafe { data.add(i).read_unaligned() };
        if unit == 0 {
            break;
        }
        text.push(unit);
    }
    String::from_utf16_lossy(&text)
}

/// SetWatchdogTimer: arms, re-arms or (with a zero timeout) disarms the watchdog.
pub extern "efiapi" fn set_watchdog_timer(
    timeout: usize,
    code: u64,
    size: usize,
    data: *mut efi::Char16,
) -> efi::Status {
    // SAFETY: the caller's data buffer of `size` bytes, or null.
    let description = unsafe { description(size, data) };
    match WATCHDOG.lock().set(now_ns(), timeout, code, description) {
        Ok(()) => {
            if timeout == 0 {
                debug!("watchdog: disarmed");
            } else {
                debug!("watchdog: armed for {timeout} s (code {code:#x})");
            }
            efi::Status::SUCCESS
        }
        Err(e) => {
            debug!("SetWatchdogTimer: {e}");
            efi::Status::INVALID_PARAMETER
        }
    }
}

/// Disarms the watchdog (ExitBootServices).
pub(crate) fn disarm() {
    let _ = WATCHDOG.lock().set(0, 0, 0, String::new());
}

/// Resets the system if the watchdog's deadline has passed.
pub(crate) fn poll() {
    let Some(expired) = WATCHDOG.lock().take_expired(now_ns()) else {
        return;
    };
    let description = if expired.description.is_empty() {
        String::new()
    } else {
        alloc::format!(", \"{}\"", expired.description)
    };
    error!(
        "watchdog: {} s expired (code {:#x}{description}) while {} ran; resetting the system",
        expired.timeout_seconds,
        expired.code,
        super::image::running_image()
    );
    super::runtime::reset_system(efi::RESET_COLD, efi::Status::TIMEOUT, 0, core::ptr::null_mut());
}
