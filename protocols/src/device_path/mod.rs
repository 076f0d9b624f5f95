//! Device paths (UEFI 2.10 §10): building them, walking them, and the two
//! protocols that serve applications, `EFI_DEVICE_PATH_UTILITIES_PROTOCOL`
//! (§10.5) and `EFI_DEVICE_PATH_TO_TEXT_PROTOCOL` (§10.6).
//!
//! - [`node`]: walking a path held as bytes (§10.2 generic node header, §10.3.1
//!   end nodes); every walk is bounded and rejects nodes shorter than a header.
//! - [`builder`]: [`DevicePathBuf`], a path built node by node (§10.3).
//! - [`subtypes`]: node types, subtypes and the GUIDs with text forms of their own.
//! - [`text`]: the text form of nodes and paths (§10.6.1), by node family.
//! - [`from_text`]: reading that text back (§10.7).
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
pub mod subtypes;
pub mod text;

#[cfg(test)]
mod tests;

pub use builder::{
    DevicePathBuf, HardDrive, UartNode, LINUX_EFI_INITRD_MEDIA_GUID, PL011_UART_GUID, VIRTIO_MMIO_TRANSPORT_GUID,
};
pub use efi::{AllocPool, DevicePathProtocols};
pub use from_text::{node_from_text, path_from_text};
pub use node::{file_path, nodes, size, Node, Nodes};
pub use subtypes::*;
pub use text::{node_to_text, path_to_text, TextForm};

use core::fmt;

/// The node walk is the handle database's (`fw_core::handles::device_path`).
pub use fw_core::handles::device_path::{PathError, NODE_HEADER_SIZE};

/// Why a device path could not be walked or built.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Error {
    /// Its nodes could not be walked: one runs past the bytes available or is
    /// shorter than its header.
    Walk(PathError),
    /// A node to build would not fit the 16-bit length field.
    NodeTooLong {
        /// The data's length.
        len: usize,
    },
    /// A file path holds a character outside UCS-2 (or a NUL).
    NotUcs2 {
        /// The character.
        character: char,
    },
}

impl From<PathError> for Error {
    fn from(e: PathError) -> Self {
        Error::Walk(e)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Walk(e) => write!(f, "device path {e}"),
            Error::NodeTooLong { len } => {
                write!(f, "device path node of {len} bytes does not fit a 16-bit length")
            }
            Error::NotUcs2 { character } => {
                write!(f, "character {character:?} cannot be stored in a UCS-2 file path")
            }
        }
    }
}
