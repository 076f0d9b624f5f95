//! LoadImage from a source buffer without a device path (UEFI 2.10 §7.4.1
//! LoadImage, §9.2): the loaded image still carries
//! EFI_LOADED_IMAGE_DEVICE_PATH_PROTOCOL, with a NULL interface.
//!
//! The image is the application itself, read from its own file (the path in
//! its LoadedImage FilePath) through SimpleFileSystem; it is unloaded again
//! without being started.

use crate::app::{ok, read_own_volume_utf16};
use core::ffi::c_void;
use uefi_raw::protocol::loaded_image::LoadedImageProtocol;
use uefi_raw::table::boot::{BootServices, MemoryType};
use uefi_raw::{guid, Boolean, Guid, Handle, Status};

/// EFI_LOADED_IMAGE_DEVICE_PATH_PROTOCOL_GUID (§9.2).
pub(crate) const LOADED_IMAGE_DEVICE_PATH: Guid = guid!("bc62157e-3e33-4fec-9920-2d3b36d750df");

/// Room for the application's own file.
const MAX_IMAGE: usize = 1 << 20;

// Device path node kinds (§10.3.5.4 File Path Media Device Path).
const MEDIA_DEVICE_PATH: u8 = 4;
const MEDIA_FILEPATH_DP: u8 = 4;
const END_DEVICE_PATH: u8 = 0x7f;

/// The file name in a run of File Path nodes, NUL-terminated.
///
/// # Safety
/// `path` is a device path the firmware gave out.
unsafe fn file_name(mut path: *const u8, name: &mut [u16; 256]) -> Result<(), &'static str> {
    let mut len = 0;
    // SAFETY: the caller's contract: nodes until the end node are readable.
    unsafe {
        while *path != END_DEVICE_PATH {
            let node_len = usize::from(u16::from_le_bytes([*path.add(2), *path.add(3)]));
            if node_len < 4 {
                return Err("a malformed node in LoadedImage.FilePath");
            }
            if *path != MEDIA_DEVICE_PATH || *path.add(1) != MEDIA_FILEPATH_DP {
                return Err("LoadedImage.FilePath holds other than File Path nodes");
            }
            for i in 0..(node_len - 4) / 2 {
                let unit = u16::from_le_bytes([*path.add(4 + 2 * i), *path.add(5 + 2 * i)]);
                if unit == 0 {
                    break;
                }
                if len + 1 >= name.len() {
                    return Err("LoadedImage.FilePath is too long");
                }
                name[len] = unit;
                len += 1;
            }
            path = path.add(node_len);
        }
    }
    if len == 0 {
        return Err("LoadedImage.FilePath names no file");
    }
    name[len] = 0;
    Ok(())
}

/// Loads the application's own bytes with DevicePath NULL, checks the
/// LoadedImageDevicePath protocol on the new handle, and unloads it.
pub(crate) unsafe fn check(bs: &BootServices, image: Handle) -> Result<(), &'static str> {
    // SAFETY: boot services called as the specification describes.
    unsafe {
        let mut loaded: *mut c_void = core::ptr::null_mut();
        ok(
            (bs.handle_protocol)(image, &LoadedImageProtocol::GUID, &mut loaded),
            "HandleProtocol(LoadedImage)",
        )?;
        let mut name = [0u16; 256];
        file_name((*(loaded as *const LoadedImageProtocol)).file_path.cast(), &mut name)?;
        let mut buffer: *mut u8 = core::ptr::null_mut();
        ok(
            (bs.allocate_pool)(MemoryType::LOADER_DATA, MAX_IMAGE, &mut buffer),
            "AllocatePool for the image",
        )?;
        let result = load_and_unload(bs, image, &name, core::slice::from_raw_parts_mut(buffer, MAX_IMAGE));
        let _ = (bs.free_pool)(buffer);
        result
    }
}

unsafe fn load_and_unload(
    bs: &BootServices,
    image: Handle,
    name: &[u16],
    buffer: &mut [u8],
) -> Result<(), &'static str> {
    // SAFETY: boot services called as the specification describes.
    unsafe {
        let size = read_own_volume_utf16(bs, image, name, buffer)?;
        let mut child: Handle = core::ptr::null_mut();
        ok(
            (bs.load_image)(
                Boolean::FALSE,
                image,
                core::ptr::null(),
                buffer.as_ptr(),
                size,
                &mut child,
            ),
            "LoadImage from a buffer without a device path",
        )?;
        let mut interface: *mut c_void = core::ptr::dangling_mut::<c_void>();
        let status = (bs.handle_protocol)(child, &LOADED_IMAGE_DEVICE_PATH, &mut interface);
        let unloaded = (bs.unload_image)(child);
        ok(status, "HandleProtocol(LoadedImageDevicePath) on the image")?;
        if !interface.is_null() {
            return Err("LoadedImageDevicePath's interface is not NULL");
        }
        ok(unloaded, "UnloadImage")?;
        // Unloaded: the handle is gone with its protocols.
        let mut again: *mut c_void = core::ptr::null_mut();
        if (bs.handle_protocol)(child, &LOADED_IMAGE_DEVICE_PATH, &mut again) == Status::SUCCESS {
            return Err("LoadedImageDevicePath is still installed after UnloadImage");
        }
        Ok(())
    }
}
