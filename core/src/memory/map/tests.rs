use super::*;
use alloc::vec;
use MemoryType::*;

const MIB: u64 = 1 << 20;
const GIB: u64 = 1 << 30;

fn pages(bytes: u64) -> u64 {
    bytes / EFI_PAGE_SIZE
}

/// 0..640 KiB RAM, 640 KiB..1 MiB reserved, 1 MiB..2 GiB RAM, 4 GiB..6 GiB RAM.
fn vmm_map() -> MemoryMap {
    let mut map = MemoryMap::new();
    map.add_range(0, pages(0xA0000), ConventionalMemory).unwrap();
    map.add_range(0xA0000, pages(0x60000), ReservedMemoryType).unwrap();
    map.add_range(MIB, pages(2 * GIB - MIB), ConventionalMemory).unwrap();
    map.add_range(4 * GIB, pages(2 * GIB), ConventionalMemory).unwrap();
    map
}

fn list(map: &MemoryMap) -> Vec<(u64, u64, MemoryType)> {
    map.descriptors().map(|d| (d.start, d.end(), d.ty)).collect()
}

#[test]
fn builds_a_sorted_map_from_the_vmm_regions() {
    let map = vmm_map();
    assert_eq!(
        list(&map),
        vec![
            (0, 0xA0000, ConventionalMemory),
            (0xA0000, MIB, ReservedMemoryType),
            (MIB, 2 * GIB, ConventionalMemory),
            (4 * GIB, 6 * GIB, ConventionalMemory),
        ]
    );
}

#[test]
fn reserved_ranges_win_over_ram_in_any_order() {
    let mut a = MemoryMap::new();
    a.add_range(0, 256, ConventionalMemory).unwrap();
    a.add_range(0x10000, 16, ACPIMemoryNVS).unwrap();
    let mut b = MemoryMap::new();
    b.add_range(0x10000, 16, ACPIMemoryNVS).unwrap();
    b.add_range(0, 256, ConventionalMemory).unwrap();
    let expected = vec![
        (0, 0x10000, ConventionalMemory),
        (0x10000, 0x20000, ACPIMemoryNVS),
        (0x20000, 0x100000, ConventionalMemory),
    ];
    assert_eq!(list(&a), expected);
    assert_eq!(list(&b), expected);
}

#[test]
fn boot_regions_round_ram_inwards_and_reserved_outwards() {
    let mut map = MemoryMap::new();
    let ram = |start, size| MemoryRegion {
        start,
        size,
        kind: MemoryKind::Ram,
    };
    map.add_boot_region(&ram(0, 0x9FC00)).unwrap();
    map.add_boot_region(&MemoryRegion {
        start: 0x9FC00,
        size: 0x400,
        kind: MemoryKind::Reserved,
    })
    .unwrap();
    map.add_boot_region(&ram(0x100800, 0x1000)).unwrap(); // no whole page
    assert_eq!(
        list(&map),
        vec![(0, 0x9F000, ConventionalMemory), (0x9F000, 0xA0000, ReservedMemoryType)]
    );
}

#[test]
fn set_type_splits_a_descriptor_in_three() {
    let mut map = vmm_map();
    map.set_type(0x20_0000, 0x100, RuntimeServicesCode).unwrap();
    let d: Vec<_> = map
        .descriptors()
        .filter(|d| d.start < 2 * GIB && d.start >= MIB)
        .collect();
    assert_eq!(d.len(), 3);
    assert_eq!((d[0].start, d[0].end(), d[0].ty), (MIB, 0x20_0000, ConventionalMemory));
    assert_eq!(
        (d[1].start, d[1].pages, d[1].ty),
        (0x20_0000, 0x100, RuntimeServicesCode)
    );
    assert_eq!(d[1].attribute, RuntimeServicesCode.default_attribute());
    assert_eq!((d[2].start, d[2].end()), (0x30_0000, 2 * GIB));
}

#[test]
fn set_type_fills_holes_for_runtime_mmio() {
    let mut map = vmm_map();
    map.set_type(0xFEC0_0000, 1, MemoryMappedIO).unwrap();
    let mmio = map.descriptors().find(|d| d.ty == MemoryMappedIO).unwrap();
    assert_eq!((mmio.start, mmio.pages), (0xFEC0_0000, 1));
    assert_ne!(mmio.attribute & efi::MEMORY_RUNTIME, 0);
}

#[test]
fn set_type_covering_widens_to_pages() {
    let mut map = vmm_map();
    map.set_type_covering(0x20_0010..0x20_1001, BootServicesData).unwrap();
    let d = map.descriptors().find(|d| d.ty == BootServicesData).unwrap();
    assert_eq!((d.start, d.pages), (0x20_0000, 2));
}

#[test]
fn any_pages_takes_the_top_below_4_gib_first() {
    let mut map = vmm_map();
    let a = map.allocate_pages(AllocateType::AnyPages, LoaderData, 4).unwrap();
    assert_eq!(a, 2 * GIB - 4 * EFI_PAGE_SIZE);
    map.allocate_pages(AllocateType::Address(GIB), LoaderData, 1).unwrap();
    // Too big for low memory: taken above 4 GiB.
    let b = map
        .allocate_pages(AllocateType::AnyPages, LoaderData, pages(GIB + GIB / 2))
        .unwrap();
    assert_eq!(b, 6 * GIB - (GIB + GIB / 2));
}

#[test]
fn max_address_is_respected() {
    let mut map = vmm_map();
    let max = 0x1234_5FFF; // the last byte of the range may sit here
    let a = map
        .allocate_pages(AllocateType::MaxAddress(max), LoaderCode, 2)
        .unwrap();
    assert_eq!(a, 0x1234_4000);
    let b = map
        .allocate_pages(AllocateType::MaxAddress(0x1234_5FFE), LoaderCode, 1)
        .unwrap();
    assert_eq!(b, 0x1234_3000);
    assert!(b + EFI_PAGE_SIZE - 1 <= 0x1234_5FFE);
    let err = map
        .allocate_pages(AllocateType::MaxAddress(0xFFF), LoaderCode, 1)
        .unwrap_err();
    assert_eq!(err, MemoryError::OutOfResources { pages: 1 });
    assert_eq!(err.status(), efi::Status::OUT_OF_RESOURCES);
}

#[test]
fn max_address_of_all_ones_reaches_high_memory() {
    let mut map = vmm_map();
    let a = map
        .allocate_pages(AllocateType::MaxAddress(u64::MAX), LoaderData, 1)
        .unwrap();
    assert_eq!(a, 6 * GIB - EFI_PAGE_SIZE);
}

#[test]
fn address_allocation_takes_exactly_that_range() {
    let mut map = vmm_map();
    let a = map
        .allocate_pages(AllocateType::Address(16 * MIB), LoaderCode, 0x100)
        .unwrap();
    assert_eq!(a, 16 * MIB);
    let d = map.descriptors().find(|d| d.ty == LoaderCode).unwrap();
    assert_eq!((d.start, d.pages), (16 * MIB, 0x100));
}

#[test]
fn address_collision_is_not_found() {
    let mut map = vmm_map();
    map.allocate_pages(AllocateType::Address(16 * MIB), LoaderCode, 0x100)
        .unwrap();
    for (addr, n) in [(16 * MIB, 1), (16 * MIB - EFI_PAGE_SIZE, 2), (0x9F000, 2), (3 * GIB, 1)] {
        let err = map
            .allocate_pages(AllocateType::Address(addr), LoaderData, n)
            .unwrap_err();
        assert_eq!(
            err,
            MemoryError::NotFound {
                address: addr,
                pages: n
            }
        );
        assert_eq!(err.status(), efi::Status::NOT_FOUND);
    }
    let err = map
        .allocate_pages(AllocateType::Address(!EFI_PAGE_MASK), LoaderData, 2)
        .unwrap_err();
    assert_eq!(err.status(), efi::Status::NOT_FOUND);
}

#[test]
fn aligned_allocations_honour_large_alignment() {
    let mut map = vmm_map();
    map.allocate_pages(AllocateType::AnyPages, LoaderData, 1).unwrap();
    let a = map
        .allocate_pages_aligned(AllocateType::AnyPages, LoaderCode, 300, 2 * MIB)
        .unwrap();
    assert_eq!(a % (2 * MIB), 0);
    assert!(a + 300 * EFI_PAGE_SIZE <= 2 * GIB - EFI_PAGE_SIZE);
    let err = map
        .allocate_pages_aligned(AllocateType::Address(0x30_1000), LoaderCode, 1, 2 * MIB)
        .unwrap_err();
    assert_eq!(
        err,
        MemoryError::Unaligned {
            address: 0x30_1000,
            align: 2 * MIB
        }
    );
    for align in [0, 0x800, 0x3000] {
        let err = map
            .allocate_pages_aligned(AllocateType::AnyPages, LoaderCode, 1, align)
            .unwrap_err();
        assert_eq!(err.status(), efi::Status::INVALID_PARAMETER);
    }
}

#[test]
fn low_allocations_take_the_lowest_aligned_free_range_above_the_minimum() {
    let mut map = vmm_map();
    let min = 16 * MIB;
    let a = map.allocate_pages_low(LoaderCode, 300, 2 * MIB, min).unwrap();
    assert_eq!(a, min);
    // The next one goes right after, rounded up to the alignment.
    let b = map.allocate_pages_low(LoaderCode, 300, 2 * MIB, min).unwrap();
    assert_eq!(b, min + 2 * MIB);
    // A range that is taken is skipped.
    map.allocate_pages(AllocateType::Address(20 * MIB), LoaderData, 1)
        .unwrap();
    let c = map.allocate_pages_low(LoaderCode, 1, 2 * MIB, 20 * MIB).unwrap();
    assert_eq!(c, 22 * MIB);
    assert_eq!(
        map.allocate_pages_low(LoaderCode, 1, 0x800, min),
        Err(MemoryError::InvalidAlignment { align: 0x800 })
    );
}

#[test]
fn allocations_within_a_window_fit_wholly_inside_it_or_take_nothing() {
    let mut map = vmm_map();
    let key = map.map_key();
    // 15 MiB and a page do not fit between 1 MiB and 16 MiB.
    assert_eq!(
        map.allocate_pages_within(LoaderCode, 15 * 256 + 1, EFI_PAGE_SIZE, MIB..16 * MIB),
        None
    );
    assert_eq!(map.map_key(), key);
    map.allocate_pages(AllocateType::Address(MIB), LoaderData, 3).unwrap();
    let a = map
        .allocate_pages_within(LoaderCode, 14 * 256, EFI_PAGE_SIZE, MIB..16 * MIB)
        .unwrap();
    assert_eq!(a, MIB + 3 * EFI_PAGE_SIZE);
    assert!(a + 14 * MIB <= 16 * MIB);
    assert_eq!(map.allocate_pages_within(LoaderCode, 1, 0x800, MIB..16 * MIB), None);
}

#[test]
fn low_allocations_fall_back_to_any_pages_when_nothing_fits_above_the_minimum() {
    let mut map = vmm_map();
    // Nothing below 4 GiB lies above 3 GiB here: the top of the low range is used.
    let a = map.allocate_pages_low(LoaderCode, 16, 2 * MIB, 3 * GIB).unwrap();
    assert!(a < 2 * GIB, "{a:#x}");
    assert_eq!(a % (2 * MIB), 0);
}

#[test]
fn bad_requests_are_errors_not_panics() {
    let mut map = vmm_map();
    let key = map.map_key();
    let any = AllocateType::AnyPages;
    assert_eq!(map.allocate_pages(any, LoaderData, 0), Err(MemoryError::ZeroPages));
    assert_eq!(
        map.allocate_pages(any, LoaderData, u64::MAX),
        Err(MemoryError::OutOfResources { pages: u64::MAX })
    );
    assert_eq!(
        map.allocate_pages(AllocateType::Address(0x1001), LoaderData, 1),
        Err(MemoryError::Unaligned {
            address: 0x1001,
            align: EFI_PAGE_SIZE
        })
    );
    assert_eq!(
        map.allocate_pages(any, ConventionalMemory, 1),
        Err(MemoryError::NotAllocatable { ty: ConventionalMemory })
    );
    assert_eq!(
        map.allocate_pages(any, PersistentMemory, 1).unwrap_err().status(),
        efi::Status::INVALID_PARAMETER
    );
    assert_eq!(
        map.free_pages(!EFI_PAGE_MASK, 2),
        Err(MemoryError::RangeOverflow {
            start: !EFI_PAGE_MASK,
            pages: 2
        })
    );
    assert_eq!(map.free_pages(0x1000, 0), Err(MemoryError::ZeroPages));
    assert_eq!(
        map.add_range(0x10, 1, ConventionalMemory).unwrap_err().status(),
        efi::Status::INVALID_PARAMETER
    );
    assert_eq!(
        map.set_type(0, u64::MAX, LoaderData).unwrap_err().status(),
        efi::Status::INVALID_PARAMETER
    );
    assert_eq!(map.map_key(), key, "failed calls must not change the map");
    assert_eq!(
        AllocateType::from_raw(3, 0),
        Err(MemoryError::InvalidAllocateType { raw: 3 })
    );
    assert_eq!(
        AllocateType::from_raw(efi::ALLOCATE_MAX_ADDRESS, 7),
        Ok(AllocateType::MaxAddress(7))
    );
}

#[test]
fn page_zero_is_only_given_on_request() {
    let mut map = MemoryMap::new();
    map.add_range(0, 2, ConventionalMemory).unwrap();
    assert_eq!(map.allocate_pages(AllocateType::AnyPages, LoaderData, 1), Ok(0x1000));
    assert!(map.allocate_pages(AllocateType::AnyPages, LoaderData, 1).is_err());
    assert_eq!(map.allocate_pages(AllocateType::Address(0), LoaderData, 1), Ok(0));
}

#[test]
fn freeing_merges_back_with_free_neighbours() {
    let mut map = vmm_map();
    let before = list(&map);
    let a = map.allocate_pages(AllocateType::AnyPages, BootServicesData, 8).unwrap();
    let b = map
        .allocate_pages(AllocateType::Address(64 * MIB), LoaderData, 8)
        .unwrap();
    assert_eq!(map.descriptors().count(), before.len() + 3);
    map.free_pages(b, 8).unwrap();
    map.free_pages(a, 8).unwrap();
    assert_eq!(list(&map), before);
}

#[test]
fn adjacent_allocations_of_one_type_show_as_one_descriptor() {
    let mut map = vmm_map();
    let a = map.allocate_pages(AllocateType::AnyPages, LoaderData, 1).unwrap();
    let b = map.allocate_pages(AllocateType::AnyPages, LoaderData, 1).unwrap();
    assert_eq!(b + EFI_PAGE_SIZE, a);
    let d: Vec<_> = map.descriptors().filter(|d| d.ty == LoaderData).collect();
    assert_eq!(d.len(), 1);
    assert_eq!((d[0].start, d[0].pages), (b, 2));
    // ...and each can still be freed on its own.
    map.free_pages(a, 1).unwrap();
    assert_eq!(map.pages_of(LoaderData), 1);
}

#[test]
fn head_and_tail_of_an_allocation_can_be_freed() {
    let mut map = vmm_map();
    let a = map.allocate_pages(AllocateType::AnyPages, LoaderData, 16).unwrap();
    map.free_pages(a, 3).unwrap();
    map.free_pages(a + 12 * EFI_PAGE_SIZE, 4).unwrap();
    let d = map.descriptors().find(|d| d.ty == LoaderData).unwrap();
    assert_eq!((d.start, d.pages), (a + 3 * EFI_PAGE_SIZE, 9));
}

#[test]
fn free_of_memory_not_allocated_is_not_found() {
    let mut map = vmm_map();
    map.set_type(0x20_0000, 16, RuntimeServicesData).unwrap();
    let a = map.allocate_pages(AllocateType::AnyPages, LoaderData, 4).unwrap();
    let cases = [
        (0x40_0000, 1),         // free memory
        (0xA0000, 1),           // reserved by the VMM
        (0x20_0000, 16),        // firmware runtime data
        (3 * GIB, 1),           // not in the map
        (a, 5),                 // runs past the allocation
        (a - EFI_PAGE_SIZE, 2), // starts before it
    ];
    for (addr, n) in cases {
        let err = map.free_pages(addr, n).unwrap_err();
        assert_eq!(
            err,
            MemoryError::NotAllocated {
                address: addr,
                pages: n
            }
        );
        assert_eq!(err.status(), efi::Status::NOT_FOUND);
    }
    assert_eq!(
        map.free_pages(a + 1, 1).unwrap_err().status(),
        efi::Status::INVALID_PARAMETER
    );
    map.free_pages(a, 4).unwrap();
    assert_eq!(map.free_pages(a, 4).unwrap_err().status(), efi::Status::NOT_FOUND);
}

#[test]
fn map_key_changes_on_every_modification() {
    let mut map = vmm_map();
    let k0 = map.map_key();
    let a = map.allocate_pages(AllocateType::AnyPages, LoaderData, 1).unwrap();
    let k1 = map.map_key();
    assert_ne!(k0, k1);
    map.free_pages(a, 1).unwrap();
    let k2 = map.map_key();
    assert_ne!(k1, k2);
    let mut buf = vec![0u8; 4096];
    assert_eq!(map.get_memory_map(&mut buf).unwrap().0, k2);
    assert_eq!(map.map_key(), k2, "reading the map does not change it");
    map.set_type(0x20_0000, 1, BootServicesCode).unwrap();
    assert_ne!(map.map_key(), k2);
}

#[test]
fn get_memory_map_reports_the_size_it_needs() {
    let map = vmm_map();
    let needed = 4 * DESCRIPTOR_SIZE;
    for len in [0, 1, needed - 1] {
        let mut buf = vec![0xAAu8; len];
        assert_eq!(
            map.get_memory_map(&mut buf),
            Err(MemoryError::BufferTooSmall { needed })
        );
        assert!(buf.iter().all(|&b| b == 0xAA), "nothing written");
    }
    let err = MemoryError::BufferTooSmall { needed };
    assert_eq!(err.status(), efi::Status::BUFFER_TOO_SMALL);
    let mut buf = vec![0u8; needed + 100];
    assert_eq!(map.get_memory_map(&mut buf), Ok((map.map_key(), needed)));
}

#[test]
fn descriptors_are_written_with_a_stride_of_48() {
    assert_eq!(size_of::<efi::MemoryDescriptor>(), 40);
    let mut map = vmm_map();
    map.set_type(0x20_0000, 2, RuntimeServicesCode).unwrap();
    let mut buf = vec![0xFFu8; 16 * DESCRIPTOR_SIZE];
    let (_, size) = map.get_memory_map(&mut buf).unwrap();
    assert_eq!(size, 6 * DESCRIPTOR_SIZE);
    let read_u64 = |b: &[u8], o: usize| u64::from_ne_bytes(b[o..o + 8].try_into().unwrap());
    let decoded: Vec<Descriptor> = buf[..size]
        .chunks_exact(DESCRIPTOR_SIZE)
        .map(|b| {
            assert!(b[4..8].iter().chain(&b[40..48]).all(|&x| x == 0), "padding zeroed");
            assert_eq!(read_u64(b, 16), 0, "virtual start");
            Descriptor {
                ty: MemoryType::from_raw(u32::from_ne_bytes(b[0..4].try_into().unwrap())).unwrap(),
                start: read_u64(b, 8),
                pages: read_u64(b, 24),
                attribute: read_u64(b, 32),
            }
        })
        .collect();
    assert_eq!(decoded, map.descriptors().collect::<Vec<_>>());
    assert_eq!(decoded[3].to_efi().r#type, efi::RUNTIME_SERVICES_CODE);
    assert_eq!(DESCRIPTOR_VERSION, 1);
}

#[test]
fn oem_and_os_types_can_be_allocated_and_reported() {
    let mut map = vmm_map();
    let a = map.allocate_pages(AllocateType::AnyPages, Oem(0x7000_0001), 2).unwrap();
    map.allocate_pages(AllocateType::AnyPages, Os(0x8000_0002), 3).unwrap();
    let d = map.descriptors().find(|d| d.start == a).unwrap();
    assert_eq!(d.ty, Oem(0x7000_0001));
    assert_eq!(map.pages_of(Oem(0x7000_0005)), 2);
    assert_eq!(map.pages_of(Os(0x8000_0002)), 3);
}

#[test]
fn statistics_count_pages_per_type_and_the_boot_services_peak() {
    let mut map = vmm_map();
    let ram = pages(0xA0000) + pages(2 * GIB - MIB) + pages(2 * GIB);
    let s = map.statistics();
    assert_eq!(s.pages(ConventionalMemory), ram);
    assert_eq!(s.pages(ReservedMemoryType), pages(0x60000));
    map.set_type(0x20_0000, 10, RuntimeServicesCode).unwrap();
    let a = map
        .allocate_pages(AllocateType::AnyPages, BootServicesData, 100)
        .unwrap();
    let b = map
        .allocate_pages(AllocateType::AnyPages, BootServicesCode, 20)
        .unwrap();
    map.free_pages(a, 100).unwrap();
    map.allocate_pages(AllocateType::AnyPages, BootServicesData, 30)
        .unwrap();
    map.free_pages(b, 10).unwrap();
    let s = map.statistics();
    assert_eq!(s.pages(BootServicesData), 30);
    assert_eq!(s.pages(BootServicesCode), 10);
    assert_eq!(s.boot_services_pages(), 40);
    assert_eq!(s.peak_boot_services_pages, 120);
    assert_eq!(s.pages(ConventionalMemory), ram - 10 - 40);
    assert_eq!(s.firmware_reserved_pages(), pages(0x60000) + 10);
    assert_eq!(s.usable_after_exit_boot_services_pages(), ram - 10);
    let total: u64 = map.descriptors().map(|d| d.pages).sum();
    let counted: u64 = MemoryType::standard().iter().map(|&t| s.pages(t)).sum();
    assert_eq!(total, counted);
}
