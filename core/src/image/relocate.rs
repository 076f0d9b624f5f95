//! Base relocations (PE Format §6.6 ".reloc Section (Image Only)"): blocks of 16-bit
//! entries, each a 4-bit type and a 12-bit offset into the block's 4 KiB page, read
//! from the loaded image itself as EDK2 does.
#![forbid(unsafe_code)]

use object::pe;

use super::{ImageError, RelocationDirectory};
use fw_drivers::bytes::LeFields;

/// `PageRVA` and `BlockSize`, before the entries.
const BLOCK_HEADER_SIZE: u32 = 8;

/// Adds `delta` (load address minus `ImageBase`) to every fixup in `directory`.
///
/// Every block is checked even when `delta` is zero, so that an image is accepted or
/// rejected the same way wherever it lands.
pub(super) fn apply(image: &mut [u8], directory: RelocationDirectory, delta: u64) -> Result<(), ImageError> {
    let directory_end = directory.rva.saturating_add(directory.size);
    let mut block_rva = directory.rva;
    // Each block advances by more than its header, so this ends within size / 9 rounds.
    while block_rva < directory_end {
        if directory_end - block_rva < BLOCK_HEADER_SIZE {
            return Err(ImageError::RelocationBlockTruncated { rva: block_rva });
        }
        let page_rva = read_u32(image, block_rva).ok_or(ImageError::RelocationBlockTruncated { rva: block_rva })?;
        let size = read_u32(image, block_rva + 4).ok_or(ImageError::RelocationBlockTruncated { rva: block_rva })?;
        if size <= BLOCK_HEADER_SIZE {
            return Err(ImageError::BadRelocationBlock { rva: block_rva, size });
        }
        if size > directory_end - block_rva {
            return Err(ImageError::RelocationBlockPastDirectory {
                rva: block_rva,
                size,
                directory_end,
            });
        }
        // An odd trailing byte (Linux's 10-byte block has none, but a size need not be
        // even) holds no entry.
        let entries = (size - BLOCK_HEADER_SIZE) / 2;
        for index in 0..entries {
            let entry_rva = block_rva + BLOCK_HEADER_SIZE + index * 2;
            let entry = read_u16(image, entry_rva).ok_or(ImageError::RelocationBlockTruncated { rva: block_rva })?;
            fixup(image, page_rva, entry, delta)?;
        }
        block_rva += size;
    }
    Ok(())
}

fn fixup(image: &mut [u8], page_rva: u32, entry: u16, delta: u64) -> Result<(), ImageError> {
    let kind = entry >> 12;
    let rva = u64::from(page_rva) + u64::from(entry & 0x0fff);
    match pe::BaseRelocationType(kind) {
        pe::IMAGE_REL_BASED_ABSOLUTE => Ok(()),
        pe::IMAGE_REL_BASED_HIGHLOW => {
            let target = target::<4>(image, rva)?;
            let value = u32::from_le_bytes(*target).wrapping_add(delta as u32);
            *target = value.to_le_bytes();
            Ok(())
        }
        pe::IMAGE_REL_BASED_DIR64 => {
            let target = target::<8>(image, rva)?;
            let value = u64::from_le_bytes(*target).wrapping_add(delta);
            *target = value.to_le_bytes();
            Ok(())
        }
        _ => Err(ImageError::UnsupportedRelocation { kind, rva }),
    }
}

/// The `N` image bytes a fixup at `rva` rewrites.
fn target<const N: usize>(image: &mut [u8], rva: u64) -> Result<&mut [u8; N], ImageError> {
    usize::try_from(rva)
        .ok()
        .and_then(|start| image.get_mut(start..start.checked_add(N)?))
        .and_then(|bytes| <&mut [u8; N]>::try_from(bytes).ok())
        .ok_or(ImageError::RelocationOutOfRange { rva })
}

fn read_u32(image: &[u8], rva: u32) -> Option<u32> {
    image.u32_le(usize::try_from(rva).ok()?)
}

fn read_u16(image: &[u8], rva: u32) -> Option<u16> {
    image.u16_le(usize::try_from(rva).ok()?)
}
