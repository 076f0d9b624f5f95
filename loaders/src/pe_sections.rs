//! Finding named sections in a PE file's headers (Microsoft PE format §3-§4),
//! so the boot manager can read a unified kernel image's `.osrel`, `.cmdline`
//! and `.uname` without reading the whole file.
#![forbid(unsafe_code)]

use alloc::vec::Vec;
use fw_bytes::LeFields;

/// Bytes to read from the start of a file to see its section table.
pub const HEADER_BYTES: usize = 4096;

/// A section's name and where its data is in the file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SectionData {
    /// The section's name, NUL-padded.
    pub name: [u8; 8],
    /// `PointerToRawData`: where the section's data starts in the file.
    pub file_offset: u32,
    /// min(VirtualSize, SizeOfRawData): the section's meaningful bytes.
    pub size: u32,
}

/// The sections listed in `header` (the first bytes of a PE file); `None` if
/// it is not a PE file or the table does not fit in `header`.
pub fn sections(header: &[u8]) -> Option<Vec<SectionData>> {
    if header.get(..2)? != b"MZ" {
        return None;
    }
    let pe = header.u32_le(0x3c)? as usize;
    if header.get(pe..pe + 4)? != b"PE\0\0" {
        return None;
    }
    let count = usize::from(header.u16_le(pe + 6)?);
    let optional_size = usize::from(header.u16_le(pe + 20)?);
    let table = pe + 24 + optional_size;
    (0..count)
        .map(|i| {
            let entry = header.get(table + 40 * i..table + 40 * (i + 1))?;
            let virtual_size = entry.u32_le(8)?;
            let raw_size = entry.u32_le(16)?;
            let size = if virtual_size == 0 {
                raw_size
            } else {
                virtual_size.min(raw_size)
            };
            Some(SectionData {
                name: entry[..8].try_into().ok()?,
                file_offset: entry.u32_le(20)?,
                size,
            })
        })
        .collect()
}

/// The section called `name` (up to 8 bytes, NUL-padded in the table).
pub fn find<'a>(sections: &'a [SectionData], name: &str) -> Option<&'a SectionData> {
    let wanted = name.as_bytes();
    sections.iter().find(|s| {
        let end = s.name.iter().position(|&b| b == 0).unwrap_or(8);
        &s.name[..end] == wanted
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    fn pe_with(sections_list: &[(&str, u32, u32, u32)]) -> Vec<u8> {
        let mut f = vec![0u8; 1024];
        f[..2].copy_from_slice(b"MZ");
        f[0x3c..0x40].copy_from_slice(&0x80u32.to_le_bytes());
        f[0x80..0x84].copy_from_slice(b"PE\0\0");
        f[0x86..0x88].copy_from_slice(&(sections_list.len() as u16).to_le_bytes());
        f[0x94..0x96].copy_from_slice(&240u16.to_le_bytes());
        let table = 0x80 + 24 + 240;
        for (i, (name, vsize, raw_size, offset)) in sections_list.iter().enumerate() {
            let e = table + 40 * i;
            f[e..e + name.len()].copy_from_slice(name.as_bytes());
            f[e + 8..e + 12].copy_from_slice(&vsize.to_le_bytes());
            f[e + 16..e + 20].copy_from_slice(&raw_size.to_le_bytes());
            f[e + 20..e + 24].copy_from_slice(&offset.to_le_bytes());
        }
        f
    }

    #[test]
    fn finds_uki_sections_by_name() {
        let f = pe_with(&[
            (".text", 100, 512, 0x400),
            (".osrel", 37, 512, 0x600),
            (".cmdline", 0, 512, 0x800),
        ]);
        let s = sections(&f).unwrap();
        assert_eq!(find(&s, ".osrel").map(|s| (s.file_offset, s.size)), Some((0x600, 37)));
        assert_eq!(
            find(&s, ".cmdline").map(|s| s.size),
            Some(512),
            "virtual size 0 means the raw size"
        );
        assert_eq!(find(&s, ".linux"), None);
    }

    #[test]
    fn refuses_non_pe_and_truncated_headers() {
        assert_eq!(sections(b"not a pe"), None);
        let f = pe_with(&[(".osrel", 1, 1, 1)]);
        assert_eq!(sections(&f[..0x80 + 24 + 240 + 20]), None);
    }
}
