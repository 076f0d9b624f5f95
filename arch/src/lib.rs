//! Architecture support: the entry point the VMM jumps to, page tables, exception
//! handlers, port I/O, and the hand-over of a [`fw_core::boot_info::BootInfo`] to
//! the firmware's `firmware_main`.
//!
//! Parsing code (the PVH start info, the device tree) builds and is tested on the host; the rest
//! only exists when building for bare metal.
#![no_std]

#[cfg(test)]
extern crate std;

// First, so that the architectures' `efi_calls` can use its macros.
#[cfg(target_os = "none")]
#[macro_use]
mod shared_calls;

/// The identity map's walk, shared by x86_64 and aarch64, and the caching
/// every architecture's `identity_map` takes.
#[cfg(any(target_os = "none", test))]
pub mod page_tables;
#[cfg(all(any(target_arch = "x86_64", target_arch = "aarch64"), target_os = "none"))]
pub use page_tables::identity_map;
#[cfg(target_os = "none")]
pub use page_tables::Caching;

/// Filling a buffer from a 64-bit random number instruction.
#[cfg(any(all(any(target_arch = "x86_64", target_arch = "aarch64"), target_os = "none"), test))]
mod random_words;

#[cfg(target_arch = "x86_64")]
pub mod x86_64;

// The device tree reader builds and is tested on the host like the PVH parser.
#[cfg(any(target_arch = "aarch64", target_arch = "riscv64", test))]
pub mod devicetree;

#[cfg(all(any(target_arch = "aarch64", target_arch = "riscv64"), target_os = "none"))]
pub mod boot_tree;

#[cfg(all(target_arch = "aarch64", target_os = "none"))]
pub mod aarch64;

#[cfg(target_arch = "riscv64")]
pub mod riscv64;

/// Nanoseconds and busy waits from the architecture's counter.
#[cfg(target_os = "none")]
pub mod counter;

/// The firmware image's own extent (the same linker symbols on every architecture).
#[cfg(target_os = "none")]
pub mod image;
#[cfg(target_os = "none")]
pub use image::{image_layout, image_range, ImageLayout};

/// The same names on every architecture: the time source, the EFI call
/// trampolines and the random number generator.
#[cfg(all(target_arch = "x86_64", target_os = "none"))]
pub use x86_64::{efi_calls, random, stack, time};
#[cfg(all(target_arch = "x86_64", target_os = "none"))]
pub use x86_64::{halt, report_failure, set_low_caching, Boot};

#[cfg(all(target_arch = "aarch64", target_os = "none"))]
pub use aarch64::{efi_calls, halt, random, report_failure, time, Boot};

#[cfg(all(target_arch = "riscv64", target_os = "none"))]
pub use riscv64::{efi_calls, halt, identity_map, random, report_failure, time, Boot};
