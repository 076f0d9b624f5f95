//! QEMU's ACPI linker/loader script, the fw_cfg file `etc/table-loader`
//! (QEMU `hw/acpi/bios-linker-loader.c`, which documents the command format):
//! 128-byte little-endian records, each a 32-bit command and its arguments,
//! file names being NUL-terminated in 56-byte fields.
//!
//! - ALLOCATE (1): file, 32-bit alignment, 8-bit zone (1 = "high", 32-bit
//!   memory; 2 = the F segment). The file's bytes are placed in memory with
//!   that alignment.
//! - ADD_POINTER (2): destination file, source file, 32-bit offset, 8-bit size
//!   (1, 2, 4 or 8). The little-endian value at that offset in the
//!   destination is an offset into the source; the source's address is added.
//! - ADD_CHECKSUM (3): file, 32-bit offset of the checksum byte, 32-bit start
//!   and length of the range it covers: the byte is set so that the range sums
//!   to zero (ACPI's 8-bit checksum).
//! - WRITE_POINTER (4): tells QEMU where a file was placed, by writing to a
//!   writable fw_cfg file. Nothing this firmware loads needs it (it serves
//!   devices such as vmgenid): skipped with a debug line.
//!
//! Unknown commands are skipped, as QEMU asks of its firmware so that it can add
//! commands. The interpreter here works on byte buffers only: the caller fetches
//! the files and allocates memory, then copies the patched buffers to their
//! addresses. Every offset, size and name comes from the VMM and is checked;
//! an error names the command's index and what was wrong with it.
#![forbid(unsafe_code)]

use crate::bytes::LeFields;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;
use log::debug;

/// One command record.
pub const COMMAND_LENGTH: usize = 128;
/// `BIOS_LINKER_LOADER_FILESZ` (= `FW_CFG_MAX_FILE_PATH`).
pub const FILE_NAME_LENGTH: usize = 56;

/// ALLOCATE: place a file in memory.
pub const COMMAND_ALLOCATE: u32 = 1;
/// ADD_POINTER: add a file's address to a pointer in another file.
pub const COMMAND_ADD_POINTER: u32 = 2;
/// ADD_CHECKSUM: set a checksum byte so a range sums to zero.
pub const COMMAND_ADD_CHECKSUM: u32 = 3;
/// WRITE_POINTER: write a file's address back to the device.
pub const COMMAND_WRITE_POINTER: u32 = 4;

/// `BIOS_LINKER_LOADER_ALLOC_ZONE_HIGH`: anywhere in 32-bit memory.
pub const ZONE_HIGH: u8 = 1;
/// `BIOS_LINKER_LOADER_ALLOC_ZONE_FSEG`: the F segment on a PC.
pub const ZONE_FSEG: u8 = 2;

/// Where ALLOCATE wants a file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Zone {
    /// Anywhere in 32-bit memory.
    High,
    /// The F segment (0xF0000-0xFFFFF).
    Fseg,
}

/// A file ALLOCATE placed: its bytes, patched by the commands so far, and the
/// address they are to be copied to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Blob {
    /// The fw_cfg file's name.
    pub name: String,
    /// Where its bytes go.
    pub address: u64,
    /// Its bytes.
    pub data: Vec<u8>,
}

/// What the interpreter needs from the firmware.
pub trait Environment {
    /// The whole fw_cfg file `name`, if the device has it.
    fn fetch(&mut self, name: &str) -> Option<Vec<u8>>;
    /// Memory for `size` bytes aligned to `align` (a power of two) in `zone`:
    /// its address, or `None` when there is none.
    fn allocate(&mut self, name: &str, size: usize, align: u64, zone: Zone) -> Option<u64>;
}

/// What is wrong with a command.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    /// The script ends inside this command.
    Truncated {
        /// The script's length.
        length: usize,
    },
    /// A file name field without a NUL in its 56 bytes.
    NameNotTerminated,
    /// An empty or non-UTF-8 file name.
    BadName,
    /// ALLOCATE of a file the device does not have.
    NoSuchFile {
        /// The file.
        name: String,
    },
    /// ALLOCATE of an empty file.
    EmptyFile {
        /// The file.
        name: String,
    },
    /// A second ALLOCATE of the same file.
    AlreadyAllocated {
        /// The file.
        name: String,
    },
    /// A command naming a file no ALLOCATE placed.
    NotAllocated {
        /// The file.
        name: String,
    },
    /// An alignment that is not a power of two.
    BadAlignment {
        /// The alignment given.
        align: u32,
    },
    /// A zone other than "high" and "F segment".
    BadZone {
        /// The zone given.
        zone: u8,
    },
    /// The firmware found no memory for the file.
    OutOfMemory {
        /// The file.
        name: String,
        /// Its size.
        size: usize,
    },
    /// The firmware's memory for the file is not aligned as asked.
    Misplaced {
        /// The file.
        name: String,
        /// Where the memory is.
        address: u64,
        /// The alignment asked for.
        align: u64,
    },
    /// A pointer size other than 1, 2, 4 and 8.
    BadPointerSize {
        /// The size given.
        size: u8,
    },
    /// `offset..offset + length` is not inside the file.
    OutOfFile {
        /// The file.
        name: String,
        /// The range's start.
        offset: u32,
        /// The range's length.
        length: u64,
        /// The file's size.
        size: usize,
    },
    /// A pointer's value is no offset into its source file.
    PointerPastSource {
        /// The pointer's value.
        value: u64,
        /// The file it points into.
        source: String,
        /// That file's size.
        size: usize,
    },
    /// The patched pointer does not fit in its field.
    PointerTooWide {
        /// The patched value.
        value: u64,
        /// The field's size in bytes.
        size: u8,
    },
}

/// Command `index` (counted from 0) of the script cannot be run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Error {
    /// The command's index.
    pub index: usize,
    /// The command's type (`COMMAND_*`).
    pub command: u32,
    /// What is wrong with it.
    pub kind: ErrorKind,
}

fn command_name(command: u32) -> &'static str {
    match command {
        COMMAND_ALLOCATE => "ALLOCATE",
        COMMAND_ADD_POINTER => "ADD_POINTER",
        COMMAND_ADD_CHECKSUM => "ADD_CHECKSUM",
        COMMAND_WRITE_POINTER => "WRITE_POINTER",
        _ => "unknown",
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "table-loader command {} ({}): ",
            self.index,
            command_name(self.command)
        )?;
        match &self.kind {
            ErrorKind::Truncated { length } => {
                write!(
                    f,
                    "the script ends inside it ({length} bytes are not a multiple of {COMMAND_LENGTH})"
                )
            }
            ErrorKind::NameNotTerminated => write!(f, "a file name without a NUL in its {FILE_NAME_LENGTH} bytes"),
            ErrorKind::BadName => write!(f, "an empty or non-UTF-8 file name"),
            ErrorKind::NoSuchFile { name } => write!(f, "fw_cfg has no file {name}"),
            ErrorKind::EmptyFile { name } => write!(f, "{name} is empty"),
            ErrorKind::AlreadyAllocated { name } => write!(f, "{name} is already allocated"),
            ErrorKind::NotAllocated { name } => write!(f, "{name} was not allocated"),
            ErrorKind::BadAlignment { align } => write!(f, "alignment {align:#x} is not a power of two"),
            ErrorKind::BadZone { zone } => write!(f, "unknown zone {zone}"),
            ErrorKind::OutOfMemory { name, size } => write!(f, "no memory for {name} ({size} bytes)"),
            ErrorKind::Misplaced { name, address, align } => {
                write!(f, "{name} was placed at {address:#x}, not aligned to {align:#x}")
            }
            ErrorKind::BadPointerSize { size } => write!(f, "pointer size {size} (not 1, 2, 4 or 8)"),
            ErrorKind::OutOfFile {
                name,
                offset,
                length,
                size,
            } => write!(f, "bytes {offset:#x}+{length:#x} are outside {name} ({size:#x} bytes)"),
            ErrorKind::PointerPastSource { value, source, size } => write!(
                f,
                "pointer value {value:#x} is past the end of {source} ({size:#x} bytes)"
            ),
            ErrorKind::PointerTooWide { value, size } => {
                write!(f, "address {value:#x} does not fit in {size} bytes")
            }
        }
    }
}

/// A command record's fields, read by offset. Records are whole
/// [`COMMAND_LENGTH`]-byte chunks and every field lies inside one, so a field
/// cannot be missing; it would read as zero.
struct Record<'a> {
    bytes: &'a [u8],
}

impl Record<'_> {
    fn u8_at(&self, offset: usize) -> u8 {
        self.bytes.u8_at(offset).unwrap_or(0)
    }

    fn u32_at(&self, offset: usize) -> u32 {
        self.bytes.u32_le(offset).unwrap_or(0)
    }

    fn name_at(&self, offset: usize) -> Result<&str, ErrorKind> {
        let field = &self.bytes[offset..offset + FILE_NAME_LENGTH];
        let end = field.iter().position(|&b| b == 0).ok_or(ErrorKind::NameNotTerminated)?;
        core::str::from_utf8(&field[..end])
            .ok()
            .filter(|n| !n.is_empty())
            .ok_or(ErrorKind::BadName)
    }
}

// Argument offsets within a record (after the 4-byte command).
const ARG: usize = 4;
const SECOND_NAME: usize = ARG + FILE_NAME_LENGTH;
const AFTER_TWO_NAMES: usize = ARG + 2 * FILE_NAME_LENGTH;

/// The files placed so far.
struct Blobs {
    blobs: Vec<Blob>,
}

impl Blobs {
    fn index(&self, name: &str) -> Result<usize, ErrorKind> {
        self.blobs
            .iter()
            .position(|b| b.name == name)
            .ok_or_else(|| ErrorKind::NotAllocated { name: name.into() })
    }
}

/// The `length` bytes at `offset` of `blob`, checked.
fn range(blob: &Blob, offset: u32, length: u64) -> Result<core::ops::Range<usize>, ErrorKind> {
    let start = offset as usize;
    let end = u64::from(offset)
        .checked_add(length)
        .filter(|&end| end <= blob.data.len() as u64);
    match end {
        Some(end) => Ok(start..end as usize),
        None => Err(ErrorKind::OutOfFile {
            name: blob.name.clone(),
            offset,
            length,
            size: blob.data.len(),
        }),
    }
}

fn allocate(record: &Record, blobs: &mut Blobs, env: &mut dyn Environment) -> Result<(), ErrorKind> {
    let name = record.name_at(ARG)?;
    let align = record.u32_at(SECOND_NAME);
    let zone = match record.u8_at(SECOND_NAME + 4) {
        ZONE_HIGH => Zone::High,
        ZONE_FSEG => Zone::Fseg,
        zone => return Err(ErrorKind::BadZone { zone }),
    };
    if !align.is_power_of_two() {
        return Err(ErrorKind::BadAlignment { align });
    }
    if blobs.index(name).is_ok() {
        return Err(ErrorKind::AlreadyAllocated { name: name.into() });
    }
    let data = env
        .fetch(name)
        .ok_or_else(|| ErrorKind::NoSuchFile { name: name.into() })?;
    if data.is_empty() {
        return Err(ErrorKind::EmptyFile { name: name.into() });
    }
    let align = u64::from(align);
    let address = env
        .allocate(name, data.len(), align, zone)
        .ok_or_else(|| ErrorKind::OutOfMemory {
            name: name.into(),
            size: data.len(),
        })?;
    if !address.is_multiple_of(align) || address.checked_add(data.len() as u64).is_none() {
        return Err(ErrorKind::Misplaced {
            name: name.into(),
            address,
            align,
        });
    }
    blobs.blobs.push(Blob {
        name: name.into(),
        address,
        data,
    });
    Ok(())
}

fn add_pointer(record: &Record, blobs: &mut Blobs) -> Result<(), ErrorKind> {
    let destination = blobs.index(record.name_at(ARG)?)?;
    let source = blobs.index(record.name_at(SECOND_NAME)?)?;
    let offset = record.u32_at(AFTER_TWO_NAMES);
    let size = record.u8_at(AFTER_TWO_NAMES + 4);
    if !matches!(size, 1 | 2 | 4 | 8) {
        return Err(ErrorKind::BadPointerSize { size });
    }
    let field = range(&blobs.blobs[destination], offset, u64::from(size))?;
    let mut value = [0; 8];
    value[..field.len()].copy_from_slice(&blobs.blobs[destination].data[field.clone()]);
    let value = u64::from_le_bytes(value);
    let source = &blobs.blobs[source];
    if value >= source.data.len() as u64 {
        return Err(ErrorKind::PointerPastSource {
            value,
            source: source.name.clone(),
            size: source.data.len(),
        });
    }
    let patched = source.address + value;
    if size < 8 && patched >> (u32::from(size) * 8) != 0 {
        return Err(ErrorKind::PointerTooWide { value: patched, size });
    }
    let width = field.len();
    blobs.blobs[destination].data[field].copy_from_slice(&patched.to_le_bytes()[..width]);
    Ok(())
}

fn add_checksum(record: &Record, blobs: &mut Blobs) -> Result<(), ErrorKind> {
    let index = blobs.index(record.name_at(ARG)?)?;
    let blob = &mut blobs.blobs[index];
    let offset = record.u32_at(SECOND_NAME);
    let start = record.u32_at(SECOND_NAME + 4);
    let length = record.u32_at(SECOND_NAME + 8);
    let at = range(blob, offset, 1)?.start;
    let covered = range(blob, start, u64::from(length))?;
    let sum = blob.data[covered].iter().fold(0u8, |sum, &b| sum.wrapping_add(b));
    // Subtracting the range's sum from the checksum byte, which the range
    // covers, makes the range sum to zero whatever the byte held before.
    blob.data[at] = blob.data[at].wrapping_sub(sum);
    Ok(())
}

/// Runs the script `script` (the contents of `etc/table-loader`): fetches and
/// places the files it allocates through `env`, patches them, and returns them
/// in the order they were allocated, ready to be copied to their addresses.
pub fn run(script: &[u8], env: &mut dyn Environment) -> Result<Vec<Blob>, Error> {
    let mut blobs = Blobs { blobs: Vec::new() };
    for (index, bytes) in script.chunks(COMMAND_LENGTH).enumerate() {
        let error = |command, kind| Error { index, command, kind };
        if bytes.len() < COMMAND_LENGTH {
            return Err(error(0, ErrorKind::Truncated { length: script.len() }));
        }
        let record = Record { bytes };
        let command = record.u32_at(0);
        let done = match command {
            COMMAND_ALLOCATE => allocate(&record, &mut blobs, env),
            COMMAND_ADD_POINTER => add_pointer(&record, &mut blobs),
            COMMAND_ADD_CHECKSUM => add_checksum(&record, &mut blobs),
            COMMAND_WRITE_POINTER => {
                debug!("table-loader command {index}: WRITE_POINTER skipped (no file loaded here needs it)");
                Ok(())
            }
            other => {
                debug!("table-loader command {index}: unknown command {other:#x} skipped");
                Ok(())
            }
        };
        done.map_err(|kind| error(command, kind))?;
    }
    Ok(blobs.blobs)
}
