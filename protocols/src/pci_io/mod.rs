//! EFI_PCI_ROOT_BRIDGE_IO_PROTOCOL (UEFI 2.10 §14.2) for the root bridge the
//! firmware enumerated, and EFI_PCI_IO_PROTOCOL (§14.4) for each function
//! found behind it.
//!
//! The logic (argument checks, widths, descriptors, DMA plans) is safe code in
//! `width`, `bridge`, `descriptors`, `attributes` and `dma`, tested on the
//! host against a model; `root_bridge` and `efi` are the ABI thunks, and
//! `edge` the part of them both protocols share. Memory and I/O accesses
//! reach only what the root bridge decodes and the firmware has mapped:
//! memory BARs of enumerated functions, and the I/O window. Everything else
//! is refused with INVALID_PARAMETER (root bridge) or UNSUPPORTED (outside a
//! BAR, PCI I/O), never a fault.

pub mod attributes;
pub mod bridge;
pub mod descriptors;
pub mod dma;
mod edge;
pub mod efi;
pub mod root_bridge;
pub mod width;

#[cfg(test)]
mod tests;

pub use bridge::{Apertures, Range, RootBridge, Services};

use core::fmt;
use fw_drivers::pci::PciAddress;
use r_efi::efi::Status;

/// Why a PCI protocol request was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Error {
    /// A width that is not one of the protocol's.
    BadWidth(u32),
    /// A NULL buffer.
    NullBuffer,
    /// `count` accesses would not fit in the address space.
    TooLong {
        /// How many accesses were asked for.
        count: usize,
    },
    /// An address not aligned to the access width.
    Unaligned {
        /// The address.
        address: u64,
        /// The width in bytes.
        width: u64,
    },
    /// Memory or I/O the root bridge does not decode (or the firmware has
    /// not mapped).
    NotDecoded {
        /// The first address.
        address: u64,
        /// The bytes the access spans.
        len: u64,
    },
    /// Beyond the function's configuration space.
    OutsideConfigSpace {
        /// The function.
        address: PciAddress,
        /// The register offset.
        offset: u64,
        /// The bytes the access spans.
        len: u64,
    },
    /// PCI I/O: no such BAR, or not of the space asked for.
    NoSuchBar {
        /// The BAR index given.
        index: u8,
    },
    /// Outside the BAR's size.
    OutsideBar {
        /// The BAR index.
        index: u8,
        /// The offset into the BAR.
        offset: u64,
        /// The bytes the access spans.
        len: u64,
    },
    /// PollMem/PollIo ran out of time before the value matched.
    Timeout,
    /// An operation that is not one of Map's.
    BadOperation(u32),
    /// Map of zero bytes, or of a range that wraps.
    EmptyMapping,
    /// A common buffer above 4 GiB for a function that cannot reach it: no bounce buffer can serve both directions at once.
    CommonBufferAbove4G {
        /// The buffer's host address.
        host: u64,
    },
    /// Unmap of a mapping Map did not return.
    UnknownMapping {
        /// The mapping token given.
        token: usize,
    },
    /// AllocateBuffer of a memory type other than boot or runtime services data.
    BadMemoryType(u32),
    /// Attributes AllocateBuffer does not accept.
    UnsupportedAttributes(u64),
    /// FreeBuffer of pages AllocateBuffer did not hand out.
    NotAllocated {
        /// The address given.
        host: u64,
        /// The page count given.
        pages: usize,
    },
    /// No memory for the request.
    OutOfResources,
}

impl Error {
    /// The status the specification gives.
    pub fn status(&self) -> Status {
        match self {
            Error::NoSuchBar { .. }
            | Error::OutsideBar { .. }
            | Error::OutsideConfigSpace { .. }
            | Error::CommonBufferAbove4G { .. }
            | Error::UnsupportedAttributes(_) => Status::UNSUPPORTED,
            Error::Timeout => Status::TIMEOUT,
            Error::OutOfResources => Status::OUT_OF_RESOURCES,
            _ => Status::INVALID_PARAMETER,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::BadWidth(w) => write!(f, "width {w} is not valid here"),
            Error::NullBuffer => write!(f, "buffer is NULL"),
            Error::TooLong { count } => write!(f, "{count} accesses overflow the address"),
            Error::Unaligned { address, width } => write!(f, "{address:#x} is not aligned to {width} bytes"),
            Error::NotDecoded { address, len } => {
                write!(f, "{len:#x} bytes at {address:#x} are not decoded by the root bridge")
            }
            Error::OutsideConfigSpace { address, offset, len } => {
                write!(
                    f,
                    "{len} bytes at {offset:#x} are outside the configuration space of {address}"
                )
            }
            Error::NoSuchBar { index } => write!(f, "BAR {index} does not exist or is of the other space"),
            Error::OutsideBar { index, offset, len } => {
                write!(f, "{len:#x} bytes at offset {offset:#x} are outside BAR {index}")
            }
            Error::Timeout => write!(f, "the value did not appear in time"),
            Error::BadOperation(op) => write!(f, "operation {op} is not valid"),
            Error::EmptyMapping => write!(f, "the mapping is empty or wraps"),
            Error::CommonBufferAbove4G { host } => {
                write!(f, "a common buffer at {host:#x} is above 4 GiB for a 32-bit device")
            }
            Error::UnknownMapping { token } => write!(f, "mapping {token:#x} is not a live mapping"),
            Error::BadMemoryType(t) => write!(f, "memory type {t} is not allowed"),
            Error::UnsupportedAttributes(a) => write!(f, "attributes {a:#x} are not supported"),
            Error::NotAllocated { host, pages } => {
                write!(f, "{pages} pages at {host:#x} were not allocated by AllocateBuffer")
            }
            Error::OutOfResources => write!(f, "no memory left"),
        }
    }
}

/// The status of `result`, logging a refusal at debug level.
pub(crate) fn status(result: Result<(), Error>, service: impl fmt::Display) -> Status {
    match result {
        Ok(()) => Status::SUCCESS,
        Err(e) => {
            log::debug!("pci io: {service}: {e}");
            e.status()
        }
    }
}
