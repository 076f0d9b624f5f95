//! The Authenticode digest of a PE image and the signatures in its security
//! directory (UEFI 2.10 §32.2.3; Microsoft's "Windows Authenticode Portable
//! Executable Signature Format").
//!
//! The digest covers the headers except the checksum and the security
//! directory's entry, then each section's raw data in file order, then any
//! data after the last section except the certificate table. The rule for
//! that trailing data is edk2's: the bytes from the end of what was hashed up
//! to the file's end less the certificate table's size. The headers are read
//! with `fw-pe`, the image loader's reader; PE32 images are digested too.
#![forbid(unsafe_code)]

use super::digest::HashAlgorithm;
use alloc::vec::Vec;
use core::fmt;
use core::ops::Range;
use fw_pe::CoffHeader;

/// Why a file is not a PE image whose digest can be computed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PeError {
    /// Too short, no MZ or PE signature, or an unknown optional header.
    NotPe,
    /// A header field points outside the file (`what` names it).
    OutOfBounds(&'static str),
    /// The certificate table is not a well-formed run of WIN_CERTIFICATEs.
    BadCertificateTable,
}

impl fmt::Display for PeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PeError::NotPe => write!(f, "not a PE image"),
            PeError::OutOfBounds(what) => write!(f, "PE {what} lies outside the file"),
            PeError::BadCertificateTable => write!(f, "malformed certificate table"),
        }
    }
}

const WIN_CERT_REVISION_2_0: u16 = 0x0200;
const WIN_CERT_TYPE_PKCS_SIGNED_DATA: u16 = 0x0002;

/// The byte ranges an Authenticode digest covers, in order, and the
/// certificate table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Layout {
    /// The ranges of the file the digest covers, in the order hashed.
    pub hashed: Vec<Range<usize>>,
    /// Where the certificate table (the WIN_CERTIFICATEs) lies in the file,
    /// if the image has one.
    pub certificates: Option<Range<usize>>,
}

fn u16_at(b: &[u8], at: usize) -> Result<u16, PeError> {
    b.get(at..at + 2)
        .map(|s| u16::from_le_bytes([s[0], s[1]]))
        .ok_or(PeError::NotPe)
}

fn u32_at(b: &[u8], at: usize) -> Result<u32, PeError> {
    b.get(at..at + 4)
        .map(|s| u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
        .ok_or(PeError::NotPe)
}

/// Works out which bytes of `pe` the Authenticode digest covers.
pub fn layout(pe: &[u8]) -> Result<Layout, PeError> {
    let coff = CoffHeader::read(pe).map_err(|_| PeError::NotPe)?;
    let opt = coff.optional_header_offset() as usize;
    let optional_size = usize::from(coff.size_of_optional_header);
    let magic = coff.optional_magic(pe).map_err(|_| PeError::NotPe)?;
    let (count_at, dirs_at) = fw_pe::data_directory_offsets(magic).ok_or(PeError::NotPe)?;
    let (count_at, dirs_at) = (opt + count_at as usize, opt + dirs_at as usize);
    let checksum = opt + fw_pe::CHECK_SUM_OFFSET as usize;
    let size_of_headers = u32_at(pe, opt + fw_pe::SIZE_OF_HEADERS_OFFSET as usize)? as usize;
    if size_of_headers > pe.len() || size_of_headers < checksum + 4 {
        return Err(PeError::OutOfBounds("SizeOfHeaders"));
    }
    let dir_count = u32_at(pe, count_at)? as usize;
    let mut hashed = alloc::vec![0..checksum];
    let mut certificates = None;
    if dir_count > 4 {
        let entry = dirs_at + 4 * 8;
        if entry + 8 > size_of_headers || entry + 8 > opt + optional_size {
            return Err(PeError::OutOfBounds("security directory entry"));
        }
        hashed.push(checksum + 4..entry);
        hashed.push(entry + 8..size_of_headers);
        let offset = u32_at(pe, entry)? as usize;
        let size = u32_at(pe, entry + 4)? as usize;
        if size != 0 {
            let end = offset
                .checked_add(size)
                .ok_or(PeError::OutOfBounds("certificate table"))?;
            if end > pe.len() || offset < size_of_headers {
                return Err(PeError::OutOfBounds("certificate table"));
            }
            certificates = Some(offset..end);
        }
    } else {
        hashed.push(checksum + 4..size_of_headers);
    }
    let sections = coff
        .section_headers(pe)
        .map_err(|_| PeError::OutOfBounds("section table"))?;
    let mut raw: Vec<Range<usize>> = Vec::with_capacity(sections.len());
    for section in &sections {
        let size = section.size_of_raw_data as usize;
        let pointer = section.pointer_to_raw_data as usize;
        if size == 0 {
            continue;
        }
        let end = pointer.checked_add(size).ok_or(PeError::OutOfBounds("section"))?;
        if end > pe.len() {
            return Err(PeError::OutOfBounds("section"));
        }
        raw.push(pointer..end);
    }
    raw.sort_by_key(|r| r.start);
    let mut summed = size_of_headers;
    for r in raw {
        summed += r.len();
        hashed.push(r);
    }
    let cert_size = certificates.as_ref().map_or(0, |c| c.len());
    if pe.len() > summed + cert_size {
        hashed.push(summed..pe.len() - cert_size);
    }
    Ok(Layout { hashed, certificates })
}

/// The Authenticode digest of `pe` with `algorithm`.
pub fn digest(pe: &[u8], layout: &Layout, algorithm: HashAlgorithm) -> Vec<u8> {
    let mut h = algorithm.hasher();
    for r in &layout.hashed {
        h.update(&pe[r.clone()]);
    }
    h.finish()
}

/// The PKCS#7 SignedData blobs in the certificate table (WIN_CERTIFICATE
/// entries of revision 2.0 and type PKCS_SIGNED_DATA; other types are
/// skipped, as edk2 does).
pub fn signatures<'a>(pe: &'a [u8], layout: &Layout) -> Result<Vec<&'a [u8]>, PeError> {
    let Some(table) = layout.certificates.clone() else {
        return Ok(Vec::new());
    };
    let table = &pe[table];
    let mut found = Vec::new();
    let mut at = 0usize;
    while at < table.len() {
        let length = u32_at(table, at).map_err(|_| PeError::BadCertificateTable)? as usize;
        let revision = u16_at(table, at + 4).map_err(|_| PeError::BadCertificateTable)?;
        let kind = u16_at(table, at + 6).map_err(|_| PeError::BadCertificateTable)?;
        if length <= 8 || at + length > table.len() {
            return Err(PeError::BadCertificateTable);
        }
        if revision == WIN_CERT_REVISION_2_0 && kind == WIN_CERT_TYPE_PKCS_SIGNED_DATA {
            found.push(&table[at + 8..at + length]);
        }
        at = (at + length + 7) & !7;
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A PE32+ image: 0x200 bytes of headers, one section of 0x200 bytes,
    /// and optionally a certificate table.
    pub(crate) fn tiny_pe(cert: Option<&[u8]>) -> Vec<u8> {
        let mut pe = alloc::vec![0u8; 0x400];
        pe[0..2].copy_from_slice(b"MZ");
        pe[0x3c..0x40].copy_from_slice(&0x80u32.to_le_bytes());
        pe[0x80..0x84].copy_from_slice(b"PE\0\0");
        let coff = 0x84;
        pe[coff..coff + 2].copy_from_slice(&0x8664u16.to_le_bytes());
        pe[coff + 2..coff + 4].copy_from_slice(&1u16.to_le_bytes());
        pe[coff + 16..coff + 18].copy_from_slice(&240u16.to_le_bytes());
        let opt = coff + 20;
        pe[opt..opt + 2].copy_from_slice(&0x20bu16.to_le_bytes());
        pe[opt + 60..opt + 64].copy_from_slice(&0x200u32.to_le_bytes());
        pe[opt + 108..opt + 112].copy_from_slice(&16u32.to_le_bytes());
        let s = opt + 240;
        pe[s..s + 5].copy_from_slice(b".text");
        pe[s + 16..s + 20].copy_from_slice(&0x200u32.to_le_bytes());
        pe[s + 20..s + 24].copy_from_slice(&0x200u32.to_le_bytes());
        for (i, b) in pe[0x200..0x400].iter_mut().enumerate() {
            *b = i as u8;
        }
        if let Some(cert) = cert {
            let entry = opt + 112 + 32;
            let len = 8 + cert.len();
            pe[entry..entry + 4].copy_from_slice(&0x400u32.to_le_bytes());
            pe[entry + 4..entry + 8].copy_from_slice(&(((len + 7) & !7) as u32).to_le_bytes());
            pe.extend_from_slice(&(len as u32).to_le_bytes());
            pe.extend_from_slice(&0x0200u16.to_le_bytes());
            pe.extend_from_slice(&0x0002u16.to_le_bytes());
            pe.extend_from_slice(cert);
            while !pe.len().is_multiple_of(8) {
                pe.push(0);
            }
        }
        pe
    }

    #[test]
    fn excludes_checksum_security_entry_and_certificates() {
        let plain = tiny_pe(None);
        let signed = tiny_pe(Some(b"signature"));
        let a = digest(&plain, &layout(&plain).unwrap(), HashAlgorithm::Sha256);
        let l = layout(&signed).unwrap();
        assert_eq!(a, digest(&signed, &l, HashAlgorithm::Sha256));
        assert_eq!(signatures(&signed, &l).unwrap(), alloc::vec![&b"signature"[..]]);
        let mut other = plain.clone();
        other[0x84 + 20 + 64] = 0x55; // the checksum
        assert_eq!(a, digest(&other, &layout(&other).unwrap(), HashAlgorithm::Sha256));
        other[0x300] ^= 1; // section data
        assert_ne!(a, digest(&other, &layout(&other).unwrap(), HashAlgorithm::Sha256));
    }

    #[test]
    fn trailing_data_is_hashed() {
        let plain = tiny_pe(None);
        let mut longer = plain.clone();
        longer.extend_from_slice(&[1, 2, 3]);
        let l = layout(&longer).unwrap();
        assert_eq!(l.hashed.last().unwrap(), &(0x400..0x403));
    }

    #[test]
    fn malformed_headers_are_errors() {
        assert_eq!(layout(b"MZ"), Err(PeError::NotPe));
        let mut pe = tiny_pe(None);
        pe[0x84 + 20 + 240 + 20..0x84 + 20 + 240 + 24].copy_from_slice(&0xffff_ff00u32.to_le_bytes());
        assert_eq!(layout(&pe), Err(PeError::OutOfBounds("section")));
        let mut pe = tiny_pe(Some(b"x"));
        pe[0x400..0x404].copy_from_slice(&4u32.to_le_bytes());
        assert_eq!(
            signatures(&pe, &layout(&pe).unwrap()),
            Err(PeError::BadCertificateTable)
        );
    }
}
