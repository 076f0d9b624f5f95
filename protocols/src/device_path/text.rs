//! The text form of device path nodes and paths (UEFI 2.10 §10.6.1): nodes are
//! joined with `/`, instances with `,`; nodes this firmware makes get their
//! spec names (`PciRoot(0x0)/Pci(0x3,0x0)/HD(1,GPT,<guid>,0x800,0x1f000)`, file
//! paths as their text), anything else the generic `Path(type,subtype,hex)`.
//! The display-only and shortcut forms are the same here.
#![forbid(unsafe_code)]

use super::node::{nodes, ucs2_text, Node};
use super::{
    Error, ACPI_DEVICE_PATH, ACPI_DP, EISA_PNP0A03, EISA_PNP0A08, HARDWARE_DEVICE_PATH, HW_MEMMAP_DP, HW_PCI_DP,
    HW_VENDOR_DP, MEDIA_DEVICE_PATH, MEDIA_FILEPATH_DP, MEDIA_HARDDRIVE_DP, MEDIA_VENDOR_DP, MESSAGING_DEVICE_PATH,
    MSG_UART_DP, MSG_VENDOR_DP,
};
use alloc::string::String;
use core::fmt::Write;

/// The text of one node. End Instance is `,`, End Entire is empty.
pub fn node_to_text(node: &Node<'_>) -> String {
    let mut text = String::new();
    write_node(&mut text, node);
    text
}

/// The text of a whole path; fails only if the path is malformed.
pub fn path_to_text(path: &[u8]) -> Result<String, Error> {
    let mut text = String::new();
    let mut after_node = false;
    for node in nodes(path) {
        let node = node?;
        if node.is_end() {
            if !node.is_end_entire() {
                text.push(',');
            }
            after_node = false;
            continue;
        }
        if after_node {
            text.push('/');
        }
        write_node(&mut text, &node);
        after_node = true;
    }
    Ok(text)
}

fn write_node(text: &mut String, node: &Node<'_>) {
    if node.is_end() {
        if !node.is_end_entire() {
            text.push(',');
        }
        return;
    }
    // A node too short for its kind's fields falls back to the generic form.
    if write_known(text, node).is_none() {
        write_generic(text, node);
    }
}

fn write_known(text: &mut String, node: &Node<'_>) -> Option<()> {
    let data = node.data();
    // Writing to a String cannot fail.
    let _ = match (node.kind(), node.sub_type()) {
        (HARDWARE_DEVICE_PATH, HW_PCI_DP) => {
            let [function, device] = *data.first_chunk::<2>()?;
            write!(text, "Pci({device:#x},{function:#x})")
        }
        (HARDWARE_DEVICE_PATH, HW_MEMMAP_DP) => {
            let (memory_type, start, end) = (le_u32(data, 0)?, le_u64(data, 4)?, le_u64(data, 12)?);
            write!(text, "MemoryMapped({memory_type:#x},{start:#x},{end:#x})")
        }
        (HARDWARE_DEVICE_PATH, HW_VENDOR_DP) => write_vendor(text, "VenHw", data)?,
        (MESSAGING_DEVICE_PATH, MSG_VENDOR_DP) => write_vendor(text, "VenMsg", data)?,
        (MESSAGING_DEVICE_PATH, MSG_UART_DP) => {
            let (baud, [data_bits, parity, stop_bits]) = (le_u64(data, 4)?, *data.get(12..15)?.first_chunk::<3>()?);
            // §10.6.1.6: parity as D/N/E/O/M/S, stop bits as D/1/1.5/2.
            let parity = match parity {
                0 => "D",
                1 => "N",
                2 => "E",
                3 => "O",
                4 => "M",
                5 => "S",
                _ => return None,
            };
            let stop_bits = match stop_bits {
                0 => "D",
                1 => "1",
                2 => "1.5",
                3 => "2",
                _ => return None,
            };
            write!(text, "Uart({baud},{data_bits},{parity},{stop_bits})")
        }
        (MEDIA_DEVICE_PATH, MEDIA_VENDOR_DP) => write_vendor(text, "VenMedia", data)?,
        (ACPI_DEVICE_PATH, ACPI_DP) => {
            let (hid, uid) = (le_u32(data, 0)?, le_u32(data, 4)?);
            match hid {
                EISA_PNP0A03 => write!(text, "PciRoot({uid:#x})"),
                EISA_PNP0A08 => write!(text, "PcieRoot({uid:#x})"),
                _ => {
                    text.push_str("Acpi(");
                    write_eisa_id(text, hid);
                    write!(text, ",{uid:#x})")
                }
            }
        }
        (MEDIA_DEVICE_PATH, MEDIA_HARDDRIVE_DP) => write_hard_drive(text, data)?,
        (MEDIA_DEVICE_PATH, MEDIA_FILEPATH_DP) => {
            text.push_str(&ucs2_text(data));
            Ok(())
        }
        _ => return None,
    };
    Some(())
}

fn write_vendor(text: &mut String, name: &str, data: &[u8]) -> Option<core::fmt::Result> {
    let guid = data.first_chunk::<16>()?;
    text.push_str(name);
    text.push('(');
    write_guid(text, guid);
    let extra = data.get(16..).unwrap_or(&[]);
    if !extra.is_empty() {
        text.push(',');
        write_hex(text, extra);
    }
    text.push(')');
    Some(Ok(()))
}

/// `HD(Partition,Type,Signature,Start,Size)` (§10.6.1.6, Table 10.73).
fn write_hard_drive(text: &mut String, data: &[u8]) -> Option<core::fmt::Result> {
    let number = le_u32(data, 0)?;
    let start = le_u64(data, 4)?;
    let size = le_u64(data, 12)?;
    let signature = data.get(20..36)?.first_chunk::<16>()?;
    let mbr_type = *data.get(36)?;
    let signature_type = *data.get(37)?;
    let _ = write!(text, "HD({number},");
    let _ = match mbr_type {
        1 => write!(text, "MBR,"),
        2 => write!(text, "GPT,"),
        other => write!(text, "{other},"),
    };
    let _ = match signature_type {
        0 => write!(text, "0"),
        1 => write!(text, "{:#010x}", le_u32(signature, 0)?),
        2 => {
            write_guid(text, signature);
            Ok(())
        }
        _ => return None,
    };
    Some(write!(text, ",{start:#x},{size:#x})"))
}

/// `Path(type,subtype,data)` with the data as hex bytes (§10.6.1.1).
fn write_generic(text: &mut String, node: &Node<'_>) {
    let _ = write!(text, "Path({},{}", node.kind(), node.sub_type());
    if !node.data().is_empty() {
        text.push(',');
        write_hex(text, node.data());
    }
    text.push(')');
}

/// An EISA `_HID`: three compressed letters and a 16-bit product number (`PNP0A03`).
fn write_eisa_id(text: &mut String, hid: u32) {
    let vendor = hid & 0xFFFF;
    // The top bit of the compressed vendor id is reserved and 0 (ACPI 6.5 §6.1.5).
    if vendor & 0x8000 != 0 {
        let _ = write!(text, "{hid:#x}");
        return;
    }
    for shift in [10, 5, 0] {
        let code = ((vendor >> shift) & 0x1F) as u8;
        text.push(char::from(b'@' + code));
    }
    let _ = write!(text, "{:04X}", hid >> 16);
}

/// A GUID in its stored (mixed-endian) form, as `XXXXXXXX-XXXX-XXXX-XXXX-XXXXXXXXXXXX`.
pub fn write_guid(text: &mut String, bytes: &[u8; 16]) {
    let [a0, a1, a2, a3, b0, b1, c0, c1, rest @ ..] = *bytes;
    let _ = write!(
        text,
        "{:08X}-{:04X}-{:04X}-",
        u32::from_le_bytes([a0, a1, a2, a3]),
        u16::from_le_bytes([b0, b1]),
        u16::from_le_bytes([c0, c1])
    );
    write_hex(text, &rest[..2]);
    text.push('-');
    write_hex(text, &rest[2..]);
}

fn write_hex(text: &mut String, bytes: &[u8]) {
    for byte in bytes {
        let _ = write!(text, "{byte:02X}");
    }
}

fn le_u32(data: &[u8], offset: usize) -> Option<u32> {
    data.get(offset..)?.first_chunk::<4>().map(|b| u32::from_le_bytes(*b))
}

fn le_u64(data: &[u8], offset: usize) -> Option<u64> {
    data.get(offset..)?.first_chunk::<8>().map(|b| u64::from_le_bytes(*b))
}

#[cfg(test)]
mod tests {
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
            path_to_text(path.as_bytes()).unwrap(),
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
            path_to_text(path.as_bytes()).unwrap(),
            "PciRoot(0x1)/Pci(0x1f,0x7)/HD(1,MBR,0x00c0ffee,0x800,0x1f000)"
        );
    }

    #[test]
    fn device_path_text_of_vendor_and_acpi_nodes() {
        let initrd = DevicePathBuf::linux_initrd_media();
        assert_eq!(
            path_to_text(initrd.as_bytes()).unwrap(),
            "VenMedia(5568E427-68FC-4F3D-AC74-CA555231CC68)"
        );
        let hw = DevicePathBuf::new()
            .vendor_hardware(&LINUX_EFI_INITRD_MEDIA_GUID, &[0x01, 0xAB])
            .unwrap();
        assert_eq!(
            path_to_text(hw.as_bytes()).unwrap(),
            "VenHw(5568E427-68FC-4F3D-AC74-CA555231CC68,01AB)"
        );
        let mmio = DevicePathBuf::new().virtio_mmio(0xA003E00);
        assert_eq!(
            path_to_text(mmio.as_bytes()).unwrap(),
            "VenHw(837DCA9E-E874-4D82-B29A-23FE0E23D1E2,003E000A00000000)"
        );
        let serial = DevicePathBuf::new().acpi(0x0501_41D0, 0).acpi(0x0A08_41D0, 2);
        assert_eq!(
            path_to_text(serial.as_bytes()).unwrap(),
            "Acpi(PNP0501,0x0)/PcieRoot(0x2)"
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
            path_to_text(path.as_bytes()).unwrap(),
            "Path(3,18,0001FF)/Path(1,1,03)/Path(5,1)"
        );
    }

    #[test]
    fn device_path_text_separates_instances_with_commas() {
        let mut bytes = DevicePathBuf::new().pci_root(0).pci(1, 0).as_bytes().to_vec();
        let at = bytes.len() - 4;
        bytes[at + 1] = 0x01; // End Instance
        bytes.extend_from_slice(DevicePathBuf::new().pci_root(0).pci(2, 0).as_bytes());
        assert_eq!(
            path_to_text(&bytes).unwrap(),
            "PciRoot(0x0)/Pci(0x1,0x0),PciRoot(0x0)/Pci(0x2,0x0)"
        );
        assert_eq!(path_to_text(DevicePathBuf::new().as_bytes()).unwrap(), "");
    }

    #[test]
    fn device_path_text_of_malformed_path_is_an_error() {
        assert!(path_to_text(&[1, 1, 2, 0]).is_err());
        assert!(path_to_text(&[1, 1, 6, 0, 0, 3]).is_err());
        let node = Node::parse(&[4, 1, 8, 0, 1, 0, 0, 0]).unwrap();
        assert_eq!(node_to_text(&node), "Path(4,1,01000000)");
        let end = vec![0x7F, 0x01, 4, 0];
        assert_eq!(node_to_text(&Node::parse(&end).unwrap()), ",");
    }
}
