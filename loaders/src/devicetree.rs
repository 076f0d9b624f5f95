//! A Boot Loader Specification entry's `devicetree`: the flattened device tree
//! file (Devicetree Specification v0.4 §5.2, "Header") is checked and installed
//! as the EFI_DTB_TABLE configuration table (UEFI 2.10 §4.6.1.3), in place of the
//! one the VMM gave, for the kernel's EFI stub to use. If the kernel does not
//! take over, the VMM's table is put back.
#![forbid(unsafe_code)]

use core::fmt;
use uefi_raw::{guid, Guid};

/// EFI_DTB_TABLE_GUID.
pub const DTB_TABLE_GUID: Guid = guid!("b1b621d5-f19c-41a5-830b-d9152c69aae0");

/// `magic`, big-endian, at offset 0.
const FDT_MAGIC: u32 = 0xd00d_feed;
/// The header (`struct fdt_header`) of version 17: ten 32-bit fields.
const FDT_HEADER_SIZE: usize = 40;
/// The oldest version a reader of version 17 can read (`last_comp_version`).
const FDT_LAST_COMPATIBLE_VERSION: u32 = 16;

/// Why a devicetree file cannot be used.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeviceTreeError {
    /// Shorter than the header.
    TooShort {
        /// The file's length.
        len: usize,
    },
    /// The first four bytes are not 0xd00dfeed.
    BadMagic {
        /// The first four bytes, big-endian.
        found: u32,
    },
    /// `totalsize` is smaller than the header or larger than the file.
    BadSize {
        /// The header's `totalsize`.
        total_size: u32,
        /// The file's length.
        file_len: usize,
    },
    /// `last_comp_version` is newer than version 17 readers understand.
    Incompatible {
        /// The header's `last_comp_version`.
        last_compatible_version: u32,
    },
}

impl fmt::Display for DeviceTreeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            DeviceTreeError::TooShort { len } => {
                write!(f, "{len} bytes is shorter than a flattened device tree header")
            }
            DeviceTreeError::BadMagic { found } => {
                write!(
                    f,
                    "not a flattened device tree (magic {found:#010x}, expected 0xd00dfeed)"
                )
            }
            DeviceTreeError::BadSize { total_size, file_len } => {
                write!(f, "header says {total_size} bytes, the file has {file_len}")
            }
            DeviceTreeError::Incompatible {
                last_compatible_version,
            } => write!(f, "needs a reader of version {last_compatible_version} or later"),
        }
    }
}

fn be32(bytes: &[u8], at: usize) -> u32 {
    let mut word = [0u8; 4];
    word.copy_from_slice(&bytes[at..at + 4]);
    u32::from_be_bytes(word)
}

/// Checks the header of a flattened device tree file and returns its
/// `totalsize` (the bytes to install; a file may be padded beyond it).
pub fn check(file: &[u8]) -> Result<usize, DeviceTreeError> {
    if file.len() < FDT_HEADER_SIZE {
        return Err(DeviceTreeError::TooShort { len: file.len() });
    }
    let magic = be32(file, 0);
    if magic != FDT_MAGIC {
        return Err(DeviceTreeError::BadMagic { found: magic });
    }
    let total_size = be32(file, 4);
    if (total_size as usize) < FDT_HEADER_SIZE || total_size as usize > file.len() {
        return Err(DeviceTreeError::BadSize {
            total_size,
            file_len: file.len(),
        });
    }
    let last_compatible_version = be32(file, 24);
    if last_compatible_version > FDT_LAST_COMPATIBLE_VERSION + 1 {
        return Err(DeviceTreeError::Incompatible {
            last_compatible_version,
        });
    }
    Ok(total_size as usize)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::vec::Vec;

    /// A minimal version-17 tree: header, empty reservation map, a root node
    /// with no properties, FDT_END.
    fn minimal_tree() -> Vec<u8> {
        let structure: Vec<u8> = [1u32, 0, 2, 9].iter().flat_map(|w| w.to_be_bytes()).collect();
        let reservations = [0u8; 16];
        let off_rsvmap = FDT_HEADER_SIZE as u32;
        let off_struct = off_rsvmap + reservations.len() as u32;
        let off_strings = off_struct + structure.len() as u32;
        let total = off_strings;
        let header = [
            FDT_MAGIC,
            total,
            off_struct,
            off_strings,
            off_rsvmap,
            17,
            16,
            0,
            0,
            structure.len() as u32,
        ];
        let mut tree: Vec<u8> = header.iter().flat_map(|w| w.to_be_bytes()).collect();
        tree.extend_from_slice(&reservations);
        tree.extend_from_slice(&structure);
        tree
    }

    #[test]
    fn a_valid_tree_gives_its_total_size_even_when_padded() {
        let mut tree = minimal_tree();
        let total = tree.len();
        assert_eq!(check(&tree), Ok(total));
        tree.extend_from_slice(&[0; 100]);
        assert_eq!(check(&tree), Ok(total));
    }

    #[test]
    fn other_files_are_refused_with_the_reason() {
        assert_eq!(check(b"short"), Err(DeviceTreeError::TooShort { len: 5 }));
        let mut tree = minimal_tree();
        tree[0] = 0x7f;
        assert_eq!(check(&tree), Err(DeviceTreeError::BadMagic { found: 0x7f0d_feed }));
        let mut tree = minimal_tree();
        let len = tree.len();
        tree[4..8].copy_from_slice(&(len as u32 + 1).to_be_bytes());
        assert_eq!(
            check(&tree),
            Err(DeviceTreeError::BadSize {
                total_size: len as u32 + 1,
                file_len: len
            })
        );
        let mut tree = minimal_tree();
        tree[24..28].copy_from_slice(&18u32.to_be_bytes());
        assert_eq!(
            check(&tree),
            Err(DeviceTreeError::Incompatible {
                last_compatible_version: 18
            })
        );
    }
}
