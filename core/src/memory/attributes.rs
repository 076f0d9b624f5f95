//! The entries of the EFI_MEMORY_ATTRIBUTES_TABLE (UEFI 2.10 §4.6.4): the
//! access permissions of every runtime services code and data region of the
//! memory map, so that the OS maps runtime code read-only and executable and
//! runtime data writable and non-executable.
//!
//! The rules the table follows (and Linux checks, `efi_memattr_apply_permissions`):
//! - entries are `EfiRuntimeServicesCode` or `EfiRuntimeServicesData`, carry
//!   `EFI_MEMORY_RUNTIME`, are whole pages and sorted by address;
//! - each entry lies inside one memory-map region of the same type, and together
//!   they cover every runtime code and data region exactly;
//! - no entry is both `EFI_MEMORY_RO` and `EFI_MEMORY_XP`.
//!
//! Which pages are code the firmware knows only for its own image: the linker
//! scripts (`arch/src/*/layout.ld`) put `.text` and `.rodata` on pages of their
//! own, ending at the page-aligned `__code_end`, and the writable sections after
//! it. Runtime code pages outside those ranges (a runtime driver an application
//! loaded, whose sections share the allocation) are reported without RO or XP:
//! the truth is that they are both written and executed.
#![forbid(unsafe_code)]

use super::map::{Descriptor, DESCRIPTOR_SIZE, EFI_PAGE_SIZE};
use super::types::MemoryType;
use alloc::vec::Vec;
use core::fmt;
use core::ops::Range;
use r_efi::efi;

/// Bytes before the first entry: Version, NumberOfEntries, DescriptorSize, Flags.
pub const TABLE_HEADER_SIZE: usize = 16;

/// Why the table could not be written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TableError {
    /// The buffer holds fewer entries than there are runtime regions.
    TooManyEntries {
        /// The entries the table needs.
        entries: usize,
        /// The entries it has room for.
        capacity: usize,
    },
}

impl fmt::Display for TableError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TableError::TooManyEntries { entries, capacity } => {
                write!(f, "{entries} runtime regions, room for {capacity}")
            }
        }
    }
}

/// The attribute of runtime code the firmware knows to be code only.
pub const READ_ONLY_CODE: u64 = efi::MEMORY_RUNTIME | efi::MEMORY_RO;
/// The attribute of runtime data.
pub const NON_EXECUTABLE_DATA: u64 = efi::MEMORY_RUNTIME | efi::MEMORY_XP;
/// The attribute of runtime code whose data shares its pages.
pub const WRITABLE_CODE: u64 = efi::MEMORY_RUNTIME;

/// The table's entries for the runtime regions among `descriptors` (the memory
/// map in address order). `read_only_code` is the byte range known to hold only
/// code and constants; it is narrowed to whole pages.
pub fn runtime_permissions(
    descriptors: impl Iterator<Item = Descriptor>,
    read_only_code: Range<u64>,
) -> Vec<Descriptor> {
    let code = read_only_code.start.next_multiple_of(EFI_PAGE_SIZE)..read_only_code.end & !(EFI_PAGE_SIZE - 1);
    let mut out = Vec::new();
    for d in descriptors {
        match d.ty {
            MemoryType::RuntimeServicesData => out.push(entry(d.start, d.end(), d.ty, NON_EXECUTABLE_DATA)),
            MemoryType::RuntimeServicesCode => {
                // The region in up to three parts: before, inside and after `code`.
                let inside = code.start.clamp(d.start, d.end())..code.end.clamp(d.start, d.end());
                if inside.start >= inside.end {
                    out.push(entry(d.start, d.end(), d.ty, WRITABLE_CODE));
                    continue;
                }
                if d.start < inside.start {
                    out.push(entry(d.start, inside.start, d.ty, WRITABLE_CODE));
                }
                out.push(entry(inside.start, inside.end, d.ty, READ_ONLY_CODE));
                if inside.end < d.end() {
                    out.push(entry(inside.end, d.end(), d.ty, WRITABLE_CODE));
                }
            }
            _ => {}
        }
    }
    out
}

/// Writes the table: version 2 (`EFI_MEMORY_ATTRIBUTES_TABLE_VERSION`), the
/// entries at the memory map's descriptor size, and Flags 0: the firmware's code
/// has no forward-edge control-flow guard (`ENDBR64`, BTI landing pads), so the
/// flag `EFI_MEMORY_ATTRIBUTES_FLAGS_RT_FORWARD_CONTROL_FLOW_GUARD` would be a
/// lie that makes an OS with IBT enabled fault in runtime services.
/// Returns the bytes written; on error nothing is written.
pub fn write_table(entries: &[Descriptor], out: &mut [u8]) -> Result<usize, TableError> {
    let capacity = out.len().saturating_sub(TABLE_HEADER_SIZE) / DESCRIPTOR_SIZE;
    if entries.len() > capacity {
        return Err(TableError::TooManyEntries {
            entries: entries.len(),
            capacity,
        });
    }
    let header = [
        efi::MEMORY_ATTRIBUTES_TABLE_VERSION,
        entries.len() as u32,
        DESCRIPTOR_SIZE as u32,
        0,
    ];
    for (slot, value) in out.chunks_exact_mut(4).zip(header) {
        slot.copy_from_slice(&value.to_ne_bytes());
    }
    let body = &mut out[TABLE_HEADER_SIZE..];
    for (slot, e) in body.chunks_exact_mut(DESCRIPTOR_SIZE).zip(entries) {
        e.write(slot);
    }
    Ok(TABLE_HEADER_SIZE + entries.len() * DESCRIPTOR_SIZE)
}

fn entry(start: u64, end: u64, ty: MemoryType, attribute: u64) -> Descriptor {
    Descriptor {
        start,
        pages: (end - start) / EFI_PAGE_SIZE,
        ty,
        attribute,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memory::MemoryMap;
    use alloc::vec;
    use MemoryType::*;

    const MIB: u64 = 1 << 20;

    /// A map shaped like the firmware's: its image at 1 MiB with code, then
    /// data with the boot stack carved out, and a runtime data copy elsewhere.
    fn firmware_map() -> MemoryMap {
        let mut map = MemoryMap::new();
        map.add_range(0, 512 * MIB / EFI_PAGE_SIZE, ConventionalMemory).unwrap();
        map.set_type(MIB, 0x80, RuntimeServicesCode).unwrap();
        map.set_type(MIB + 0x80_000, 0x40, RuntimeServicesData).unwrap();
        map.set_type(MIB + 0x90_000, 0x10, BootServicesData).unwrap();
        map.set_type(300 * MIB, 2, RuntimeServicesData).unwrap();
        map.set_type(400 * MIB, 4, MemoryMappedIO).unwrap();
        map
    }

    fn check_rules(map: &MemoryMap, entries: &[Descriptor]) {
        let runtime: Vec<Descriptor> = map
            .descriptors()
            .filter(|d| matches!(d.ty, RuntimeServicesCode | RuntimeServicesData))
            .collect();
        for e in entries {
            assert!(e.attribute & efi::MEMORY_RUNTIME != 0);
            assert_ne!(
                e.attribute & (efi::MEMORY_RO | efi::MEMORY_XP),
                efi::MEMORY_RO | efi::MEMORY_XP
            );
            assert!(e.pages > 0);
            let region = runtime
                .iter()
                .find(|r| r.start <= e.start && e.end() <= r.end())
                .unwrap_or_else(|| panic!("{e:?} lies in no runtime region"));
            assert_eq!(region.ty, e.ty);
        }
        for pair in entries.windows(2) {
            assert!(pair[0].end() <= pair[1].start, "sorted, no overlap");
        }
        let covered: u64 = entries.iter().map(|e| e.pages).sum();
        assert_eq!(covered, runtime.iter().map(|r| r.pages).sum::<u64>());
    }

    #[test]
    fn firmware_code_is_read_only_and_data_non_executable() {
        let map = firmware_map();
        let entries = runtime_permissions(map.descriptors(), MIB..MIB + 0x80_000);
        check_rules(&map, &entries);
        let got: Vec<(u64, u64, MemoryType, u64)> =
            entries.iter().map(|e| (e.start, e.pages, e.ty, e.attribute)).collect();
        assert_eq!(
            got,
            vec![
                (MIB, 0x80, RuntimeServicesCode, READ_ONLY_CODE),
                (MIB + 0x80_000, 0x10, RuntimeServicesData, NON_EXECUTABLE_DATA),
                (MIB + 0xA0_000, 0x20, RuntimeServicesData, NON_EXECUTABLE_DATA),
                (300 * MIB, 2, RuntimeServicesData, NON_EXECUTABLE_DATA),
            ]
        );
    }

    #[test]
    fn runtime_code_outside_the_image_stays_writable_and_executable() {
        let mut map = firmware_map();
        // A runtime driver loaded right after the firmware's code region.
        map.set_type(200 * MIB, 8, RuntimeServicesCode).unwrap();
        let entries = runtime_permissions(map.descriptors(), MIB..MIB + 0x80_000);
        check_rules(&map, &entries);
        let driver = entries.iter().find(|e| e.start == 200 * MIB).unwrap();
        assert_eq!((driver.pages, driver.attribute), (8, WRITABLE_CODE));
    }

    #[test]
    fn a_code_region_is_split_where_the_known_code_ends() {
        let mut map = MemoryMap::new();
        map.add_range(0, 0x1000, ConventionalMemory).unwrap();
        map.set_type(0x10_000, 0x10, RuntimeServicesCode).unwrap();
        // Known code in the middle, with unaligned edges that are narrowed.
        let entries = runtime_permissions(map.descriptors(), 0x12_800..0x15_100);
        check_rules(&map, &entries);
        let got: Vec<(u64, u64, u64)> = entries.iter().map(|e| (e.start, e.pages, e.attribute)).collect();
        assert_eq!(
            got,
            vec![
                (0x10_000, 3, WRITABLE_CODE),
                (0x13_000, 2, READ_ONLY_CODE),
                (0x15_000, 0xB, WRITABLE_CODE),
            ]
        );
    }

    #[test]
    fn the_table_has_a_version_2_header_and_48_byte_entries() {
        let map = firmware_map();
        let entries = runtime_permissions(map.descriptors(), MIB..MIB + 0x80_000);
        let mut buf = vec![0xAAu8; TABLE_HEADER_SIZE + 8 * DESCRIPTOR_SIZE];
        let n = write_table(&entries, &mut buf).unwrap();
        assert_eq!(n, TABLE_HEADER_SIZE + 4 * DESCRIPTOR_SIZE);
        let u32_at = |o: usize| u32::from_ne_bytes(buf[o..o + 4].try_into().unwrap());
        let u64_at = |o: usize| u64::from_ne_bytes(buf[o..o + 8].try_into().unwrap());
        assert_eq!([u32_at(0), u32_at(4), u32_at(8), u32_at(12)], [2, 4, 48, 0]);
        // The second entry: type, physical start, pages, attribute.
        let e = TABLE_HEADER_SIZE + DESCRIPTOR_SIZE;
        assert_eq!(u32_at(e), efi::RUNTIME_SERVICES_DATA);
        assert_eq!(u64_at(e + 8), MIB + 0x80_000);
        assert_eq!(u64_at(e + 24), 0x10);
        assert_eq!(u64_at(e + 32), NON_EXECUTABLE_DATA);
        let mut small = vec![0xAAu8; TABLE_HEADER_SIZE + 3 * DESCRIPTOR_SIZE];
        assert_eq!(
            write_table(&entries, &mut small),
            Err(TableError::TooManyEntries {
                entries: 4,
                capacity: 3
            })
        );
        assert!(small.iter().all(|&b| b == 0xAA), "nothing written");
    }

    #[test]
    fn no_runtime_regions_give_an_empty_table() {
        let mut map = MemoryMap::new();
        map.add_range(0, 0x100, ConventionalMemory).unwrap();
        assert!(runtime_permissions(map.descriptors(), 0..0x1000).is_empty());
    }
}
