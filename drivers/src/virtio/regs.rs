//! Register access for the transports: a region of device registers addressed by
//! byte offset. [`MmioRegion`] is the real one (volatile loads and stores);
//! host tests put a model of the device behind the trait.

/// A block of little-endian device registers. Accesses are naturally aligned.
pub trait Registers {
    /// The byte at `offset`.
    fn read8(&self, offset: usize) -> u8;
    /// The 16-bit register at `offset`.
    fn read16(&self, offset: usize) -> u16;
    /// The 32-bit register at `offset`.
    fn read32(&self, offset: usize) -> u32;
    /// Writes the byte at `offset`.
    fn write8(&self, offset: usize, value: u8);
    /// Writes the 16-bit register at `offset`.
    fn write16(&self, offset: usize, value: u16);
    /// Writes the 32-bit register at `offset`.
    fn write32(&self, offset: usize, value: u32);
}

/// Memory-mapped registers at an identity-mapped physical address. Accesses
/// outside the region or misaligned ones read as all ones and write nothing.
#[derive(Debug)]
pub struct MmioRegion {
    /// An integer, not a pointer, so that the region is `Send + Sync`; it only
    /// becomes a pointer for each access.
    base: usize,
    len: usize,
}

impl MmioRegion {
    /// # Safety
    /// `base..base + len` must be identity-mapped device registers that nothing
    /// else accesses while this value is in use.
    pub unsafe fn new(base: u64, len: usize) -> MmioRegion {
        MmioRegion {
            base: base as usize,
            len,
        }
    }

    /// The region's physical address.
    pub fn base(&self) -> u64 {
        self.base as u64
    }

    /// The region's length in bytes.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the region is empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    fn at(&self, offset: usize, width: usize) -> Option<usize> {
        let end = offset.checked_add(width)?;
        (end <= self.len && offset.is_multiple_of(width)).then_some(self.base + offset)
    }
}

macro_rules! mmio_access {
    ($read:ident, $write:ident, $ty:ty) => {
        fn $read(&self, offset: usize) -> $ty {
            match self.at(offset, core::mem::size_of::<$ty>()) {
                // SAFETY: `new`'s contract makes the region device registers; `at`
                // checked bounds and alignment. Registers are little-endian, as
                // are all targets of this firmware.
                Some(at) => unsafe { (at as *const $ty).read_volatile() },
                None => <$ty>::MAX,
            }
        }

        fn $write(&self, offset: usize, value: $ty) {
            if let Some(at) = self.at(offset, core::mem::size_of::<$ty>()) {
                // SAFETY: as for the read.
                unsafe { (at as *mut $ty).write_volatile(value) }
            }
        }
    };
}

impl Registers for MmioRegion {
    mmio_access!(read8, write8, u8);
    mmio_access!(read16, write16, u16);
    mmio_access!(read32, write32, u32);
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::vec;

    #[test]
    fn mmio_region_accesses_stay_inside_and_aligned() {
        let mut memory = vec![0u32; 4];
        // SAFETY: the region is the vector.
        let region = unsafe { MmioRegion::new(memory.as_mut_ptr() as u64, 16) };
        region.write32(4, 0xAABB_CCDD);
        region.write16(8, 0x1122);
        region.write8(15, 0x33);
        region.write32(16, 1);
        region.write32(2, 1);
        assert_eq!(region.read8(5), 0xCC);
        assert_eq!(region.read16(6), 0xAABB);
        assert_eq!(region.read32(16), u32::MAX);
        assert_eq!(region.read16(3), u16::MAX);
        assert_eq!(memory, [0, 0xAABB_CCDD, 0x1122, 0x3300_0000]);
    }
}
