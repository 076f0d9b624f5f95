//! Unit tests of the on-disk formats; whole images are tested in
//! drivers/tests/fat_images.rs against mkfs.fat, mtools and fsck.fat.

use super::dir::{self, DateTime, LongNameAssembler, NamePlan};
use super::io;
use crate::block::{BlockDevice, MemoryDisk};
use std::string::String;
use std::vec;
use std::vec::Vec;

fn plan(name: &str) -> Option<NamePlan> {
    dir::plan_name(name)
}

fn short(name: &[u8; 11], nt: u8) -> Option<NamePlan> {
    Some(NamePlan::Short { name: *name, nt })
}

#[test]
fn valid_83_names_need_no_long_name() {
    assert_eq!(plan("README.TXT"), short(b"README  TXT", 0));
    assert_eq!(
        plan("readme.txt"),
        short(b"README  TXT", dir::NT_LOWER_BASE | dir::NT_LOWER_EXT)
    );
    assert_eq!(plan("readme.TXT"), short(b"README  TXT", dir::NT_LOWER_BASE));
    assert_eq!(plan("A1$~"), short(b"A1$~       ", 0));
    assert_eq!(plan("12345678.123"), short(b"12345678123", 0));
}

#[test]
fn other_names_get_long_names_and_a_basis() {
    let long = |n: &str| match plan(n) {
        Some(NamePlan::Long { base, ext, units }) => (
            String::from_utf8(base).unwrap(),
            String::from_utf8(ext).unwrap(),
            units.len(),
        ),
        other => panic!("{n}: {other:?}"),
    };
    assert_eq!(long("ReadMe.txt"), ("README".into(), "TXT".into(), 10));
    assert_eq!(long("long file name.text"), ("LONGFILE".into(), "TEX".into(), 19));
    assert_eq!(long("archive.tar.gz"), ("ARCHIVET".into(), "GZ".into(), 14));
    assert_eq!(long(".bashrc"), ("BASHRC".into(), "".into(), 7));
    assert_eq!(long("a+b=c"), ("A_B_C".into(), "".into(), 5));
    assert_eq!(long("日本"), ("__".into(), "".into(), 2));
}

#[test]
fn invalid_names_are_refused() {
    for name in [
        "", ".", "..", "a*b", "a?", "x:y", "a\\b", "a/b", "q\"", "tab\t", "<>", "|",
    ] {
        assert_eq!(plan(name), None, "{name:?}");
    }
    let mut long = String::new();
    for _ in 0..256 {
        long.push('x');
    }
    assert_eq!(plan(&long), None);
    assert!(plan(&long[..255]).is_some());
}

#[test]
fn numeric_tails_shorten_the_base() {
    assert_eq!(&dir::numbered_short_name(b"LONGFILE", b"TXT", 1), b"LONGFI~1TXT");
    assert_eq!(&dir::numbered_short_name(b"AB", b"", 1), b"AB~1       ");
    assert_eq!(&dir::numbered_short_name(b"LONGFILE", b"TX", 12345), b"LO~12345TX ");
}

#[test]
fn long_name_entries_round_trip_through_the_assembler() {
    for name in ["a", "exactly13char", "fourteen chars", "Ünïcödé 日本語 😀.txt"] {
        let units: Vec<u16> = name.encode_utf16().collect();
        let short = *b"SHORT~1 TXT";
        let entries = dir::long_name_entries(&units, dir::lfn_checksum(&short));
        assert_eq!(entries.len(), units.len().div_ceil(13));
        let mut lfn = LongNameAssembler::new();
        for (i, e) in entries.iter().enumerate() {
            assert!(dir::is_long_name(e));
            lfn.push(e, 10 + i as u32);
        }
        let mut raw = [0u8; 32];
        raw[..11].copy_from_slice(&short);
        assert_eq!(lfn.finish(&raw), Some((String::from(name), 10)));
    }
}

#[test]
fn mismatched_or_incomplete_long_names_are_dropped() {
    let units: Vec<u16> = "a name that needs three entries!".encode_utf16().collect();
    let short = *b"ANAME~1    ";
    let mut raw = [0u8; 32];
    raw[..11].copy_from_slice(&short);
    let entries = dir::long_name_entries(&units, dir::lfn_checksum(&short));
    assert_eq!(entries.len(), 3);
    // Wrong checksum against the short entry.
    let other = dir::long_name_entries(&units, dir::lfn_checksum(b"OTHER~1    "));
    let mut lfn = LongNameAssembler::new();
    other.iter().for_each(|e| lfn.push(e, 0));
    assert_eq!(lfn.finish(&raw), None);
    // A missing middle entry.
    lfn.push(&entries[0], 0);
    lfn.push(&entries[2], 2);
    assert_eq!(lfn.finish(&raw), None);
    // No first (0x40) entry: an orphan tail.
    lfn.push(&entries[1], 1);
    lfn.push(&entries[2], 2);
    assert_eq!(lfn.finish(&raw), None);
    // One entry with a different checksum in the middle.
    let mut bad = entries.clone();
    bad[1][13] ^= 1;
    bad.iter().for_each(|e| lfn.push(e, 0));
    assert_eq!(lfn.finish(&raw), None);
    // And the intact sequence still works after all that.
    entries.iter().for_each(|e| lfn.push(e, 0));
    assert!(lfn.finish(&raw).is_some());
}

#[test]
fn short_names_honour_nt_case_bits() {
    let mut raw = [0u8; 32];
    raw[..11].copy_from_slice(b"HELLO   TXT");
    assert_eq!(dir::short_display(&raw), "HELLO.TXT");
    raw[12] = dir::NT_LOWER_BASE;
    assert_eq!(dir::short_display(&raw), "hello.TXT");
    raw[12] = dir::NT_LOWER_BASE | dir::NT_LOWER_EXT;
    assert_eq!(dir::short_display(&raw), "hello.txt");
    raw[..11].copy_from_slice(b"NOEXT      ");
    assert_eq!(dir::short_display(&raw), "noext");
    raw[..11].copy_from_slice(b"\x05ABC       ");
    raw[12] = 0;
    assert_eq!(dir::short_display(&raw), "\u{fffd}ABC");
}

#[test]
fn names_compare_case_insensitively() {
    assert!(dir::names_match("ReadMe.TXT", "readme.txt"));
    assert!(dir::names_match("Ünï", "üNÏ"));
    assert!(!dir::names_match("readme", "readme.txt"));
}

#[test]
fn timestamps_round_trip() {
    let t = DateTime {
        year: 2023,
        month: 12,
        day: 31,
        hour: 23,
        minute: 59,
        second: 59,
        nanosecond: 990_000_000,
        timezone: crate::rtc::calendar::UNSPECIFIED_TIMEZONE,
        daylight: 0,
    };
    let (date, time, tenths) = t.to_fat();
    assert_eq!(DateTime::from_fat(date, time, tenths), t);
    assert_eq!(DateTime::from_fat(date, time, 0).second, 58);
    let early = DateTime { year: 1970, ..t };
    assert_eq!(DateTime::from_fat(early.to_fat().0, 0, 0).year, 1980);
}

#[test]
fn a_clock_reading_keeps_its_fields_and_loses_its_zone_on_disk() {
    let clock = DateTime {
        year: 2024,
        month: 2,
        day: 29,
        hour: 13,
        minute: 5,
        second: 7,
        nanosecond: 120_000_000,
        timezone: 60,
        daylight: 1,
    };
    let (date, time, tenths) = clock.to_fat();
    let back = DateTime::from_fat(date, time, tenths);
    let fields = (back.year, back.month, back.day, back.hour, back.minute, back.second);
    assert_eq!(fields, (2024, 2, 29, 13, 5, 7));
    assert_eq!(back.nanosecond, 120_000_000);
    assert_eq!(
        (back.timezone, back.daylight),
        (crate::rtc::calendar::UNSPECIFIED_TIMEZONE, 0)
    );
}

#[test]
fn unaligned_byte_io_reads_and_patches_whole_blocks() {
    let disk = MemoryDisk::new((0..8192u32).map(|i| i as u8).collect(), 512);
    let mut buf = vec![0u8; 700];
    io::read_at(&disk, 300, &mut buf).unwrap();
    assert!(buf.iter().enumerate().all(|(i, &b)| b == (300 + i) as u8));
    assert_eq!(disk.read_requests(), 1);
    io::write_at(&disk, 510, &[0xAA; 4]).unwrap();
    let mut check = vec![0u8; 8];
    io::read_at(&disk, 508, &mut check).unwrap();
    assert_eq!(check, [252, 253, 0xAA, 0xAA, 0xAA, 0xAA, 2, 3]);
    // Aligned requests go straight through.
    let before = disk.read_requests();
    let mut block = vec![0u8; 1024];
    io::read_at(&disk, 1024, &mut block).unwrap();
    assert_eq!(disk.read_requests() - before, 1);
    assert_eq!(block[0], 0);
}

#[test]
fn large_unaligned_io_bounces_only_the_edges() {
    let len = 600 * 1024;
    let disk = MemoryDisk::new(vec![0u8; len + 4096], 512);
    let data: Vec<u8> = (0..len).map(|i| (i * 7) as u8).collect();
    io::write_at(&disk, 100, &data).unwrap();
    let mut back = vec![0u8; len];
    let before = disk.read_requests();
    io::read_at(&disk, 100, &mut back).unwrap();
    assert_eq!(back, data);
    assert_eq!(disk.read_requests() - before, 3);
    assert_eq!(disk.block_count(), (len as u64 + 4096) / 512);
}
