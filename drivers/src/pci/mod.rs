//! PCI: configuration space access (ECAM and x86 port I/O), bus enumeration, BAR
//! sizing and assignment, and the capability list.
//!
//! Register layout from the PCI Local Bus Specification 3.0 §6.1 (type 0 header),
//! the PCI-to-PCI Bridge Architecture Specification 1.2 §3.2 (type 1 header) and
//! PCI Express Base Specification §7.2.2 (ECAM). Device access goes through
//! [`ConfigAccess`], so enumeration and assignment run on the host against a model.

pub mod bar;
pub mod capability;
pub mod config;
pub mod enumerate;
#[cfg(test)]
pub(crate) mod model;

pub use bar::{assign_bars, enable_devices, Bar, BarKind, BarWindows, Window};
pub use capability::{capabilities, vendor_capabilities, Capability};
#[cfg(all(target_arch = "x86_64", target_os = "none"))]
pub use config::PortIo;
pub use config::{ConfigAccess, Ecam};
pub use enumerate::{enumerate, PciDevice};

use core::fmt;

/// Vendor ID read from a slot with no function behind it.
pub const VENDOR_NONE: u16 = 0xFFFF;

// Configuration space header offsets common to all header types (PCI 3.0 §6.1).
pub const VENDOR_ID: u16 = 0x00;
pub const DEVICE_ID: u16 = 0x02;
pub const COMMAND: u16 = 0x04;
pub const STATUS: u16 = 0x06;
pub const REVISION_ID: u16 = 0x08;
pub const PROG_IF: u16 = 0x09;
pub const SUBCLASS: u16 = 0x0A;
pub const CLASS_CODE: u16 = 0x0B;
pub const HEADER_TYPE: u16 = 0x0E;
pub const BAR0: u16 = 0x10;
/// Type 0 only.
pub const SUBSYSTEM_VENDOR_ID: u16 = 0x2C;
/// Type 0 only.
pub const SUBSYSTEM_ID: u16 = 0x2E;
pub const CAPABILITIES_POINTER: u16 = 0x34;
// Type 1 (PCI-to-PCI bridge) header.
pub const PRIMARY_BUS: u16 = 0x18;
pub const SECONDARY_BUS: u16 = 0x19;
pub const SUBORDINATE_BUS: u16 = 0x1A;

pub const COMMAND_IO_SPACE: u16 = 1 << 0;
pub const COMMAND_MEMORY_SPACE: u16 = 1 << 1;
pub const COMMAND_BUS_MASTER: u16 = 1 << 2;
pub const STATUS_CAPABILITIES_LIST: u16 = 1 << 4;

pub const HEADER_TYPE_MASK: u8 = 0x7F;
pub const HEADER_TYPE_MULTIFUNCTION: u8 = 0x80;
pub const HEADER_TYPE_DEVICE: u8 = 0x00;
pub const HEADER_TYPE_BRIDGE: u8 = 0x01;

pub const MAX_DEVICES: u8 = 32;
pub const MAX_FUNCTIONS: u8 = 8;

/// The location of a function: bus, device (0..32), function (0..8).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PciAddress {
    pub bus: u8,
    pub device: u8,
    pub function: u8,
}

impl PciAddress {
    pub const fn new(bus: u8, device: u8, function: u8) -> PciAddress {
        PciAddress { bus, device, function }
    }
}

impl fmt::Display for PciAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:02x}:{:02x}.{}", self.bus, self.device, self.function)
    }
}

/// Why a PCI operation failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Error {
    /// No window the caller gave has room for a BAR.
    NoSpaceForBar { address: PciAddress, bar: u8, size: u64 },
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::NoSpaceForBar { address, bar, size } => write!(
                f,
                "no address window has room for BAR{bar} ({size:#x} bytes) of {address}"
            ),
        }
    }
}
