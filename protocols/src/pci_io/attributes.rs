//! PCI I/O's Attributes (UEFI 2.10 §14.4): which of I/O decoding, memory
//! decoding and bus mastering a function has on, read from and written to its
//! command register, and whether the caller said the device addresses 64 bits
//! (dual address cycle: no bounce buffers above 4 GiB). ISA, VGA, IDE and
//! cache attributes are not offered: virtual functions have no such decoding.
#![forbid(unsafe_code)]

use super::Error;
use fw_drivers::pci::{PciDevice, COMMAND_BUS_MASTER, COMMAND_IO_SPACE, COMMAND_MEMORY_SPACE};

/// EFI_PCI_IO_ATTRIBUTE_IO: the function's I/O space decodes.
pub const ATTRIBUTE_IO: u64 = 0x0100;
/// EFI_PCI_IO_ATTRIBUTE_MEMORY: the function's memory space decodes.
pub const ATTRIBUTE_MEMORY: u64 = 0x0200;
/// EFI_PCI_IO_ATTRIBUTE_BUS_MASTER: the function may master the bus (DMA).
pub const ATTRIBUTE_BUS_MASTER: u64 = 0x0400;
/// EFI_PCI_IO_ATTRIBUTE_DUAL_ADDRESS_CYCLE: the function reaches 64-bit addresses.
pub const ATTRIBUTE_DUAL_ADDRESS_CYCLE: u64 = 0x8000;

/// `EFI_PCI_IO_PROTOCOL_ATTRIBUTE_OPERATION`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Operation {
    /// Get: the current attributes.
    Get,
    /// Set: exactly these attributes.
    Set,
    /// Enable: these attributes as well.
    Enable,
    /// Disable: these attributes no longer.
    Disable,
    /// Supported: the attributes the function can have.
    Supported,
}

impl Operation {
    /// The operation of its raw value.
    pub fn from_raw(raw: u32) -> Result<Operation, Error> {
        [
            Operation::Get,
            Operation::Set,
            Operation::Enable,
            Operation::Disable,
            Operation::Supported,
        ]
        .get(raw as usize)
        .copied()
        .ok_or(Error::BadOperation(raw))
    }
}

/// What the function can have: decoding of the spaces it has BARs in (both
/// for bridges, which forward them), bus mastering, and 64-bit DMA.
pub fn supported(device: &PciDevice) -> u64 {
    let bars = device.bars.iter().flatten();
    let mut s = ATTRIBUTE_BUS_MASTER | ATTRIBUTE_DUAL_ADDRESS_CYCLE;
    if device.is_bridge() || bars.clone().any(|b| !b.is_memory()) {
        s |= ATTRIBUTE_IO;
    }
    if device.is_bridge() || bars.clone().any(|b| b.is_memory()) {
        s |= ATTRIBUTE_MEMORY;
    }
    s
}

const MAPPED: [(u64, u16); 3] = [
    (ATTRIBUTE_IO, COMMAND_IO_SPACE),
    (ATTRIBUTE_MEMORY, COMMAND_MEMORY_SPACE),
    (ATTRIBUTE_BUS_MASTER, COMMAND_BUS_MASTER),
];

/// The attributes a command register value and the DAC flag stand for.
pub fn current(command: u16, dac: bool) -> u64 {
    let mut a = MAPPED
        .iter()
        .filter(|(_, bit)| command & bit != 0)
        .fold(0, |a, (attribute, _)| a | attribute);
    if dac {
        a |= ATTRIBUTE_DUAL_ADDRESS_CYCLE;
    }
    a
}

/// The outcome of an Attributes call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Outcome {
    /// The command register to write (`None`: leave it).
    pub command: Option<u16>,
    /// Whether the function now reaches 64-bit addresses (dual address cycle).
    pub dac: bool,
    /// What goes to `Result` (Get and Supported).
    pub result: u64,
}

/// Applies `operation` with `requested` attributes to a function whose
/// command register reads `command`. Set, Enable and Disable refuse any
/// attribute outside `supported` with UNSUPPORTED and change nothing.
pub fn apply(operation: Operation, requested: u64, supported: u64, command: u16, dac: bool) -> Result<Outcome, Error> {
    let now = current(command, dac);
    let target = match operation {
        Operation::Get => {
            return Ok(Outcome {
                command: None,
                dac,
                result: now,
            })
        }
        Operation::Supported => {
            return Ok(Outcome {
                command: None,
                dac,
                result: supported,
            })
        }
        Operation::Set => requested,
        Operation::Enable => now | requested,
        Operation::Disable => now & !requested,
    };
    if requested & !supported != 0 {
        return Err(Error::UnsupportedAttributes(requested & !supported));
    }
    let mut new = command;
    for (attribute, bit) in MAPPED {
        if target & attribute != 0 {
            new |= bit;
        } else {
            new &= !bit;
        }
    }
    Ok(Outcome {
        command: (new != command).then_some(new),
        dac: target & ATTRIBUTE_DUAL_ADDRESS_CYCLE != 0,
        result: 0,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: u64 = ATTRIBUTE_IO | ATTRIBUTE_MEMORY | ATTRIBUTE_BUS_MASTER | ATTRIBUTE_DUAL_ADDRESS_CYCLE;

    #[test]
    fn get_reads_the_command_register_and_enable_sets_only_the_asked_bits() {
        let command = COMMAND_MEMORY_SPACE | COMMAND_BUS_MASTER | 0x100; // SERR# kept
        let got = apply(Operation::Get, 0, ALL, command, false).unwrap();
        assert_eq!(got.result, ATTRIBUTE_MEMORY | ATTRIBUTE_BUS_MASTER);
        let enabled = apply(Operation::Enable, ATTRIBUTE_IO, ALL, command, false).unwrap();
        assert_eq!(enabled.command, Some(command | COMMAND_IO_SPACE));
        let disabled = apply(Operation::Disable, ATTRIBUTE_BUS_MASTER, ALL, command, false).unwrap();
        assert_eq!(disabled.command, Some(COMMAND_MEMORY_SPACE | 0x100));
        let set = apply(
            Operation::Set,
            ATTRIBUTE_MEMORY | ATTRIBUTE_DUAL_ADDRESS_CYCLE,
            ALL,
            command,
            false,
        )
        .unwrap();
        assert_eq!((set.command, set.dac), (Some(COMMAND_MEMORY_SPACE | 0x100), true));
        let same = apply(Operation::Enable, ATTRIBUTE_MEMORY, ALL, command, false).unwrap();
        assert_eq!(same.command, None);
    }

    #[test]
    fn unsupported_attributes_change_nothing() {
        let vga = 0x10;
        assert_eq!(
            apply(Operation::Enable, vga | ATTRIBUTE_IO, ALL, 0, false),
            Err(Error::UnsupportedAttributes(vga))
        );
        assert_eq!(apply(Operation::Supported, 0, ALL, 0, false).unwrap().result, ALL);
        assert_eq!(Operation::from_raw(5), Err(Error::BadOperation(5)));
    }
}
