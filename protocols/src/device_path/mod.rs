//! Device paths (UEFI 2.10 §10): building them, walking them, and the two
//! protocols that serve applications, `EFI_DEVICE_PATH_UTILITIES_PROTOCOL`
//! (§10.5) and `EFI_DEVICE_PATH_TO_TEXT_PROTOCOL` (§10.6).
//!
//! - [`node`]: walking a path held as bytes (§10.2 generic node header, §10.3.1
//!   end nodes); every walk is bounded and rejects nodes shorter than a header.
//! - [`builder`]: [`DevicePathBuf`], a path built node by node (§10.3).
//! - [`text`]: the text form of nodes and paths (§10.6.1).
//! - [`efi`]: the ABI edge: the two protocols' `extern "efiapi"` functions and
//!   [`DevicePathProtocols`].
//!
//! # Wiring it into the firmware
//!
//! - A disk or partition handle gets its path from [`DevicePathBuf`], e.g.
//!   `DevicePathBuf::new().pci_root(0).pci(3, 0).hard_drive_partition(&info)`;
//!   [`crate::block_io::install_block_handle`] installs it together with BlockIo
//!   and DiskIo. A path installed by hand is leaked with [`DevicePathBuf::leak`]
//!   and installed as `r_efi::protocols::device_path::PROTOCOL_GUID`.
//! - Once, early: `let dp = DevicePathProtocols::create(alloc_pool);` where
//!   `alloc_pool(size)` returns AllocatePool(EfiBootServicesData, size) or null,
//!   so applications can FreePool what the protocols return. Then
//!   `dp.install(None, fw_core::efi::protocol::install)` installs both protocols
//!   on a new handle (or install `dp.to_text()` / `dp.utilities()` by hand).

pub mod builder;
pub mod efi;
pub mod from_text;
pub mod node;
pub mod text;

#[cfg(test)]
mod tests;

pub use builder::{
    DevicePathBuf, HardDrive, UartNode, LINUX_EFI_INITRD_MEDIA_GUID, PL011_UART_GUID, VIRTIO_MMIO_TRANSPORT_GUID,
};
pub use efi::{AllocPool, DevicePathProtocols};
pub use from_text::{node_from_text, path_from_text};
pub use node::{file_path, nodes, size, Node, Nodes};
pub use text::{node_to_text, path_to_text};

use core::fmt;

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

/// Hardware subtype: PCI (§10.3.2.1).
pub const HW_PCI_DP: u8 = 0x01;
/// Hardware subtype: memory mapped (§10.3.2.4).
pub const HW_MEMMAP_DP: u8 = 0x03;
/// Hardware subtype: vendor (§10.3.2.5).
pub const HW_VENDOR_DP: u8 = 0x04;
/// ACPI subtype: `_HID`/`_UID` device path (§10.3.3.1).
pub const ACPI_DP: u8 = 0x01;
/// Messaging subtype: vendor (§10.3.4.17).
pub const MSG_VENDOR_DP: u8 = 0x0A;
/// Messaging subtype: UART line settings (§10.3.4.16).
pub const MSG_UART_DP: u8 = 0x0E;
/// Media subtype: hard drive partition (§10.3.5.1).
pub const MEDIA_HARDDRIVE_DP: u8 = 0x01;
/// Media subtype: vendor (§10.3.5.3).
pub const MEDIA_VENDOR_DP: u8 = 0x03;
/// Media subtype: file path (§10.3.5.4).
pub const MEDIA_FILEPATH_DP: u8 = 0x04;
/// End subtype ending one instance of a multi-instance path.
pub const END_INSTANCE_DEVICE_PATH_SUBTYPE: u8 = 0x01;
/// End subtype ending the whole path.
pub const END_ENTIRE_DEVICE_PATH_SUBTYPE: u8 = 0xFF;

/// Size of the generic node header, and the smallest legal node length.
pub const NODE_HEADER_SIZE: usize = 4;
/// The compressed EISA vendor id "PNP" in the low 16 bits of an `_HID` (§10.3.3).
pub const PNP_EISA_ID_CONST: u32 = 0x41D0;
/// `_HID` of a PCI root bridge, EISA id PNP0A03.
pub const EISA_PNP0A03: u32 = PNP_EISA_ID_CONST | (0x0A03 << 16);
/// `_HID` of a PCI Express root bridge, EISA id PNP0A08.
pub const EISA_PNP0A08: u32 = PNP_EISA_ID_CONST | (0x0A08 << 16);
/// `_HID` of a 16550-compatible serial port, EISA id PNP0501.
pub const EISA_PNP0501: u32 = PNP_EISA_ID_CONST | (0x0501 << 16);

/// Why a device path could not be walked or built.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Error {
    /// A node header or body at `offset` runs past the `len` bytes available
    /// (also: the path has no End Entire node within them).
    Truncated { offset: usize, len: usize },
    /// The node at `offset` declares a length shorter than its own header.
    NodeTooShort { offset: usize, length: u16 },
    /// A node to build would not fit the 16-bit length field.
    NodeTooLong { len: usize },
    /// A file path holds a character outside UCS-2 (or a NUL).
    NotUcs2 { character: char },
}

impl From<fw_core::handles::device_path::PathError> for Error {
    fn from(e: fw_core::handles::device_path::PathError) -> Self {
        use fw_core::handles::device_path::PathError;
        match e {
            PathError::Truncated { offset, len } => Error::Truncated { offset, len },
            PathError::NodeTooShort { offset, length } => Error::NodeTooShort { offset, length },
            // Only a walk over memory that cannot be read reports this; the
            // walks here always read, so it means "runs past what is there".
            PathError::Unreadable { offset } => Error::Truncated { offset, len: offset },
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Truncated { offset, len } => write!(
                f,
                "device path node at offset {offset} runs past the end of the {len} bytes available"
            ),
            Error::NodeTooShort { offset, length } => write!(
                f,
                "device path node at offset {offset} has length {length}, \
                 less than its {NODE_HEADER_SIZE}-byte header"
            ),
            Error::NodeTooLong { len } => {
                write!(f, "device path node of {len} bytes does not fit a 16-bit length")
            }
            Error::NotUcs2 { character } => {
                write!(f, "character {character:?} cannot be stored in a UCS-2 file path")
            }
        }
    }
}
