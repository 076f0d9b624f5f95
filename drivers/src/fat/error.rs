//! Why a FAT operation failed.

use crate::block::BlockError;
use alloc::string::String;
use core::fmt;

/// Why a file-system operation failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Error {
    /// The device failed a request.
    Block(BlockError),
    /// A boot sector field is out of range, so this is not a usable FAT volume.
    BadBootSector {
        field: &'static str,
        value: u64,
    },
    /// A cluster chain runs into itself.
    ClusterLoop {
        cluster: u32,
    },
    /// A chain or directory entry names a cluster past the volume's last one.
    ClusterOutOfRange {
        cluster: u32,
    },
    /// A chain continues into a cluster marked free.
    FreeClusterInChain {
        cluster: u32,
    },
    /// A chain continues into a cluster marked bad.
    BadClusterInChain {
        cluster: u32,
    },
    /// A file's chain holds fewer bytes than its size says.
    ChainTooShort {
        first_cluster: u32,
        size: u64,
        chain_bytes: u64,
    },
    /// Adding an entry would take a directory past 65536 entries.
    DirectoryTooLarge {
        first_cluster: u32,
    },
    /// A directory's cluster chain is longer than 65536 entries can fill: the
    /// volume is damaged (FAT specification, directory size limit).
    DirectoryChainTooLong {
        first_cluster: u32,
    },
    /// The fixed FAT12/16 root directory has no free entries left.
    RootDirectoryFull,
    NotFound {
        name: String,
    },
    NotADirectory {
        name: String,
    },
    IsADirectory {
        name: String,
    },
    /// The operation is not possible on the root directory.
    IsRoot,
    /// The device is read-only.
    ReadOnly,
    DiskFull,
    InvalidName {
        name: String,
    },
    DirectoryNotEmpty {
        name: String,
    },
    AlreadyExists {
        name: String,
    },
    /// FAT files hold at most 4 GiB - 1 bytes.
    FileTooLarge {
        size: u64,
    },
}

impl From<BlockError> for Error {
    fn from(e: BlockError) -> Error {
        Error::Block(e)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Block(e) => write!(f, "FAT: {e}"),
            Error::BadBootSector { field, value } => {
                write!(f, "FAT: not a valid boot sector: {field} is {value}")
            }
            Error::ClusterLoop { cluster } => write!(f, "FAT: cluster chain loops at cluster {cluster}"),
            Error::ClusterOutOfRange { cluster } => {
                write!(f, "FAT: cluster {cluster:#x} is outside the volume")
            }
            Error::FreeClusterInChain { cluster } => {
                write!(f, "FAT: cluster chain continues from {cluster} into a free cluster")
            }
            Error::BadClusterInChain { cluster } => {
                write!(f, "FAT: cluster chain continues from {cluster} into a bad cluster")
            }
            Error::ChainTooShort {
                first_cluster,
                size,
                chain_bytes,
            } => write!(
                f,
                "FAT: file at cluster {first_cluster} is {size} bytes but its chain holds {chain_bytes}"
            ),
            Error::DirectoryTooLarge { first_cluster } => {
                write!(f, "FAT: directory at cluster {first_cluster} is full (65536 entries)")
            }
            Error::DirectoryChainTooLong { first_cluster } => {
                write!(f, "FAT: directory at cluster {first_cluster} exceeds 65536 entries")
            }
            Error::RootDirectoryFull => write!(f, "FAT: the root directory is full"),
            Error::NotFound { name } => write!(f, "FAT: {name:?} not found"),
            Error::NotADirectory { name } => write!(f, "FAT: {name:?} is not a directory"),
            Error::IsADirectory { name } => write!(f, "FAT: {name:?} is a directory"),
            Error::IsRoot => write!(f, "FAT: not possible on the root directory"),
            Error::ReadOnly => write!(f, "FAT: the volume is read-only"),
            Error::DiskFull => write!(f, "FAT: no free clusters left"),
            Error::InvalidName { name } => write!(f, "FAT: {name:?} is not a valid file name"),
            Error::DirectoryNotEmpty { name } => write!(f, "FAT: directory {name:?} is not empty"),
            Error::AlreadyExists { name } => write!(f, "FAT: {name:?} already exists"),
            Error::FileTooLarge { size } => write!(f, "FAT: {size} bytes is more than a FAT file holds"),
        }
    }
}
