//! File names between the UCS-2 strings of the EFI file protocol (UEFI 2.10
//! §13.5, CHAR16 names) and the UTF-8 strings of the FAT driver. FAT long
//! names are UTF-16, so surrogate pairs pass through; unpaired surrogates are
//! not characters and are refused.
#![forbid(unsafe_code)]

use super::Error;
use alloc::string::String;
use alloc::vec::Vec;

/// `units` (without the terminator) as a string.
pub fn from_ucs2(units: &[u16]) -> Result<String, Error> {
    char::decode_utf16(units.iter().copied())
        .collect::<Result<String, _>>()
        .map_err(|_| Error::InvalidName)
}

/// `name` as NUL-terminated UCS-2.
pub fn to_ucs2(name: &str) -> Vec<u16> {
    name.encode_utf16().chain([0]).collect()
}

/// The string in little-endian UCS-2 `bytes` up to its NUL; `None` when
/// there is no NUL or a surrogate is unpaired.
pub fn from_ucs2_bytes(bytes: &[u8]) -> Option<String> {
    let units: Vec<u16> = bytes
        .chunks_exact(2)
        .map(|b| u16::from_le_bytes([b[0], b[1]]))
        .collect();
    let end = units.iter().position(|&u| u == 0)?;
    from_ucs2(&units[..end]).ok()
}

/// Appends `name` as little-endian NUL-terminated UCS-2.
pub fn push_ucs2_bytes(out: &mut Vec<u8>, name: &str) {
    for unit in to_ucs2(name) {
        out.extend_from_slice(&unit.to_le_bytes());
    }
}

/// Bytes `name` takes as NUL-terminated UCS-2.
pub fn ucs2_size(name: &str) -> usize {
    (name.encode_utf16().count() + 1) * 2
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_system_names_round_trip_including_surrogate_pairs() {
        let name = "grub€x64😀.efi";
        let units = to_ucs2(name);
        assert_eq!(units.last(), Some(&0));
        assert_eq!(from_ucs2(&units[..units.len() - 1]).unwrap(), name);
        let mut bytes = Vec::new();
        push_ucs2_bytes(&mut bytes, name);
        assert_eq!(bytes.len(), ucs2_size(name));
        assert_eq!(from_ucs2_bytes(&bytes).as_deref(), Some(name));
    }

    #[test]
    fn file_system_names_refuse_unpaired_surrogates_and_missing_nul() {
        assert_eq!(from_ucs2(&[0x61, 0xD800]), Err(Error::InvalidName));
        assert_eq!(from_ucs2(&[0xDC00, 0x61]), Err(Error::InvalidName));
        assert_eq!(from_ucs2_bytes(&[0x61, 0]), None);
        assert_eq!(from_ucs2_bytes(&[0x00, 0xD8, 0, 0]), None);
    }
}
