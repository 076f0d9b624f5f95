//! How an attempt ended when it came back to the boot manager, typed, with
//! the text the console and the final summary show.
#![forbid(unsafe_code)]

use crate::devicetree::DeviceTreeError;
use crate::linux::LinuxError;
use crate::status::status_name;
use alloc::string::String;
use core::fmt;
use uefi_raw::Status;

/// Why an attempt did not take over the machine.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The image ran and gave control back with this status.
    Returned(Status),
    /// LoadImage refused the image.
    CannotLoad(Status),
    /// No device path could be made for the entry's file on its volume.
    NoDevicePath {
        /// The file the entry names.
        file: String,
    },
    /// A Type #1 entry with neither `linux` nor `efi`.
    NoKernelOrProgram,
    /// The entry's `devicetree` could not be installed.
    DeviceTree(FileError),
    /// The kernel file could not be used.
    Kernel(FileError),
    /// An initrd could not be opened or read.
    Initrd(FileError),
    /// The kernel's EFI stub ran and returned with this status.
    KernelReturned(Status),
    /// A Linux loader refused to start the kernel (including "not enough
    /// memory" for the EFI stub).
    Linux(LinuxError),
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Outcome::Returned(s) => write!(f, "returned {}", status_name(*s)),
            Outcome::CannotLoad(s) => write!(f, "cannot load: {}", status_name(*s)),
            Outcome::NoDevicePath { file } => write!(f, "{file}: cannot make a device path for it"),
            Outcome::NoKernelOrProgram => f.write_str("entry has neither linux nor efi"),
            Outcome::DeviceTree(e) => write!(f, "devicetree {e}"),
            Outcome::Kernel(e) => write!(f, "kernel {e}"),
            Outcome::Initrd(e) => write!(f, "initrd {e}"),
            Outcome::KernelReturned(s) => write!(f, "the kernel returned {}", status_name(*s)),
            Outcome::Linux(e) => write!(f, "{e}"),
        }
    }
}

/// Why a file an entry names could not be used.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FileError {
    /// Open or GetInfo failed (NOT_FOUND: the file is not there).
    Open {
        /// The file's path.
        file: String,
        /// The status Open or GetInfo returned.
        status: Status,
    },
    /// Larger than the loaders read ([`crate::fs::MAX_FILE`]).
    TooLarge {
        /// The file's path.
        file: String,
        /// Its size in bytes.
        size: u64,
    },
    /// AllocatePages failed for its bytes.
    NoMemory {
        /// The file's path.
        file: String,
        /// Its size in bytes.
        size: u64,
        /// The status AllocatePages returned.
        status: Status,
    },
    /// Reading failed.
    Read {
        /// The file's path.
        file: String,
        /// The status Read returned.
        status: Status,
    },
    /// The file ended early: it changed since it was opened.
    ShortRead {
        /// The file's path.
        file: String,
        /// The bytes read before it ended.
        read: usize,
        /// The size GetInfo gave.
        size: u64,
    },
    /// No device path could be made for it.
    NoDevicePath {
        /// The file's path.
        file: String,
    },
    /// A `devicetree` that is not a usable flattened device tree.
    NotADeviceTree {
        /// The file's path.
        file: String,
        /// What the device tree reader found wrong.
        error: DeviceTreeError,
    },
    /// InstallConfigurationTable refused the device tree.
    InstallTable {
        /// The file's path.
        file: String,
        /// The status InstallConfigurationTable returned.
        status: Status,
    },
}

impl fmt::Display for FileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FileError::Open { file, status } | FileError::Read { file, status } => {
                write!(f, "{file}: {}", status_name(*status))
            }
            FileError::TooLarge { file, size } => write!(f, "{file}: {size} bytes is too large"),
            FileError::NoMemory { file, size, status } => {
                write!(f, "{file}: no memory for {size} bytes ({})", status_name(*status))
            }
            FileError::ShortRead { file, read, size } => write!(f, "{file}: read {read} of {size} bytes"),
            FileError::NoDevicePath { file } => write!(f, "{file}: cannot make a device path for it"),
            FileError::NotADeviceTree { file, error } => write!(f, "{file}: {error}"),
            FileError::InstallTable { file, status } => {
                write!(f, "{file}: InstallConfigurationTable: {}", status_name(*status))
            }
        }
    }
}
