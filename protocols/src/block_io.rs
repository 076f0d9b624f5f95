//! `EFI_BLOCK_IO_PROTOCOL` revision 3 (UEFI 2.10 §13.9) over a
//! [`BlockDevice`]: one instance per disk and one per partition view.
//!
//! Each instance is a `#[repr(C)]` [`BlockIoDevice`] whose first field is the
//! r-efi protocol struct, so the `This` pointer an application passes is the
//! instance's address. A thunk accepts `This` only if it is the address of an
//! instance created here (a registry checked before any dereference) with the
//! right signature. ReadBlocks and WriteBlocks hand the caller's buffer to the
//! device as it is: DMA goes straight into it, in one request, with no bounce
//! copy; `IoAlign` is 0 because virtio-blk transfers from any address.
//!
//! # Wiring it into the firmware
//!
//! For each disk and each partition (a [`fw_drivers::partition::Partition`]):
//! ```text
//! let handle = install_block_handle(device, is_partition, path, None, fw_core::efi::protocol::install)?;
//! ```
//! installs its device path, BlockIo and DiskIo on a new handle. Or by hand:
//! `BlockIoDevice::create(device, is_partition).protocol()` under
//! `block_io::PROTOCOL_GUID`, and [`crate::disk_io::DiskIoDevice::create`].
#![deny(unsafe_op_in_unsafe_fn)]

use crate::device_path::DevicePathBuf;
use crate::disk_io::DiskIoDevice;
use crate::instances::Instances;
use crate::storage_error::{status, Error};
use alloc::boxed::Box;
use alloc::sync::Arc;
use core::cell::UnsafeCell;
use core::ffi::c_void;
use fw_core::caller_buffer;
use fw_drivers::block::BlockDevice;
use r_efi::efi::{Boolean, Guid, Lba, Status};
use r_efi::protocols::{block_io, device_path};

const SIGNATURE: u64 = u64::from_le_bytes(*b"hvfwBlkI");

/// `Media.MediaId`: the media of a virtual disk never changes.
pub const MEDIA_ID: u32 = 0;
/// `Media.IoAlign`: 0 means any address. virtio-blk DMA works from any address,
/// and GRUB passes unaligned buffers.
pub const IO_ALIGN: u32 = 0;

/// Every instance created here (never freed).
static INSTANCES: Instances<BlockIoDevice> = Instances::new();

/// Reads or writes.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Access {
    Read,
    Write,
}

/// One BlockIo instance: the protocol struct, its media, and the device.
#[repr(C)]
pub struct BlockIoDevice {
    protocol: UnsafeCell<block_io::Protocol>,
    signature: u64,
    /// What `protocol.media` points at.
    media: UnsafeCell<block_io::Media>,
    device: Arc<dyn BlockDevice>,
}

// SAFETY: the protocol struct and Media are written only in `create`, before
// the instance is shared; afterwards applications read them (the firmware runs
// on one CPU, DESIGN.md). The device is Send + Sync and keeps its own locking.
unsafe impl Send for BlockIoDevice {}
// SAFETY: as above.
unsafe impl Sync for BlockIoDevice {}

impl BlockIoDevice {
    /// Creates the BlockIo instance of `device` and leaks it: it must outlive
    /// every application. `logical_partition` is true for partition views.
    pub fn create(device: Arc<dyn BlockDevice>, logical_partition: bool) -> &'static BlockIoDevice {
        let media = block_io::Media {
            media_id: MEDIA_ID,
            removable_media: false,
            media_present: true,
            logical_partition,
            read_only: device.read_only(),
            write_caching: false,
            block_size: device.block_size(),
            io_align: IO_ALIGN,
            last_block: device.block_count().saturating_sub(1),
            lowest_aligned_lba: 0,
            logical_blocks_per_physical_block: 1,
            optimal_transfer_length_granularity: 0,
        };
        let instance = Box::leak(Box::new(BlockIoDevice {
            protocol: UnsafeCell::new(block_io::Protocol {
                revision: block_io::REVISION3,
                media: core::ptr::null(),
                reset,
                read_blocks: efi_transfer::<READ>,
                write_blocks: efi_transfer::<WRITE>,
                flush_blocks,
            }),
            signature: SIGNATURE,
            media: UnsafeCell::new(media),
            device,
        }));
        instance.protocol.get_mut().media = instance.media.get();
        INSTANCES.register(instance);
        instance
    }

    /// The `EFI_BLOCK_IO_PROTOCOL` to install (`block_io::PROTOCOL_GUID`).
    pub fn protocol(&self) -> *mut block_io::Protocol {
        self.protocol.get()
    }

    /// The device behind this instance.
    pub fn device(&self) -> &Arc<dyn BlockDevice> {
        &self.device
    }

    /// The current media's id (what callers must pass as `MediaId`).
    pub fn media_id(&self) -> u32 {
        self.media().media_id
    }

    fn media(&self) -> block_io::Media {
        // SAFETY: Media is written only in `create`; this is a copy.
        unsafe { *self.media.get() }
    }

    /// MEDIA_CHANGED unless `media_id` is the current media's: BlockIo, DiskIo
    /// and DiskIo2 refuse a request for other media alike (§13.9.3, §13.7.2,
    /// §13.8.3).
    pub(crate) fn check_media(&self, media_id: u32) -> Result<(), Error> {
        let expected = self.media_id();
        if media_id == expected {
            Ok(())
        } else {
            Err(Error::MediaChanged {
                expected,
                found: media_id,
            })
        }
    }

    /// The checks ReadBlocks and WriteBlocks share, in the specification's
    /// order (media, buffer, request); `Ok(false)` for an empty transfer.
    fn check_transfer(
        &self,
        media_id: u32,
        lba: Lba,
        len: usize,
        buffer_is_null: bool,
        access: Access,
    ) -> Result<bool, Error> {
        self.check_media(media_id)?;
        if buffer_is_null {
            return Err(Error::NullBuffer);
        }
        self.check_request(lba, len, access)
    }

    /// Checks a request of `len` bytes at `lba` in the specification's order
    /// (after the media id and buffer checks); `Ok(false)` for an empty request.
    fn check_request(&self, lba: Lba, len: usize, access: Access) -> Result<bool, Error> {
        if len == 0 {
            return Ok(false);
        }
        let block_size = self.device.block_size();
        if block_size == 0 || !len.is_multiple_of(block_size as usize) {
            return Err(Error::BadBufferSize { len, block_size });
        }
        let block_count = self.device.block_count();
        let blocks = (len / block_size as usize) as u64;
        let in_range = lba < block_count && lba.checked_add(blocks).is_some_and(|end| end <= block_count);
        // A slice may not exceed isize::MAX bytes.
        if !in_range || isize::try_from(len).is_err() {
            return Err(Error::BlocksOutOfRange { lba, len, block_count });
        }
        if access == Access::Write && self.device.read_only() {
            return Err(Error::WriteProtected);
        }
        Ok(true)
    }
}

/// Installs a block device's device path, BlockIo, DiskIo and DiskIo2 on `handle` (a new
/// handle for `None`) with the firmware's install function, e.g.
/// `fw_core::efi::protocol::install`. The path goes first, so that whoever is
/// notified of the BlockIo finds it; `None` when `handle` already has its path
/// (a PCI controller's handle, where BlockIo sits as in UEFI 2.10 §14.4). The
/// instances and the path are leaked.
pub fn install_block_handle<H, E>(
    device: Arc<dyn BlockDevice>,
    logical_partition: bool,
    path: Option<DevicePathBuf>,
    handle: Option<H>,
    mut install: impl FnMut(Option<H>, Guid, *mut c_void) -> Result<H, E>,
) -> Result<H, E> {
    let block_io = BlockIoDevice::create(device, logical_partition);
    let disk_io = DiskIoDevice::create(block_io);
    let disk_io2 = crate::disk_io2::DiskIo2Device::create(block_io, crate::disk_io2::boot_services_signal);
    let handle = match path {
        Some(path) => Some(install(handle, device_path::PROTOCOL_GUID, path.leak().cast())?),
        None => handle,
    };
    let handle = install(handle, block_io::PROTOCOL_GUID, block_io.protocol().cast())?;
    let handle = install(
        Some(handle),
        r_efi::protocols::disk_io::PROTOCOL_GUID,
        disk_io.protocol().cast(),
    )?;
    install(
        Some(handle),
        r_efi::protocols::disk_io2::PROTOCOL_GUID,
        disk_io2.protocol().cast(),
    )
}

/// The instance behind `this`, if `this` is one of ours.
fn instance(this: *mut block_io::Protocol) -> Option<&'static BlockIoDevice> {
    INSTANCES.find(this).filter(|i| i.signature == SIGNATURE)
}

unsafe extern "efiapi" fn reset(this: *mut block_io::Protocol, _extended_verification: Boolean) -> Status {
    // A virtual disk has no state a reset would clear.
    match instance(this) {
        Some(_) => Status::SUCCESS,
        None => Status::INVALID_PARAMETER,
    }
}

/// Whether a transfer writes the device, as [`efi_transfer`]'s const parameter.
const READ: bool = false;
const WRITE: bool = true;

/// ReadBlocks and WriteBlocks (§13.9.3, §13.9.4): `This`, then
/// [`BlockIoDevice::check_transfer`], then the blocks moved between the device
/// and the caller's buffer.
unsafe extern "efiapi" fn efi_transfer<const WRITE: bool>(
    this: *mut block_io::Protocol,
    media_id: u32,
    lba: Lba,
    buffer_size: usize,
    buffer: *mut c_void,
) -> Status {
    let Some(device) = instance(this) else {
        return Status::INVALID_PARAMETER;
    };
    let access = if WRITE { Access::Write } else { Access::Read };
    let result = device
        .check_transfer(media_id, lba, buffer_size, buffer.is_null(), access)
        .and_then(|transfer| {
            if !transfer {
                Ok(())
            } else if WRITE {
                // SAFETY: the caller provides `buffer_size` readable bytes
                // (§13.9.4); the claim is checked first.
                let buffer =
                    unsafe { caller_buffer::slice(buffer.cast::<u8>(), buffer_size) }.map_err(Error::Buffer)?;
                device.device.write_blocks(lba, buffer).map_err(Error::Device)
            } else {
                // SAFETY: the caller provides `buffer_size` writable bytes
                // (§13.9.3); the claim is checked first.
                let buffer =
                    unsafe { caller_buffer::slice_mut(buffer.cast::<u8>(), buffer_size) }.map_err(Error::Buffer)?;
                device.device.read_blocks(lba, buffer).map_err(Error::Device)
            }
        });
    status(result, if WRITE { "WriteBlocks" } else { "ReadBlocks" })
}

unsafe extern "efiapi" fn flush_blocks(this: *mut block_io::Protocol) -> Status {
    let Some(device) = instance(this) else {
        return Status::INVALID_PARAMETER;
    };
    status(device.device.flush().map_err(Error::Device), "FlushBlocks")
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use alloc::vec::Vec;
    use fw_drivers::block::{BlockError, MemoryDisk};
    use fw_drivers::partition::Partition;
    use std::vec;

    pub(crate) fn patterned_disk(blocks: usize, block_size: u32) -> Vec<u8> {
        (0..blocks * block_size as usize)
            .map(|i| (i % 251) as u8 ^ (i / 4096) as u8)
            .collect()
    }

    /// A device that fails every request.
    pub(crate) struct FailingDisk;

    impl BlockDevice for FailingDisk {
        fn block_size(&self) -> u32 {
            512
        }
        fn block_count(&self) -> u64 {
            16
        }
        fn read_blocks(&self, lba: u64, _: &mut [u8]) -> Result<(), BlockError> {
            Err(BlockError::DeviceError { lba, status: 1 })
        }
        fn write_blocks(&self, lba: u64, _: &[u8]) -> Result<(), BlockError> {
            Err(BlockError::Timeout { lba })
        }
        fn flush(&self) -> Result<(), BlockError> {
            Err(BlockError::DeviceError { lba: 0, status: 1 })
        }
    }

    fn setup(blocks: usize) -> (Arc<MemoryDisk>, *mut block_io::Protocol) {
        let disk = Arc::new(MemoryDisk::new(patterned_disk(blocks, 512), 512));
        let protocol = BlockIoDevice::create(disk.clone(), false).protocol();
        (disk, protocol)
    }

    fn media(protocol: *mut block_io::Protocol) -> block_io::Media {
        // SAFETY: test-only read of the Media the instance publishes.
        unsafe { *(*protocol).media }
    }

    /// ReadBlocks into all of `buf`, called as an application would.
    fn read(protocol: *mut block_io::Protocol, lba: u64, buf: &mut [u8]) -> Status {
        // SAFETY: `protocol` comes from `BlockIoDevice::protocol` and stays
        // live (the instance is leaked); `buf` is writable for its length.
        unsafe { ((*protocol).read_blocks)(protocol, MEDIA_ID, lba, buf.len(), buf.as_mut_ptr().cast()) }
    }

    /// WriteBlocks from all of `buf`, called as an application would.
    fn write(protocol: *mut block_io::Protocol, lba: u64, buf: &mut [u8]) -> Status {
        // SAFETY: as in `read`; WriteBlocks only reads `buf`.
        unsafe { ((*protocol).write_blocks)(protocol, MEDIA_ID, lba, buf.len(), buf.as_mut_ptr().cast()) }
    }

    /// FlushBlocks, called as an application would.
    fn flush(protocol: *mut block_io::Protocol) -> Status {
        // SAFETY: `protocol` is a live instance, as in `read`.
        unsafe { ((*protocol).flush_blocks)(protocol) }
    }

    #[test]
    fn block_io_media_describes_the_device() {
        let (_, protocol) = setup(64);
        let m = media(protocol);
        // SAFETY: reading the installed protocol struct.
        assert_eq!(unsafe { (*protocol).revision }, block_io::REVISION3);
        assert_eq!(
            (m.media_id, m.block_size, m.last_block, m.io_align),
            (MEDIA_ID, 512, 63, 0)
        );
        assert!(m.media_present && !m.removable_media && !m.logical_partition && !m.read_only);
        assert!(!m.write_caching);
        assert_eq!((m.lowest_aligned_lba, m.logical_blocks_per_physical_block), (0, 1));
        assert_eq!(m.optimal_transfer_length_granularity, 0);

        let disk: Arc<dyn BlockDevice> = Arc::new(MemoryDisk::new(vec![0; 4096 * 8], 4096).read_only());
        let partition = Arc::new(Partition::from_range(disk, 2, 5).unwrap());
        let m = media(BlockIoDevice::create(partition, true).protocol());
        assert!(m.logical_partition && m.read_only);
        assert_eq!((m.block_size, m.last_block), (4096, 4));
    }

    #[test]
    fn block_io_multi_block_read_is_one_device_request_into_the_callers_buffer() {
        let (disk, protocol) = setup(64);
        let expected = disk.contents();
        // An odd address: IoAlign is 0, so any buffer is fine.
        let mut storage = vec![0u8; 8 * 512 + 1];
        let buffer = &mut storage[1..];
        assert_eq!(read(protocol, 3, buffer), Status::SUCCESS);
        assert_eq!(buffer, &expected[3 * 512..11 * 512]);
        assert_eq!(disk.read_requests(), 1);
    }

    #[test]
    fn block_io_write_then_flush_reaches_the_device() {
        let (disk, protocol) = setup(16);
        let mut data = vec![0x5Au8; 2 * 512];
        assert_eq!(write(protocol, 14, &mut data), Status::SUCCESS);
        assert_eq!(flush(protocol), Status::SUCCESS);
        // SAFETY: calling the protocol as an application would.
        assert_eq!(unsafe { ((*protocol).reset)(protocol, Boolean::TRUE) }, Status::SUCCESS);
        assert_eq!(&disk.contents()[14 * 512..], &data[..]);
        assert_eq!(disk.write_requests(), 1);
    }

    #[test]
    fn block_io_errors_follow_the_spec_order() {
        let (disk, protocol) = setup(16);
        let mut buf = vec![0u8; 1024];
        let ptr: *mut c_void = buf.as_mut_ptr().cast();
        let null = core::ptr::null_mut();
        // SAFETY: calling the protocol as an application would; the bad
        // arguments must be rejected without touching memory.
        unsafe {
            let p = &*protocol;
            for op in [p.read_blocks, p.write_blocks] {
                // Media id first, even with a null buffer.
                assert_eq!(op(protocol, 7, 0, 1024, null), Status::MEDIA_CHANGED);
                assert_eq!(op(protocol, MEDIA_ID, 0, 1024, null), Status::INVALID_PARAMETER);
                // A null buffer is refused even for zero bytes; zero bytes succeed.
                assert_eq!(op(protocol, MEDIA_ID, 0, 0, null), Status::INVALID_PARAMETER);
                assert_eq!(op(protocol, MEDIA_ID, 99, 0, ptr), Status::SUCCESS);
                assert_eq!(op(protocol, MEDIA_ID, 99, 100, ptr), Status::BAD_BUFFER_SIZE);
                assert_eq!(op(protocol, MEDIA_ID, 16, 512, ptr), Status::INVALID_PARAMETER);
                assert_eq!(op(protocol, MEDIA_ID, 15, 1024, ptr), Status::INVALID_PARAMETER);
                assert_eq!(op(protocol, MEDIA_ID, u64::MAX, 1024, ptr), Status::INVALID_PARAMETER);
                // `This` that is not one of ours, or null.
                assert_eq!(op(null.cast(), MEDIA_ID, 0, 512, ptr), Status::INVALID_PARAMETER);
                assert_eq!(op(ptr.cast(), MEDIA_ID, 0, 512, ptr), Status::INVALID_PARAMETER);
            }
            assert_eq!((p.flush_blocks)(null.cast()), Status::INVALID_PARAMETER);
            assert_eq!((p.reset)(ptr.cast(), Boolean::FALSE), Status::INVALID_PARAMETER);
        }
        assert_eq!((disk.read_requests(), disk.write_requests()), (0, 0));
    }

    #[test]
    fn block_io_write_to_read_only_device_is_write_protected() {
        let disk = Arc::new(MemoryDisk::new(vec![0; 512 * 4], 512).read_only());
        let protocol = BlockIoDevice::create(disk.clone(), false).protocol();
        let mut buf = vec![1u8; 512];
        assert_eq!(write(protocol, 0, &mut buf), Status::WRITE_PROTECTED);
        // Range errors come before the read-only check.
        assert_eq!(write(protocol, 4, &mut buf), Status::INVALID_PARAMETER);
        assert_eq!(read(protocol, 0, &mut buf), Status::SUCCESS);
        assert_eq!(disk.write_requests(), 0);
    }

    #[test]
    fn block_io_device_failures_are_device_errors() {
        let protocol = BlockIoDevice::create(Arc::new(FailingDisk), false).protocol();
        let mut buf = vec![0u8; 512];
        assert_eq!(read(protocol, 0, &mut buf), Status::DEVICE_ERROR);
        assert_eq!(write(protocol, 0, &mut buf), Status::DEVICE_ERROR);
        assert_eq!(flush(protocol), Status::DEVICE_ERROR);
    }

    #[test]
    fn block_io_partition_view_reads_relative_to_its_start() {
        let disk = Arc::new(MemoryDisk::new(patterned_disk(32, 512), 512));
        let partition = Arc::new(Partition::from_range(disk.clone(), 8, 8).unwrap());
        let protocol = BlockIoDevice::create(partition, true).protocol();
        let mut buf = vec![0u8; 3 * 512];
        assert_eq!(read(protocol, 5, &mut buf), Status::SUCCESS);
        assert_eq!(read(protocol, 6, &mut buf), Status::INVALID_PARAMETER);
        assert_eq!(&buf[..], &disk.contents()[13 * 512..16 * 512]);
    }

    #[test]
    fn block_io_install_puts_path_block_io_and_disk_ios_on_one_handle() {
        let disk = Arc::new(MemoryDisk::new(vec![0; 512 * 4], 512));
        let path = DevicePathBuf::new().pci_root(0).pci(3, 0);
        let path_bytes = path.as_bytes().to_vec();
        let mut installed = Vec::new();
        let handle = install_block_handle(disk, false, Some(path), None, |handle: Option<u32>, guid, interface| {
            installed.push((handle, guid, interface));
            Ok::<u32, ()>(42)
        })
        .unwrap();
        assert_eq!(handle, 42);
        let guids: Vec<_> = installed.iter().map(|&(h, g, _)| (h, g)).collect();
        assert_eq!(
            guids,
            vec![
                (None, device_path::PROTOCOL_GUID),
                (Some(42), block_io::PROTOCOL_GUID),
                (Some(42), r_efi::protocols::disk_io::PROTOCOL_GUID),
                (Some(42), r_efi::protocols::disk_io2::PROTOCOL_GUID),
            ]
        );
        // SAFETY: the installed path is a leaked copy of `path_bytes`.
        let leaked = unsafe { core::slice::from_raw_parts(installed[0].2 as *const u8, path_bytes.len()) };
        assert_eq!(leaked, &path_bytes[..]);
        // SAFETY: the installed BlockIo interface is a live protocol struct.
        let revision = unsafe { (*installed[1].2.cast::<block_io::Protocol>()).revision };
        assert_eq!(revision, block_io::REVISION3);
    }
}
