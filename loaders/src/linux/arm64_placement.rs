//! Whether an arm64 kernel's EFI stub can move the kernel, checked before
//! StartImage.
//!
//! With KASLR and EFI_RNG_PROTOCOL the arm64 stub (Linux
//! `drivers/firmware/efi/libstub/arm64-stub.c`, `randomalloc.c`) copies the
//! kernel to a random free, 64 KiB aligned block of the Image's full size
//! (the `image_size` of the arm64 header, `Documentation/arch/arm64/booting.rst`).
//! When no free block is that large, the stub of Debian 12's 6.1 kernels
//! counts zero candidate slots, still reports success and copies the kernel
//! to address 0: the machine dies right after ExitBootServices. That happens
//! in small VMs, where the Image the firmware loaded takes most of the RAM.
//!
//! The kernel can run where LoadImage put it (2 MiB aligned, in one memory
//! map entry as large as the Image): Linux's LINUX_EFI_LOADED_IMAGE_FIXED_GUID
//! on the image handle tells the stub to do so. The loader installs it only
//! when the stub would find no block, so physical randomisation stays on
//! whenever it can work.
#![forbid(unsafe_code)]

use super::e820::EfiRegion;
use uefi_raw::table::boot::MemoryType;
use uefi_raw::{guid, Guid};

/// Installed (with no interface) on a kernel's image handle: "run where the
/// loader placed you" (`include/linux/efi.h`).
pub const LINUX_EFI_LOADED_IMAGE_FIXED_GUID: Guid = guid!("f5a37b6d-3344-42a5-b6bb-978648c1890a");

/// The arm64 Image header's magic, "ARM\x64", at offset 0x38.
const ARM64_MAGIC: &[u8; 4] = b"ARMd";
const PAGE: u64 = 4096;
/// The alignment of the stub's random placement (EFI_KIMG_ALIGN with 4 KiB
/// pages: the kernel's segment alignment).
pub const RANDOM_ALIGN: u64 = 64 << 10;

/// The Image's effective size (`image_size`, text through bss) of an arm64
/// kernel whose first bytes are `headers`, if it is one with the size set.
pub fn image_size(headers: &[u8]) -> Option<u64> {
    if headers.get(0x38..0x3c)? != ARM64_MAGIC {
        return None;
    }
    let bytes: [u8; 8] = headers.get(16..24)?.try_into().ok()?;
    let size = u64::from_le_bytes(bytes);
    (size != 0).then_some(size)
}

/// Whether a free (EfiConventionalMemory) block of `size` bytes starts at a
/// [`RANDOM_ALIGN`] boundary somewhere in the map: the stub's random
/// placement has at least one slot.
pub fn stub_can_move(regions: &[EfiRegion], size: u64) -> bool {
    let size = size.div_ceil(PAGE) * PAGE;
    regions.iter().filter(|r| r.ty == MemoryType::CONVENTIONAL).any(|r| {
        let start = r.start.div_ceil(RANDOM_ALIGN) * RANDOM_ALIGN;
        let end = r.start.saturating_add(r.pages.saturating_mul(PAGE));
        end.saturating_sub(start) >= size
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIB: u64 = 1 << 20;
    const RAM: u64 = 0x4000_0000;

    fn region(ty: MemoryType, start: u64, end: u64) -> EfiRegion {
        EfiRegion {
            ty,
            start,
            pages: (end - start) / PAGE,
        }
    }

    fn arm64_header(image_size: u64) -> [u8; 64] {
        let mut h = [0u8; 64];
        h[0..2].copy_from_slice(b"MZ");
        h[16..24].copy_from_slice(&image_size.to_le_bytes());
        h[0x38..0x3c].copy_from_slice(b"ARMd");
        h
    }

    #[test]
    fn reads_the_image_size_of_an_arm64_header() {
        assert_eq!(image_size(&arm64_header(0x0232_0000)), Some(0x0232_0000));
        assert_eq!(image_size(&arm64_header(0)), None);
        let mut other = arm64_header(0x0232_0000);
        other[0x38] = b'X';
        assert_eq!(image_size(&other), None);
        assert_eq!(image_size(&other[..0x20]), None);
    }

    /// A 56 MiB `virt` VM with Debian's 33 MiB Image loaded at RAM + 4 MiB.
    fn small_vm() -> [EfiRegion; 4] {
        [
            region(MemoryType::RUNTIME_SERVICES_CODE, RAM + 2 * MIB, RAM + 4 * MIB),
            region(MemoryType::LOADER_CODE, RAM + 4 * MIB, RAM + 37 * MIB),
            region(MemoryType::CONVENTIONAL, RAM + 37 * MIB, RAM + 51 * MIB),
            region(MemoryType::BOOT_SERVICES_DATA, RAM + 51 * MIB, RAM + 56 * MIB),
        ]
    }

    #[test]
    fn no_block_for_the_image_means_the_stub_cannot_move_it() {
        assert!(!stub_can_move(&small_vm(), 33 * MIB));
        // A smaller kernel would fit in the 14 MiB left.
        assert!(stub_can_move(&small_vm(), 14 * MIB));
    }

    #[test]
    fn the_block_must_hold_the_image_from_an_aligned_start() {
        // 12 MiB free, but starting 4 KiB past a 64 KiB boundary.
        let regions = [region(MemoryType::CONVENTIONAL, RAM + 0x1000, RAM + 12 * MIB + 0x1000)];
        assert!(!stub_can_move(&regions, 12 * MIB));
        assert!(stub_can_move(&regions, 12 * MIB - RANDOM_ALIGN));
    }

    #[test]
    fn only_free_memory_counts() {
        let regions = [region(MemoryType::BOOT_SERVICES_DATA, RAM, RAM + 512 * MIB)];
        assert!(!stub_can_move(&regions, 33 * MIB));
    }
}
