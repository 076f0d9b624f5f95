//! EFI protocol implementations (BlockIo, DiskIo, SimpleFileSystem, LoadedImage,
//! DevicePath, console, ...).
#![no_std]

extern crate alloc;
#[cfg(test)]
extern crate std;

pub mod console;
