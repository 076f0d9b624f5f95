//! PCI: configuration space access (ECAM and x86 port I/O), bus enumeration with
//! bus numbering of PCI-to-PCI bridges, BAR sizing, assignment of BARs and bridge
//! windows, and the capability list.
//!
//! Register layout from the PCI Local Bus Specification 3.0 §6.1 (type 0 header),
//! the PCI-to-PCI Bridge Architecture Specification 1.2 §3.2 (type 1 header) and
//! PCI Express Base Specification §7.2.2 (ECAM). Device access goes through
//! [`ConfigAccess`], so enumeration and assignment run on the host against a model.

pub mod assign;
pub mod bar;
pub mod bridge;
pub mod capability;
pub mod config;
pub mod enumerate;
pub mod host;
#[cfg(test)]
pub(crate) mod model;

pub use assign::{assign_bars, enable_devices};
pub use bar::{Bar, BarKind, BarWindows, Window};
pub use capability::{capabilities, vendor_capabilities, Capability};
#[cfg(all(target_arch = "x86_64", target_os = "none"))]
pub use config::PortIo;
pub use config::{ConfigAccess, Ecam};
pub use enumerate::{enumerate, function_path, PciDevice};
pub use host::{AccessWidth, HostSpaces, Space};

use core::fmt;

/// Vendor ID read from a slot with no function behind it.
pub const VENDOR_NONE: u16 = 0xFFFF;

// Configuration space header offsets common to all header types (PCI 3.0 §6.1).
/// Vendor ID (16 bits).
pub const VENDOR_ID: u16 = 0x00;
/// Device ID (16 bits).
pub const DEVICE_ID: u16 = 0x02;
/// Command register (16 bits): the `COMMAND_*` bits.
pub const COMMAND: u16 = 0x04;
/// Status register (16 bits).
pub const STATUS: u16 = 0x06;
/// Revision ID (8 bits).
pub const REVISION_ID: u16 = 0x08;
/// Programming interface (8 bits).
pub const PROG_IF: u16 = 0x09;
/// Sub-class code (8 bits).
pub const SUBCLASS: u16 = 0x0A;
/// Base class code (8 bits).
pub const CLASS_CODE: u16 = 0x0B;
/// Header type (8 bits): layout and the multi-function bit.
pub const HEADER_TYPE: u16 = 0x0E;
/// The first BAR (six on type 0, two on type 1, 4 bytes each).
pub const BAR0: u16 = 0x10;
/// Type 0 only.
pub const SUBSYSTEM_VENDOR_ID: u16 = 0x2C;
/// Type 0 only.
pub const SUBSYSTEM_ID: u16 = 0x2E;
/// The first capability's offset (8 bits), when the status register says there is a list.
pub const CAPABILITIES_POINTER: u16 = 0x34;
// Type 1 (PCI-to-PCI bridge) header.
/// Type 1: the bridge's own bus number.
pub const PRIMARY_BUS: u16 = 0x18;
/// Type 1: the bus behind the bridge.
pub const SECONDARY_BUS: u16 = 0x19;
/// Type 1: the highest bus behind the bridge.
pub const SUBORDINATE_BUS: u16 = 0x1A;
/// Type 1: I/O window base, bits 15:12 (and the addressing type).
pub const IO_BASE: u16 = 0x1C;
/// Type 1: I/O window limit, bits 15:12.
pub const IO_LIMIT: u16 = 0x1D;
/// Type 1: memory window base, bits 31:20.
pub const MEMORY_BASE: u16 = 0x20;
/// Type 1: memory window limit, bits 31:20.
pub const MEMORY_LIMIT: u16 = 0x22;
/// Type 1: prefetchable window base, bits 31:20 (and the addressing type).
pub const PREFETCHABLE_MEMORY_BASE: u16 = 0x24;
/// Type 1: prefetchable window limit, bits 31:20.
pub const PREFETCHABLE_MEMORY_LIMIT: u16 = 0x26;
/// Type 1: prefetchable window base, bits 63:32.
pub const PREFETCHABLE_BASE_UPPER_32: u16 = 0x28;
/// Type 1: prefetchable window limit, bits 63:32.
pub const PREFETCHABLE_LIMIT_UPPER_32: u16 = 0x2C;
/// Type 1: I/O window base, bits 31:16.
pub const IO_BASE_UPPER_16: u16 = 0x30;
/// Type 1: I/O window limit, bits 31:16.
pub const IO_LIMIT_UPPER_16: u16 = 0x32;

/// Command: the function decodes I/O space.
pub const COMMAND_IO_SPACE: u16 = 1 << 0;
/// Command: the function decodes memory space.
pub const COMMAND_MEMORY_SPACE: u16 = 1 << 1;
/// Command: the function may master the bus.
pub const COMMAND_BUS_MASTER: u16 = 1 << 2;
/// Status: the function has a capability list.
pub const STATUS_CAPABILITIES_LIST: u16 = 1 << 4;

/// Header type: the layout bits.
pub const HEADER_TYPE_MASK: u8 = 0x7F;
/// Header type: the device has more than one function.
pub const HEADER_TYPE_MULTIFUNCTION: u8 = 0x80;
/// Header type 0: an ordinary function.
pub const HEADER_TYPE_DEVICE: u8 = 0x00;
/// Header type 1: a PCI-to-PCI bridge.
pub const HEADER_TYPE_BRIDGE: u8 = 0x01;

/// Devices on a bus.
pub const MAX_DEVICES: u8 = 32;
/// Functions of a device.
pub const MAX_FUNCTIONS: u8 = 8;

/// The location of a function: bus, device (0..32), function (0..8).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PciAddress {
    /// The bus number.
    pub bus: u8,
    /// The device number (0..32).
    pub device: u8,
    /// The function number (0..8).
    pub function: u8,
}

impl PciAddress {
    /// The address of function `function` of device `device` on bus `bus`.
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
    NoSpaceForBar {
        /// The function.
        address: PciAddress,
        /// The BAR's slot.
        bar: u8,
        /// Its size.
        size: u64,
    },
    /// No room in the parent's window for a bridge's window.
    NoSpaceForWindow {
        /// The bridge.
        bridge: PciAddress,
        /// The window's space.
        space: bridge::Space,
        /// The window's size.
        size: u64,
    },
    /// The ECAM (or the parent bridge's bus range) has no bus number left.
    NoBusNumber {
        /// The bridge that needs a bus number.
        bridge: PciAddress,
    },
    /// Bridges nested deeper than the firmware follows.
    TooDeep {
        /// The bridge.
        bridge: PciAddress,
        /// How deep it is.
        depth: usize,
    },
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::NoSpaceForBar { address, bar, size } => write!(
                f,
                "no address window has room for BAR{bar} ({size:#x} bytes) of {address}"
            ),
            Error::NoSpaceForWindow { bridge, space, size } => write!(
                f,
                "no room for the {space:?} window ({size:#x} bytes) of bridge {bridge}"
            ),
            Error::NoBusNumber { bridge } => write!(
                f,
                "no bus number left for bridge {bridge}: devices behind it are not reached"
            ),
            Error::TooDeep { bridge, depth } => write!(
                f,
                "bridge {bridge} is nested {depth} deep, more than the firmware follows: not reached"
            ),
        }
    }
}
