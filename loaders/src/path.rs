//! Building device paths (UEFI 2.10 §10.3) as bytes: what the boot manager needs
//! to name a file on a device.
#![forbid(unsafe_code)]

use alloc::vec::Vec;

const MEDIA: u8 = 4;
const FILE_PATH: u8 = 4;
const END: u8 = 0x7f;
const END_ENTIRE: u8 = 0xff;

/// The nodes of `device_path` up to (not including) its end node. `None` if a
/// node is malformed (length below 4 or past the slice).
pub fn without_end(device_path: &[u8]) -> Option<&[u8]> {
    let mut offset = 0;
    loop {
        let header = device_path.get(offset..offset + 4)?;
        if header[0] == END && header[1] == END_ENTIRE {
            return Some(&device_path[..offset]);
        }
        let len = usize::from(u16::from_le_bytes([header[2], header[3]]));
        if len < 4 {
            return None;
        }
        offset = offset.checked_add(len)?;
    }
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
    fn refuses_malformed_paths() {
        assert_eq!(without_end(&[1, 1, 2, 0, 0x7f, 0xff, 4, 0]), None);
        assert_eq!(without_end(&[1, 1, 6, 0]), None);
        assert_eq!(with_file(&[], "x"), None);
    }
}
