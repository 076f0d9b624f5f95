//! Walking device paths held as bytes: UEFI 2.10 §10.2 (the generic node
//! header: type u8, subtype u8, length u16 LE counting the header) and §10.3.1
//! (End Entire 0x7F/0xFF ends a path; End Instance 0x7F/0x01 separates the
//! instances of a multi-instance path).
//!
//! The walk itself is the handle database's ([`fw_core::handles::device_path`]),
//! which the firmware uses to match device paths; this module adds what the
//! protocols need on top and reports errors as [`Error`].
#![forbid(unsafe_code)]

use super::{Error, PathError, MEDIA_DEVICE_PATH, MEDIA_FILEPATH_DP, NODE_HEADER_SIZE};
use alloc::string::String;
use fw_core::handles::device_path as walk;
pub use fw_core::handles::device_path::{nodes, Node, Nodes};

/// Size of the path in bytes, End Entire node included.
pub fn size(path: &[u8]) -> Result<usize, Error> {
    Ok(walk::size(path)?)
}

/// The path without its End Entire node (all instances, separated by their End
/// Instance nodes).
pub fn body(path: &[u8]) -> Result<&[u8], Error> {
    Ok(walk::body(path)?)
}

/// The first instance of the path without the end node closing it, and that
/// end node.
pub fn first_instance(path: &[u8]) -> Result<(&[u8], Node<'_>), Error> {
    for node in nodes(path) {
        let node = node?;
        if node.is_end() {
            return Ok((path.get(..node.offset).unwrap_or(&[]), node));
        }
    }
    Err(Error::Walk(PathError::Truncated {
        offset: path.len(),
        len: path.len(),
    }))
}

/// Whether the path holds more than one instance (an End Instance node comes
/// before End Entire).
pub fn is_multi_instance(path: &[u8]) -> Result<bool, Error> {
    Ok(walk::is_multi_instance(path)?)
}

/// Size of a device path that is not yet a slice (it lives in an application's
/// memory), End Entire node included. `read_header(offset)` reads the 4 header
/// bytes at `offset`; only offsets of nodes not yet passed are asked for, the
/// path may not extend past `limit`, and the walk ends after `limit / 4` nodes.
pub fn size_in_memory(
    limit: usize,
    mut read_header: impl FnMut(usize) -> [u8; NODE_HEADER_SIZE],
) -> Result<usize, Error> {
    Ok(walk::size_in_memory(limit, |offset| Some(read_header(offset)))?)
}

/// The text of a FilePath node's data: UCS-2 up to the first NUL (or the end),
/// unpaired surrogates replaced by U+FFFD.
pub fn ucs2_text(data: &[u8]) -> String {
    fw_drivers::bytes::utf16le_chars(data).collect()
}

/// The file path named by the FilePath nodes of the path's first instance
/// (§10.3.5.4), `None` if it has none. Consecutive FilePath nodes are one path
/// split into pieces: they are joined with a single `\` between them.
pub fn file_path(path: &[u8]) -> Result<Option<String>, Error> {
    let (instance, _) = first_instance(path)?;
    let mut text: Option<String> = None;
    for node in nodes(instance).map_while(Result::ok) {
        if node.kind() != MEDIA_DEVICE_PATH || node.sub_type() != MEDIA_FILEPATH_DP {
            continue;
        }
        let piece = ucs2_text(node.data());
        match text.as_mut() {
            None => text = Some(piece),
            Some(joined) => match (joined.ends_with('\\'), piece.starts_with('\\')) {
                (true, true) => joined.push_str(&piece[1..]),
                (false, false) if !joined.is_empty() && !piece.is_empty() => {
                    joined.push('\\');
                    joined.push_str(&piece);
                }
                _ => joined.push_str(&piece),
            },
        }
    }
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::device_path::DevicePathBuf;
    use std::vec;
    use std::vec::Vec;

    const END: [u8; 4] = [0x7F, 0xFF, 4, 0];
    const END_INSTANCE: [u8; 4] = [0x7F, 0x01, 4, 0];

    #[test]
    fn device_path_walk_yields_nodes_until_end_entire() {
        let mut path = vec![0x01, 0x01, 6, 0, 0, 3];
        path.extend_from_slice(&END);
        path.extend_from_slice(&[0xAA; 8]); // bytes after the end are never read
        let walked: Vec<_> = nodes(&path).collect::<Result<_, _>>().unwrap();
        assert_eq!(walked.len(), 2);
        assert_eq!(
            (walked[0].kind(), walked[0].sub_type(), walked[0].data()),
            (1, 1, &[0u8, 3][..])
        );
        assert!(walked[1].is_end_entire());
        assert_eq!(size(&path), Ok(10));
        assert_eq!(body(&path), Ok(&path[..6]));
    }

    #[test]
    fn device_path_malformed_lengths_stop_the_walk() {
        // A zero length would loop forever if the walk trusted it.
        let zero = [0x01, 0x01, 0, 0, 0x7F, 0xFF, 4, 0];
        assert_eq!(
            size(&zero),
            Err(Error::Walk(PathError::NodeTooShort { offset: 0, length: 0 }))
        );
        let short = [0x01, 0x01, 3, 0];
        assert_eq!(
            size(&short),
            Err(Error::Walk(PathError::NodeTooShort { offset: 0, length: 3 }))
        );
        // A length past the buffer.
        let long = [0x01, 0x01, 200, 0, 0x7F, 0xFF, 4, 0];
        assert_eq!(
            size(&long),
            Err(Error::Walk(PathError::Truncated { offset: 0, len: 8 }))
        );
        // No end node.
        let open = [0x01, 0x01, 6, 0, 0, 3];
        assert_eq!(
            size(&open),
            Err(Error::Walk(PathError::Truncated { offset: 6, len: 6 }))
        );
        assert_eq!(size(&[]), Err(Error::Walk(PathError::Truncated { offset: 0, len: 0 })));
        assert_eq!(nodes(&zero).count(), 1, "the error is yielded once");
        assert!(body(&open).is_err());
        assert!(first_instance(&zero).is_err());
        assert!(is_multi_instance(&long).is_err());
    }

    #[test]
    fn device_path_in_memory_walk_is_bounded() {
        let mut path = vec![0x04, 0x04, 6, 0, b'a', 0];
        path.extend_from_slice(&END);
        let read = |offset: usize| {
            let mut header = [0u8; 4];
            header.copy_from_slice(&path[offset..offset + 4]);
            header
        };
        assert_eq!(size_in_memory(64, read), Ok(10));
        assert_eq!(
            size_in_memory(8, read),
            Err(Error::Walk(PathError::Truncated { offset: 6, len: 8 }))
        );
        let zero = |_| [1u8, 1, 0, 0];
        assert_eq!(
            size_in_memory(1 << 20, zero),
            Err(Error::Walk(PathError::NodeTooShort { offset: 0, length: 0 }))
        );
        // A path of endless 4-byte nodes ends at the limit.
        let mut reads = 0;
        let endless = |_| {
            reads += 1;
            [1u8, 1, 4, 0]
        };
        assert_eq!(
            size_in_memory(400, endless),
            Err(Error::Walk(PathError::Truncated { offset: 400, len: 400 }))
        );
        assert_eq!(reads, 100);
    }

    #[test]
    fn device_path_instances_are_found() {
        let mut path = vec![0x01, 0x01, 6, 0, 0, 3];
        path.extend_from_slice(&END_INSTANCE);
        path.extend_from_slice(&[0x01, 0x01, 6, 0, 0, 4]);
        path.extend_from_slice(&END);
        assert_eq!(is_multi_instance(&path), Ok(true));
        let (first, end) = first_instance(&path).unwrap();
        assert_eq!(first, &path[..6]);
        assert!(end.is_end_instance());
        assert_eq!(is_multi_instance(&path[10..]), Ok(false));
    }

    #[test]
    fn device_path_file_path_text_joins_file_path_nodes() {
        let path = DevicePathBuf::new()
            .pci_root(0)
            .file_path("\\EFI\\debian")
            .unwrap()
            .file_path("grubx64.efi")
            .unwrap();
        assert_eq!(
            file_path(path.as_bytes()),
            Ok(Some("\\EFI\\debian\\grubx64.efi".into()))
        );
        let path = DevicePathBuf::new()
            .file_path("\\EFI\\")
            .unwrap()
            .file_path("\\a.efi")
            .unwrap();
        assert_eq!(file_path(path.as_bytes()), Ok(Some("\\EFI\\a.efi".into())));
        assert_eq!(file_path(DevicePathBuf::new().pci(1, 0).as_bytes()), Ok(None));
        // A node without a terminator, and an unpaired surrogate.
        let mut raw = vec![0x04, 0x04, 10, 0, b'x', 0, 0x00, 0xD8, b'y', 0];
        raw.extend_from_slice(&END);
        assert_eq!(file_path(&raw), Ok(Some("x\u{FFFD}y".into())));
    }
}
