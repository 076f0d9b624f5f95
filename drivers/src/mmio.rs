//! 32-bit device registers, the way the PL011 UART, the PL031 RTC and the
//! Goldfish RTC drivers reach theirs: through [`Registers32`], which a
//! register block at a physical address ([`Mmio32`]) implements on the
//! machine and a model implements in the tests.

/// 32-bit register access at byte offsets that are multiples of 4.
pub trait Registers32 {
    /// The register at `offset`.
    fn read(&self, offset: usize) -> u32;
    /// Writes the register at `offset`.
    fn write(&self, offset: usize, value: u32);
}

/// A register block at a physical address: identity mapped as device memory
/// (aarch64), or reached by bare physical addressing (riscv64).
#[cfg(target_os = "none")]
pub struct Mmio32 {
    /// The block's physical address.
    pub base: usize,
}

#[cfg(target_os = "none")]
impl Registers32 for Mmio32 {
    fn read(&self, offset: usize) -> u32 {
        // SAFETY: the platform makes an `Mmio32` only for a device's register
        // block, which the device tree names; registers are 32-bit aligned.
        unsafe { core::ptr::read_volatile((self.base + offset) as *const u32) }
    }
    fn write(&self, offset: usize, value: u32) {
        // SAFETY: as above.
        unsafe { core::ptr::write_volatile((self.base + offset) as *mut u32, value) }
    }
}
