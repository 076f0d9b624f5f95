//! The information structures of GetInfo/SetInfo as bytes: `EFI_FILE_INFO`
//! (UEFI 2.10 §13.5.16), `EFI_FILE_SYSTEM_INFO` (§13.5.17) and
//! `EFI_FILE_SYSTEM_VOLUME_LABEL` (§13.5.18), with their `EFI_TIME` fields
//! (§8.3) converted to and from FAT times.
//!
//! The structures end in a variable-length name, so they are built and parsed
//! as byte buffers: the caller's buffer has no alignment guarantee. Field
//! offsets come from r-efi's `#[repr(C)]` definitions.
#![forbid(unsafe_code)]

use super::name;
use super::Error;
use alloc::string::String;
use alloc::vec::Vec;
use core::mem::offset_of;
use fw_drivers::bytes::LeFields;
use fw_drivers::rtc::calendar::{DateTime, EFI_TIME_SIZE};
use r_efi::protocols::file;

/// SIZE_OF_EFI_FILE_INFO: the fixed part before FileName.
pub const SIZE_OF_EFI_FILE_INFO: usize = offset_of!(file::Info, file_name);
/// SIZE_OF_EFI_FILE_SYSTEM_INFO: the fixed part before VolumeLabel.
pub const SIZE_OF_EFI_FILE_SYSTEM_INFO: usize = offset_of!(file::SystemInfo, volume_label);

const INFO_SIZE: usize = offset_of!(file::Info, size);
const INFO_FILE_SIZE: usize = offset_of!(file::Info, file_size);
const INFO_PHYSICAL_SIZE: usize = offset_of!(file::Info, physical_size);
const INFO_CREATE_TIME: usize = offset_of!(file::Info, create_time);
const INFO_LAST_ACCESS_TIME: usize = offset_of!(file::Info, last_access_time);
const INFO_MODIFICATION_TIME: usize = offset_of!(file::Info, modification_time);
const INFO_ATTRIBUTE: usize = offset_of!(file::Info, attribute);

const FS_SIZE: usize = offset_of!(file::SystemInfo, size);
const FS_READ_ONLY: usize = offset_of!(file::SystemInfo, read_only);
const FS_VOLUME_SIZE: usize = offset_of!(file::SystemInfo, volume_size);
const FS_FREE_SPACE: usize = offset_of!(file::SystemInfo, free_space);
const FS_BLOCK_SIZE: usize = offset_of!(file::SystemInfo, block_size);

/// EFI_FILE_INFO without its Size field (which follows from the name).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileInfo {
    /// The file's size in bytes.
    pub file_size: u64,
    /// The bytes it takes on the volume (whole clusters).
    pub physical_size: u64,
    /// When it was created.
    pub create_time: DateTime,
    /// When it was last accessed (the date only, on FAT).
    pub last_access_time: DateTime,
    /// When it was last written.
    pub modification_time: DateTime,
    /// The `EFI_FILE_*` attribute bits.
    pub attribute: u64,
    /// The file's name.
    pub file_name: String,
}

/// EFI_FILE_SYSTEM_INFO without its Size field.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileSystemInfo {
    /// Whether the volume is read-only.
    pub read_only: bool,
    /// The volume's size in bytes.
    pub volume_size: u64,
    /// Its free bytes.
    pub free_space: u64,
    /// The volume's block size: on FAT, its cluster size.
    pub block_size: u32,
    /// The volume label.
    pub volume_label: String,
}

/// A FAT time as EFI_FILE_INFO gives it: local time, so
/// EFI_UNSPECIFIED_TIMEZONE. A date FAT never wrote (day or month 0, as in the
/// root directory's zeroed entry) becomes the all-zero time.
pub fn time_from_fat(time: DateTime) -> DateTime {
    if time.is_valid() {
        time
    } else {
        DateTime::default()
    }
}

/// The time to store on disk from an EFI_FILE_INFO: `Ok(None)` for the
/// all-zero time, which SetInfo takes as "leave unchanged"; an error for an
/// invalid EFI_TIME. The fraction of a second is kept (creation times hold
/// 10 ms steps); the time zone is dropped (FAT keeps local time).
pub fn time_to_fat(t: &DateTime) -> Result<Option<DateTime>, Error> {
    if *t == DateTime::default() {
        return Ok(None);
    }
    if !t.is_valid() {
        return Err(Error::InvalidInfo {
            reason: "a time field is out of range",
        });
    }
    Ok(Some(*t))
}

fn put_time(b: &mut [u8], at: usize, t: &DateTime) {
    b[at..at + EFI_TIME_SIZE].copy_from_slice(&t.to_efi_bytes());
}

/// The EFI_TIME at `at` (inside a structure whose size was checked).
fn time_at(b: &[u8], at: usize) -> DateTime {
    b.array_at(at)
        .map_or_else(DateTime::default, |t| DateTime::from_efi_bytes(&t))
}

fn put_u64(b: &mut [u8], at: usize, v: u64) {
    b[at..at + 8].copy_from_slice(&v.to_le_bytes());
}

/// Checks a SetInfo buffer against its fixed size and its own Size field;
/// returns the bytes the structure covers.
fn sized(bytes: &[u8], fixed: usize, size_at: usize) -> Result<&[u8], Error> {
    let too_small = |needed| Error::BadBufferSize {
        size: bytes.len(),
        needed,
    };
    if bytes.len() < fixed + 2 {
        return Err(too_small(fixed + 2));
    }
    let size = bytes.u64_le(size_at).unwrap_or(0);
    if size < (fixed + 2) as u64 {
        return Err(Error::InvalidInfo {
            reason: "the Size field is smaller than the structure",
        });
    }
    if size > bytes.len() as u64 {
        return Err(too_small(usize::try_from(size).unwrap_or(usize::MAX)));
    }
    Ok(&bytes[..size as usize])
}

impl FileInfo {
    /// Bytes of the structure with its name.
    pub fn size(&self) -> usize {
        SIZE_OF_EFI_FILE_INFO + name::ucs2_size(&self.file_name)
    }

    /// The EFI_FILE_INFO bytes, Size field and name included.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = alloc::vec![0u8; SIZE_OF_EFI_FILE_INFO];
        put_u64(&mut out, INFO_SIZE, self.size() as u64);
        put_u64(&mut out, INFO_FILE_SIZE, self.file_size);
        put_u64(&mut out, INFO_PHYSICAL_SIZE, self.physical_size);
        put_time(&mut out, INFO_CREATE_TIME, &self.create_time);
        put_time(&mut out, INFO_LAST_ACCESS_TIME, &self.last_access_time);
        put_time(&mut out, INFO_MODIFICATION_TIME, &self.modification_time);
        put_u64(&mut out, INFO_ATTRIBUTE, self.attribute);
        name::push_ucs2_bytes(&mut out, &self.file_name);
        out
    }

    /// Parses the EFI_FILE_INFO an application passes to SetInfo.
    pub fn decode(bytes: &[u8]) -> Result<FileInfo, Error> {
        let b = sized(bytes, SIZE_OF_EFI_FILE_INFO, INFO_SIZE)?;
        let file_name = name::from_ucs2_bytes(&b[SIZE_OF_EFI_FILE_INFO..]).ok_or(Error::InvalidInfo {
            reason: "FileName is not a terminated UCS-2 string",
        })?;
        Ok(FileInfo {
            file_size: b.u64_le(INFO_FILE_SIZE).unwrap_or(0),
            physical_size: b.u64_le(INFO_PHYSICAL_SIZE).unwrap_or(0),
            create_time: time_at(b, INFO_CREATE_TIME),
            last_access_time: time_at(b, INFO_LAST_ACCESS_TIME),
            modification_time: time_at(b, INFO_MODIFICATION_TIME),
            attribute: b.u64_le(INFO_ATTRIBUTE).unwrap_or(0),
            file_name,
        })
    }
}

impl FileSystemInfo {
    /// The EFI_FILE_SYSTEM_INFO's size, label included.
    pub fn size(&self) -> usize {
        SIZE_OF_EFI_FILE_SYSTEM_INFO + name::ucs2_size(&self.volume_label)
    }

    /// The EFI_FILE_SYSTEM_INFO bytes, Size field and label included.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = alloc::vec![0u8; SIZE_OF_EFI_FILE_SYSTEM_INFO];
        put_u64(&mut out, FS_SIZE, self.size() as u64);
        out[FS_READ_ONLY] = u8::from(self.read_only);
        put_u64(&mut out, FS_VOLUME_SIZE, self.volume_size);
        put_u64(&mut out, FS_FREE_SPACE, self.free_space);
        out[FS_BLOCK_SIZE..FS_BLOCK_SIZE + 4].copy_from_slice(&self.block_size.to_le_bytes());
        name::push_ucs2_bytes(&mut out, &self.volume_label);
        out
    }

    /// The volume label of the EFI_FILE_SYSTEM_INFO passed to SetInfo (the
    /// only field §13.5.17 lets an application change).
    pub fn decode_label(bytes: &[u8]) -> Result<String, Error> {
        let b = sized(bytes, SIZE_OF_EFI_FILE_SYSTEM_INFO, FS_SIZE)?;
        name::from_ucs2_bytes(&b[SIZE_OF_EFI_FILE_SYSTEM_INFO..]).ok_or(Error::InvalidInfo {
            reason: "VolumeLabel is not a terminated UCS-2 string",
        })
    }
}

/// EFI_FILE_SYSTEM_VOLUME_LABEL: just the NUL-terminated label.
pub fn encode_volume_label(label: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(name::ucs2_size(label));
    name::push_ucs2_bytes(&mut out, label);
    out
}

/// The label of an EFI_FILE_SYSTEM_VOLUME_LABEL's bytes (a NUL-terminated UCS-2 string).
pub fn decode_volume_label(bytes: &[u8]) -> Result<String, Error> {
    name::from_ucs2_bytes(bytes).ok_or(Error::BadBufferSize {
        size: bytes.len(),
        needed: bytes.len() + 2,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> FileInfo {
        // 2024-02-29 13:37:42 as FAT stores it.
        let t = time_from_fat(DateTime::from_fat(
            (44 << 9) | (2 << 5) | 29,
            (13 << 11) | (37 << 5) | 21,
            0,
        ));
        FileInfo {
            file_size: 12345,
            physical_size: 16384,
            create_time: t,
            last_access_time: DateTime::default(),
            modification_time: t,
            attribute: file::ARCHIVE | file::READ_ONLY,
            file_name: "grubx64.efi".into(),
        }
    }

    #[test]
    fn file_system_info_layouts_match_the_specification() {
        assert_eq!(SIZE_OF_EFI_FILE_INFO, 80);
        assert_eq!(SIZE_OF_EFI_FILE_SYSTEM_INFO, 36);
        assert_eq!(core::mem::size_of::<r_efi::system::Time>(), EFI_TIME_SIZE);
        assert_eq!((INFO_CREATE_TIME, INFO_ATTRIBUTE), (24, 72));
        assert_eq!((FS_READ_ONLY, FS_VOLUME_SIZE, FS_BLOCK_SIZE), (8, 16, 32));
    }

    #[test]
    fn file_system_file_info_round_trips() {
        let info = sample();
        let bytes = info.encode();
        assert_eq!(bytes.len(), 80 + 12 * 2);
        assert_eq!(bytes.u64_le(0), Some(bytes.len() as u64));
        assert_eq!(FileInfo::decode(&bytes).unwrap(), info);
        assert_eq!(info.create_time.timezone, r_efi::system::UNSPECIFIED_TIMEZONE);
        assert_eq!(time_to_fat(&info.create_time).unwrap().unwrap().day, 29);
    }

    #[test]
    fn file_system_file_info_decode_checks_sizes_and_name() {
        let bytes = sample().encode();
        assert!(matches!(
            FileInfo::decode(&bytes[..40]),
            Err(Error::BadBufferSize { .. })
        ));
        assert!(matches!(
            FileInfo::decode(&bytes[..bytes.len() - 2]),
            Err(Error::BadBufferSize { .. })
        ));
        let mut unterminated = bytes.clone();
        let n = unterminated.len();
        unterminated[n - 2] = b'x';
        assert!(matches!(
            FileInfo::decode(&unterminated),
            Err(Error::InvalidInfo { .. })
        ));
    }

    #[test]
    fn file_system_times_reject_invalid_and_keep_zero() {
        assert_eq!(time_to_fat(&DateTime::default()), Ok(None));
        let bad = DateTime {
            year: 2023,
            month: 2,
            day: 29,
            ..DateTime::default()
        };
        assert!(time_to_fat(&bad).is_err());
        assert_eq!(time_from_fat(DateTime::from_fat(0, 0, 0)), DateTime::default());
    }

    #[test]
    fn file_system_system_info_carries_the_label() {
        let info = FileSystemInfo {
            read_only: true,
            volume_size: 1 << 20,
            free_space: 4096,
            block_size: 2048,
            volume_label: "ESP".into(),
        };
        let bytes = info.encode();
        assert_eq!(bytes.len(), 36 + 8);
        assert_eq!(bytes[8], 1);
        assert_eq!(FileSystemInfo::decode_label(&bytes).unwrap(), "ESP");
        assert_eq!(decode_volume_label(&encode_volume_label("ESP")).unwrap(), "ESP");
    }
}
