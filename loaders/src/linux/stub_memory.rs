//! Whether an x86 kernel's EFI stub will find the memory it needs, checked
//! before StartImage so that a VM that is too small gets a message instead of
//! a silent death.
//!
//! The x86 stub (Linux `drivers/firmware/efi/libstub/x86-stub.c` since 6.8, and
//! Debian's 6.1 kernels, which carry it) decompresses the kernel into one block
//! of `init_size` bytes (bzImage setup header, `Documentation/arch/x86/boot.rst`),
//! 2 MiB aligned, at or above LOAD_PHYSICAL_ADDR (16 MiB), chosen among the free
//! (EfiConventionalMemory) ranges of the memory map. When there is no such block,
//! Debian's 6.1.0-57 stub does not stop: it decompresses to an address it never
//! allocated, over the firmware.
#![forbid(unsafe_code)]

use super::e820::EfiRegion;
use uefi_raw::table::boot::MemoryType;

const MIB: u64 = 1 << 20;
const PAGE: u64 = 4096;
/// LOAD_PHYSICAL_ADDR of x86 kernels built with the default configuration.
pub const STUB_MIN_ADDRESS: u64 = 16 * MIB;
/// The stub's alignment for the block (CONFIG_PHYSICAL_ALIGN).
pub const STUB_ALIGN: u64 = 2 * MIB;
/// The stub looks below 4 GiB (EFI_X86_KERNEL_ALLOC_LIMIT).
pub const STUB_MAX_ADDRESS: u64 = 1 << 32;

/// `init_size` of a bzImage whose first bytes are `headers` (the PE headers
/// LoadImage placed at the image base, which hold the setup header), if it is one.
pub fn init_size(headers: &[u8]) -> Option<u64> {
    let magic = headers.get(0x202..0x206)?;
    if headers.get(0..2)? != b"MZ" || magic != b"HdrS" {
        return None;
    }
    let bytes = headers.get(0x260..0x264)?;
    Some(u64::from(u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]])))
}

/// What the stub will not find.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shortfall {
    /// Bytes the stub allocates in one block.
    pub block: u64,
    /// The largest aligned block it can get now.
    pub largest: u64,
    /// RAM the OS would get, in bytes (all but reserved, MMIO and unusable).
    pub ram: u64,
}

impl Shortfall {
    /// RAM the VM needs at least, in MiB: what it has plus what the block lacks.
    pub fn needed_mib(&self) -> u64 {
        (self.ram + self.block - self.largest).div_ceil(MIB)
    }

    /// RAM the VM has, in MiB: the map leaves out what the VMM reserved in
    /// it (ACPI tables, the BIOS area), hence rounded up.
    pub fn ram_mib(&self) -> u64 {
        self.ram.div_ceil(MIB)
    }
}

/// Checks that a free, [`STUB_ALIGN`]ed block of `init_size` bytes (rounded up
/// to the alignment) lies between [`STUB_MIN_ADDRESS`] and [`STUB_MAX_ADDRESS`].
pub fn check(regions: &[EfiRegion], init_size: u64) -> Result<(), Shortfall> {
    let block = init_size.div_ceil(STUB_ALIGN) * STUB_ALIGN;
    let largest = regions
        .iter()
        .filter(|r| r.ty == MemoryType::CONVENTIONAL)
        .map(|r| {
            let start = r.start.max(STUB_MIN_ADDRESS).div_ceil(STUB_ALIGN) * STUB_ALIGN;
            let end = r
                .start
                .saturating_add(r.pages.saturating_mul(PAGE))
                .min(STUB_MAX_ADDRESS);
            end.saturating_sub(start) / STUB_ALIGN * STUB_ALIGN
        })
        .max()
        .unwrap_or(0);
    if largest >= block {
        return Ok(());
    }
    let ram = regions
        .iter()
        .filter(|r| is_ram(r.ty))
        .map(|r| r.pages.saturating_mul(PAGE))
        .fold(0u64, u64::saturating_add);
    Err(Shortfall { block, largest, ram })
}

fn is_ram(ty: MemoryType) -> bool {
    !matches!(
        ty,
        MemoryType::RESERVED | MemoryType::MMIO | MemoryType::MMIO_PORT_SPACE | MemoryType::UNUSABLE
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn region(ty: MemoryType, start: u64, end: u64) -> EfiRegion {
        EfiRegion {
            ty,
            start,
            pages: (end - start) / PAGE,
        }
    }

    /// The map of a 72 MiB q35 VM with the kernel loaded below 16 MiB.
    fn small_vm(free_end: u64) -> [EfiRegion; 5] {
        [
            region(MemoryType::CONVENTIONAL, 0, 0x9f000),
            region(MemoryType::RUNTIME_SERVICES_CODE, MIB, 0x22e000),
            region(MemoryType::LOADER_CODE, 0x22e000, 0xffb000),
            region(MemoryType::CONVENTIONAL, 0xffb000, free_end),
            region(MemoryType::BOOT_SERVICES_DATA, free_end, 72 * MIB),
        ]
    }

    #[test]
    fn reads_init_size_from_a_bzimage_header() {
        let mut headers = [0u8; 0x400];
        headers[0..2].copy_from_slice(b"MZ");
        headers[0x202..0x206].copy_from_slice(b"HdrS");
        headers[0x260..0x264].copy_from_slice(&0x0337_8000u32.to_le_bytes());
        assert_eq!(init_size(&headers), Some(0x0337_8000));
        headers[0x202] = b'X';
        assert_eq!(init_size(&headers), None);
        assert_eq!(init_size(&headers[..0x100]), None);
    }

    #[test]
    fn a_block_that_fits_above_16_mib_passes() {
        assert_eq!(check(&small_vm(70 * MIB), 0x0337_8000), Ok(()));
    }

    #[test]
    fn a_short_vm_is_told_how_much_it_needs() {
        // 52 MiB wanted, 16..62 MiB free: 6 MiB short of 72.
        let short = check(&small_vm(62 * MIB), 0x0337_8000).unwrap_err();
        assert_eq!(short.block, 52 * MIB);
        assert_eq!(short.largest, 46 * MIB);
        assert_eq!(short.ram_mib(), 72);
        assert_eq!(short.needed_mib(), 78);
    }

    #[test]
    fn free_memory_below_16_mib_or_above_4_gib_does_not_count() {
        let regions = [
            region(MemoryType::CONVENTIONAL, MIB, 16 * MIB),
            region(MemoryType::CONVENTIONAL, 1 << 32, (1 << 32) + 512 * MIB),
        ];
        let short = check(&regions, 8 * MIB).unwrap_err();
        assert_eq!(short.largest, 0);
    }
}
