//! `EFI_DISK_IO_PROTOCOL` (UEFI 2.10 §13.7): byte-addressed reads and writes
//! over a [`BlockIoDevice`]'s device.
//!
//! A request is split at block boundaries: the whole blocks in the middle go
//! straight into (or out of) the caller's buffer in one device request; a
//! partial block at the head or the tail goes through a one-block bounce buffer,
//! read-modify-write for writes. The `This` pointer is checked against a
//! registry of instances before it is dereferenced, as for BlockIo.
#![deny(unsafe_op_in_unsafe_fn)]

use crate::block_io::BlockIoDevice;
use crate::instances::Instances;
use crate::storage_error::{status, Error};
use alloc::boxed::Box;
use alloc::vec;
use alloc::vec::Vec;
use core::cell::UnsafeCell;
use core::ffi::c_void;
use fw_core::caller_buffer;
use fw_drivers::block::{BlockDevice, BlockError};
use r_efi::efi::Status;
use r_efi::protocols::disk_io;

const SIGNATURE: u64 = u64::from_le_bytes(*b"hvfwDskI");

/// Every instance created here (never freed).
static INSTANCES: Instances<DiskIoDevice> = Instances::new();

/// Where a byte range falls on the device's blocks.
struct Split {
    block_size: usize,
    /// Block holding the first byte, and where in it the range starts.
    head_lba: u64,
    head_skip: usize,
    /// Bytes taken from the head block when the range starts mid-block.
    head_len: usize,
    /// First whole block and the bytes of whole blocks.
    middle_lba: u64,
    middle_len: usize,
    /// Bytes at the end that fill only the start of one more block.
    tail_len: usize,
}

impl Split {
    fn tail_lba(&self) -> u64 {
        self.middle_lba + (self.middle_len / self.block_size) as u64
    }
}

/// Checks `len` bytes at `offset` against the device and splits the range.
fn split(device: &dyn BlockDevice, offset: u64, len: usize) -> Result<Split, Error> {
    let block_size = device.block_size();
    if block_size == 0 {
        return Err(Error::Device(BlockError::UnalignedBuffer { len, block_size }));
    }
    let disk_bytes = device.block_count().saturating_mul(u64::from(block_size));
    let end = offset.checked_add(len as u64).filter(|&end| end <= disk_bytes);
    if end.is_none() || isize::try_from(len).is_err() {
        return Err(Error::BytesOutOfRange {
            offset,
            len,
            disk_bytes,
        });
    }
    let bs = u64::from(block_size);
    let head_skip = (offset % bs) as usize;
    let head_len = if head_skip == 0 {
        0
    } else {
        len.min(block_size as usize - head_skip)
    };
    let rest = len - head_len;
    let middle_len = rest - rest % block_size as usize;
    Ok(Split {
        block_size: block_size as usize,
        head_lba: offset / bs,
        head_skip,
        head_len,
        middle_lba: (offset + head_len as u64) / bs,
        middle_len,
        tail_len: rest - middle_len,
    })
}

/// Whether `len` bytes at `offset` lie on `device` (and fit a slice).
pub(crate) fn check_range(device: &dyn BlockDevice, offset: u64, len: usize) -> Result<(), Error> {
    split(device, offset, len).map(|_| ())
}

/// Reads `buffer.len()` bytes at byte `offset` of `device`.
pub fn read_disk(device: &dyn BlockDevice, offset: u64, buffer: &mut [u8]) -> Result<(), Error> {
    let s = split(device, offset, buffer.len())?;
    let (head, rest) = buffer.split_at_mut(s.head_len);
    let (middle, tail) = rest.split_at_mut(s.middle_len);
    let mut bounce = Vec::new();
    if !head.is_empty() {
        bounce.resize(s.block_size, 0);
        device.read_blocks(s.head_lba, &mut bounce)?;
        head.copy_from_slice(&bounce[s.head_skip..s.head_skip + s.head_len]);
    }
    if !middle.is_empty() {
        device.read_blocks(s.middle_lba, middle)?;
    }
    if !tail.is_empty() {
        bounce.resize(s.block_size, 0);
        device.read_blocks(s.tail_lba(), &mut bounce)?;
        tail.copy_from_slice(&bounce[..s.tail_len]);
    }
    Ok(())
}

/// Writes `buffer` at byte `offset` of `device`; partial blocks are read,
/// patched and written back.
pub fn write_disk(device: &dyn BlockDevice, offset: u64, buffer: &[u8]) -> Result<(), Error> {
    let s = split(device, offset, buffer.len())?;
    if device.read_only() {
        return Err(Error::WriteProtected);
    }
    let (head, rest) = buffer.split_at(s.head_len);
    let (middle, tail) = rest.split_at(s.middle_len);
    if !head.is_empty() {
        let mut bounce = vec![0u8; s.block_size];
        device.read_blocks(s.head_lba, &mut bounce)?;
        bounce[s.head_skip..s.head_skip + s.head_len].copy_from_slice(head);
        device.write_blocks(s.head_lba, &bounce)?;
    }
    if !middle.is_empty() {
        device.write_blocks(s.middle_lba, middle)?;
    }
    if !tail.is_empty() {
        let mut bounce = vec![0u8; s.block_size];
        device.read_blocks(s.tail_lba(), &mut bounce)?;
        bounce[..s.tail_len].copy_from_slice(tail);
        device.write_blocks(s.tail_lba(), &bounce)?;
    }
    Ok(())
}

/// One DiskIo instance over a BlockIo instance's device.
#[repr(C)]
pub struct DiskIoDevice {
    protocol: UnsafeCell<disk_io::Protocol>,
    signature: u64,
    block_io: &'static BlockIoDevice,
}

// SAFETY: the protocol struct is written only in `create`, before the instance
// is shared; the BlockIo instance is Sync.
unsafe impl Send for DiskIoDevice {}
// SAFETY: as above.
unsafe impl Sync for DiskIoDevice {}

impl DiskIoDevice {
    /// Creates the DiskIo instance for `block_io`'s device and leaks it. Install
    /// it on the same handle as the BlockIo (`disk_io::PROTOCOL_GUID`).
    pub fn create(block_io: &'static BlockIoDevice) -> &'static DiskIoDevice {
        let instance = Box::leak(Box::new(DiskIoDevice {
            protocol: UnsafeCell::new(disk_io::Protocol {
                revision: disk_io::REVISION,
                read_disk: efi_transfer::<READ>,
                write_disk: efi_transfer::<WRITE>,
            }),
            signature: SIGNATURE,
            block_io,
        }));
        INSTANCES.register(instance);
        instance
    }

    /// The `EFI_DISK_IO_PROTOCOL` to install.
    pub fn protocol(&self) -> *mut disk_io::Protocol {
        self.protocol.get()
    }
}

fn instance(this: *mut disk_io::Protocol) -> Option<&'static DiskIoDevice> {
    INSTANCES.find(this).filter(|i| i.signature == SIGNATURE)
}

/// ReadDisk's and WriteDisk's shared checks, in the specification's order:
/// `This`, the media, a NULL buffer, nothing to do for zero bytes, the range
/// on the device; then `io` moves the bytes.
fn checked_transfer(
    this: *mut disk_io::Protocol,
    media_id: u32,
    offset: u64,
    buffer_size: usize,
    buffer: *mut c_void,
    service: &str,
    io: impl FnOnce(&dyn BlockDevice) -> Result<(), Error>,
) -> Status {
    let Some(disk) = instance(this) else {
        return Status::INVALID_PARAMETER;
    };
    let device = disk.block_io.device().as_ref();
    let result = disk.block_io.check_media(media_id).and_then(|()| {
        if buffer.is_null() {
            return Err(Error::NullBuffer);
        }
        if buffer_size == 0 {
            return Ok(());
        }
        split(device, offset, buffer_size)?;
        io(device)
    });
    status(result, service)
}

/// Whether a transfer writes the disk, as [`efi_transfer`]'s const parameter.
const READ: bool = false;
const WRITE: bool = true;

/// ReadDisk and WriteDisk (§13.7.2, §13.7.3).
unsafe extern "efiapi" fn efi_transfer<const WRITE: bool>(
    this: *mut disk_io::Protocol,
    media_id: u32,
    offset: u64,
    buffer_size: usize,
    buffer: *mut c_void,
) -> Status {
    let service = if WRITE { "WriteDisk" } else { "ReadDisk" };
    checked_transfer(this, media_id, offset, buffer_size, buffer, service, |device| {
        if WRITE {
            // SAFETY: the caller provides `buffer_size` readable bytes
            // (§13.7.3); the claim is checked first.
            let buffer = unsafe { caller_buffer::slice(buffer.cast::<u8>(), buffer_size) }.map_err(Error::Buffer)?;
            write_disk(device, offset, buffer)
        } else {
            // SAFETY: the caller provides `buffer_size` writable bytes
            // (§13.7.2); the claim is checked first.
            let buffer =
                unsafe { caller_buffer::slice_mut(buffer.cast::<u8>(), buffer_size) }.map_err(Error::Buffer)?;
            read_disk(device, offset, buffer)
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::block_io::tests::{patterned_disk, FailingDisk};
    use crate::block_io::MEDIA_ID;
    use alloc::sync::Arc;
    use fw_drivers::block::MemoryDisk;
    use std::sync::Mutex as StdMutex;

    /// A memory disk that records every request as (write?, lba, bytes).
    struct RecordingDisk {
        disk: MemoryDisk,
        requests: StdMutex<Vec<(bool, u64, usize)>>,
    }

    impl RecordingDisk {
        fn new(blocks: usize, block_size: u32) -> Arc<RecordingDisk> {
            Arc::new(RecordingDisk {
                disk: MemoryDisk::new(patterned_disk(blocks, block_size), block_size),
                requests: StdMutex::new(Vec::new()),
            })
        }
        fn take_requests(&self) -> Vec<(bool, u64, usize)> {
            core::mem::take(&mut *self.requests.lock().unwrap())
        }
    }

    impl BlockDevice for RecordingDisk {
        fn block_size(&self) -> u32 {
            self.disk.block_size()
        }
        fn block_count(&self) -> u64 {
            self.disk.block_count()
        }
        fn read_only(&self) -> bool {
            BlockDevice::read_only(&self.disk)
        }
        fn read_blocks(&self, lba: u64, buf: &mut [u8]) -> Result<(), BlockError> {
            self.requests.lock().unwrap().push((false, lba, buf.len()));
            self.disk.read_blocks(lba, buf)
        }
        fn write_blocks(&self, lba: u64, buf: &[u8]) -> Result<(), BlockError> {
            self.requests.lock().unwrap().push((true, lba, buf.len()));
            self.disk.write_blocks(lba, buf)
        }
    }

    fn setup(disk: Arc<dyn BlockDevice>) -> *mut disk_io::Protocol {
        DiskIoDevice::create(BlockIoDevice::create(disk, false)).protocol()
    }

    fn read(protocol: *mut disk_io::Protocol, offset: u64, buffer: &mut [u8]) -> Status {
        // SAFETY: calling the protocol as an application would.
        unsafe { ((*protocol).read_disk)(protocol, MEDIA_ID, offset, buffer.len(), buffer.as_mut_ptr().cast()) }
    }

    fn write(protocol: *mut disk_io::Protocol, offset: u64, buffer: &[u8]) -> Status {
        // SAFETY: calling the protocol as an application would; WriteDisk only reads the buffer.
        unsafe {
            ((*protocol).write_disk)(
                protocol,
                MEDIA_ID,
                offset,
                buffer.len(),
                buffer.as_ptr().cast_mut().cast(),
            )
        }
    }

    const OFFSETS: [u64; 9] = [0, 1, 100, 511, 512, 513, 1023, 1536, 4000];
    const LENGTHS: [usize; 10] = [0, 1, 2, 100, 411, 511, 512, 513, 1024, 3000];

    #[test]
    fn disk_io_unaligned_reads_match_the_disk_bytes() {
        for block_size in [512u32, 4096] {
            let disk = RecordingDisk::new(16, block_size);
            let model = disk.disk.contents();
            let protocol = setup(disk.clone());
            for offset in OFFSETS {
                for len in LENGTHS {
                    let mut buffer = vec![0xEEu8; len];
                    assert_eq!(read(protocol, offset, &mut buffer), Status::SUCCESS, "{offset}+{len}");
                    let start = offset as usize;
                    assert_eq!(
                        buffer,
                        &model[start..start + len],
                        "{offset}+{len} (block {block_size})"
                    );
                    // At most a head, a middle and a tail request.
                    assert!(disk.take_requests().len() <= 3);
                }
            }
        }
    }

    #[test]
    fn disk_io_unaligned_writes_match_a_model() {
        let disk = RecordingDisk::new(16, 512);
        let mut model = disk.disk.contents();
        let protocol = setup(disk.clone());
        let mut fill = 0u8;
        for offset in OFFSETS {
            for len in LENGTHS {
                fill = fill.wrapping_add(37);
                let data: Vec<u8> = (0..len).map(|i| fill ^ i as u8).collect();
                assert_eq!(write(protocol, offset, &data), Status::SUCCESS, "{offset}+{len}");
                model[offset as usize..offset as usize + len].copy_from_slice(&data);
                assert_eq!(disk.disk.contents(), model, "after writing {len} bytes at {offset}");
            }
        }
    }

    #[test]
    fn disk_io_aligned_middle_is_one_request_in_the_callers_buffer() {
        let disk = RecordingDisk::new(64, 512);
        let protocol = setup(disk.clone());
        let mut buffer = vec![0u8; 100 + 20 * 512 + 7];
        assert_eq!(read(protocol, 412, &mut buffer), Status::SUCCESS);
        assert_eq!(
            disk.take_requests(),
            vec![(false, 0, 512), (false, 1, 20 * 512), (false, 21, 512)]
        );
        assert_eq!(write(protocol, 412, &buffer), Status::SUCCESS);
        assert_eq!(
            disk.take_requests(),
            vec![
                (false, 0, 512),
                (true, 0, 512),
                (true, 1, 20 * 512),
                (false, 21, 512),
                (true, 21, 512)
            ]
        );
        let mut aligned = vec![0u8; 8 * 512];
        assert_eq!(read(protocol, 1024, &mut aligned), Status::SUCCESS);
        assert_eq!(disk.take_requests(), vec![(false, 2, 8 * 512)]);
        // Both ends inside one block: a single bounce read.
        let mut inside = [0u8; 10];
        assert_eq!(read(protocol, 1030, &mut inside), Status::SUCCESS);
        assert_eq!(disk.take_requests(), vec![(false, 2, 512)]);
    }

    #[test]
    fn disk_io_errors_follow_the_spec() {
        let disk = RecordingDisk::new(4, 512);
        let protocol = setup(disk.clone());
        let mut buffer = [0u8; 16];
        let null = core::ptr::null_mut();
        // SAFETY: calling the protocol as an application would; bad arguments
        // must be rejected without touching memory.
        unsafe {
            let p = &*protocol;
            for op in [p.read_disk, p.write_disk] {
                let ptr = buffer.as_mut_ptr().cast();
                assert_eq!(op(protocol, 3, 0, 16, ptr), Status::MEDIA_CHANGED);
                assert_eq!(op(protocol, MEDIA_ID, 0, 16, null), Status::INVALID_PARAMETER);
                assert_eq!(op(protocol, MEDIA_ID, 5000, 0, ptr), Status::SUCCESS);
                assert_eq!(op(protocol, MEDIA_ID, 2048 - 15, 16, ptr), Status::INVALID_PARAMETER);
                assert_eq!(op(protocol, MEDIA_ID, 2048, 1, ptr), Status::INVALID_PARAMETER);
                assert_eq!(op(protocol, MEDIA_ID, u64::MAX, 16, ptr), Status::INVALID_PARAMETER);
                assert_eq!(op(null.cast(), MEDIA_ID, 0, 16, ptr), Status::INVALID_PARAMETER);
                assert_eq!(op(ptr.cast(), MEDIA_ID, 0, 16, ptr), Status::INVALID_PARAMETER);
            }
        }
        assert!(disk.take_requests().is_empty());
        assert_eq!(read(protocol, 2048 - 16, &mut buffer), Status::SUCCESS);
    }

    #[test]
    fn disk_io_write_to_read_only_device_is_write_protected() {
        let disk = Arc::new(MemoryDisk::new(vec![0; 2048], 512).read_only());
        let protocol = setup(disk.clone());
        assert_eq!(write(protocol, 10, &[1, 2, 3]), Status::WRITE_PROTECTED);
        assert_eq!(write(protocol, 2047, &[1, 2, 3]), Status::INVALID_PARAMETER);
        assert_eq!(disk.write_requests(), 0);
    }

    #[test]
    fn disk_io_device_failures_are_device_errors() {
        let protocol = setup(Arc::new(FailingDisk));
        let mut buffer = [0u8; 700];
        assert_eq!(read(protocol, 3, &mut buffer), Status::DEVICE_ERROR);
        assert_eq!(write(protocol, 512, &buffer[..512]), Status::DEVICE_ERROR);
        assert_eq!(
            read_disk(&FailingDisk, 0, &mut buffer),
            Err(Error::Device(BlockError::DeviceError { lba: 0, status: 1 }))
        );
    }
}
