//! Drivers behind small traits. Register-level code takes an access trait so that
//! its logic runs on the host against a model of the device.
#![no_std]

extern crate alloc;
#[cfg(test)]
extern crate std;

pub mod acpi;
pub mod block;
pub mod bytes;
pub mod crc32;
pub mod display;
pub mod fat;
pub mod fdt;
pub mod fw_cfg;
pub mod input;
pub mod mmio;
pub mod partition;
pub mod pci;
#[cfg(all(target_arch = "x86_64", target_os = "none"))]
pub mod pic8259;
pub mod ps2;
pub mod rtc;
pub mod smbios;
pub mod uart;
pub mod virtio;
