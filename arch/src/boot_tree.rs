//! The device tree blob the VMM passed at entry (x0 on aarch64, a1 on riscv64),
//! checked once and then kept for the platform code (Devicetree Specification
//! v0.4 §5.2, the header's `totalsize`).

use super::devicetree::DeviceTreeError;
use core::sync::atomic::{AtomicU64, Ordering};
use fw_drivers::fdt::{self, Fdt};

/// Where the device tree is, and its size (0 when there is none).
static DEVICE_TREE: AtomicU64 = AtomicU64::new(0);
static DEVICE_TREE_SIZE: AtomicU64 = AtomicU64::new(0);

/// The booting protocols (arm64 and RISC-V Linux) cap the tree at 2 MiB.
const MAX_SIZE: usize = 2 << 20;

/// The device tree the VMM passed, checked; `None` if it passed none or a
/// broken one.
pub fn device_tree() -> Option<Fdt<'static>> {
    let addr = DEVICE_TREE.load(Ordering::Relaxed);
    let size = DEVICE_TREE_SIZE.load(Ordering::Relaxed);
    if addr == 0 || size == 0 {
        return None;
    }
    // SAFETY: `read` checked that `size` bytes at `addr` are a device tree
    // in RAM, identity mapped; the memory map keeps them (a module) and nothing
    // writes them.
    let bytes = unsafe { core::slice::from_raw_parts(addr as *const u8, size as usize) };
    Fdt::new(bytes).ok()
}

/// Checks the device tree blob at `addr` and records it for [`device_tree`].
/// Reads bytes only (aarch64 with the MMU off has strict alignment).
///
/// # Safety
/// `addr` is where the VMM put the tree (the boot register at entry), or 0,
/// and the memory is readable (physical addressing, or identity mapped).
pub unsafe fn read(addr: u64) -> Result<Fdt<'static>, DeviceTreeError> {
    if addr == 0 {
        return Err(DeviceTreeError::NoDeviceTree);
    }
    let invalid = |error| DeviceTreeError::Invalid { addr, error };
    // SAFETY: the boot protocol puts the tree's header at `addr`.
    let header = unsafe { core::slice::from_raw_parts(addr as *const u8, fdt::FDT_HEADER_SIZE) };
    let size = fdt::total_size(header).map_err(invalid)?;
    if size > MAX_SIZE {
        return Err(invalid(fdt::Error::Truncated {
            need: size,
            have: MAX_SIZE,
        }));
    }
    // SAFETY: the header says the tree is `size` bytes long.
    let bytes = unsafe { core::slice::from_raw_parts(addr as *const u8, size) };
    let tree = Fdt::new(bytes).map_err(invalid)?;
    DEVICE_TREE_SIZE.store(size as u64, Ordering::Relaxed);
    DEVICE_TREE.store(addr, Ordering::Relaxed);
    Ok(tree)
}

/// Copies the recorded device tree to `to` and records the copy, so that
/// [`device_tree`] reads it from there and the original's memory can be
/// reused. Returns the tree's old address, or `None` when there is no tree.
///
/// # Safety
/// `to..to + size` (the tree's size) is RAM, identity mapped and writable,
/// used by nothing else, and does not overlap the tree; no [`Fdt`] borrowed
/// from the old copy is used afterwards.
pub unsafe fn move_to(to: u64) -> Option<u64> {
    let from = DEVICE_TREE.load(Ordering::Relaxed);
    let size = DEVICE_TREE_SIZE.load(Ordering::Relaxed);
    if from == 0 || size == 0 {
        return None;
    }
    // SAFETY: `read` checked the `size` bytes at `from`; the caller vouches
    // for the destination, which does not overlap them.
    unsafe { core::ptr::copy_nonoverlapping(from as *const u8, to as *mut u8, size as usize) };
    DEVICE_TREE.store(to, Ordering::Relaxed);
    Some(from)
}
