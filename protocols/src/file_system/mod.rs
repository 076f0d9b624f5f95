//! `EFI_SIMPLE_FILE_SYSTEM_PROTOCOL` (UEFI 2.10 §13.4) and `EFI_FILE_PROTOCOL`
//! (§13.5) over a FAT volume of [`fw_drivers::fat`].
//!
//! - [`name`]: file names between UCS-2 and UTF-8.
//! - [`info`]: `EFI_FILE_INFO`, `EFI_FILE_SYSTEM_INFO` and
//!   `EFI_FILE_SYSTEM_VOLUME_LABEL` as bytes (§13.5.16–§13.5.18), `EFI_TIME`
//!   (§8.3) to and from FAT times.
//! - [`handle`]: what one open file handle does (Open, Read, Write, positions,
//!   GetInfo/SetInfo, Delete) as safe Rust over the FAT driver.
//! - [`efi`]: the ABI edge: protocol structs, `extern "efiapi"` thunks,
//!   [`SimpleFileSystem`].
//!
//! # Wiring it into the firmware
//!
//! For each partition (or whole disk) that mounts as FAT:
//! ```text
//! let fs = fw_drivers::fat::FileSystem::mount(partition_device)?.with_clock(rtc_now);
//! let sfs: &'static SimpleFileSystem = SimpleFileSystem::create(fs);
//! install_protocol(partition_handle, &simple_file_system::PROTOCOL_GUID, sfs.protocol());
//! ```
//! The handle is the one carrying the partition's BlockIo and device path, so
//! that an image loaded from it gets it as `LoadedImage.DeviceHandle` (GRUB and
//! shim reopen their own volume through it). The instance is leaked on purpose:
//! it lives as long as the firmware. Each `OpenVolume`/`Open` allocates one
//! `EFI_FILE_PROTOCOL` instance on the heap, freed by `Close` or `Delete`.
//!
//! Only revision 1 services are offered (`Revision` = `EFI_FILE_PROTOCOL_REVISION`);
//! the revision 2 pointers (OpenEx, ReadEx, WriteEx, FlushEx) are filled and
//! return EFI_UNSUPPORTED.

pub mod efi;
pub mod handle;
pub mod info;
pub mod name;
#[cfg(test)]
mod tests;

pub use efi::SimpleFileSystem;

use core::fmt;
use fw_drivers::block::BlockError;
use fw_drivers::fat;
use r_efi::efi::Status;

/// Why a file service failed; [`Error::status`] is what the application sees.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Error {
    /// The FAT driver refused or failed.
    Fat(fat::Error),
    /// OpenMode is none of READ, READ|WRITE, READ|WRITE|CREATE.
    InvalidMode {
        /// The mode given.
        mode: u64,
    },
    /// Attributes outside EFI_FILE_VALID_ATTR.
    InvalidAttributes {
        /// The attributes given.
        attributes: u64,
    },
    /// A name is not valid UCS-2 (an unpaired surrogate) or not terminated.
    InvalidName,
    /// The volume's device is read-only.
    WriteProtected,
    /// The service needs a handle opened with EFI_FILE_MODE_WRITE.
    OpenedReadOnly {
        /// The service called.
        service: &'static str,
    },
    /// The file has EFI_FILE_READ_ONLY and was opened for writing.
    FileReadOnly {
        /// The file's name.
        name: alloc::string::String,
    },
    /// The service does not apply to directories.
    NotOnDirectory {
        /// The service called.
        service: &'static str,
    },
    /// Directories only accept position 0.
    DirectoryPosition {
        /// The position given.
        position: u64,
    },
    /// Read with the position beyond the end of the file (§13.5.7).
    PastEnd {
        /// The position.
        position: u64,
        /// The file's size.
        size: u64,
    },
    /// The caller's buffer is too small; `needed` bytes would do.
    BufferTooSmall {
        /// The bytes that would do.
        needed: usize,
    },
    /// The information buffer is smaller than its type or its own Size field.
    BadBufferSize {
        /// The buffer's size.
        size: usize,
        /// The size its type or Size field needs.
        needed: usize,
    },
    /// GetInfo/SetInfo with a GUID this driver does not know.
    UnknownInfoType,
    /// A field of an information structure is invalid.
    InvalidInfo {
        /// What is wrong.
        reason: &'static str,
    },
    /// SetInfo tries a change the specification denies.
    ChangeDenied {
        /// The change.
        what: &'static str,
    },
    /// A change this driver does not implement.
    Unsupported {
        /// The change.
        what: &'static str,
    },
}

impl From<fat::Error> for Error {
    fn from(e: fat::Error) -> Error {
        Error::Fat(e)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Fat(e) => write!(f, "{e}"),
            Error::InvalidMode { mode } => {
                write!(f, "open mode {mode:#x} is not READ, READ|WRITE or READ|WRITE|CREATE")
            }
            Error::InvalidAttributes { attributes } => {
                write!(f, "attributes {attributes:#x} are outside EFI_FILE_VALID_ATTR")
            }
            Error::InvalidName => write!(f, "file name is not a terminated UCS-2 string"),
            Error::WriteProtected => write!(f, "the volume is write-protected"),
            Error::OpenedReadOnly { service } => write!(f, "{service} needs a handle opened for writing"),
            Error::FileReadOnly { name } => write!(f, "{name:?} is read-only"),
            Error::NotOnDirectory { service } => write!(f, "{service} is not possible on a directory"),
            Error::DirectoryPosition { position } => {
                write!(f, "directory position can only be reset to 0, not {position:#x}")
            }
            Error::PastEnd { position, size } => {
                write!(f, "position {position} is beyond the end of the {size}-byte file")
            }
            Error::BufferTooSmall { needed } => write!(f, "buffer too small, {needed} bytes needed"),
            Error::BadBufferSize { size, needed } => {
                write!(f, "information buffer of {size} bytes, {needed} needed")
            }
            Error::UnknownInfoType => write!(f, "unknown information type"),
            Error::InvalidInfo { reason } => write!(f, "invalid information: {reason}"),
            Error::ChangeDenied { what } => write!(f, "changing {what} is denied"),
            Error::Unsupported { what } => write!(f, "{what} is not supported"),
        }
    }
}

impl Error {
    /// The status the specification gives for this failure.
    pub fn status(&self) -> Status {
        match self {
            Error::Fat(e) => fat_status(e),
            Error::InvalidMode { .. }
            | Error::InvalidAttributes { .. }
            | Error::InvalidName
            | Error::InvalidInfo { .. } => Status::INVALID_PARAMETER,
            Error::WriteProtected => Status::WRITE_PROTECTED,
            Error::OpenedReadOnly { .. } | Error::FileReadOnly { .. } | Error::ChangeDenied { .. } => {
                Status::ACCESS_DENIED
            }
            Error::NotOnDirectory { .. }
            | Error::DirectoryPosition { .. }
            | Error::UnknownInfoType
            | Error::Unsupported { .. } => Status::UNSUPPORTED,
            Error::PastEnd { .. } => Status::DEVICE_ERROR,
            Error::BufferTooSmall { .. } => Status::BUFFER_TOO_SMALL,
            Error::BadBufferSize { .. } => Status::BAD_BUFFER_SIZE,
        }
    }
}

/// FAT driver errors as EFI statuses (§13.5's lists for each service).
fn fat_status(e: &fat::Error) -> Status {
    use fat::Error as F;
    match e {
        F::Block(BlockError::ReadOnly) | F::ReadOnly => Status::WRITE_PROTECTED,
        F::Block(_) => Status::DEVICE_ERROR,
        F::BadBootSector { .. }
        | F::ClusterLoop { .. }
        | F::ClusterOutOfRange { .. }
        | F::FreeClusterInChain { .. }
        | F::BadClusterInChain { .. }
        | F::ChainTooShort { .. }
        | F::DirectoryChainTooLong { .. } => Status::VOLUME_CORRUPTED,
        // A directory at its 65536-entry limit cannot take another entry, and a
        // file cannot grow past 4 GiB - 1: both are "no room" on this volume.
        F::DiskFull | F::RootDirectoryFull | F::DirectoryTooLarge { .. } | F::FileTooLarge { .. } => {
            Status::VOLUME_FULL
        }
        F::NotFound { .. } | F::NotADirectory { .. } => Status::NOT_FOUND,
        F::IsADirectory { .. } => Status::UNSUPPORTED,
        F::InvalidName { .. } => Status::INVALID_PARAMETER,
        F::IsRoot | F::DirectoryNotEmpty { .. } | F::AlreadyExists { .. } => Status::ACCESS_DENIED,
    }
}
