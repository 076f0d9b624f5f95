//! The architecture-neutral runtime of hypervisor-fw.
//!
//! Everything here is `no_std` + `alloc` and unit-tested on the host.
#![no_std]

extern crate alloc;

pub mod boot_info;
pub mod caching;
pub mod caller_buffer;
pub mod clock;
pub mod efi;
pub mod events;
pub mod fault_location;
pub mod handles;
pub mod heap_region;
pub mod image;
pub mod logger;
pub mod memory;
pub mod mmio_window;
pub mod secure_boot;
pub mod variable_file;
pub mod variables;
pub mod watchdog;

#[cfg(test)]
extern crate std;
