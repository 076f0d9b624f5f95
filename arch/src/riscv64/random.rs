//! No random number source: the Zkr extension's `seed` CSR is not offered to
//! S-mode by default (mseccfg.SSEED), so the firmware installs no
//! EFI_RNG_PROTOCOL rather than offer predictable bytes.

pub fn available() -> bool {
    false
}

/// Never fills anything: there is no generator.
pub fn fill(_buffer: &mut [u8]) -> bool {
    false
}
