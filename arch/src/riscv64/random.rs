//! No random number instruction: the Zkr extension's `seed` CSR is not offered to
//! S-mode by default (mseccfg.SSEED). EFI_RNG_PROTOCOL comes from a virtio
//! entropy device when the machine has one; without one there is none rather
//! than predictable bytes.

/// No instruction; the name appears in no log.
pub const NAME: &str = "none";

/// Whether the CPU has the Zkr extension's seed CSR.
pub fn available() -> bool {
    false
}

/// Never fills anything: there is no generator.
pub fn fill(_buffer: &mut [u8]) -> bool {
    false
}
