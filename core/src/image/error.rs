//! Why an image could not be parsed or loaded, and the `EFI_STATUS` LoadImage reports
//! for it (UEFI 2.10 §7.4: `EFI_UNSUPPORTED` for an image type the platform does not
//! support, `EFI_LOAD_ERROR` for an image with a bad format).
#![forbid(unsafe_code)]

use alloc::string::String;
use core::fmt;
use fw_pe::HeaderError;
use r_efi::efi;

use super::Machine;

/// One error for everything the PE/COFF loader rejects, with the offending value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ImageError {
    /// The file ends inside a structure the loader must read.
    Truncated {
        /// The structure (DOS header, section table, ...).
        what: &'static str,
    },
    /// The PE headers could not be read: a wrong signature, not PE32+, an
    /// optional header too small for its fields, or cut short.
    Headers(HeaderError),
    /// The image is for another processor.
    UnsupportedMachine {
        /// The image's `Machine`.
        found: u16,
        /// This firmware's machine.
        expected: Machine,
    },
    /// The subsystem is not an EFI application, boot service driver or runtime driver.
    UnsupportedSubsystem(u16),
    /// `SectionAlignment` is not a power of two of at least 512.
    BadSectionAlignment {
        /// `SectionAlignment`.
        alignment: u32,
    },
    /// `SizeOfImage` is zero or smaller than `SizeOfHeaders`.
    BadImageSize {
        /// `SizeOfImage`.
        size_of_image: u32,
        /// `SizeOfHeaders`.
        size_of_headers: u32,
    },
    /// `SizeOfHeaders` reaches past the end of the file.
    HeadersPastFileEnd {
        /// `SizeOfHeaders`.
        size_of_headers: u32,
        /// The file's length.
        file_len: u64,
    },
    /// `AddressOfEntryPoint` is not inside `SizeOfImage`.
    EntryPointOutsideImage {
        /// `AddressOfEntryPoint`.
        rva: u32,
        /// `SizeOfImage`.
        size_of_image: u32,
    },
    /// A section's virtual range reaches past `SizeOfImage`.
    SectionOutsideImage {
        /// The section's name.
        name: String,
        /// Its `VirtualAddress`.
        virtual_address: u32,
        /// Its `VirtualSize`.
        virtual_size: u32,
        /// The image's `SizeOfImage`.
        size_of_image: u32,
    },
    /// The raw data the loader copies for a section reaches past the end of the file.
    SectionPastFileEnd {
        /// The section's name.
        name: String,
        /// Its `PointerToRawData`.
        raw_offset: u32,
        /// The bytes the loader copies (`SizeOfRawData`, at most `VirtualSize`).
        raw_size: u32,
        /// The file's length.
        file_len: u64,
    },
    /// Two sections share virtual addresses.
    SectionsOverlap {
        /// One section's name.
        first: String,
        /// The other's.
        second: String,
    },
    /// The base relocation data directory reaches past `SizeOfImage`.
    RelocationDirectoryOutsideImage {
        /// The directory's address.
        rva: u32,
        /// Its size.
        size: u32,
        /// `SizeOfImage`.
        size_of_image: u32,
    },
    /// The image must be loaded at its preferred base: its relocations were stripped.
    RelocationsStripped {
        /// `ImageBase`.
        preferred_base: u64,
        /// Where the image was placed instead.
        load_address: u64,
    },
    /// Fewer than 8 bytes of the directory are left for the block header at `rva`.
    RelocationBlockTruncated {
        /// Where in the image the block would start.
        rva: u32,
    },
    /// A block whose `SizeOfBlock` does not reach past its 8-byte header.
    BadRelocationBlock {
        /// Where the block starts.
        rva: u32,
        /// Its `SizeOfBlock`.
        size: u32,
    },
    /// A block whose `SizeOfBlock` runs past the end of the relocation directory.
    RelocationBlockPastDirectory {
        /// Where the block starts.
        rva: u32,
        /// Its `SizeOfBlock`.
        size: u32,
        /// Where the directory ends.
        directory_end: u32,
    },
    /// A fixup whose target bytes are not all inside the image.
    RelocationOutOfRange {
        /// The fixup's target address.
        rva: u64,
    },
    /// A relocation type this loader does not apply.
    UnsupportedRelocation {
        /// The relocation type.
        kind: u16,
        /// The fixup's target address.
        rva: u64,
    },
    /// The caller's buffer is smaller than `SizeOfImage` (a firmware bug, not the image's).
    DestinationTooSmall {
        /// `SizeOfImage`.
        needed: u32,
        /// The buffer's size.
        found: usize,
    },
    /// Reading `len` bytes at `offset` of the image file failed (LoadImage from a file).
    Read {
        /// Where the read started.
        offset: u64,
        /// How many bytes were asked for.
        len: usize,
        /// The status the file's Read returned.
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

impl From<HeaderError> for ImageError {
    fn from(error: HeaderError) -> ImageError {
        ImageError::Headers(error)
    }
}

impl fmt::Display for ImageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ImageError::Truncated { what } => write!(f, "image truncated: the file ends inside the {what}"),
            ImageError::Headers(e) => write!(f, "{e}"),
            ImageError::UnsupportedMachine { found, expected } => {
                write!(f, "image is for machine {found:#06x}, this firmware runs {expected}")
            }
            ImageError::UnsupportedSubsystem(subsystem) => write!(
                f,
                "subsystem {subsystem} is not an EFI application (10), boot service driver (11) or runtime driver (12)"
            ),
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
