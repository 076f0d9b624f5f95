//! Building device paths (UEFI 2.10 §10.3) as bytes: what the boot manager needs
//! to name a file on a device.
#![forbid(unsafe_code)]

use alloc::string::String;
use alloc::vec::Vec;

const MEDIA: u8 = 4;
const FILE_PATH: u8 = 4;
const END: u8 = 0x7f;
const END_ENTIRE: u8 = 0xff;

/// One node of a device path: where it starts and its bytes, header included.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Node<'a> {
    /// Where the node starts in the path.
    pub offset: usize,
    /// The node's bytes, its 4-byte header included.
    pub bytes: &'a [u8],
}

impl<'a> Node<'a> {
    /// The node's type (hardware, ACPI, messaging, media, ..., end).
    pub fn kind(&self) -> u8 {
        self.bytes[0]
    }
    /// The node's sub-type within its type.
    pub fn sub_type(&self) -> u8 {
        self.bytes[1]
    }
    /// The node's data after the 4-byte header.
    pub fn data(&self) -> &'a [u8] {
        &self.bytes[4..]
    }
    /// Whether this is the End Entire Device Path node.
    pub fn is_end_entire(&self) -> bool {
        self.kind() == END && self.sub_type() == END_ENTIRE
    }
    /// Whether this is a media File Path node.
    pub fn is_file_path(&self) -> bool {
        self.kind() == MEDIA && self.sub_type() == FILE_PATH
    }
}

/// A node whose length is below its header's or runs past the bytes given.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Malformed {
    /// Where the malformed node starts in the path.
    pub offset: usize,
}

/// The nodes of `path`, ending after its End Entire node or at the end of the
/// bytes; a malformed node is yielded as an error and ends the walk, so a
/// corrupt path can never loop.
pub fn nodes(path: &[u8]) -> impl Iterator<Item = Result<Node<'_>, Malformed>> {
    let mut offset = 0;
    let mut done = false;
    core::iter::from_fn(move || {
        if done || offset >= path.len() {
            return None;
        }
        let node = path
            .get(offset..offset + 4)
            .map(|h| usize::from(u16::from_le_bytes([h[2], h[3]])))
            .filter(|&len| len >= 4)
            .and_then(|len| path.get(offset..offset.checked_add(len)?))
            .map(|bytes| Node { offset, bytes })
            .ok_or(Malformed { offset });
        match &node {
            Ok(n) => {
                offset += n.bytes.len();
                done = n.is_end_entire();
            }
            Err(_) => done = true,
        }
        Some(node)
    })
}

/// The nodes of `device_path` up to (not including) its end node. `None` if a
/// node is malformed (length below 4 or past the slice) or there is no end.
pub fn without_end(device_path: &[u8]) -> Option<&[u8]> {
    let end = nodes(device_path).map_while(Result::ok).find(Node::is_end_entire)?;
    Some(&device_path[..end.offset])
}

/// The first device path of a list of paths (an EFI_LOAD_OPTION's
/// FilePathList): up to and including its End Entire node.
pub fn first_path(list: &[u8]) -> Option<&[u8]> {
    for node in nodes(list) {
        let node = node.ok()?;
        if node.is_end_entire() {
            return Some(&list[..node.offset + node.bytes.len()]);
        }
    }
    None
}

/// The file named by a path's FILE_PATH nodes, joined; `None` if there are
/// none or a node is malformed.
pub fn file_text(path: &[u8]) -> Option<String> {
    let mut out = String::new();
    for node in nodes(path) {
        let node = node.ok()?;
        if node.is_file_path() {
            let units: Vec<u16> = fw_bytes::utf16_units(node.data()).collect();
            out.push_str(&String::from_utf16_lossy(&units));
        }
    }
    (!out.is_empty()).then_some(out)
}

/// `device` (a full device path) followed by a FILE_PATH node for `file`
/// (backslash-separated) and an end node.
pub fn with_file(device: &[u8], file: &str) -> Option<Vec<u8>> {
    let mut out = without_end(device)?.to_vec();
    let name: Vec<u16> = file.encode_utf16().chain([0]).collect();
    let len = u16::try_from(4 + name.len() * 2).ok()?;
    out.extend_from_slice(&[MEDIA, FILE_PATH]);
    out.extend_from_slice(&len.to_le_bytes());
    for unit in name {
        out.extend_from_slice(&unit.to_le_bytes());
    }
    out.extend_from_slice(&[END, END_ENTIRE, 4, 0]);
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const PCI_DISK: [u8; 10] = [1, 1, 6, 0, 0, 3, 0x7f, 0xff, 4, 0];

    #[test]
    fn appends_a_file_path_node_before_the_end() {
        let path = with_file(&PCI_DISK, "\\A").unwrap();
        assert_eq!(
            path,
            [1, 1, 6, 0, 0, 3, 4, 4, 10, 0, b'\\', 0, b'A', 0, 0, 0, 0x7f, 0xff, 4, 0]
        );
    }

    #[test]
    fn reads_the_file_and_the_first_path_of_a_list() {
        let path = with_file(&PCI_DISK, "\\EFI\\x.efi").unwrap();
        assert_eq!(file_text(&path).as_deref(), Some("\\EFI\\x.efi"));
        assert_eq!(file_text(&PCI_DISK), None);
        let mut list = path.clone();
        list.extend_from_slice(&PCI_DISK);
        assert_eq!(first_path(&list), Some(&path[..]));
        assert_eq!(first_path(&path[..path.len() - 4]), None, "no end node");
    }

    #[test]
    fn a_malformed_node_ends_the_walk_with_an_error() {
        let walked: Vec<_> = nodes(&[1, 1, 6, 0, 0, 3, 4, 4, 2, 0, 0x7f, 0xff, 4, 0]).collect();
        assert_eq!(walked.len(), 2);
        assert_eq!(walked[1], Err(Malformed { offset: 6 }));
    }

    #[test]
    fn refuses_malformed_paths() {
        assert_eq!(without_end(&[1, 1, 2, 0, 0x7f, 0xff, 4, 0]), None);
        assert_eq!(without_end(&[1, 1, 6, 0]), None);
        assert_eq!(with_file(&[], "x"), None);
    }
}
