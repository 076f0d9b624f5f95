//! The MADT, signature "APIC" (ACPI 6.5 §5.2.12). The firmware reads only its
//! flags: whether the machine also has the PC-AT's pair of 8259 interrupt
//! controllers, which a firmware that polls must keep quiet (`crate::pic8259`).

use super::{Table, TableSignature, SDT_HEADER_LENGTH};
use crate::bytes::LeFields;

/// The MADT's signature.
pub const MADT_SIGNATURE: TableSignature = TableSignature(*b"APIC");

/// `Flags` follows the header and the 32-bit local interrupt controller address.
const MADT_FLAGS: usize = SDT_HEADER_LENGTH + 4;
/// PCAT_COMPAT (ACPI 6.5 Table 5.20): a PC-AT-compatible dual-8259 setup is present.
const PCAT_COMPAT: u32 = 1 << 0;

/// Whether the MADT says the machine has the PC-AT's two 8259s; `None` when the
/// table is too short to hold its flags.
pub fn has_dual_8259(table: &Table<'_>) -> Option<bool> {
    let flags = table.bytes.u32_le(MADT_FLAGS)?;
    Some(flags & PCAT_COMPAT != 0)
}
