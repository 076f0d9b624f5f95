//! Little-endian fields at fixed offsets of the structures the parsers read
//! (partition tables, FAT boot sectors and directory entries, ACPI and SMBIOS
//! tables, fw_cfg files, the PVH start info, variable stores, PE headers, the
//! Linux boot protocol's setup header). Every read is checked: a field that
//! does not lie wholly inside the bytes gives `None`, never a panic, and the
//! parser decides what a short structure means. UTF-16LE strings are read the
//! same way everywhere too: as code units ([`utf16_units`]) or as text
//! ([`utf16le_chars`]: GPT partition names, device path file names). Text
//! for a console goes out one way too: [`console::for_each_piece`].
//!
//! A crate of its own so that the firmware's parsers (`fw-drivers`, `fw-core`)
//! and the built-in EFI applications (`fw-loaders`, which see the firmware only
//! through the system table) read fields the same way.
#![no_std]
#![forbid(unsafe_code)]

#[cfg(test)]
extern crate std;

pub mod console;

/// Checked little-endian reads out of a byte slice; `at` is the field's offset.
pub trait LeFields {
    /// The `N` bytes at `at`.
    fn array_at<const N: usize>(&self, at: usize) -> Option<[u8; N]>;

    /// The byte at `at`.
    fn u8_at(&self, at: usize) -> Option<u8> {
        self.array_at::<1>(at).map(|[b]| b)
    }

    /// The little-endian `u16` at `at`.
    fn u16_le(&self, at: usize) -> Option<u16> {
        self.array_at(at).map(u16::from_le_bytes)
    }

    /// The little-endian `u32` at `at`.
    fn u32_le(&self, at: usize) -> Option<u32> {
        self.array_at(at).map(u32::from_le_bytes)
    }

    /// The little-endian `u64` at `at`.
    fn u64_le(&self, at: usize) -> Option<u64> {
        self.array_at(at).map(u64::from_le_bytes)
    }
}

impl LeFields for [u8] {
    fn array_at<const N: usize>(&self, at: usize) -> Option<[u8; N]> {
        let end = at.checked_add(N)?;
        self.get(at..end)?.try_into().ok()
    }
}

/// The UTF-16 code units of the little-endian string in `bytes` (the UCS-2
/// strings of device path nodes, variables and file names), up to its NUL or
/// the end of `bytes`; an odd last byte is not a unit.
pub fn utf16_units(bytes: &[u8]) -> impl Iterator<Item = u16> + '_ {
    bytes
        .chunks_exact(2)
        .map(|c| u16::from_le_bytes([c[0], c[1]]))
        .take_while(|&unit| unit != 0)
}

/// The characters of a UTF-16LE text field, up to its first NUL (or its
/// end); an unpaired surrogate reads as U+FFFD, an odd last byte is ignored.
pub fn utf16le_chars(field: &[u8]) -> impl Iterator<Item = char> + '_ {
    char::decode_utf16(utf16_units(field)).map(|c| c.unwrap_or(char::REPLACEMENT_CHARACTER))
}

#[cfg(test)]
mod tests {
    use super::*;

    const BYTES: [u8; 10] = [0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a];

    #[test]
    fn fields_read_little_endian_at_their_offset() {
        assert_eq!(BYTES.u8_at(9), Some(0x0a));
        assert_eq!(BYTES.u16_le(0), Some(0x0201));
        assert_eq!(BYTES.u32_le(1), Some(0x0504_0302));
        assert_eq!(BYTES.u64_le(2), Some(0x0a09_0807_0605_0403));
        assert_eq!(BYTES.array_at::<3>(7), Some([0x08, 0x09, 0x0a]));
    }

    #[test]
    fn utf16_units_stop_at_the_nul_or_the_last_whole_unit() {
        let units = |bytes: &[u8]| utf16_units(bytes).collect::<std::vec::Vec<u16>>();
        assert_eq!(units(b"a\0b\0\0\0c\0"), [0x61, 0x62]);
        assert_eq!(units(b"a\0\x3b\x26z"), [0x61, 0x263b]);
    }

    #[test]
    fn a_field_past_the_end_is_none() {
        assert_eq!(BYTES.u8_at(10), None);
        assert_eq!(BYTES.u16_le(9), None);
        assert_eq!(BYTES.u32_le(7), None);
        assert_eq!(BYTES.u64_le(3), None);
        assert_eq!(BYTES[..0].u16_le(0), None);
    }

    #[test]
    fn utf16le_text_ends_at_its_nul_and_replaces_lone_surrogates() {
        let field = [b'E', 0, b'F', 0, 0x00, 0xd8, b'I', 0, 0, 0, b'x', 0];
        assert!(utf16le_chars(&field).eq(['E', 'F', char::REPLACEMENT_CHARACTER, 'I']));
        assert!(utf16le_chars(&[b'a', 0, b'b']).eq(['a']));
        assert_eq!(utf16le_chars(&[]).count(), 0);
    }

    #[test]
    fn an_offset_near_usize_max_is_none_not_an_overflow() {
        assert_eq!(BYTES.u64_le(usize::MAX - 3), None);
        assert_eq!(BYTES.u8_at(usize::MAX), None);
    }
}
