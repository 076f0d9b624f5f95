//! Partition tables: GPT (UEFI 2.10 §5.3) with its protective MBR (§5.2.3), and the
//! legacy MBR (§5.2.1) on disks without a GPT. [`read_partition_table`] finds the
//! partitions of a disk; [`Partition`] is a block device restricted to one of them, and
//! [`PartitionInfo`] carries what an EFI `HD()` device-path node (§10.3.5.1) needs.
#![forbid(unsafe_code)]

mod gpt;
mod guid;
mod mbr;
mod view;

#[cfg(test)]
mod tests;

pub use gpt::{GPT_HEADER_REVISION, GPT_HEADER_SIGNATURE, PRIMARY_HEADER_LBA};
pub use guid::{Guid, EFI_SYSTEM_PARTITION, LINUX_FILESYSTEM, XBOOTLDR};
pub use mbr::{MBR_TYPE_EXTENDED, MBR_TYPE_EXTENDED_LBA, MBR_TYPE_GPT_PROTECTIVE};
pub use view::Partition;

use crate::block::{BlockDevice, BlockError};
use alloc::boxed::Box;
use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;
use core::fmt;

/// `MBRType` of an `HD()` node: a PC-AT MBR (UEFI 2.10 §10.3.5.1).
pub const MBR_TYPE_PCAT: u8 = 0x01;
/// `MBRType` of an `HD()` node: a GUID partition table.
pub const MBR_TYPE_EFI_PARTITION_TABLE_HEADER: u8 = 0x02;
/// `SignatureType` of an `HD()` node: the 32-bit MBR disk signature.
pub const SIGNATURE_TYPE_MBR: u8 = 0x01;
/// `SignatureType` of an `HD()` node: the partition's unique GUID.
pub const SIGNATURE_TYPE_GUID: u8 = 0x02;

/// The smallest block that holds an MBR (and a GPT header).
const MIN_BLOCK_SIZE: u32 = 512;

/// Which kind of table a partition came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PartitionFormat {
    /// A master boot record's four slots.
    Mbr,
    /// A GUID partition table.
    Gpt,
}

impl PartitionFormat {
    /// The `MBRType` field of an `HD()` node.
    pub fn mbr_type(self) -> u8 {
        match self {
            PartitionFormat::Mbr => MBR_TYPE_PCAT,
            PartitionFormat::Gpt => MBR_TYPE_EFI_PARTITION_TABLE_HEADER,
        }
    }
}

/// The signature an `HD()` node uses to recognise a partition again.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Signature {
    /// The MBR's disk signature (byte 440); the same for all partitions of the disk.
    Mbr(u32),
    /// A GPT partition's unique GUID (or, for a [`PartitionTable`], the disk GUID).
    Guid(Guid),
}

impl Signature {
    /// The `SignatureType` field of an `HD()` node.
    pub fn signature_type(&self) -> u8 {
        match self {
            Signature::Mbr(_) => SIGNATURE_TYPE_MBR,
            Signature::Guid(_) => SIGNATURE_TYPE_GUID,
        }
    }

    /// The 16-byte `Signature` field of an `HD()` node: an MBR signature fills the
    /// first four bytes (little-endian) and zeros the rest.
    pub fn to_bytes(&self) -> [u8; 16] {
        match self {
            Signature::Mbr(signature) => {
                let mut bytes = [0u8; 16];
                bytes[..4].copy_from_slice(&signature.to_le_bytes());
                bytes
            }
            Signature::Guid(guid) => guid.to_bytes(),
        }
    }
}

/// A partition's type: a GPT partition type GUID or an MBR `OSType` byte.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PartitionType {
    /// A GPT partition type GUID.
    Gpt(Guid),
    /// An MBR `OSType` byte.
    Mbr(u8),
}

impl fmt::Display for PartitionType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PartitionType::Gpt(guid) => write!(f, "{guid}"),
            PartitionType::Mbr(os_type) => write!(f, "MBR type {os_type:#04x}"),
        }
    }
}

/// `OSType` of an EFI System Partition in an MBR (UEFI 2.10 §5.2.2).
pub const MBR_TYPE_EFI_SYSTEM_PARTITION: u8 = 0xEF;

/// One partition, with what an `HD()` device-path node needs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PartitionInfo {
    /// 1-based: the GPT entry index + 1, or the MBR slot (1..=4).
    pub number: u32,
    /// The first block.
    pub start_lba: u64,
    /// Size in blocks of the disk.
    pub size_lbas: u64,
    /// What an `HD()` node matches the partition by.
    pub signature: Signature,
    /// The kind of table it came from.
    pub format: PartitionFormat,
    /// Its type.
    pub partition_type: PartitionType,
    /// The GPT partition name; empty for MBR partitions.
    pub name: String,
    /// GPT attribute bits (UEFI 2.10 Table 5.8); 0 for MBR partitions.
    pub attributes: u64,
    /// MBR boot indicator 0x80, or GPT attribute bit 2 (legacy BIOS bootable).
    pub bootable: bool,
    /// The table's entry as stored on disk: the 16-byte MBR partition record
    /// (Table 5.2) or the GPT partition entry's first 128 bytes (Table 5.6),
    /// which EFI_PARTITION_INFO_PROTOCOL hands out (§13.18).
    pub entry: Vec<u8>,
}

impl PartitionInfo {
    /// The last block of the partition (inclusive).
    pub fn last_lba(&self) -> u64 {
        self.start_lba + self.size_lbas.saturating_sub(1)
    }

    /// Whether this is an EFI System Partition (GPT type GUID or MBR type 0xEF).
    pub fn is_efi_system_partition(&self) -> bool {
        match self.partition_type {
            PartitionType::Gpt(guid) => guid == EFI_SYSTEM_PARTITION,
            PartitionType::Mbr(os_type) => os_type == MBR_TYPE_EFI_SYSTEM_PARTITION,
        }
    }
}

/// The partitions of a disk.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PartitionTable {
    /// The kind of table.
    pub format: PartitionFormat,
    /// The GPT disk GUID, or the MBR disk signature.
    pub disk_signature: Signature,
    /// Used partitions, in table order (empty GPT entries are left out).
    pub partitions: Vec<PartitionInfo>,
    /// The primary GPT was damaged and the backup at the last LBA was read.
    pub used_backup_gpt: bool,
    /// Damage worked around while reading the table, for the caller to report.
    pub damage: Vec<Damage>,
}

/// Damage in a GPT that still leaves partitions to use.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Damage {
    /// A used entry (0-based `index`) failed `why`'s check and is left out; the
    /// other entries are kept.
    EntryLeftOut {
        /// The entry's index (0-based).
        index: u32,
        /// The check it failed.
        why: Error,
    },
    /// Neither copy is intact: the entries of the header at `used_lba` are used
    /// although their array fails its CRC32, each entry checked on its own.
    EntryArrayCrc {
        /// Why the primary GPT is unusable.
        primary: Box<Error>,
        /// Why the backup GPT is unusable.
        backup: Box<Error>,
        /// The header whose entries were used.
        used_lba: u64,
    },
}

impl fmt::Display for Damage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Damage::EntryLeftOut { index, why } => {
                write!(f, "{why}; partition {} is left out", index + 1)
            }
            Damage::EntryArrayCrc {
                primary,
                backup,
                used_lba,
            } => write!(
                f,
                "no intact GPT (primary: {primary}; backup: {backup}); using the entries of the \
                 header at LBA {used_lba} that pass their own checks"
            ),
        }
    }
}

/// Why a disk's partitions could not be read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Error {
    /// LBA 0 holds no MBR signature (0xAA55), or an MBR with no partition.
    NoPartitionTable,
    /// The block size is too small to hold an MBR or a GPT header.
    UnsupportedBlockSize {
        /// The device's block size.
        block_size: u32,
    },
    /// The block holds no "EFI PART" GPT header.
    BadSignature {
        /// The block read.
        lba: u64,
    },
    /// The GPT header's revision is not 1.x.
    UnsupportedRevision {
        /// The header's block.
        lba: u64,
        /// Its `Revision`.
        revision: u32,
    },
    /// `HeaderSize` is below 92 bytes or larger than a block.
    BadHeaderSize {
        /// The header's block.
        lba: u64,
        /// Its `HeaderSize`.
        size: u32,
    },
    /// `HeaderCRC32` does not match the header (`expected` is the stored value).
    HeaderCrcMismatch {
        /// The header's block.
        lba: u64,
        /// The stored CRC.
        expected: u32,
        /// The CRC computed.
        found: u32,
    },
    /// `MyLBA` does not name the block the header was read from.
    WrongMyLba {
        /// The block read.
        lba: u64,
        /// The header's `MyLBA`.
        my_lba: u64,
    },
    /// `FirstUsableLBA`..`LastUsableLBA` is empty, off the disk or covers the header.
    BadUsableRange {
        /// The header's block.
        lba: u64,
        /// `FirstUsableLBA`.
        first: u64,
        /// `LastUsableLBA`.
        last: u64,
    },
    /// `SizeOfPartitionEntry` is not 128 × 2^n.
    BadEntrySize {
        /// The header's block.
        lba: u64,
        /// `SizeOfPartitionEntry`.
        size: u32,
    },
    /// The entry array is larger than this firmware reads.
    EntryArrayTooLarge {
        /// The header's block.
        lba: u64,
        /// `NumberOfPartitionEntries`.
        count: u32,
        /// `SizeOfPartitionEntry`.
        size: u32,
    },
    /// The entry array lies off the disk or over the header or the usable blocks.
    BadEntryArrayLocation {
        /// The header's block.
        lba: u64,
        /// `PartitionEntryLBA`.
        entry_lba: u64,
        /// The array's size in blocks.
        blocks: u64,
    },
    /// `PartitionEntryArrayCRC32` does not match the entries.
    EntriesCrcMismatch {
        /// The header's block.
        lba: u64,
        /// The stored CRC.
        expected: u32,
        /// The CRC computed.
        found: u32,
    },
    /// Neither the primary nor the backup GPT is usable.
    BothHeadersBad {
        /// Why the primary is unusable.
        primary: Box<Error>,
        /// Why the backup is unusable.
        backup: Box<Error>,
    },
    /// A partition reaches outside the usable blocks (GPT) or the disk (MBR).
    /// `index` is 0-based: the GPT entry index or the MBR slot.
    EntryOutsideDisk {
        /// The entry's index.
        index: u32,
        /// Its first block.
        first_lba: u64,
        /// Its last block.
        last_lba: u64,
    },
    /// A partition ends before it starts.
    EntryEndsBeforeStart {
        /// The entry's index.
        index: u32,
        /// Its first block.
        first_lba: u64,
        /// Its last block.
        last_lba: u64,
    },
    /// Entries `a` and `b` (0-based, `a` < `b`) share blocks.
    OverlappingEntries {
        /// One entry's index.
        a: u32,
        /// The other's.
        b: u32,
    },
    /// Reading the disk failed.
    Block(BlockError),
}

impl From<BlockError> for Error {
    fn from(error: BlockError) -> Error {
        Error::Block(error)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::NoPartitionTable => write!(f, "no MBR or GPT partition table"),
            Error::UnsupportedBlockSize { block_size } => {
                write!(f, "{block_size}-byte blocks are too small for a partition table")
            }
            Error::BadSignature { lba } => write!(f, "no \"EFI PART\" GPT header at LBA {lba}"),
            Error::UnsupportedRevision { lba, revision } => {
                write!(f, "GPT header at LBA {lba} has unsupported revision {revision:#010x}")
            }
            Error::BadHeaderSize { lba, size } => {
                write!(f, "GPT header at LBA {lba} has invalid size {size}")
            }
            Error::HeaderCrcMismatch { lba, expected, found } => write!(
                f,
                "GPT header at LBA {lba} has CRC32 {found:#010x}, header says {expected:#010x}"
            ),
            Error::WrongMyLba { lba, my_lba } => {
                write!(f, "GPT header at LBA {lba} says it is at LBA {my_lba}")
            }
            Error::BadUsableRange { lba, first, last } => {
                write!(f, "GPT header at LBA {lba} has invalid usable blocks {first}..={last}")
            }
            Error::BadEntrySize { lba, size } => {
                write!(f, "GPT header at LBA {lba} has invalid entry size {size}")
            }
            Error::EntryArrayTooLarge { lba, count, size } => write!(
                f,
                "GPT header at LBA {lba} has {count} entries of {size} bytes, more than supported"
            ),
            Error::BadEntryArrayLocation { lba, entry_lba, blocks } => write!(
                f,
                "GPT header at LBA {lba} puts its entry array ({blocks} blocks at LBA {entry_lba}) \
                 off the disk or over the header or partitions"
            ),
            Error::EntriesCrcMismatch { lba, expected, found } => write!(
                f,
                "GPT entry array of the header at LBA {lba} has CRC32 {found:#010x}, \
                 header says {expected:#010x}"
            ),
            Error::BothHeadersBad { primary, backup } => {
                write!(f, "both GPT headers are damaged: primary: {primary}; backup: {backup}")
            }
            Error::EntryOutsideDisk {
                index,
                first_lba,
                last_lba,
            } => write!(
                f,
                "partition entry {index} (LBA {first_lba}..={last_lba}) lies outside the usable blocks"
            ),
            Error::EntryEndsBeforeStart {
                index,
                first_lba,
                last_lba,
            } => write!(
                f,
                "partition entry {index} ends (LBA {last_lba}) before it starts (LBA {first_lba})"
            ),
            Error::OverlappingEntries { a, b } => {
                write!(f, "partition entries {a} and {b} overlap")
            }
            Error::Block(error) => write!(f, "reading the partition table: {error}"),
        }
    }
}

/// Reads the partition table of `disk`: the GPT when the MBR at LBA 0 is protective
/// (has a partition of type 0xEE), else the MBR's primary partitions.
pub fn read_partition_table(disk: &dyn BlockDevice) -> Result<PartitionTable, Error> {
    let block_size = disk.block_size();
    if block_size < MIN_BLOCK_SIZE {
        return Err(Error::UnsupportedBlockSize { block_size });
    }
    let mut block = vec![0u8; block_size as usize];
    disk.read_blocks(0, &mut block)?;
    let Some(mbr) = mbr::Mbr::parse(&block) else {
        log::debug!("partition: no MBR signature at LBA 0");
        return Err(Error::NoPartitionTable);
    };
    if mbr.is_protective() {
        gpt::read_gpt(disk)
    } else {
        mbr.partition_table(disk.block_count())
    }
}

/// Checks that no two `(index, first, last)` ranges share a block; `ranges` must each
/// have `first <= last`.
fn check_overlaps(ranges: &mut [(u32, u64, u64)]) -> Result<(), Error> {
    ranges.sort_unstable_by_key(|&(index, first, _)| (first, index));
    // Sorted by start, some overlap exists exactly when some neighbours overlap.
    for pair in ranges.windows(2) {
        if let [(index_a, _, last_a), (index_b, first_b, _)] = *pair {
            if first_b <= last_a {
                return Err(Error::OverlappingEntries {
                    a: index_a.min(index_b),
                    b: index_a.max(index_b),
                });
            }
        }
    }
    Ok(())
}
