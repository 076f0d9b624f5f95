//! The ACPI power-management timer (ACPI 6.5 §4.8.3.3) a FADT names.

use super::fadt::*;
use super::Table;
use crate::bytes::LeFields;
use log::debug;

/// Where the ACPI power-management timer is (ACPI 6.5 §4.8.3.3, FADT fields
/// PM_TMR_BLK, PM_TMR_LEN, X_PM_TMR_BLK and the TMR_VAL_EXT flag).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PmTimer {
    /// I/O port of the counter.
    pub port: u16,
    /// 32-bit counter (TMR_VAL_EXT); 24-bit otherwise.
    pub wide: bool,
}

/// The PM timer a FADT describes, if it has one in I/O space: X_PM_TMR_BLK when
/// it is a System I/O address, else PM_TMR_BLK. A hardware-reduced FADT (flag
/// HW_REDUCED_ACPI) need not have one, but Cloud Hypervisor's names its timer
/// at I/O 0x608 in X_PM_TMR_BLK, and Linux uses it, so the flag is not a reason
/// to ignore one that is there.
pub fn pm_timer(fadt: &Table<'_>) -> Option<PmTimer> {
    let bytes = fadt.bytes;
    let flags = bytes.u32_le(FADT_FLAGS)?;
    let wide = flags & FADT_FLAG_TMR_VAL_EXT != 0;
    if flags & FADT_FLAG_HW_REDUCED_ACPI != 0 {
        debug!("acpi: the FADT is hardware-reduced; looking for a PM timer all the same");
    }
    let x_pm_tmr = (
        bytes.u8_at(FADT_X_PM_TMR_BLK),
        bytes.u64_le(FADT_X_PM_TMR_BLK + GAS_ADDRESS),
    );
    if let (Some(space), Some(address)) = x_pm_tmr {
        if address != 0 {
            match (space, u16::try_from(address)) {
                (GAS_SYSTEM_IO, Ok(port)) => return Some(PmTimer { port, wide }),
                (GAS_SYSTEM_IO, Err(_)) => {
                    debug!("acpi: X_PM_TMR_BLK port {address:#x} is beyond the I/O space")
                }
                (GAS_SYSTEM_MEMORY, _) => {
                    debug!("acpi: X_PM_TMR_BLK is memory-mapped at {address:#x}: not supported, only I/O ports")
                }
                _ => debug!("acpi: X_PM_TMR_BLK is in address space {space}: not supported, only I/O ports"),
            }
        }
    }
    let port = bytes.u32_le(FADT_PM_TMR_BLK)?;
    let len = bytes.u8_at(FADT_PM_TMR_LEN)?;
    if port == 0 || len < 4 {
        return None;
    }
    u16::try_from(port).ok().map(|port| PmTimer { port, wide })
}
