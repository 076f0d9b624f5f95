//! EFI_DRIVER_BINDING_PROTOCOL (UEFI 2.10 §11.1) on the handle of each of the
//! firmware's own drivers, so that tools which list drivers (a UEFI shell's
//! `drivers`, `dh`) find them and their EFI_COMPONENT_NAME2_PROTOCOL.
//!
//! The firmware starts its drivers itself, once, at boot: they take no new
//! controllers through ConnectController (Supported answers UNSUPPORTED) and
//! cannot be stopped (Stop answers DEVICE_ERROR, "could not be stopped").

use alloc::boxed::Box;
use r_efi::efi::{Handle, Status};
use r_efi::protocols::device_path;
use r_efi::protocols::driver_binding::Protocol;

pub use r_efi::protocols::driver_binding::PROTOCOL_GUID;

/// The Version of the firmware's drivers (0x10 to 0xffffffef are for drivers
/// that are not IHV drivers).
pub const VERSION: u32 = 0x10;

/// The protocol for the driver on `driver_handle`, part of `image` (leaked).
pub fn create(image: Handle, driver_handle: Handle) -> *mut Protocol {
    Box::leak(Box::new(Protocol {
        supported,
        start,
        stop,
        version: VERSION,
        image_handle: image,
        driver_binding_handle: driver_handle,
    }))
}

unsafe extern "efiapi" fn supported(
    _this: *mut Protocol,
    _controller: Handle,
    _rest: *mut device_path::Protocol,
) -> Status {
    Status::UNSUPPORTED
}

unsafe extern "efiapi" fn start(
    _this: *mut Protocol,
    _controller: Handle,
    _rest: *mut device_path::Protocol,
) -> Status {
    Status::UNSUPPORTED
}

unsafe extern "efiapi" fn stop(
    _this: *mut Protocol,
    _controller: Handle,
    _children: usize,
    _list: *mut Handle,
) -> Status {
    Status::DEVICE_ERROR
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_firmware_drivers_take_no_new_controllers_and_do_not_stop() {
        let image = 0x10 as Handle;
        let driver = 0x20 as Handle;
        let p = create(image, driver);
        // SAFETY: calling our own functions through the protocol.
        unsafe {
            assert_eq!(
                ((*p).version, (*p).image_handle, (*p).driver_binding_handle),
                (VERSION, image, driver)
            );
            let null = core::ptr::null_mut();
            assert_eq!(((*p).supported)(p, driver, null), Status::UNSUPPORTED);
            assert_eq!(((*p).start)(p, driver, null), Status::UNSUPPORTED);
            assert_eq!(((*p).stop)(p, driver, 0, core::ptr::null_mut()), Status::DEVICE_ERROR);
        }
    }
}
