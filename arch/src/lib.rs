//! Architecture support: the entry point the VMM jumps to, page tables, exception
//! handlers, port I/O, and the hand-over of a [`fw_core::boot_info::BootInfo`] to
//! the firmware's `firmware_main`.
//!
//! Parsing code (the PVH start info) builds and is tested on the host; the rest
//! only exists when building for bare metal.
#![no_std]

#[cfg(test)]
extern crate std;

#[cfg(target_arch = "x86_64")]
pub mod x86_64;

#[cfg(all(target_arch = "x86_64", target_os = "none"))]
pub use x86_64::{halt, identity_map, image_layout, image_range, paging::Caching, report_failure, Boot, ImageLayout};
