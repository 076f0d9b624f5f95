//! EFI_SECURITY_ARCH_PROTOCOL and EFI_SECURITY2_ARCH_PROTOCOL (UEFI PI 1.8
//! vol. 2 §12.8, §12.9): the firmware's image authentication, as edk2
//! publishes it, on a handle of their own.
//!
//! LoadImage asks `Security2.FileAuthentication` about every image, through
//! the function pointer stored in the installed structure at that moment:
//! a program may put its own function there for a while, as systemd-stub
//! (v254 and later) does to let the kernel inside a signed unified kernel
//! image load, and put the firmware's back afterwards. The firmware's own
//! function is the db/dbx check (`verify.rs`). `Security.FileAuthenticationState`
//! judges an authentication status from a firmware volume's authentication
//! section; no image here comes from one, so LoadImage never asks it, and the
//! firmware's function allows every file.

use super::verify::{image_name, secure_boot_check, secure_boot_keys};
use crate::efi::protocol::{device_path_bytes, install};
use crate::handles::HandleId;
use crate::secure_boot::load_policy;
use core::cell::UnsafeCell;
use core::ffi::c_void;
use log::{debug, warn};
use r_efi::efi;
use r_efi::protocols::device_path;

/// EFI_SECURITY_ARCH_PROTOCOL_GUID (PI 1.8 vol. 2 §12.8).
pub const SECURITY_ARCH_GUID: efi::Guid = efi::Guid::from_fields(
    0xa464_23e3,
    0x4617,
    0x49f1,
    0xb9,
    0xff,
    &[0xd1, 0xbf, 0xa9, 0x11, 0x58, 0x39],
);

/// EFI_SECURITY2_ARCH_PROTOCOL_GUID (PI 1.8 vol. 2 §12.9).
pub const SECURITY2_ARCH_GUID: efi::Guid = efi::Guid::from_fields(
    0x94ab_2f58,
    0x1438,
    0x4ef1,
    0x91,
    0x52,
    &[0x18, 0x94, 0x1a, 0x3a, 0x0e, 0x68],
);

/// EFI_SECURITY_FILE_AUTHENTICATION_STATE: `(This, AuthenticationStatus, File)`.
pub type FileAuthenticationState =
    extern "efiapi" fn(*const SecurityArchProtocol, u32, *const device_path::Protocol) -> efi::Status;

/// EFI_SECURITY2_FILE_AUTHENTICATION: `(This, DevicePath, FileBuffer,
/// FileSize, BootPolicy)`.
pub type FileAuthentication = extern "efiapi" fn(
    *const Security2ArchProtocol,
    *const device_path::Protocol,
    *mut c_void,
    usize,
    efi::Boolean,
) -> efi::Status;

/// EFI_SECURITY_ARCH_PROTOCOL.
#[repr(C)]
pub struct SecurityArchProtocol {
    /// Judges a file by the authentication status its firmware volume gave it.
    pub file_authentication_state: FileAuthenticationState,
}

/// EFI_SECURITY2_ARCH_PROTOCOL.
#[repr(C)]
pub struct Security2ArchProtocol {
    /// Judges a file by its contents (Secure Boot's db/dbx check).
    pub file_authentication: FileAuthentication,
}

/// A protocol structure the firmware hands out and programs may write to.
struct Installed<T>(UnsafeCell<T>);

// SAFETY: one CPU without interrupts; the structure is written by programs
// (through the pointer LocateProtocol gives) and read by LoadImage, never at
// the same time.
unsafe impl<T> Sync for Installed<T> {}

static SECURITY: Installed<SecurityArchProtocol> = Installed(UnsafeCell::new(SecurityArchProtocol {
    file_authentication_state,
}));

static SECURITY2: Installed<Security2ArchProtocol> =
    Installed(UnsafeCell::new(Security2ArchProtocol { file_authentication }));

/// Why the protocols could not be installed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InstallError {
    /// The handle database refused the protocol (named by its GUID's name).
    Refused {
        /// `EFI_SECURITY_ARCH_PROTOCOL` or `EFI_SECURITY2_ARCH_PROTOCOL`.
        protocol: &'static str,
        /// What InstallProtocolInterface would have returned.
        status: efi::Status,
    },
}

impl core::fmt::Display for InstallError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            InstallError::Refused { protocol, status } => write!(f, "cannot install {protocol}: {status:?}"),
        }
    }
}

/// Installs both protocols on a new handle (as edk2's security stub does).
pub fn install_security_protocols() -> Result<HandleId, InstallError> {
    let handle =
        install(None, SECURITY_ARCH_GUID, SECURITY.0.get().cast::<c_void>()).map_err(|e| InstallError::Refused {
            protocol: "EFI_SECURITY_ARCH_PROTOCOL",
            status: e.status(),
        })?;
    install(Some(handle), SECURITY2_ARCH_GUID, SECURITY2.0.get().cast::<c_void>()).map_err(|e| {
        InstallError::Refused {
            protocol: "EFI_SECURITY2_ARCH_PROTOCOL",
            status: e.status(),
        }
    })?;
    Ok(handle)
}

/// The FileAuthentication function stored in the installed structure now;
/// `None` if a program left NULL there.
fn current_file_authentication() -> Option<FileAuthentication> {
    // SAFETY: the structure is static and always initialised; a program may
    // have written another function pointer (or NULL, which `Option` of a
    // function pointer represents) into it, which is what must be called.
    unsafe { core::ptr::read_volatile(SECURITY2.0.get().cast::<Option<FileAuthentication>>()) }
}

/// Whether `function` is the firmware's own FileAuthentication.
fn is_own(function: FileAuthentication) -> bool {
    let own: FileAuthentication = file_authentication;
    function as usize == own as usize
}

/// Whether LoadImage must read a file whole before it loads it
/// ([`load_policy::needs_file_buffer`]).
pub(super) fn needs_file_buffer() -> bool {
    let own = current_file_authentication().is_some_and(is_own);
    load_policy::needs_file_buffer(secure_boot_keys().is_some(), own)
}

/// Asks the installed FileAuthentication about an image LoadImage is loading
/// (`device_path` is LoadImage's DevicePath, `data` the whole file). No lock
/// is held: the function may be a program's, which may call boot services.
pub(super) fn authenticate(device_path: Option<&[u8]>, data: &[u8], boot_policy: efi::Boolean) -> efi::Status {
    let Some(function) = current_file_authentication() else {
        warn!(
            "LoadImage: {}: Security2 FileAuthentication is NULL; not loaded",
            image_name(device_path)
        );
        return efi::Status::ACCESS_DENIED;
    };
    if !is_own(function) {
        debug!(
            "LoadImage: asking a program's Security2 FileAuthentication at {:#x}",
            function as usize
        );
    }
    let path = device_path.map_or(core::ptr::null(), |p| p.as_ptr().cast::<device_path::Protocol>());
    function(
        SECURITY2.0.get(),
        path,
        data.as_ptr().cast_mut().cast::<c_void>(),
        data.len(),
        boot_policy,
    )
}

/// The firmware's FileAuthentication: Secure Boot's db/dbx check of the
/// `size` bytes at `buffer`. With Secure Boot off it allows everything; on,
/// without a buffer there is nothing to check, and the file is denied.
pub extern "efiapi" fn file_authentication(
    _this: *const Security2ArchProtocol,
    path: *const device_path::Protocol,
    buffer: *mut c_void,
    size: usize,
    _boot_policy: efi::Boolean,
) -> efi::Status {
    // SAFETY: a non-null path is the caller's device path (PI §12.9).
    let device_path = unsafe { device_path_bytes(path.cast::<u8>()) };
    if buffer.is_null() {
        if secure_boot_keys().is_none() {
            return efi::Status::SUCCESS;
        }
        warn!(
            "Secure Boot: refused {}: no file contents to verify",
            image_name(device_path)
        );
        return efi::Status::ACCESS_DENIED;
    }
    // SAFETY: the caller gave `size` readable bytes (checked first).
    let data = match unsafe { crate::caller_buffer::slice(buffer.cast_const().cast::<u8>(), size) } {
        Ok(data) => data,
        Err(e) => return e.status(),
    };
    secure_boot_check(data, device_path)
}

/// The firmware's FileAuthenticationState: no file carries an authentication
/// status from a firmware volume here, so every file is allowed.
pub extern "efiapi" fn file_authentication_state(
    _this: *const SecurityArchProtocol,
    _authentication_status: u32,
    file: *const device_path::Protocol,
) -> efi::Status {
    if file.is_null() {
        return efi::Status::INVALID_PARAMETER;
    }
    efi::Status::SUCCESS
}
