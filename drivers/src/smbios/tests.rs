use super::*;
use alloc::vec;
use std::borrow::ToOwned;

/// Physical memory made of separate segments, like a guest's: reads that leave a
/// segment fail.
struct SparseMemory {
    segments: Vec<(u64, Vec<u8>)>,
}

impl PhysMemory for SparseMemory {
    fn read(&self, addr: u64, len: usize) -> Option<&[u8]> {
        self.segments.iter().find_map(|(base, bytes)| {
            let start = usize::try_from(addr.checked_sub(*base)?).ok()?;
            bytes.get(start..start.checked_add(len)?)
        })
    }
}

impl SparseMemory {
    fn with_bios_area() -> SparseMemory {
        SparseMemory {
            segments: vec![(BIOS_AREA.start, vec![0; 0x1_0000])],
        }
    }

    fn put(&mut self, addr: u64, data: &[u8]) {
        for (base, bytes) in &mut self.segments {
            if let Some(start) = addr.checked_sub(*base).map(|s| s as usize) {
                if start + data.len() <= bytes.len() {
                    bytes[start..start + data.len()].copy_from_slice(data);
                    return;
                }
            }
        }
        panic!("no segment holds {addr:#x}+{:#x}", data.len());
    }
}

/// A BIOS information structure (type 0), a system information structure
/// (type 1) with its strings, and the end-of-table structure: what VMMs write.
fn structures() -> Vec<u8> {
    let mut t = Vec::new();
    t.extend_from_slice(&[0, 0x14, 0x00, 0x01, 1, 2, 0, 0xe8, 3, 0]);
    t.extend_from_slice(&[0; 10]);
    t.extend_from_slice(b"vendor\0version\0date\0\0");
    let mut system = vec![1, 0x1b, 0x01, 0x01, 1, 2, 0, 3];
    system.resize(0x1b, 0);
    t.extend_from_slice(&system);
    t.extend_from_slice(b"hvfw-test-vendor\0product\0serial-42\0\0");
    t.extend_from_slice(&[127, 4, 0x02, 0x01, 0, 0]);
    t
}

fn checksum_fix(bytes: &mut [u8], at: usize) {
    bytes[at] = 0;
    bytes[at] = 0u8.wrapping_sub(sum(bytes));
}

fn entry_point_32(table_address: u32, table_length: u16) -> Vec<u8> {
    let mut ep = vec![0u8; 0x1f];
    ep[..4].copy_from_slice(&ANCHOR_32);
    ep[5] = 0x1f;
    ep[6] = 2;
    ep[7] = 8;
    ep[8..10].copy_from_slice(&0x40u16.to_le_bytes());
    ep[0x10..0x15].copy_from_slice(&INTERMEDIATE_ANCHOR);
    ep[0x16..0x18].copy_from_slice(&table_length.to_le_bytes());
    ep[0x18..0x1c].copy_from_slice(&table_address.to_le_bytes());
    ep[0x1c..0x1e].copy_from_slice(&3u16.to_le_bytes());
    ep[0x1e] = 0x28;
    checksum_fix(&mut ep[0x10..0x1f], 5);
    checksum_fix(&mut ep, 4);
    ep
}

fn entry_point_64(table_address: u64, max_size: u32) -> Vec<u8> {
    let mut ep = vec![0u8; 0x18];
    ep[..5].copy_from_slice(&ANCHOR_64);
    ep[6] = 0x18;
    ep[7] = 3;
    ep[8] = 2;
    ep[0x0a] = 1;
    ep[0x0c..0x10].copy_from_slice(&max_size.to_le_bytes());
    ep[0x10..0x18].copy_from_slice(&table_address.to_le_bytes());
    checksum_fix(&mut ep, 5);
    ep
}

/// SeaBIOS under QEMU: a 2.1 entry point in the BIOS area, the structures at the
/// top of low RAM in a range its memory map reserves.
const SEABIOS_TABLE: u64 = 0x1ffd_f000;

fn seabios_memory() -> (SparseMemory, Vec<Range<u64>>) {
    let mut memory = SparseMemory::with_bios_area();
    memory.segments.push((SEABIOS_TABLE, vec![0; 0x1000]));
    let table = structures();
    memory.put(SEABIOS_TABLE, &table);
    memory.put(0xf_5a30, &entry_point_32(SEABIOS_TABLE as u32, table.len() as u16));
    (memory, vec![BIOS_AREA, SEABIOS_TABLE..SEABIOS_TABLE + 0x1000])
}

/// Cloud Hypervisor: a 3.0 entry point at 0xF0000, the structures right after it.
fn cloud_hypervisor_memory() -> SparseMemory {
    let mut memory = SparseMemory::with_bios_area();
    let table = structures();
    memory.put(0xf_0000, &entry_point_64(0xf_0018, table.len() as u32));
    memory.put(0xf_0018, &table);
    memory
}

/// Parses the entry point an image holds at `at`, checksums verified.
fn placed(image: &Image, at: Option<usize>) -> EntryPoint {
    EntryPoint::parse(&image.bytes[at.expect("entry point placed")..], Checksums::Verify).unwrap()
}

#[test]
fn takes_seabios_32_bit_entry_point_and_its_table_in_reserved_ram() {
    let (memory, ranges) = seabios_memory();
    let smbios = Smbios::from_bios_area(&memory, BIOS_AREA, &ranges).unwrap();
    let ep = smbios.entry_point();
    assert_eq!((ep.kind, ep.major, ep.minor), (Kind::Smbios2, 2, 8));
    assert_eq!(ep.table_address, SEABIOS_TABLE);
    assert_eq!(smbios.found_at(), Some(0xf_5a30));
    assert_eq!(smbios.structures(), &structures()[..]);
    assert_eq!(
        smbios.summary(),
        StructureSummary {
            count: 3,
            end_of_table: true
        }
    );
    assert!(smbios.smbios3().is_none());
}

#[test]
fn takes_cloud_hypervisor_64_bit_entry_point_in_the_bios_area() {
    let smbios = Smbios::from_bios_area(&cloud_hypervisor_memory(), BIOS_AREA, &[BIOS_AREA]).unwrap();
    let ep = smbios.entry_point();
    assert_eq!((ep.kind, ep.major, ep.minor), (Kind::Smbios3, 3, 2));
    assert_eq!(ep.table_address, 0xf_0018);
    assert_eq!(smbios.found_at(), Some(0xf_0000));
    assert_eq!(smbios.summary().count, 3);
    assert!(smbios.smbios2().is_none());
}

#[test]
fn image_points_both_entry_points_at_the_copied_structures_with_valid_checksums() {
    let (mut memory, ranges) = seabios_memory();
    let table = structures();
    memory.put(0xf_0000, &entry_point_64(SEABIOS_TABLE, table.len() as u32));
    let smbios = Smbios::from_bios_area(&memory, BIOS_AREA, &ranges).unwrap();
    assert_eq!(smbios.entry_point().kind, Kind::Smbios3);
    assert!(smbios.smbios2().is_some(), "the 2.1 entry point names the same table");

    let base = 0x7ff_e000;
    let image = smbios.image(base).unwrap();
    assert_eq!(image.bytes.len(), smbios.image_len());
    let two = placed(&image, image.smbios2);
    let three = placed(&image, image.smbios3);
    let expected = base + IMAGE_OFFSET_STRUCTURES as u64;
    assert_eq!(two.table_address, expected);
    assert_eq!(three.table_address, expected);
    assert_eq!(two.table_length as usize, table.len());
    assert_eq!(&image.bytes[IMAGE_OFFSET_STRUCTURES..], &table[..]);
    assert_eq!(image.smbios2.unwrap() % 16, 0);
    assert_eq!(image.smbios3.unwrap() % 16, 0);
}

#[test]
fn a_32_bit_entry_point_for_another_table_is_dropped_in_favour_of_the_64_bit_one() {
    let (mut memory, ranges) = seabios_memory();
    memory.put(0xf_0000, &entry_point_64(0xf_0100, structures().len() as u32));
    memory.put(0xf_0100, &structures());
    let smbios = Smbios::from_bios_area(&memory, BIOS_AREA, &ranges).unwrap();
    assert_eq!(smbios.entry_point().table_address, 0xf_0100);
    assert!(smbios.smbios2().is_none());
}

#[test]
fn rejects_entry_point_with_bad_checksum() {
    let mut ep = entry_point_64(0xf_0018, 0x80);
    ep[0x0c] ^= 1;
    assert_eq!(
        EntryPoint::parse(&ep, Checksums::Verify),
        Err(Error::BadChecksum { anchor: "_SM3_" })
    );
    let mut ep = entry_point_32(0x1000, 0x80);
    ep[3] = b'X';
    assert_eq!(EntryPoint::parse(&ep, Checksums::Verify), Err(Error::NoAnchor));
    let mut ep = entry_point_32(0x1000, 0x80);
    ep[0x16] ^= 1;
    ep[0x04] = ep[0x04].wrapping_sub(1);
    assert_eq!(
        EntryPoint::parse(&ep, Checksums::Verify),
        Err(Error::BadChecksum { anchor: "_DMI_" }),
        "the outer checksum holds, the intermediate one does not"
    );
}

#[test]
fn bad_checksum_in_memory_is_the_reason_given_when_nothing_else_is_found() {
    let mut memory = cloud_hypervisor_memory();
    memory.put(0xf_0000 + 0x0c, &[0x7f]);
    assert_eq!(
        Smbios::from_bios_area(&memory, BIOS_AREA, &[BIOS_AREA]),
        Err(Error::BadChecksum { anchor: "_SM3_" })
    );
}

#[test]
fn skips_a_corrupt_anchor_for_a_later_valid_one() {
    let mut memory = cloud_hypervisor_memory();
    memory.put(0xf_0000, b"_SM3_\0\0");
    memory.put(0xf_8000, &entry_point_64(0xf_0018, structures().len() as u32));
    let smbios = Smbios::from_bios_area(&memory, BIOS_AREA, &[BIOS_AREA]).unwrap();
    assert_eq!(smbios.entry_point().table_address, 0xf_0018);
}

#[test]
fn rejects_truncated_entry_points() {
    let ep = entry_point_64(0xf_0018, 0x80);
    assert_eq!(
        EntryPoint::parse(&ep[..0x10], Checksums::Verify),
        Err(Error::BadEntryPointLength {
            anchor: "_SM3_",
            length: 0x10
        })
    );
    let ep = entry_point_32(0x1000, 0x80);
    assert!(matches!(
        EntryPoint::parse(&ep[..0x1a], Checksums::Verify),
        Err(Error::BadEntryPointLength { .. })
    ));
    assert!(matches!(
        EntryPoint::parse(b"_SM_", Checksums::Verify),
        Err(Error::BadEntryPointLength { .. })
    ));
    let mut ep = entry_point_64(0xf_0018, 0x80);
    ep[6] = 0x10;
    checksum_fix(&mut ep[..0x10], 5);
    assert_eq!(
        EntryPoint::parse(&ep, Checksums::Verify),
        Err(Error::BadEntryPointLength {
            anchor: "_SM3_",
            length: 0x10
        }),
        "a length shorter than the fields"
    );
}

#[test]
fn accepts_the_smbios_2_1_erratum_length() {
    let mut ep = entry_point_32(0x1000, 0x80);
    ep[5] = 0x1e;
    checksum_fix(&mut ep[..0x1e], 4);
    let parsed = EntryPoint::parse(&ep, Checksums::Verify).unwrap();
    let relocated = parsed.relocated(0x2000).unwrap();
    assert_eq!(sum(&relocated[..0x1e]), 0);
    assert_eq!(sum(&relocated[0x10..0x1f]), 0);
}

#[test]
fn rejects_a_table_outside_the_memory_the_vmm_described() {
    let (memory, _) = seabios_memory();
    assert_eq!(
        Smbios::from_bios_area(&memory, BIOS_AREA, &[BIOS_AREA]),
        Err(Error::TableOutsideMemory {
            address: SEABIOS_TABLE,
            length: structures().len() as u64
        })
    );
    // Described, but running past the end of the range.
    let ranges = [BIOS_AREA, SEABIOS_TABLE..SEABIOS_TABLE + 0x10];
    assert!(matches!(
        Smbios::from_bios_area(&memory, BIOS_AREA, &ranges),
        Err(Error::TableOutsideMemory { .. })
    ));
    // Described, but not readable.
    let mut memory = SparseMemory::with_bios_area();
    memory.put(0xf_5a30, &entry_point_32(0x4000_0000, 0x100));
    assert!(matches!(
        Smbios::from_bios_area(&memory, BIOS_AREA, &[BIOS_AREA, 0..1 << 32]),
        Err(Error::TableOutsideMemory { .. })
    ));
}

#[test]
fn rejects_empty_and_huge_tables() {
    assert_eq!(
        EntryPoint::parse(&entry_point_64(0xf_0018, 0), Checksums::Verify),
        Err(Error::EmptyTable)
    );
    assert_eq!(
        EntryPoint::parse(&entry_point_64(0xf_0018, u32::MAX), Checksums::Verify),
        Err(Error::TableTooLarge {
            length: u64::from(u32::MAX)
        })
    );
}

#[test]
fn reports_no_entry_point() {
    assert_eq!(
        Smbios::from_bios_area(&SparseMemory::with_bios_area(), BIOS_AREA, &[BIOS_AREA]),
        Err(Error::NotFound { area: BIOS_AREA })
    );
}

#[test]
fn rejects_structures_that_run_past_the_table() {
    let table = structures();
    // Cut inside the type 1 structure's strings.
    let cut = table.len() - 12;
    assert_eq!(
        walk_structures(&table[..cut]),
        Err(Error::StructureTruncated { offset: 0x29 })
    );
    // A formatted area longer than what is left.
    assert_eq!(
        walk_structures(&[1, 0x40, 0, 0, 0, 0]),
        Err(Error::StructureTruncated { offset: 0 })
    );
    assert_eq!(
        walk_structures(&[1, 2, 0, 0, 0, 0]),
        Err(Error::BadStructureLength { offset: 0, length: 2 })
    );
    // The table is cut, and the entry point says it is longer than it is.
    let mut memory = cloud_hypervisor_memory();
    memory.put(0xf_0000, &entry_point_64(0xf_0018, cut as u32));
    assert!(matches!(
        Smbios::from_bios_area(&memory, BIOS_AREA, &[BIOS_AREA]),
        Err(Error::StructureTruncated { .. })
    ));
}

#[test]
fn stops_at_end_of_table_and_tolerates_short_padding() {
    let mut table = structures();
    table.extend_from_slice(&[0xff; 40]);
    assert_eq!(
        walk_structures(&table),
        Ok(StructureSummary {
            count: 3,
            end_of_table: true
        })
    );
    let mut table = structures();
    table.truncate(table.len() - 6);
    table.extend_from_slice(&[0, 0]);
    assert_eq!(
        walk_structures(&table),
        Ok(StructureSummary {
            count: 2,
            end_of_table: false
        })
    );
}

#[test]
fn a_handed_over_entry_point_gets_its_address_and_checksums_from_the_image() {
    // As QEMU's fw_cfg anchor: address zero, checksum left to the firmware.
    let table = structures();
    let mut anchor = entry_point_64(0, table.len() as u32);
    anchor[5] = 0;
    assert!(Smbios::from_parts(&anchor, Checksums::Verify, table.clone()).is_err());
    let mut padded = table.clone();
    padded.extend_from_slice(&[0; 7]);
    let smbios = Smbios::from_parts(&anchor, Checksums::Recompute, padded).unwrap();
    assert_eq!(smbios.structures(), &table[..]);
    let image = smbios.image(0x1_2345_0000).unwrap();
    assert_eq!(placed(&image, image.smbios3).table_address, 0x1_2345_0040);
    assert_eq!(image.smbios2, None);

    let anchor = entry_point_32(0, table.len() as u16);
    assert_eq!(
        Smbios::from_parts(&anchor, Checksums::Recompute, table[..10].to_owned()),
        Err(Error::TableTruncated {
            length: table.len() as u64,
            available: 10
        })
    );
    let smbios = Smbios::from_parts(&anchor, Checksums::Recompute, table).unwrap();
    assert_eq!(
        smbios.image(0x1_0000_0000),
        Err(Error::AddressTooHigh { address: 0x1_0000_0040 }),
        "a 32-bit entry point cannot point above 4 GiB"
    );
    assert_eq!(placed(&smbios.image(0x8000).unwrap(), Some(0)).table_address, 0x8040);
}

#[test]
fn an_empty_area_is_searched_and_reported_without_panicking() {
    let memory = SparseMemory::with_bios_area();
    let empty = BIOS_AREA.start..BIOS_AREA.start;
    let e = Smbios::from_bios_area(&memory, empty.clone(), &[]).unwrap_err();
    assert_eq!(e, Error::NotFound { area: empty });
    assert!(std::string::ToString::to_string(&e).contains("0xf0000"));
}

#[test]
fn qemu_fw_cfg_files_become_tables_and_a_missing_half_is_an_error() {
    let table = structures();
    let mut anchor = entry_point_64(0, table.len() as u32);
    anchor[5] = 0;
    let files = |names: &[&'static str]| {
        let (anchor, table) = (anchor.clone(), table.clone());
        let names = names.to_vec();
        move |name: &str| match name {
            FW_CFG_ANCHOR if names.contains(&FW_CFG_ANCHOR) => Some(anchor.clone()),
            FW_CFG_TABLES if names.contains(&FW_CFG_TABLES) => Some(table.clone()),
            _ => None,
        }
    };
    let smbios = Smbios::from_fw_cfg(files(&[FW_CFG_ANCHOR, FW_CFG_TABLES]))
        .unwrap()
        .unwrap();
    assert_eq!(smbios.structures(), &table[..]);
    assert!(smbios.smbios3().is_some());
    assert_eq!(Smbios::from_fw_cfg(files(&[])), Ok(None));
    assert_eq!(
        Smbios::from_fw_cfg(files(&[FW_CFG_ANCHOR])),
        Err(Error::MissingFwCfgFile { name: FW_CFG_TABLES })
    );
    assert_eq!(
        Smbios::from_fw_cfg(files(&[FW_CFG_TABLES])),
        Err(Error::MissingFwCfgFile { name: FW_CFG_ANCHOR })
    );
    let garbage = |name: &str| Some(name.as_bytes().to_vec());
    assert_eq!(Smbios::from_fw_cfg(garbage), Err(Error::NoAnchor));
}
