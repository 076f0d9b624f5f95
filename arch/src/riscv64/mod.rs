//! riscv64: the S-mode payload OpenSBI starts (QEMU `virt` with `-bios default
//! -kernel`), bare physical addressing (satp = 0, no page tables), traps
//! through stvec, the `time` CSR and the SBI for reset, with the machine
//! described by the device tree.

pub use crate::devicetree;

#[cfg(target_os = "none")]
pub mod efi_calls;
#[cfg(target_os = "none")]
pub mod random;
#[cfg(target_os = "none")]
pub mod sbi;
#[cfg(target_os = "none")]
mod start;
#[cfg(target_os = "none")]
pub mod time;
#[cfg(target_os = "none")]
mod trap;

#[cfg(target_os = "none")]
pub use crate::boot_tree::device_tree;
#[cfg(target_os = "none")]
pub use start::{boot_hart_id, halt, report_failure, Boot};

/// With satp = 0 every physical address is reachable already: nothing to map,
/// and nothing to choose for caching: QEMU `virt`'s physical memory attributes
/// make RAM cacheable and device ranges I/O, whatever the firmware asks.
pub fn identity_map(
    _start: u64,
    _end: u64,
    _caching: crate::page_tables::Caching,
    _alloc_page: &mut dyn FnMut() -> Option<u64>,
) -> Result<(), core::convert::Infallible> {
    Ok(())
}

#[cfg(target_os = "none")]
// The entry code, then the stacks (the same directives on both device-tree machines).
core::arch::global_asm!(include_str!("entry.s"), include_str!("../boot_stacks.s"));
