//! Directory entries: fatgen103 §6 (the 32-byte short entry, its name rules and
//! the DIR_NTRes case bits Windows NT and mtools use for all-lowercase 8.3 names),
//! §6.1 (date and time encoding) and §7 (long-name entries, their checksum and
//! the numeric-tail short names generated for them).
#![forbid(unsafe_code)]

use crate::bytes::LeFields;
use crate::rtc::calendar;
use alloc::string::String;
use alloc::vec::Vec;

/// Writes are refused.
pub const ATTR_READ_ONLY: u8 = 0x01;
/// Hidden from ordinary listings.
pub const ATTR_HIDDEN: u8 = 0x02;
/// Belongs to the operating system.
pub const ATTR_SYSTEM: u8 = 0x04;
/// The volume label's entry.
pub const ATTR_VOLUME_ID: u8 = 0x08;
/// A directory.
pub const ATTR_DIRECTORY: u8 = 0x10;
/// Changed since the last backup.
pub const ATTR_ARCHIVE: u8 = 0x20;
pub(super) const ATTR_LONG_NAME: u8 = ATTR_READ_ONLY | ATTR_HIDDEN | ATTR_SYSTEM | ATTR_VOLUME_ID;
pub(super) const ATTR_LONG_NAME_MASK: u8 = ATTR_LONG_NAME | ATTR_DIRECTORY | ATTR_ARCHIVE;

pub const DIR_ENTRY_SIZE: usize = 32;
pub(super) const DIR_NAME: usize = 0;
pub(super) const DIR_ATTR: usize = 11;
pub(super) const DIR_NTRES: usize = 12;
pub(super) const DIR_CRT_TIME_TENTH: usize = 13;
pub(super) const DIR_CRT_TIME: usize = 14;
pub(super) const DIR_CRT_DATE: usize = 16;
pub(super) const DIR_LST_ACC_DATE: usize = 18;
pub(super) const DIR_FST_CLUS_HI: usize = 20;
pub(super) const DIR_WRT_TIME: usize = 22;
pub(super) const DIR_WRT_DATE: usize = 24;
pub(super) const DIR_FST_CLUS_LO: usize = 26;
pub(super) const DIR_FILE_SIZE: usize = 28;

/// DIR_Name[0] of a free (deleted) entry.
pub(super) const ENTRY_FREE: u8 = 0xE5;
/// DIR_Name[0] of the first never-used entry: it and all after it are free.
pub(super) const ENTRY_END: u8 = 0x00;
/// DIR_Name[0] standing for a real 0xE5 first character.
const ENTRY_KANJI_E5: u8 = 0x05;
/// DIR_NTRes bits: base name / extension stored upper case, shown lower case.
pub(super) const NT_LOWER_BASE: u8 = 0x08;
pub(super) const NT_LOWER_EXT: u8 = 0x10;

const LDIR_ORD: usize = 0;
const LDIR_TYPE: usize = 12;
const LDIR_CHKSUM: usize = 13;
/// LDIR_Ord flag on the physically first (logically last) long-name entry.
const LAST_LONG_ENTRY: u8 = 0x40;
const LFN_ORD_MASK: u8 = 0x1F;
/// Byte offsets of the 13 UCS-2 characters in a long-name entry (Name1, Name2, Name3).
const LFN_CHAR_OFFSETS: [usize; 13] = [1, 3, 5, 7, 9, 14, 16, 18, 20, 22, 24, 28, 30];
const LFN_CHARS: usize = 13;
/// §7: a long name holds at most 255 characters, so 20 entries.
pub const MAX_LONG_NAME: usize = 255;
const MAX_LFN_ENTRIES: usize = 20;

pub(super) const DOT_NAME: [u8; 11] = *b".          ";
pub(super) const DOTDOT_NAME: [u8; 11] = *b"..         ";

pub(super) fn put16(b: &mut [u8], off: usize, v: u16) {
    b[off..off + 2].copy_from_slice(&v.to_le_bytes());
}

pub(super) fn put32(b: &mut [u8], off: usize, v: u32) {
    b[off..off + 4].copy_from_slice(&v.to_le_bytes());
}

/// Whether a raw entry is part of a long name.
pub(super) fn is_long_name(raw: &[u8]) -> bool {
    raw[DIR_ATTR] & ATTR_LONG_NAME_MASK == ATTR_LONG_NAME
}

/// Whether a raw short entry is the volume label.
pub(super) fn is_volume_label(raw: &[u8]) -> bool {
    !is_long_name(raw) && raw[DIR_ATTR] & ATTR_VOLUME_ID != 0
}

/// Times on a FAT volume are the firmware's one wall-clock type.
pub use crate::rtc::calendar::DateTime;

/// FAT's times (§6.1): 1980–2107, two-second steps for modification times,
/// 10 ms steps for creation times, dates only for access; local time, with no
/// time zone.
impl DateTime {
    /// 1980-01-01 00:00:00, the earliest FAT time, used when there is no clock.
    pub const FAT_EPOCH: DateTime = DateTime {
        year: 1980,
        month: 1,
        day: 1,
        hour: 0,
        minute: 0,
        second: 0,
        nanosecond: 0,
        timezone: calendar::UNSPECIFIED_TIMEZONE,
        daylight: 0,
    };

    /// Decodes a FAT date, time and 10 ms count (0..=199), as local time
    /// (EFI_UNSPECIFIED_TIMEZONE, no daylight bits). Not checked: a date FAT
    /// never wrote (month or day 0) stays what it is.
    pub fn from_fat(date: u16, time: u16, tenths: u8) -> DateTime {
        let tenths = u32::from(tenths.min(199));
        DateTime {
            year: 1980 + (date >> 9),
            month: ((date >> 5) & 0x0F) as u8,
            day: (date & 0x1F) as u8,
            hour: (time >> 11) as u8,
            minute: ((time >> 5) & 0x3F) as u8,
            second: ((time & 0x1F) * 2) as u8 + (tenths / 100) as u8,
            nanosecond: (tenths % 100) * 10_000_000,
            timezone: calendar::UNSPECIFIED_TIMEZONE,
            daylight: 0,
        }
    }

    /// Encodes as (date, time, 10 ms count), clamping into FAT's range; the
    /// time zone is dropped (FAT keeps local time).
    pub fn to_fat(&self) -> (u16, u16, u8) {
        let year = self.year.clamp(1980, 2107) - 1980;
        let date = (year << 9) | (u16::from(self.month.min(12)) << 5) | u16::from(self.day.min(31));
        let second = self.second.min(59);
        let time = (u16::from(self.hour.min(23)) << 11) | (u16::from(self.minute.min(59)) << 5) | u16::from(second / 2);
        let tenths = (second % 2) * 100 + (self.nanosecond.min(999_999_999) / 10_000_000) as u8;
        (date, time, tenths)
    }
}

/// §7.2: the checksum of an 11-byte short name that each long-name entry carries.
pub fn lfn_checksum(name: &[u8]) -> u8 {
    name[..11]
        .iter()
        .fold(0u8, |sum, &b| ((sum & 1) << 7).wrapping_add(sum >> 1).wrapping_add(b))
}

fn oem_char(b: u8) -> char {
    if b.is_ascii() && b >= 0x20 {
        char::from(b)
    } else {
        char::REPLACEMENT_CHARACTER
    }
}

/// The displayed form of a short entry's name: `BASE.EXT`, lower-cased where
/// the DIR_NTRes bits say so.
pub(super) fn short_display(raw: &[u8]) -> String {
    let mut name = [0u8; 11];
    name.copy_from_slice(&raw[DIR_NAME..DIR_NAME + 11]);
    if name[0] == ENTRY_KANJI_E5 {
        name[0] = ENTRY_FREE;
    }
    let nt = raw[DIR_NTRES];
    let base_len = name[..8].iter().rposition(|&b| b != b' ').map_or(0, |p| p + 1);
    let ext_len = name[8..].iter().rposition(|&b| b != b' ').map_or(0, |p| p + 1);
    let mut s = String::new();
    for &b in &name[..base_len] {
        let c = oem_char(b);
        s.push(if nt & NT_LOWER_BASE != 0 {
            c.to_ascii_lowercase()
        } else {
            c
        });
    }
    if ext_len > 0 {
        s.push('.');
        for &b in &name[8..8 + ext_len] {
            let c = oem_char(b);
            s.push(if nt & NT_LOWER_EXT != 0 {
                c.to_ascii_lowercase()
            } else {
                c
            });
        }
    }
    s
}

/// Case-insensitive name comparison (simple Unicode upper-casing, as FAT does).
pub(super) fn names_match(a: &str, b: &str) -> bool {
    a.chars()
        .flat_map(char::to_uppercase)
        .eq(b.chars().flat_map(char::to_uppercase))
}

/// Characters §6.1 allows in a short name besides upper-case letters and digits.
fn is_short_special(c: u8) -> bool {
    b"$%'-_@~`!(){}^#&".contains(&c)
}

fn is_short_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || is_short_special(c)
}

/// How a new name is stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum NamePlan {
    /// A valid 8.3 name, stored upper case with DIR_NTRes case bits.
    Short { name: [u8; 11], nt: u8 },
    /// A long name: its UTF-16 units and the basis for its numbered short name.
    Long {
        units: Vec<u16>,
        base: Vec<u8>,
        ext: Vec<u8>,
    },
}

/// The case of one part of an 8.3 name: Some(true) all lower, Some(false) no
/// lower-case letter, None mixed.
fn part_case(part: &str) -> Option<bool> {
    let lower = part.bytes().any(|b| b.is_ascii_lowercase());
    let upper = part.bytes().any(|b| b.is_ascii_uppercase());
    match (lower, upper) {
        (true, true) => None,
        (lower, _) => Some(lower),
    }
}

fn fits_short(name: &str) -> Option<NamePlan> {
    let (base, ext) = match name.find('.') {
        Some(i) => (&name[..i], &name[i + 1..]),
        None => (name, ""),
    };
    if base.is_empty() || base.len() > 8 || ext.len() > 3 {
        return None;
    }
    if !base.bytes().chain(ext.bytes()).all(is_short_char) {
        return None;
    }
    let mut nt = 0;
    if part_case(base)? {
        nt |= NT_LOWER_BASE;
    }
    if part_case(ext)? {
        nt |= NT_LOWER_EXT;
    }
    let mut short = [b' '; 11];
    for (i, b) in base.bytes().enumerate() {
        short[i] = b.to_ascii_uppercase();
    }
    for (i, b) in ext.bytes().enumerate() {
        short[8 + i] = b.to_ascii_uppercase();
    }
    Some(NamePlan::Short { name: short, nt })
}

/// Checks a name for creation and decides how to store it. Trailing dots and
/// spaces are dropped (as Windows does); None means the name is invalid.
pub(super) fn plan_name(name: &str) -> Option<NamePlan> {
    let name = name.trim_end_matches([' ', '.']);
    if name.is_empty() {
        return None;
    }
    if name
        .chars()
        .any(|c| c < ' ' || c == '\u{7f}' || "\"*/:<>?\\|".contains(c))
    {
        return None;
    }
    let units: Vec<u16> = name.encode_utf16().collect();
    if units.len() > MAX_LONG_NAME {
        return None;
    }
    if let Some(plan) = fits_short(name) {
        return Some(plan);
    }
    // §7.4 basis name: upper case, drop spaces and leading dots, the last dot
    // splits base from extension, other characters become '_'.
    let stripped = name.trim_start_matches(['.', ' ']);
    let (base_part, ext_part) = match stripped.rfind('.') {
        Some(i) => (&stripped[..i], &stripped[i + 1..]),
        None => (stripped, ""),
    };
    let convert = |part: &str, max: usize| -> Vec<u8> {
        part.chars()
            .filter(|&c| c != ' ' && c != '.')
            .map(|c| {
                let u = c.to_ascii_uppercase();
                if u.is_ascii() && is_short_char(u as u8) {
                    u as u8
                } else {
                    b'_'
                }
            })
            .take(max)
            .collect()
    };
    let mut base = convert(base_part, 8);
    if base.is_empty() {
        base.push(b'_');
    }
    let ext = convert(ext_part, 3);
    Some(NamePlan::Long { units, base, ext })
}

/// `BASE~N.EXT` for the numeric tail `n` (1..=999999).
pub(super) fn numbered_short_name(base: &[u8], ext: &[u8], n: u32) -> [u8; 11] {
    let mut digits = [0u8; 10];
    let mut len = 0;
    let mut v = n;
    loop {
        digits[len] = b'0' + (v % 10) as u8;
        len += 1;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    let keep = base.len().min(8 - 1 - len);
    let mut short = [b' '; 11];
    short[..keep].copy_from_slice(&base[..keep]);
    short[keep] = b'~';
    for i in 0..len {
        short[keep + 1 + i] = digits[len - 1 - i];
    }
    for (i, &b) in ext.iter().take(3).enumerate() {
        short[8 + i] = b;
    }
    short
}

/// The long-name entries for `units`, in on-disk order (highest ordinal first).
pub(super) fn long_name_entries(units: &[u16], checksum: u8) -> Vec<[u8; DIR_ENTRY_SIZE]> {
    let count = units.len().div_ceil(LFN_CHARS);
    let mut entries = Vec::with_capacity(count);
    for ord in (1..=count).rev() {
        let mut raw = [0u8; DIR_ENTRY_SIZE];
        raw[LDIR_ORD] = ord as u8 | if ord == count { LAST_LONG_ENTRY } else { 0 };
        raw[DIR_ATTR] = ATTR_LONG_NAME;
        raw[LDIR_TYPE] = 0;
        raw[LDIR_CHKSUM] = checksum;
        for (k, &off) in LFN_CHAR_OFFSETS.iter().enumerate() {
            let idx = (ord - 1) * LFN_CHARS + k;
            let unit = match idx.cmp(&units.len()) {
                core::cmp::Ordering::Less => units[idx],
                core::cmp::Ordering::Equal => 0x0000,
                core::cmp::Ordering::Greater => 0xFFFF,
            };
            put16(&mut raw, off, unit);
        }
        entries.push(raw);
    }
    entries
}

/// Collects long-name entries as a directory is read and checks them against
/// the short entry that follows (§7.1): ordinals must count down to 1 and every
/// checksum must match, or the name is an orphan and the short name is used.
pub(super) struct LongNameAssembler {
    units: [u16; MAX_LFN_ENTRIES * LFN_CHARS],
    count: u8,
    expect: u8,
    checksum: u8,
    first_slot: u32,
    valid: bool,
}

impl LongNameAssembler {
    pub fn new() -> LongNameAssembler {
        LongNameAssembler {
            units: [0; MAX_LFN_ENTRIES * LFN_CHARS],
            count: 0,
            expect: 0,
            checksum: 0,
            first_slot: 0,
            valid: false,
        }
    }

    pub fn reset(&mut self) {
        self.valid = false;
    }

    /// Takes a long-name entry found at slot `index`.
    pub fn push(&mut self, raw: &[u8], index: u32) {
        let ord = raw[LDIR_ORD];
        let n = ord & LFN_ORD_MASK;
        if raw[LDIR_TYPE] != 0 || n == 0 || usize::from(n) > MAX_LFN_ENTRIES {
            self.valid = false;
            return;
        }
        if ord & LAST_LONG_ENTRY != 0 {
            self.valid = true;
            self.count = n;
            self.checksum = raw[LDIR_CHKSUM];
            self.first_slot = index;
        } else if !self.valid || n + 1 != self.expect || raw[LDIR_CHKSUM] != self.checksum {
            self.valid = false;
            return;
        }
        self.expect = n;
        let base = usize::from(n - 1) * LFN_CHARS;
        for (k, &off) in LFN_CHAR_OFFSETS.iter().enumerate() {
            self.units[base + k] = raw.u16_le(off).unwrap_or(0);
        }
    }

    /// The long name belonging to the short entry `short`, and the slot where it
    /// starts, if the collected entries are complete and their checksum matches.
    pub fn finish(&mut self, short: &[u8]) -> Option<(String, u32)> {
        let valid = self.valid && self.expect == 1 && self.checksum == lfn_checksum(short);
        self.valid = false;
        if !valid {
            return None;
        }
        let all = &self.units[..usize::from(self.count) * LFN_CHARS];
        let len = all.iter().position(|&u| u == 0).unwrap_or(all.len());
        if len == 0 || len > MAX_LONG_NAME {
            return None;
        }
        let name: Result<String, _> = char::decode_utf16(all[..len].iter().copied()).collect();
        Some((name.ok()?, self.first_slot))
    }
}
