//! LoadImage's statuses under Secure Boot (UEFI 2.10 §7.4.1) and
//! EFI_SECURITY2_ARCH_PROTOCOL (UEFI PI 1.8 vol. 2 §12.9), asked for by a
//! `\hvfw-sb-arch` file on the application's volume. The image is
//! `\sb\unsigned.efi`, this application without a signature; started with
//! the load options `hvfw-return` it returns at once ([`asked_to_return`]).
//!
//! - `sb-arch-refused`: LoadImage of it gives SECURITY_VIOLATION and a handle
//!   with LoadedImage; StartImage gives SECURITY_VIOLATION; UnloadImage
//!   succeeds and the handle is gone.
//! - `sb-arch-override`: with FileAuthentication replaced by a function that
//!   says SUCCESS (as systemd-stub does), the image loads and starts; with
//!   the firmware's function put back, it is refused again.
//! - `sb-arch-denied`: with a function that says ACCESS_DENIED, LoadImage
//!   returns ACCESS_DENIED and a NULL handle.
//!
//! Each prints `HVFW-APP: ok NAME` or `HVFW-APP: FAIL NAME: why`, then
//! `HVFW-APP: sb-arch done`.

use crate::app::{read_own_volume, Console};
use core::ffi::c_void;
use core::fmt::{self, Write};
use uefi_raw::protocol::loaded_image::LoadedImageProtocol;
use uefi_raw::table::boot::{BootServices, MemoryType};
use uefi_raw::{guid, Boolean, Guid, Handle, Status};

/// EFI_SECURITY2_ARCH_PROTOCOL_GUID.
const SECURITY2_ARCH: Guid = guid!("94ab2f58-1438-4ef1-9152-18941a3a0e68");

/// EFI_SECURITY2_FILE_AUTHENTICATION.
type FileAuthentication =
    unsafe extern "efiapi" fn(*const Security2ArchProtocol, *const c_void, *mut c_void, usize, Boolean) -> Status;

/// EFI_SECURITY2_ARCH_PROTOCOL.
#[repr(C)]
struct Security2ArchProtocol {
    file_authentication: FileAuthentication,
}

/// The load options that make the application return at once, UCS-2 with
/// its NUL.
const RETURN_AT_ONCE: [u16; 12] = [
    0x68, 0x76, 0x66, 0x77, 0x2d, 0x72, 0x65, 0x74, 0x75, 0x72, 0x6e, 0, // "hvfw-return"
];

/// Room for the unsigned image.
const MAX_IMAGE: usize = 1 << 20;

/// A check that went wrong: what, and the status seen.
struct Failure {
    what: &'static str,
    status: Status,
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({:?})", self.what, self.status)
    }
}

fn expect(status: Status, want: Status, what: &'static str) -> Result<(), Failure> {
    if status == want {
        Ok(())
    } else {
        Err(Failure { what, status })
    }
}

/// A FileAuthentication that allows every file.
unsafe extern "efiapi" fn allow_all(
    _this: *const Security2ArchProtocol,
    _path: *const c_void,
    _buffer: *mut c_void,
    _size: usize,
    _boot_policy: Boolean,
) -> Status {
    Status::SUCCESS
}

/// A FileAuthentication that denies every file.
unsafe extern "efiapi" fn deny_all(
    _this: *const Security2ArchProtocol,
    _path: *const c_void,
    _buffer: *mut c_void,
    _size: usize,
    _boot_policy: Boolean,
) -> Status {
    Status::ACCESS_DENIED
}

/// Whether this image was started with the load options `hvfw-return`.
///
/// # Safety
/// `bs` is the firmware's boot services table and `image` this image.
pub(crate) unsafe fn asked_to_return(bs: &BootServices, image: Handle) -> bool {
    let mut loaded: *mut c_void = core::ptr::null_mut();
    // SAFETY: boot services called as the specification describes; the load
    // options are `load_options_size` readable bytes.
    unsafe {
        if (bs.handle_protocol)(image, &LoadedImageProtocol::GUID, &mut loaded) != Status::SUCCESS {
            return false;
        }
        let loaded = &*loaded.cast::<LoadedImageProtocol>();
        let want = core::mem::size_of_val(&RETURN_AT_ONCE);
        if loaded.load_options.is_null() || loaded.load_options_size as usize != want {
            return false;
        }
        core::slice::from_raw_parts(loaded.load_options.cast::<u8>(), want)
            == core::slice::from_raw_parts(RETURN_AT_ONCE.as_ptr().cast::<u8>(), want)
    }
}

/// LoadImage of `data` from memory, without a device path.
///
/// # Safety
/// `bs` is the firmware's boot services table and `image` this image.
unsafe fn load(bs: &BootServices, image: Handle, data: &[u8], child: &mut Handle) -> Status {
    // SAFETY: the caller's contract; `data` is readable during the call.
    unsafe {
        (bs.load_image)(
            Boolean::FALSE,
            image,
            core::ptr::null(),
            data.as_ptr(),
            data.len(),
            child,
        )
    }
}

/// Part (a): loaded, not startable, unloadable.
unsafe fn refused(bs: &BootServices, image: Handle, data: &[u8]) -> Result<(), Failure> {
    let mut child: Handle = core::ptr::null_mut();
    // SAFETY: boot services called as the specification describes.
    unsafe {
        let status = load(bs, image, data, &mut child);
        expect(status, Status::SECURITY_VIOLATION, "LoadImage of the unsigned image")?;
        if child.is_null() {
            return Err(Failure {
                what: "LoadImage returned SECURITY_VIOLATION without a handle",
                status,
            });
        }
        let mut loaded: *mut c_void = core::ptr::null_mut();
        let has_loaded_image = (bs.handle_protocol)(child, &LoadedImageProtocol::GUID, &mut loaded);
        let started = (bs.start_image)(child, core::ptr::null_mut(), core::ptr::null_mut());
        let unloaded = (bs.unload_image)(child);
        expect(
            has_loaded_image,
            Status::SUCCESS,
            "LoadedImage on the refused image's handle",
        )?;
        expect(started, Status::SECURITY_VIOLATION, "StartImage of the refused image")?;
        expect(unloaded, Status::SUCCESS, "UnloadImage of the refused image")?;
        let gone = (bs.handle_protocol)(child, &LoadedImageProtocol::GUID, &mut loaded);
        if gone == Status::SUCCESS {
            return Err(Failure {
                what: "LoadedImage is still there after UnloadImage",
                status: gone,
            });
        }
    }
    Ok(())
}

/// LoadImage, then StartImage with the load options that make it return.
unsafe fn load_and_start(bs: &BootServices, image: Handle, data: &[u8]) -> Result<(), Failure> {
    let mut child: Handle = core::ptr::null_mut();
    // SAFETY: boot services called as the specification describes; the load
    // options are static.
    unsafe {
        let status = load(bs, image, data, &mut child);
        expect(
            status,
            Status::SUCCESS,
            "LoadImage with FileAuthentication allowing all",
        )?;
        let mut loaded: *mut c_void = core::ptr::null_mut();
        let status = (bs.handle_protocol)(child, &LoadedImageProtocol::GUID, &mut loaded);
        if status != Status::SUCCESS {
            let _ = (bs.unload_image)(child);
            return Err(Failure {
                what: "LoadedImage on the loaded image",
                status,
            });
        }
        let loaded = loaded.cast::<LoadedImageProtocol>();
        (*loaded).load_options = RETURN_AT_ONCE.as_ptr().cast::<c_void>();
        (*loaded).load_options_size = core::mem::size_of_val(&RETURN_AT_ONCE) as u32;
        let status = (bs.start_image)(child, core::ptr::null_mut(), core::ptr::null_mut());
        expect(
            status,
            Status::SUCCESS,
            "StartImage with FileAuthentication allowing all",
        )
    }
}

/// The installed EFI_SECURITY2_ARCH_PROTOCOL.
unsafe fn security2(bs: &BootServices) -> Result<*mut Security2ArchProtocol, Failure> {
    let mut interface: *mut c_void = core::ptr::null_mut();
    // SAFETY: boot services called as the specification describes.
    let status = unsafe { (bs.locate_protocol)(&SECURITY2_ARCH, core::ptr::null(), &mut interface) };
    expect(status, Status::SUCCESS, "LocateProtocol(EFI_SECURITY2_ARCH_PROTOCOL)")?;
    Ok(interface.cast::<Security2ArchProtocol>())
}

/// Runs `body` with `function` in place of the installed FileAuthentication,
/// then puts the previous one back.
unsafe fn with_file_authentication<T>(
    bs: &BootServices,
    function: FileAuthentication,
    body: impl FnOnce() -> T,
) -> Result<T, Failure> {
    // SAFETY: the protocol structure the firmware installed, written as
    // systemd-stub writes it.
    unsafe {
        let protocol = security2(bs)?;
        let slot = core::ptr::addr_of_mut!((*protocol).file_authentication);
        let saved = core::ptr::read_volatile(slot);
        core::ptr::write_volatile(slot, function);
        let result = body();
        core::ptr::write_volatile(slot, saved);
        Ok(result)
    }
}

/// Part (b): an override that allows, then the firmware's function again.
unsafe fn override_allows(bs: &BootServices, image: Handle, data: &[u8]) -> Result<(), Failure> {
    // SAFETY: boot services called as the specification describes.
    unsafe {
        with_file_authentication(bs, allow_all, || load_and_start(bs, image, data))??;
        let mut child: Handle = core::ptr::null_mut();
        let status = load(bs, image, data, &mut child);
        if !child.is_null() {
            let _ = (bs.unload_image)(child);
        }
        expect(
            status,
            Status::SECURITY_VIOLATION,
            "LoadImage after FileAuthentication was put back",
        )
    }
}

/// Part (c): an override that denies.
unsafe fn denied(bs: &BootServices, image: Handle, data: &[u8]) -> Result<(), Failure> {
    // Not NULL before the call: LoadImage must write NULL.
    let mut child: Handle = core::ptr::NonNull::<c_void>::dangling().as_ptr();
    // SAFETY: boot services called as the specification describes.
    let status = unsafe { with_file_authentication(bs, deny_all, || load(bs, image, data, &mut child)) }?;
    if status == Status::SUCCESS || status == Status::SECURITY_VIOLATION {
        // SAFETY: a handle LoadImage returned.
        let _ = unsafe { (bs.unload_image)(child) };
    }
    expect(
        status,
        Status::ACCESS_DENIED,
        "LoadImage with FileAuthentication denying all",
    )?;
    if !child.is_null() {
        return Err(Failure {
            what: "LoadImage returned ACCESS_DENIED with a handle",
            status,
        });
    }
    Ok(())
}

fn report(out: &mut Console, name: &str, result: Result<(), Failure>) {
    let _ = match result {
        Ok(()) => writeln!(out, "HVFW-APP: ok {name}"),
        Err(why) => writeln!(out, "HVFW-APP: FAIL {name}: {why}"),
    };
}

/// Returns whether the disk asked for these checks.
///
/// # Safety
/// `bs` is the firmware's boot services table and `image` this image.
pub unsafe fn run(bs: &BootServices, image: Handle, out: &mut Console) -> bool {
    // SAFETY: as the caller guarantees.
    if unsafe { read_own_volume(bs, image, "\\hvfw-sb-arch", &mut [0u8; 8]) }.is_err() {
        return false;
    }
    let mut buffer: *mut u8 = core::ptr::null_mut();
    // SAFETY: boot services called as the specification describes.
    let status = unsafe { (bs.allocate_pool)(MemoryType::LOADER_DATA, MAX_IMAGE, &mut buffer) };
    if status != Status::SUCCESS {
        let _ = writeln!(out, "HVFW-APP: FAIL sb-arch: AllocatePool ({status:?})");
        return true;
    }
    // SAFETY: the pool holds MAX_IMAGE bytes, ours until freed below.
    let bytes = unsafe { core::slice::from_raw_parts_mut(buffer, MAX_IMAGE) };
    // SAFETY: as the caller guarantees.
    match unsafe { read_own_volume(bs, image, "\\sb\\unsigned.efi", bytes) } {
        Ok(len) => {
            let data = &bytes[..len];
            // SAFETY: as the caller guarantees.
            unsafe {
                report(out, "sb-arch-refused", refused(bs, image, data));
                report(out, "sb-arch-override", override_allows(bs, image, data));
                report(out, "sb-arch-denied", denied(bs, image, data));
            }
        }
        Err(e) => {
            let _ = writeln!(out, "HVFW-APP: FAIL sb-arch: \\sb\\unsigned.efi: {e}");
        }
    }
    // SAFETY: allocated above.
    let _ = unsafe { (bs.free_pool)(buffer) };
    let _ = writeln!(out, "HVFW-APP: sb-arch done");
    true
}
