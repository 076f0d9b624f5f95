//! The text of the paths the firmware builds.

use super::*;
use crate::device_path::builder::{HardDrive, LINUX_EFI_INITRD_MEDIA_GUID};
use crate::device_path::DevicePathBuf;
use std::vec;

const GPT_GUID: [u8; 16] = [
    0x28, 0x73, 0x2A, 0xC1, 0x1F, 0xF8, 0xD2, 0x11, 0xBA, 0x4B, 0x00, 0xA0, 0xC9, 0x3E, 0xC9, 0x3B,
];

fn partition(mbr: bool) -> HardDrive {
    HardDrive {
        partition_number: 1,
        partition_start: 0x800,
        partition_size: 0x1F000,
        signature: if mbr {
            let mut s = [0; 16];
            s[..4].copy_from_slice(&0x00C0_FFEEu32.to_le_bytes());
            s
        } else {
            GPT_GUID
        },
        mbr_type: if mbr { 1 } else { 2 },
        signature_type: if mbr { 1 } else { 2 },
    }
}

#[test]
fn device_path_text_of_a_virtio_blk_partition_boot_file() {
    let path = DevicePathBuf::new()
        .pci_root(0)
        .pci(3, 0)
        .hard_drive(&partition(false))
        .file_path("\\EFI\\BOOT\\BOOTX64.EFI")
        .unwrap();
    assert_eq!(
        path_to_text(path.as_bytes(), TextForm::SHORTCUTS).unwrap(),
        "PciRoot(0x0)/Pci(0x3,0x0)/HD(1,GPT,C12A7328-F81F-11D2-BA4B-00A0C93EC93B,0x800,0x1f000)/\\EFI\\BOOT\\BOOTX64.EFI"
    );
}

#[test]
fn device_path_text_of_an_mbr_partition() {
    let path = DevicePathBuf::new()
        .pci_root(1)
        .pci(0x1f, 7)
        .hard_drive(&partition(true));
    assert_eq!(
        path_to_text(path.as_bytes(), TextForm::SHORTCUTS).unwrap(),
        "PciRoot(0x1)/Pci(0x1f,0x7)/HD(1,MBR,0x00c0ffee,0x800,0x1f000)"
    );
}

#[test]
fn device_path_text_of_vendor_and_acpi_nodes() {
    let initrd = DevicePathBuf::linux_initrd_media();
    assert_eq!(
        path_to_text(initrd.as_bytes(), TextForm::SHORTCUTS).unwrap(),
        "VenMedia(5568E427-68FC-4F3D-AC74-CA555231CC68)"
    );
    let hw = DevicePathBuf::new()
        .vendor_hardware(&LINUX_EFI_INITRD_MEDIA_GUID, &[0x01, 0xAB])
        .unwrap();
    assert_eq!(
        path_to_text(hw.as_bytes(), TextForm::SHORTCUTS).unwrap(),
        "VenHw(5568E427-68FC-4F3D-AC74-CA555231CC68,01AB)"
    );
    let mmio = DevicePathBuf::new().virtio_mmio(0xA003E00);
    assert_eq!(
        path_to_text(mmio.as_bytes(), TextForm::SHORTCUTS).unwrap(),
        "VenHw(837DCA9E-E874-4D82-B29A-23FE0E23D1E2,003E000A00000000)"
    );
    let serial = DevicePathBuf::new().acpi(0x0501_41D0, 0).acpi(0x0A08_41D0, 2);
    assert_eq!(
        path_to_text(serial.as_bytes(), TextForm::SHORTCUTS).unwrap(),
        "Serial(0x0)/PcieRoot(0x2)"
    );
    assert_eq!(
        path_to_text(serial.as_bytes(), TextForm::PARSEABLE).unwrap(),
        "Acpi(PNP0501,0x0)/Acpi(PNP0A08,0x2)"
    );
}

#[test]
fn device_path_text_of_unknown_and_short_nodes_is_generic() {
    let mut path = DevicePathBuf::new();
    path.push_node(3, 0x12, &[0x00, 0x01, 0xFF]).unwrap();
    // A PCI node one byte short of its fields.
    path.push_node(1, 1, &[0x03]).unwrap();
    path.push_node(5, 1, &[]).unwrap();
    assert_eq!(
        path_to_text(path.as_bytes(), TextForm::SHORTCUTS).unwrap(),
        "Msg(18,0001FF)/HardwarePath(1,03)/BbsPath(1)"
    );
}

#[test]
fn device_path_text_separates_instances_with_commas() {
    let mut bytes = DevicePathBuf::new().pci_root(0).pci(1, 0).as_bytes().to_vec();
    let at = bytes.len() - 4;
    bytes[at + 1] = 0x01; // End Instance
    bytes.extend_from_slice(DevicePathBuf::new().pci_root(0).pci(2, 0).as_bytes());
    assert_eq!(
        path_to_text(&bytes, TextForm::SHORTCUTS).unwrap(),
        "PciRoot(0x0)/Pci(0x1,0x0),PciRoot(0x0)/Pci(0x2,0x0)"
    );
    assert_eq!(
        path_to_text(DevicePathBuf::new().as_bytes(), TextForm::PARSEABLE).unwrap(),
        ""
    );
}

#[test]
fn device_path_text_of_malformed_path_is_an_error() {
    assert!(path_to_text(&[1, 1, 2, 0], TextForm::PARSEABLE).is_err());
    assert!(path_to_text(&[1, 1, 6, 0, 0, 3], TextForm::PARSEABLE).is_err());
    let node = Node::parse(&[4, 1, 8, 0, 1, 0, 0, 0]).unwrap();
    assert_eq!(node_to_text(&node, TextForm::PARSEABLE), "MediaPath(1,01000000)");
    let end = vec![0x7F, 0x01, 4, 0];
    assert_eq!(node_to_text(&Node::parse(&end).unwrap(), TextForm::PARSEABLE), ",");
}
