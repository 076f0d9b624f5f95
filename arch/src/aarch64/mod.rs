//! aarch64: the arm64 Linux `Image` entry (as QEMU `virt` and Cloud Hypervisor
//! load it), EL1, exception vectors, the identity-mapping MMU, the generic
//! timer and PSCI, with the machine described by the device tree.

pub use crate::devicetree;

pub mod efi_calls;
mod exceptions;
pub mod mmu;
pub mod psci;
pub mod random;
mod start;
pub mod time;

pub use crate::boot_tree::device_tree;
pub use start::{halt, report_failure, Boot};

// The entry code, then the stacks (the same directives on both device-tree machines).
core::arch::global_asm!(include_str!("entry.s"), include_str!("../boot_stacks.s"));
