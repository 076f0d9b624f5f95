//! Reset and power-off through the ACPI registers the FADT names (x86_64), with
//! the PC's traditional reset ports as a fallback.

use fw_arch::x86_64::io::{outb, outw};
use fw_drivers::acpi::PowerControl;
use r_efi::efi;

static POWER: spin::Once<PowerControl> = spin::Once::new();

/// Records what the ACPI tables say; called once at discovery.
pub fn set(control: PowerControl) {
    POWER.call_once(|| control);
}

const SLP_EN: u16 = 1 << 13;
const SLEEP_ENABLE: u8 = 1 << 5;

/// ResetSystem. Returns only if nothing worked.
pub fn reset(kind: efi::ResetType) {
    let control = POWER.get().copied().unwrap_or_default();
    if kind == efi::RESET_SHUTDOWN {
        if let Some((a, b)) = control.s5 {
            // SAFETY: ports from the FADT; writing SLP_TYP|SLP_EN enters S5.
            unsafe {
                if let Some(port) = control.sleep_control {
                    outb(port, ((a & 7) << 2) | SLEEP_ENABLE);
                }
                if let Some(port) = control.pm1a_control {
                    outw(port, (u16::from(a & 7) << 10) | SLP_EN);
                }
                if let Some(port) = control.pm1b_control {
                    outw(port, (u16::from(b & 7) << 10) | SLP_EN);
                }
            }
        }
        return;
    }
    // SAFETY: the FADT's reset register, then the PCI reset control register
    // (0xcf9) and the keyboard controller's reset line (0x64): each resets a PC.
    unsafe {
        if let Some((port, value)) = control.reset {
            outb(port, value);
        }
        outb(0xcf9, 0x02);
        outb(0xcf9, 0x06);
        outb(0x64, 0xfe);
    }
}
