//! Host tests on PE files built byte by byte: every check of `parse`, and loading with
//! zero fill and base relocations at a base other than the preferred one.

use alloc::vec;
use alloc::vec::Vec;
use std::string::ToString;

use fw_pe::HeaderError;
use object::pe;
use r_efi::efi;

use super::*;

const IMAGE_BASE: u64 = 0x1_4000_0000;
const LOAD_ADDRESS: u64 = 0x7f12_0000;
const HEADERS_SIZE: u32 = 0x200;
const FILE_ALIGNMENT: u32 = 0x200;
/// Where the builder puts the NT headers (`e_lfanew`).
const NT_OFFSET: usize = 0x40;
const OPTIONAL_HEADER_SIZE: usize = 112 + 16 * 8;

struct SectionSpec {
    name: &'static [u8],
    virtual_address: u32,
    virtual_size: u32,
    data: Vec<u8>,
    /// Overrides of where the builder places the raw data.
    raw_offset: Option<u32>,
    raw_size: Option<u32>,
    characteristics: u32,
}

fn section(name: &'static [u8], virtual_address: u32, virtual_size: u32, data: Vec<u8>) -> SectionSpec {
    SectionSpec {
        name,
        virtual_address,
        virtual_size,
        data,
        raw_offset: None,
        raw_size: None,
        characteristics: pe::IMAGE_SCN_CNT_INITIALIZED_DATA.0 | pe::IMAGE_SCN_MEM_READ.0,
    }
}

/// Writes a PE32+ file: DOS header, NT headers, section table, then each section's
/// raw data padded to the file alignment.
struct PeBuilder {
    machine: u16,
    magic: u16,
    subsystem: u16,
    characteristics: u16,
    section_alignment: u32,
    size_of_image: u32,
    size_of_headers: u32,
    entry_point: u32,
    image_base: u64,
    relocation_directory: Option<(u32, u32)>,
    sections: Vec<SectionSpec>,
}

impl PeBuilder {
    fn new() -> Self {
        PeBuilder {
            machine: pe::IMAGE_FILE_MACHINE_AMD64.0,
            magic: pe::IMAGE_NT_OPTIONAL_HDR64_MAGIC,
            subsystem: pe::IMAGE_SUBSYSTEM_EFI_APPLICATION.0,
            characteristics: pe::IMAGE_FILE_EXECUTABLE_IMAGE.0 | pe::IMAGE_FILE_LARGE_ADDRESS_AWARE.0,
            section_alignment: 0x1000,
            size_of_image: 0x5000,
            size_of_headers: HEADERS_SIZE,
            entry_point: 0x1000,
            image_base: IMAGE_BASE,
            relocation_directory: None,
            sections: Vec::new(),
        }
    }

    fn build(&self) -> Vec<u8> {
        let mut file = vec![0u8; HEADERS_SIZE as usize];
        put16(&mut file, 0, pe::IMAGE_DOS_SIGNATURE);
        put32(&mut file, 0x3c, NT_OFFSET as u32);

        let nt = NT_OFFSET;
        put32(&mut file, nt, pe::IMAGE_NT_SIGNATURE);
        let coff = nt + 4;
        put16(&mut file, coff, self.machine);
        put16(&mut file, coff + 2, self.sections.len() as u16);
        put16(&mut file, coff + 16, OPTIONAL_HEADER_SIZE as u16);
        put16(&mut file, coff + 18, self.characteristics);

        let opt = coff + 20;
        put16(&mut file, opt, self.magic);
        put32(&mut file, opt + 16, self.entry_point);
        put64(&mut file, opt + 24, self.image_base);
        put32(&mut file, opt + 32, self.section_alignment);
        put32(&mut file, opt + 36, FILE_ALIGNMENT);
        put32(&mut file, opt + 56, self.size_of_image);
        put32(&mut file, opt + 60, self.size_of_headers);
        put16(&mut file, opt + 68, self.subsystem);
        put32(&mut file, opt + 108, 16);
        if let Some((rva, size)) = self.relocation_directory {
            let entry = opt + 112 + pe::IMAGE_DIRECTORY_ENTRY_BASERELOC * 8;
            put32(&mut file, entry, rva);
            put32(&mut file, entry + 4, size);
        }

        let table = opt + OPTIONAL_HEADER_SIZE;
        let mut next_raw = HEADERS_SIZE;
        for (index, spec) in self.sections.iter().enumerate() {
            let raw_size = spec.data.len().next_multiple_of(FILE_ALIGNMENT as usize) as u32;
            let raw_offset = if raw_size == 0 { 0 } else { next_raw };
            next_raw += raw_size;
            let header = table + index * 40;
            file[header..header + spec.name.len()].copy_from_slice(spec.name);
            put32(&mut file, header + 8, spec.virtual_size);
            put32(&mut file, header + 12, spec.virtual_address);
            put32(&mut file, header + 16, spec.raw_size.unwrap_or(raw_size));
            put32(&mut file, header + 20, spec.raw_offset.unwrap_or(raw_offset));
            put32(&mut file, header + 36, spec.characteristics);
            if raw_size != 0 {
                file.resize((raw_offset + raw_size) as usize, 0);
                file[raw_offset as usize..][..spec.data.len()].copy_from_slice(&spec.data);
            }
        }
        file
    }
}

fn put16(buf: &mut [u8], at: usize, value: u16) {
    buf[at..at + 2].copy_from_slice(&value.to_le_bytes());
}

fn put32(buf: &mut [u8], at: usize, value: u32) {
    buf[at..at + 4].copy_from_slice(&value.to_le_bytes());
}

fn put64(buf: &mut [u8], at: usize, value: u64) {
    buf[at..at + 8].copy_from_slice(&value.to_le_bytes());
}

fn get32(buf: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(buf[at..at + 4].try_into().unwrap())
}

fn get64(buf: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(buf[at..at + 8].try_into().unwrap())
}

/// A base relocation block: page RVA, block size, entries `(type, offset)`.
fn reloc_block(page_rva: u32, entries: &[(u16, u16)]) -> Vec<u8> {
    let mut block = Vec::new();
    block.extend_from_slice(&page_rva.to_le_bytes());
    block.extend_from_slice(&(8 + 2 * entries.len() as u32).to_le_bytes());
    for &(kind, offset) in entries {
        block.extend_from_slice(&((kind << 12) | offset).to_le_bytes());
    }
    block
}

/// `.text` at 0x1000 holding a 64-bit pointer (0x10) and a 32-bit one (0x20) to
/// `.data`; `.data` at 0x2000 with 0x200 bytes on file and 0x2000 in memory; `.reloc`
/// at 0x4000 with one DIR64, one HIGHLOW and an ABSOLUTE pad.
fn relocatable_image() -> PeBuilder {
    let mut text = vec![0xccu8; 0x100];
    put64(&mut text, 0x10, IMAGE_BASE + 0x2000);
    put32(&mut text, 0x20, (IMAGE_BASE + 0x2008) as u32);
    let mut code = section(b".text", 0x1000, 0x100, text);
    code.characteristics = pe::IMAGE_SCN_CNT_CODE.0 | pe::IMAGE_SCN_MEM_EXECUTE.0 | pe::IMAGE_SCN_MEM_READ.0;
    let relocs = reloc_block(
        0x1000,
        &[
            (pe::IMAGE_REL_BASED_DIR64.0, 0x10),
            (pe::IMAGE_REL_BASED_HIGHLOW.0, 0x20),
            (pe::IMAGE_REL_BASED_ABSOLUTE.0, 0),
        ],
    );
    let relocs_len = relocs.len() as u32;
    let mut image = PeBuilder::new();
    image.sections = vec![
        code,
        section(b".data", 0x2000, 0x2000, vec![0xaa; 0x200]),
        section(b".reloc", 0x4000, relocs_len, relocs),
    ];
    image.relocation_directory = Some((0x4000, relocs_len));
    image
}

/// The image with its `.reloc` section's contents replaced by `relocs`.
fn image_with_relocs(relocs: Vec<u8>) -> Vec<u8> {
    let mut image = relocatable_image();
    let len = relocs.len() as u32;
    image.sections[2] = section(b".reloc", 0x4000, len, relocs);
    image.relocation_directory = Some((0x4000, len));
    image.build()
}

fn parse_x86(file: &[u8]) -> Result<PeImage, ImageError> {
    parse(file, Machine::X86_64)
}

fn load_at(file: &[u8], address: u64) -> Result<Vec<u8>, ImageError> {
    let image = parse_x86(file)?;
    let mut dest = vec![0x55u8; image.size_of_image() as usize];
    image.load(file, &mut dest, address)?;
    Ok(dest)
}

#[test]
fn parse_describes_headers_sections_and_relocations() {
    let image = parse_x86(&relocatable_image().build()).unwrap();
    assert_eq!(image.machine(), Machine::X86_64);
    assert_eq!(image.subsystem(), Subsystem::EfiApplication);
    assert_eq!(image.size_of_image(), 0x5000);
    assert_eq!(image.size_of_headers(), HEADERS_SIZE);
    assert_eq!(image.entry_point(), 0x1000);
    assert_eq!(image.preferred_base(), IMAGE_BASE);
    assert_eq!(image.section_alignment(), 0x1000);
    assert_eq!(image.relocations(), Some(RelocationDirectory { rva: 0x4000, size: 14 }));
    assert!(!image.relocations_stripped());
    let names: Vec<&str> = image.sections().iter().map(Section::name).collect();
    assert_eq!(names, [".text", ".data", ".reloc"]);
    let data = image.section(".data").unwrap();
    assert_eq!(
        (
            data.virtual_address(),
            data.virtual_size(),
            data.raw_offset(),
            data.raw_size()
        ),
        (0x2000, 0x2000, 0x400, 0x200)
    );
    assert_eq!(
        image.section(".text").unwrap().characteristics(),
        pe::IMAGE_SCN_CNT_CODE.0 | pe::IMAGE_SCN_MEM_EXECUTE.0 | pe::IMAGE_SCN_MEM_READ.0
    );
}

#[test]
fn load_at_another_base_applies_dir64_and_highlow_fixups() {
    let file = relocatable_image().build();
    let image = load_at(&file, LOAD_ADDRESS).unwrap();
    assert_eq!(get64(&image, 0x1010), LOAD_ADDRESS + 0x2000);
    assert_eq!(get32(&image, 0x1020), (LOAD_ADDRESS + 0x2008) as u32);
    // Bytes around the fixups are untouched.
    assert_eq!(image[0x100f], 0xcc);
    assert_eq!(image[0x1018], 0xcc);
    assert_eq!(image[0x1024], 0xcc);
}

#[test]
fn load_at_preferred_base_leaves_pointers_unchanged() {
    let file = relocatable_image().build();
    let image = load_at(&file, IMAGE_BASE).unwrap();
    assert_eq!(get64(&image, 0x1010), IMAGE_BASE + 0x2000);
    assert_eq!(get32(&image, 0x1020), (IMAGE_BASE + 0x2008) as u32);
}

#[test]
fn load_below_preferred_base_subtracts_with_wraparound() {
    let file = relocatable_image().build();
    let image = load_at(&file, 0x20_0000).unwrap();
    assert_eq!(get64(&image, 0x1010), 0x20_2000);
    assert_eq!(get32(&image, 0x1020), 0x20_2008);
}

#[test]
fn load_copies_headers_and_zero_fills_beyond_raw_data() {
    let file = relocatable_image().build();
    let image = load_at(&file, LOAD_ADDRESS).unwrap();
    assert_eq!(image[..HEADERS_SIZE as usize], file[..HEADERS_SIZE as usize]);
    // Between the headers and .text, after .text's 0x100 bytes, and .data past its
    // 0x200 raw bytes: all zero, though the buffer started as 0x55.
    assert!(image[HEADERS_SIZE as usize..0x1000].iter().all(|&b| b == 0));
    assert!(image[0x1100..0x2000].iter().all(|&b| b == 0));
    assert!(image[0x2000..0x2200].iter().all(|&b| b == 0xaa));
    assert!(image[0x2200..0x4000].iter().all(|&b| b == 0));
    assert!(image[0x4000 + 14..].iter().all(|&b| b == 0));
}

#[test]
fn load_zeroes_a_destination_longer_than_the_image() {
    let file = relocatable_image().build();
    let image = parse_x86(&file).unwrap();
    let mut dest = vec![0x55u8; 0x6000];
    image.load(&file, &mut dest, LOAD_ADDRESS).unwrap();
    assert!(dest[0x5000..].iter().all(|&b| b == 0));
}

#[test]
fn raw_data_longer_than_virtual_size_is_truncated() {
    let mut builder = relocatable_image();
    builder.sections[1] = section(b".data", 0x2000, 0x10, vec![0xaa; 0x200]);
    let image = load_at(&builder.build(), LOAD_ADDRESS).unwrap();
    assert!(image[0x2000..0x2010].iter().all(|&b| b == 0xaa));
    assert!(image[0x2010..0x4000].iter().all(|&b| b == 0));
}

#[test]
fn zero_virtual_size_means_raw_size() {
    let mut builder = relocatable_image();
    builder.sections[1] = section(b".data", 0x2000, 0, vec![0xaa; 0x200]);
    let file = builder.build();
    assert_eq!(
        parse_x86(&file).unwrap().section(".data").unwrap().virtual_size(),
        0x200
    );
    let image = load_at(&file, LOAD_ADDRESS).unwrap();
    assert!(image[0x2000..0x2200].iter().all(|&b| b == 0xaa));
}

#[test]
fn section_without_raw_data_is_all_zero() {
    let mut builder = relocatable_image();
    let mut bss = section(b".bss", 0x2000, 0x1800, Vec::new());
    bss.characteristics = pe::IMAGE_SCN_CNT_UNINITIALIZED_DATA.0 | pe::IMAGE_SCN_MEM_READ.0 | pe::IMAGE_SCN_MEM_WRITE.0;
    builder.sections[1] = bss;
    let image = load_at(&builder.build(), LOAD_ADDRESS).unwrap();
    assert!(image[0x2000..0x3800].iter().all(|&b| b == 0));
}

#[test]
fn image_without_relocations_loads_anywhere_unless_stripped() {
    let mut builder = relocatable_image();
    builder.relocation_directory = None;
    let image = load_at(&builder.build(), LOAD_ADDRESS).unwrap();
    // Nothing to fix up: the pointers keep their link-time values.
    assert_eq!(get64(&image, 0x1010), IMAGE_BASE + 0x2000);

    builder.characteristics |= pe::IMAGE_FILE_RELOCS_STRIPPED.0;
    let file = builder.build();
    assert!(parse_x86(&file).unwrap().relocations_stripped());
    assert_eq!(
        load_at(&file, LOAD_ADDRESS),
        Err(ImageError::RelocationsStripped {
            preferred_base: IMAGE_BASE,
            load_address: LOAD_ADDRESS
        })
    );
    assert!(load_at(&file, IMAGE_BASE).is_ok());
}

#[test]
fn section_data_returns_uki_payloads_cut_to_virtual_size() {
    let mut builder = relocatable_image();
    builder.size_of_image = 0x7000;
    builder
        .sections
        .push(section(b".cmdline", 0x5000, 12, b"console=ttyS0".to_vec()));
    builder
        .sections
        .push(section(b".osrel", 0x6000, 7, b"ID=test\n".to_vec()));
    let file = builder.build();
    let image = parse_x86(&file).unwrap();
    assert_eq!(image.section_data(&file, ".cmdline"), Some(&b"console=ttyS"[..]));
    assert_eq!(image.section_data(&file, ".osrel"), Some(&b"ID=test"[..]));
    assert_eq!(image.section_data(&file, ".linux"), None);
    assert!(UKI_SECTIONS.contains(&".cmdline"));
}

#[test]
fn accepts_each_efi_subsystem_with_its_memory_types() {
    for (value, subsystem, code, data) in [
        (
            10,
            Subsystem::EfiApplication,
            MemoryType::LoaderCode,
            MemoryType::LoaderData,
        ),
        (
            11,
            Subsystem::EfiBootServiceDriver,
            MemoryType::BootServicesCode,
            MemoryType::BootServicesData,
        ),
        (
            12,
            Subsystem::EfiRuntimeDriver,
            MemoryType::RuntimeServicesCode,
            MemoryType::RuntimeServicesData,
        ),
    ] {
        let mut builder = relocatable_image();
        builder.subsystem = value;
        let image = parse_x86(&builder.build()).unwrap();
        assert_eq!(image.subsystem(), subsystem);
        assert_eq!((subsystem.code_type(), subsystem.data_type()), (code, data));
        assert_eq!(subsystem.pe_value(), value);
    }
}

#[test]
fn rejects_non_efi_subsystem_as_unsupported() {
    for value in [pe::IMAGE_SUBSYSTEM_WINDOWS_CUI.0, pe::IMAGE_SUBSYSTEM_EFI_ROM.0, 0] {
        let mut builder = relocatable_image();
        builder.subsystem = value;
        let error = parse_x86(&builder.build()).unwrap_err();
        assert_eq!(error, ImageError::UnsupportedSubsystem(value));
        assert_eq!(error.status(), efi::Status::UNSUPPORTED);
        assert!(error.to_string().contains(&value.to_string()));
    }
}

#[test]
fn accepts_the_machine_the_caller_names() {
    for machine in [Machine::X86_64, Machine::Aarch64, Machine::Riscv64] {
        let mut builder = relocatable_image();
        builder.machine = machine.pe_value();
        assert_eq!(parse(&builder.build(), machine).unwrap().machine(), machine);
        assert_eq!(Machine::from_pe(machine.pe_value()), Some(machine));
    }
}

#[test]
fn rejects_other_machine_as_unsupported() {
    let mut builder = relocatable_image();
    builder.machine = pe::IMAGE_FILE_MACHINE_ARM64.0;
    let error = parse_x86(&builder.build()).unwrap_err();
    assert_eq!(
        error,
        ImageError::UnsupportedMachine {
            found: 0xaa64,
            expected: Machine::X86_64
        }
    );
    assert_eq!(error.status(), efi::Status::UNSUPPORTED);
    assert_eq!(
        error.to_string(),
        "image is for machine 0xaa64, this firmware runs x86_64 (0x8664)"
    );

    builder.machine = pe::IMAGE_FILE_MACHINE_I386.0;
    assert!(matches!(
        parse_x86(&builder.build()),
        Err(ImageError::UnsupportedMachine { found: 0x14c, .. })
    ));
}

#[test]
fn rejects_pe32_optional_header() {
    let mut builder = relocatable_image();
    builder.magic = pe::IMAGE_NT_OPTIONAL_HDR32_MAGIC;
    let error = parse_x86(&builder.build()).unwrap_err();
    assert_eq!(error, ImageError::Headers(HeaderError::NotPe32Plus { magic: 0x10b }));
    assert_eq!(error.status(), efi::Status::LOAD_ERROR);
}

#[test]
fn rejects_missing_dos_signature() {
    let mut file = relocatable_image().build();
    file[0] = b'Z';
    assert_eq!(
        parse_x86(&file),
        Err(ImageError::Headers(HeaderError::BadDosSignature { found: 0x5a5a }))
    );
}

#[test]
fn rejects_missing_pe_signature() {
    let mut file = relocatable_image().build();
    file[NT_OFFSET + 1] = b'X';
    assert!(matches!(
        parse_x86(&file),
        Err(ImageError::Headers(HeaderError::BadPeSignature { offset: 0x40, .. }))
    ));
}

#[test]
fn rejects_truncated_files_without_panicking() {
    let file = relocatable_image().build();
    assert_eq!(
        parse_x86(&file[..10]),
        Err(ImageError::Headers(HeaderError::Truncated { what: "DOS header" }))
    );
    assert_eq!(
        parse_x86(&file[..NT_OFFSET + 2]),
        Err(ImageError::Headers(HeaderError::Truncated { what: "PE signature" }))
    );
    assert_eq!(
        parse_x86(&file[..NT_OFFSET + 10]),
        Err(ImageError::Headers(HeaderError::Truncated {
            what: "COFF file header"
        }))
    );
    assert_eq!(
        parse_x86(&file[..NT_OFFSET + 24]),
        Err(ImageError::Headers(HeaderError::Truncated {
            what: "optional header"
        }))
    );
    // Cut inside the optional header: named as such, not as the parser's
    // generic complaint.
    assert_eq!(
        parse_x86(&file[..NT_OFFSET + 100]),
        Err(ImageError::Headers(HeaderError::Truncated {
            what: "optional header"
        }))
    );
    // Cut at every length up to the end of the last section's used bytes (the rest is
    // FileAlignment padding, not needed).
    for len in 0..file.len() - 0x200 + 14 {
        let error = parse_x86(&file[..len]).unwrap_err();
        assert_eq!(error.status(), efi::Status::LOAD_ERROR, "{len}: {error}");
    }
    let mut far = file.clone();
    put32(&mut far, 0x3c, 0xffff_fff0);
    assert_eq!(
        parse_x86(&far),
        Err(ImageError::Headers(HeaderError::Truncated { what: "PE signature" }))
    );
}

#[test]
fn rejects_bad_section_alignment() {
    for alignment in [0, 0x100, 0x300, 0x1800] {
        let mut builder = relocatable_image();
        builder.section_alignment = alignment;
        assert_eq!(
            parse_x86(&builder.build()),
            Err(ImageError::BadSectionAlignment { alignment })
        );
    }
    let mut builder = relocatable_image();
    builder.section_alignment = 0x200;
    assert!(parse_x86(&builder.build()).is_ok());
}

#[test]
fn rejects_image_size_smaller_than_headers() {
    let mut builder = relocatable_image();
    builder.size_of_image = 0x100;
    builder.entry_point = 0;
    builder.sections.clear();
    builder.relocation_directory = None;
    assert_eq!(
        parse_x86(&builder.build()),
        Err(ImageError::BadImageSize {
            size_of_image: 0x100,
            size_of_headers: HEADERS_SIZE
        })
    );
    builder.size_of_image = 0;
    assert!(matches!(
        parse_x86(&builder.build()),
        Err(ImageError::BadImageSize { .. })
    ));
}

#[test]
fn rejects_headers_past_file_end() {
    let mut builder = PeBuilder::new();
    builder.size_of_headers = 0x400;
    let file = builder.build();
    assert_eq!(
        parse_x86(&file),
        Err(ImageError::HeadersPastFileEnd {
            size_of_headers: 0x400,
            file_len: file.len() as u64
        })
    );
}

#[test]
fn rejects_entry_point_outside_image() {
    let mut builder = relocatable_image();
    builder.entry_point = 0x5000;
    assert_eq!(
        parse_x86(&builder.build()),
        Err(ImageError::EntryPointOutsideImage {
            rva: 0x5000,
            size_of_image: 0x5000
        })
    );
}

#[test]
fn rejects_section_outside_image() {
    let mut builder = relocatable_image();
    builder.sections[1].virtual_size = 0x3001;
    builder.sections.pop();
    builder.relocation_directory = None;
    assert_eq!(
        parse_x86(&builder.build()),
        Err(ImageError::SectionOutsideImage {
            name: ".data".into(),
            virtual_address: 0x2000,
            virtual_size: 0x3001,
            size_of_image: 0x5000,
        })
    );
    // Wrapping past 4 GiB is outside too.
    let mut builder = relocatable_image();
    builder.sections[1].virtual_address = 0xffff_f000;
    assert!(matches!(
        parse_x86(&builder.build()),
        Err(ImageError::SectionOutsideImage { .. })
    ));
}

#[test]
fn rejects_section_data_past_file_end() {
    let mut builder = relocatable_image();
    builder.sections[1].raw_offset = Some(0x10_0000);
    let error = parse_x86(&builder.build()).unwrap_err();
    assert!(
        matches!(&error, ImageError::SectionPastFileEnd { name, raw_offset: 0x10_0000, raw_size: 0x200, .. } if name == ".data"),
        "{error:?}"
    );
    assert_eq!(error.status(), efi::Status::LOAD_ERROR);

    let mut builder = relocatable_image();
    builder.sections[1].raw_size = Some(0xffff_fe00);
    builder.sections[1].virtual_size = 0x3000;
    assert!(matches!(
        parse_x86(&builder.build()),
        Err(ImageError::SectionPastFileEnd { .. })
    ));
}

#[test]
fn accepts_a_file_ending_inside_unused_raw_padding() {
    // The last section's SizeOfRawData is rounded to 0x200, but only VirtualSize bytes
    // are copied: a file cut after them still loads.
    let builder = relocatable_image();
    let mut file = builder.build();
    file.truncate(file.len() - 0x200 + 14);
    assert!(load_at(&file, LOAD_ADDRESS).is_ok());
}

#[test]
fn rejects_overlapping_sections() {
    let mut builder = relocatable_image();
    builder.sections[0].virtual_size = 0x1001;
    assert_eq!(
        parse_x86(&builder.build()),
        Err(ImageError::SectionsOverlap {
            first: ".text".into(),
            second: ".data".into()
        })
    );
    // Table order does not matter.
    let mut builder = relocatable_image();
    builder.sections.swap(0, 1);
    builder.sections[1].virtual_address = 0x2800;
    assert!(matches!(
        parse_x86(&builder.build()),
        Err(ImageError::SectionsOverlap { .. })
    ));
}

#[test]
fn rejects_relocation_directory_outside_image() {
    let mut builder = relocatable_image();
    builder.relocation_directory = Some((0x4ff0, 0x20));
    assert_eq!(
        parse_x86(&builder.build()),
        Err(ImageError::RelocationDirectoryOutsideImage {
            rva: 0x4ff0,
            size: 0x20,
            size_of_image: 0x5000
        })
    );
}

#[test]
fn rejects_relocation_block_smaller_than_its_header() {
    let mut relocs = reloc_block(0x1000, &[(pe::IMAGE_REL_BASED_DIR64.0, 0x10)]);
    put32(&mut relocs, 4, 4);
    assert_eq!(
        load_at(&image_with_relocs(relocs), LOAD_ADDRESS),
        Err(ImageError::BadRelocationBlock { rva: 0x4000, size: 4 })
    );
}

#[test]
fn rejects_relocation_block_without_entries() {
    // Block size 8 never gets past the header: EDK2 would loop or fail here too.
    let mut relocs = reloc_block(0x1000, &[(pe::IMAGE_REL_BASED_DIR64.0, 0x10)]);
    relocs.extend(reloc_block(0x1000, &[(pe::IMAGE_REL_BASED_ABSOLUTE.0, 0)]));
    put32(&mut relocs, 10 + 4, 8);
    assert_eq!(
        load_at(&image_with_relocs(relocs), LOAD_ADDRESS),
        Err(ImageError::BadRelocationBlock { rva: 0x400a, size: 8 })
    );
}

#[test]
fn rejects_relocation_block_running_past_directory() {
    let mut relocs = reloc_block(0x1000, &[(pe::IMAGE_REL_BASED_DIR64.0, 0x10)]);
    put32(&mut relocs, 4, 12);
    let error = load_at(&image_with_relocs(relocs), LOAD_ADDRESS).unwrap_err();
    assert_eq!(
        error,
        ImageError::RelocationBlockPastDirectory {
            rva: 0x4000,
            size: 12,
            directory_end: 0x400a
        }
    );
    assert!(error.to_string().contains("0x4000"));
}

#[test]
fn rejects_directory_ending_inside_a_block_header() {
    let mut relocs = reloc_block(0x1000, &[(pe::IMAGE_REL_BASED_DIR64.0, 0x10)]);
    relocs.extend_from_slice(&[0, 0x10, 0, 0]);
    assert_eq!(
        load_at(&image_with_relocs(relocs), LOAD_ADDRESS),
        Err(ImageError::RelocationBlockTruncated { rva: 0x400a })
    );
}

#[test]
fn rejects_fixup_outside_image() {
    // A DIR64 whose last 4 bytes are past SizeOfImage (0x5000).
    let relocs = reloc_block(0x4000, &[(pe::IMAGE_REL_BASED_DIR64.0, 0xffc)]);
    let error = load_at(&image_with_relocs(relocs), LOAD_ADDRESS).unwrap_err();
    assert_eq!(error, ImageError::RelocationOutOfRange { rva: 0x4ffc });
    assert_eq!(error.status(), efi::Status::LOAD_ERROR);
    assert_eq!(
        error.to_string(),
        "base relocation fixup at 0x4ffc is outside the image"
    );

    let relocs = reloc_block(0xffff_f000, &[(pe::IMAGE_REL_BASED_HIGHLOW.0, 0xfff)]);
    assert_eq!(
        load_at(&image_with_relocs(relocs), LOAD_ADDRESS),
        Err(ImageError::RelocationOutOfRange { rva: 0xffff_ffff })
    );
}

#[test]
fn absolute_entries_are_padding_even_outside_the_image() {
    let relocs = reloc_block(0xffff_f000, &[(pe::IMAGE_REL_BASED_ABSOLUTE.0, 0xfff)]);
    assert!(load_at(&image_with_relocs(relocs), LOAD_ADDRESS).is_ok());
}

#[test]
fn rejects_unknown_relocation_type_naming_it() {
    let relocs = reloc_block(0x1000, &[(pe::IMAGE_REL_BASED_HIGHADJ.0, 0x10)]);
    let error = load_at(&image_with_relocs(relocs), LOAD_ADDRESS).unwrap_err();
    assert_eq!(error, ImageError::UnsupportedRelocation { kind: 4, rva: 0x1010 });
    assert_eq!(error.to_string(), "base relocation type 4 at 0x1010 is not supported");
}

#[test]
fn applies_every_block_of_a_multi_block_table() {
    let mut relocs = reloc_block(0x1000, &[(pe::IMAGE_REL_BASED_DIR64.0, 0x10)]);
    relocs.extend(reloc_block(0x1000, &[(pe::IMAGE_REL_BASED_HIGHLOW.0, 0x20)]));
    let image = load_at(&image_with_relocs(relocs), LOAD_ADDRESS).unwrap();
    assert_eq!(get64(&image, 0x1010), LOAD_ADDRESS + 0x2000);
    assert_eq!(get32(&image, 0x1020), (LOAD_ADDRESS + 0x2008) as u32);
}

#[test]
fn rejects_destination_smaller_than_the_image() {
    let file = relocatable_image().build();
    let image = parse_x86(&file).unwrap();
    let mut dest = vec![0u8; 0x4fff];
    let error = image.load(&file, &mut dest, LOAD_ADDRESS).unwrap_err();
    assert_eq!(
        error,
        ImageError::DestinationTooSmall {
            needed: 0x5000,
            found: 0x4fff
        }
    );
}

#[test]
fn load_from_a_shorter_file_than_parsed_fails_cleanly() {
    let file = relocatable_image().build();
    let image = parse_x86(&file).unwrap();
    let mut dest = vec![0u8; 0x5000];
    let error = image.load(&file[..0x500], &mut dest, LOAD_ADDRESS).unwrap_err();
    assert_eq!(error, ImageError::Truncated { what: "section data" });
}

/// One read LoadImage made: (file offset, length).
type Read = (u64, usize);

/// Loads `file` as LoadImage does from a disk: [`headers_len`] from the first
/// bytes, the headers parsed alone, each section read at its file offset.
/// Returns the image and the reads made.
fn load_streamed(file: &[u8], address: u64) -> Result<(Vec<u8>, Vec<Read>), ImageError> {
    let wanted = headers_len(&file[..file.len().min(4096)])?;
    let headers = &file[..(wanted as usize).min(file.len())];
    let image = parse_headers(headers, file.len() as u64, Machine::X86_64)?;
    let mut dest = vec![0x55u8; image.size_of_image() as usize];
    let mut reads = Vec::new();
    let mut read = |offset: u64, target: &mut [u8]| {
        reads.push((offset, target.len()));
        let start = offset as usize;
        target.copy_from_slice(&file[start..start + target.len()]);
        Ok(())
    };
    image.load_with(headers, &mut read, &mut dest, address)?;
    Ok((dest, reads))
}

#[test]
fn streamed_load_places_the_same_bytes_as_a_buffer_load() {
    let file = relocatable_image().build();
    let (streamed, reads) = load_streamed(&file, LOAD_ADDRESS).unwrap();
    assert_eq!(streamed, load_at(&file, LOAD_ADDRESS).unwrap());
    // One read per section with data, of its loaded size, at its raw offset.
    let image = parse_x86(&file).unwrap();
    let expected: Vec<(u64, usize)> = image
        .sections()
        .iter()
        .map(|s| (u64::from(s.raw_offset()), s.loaded_size() as usize))
        .collect();
    assert_eq!(reads, expected);
}

#[test]
fn headers_len_reaches_past_the_section_table_and_size_of_headers() {
    let mut builder = relocatable_image();
    let file = builder.build();
    // Three sections after the optional header.
    let table_end = NT_OFFSET + 4 + 20 + OPTIONAL_HEADER_SIZE + 3 * 40;
    assert_eq!(
        headers_len(&file).unwrap(),
        (HEADERS_SIZE as usize).max(table_end) as u64
    );
    builder.size_of_headers = 0x3000;
    builder.size_of_image = 0x8000;
    assert_eq!(headers_len(&builder.build()).unwrap(), 0x3000);
}

#[test]
fn headers_len_of_a_short_prefix_is_a_truncation() {
    let file = relocatable_image().build();
    assert_eq!(
        headers_len(&file[..0x30]),
        Err(ImageError::Headers(HeaderError::Truncated { what: "DOS header" }))
    );
    assert_eq!(
        headers_len(&file[..NT_OFFSET + 10]),
        Err(ImageError::Headers(HeaderError::Truncated {
            what: "COFF file header"
        }))
    );
}

#[test]
fn headers_alone_are_checked_against_the_whole_file_length() {
    let file = relocatable_image().build();
    let headers = &file[..HEADERS_SIZE as usize];
    assert!(parse_headers(headers, file.len() as u64, Machine::X86_64).is_ok());
    // A file that ends one byte before the end of the last section's data.
    let last = parse_x86(&file).unwrap().sections().last().cloned().unwrap();
    let short = u64::from(last.raw_offset()) + u64::from(last.loaded_size()) - 1;
    assert!(matches!(
        parse_headers(headers, short, Machine::X86_64),
        Err(ImageError::SectionPastFileEnd { .. })
    ));
    // Fewer header bytes at hand than SizeOfHeaders says.
    assert_eq!(
        parse_headers(&file[..0x1f0], file.len() as u64, Machine::X86_64),
        Err(ImageError::Truncated { what: "headers" })
    );
}

#[test]
fn streamed_load_reports_a_failed_read_as_a_device_error() {
    let file = relocatable_image().build();
    let image = parse_x86(&file).unwrap();
    let mut dest = vec![0u8; image.size_of_image() as usize];
    let mut failing = |offset: u64, target: &mut [u8]| {
        Err(ImageError::Read {
            offset,
            len: target.len(),
            status: efi::Status::DEVICE_ERROR,
        })
    };
    let err = image
        .load_with(&file[..HEADERS_SIZE as usize], &mut failing, &mut dest, LOAD_ADDRESS)
        .unwrap_err();
    assert_eq!(err.status(), efi::Status::DEVICE_ERROR);
    assert!(err.to_string().contains("at file offset 0x200"), "{err}");
}
