//! Walking device paths as bytes: UEFI 2.10 §10.2 "EFI Device Path Protocol"
//! (generic node header) and §10.3.1 (end nodes).
//!
//! A node starts with a 4-byte header: type (u8), subtype (u8), length (u16 LE)
//! counting the header. A path ends with the End Entire node (0x7F, 0xFF); End
//! Instance (0x7F, 0x01) separates the instances of a multi-instance path.
//! Every walk advances by at least the header size, and a length below it stops the
//! walk with an error, so a corrupt path can never loop.
#![forbid(unsafe_code)]

use core::fmt;

/// Node type of the end nodes.
pub const END_DEVICE_PATH_TYPE: u8 = 0x7F;
/// Subtype ending the whole path.
pub const END_ENTIRE_DEVICE_PATH_SUBTYPE: u8 = 0xFF;
/// Subtype ending one instance of a multi-instance path.
pub const END_INSTANCE_DEVICE_PATH_SUBTYPE: u8 = 0x01;
/// Size of the generic node header, and the smallest legal node length.
pub const NODE_HEADER_SIZE: usize = 4;

/// Why a device path could not be walked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PathError {
    /// A node header or body at `offset` runs past the `len` bytes available
    /// (also: the path has no End Entire node within them).
    Truncated {
        /// Where the node starts.
        offset: usize,
        /// The bytes available.
        len: usize,
    },
    /// The node at `offset` declares a length shorter than its own header.
    NodeTooShort {
        /// Where the node starts.
        offset: usize,
        /// Its declared length.
        length: u16,
    },
    /// The header at `offset` could not be read from memory.
    Unreadable {
        /// Where the node starts.
        offset: usize,
    },
}

impl fmt::Display for PathError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PathError::Truncated { offset, len } => write!(
                f,
                "node at offset {offset} runs past the end of the {len} bytes available"
            ),
            PathError::NodeTooShort { offset, length } => write!(
                f,
                "node at offset {offset} has length {length}, less than its {NODE_HEADER_SIZE}-byte header"
            ),
            PathError::Unreadable { offset } => {
                write!(f, "node header at offset {offset} cannot be read")
            }
        }
    }
}

/// One node of a device path.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Node<'a> {
    /// Where the node starts in the path.
    pub offset: usize,
    /// The whole node, header included.
    pub bytes: &'a [u8],
}

impl<'a> Node<'a> {
    /// The node at the start of `bytes` (a lone node, as ConvertDeviceNodeToText
    /// and AppendDeviceNode take): its length must be at least the header's and
    /// within `bytes`.
    pub fn parse(bytes: &'a [u8]) -> Result<Node<'a>, PathError> {
        let header = bytes.first_chunk::<NODE_HEADER_SIZE>().ok_or(PathError::Truncated {
            offset: 0,
            len: bytes.len(),
        })?;
        let length = check_header(*header, 0, bytes.len())?;
        Ok(Node {
            offset: 0,
            bytes: bytes.get(..length).unwrap_or(&[]),
        })
    }

    /// The offset just past this node.
    pub fn end_offset(&self) -> usize {
        self.offset + self.bytes.len()
    }

    /// End This Instance of a Device Path.
    pub fn is_end_instance(&self) -> bool {
        self.kind() == END_DEVICE_PATH_TYPE && self.sub_type() == END_INSTANCE_DEVICE_PATH_SUBTYPE
    }

    /// The node type (hardware, ACPI, messaging, media, BIOS boot, end).
    pub fn kind(&self) -> u8 {
        self.bytes.first().copied().unwrap_or(0)
    }

    /// The node's sub-type (0 if the node is too short to say).
    pub fn sub_type(&self) -> u8 {
        self.bytes.get(1).copied().unwrap_or(0)
    }

    /// The node's data after the header.
    pub fn data(&self) -> &'a [u8] {
        self.bytes.get(NODE_HEADER_SIZE..).unwrap_or(&[])
    }

    /// End Entire Device Path.
    pub fn is_end_entire(&self) -> bool {
        self.kind() == END_DEVICE_PATH_TYPE && self.sub_type() == END_ENTIRE_DEVICE_PATH_SUBTYPE
    }

    /// Any end node (entire or instance).
    pub fn is_end(&self) -> bool {
        self.kind() == END_DEVICE_PATH_TYPE
    }
}

/// Checks one node header; returns the node length.
fn check_header(header: [u8; 4], offset: usize, available: usize) -> Result<usize, PathError> {
    let length = u16::from_le_bytes([header[2], header[3]]);
    if usize::from(length) < NODE_HEADER_SIZE {
        return Err(PathError::NodeTooShort { offset, length });
    }
    let end = offset
        .checked_add(usize::from(length))
        .filter(|&end| end <= available)
        .ok_or(PathError::Truncated { offset, len: available })?;
    Ok(end - offset)
}

fn is_end_entire(header: [u8; 4]) -> bool {
    header[0] == END_DEVICE_PATH_TYPE && header[1] == END_ENTIRE_DEVICE_PATH_SUBTYPE
}

/// The nodes of a path up to and including its End Entire node. Yields an error
/// (once, then stops) if the path is malformed or has no end node.
pub fn nodes(path: &[u8]) -> Nodes<'_> {
    Nodes {
        path,
        offset: 0,
        done: false,
    }
}

/// Iterator of [`nodes`].
#[derive(Clone, Debug)]
pub struct Nodes<'a> {
    path: &'a [u8],
    offset: usize,
    done: bool,
}

impl<'a> Iterator for Nodes<'a> {
    type Item = Result<Node<'a>, PathError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let offset = self.offset;
        let header = self
            .path
            .get(offset..)
            .and_then(|rest| rest.first_chunk::<NODE_HEADER_SIZE>())
            .copied();
        let node = header
            .ok_or(PathError::Truncated {
                offset,
                len: self.path.len(),
            })
            .and_then(|header| {
                let length = check_header(header, offset, self.path.len())?;
                Ok((header, length))
            });
        match node {
            Ok((header, length)) => {
                self.offset = offset + length;
                self.done = is_end_entire(header);
                let bytes = self.path.get(offset..offset + length).unwrap_or(&[]);
                Some(Ok(Node { offset, bytes }))
            }
            Err(error) => {
                self.done = true;
                Some(Err(error))
            }
        }
    }
}

/// Size of the path in bytes, End Entire node included.
pub fn size(path: &[u8]) -> Result<usize, PathError> {
    let mut size = 0;
    for node in nodes(path) {
        let node = node?;
        size = node.offset + node.bytes.len();
    }
    Ok(size)
}

/// The path without its End Entire node (all instances).
pub fn body(path: &[u8]) -> Result<&[u8], PathError> {
    for node in nodes(path) {
        let node = node?;
        if node.is_end_entire() {
            return Ok(path.get(..node.offset).unwrap_or(&[]));
        }
    }
    // `nodes` ends only at End Entire or with an error.
    Err(PathError::Truncated {
        offset: path.len(),
        len: path.len(),
    })
}

/// The first instance of the path, without the end node that closes it.
pub fn first_instance(path: &[u8]) -> Result<&[u8], PathError> {
    for node in nodes(path) {
        let node = node?;
        if node.is_end() {
            return Ok(path.get(..node.offset).unwrap_or(&[]));
        }
    }
    Err(PathError::Truncated {
        offset: path.len(),
        len: path.len(),
    })
}

/// Whether the path holds more than one instance (an End Instance node comes
/// before End Entire).
pub fn is_multi_instance(path: &[u8]) -> Result<bool, PathError> {
    let mut multi = false;
    for node in nodes(path) {
        let node = node?;
        multi |= node.is_end() && !node.is_end_entire();
    }
    Ok(multi)
}

/// Size of a device path that is not yet a slice (it lives in guest memory), End
/// Entire node included. `read_header(offset)` reads the 4 header bytes at `offset`;
/// only offsets below `limit` are asked for, and the path may not extend past `limit`.
/// The ABI thunk uses this to learn how long a slice it may build.
pub fn size_in_memory(limit: usize, mut read_header: impl FnMut(usize) -> Option<[u8; 4]>) -> Result<usize, PathError> {
    let mut offset = 0usize;
    loop {
        if offset.checked_add(NODE_HEADER_SIZE).is_none_or(|end| end > limit) {
            return Err(PathError::Truncated { offset, len: limit });
        }
        let header = read_header(offset).ok_or(PathError::Unreadable { offset })?;
        // At least NODE_HEADER_SIZE, so the loop ends after limit / 4 steps.
        let length = check_header(header, offset, limit)?;
        offset += length;
        if is_end_entire(header) {
            return Ok(offset);
        }
    }
}
