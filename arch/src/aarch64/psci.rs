//! Power control through PSCI (Arm DEN 0022, Power State Coordination
//! Interface, §5: SYSTEM_OFF and SYSTEM_RESET), called with HVC or SMC as the
//! device tree's `psci` node says (`method`).

use core::sync::atomic::{AtomicU8, Ordering};

const PSCI_SYSTEM_OFF: u64 = 0x8400_0008;
const PSCI_SYSTEM_RESET: u64 = 0x8400_0009;

/// How PSCI is reached.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Conduit {
    /// The hypervisor call instruction (HVC), what a VMM's PSCI answers to.
    Hvc,
    /// The secure monitor call instruction (SMC), for firmware-provided PSCI.
    Smc,
}

const NONE: u8 = 0;
const HVC: u8 = 1;
const SMC: u8 = 2;

static CONDUIT: AtomicU8 = AtomicU8::new(NONE);

/// Records the conduit (from the device tree; called at entry).
pub fn set_conduit(conduit: Option<Conduit>) {
    let value = match conduit {
        Some(Conduit::Hvc) => HVC,
        Some(Conduit::Smc) => SMC,
        None => NONE,
    };
    CONDUIT.store(value, Ordering::Relaxed);
}

/// How the device tree's `/psci` node says to reach PSCI, if it has one.
pub fn conduit() -> Option<Conduit> {
    match CONDUIT.load(Ordering::Relaxed) {
        HVC => Some(Conduit::Hvc),
        SMC => Some(Conduit::Smc),
        _ => None,
    }
}

fn call(function: u64) {
    let mut x0 = function;
    match conduit() {
        // SAFETY: the device tree names this conduit for PSCI; SYSTEM_OFF and
        // SYSTEM_RESET take no arguments and do not return on success.
        Some(Conduit::Hvc) => unsafe {
            core::arch::asm!("hvc #0", inout("x0") x0, out("x1") _, out("x2") _, out("x3") _, options(nostack))
        },
        // SAFETY: as above.
        Some(Conduit::Smc) => unsafe {
            core::arch::asm!("smc #0", inout("x0") x0, out("x1") _, out("x2") _, out("x3") _, options(nostack))
        },
        None => {}
    }
    let _ = x0;
}

/// Powers the machine off. Returns only if PSCI is missing or refused.
pub fn system_off() {
    call(PSCI_SYSTEM_OFF);
}

/// Resets the machine. Returns only if PSCI is missing or refused.
pub fn system_reset() {
    call(PSCI_SYSTEM_RESET);
}
