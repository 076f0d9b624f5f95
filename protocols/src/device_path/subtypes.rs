//! Device path node types and subtypes (UEFI 2.10 §10.3), and the vendor and
//! RAM disk GUIDs that give nodes a text form of their own (§10.3.4.17,
//! §10.3.4.18, §10.3.5.9, §10.6.1.6).

use r_efi::efi::Guid;

/// Hardware device path (§10.3.2).
pub const HARDWARE_DEVICE_PATH: u8 = 0x01;
/// ACPI device path (§10.3.3).
pub const ACPI_DEVICE_PATH: u8 = 0x02;
/// Messaging device path (§10.3.4).
pub const MESSAGING_DEVICE_PATH: u8 = 0x03;
/// Media device path (§10.3.5).
pub const MEDIA_DEVICE_PATH: u8 = 0x04;
/// BIOS boot specification device path (§10.3.6).
pub const BBS_DEVICE_PATH: u8 = 0x05;
/// End of hardware device path (§10.3.1).
pub const END_DEVICE_PATH_TYPE: u8 = 0x7F;

/// End subtype ending one instance of a multi-instance path.
pub const END_INSTANCE_DEVICE_PATH_SUBTYPE: u8 = 0x01;
/// End subtype ending the whole path.
pub const END_ENTIRE_DEVICE_PATH_SUBTYPE: u8 = 0xFF;

// Hardware subtypes (§10.3.2).
/// PCI: function and device number (§10.3.2.1).
pub const HW_PCI_DP: u8 = 0x01;
/// PCCARD: function number.
pub const HW_PCCARD_DP: u8 = 0x02;
/// Memory mapped: a memory range.
pub const HW_MEMMAP_DP: u8 = 0x03;
/// Vendor-defined hardware.
pub const HW_VENDOR_DP: u8 = 0x04;
/// Controller: a controller number.
pub const HW_CONTROLLER_DP: u8 = 0x05;
/// BMC: a baseboard management controller's interface.
pub const HW_BMC_DP: u8 = 0x06;

// ACPI subtypes (§10.3.3).
/// ACPI: `_HID` and `_UID` (§10.3.3).
pub const ACPI_DP: u8 = 0x01;
/// Expanded ACPI: `_HID`, `_UID`, `_CID` and their strings.
pub const ACPI_EXTENDED_DP: u8 = 0x02;
/// ACPI `_ADR`: display outputs.
pub const ACPI_ADR_DP: u8 = 0x03;

// Messaging subtypes (§10.3.4).
/// ATAPI.
pub const MSG_ATAPI_DP: u8 = 1;
/// SCSI.
pub const MSG_SCSI_DP: u8 = 2;
/// Fibre Channel.
pub const MSG_FIBRECHANNEL_DP: u8 = 3;
/// IEEE 1394.
pub const MSG_1394_DP: u8 = 4;
/// USB: parent port and interface.
pub const MSG_USB_DP: u8 = 5;
/// I2O random block storage.
pub const MSG_I2O_DP: u8 = 6;
/// InfiniBand.
pub const MSG_INFINIBAND_DP: u8 = 9;
/// Vendor-defined messaging (terminal types, UART flow control, SAS).
pub const MSG_VENDOR_DP: u8 = 10;
/// MAC address.
pub const MSG_MAC_ADDR_DP: u8 = 11;
/// IPv4.
pub const MSG_IPV4_DP: u8 = 12;
/// IPv6.
pub const MSG_IPV6_DP: u8 = 13;
/// UART: baud rate, data bits, parity, stop bits.
pub const MSG_UART_DP: u8 = 14;
/// USB class.
pub const MSG_USB_CLASS_DP: u8 = 15;
/// USB WWID.
pub const MSG_USB_WWID_DP: u8 = 16;
/// Device logical unit.
pub const MSG_DEVICE_LOGICAL_UNIT_DP: u8 = 17;
/// SATA.
pub const MSG_SATA_DP: u8 = 18;
/// iSCSI.
pub const MSG_ISCSI_DP: u8 = 19;
/// VLAN.
pub const MSG_VLAN_DP: u8 = 20;
/// Fibre Channel Ex.
pub const MSG_FIBRECHANNELEX_DP: u8 = 21;
/// SAS Ex.
pub const MSG_SASEX_DP: u8 = 22;
/// NVM Express namespace.
pub const MSG_NVME_NAMESPACE_DP: u8 = 23;
/// URI.
pub const MSG_URI_DP: u8 = 24;
/// UFS.
pub const MSG_UFS_DP: u8 = 25;
/// SD.
pub const MSG_SD_DP: u8 = 26;
/// Bluetooth.
pub const MSG_BLUETOOTH_DP: u8 = 27;
/// Wi-Fi.
pub const MSG_WIFI_DP: u8 = 28;
/// eMMC.
pub const MSG_EMMC_DP: u8 = 29;
/// Bluetooth LE.
pub const MSG_BLUETOOTH_LE_DP: u8 = 30;
/// DNS.
pub const MSG_DNS_DP: u8 = 31;

// Media subtypes (§10.3.5).
/// Hard drive: a partition (§10.3.5).
pub const MEDIA_HARDDRIVE_DP: u8 = 0x01;
/// CD-ROM: an El Torito boot entry.
pub const MEDIA_CDROM_DP: u8 = 0x02;
/// Vendor-defined media.
pub const MEDIA_VENDOR_DP: u8 = 0x03;
/// File path.
pub const MEDIA_FILEPATH_DP: u8 = 0x04;
/// Media protocol.
pub const MEDIA_PROTOCOL_DP: u8 = 0x05;
/// PIWG firmware file.
pub const MEDIA_PIWG_FW_FILE_DP: u8 = 0x06;
/// PIWG firmware volume.
pub const MEDIA_PIWG_FW_VOL_DP: u8 = 0x07;
/// Relative offset range.
pub const MEDIA_RELATIVE_OFFSET_RANGE_DP: u8 = 0x08;
/// RAM disk.
pub const MEDIA_RAM_DISK_DP: u8 = 0x09;

/// BBS subtype: BIOS Boot Specification 1.01 (§10.3.6).
pub const BBS_BBS_DP: u8 = 0x01;

/// The compressed EISA vendor id "PNP" in the low 16 bits of an `_HID` (§10.3.3).
pub const PNP_EISA_ID_CONST: u32 = 0x41D0;
/// `_HID` of a PCI root bridge, EISA id PNP0A03.
pub const EISA_PNP0A03: u32 = PNP_EISA_ID_CONST | (0x0A03 << 16);
/// `_HID` of a PCI Express root bridge, EISA id PNP0A08.
pub const EISA_PNP0A08: u32 = PNP_EISA_ID_CONST | (0x0A08 << 16);
/// `_HID` of a 16550-compatible serial port, EISA id PNP0501.
pub const EISA_PNP0501: u32 = PNP_EISA_ID_CONST | (0x0501 << 16);
/// `_HID` of a floppy controller, EISA id PNP0604.
pub const EISA_PNP0604: u32 = PNP_EISA_ID_CONST | (0x0604 << 16);
/// `_HID` of a keyboard, EISA id PNP0301.
pub const EISA_PNP0301: u32 = PNP_EISA_ID_CONST | (0x0301 << 16);
/// `_HID` of a parallel port, EISA id PNP0401.
pub const EISA_PNP0401: u32 = PNP_EISA_ID_CONST | (0x0401 << 16);

/// §10.3.4.17: terminal types carried by a vendor messaging node.
pub const EFI_PC_ANSI_GUID: Guid = Guid::from_fields(
    0xe0c14753,
    0xf9be,
    0x11d2,
    0x9a,
    0x0c,
    &[0x00, 0x90, 0x27, 0x3f, 0xc1, 0x4d],
);
/// VT-100 terminal.
pub const EFI_VT_100_GUID: Guid = Guid::from_fields(
    0xdfa66065,
    0xb419,
    0x11d3,
    0x9a,
    0x2d,
    &[0x00, 0x90, 0x27, 0x3f, 0xc1, 0x4d],
);
/// VT-100+ terminal.
pub const EFI_VT_100_PLUS_GUID: Guid = Guid::from_fields(
    0x7baec70b,
    0x57e0,
    0x4c76,
    0x8e,
    0x87,
    &[0x2f, 0x9e, 0x28, 0x08, 0x83, 0x43],
);
/// VT-UTF8 terminal.
pub const EFI_VT_UTF8_GUID: Guid = Guid::from_fields(
    0xad15a0d6,
    0x8bec,
    0x4acf,
    0xa0,
    0x73,
    &[0xd0, 0x1d, 0xe7, 0x7e, 0x2d, 0x88],
);
/// §10.3.4.17: the UART flow control node, a 32-bit map after the GUID.
pub const DEVICE_PATH_MESSAGING_UART_FLOW_CONTROL: Guid = Guid::from_fields(
    0x37499a9d,
    0x542f,
    0x4c89,
    0xa0,
    0x26,
    &[0x35, 0xda, 0x14, 0x20, 0x94, 0xe4],
);
/// §10.3.4.18: the Serial Attached SCSI vendor node.
pub const EFI_SAS_DEVICE_PATH_GUID: Guid = Guid::from_fields(
    0xd487ddb4,
    0x008b,
    0x11d9,
    0xaf,
    0xdc,
    &[0x00, 0x10, 0x83, 0xff, 0xca, 0x4d],
);
/// §18 (EFI_DEBUGPORT_PROTOCOL): the vendor messaging node `DebugPort()`.
pub const EFI_DEBUGPORT_PROTOCOL_GUID: Guid = Guid::from_fields(
    0xeba4e8d2,
    0x3858,
    0x41ec,
    0xa2,
    0x81,
    &[0x26, 0x47, 0xba, 0x96, 0x60, 0xd0],
);

/// §10.3.5.9: RAM disk types.
pub const EFI_VIRTUAL_DISK_GUID: Guid = Guid::from_fields(
    0x77ab535a,
    0x45fc,
    0x624b,
    0x55,
    0x60,
    &[0xf7, 0xb2, 0x81, 0xd1, 0xf9, 0x6e],
);
/// Virtual CD (a RAM disk with an ISO image).
pub const EFI_VIRTUAL_CD_GUID: Guid = Guid::from_fields(
    0x3d5abd30,
    0x4175,
    0x87ce,
    0x6d,
    0x64,
    &[0xd2, 0xad, 0xe5, 0x23, 0xc4, 0xbb],
);
/// Persistent virtual disk.
pub const EFI_PERSISTENT_VIRTUAL_DISK_GUID: Guid = Guid::from_fields(
    0x5cea02c9,
    0x4d07,
    0x69d3,
    0x26,
    0x9f,
    &[0x44, 0x96, 0xfb, 0xe0, 0x96, 0xf9],
);
/// Persistent virtual CD.
pub const EFI_PERSISTENT_VIRTUAL_CD_GUID: Guid = Guid::from_fields(
    0x08018188,
    0x42cd,
    0xbb48,
    0x10,
    0x0f,
    &[0x53, 0x87, 0xd5, 0x3d, 0xed, 0x3d],
);

/// Vendor messaging nodes with a shortcut name and no data (§10.6.1.6).
pub const VENDOR_MESSAGING_SHORTCUTS: [(&str, Guid); 5] = [
    ("VenPcAnsi", EFI_PC_ANSI_GUID),
    ("VenVt100", EFI_VT_100_GUID),
    ("VenVt100Plus", EFI_VT_100_PLUS_GUID),
    ("VenUtf8", EFI_VT_UTF8_GUID),
    ("DebugPort", EFI_DEBUGPORT_PROTOCOL_GUID),
];

/// RAM disk nodes with a shortcut name by disk type (§10.6.1.6).
pub const RAM_DISK_SHORTCUTS: [(&str, Guid); 4] = [
    ("VirtualDisk", EFI_VIRTUAL_DISK_GUID),
    ("VirtualCD", EFI_VIRTUAL_CD_GUID),
    ("PersistentVirtualDisk", EFI_PERSISTENT_VIRTUAL_DISK_GUID),
    ("PersistentVirtualCD", EFI_PERSISTENT_VIRTUAL_CD_GUID),
];

/// USB class shortcuts by class code, taking (VID,PID,SubClass,Protocol) (§10.6.1.6).
pub const USB_CLASS_SHORTCUTS: [(&str, u8); 12] = [
    ("UsbAudio", 1),
    ("UsbCDCControl", 2),
    ("UsbHID", 3),
    ("UsbImage", 6),
    ("UsbPrinter", 7),
    ("UsbMassStorage", 8),
    ("UsbHub", 9),
    ("UsbCDCData", 10),
    ("UsbSmartCard", 11),
    ("UsbVideo", 14),
    ("UsbDiagnostic", 220),
    ("UsbWireless", 224),
];

/// Class 254 (application specific) shortcuts by subclass, taking (VID,PID,Protocol).
pub const USB_APPLICATION_CLASS: u8 = 254;
/// Their text names by subclass.
pub const USB_APPLICATION_SHORTCUTS: [(&str, u8); 3] = [
    ("UsbDeviceFirmwareUpdate", 1),
    ("UsbIrdaBridge", 2),
    ("UsbTestAndMeasurement", 3),
];
