//! EFI_DISK_INFO_PROTOCOL (UEFI Platform Initialization 1.8, vol. 5 §12.10) on
//! each virtio disk. The PI specification names interface GUIDs for IDE, AHCI,
//! SCSI, USB, NVMe, UFS and SD/MMC; virtio-blk is none of those, so the
//! firmware names its own interface, [`VIRTIO_BLK_INTERFACE_GUID`], whose data
//! is:
//! - Identify: the device ID string of virtio-blk's GET_ID request (20 bytes,
//!   NUL-padded: the `serial=` the VMM was given);
//! - Inquiry and SenseData: none (NOT_FOUND, "does not support this data
//!   class"); WhichIde: UNSUPPORTED (not an IDE device).
#![deny(unsafe_op_in_unsafe_fn)]

use crate::instances::Instances;
use alloc::boxed::Box;
use alloc::sync::Arc;
use core::ffi::c_void;
use fw_drivers::block::{BlockDevice, BlockError};
use r_efi::efi::{Guid, Status};

/// EFI_DISK_INFO_PROTOCOL_GUID.
pub const PROTOCOL_GUID: Guid = Guid::from_fields(
    0xd432a67f,
    0x14dc,
    0x484b,
    0xb3,
    0xbb,
    &[0x3f, 0x02, 0x91, 0x84, 0x93, 0x27],
);

/// The interface this firmware reports for virtio-blk disks,
/// cc2abf2f-5ec0-4c78-ad3e-5dbe907cb024.
pub const VIRTIO_BLK_INTERFACE_GUID: Guid = Guid::from_fields(
    0xcc2abf2f,
    0x5ec0,
    0x4c78,
    0xad,
    0x3e,
    &[0x5d, 0xbe, 0x90, 0x7c, 0xb0, 0x24],
);

/// Bytes of Identify data: virtio-blk's device ID string.
pub const IDENTIFY_BYTES: u32 = 20;

const SIGNATURE: u64 = u64::from_le_bytes(*b"hvfwDskI");

/// EFI_DISK_INFO_PROTOCOL as the PI specification lays it out.
#[repr(C)]
pub struct Protocol {
    /// The interface type GUID (IDE, AHCI, NVMe, SCSI, ...).
    pub interface: Guid,
    /// Inquiry: the device's inquiry data.
    pub inquiry: extern "efiapi" fn(*mut Protocol, *mut c_void, *mut u32) -> Status,
    /// Identify: the device's identify data.
    pub identify: extern "efiapi" fn(*mut Protocol, *mut c_void, *mut u32) -> Status,
    /// SenseData: the device's sense data.
    pub sense_data: extern "efiapi" fn(*mut Protocol, *mut c_void, *mut u32, *mut u8) -> Status,
    /// WhichIde: the IDE channel and device.
    pub which_ide: extern "efiapi" fn(*mut Protocol, *mut u32, *mut u32) -> Status,
}

/// DiskInfo for one disk.
#[repr(C)]
pub struct DiskInfo {
    protocol: Protocol,
    signature: u64,
    device: Arc<dyn BlockDevice>,
}

static INSTANCES: Instances<DiskInfo> = Instances::new();

impl DiskInfo {
    /// The protocol for `device` (leaked: it lives as long as boot services).
    pub fn create(device: Arc<dyn BlockDevice>) -> &'static DiskInfo {
        let instance: &'static DiskInfo = Box::leak(Box::new(DiskInfo {
            protocol: Protocol {
                interface: VIRTIO_BLK_INTERFACE_GUID,
                inquiry,
                identify,
                sense_data,
                which_ide,
            },
            signature: SIGNATURE,
            device,
        }));
        INSTANCES.register(instance);
        instance
    }

    /// The interface to install.
    pub fn protocol(&'static self) -> *mut c_void {
        core::ptr::from_ref::<Protocol>(&self.protocol) as *mut c_void
    }
}

fn instance(this: *mut Protocol) -> Option<&'static DiskInfo> {
    INSTANCES.find(this).filter(|i| i.signature == SIGNATURE)
}

/// What Identify answers for a buffer of `room` bytes: the data, or the status
/// (with the size the caller needs).
fn identify_data(device: &dyn BlockDevice, room: u32) -> Result<[u8; IDENTIFY_BYTES as usize], Status> {
    let id = match device.device_id() {
        Ok(id) => id,
        Err(BlockError::Unsupported) => return Err(Status::NOT_FOUND),
        Err(e) => {
            log::debug!("disk info: {e}");
            return Err(Status::DEVICE_ERROR);
        }
    };
    if room < IDENTIFY_BYTES {
        return Err(Status::BUFFER_TOO_SMALL);
    }
    Ok(id)
}

extern "efiapi" fn identify(this: *mut Protocol, data: *mut c_void, size: *mut u32) -> Status {
    let Some(instance) = instance(this) else {
        return Status::INVALID_PARAMETER;
    };
    if size.is_null() {
        return Status::INVALID_PARAMETER;
    }
    // SAFETY: checked non-null; the caller's pointer.
    let room = unsafe { size.read_unaligned() };
    match identify_data(&*instance.device, room) {
        Ok(id) => {
            if data.is_null() {
                return Status::INVALID_PARAMETER;
            }
            // SAFETY: the caller gave `room` >= IDENTIFY_BYTES writable bytes
            // at `data`, and `size` is writable.
            unsafe {
                core::ptr::copy_nonoverlapping(id.as_ptr(), data.cast::<u8>(), id.len());
                size.write_unaligned(IDENTIFY_BYTES);
            }
            Status::SUCCESS
        }
        Err(status) => {
            if status == Status::BUFFER_TOO_SMALL {
                // SAFETY: checked non-null; the caller's pointer.
                unsafe { size.write_unaligned(IDENTIFY_BYTES) };
            }
            status
        }
    }
}

extern "efiapi" fn inquiry(this: *mut Protocol, _data: *mut c_void, size: *mut u32) -> Status {
    if instance(this).is_none() || size.is_null() {
        return Status::INVALID_PARAMETER;
    }
    Status::NOT_FOUND
}

extern "efiapi" fn sense_data(this: *mut Protocol, _data: *mut c_void, size: *mut u32, number: *mut u8) -> Status {
    if instance(this).is_none() || size.is_null() || number.is_null() {
        return Status::INVALID_PARAMETER;
    }
    Status::NOT_FOUND
}

extern "efiapi" fn which_ide(this: *mut Protocol, _channel: *mut u32, _device: *mut u32) -> Status {
    if instance(this).is_none() {
        return Status::INVALID_PARAMETER;
    }
    Status::UNSUPPORTED
}

#[cfg(test)]
mod tests {
    use super::*;
    use fw_drivers::block::MemoryDisk;

    /// A device whose GET_ID answers with this serial, or fails so.
    struct Serial(Result<&'static [u8], BlockError>);

    impl BlockDevice for Serial {
        fn block_size(&self) -> u32 {
            512
        }
        fn block_count(&self) -> u64 {
            1
        }
        fn read_blocks(&self, _lba: u64, _buf: &mut [u8]) -> Result<(), BlockError> {
            Ok(())
        }
        fn write_blocks(&self, _lba: u64, _buf: &[u8]) -> Result<(), BlockError> {
            Ok(())
        }
        fn device_id(&self) -> Result<[u8; 20], BlockError> {
            let id = self.0?;
            let mut bytes = [0u8; 20];
            bytes[..id.len()].copy_from_slice(id);
            Ok(bytes)
        }
    }

    fn protocol(device: Arc<dyn BlockDevice>) -> *mut Protocol {
        DiskInfo::create(device).protocol().cast()
    }

    #[test]
    fn identify_gives_the_device_id_and_asks_for_room() {
        let p = protocol(Arc::new(Serial(Ok(b"disk-serial"))));
        // SAFETY: calling our own functions through the protocol, as an application would.
        unsafe {
            assert_eq!((*p).interface, VIRTIO_BLK_INTERFACE_GUID);
            let mut size = 4u32;
            let mut data = [0xAAu8; 32];
            assert_eq!(
                ((*p).identify)(p, data.as_mut_ptr().cast(), &mut size),
                Status::BUFFER_TOO_SMALL
            );
            assert_eq!((size, data[0]), (IDENTIFY_BYTES, 0xAA));
            size = data.len() as u32;
            assert_eq!(((*p).identify)(p, data.as_mut_ptr().cast(), &mut size), Status::SUCCESS);
            assert_eq!(size, IDENTIFY_BYTES);
            assert_eq!(&data[..13], b"disk-serial\0\0");
            assert_eq!(data[20], 0xAA);
            assert_eq!(
                ((*p).identify)(p, data.as_mut_ptr().cast(), core::ptr::null_mut()),
                Status::INVALID_PARAMETER
            );
            assert_eq!(
                ((*p).inquiry)(p, data.as_mut_ptr().cast(), &mut size),
                Status::NOT_FOUND
            );
            let mut count = 0u8;
            assert_eq!(
                ((*p).sense_data)(p, data.as_mut_ptr().cast(), &mut size, &mut count),
                Status::NOT_FOUND
            );
            let (mut channel, mut device) = (0u32, 0u32);
            assert_eq!(((*p).which_ide)(p, &mut channel, &mut device), Status::UNSUPPORTED);
        }
    }

    #[test]
    fn a_device_without_an_id_has_no_identify_data() {
        for device in [
            Arc::new(Serial(Err(BlockError::Unsupported))) as Arc<dyn BlockDevice>,
            Arc::new(MemoryDisk::new(alloc::vec![0u8; 512], 512)),
        ] {
            let p = protocol(device);
            let mut size = 64u32;
            let mut data = [0u8; 64];
            // SAFETY: as above.
            let status = unsafe { ((*p).identify)(p, data.as_mut_ptr().cast(), &mut size) };
            assert_eq!(status, Status::NOT_FOUND);
        }
    }

    #[test]
    fn a_failing_device_is_a_device_error_not_missing_data() {
        let p = protocol(Arc::new(Serial(Err(BlockError::DeviceError { lba: 0, status: 1 }))));
        let mut size = 64u32;
        let mut data = [0u8; 64];
        // SAFETY: as above.
        let status = unsafe { ((*p).identify)(p, data.as_mut_ptr().cast(), &mut size) };
        assert_eq!(status, Status::DEVICE_ERROR);
    }

    #[test]
    fn foreign_this_is_refused() {
        let mut foreign = Protocol {
            interface: VIRTIO_BLK_INTERFACE_GUID,
            inquiry,
            identify,
            sense_data,
            which_ide,
        };
        let mut size = 64u32;
        assert_eq!(
            identify(&mut foreign, core::ptr::null_mut(), &mut size),
            Status::INVALID_PARAMETER
        );
    }
}
