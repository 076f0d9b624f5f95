//! The GUID Partition Table (UEFI 2.10 §5.3): header (Table 5.5), entry array
//! (Table 5.6), and the validity checks of §5.3.2 with the fall-back to the backup
//! header at the last LBA. Damage that leaves good partitions readable (one bad
//! entry, entry arrays that both fail their CRC32) is worked around and reported,
//! so that one bad entry does not hide the others.
#![forbid(unsafe_code)]

use super::{Damage, Error, Guid, PartitionFormat, PartitionInfo, PartitionTable, PartitionType, Signature};
use crate::block::BlockDevice;
use crate::bytes::LeFields;
use crate::crc32::Crc32;
use alloc::boxed::Box;
use alloc::collections::BTreeMap;
use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;
use log::{debug, warn};

/// "EFI PART" read as a little-endian 64-bit number.
pub const GPT_HEADER_SIGNATURE: u64 = 0x5452_4150_2049_4645;
/// Revision 1.0, the one every GPT so far carries.
pub const GPT_HEADER_REVISION: u32 = 0x0001_0000;
/// The primary header always sits at LBA 1.
pub const PRIMARY_HEADER_LBA: u64 = 1;

/// The header fields up to and including `PartitionEntryArrayCRC32`.
const HEADER_MIN_SIZE: u32 = 92;
const ENTRY_MIN_SIZE: u32 = 128;
/// Entry arrays are normally 16 KiB (128 entries of 128 bytes); larger ones are not
/// read, so a damaged header cannot make the firmware allocate without bound.
const MAX_ENTRY_ARRAY_BYTES: u64 = 1 << 20;
/// GPT attribute bit 2: legacy BIOS bootable (UEFI 2.10 Table 5.8).
const LEGACY_BIOS_BOOTABLE: u64 = 1 << 2;

// Offsets in the header (UEFI 2.10 Table 5.5).
const SIGNATURE: usize = 0;
const REVISION: usize = 8;
const HEADER_SIZE: usize = 12;
const HEADER_CRC32: usize = 16;
const MY_LBA: usize = 24;
const ALTERNATE_LBA: usize = 32;
const FIRST_USABLE_LBA: usize = 40;
const LAST_USABLE_LBA: usize = 48;
const DISK_GUID: usize = 56;
const PARTITION_ENTRY_LBA: usize = 72;
const NUMBER_OF_PARTITION_ENTRIES: usize = 80;
const SIZE_OF_PARTITION_ENTRY: usize = 84;
const PARTITION_ENTRY_ARRAY_CRC32: usize = 88;

// Offsets in an entry (UEFI 2.10 Table 5.6).
const PARTITION_TYPE_GUID: usize = 0;
const UNIQUE_PARTITION_GUID: usize = 16;
const STARTING_LBA: usize = 32;
const ENDING_LBA: usize = 40;
const ATTRIBUTES: usize = 48;
const PARTITION_NAME: usize = 56;
/// 36 UTF-16LE code units.
const PARTITION_NAME_LEN: usize = 72;

/// A header that passed its own checks.
#[derive(Debug)]
struct Header {
    lba: u64,
    alternate_lba: u64,
    first_usable_lba: u64,
    last_usable_lba: u64,
    disk_guid: Guid,
    entry_lba: u64,
    entry_count: u32,
    entry_size: u32,
    entry_array_crc32: u32,
}

/// One copy of the GPT as read: a header that passed its checks and its entry
/// array, with the array's CRC32 verdict.
struct Copy {
    header: Header,
    entries: Vec<u8>,
    /// Why the array fails its CRC32 ([`Error::EntriesCrcMismatch`]), if it does.
    crc_error: Option<Error>,
}

impl Copy {
    fn is_intact(&self) -> bool {
        self.crc_error.is_none()
    }
}

/// Why a copy is not intact: its header's error or its array's CRC mismatch.
fn copy_problem(copy: &Result<Copy, Error>) -> Option<Error> {
    match copy {
        Ok(copy) => copy.crc_error.clone(),
        Err(e) => Some(e.clone()),
    }
}

/// Reads the GPT of a disk whose MBR is protective (UEFI 2.10 §5.3.2): the primary
/// copy if it is intact (header and entry array CRC32), else the backup at the last
/// LBA if that one is. With neither intact, the entries of the first copy whose
/// header is valid are used. Entries that fail their own checks are left out (and
/// named in [`PartitionTable::damage`]); the others are kept.
pub(super) fn read_gpt(disk: &dyn BlockDevice) -> Result<PartitionTable, Error> {
    let last_lba = disk.block_count().saturating_sub(1);
    let primary = read_copy(disk, PRIMARY_HEADER_LBA);
    let (copy, used_backup, mut damage) = match primary {
        Ok(primary) if primary.is_intact() => {
            check_backup_header(disk, &primary.header, last_lba);
            (primary, false, Vec::new())
        }
        primary => {
            let primary_problem = copy_problem(&primary).unwrap_or(Error::NoPartitionTable);
            warn!("partition: primary GPT is damaged ({primary_problem}); trying the backup at LBA {last_lba}");
            let backup = read_copy(disk, last_lba);
            let backup_problem = copy_problem(&backup).unwrap_or(Error::NoPartitionTable);
            let crc_damage = |used_lba| Damage::EntryArrayCrc {
                primary: Box::new(primary_problem.clone()),
                backup: Box::new(backup_problem.clone()),
                used_lba,
            };
            match (primary, backup) {
                (_, Ok(backup)) if backup.is_intact() => (backup, true, Vec::new()),
                (Ok(primary), _) => (primary, false, vec![crc_damage(PRIMARY_HEADER_LBA)]),
                (Err(_), Ok(backup)) => (backup, true, vec![crc_damage(last_lba)]),
                (Err(primary), Err(backup)) => {
                    return Err(Error::BothHeadersBad {
                        primary: Box::new(primary),
                        backup: Box::new(backup),
                    })
                }
            }
        }
    };
    let (partitions, left_out) = parse_entries(&copy.header, &copy.entries);
    damage.extend(left_out);
    debug!(
        "partition: GPT {} with {} partitions (from LBA {})",
        copy.header.disk_guid,
        partitions.len(),
        copy.header.lba
    );
    Ok(PartitionTable {
        format: PartitionFormat::Gpt,
        disk_signature: Signature::Guid(copy.header.disk_guid),
        partitions,
        used_backup_gpt: used_backup,
        damage,
    })
}

/// Warns when the backup of an intact primary is missing or damaged: the disk still
/// boots, but the next damage to the primary would lose the table.
fn check_backup_header(disk: &dyn BlockDevice, primary: &Header, last_lba: u64) {
    if primary.alternate_lba != last_lba {
        warn!(
            "partition: primary GPT puts its backup at LBA {}, but the disk ends at LBA {last_lba} \
             (was the disk resized?)",
            primary.alternate_lba
        );
    } else if let Err(error) = read_header(disk, last_lba) {
        warn!("partition: backup GPT header is damaged ({error}); using the primary");
    }
}

/// Reads one copy of the GPT: a header, which must pass its checks, and its entry
/// array, whose CRC32 is checked but not required.
fn read_copy(disk: &dyn BlockDevice, lba: u64) -> Result<Copy, Error> {
    let header = read_header(disk, lba)?;
    let entries = read_entry_array(disk, &header)?;
    let found = crate::crc32::crc32(&entries);
    let crc_error = (found != header.entry_array_crc32).then_some(Error::EntriesCrcMismatch {
        lba: header.lba,
        expected: header.entry_array_crc32,
        found,
    });
    Ok(Copy {
        header,
        entries,
        crc_error,
    })
}

/// Checks one copy alone, for tests that look at a single copy's error.
#[cfg(test)]
pub(super) fn tests_read_copy(disk: &dyn BlockDevice, lba: u64) -> Result<(), Error> {
    match read_copy(disk, lba) {
        Ok(copy) => copy.crc_error.map_or(Ok(()), Err),
        Err(e) => Err(e),
    }
}

fn read_header(disk: &dyn BlockDevice, lba: u64) -> Result<Header, Error> {
    let block_size = disk.block_size();
    let block_count = disk.block_count();
    let mut block = vec![0u8; block_size as usize];
    disk.read_blocks(lba, &mut block)?;

    if block.u64_le(SIGNATURE).unwrap_or(0) != GPT_HEADER_SIGNATURE {
        return Err(Error::BadSignature { lba });
    }
    let size = block.u32_le(HEADER_SIZE).unwrap_or(0);
    let Some(header_bytes) = block.get(..size as usize).filter(|_| size >= HEADER_MIN_SIZE) else {
        return Err(Error::BadHeaderSize { lba, size });
    };
    let expected = header_bytes.u32_le(HEADER_CRC32).unwrap_or(0);
    let found = header_crc32(header_bytes);
    if found != expected {
        return Err(Error::HeaderCrcMismatch { lba, expected, found });
    }
    let revision = header_bytes.u32_le(REVISION).unwrap_or(0);
    if revision >> 16 != GPT_HEADER_REVISION >> 16 {
        return Err(Error::UnsupportedRevision { lba, revision });
    }
    let my_lba = header_bytes.u64_le(MY_LBA).unwrap_or(0);
    if my_lba != lba {
        return Err(Error::WrongMyLba { lba, my_lba });
    }

    let header = Header {
        lba,
        alternate_lba: header_bytes.u64_le(ALTERNATE_LBA).unwrap_or(0),
        first_usable_lba: header_bytes.u64_le(FIRST_USABLE_LBA).unwrap_or(0),
        last_usable_lba: header_bytes.u64_le(LAST_USABLE_LBA).unwrap_or(0),
        disk_guid: guid_at(header_bytes, DISK_GUID),
        entry_lba: header_bytes.u64_le(PARTITION_ENTRY_LBA).unwrap_or(0),
        entry_count: header_bytes.u32_le(NUMBER_OF_PARTITION_ENTRIES).unwrap_or(0),
        entry_size: header_bytes.u32_le(SIZE_OF_PARTITION_ENTRY).unwrap_or(0),
        entry_array_crc32: header_bytes.u32_le(PARTITION_ENTRY_ARRAY_CRC32).unwrap_or(0),
    };

    let (first, last) = (header.first_usable_lba, header.last_usable_lba);
    if first == 0 || first > last || last >= block_count || (first..=last).contains(&lba) {
        return Err(Error::BadUsableRange { lba, first, last });
    }
    // 128 × 2^n is exactly a power of two no smaller than 128.
    if header.entry_size < ENTRY_MIN_SIZE || !header.entry_size.is_power_of_two() {
        return Err(Error::BadEntrySize {
            lba,
            size: header.entry_size,
        });
    }
    let array_bytes = u64::from(header.entry_count) * u64::from(header.entry_size);
    if array_bytes > MAX_ENTRY_ARRAY_BYTES {
        return Err(Error::EntryArrayTooLarge {
            lba,
            count: header.entry_count,
            size: header.entry_size,
        });
    }
    let blocks = array_bytes.div_ceil(u64::from(block_size));
    let array_fits = match header.entry_lba.checked_add(blocks) {
        Some(end) => {
            let array = header.entry_lba..end;
            header.entry_lba > 0
                && end <= block_count
                && !array.contains(&lba)
                && (end <= first || header.entry_lba > last)
        }
        None => false,
    };
    if !array_fits {
        return Err(Error::BadEntryArrayLocation {
            lba,
            entry_lba: header.entry_lba,
            blocks,
        });
    }
    Ok(header)
}

/// The CRC32 of a header with its `HeaderCRC32` field taken as zero.
fn header_crc32(header: &[u8]) -> u32 {
    let mut crc = Crc32::new();
    crc.update(header.get(..HEADER_CRC32).unwrap_or_default());
    crc.update_zeros(4);
    crc.update(header.get(HEADER_CRC32 + 4..).unwrap_or_default());
    crc.finish()
}

/// Reads the entry array of a checked header: exactly `entry_count * entry_size`
/// bytes.
fn read_entry_array(disk: &dyn BlockDevice, header: &Header) -> Result<Vec<u8>, Error> {
    let block_size = disk.block_size() as usize;
    // Bounded by MAX_ENTRY_ARRAY_BYTES in `read_header`.
    let array_bytes = header.entry_count as usize * header.entry_size as usize;
    let mut entries = vec![0u8; array_bytes.div_ceil(block_size) * block_size];
    if !entries.is_empty() {
        disk.read_blocks(header.entry_lba, &mut entries)?;
    }
    entries.truncate(array_bytes);
    Ok(entries)
}

/// The size of a GPT partition entry's defined fields (UEFI 2.10 Table 5.6).
const GPT_ENTRY_SIZE: usize = 128;

/// Turns the used entries into partitions. An entry that ends before it starts,
/// reaches outside the usable blocks, or shares blocks with an entry kept before
/// it (in table order) is left out and returned as damage; the others are kept.
fn parse_entries(header: &Header, entries: &[u8]) -> (Vec<PartitionInfo>, Vec<Damage>) {
    let mut partitions = Vec::new();
    let mut left_out = Vec::new();
    // The kept entries' blocks, by first LBA: first -> (last, index). They never
    // overlap, so the only one that can overlap a new entry is the last one
    // starting at or before the new entry's end.
    let mut kept: BTreeMap<u64, (u64, u32)> = BTreeMap::new();
    for (index, entry) in entries.chunks_exact(header.entry_size as usize).enumerate() {
        let index = index as u32;
        let type_guid = guid_at(entry, PARTITION_TYPE_GUID);
        if type_guid.is_zero() {
            continue;
        }
        let first_lba = entry.u64_le(STARTING_LBA).unwrap_or(0);
        let last_lba = entry.u64_le(ENDING_LBA).unwrap_or(0);
        let problem = if first_lba > last_lba {
            Some(Error::EntryEndsBeforeStart {
                index,
                first_lba,
                last_lba,
            })
        } else if first_lba < header.first_usable_lba || last_lba > header.last_usable_lba {
            Some(Error::EntryOutsideDisk {
                index,
                first_lba,
                last_lba,
            })
        } else {
            kept.range(..=last_lba)
                .next_back()
                .filter(|(_, &(kept_last, _))| kept_last >= first_lba)
                .map(|(_, &(_, kept_index))| Error::OverlappingEntries {
                    a: kept_index,
                    b: index,
                })
        };
        if let Some(why) = problem {
            left_out.push(Damage::EntryLeftOut { index, why });
            continue;
        }
        kept.insert(first_lba, (last_lba, index));
        let attributes = entry.u64_le(ATTRIBUTES).unwrap_or(0);
        partitions.push(PartitionInfo {
            number: index + 1,
            start_lba: first_lba,
            size_lbas: last_lba - first_lba + 1,
            signature: Signature::Guid(guid_at(entry, UNIQUE_PARTITION_GUID)),
            format: PartitionFormat::Gpt,
            partition_type: PartitionType::Gpt(type_guid),
            name: partition_name(entry),
            attributes,
            bootable: attributes & LEGACY_BIOS_BOOTABLE != 0,
            entry: entry[..entry.len().min(GPT_ENTRY_SIZE)].to_vec(),
        });
    }
    (partitions, left_out)
}

fn guid_at(bytes: &[u8], offset: usize) -> Guid {
    let mut guid = [0u8; 16];
    if let Some(src) = bytes.get(offset..offset + 16) {
        guid.copy_from_slice(src);
    }
    Guid::from_bytes(guid)
}

/// The UTF-16LE name up to its first NUL; unpaired surrogates become U+FFFD.
fn partition_name(entry: &[u8]) -> String {
    let raw = entry
        .get(PARTITION_NAME..PARTITION_NAME + PARTITION_NAME_LEN)
        .unwrap_or_default();
    crate::bytes::utf16le_chars(raw).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_constant_spells_efi_part() {
        assert_eq!(&GPT_HEADER_SIGNATURE.to_le_bytes(), b"EFI PART");
    }

    #[test]
    fn name_stops_at_nul_and_replaces_unpaired_surrogates() {
        let mut entry = [0u8; 128];
        for (i, unit) in [0x0045u16, 0xD800, 0x0046, 0, 0x0047].iter().enumerate() {
            entry[PARTITION_NAME + 2 * i..PARTITION_NAME + 2 * i + 2].copy_from_slice(&unit.to_le_bytes());
        }
        assert_eq!(partition_name(&entry), "E\u{FFFD}F");
    }

    #[test]
    fn name_of_36_units_has_no_terminator() {
        let mut entry = [0u8; 128];
        for i in 0..36 {
            entry[PARTITION_NAME + 2 * i] = b'a' + (i % 26) as u8;
        }
        assert_eq!(partition_name(&entry).len(), 36);
    }
}
