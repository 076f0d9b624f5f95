//! aarch64: the arm64 Linux `Image` entry (as QEMU `virt` and Cloud Hypervisor
//! load it), EL1, exception vectors, the identity-mapping MMU, the generic
//! timer and PSCI, with the machine described by the device tree.

pub use crate::devicetree;

#[cfg(target_os = "none")]
pub mod efi_calls;
#[cfg(target_os = "none")]
mod exceptions;
#[cfg(target_os = "none")]
pub mod mmu;
#[cfg(target_os = "none")]
pub mod psci;
#[cfg(target_os = "none")]
pub mod random;
#[cfg(target_os = "none")]
mod start;
#[cfg(target_os = "none")]
pub mod time;

#[cfg(target_os = "none")]
pub use crate::boot_tree::device_tree;
#[cfg(target_os = "none")]
pub use start::{halt, report_failure, Boot};

#[cfg(target_os = "none")]
// The entry code, then the stacks (the same directives on both device-tree machines).
core::arch::global_asm!(include_str!("entry.s"), include_str!("../boot_stacks.s"));
