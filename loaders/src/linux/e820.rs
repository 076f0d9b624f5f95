//! The EFI memory map (UEFI 2.10 §7.2.3 GetMemoryMap) turned into the e820 table
//! of `boot_params` (Linux `Documentation/arch/x86/zero-page.rst`, `e820_table`
//! at 0x2D0, at most 128 entries), with the type mapping the kernel's own EFI
//! stub uses: memory the OS owns after ExitBootServices is RAM, ACPI tables and
//! NVS keep their types, everything the firmware keeps (runtime services, MMIO,
//! reserved) is reserved.
//!
//! Nothing here allocates: the final conversion runs after ExitBootServices.
#![forbid(unsafe_code)]

use uefi_raw::table::boot::MemoryType;

/// e820 types (`arch/x86/include/asm/e820/types.h`).
pub const E820_TYPE_RAM: u32 = 1;
/// Reserved: not for the kernel's use.
pub const E820_TYPE_RESERVED: u32 = 2;
/// ACPI tables, reclaimable once read.
pub const E820_TYPE_ACPI: u32 = 3;
/// ACPI non-volatile storage, kept across sleep.
pub const E820_TYPE_NVS: u32 = 4;
/// Memory with errors.
pub const E820_TYPE_UNUSABLE: u32 = 5;
/// Persistent memory.
pub const E820_TYPE_PMEM: u32 = 7;

/// Entries `boot_params.e820_table` holds (E820_MAX_ENTRIES_ZEROPAGE).
pub const E820_MAX_ENTRIES_ZEROPAGE: usize = 128;

/// The smallest EFI memory descriptor (version 1): type, pad, physical start,
/// virtual start, pages, attributes.
pub const EFI_MEMORY_DESCRIPTOR_MIN_SIZE: usize = 40;
/// An EFI page.
pub const EFI_PAGE_SIZE: u64 = 4096;

/// One e820 entry: `struct boot_e820_entry` (packed: addr u64, size u64, type u32).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct E820Entry {
    /// The region's first byte.
    pub addr: u64,
    /// The region's length in bytes.
    pub size: u64,
    /// Its type, one of the `E820_TYPE_*` values.
    pub kind: u32,
}

impl E820Entry {
    /// Its 20 bytes as they sit in `boot_params`.
    pub fn to_bytes(self) -> [u8; 20] {
        let mut b = [0; 20];
        b[0..8].copy_from_slice(&self.addr.to_le_bytes());
        b[8..16].copy_from_slice(&self.size.to_le_bytes());
        b[16..20].copy_from_slice(&self.kind.to_le_bytes());
        b
    }

    fn end(&self) -> u64 {
        self.addr.saturating_add(self.size)
    }
}

/// One EFI memory descriptor's type and physical range.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EfiRegion {
    /// The descriptor's memory type.
    pub ty: MemoryType,
    /// The region's first byte.
    pub start: u64,
    /// The region's length in 4 KiB pages.
    pub pages: u64,
}

/// The e820 type for EFI memory of type `ty` once boot services have exited.
pub fn e820_type(ty: MemoryType) -> u32 {
    match ty {
        MemoryType::CONVENTIONAL
        | MemoryType::LOADER_CODE
        | MemoryType::LOADER_DATA
        | MemoryType::BOOT_SERVICES_CODE
        | MemoryType::BOOT_SERVICES_DATA => E820_TYPE_RAM,
        MemoryType::ACPI_RECLAIM => E820_TYPE_ACPI,
        MemoryType::ACPI_NON_VOLATILE => E820_TYPE_NVS,
        MemoryType::UNUSABLE => E820_TYPE_UNUSABLE,
        MemoryType::PERSISTENT_MEMORY => E820_TYPE_PMEM,
        _ => E820_TYPE_RESERVED,
    }
}

/// The descriptors of a memory map as GetMemoryMap returned it: `map` holds
/// `map.len() / desc_size` descriptors of `desc_size` bytes each (which may
/// exceed the 40 bytes this code reads). A trailing partial descriptor is ignored.
pub fn efi_regions(map: &[u8], desc_size: usize) -> impl Iterator<Item = EfiRegion> + '_ {
    let stride = if desc_size >= EFI_MEMORY_DESCRIPTOR_MIN_SIZE {
        desc_size
    } else {
        0
    };
    let count = map.len().checked_div(stride).unwrap_or(0);
    (0..count).filter_map(move |i| {
        let d = map.get(i * stride..i * stride + EFI_MEMORY_DESCRIPTOR_MIN_SIZE)?;
        let u32_at = |o: usize| u32::from_le_bytes([d[o], d[o + 1], d[o + 2], d[o + 3]]);
        let u64_at = |o: usize| u64::from(u32_at(o)) | (u64::from(u32_at(o + 4)) << 32);
        Some(EfiRegion {
            ty: MemoryType(u32_at(0)),
            start: u64_at(8),
            pages: u64_at(24),
        })
    })
}

/// The outcome of [`from_efi_map`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Conversion {
    /// Entries written to the front of the output, sorted by address.
    pub count: usize,
    /// Regions that did not fit even after merging (0 when all fit).
    pub dropped: usize,
}

/// Converts `regions` into e820 entries in `out`, merging entries of the same
/// type that touch, and sorting by address. Empty regions are skipped and a
/// region running past 2^64 is cut at the top. When `out` is full even after
/// merging, further regions are counted in [`Conversion::dropped`].
pub fn from_efi_map(regions: impl Iterator<Item = EfiRegion>, out: &mut [E820Entry]) -> Conversion {
    let mut count = 0;
    let mut dropped = 0;
    for region in regions {
        let size = region.pages.saturating_mul(EFI_PAGE_SIZE).min(u64::MAX - region.start);
        if size == 0 {
            continue;
        }
        let entry = E820Entry {
            addr: region.start,
            size,
            kind: e820_type(region.ty),
        };
        if merge_into(&mut out[..count], entry) {
            continue;
        }
        if count == out.len() {
            count = sort_and_merge(&mut out[..count]);
        }
        match out.get_mut(count) {
            Some(slot) => {
                *slot = entry;
                count += 1;
            }
            None => dropped += 1,
        }
    }
    Conversion {
        count: sort_and_merge(&mut out[..count]),
        dropped,
    }
}

/// Grows an entry of `entries` that `entry` extends; whether one did.
fn merge_into(entries: &mut [E820Entry], entry: E820Entry) -> bool {
    for e in entries.iter_mut() {
        if e.kind != entry.kind {
            continue;
        }
        if e.end() == entry.addr {
            e.size += entry.size;
            return true;
        }
        if entry.end() == e.addr {
            e.addr = entry.addr;
            e.size += entry.size;
            return true;
        }
    }
    false
}

/// Sorts `entries` by address and merges same-type neighbours that touch or
/// overlap; the new count (merged entries are packed to the front).
fn sort_and_merge(entries: &mut [E820Entry]) -> usize {
    entries.sort_unstable_by_key(|e| (e.addr, e.kind));
    let mut kept = 0;
    for i in 0..entries.len() {
        let e = entries[i];
        if kept > 0 {
            let last = &mut entries[kept - 1];
            if last.kind == e.kind && e.addr <= last.end() {
                let end = last.end().max(e.end());
                last.size = end - last.addr;
                continue;
            }
        }
        entries[kept] = e;
        kept += 1;
    }
    kept
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::vec;
    use std::vec::Vec;

    fn region(ty: MemoryType, start: u64, pages: u64) -> EfiRegion {
        EfiRegion { ty, start, pages }
    }

    fn entry(addr: u64, size: u64, kind: u32) -> E820Entry {
        E820Entry { addr, size, kind }
    }

    /// `regions` converted into a table with room for `room` entries: the
    /// entries written and how many regions were dropped.
    fn convert(regions: impl Iterator<Item = EfiRegion>, room: usize) -> (Vec<E820Entry>, usize) {
        let mut out = vec![E820Entry::default(); room];
        let conversion = from_efi_map(regions, &mut out);
        out.truncate(conversion.count);
        (out, conversion.dropped)
    }

    fn descriptor_bytes(regions: &[EfiRegion], desc_size: usize) -> Vec<u8> {
        let mut map = Vec::new();
        for r in regions {
            let mut d = vec![0u8; desc_size];
            d[0..4].copy_from_slice(&r.ty.0.to_le_bytes());
            d[8..16].copy_from_slice(&r.start.to_le_bytes());
            d[16..24].copy_from_slice(&0xdead_beefu64.to_le_bytes());
            d[24..32].copy_from_slice(&r.pages.to_le_bytes());
            d[32..40].copy_from_slice(&0xfu64.to_le_bytes());
            map.extend_from_slice(&d);
        }
        map
    }

    #[test]
    fn maps_efi_types_to_e820_types() {
        let cases = [
            (MemoryType::CONVENTIONAL, E820_TYPE_RAM),
            (MemoryType::LOADER_CODE, E820_TYPE_RAM),
            (MemoryType::LOADER_DATA, E820_TYPE_RAM),
            (MemoryType::BOOT_SERVICES_CODE, E820_TYPE_RAM),
            (MemoryType::BOOT_SERVICES_DATA, E820_TYPE_RAM),
            (MemoryType::ACPI_RECLAIM, E820_TYPE_ACPI),
            (MemoryType::ACPI_NON_VOLATILE, E820_TYPE_NVS),
            (MemoryType::UNUSABLE, E820_TYPE_UNUSABLE),
            (MemoryType::PERSISTENT_MEMORY, E820_TYPE_PMEM),
            (MemoryType::RESERVED, E820_TYPE_RESERVED),
            (MemoryType::RUNTIME_SERVICES_CODE, E820_TYPE_RESERVED),
            (MemoryType::RUNTIME_SERVICES_DATA, E820_TYPE_RESERVED),
            (MemoryType::MMIO, E820_TYPE_RESERVED),
            (MemoryType::MMIO_PORT_SPACE, E820_TYPE_RESERVED),
            (MemoryType::PAL_CODE, E820_TYPE_RESERVED),
            (MemoryType(0x8000_0001), E820_TYPE_RESERVED),
        ];
        for (efi, e820) in cases {
            assert_eq!(e820_type(efi), e820, "{efi:?}");
        }
    }

    #[test]
    fn reads_descriptors_with_a_larger_stride_than_the_struct() {
        let regions = [
            region(MemoryType::CONVENTIONAL, 0, 0x9f),
            region(MemoryType::MMIO, 0xfec0_0000, 1),
        ];
        let map = descriptor_bytes(&regions, 48);
        let read: Vec<EfiRegion> = efi_regions(&map, 48).collect();
        assert_eq!(read, regions);
        // A descriptor size below the version-1 struct is rejected, not misread.
        assert_eq!(efi_regions(&map, 24).count(), 0);
        // A cut-off last descriptor is ignored.
        assert_eq!(efi_regions(&map[..60], 48).count(), 1);
    }

    #[test]
    fn converts_and_merges_a_made_up_efi_map() {
        // Unsorted, as firmware may return it; RAM split among loader, boot
        // services and free memory; runtime data between two RAM runs.
        let regions = [
            region(MemoryType::BOOT_SERVICES_DATA, 0x10_0000, 0x100),
            region(MemoryType::CONVENTIONAL, 0, 0xa0),
            region(MemoryType::RESERVED, 0xa0000, 0x60),
            region(MemoryType::LOADER_DATA, 0x20_0000, 0x200),
            region(MemoryType::CONVENTIONAL, 0x40_0000, 0x3000),
            region(MemoryType::RUNTIME_SERVICES_DATA, 0x340_0000, 0x10),
            region(MemoryType::CONVENTIONAL, 0x341_0000, 0x100),
            region(MemoryType::ACPI_RECLAIM, 0x351_0000, 0x10),
            region(MemoryType::ACPI_NON_VOLATILE, 0x352_0000, 0x10),
            region(MemoryType::BOOT_SERVICES_CODE, 0x353_0000, 0),
            region(MemoryType::MMIO, 0xfeb0_0000, 0x100),
            region(MemoryType::PERSISTENT_MEMORY, 0x1_0000_0000, 0x100),
            region(MemoryType::UNUSABLE, 0x1_0010_0000, 1),
        ];
        let map = descriptor_bytes(&regions, 40);
        let (entries, dropped) = convert(efi_regions(&map, 40), E820_MAX_ENTRIES_ZEROPAGE);
        assert_eq!(dropped, 0);
        assert_eq!(
            entries,
            [
                entry(0, 0xa0000, E820_TYPE_RAM),
                entry(0xa0000, 0x60000, E820_TYPE_RESERVED),
                entry(0x10_0000, 0x330_0000, E820_TYPE_RAM),
                entry(0x340_0000, 0x1_0000, E820_TYPE_RESERVED),
                entry(0x341_0000, 0x10_0000, E820_TYPE_RAM),
                entry(0x351_0000, 0x1_0000, E820_TYPE_ACPI),
                entry(0x352_0000, 0x1_0000, E820_TYPE_NVS),
                entry(0xfeb0_0000, 0x10_0000, E820_TYPE_RESERVED),
                entry(0x1_0000_0000, 0x10_0000, E820_TYPE_PMEM),
                entry(0x1_0010_0000, 0x1000, E820_TYPE_UNUSABLE),
            ]
        );
    }

    #[test]
    fn merges_a_region_that_bridges_two_entries() {
        let regions = [
            region(MemoryType::CONVENTIONAL, 0, 1),
            region(MemoryType::CONVENTIONAL, 0x2000, 1),
            region(MemoryType::LOADER_CODE, 0x1000, 1),
        ];
        let merged = vec![entry(0, 0x3000, E820_TYPE_RAM)];
        assert_eq!(convert(regions.into_iter(), 4), (merged, 0));
    }

    #[test]
    fn counts_what_does_not_fit() {
        // Alternating types never merge: 6 entries into room for 4.
        let regions = (0..6u64).map(|i| {
            let ty = if i % 2 == 0 {
                MemoryType::CONVENTIONAL
            } else {
                MemoryType::MMIO
            };
            region(ty, i * 0x1000, 1)
        });
        let (entries, dropped) = convert(regions, 4);
        assert_eq!((entries.len(), dropped), (4, 2));
    }

    #[test]
    fn compacts_when_full_before_giving_up() {
        // Page 1 joins page 0, leaving two touching entries that only merge once
        // sorted; page 4 then finds the table full and fits after compaction.
        let order = [0u64, 2, 1, 4];
        let regions = order.iter().map(|&i| region(MemoryType::CONVENTIONAL, i * 0x1000, 1));
        let compacted = vec![entry(0, 0x3000, E820_TYPE_RAM), entry(0x4000, 0x1000, E820_TYPE_RAM)];
        assert_eq!(convert(regions, 2), (compacted, 0));
    }

    #[test]
    fn entry_bytes_are_packed_little_endian() {
        let b = entry(0x1122_3344_5566_7788, 0x1000, 3).to_bytes();
        assert_eq!(&b[..8], &0x1122_3344_5566_7788u64.to_le_bytes());
        assert_eq!(&b[8..16], &0x1000u64.to_le_bytes());
        assert_eq!(&b[16..], &[3, 0, 0, 0]);
    }
}
