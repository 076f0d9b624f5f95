//! EFI_RESET_NOTIFICATION_PROTOCOL (UEFI 2.10 §8.5.1): programs register
//! functions that ResetSystem calls before the platform resets. The list and
//! the calls are the runtime's ([`fw_core::efi::reset_notify`]); this is the
//! ABI edge. r-efi has no binding for it, so the struct is declared here.

use fw_core::efi::reset_notify::{self, ResetNotify};
use log::debug;
use r_efi::efi::{Guid, Status};

/// EFI_RESET_NOTIFICATION_PROTOCOL_GUID.
pub const PROTOCOL_GUID: Guid = Guid::from_fields(
    0x9da34ae0,
    0xeaf9,
    0x4bbf,
    0x8e,
    0xc3,
    &[0xfd, 0x60, 0x22, 0x6c, 0x44, 0xbe],
);

/// EFI_RESET_NOTIFICATION_PROTOCOL. A NULL ResetFunction arrives as `None`.
#[repr(C)]
pub struct Protocol {
    /// RegisterResetNotify: ResetSystem will call the function first.
    pub register_reset_notify: extern "efiapi" fn(*mut Protocol, Option<ResetNotify>) -> Status,
    /// UnregisterResetNotify: removes a registered function.
    pub unregister_reset_notify: extern "efiapi" fn(*mut Protocol, Option<ResetNotify>) -> Status,
}

static PROTOCOL: Protocol = Protocol {
    register_reset_notify,
    unregister_reset_notify,
};

/// The one instance, to install. It has no state of its own: `This` is not
/// read.
pub fn protocol() -> *mut Protocol {
    core::ptr::from_ref::<Protocol>(&PROTOCOL).cast_mut()
}

fn status(result: Result<(), reset_notify::Error>) -> Status {
    match result {
        Ok(()) => Status::SUCCESS,
        Err(e) => {
            debug!("{e}");
            e.status()
        }
    }
}

/// INVALID_PARAMETER for a NULL function, ALREADY_STARTED for one registered
/// already.
extern "efiapi" fn register_reset_notify(_this: *mut Protocol, function: Option<ResetNotify>) -> Status {
    match function {
        Some(f) => status(reset_notify::register(f)),
        None => Status::INVALID_PARAMETER,
    }
}

/// INVALID_PARAMETER for a function that is not registered (or NULL).
extern "efiapi" fn unregister_reset_notify(_this: *mut Protocol, function: Option<ResetNotify>) -> Status {
    match function {
        Some(f) => status(reset_notify::unregister(f)),
        None => Status::INVALID_PARAMETER,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::ffi::c_void;
    use r_efi::efi;

    extern "efiapi" fn notify(_: efi::ResetType, _: Status, _: usize, _: *mut c_void) {}

    #[test]
    fn statuses_follow_the_specification() {
        let p = protocol();
        assert_eq!(register_reset_notify(p, None), Status::INVALID_PARAMETER);
        assert_eq!(register_reset_notify(p, Some(notify)), Status::SUCCESS);
        assert_eq!(register_reset_notify(p, Some(notify)), Status::ALREADY_STARTED);
        assert_eq!(unregister_reset_notify(p, Some(notify)), Status::SUCCESS);
        assert_eq!(unregister_reset_notify(p, Some(notify)), Status::INVALID_PARAMETER);
        assert_eq!(unregister_reset_notify(p, None), Status::INVALID_PARAMETER);
    }
}
