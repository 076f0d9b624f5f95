//! Host tests on disks made by `sgdisk` (Debian package gdisk), and on GPTs written byte
//! by byte where sgdisk cannot help: it always uses 512-byte sectors for image files, so
//! the 4096-byte-sector GPT is built here (and the builder is checked by `sgdisk -v`).

use super::*;
use crate::block::MemoryDisk;
use crate::crc32::crc32;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::string::{String, ToString};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::vec::Vec;
use std::{format, fs, vec};

const DISK_GUID: &str = "11111111-2222-3333-4444-555555555555";
const ESP_UNIQUE: &str = "AAAAAAAA-0000-4000-8000-000000000001";
const BOOT_UNIQUE: &str = "AAAAAAAA-0000-4000-8000-000000000002";
const ROOT_UNIQUE: &str = "AAAAAAAA-0000-4000-8000-000000000003";
const DATA_UNIQUE: &str = "AAAAAAAA-0000-4000-8000-000000000005";

/// 16 MiB of 512-byte sectors.
const SGDISK_BLOCKS: u64 = 32768;
/// sgdisk's defaults: 128 entries of 128 bytes at LBA 2, 32 sectors.
const SGDISK_LAST_USABLE: u64 = SGDISK_BLOCKS - 1 - 32 - 1;

fn guid(text: &str) -> Guid {
    Guid::parse(text).expect("test GUID")
}

/// A directory under the system temp dir, removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new(test: &str) -> TempDir {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let path = std::env::temp_dir().join(format!(
            "fw-partition-{}-{test}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        fs::create_dir_all(&path).expect("create temp dir");
        TempDir(path)
    }

    fn file(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// Runs an external tool; a missing tool fails the test naming its Debian package.
fn run(tool: &str, package: &str, args: &[&str], image: &Path) -> String {
    let output = Command::new(tool)
        .args(args)
        .arg(image)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {tool} ({e}): install the Debian package `{package}`"));
    let stdout = String::from_utf8_lossy(&output.stdout).to_string();
    assert!(
        output.status.success(),
        "{tool} {args:?} failed: {stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

fn sgdisk(args: &[&str], image: &Path) -> String {
    run("sgdisk", "gdisk", args, image)
}

/// A 16 MiB disk made by sgdisk: ESP (1), XBOOTLDR (2), Linux root with a non-ASCII
/// name and the legacy-bootable attribute (3), entry 4 unused, an unnamed Linux
/// partition (5). Made once per test run: sgdisk sleeps a second after writing.
fn sgdisk_image() -> Vec<u8> {
    static IMAGE: OnceLock<Vec<u8>> = OnceLock::new();
    IMAGE.get_or_init(make_sgdisk_image).clone()
}

fn make_sgdisk_image() -> Vec<u8> {
    let dir = TempDir::new("sgdisk");
    let image = dir.file("disk.img");
    fs::File::create(&image)
        .and_then(|f| f.set_len(SGDISK_BLOCKS * 512))
        .expect("create image");
    #[rustfmt::skip]
    let args = [
        "-o", "-U", DISK_GUID,
        "-n", "1:2048:10239", "-t", "1:ef00", "-c", "1:EFI System", "-u", &format!("1:{ESP_UNIQUE}"),
        "-n", "2:10240:12287", "-t", "2:BC13C2FF-59E6-4262-A352-B275FD6F7172", "-c", "2:boot",
        "-u", &format!("2:{BOOT_UNIQUE}"),
        "-n", "3:12288:20479", "-t", "3:8300", "-c", "3:root ü€", "-u", &format!("3:{ROOT_UNIQUE}"),
        "-A", "3:set:2",
        "-n", "5:20480:24575", "-t", "5:8300", "-u", &format!("5:{DATA_UNIQUE}"),
    ];
    sgdisk(&args, &image);
    fs::read(&image).expect("read image")
}

fn disk(image: Vec<u8>, block_size: u32) -> MemoryDisk {
    MemoryDisk::new(image, block_size)
}

fn read(image: &[u8], block_size: u32) -> Result<PartitionTable, Error> {
    read_partition_table(&disk(image.to_vec(), block_size))
}

/// What the sgdisk image holds.
fn assert_sgdisk_partitions(table: &PartitionTable) {
    assert_eq!(table.format, PartitionFormat::Gpt);
    assert_eq!(table.disk_signature, Signature::Guid(guid(DISK_GUID)));
    let summary: Vec<_> = table
        .partitions
        .iter()
        .map(|p| (p.number, p.start_lba, p.size_lbas, p.name.as_str()))
        .collect();
    assert_eq!(
        summary,
        [
            (1, 2048, 8192, "EFI System"),
            (2, 10240, 2048, "boot"),
            (3, 12288, 8192, "root ü€"),
            (5, 20480, 4096, ""),
        ]
    );
    let [esp, boot, root, data] = &table.partitions[..] else {
        panic!("four partitions expected");
    };
    assert_eq!(esp.partition_type, PartitionType::Gpt(EFI_SYSTEM_PARTITION));
    assert!(esp.is_efi_system_partition());
    assert_eq!(esp.signature, Signature::Guid(guid(ESP_UNIQUE)));
    assert_eq!(esp.format, PartitionFormat::Gpt);
    assert_eq!(boot.partition_type, PartitionType::Gpt(XBOOTLDR));
    assert_eq!(boot.signature, Signature::Guid(guid(BOOT_UNIQUE)));
    assert_eq!(root.partition_type, PartitionType::Gpt(LINUX_FILESYSTEM));
    assert_eq!(root.signature, Signature::Guid(guid(ROOT_UNIQUE)));
    assert_eq!((root.attributes, root.bootable), (4, true));
    assert_eq!((esp.attributes, esp.bootable), (0, false));
    assert!(!root.is_efi_system_partition());
    assert_eq!(data.signature, Signature::Guid(guid(DATA_UNIQUE)));
    assert_eq!(data.last_lba(), 24575);
}

// ---- patching GPT bytes, as a damaged or hostile disk would hold them ----

fn field_u32(image: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(image[at..at + 4].try_into().unwrap())
}

fn field_u64(image: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(image[at..at + 8].try_into().unwrap())
}

fn put_u32(image: &mut [u8], at: usize, value: u32) {
    image[at..at + 4].copy_from_slice(&value.to_le_bytes());
}

fn put_u64(image: &mut [u8], at: usize, value: u64) {
    image[at..at + 8].copy_from_slice(&value.to_le_bytes());
}

/// Byte offsets of the primary and backup headers.
fn header_offsets(image: &[u8], block_size: usize) -> [usize; 2] {
    [block_size, image.len() - block_size]
}

/// Byte offset of entry `index` in the array of the header at `header`.
fn entry_offset(image: &[u8], block_size: usize, header: usize, index: usize) -> usize {
    let entry_lba = field_u64(image, header + 72) as usize;
    let entry_size = field_u32(image, header + 84) as usize;
    entry_lba * block_size + index * entry_size
}

/// Recomputes both headers' entry-array CRC and header CRC.
fn fix_crcs(image: &mut [u8], block_size: usize) {
    for header in header_offsets(image, block_size) {
        let array = entry_offset(image, block_size, header, 0);
        let array_len = field_u32(image, header + 80) as usize * field_u32(image, header + 84) as usize;
        let array_crc = crc32(&image[array..array + array_len]);
        put_u32(image, header + 88, array_crc);
        put_u32(image, header + 16, 0);
        let header_size = field_u32(image, header + 12) as usize;
        let header_crc = crc32(&image[header..header + header_size]);
        put_u32(image, header + 16, header_crc);
    }
}

/// Applies `patch` to entry `index` in both arrays, then makes all CRCs valid again.
fn patch_entry(image: &mut [u8], block_size: usize, index: usize, patch: impl Fn(&mut [u8])) {
    for header in header_offsets(image, block_size) {
        let at = entry_offset(image, block_size, header, index);
        patch(&mut image[at..at + 128]);
    }
    fix_crcs(image, block_size);
}

// ---- a GPT written byte by byte (UEFI 2.10 §5.3), for any block size ----

struct TestPartition {
    type_guid: Guid,
    unique: Guid,
    first: u64,
    last: u64,
    name: &'static str,
}

const BUILT_ENTRIES: usize = 128;
const BUILT_ENTRY_SIZE: usize = 128;

/// A disk of `blocks` blocks with a protective MBR, both GPT copies and `partitions`
/// in entries 0, 1, ...
fn build_gpt(block_size: usize, blocks: u64, partitions: &[TestPartition]) -> Vec<u8> {
    let mut image = vec![0u8; block_size * blocks as usize];
    let array_blocks = (BUILT_ENTRIES * BUILT_ENTRY_SIZE).div_ceil(block_size) as u64;
    let last = blocks - 1;
    let first_usable = 2 + array_blocks;
    let last_usable = last - array_blocks - 1;

    // Protective MBR (UEFI 2.10 Table 5.4): one 0xEE record from LBA 1 to the end.
    let record = 446;
    image[record + 1..record + 4].copy_from_slice(&[0x00, 0x02, 0x00]);
    image[record + 4] = 0xEE;
    image[record + 5..record + 8].copy_from_slice(&[0xFF, 0xFF, 0xFF]);
    put_u32(&mut image, record + 8, 1);
    put_u32(&mut image, record + 12, (blocks - 1).min(u64::from(u32::MAX)) as u32);
    image[510..512].copy_from_slice(&[0x55, 0xAA]);

    let mut entries = vec![0u8; BUILT_ENTRIES * BUILT_ENTRY_SIZE];
    for (i, p) in partitions.iter().enumerate() {
        let e = &mut entries[i * BUILT_ENTRY_SIZE..(i + 1) * BUILT_ENTRY_SIZE];
        e[0..16].copy_from_slice(&p.type_guid.to_bytes());
        e[16..32].copy_from_slice(&p.unique.to_bytes());
        put_u64(e, 32, p.first);
        put_u64(e, 40, p.last);
        for (j, unit) in p.name.encode_utf16().enumerate() {
            e[56 + 2 * j..58 + 2 * j].copy_from_slice(&unit.to_le_bytes());
        }
    }
    let entries_crc = crc32(&entries);

    for (my_lba, alternate, entry_lba) in [(1, last, 2), (last, 1, last_usable + 1)] {
        let h = my_lba as usize * block_size;
        image[h..h + 8].copy_from_slice(b"EFI PART");
        put_u32(&mut image, h + 8, 0x0001_0000);
        put_u32(&mut image, h + 12, 92);
        put_u64(&mut image, h + 24, my_lba);
        put_u64(&mut image, h + 32, alternate);
        put_u64(&mut image, h + 40, first_usable);
        put_u64(&mut image, h + 48, last_usable);
        image[h + 56..h + 72].copy_from_slice(&guid(DISK_GUID).to_bytes());
        put_u64(&mut image, h + 72, entry_lba);
        put_u32(&mut image, h + 80, BUILT_ENTRIES as u32);
        put_u32(&mut image, h + 84, BUILT_ENTRY_SIZE as u32);
        put_u32(&mut image, h + 88, entries_crc);
        let header_crc = crc32(&image[h..h + 92]);
        put_u32(&mut image, h + 16, header_crc);
        let a = entry_lba as usize * block_size;
        image[a..a + entries.len()].copy_from_slice(&entries);
    }
    image
}

/// An ESP and a Linux partition, in blocks of `block_size`, on a 16 MiB disk.
fn built_partitions(block_size: u64) -> [TestPartition; 2] {
    let mib = (1 << 20) / block_size;
    [
        TestPartition {
            type_guid: EFI_SYSTEM_PARTITION,
            unique: guid(ESP_UNIQUE),
            first: mib,
            last: 5 * mib - 1,
            name: "EFI System",
        },
        TestPartition {
            type_guid: LINUX_FILESYSTEM,
            unique: guid(ROOT_UNIQUE),
            first: 5 * mib,
            last: 12 * mib - 1,
            name: "root",
        },
    ]
}

fn assert_built_partitions(table: &PartitionTable, block_size: u64) {
    let mib = (1 << 20) / block_size;
    let summary: Vec<_> = table
        .partitions
        .iter()
        .map(|p| (p.number, p.start_lba, p.size_lbas, p.name.as_str(), p.partition_type))
        .collect();
    assert_eq!(
        summary,
        [
            (1, mib, 4 * mib, "EFI System", PartitionType::Gpt(EFI_SYSTEM_PARTITION)),
            (2, 5 * mib, 7 * mib, "root", PartitionType::Gpt(LINUX_FILESYSTEM)),
        ]
    );
}

/// An MBR with a disk signature and `records` of (boot, type, start, count) in slots 0...
fn build_mbr(blocks: u64, records: &[(u8, u8, u32, u32)]) -> Vec<u8> {
    let mut image = vec![0u8; 512 * blocks as usize];
    put_u32(&mut image, 440, 0x1234_5678);
    for (slot, &(boot, os_type, start, count)) in records.iter().enumerate() {
        let r = 446 + 16 * slot;
        image[r] = boot;
        image[r + 4] = os_type;
        put_u32(&mut image, r + 8, start);
        put_u32(&mut image, r + 12, count);
    }
    image[510..512].copy_from_slice(&[0x55, 0xAA]);
    image
}

// ---- GPT as sgdisk makes it ----

#[test]
fn reads_esp_xbootldr_and_linux_partitions_made_by_sgdisk() {
    let table = read(&sgdisk_image(), 512).unwrap();
    assert_sgdisk_partitions(&table);
    assert!(!table.used_backup_gpt);
}

#[test]
fn damaged_primary_header_crc_falls_back_to_backup() {
    let mut image = sgdisk_image();
    image[512 + 16] ^= 0xff;
    let table = read(&image, 512).unwrap();
    assert!(table.used_backup_gpt);
    assert_sgdisk_partitions(&table);
}

#[test]
fn missing_primary_header_falls_back_to_backup() {
    let mut image = sgdisk_image();
    image[512..1024].fill(0);
    let table = read(&image, 512).unwrap();
    assert!(table.used_backup_gpt);
    assert_sgdisk_partitions(&table);
}

#[test]
fn damaged_primary_entry_array_falls_back_to_backup() {
    let mut image = sgdisk_image();
    // A byte in the ESP's name: the primary header is intact, its entry CRC is not.
    image[2 * 512 + 60] ^= 0x01;
    assert_eq!(
        read_copy_error(&image, 1),
        Some(Error::EntriesCrcMismatch {
            lba: 1,
            expected: field_u32(&image, 512 + 88),
            found: crc32(&image[1024..1024 + 16384]),
        })
    );
    let table = read(&image, 512).unwrap();
    assert!(table.used_backup_gpt);
    assert_sgdisk_partitions(&table);
}

/// What the reader reports for the GPT copy at `lba` alone.
fn read_copy_error(image: &[u8], lba: u64) -> Option<Error> {
    super::gpt::tests_read_copy(&disk(image.to_vec(), 512), lba).err()
}

#[test]
fn both_headers_damaged_names_both_reasons() {
    let mut image = sgdisk_image();
    let last = image.len() - 512;
    let stored = field_u32(&image, 512 + 16);
    image[512 + 16] ^= 0xff;
    image[last..last + 8].copy_from_slice(b"NOT PART");
    let error = read(&image, 512).unwrap_err();
    let Error::BothHeadersBad { primary, backup } = &error else {
        panic!("unexpected {error:?}");
    };
    assert_eq!(
        **primary,
        Error::HeaderCrcMismatch {
            lba: 1,
            expected: stored ^ 0xff,
            found: stored
        }
    );
    assert_eq!(**backup, Error::BadSignature { lba: SGDISK_BLOCKS - 1 });
    let message = error.to_string();
    assert!(message.contains("LBA 1 has CRC32"), "{message}");
    assert!(message.contains("no \"EFI PART\" GPT header at LBA 32767"), "{message}");
}

/// Gives both headers' entry-array CRC a wrong value (header CRCs stay valid).
fn break_both_entry_array_crcs(image: &mut [u8]) {
    for header in header_offsets(image, 512) {
        let crc = field_u32(image, header + 88);
        put_u32(image, header + 88, crc ^ 1);
        put_u32(image, header + 16, 0);
        let header_crc = crc32(&image[header..header + 92]);
        put_u32(image, header + 16, header_crc);
    }
}

#[test]
fn both_entry_arrays_failing_their_crc_keep_the_entries_and_say_so() {
    let mut image = sgdisk_image();
    break_both_entry_array_crcs(&mut image);
    let table = read(&image, 512).unwrap();
    assert_sgdisk_partitions(&table);
    assert!(!table.used_backup_gpt);
    let [Damage::EntryArrayCrc {
        primary,
        backup,
        used_lba: 1,
    }] = &table.damage[..]
    else {
        panic!("unexpected damage {:?}", table.damage);
    };
    assert!(matches!(**primary, Error::EntriesCrcMismatch { lba: 1, .. }));
    assert!(matches!(**backup, Error::EntriesCrcMismatch { lba: 32767, .. }));
    let message = table.damage[0].to_string();
    assert!(
        message.starts_with("no intact GPT (primary: GPT entry array of the header at LBA 1"),
        "{message}"
    );
    assert!(
        message.ends_with("using the entries of the header at LBA 1 that pass their own checks"),
        "{message}"
    );
}

#[test]
fn both_arrays_failing_their_crc_with_one_bad_entry_keep_the_good_ones() {
    let mut image = sgdisk_image();
    // Entry 1 (partition 2) ends before it starts, in both arrays, CRCs not fixed.
    for header in header_offsets(&image, 512) {
        let at = entry_offset(&image, 512, header, 1);
        put_u64(&mut image, at + 40, 5);
    }
    let table = read(&image, 512).unwrap();
    let numbers: Vec<u32> = table.partitions.iter().map(|p| p.number).collect();
    assert_eq!(numbers, [1, 3, 5]);
    assert!(matches!(table.damage[0], Damage::EntryArrayCrc { used_lba: 1, .. }));
    assert_eq!(
        table.damage[1..],
        [Damage::EntryLeftOut {
            index: 1,
            why: Error::EntryEndsBeforeStart {
                index: 1,
                first_lba: 10240,
                last_lba: 5
            }
        }]
    );
    assert_eq!(
        table.damage[1].to_string(),
        "partition entry 1 ends (LBA 5) before it starts (LBA 10240); partition 2 is left out"
    );
}

#[test]
fn damaged_primary_header_and_backup_array_crc_use_the_backup_entries() {
    let mut image = sgdisk_image();
    image[512..1024].fill(0);
    let last = image.len() - 512;
    let crc = field_u32(&image, last + 88);
    put_u32(&mut image, last + 88, crc ^ 1);
    put_u32(&mut image, last + 16, 0);
    let header_crc = crc32(&image[last..last + 92]);
    put_u32(&mut image, last + 16, header_crc);
    let table = read(&image, 512).unwrap();
    assert_sgdisk_partitions(&table);
    assert!(table.used_backup_gpt);
    let [Damage::EntryArrayCrc { primary, used_lba, .. }] = &table.damage[..] else {
        panic!("unexpected damage {:?}", table.damage);
    };
    assert_eq!((**primary).clone(), Error::BadSignature { lba: 1 });
    assert_eq!(*used_lba, SGDISK_BLOCKS - 1);
}

#[test]
fn primary_with_a_bad_entry_and_broken_crc_gives_way_to_an_intact_backup() {
    let mut image = sgdisk_image();
    // Only the primary's entry 0 is damaged (as a stray write would): its array's
    // CRC no longer matches, and the backup still holds the good entry.
    let at = entry_offset(&image, 512, 512, 0);
    put_u64(&mut image, at + 32, 1);
    let table = read(&image, 512).unwrap();
    assert!(table.used_backup_gpt);
    assert!(table.damage.is_empty(), "{:?}", table.damage);
    assert_sgdisk_partitions(&table);
}

#[test]
fn header_larger_than_a_block_is_refused() {
    let mut image = sgdisk_image();
    for header in header_offsets(&image, 512) {
        put_u32(&mut image, header + 12, 513);
    }
    let Err(Error::BothHeadersBad { primary, backup }) = read(&image, 512) else {
        panic!("header size 513 should be refused");
    };
    assert_eq!(*primary, Error::BadHeaderSize { lba: 1, size: 513 });
    assert_eq!(*backup, Error::BadHeaderSize { lba: 32767, size: 513 });
}

/// The partition numbers a table keeps, and the entries it leaves out with why.
fn kept_and_left_out(table: &PartitionTable) -> (Vec<u32>, Vec<(u32, Error)>) {
    let kept = table.partitions.iter().map(|p| p.number).collect();
    let left_out = table
        .damage
        .iter()
        .map(|d| match d {
            Damage::EntryLeftOut { index, why } => (*index, why.clone()),
            other => panic!("unexpected damage {other:?}"),
        })
        .collect();
    (kept, left_out)
}

#[test]
fn overlapping_entry_is_left_out_and_named_with_the_one_it_overlaps() {
    let mut image = sgdisk_image();
    // Entry 4 (partition 5) now starts inside entry 2 (partition 3).
    patch_entry(&mut image, 512, 4, |e| put_u64(e, 32, 20000));
    let table = read(&image, 512).unwrap();
    assert_eq!(
        kept_and_left_out(&table),
        (vec![1, 2, 3], vec![(4, Error::OverlappingEntries { a: 2, b: 4 })])
    );
    assert_eq!(
        table.damage[0].to_string(),
        "partition entries 2 and 4 overlap; partition 5 is left out"
    );
}

#[test]
fn entry_contained_in_another_is_an_overlap() {
    let mut image = sgdisk_image();
    patch_entry(&mut image, 512, 1, |e| {
        put_u64(e, 32, 3000);
        put_u64(e, 40, 3001);
    });
    let table = read(&image, 512).unwrap();
    assert_eq!(
        kept_and_left_out(&table),
        (vec![1, 3, 5], vec![(1, Error::OverlappingEntries { a: 0, b: 1 })])
    );
}

#[test]
fn of_two_overlapping_entries_the_later_in_table_order_is_left_out() {
    let mut image = sgdisk_image();
    // Entry 4 starts inside entry 1 and reaches into entry 2: both came first in
    // the table and are kept, although entry 4 starts before entry 2 on the disk.
    // The message names the kept entry nearest to its end.
    patch_entry(&mut image, 512, 4, |e| {
        put_u64(e, 32, 11000);
        put_u64(e, 40, 12300);
    });
    let table = read(&image, 512).unwrap();
    assert_eq!(
        kept_and_left_out(&table),
        (vec![1, 2, 3], vec![(4, Error::OverlappingEntries { a: 2, b: 4 })])
    );
}

#[test]
fn entry_past_last_usable_lba_is_left_out() {
    let mut image = sgdisk_image();
    patch_entry(&mut image, 512, 4, |e| put_u64(e, 40, SGDISK_LAST_USABLE + 1));
    let table = read(&image, 512).unwrap();
    assert_eq!(
        kept_and_left_out(&table),
        (
            vec![1, 2, 3],
            vec![(
                4,
                Error::EntryOutsideDisk {
                    index: 4,
                    first_lba: 20480,
                    last_lba: SGDISK_LAST_USABLE + 1
                }
            )]
        )
    );
}

#[test]
fn entry_over_the_primary_entry_array_is_left_out() {
    let mut image = sgdisk_image();
    patch_entry(&mut image, 512, 0, |e| put_u64(e, 32, 33));
    let (kept, left_out) = kept_and_left_out(&read(&image, 512).unwrap());
    assert_eq!(kept, [2, 3, 5]);
    assert!(matches!(left_out[..], [(0, Error::EntryOutsideDisk { index: 0, .. })]));
}

#[test]
fn entry_ending_before_it_starts_is_left_out() {
    let mut image = sgdisk_image();
    patch_entry(&mut image, 512, 1, |e| put_u64(e, 40, 10000));
    assert_eq!(
        kept_and_left_out(&read(&image, 512).unwrap()),
        (
            vec![1, 3, 5],
            vec![(
                1,
                Error::EntryEndsBeforeStart {
                    index: 1,
                    first_lba: 10240,
                    last_lba: 10000
                }
            )]
        )
    );
}

#[test]
fn a_table_whose_every_entry_is_bad_has_no_partitions() {
    let mut image = sgdisk_image();
    for index in [0, 1, 2, 4] {
        patch_entry(&mut image, 512, index, |e| put_u64(e, 40, 1));
    }
    let (kept, left_out) = kept_and_left_out(&read(&image, 512).unwrap());
    assert!(kept.is_empty());
    assert_eq!(left_out.iter().map(|(i, _)| *i).collect::<Vec<_>>(), [0, 1, 2, 4]);
}

#[test]
fn entry_array_off_the_disk_is_refused() {
    let mut image = sgdisk_image();
    for header in header_offsets(&image, 512) {
        put_u64(&mut image, header + 72, SGDISK_BLOCKS - 4);
    }
    // Only the header CRCs are fixed: the entry CRC is never reached.
    for header in header_offsets(&image, 512) {
        put_u32(&mut image, header + 16, 0);
        let crc = crc32(&image[header..header + 92]);
        put_u32(&mut image, header + 16, crc);
    }
    let Err(Error::BothHeadersBad { primary, .. }) = read(&image, 512) else {
        panic!("entry array off the disk should be refused");
    };
    assert_eq!(
        *primary,
        Error::BadEntryArrayLocation {
            lba: 1,
            entry_lba: SGDISK_BLOCKS - 4,
            blocks: 32
        }
    );
}

// ---- GPT written by the test ----

#[test]
fn gpt_builder_output_passes_sgdisk_verify() {
    let dir = TempDir::new("verify");
    let image = dir.file("built.img");
    fs::write(&image, build_gpt(512, 32768, &built_partitions(512))).unwrap();
    let report = sgdisk(&["-v"], &image);
    assert!(report.contains("No problems found"), "{report}");
    let listing = sgdisk(&["-i", "1"], &image);
    assert!(listing.contains(&format!("unique GUID: {ESP_UNIQUE}")), "{listing}");
    assert!(listing.contains("EFI system partition"), "{listing}");
}

#[test]
fn reads_gpt_on_512_byte_sectors_built_by_hand() {
    let image = build_gpt(512, 32768, &built_partitions(512));
    assert_built_partitions(&read(&image, 512).unwrap(), 512);
}

#[test]
fn reads_gpt_on_4096_byte_sectors() {
    let image = build_gpt(4096, 4096, &built_partitions(4096));
    let table = read(&image, 4096).unwrap();
    assert!(!table.used_backup_gpt);
    assert_built_partitions(&table, 4096);
}

#[test]
fn damaged_primary_on_4096_byte_sectors_falls_back_to_backup() {
    let mut image = build_gpt(4096, 4096, &built_partitions(4096));
    image[4096 + 16] ^= 0x55;
    let table = read(&image, 4096).unwrap();
    assert!(table.used_backup_gpt);
    assert_built_partitions(&table, 4096);
}

#[test]
fn a_512_byte_gpt_is_not_found_when_read_with_4096_byte_sectors() {
    let image = sgdisk_image();
    let error = read(&image, 4096).unwrap_err();
    assert!(matches!(error, Error::BothHeadersBad { .. }), "{error:?}");
}

#[test]
fn gpt_without_protective_mbr_is_not_read() {
    let mut image = sgdisk_image();
    image[..512].fill(0);
    assert_eq!(read(&image, 512).unwrap_err(), Error::NoPartitionTable);
}

// ---- MBR ----

#[test]
fn reads_primary_mbr_partitions_and_skips_extended() {
    let image = build_mbr(
        8192,
        &[
            (0x80, 0xEF, 2048, 2048),
            (0x00, 0x83, 4096, 2048),
            (0x00, 0x0F, 6144, 1024),
        ],
    );
    let table = read(&image, 512).unwrap();
    assert_eq!(table.format, PartitionFormat::Mbr);
    assert_eq!(table.disk_signature, Signature::Mbr(0x1234_5678));
    let [esp, linux] = &table.partitions[..] else {
        panic!("two partitions expected, got {:?}", table.partitions);
    };
    assert_eq!(
        (esp.number, esp.start_lba, esp.size_lbas, esp.bootable),
        (1, 2048, 2048, true)
    );
    assert_eq!(esp.partition_type, PartitionType::Mbr(0xEF));
    assert!(esp.is_efi_system_partition());
    assert_eq!(
        (linux.number, linux.start_lba, linux.size_lbas, linux.bootable),
        (2, 4096, 2048, false)
    );
    assert_eq!(linux.partition_type, PartitionType::Mbr(0x83));
    assert_eq!(linux.signature, Signature::Mbr(0x1234_5678));
    assert_eq!(linux.format, PartitionFormat::Mbr);
    assert_eq!(linux.name, "");
}

#[test]
fn mbr_partition_numbers_follow_their_slot() {
    let image = build_mbr(8192, &[(0, 0, 0, 0), (0, 0, 0, 0), (0, 0x0C, 2048, 100)]);
    let table = read(&image, 512).unwrap();
    assert_eq!(table.partitions[0].number, 3);
}

#[test]
fn mbr_partition_past_the_disk_end_is_reported() {
    let image = build_mbr(8192, &[(0, 0x83, 2048, 2048), (0, 0x83, 4096, 4097)]);
    assert_eq!(
        read(&image, 512).unwrap_err(),
        Error::EntryOutsideDisk {
            index: 1,
            first_lba: 4096,
            last_lba: 8192
        }
    );
}

#[test]
fn overlapping_mbr_partitions_are_reported() {
    let image = build_mbr(8192, &[(0, 0x83, 2048, 4096), (0, 0x0F, 4096, 100)]);
    assert_eq!(read(&image, 512).unwrap_err(), Error::OverlappingEntries { a: 0, b: 1 });
}

#[test]
fn protective_mbr_partition_means_gpt() {
    let image = sgdisk_image();
    assert_eq!(image[446 + 4], MBR_TYPE_GPT_PROTECTIVE);
    assert_eq!(read(&image, 512).unwrap().format, PartitionFormat::Gpt);
}

#[test]
fn blank_disk_has_no_partition_table() {
    assert_eq!(read(&[0u8; 4096], 512).unwrap_err(), Error::NoPartitionTable);
    assert_eq!(read(&build_mbr(8, &[]), 512).unwrap_err(), Error::NoPartitionTable);
}

#[test]
fn fat_boot_sector_without_partitions_has_no_partition_table() {
    let dir = TempDir::new("superfloppy");
    let image = dir.file("fat.img");
    fs::File::create(&image)
        .and_then(|f| f.set_len(8 << 20))
        .expect("create image");
    run("mkfs.fat", "dosfstools", &[], &image);
    let bytes = fs::read(&image).unwrap();
    assert_eq!(read(&bytes, 512).unwrap_err(), Error::NoPartitionTable);
}

#[test]
fn record_area_with_invalid_boot_indicators_is_not_an_mbr() {
    let image = build_mbr(8192, &[(0x12, 0x83, 2048, 2048)]);
    assert_eq!(read(&image, 512).unwrap_err(), Error::NoPartitionTable);
}

#[test]
fn blocks_smaller_than_512_bytes_are_refused() {
    assert_eq!(
        read(&[0u8; 1024], 256).unwrap_err(),
        Error::UnsupportedBlockSize { block_size: 256 }
    );
}

// ---- HD() node fields ----

#[test]
fn hd_node_fields_follow_the_table_format() {
    assert_eq!(PartitionFormat::Mbr.mbr_type(), MBR_TYPE_PCAT);
    assert_eq!(PartitionFormat::Gpt.mbr_type(), MBR_TYPE_EFI_PARTITION_TABLE_HEADER);
    let mbr = Signature::Mbr(0x1234_5678);
    assert_eq!(mbr.signature_type(), SIGNATURE_TYPE_MBR);
    assert_eq!(
        mbr.to_bytes(),
        [0x78, 0x56, 0x34, 0x12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]
    );
    let gpt = Signature::Guid(EFI_SYSTEM_PARTITION);
    assert_eq!(gpt.signature_type(), SIGNATURE_TYPE_GUID);
    assert_eq!(gpt.to_bytes(), EFI_SYSTEM_PARTITION.to_bytes());
}

// ---- the partition view ----

/// A 4096-byte-sector disk whose every block starts with its own LBA.
fn numbered_4k_disk() -> Arc<dyn BlockDevice> {
    let mut image = build_gpt(4096, 4096, &built_partitions(4096));
    let table = read(&image, 4096).unwrap();
    for p in &table.partitions {
        for lba in p.start_lba..=p.last_lba() {
            put_u64(&mut image, lba as usize * 4096, lba);
        }
    }
    Arc::new(disk(image, 4096))
}

#[test]
fn partition_view_maps_blocks_into_the_partition() {
    let disk = numbered_4k_disk();
    let table = read_partition_table(&*disk).unwrap();
    let root = &table.partitions[1];
    let view = Partition::new(disk.clone(), root).unwrap();
    assert_eq!((view.block_size(), view.block_count()), (4096, root.size_lbas));
    assert_eq!(view.start_lba(), root.start_lba);

    let mut buf = vec![0u8; 2 * 4096];
    view.read_blocks(0, &mut buf).unwrap();
    assert_eq!(field_u64(&buf, 0), root.start_lba);
    assert_eq!(field_u64(&buf, 4096), root.start_lba + 1);
    view.read_blocks(root.size_lbas - 2, &mut buf).unwrap();
    assert_eq!(field_u64(&buf, 4096), root.last_lba());

    view.write_blocks(3, &[0xAB; 4096]).unwrap();
    let mut block = vec![0u8; 4096];
    disk.read_blocks(root.start_lba + 3, &mut block).unwrap();
    assert!(block.iter().all(|&b| b == 0xAB));
}

#[test]
fn partition_view_refuses_requests_outside_the_partition() {
    let disk = numbered_4k_disk();
    let table = read_partition_table(&*disk).unwrap();
    let esp = &table.partitions[0];
    let view = Partition::new(disk.clone(), esp).unwrap();
    let blocks = esp.size_lbas;
    let mut buf = vec![0u8; 2 * 4096];
    let out_of_range = |lba| BlockError::OutOfRange {
        lba,
        blocks: 2,
        block_count: blocks,
    };
    // The next partition starts right after: a read across the end must not reach it.
    assert_eq!(view.read_blocks(blocks - 1, &mut buf), Err(out_of_range(blocks - 1)));
    assert_eq!(view.read_blocks(blocks, &mut buf), Err(out_of_range(blocks)));
    assert_eq!(view.write_blocks(blocks - 1, &buf), Err(out_of_range(blocks - 1)));
    assert_eq!(view.read_blocks(u64::MAX, &mut buf), Err(out_of_range(u64::MAX)));
    let mut root_first = vec![0u8; 4096];
    disk.read_blocks(esp.last_lba() + 1, &mut root_first).unwrap();
    assert_eq!(field_u64(&root_first, 0), esp.last_lba() + 1);
}

#[test]
fn partition_view_off_the_disk_is_refused() {
    let disk: Arc<dyn BlockDevice> = Arc::new(MemoryDisk::new(vec![0; 8 * 512], 512));
    assert!(Partition::from_range(disk.clone(), 4, 4).is_ok());
    assert_eq!(
        Partition::from_range(disk.clone(), 4, 5).err(),
        Some(BlockError::OutOfRange {
            lba: 4,
            blocks: 5,
            block_count: 8
        })
    );
    assert!(Partition::from_range(disk, u64::MAX, 2).is_err());
}

#[test]
fn partitions_keep_their_table_entry_as_stored() {
    let image = sgdisk_image();
    let table = read(&image, 512).unwrap();
    // sgdisk puts the entry array at LBA 2; the ESP is entry 0, root entry 2.
    for partition in &table.partitions {
        let at = 2 * 512 + (partition.number as usize - 1) * 128;
        assert_eq!(partition.entry, &image[at..at + 128]);
    }
    let image = build_mbr(64, &[(0x80, 0x0c, 2, 10), (0, 0x83, 12, 20)]);
    let table = read(&image, 512).unwrap();
    assert_eq!(table.partitions[1].entry, &image[446 + 16..446 + 32]);
    assert_eq!(table.partitions[0].entry[0], 0x80);
}
