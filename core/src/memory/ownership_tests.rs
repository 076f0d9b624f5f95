//! Memory ownership, as a property: random sequences of AllocatePages (any,
//! below a limit, at an address, aligned), FreePages (whole, in part, of
//! memory never allocated or owned by the firmware or the pool),
//! AllocatePool/FreePool, the firmware retyping free memory for itself, and
//! ExitBootServices, on a map laid out as the firmware lays out its own. After
//! every step:
//! - the map keeps its rules ([`MemoryMap::check_invariants`]);
//! - nothing handed to a caller overlaps the firmware's image, stack, page
//!   tables, heap, runtime data, ACPI/SMBIOS tables, or another live allocation;
//! - every live allocation is described with the type it was asked for;
//! - and at ExitBootServices the OS's map says the same.
//!
//! The sequences come from a fixed-seed generator, so a failure names its seed
//! and step and replays exactly.

use super::map::{AllocateType, MemoryMap, EFI_PAGE_SIZE};
use super::{Memory, MemoryType};
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use core::ops::Range;

const MIB: u64 = 1 << 20;

/// xorshift64*: small, deterministic, good enough to pick operations.
struct Random(u64);

impl Random {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// What the firmware owns, as it lays out a 256 MiB machine (x86_64-like: low
/// RAM, a hole, RAM from 1 MiB, an MMIO range above).
struct Layout {
    memory: Memory,
    firmware: Vec<(Range<u64>, MemoryType)>,
}

fn layout() -> Layout {
    let mut memory = Memory::new();
    let map = &mut memory.map;
    map.add_range(0x1000, 0x9f, MemoryType::ConventionalMemory).unwrap();
    map.add_range(MIB, (255 * MIB) / EFI_PAGE_SIZE, MemoryType::ConventionalMemory)
        .unwrap();
    let firmware = alloc::vec![
        (0x20_0000..0x29_0000, MemoryType::RuntimeServicesCode),
        (0x29_0000..0x2a_0000, MemoryType::RuntimeServicesData),
        // Boot stack and page tables.
        (0x2a_0000..0x2c_0000, MemoryType::BootServicesData),
        // The heap, at the top of RAM.
        (0xf00_0000..0x1000_0000, MemoryType::BootServicesData),
        // ACPI tables and the SMBIOS copy.
        (0xefe_0000..0xeff_0000, MemoryType::ACPIReclaimMemory),
        (0xeff_0000..0xf00_0000, MemoryType::RuntimeServicesData),
        // Runtime MMIO (an RTC) outside RAM.
        (0xfec0_0000..0xfec0_1000, MemoryType::MemoryMappedIO),
    ];
    for (range, ty) in &firmware {
        map.set_type(range.start, (range.end - range.start) / EFI_PAGE_SIZE, *ty)
            .unwrap();
    }
    Layout { memory, firmware }
}

const TYPES: [MemoryType; 6] = [
    MemoryType::LoaderCode,
    MemoryType::LoaderData,
    MemoryType::BootServicesData,
    MemoryType::RuntimeServicesData,
    MemoryType::ACPIReclaimMemory,
    MemoryType::Oem(0x7000_0001),
];

#[derive(Clone, Debug)]
struct Live {
    range: Range<u64>,
    ty: MemoryType,
    pool: bool,
}

fn overlaps(a: &Range<u64>, b: &Range<u64>) -> bool {
    a.start < b.end && b.start < a.end
}

/// The type the map gives `address`, if any descriptor covers it.
fn type_at(map: &MemoryMap, address: u64) -> Option<MemoryType> {
    map.descriptors()
        .find(|d| d.start <= address && address < d.end())
        .map(|d| d.ty)
}

fn check(map: &MemoryMap, firmware: &[(Range<u64>, MemoryType)], live: &[Live]) -> Result<(), String> {
    map.check_invariants().map_err(|e| format!("{e}"))?;
    for (i, a) in live.iter().enumerate() {
        for (range, ty) in firmware {
            if overlaps(&a.range, range) {
                return Err(format!("{a:?} overlaps the firmware's {ty:?} at {range:#x?}"));
            }
        }
        for b in &live[i + 1..] {
            if overlaps(&a.range, &b.range) {
                return Err(format!("{a:?} overlaps {b:?}"));
            }
        }
        // The descriptors covering the allocation's pages all have its type,
        // with no hole.
        let first = a.range.start & !(EFI_PAGE_SIZE - 1);
        let mut cursor = first;
        for d in map.descriptors().filter(|d| d.end() > first && d.start < a.range.end) {
            if d.start > cursor || d.ty != a.ty {
                return Err(format!("{a:?}: {:#x} is {:?}", cursor.max(d.start), d.ty));
            }
            cursor = d.end();
        }
        if cursor < a.range.end {
            return Err(format!("{a:?}: {cursor:#x} is not in the map"));
        }
    }
    for (range, ty) in firmware {
        if type_at(map, range.start) != Some(*ty) || type_at(map, range.end - 1) != Some(*ty) {
            return Err(format!("the firmware's {ty:?} at {range:#x?} changed type"));
        }
    }
    Ok(())
}

/// One random step; returns what it did (for the failure message).
fn step(r: &mut Random, layout: &mut Layout, live: &mut Vec<Live>) -> String {
    let memory = &mut layout.memory;
    let ty = TYPES[r.below(TYPES.len() as u64) as usize];
    match r.below(9) {
        0..=2 => {
            let most = if r.below(8) == 0 { 8192 } else { 64 };
            let pages = 1 + r.below(most);
            let kind = match r.below(4) {
                0 => AllocateType::AnyPages,
                1 => AllocateType::MaxAddress(r.below(256 * MIB) | 0xfff),
                2 => AllocateType::Address(r.below(256 * MIB) & !(EFI_PAGE_SIZE - 1)),
                _ => AllocateType::AnyPages,
            };
            let align = if r.below(4) == 0 { 2 * MIB } else { EFI_PAGE_SIZE };
            let kind = match kind {
                AllocateType::Address(a) => AllocateType::Address(a & !(align - 1)),
                other => other,
            };
            if let Ok(start) = memory.map.allocate_pages_aligned(kind, ty, pages, align) {
                if let AllocateType::Address(wanted) = kind {
                    assert_eq!(start, wanted, "AllocateAddress placed elsewhere");
                }
                if let AllocateType::MaxAddress(max) = kind {
                    assert!(start + pages * EFI_PAGE_SIZE - 1 <= max, "MaxAddress exceeded");
                }
                assert_eq!(start % align, 0, "misaligned allocation");
                live.push(Live {
                    range: start..start + pages * EFI_PAGE_SIZE,
                    ty,
                    pool: false,
                });
            }
            format!("AllocatePages({kind:?}, {ty:?}, {pages}, align {align:#x})")
        }
        3 => {
            let most = if r.below(6) == 0 { 3 * MIB } else { 4096 };
            let size = 1 + r.below(most) as usize;
            if let Ok(address) = memory.allocate_pool(ty, size) {
                assert_eq!(address % 8, 0, "pool allocation not 8-byte aligned");
                live.push(Live {
                    range: address..address + size as u64,
                    ty,
                    pool: true,
                });
            }
            format!("AllocatePool({ty:?}, {size})")
        }
        4 | 5 if !live.is_empty() => {
            let i = r.below(live.len() as u64) as usize;
            let a = live[i].clone();
            if a.pool {
                memory.free_pool(a.range.start).expect("FreePool of a live allocation");
                live.remove(i);
                return format!("FreePool({:#x})", a.range.start);
            }
            // FreePool of page memory, and FreePages of pool memory, are refused.
            assert!(memory.free_pool(a.range.start).is_err(), "FreePool freed pages");
            let pages = (a.range.end - a.range.start) / EFI_PAGE_SIZE;
            let part = if pages > 1 && r.below(3) == 0 {
                1 + r.below(pages - 1)
            } else {
                pages
            };
            memory
                .free_pages(a.range.start, part)
                .expect("FreePages of a live allocation");
            if part == pages {
                live.remove(i);
            } else {
                live[i].range.start += part * EFI_PAGE_SIZE;
            }
            format!("FreePages({:#x}, {part})", a.range.start)
        }
        6 => {
            // Freeing what nobody allocated: the firmware's memory, pool pages,
            // free memory.
            let (range, _) = &layout.firmware[r.below(layout.firmware.len() as u64) as usize];
            assert!(
                memory.free_pages(range.start, 1).is_err(),
                "FreePages freed firmware memory"
            );
            if let Some(p) = live.iter().find(|l| l.pool) {
                let page = p.range.start & !(EFI_PAGE_SIZE - 1);
                assert!(memory.free_pages(page, 1).is_err(), "FreePages freed pool memory");
            }
            format!("FreePages of {range:#x?} (refused)")
        }
        7 => {
            // The firmware takes free memory for itself (LoadImage of a driver,
            // a table it installs) and changes an allocation's type by freeing
            // and allocating it at the same address.
            if let Ok(start) = memory
                .map
                .allocate_pages(AllocateType::AnyPages, MemoryType::LoaderData, 2)
            {
                memory.map.free_pages(start, 2).unwrap();
                memory.map.set_type(start, 2, MemoryType::RuntimeServicesData).unwrap();
                layout
                    .firmware
                    .push((start..start + 2 * EFI_PAGE_SIZE, MemoryType::RuntimeServicesData));
                return format!("firmware takes {start:#x}+2 pages");
            }
            "firmware takes nothing (full)".into()
        }
        _ => {
            if let Some(i) = live.iter().position(|l| !l.pool) {
                let a = live[i].clone();
                let pages = (a.range.end - a.range.start) / EFI_PAGE_SIZE;
                memory.free_pages(a.range.start, pages).unwrap();
                let start = memory
                    .map
                    .allocate_pages(AllocateType::Address(a.range.start), ty, pages)
                    .expect("the pages just freed are free");
                live[i] = Live { ty, ..a };
                return format!("retype {start:#x}+{pages} pages to {ty:?}");
            }
            "retype nothing".into()
        }
    }
}

#[test]
fn nothing_handed_out_overlaps_the_firmware_or_another_allocation() {
    for seed in 1..=32u64 {
        let mut r = Random(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
        let mut layout = layout();
        let mut live: Vec<Live> = Vec::new();
        let steps = 200 + r.below(400);
        for n in 0..steps {
            let what = step(&mut r, &mut layout, &mut live);
            if let Err(e) = check(&layout.memory.map, &layout.firmware, &live) {
                panic!("seed {seed}, step {n} ({what}): {e}");
            }
        }
        // ExitBootServices: the OS's copy of the map must say the same.
        let mut buffer = alloc::vec![0u8; layout.memory.map.map_size()];
        let (_, written) = layout.memory.get_memory_map(&mut buffer).unwrap();
        assert_eq!(written, buffer.len());
        if let Err(e) = check(&layout.memory.map, &layout.firmware, &live) {
            panic!("seed {seed}, at ExitBootServices: {e}");
        }
    }
}
