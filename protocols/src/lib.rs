//! EFI protocol implementations (BlockIo, DiskIo, SimpleFileSystem, LoadedImage,
//! DevicePath, console, ...).
#![no_std]

extern crate alloc;
#[cfg(test)]
extern crate std;

pub mod block_io;
pub mod component_name;
pub mod console;
pub mod device_path;
pub mod disk_info;
pub mod disk_io;
pub mod disk_io2;
pub mod display;
pub mod driver_binding;
pub mod file_system;
mod instances;
pub mod partition_info;
pub mod pci_io;
pub mod reset_notification;
pub mod riscv_boot;
pub mod rng;
pub mod serial_io;
pub mod storage_error;
pub mod timestamp;
pub mod unicode_collation;
