//! Reading back the text of the paths the firmware builds.

use super::*;
use crate::device_path::builder::{HardDrive, UartNode, LINUX_EFI_INITRD_MEDIA_GUID, PL011_UART_GUID};
use crate::device_path::{
    path_to_text, DevicePathBuf, TextForm, EISA_PNP0501, END_INSTANCE_DEVICE_PATH_SUBTYPE, HARDWARE_DEVICE_PATH,
    HW_MEMMAP_DP,
};

fn round_trip(path: &DevicePathBuf) {
    let text = path_to_text(path.as_bytes(), TextForm::PARSEABLE).unwrap();
    assert_eq!(path_from_text(&text).unwrap(), path.as_bytes(), "{text}");
}

fn partition(mbr: bool) -> HardDrive {
    HardDrive {
        partition_number: 2,
        partition_start: 0x800,
        partition_size: 0x1F000,
        signature: if mbr {
            let mut s = [0; 16];
            s[..4].copy_from_slice(&0x00C0_FFEEu32.to_le_bytes());
            s
        } else {
            *LINUX_EFI_INITRD_MEDIA_GUID.as_bytes()
        },
        mbr_type: if mbr { 1 } else { 2 },
        signature_type: if mbr { 1 } else { 2 },
    }
}

#[test]
fn boot_file_paths_on_gpt_and_mbr_partitions_round_trip() {
    for mbr in [false, true] {
        let path = DevicePathBuf::new()
            .pci_root(0)
            .pci(3, 0)
            .hard_drive(&partition(mbr))
            .file_path("\\EFI\\BOOT\\BOOTX64.EFI")
            .unwrap();
        round_trip(&path);
    }
    round_trip(&DevicePathBuf::new().pci_root(1).pci(0x1f, 7));
}

#[test]
fn console_and_vendor_paths_round_trip() {
    let uart = UartNode {
        baud_rate: 115200,
        data_bits: 8,
        parity: 1,
        stop_bits: 1,
    };
    round_trip(&DevicePathBuf::new().acpi(EISA_PNP0501, 0).uart(&uart));
    let pl011 = DevicePathBuf::new()
        .vendor_hardware(&PL011_UART_GUID, &0x0900_0000u64.to_le_bytes())
        .unwrap()
        .uart(&uart);
    round_trip(&pl011);
    round_trip(
        &DevicePathBuf::new()
            .virtio_mmio(0xA003E00)
            .hard_drive(&partition(false)),
    );
    round_trip(&DevicePathBuf::linux_initrd_media());
    round_trip(&DevicePathBuf::new().acpi(0x0A08_41D0, 2));
}

#[test]
fn generic_memory_mapped_and_multi_instance_paths_round_trip() {
    let mut path = DevicePathBuf::new();
    path.push_node(HARDWARE_DEVICE_PATH, HW_MEMMAP_DP, &{
        let mut d = [0u8; 20];
        d[..4].copy_from_slice(&11u32.to_le_bytes());
        d[4..12].copy_from_slice(&0x1000u64.to_le_bytes());
        d[12..].copy_from_slice(&0x1fffu64.to_le_bytes());
        d
    })
    .unwrap();
    path.push_node(3, 0x12, &[0, 1, 0xff]).unwrap();
    path.push_node(5, 1, &[]).unwrap();
    round_trip(&path);
    let mut bytes = DevicePathBuf::new().pci_root(0).pci(1, 0).as_bytes().to_vec();
    let at = bytes.len() - 4;
    bytes[at + 1] = END_INSTANCE_DEVICE_PATH_SUBTYPE;
    bytes.extend_from_slice(DevicePathBuf::new().pci_root(0).pci(2, 0).as_bytes());
    let text = path_to_text(&bytes, TextForm::PARSEABLE).unwrap();
    assert_eq!(path_from_text(&text).unwrap(), bytes);
    assert_eq!(path_from_text("").unwrap(), DevicePathBuf::new().as_bytes());
}

#[test]
fn unknown_node_names_are_file_paths() {
    assert_eq!(
        path_from_text("PciRoot(0x0)/kernel").unwrap(),
        DevicePathBuf::new().pci_root(0).file_path("kernel").unwrap().as_bytes()
    );
    assert_eq!(
        node_from_text("Mystery(1)").unwrap(),
        DevicePathBuf::new().file_path("Mystery(1)").unwrap().as_bytes()[..26]
    );
}

#[test]
fn malformed_text_is_refused_with_its_reason() {
    assert!(matches!(path_from_text("Pci(0x1"), Err(Error::Unbalanced { at: 3 })));
    assert!(matches!(path_from_text("Pci(0x1))"), Err(Error::Unbalanced { .. })));
    assert!(matches!(
        path_from_text("PciRoot(0x0)//a"),
        Err(Error::EmptyNode { at: 13 })
    ));
    assert!(matches!(path_from_text("Pci(0x1)"), Err(Error::BadArguments { .. })));
    assert!(matches!(
        path_from_text("Pci(0x100,0)"),
        Err(Error::BadArguments { .. })
    ));
    assert!(matches!(path_from_text("VenHw(1234)"), Err(Error::BadArguments { .. })));
    assert!(matches!(
        path_from_text("HD(1,GPT,zz,0x1,0x2)"),
        Err(Error::BadArguments { .. })
    ));
    assert!(matches!(
        path_from_text("Uart(9600,8,X,1)"),
        Err(Error::BadArguments { .. })
    ));
    assert!(matches!(
        path_from_text("Acpi(pn0501,0)"),
        Err(Error::BadArguments { .. })
    ));
}
