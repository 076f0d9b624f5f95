//! The firmware's drivers as a UEFI shell's `drivers`/`devices` commands find
//! them: handles with EFI_DRIVER_BINDING_PROTOCOL and
//! EFI_COMPONENT_NAME2_PROTOCOL (UEFI 2.10 §11.1, §11.5), the driver managing a
//! controller read from OpenProtocolInformation, its name for the controller
//! from GetControllerName. And EFI_DISK_INFO_PROTOCOL (PI 1.8 vol. 5 §12.10) on
//! the application's disk.

use crate::app::{ok, own_disk, own_partition};
use core::ffi::c_void;
use core::fmt::Write;
use uefi_raw::protocol::device_path::DevicePathProtocol;
use uefi_raw::protocol::disk::{DiskInfoProtocol, DiskIoProtocol};
use uefi_raw::protocol::driver::{ComponentName2Protocol, DriverBindingProtocol};
use uefi_raw::table::boot::{BootServices, OpenProtocolInformationEntry};
use uefi_raw::{Guid, Handle, Status};

const BY_PROTOCOL: i32 = 2;
const BY_CHILD_CONTROLLER: u32 = 0x08;
const BY_DRIVER: u32 = 0x10;
const EN: &[u8] = b"en\0";

/// The firmware's own DiskInfo interface for virtio-blk,
/// cc2abf2f-5ec0-4c78-ad3e-5dbe907cb024 (protocols/src/disk_info.rs).
const VIRTIO_BLK_INTERFACE: Guid = uefi_raw::guid!("cc2abf2f-5ec0-4c78-ad3e-5dbe907cb024");

/// A NUL-terminated UCS-2 name as ASCII (other characters as `?`), at most
/// 96 characters.
struct Name {
    bytes: [u8; 96],
    len: usize,
}

impl Name {
    /// # Safety
    /// `name` is a NUL-terminated UCS-2 string.
    unsafe fn read(name: *const u16) -> Name {
        let mut out = Name { bytes: [0; 96], len: 0 };
        // SAFETY: the caller's contract; the copy stops at the NUL or the end.
        unsafe {
            while out.len < out.bytes.len() && *name.add(out.len) != 0 {
                let unit = *name.add(out.len);
                out.bytes[out.len] = if unit < 0x80 { unit as u8 } else { b'?' };
                out.len += 1;
            }
        }
        out
    }

    fn as_str(&self) -> &str {
        core::str::from_utf8(&self.bytes[..self.len]).unwrap_or("?")
    }
}

/// The agent of the open of `guid` on `controller` with `attributes` (and, for
/// `BY_CHILD_CONTROLLER`, for `child`).
unsafe fn opener(
    bs: &BootServices,
    controller: Handle,
    guid: &Guid,
    attributes: u32,
    child: Handle,
) -> Result<Handle, &'static str> {
    // SAFETY: boot services called as the specification describes.
    unsafe {
        let mut entries: *mut OpenProtocolInformationEntry = core::ptr::null_mut();
        let mut count = 0usize;
        ok(
            (bs.open_protocol_information)(controller, guid, &mut entries, &mut count),
            "OpenProtocolInformation",
        )?;
        let list = core::slice::from_raw_parts(entries, count);
        let found = list
            .iter()
            .find(|e| e.attributes == attributes && (child.is_null() || e.controller_handle == child))
            .map(|e| e.agent_handle);
        ok((bs.free_pool)(entries.cast()), "FreePool")?;
        found.ok_or("no driver holds the controller as the driver model says")
    }
}

unsafe fn component_name(bs: &BootServices, driver: Handle) -> Result<*const ComponentName2Protocol, &'static str> {
    let mut names: *mut c_void = core::ptr::null_mut();
    // SAFETY: boot services called as the specification describes.
    unsafe {
        ok(
            (bs.handle_protocol)(driver, &ComponentName2Protocol::GUID, &mut names),
            "the managing driver has no ComponentName2",
        )?;
    }
    Ok(names as *const ComponentName2Protocol)
}

/// `driver`'s English name for `controller` (or its `child`).
unsafe fn controller_name(
    bs: &BootServices,
    driver: Handle,
    controller: Handle,
    child: Handle,
) -> Result<Name, &'static str> {
    // SAFETY: the protocol called as §11.5 describes.
    unsafe {
        let names = component_name(bs, driver)?;
        let mut name: *const u16 = core::ptr::null();
        ok(
            ((*names).get_controller_name)(names, controller, child, EN.as_ptr(), &mut name),
            "GetControllerName",
        )?;
        Ok(Name::read(name))
    }
}

/// Every driver handle: its binding names it, it has an English name and no
/// French one. Then the drivers behind the application's partition and disk
/// name them as the firmware's FAT, partition and virtio-blk drivers.
pub(crate) unsafe fn check(bs: &BootServices, image: Handle, out: &mut impl Write) -> Result<(), &'static str> {
    // SAFETY: boot services and protocols called as the specification describes.
    unsafe {
        let mut count = 0usize;
        let mut handles: *mut Handle = core::ptr::null_mut();
        ok(
            (bs.locate_handle_buffer)(
                BY_PROTOCOL,
                &ComponentName2Protocol::GUID,
                core::ptr::null(),
                &mut count,
                &mut handles,
            ),
            "LocateHandleBuffer(ComponentName2)",
        )?;
        let drivers = core::slice::from_raw_parts(handles, count);
        let mut result = Ok(());
        for &driver in drivers {
            let names = component_name(bs, driver)?;
            let mut binding: *mut c_void = core::ptr::null_mut();
            let status = (bs.handle_protocol)(driver, &DriverBindingProtocol::GUID, &mut binding);
            if status != Status::SUCCESS || (*(binding as *const DriverBindingProtocol)).driver_binding_handle != driver
            {
                result = Err("a driver handle's DriverBinding does not name it");
            }
            let mut name: *const u16 = core::ptr::null();
            if ((*names).get_driver_name)(names, EN.as_ptr(), &mut name) != Status::SUCCESS || *name == 0 {
                result = Err("GetDriverName(\"en\") gave no name");
            }
            let mut french: *const u16 = core::ptr::null();
            if ((*names).get_driver_name)(names, c"fr".as_ptr().cast(), &mut french) != Status::UNSUPPORTED {
                result = Err("GetDriverName(\"fr\") is not UNSUPPORTED");
            }
        }
        ok((bs.free_pool)(handles.cast()), "FreePool")?;
        result?;
        if count < 3 {
            return Err("fewer than three driver handles");
        }

        let partition = own_partition(bs, image)?;
        let (disk, number) = own_disk(bs, partition)?;
        let null = core::ptr::null_mut();
        let fat = opener(bs, partition, &DiskIoProtocol::GUID, BY_DRIVER, null)?;
        let fs = controller_name(bs, fat, partition, null)?;
        let partitions = opener(bs, disk, &DiskIoProtocol::GUID, BY_CHILD_CONTROLLER, partition)?;
        let part = controller_name(bs, partitions, disk, partition)?;
        let virtio = opener(bs, disk, &DevicePathProtocol::GUID, BY_DRIVER, null)?;
        let device = controller_name(bs, virtio, disk, null)?;
        let _ = writeln!(
            out,
            "HVFW-APP: controller names: {:?} / {:?} / {:?}",
            device.as_str(),
            part.as_str(),
            fs.as_str()
        );
        if !(fs.as_str().starts_with("FAT") && fs.as_str().ends_with(" file system")) {
            return Err("the FAT driver does not name the partition a FAT file system");
        }
        let named = part
            .as_str()
            .strip_prefix("Partition ")
            .and_then(|rest| rest.split(' ').next())
            .and_then(|n| n.parse::<u32>().ok());
        if named != Some(number) {
            return Err("the partition driver names the partition with another number");
        }
        if !device.as_str().contains("virtio-blk") {
            return Err("the virtio-blk driver does not name the disk");
        }
        // A driver names only what it manages.
        let names = component_name(bs, fat)?;
        let mut name: *const u16 = core::ptr::null();
        if ((*names).get_controller_name)(names, disk, null, EN.as_ptr(), &mut name) != Status::UNSUPPORTED {
            return Err("the FAT driver names the disk, which it does not manage");
        }
        Ok(())
    }
}

/// DiskInfo on the application's disk: the firmware's virtio-blk interface,
/// and Identify's device ID, printed for the harness to compare with the
/// `serial=` QEMU was given.
pub(crate) unsafe fn disk_info(bs: &BootServices, image: Handle, out: &mut impl Write) -> Result<(), &'static str> {
    // SAFETY: boot services and the protocol called as the specification describes.
    unsafe {
        let partition = own_partition(bs, image)?;
        let (disk, _) = own_disk(bs, partition)?;
        let mut info: *mut c_void = core::ptr::null_mut();
        ok(
            (bs.handle_protocol)(disk, &DiskInfoProtocol::GUID, &mut info),
            "no DiskInfo on the application's disk",
        )?;
        let info = info as *const DiskInfoProtocol;
        if (*info).interface != VIRTIO_BLK_INTERFACE {
            return Err("DiskInfo's interface is not virtio-blk");
        }
        let mut size = 4u32;
        let mut data = [0u8; 32];
        if ((*info).identify)(info, data.as_mut_ptr().cast(), &mut size) != Status::BUFFER_TOO_SMALL || size != 20 {
            return Err("Identify into 4 bytes is not BUFFER_TOO_SMALL with size 20");
        }
        size = data.len() as u32;
        let status = ((*info).identify)(info, data.as_mut_ptr().cast(), &mut size);
        let id = match status {
            Status::SUCCESS if size == 20 => &data[..20],
            // A device without a serial may refuse GET_ID.
            Status::NOT_FOUND => &data[..0],
            _ => return Err("Identify failed"),
        };
        let end = id.iter().position(|&b| b == 0).unwrap_or(id.len());
        let text = core::str::from_utf8(&id[..end]).unwrap_or("<not UTF-8>");
        let _ = writeln!(out, "HVFW-APP: disk-id={text}");
        let mut size = data.len() as u32;
        if ((*info).inquiry)(info, data.as_mut_ptr().cast(), &mut size) != Status::NOT_FOUND {
            return Err("Inquiry is not NOT_FOUND");
        }
        let (mut channel, mut device) = (0u32, 0u32);
        if ((*info).which_ide)(info, &mut channel, &mut device) != Status::UNSUPPORTED {
            return Err("WhichIde is not UNSUPPORTED");
        }
        Ok(())
    }
}
