//! PE/COFF headers (Microsoft "PE Format": §2 "Overview", §3 "COFF File
//! Header" and "Optional Header", §4 "Section Table", §5.2 "COFF String
//! Table"), read once for the whole firmware.
//!
//! Two kinds of reader use it: the firmware's image loader (`fw-core`'s
//! `image::parse`), which validates a PE32+ image before LoadImage places it,
//! and the built-in boot manager (`fw-loaders`), which only looks up the named
//! sections of a unified kernel image in the first bytes of a file. Both go
//! through [`CoffHeader::read`] and [`CoffHeader::section_headers`]; the loader
//! goes on with [`Headers::read`] for the PE32+ optional header and the long
//! section names.
//!
//! Every field is read with `fw-bytes`' checked reads: a structure that does
//! not lie wholly inside the bytes is a [`HeaderError::Truncated`], never a panic.
#![no_std]
#![forbid(unsafe_code)]

extern crate alloc;

#[cfg(test)]
extern crate std;

use alloc::vec::Vec;
use core::fmt;
use fw_bytes::LeFields;

#[cfg(test)]
mod tests;

/// "MZ", the DOS header's `e_magic`.
pub const DOS_SIGNATURE: u16 = 0x5a4d;
/// "PE\0\0", at the offset the DOS header's `e_lfanew` names.
pub const NT_SIGNATURE: u32 = 0x0000_4550;
/// The optional header magic of a PE32 (32-bit) image.
pub const PE32_MAGIC: u16 = 0x10b;
/// The optional header magic of a PE32+ (64-bit) image.
pub const PE32_PLUS_MAGIC: u16 = 0x20b;
/// Where `SizeOfHeaders` is in the optional header, PE32 and PE32+ alike.
pub const SIZE_OF_HEADERS_OFFSET: u64 = 60;
/// Where `CheckSum` is in the optional header, PE32 and PE32+ alike.
pub const CHECK_SUM_OFFSET: u64 = 64;
/// The COFF `Characteristics` flag of an image that must run at its preferred base.
pub const RELOCS_STRIPPED: u16 = 0x0001;

/// The DOS header: its last field, `e_lfanew`, is at 0x3c.
const DOS_HEADER_SIZE: usize = 64;
const COFF_HEADER_SIZE: usize = 20;
/// The PE32+ optional header up to (without) its data directories.
const OPTIONAL_HEADER64_SIZE: usize = 112;
const DATA_DIRECTORY_SIZE: usize = 8;
const SECTION_HEADER_SIZE: usize = 40;
const SYMBOL_SIZE: usize = 18;
/// The data directory of the base relocation table (PE Format §3.4.3).
const BASE_RELOCATION_DIRECTORY: usize = 5;

/// Why the headers could not be read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HeaderError {
    /// The bytes end inside a structure that must be read.
    Truncated {
        /// The structure (DOS header, section table, ...).
        what: &'static str,
    },
    /// The first two bytes are not "MZ".
    BadDosSignature {
        /// The first two bytes.
        found: u16,
    },
    /// The bytes at `e_lfanew` are not "PE\0\0".
    BadPeSignature {
        /// `e_lfanew`.
        offset: u32,
        /// The four bytes there.
        found: u32,
    },
    /// The optional header is not PE32+ (0x20b): a 32-bit PE32 (0x10b) or garbage.
    NotPe32Plus {
        /// The optional header's magic.
        magic: u16,
    },
    /// `SizeOfOptionalHeader` leaves no room for the PE32+ optional header's fields.
    OptionalHeaderTooSmall {
        /// `SizeOfOptionalHeader`.
        size: u16,
    },
    /// `NumberOfRvaAndSizes` names more data directories than the optional header holds.
    TooManyDataDirectories {
        /// `NumberOfRvaAndSizes`.
        count: u32,
    },
}

impl fmt::Display for HeaderError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HeaderError::Truncated { what } => write!(f, "image truncated: the file ends inside the {what}"),
            HeaderError::BadDosSignature { found } => {
                write!(f, "not a PE image: DOS signature {found:#06x}, expected \"MZ\"")
            }
            HeaderError::BadPeSignature { offset, found } => {
                write!(
                    f,
                    "not a PE image: signature {found:#010x} at {offset:#x}, expected \"PE\\0\\0\""
                )
            }
            HeaderError::NotPe32Plus { magic } => write!(f, "optional header magic {magic:#x} is not PE32+ (0x20b)"),
            HeaderError::OptionalHeaderTooSmall { size } => {
                write!(
                    f,
                    "malformed PE headers: an optional header of {size} bytes is too small for PE32+"
                )
            }
            HeaderError::TooManyDataDirectories { count } => {
                write!(
                    f,
                    "malformed PE headers: {count} data directories do not fit in the optional header"
                )
            }
        }
    }
}

/// The COFF file header (PE Format §3.3) and where it is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CoffHeader {
    /// `e_lfanew`: where the PE signature is.
    pub nt_offset: u32,
    /// `Machine`.
    pub machine: u16,
    /// `NumberOfSections`.
    pub number_of_sections: u16,
    /// `PointerToSymbolTable` (0: none; deprecated in images, but long section
    /// names live in the string table behind it).
    pub pointer_to_symbol_table: u32,
    /// `NumberOfSymbols`.
    pub number_of_symbols: u32,
    /// `SizeOfOptionalHeader`.
    pub size_of_optional_header: u16,
    /// `Characteristics` (`IMAGE_FILE_*` flags).
    pub characteristics: u16,
}

/// The `e_lfanew` of a DOS header at the start of `file`.
fn nt_offset(file: &[u8]) -> Result<u32, HeaderError> {
    if file.len() < DOS_HEADER_SIZE {
        return Err(HeaderError::Truncated { what: "DOS header" });
    }
    file.u32_le(0x3c).ok_or(HeaderError::Truncated { what: "DOS header" })
}

impl CoffHeader {
    /// The COFF header right after a PE signature at `nt_offset` of `file`.
    fn at(file: &[u8], nt_offset: u32) -> Result<CoffHeader, HeaderError> {
        let truncated = HeaderError::Truncated {
            what: "COFF file header",
        };
        let at = (nt_offset as usize).checked_add(4).ok_or(truncated)?;
        let header = file
            .get(at..)
            .and_then(|rest| rest.get(..COFF_HEADER_SIZE))
            .ok_or(truncated)?;
        let u16_at = |offset| header.u16_le(offset).ok_or(truncated);
        let u32_at = |offset| header.u32_le(offset).ok_or(truncated);
        Ok(CoffHeader {
            nt_offset,
            machine: u16_at(0)?,
            number_of_sections: u16_at(2)?,
            pointer_to_symbol_table: u32_at(8)?,
            number_of_symbols: u32_at(12)?,
            size_of_optional_header: u16_at(16)?,
            characteristics: u16_at(18)?,
        })
    }

    /// Reads the DOS header, checks the "MZ" and "PE\0\0" signatures, and
    /// reads the COFF header after the latter.
    pub fn read(file: &[u8]) -> Result<CoffHeader, HeaderError> {
        let nt_offset = nt_offset(file)?;
        let dos_magic = file.u16_le(0).ok_or(HeaderError::Truncated { what: "DOS header" })?;
        if dos_magic != DOS_SIGNATURE {
            return Err(HeaderError::BadDosSignature { found: dos_magic });
        }
        let signature = file
            .u32_le(nt_offset as usize)
            .ok_or(HeaderError::Truncated { what: "PE signature" })?;
        if signature != NT_SIGNATURE {
            return Err(HeaderError::BadPeSignature {
                offset: nt_offset,
                found: signature,
            });
        }
        CoffHeader::at(file, nt_offset)
    }

    /// Where the optional header starts.
    pub fn optional_header_offset(&self) -> u64 {
        u64::from(self.nt_offset) + 4 + COFF_HEADER_SIZE as u64
    }

    /// Where the section table starts (right after the optional header).
    pub fn section_table_offset(&self) -> u64 {
        self.optional_header_offset() + u64::from(self.size_of_optional_header)
    }

    /// Where the section table ends.
    pub fn section_table_end(&self) -> u64 {
        self.section_table_offset() + u64::from(self.number_of_sections) * SECTION_HEADER_SIZE as u64
    }

    /// The optional header's `Magic` (PE32 or PE32+, or anything else).
    pub fn optional_magic(&self, file: &[u8]) -> Result<u16, HeaderError> {
        usize::try_from(self.optional_header_offset())
            .ok()
            .and_then(|at| file.u16_le(at))
            .ok_or(HeaderError::Truncated {
                what: "optional header",
            })
    }

    /// The section table, which must lie wholly inside `file`.
    pub fn section_headers(&self, file: &[u8]) -> Result<Vec<SectionHeader>, HeaderError> {
        let table = bytes_between(file, self.section_table_offset(), self.section_table_end())
            .ok_or(HeaderError::Truncated { what: "section table" })?;
        Ok(table
            .chunks_exact(SECTION_HEADER_SIZE)
            .map(SectionHeader::parse)
            .collect())
    }
}

/// Where `NumberOfRvaAndSizes` and the first data directory are in an
/// optional header with `magic`, from its start (PE Format §3.4.2): PE32+
/// drops `BaseOfData` but widens five fields to 64 bits.
pub fn data_directory_offsets(magic: u16) -> Option<(u64, u64)> {
    match magic {
        PE32_MAGIC => Some((92, 96)),
        PE32_PLUS_MAGIC => Some((108, OPTIONAL_HEADER64_SIZE as u64)),
        _ => None,
    }
}

/// `file[start..end]`, if it is there.
fn bytes_between(file: &[u8], start: u64, end: u64) -> Option<&[u8]> {
    file.get(usize::try_from(start).ok()?..usize::try_from(end).ok()?)
}

/// How many bytes from the start of a file [`Headers::read`] needs, judged from
/// its first bytes (`prefix`, at least the DOS header, the COFF header and the
/// optional header's `SizeOfHeaders`; 4 KiB always suffices for real images):
/// through the section table and through `SizeOfHeaders`, whichever is further.
/// Signatures are not checked here; [`CoffHeader::read`] names a wrong one.
pub fn headers_len(prefix: &[u8]) -> Result<u64, HeaderError> {
    let coff = CoffHeader::at(prefix, nt_offset(prefix)?)?;
    let size_of_headers = usize::try_from(coff.optional_header_offset() + SIZE_OF_HEADERS_OFFSET)
        .ok()
        .and_then(|at| prefix.u32_le(at))
        .ok_or(HeaderError::Truncated {
            what: "optional header",
        })?;
    Ok(coff.section_table_end().max(u64::from(size_of_headers)))
}

/// One entry of the section table, as the file has it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SectionHeader {
    /// `Name`: NUL-padded, or `/` and the offset of a long name in the string table.
    pub name: [u8; 8],
    /// `VirtualSize` as in the file (see [`SectionHeader::size_in_memory`]).
    pub virtual_size: u32,
    /// `VirtualAddress`, relative to the image base.
    pub virtual_address: u32,
    /// `SizeOfRawData`, rounded up to `FileAlignment`.
    pub size_of_raw_data: u32,
    /// `PointerToRawData`: where the section's data starts in the file.
    pub pointer_to_raw_data: u32,
    /// `Characteristics` (`IMAGE_SCN_*` flags).
    pub characteristics: u32,
}

impl SectionHeader {
    /// One 40-byte section table entry.
    fn parse(entry: &[u8]) -> SectionHeader {
        let u32_at = |at| entry.u32_le(at).unwrap_or(0);
        SectionHeader {
            name: entry.array_at(0).unwrap_or_default(),
            virtual_size: u32_at(8),
            virtual_address: u32_at(12),
            size_of_raw_data: u32_at(16),
            pointer_to_raw_data: u32_at(20),
            characteristics: u32_at(36),
        }
    }

    /// The eight-byte name up to its first NUL.
    pub fn raw_name(&self) -> &[u8] {
        let end = self.name.iter().position(|&b| b == 0).unwrap_or(self.name.len());
        &self.name[..end]
    }

    /// The name, with a long name (`/4`, or `//` and base-64 digits) looked up in
    /// `strings`; the raw name when there is no string table or the lookup fails.
    pub fn name<'a>(&'a self, strings: Option<StringTable<'a>>) -> &'a [u8] {
        strings
            .and_then(|strings| strings.get(self.long_name_offset()?))
            .unwrap_or_else(|| self.raw_name())
    }

    /// The string table offset a long name names, if the name is one and
    /// its digits are valid.
    fn long_name_offset(&self) -> Option<u32> {
        let bytes = &self.name;
        if bytes[0] != b'/' {
            return None;
        }
        if bytes[1] == b'/' {
            // `//` and base-64 digits, most significant first.
            const DIGITS: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
            let mut offset: u64 = 0;
            for &byte in &bytes[2..] {
                let digit = DIGITS.iter().position(|&d| d == byte)?;
                offset = offset * 64 + digit as u64;
            }
            u32::try_from(offset).ok()
        } else {
            let mut offset: u32 = 0;
            for &byte in &bytes[1..] {
                match byte {
                    b'0'..=b'9' => offset = offset * 10 + u32::from(byte - b'0'),
                    0 => break,
                    _ => return None,
                }
            }
            Some(offset)
        }
    }

    /// The size in memory: `VirtualSize`, or the raw size where `VirtualSize`
    /// is zero, as old toolchains emitted and EDK2 accepts.
    pub fn size_in_memory(&self) -> u32 {
        match self.virtual_size {
            0 => self.size_of_raw_data,
            size => size,
        }
    }

    /// The meaningful bytes of the section in the file: the raw data cut to the
    /// size in memory, since raw data is padded to `FileAlignment`.
    pub fn loaded_size(&self) -> u32 {
        self.size_of_raw_data.min(self.size_in_memory())
    }
}

/// The COFF string table (PE Format §5.6): long section names, NUL-terminated,
/// at offsets that count from the table's own 4-byte length field.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StringTable<'a> {
    bytes: &'a [u8],
}

impl<'a> StringTable<'a> {
    /// The string table behind `coff`'s symbol table in `file`, if the file has
    /// one wholly inside `file`.
    pub fn read(file: &'a [u8], coff: &CoffHeader) -> Option<StringTable<'a>> {
        if coff.pointer_to_symbol_table == 0 {
            return None;
        }
        let symbols_len = u64::from(coff.number_of_symbols) * SYMBOL_SIZE as u64;
        let start = u64::from(coff.pointer_to_symbol_table) + symbols_len;
        let length = file.u32_le(usize::try_from(start).ok()?)?;
        let bytes = bytes_between(file, start, start + u64::from(length))?;
        Some(StringTable { bytes })
    }

    /// The NUL-terminated string at `offset`.
    pub fn get(&self, offset: u32) -> Option<&'a [u8]> {
        let rest = self.bytes.get(usize::try_from(offset).ok()?..)?;
        let end = rest.iter().position(|&b| b == 0)?;
        Some(&rest[..end])
    }
}

/// A data directory entry (PE Format §3.4.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DataDirectory {
    /// The table's address relative to the image base.
    pub rva: u32,
    /// Its size in bytes.
    pub size: u32,
}

/// The fields of a PE32+ optional header (PE Format §3.4) that loading needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OptionalHeader64 {
    /// `AddressOfEntryPoint`, relative to the image base.
    pub address_of_entry_point: u32,
    /// `ImageBase`: where the image was linked to run.
    pub image_base: u64,
    /// `SectionAlignment`.
    pub section_alignment: u32,
    /// `SizeOfImage`.
    pub size_of_image: u32,
    /// `SizeOfHeaders`.
    pub size_of_headers: u32,
    /// `Subsystem`.
    pub subsystem: u16,
    /// The base relocation directory, where `NumberOfRvaAndSizes` includes it
    /// and its address is not zero.
    pub base_relocations: Option<DataDirectory>,
}

/// The headers of a PE32+ image: COFF header, optional header, section table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Headers {
    /// The COFF file header.
    pub coff: CoffHeader,
    /// The PE32+ optional header.
    pub optional: OptionalHeader64,
    /// The section table, in file order.
    pub sections: Vec<SectionHeader>,
}

impl Headers {
    /// Reads the optional header and section table after `coff` (from
    /// [`CoffHeader::read`] on the same `file`). Checks, in this order: the
    /// PE32+ magic, that the optional header and the section table are in
    /// `file`, and that the optional header holds its fields and data directories.
    pub fn read(file: &[u8], coff: CoffHeader) -> Result<Headers, HeaderError> {
        let optional_at = coff.optional_header_offset();
        let magic = coff.optional_magic(file)?;
        if magic != PE32_PLUS_MAGIC {
            return Err(HeaderError::NotPe32Plus { magic });
        }
        let optional = bytes_between(file, optional_at, coff.section_table_offset()).ok_or(HeaderError::Truncated {
            what: "optional header",
        })?;
        let sections = coff.section_headers(file)?;
        if optional.len() < OPTIONAL_HEADER64_SIZE {
            return Err(HeaderError::OptionalHeaderTooSmall {
                size: coff.size_of_optional_header,
            });
        }
        let field32 = |at| optional.u32_le(at).unwrap_or(0);
        let count = field32(108);
        let directories = &optional[OPTIONAL_HEADER64_SIZE..];
        if u64::from(count) * DATA_DIRECTORY_SIZE as u64 > directories.len() as u64 {
            return Err(HeaderError::TooManyDataDirectories { count });
        }
        let base_relocations = if (BASE_RELOCATION_DIRECTORY as u64) < u64::from(count) {
            let at = BASE_RELOCATION_DIRECTORY * DATA_DIRECTORY_SIZE;
            let rva = directories.u32_le(at).unwrap_or(0);
            let size = directories.u32_le(at + 4).unwrap_or(0);
            (rva != 0).then_some(DataDirectory { rva, size })
        } else {
            None
        };
        Ok(Headers {
            coff,
            optional: OptionalHeader64 {
                address_of_entry_point: field32(16),
                image_base: optional.u64_le(24).unwrap_or(0),
                section_alignment: field32(32),
                size_of_image: field32(56),
                size_of_headers: field32(SIZE_OF_HEADERS_OFFSET as usize),
                subsystem: optional.u16_le(68).unwrap_or(0),
                base_relocations,
            },
            sections,
        })
    }
}
