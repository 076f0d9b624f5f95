//! Reset and power-off registers: the FADT's reset register and PM1/sleep
//! control blocks, with the `\_S5` sleep type from the DSDT.

use super::aml::s5_sleep_type;
use super::fadt::*;
use super::{read_table, PhysMemory, Table};
use crate::bytes::LeFields;

/// How to reset and power off the machine, from the FADT and the DSDT's `\_S5`
/// object (ACPI 6.5 §4.8.3.6 reset register, §7.4.2 sleep states, §4.8.3.7
/// sleep control register of hardware-reduced platforms).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PowerControl {
    /// RESET_REG in I/O space and RESET_VALUE, when RESET_REG_SUP is set.
    pub reset: Option<(u16, u8)>,
    /// PM1a and PM1b control blocks (I/O ports).
    pub pm1a_control: Option<u16>,
    /// (PM1b: the second block, when there is one.)
    pub pm1b_control: Option<u16>,
    /// SLEEP_CONTROL_REG (hardware-reduced ACPI), I/O port.
    pub sleep_control: Option<u16>,
    /// SLP_TYPa and SLP_TYPb of the S5 (soft off) state.
    pub s5: Option<(u8, u8)>,
}

/// The FADT's power registers, with `\_S5` from the DSDT it points to.
pub fn power_control<M: PhysMemory + ?Sized>(mem: &M, fadt: &Table<'_>) -> PowerControl {
    let bytes = fadt.bytes;
    let flags = bytes.u32_le(FADT_FLAGS).unwrap_or(0);
    let reset = (flags & FADT_FLAG_RESET_REG_SUP != 0)
        .then(|| Some((gas_io_port(bytes, FADT_RESET_REG)?, *bytes.get(FADT_RESET_VALUE)?)))
        .flatten();
    let dsdt = bytes
        .u64_le(FADT_X_DSDT)
        .filter(|&a| a != 0)
        .or_else(|| bytes.u32_le(FADT_DSDT).map(u64::from).filter(|&a| a != 0));
    let s5 = dsdt
        .and_then(|addr| read_table(mem, addr).ok())
        .and_then(|t| s5_sleep_type(t.data()));
    PowerControl {
        reset,
        pm1a_control: gas_io_port(bytes, FADT_X_PM1A_CNT_BLK).or_else(|| port_field(bytes, FADT_PM1A_CNT_BLK)),
        pm1b_control: gas_io_port(bytes, FADT_X_PM1B_CNT_BLK).or_else(|| port_field(bytes, FADT_PM1B_CNT_BLK)),
        sleep_control: gas_io_port(bytes, FADT_SLEEP_CONTROL_REG),
        s5,
    }
}
