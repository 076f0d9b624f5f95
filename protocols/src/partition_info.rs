//! EFI_PARTITION_INFO_PROTOCOL (UEFI 2.10 §13.18) on each partition handle: the
//! partition's MBR record or GPT entry as the disk stores it, its table type,
//! and whether it is an EFI System Partition. The protocol is data only (no
//! functions), byte-packed, so it is built as bytes and leaked.
#![forbid(unsafe_code)]

use alloc::boxed::Box;
use core::ffi::c_void;
use fw_drivers::partition::{PartitionFormat, PartitionInfo};
use r_efi::protocols::partition_info::{REVISION, TYPE_GPT, TYPE_MBR};

pub use r_efi::protocols::partition_info::PROTOCOL_GUID;

/// Revision, Type, System and Reserved come before the entry.
const HEADER_SIZE: usize = 16;
/// The union's size: a GPT entry's 128 bytes (an MBR record uses the first 16).
const INFO_SIZE: usize = 128;
/// The whole protocol struct.
pub const SIZE: usize = HEADER_SIZE + INFO_SIZE;
const _: () = assert!(SIZE == core::mem::size_of::<r_efi::protocols::partition_info::Protocol>());

/// The protocol's bytes for `partition`.
pub fn bytes(partition: &PartitionInfo) -> [u8; SIZE] {
    let mut bytes = [0u8; SIZE];
    let kind = match partition.format {
        PartitionFormat::Mbr => TYPE_MBR,
        PartitionFormat::Gpt => TYPE_GPT,
    };
    bytes[0..4].copy_from_slice(&REVISION.to_le_bytes());
    bytes[4..8].copy_from_slice(&kind.to_le_bytes());
    bytes[8] = u8::from(partition.is_efi_system_partition());
    let entry = &partition.entry[..partition.entry.len().min(INFO_SIZE)];
    bytes[HEADER_SIZE..HEADER_SIZE + entry.len()].copy_from_slice(entry);
    bytes
}

/// The interface to install under [`PROTOCOL_GUID`]; leaked, never freed.
pub fn create(partition: &PartitionInfo) -> *mut c_void {
    let leaked: &'static mut [u8; SIZE] = Box::leak(Box::new(bytes(partition)));
    leaked.as_mut_ptr().cast()
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::String;
    use alloc::vec::Vec;
    use fw_drivers::bytes::LeFields;
    use fw_drivers::partition::{Guid, PartitionType, Signature, EFI_SYSTEM_PARTITION};

    fn partition(format: PartitionFormat, partition_type: PartitionType, entry: Vec<u8>) -> PartitionInfo {
        PartitionInfo {
            number: 1,
            start_lba: 2048,
            size_lbas: 98_304,
            signature: Signature::Mbr(0),
            format,
            partition_type,
            name: String::new(),
            attributes: 0,
            bootable: false,
            entry,
        }
    }

    #[test]
    fn partition_info_of_a_gpt_esp_holds_its_entry_and_system_flag() {
        let unique = Guid::from_fields(0x11223344, 0x5566, 0x7788, [1, 2, 3, 4, 5, 6, 7, 8]);
        let mut entry = Vec::new();
        entry.extend_from_slice(&EFI_SYSTEM_PARTITION.to_bytes());
        entry.extend_from_slice(&unique.to_bytes());
        entry.extend_from_slice(&2048u64.to_le_bytes());
        entry.extend_from_slice(&100_351u64.to_le_bytes());
        entry.resize(128, 0x5a);
        let esp = partition(
            PartitionFormat::Gpt,
            PartitionType::Gpt(EFI_SYSTEM_PARTITION),
            entry.clone(),
        );
        let bytes = bytes(&esp);
        assert_eq!(
            (bytes.u32_le(0), bytes.u32_le(4), bytes[8]),
            (Some(REVISION), Some(TYPE_GPT), 1)
        );
        assert_eq!(&bytes[9..16], &[0; 7]);
        assert_eq!(&bytes[16..], &entry[..]);
    }

    #[test]
    fn partition_info_of_an_mbr_partition_holds_its_record() {
        let record: Vec<u8> = (0..16).collect();
        let linux = partition(PartitionFormat::Mbr, PartitionType::Mbr(0x83), record.clone());
        let bytes = bytes(&linux);
        assert_eq!((bytes.u32_le(4), bytes[8]), (Some(TYPE_MBR), 0));
        assert_eq!(&bytes[16..32], &record[..]);
        assert_eq!(&bytes[32..], &[0; 112]);
        let esp = partition(PartitionFormat::Mbr, PartitionType::Mbr(0xef), record);
        assert_eq!(super::bytes(&esp)[8], 1);
    }
}
