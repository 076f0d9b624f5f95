//! The padding after QEMU's ACPI tables. QEMU pads `etc/acpi/tables` to a
//! fixed size (128 KiB on `virt` and `q35`) so that the blob keeps its size
//! across migration; the tables themselves take a few KiB. The firmware
//! places the blob in EfiACPIReclaimMemory, which arm64 Linux keeps for good:
//! in a small VM the padding is memory the kernel misses. This finds, for each
//! blob the table-loader placed, how many bytes hold something.
#![forbid(unsafe_code)]

use super::table_loader::Blob;
use crate::acpi::{reachable_extents, Error, Extent, PhysMemory};
use alloc::vec::Vec;

/// Placed blobs, read as the physical memory they will be copied to.
pub struct PlacedBlobs<'a>(pub &'a [Blob]);

impl PhysMemory for PlacedBlobs<'_> {
    fn read(&self, addr: u64, len: usize) -> Option<&[u8]> {
        self.0.iter().find_map(|blob| {
            let start = usize::try_from(addr.checked_sub(blob.address)?).ok()?;
            blob.data.get(start..start.checked_add(len)?)
        })
    }
}

/// For each blob, in order, the bytes worth keeping: up to the end of the last
/// ACPI structure that starts in it, or of its last non-zero byte if that is
/// later. A blob where no structure starts (a buffer the OS fills, such as
/// vmgenid's or the TPM log) is kept whole. An error (a pointer that does not
/// lead to a checksummed table) means nothing may be trimmed.
pub fn used_lengths(blobs: &[Blob], rsdp_address: u64) -> Result<Vec<usize>, Error> {
    let extents = reachable_extents(&PlacedBlobs(blobs), rsdp_address)?;
    Ok(blobs.iter().map(|blob| used_length(blob, &extents)).collect())
}

fn used_length(blob: &Blob, extents: &[Extent]) -> usize {
    let start = blob.address;
    let end = start.saturating_add(blob.data.len() as u64);
    let tables_end = extents
        .iter()
        .filter(|e| (start..end).contains(&e.address))
        .map(|e| e.end().min(end) - start)
        .max();
    let Some(tables_end) = tables_end else {
        return blob.data.len();
    };
    let last_data = blob.data.iter().rposition(|&b| b != 0).map_or(0, |i| i + 1);
    (tables_end as usize).max(last_data)
}
