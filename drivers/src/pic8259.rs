//! The PC-AT's two 8259 programmable interrupt controllers, kept silent.
//!
//! The firmware runs with interrupts disabled and polls its devices. Before it,
//! SeaBIOS (QEMU's PVH boot) left the timer's IRQ 0 unmasked, so the PIT keeps
//! raising it and the processor always has a hardware interrupt pending that it
//! never takes. Under QEMU's TCG that costs about a fifth of all guest time:
//! every return to the emulator's execution loop takes the I/O lock to look at
//! the pending interrupt again. Masking every line at both controllers lowers
//! it. The OS programs the controllers itself (Linux masks them the same way
//! before it sets up its own interrupts).

use fw_port_io::outb;

/// The interrupt mask register (OCW1) of the primary controller.
const PRIMARY_MASK_PORT: u16 = 0x21;
/// The interrupt mask register of the secondary controller, cascaded on IRQ 2.
const SECONDARY_MASK_PORT: u16 = 0xa1;
/// Every one of a controller's eight lines masked.
const ALL_LINES: u8 = 0xff;

/// Masks all sixteen lines.
///
/// Call only on a machine that has the 8259s (the MADT's PCAT_COMPAT flag).
pub fn mask_all() {
    // SAFETY: the caller checked that the PC-AT's 8259s decode these ports;
    // writing OCW1 only changes which lines reach the processor.
    unsafe {
        outb(PRIMARY_MASK_PORT, ALL_LINES);
        outb(SECONDARY_MASK_PORT, ALL_LINES);
    }
}
