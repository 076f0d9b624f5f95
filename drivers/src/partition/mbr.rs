//! The legacy Master Boot Record (UEFI 2.10 §5.2.1, Table 5.1 and 5.2) and the
//! protective MBR that marks a GPT disk (§5.2.3). Only the four primary partitions are
//! read; extended partitions (logical drives) are skipped.
#![forbid(unsafe_code)]

use super::{check_overlaps, Error, PartitionFormat, PartitionInfo, PartitionTable, PartitionType, Signature};
use crate::bytes::LeFields;
use alloc::string::String;
use alloc::vec::Vec;
use log::debug;

/// `OSType` of the protective MBR's partition covering a GPT disk.
pub const MBR_TYPE_GPT_PROTECTIVE: u8 = 0xEE;
/// `OSType` of an extended partition (CHS addressed).
pub const MBR_TYPE_EXTENDED: u8 = 0x05;
/// `OSType` of an extended partition (LBA addressed).
pub const MBR_TYPE_EXTENDED_LBA: u8 = 0x0F;
/// `OSType` of a Linux extended partition.
const MBR_TYPE_EXTENDED_LINUX: u8 = 0x85;

/// 0xAA55 at byte 510.
const MBR_SIGNATURE: u16 = 0xAA55;
const UNIQUE_MBR_DISK_SIGNATURE: usize = 440;
const PARTITION_RECORDS: usize = 446;
const PARTITION_RECORD_SIZE: usize = 16;
const SIGNATURE_OFFSET: usize = 510;
const MBR_SIZE: usize = 512;

// Offsets in a partition record (UEFI 2.10 Table 5.2).
const BOOT_INDICATOR: usize = 0;
const OS_TYPE: usize = 4;
const STARTING_LBA: usize = 8;
const SIZE_IN_LBA: usize = 12;

const BOOT_INDICATOR_BOOTABLE: u8 = 0x80;

/// One of the four partition records.
#[derive(Clone, Copy, Debug)]
struct Record {
    boot_indicator: u8,
    os_type: u8,
    starting_lba: u32,
    size_in_lba: u32,
    raw: [u8; PARTITION_RECORD_SIZE],
}

/// An MBR: LBA 0 with the 0xAA55 signature.
#[derive(Debug)]
pub(super) struct Mbr {
    disk_signature: u32,
    records: [Record; 4],
}

impl Mbr {
    /// Reads the MBR from the first block, or `None` without the 0xAA55 signature.
    pub(super) fn parse(block: &[u8]) -> Option<Mbr> {
        let mbr = block.get(..MBR_SIZE)?;
        if mbr.u16_le(SIGNATURE_OFFSET).unwrap_or(0) != MBR_SIGNATURE {
            return None;
        }
        let record = |slot: usize| {
            let at = PARTITION_RECORDS + slot * PARTITION_RECORD_SIZE;
            Record {
                boot_indicator: mbr.get(at + BOOT_INDICATOR).copied().unwrap_or(0),
                os_type: mbr.get(at + OS_TYPE).copied().unwrap_or(0),
                starting_lba: mbr.u32_le(at + STARTING_LBA).unwrap_or(0),
                size_in_lba: mbr.u32_le(at + SIZE_IN_LBA).unwrap_or(0),
                raw: mbr
                    .get(at..at + PARTITION_RECORD_SIZE)
                    .and_then(|r| r.try_into().ok())
                    .unwrap_or([0; PARTITION_RECORD_SIZE]),
            }
        };
        Some(Mbr {
            disk_signature: mbr.u32_le(UNIQUE_MBR_DISK_SIGNATURE).unwrap_or(0),
            records: [record(0), record(1), record(2), record(3)],
        })
    }

    /// Whether a partition of type 0xEE says "this disk has a GPT". A hybrid MBR
    /// (0xEE beside other partitions) counts too: its GPT is the real table.
    pub(super) fn is_protective(&self) -> bool {
        self.records.iter().any(|record| {
            let protective = record.os_type == MBR_TYPE_GPT_PROTECTIVE;
            if protective && record.starting_lba != 1 {
                debug!(
                    "partition: protective MBR partition starts at LBA {}, not 1",
                    record.starting_lba
                );
            }
            protective
        })
    }

    /// The primary partitions, checked to lie on the disk and not overlap.
    pub(super) fn partition_table(&self, block_count: u64) -> Result<PartitionTable, Error> {
        // A FAT boot sector (a "superfloppy" without partitions) also ends in 0xAA55;
        // its boot code fills the record area with bytes whose boot indicators are
        // neither 0x00 nor 0x80, which no real MBR has.
        if self
            .records
            .iter()
            .any(|r| r.boot_indicator != 0 && r.boot_indicator != BOOT_INDICATOR_BOOTABLE)
        {
            debug!("partition: LBA 0 has an invalid boot indicator; not an MBR");
            return Err(Error::NoPartitionTable);
        }
        let signature = Signature::Mbr(self.disk_signature);
        let mut partitions = Vec::new();
        let mut ranges = Vec::new();
        for (slot, record) in self.records.iter().enumerate() {
            let index = slot as u32;
            if record.os_type == 0 || record.size_in_lba == 0 {
                continue;
            }
            let first_lba = u64::from(record.starting_lba);
            let last_lba = first_lba + u64::from(record.size_in_lba) - 1;
            if first_lba == 0 || last_lba >= block_count {
                return Err(Error::EntryOutsideDisk {
                    index,
                    first_lba,
                    last_lba,
                });
            }
            ranges.push((index, first_lba, last_lba));
            if matches!(
                record.os_type,
                MBR_TYPE_EXTENDED | MBR_TYPE_EXTENDED_LBA | MBR_TYPE_EXTENDED_LINUX
            ) {
                debug!(
                    "partition: skipping extended partition {} (type {:#04x}): logical drives are not read",
                    index + 1,
                    record.os_type
                );
                continue;
            }
            partitions.push(PartitionInfo {
                number: index + 1,
                start_lba: first_lba,
                size_lbas: u64::from(record.size_in_lba),
                signature,
                format: PartitionFormat::Mbr,
                partition_type: PartitionType::Mbr(record.os_type),
                name: String::new(),
                attributes: 0,
                bootable: record.boot_indicator == BOOT_INDICATOR_BOOTABLE,
                entry: record.raw.to_vec(),
            });
        }
        check_overlaps(&mut ranges)?;
        if ranges.is_empty() {
            // Nothing to offer: let the caller try the whole disk as a file system.
            debug!("partition: MBR has no partitions");
            return Err(Error::NoPartitionTable);
        }
        debug!(
            "partition: MBR {:#010x} with {} partitions",
            self.disk_signature,
            partitions.len()
        );
        Ok(PartitionTable {
            format: PartitionFormat::Mbr,
            disk_signature: signature,
            partitions,
            used_backup_gpt: false,
            damage: Vec::new(),
        })
    }
}
