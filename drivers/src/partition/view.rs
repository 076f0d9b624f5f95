//! A partition as a block device of its own: what a partition's EFI BlockIo
//! (UEFI 2.10 §13.9) and the file system on it see.
#![forbid(unsafe_code)]

use super::PartitionInfo;
use crate::block::{check_request, BlockDevice, BlockError};
use alloc::sync::Arc;

/// A window of `block_count` blocks starting at `start_lba` of a disk. LBAs are
/// relative to the partition; requests reaching past its end fail with
/// [`BlockError::OutOfRange`] (in partition blocks) and never touch the disk.
pub struct Partition {
    disk: Arc<dyn BlockDevice>,
    start_lba: u64,
    block_count: u64,
}

impl Partition {
    /// The view of a partition found by [`super::read_partition_table`] on `disk`.
    pub fn new(disk: Arc<dyn BlockDevice>, info: &PartitionInfo) -> Result<Partition, BlockError> {
        Partition::from_range(disk, info.start_lba, info.size_lbas)
    }

    /// A view of `block_count` blocks at `start_lba`, which must lie on the disk.
    pub fn from_range(disk: Arc<dyn BlockDevice>, start_lba: u64, block_count: u64) -> Result<Partition, BlockError> {
        let disk_blocks = disk.block_count();
        match start_lba.checked_add(block_count) {
            Some(end) if end <= disk_blocks => Ok(Partition {
                disk,
                start_lba,
                block_count,
            }),
            _ => Err(BlockError::OutOfRange {
                lba: start_lba,
                blocks: block_count,
                block_count: disk_blocks,
            }),
        }
    }

    /// The disk LBA of the partition's first block.
    pub fn start_lba(&self) -> u64 {
        self.start_lba
    }

    /// The whole disk under this view.
    pub fn disk(&self) -> &Arc<dyn BlockDevice> {
        &self.disk
    }
}

impl BlockDevice for Partition {
    fn block_size(&self) -> u32 {
        self.disk.block_size()
    }

    fn block_count(&self) -> u64 {
        self.block_count
    }

    fn read_only(&self) -> bool {
        self.disk.read_only()
    }

    fn read_blocks(&self, lba: u64, buf: &mut [u8]) -> Result<(), BlockError> {
        check_request(lba, buf.len(), self.block_size(), self.block_count)?;
        self.disk.read_blocks(self.start_lba + lba, buf)
    }

    fn write_blocks(&self, lba: u64, buf: &[u8]) -> Result<(), BlockError> {
        check_request(lba, buf.len(), self.block_size(), self.block_count)?;
        self.disk.write_blocks(self.start_lba + lba, buf)
    }

    fn flush(&self) -> Result<(), BlockError> {
        self.disk.flush()
    }
}
