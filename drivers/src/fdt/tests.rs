//! Tests on real blobs: `qemu-virt.dtb` is what `qemu-system-aarch64 -M virt
//! -m 512M -kernel ... -initrd ... -append ...` passes (dumped with
//! `-machine virt,dumpdtb=`, compacted by dtc); `reserved.dtb` is built from
//! `reserved.dts` beside it.

use super::*;
use std::vec::Vec;

const QEMU_VIRT: &[u8] = include_bytes!("qemu-virt.dtb");
const RESERVED: &[u8] = include_bytes!("reserved.dtb");

#[test]
fn reads_qemu_virt_memory_and_chosen() {
    let fdt = Fdt::new(QEMU_VIRT).unwrap();
    let memory: Vec<_> = fdt.nodes().filter(|n| n.is_memory()).flat_map(|n| n.reg()).collect();
    assert_eq!(memory, [(0x4000_0000, 0x2000_0000)]);
    let chosen = fdt.find_path("/chosen").unwrap();
    assert_eq!(chosen.str_property("bootargs"), Some("console=ttyAMA0 hvfw.test=fdt"));
    assert_eq!(chosen.number_property("linux,initrd-start"), Some(0x4800_0000));
    assert_eq!(chosen.number_property("linux,initrd-end"), Some(0x4800_0006));
    assert_eq!(fdt.reservations().count(), 0);
}

#[test]
fn finds_qemu_virt_devices_by_compatible() {
    let fdt = Fdt::new(QEMU_VIRT).unwrap();
    let uart = fdt.stdout().unwrap();
    assert!(uart.is_compatible("arm,pl011"));
    assert_eq!(uart.first_reg(), Some((0x900_0000, 0x1000)));
    assert_eq!(
        fdt.find_compatible("arm,pl031").unwrap().first_reg(),
        Some((0x901_0000, 0x1000))
    );
    let psci = fdt.find_compatible("arm,psci-0.2").unwrap();
    assert_eq!(psci.str_property("method"), Some("hvc"));
    let virtio: Vec<_> = fdt
        .nodes()
        .filter(|n| n.is_compatible("virtio,mmio"))
        .filter_map(|n| n.first_reg())
        .collect();
    assert_eq!(virtio.len(), 32);
    assert!(virtio.contains(&(0xa00_0000, 0x200)));
}

#[test]
fn reads_pci_host_bridge_windows() {
    let fdt = Fdt::new(QEMU_VIRT).unwrap();
    let pci = fdt.find_compatible("pci-host-ecam-generic").unwrap();
    // With highmem, QEMU moves ECAM above 256 GiB.
    assert_eq!(pci.first_reg(), Some((0x40_1000_0000, 0x1000_0000)));
    assert_eq!(pci.bus_range(), (0, 255));
    let ranges: Vec<_> = pci.pci_ranges().collect();
    assert_eq!(
        ranges,
        [
            PciRange {
                space: PciSpace::Io,
                prefetchable: false,
                pci_address: 0,
                cpu_address: 0x3eff_0000,
                size: 0x1_0000
            },
            PciRange {
                space: PciSpace::Memory32,
                prefetchable: false,
                pci_address: 0x1000_0000,
                cpu_address: 0x1000_0000,
                size: 0x2eff_0000
            },
            PciRange {
                space: PciSpace::Memory64,
                prefetchable: false,
                pci_address: 0x80_0000_0000,
                cpu_address: 0x80_0000_0000,
                size: 0x80_0000_0000
            },
        ]
    );
}

#[test]
fn reads_reservations_banks_and_smc_psci() {
    let fdt = Fdt::new(RESERVED).unwrap();
    assert_eq!(
        fdt.reservations().collect::<Vec<_>>(),
        [Reservation {
            address: 0x4000_0000,
            size: 0x1_0000
        }]
    );
    let memory: Vec<_> = fdt.nodes().filter(|n| n.is_memory()).flat_map(|n| n.reg()).collect();
    assert_eq!(memory, [(0x4000_0000, 0x2000_0000), (0x1_0000_0000, 0x4000_0000)]);
    let reserved: Vec<_> = fdt
        .find_path("/reserved-memory")
        .unwrap()
        .children()
        .flat_map(|n| n.reg())
        .collect();
    assert_eq!(reserved, [(0x5f00_0000, 0x10_0000)]);
    assert_eq!(
        fdt.find_compatible("arm,psci-1.0").unwrap().str_property("method"),
        Some("smc")
    );
}

#[test]
fn follows_stdout_path_with_options_and_child_cells() {
    let fdt = Fdt::new(RESERVED).unwrap();
    let uart = fdt.stdout().unwrap();
    assert_eq!(uart.name(), "serial@2000");
    // /soc has one address and one size cell.
    assert_eq!((uart.address_cells, uart.size_cells), (1, 1));
    assert_eq!(uart.first_reg(), Some((0x2000, 0x1000)));
    assert_eq!(fdt.find_path("/soc/serial").unwrap().name(), "serial@1000");
    assert!(fdt.find_path("/soc/serial@3000").is_none());
}

#[test]
fn rejects_bad_magic_truncation_and_broken_structure() {
    assert!(matches!(Fdt::new(&[0u8; 8]), Err(Error::Truncated { .. })));
    let mut bad = RESERVED.to_vec();
    bad[0] = 0;
    assert!(matches!(Fdt::new(&bad), Err(Error::BadMagic { .. })));
    assert!(matches!(Fdt::new(&RESERVED[..100]), Err(Error::Truncated { .. })));
    // Turn the structure block's first token (BEGIN_NODE) into garbage.
    let mut broken = RESERVED.to_vec();
    let structure = u32::from_be_bytes(broken[8..12].try_into().unwrap()) as usize;
    broken[structure + 3] = 0x7;
    assert!(matches!(Fdt::new(&broken), Err(Error::BadToken { token: 7, .. })));
}

#[test]
fn survives_every_single_byte_corruption() {
    // No byte flip may panic or loop: Fdt::new either refuses or the walk ends.
    for i in 0..RESERVED.len() {
        let mut blob = RESERVED.to_vec();
        blob[i] ^= 0xff;
        if let Ok(fdt) = Fdt::new(&blob) {
            let _ = fdt
                .nodes()
                .map(|n| n.reg().count() + n.pci_ranges().count())
                .sum::<usize>();
            let _ = fdt.stdout();
            let _ = fdt.reservations().count();
        }
    }
}
