//! EFI protocol implementations (BlockIo, DiskIo, SimpleFileSystem, LoadedImage,
//! DevicePath, console, ...). Filled in by the UEFI runtime work; empty until then.
#![no_std]
