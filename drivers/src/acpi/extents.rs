//! Where the ACPI structures reachable from an RSDP lie: the RSDP itself, the
//! XSDT or RSDT, every table they list, and the DSDT and FACS the FADT points
//! at (ACPI 6.5 §5.2.9: `DSDT`/`X_DSDT`, `FIRMWARE_CTRL`/`X_FIRMWARE_CTRL`).
//! The firmware uses it to tell the tables in a VMM's blob from the padding
//! after them, and gives the padding back to the OS.

use super::fadt::{FADT_DSDT, FADT_FIRMWARE_CTRL, FADT_SIGNATURE, FADT_X_DSDT, FADT_X_FIRMWARE_CTRL};
use super::{read, read_table, Acpi, Error, PhysMemory};
use crate::bytes::LeFields;
use alloc::vec;
use alloc::vec::Vec;

/// The FACS's `Length` field is after its 4-byte signature (§5.2.10).
const FACS_LENGTH: usize = 4;
/// Its signature and length.
const FACS_HEADER_LENGTH: usize = 8;

/// The bytes one ACPI structure occupies.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Extent {
    /// Its first byte.
    pub address: u64,
    /// Its length in bytes.
    pub length: u64,
}

impl Extent {
    /// The address after its last byte.
    pub fn end(&self) -> u64 {
        self.address.saturating_add(self.length)
    }
}

/// Every structure reachable from the RSDP at `rsdp_address`. Any pointer that
/// does not lead to a readable, checksummed table is an error: a caller that
/// trims memory by these extents must not guess.
pub fn reachable_extents<M: PhysMemory + ?Sized>(mem: &M, rsdp_address: u64) -> Result<Vec<Extent>, Error> {
    let acpi = Acpi::new(mem, rsdp_address)?;
    let mut extents = vec![
        table_extent(rsdp_address, acpi.rsdp().length),
        table_extent(acpi.root().address, acpi.root().header.length),
    ];
    for address in acpi.table_addresses() {
        let table = read_table(mem, address)?;
        extents.push(table_extent(address, table.header.length));
        if table.header.signature != FADT_SIGNATURE {
            continue;
        }
        let bytes = table.bytes;
        let dsdts = [bytes.u32_le(FADT_DSDT).map(u64::from), bytes.u64_le(FADT_X_DSDT)];
        for dsdt in dsdts.into_iter().flatten().filter(|&a| a != 0) {
            let dsdt = read_table(mem, dsdt)?;
            extents.push(table_extent(dsdt.address, dsdt.header.length));
        }
        let facs = [
            bytes.u32_le(FADT_FIRMWARE_CTRL).map(u64::from),
            bytes.u64_le(FADT_X_FIRMWARE_CTRL),
        ];
        for facs in facs.into_iter().flatten().filter(|&a| a != 0) {
            let header = read(mem, facs, FACS_HEADER_LENGTH)?;
            let length = header.u32_le(FACS_LENGTH).unwrap_or(0);
            read(mem, facs, length as usize)?;
            extents.push(table_extent(facs, length));
        }
    }
    Ok(extents)
}

fn table_extent(address: u64, length: u32) -> Extent {
    Extent {
        address,
        length: u64::from(length),
    }
}
