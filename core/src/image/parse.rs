//! Header checks (PE Format §2 "Overview" through §3 "Section Table"): everything
//! about the file is validated here, once, so that loading only copies bytes. The
//! headers are read by `fw-pe`, the reader the boot manager's UKI lookup shares.
#![forbid(unsafe_code)]

use alloc::string::String;
use alloc::vec::Vec;

use fw_pe::{CoffHeader, DataDirectory, Headers, StringTable};
use log::debug;

use super::{ImageError, Machine, Subsystem};

/// The smallest section alignment accepted: GNU-EFI and systemd's images use 512
/// (one disk sector), most toolchains use the 4 KiB page.
const MIN_SECTION_ALIGNMENT: u32 = 512;

/// One entry of the section table, as it will be placed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Section {
    name: String,
    virtual_address: u32,
    virtual_size: u32,
    raw_offset: u32,
    raw_size: u32,
    characteristics: u32,
}

impl Section {
    /// The name, with long names (`/4`) resolved through the COFF string table where
    /// the file has one (shim's `.sbatlevel`, `.vendor_cert`).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The section's address relative to the image base.
    pub fn virtual_address(&self) -> u32 {
        self.virtual_address
    }

    /// The size in memory. A zero `VirtualSize` in the file means the raw size, as
    /// old toolchains emitted and EDK2 accepts.
    pub fn virtual_size(&self) -> u32 {
        self.virtual_size
    }

    /// `PointerToRawData`.
    pub fn raw_offset(&self) -> u32 {
        self.raw_offset
    }

    /// `SizeOfRawData`, as in the file (rounded up to `FileAlignment`).
    pub fn raw_size(&self) -> u32 {
        self.raw_size
    }

    /// `IMAGE_SCN_*` flags.
    pub fn characteristics(&self) -> u32 {
        self.characteristics
    }

    /// The bytes copied from the file: the raw data cut to the virtual size, since raw
    /// data is padded to `FileAlignment`; anything beyond is zero-filled.
    pub fn loaded_size(&self) -> u32 {
        self.raw_size.min(self.virtual_size)
    }

    fn virtual_end(&self) -> u64 {
        u64::from(self.virtual_address) + u64::from(self.virtual_size)
    }
}

/// The base relocation table's data directory entry (PE Format §6.6).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RelocationDirectory {
    /// The directory's address relative to the image base.
    pub rva: u32,
    /// Its size in bytes.
    pub size: u32,
}

/// A validated PE32+ image: what LoadImage needs to allocate, place and start it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PeImage {
    pub(super) machine: Machine,
    pub(super) subsystem: Subsystem,
    pub(super) image_size: u32,
    pub(super) headers_size: u32,
    pub(super) entry_point: u32,
    pub(super) preferred_base: u64,
    pub(super) section_alignment: u32,
    pub(super) sections: Vec<Section>,
    pub(super) relocations: Option<RelocationDirectory>,
    pub(super) relocations_stripped: bool,
}

impl PeImage {
    /// The machine the image is built for.
    pub fn machine(&self) -> Machine {
        self.machine
    }

    /// What kind of image it is.
    pub fn subsystem(&self) -> Subsystem {
        self.subsystem
    }

    /// `SizeOfImage`: the bytes to allocate.
    pub fn size_of_image(&self) -> u32 {
        self.image_size
    }

    /// `SizeOfHeaders`: the bytes of the file copied to the start of the image.
    pub fn size_of_headers(&self) -> u32 {
        self.headers_size
    }

    /// `AddressOfEntryPoint`, relative to the load address.
    pub fn entry_point(&self) -> u32 {
        self.entry_point
    }

    /// `ImageBase`: where the image was linked to run.
    pub fn preferred_base(&self) -> u64 {
        self.preferred_base
    }

    /// `SectionAlignment`: the alignment the load address should have.
    pub fn section_alignment(&self) -> u32 {
        self.section_alignment
    }

    /// The section table, in file order.
    pub fn sections(&self) -> &[Section] {
        &self.sections
    }

    /// The base relocation directory, if the image has a non-empty one.
    pub fn relocations(&self) -> Option<RelocationDirectory> {
        self.relocations
    }

    /// `IMAGE_FILE_RELOCS_STRIPPED`: the image runs only at its preferred base.
    pub fn relocations_stripped(&self) -> bool {
        self.relocations_stripped
    }

    /// The first section named `name`.
    pub fn section(&self, name: &str) -> Option<&Section> {
        self.sections.iter().find(|s| s.name == name)
    }

    /// A section's initialized bytes in the (parsed) `file`, cut to its virtual size:
    /// the payloads of a unified kernel image (`.linux`, `.initrd`, `.cmdline`, ...).
    pub fn section_data<'f>(&self, file: &'f [u8], name: &str) -> Option<&'f [u8]> {
        let section = self.section(name)?;
        let start = usize::try_from(section.raw_offset).ok()?;
        let len = usize::try_from(section.loaded_size()).ok()?;
        file.get(start..start.checked_add(len)?)
    }
}

/// Validates `file` as a PE32+ EFI image for `machine` and describes it.
pub fn parse(file: &[u8], machine: Machine) -> Result<PeImage, ImageError> {
    parse_headers(file, file.len() as u64, machine)
}

/// How many bytes from the start of a file [`parse_headers`] needs, judged from
/// its first bytes (see [`fw_pe::headers_len`]).
pub fn headers_len(prefix: &[u8]) -> Result<u64, ImageError> {
    Ok(fw_pe::headers_len(prefix)?)
}

/// [`parse`] for a file of `file_len` bytes of which only the first ones are
/// at hand: `file` holds at least [`headers_len`] of them (or the whole file),
/// so that LoadImage can read each section straight into place.
/// Section names come from the COFF string table only when it lies inside
/// `headers`; otherwise the raw eight-byte names are kept (they are only
/// used to find UKI payloads, which [`parse`] on the whole file does).
pub fn parse_headers(file: &[u8], file_len: u64, machine: Machine) -> Result<PeImage, ImageError> {
    // The machine is checked before the optional header, so that a foreign
    // image is named as such instead of failing a later check.
    let coff = CoffHeader::read(file)?;
    if coff.machine != machine.pe_value() {
        return Err(ImageError::UnsupportedMachine {
            found: coff.machine,
            expected: machine,
        });
    }
    let headers = Headers::read(file, coff)?;
    let optional = headers.optional;

    let subsystem =
        Subsystem::from_pe(optional.subsystem).ok_or(ImageError::UnsupportedSubsystem(optional.subsystem))?;

    let section_alignment = optional.section_alignment;
    if !section_alignment.is_power_of_two() || section_alignment < MIN_SECTION_ALIGNMENT {
        return Err(ImageError::BadSectionAlignment {
            alignment: section_alignment,
        });
    }

    let image_size = optional.size_of_image;
    let headers_size = optional.size_of_headers;
    if image_size == 0 || headers_size > image_size {
        return Err(ImageError::BadImageSize {
            size_of_image: image_size,
            size_of_headers: headers_size,
        });
    }
    if u64::from(headers_size) > file_len {
        return Err(ImageError::HeadersPastFileEnd {
            size_of_headers: headers_size,
            file_len,
        });
    }
    if usize::try_from(headers_size).map_or(true, |size| size > file.len()) {
        return Err(ImageError::Truncated { what: "headers" });
    }

    let entry_point = optional.address_of_entry_point;
    if entry_point >= image_size {
        return Err(ImageError::EntryPointOutsideImage {
            rva: entry_point,
            size_of_image: image_size,
        });
    }

    // The string table holds long section names; a file without a valid one (most
    // EFI images) just keeps the raw eight-byte names.
    let strings = StringTable::read(file, &coff);
    let mut sections = Vec::with_capacity(headers.sections.len());
    for header in &headers.sections {
        let section = Section {
            name: String::from_utf8_lossy(header.name(strings)).into_owned(),
            virtual_address: header.virtual_address,
            virtual_size: header.size_in_memory(),
            raw_offset: header.pointer_to_raw_data,
            raw_size: header.size_of_raw_data,
            characteristics: header.characteristics,
        };
        check_section(&section, image_size, file_len)?;
        sections.push(section);
    }
    check_overlaps(&sections)?;

    let relocations = match optional.base_relocations {
        Some(DataDirectory { rva, size }) if size != 0 => {
            if u64::from(rva) + u64::from(size) > u64::from(image_size) {
                return Err(ImageError::RelocationDirectoryOutsideImage {
                    rva,
                    size,
                    size_of_image: image_size,
                });
            }
            Some(RelocationDirectory { rva, size })
        }
        _ => None,
    };
    let relocations_stripped = coff.characteristics & fw_pe::RELOCS_STRIPPED != 0;

    debug!(
        "PE image: {machine}, {subsystem:?}, {image_size:#x} bytes, entry {entry_point:#x}, base {:#x}, {} sections",
        optional.image_base,
        sections.len()
    );
    Ok(PeImage {
        machine,
        subsystem,
        image_size,
        headers_size,
        entry_point,
        preferred_base: optional.image_base,
        section_alignment,
        sections,
        relocations,
        relocations_stripped,
    })
}

/// A section must lie inside the image, and the bytes copied for it inside the file.
fn check_section(section: &Section, image_size: u32, file_len: u64) -> Result<(), ImageError> {
    if section.virtual_end() > u64::from(image_size) {
        return Err(ImageError::SectionOutsideImage {
            name: section.name.clone(),
            virtual_address: section.virtual_address,
            virtual_size: section.virtual_size,
            size_of_image: image_size,
        });
    }
    let loaded = section.loaded_size();
    // Only the bytes actually copied must exist: a file may end inside the padding
    // that rounds the last section's raw data up to FileAlignment.
    if loaded != 0 && u64::from(section.raw_offset) + u64::from(loaded) > file_len {
        return Err(ImageError::SectionPastFileEnd {
            name: section.name.clone(),
            raw_offset: section.raw_offset,
            raw_size: loaded,
            file_len,
        });
    }
    Ok(())
}

/// No two sections may claim the same image bytes (empty sections claim none).
fn check_overlaps(sections: &[Section]) -> Result<(), ImageError> {
    let mut placed: Vec<&Section> = sections.iter().filter(|s| s.virtual_size != 0).collect();
    placed.sort_by_key(|s| s.virtual_address);
    for pair in placed.windows(2) {
        if let [first, second] = pair {
            if first.virtual_end() > u64::from(second.virtual_address) {
                return Err(ImageError::SectionsOverlap {
                    first: first.name.clone(),
                    second: second.name.clone(),
                });
            }
        }
    }
    Ok(())
}
