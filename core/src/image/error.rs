//! Why an image could not be parsed or loaded, and the `EFI_STATUS` LoadImage reports
//! for it (UEFI 2.10 §7.4: `EFI_UNSUPPORTED` for an image type the platform does not
//! support, `EFI_LOAD_ERROR` for an image with a bad format).
#![forbid(unsafe_code)]

use alloc::string::String;
use core::fmt;
use r_efi::efi;

use super::Machine;

/// One error for everything the PE/COFF loader rejects, with the offending value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ImageError {
    /// The file ends inside a structure the loader must read.
    Truncated { what: &'static str },
    /// The first two bytes are not "MZ".
    BadDosSignature { found: u16 },
    /// The bytes at `e_lfanew` are not "PE\0\0".
    BadPeSignature { offset: u32, found: u32 },
    /// The image is for another processor.
    UnsupportedMachine { found: u16, expected: Machine },
    /// The optional header is not PE32+ (0x20b): a 32-bit PE32 (0x10b) or garbage.
    NotPe32Plus { magic: u16 },
    /// The subsystem is not an EFI application, boot service driver or runtime driver.
    UnsupportedSubsystem(u16),
    /// The `object` crate rejected the NT headers, data directories or section table.
    MalformedHeaders(object::read::Error),
    /// `SectionAlignment` is not a power of two of at least 512.
    BadSectionAlignment { alignment: u32 },
    /// `SizeOfImage` is zero or smaller than `SizeOfHeaders`.
    BadImageSize { size_of_image: u32, size_of_headers: u32 },
    /// `SizeOfHeaders` reaches past the end of the file.
    HeadersPastFileEnd { size_of_headers: u32, file_len: u64 },
    /// `AddressOfEntryPoint` is not inside `SizeOfImage`.
    EntryPointOutsideImage { rva: u32, size_of_image: u32 },
    /// A section's virtual range reaches past `SizeOfImage`.
    SectionOutsideImage {
        name: String,
        virtual_address: u32,
        virtual_size: u32,
        size_of_image: u32,
    },
    /// The raw data the loader copies for a section reaches past the end of the file.
    SectionPastFileEnd {
        name: String,
        raw_offset: u32,
        raw_size: u32,
        file_len: u64,
    },
    /// Two sections share virtual addresses.
    SectionsOverlap { first: String, second: String },
    /// The base relocation data directory reaches past `SizeOfImage`.
    RelocationDirectoryOutsideImage { rva: u32, size: u32, size_of_image: u32 },
    /// The image must be loaded at its preferred base: its relocations were stripped.
    RelocationsStripped { preferred_base: u64, load_address: u64 },
    /// Fewer than 8 bytes of the directory are left for the block header at `rva`.
    RelocationBlockTruncated { rva: u32 },
    /// A block whose `SizeOfBlock` does not reach past its 8-byte header.
    BadRelocationBlock { rva: u32, size: u32 },
    /// A block whose `SizeOfBlock` runs past the end of the relocation directory.
    RelocationBlockPastDirectory { rva: u32, size: u32, directory_end: u32 },
    /// A fixup whose target bytes are not all inside the image.
    RelocationOutOfRange { rva: u64 },
    /// A relocation type this loader does not apply.
    UnsupportedRelocation { kind: u16, rva: u64 },
    /// The caller's buffer is smaller than `SizeOfImage` (a firmware bug, not the image's).
    DestinationTooSmall { needed: u32, found: usize },
    /// Reading `len` bytes at `offset` of the image file failed (LoadImage from a file).
    Read {
        offset: u64,
        len: usize,
        status: efi::Status,
    },
}

impl ImageError {
    /// The status `EFI_BOOT_SERVICES.LoadImage()` returns for this error.
    pub fn status(&self) -> efi::Status {
        match self {
            ImageError::UnsupportedMachine { .. } | ImageError::UnsupportedSubsystem(_) => efi::Status::UNSUPPORTED,
            ImageError::DestinationTooSmall { .. } => efi::Status::INVALID_PARAMETER,
            // §7.4: "the device returned a read error".
            ImageError::Read { .. } => efi::Status::DEVICE_ERROR,
            _ => efi::Status::LOAD_ERROR,
        }
    }
}

impl fmt::Display for ImageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ImageError::Truncated { what } => write!(f, "image truncated: the file ends inside the {what}"),
            ImageError::BadDosSignature { found } => {
                write!(f, "not a PE image: DOS signature {found:#06x}, expected \"MZ\"")
            }
            ImageError::BadPeSignature { offset, found } => {
                write!(f, "not a PE image: signature {found:#010x} at {offset:#x}, expected \"PE\\0\\0\"")
            }
            ImageError::UnsupportedMachine { found, expected } => {
                write!(f, "image is for machine {found:#06x}, this firmware runs {expected}")
            }
            ImageError::NotPe32Plus { magic } => {
                write!(f, "optional header magic {magic:#x} is not PE32+ (0x20b)")
            }
            ImageError::UnsupportedSubsystem(subsystem) => write!(
                f,
                "subsystem {subsystem} is not an EFI application (10), boot service driver (11) or runtime driver (12)"
            ),
            ImageError::MalformedHeaders(e) => write!(f, "malformed PE headers: {e}"),
            ImageError::BadSectionAlignment { alignment } => {
                write!(f, "section alignment {alignment:#x} is not a power of two of at least 512")
            }
            ImageError::BadImageSize { size_of_image, size_of_headers } => write!(
                f,
                "SizeOfImage {size_of_image:#x} cannot hold SizeOfHeaders {size_of_headers:#x}"
            ),
            ImageError::HeadersPastFileEnd { size_of_headers, file_len } => write!(
                f,
                "SizeOfHeaders {size_of_headers:#x} is past the end of the {file_len:#x}-byte file"
            ),
            ImageError::EntryPointOutsideImage { rva, size_of_image } => write!(
                f,
                "entry point {rva:#x} is outside the image (SizeOfImage {size_of_image:#x})"
            ),
            ImageError::SectionOutsideImage { name, virtual_address, virtual_size, size_of_image } => write!(
                f,
                "section {name:?} at {virtual_address:#x}+{virtual_size:#x} is outside the image (SizeOfImage {size_of_image:#x})"
            ),
            ImageError::SectionPastFileEnd { name, raw_offset, raw_size, file_len } => write!(
                f,
                "section {name:?} data at file offset {raw_offset:#x}+{raw_size:#x} is past the end of the {file_len:#x}-byte file"
            ),
            ImageError::SectionsOverlap { first, second } => {
                write!(f, "sections {first:?} and {second:?} overlap")
            }
            ImageError::RelocationDirectoryOutsideImage { rva, size, size_of_image } => write!(
                f,
                "base relocation directory {rva:#x}+{size:#x} is outside the image (SizeOfImage {size_of_image:#x})"
            ),
            ImageError::RelocationsStripped { preferred_base, load_address } => write!(
                f,
                "image has no relocations and must load at {preferred_base:#x}, not {load_address:#x}"
            ),
            ImageError::RelocationBlockTruncated { rva } => {
                write!(f, "base relocation block at {rva:#x}: directory ends inside its header")
            }
            ImageError::BadRelocationBlock { rva, size } => {
                write!(f, "base relocation block at {rva:#x} has bad size {size:#x}")
            }
            ImageError::RelocationBlockPastDirectory { rva, size, directory_end } => write!(
                f,
                "base relocation block at {rva:#x} of size {size:#x} runs past the directory end {directory_end:#x}"
            ),
            ImageError::RelocationOutOfRange { rva } => {
                write!(f, "base relocation fixup at {rva:#x} is outside the image")
            }
            ImageError::UnsupportedRelocation { kind, rva } => {
                write!(f, "base relocation type {kind} at {rva:#x} is not supported")
            }
            ImageError::DestinationTooSmall { needed, found } => write!(
                f,
                "load buffer of {found:#x} bytes is smaller than SizeOfImage {needed:#x}"
            ),
            ImageError::Read { offset, len, status } => write!(
                f,
                "reading {len:#x} bytes at file offset {offset:#x} failed: status {:#x}",
                status.as_usize()
            ),
        }
    }
}
