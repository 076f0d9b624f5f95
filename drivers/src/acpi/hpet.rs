//! The HPET description table (IA-PC HPET Specification 1.0a §3.2.4).

use super::fadt::{GAS_ADDRESS, GAS_SYSTEM_MEMORY};
use super::{Table, TableSignature};
use crate::bytes::LeFields;
use log::debug;

/// The HPET description table's signature.
pub const HPET_SIGNATURE: TableSignature = TableSignature(*b"HPET");

/// An event timer block from the ACPI HPET table (IA-PC HPET Specification
/// 1.0a §3.2.4, "The ACPI 2.0 HPET Description Table").
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Hpet {
    /// Physical address of its 1 KiB of memory-mapped registers.
    pub base_address: u64,
}

/// BASE_ADDRESS: a generic address structure after the header and the 4-byte
/// Event Timer Block ID; its 64-bit address is at offset 44 of the table.
const HPET_BASE_ADDRESS: usize = 40;

/// The timer block an HPET table describes, if its registers are in memory
/// space (the specification puts them nowhere else).
pub fn hpet(table: &Table<'_>) -> Option<Hpet> {
    let space = table.bytes.u8_at(HPET_BASE_ADDRESS)?;
    let address = table.bytes.u64_le(HPET_BASE_ADDRESS + GAS_ADDRESS)?;
    if address == 0 {
        return None;
    }
    if space != GAS_SYSTEM_MEMORY {
        debug!("acpi: the HPET at {address:#x} is in address space {space}, not memory: not used");
        return None;
    }
    Some(Hpet { base_address: address })
}
