//! The one block-device interface shared by virtio-blk, partition views and the
//! memory-backed disk that host tests use.
#![forbid(unsafe_code)]

use alloc::vec::Vec;
use core::fmt;
use core::sync::atomic::{AtomicU64, Ordering};
use spin::Mutex;

/// Why a block operation failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BlockError {
    /// The request reaches past the last block.
    OutOfRange {
        /// The first block asked for.
        lba: u64,
        /// How many blocks.
        blocks: u64,
        /// The device's number of blocks.
        block_count: u64,
    },
    /// The buffer is not a whole number of blocks.
    UnalignedBuffer {
        /// The buffer's size in bytes.
        len: usize,
        /// The device's block size.
        block_size: u32,
    },
    /// The device is read-only.
    ReadOnly,
    /// The device reported an error for the request (virtio-blk status, ...).
    DeviceError {
        /// The request's first block.
        lba: u64,
        /// The device's status for it.
        status: u8,
    },
    /// The device did not complete the request in time.
    Timeout {
        /// The request's first block.
        lba: u64,
    },
    /// The device does not support the operation.
    Unsupported,
}

impl fmt::Display for BlockError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BlockError::OutOfRange {
                lba,
                blocks,
                block_count,
            } => write!(
                f,
                "request for {blocks} blocks at LBA {lba} is beyond the device's {block_count} blocks"
            ),
            BlockError::UnalignedBuffer { len, block_size } => {
                write!(
                    f,
                    "buffer of {len} bytes is not a multiple of the {block_size}-byte block size"
                )
            }
            BlockError::ReadOnly => write!(f, "device is read-only"),
            BlockError::DeviceError { lba, status } => {
                write!(f, "device error (status {status}) at LBA {lba}")
            }
            BlockError::Timeout { lba } => write!(f, "device did not answer a request at LBA {lba}"),
            BlockError::Unsupported => write!(f, "operation not supported by the device"),
        }
    }
}

/// A device of fixed-size blocks. Methods take `&self`: devices keep their own
/// locking, so that partition views and file systems can share one device.
pub trait BlockDevice: Send + Sync {
    /// Bytes per block (512 or 4096 in practice).
    fn block_size(&self) -> u32;
    /// Number of blocks.
    fn block_count(&self) -> u64;
    /// Whether the device refuses writes.
    fn read_only(&self) -> bool {
        false
    }
    /// Reads `buf.len() / block_size` blocks starting at `lba`.
    fn read_blocks(&self, lba: u64, buf: &mut [u8]) -> Result<(), BlockError>;
    /// Writes `buf.len() / block_size` blocks starting at `lba`.
    fn write_blocks(&self, lba: u64, buf: &[u8]) -> Result<(), BlockError>;
    /// Makes completed writes durable.
    fn flush(&self) -> Result<(), BlockError> {
        Ok(())
    }
    /// The device's identification string (virtio-blk's GET_ID: the serial
    /// the VMM was given), for EFI_DISK_INFO_PROTOCOL.
    fn device_id(&self) -> Result<[u8; 20], BlockError> {
        Err(BlockError::Unsupported)
    }
    /// Gives the device the name its own messages use, e.g. "disk 0 (virtio-blk
    /// at PCI 00:03.0)". Devices that report nothing themselves ignore it.
    fn set_name(&self, _name: &str) {}
}

/// Checks a request against a device's geometry; returns the number of blocks.
pub fn check_request(lba: u64, len: usize, block_size: u32, block_count: u64) -> Result<u64, BlockError> {
    if block_size == 0 || !len.is_multiple_of(block_size as usize) {
        return Err(BlockError::UnalignedBuffer { len, block_size });
    }
    let blocks = (len / block_size as usize) as u64;
    match lba.checked_add(blocks) {
        Some(end) if end <= block_count => Ok(blocks),
        _ => Err(BlockError::OutOfRange {
            lba,
            blocks,
            block_count,
        }),
    }
}

/// A disk held in memory: an image file read by a host test, or a RAM disk.
/// It counts requests, so tests can check that readers coalesce them.
pub struct MemoryDisk {
    block_size: u32,
    data: Mutex<Vec<u8>>,
    read_only: bool,
    reads: AtomicU64,
    writes: AtomicU64,
}

impl MemoryDisk {
    /// A disk over `data`, which must be a whole number of blocks.
    pub fn new(data: Vec<u8>, block_size: u32) -> MemoryDisk {
        assert!(
            block_size > 0 && data.len().is_multiple_of(block_size as usize),
            "image is not whole blocks"
        );
        MemoryDisk {
            block_size,
            data: Mutex::new(data),
            read_only: false,
            reads: AtomicU64::new(0),
            writes: AtomicU64::new(0),
        }
    }

    /// The same disk, refusing writes.
    pub fn read_only(mut self) -> MemoryDisk {
        self.read_only = true;
        self
    }

    /// A copy of the disk's bytes (to write back to an image file).
    pub fn contents(&self) -> Vec<u8> {
        self.data.lock().clone()
    }

    /// Read requests served so far.
    pub fn read_requests(&self) -> u64 {
        self.reads.load(Ordering::Relaxed)
    }

    /// Write requests served so far.
    pub fn write_requests(&self) -> u64 {
        self.writes.load(Ordering::Relaxed)
    }
}

impl BlockDevice for MemoryDisk {
    fn block_size(&self) -> u32 {
        self.block_size
    }

    fn block_count(&self) -> u64 {
        (self.data.lock().len() / self.block_size as usize) as u64
    }

    fn read_only(&self) -> bool {
        self.read_only
    }

    fn read_blocks(&self, lba: u64, buf: &mut [u8]) -> Result<(), BlockError> {
        check_request(lba, buf.len(), self.block_size, self.block_count())?;
        self.reads.fetch_add(1, Ordering::Relaxed);
        let start = lba as usize * self.block_size as usize;
        buf.copy_from_slice(&self.data.lock()[start..start + buf.len()]);
        Ok(())
    }

    fn write_blocks(&self, lba: u64, buf: &[u8]) -> Result<(), BlockError> {
        if self.read_only {
            return Err(BlockError::ReadOnly);
        }
        check_request(lba, buf.len(), self.block_size, self.block_count())?;
        self.writes.fetch_add(1, Ordering::Relaxed);
        let start = lba as usize * self.block_size as usize;
        self.data.lock()[start..start + buf.len()].copy_from_slice(buf);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::vec;

    #[test]
    fn memory_disk_reads_back_what_was_written() {
        let disk = MemoryDisk::new(vec![0; 8 * 512], 512);
        disk.write_blocks(2, &[7u8; 1024]).unwrap();
        let mut buf = [0u8; 1536];
        disk.read_blocks(1, &mut buf).unwrap();
        assert!(buf[..512].iter().all(|&b| b == 0));
        assert!(buf[512..].iter().all(|&b| b == 7));
        assert_eq!((disk.read_requests(), disk.write_requests()), (1, 1));
    }

    #[test]
    fn rejects_requests_past_the_end_or_unaligned() {
        let disk = MemoryDisk::new(vec![0; 4 * 512], 512);
        let mut buf = [0u8; 1024];
        assert_eq!(
            disk.read_blocks(3, &mut buf),
            Err(BlockError::OutOfRange {
                lba: 3,
                blocks: 2,
                block_count: 4
            })
        );
        assert_eq!(
            disk.read_blocks(0, &mut buf[..100]),
            Err(BlockError::UnalignedBuffer {
                len: 100,
                block_size: 512
            })
        );
        assert_eq!(
            disk.read_blocks(u64::MAX, &mut buf).unwrap_err(),
            BlockError::OutOfRange {
                lba: u64::MAX,
                blocks: 2,
                block_count: 4
            }
        );
    }

    #[test]
    fn read_only_disk_refuses_writes() {
        let disk = MemoryDisk::new(vec![0; 512], 512).read_only();
        assert_eq!(disk.write_blocks(0, &[0; 512]), Err(BlockError::ReadOnly));
    }
}
