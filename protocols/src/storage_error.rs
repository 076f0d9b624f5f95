//! Why a request to a disk through EFI_BLOCK_IO_PROTOCOL (UEFI 2.10 §13.9),
//! EFI_DISK_IO_PROTOCOL (§13.7) or EFI_DISK_IO2_PROTOCOL (§13.8) was refused
//! or failed, and the status the specification gives for it: the three
//! protocols refuse the same things alike.

use core::fmt;
use fw_core::caller_buffer::BufferError;
use fw_drivers::block::BlockError;
use r_efi::efi::Status;

/// Why a BlockIo, DiskIo or DiskIo2 request was refused or failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Error {
    /// The caller's `MediaId` is not the current media's.
    MediaChanged {
        /// The current media's id.
        expected: u32,
        /// The id the caller gave.
        found: u32,
    },
    /// The buffer pointer is null.
    NullBuffer,
    /// The buffer's address and size cannot be real memory.
    Buffer(BufferError),
    /// BlockIo: the buffer is not a whole number of blocks.
    BadBufferSize {
        /// The buffer's size in bytes.
        len: usize,
        /// The device's block size.
        block_size: u32,
    },
    /// BlockIo: the request starts or ends past the last block.
    BlocksOutOfRange {
        /// The first block asked for.
        lba: u64,
        /// The buffer's size in bytes.
        len: usize,
        /// The device's number of blocks.
        block_count: u64,
    },
    /// DiskIo: the byte range reaches past the end of the device.
    BytesOutOfRange {
        /// The first byte asked for.
        offset: u64,
        /// The buffer's size.
        len: usize,
        /// The device's size in bytes.
        disk_bytes: u64,
    },
    /// A write to a read-only device.
    WriteProtected,
    /// The device failed the request.
    Device(BlockError),
}

impl Error {
    /// The status the specification gives for this error.
    pub fn status(&self) -> Status {
        match self {
            Error::MediaChanged { .. } => Status::MEDIA_CHANGED,
            Error::NullBuffer | Error::Buffer(_) | Error::BlocksOutOfRange { .. } | Error::BytesOutOfRange { .. } => {
                Status::INVALID_PARAMETER
            }
            Error::BadBufferSize { .. } => Status::BAD_BUFFER_SIZE,
            Error::WriteProtected => Status::WRITE_PROTECTED,
            Error::Device(_) => Status::DEVICE_ERROR,
        }
    }
}

impl From<BlockError> for Error {
    fn from(error: BlockError) -> Error {
        Error::Device(error)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::MediaChanged { expected, found } => {
                write!(f, "media id {found} given, the media's is {expected}")
            }
            Error::NullBuffer => write!(f, "buffer is null"),
            Error::Buffer(error) => write!(f, "{error}"),
            Error::BadBufferSize { len, block_size } => {
                write!(
                    f,
                    "buffer of {len} bytes is not a multiple of the {block_size}-byte block size"
                )
            }
            Error::BlocksOutOfRange { lba, len, block_count } => {
                write!(
                    f,
                    "{len} bytes at LBA {lba} reach past the device's {block_count} blocks"
                )
            }
            Error::BytesOutOfRange {
                offset,
                len,
                disk_bytes,
            } => {
                write!(
                    f,
                    "{len} bytes at offset {offset} reach past the device's {disk_bytes} bytes"
                )
            }
            Error::WriteProtected => write!(f, "device is read-only"),
            Error::Device(error) => write!(f, "{error}"),
        }
    }
}

/// The status of `result` for `service` (ReadBlocks, ReadDisk, ...),
/// logging a refusal or failure at debug level.
pub(crate) fn status(result: Result<(), Error>, service: &str) -> Status {
    match result {
        Ok(()) => Status::SUCCESS,
        Err(error) => {
            log::debug!("block storage: {service}: {error}");
            error.status()
        }
    }
}
