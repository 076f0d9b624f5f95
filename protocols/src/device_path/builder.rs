//! Building device paths node by node (UEFI 2.10 §10.3): ACPI `_HID`/`_UID`
//! nodes for PCI root bridges (§10.3.3.1), PCI (§10.3.2.1), hard drive
//! partitions (§10.3.5.1), file paths (§10.3.5.4), vendor nodes (§10.3.2.5,
//! §10.3.5.3), UARTs (§10.3.4.16) and the End Entire node that closes every
//! path (§10.3.1).
#![forbid(unsafe_code)]

use super::node::{self, nodes};
use super::{
    Error, ACPI_DEVICE_PATH, ACPI_DP, EISA_PNP0A03, END_DEVICE_PATH_TYPE, END_ENTIRE_DEVICE_PATH_SUBTYPE,
    HARDWARE_DEVICE_PATH, HW_PCI_DP, HW_VENDOR_DP, MEDIA_DEVICE_PATH, MEDIA_FILEPATH_DP, MEDIA_HARDDRIVE_DP,
    MEDIA_VENDOR_DP, MESSAGING_DEVICE_PATH, MSG_UART_DP, NODE_HEADER_SIZE,
};
use alloc::boxed::Box;
use alloc::vec::Vec;
use fw_drivers::partition::PartitionInfo;
use r_efi::efi::Guid;

/// The vendor media node on which Linux looks for its initrd through LoadFile2.
pub const LINUX_EFI_INITRD_MEDIA_GUID: Guid = Guid::from_fields(
    0x5568e427,
    0x68fc,
    0x4f3d,
    0xac,
    0x74,
    &[0xca, 0x55, 0x52, 0x31, 0xcc, 0x68],
);

/// The vendor hardware node EDK2 uses for a virtio-mmio transport; its data is
/// the 64-bit base address.
pub const VIRTIO_MMIO_TRANSPORT_GUID: Guid = Guid::from_fields(
    0x837dca9e,
    0xe874,
    0x4d82,
    0xb2,
    0x9a,
    &[0x23, 0xfe, 0x0e, 0x23, 0xd1, 0xe2],
);

/// The vendor hardware node naming a PL011 UART by its MMIO base (64-bit data),
/// for the console on aarch64: ACPI names the PL011 with a string `_HID`
/// (ARMH0011) that an EISA-id ACPI node cannot hold. hypervisor-fw's own GUID.
pub const PL011_UART_GUID: Guid = Guid::from_fields(
    0x962c98c4,
    0x4800,
    0x490f,
    0x96,
    0x5e,
    &[0x9b, 0x26, 0x05, 0x4f, 0x64, 0x58],
);

const END_ENTIRE: [u8; NODE_HEADER_SIZE] = [END_DEVICE_PATH_TYPE, END_ENTIRE_DEVICE_PATH_SUBTYPE, 4, 0];

/// The line settings in a UART messaging node (§10.3.4.16), with the values of
/// EFI_SERIAL_IO_PROTOCOL's Mode: parity 1 = none, 2 = even, 3 = odd, 4 =
/// mark, 5 = space; stop bits 1 = one, 2 = one and a half, 3 = two; 0 in any
/// field means the device's default.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UartNode {
    /// Bits per second (0: the device's default).
    pub baud_rate: u64,
    /// Data bits per character (0: default).
    pub data_bits: u8,
    /// Parity, in the codes above (0: default).
    pub parity: u8,
    /// Stop bits, in the codes above (0: default).
    pub stop_bits: u8,
}

/// The fields of a hard drive media node (§10.3.5.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HardDrive {
    /// 1-based partition number (0 names the whole disk).
    pub partition_number: u32,
    /// First block of the partition.
    pub partition_start: u64,
    /// Size of the partition in blocks.
    pub partition_size: u64,
    /// The MBR disk signature in the first 4 bytes, or the GPT partition GUID.
    pub signature: [u8; 16],
    /// 1 = PC-AT MBR, 2 = GUID partition table.
    pub mbr_type: u8,
    /// 0 = none, 1 = 32-bit MBR signature, 2 = GUID.
    pub signature_type: u8,
}

/// A device path being built: always well-formed and closed by End Entire.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DevicePathBuf {
    bytes: Vec<u8>,
}

impl Default for DevicePathBuf {
    fn default() -> Self {
        DevicePathBuf::new()
    }
}

impl DevicePathBuf {
    /// The empty path: only End Entire.
    pub fn new() -> DevicePathBuf {
        DevicePathBuf {
            bytes: END_ENTIRE.to_vec(),
        }
    }

    /// A copy of a path held as bytes, up to its End Entire node.
    pub fn from_bytes(path: &[u8]) -> Result<DevicePathBuf, Error> {
        let size = node::size(path)?;
        Ok(DevicePathBuf {
            bytes: path.get(..size).unwrap_or(&[]).to_vec(),
        })
    }

    /// Appends a node of `kind`/`sub_type` carrying `data` before the end node.
    pub fn push_node(&mut self, kind: u8, sub_type: u8, data: &[u8]) -> Result<(), Error> {
        let len = NODE_HEADER_SIZE + data.len();
        let length = u16::try_from(len).map_err(|_| Error::NodeTooLong { len })?;
        let at = self.bytes.len() - NODE_HEADER_SIZE;
        let [lo, hi] = length.to_le_bytes();
        self.bytes
            .splice(at..at, [kind, sub_type, lo, hi].into_iter().chain(data.iter().copied()));
        Ok(())
    }

    /// `push_node` for nodes whose data is known to fit.
    fn with_small_node(mut self, kind: u8, sub_type: u8, data: &[u8]) -> DevicePathBuf {
        debug_assert!(data.len() <= 64);
        // A node of at most 68 bytes always fits the 16-bit length.
        let _ = self.push_node(kind, sub_type, data);
        self
    }

    /// `PciRoot(uid)`: an ACPI node with `_HID` PNP0A03 (§10.3.3.1).
    pub fn pci_root(self, uid: u32) -> DevicePathBuf {
        self.acpi(EISA_PNP0A03, uid)
    }

    /// An ACPI `_HID`/`_UID` node (§10.3.3.1).
    pub fn acpi(self, hid: u32, uid: u32) -> DevicePathBuf {
        let mut data = [0u8; 8];
        data[..4].copy_from_slice(&hid.to_le_bytes());
        data[4..].copy_from_slice(&uid.to_le_bytes());
        self.with_small_node(ACPI_DEVICE_PATH, ACPI_DP, &data)
    }

    /// `Pci(device,function)` (§10.3.2.1); the node stores the function first.
    pub fn pci(self, device: u8, function: u8) -> DevicePathBuf {
        self.with_small_node(HARDWARE_DEVICE_PATH, HW_PCI_DP, &[function, device])
    }

    /// `Uart(baud,data bits,parity,stop bits)` (§10.3.4.16).
    pub fn uart(self, uart: &UartNode) -> DevicePathBuf {
        let mut data = [0u8; 15];
        // data[0..4] is reserved (zero).
        data[4..12].copy_from_slice(&uart.baud_rate.to_le_bytes());
        data[12] = uart.data_bits;
        data[13] = uart.parity;
        data[14] = uart.stop_bits;
        self.with_small_node(MESSAGING_DEVICE_PATH, MSG_UART_DP, &data)
    }

    /// A hard drive media node (§10.3.5.1).
    pub fn hard_drive(self, hd: &HardDrive) -> DevicePathBuf {
        let mut data = [0u8; 38];
        data[0..4].copy_from_slice(&hd.partition_number.to_le_bytes());
        data[4..12].copy_from_slice(&hd.partition_start.to_le_bytes());
        data[12..20].copy_from_slice(&hd.partition_size.to_le_bytes());
        data[20..36].copy_from_slice(&hd.signature);
        data[36] = hd.mbr_type;
        data[37] = hd.signature_type;
        self.with_small_node(MEDIA_DEVICE_PATH, MEDIA_HARDDRIVE_DP, &data)
    }

    /// The hard drive node of a partition the partition-table reader found.
    pub fn hard_drive_partition(self, info: &PartitionInfo) -> DevicePathBuf {
        self.hard_drive(&HardDrive {
            partition_number: info.number,
            partition_start: info.start_lba,
            partition_size: info.size_lbas,
            signature: info.signature.to_bytes(),
            mbr_type: info.format.mbr_type(),
            signature_type: info.signature.signature_type(),
        })
    }

    /// A file path node (§10.3.5.4): `path` as NUL-terminated UCS-2.
    pub fn file_path(mut self, path: &str) -> Result<DevicePathBuf, Error> {
        let mut data = Vec::with_capacity(2 * (path.len() + 1));
        for character in path.chars() {
            let unit = u16::try_from(u32::from(character))
                .ok()
                .filter(|&unit| unit != 0)
                .ok_or(Error::NotUcs2 { character })?;
            data.extend_from_slice(&unit.to_le_bytes());
        }
        data.extend_from_slice(&[0, 0]);
        self.push_node(MEDIA_DEVICE_PATH, MEDIA_FILEPATH_DP, &data)?;
        Ok(self)
    }

    fn vendor(mut self, kind: u8, sub_type: u8, guid: &Guid, data: &[u8]) -> Result<DevicePathBuf, Error> {
        let mut body = Vec::with_capacity(16 + data.len());
        body.extend_from_slice(guid.as_bytes());
        body.extend_from_slice(data);
        self.push_node(kind, sub_type, &body)?;
        Ok(self)
    }

    /// `VenHw(guid,data)` (§10.3.2.5).
    pub fn vendor_hardware(self, guid: &Guid, data: &[u8]) -> Result<DevicePathBuf, Error> {
        self.vendor(HARDWARE_DEVICE_PATH, HW_VENDOR_DP, guid, data)
    }

    /// `VenMedia(guid,data)` (§10.3.5.3).
    pub fn vendor_media(self, guid: &Guid, data: &[u8]) -> Result<DevicePathBuf, Error> {
        self.vendor(MEDIA_DEVICE_PATH, MEDIA_VENDOR_DP, guid, data)
    }

    /// A virtio-mmio transport at `base`, as EDK2 names one: `VenHw` with
    /// [`VIRTIO_MMIO_TRANSPORT_GUID`] and the base address.
    pub fn virtio_mmio(self, base: u64) -> DevicePathBuf {
        let mut data = [0u8; 24];
        data[..16].copy_from_slice(VIRTIO_MMIO_TRANSPORT_GUID.as_bytes());
        data[16..].copy_from_slice(&base.to_le_bytes());
        self.with_small_node(HARDWARE_DEVICE_PATH, HW_VENDOR_DP, &data)
    }

    /// The path Linux's EFI stub asks LoadFile2 for its initrd:
    /// `VenMedia(5568E427-68FC-4F3D-AC74-CA555231CC68)`.
    pub fn linux_initrd_media() -> DevicePathBuf {
        let mut path = DevicePathBuf::new();
        // 20 bytes always fit.
        let _ = path.push_node(
            MEDIA_DEVICE_PATH,
            MEDIA_VENDOR_DP,
            LINUX_EFI_INITRD_MEDIA_GUID.as_bytes(),
        );
        path
    }

    /// This path followed by `other`'s nodes (all its instances).
    pub fn append(mut self, other: &DevicePathBuf) -> DevicePathBuf {
        let at = self.bytes.len() - NODE_HEADER_SIZE;
        // `other` is well-formed, so its body is everything but the last 4 bytes.
        let other_body = &other.bytes[..other.bytes.len() - NODE_HEADER_SIZE];
        self.bytes.splice(at..at, other_body.iter().copied());
        self
    }

    /// The path's bytes, End Entire included.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The number of nodes before End Entire.
    pub fn node_count(&self) -> usize {
        nodes(&self.bytes).count().saturating_sub(1)
    }

    /// Leaks the bytes so the path can be installed as a protocol interface: a
    /// device path lives as long as its handle, which is the firmware's life.
    pub fn leak(self) -> *mut r_efi::protocols::device_path::Protocol {
        let bytes: &'static mut [u8] = Box::leak(self.bytes.into_boxed_slice());
        bytes.as_mut_ptr().cast()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use fw_drivers::partition::{Guid as PartGuid, PartitionFormat, PartitionType, Signature};
    use std::string::String;
    use std::vec;

    const END: [u8; 4] = [0x7F, 0xFF, 0x04, 0x00];

    fn with_end(node: &[u8]) -> Vec<u8> {
        let mut bytes = node.to_vec();
        bytes.extend_from_slice(&END);
        bytes
    }

    #[test]
    fn device_path_empty_is_just_the_end_node() {
        assert_eq!(DevicePathBuf::new().as_bytes(), &END);
        assert_eq!(DevicePathBuf::new().node_count(), 0);
    }

    #[test]
    fn device_path_pci_root_bytes_match_the_spec() {
        // Type 2, subtype 1, length 12, _HID 0x0A0341D0, _UID.
        let expected = [0x02, 0x01, 0x0C, 0x00, 0xD0, 0x41, 0x03, 0x0A, 0x05, 0x00, 0x00, 0x00];
        assert_eq!(DevicePathBuf::new().pci_root(5).as_bytes(), with_end(&expected));
    }

    #[test]
    fn device_path_pci_bytes_store_function_then_device() {
        let expected = [0x01, 0x01, 0x06, 0x00, 0x02, 0x1F];
        assert_eq!(DevicePathBuf::new().pci(0x1F, 2).as_bytes(), with_end(&expected));
    }

    #[test]
    fn device_path_hard_drive_bytes_match_the_spec() {
        let hd = HardDrive {
            partition_number: 1,
            partition_start: 0x800,
            partition_size: 0x1F000,
            signature: [
                0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xAA, 0xBB, 0xCC, 0xDD, 0xEE, 0xFF, 0x00,
            ],
            mbr_type: 2,
            signature_type: 2,
        };
        let mut expected = vec![0x04, 0x01, 42, 0x00];
        expected.extend_from_slice(&[1, 0, 0, 0]);
        expected.extend_from_slice(&[0x00, 0x08, 0, 0, 0, 0, 0, 0]);
        expected.extend_from_slice(&[0x00, 0xF0, 0x01, 0, 0, 0, 0, 0]);
        expected.extend_from_slice(&hd.signature);
        expected.extend_from_slice(&[2, 2]);
        assert_eq!(DevicePathBuf::new().hard_drive(&hd).as_bytes(), with_end(&expected));
    }

    #[test]
    fn device_path_hard_drive_from_partition_info() {
        let info = PartitionInfo {
            number: 2,
            start_lba: 2048,
            size_lbas: 4096,
            signature: Signature::Mbr(0xDEADBEEF),
            format: PartitionFormat::Mbr,
            partition_type: PartitionType::Mbr(0x83),
            name: String::new(),
            attributes: 0,
            bootable: false,
            entry: Vec::new(),
        };
        let path = DevicePathBuf::new().hard_drive_partition(&info);
        let data = &path.as_bytes()[4..42];
        assert_eq!(&data[0..4], &[2, 0, 0, 0]);
        assert_eq!(&data[20..24], &[0xEF, 0xBE, 0xAD, 0xDE]);
        assert_eq!(&data[24..36], &[0; 12]);
        assert_eq!((data[36], data[37]), (1, 1));

        let guid = PartGuid::from_fields(0x01020304, 0x0506, 0x0708, [9, 10, 11, 12, 13, 14, 15, 16]);
        let info = PartitionInfo {
            signature: Signature::Guid(guid),
            format: PartitionFormat::Gpt,
            ..info
        };
        let path = DevicePathBuf::new().hard_drive_partition(&info);
        let data = &path.as_bytes()[4..42];
        assert_eq!(&data[20..36], &guid.to_bytes());
        assert_eq!((data[36], data[37]), (2, 2));
    }

    #[test]
    fn device_path_file_path_is_nul_terminated_ucs2() {
        let path = DevicePathBuf::new().file_path("\\A.EFI").unwrap();
        let expected = [
            0x04, 0x04, 18, 0x00, b'\\', 0, b'A', 0, b'.', 0, b'E', 0, b'F', 0, b'I', 0, 0, 0,
        ];
        assert_eq!(path.as_bytes(), with_end(&expected));
        assert_eq!(
            DevicePathBuf::new().file_path("a\u{1F600}"),
            Err(Error::NotUcs2 { character: '\u{1F600}' })
        );
        assert_eq!(
            DevicePathBuf::new().file_path("a\0b"),
            Err(Error::NotUcs2 { character: '\0' })
        );
        let long: String = core::iter::repeat_n('x', 40_000).collect();
        assert_eq!(
            DevicePathBuf::new().file_path(&long),
            Err(Error::NodeTooLong { len: 80_006 })
        );
    }

    #[test]
    fn device_path_vendor_nodes_carry_guid_and_data() {
        let media = DevicePathBuf::linux_initrd_media();
        let mut expected = vec![0x04, 0x03, 20, 0x00];
        expected.extend_from_slice(&[
            0x27, 0xE4, 0x68, 0x55, 0xFC, 0x68, 0x3D, 0x4F, 0xAC, 0x74, 0xCA, 0x55, 0x52, 0x31, 0xCC, 0x68,
        ]);
        assert_eq!(media.as_bytes(), with_end(&expected));
        assert_eq!(
            DevicePathBuf::new()
                .vendor_media(&LINUX_EFI_INITRD_MEDIA_GUID, &[])
                .unwrap(),
            media
        );

        let hw = DevicePathBuf::new()
            .vendor_hardware(&LINUX_EFI_INITRD_MEDIA_GUID, &[0xAB, 0xCD])
            .unwrap();
        assert_eq!(&hw.as_bytes()[..4], &[0x01, 0x04, 22, 0x00]);
        assert_eq!(&hw.as_bytes()[20..22], &[0xAB, 0xCD]);

        let mmio = DevicePathBuf::new().virtio_mmio(0x0A00_3E00);
        let mut expected = vec![0x01, 0x04, 28, 0x00];
        expected.extend_from_slice(&[
            0x9E, 0xCA, 0x7D, 0x83, 0x74, 0xE8, 0x82, 0x4D, 0xB2, 0x9A, 0x23, 0xFE, 0x0E, 0x23, 0xD1, 0xE2,
        ]);
        expected.extend_from_slice(&[0x00, 0x3E, 0x00, 0x0A, 0, 0, 0, 0]);
        assert_eq!(mmio.as_bytes(), with_end(&expected));
    }

    #[test]
    fn device_path_append_joins_bodies_with_one_end() {
        let disk = DevicePathBuf::new().pci_root(0).pci(3, 0);
        let file = DevicePathBuf::new().file_path("\\x").unwrap();
        let joined = disk.clone().append(&file);
        assert_eq!(joined.node_count(), 3);
        assert_eq!(joined.as_bytes().len(), 12 + 6 + 10 + 4);
        assert_eq!(&joined.as_bytes()[..18], &disk.as_bytes()[..18]);
        assert_eq!(&joined.as_bytes()[18..], file.as_bytes());
        assert_eq!(DevicePathBuf::from_bytes(joined.as_bytes()), Ok(joined.clone()));
        assert!(DevicePathBuf::from_bytes(&joined.as_bytes()[..20]).is_err());
    }
}
