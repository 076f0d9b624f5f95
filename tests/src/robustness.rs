//! Robustness boot tests: a corpus of broken disks, each booted with the broken
//! disk first and a good disk (an ESP holding the EFI test application as
//! `\EFI\BOOT\BOOTX64.EFI`) second. For each, the serial console must name the
//! damage in a specific line, then the good disk must boot; no exception, no
//! panic, no isa-debug-exit status 3.
//!
//! Every broken image starts as a good one made by the real tools (sgdisk,
//! mkfs.fat, mtools); the damage is a few bytes written into a copy, with the
//! GPT's CRC32s (UEFI 2.10 §5.3.2) recomputed where a case needs them valid.
//! The FAT offsets follow fatgen103 §3 (BPB) and §4 (FAT entries); the PE
//! offsets follow Microsoft's "PE Format" §3 (headers, section table) and §6.6
//! (base relocations).
//!
//! Also here: the firmware must not write to a disk by itself (the image's
//! SHA-256 is unchanged after a boot without `snapshot=on`), and a virtio-blk
//! device that fails reads (QEMU's blkdebug driver) must be reported and skipped;
//! and Debian must boot past a bad GPT entry and through the backup GPT.

use crate::boot_tests::{app_text_file, BootTest, Context, Session};
use crate::images::{self, Partition, Source};
use crate::qemu::{Qemu, QemuConfig};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// How long the firmware may take to reach a line under TCG.
const START: Duration = Duration::from_secs(20);
/// The unique partition GUID of the good disk's ESP: boot lines naming it come
/// from the good disk.
const GOOD_ESP_GUID: &str = "4856464d-0000-4000-8000-00000000900d";
/// The broken disk's ESP uses the images' usual GUID.
const BROKEN_ESP_GUID: &str = images::ESP_PARTITION_GUID;
/// Size of the ESPs here: FAT32 with 512-byte clusters needs about 33 MiB.
const ESP_MIB: u64 = 40;
const SECTOR: usize = 512;
const BOOT_FILE: &str = "EFI/BOOT/BOOTX64.EFI";
/// What the EFI test application prints when all its checks passed.
const APP_DONE: &str = "HVFW-APP: done, 0 failed";

pub fn tests() -> Vec<BootTest> {
    vec![
        BootTest {
            name: "robust_gpt_primary_header_crc_bad_uses_backup",
            run: gpt_primary_header_crc_bad,
        },
        BootTest {
            name: "robust_gpt_both_header_crcs_bad",
            run: gpt_both_header_crcs_bad,
        },
        BootTest {
            name: "robust_gpt_entry_array_crc_bad",
            run: gpt_entry_array_crc_bad,
        },
        BootTest {
            name: "robust_gpt_entry_outside_disk",
            run: gpt_entry_outside_disk,
        },
        BootTest {
            name: "robust_gpt_overlapping_partitions",
            run: gpt_overlapping_partitions,
        },
        BootTest {
            name: "robust_gpt_bad_entry_leaves_the_esp_and_debian_boots",
            run: gpt_bad_entry_debian,
        },
        BootTest {
            name: "robust_gpt_damaged_primary_debian_boots_through_the_backup",
            run: gpt_damaged_primary_debian,
        },
        BootTest {
            name: "robust_mbr_only_disk_is_tried",
            run: mbr_only_disk,
        },
        BootTest {
            name: "robust_fat_bad_bpb",
            run: fat_bad_bpb,
        },
        BootTest {
            name: "robust_fat_directory_cluster_loop",
            run: fat_directory_cluster_loop,
        },
        BootTest {
            name: "robust_fat_file_cluster_loop",
            run: fat_file_cluster_loop,
        },
        BootTest {
            name: "robust_fat_chain_past_volume_end",
            run: fat_chain_past_end,
        },
        BootTest {
            name: "robust_fat_file_larger_than_chain",
            run: fat_file_larger_than_chain,
        },
        BootTest {
            name: "robust_zero_sized_esp",
            run: zero_sized_esp,
        },
        BootTest {
            name: "robust_fat_directory_of_65536_entries_boots",
            run: fat_directory_of_65536_entries,
        },
        BootTest {
            name: "robust_fat_directory_chain_too_long",
            run: fat_directory_chain_too_long,
        },
        BootTest {
            name: "robust_pe_truncated_headers",
            run: pe_truncated_headers,
        },
        BootTest {
            name: "robust_pe_section_outside_file",
            run: pe_section_outside_file,
        },
        BootTest {
            name: "robust_pe_relocation_out_of_range",
            run: pe_relocation_out_of_range,
        },
        BootTest {
            name: "robust_pe_wrong_machine",
            run: pe_wrong_machine,
        },
        BootTest {
            name: "robust_firmware_does_not_write_to_disks",
            run: firmware_does_not_write,
        },
        BootTest {
            name: "robust_virtio_read_error_in_partition_table",
            run: virtio_error_in_partition_table,
        },
        BootTest {
            name: "robust_virtio_read_error_in_boot_file",
            run: virtio_error_in_boot_file,
        },
    ]
}

// ---- images ----

fn test_app() -> Result<PathBuf, String> {
    static APP: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    APP.get_or_init(crate::firmware::build_efi_test_app).clone()
}

fn esp_with(guid: &str, mut files: Vec<(String, Source)>) -> Partition {
    files.push(app_text_file());
    Partition {
        guid: guid.into(),
        ..Partition::esp(ESP_MIB, files)
    }
}

/// The second disk of every test: the test application on an ESP.
fn good_disk() -> Result<PathBuf, String> {
    let app = Source::Host(test_app()?);
    images::custom_disk("robust-good", &[esp_with(GOOD_ESP_GUID, vec![(BOOT_FILE.into(), app)])])
}

/// The starting point of the broken disks: the same layout, the test
/// application too (so a firmware that missed the damage would boot it from the
/// first disk, which the tests notice), and the usual ESP GUID.
fn base_disk() -> Result<PathBuf, String> {
    let app = Source::Host(test_app()?);
    images::custom_disk(
        "robust-base",
        &[esp_with(BROKEN_ESP_GUID, vec![(BOOT_FILE.into(), app)])],
    )
}

/// A base disk whose BOOTX64.EFI is `image`.
fn disk_with_boot_file(name: &str, image: Vec<u8>) -> Result<PathBuf, String> {
    images::custom_disk(
        name,
        &[esp_with(
            BROKEN_ESP_GUID,
            vec![(BOOT_FILE.into(), Source::Bytes(image))],
        )],
    )
}

/// A scratch copy of an image, removed when dropped.
struct Scratch {
    dir: PathBuf,
}

impl Scratch {
    fn new(tag: &str) -> Result<Scratch, String> {
        Ok(Scratch {
            dir: images::tempdir(tag)?,
        })
    }

    /// Writes `bytes` as `name` in the scratch directory.
    fn write(&self, name: &str, bytes: &[u8]) -> Result<PathBuf, String> {
        let path = self.dir.join(name);
        std::fs::write(&path, bytes).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        Ok(path)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn read_image(path: &Path) -> Result<Vec<u8>, String> {
    std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))
}

fn le16(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}
fn le32(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(b[at..at + 4].try_into().unwrap())
}
fn le64(b: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(b[at..at + 8].try_into().unwrap())
}
fn put16(b: &mut [u8], at: usize, v: u16) {
    b[at..at + 2].copy_from_slice(&v.to_le_bytes());
}
fn put32(b: &mut [u8], at: usize, v: u32) {
    b[at..at + 4].copy_from_slice(&v.to_le_bytes());
}
fn put64(b: &mut [u8], at: usize, v: u64) {
    b[at..at + 8].copy_from_slice(&v.to_le_bytes());
}

// ---- GPT (UEFI 2.10 §5.3, Tables 5.5 and 5.6) ----

const GPT_HEADER_SIZE: usize = 12;
const GPT_HEADER_CRC32: usize = 16;
const GPT_DISK_GUID: usize = 56;
const GPT_PARTITION_ENTRY_LBA: usize = 72;
const GPT_NUMBER_OF_PARTITION_ENTRIES: usize = 80;
const GPT_SIZE_OF_PARTITION_ENTRY: usize = 84;
const GPT_PARTITION_ENTRY_ARRAY_CRC32: usize = 88;
const ENTRY_UNIQUE_PARTITION_GUID: usize = 16;
const ENTRY_STARTING_LBA: usize = 32;
const ENTRY_ENDING_LBA: usize = 40;
const ENTRY_PARTITION_NAME: usize = 56;

fn last_lba(img: &[u8]) -> u64 {
    (img.len() / SECTOR) as u64 - 1
}

/// The byte range of the entry array of the header at `lba`.
fn gpt_entries(img: &[u8], lba: u64) -> std::ops::Range<usize> {
    let h = lba as usize * SECTOR;
    let start = le64(img, h + GPT_PARTITION_ENTRY_LBA) as usize * SECTOR;
    let len =
        le32(img, h + GPT_NUMBER_OF_PARTITION_ENTRIES) as usize * le32(img, h + GPT_SIZE_OF_PARTITION_ENTRY) as usize;
    start..start + len
}

fn gpt_entry_size(img: &[u8]) -> usize {
    le32(img, SECTOR + GPT_SIZE_OF_PARTITION_ENTRY) as usize
}

/// Recomputes the entry-array CRC and then the header CRC of the header at `lba`.
fn gpt_fix_crcs(img: &mut [u8], lba: u64) {
    let h = lba as usize * SECTOR;
    let entries = gpt_entries(img, lba);
    let crc = fw_drivers::crc32::crc32(&img[entries]);
    put32(img, h + GPT_PARTITION_ENTRY_ARRAY_CRC32, crc);
    gpt_fix_header_crc(img, lba);
}

fn gpt_fix_header_crc(img: &mut [u8], lba: u64) {
    let h = lba as usize * SECTOR;
    let size = le32(img, h + GPT_HEADER_SIZE) as usize;
    put32(img, h + GPT_HEADER_CRC32, 0);
    let crc = fw_drivers::crc32::crc32(&img[h..h + size]);
    put32(img, h + GPT_HEADER_CRC32, crc);
}

/// Edits the entry arrays of both GPT copies the same way, with valid CRCs.
fn gpt_edit_entries(img: &mut [u8], edit: impl Fn(&mut [u8], usize)) {
    let entry_size = gpt_entry_size(img);
    for lba in [1, last_lba(img)] {
        let range = gpt_entries(img, lba);
        edit(&mut img[range], entry_size);
        gpt_fix_crcs(img, lba);
    }
}

/// Damages the header at `lba` without fixing its CRC: one byte of the disk GUID.
fn gpt_damage_header(img: &mut [u8], lba: u64) {
    img[lba as usize * SECTOR + GPT_DISK_GUID] ^= 0x5a;
}

// ---- FAT32 (fatgen103 §3, §4, §6) ----

/// The geometry of the FAT32 volume of the ESP at 1 MiB, read from its BPB.
struct Fat32 {
    /// Byte offset of the volume in the image.
    base: usize,
    bytes_per_sector: usize,
    sectors_per_cluster: usize,
    reserved: usize,
    fats: usize,
    fat_sectors: usize,
    root_cluster: u32,
    cluster_count: u32,
}

const BPB_SEC_PER_CLUS: usize = 13;
const FAT32_EOC: u32 = 0x0FFF_FFFF;
const DIR_ENTRY: usize = 32;
const DIR_ATTR: usize = 11;
const DIR_FST_CLUS_HI: usize = 20;
const DIR_FST_CLUS_LO: usize = 26;
const DIR_FILE_SIZE: usize = 28;
const ATTR_LONG_NAME: u8 = 0x0F;

/// A short directory entry found by [`Fat32::lookup`].
struct Entry {
    /// Byte offset of the 32-byte entry in the image.
    offset: usize,
    first_cluster: u32,
}

impl Fat32 {
    fn parse(img: &[u8]) -> Result<Fat32, String> {
        let base = images::FIRST_PARTITION_OFFSET as usize;
        let b = &img[base..base + SECTOR];
        let fat = Fat32 {
            base,
            bytes_per_sector: le16(b, 11) as usize,
            sectors_per_cluster: b[BPB_SEC_PER_CLUS] as usize,
            reserved: le16(b, 14) as usize,
            fats: b[16] as usize,
            fat_sectors: le32(b, 36) as usize,
            root_cluster: le32(b, 44),
            cluster_count: 0,
        };
        if le16(b, 22) != 0 || fat.bytes_per_sector != SECTOR || fat.sectors_per_cluster == 0 {
            return Err("the ESP is not the FAT32 volume with 512-byte sectors mkfs.fat made".into());
        }
        let total = le32(b, 32) as usize;
        let data = total - fat.reserved - fat.fats * fat.fat_sectors;
        Ok(Fat32 {
            cluster_count: (data / fat.sectors_per_cluster) as u32,
            ..fat
        })
    }

    fn cluster_bytes(&self) -> usize {
        self.bytes_per_sector * self.sectors_per_cluster
    }

    fn cluster_offset(&self, cluster: u32) -> usize {
        let data = self.base + (self.reserved + self.fats * self.fat_sectors) * self.bytes_per_sector;
        data + (cluster as usize - 2) * self.cluster_bytes()
    }

    fn entry_offset(&self, copy: usize, cluster: u32) -> usize {
        self.base + (self.reserved + copy * self.fat_sectors) * self.bytes_per_sector + cluster as usize * 4
    }

    fn next(&self, img: &[u8], cluster: u32) -> u32 {
        le32(img, self.entry_offset(0, cluster)) & 0x0FFF_FFFF
    }

    /// Sets the FAT entry of `cluster` in every FAT copy.
    fn set_next(&self, img: &mut [u8], cluster: u32, value: u32) {
        for copy in 0..self.fats {
            put32(img, self.entry_offset(copy, cluster), value);
        }
    }

    /// The chain from `first` (bounded: the images here are intact before editing).
    fn chain(&self, img: &[u8], first: u32) -> Vec<u32> {
        let mut chain = vec![first];
        let mut cur = first;
        while chain.len() <= self.cluster_count as usize {
            let next = self.next(img, cur);
            if !(2..=self.cluster_count + 1).contains(&next) {
                break;
            }
            chain.push(next);
            cur = next;
        }
        chain
    }

    /// The short entry named `name` ("BOOTX64.EFI") in the directory at `dir`.
    fn find(&self, img: &[u8], dir: u32, name: &str) -> Option<Entry> {
        let (stem, ext) = name.split_once('.').unwrap_or((name, ""));
        let mut short = [b' '; 11];
        short[..stem.len()].copy_from_slice(stem.to_ascii_uppercase().as_bytes());
        short[8..8 + ext.len()].copy_from_slice(ext.to_ascii_uppercase().as_bytes());
        for cluster in self.chain(img, dir) {
            let at = self.cluster_offset(cluster);
            for offset in (at..at + self.cluster_bytes()).step_by(DIR_ENTRY) {
                let raw = &img[offset..offset + DIR_ENTRY];
                if raw[0] == 0 {
                    return None;
                }
                if raw[DIR_ATTR] == ATTR_LONG_NAME || raw[..11] != short {
                    continue;
                }
                let first_cluster = u32::from(le16(raw, DIR_FST_CLUS_HI)) << 16 | u32::from(le16(raw, DIR_FST_CLUS_LO));
                return Some(Entry { offset, first_cluster });
            }
        }
        None
    }

    /// The entry at `path` ("EFI/BOOT/BOOTX64.EFI") from the root.
    fn lookup(&self, img: &[u8], path: &str) -> Result<Entry, String> {
        let mut dir = self.root_cluster;
        let mut found = None;
        for part in path.split('/') {
            let entry = self
                .find(img, dir, part)
                .ok_or_else(|| format!("{path}: {part} not found on the ESP the tools made"))?;
            dir = entry.first_cluster;
            found = Some(entry);
        }
        found.ok_or_else(|| "empty path".into())
    }

    /// A free cluster run of `count` clusters after the last used one.
    fn free_run(&self, img: &[u8], count: u32) -> Result<u32, String> {
        let mut start = None;
        let mut len = 0;
        for c in 2..self.cluster_count + 2 {
            if self.next(img, c) == 0 {
                if start.is_none() {
                    start = Some(c);
                }
                len += 1;
                if len == count {
                    return Ok(start.unwrap_or(c));
                }
            } else {
                start = None;
                len = 0;
            }
        }
        Err(format!("no run of {count} free clusters"))
    }
}

// ---- PE (PE Format §3.2, §3.3, §3.4, §4) ----

const PE_E_LFANEW: usize = 0x3c;
/// The COFF header follows the 4-byte "PE\0\0" signature.
const COFF_MACHINE: usize = 4;
const COFF_NUMBER_OF_SECTIONS: usize = 6;
const COFF_SIZE_OF_OPTIONAL_HEADER: usize = 20;
const OPTIONAL_HEADER: usize = 24;
/// PE32+: the data directories start 112 bytes into the optional header.
const OPT_DATA_DIRECTORIES: usize = 112;
const DIRECTORY_BASE_RELOCATION: usize = 5;
const SECTION_HEADER_SIZE: usize = 40;
const SECTION_VIRTUAL_ADDRESS: usize = 12;
const SECTION_SIZE_OF_RAW_DATA: usize = 16;
const SECTION_POINTER_TO_RAW_DATA: usize = 20;
const IMAGE_FILE_MACHINE_ARM64: u16 = 0xAA64;

/// Offsets of the parts of the test application's PE headers.
struct PeLayout {
    coff: usize,
    sections: Vec<usize>,
}

impl PeLayout {
    fn of(image: &[u8]) -> PeLayout {
        let coff = le32(image, PE_E_LFANEW) as usize;
        let count = le16(image, coff + COFF_NUMBER_OF_SECTIONS) as usize;
        let first = coff + OPTIONAL_HEADER + le16(image, coff + COFF_SIZE_OF_OPTIONAL_HEADER) as usize;
        PeLayout {
            coff,
            sections: (0..count).map(|i| first + i * SECTION_HEADER_SIZE).collect(),
        }
    }

    fn section_name(image: &[u8], header: usize) -> String {
        String::from_utf8_lossy(&image[header..header + 8])
            .trim_end_matches('\0')
            .to_string()
    }

    /// The file offset of the section holding `rva`.
    fn rva_to_offset(&self, image: &[u8], rva: usize) -> Option<usize> {
        self.sections.iter().find_map(|&h| {
            let va = le32(image, h + SECTION_VIRTUAL_ADDRESS) as usize;
            let raw = le32(image, h + SECTION_SIZE_OF_RAW_DATA) as usize;
            let ptr = le32(image, h + SECTION_POINTER_TO_RAW_DATA) as usize;
            (va..va + raw).contains(&rva).then(|| ptr + rva - va)
        })
    }
}

// ---- running ----

/// A line of the console that holds every one of `parts`, waited for in order
/// after the previous match.
fn expect_line(qemu: &mut Qemu, parts: &[&str], timeout: Duration) -> Result<String, String> {
    let deadline = Instant::now() + timeout;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        qemu.wait_for(parts[0], left)
            .map_err(|e| format!("expected a line with {parts:?}: {e}"))?;
        let _ = qemu.wait_for("\n", Duration::from_secs(2));
        let log = qemu.log();
        let line = log
            .rfind(parts[0])
            .map(|at| {
                let start = log[..at].rfind('\n').map_or(0, |i| i + 1);
                let end = log[at..].find('\n').map_or(log.len(), |i| at + i);
                log[start..end].to_string()
            })
            .unwrap_or_default();
        if parts.iter().all(|p| line.contains(p)) {
            return Ok(line);
        }
        if Instant::now() >= deadline {
            return Err(format!("no line holds all of {parts:?} (last candidate: {line:?})"));
        }
    }
}

/// The boot manager's `Boot: <path> returned <status>` lines: the images that
/// ran (`Boot: starting <path>` comes before LoadImage, so it proves nothing).
/// ConOut wraps its output at 80 columns; a logical line runs on until the next
/// line of a known kind.
fn ran_lines(log: &str) -> Vec<String> {
    const NEXT: [&str; 6] = [
        "\nBoot: ",
        "\nHVFW-APP",
        "\nno bootable",
        "\nWARN",
        "\n  Pci",
        "\nnothing left",
    ];
    log.match_indices("Boot: ")
        .map(|(at, _)| {
            let rest = &log[at..];
            let end = NEXT.iter().filter_map(|n| rest[1..].find(n).map(|i| i + 1)).min();
            rest[..end.unwrap_or(rest.len())].replace('\n', "")
        })
        .filter(|line| line.contains("BOOTX64.EFI returned "))
        .collect()
}

fn names(line: &str, guid: &str) -> bool {
    line.to_ascii_lowercase().contains(&guid.to_ascii_lowercase())
}

/// What the first disk should do once its damage is reported.
#[derive(Clone, Copy, PartialEq, Eq)]
enum FirstDisk {
    /// Nothing on it may start.
    Skipped,
    /// Its BOOTX64.EFI boots despite the damage (the app runs from it first).
    Boots,
}

/// Boots `broken` then the good disk; each of `expected` (the parts of one
/// line each) must appear, in order, before the first disk's outcome; then the
/// good disk's application must finish, and nothing may crash. Returns the
/// console.
fn boot_broken_log(
    ctx: &Context,
    s: &mut Session,
    broken: &Path,
    expected: &[&[&str]],
    first: FirstDisk,
) -> Result<String, String> {
    let mut config = QemuConfig::new(&ctx.firmware);
    config.disks.push(broken.to_path_buf());
    config.disks.push(good_disk()?);
    boot_config(s, &config, expected, first)
}

fn boot_broken(
    ctx: &Context,
    s: &mut Session,
    broken: &Path,
    expected: &[&[&str]],
    first: FirstDisk,
) -> Result<(), String> {
    boot_broken_log(ctx, s, broken, expected, first).map(drop)
}

/// As [`boot_broken_log`] for any configuration; returns the console.
fn boot_config(s: &mut Session, config: &QemuConfig, expected: &[&[&str]], first: FirstDisk) -> Result<String, String> {
    let qemu = s.boot(config)?;
    for parts in expected {
        let line = expect_line(qemu, parts, START)?;
        println!("    {}", line.trim());
    }
    if first == FirstDisk::Boots {
        qemu.wait_for("HVFW-APP: started", START)?;
        qemu.wait_for(APP_DONE, START)?;
    }
    qemu.wait_for("HVFW-APP: started", START)?;
    qemu.wait_for(APP_DONE, START)?;
    qemu.wait_for("no bootable device found. Tried:", START)?;
    qemu.wait_for("nothing left to boot", START)?;
    let log = qemu.log();
    for bad in ["EXCEPTION", "PANIC", "HVFW-APP: FAIL"] {
        qemu.assert_absent(bad)?;
    }
    if let Ok(status) = qemu.wait_exit(Duration::from_millis(200)) {
        if status.code() == Some(3) {
            return Err("QEMU exited with status 3: the firmware reported a panic or exception".into());
        }
    }
    let boots = ran_lines(&log);
    let (good, other): (Vec<&String>, Vec<&String>) = boots.iter().partition(|l| names(l, GOOD_ESP_GUID));
    if good.len() != 1 {
        return Err(format!(
            "the good disk's BOOTX64.EFI ran {} times: {boots:?}",
            good.len()
        ));
    }
    match first {
        FirstDisk::Skipped if !other.is_empty() => Err(format!("something on the broken disk ran: {other:?}")),
        FirstDisk::Boots if other.len() != 1 => Err(format!(
            "the first disk's BOOTX64.EFI should have run once before the good disk's: {boots:?}"
        )),
        FirstDisk::Boots if boots.first() != other.first().copied() => {
            Err(format!("the good disk booted before the first one: {boots:?}"))
        }
        _ => Ok(log),
    }
}

/// The base disk with `edit` applied, in `scratch`.
fn edited_base(scratch: &Scratch, edit: impl FnOnce(&mut Vec<u8>) -> Result<(), String>) -> Result<PathBuf, String> {
    let mut img = read_image(&base_disk()?)?;
    edit(&mut img)?;
    scratch.write("broken.img", &img)
}

// ---- GPT cases ----

fn gpt_primary_header_crc_bad(ctx: &Context, s: &mut Session) -> Result<(), String> {
    let scratch = Scratch::new("robust-gpt-primary")?;
    let mut last = 0;
    let disk = edited_base(&scratch, |img| {
        gpt_damage_header(img, 1);
        last = last_lba(img);
        Ok(())
    })?;
    let backup = format!("trying the backup at LBA {last}");
    boot_broken(
        ctx,
        s,
        &disk,
        &[
            &[
                "partition: primary GPT is damaged (GPT header at LBA 1 has CRC32 0x",
                &backup,
            ],
            &["disk 0: primary GPT damaged, using the backup GPT"],
            &["partition 1: 40 MiB at LBA 2048, EFI system partition"],
        ],
        FirstDisk::Boots,
    )
}

fn gpt_both_header_crcs_bad(ctx: &Context, s: &mut Session) -> Result<(), String> {
    let scratch = Scratch::new("robust-gpt-both")?;
    let mut last = 0;
    let disk = edited_base(&scratch, |img| {
        last = last_lba(img);
        gpt_damage_header(img, 1);
        gpt_damage_header(img, last);
        Ok(())
    })?;
    let backup = format!("backup: GPT header at LBA {last} has CRC32 0x");
    boot_broken(
        ctx,
        s,
        &disk,
        &[&[
            "disk 0: no usable partition table: both GPT headers are damaged: \
             primary: GPT header at LBA 1 has CRC32 0x",
            &backup,
        ]],
        FirstDisk::Skipped,
    )
}

fn gpt_entry_array_crc_bad(ctx: &Context, s: &mut Session) -> Result<(), String> {
    let scratch = Scratch::new("robust-gpt-entries")?;
    let mut last = 0;
    let disk = edited_base(&scratch, |img| {
        last = last_lba(img);
        // A letter of the ESP's name in both entry arrays; the headers' CRCs stay
        // valid, their PartitionEntryArrayCRC32 no longer matches.
        for lba in [1, last] {
            let entries = gpt_entries(img, lba);
            img[entries.start + ENTRY_PARTITION_NAME] ^= 0x20;
        }
        Ok(())
    })?;
    let backup = format!("backup: GPT entry array of the header at LBA {last} has CRC32 0x");
    // The headers are intact and the entries pass their own checks: the firmware
    // uses them, says why, and the ESP boots.
    boot_broken(
        ctx,
        s,
        &disk,
        &[&[
            "disk 0: no intact GPT (",
            "primary: GPT entry array of the header at LBA 1 has CRC32 0x",
            &backup,
            "using the entries of the header at LBA 1 that pass their own checks",
        ]],
        FirstDisk::Boots,
    )
}

fn gpt_entry_outside_disk(ctx: &Context, s: &mut Session) -> Result<(), String> {
    let scratch = Scratch::new("robust-gpt-outside")?;
    let mut end = 0;
    let disk = edited_base(&scratch, |img| {
        end = last_lba(img) + 1000;
        gpt_edit_entries(img, |entries, _| put64(entries, ENTRY_ENDING_LBA, end));
        Ok(())
    })?;
    let line =
        format!("disk 0: partition entry 0 (LBA 2048..={end}) lies outside the usable blocks; partition 1 is left out");
    boot_broken(ctx, s, &disk, &[&[&line]], FirstDisk::Skipped)
}

fn gpt_overlapping_partitions(ctx: &Context, s: &mut Session) -> Result<(), String> {
    let scratch = Scratch::new("robust-gpt-overlap")?;
    let disk = edited_base(&scratch, |img| {
        // Entry 1: a copy of the ESP's entry, starting half-way into it.
        gpt_edit_entries(img, |entries, size| {
            let (first, rest) = entries.split_at_mut(size);
            let second = &mut rest[..size];
            second.copy_from_slice(first);
            second[ENTRY_UNIQUE_PARTITION_GUID] ^= 0xff;
            let start = le64(first, ENTRY_STARTING_LBA);
            let end = le64(first, ENTRY_ENDING_LBA);
            put64(second, ENTRY_STARTING_LBA, (start + end) / 2);
        });
        Ok(())
    })?;
    // The entry that came first in the table (the ESP) is kept and boots.
    boot_broken(
        ctx,
        s,
        &disk,
        &[&["disk 0: partition entries 0 and 1 overlap; partition 2 is left out"]],
        FirstDisk::Boots,
    )
}

/// The Linux command-line marker of the two-partition Debian disk.
const DEBIAN_MARKER: &str = "hvfw.marker=gpt-good-esp";

/// A Debian disk made by sgdisk: a small ext4 data partition first (entry 0),
/// then the ESP with the cloud kernel's BLS entry (entry 1).
fn debian_two_partition_disk() -> Result<PathBuf, String> {
    let spec = images::cloud_kernel_bls("unused", &format!("console=ttyS0 {DEBIAN_MARKER}"), None)?;
    let mut files: Vec<(String, Source)> = vec![("loader/loader.conf".into(), Source::text(&spec.loader_conf))];
    for (name, text) in &spec.entries {
        files.push((format!("loader/entries/{name}"), Source::text(text)));
    }
    files.extend(
        spec.files
            .iter()
            .map(|(path, source)| (path.trim_start_matches('/').to_string(), source.clone())),
    );
    let data = Partition {
        size_mib: 8,
        typecode: "8300",
        name: "data".into(),
        guid: "4856464d-0000-4000-8000-0000000000da".into(),
        content: images::Content::Ext4 {
            label: "data".into(),
            uuid: "4856464d-7e57-4d0e-9f00-0000000000da".into(),
            files: vec![("README".into(), Source::text("a data partition\n"))],
        },
    };
    images::custom_disk("robust-debian-two", &[data, Partition::esp(64, files)])
}

/// The two-partition Debian disk with `edit` applied, alone in QEMU: each of
/// `expected` (the parts of one line each) must appear, then Linux must boot
/// from the ESP's entry.
fn boot_debian_edited(
    ctx: &Context,
    s: &mut Session,
    tag: &str,
    edit: impl FnOnce(&mut Vec<u8>),
    expected: &[&[&str]],
) -> Result<(), String> {
    let scratch = Scratch::new(tag)?;
    let mut img = read_image(&debian_two_partition_disk()?)?;
    edit(&mut img);
    let disk = scratch.write("debian.img", &img)?;
    let mut config = QemuConfig::new(&ctx.firmware);
    config.disks.push(disk);
    let qemu = s.boot(&config)?;
    for parts in expected {
        let line = expect_line(qemu, parts, START)?;
        println!("    {}", line.trim());
    }
    let linux = crate::boot_tests::proof(qemu, 512, DEBIAN_MARKER, Duration::from_secs(120))?;
    println!("    Linux version after {:.2}s", linux.as_secs_f64());
    Ok(())
}

/// Entry 0 (the data partition) ends before it starts, in both copies with
/// valid CRCs (as a faulty partitioning tool would write it): it is named and
/// left out, and the ESP in entry 1 boots.
fn gpt_bad_entry_debian(ctx: &Context, s: &mut Session) -> Result<(), String> {
    boot_debian_edited(
        ctx,
        s,
        "robust-gpt-bad-entry-debian",
        |img| gpt_edit_entries(img, |entries, _| put64(entries, ENTRY_ENDING_LBA, 2047)),
        &[
            &["disk 0: partition entry 0 ends (LBA 2047) before it starts (LBA 2048); partition 1 is left out"],
            &["partition 2: 64 MiB at LBA 18432, EFI system partition"],
        ],
    )
}

/// The primary header is damaged: the backup at the last LBA is used.
fn gpt_damaged_primary_debian(ctx: &Context, s: &mut Session) -> Result<(), String> {
    boot_debian_edited(
        ctx,
        s,
        "robust-gpt-primary-debian",
        |img| gpt_damage_header(img, 1),
        &[
            &["disk 0: primary GPT damaged, using the backup GPT"],
            &["partition 1: 8 MiB at LBA 2048"],
            &["partition 2: 64 MiB at LBA 18432, EFI system partition"],
        ],
    )
}

fn mbr_only_disk(ctx: &Context, s: &mut Session) -> Result<(), String> {
    let scratch = Scratch::new("robust-mbr")?;
    let disk = scratch.write("mbr.img", &read_image(&base_disk()?)?)?;
    // sgdisk's own conversion: an MBR with the ESP as partition 1 (type 0xEF),
    // and the GPT structures wiped.
    images::run("sgdisk", &["--gpttombr=1", &disk.to_string_lossy()])
        .map_err(|e| format!("{e} (Debian package gdisk)"))?;
    let img = read_image(&disk)?;
    if img[446 + 4] == 0xEE || &img[SECTOR..SECTOR + 8] == b"EFI PART" {
        return Err("sgdisk --gpttombr left a GPT behind".into());
    }
    let log = boot_broken_log(
        ctx,
        s,
        &disk,
        &[&["partition 1: 40 MiB at LBA 2048, EFI system partition"]],
        FirstDisk::Boots,
    )?;
    let first = ran_lines(&log).into_iter().next().unwrap_or_default();
    if !first.contains("/HD(1,MBR,") {
        return Err(format!("the first boot is not from the MBR partition: {first}"));
    }
    println!("    {first}");
    Ok(())
}

// ---- FAT cases ----

fn fat_bad_bpb(ctx: &Context, s: &mut Session) -> Result<(), String> {
    let scratch = Scratch::new("robust-fat-bpb")?;
    let disk = edited_base(&scratch, |img| {
        img[images::FIRST_PARTITION_OFFSET as usize + BPB_SEC_PER_CLUS] = 3;
        Ok(())
    })?;
    boot_broken(
        ctx,
        s,
        &disk,
        &[&["disk 0 partition 1: EFI system partition unreadable: FAT: not a valid boot sector: sectors per cluster is 3"]],
        FirstDisk::Skipped,
    )
}

fn fat_directory_cluster_loop(ctx: &Context, s: &mut Session) -> Result<(), String> {
    let scratch = Scratch::new("robust-fat-dirloop")?;
    let mut dir = 0;
    let disk = edited_base(&scratch, |img| {
        let fat = Fat32::parse(img)?;
        dir = fat.lookup(img, "EFI/BOOT")?.first_cluster;
        fat.set_next(img, dir, dir);
        Ok(())
    })?;
    let detail = format!("FAT: cluster chain loops at cluster {dir}");
    boot_broken(ctx, s, &disk, &[&[detail.as_str()]], FirstDisk::Skipped)
}

fn fat_file_cluster_loop(ctx: &Context, s: &mut Session) -> Result<(), String> {
    let scratch = Scratch::new("robust-fat-fileloop")?;
    let disk = edited_base(&scratch, |img| {
        let fat = Fat32::parse(img)?;
        let file = fat.lookup(img, BOOT_FILE)?;
        let chain = fat.chain(img, file.first_cluster);
        let last = *chain.last().ok_or("empty chain")?;
        fat.set_next(img, last, file.first_cluster);
        Ok(())
    })?;
    boot_broken(
        ctx,
        s,
        &disk,
        &[&["FAT: cluster chain loops at cluster "]],
        FirstDisk::Skipped,
    )
}

fn fat_chain_past_end(ctx: &Context, s: &mut Session) -> Result<(), String> {
    let scratch = Scratch::new("robust-fat-pastend")?;
    let mut beyond = 0;
    let disk = edited_base(&scratch, |img| {
        let fat = Fat32::parse(img)?;
        let file = fat.lookup(img, BOOT_FILE)?;
        beyond = fat.cluster_count + 100;
        fat.set_next(img, file.first_cluster, beyond);
        Ok(())
    })?;
    let detail = format!("FAT: cluster {beyond:#x} is outside the volume");
    boot_broken(ctx, s, &disk, &[&[detail.as_str()]], FirstDisk::Skipped)
}

fn fat_file_larger_than_chain(ctx: &Context, s: &mut Session) -> Result<(), String> {
    let scratch = Scratch::new("robust-fat-short")?;
    let mut detail = String::new();
    let disk = edited_base(&scratch, |img| {
        let fat = Fat32::parse(img)?;
        let file = fat.lookup(img, BOOT_FILE)?;
        let chain_bytes = fat.chain(img, file.first_cluster).len() * fat.cluster_bytes();
        let size = 1u32 << 20;
        put32(img, file.offset + DIR_FILE_SIZE, size);
        detail = format!(
            "FAT: file at cluster {} is {size} bytes but its chain holds {chain_bytes}",
            file.first_cluster
        );
        Ok(())
    })?;
    boot_broken(ctx, s, &disk, &[&[detail.as_str()]], FirstDisk::Skipped)
}

fn zero_sized_esp(ctx: &Context, s: &mut Session) -> Result<(), String> {
    let scratch = Scratch::new("robust-zero-esp")?;
    let disk = edited_base(&scratch, |img| {
        // The ESP's entry keeps its type but covers one sector: the FAT volume's
        // boot sector alone.
        gpt_edit_entries(img, |entries, _| {
            let start = le64(entries, ENTRY_STARTING_LBA);
            put64(entries, ENTRY_ENDING_LBA, start);
        });
        Ok(())
    })?;
    boot_broken(
        ctx,
        s,
        &disk,
        &[
            &["partition 1: 0 MiB at LBA 2048, EFI system partition"],
            &["disk 0 partition 1: EFI system partition unreadable: FAT: not a valid boot sector: total sectors is "],
        ],
        FirstDisk::Skipped,
    )
}

/// `\EFI\BOOT` holds exactly 65536 32-byte entries (the most fatgen103 §6
/// allows): ".", "..", 10922 files with 60-character names (5 long-name slots
/// and a short entry each), one with a short name, and BOOTX64.EFI last.
/// Long names keep mtools' insertion cost low: 65533 short names take it
/// minutes (each insert scans the directory), 10923 long ones seconds.
fn directory_of_65536_entries() -> Result<PathBuf, String> {
    const LONG_FILES: usize = 10922;
    let app = test_app()?;
    let recipe = format!("robust-65536-v1\n{}\n{}\n", images::file_identity(&app)?, LONG_FILES);
    images::cached("robust-dir-65536", &recipe, |path| {
        // The ESP holds hvfw-test.txt (from esp_with) and nothing else yet.
        let partitions = [esp_with(BROKEN_ESP_GUID, vec![])];
        images::gpt_disk(path, &partitions)?;
        let target = format!("{}@@{}", path.display(), images::FIRST_PARTITION_OFFSET);
        let fillers = images::tempdir("robust-65536")?;
        let mut names = Vec::with_capacity(LONG_FILES + 1);
        for i in 0..LONG_FILES {
            // Unique in the first six characters, so every short alias is "~1".
            let name = format!("{i:05}x-a-long-name-that-takes-five-directory-slots-{i:05}.txt");
            debug_assert_eq!(name.len(), 60);
            std::fs::write(fillers.join(&name), b"").map_err(|e| e.to_string())?;
            names.push(fillers.join(name).to_string_lossy().into_owned());
        }
        std::fs::write(fillers.join("SHORT.TXT"), b"").map_err(|e| e.to_string())?;
        names.push(fillers.join("SHORT.TXT").to_string_lossy().into_owned());
        images::run("mmd", &["-D", "s", "-i", &target, "::/EFI"])?;
        images::run("mmd", &["-D", "s", "-i", &target, "::/EFI/BOOT"])?;
        let mut args: Vec<&str> = vec!["-i", &target];
        args.extend(names.iter().map(String::as_str));
        args.push("::/EFI/BOOT/");
        images::run("mcopy", &args)?;
        images::run(
            "mcopy",
            &["-i", &target, &app.to_string_lossy(), "::/EFI/BOOT/BOOTX64.EFI"],
        )?;
        let _ = std::fs::remove_dir_all(&fillers);
        Ok(())
    })
}

fn fat_directory_of_65536_entries(ctx: &Context, s: &mut Session) -> Result<(), String> {
    let disk = directory_of_65536_entries()?;
    // Check that the tools made what the test claims.
    let img = read_image(&disk)?;
    let fat = Fat32::parse(&img)?;
    let dir = fat.lookup(&img, "EFI/BOOT")?.first_cluster;
    let chain = fat.chain(&img, dir);
    let slots = chain.len() * fat.cluster_bytes() / DIR_ENTRY;
    let last_cluster = fat.cluster_offset(*chain.last().unwrap_or(&dir));
    let last_slot = &img[last_cluster + fat.cluster_bytes() - DIR_ENTRY..][..11];
    if slots != 65536 || last_slot != b"BOOTX64 EFI" {
        return Err(format!(
            "\\EFI\\BOOT holds {slots} slots, its last is {:?}: not 65536 with BOOTX64.EFI last",
            String::from_utf8_lossy(last_slot)
        ));
    }
    let started = Instant::now();
    boot_broken(ctx, s, &disk, &[], FirstDisk::Boots)?;
    println!("    both disks booted in {:.1}s", started.elapsed().as_secs_f64());
    Ok(())
}

fn fat_directory_chain_too_long(ctx: &Context, s: &mut Session) -> Result<(), String> {
    let scratch = Scratch::new("robust-fat-longdir")?;
    let mut dir = 0;
    let disk = edited_base(&scratch, |img| {
        let fat = Fat32::parse(img)?;
        dir = fat.lookup(img, "EFI/BOOT")?.first_cluster;
        // 65536 entries fill 2 MiB; chain one cluster more than that onto the
        // directory, through zeroed (free-looking) clusters.
        let max = 65536 * DIR_ENTRY / fat.cluster_bytes();
        let extra = max as u32 + 1;
        let run = fat.free_run(img, extra)?;
        let last = *fat.chain(img, dir).last().unwrap_or(&dir);
        fat.set_next(img, last, run);
        for c in run..run + extra - 1 {
            fat.set_next(img, c, c + 1);
        }
        fat.set_next(img, run + extra - 1, FAT32_EOC);
        for c in run..run + extra {
            let at = fat.cluster_offset(c);
            img[at..at + fat.cluster_bytes()].fill(0);
        }
        Ok(())
    })?;
    let detail = format!("FAT: directory at cluster {dir} exceeds 65536 entries");
    boot_broken(ctx, s, &disk, &[&[detail.as_str()]], FirstDisk::Skipped)
}

// ---- PE cases ----

fn app_bytes() -> Result<Vec<u8>, String> {
    read_image(&test_app()?)
}

fn pe_case(ctx: &Context, s: &mut Session, name: &str, image: Vec<u8>, expected: &[&str]) -> Result<(), String> {
    let disk = disk_with_boot_file(name, image)?;
    boot_broken(ctx, s, &disk, &[expected], FirstDisk::Skipped)
}

fn pe_truncated_headers(ctx: &Context, s: &mut Session) -> Result<(), String> {
    let mut image = app_bytes()?;
    let layout = PeLayout::of(&image);
    // Cut the file inside the optional header.
    image.truncate(layout.coff + OPTIONAL_HEADER + 16);
    pe_case(ctx, s, "robust-pe-truncated", image, &["LoadImage: ", "truncated"])
}

fn pe_section_outside_file(ctx: &Context, s: &mut Session) -> Result<(), String> {
    let mut image = app_bytes()?;
    let layout = PeLayout::of(&image);
    let header = *layout.sections.last().ok_or("no sections")?;
    let name = PeLayout::section_name(&image, header);
    put32(&mut image, header + SECTION_POINTER_TO_RAW_DATA, 0x0010_0000);
    let what = format!("LoadImage: section {name:?} data at file offset 0x100000+");
    pe_case(
        ctx,
        s,
        "robust-pe-section-outside",
        image,
        &[&what, "is past the end of the"],
    )
}

fn pe_relocation_out_of_range(ctx: &Context, s: &mut Session) -> Result<(), String> {
    let mut image = app_bytes()?;
    let layout = PeLayout::of(&image);
    let opt = layout.coff + OPTIONAL_HEADER;
    let size_of_image = le32(&image, opt + 56);
    let dir = opt + OPT_DATA_DIRECTORIES + DIRECTORY_BASE_RELOCATION * 8;
    let reloc_rva = le32(&image, dir) as usize;
    if le32(&image, dir + 4) < 10 {
        return Err("the test application has no base relocations to damage".into());
    }
    let block = layout
        .rva_to_offset(&image, reloc_rva)
        .ok_or("the relocation directory is in no section")?;
    // The first block's page becomes the image's last page, and its first entry
    // (DIR64, 8 bytes) the last 4 bytes of that page: it reaches past SizeOfImage.
    let page = (size_of_image - 0x1000) & !0xfff;
    put32(&mut image, block, page);
    put16(&mut image, block + 8, 0xA000 | 0xffc);
    let what = format!(
        "LoadImage: base relocation fixup at {:#x} is outside the image",
        page + 0xffc
    );
    pe_case(ctx, s, "robust-pe-reloc", image, &[&what])
}

fn pe_wrong_machine(ctx: &Context, s: &mut Session) -> Result<(), String> {
    let mut image = app_bytes()?;
    let layout = PeLayout::of(&image);
    put16(&mut image, layout.coff + COFF_MACHINE, IMAGE_FILE_MACHINE_ARM64);
    pe_case(
        ctx,
        s,
        "robust-pe-machine",
        image,
        &["LoadImage: image is for machine 0xaa64, this firmware runs x86_64 (0x8664)"],
    )
}

// ---- the disk stays as it was ----

fn sha256(path: &Path) -> Result<String, String> {
    let out =
        images::run("sha256sum", &[&path.to_string_lossy()]).map_err(|e| format!("{e} (Debian package coreutils)"))?;
    out.split_whitespace()
        .next()
        .map(str::to_string)
        .ok_or_else(|| format!("sha256sum printed nothing for {}", path.display()))
}

fn firmware_does_not_write(ctx: &Context, _: &mut Session) -> Result<(), String> {
    let scratch = Scratch::new("robust-readonly")?;
    let disk = scratch.write("good.img", &read_image(&good_disk()?)?)?;
    let before = sha256(&disk)?;
    let mut config = QemuConfig::new(&ctx.firmware);
    config.disks.push(disk.clone());
    config.snapshot = false;
    // Run outside the session: QEMU must be gone before the image is hashed.
    let mut qemu = Qemu::spawn(&config)?;
    let booted = qemu
        .wait_for("HVFW-APP: started", START)
        .and_then(|_| qemu.wait_for(APP_DONE, START))
        .and_then(|_| qemu.wait_for("nothing left to boot", START));
    let log = qemu.log();
    // QEMU writes through to the file (no snapshot); killing it leaves whatever
    // the guest wrote in the host's page cache, which sha256sum reads.
    drop(qemu);
    booted.map_err(|e| format!("{e}\n---- serial console ----\n{log}\n---- end of console ----"))?;
    let after = sha256(&disk)?;
    if before != after {
        return Err(format!(
            "the disk image changed during the boot: SHA-256 {before} before, {after} after"
        ));
    }
    println!("    SHA-256 {after} unchanged");
    Ok(())
}

// ---- device errors (QEMU blkdebug) ----

/// The base disk behind blkdebug, failing every read that touches `sector`
/// with EIO (errno 5).
fn failing_disk(scratch: &Scratch, sector: u64) -> Result<PathBuf, String> {
    let config =
        format!("[inject-error]\nevent = \"read_aio\"\nerrno = \"5\"\nsector = \"{sector}\"\nonce = \"off\"\n");
    let config = scratch.write("blkdebug.conf", config.as_bytes())?;
    Ok(PathBuf::from(format!(
        "blkdebug:{}:{}",
        config.display(),
        base_disk()?.display()
    )))
}

fn virtio_error_in_partition_table(ctx: &Context, s: &mut Session) -> Result<(), String> {
    let scratch = Scratch::new("robust-eio-table")?;
    let disk = failing_disk(&scratch, 0)?;
    boot_broken(
        ctx,
        s,
        &disk,
        &[&[
            "disk 0: no usable partition table: reading the partition table: device error",
            "at LBA 0",
        ]],
        FirstDisk::Skipped,
    )
}

fn virtio_error_in_boot_file(ctx: &Context, s: &mut Session) -> Result<(), String> {
    let scratch = Scratch::new("robust-eio-file")?;
    let img = read_image(&base_disk()?)?;
    let fat = Fat32::parse(&img)?;
    let file = fat.lookup(&img, BOOT_FILE)?;
    let sector = (fat.cluster_offset(file.first_cluster) / SECTOR) as u64;
    let disk = failing_disk(&scratch, sector)?;
    let lba = format!("at LBA {sector}");
    boot_broken(
        ctx,
        s,
        &disk,
        &[&[
            "disk 0 (virtio-blk at PCI ",
            "): read ",
            &lba,
            " failed: I/O error (VIRTIO_BLK_S_IOERR), status 1",
        ]],
        FirstDisk::Skipped,
    )
}
