//! Loading the EFI binaries Debian ships: shim, GRUB, systemd-boot, systemd-stub and
//! the cloud kernel's EFI stub. The files come from a directory named by
//! `HVFW_EFI_BINARIES`, which `cargo xtask test` fills from the Debian packages
//! shim-signed, grub-efi-amd64-signed, systemd-boot-efi and linux-image-cloud-amd64,
//! then runs these ignored tests.
//!
//! Each binary is loaded twice, at its preferred base and at another one; the two
//! copies must differ exactly at the fixups the `.reloc` table names, by the distance
//! between the bases.

use std::string::String;
use std::vec;
use std::vec::Vec;

use fw_efi_binaries as binaries;
use object::pe;

use super::*;

/// Not the preferred base of any of them (all link at 0), above 4 GiB so that DIR64
/// fixups must carry the high half.
const OTHER_BASE: u64 = 0x1_2340_0000;

/// `(rva, width)` of every DIR64 and HIGHLOW fixup, decoded independently of the
/// loader from the image loaded at its preferred base.
fn fixups(image: &[u8], directory: Option<RelocationDirectory>) -> Vec<(usize, usize)> {
    let Some(directory) = directory else { return Vec::new() };
    let mut found = Vec::new();
    let mut at = directory.rva as usize;
    let end = at + directory.size as usize;
    while at < end {
        let page = u32::from_le_bytes(image[at..at + 4].try_into().unwrap()) as usize;
        let size = u32::from_le_bytes(image[at + 4..at + 8].try_into().unwrap()) as usize;
        for entry in image[at + 8..at + size].chunks_exact(2) {
            let entry = u16::from_le_bytes([entry[0], entry[1]]);
            let rva = page + (entry & 0xfff) as usize;
            match pe::BaseRelocationType(entry >> 12) {
                pe::IMAGE_REL_BASED_ABSOLUTE => {}
                pe::IMAGE_REL_BASED_DIR64 => found.push((rva, 8)),
                pe::IMAGE_REL_BASED_HIGHLOW => found.push((rva, 4)),
                kind => panic!("relocation type {} at {rva:#x}", kind.0),
            }
        }
        at += size;
    }
    found
}

/// Parses and loads `file` at its preferred base and at [`OTHER_BASE`], checks the
/// placement and the relocations, and returns the parsed image and the fixup count.
fn check_loads_relocated(name: &str, file: &[u8]) -> (PeImage, usize) {
    let image = parse(file, Machine::X86_64).unwrap_or_else(|e| panic!("{name}: {e}"));
    assert_eq!(image.subsystem(), Subsystem::EfiApplication, "{name}");
    assert_ne!(image.preferred_base(), OTHER_BASE);

    let size = image.size_of_image() as usize;
    let mut at_preferred = vec![0x55u8; size];
    image
        .load(file, &mut at_preferred, image.preferred_base())
        .unwrap_or_else(|e| panic!("{name} at its preferred base: {e}"));
    let mut moved = vec![0x55u8; size];
    image
        .load(file, &mut moved, OTHER_BASE)
        .unwrap_or_else(|e| panic!("{name} at {OTHER_BASE:#x}: {e}"));

    let headers = image.size_of_headers() as usize;
    assert_eq!(at_preferred[..headers], file[..headers], "{name}: headers");
    for section in image.sections() {
        let (va, loaded) = (section.virtual_address() as usize, section.loaded_size() as usize);
        let raw = section.raw_offset() as usize;
        assert_eq!(
            at_preferred[va..va + loaded],
            file[raw..raw + loaded],
            "{name}: {}",
            section.name()
        );
        let end = va + section.virtual_size() as usize;
        assert!(
            at_preferred[va + loaded..end].iter().all(|&b| b == 0),
            "{name}: {} is not zero-filled",
            section.name()
        );
    }

    let delta = OTHER_BASE.wrapping_sub(image.preferred_base());
    let fixups = fixups(&at_preferred, image.relocations());
    let mut fixed = vec![false; size];
    for &(rva, width) in &fixups {
        let (before, after) = (&at_preferred[rva..rva + width], &moved[rva..rva + width]);
        if width == 8 {
            let before = u64::from_le_bytes(before.try_into().unwrap());
            assert_eq!(
                u64::from_le_bytes(after.try_into().unwrap()),
                before.wrapping_add(delta),
                "{name}: DIR64 at {rva:#x}"
            );
        } else {
            let before = u32::from_le_bytes(before.try_into().unwrap());
            assert_eq!(
                u32::from_le_bytes(after.try_into().unwrap()),
                before.wrapping_add(delta as u32),
                "{name}: HIGHLOW at {rva:#x}"
            );
        }
        fixed[rva..rva + width].fill(true);
    }
    let stray = (0..size).find(|&i| !fixed[i] && at_preferred[i] != moved[i]);
    assert_eq!(stray, None, "{name}: a byte changed that no relocation names");

    // LoadImage from a file: only the headers in memory, sections read into place.
    let wanted = headers_len(&file[..file.len().min(4096)]).unwrap_or_else(|e| panic!("{name}: {e}"));
    assert!(wanted <= 4096, "{name}: headers need {wanted} bytes");
    let headers = &file[..wanted as usize];
    let streamed_image = parse_headers(headers, file.len() as u64, Machine::X86_64)
        .unwrap_or_else(|e| panic!("{name} from its headers: {e}"));
    assert_eq!(streamed_image.size_of_image(), image.size_of_image(), "{name}");
    let mut streamed = vec![0x55u8; size];
    let mut read = |offset: u64, target: &mut [u8]| {
        target.copy_from_slice(&file[offset as usize..offset as usize + target.len()]);
        Ok(())
    };
    streamed_image
        .load_with(headers, &mut read, &mut streamed, OTHER_BASE)
        .unwrap_or_else(|e| panic!("{name} streamed: {e}"));
    assert!(streamed == moved, "{name}: streamed load differs from the buffer load");
    std::eprintln!(
        "{name}: {} sections, SizeOfImage {:#x}, {} fixups applied at {OTHER_BASE:#x}",
        image.sections().len(),
        image.size_of_image(),
        fixups.len()
    );
    (image, fixups.len())
}

#[test]
#[ignore = "needs HVFW_EFI_BINARIES; run by `cargo xtask test`"]
fn shim_loads_at_another_base() {
    let file = binaries::read("shimx64.efi.signed");
    let (image, _) = check_loads_relocated("shimx64.efi.signed", &file);
    assert!(image.section_data(&file, ".sbat").unwrap().starts_with(b"sbat,"));
    // A long name, kept in the COFF string table.
    assert!(image.section(".sbatlevel").is_some());
}

#[test]
#[ignore = "needs HVFW_EFI_BINARIES; run by `cargo xtask test`"]
fn grub_loads_at_another_base() {
    let file = binaries::read("grubx64.efi.signed");
    let (image, fixups) = check_loads_relocated("grubx64.efi.signed", &file);
    assert!(fixups > 100, "GRUB has only {fixups} fixups");
    assert!(image.section_data(&file, ".sbat").unwrap().starts_with(b"sbat,"));
}

#[test]
#[ignore = "needs HVFW_EFI_BINARIES; run by `cargo xtask test`"]
fn systemd_boot_loads_at_another_base() {
    let file = binaries::read("systemd-bootx64.efi");
    let (image, _) = check_loads_relocated("systemd-bootx64.efi", &file);
    assert_eq!(image.section_alignment(), 512);
    let osrel = image.section_data(&file, ".osrel").unwrap();
    assert!(
        osrel.windows(3).any(|w| w == b"ID="),
        "{:?}",
        String::from_utf8_lossy(osrel)
    );
    assert!(image.section_data(&file, ".sbat").unwrap().starts_with(b"sbat,"));
}

#[test]
#[ignore = "needs HVFW_EFI_BINARIES; run by `cargo xtask test`"]
fn systemd_stub_loads_at_another_base() {
    let file = binaries::read("linuxx64.efi.stub");
    let (image, _) = check_loads_relocated("linuxx64.efi.stub", &file);
    assert!(image.section(".sdmagic").is_some());
    assert!(image.section_data(&file, ".sbat").unwrap().starts_with(b"sbat,"));
}

#[test]
#[ignore = "needs HVFW_EFI_BINARIES; run by `cargo xtask test`"]
fn linux_efi_stub_loads_at_another_base() {
    let (name, file) = binaries::kernel();
    let (image, fixups) = check_loads_relocated(&name, &file);
    // The x86 bzImage is position independent: no fixups, and .data's
    // zero-filled tail (VirtualSize > SizeOfRawData) is its early bss.
    assert_eq!(fixups, 0);
    let text = image.section(".text").expect(".text");
    let entry = image.entry_point();
    assert!(entry >= text.virtual_address() && entry < text.virtual_address() + text.virtual_size());
}
