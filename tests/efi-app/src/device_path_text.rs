//! EFI_DEVICE_PATH_FROM_TEXT_PROTOCOL (UEFI 2.10 §10.7) against
//! EFI_DEVICE_PATH_TO_TEXT_PROTOCOL (§10.6): the application's own full
//! device path (its LoadedImageDevicePath: PCI or virtio-mmio, partition,
//! file) turned into text and back gives the same bytes.

use crate::app::{find_protocol, ok};
use crate::image_buffer::LOADED_IMAGE_DEVICE_PATH;
use core::ffi::c_void;
use uefi_raw::protocol::device_path::{DevicePathFromTextProtocol, DevicePathProtocol, DevicePathToTextProtocol};
use uefi_raw::table::boot::BootServices;
use uefi_raw::{Boolean, Handle};

/// Longest path the check walks.
const MAX_PATH: usize = 4096;
const END_ENTIRE: (u8, u8) = (0x7f, 0xff);

/// The bytes of a device path, End Entire included.
///
/// # Safety
/// `path` is a device path the firmware gave out.
unsafe fn path_bytes<'a>(path: *const DevicePathProtocol) -> Result<&'a [u8], &'static str> {
    let base = path.cast::<u8>();
    let mut offset = 0;
    // SAFETY: the caller's contract: nodes up to End Entire are readable.
    unsafe {
        loop {
            let node = base.add(offset);
            let len = usize::from(u16::from_le_bytes([*node.add(2), *node.add(3)]));
            if len < 4 || offset + len > MAX_PATH {
                return Err("a malformed device path");
            }
            offset += len;
            if (*node, *node.add(1)) == END_ENTIRE {
                return Ok(core::slice::from_raw_parts(base, offset));
            }
        }
    }
}

pub(crate) unsafe fn check(bs: &BootServices, image: Handle) -> Result<(), &'static str> {
    // SAFETY: boot services and the protocols called as the specification describes.
    unsafe {
        let mut own: *mut c_void = core::ptr::null_mut();
        ok(
            (bs.handle_protocol)(image, &LOADED_IMAGE_DEVICE_PATH, &mut own),
            "HandleProtocol(LoadedImageDevicePath)",
        )?;
        if own.is_null() {
            return Err("the application's LoadedImageDevicePath is NULL");
        }
        let own = own as *const DevicePathProtocol;
        let (_, to_text) = find_protocol(bs, &DevicePathToTextProtocol::GUID)?;
        let (_, from_text) = find_protocol(bs, &DevicePathFromTextProtocol::GUID)?;
        let (to_text, from_text) = (
            to_text as *const DevicePathToTextProtocol,
            from_text as *const DevicePathFromTextProtocol,
        );
        let text = ((*to_text).convert_device_path_to_text)(own, Boolean::FALSE, Boolean::FALSE);
        if text.is_null() {
            return Err("ConvertDevicePathToText gave NULL");
        }
        let back = ((*from_text).convert_text_to_device_path)(text);
        let _ = (bs.free_pool)(text.cast());
        if back.is_null() {
            return Err("ConvertTextToDevicePath gave NULL for the firmware's own text");
        }
        let same = match (path_bytes(own), path_bytes(back)) {
            (Ok(a), Ok(b)) => a == b,
            _ => false,
        };
        let _ = (bs.free_pool)(back.cast());
        if !same {
            return Err("FromText(ToText(path)) differs from the path");
        }
        // A node on its own: the first one of the path.
        let first = path_bytes(own)?;
        let first = &first[..usize::from(u16::from_le_bytes([first[2], first[3]]))];
        let text = ((*to_text).convert_device_node_to_text)(own, Boolean::FALSE, Boolean::FALSE);
        if text.is_null() {
            return Err("ConvertDeviceNodeToText gave NULL");
        }
        let node = ((*from_text).convert_text_to_device_node)(text);
        let _ = (bs.free_pool)(text.cast());
        if node.is_null() {
            return Err("ConvertTextToDeviceNode gave NULL");
        }
        let same = core::slice::from_raw_parts(node.cast::<u8>(), first.len()) == first;
        let _ = (bs.free_pool)(node.cast());
        if !same {
            return Err("FromText(ToText(node)) differs from the node");
        }
        Ok(())
    }
}
