//! The memory map the firmware starts with (UEFI 2.10 §7.2.3): the VMM's
//! regions, with what the firmware itself occupies carved out of them as the
//! type the OS must see: its image as runtime services code and data (the boot
//! stacks and page tables inside it as boot services data), its heap as boot
//! services data, the devices its runtime services touch as MMIO, and the
//! modules the VMM loaded (an initrd) as loader data.

use super::map::{MemoryMap, EFI_PAGE_SIZE};
use super::types::MemoryType;
use crate::boot_info::{MemoryRegion, Module};
use core::ops::Range;
use log::{error, warn};

/// Where the firmware lives, as the composition root knows it.
#[derive(Clone, Debug)]
pub struct Footprint<'a> {
    /// The image's code and read-only data.
    pub code: Range<u64>,
    /// The image's data (runtime services use it).
    pub data: Range<u64>,
    /// The boot stacks (and page tables) inside `data`.
    pub boot_data: Range<u64>,
    /// The firmware's own heap.
    pub heap: Range<u64>,
    /// `(base, bytes)` of each device the runtime services use (an RTC).
    pub runtime_mmio: &'a [(u64, u64)],
    /// What the VMM loaded beside the firmware.
    pub modules: &'a [Module],
}

/// Fills `map` from the VMM's `regions` and the firmware's `footprint`. A range
/// that cannot be added or retyped is logged and left as it was: the firmware
/// boots on with a map that says less. Returns the highest address callers'
/// buffers may reach: the map's top, and at least 4 GiB (the MMIO holes).
pub fn build(map: &mut MemoryMap, regions: &[MemoryRegion], footprint: &Footprint) -> u64 {
    for region in regions {
        if let Err(e) = map.add_boot_region(region) {
            warn!("memory map: cannot add {:#x}+{:#x}: {e}", region.start, region.size);
        }
    }
    let carve = [
        (&footprint.code, MemoryType::RuntimeServicesCode),
        (&footprint.data, MemoryType::RuntimeServicesData),
        (&footprint.boot_data, MemoryType::BootServicesData),
        (&footprint.heap, MemoryType::BootServicesData),
    ];
    for (range, ty) in carve {
        if let Err(e) = map.set_type(range.start, pages(range), ty) {
            error!(
                "memory map: cannot mark {:#x}-{:#x} as {ty:?}: {e}",
                range.start, range.end
            );
        }
    }
    for &(base, size) in footprint.runtime_mmio {
        if let Err(e) = map.set_type(base, size.div_ceil(EFI_PAGE_SIZE), MemoryType::MemoryMappedIO) {
            warn!("memory map: cannot report runtime MMIO at {base:#x}: {e}");
        }
    }
    for m in footprint.modules {
        if let Err(e) = map.set_type_covering(m.start..m.start + m.size, MemoryType::LoaderData) {
            warn!("memory map: cannot keep module at {:#x}: {e}", m.start);
        }
    }
    map.descriptors().map(|d| d.end()).max().unwrap_or(0).max(1 << 32)
}

fn pages(range: &Range<u64>) -> u64 {
    (range.end - range.start).div_ceil(EFI_PAGE_SIZE)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::boot_info::MemoryKind;
    use std::vec::Vec;

    const MIB: u64 = 1 << 20;

    fn region(start: u64, size: u64, kind: MemoryKind) -> MemoryRegion {
        MemoryRegion { start, size, kind }
    }

    fn type_at(map: &MemoryMap, address: u64) -> Option<MemoryType> {
        map.descriptors()
            .find(|d| d.start <= address && address < d.end())
            .map(|d| d.ty)
    }

    fn footprint<'a>(runtime_mmio: &'a [(u64, u64)], modules: &'a [Module]) -> Footprint<'a> {
        Footprint {
            code: MIB..MIB + 0x8_0000,
            data: MIB + 0x8_0000..2 * MIB,
            boot_data: MIB + 0xc_0000..2 * MIB,
            heap: 16 * MIB..18 * MIB,
            runtime_mmio,
            modules,
        }
    }

    #[test]
    fn the_firmware_is_carved_out_of_the_vmms_ram() {
        let regions = [
            region(0, 0x9_f000, MemoryKind::Ram),
            region(MIB, 511 * MIB, MemoryKind::Ram),
        ];
        let modules = [Module {
            start: 100 * MIB,
            size: 0x1234,
        }];
        let mut map = MemoryMap::new();
        let limit = build(&mut map, &regions, &footprint(&[], &modules));
        assert_eq!(type_at(&map, MIB), Some(MemoryType::RuntimeServicesCode));
        assert_eq!(type_at(&map, MIB + 0x8_0000), Some(MemoryType::RuntimeServicesData));
        assert_eq!(type_at(&map, MIB + 0xc_0000), Some(MemoryType::BootServicesData));
        assert_eq!(type_at(&map, 17 * MIB), Some(MemoryType::BootServicesData));
        assert_eq!(type_at(&map, 100 * MIB + 0x1000), Some(MemoryType::LoaderData));
        assert_eq!(type_at(&map, 100 * MIB + 0x2000), Some(MemoryType::ConventionalMemory));
        assert_eq!(type_at(&map, 0x1000), Some(MemoryType::ConventionalMemory));
        assert_eq!(limit, 1 << 32, "below 4 GiB the limit is 4 GiB");
    }

    #[test]
    fn runtime_mmio_is_reported_and_ram_above_4_gib_raises_the_limit() {
        let regions = [
            region(MIB, 511 * MIB, MemoryKind::Ram),
            region(1 << 32, 1 << 30, MemoryKind::Ram),
        ];
        let rtc = [(0x0901_0000, 0x1000)];
        let mut map = MemoryMap::new();
        let limit = build(&mut map, &regions, &footprint(&rtc, &[]));
        let mmio: Vec<_> = map
            .descriptors()
            .filter(|d| d.ty == MemoryType::MemoryMappedIO)
            .map(|d| d.start)
            .collect();
        assert_eq!(mmio, [0x0901_0000]);
        assert_eq!(limit, (1 << 32) + (1 << 30));
    }

    #[test]
    fn an_empty_module_is_left_out_and_the_rest_goes_on() {
        let regions = [region(MIB, 511 * MIB, MemoryKind::Ram)];
        let modules = [
            Module {
                start: 100 * MIB,
                size: 0,
            },
            Module {
                start: 200 * MIB,
                size: 1,
            },
        ];
        let mut map = MemoryMap::new();
        build(&mut map, &regions, &footprint(&[], &modules));
        assert_eq!(type_at(&map, 100 * MIB), Some(MemoryType::ConventionalMemory));
        assert_eq!(type_at(&map, 200 * MIB), Some(MemoryType::LoaderData));
    }
}
