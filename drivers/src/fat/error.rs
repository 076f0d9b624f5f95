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
        /// The field's name.
        field: &'static str,
        /// Its value.
        value: u64,
    },
    /// A cluster chain runs into itself.
    ClusterLoop {
        /// The cluster where the loop closes.
        cluster: u32,
    },
    /// A chain or directory entry names a cluster past the volume's last one.
    ClusterOutOfRange {
        /// The cluster named.
        cluster: u32,
    },
    /// A chain continues into a cluster marked free.
    FreeClusterInChain {
        /// The free cluster.
        cluster: u32,
    },
    /// A chain continues into a cluster marked bad.
    BadClusterInChain {
        /// The bad cluster.
        cluster: u32,
    },
    /// A file's chain holds fewer bytes than its size says.
    ChainTooShort {
        /// The file's first cluster.
        first_cluster: u32,
        /// Its size.
        size: u64,
        /// The bytes its chain holds.
        chain_bytes: u64,
    },
    /// Adding an entry would take a directory past 65536 entries.
    DirectoryTooLarge {
        /// The directory's first cluster.
        first_cluster: u32,
    },
    /// A directory's cluster chain is longer than 65536 entries can fill: the
    /// volume is damaged (FAT specification, directory size limit).
    DirectoryChainTooLong {
        /// The directory's first cluster.
        first_cluster: u32,
    },
    /// The fixed FAT12/16 root directory has no free entries left.
    RootDirectoryFull,
    /// No entry of that name.
    NotFound {
        /// The name looked for.
        name: String,
    },
    /// A path component is a file, not a directory.
    NotADirectory {
        /// Its name.
        name: String,
    },
    /// A file operation on a directory.
    IsADirectory {
        /// Its name.
        name: String,
    },
    /// The operation is not possible on the root directory.
    IsRoot,
    /// The device is read-only.
    ReadOnly,
    /// No free cluster is left.
    DiskFull,
    /// A name FAT cannot hold (empty, too long, or with a forbidden character).
    InvalidName {
        /// The name.
        name: String,
    },
    /// Deleting a directory that still has entries.
    DirectoryNotEmpty {
        /// Its name.
        name: String,
    },
    /// Creating a name that exists.
    AlreadyExists {
        /// The name.
        name: String,
    },
    /// FAT files hold at most 4 GiB - 1 bytes.
    FileTooLarge {
        /// The size asked for.
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
