//! The file format for EFI variables of the Arm EBBR specification ("File
//! Format For Storing EFI Variables", revision 1), which U-Boot keeps in
//! `ubootefi.var` on the EFI system partition and libefivar writes back from
//! the OS: a 24-byte header (reserved u64, magic "UbEfiVa", revision 1,
//! length, CRC32 of the entries), then entries, each padded with NULs to a
//! multiple of 8 bytes: data size (u32), attributes (u32), time stamp (u64,
//! seconds; 0 unless time-authenticated), vendor GUID, the NUL-terminated
//! UCS-2 name, the data. All integers little-endian.
//!
//! This module only turns bytes into entries and back; what may be loaded
//! (never authenticated variables: the file is not tamper-proof) is decided
//! by the caller.
#![forbid(unsafe_code)]

#[cfg(test)]
use alloc::vec;
use alloc::vec::Vec;
use core::fmt;
use fw_drivers::bytes::LeFields;
use fw_drivers::crc32::crc32;
use r_efi::efi;

/// The file U-Boot uses, in the ESP's root directory.
pub const FILE_NAME: &str = "ubootefi.var";
/// The magic (7 bytes) and revision 1, as the header's second u64.
const MAGIC_AND_REVISION: [u8; 8] = [0x55, 0x62, 0x45, 0x66, 0x69, 0x56, 0x61, 0x01];
/// Bytes of the header before the first entry.
pub const HEADER_LEN: usize = 24;
/// Bytes of an entry before its name.
const ENTRY_HEADER_LEN: usize = 32;
/// Entries start on multiples of this.
const ENTRY_ALIGN: usize = 8;

/// The vendor GUID of `RTStorageVolatile` and `VarToFile` (U-Boot's
/// `U_BOOT_EFI_RT_VAR_FILE_GUID`), b2ac5fc9-92b7-4acd-aeac-11e818c3130c.
pub const RT_VAR_FILE_GUID: efi::Guid = efi::Guid::from_fields(
    0xb2ac5fc9,
    0x92b7,
    0x4acd,
    0xae,
    0xac,
    &[0x11, 0xe8, 0x18, 0xc3, 0x13, 0x0c],
);

/// One variable of a file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileVariable<'a> {
    /// Without its NUL.
    pub name: Vec<u16>,
    /// The vendor GUID.
    pub guid: efi::Guid,
    /// The `EFI_VARIABLE_*` attributes.
    pub attributes: u32,
    /// The time stamp in seconds; 0 unless time-authenticated.
    pub time: u64,
    /// The variable's data.
    pub data: &'a [u8],
}

/// Why bytes are not a variable file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileError {
    /// Shorter than a header.
    TooShort {
        /// The file's length.
        len: usize,
    },
    /// Not the magic (another kind of file).
    NotAVariableFile,
    /// The magic, but another revision of the format.
    UnknownRevision {
        /// The revision byte found.
        revision: u8,
    },
    /// The header's length is below a header or beyond the file (a cut write).
    BadLength {
        /// The header's length.
        length: u32,
        /// The file's length.
        file_len: usize,
    },
    /// The entries are not what was written (a damaged or partly written file).
    CrcMismatch {
        /// The CRC in the header.
        stored: u32,
        /// The CRC of the entries as read.
        computed: u32,
    },
    /// An entry's header, name or data runs past the stated length.
    EntryTruncated {
        /// Where the entry starts.
        offset: usize,
    },
    /// An entry's name has no NUL, or is empty.
    BadName {
        /// Where the entry starts.
        offset: usize,
    },
}

impl fmt::Display for FileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FileError::TooShort { len } => write!(f, "{len} bytes is shorter than the header"),
            FileError::NotAVariableFile => write!(f, "not an EFI variable file (no UbEfiVa magic)"),
            FileError::UnknownRevision { revision } => write!(f, "unknown format revision {revision}"),
            FileError::BadLength { length, file_len } => {
                write!(f, "header says {length} bytes, the file has {file_len} (cut short?)")
            }
            FileError::CrcMismatch { stored, computed } => {
                write!(
                    f,
                    "CRC32 {computed:#010x} of the entries, the header says {stored:#010x}"
                )
            }
            FileError::EntryTruncated { offset } => write!(f, "the entry at byte {offset} is cut short"),
            FileError::BadName { offset } => write!(f, "the entry at byte {offset} has no valid name"),
        }
    }
}

/// The entries of a variable file, checked: header, length, CRC32 and every
/// entry's bounds. Bytes after the header's length are ignored (the format
/// allows a longer file).
pub fn parse(bytes: &[u8]) -> Result<Vec<FileVariable<'_>>, FileError> {
    if bytes.len() < HEADER_LEN {
        return Err(FileError::TooShort { len: bytes.len() });
    }
    if bytes[8..15] != MAGIC_AND_REVISION[..7] {
        return Err(FileError::NotAVariableFile);
    }
    if bytes[15] != MAGIC_AND_REVISION[7] {
        return Err(FileError::UnknownRevision { revision: bytes[15] });
    }
    // The file header's HEADER_LEN bytes are there (checked above).
    let length = bytes.u32_le(16).unwrap_or(0);
    let end = length as usize;
    if end < HEADER_LEN || end > bytes.len() {
        return Err(FileError::BadLength {
            length,
            file_len: bytes.len(),
        });
    }
    let entries = &bytes[HEADER_LEN..end];
    let stored = bytes.u32_le(20).unwrap_or(0);
    let computed = crc32(entries);
    if stored != computed {
        return Err(FileError::CrcMismatch { stored, computed });
    }
    let mut variables = Vec::new();
    let mut at = 0;
    while at < entries.len() {
        let offset = HEADER_LEN + at;
        if entries.len() - at < ENTRY_HEADER_LEN {
            return Err(FileError::EntryTruncated { offset });
        }
        // The entry header's ENTRY_HEADER_LEN bytes are there (checked above).
        let data_len = entries.u32_le(at).unwrap_or(0) as usize;
        let attributes = entries.u32_le(at + 4).unwrap_or(0);
        let time = entries.u64_le(at + 8).unwrap_or(0);
        let mut guid = [0u8; 16];
        guid.copy_from_slice(&entries[at + 16..at + 32]);
        let rest = &entries[at + ENTRY_HEADER_LEN..];
        let units = rest.chunks_exact(2).map(|c| u16::from_le_bytes([c[0], c[1]]));
        let name: Vec<u16> = units.take_while(|&c| c != 0).collect();
        // The name's NUL must be inside the entries, and the name not empty.
        if name.is_empty() || (name.len() + 1) * 2 > rest.len() {
            return Err(FileError::BadName { offset });
        }
        let data_start = (name.len() + 1) * 2;
        let data = rest
            .get(
                data_start
                    ..data_start
                        .checked_add(data_len)
                        .ok_or(FileError::EntryTruncated { offset })?,
            )
            .ok_or(FileError::EntryTruncated { offset })?;
        variables.push(FileVariable {
            name,
            guid: efi::Guid::from_bytes(&guid),
            attributes,
            time,
            data,
        });
        let entry_len = ENTRY_HEADER_LEN + data_start + data_len;
        at += entry_len.next_multiple_of(ENTRY_ALIGN);
    }
    Ok(variables)
}

/// One variable as the writer takes it: the name as UTF-16LE bytes without
/// its NUL (as the variable store keeps it), so that a file can be written
/// straight from the store, without allocating (at runtime, for `VarToFile`).
#[derive(Clone, Copy, Debug)]
pub struct EntryRef<'a> {
    /// The name as UTF-16LE bytes, without its NUL.
    pub name_le: &'a [u8],
    /// The vendor GUID.
    pub guid: efi::Guid,
    /// The `EFI_VARIABLE_*` attributes.
    pub attributes: u32,
    /// The time stamp in seconds; 0 unless time-authenticated.
    pub time: u64,
    /// The variable's data.
    pub data: &'a [u8],
}

impl EntryRef<'_> {
    fn len(&self) -> usize {
        (ENTRY_HEADER_LEN + self.name_le.len() + 2 + self.data.len()).next_multiple_of(ENTRY_ALIGN)
    }
}

/// The size of the file holding `entries`.
pub fn file_len<'a>(entries: impl IntoIterator<Item = EntryRef<'a>>) -> usize {
    HEADER_LEN + entries.into_iter().map(|e| e.len()).sum::<usize>()
}

/// Writes the file holding `entries` into `out`; returns its length, or
/// `Err(needed)` when `out` is shorter than the file.
pub fn write_file<'a, I>(out: &mut [u8], entries: I) -> Result<usize, usize>
where
    I: IntoIterator<Item = EntryRef<'a>> + Clone,
{
    let len = file_len(entries.clone());
    let Some(out) = out.get_mut(..len) else {
        return Err(len);
    };
    out.fill(0);
    let mut at = HEADER_LEN;
    for e in entries {
        out[at..at + 4].copy_from_slice(&(e.data.len() as u32).to_le_bytes());
        out[at + 4..at + 8].copy_from_slice(&e.attributes.to_le_bytes());
        out[at + 8..at + 16].copy_from_slice(&e.time.to_le_bytes());
        out[at + 16..at + 32].copy_from_slice(e.guid.as_bytes());
        let name_at = at + ENTRY_HEADER_LEN;
        out[name_at..name_at + e.name_le.len()].copy_from_slice(e.name_le);
        // Two NUL bytes end the name; the data follows them.
        let data_at = name_at + e.name_le.len() + 2;
        out[data_at..data_at + e.data.len()].copy_from_slice(e.data);
        at += e.len();
    }
    let crc = crc32(&out[HEADER_LEN..len]);
    out[8..16].copy_from_slice(&MAGIC_AND_REVISION);
    out[16..20].copy_from_slice(&(len as u32).to_le_bytes());
    out[20..24].copy_from_slice(&crc.to_le_bytes());
    Ok(len)
}

/// A variable file holding `variables`, in their order.
pub fn serialize<'a>(variables: impl IntoIterator<Item = &'a FileVariable<'a>>) -> Vec<u8> {
    let variables: Vec<&FileVariable<'_>> = variables.into_iter().collect();
    let names: Vec<Vec<u8>> = variables
        .iter()
        .map(|v| v.name.iter().flat_map(|u| u.to_le_bytes()).collect())
        .collect();
    let entries = variables.iter().zip(&names).map(|(v, name)| EntryRef {
        name_le: name,
        guid: v.guid,
        attributes: v.attributes,
        time: v.time,
        data: v.data,
    });
    let mut out = alloc::vec![0u8; file_len(entries.clone())];
    let written = write_file(&mut out, entries);
    debug_assert_eq!(written, Ok(out.len()));
    out
}

/// Names in `EFI_GLOBAL_VARIABLE` and `EFI_IMAGE_SECURITY_DATABASE_GUID` that
/// hold Secure Boot's keys: never taken from a file, whatever its attributes
/// say (EBBR: the file is not tamper-proof).
const SECURITY_DATABASE_GUID: efi::Guid = efi::Guid::from_fields(
    0xd719b2cb,
    0x3d3a,
    0x4596,
    0xa3,
    0xbc,
    &[0xda, 0xd0, 0x0e, 0x67, 0x65, 0x6f],
);

/// Attribute bits that mark a variable whose writes must be authenticated.
const AUTHENTICATED: u32 = efi::VARIABLE_AUTHENTICATED_WRITE_ACCESS
    | efi::VARIABLE_TIME_BASED_AUTHENTICATED_WRITE_ACCESS
    | efi::VARIABLE_ENHANCED_AUTHENTICATED_ACCESS;

/// Why a variable of the file is not loaded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// Authenticated (PK, KEK, db, dbx, or a time-based authenticated variable).
    Authenticated,
    /// Not non-volatile: the file holds only what must survive a power cycle.
    Volatile,
}

/// Whether a variable read from the file may enter the store.
pub fn admissible(v: &FileVariable<'_>) -> Result<(), Refusal> {
    let named = |s: &str| v.name.iter().copied().eq(s.encode_utf16());
    let secure_boot_key = (v.guid == efi::GLOBAL_VARIABLE && (named("PK") || named("KEK")))
        || (v.guid == SECURITY_DATABASE_GUID && ["db", "dbx", "dbt", "dbr"].iter().any(|n| named(n)));
    if secure_boot_key || v.attributes & AUTHENTICATED != 0 {
        return Err(Refusal::Authenticated);
    }
    if v.attributes & efi::VARIABLE_NON_VOLATILE == 0 {
        return Err(Refusal::Volatile);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::String;

    const NV_BS_RT: u32 = efi::VARIABLE_NON_VOLATILE | efi::VARIABLE_BOOTSERVICE_ACCESS | efi::VARIABLE_RUNTIME_ACCESS;

    fn name(s: &str) -> Vec<u16> {
        s.encode_utf16().collect()
    }

    fn var<'a>(n: &str, data: &'a [u8]) -> FileVariable<'a> {
        FileVariable {
            name: name(n),
            guid: efi::GLOBAL_VARIABLE,
            attributes: NV_BS_RT,
            time: 0,
            data,
        }
    }

    /// The file U-Boot's tools/efivar.py would write for `set -n BootOrder -t
    /// u16 -d 1` then `set -n Timeout -t u16 -d 5`, laid out field by field
    /// here from the format's definition (independently of `serialize`).
    fn u_boot_two_variables() -> Vec<u8> {
        let mut entries = Vec::new();
        for (n, value) in [("BootOrder", 1u16), ("Timeout", 5u16)] {
            entries.extend_from_slice(&2u32.to_le_bytes());
            entries.extend_from_slice(&NV_BS_RT.to_le_bytes());
            entries.extend_from_slice(&0u64.to_le_bytes());
            entries.extend_from_slice(efi::GLOBAL_VARIABLE.as_bytes());
            let mut blob = Vec::new();
            for u in n.encode_utf16().chain([0]) {
                blob.extend_from_slice(&u.to_le_bytes());
            }
            blob.extend_from_slice(&value.to_le_bytes());
            while blob.len() % 8 != 0 {
                blob.push(0);
            }
            entries.extend_from_slice(&blob);
        }
        let mut file = Vec::new();
        file.extend_from_slice(&0u64.to_le_bytes());
        file.extend_from_slice(&0x0161_5669_6645_6255u64.to_le_bytes());
        file.extend_from_slice(&((HEADER_LEN + entries.len()) as u32).to_le_bytes());
        file.extend_from_slice(&crc32(&entries).to_le_bytes());
        file.extend_from_slice(&entries);
        file
    }

    #[test]
    fn reads_a_file_written_the_way_u_boot_writes_it() {
        let file = u_boot_two_variables();
        let vars = parse(&file).unwrap();
        assert_eq!(vars.len(), 2);
        assert_eq!(vars[0].name, name("BootOrder"));
        assert_eq!(vars[0].data, &[1, 0]);
        assert_eq!(vars[1].name, name("Timeout"));
        assert_eq!(vars[1].data, &[5, 0]);
        assert_eq!(vars[1].attributes, NV_BS_RT);
        // And writes the same bytes back.
        assert_eq!(serialize(&vars), file);
    }

    /// Written by U-Boot's own tool, tools/efivar.py (run unmodified for its
    /// `set` command, not part of this repository): `set -n BootOrder -t u16
    /// -d 1`, `set -n Timeout -t u16 -d 5`, `set -n HvfwNv -g
    /// 0f6d4b1a-3c2e-4f5a-8b7c-9d0e1f2a3b4c -t str -d from-u-boot-efivar-py`,
    /// `set -n PK -t str -d not-a-real-key` (which it marks time-based
    /// authenticated, with the time of the run).
    const U_BOOT_FILE: &[u8] = include_bytes!("../testdata/ubootefi-efivar-py.var");

    #[test]
    fn reads_the_file_u_boots_tool_wrote_and_writes_it_back_identically() {
        let vars = parse(U_BOOT_FILE).unwrap();
        let names: Vec<String> = vars.iter().map(|v| String::from_utf16(&v.name).unwrap()).collect();
        assert_eq!(names, ["BootOrder", "Timeout", "HvfwNv", "PK"]);
        assert_eq!(vars[0].data, &[1, 0]);
        assert_eq!(vars[1].data, &[5, 0]);
        assert_eq!(vars[2].data, b"from-u-boot-efivar-py");
        assert_eq!(vars[2].attributes, NV_BS_RT);
        assert_ne!(vars[3].time, 0, "efivar.py stamps time-based authenticated variables");
        assert_eq!(admissible(&vars[2]), Ok(()));
        assert_eq!(admissible(&vars[3]), Err(Refusal::Authenticated));
        assert_eq!(serialize(&vars), U_BOOT_FILE);
    }

    #[test]
    fn round_trips_names_and_data_of_every_length() {
        let data: Vec<u8> = (0..40).collect();
        let vars: Vec<FileVariable<'_>> = (1..12)
            .map(|i| FileVariable {
                name: name(&"N".repeat(i)),
                guid: RT_VAR_FILE_GUID,
                attributes: NV_BS_RT,
                time: i as u64,
                data: &data[..i * 3],
            })
            .collect();
        let file = serialize(&vars);
        assert_eq!(file.len() % 8, 0);
        assert_eq!(parse(&file).unwrap(), vars);
    }

    #[test]
    fn writing_into_a_short_buffer_says_how_much_is_needed() {
        let name: Vec<u8> = "Timeout".encode_utf16().flat_map(|u| u.to_le_bytes()).collect();
        let entry = EntryRef {
            name_le: &name,
            guid: efi::GLOBAL_VARIABLE,
            attributes: NV_BS_RT,
            time: 0,
            data: &[5, 0],
        };
        let len = file_len([entry]);
        // 32 bytes of entry header, 7 name units and a NUL, 2 bytes of data: 50, padded to 56.
        assert_eq!(len, HEADER_LEN + 56);
        let mut short = vec![0u8; len - 1];
        assert_eq!(write_file(&mut short, [entry]), Err(len));
        let mut exact = vec![0xaa; len + 3];
        assert_eq!(write_file(&mut exact, [entry]), Ok(len));
        assert_eq!(&exact[..len], &serialize(&[var("Timeout", &[5, 0])])[..]);
    }

    #[test]
    fn an_empty_store_is_a_header_alone() {
        let file = serialize(&[]);
        assert_eq!(file.len(), HEADER_LEN);
        assert_eq!(parse(&file).unwrap(), vec![]);
    }

    #[test]
    fn bytes_after_the_stated_length_are_ignored() {
        let mut file = serialize(&[var("Timeout", &[5, 0])]);
        file.extend_from_slice(&[0xff; 100]);
        assert_eq!(parse(&file).unwrap().len(), 1);
    }

    #[test]
    fn damage_is_named() {
        let good = serialize(&[var("BootOrder", &[1, 0]), var("Timeout", &[5, 0])]);
        assert_eq!(parse(&good[..10]), Err(FileError::TooShort { len: 10 }));
        let mut foreign = good.clone();
        foreign[8] = b'X';
        assert_eq!(parse(&foreign), Err(FileError::NotAVariableFile));
        let mut revision = good.clone();
        revision[15] = 2;
        assert_eq!(parse(&revision), Err(FileError::UnknownRevision { revision: 2 }));
        // Cut in the middle of a write: the header promises more than is there.
        assert!(matches!(
            parse(&good[..good.len() - 8]),
            Err(FileError::BadLength { .. })
        ));
        let mut flipped = good.clone();
        let last = flipped.len() - 9;
        flipped[last] ^= 1;
        assert!(matches!(parse(&flipped), Err(FileError::CrcMismatch { .. })));
    }

    /// A file whose CRC is right but whose entries lie about their sizes.
    fn with_entries(entries: &[u8]) -> Vec<u8> {
        let mut file = serialize(&[]);
        file.extend_from_slice(entries);
        let len = file.len() as u32;
        file[16..20].copy_from_slice(&len.to_le_bytes());
        file[20..24].copy_from_slice(&crc32(entries).to_le_bytes());
        file
    }

    #[test]
    fn entries_that_lie_about_their_size_are_refused() {
        // A data size far past the end.
        let mut entry = Vec::new();
        entry.extend_from_slice(&u32::MAX.to_le_bytes());
        entry.extend_from_slice(&NV_BS_RT.to_le_bytes());
        entry.extend_from_slice(&[0u8; 24]);
        entry.extend_from_slice(&[b'A', 0, 0, 0]);
        assert_eq!(
            parse(&with_entries(&entry)),
            Err(FileError::EntryTruncated { offset: HEADER_LEN })
        );
        // A name without its NUL.
        let mut entry = vec![0u8; 32];
        entry.extend_from_slice(&[b'A', 0, b'B', 0]);
        assert_eq!(
            parse(&with_entries(&entry)),
            Err(FileError::BadName { offset: HEADER_LEN })
        );
        // An empty name.
        let mut entry = vec![0u8; 32];
        entry.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0, 0]);
        assert_eq!(
            parse(&with_entries(&entry)),
            Err(FileError::BadName { offset: HEADER_LEN })
        );
        // Half an entry header.
        assert_eq!(
            parse(&with_entries(&[0u8; 16])),
            Err(FileError::EntryTruncated { offset: HEADER_LEN })
        );
    }

    #[test]
    fn secure_boot_keys_and_authenticated_variables_are_never_admitted() {
        assert_eq!(admissible(&var("BootOrder", &[1, 0])), Ok(()));
        assert_eq!(admissible(&var("PK", &[1])), Err(Refusal::Authenticated));
        assert_eq!(admissible(&var("KEK", &[1])), Err(Refusal::Authenticated));
        let mut db = var("db", &[1]);
        db.guid = SECURITY_DATABASE_GUID;
        assert_eq!(admissible(&db), Err(Refusal::Authenticated));
        let mut timed = var("MyVar", &[1]);
        timed.attributes |= efi::VARIABLE_TIME_BASED_AUTHENTICATED_WRITE_ACCESS;
        assert_eq!(admissible(&timed), Err(Refusal::Authenticated));
        let mut volatile = var("Scratch", &[1]);
        volatile.attributes = efi::VARIABLE_BOOTSERVICE_ACCESS;
        assert_eq!(admissible(&volatile), Err(Refusal::Volatile));
    }
}
