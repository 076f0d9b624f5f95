//! FADT fields the firmware reads (ACPI 6.5 §5.2.9, Table 5.9) and the generic
//! address structure they use (§5.2.3.2).

use super::TableSignature;
use crate::bytes::LeFields;

/// The FADT's signature.
pub const FADT_SIGNATURE: TableSignature = TableSignature(*b"FACP");

// Offsets in the FADT.
pub(super) const FADT_FIRMWARE_CTRL: usize = 36;
pub(super) const FADT_DSDT: usize = 40;
pub(super) const FADT_PM1A_CNT_BLK: usize = 64;
pub(super) const FADT_PM1B_CNT_BLK: usize = 68;
pub(super) const FADT_PM_TMR_BLK: usize = 76;
pub(super) const FADT_PM_TMR_LEN: usize = 91;
pub(super) const FADT_FLAGS: usize = 112;
pub(super) const FADT_RESET_REG: usize = 116;
pub(super) const FADT_RESET_VALUE: usize = 128;
pub(super) const FADT_X_FIRMWARE_CTRL: usize = 132;
pub(super) const FADT_X_DSDT: usize = 140;
pub(super) const FADT_X_PM1A_CNT_BLK: usize = 172;
pub(super) const FADT_X_PM1B_CNT_BLK: usize = 184;
pub(super) const FADT_X_PM_TMR_BLK: usize = 208;
pub(super) const FADT_SLEEP_CONTROL_REG: usize = 244;

// Bits of the FADT's Flags field.
pub(super) const FADT_FLAG_TMR_VAL_EXT: u32 = 1 << 8;
pub(super) const FADT_FLAG_HW_REDUCED_ACPI: u32 = 1 << 20;
pub(super) const FADT_FLAG_RESET_REG_SUP: u32 = 1 << 10;

// Address space IDs of a generic address structure.
pub(super) const GAS_SYSTEM_MEMORY: u8 = 0;
pub(super) const GAS_SYSTEM_IO: u8 = 1;
/// Where a generic address structure's 64-bit address is (after the address
/// space ID, bit width, bit offset and access size bytes).
pub(super) const GAS_ADDRESS: usize = 4;

/// An I/O port from a generic address structure at `offset`, if it is one.
pub(super) fn gas_io_port(bytes: &[u8], offset: usize) -> Option<u16> {
    let space = bytes.u8_at(offset)?;
    let address = bytes.u64_le(offset + GAS_ADDRESS)?;
    (space == GAS_SYSTEM_IO && address != 0)
        .then(|| u16::try_from(address).ok())
        .flatten()
}

/// A legacy 32-bit port block field, if set.
pub(super) fn port_field(bytes: &[u8], offset: usize) -> Option<u16> {
    let value = bytes.u32_le(offset)?;
    (value != 0).then(|| u16::try_from(value).ok()).flatten()
}
