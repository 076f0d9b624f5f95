//! EFI_RESET_NOTIFICATION_PROTOCOL (UEFI 2.10 §8.5.1): the statuses of
//! RegisterResetNotify and UnregisterResetNotify, and, before the
//! application's own ResetSystem, a registered function that says on the
//! console that it was called with the reset's type.

use crate::app::{find_protocol, ok, Console};
use core::fmt::Write;
use core::sync::atomic::{AtomicPtr, Ordering};
use uefi_raw::protocol::console::SimpleTextOutputProtocol;
use uefi_raw::protocol::misc::{ResetNotificationProtocol, ResetSystemFn};
use uefi_raw::table::boot::BootServices;
use uefi_raw::table::runtime::ResetType;
use uefi_raw::Status;

/// Never called: registered and unregistered only.
unsafe extern "efiapi" fn unused(_: ResetType, _: Status, _: usize, _: *const u8) {}

/// The console the notification writes to.
static CONSOLE: AtomicPtr<SimpleTextOutputProtocol> = AtomicPtr::new(core::ptr::null_mut());

/// Says on the console that ResetSystem called it, and with what.
unsafe extern "efiapi" fn announce(kind: ResetType, status: Status, _: usize, _: *const u8) {
    let name = match kind {
        ResetType::COLD => "EfiResetCold",
        ResetType::WARM => "EfiResetWarm",
        ResetType::SHUTDOWN => "EfiResetShutdown",
        _ => "another reset type",
    };
    let console = CONSOLE.load(Ordering::Relaxed);
    if !console.is_null() {
        let _ = writeln!(Console(console), "HVFW-APP: reset notification {name} {status:?}");
    }
}

pub(crate) unsafe fn check(bs: &BootServices) -> Result<(), &'static str> {
    // SAFETY: boot services and the protocol called as the specification describes.
    unsafe {
        let (_, interface) = find_protocol(bs, &ResetNotificationProtocol::GUID)?;
        let rn = interface.cast::<ResetNotificationProtocol>();
        let f: ResetSystemFn = unused;
        ok(((*rn).register_reset_notify)(rn, f), "RegisterResetNotify")?;
        if ((*rn).register_reset_notify)(rn, f) != Status::ALREADY_STARTED {
            let _ = ((*rn).unregister_reset_notify)(rn, f);
            return Err("RegisterResetNotify of a registered function is not ALREADY_STARTED");
        }
        ok(((*rn).unregister_reset_notify)(rn, f), "UnregisterResetNotify")?;
        if ((*rn).unregister_reset_notify)(rn, f) != Status::INVALID_PARAMETER {
            return Err("UnregisterResetNotify of an unregistered function is not INVALID_PARAMETER");
        }
        Ok(())
    }
}

/// Registers [`announce`], for the ResetSystem call that follows.
pub(crate) unsafe fn announce_reset(
    bs: &BootServices,
    console: *mut SimpleTextOutputProtocol,
) -> Result<(), &'static str> {
    CONSOLE.store(console, Ordering::Relaxed);
    // SAFETY: as in `check`.
    unsafe {
        let (_, interface) = find_protocol(bs, &ResetNotificationProtocol::GUID)?;
        let rn = interface.cast::<ResetNotificationProtocol>();
        ok(((*rn).register_reset_notify)(rn, announce), "RegisterResetNotify")
    }
}
