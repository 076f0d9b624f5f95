//! The fw_cfg file directory (QEMU `docs/specs/fw_cfg.rst`, "File Directory"):
//! item `FW_CFG_FILE_DIR` holds a big-endian 32-bit count, then that many
//! 64-byte `FWCfgFile` entries: big-endian 32-bit size, big-endian 16-bit
//! selector key, 16 reserved bits, and a NUL-terminated name of at most 55
//! bytes in a 56-byte field.
#![forbid(unsafe_code)]

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

/// The count in front of the entries.
pub const HEADER_LENGTH: usize = 4;
/// One `FWCfgFile` entry.
pub const ENTRY_LENGTH: usize = 64;
/// `FW_CFG_MAX_FILE_PATH`: the name field, NUL terminator included.
pub const NAME_LENGTH: usize = 56;
/// More files than selector keys exist (0x0020-0x3fff) cannot be right.
pub const MAX_FILES: u32 = 0x4000 - 0x20;

/// One entry of the directory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct File {
    /// The file's name (`etc/acpi/tables`, ...).
    pub name: String,
    /// Its size in bytes.
    pub size: u32,
    /// The item key that reads the file.
    pub select: u16,
}

/// Why the directory cannot be used.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Error {
    /// Fewer bytes than the count in front of them promises.
    Truncated {
        /// The count.
        files: u32,
        /// The bytes there are.
        length: usize,
    },
    /// A count no device can have.
    TooManyFiles {
        /// The count.
        files: u32,
    },
    /// Entry `index` has no NUL within its 56-byte name.
    NameNotTerminated {
        /// The entry's index.
        index: usize,
    },
    /// Entry `index`'s name is empty or not UTF-8.
    BadName {
        /// The entry's index.
        index: usize,
    },
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Truncated { files, length } => {
                write!(f, "{files} files announced, but only {length} bytes")
            }
            Error::TooManyFiles { files } => write!(f, "{files} files announced (at most {MAX_FILES})"),
            Error::NameNotTerminated { index } => {
                write!(f, "entry {index}: name without a NUL in its {NAME_LENGTH} bytes")
            }
            Error::BadName { index } => write!(f, "entry {index}: empty or non-UTF-8 name"),
        }
    }
}

/// The file count in the first [`HEADER_LENGTH`] bytes of the directory.
fn count(header: &[u8]) -> Result<u32, Error> {
    let bytes: [u8; HEADER_LENGTH] =
        header
            .get(..HEADER_LENGTH)
            .and_then(|b| b.try_into().ok())
            .ok_or(Error::Truncated {
                files: 0,
                length: header.len(),
            })?;
    let files = u32::from_be_bytes(bytes);
    if files > MAX_FILES {
        return Err(Error::TooManyFiles { files });
    }
    Ok(files)
}

/// The directory's whole length, from its first [`HEADER_LENGTH`] bytes.
pub fn length(header: &[u8]) -> Result<usize, Error> {
    Ok(HEADER_LENGTH + count(header)? as usize * ENTRY_LENGTH)
}

/// The entries of the directory `bytes` (header included).
pub fn parse(bytes: &[u8]) -> Result<Vec<File>, Error> {
    let files = count(bytes)?;
    let entries = bytes[HEADER_LENGTH..]
        .get(..files as usize * ENTRY_LENGTH)
        .ok_or(Error::Truncated {
            files,
            length: bytes.len(),
        })?;
    entries
        .chunks_exact(ENTRY_LENGTH)
        .enumerate()
        .map(|(index, entry)| {
            let size = u32::from_be_bytes([entry[0], entry[1], entry[2], entry[3]]);
            let select = u16::from_be_bytes([entry[4], entry[5]]);
            let field = &entry[8..8 + NAME_LENGTH];
            let end = field
                .iter()
                .position(|&b| b == 0)
                .ok_or(Error::NameNotTerminated { index })?;
            let name = core::str::from_utf8(&field[..end])
                .ok()
                .filter(|n| !n.is_empty())
                .ok_or(Error::BadName { index })?;
            Ok(File {
                name: name.into(),
                size,
                select,
            })
        })
        .collect()
}
