//! EFI_SIGNATURE_LIST (UEFI 2.10 §32.4.1): the format of PK, KEK, db and dbx.
//!
//! A variable holds lists back to back; each list has a type GUID, its size,
//! a type-specific header (empty for every type the firmware uses) and
//! signatures of one fixed size, each an owner GUID and the data (a hash or a
//! DER certificate).
#![forbid(unsafe_code)]

use super::digest::HashAlgorithm;
use alloc::vec::Vec;
use core::fmt;
use r_efi::efi::Guid;

// The signature types' GUIDs, EFI_CERT_*_GUID of UEFI 2.10 §32.4.1.

/// A SHA-1 digest of an image (20 bytes).
pub const CERT_SHA1: Guid = Guid::from_fields(
    0x826c_a512,
    0xcf10,
    0x4ac9,
    0xb1,
    0x87,
    &[0xbe, 0x01, 0x49, 0x66, 0x31, 0xbd],
);
/// A SHA-256 digest of an image (32 bytes).
pub const CERT_SHA256: Guid = Guid::from_fields(
    0xc1c4_1626,
    0x504c,
    0x4092,
    0xac,
    0xa9,
    &[0x41, 0xf9, 0x36, 0x93, 0x43, 0x28],
);
/// A SHA-384 digest of an image (48 bytes).
pub const CERT_SHA384: Guid = Guid::from_fields(
    0xff3e_5307,
    0x9fd0,
    0x48c9,
    0x85,
    0xf1,
    &[0x8a, 0xd5, 0x6c, 0x70, 0x1e, 0x01],
);
/// A SHA-512 digest of an image (64 bytes).
pub const CERT_SHA512: Guid = Guid::from_fields(
    0x093e_0fae,
    0xa6c4,
    0x4f50,
    0x9f,
    0x1b,
    &[0xd4, 0x1e, 0x2b, 0x89, 0xc1, 0x9a],
);
/// A DER X.509 certificate (any size).
pub const CERT_X509: Guid = Guid::from_fields(
    0xa5c0_59a1,
    0x94e4,
    0x4aa7,
    0x87,
    0xb5,
    &[0xab, 0x15, 0x5c, 0x2b, 0xf0, 0x72],
);
/// The SHA-256 of a certificate's `tbsCertificate` (dbx only), followed by a
/// revocation time.
pub const CERT_X509_SHA256: Guid = Guid::from_fields(
    0x3bd2_a492,
    0x96c0,
    0x4079,
    0xb4,
    0x20,
    &[0xfc, 0xf9, 0x8e, 0xf1, 0x03, 0xed],
);
/// The SHA-384 of a certificate's `tbsCertificate` (dbx only), followed by a
/// revocation time.
pub const CERT_X509_SHA384: Guid = Guid::from_fields(
    0x7076_876e,
    0x80c2,
    0x4ee6,
    0xaa,
    0xd2,
    &[0x28, 0xb3, 0x49, 0xa6, 0x86, 0x5b],
);
/// The SHA-512 of a certificate's `tbsCertificate` (dbx only), followed by a
/// revocation time.
pub const CERT_X509_SHA512: Guid = Guid::from_fields(
    0x446d_bf63,
    0x2502,
    0x4cda,
    0xbc,
    0xfa,
    &[0x24, 0x65, 0xd2, 0xb0, 0xfe, 0x9d],
);

const LIST_HEADER: usize = 28;
const OWNER: usize = 16;

/// Why a variable's bytes are not signature lists.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EslError {
    /// A list header does not fit, or its size runs past the data (`offset`).
    Truncated {
        /// Where the list starts in the variable.
        offset: usize,
    },
    /// A list's sizes do not divide into whole signatures.
    BadSizes {
        /// Where the list starts in the variable.
        offset: usize,
    },
    /// A hash or certificate-hash list whose signature size is not its
    /// type's (`offset` of the list).
    WrongSignatureSize {
        /// Where the list starts in the variable.
        offset: usize,
    },
}

impl fmt::Display for EslError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EslError::Truncated { offset } => write!(f, "signature list at {offset} is truncated"),
            EslError::BadSizes { offset } => write!(f, "signature list at {offset} has inconsistent sizes"),
            EslError::WrongSignatureSize { offset } => {
                write!(
                    f,
                    "signature list at {offset} has the wrong signature size for its type"
                )
            }
        }
    }
}

/// What one signature stands for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Entry<'a> {
    /// An image digest.
    Hash(HashAlgorithm, &'a [u8]),
    /// A DER X.509 certificate.
    X509(&'a [u8]),
    /// The hash of a certificate's `tbsCertificate` (revocation time ignored).
    X509Hash(HashAlgorithm, &'a [u8]),
    /// A type the firmware does not use (RSA-2048 keys, ...): kept, never matched.
    Other,
}

/// One signature: its owner and what it stands for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Signature<'a> {
    /// The SignatureOwner GUID (who added the entry).
    pub owner: Guid,
    /// The hash or certificate the entry holds.
    pub entry: Entry<'a>,
}

fn guid_at(b: &[u8]) -> Guid {
    let mut g = [0u8; 16];
    g.copy_from_slice(&b[..16]);
    Guid::from_bytes(&g)
}

fn u32_at(b: &[u8], at: usize) -> usize {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]]) as usize
}

/// The size a signature of `kind` must have, when the type fixes it.
fn fixed_size(kind: &Guid) -> Option<usize> {
    let data = match *kind {
        CERT_SHA1 => 20,
        CERT_SHA256 => 32,
        CERT_SHA384 => 48,
        CERT_SHA512 => 64,
        CERT_X509_SHA256 => 32 + 16,
        CERT_X509_SHA384 => 48 + 16,
        CERT_X509_SHA512 => 64 + 16,
        _ => return None,
    };
    Some(OWNER + data)
}

fn entry<'a>(kind: &Guid, data: &'a [u8]) -> Entry<'a> {
    match *kind {
        CERT_SHA1 => Entry::Hash(HashAlgorithm::Sha1, data),
        CERT_SHA256 => Entry::Hash(HashAlgorithm::Sha256, data),
        CERT_SHA384 => Entry::Hash(HashAlgorithm::Sha384, data),
        CERT_SHA512 => Entry::Hash(HashAlgorithm::Sha512, data),
        CERT_X509 => Entry::X509(data),
        CERT_X509_SHA256 => Entry::X509Hash(HashAlgorithm::Sha256, &data[..32]),
        CERT_X509_SHA384 => Entry::X509Hash(HashAlgorithm::Sha384, &data[..48]),
        CERT_X509_SHA512 => Entry::X509Hash(HashAlgorithm::Sha512, &data[..64]),
        _ => Entry::Other,
    }
}

/// Every signature in `bytes` (zero or more lists), checked whole first: one
/// malformed list makes the variable malformed.
pub fn parse(bytes: &[u8]) -> Result<Vec<Signature<'_>>, EslError> {
    let mut out = Vec::new();
    let mut at = 0;
    while at < bytes.len() {
        let rest = &bytes[at..];
        if rest.len() < LIST_HEADER {
            return Err(EslError::Truncated { offset: at });
        }
        let kind = guid_at(rest);
        let list_size = u32_at(rest, 16);
        let header_size = u32_at(rest, 20);
        let sig_size = u32_at(rest, 24);
        if list_size > rest.len() || list_size < LIST_HEADER {
            return Err(EslError::Truncated { offset: at });
        }
        let body = list_size - LIST_HEADER;
        if sig_size <= OWNER || header_size > body || !(body - header_size).is_multiple_of(sig_size) {
            return Err(EslError::BadSizes { offset: at });
        }
        if fixed_size(&kind).is_some_and(|size| size != sig_size) {
            return Err(EslError::WrongSignatureSize { offset: at });
        }
        for sig in rest[LIST_HEADER + header_size..list_size].chunks_exact(sig_size) {
            out.push(Signature {
                owner: guid_at(sig),
                entry: entry(&kind, &sig[OWNER..]),
            });
        }
        at += list_size;
    }
    Ok(out)
}

/// The signatures of every list of type `kind` that `bytes` holds among other
/// data (a variable store inside a firmware volume, such as the OVMF variables
/// the tests take Microsoft's certificates from): each place `kind`'s GUID
/// stands is read as the start of one list, and what does not parse as a list
/// is passed over.
pub fn scan<'a>(bytes: &'a [u8], kind: &Guid) -> Vec<Signature<'a>> {
    let mut found = Vec::new();
    let mut at = 0;
    while let Some(pos) = bytes[at..].windows(16).position(|w| w == kind.as_bytes()) {
        let start = at + pos;
        at = start + 16;
        let Some(size) = bytes.get(start + 16..start + 20) else {
            break;
        };
        let end = start.saturating_add(u32_at(size, 0));
        if let Some(Ok(signatures)) = bytes.get(start..end).map(parse) {
            found.extend(signatures);
        }
    }
    found
}

/// One list of one signature: `kind`, `owner`, `data`.
pub fn build(kind: &Guid, owner: &Guid, data: &[u8]) -> Vec<u8> {
    let sig_size = OWNER + data.len();
    let mut out = Vec::with_capacity(LIST_HEADER + sig_size);
    out.extend_from_slice(kind.as_bytes());
    out.extend_from_slice(&((LIST_HEADER + sig_size) as u32).to_le_bytes());
    out.extend_from_slice(&0u32.to_le_bytes());
    out.extend_from_slice(&(sig_size as u32).to_le_bytes());
    out.extend_from_slice(owner.as_bytes());
    out.extend_from_slice(data);
    out
}

/// The list type for an image hash of `algorithm`.
pub fn hash_type(algorithm: HashAlgorithm) -> Guid {
    match algorithm {
        HashAlgorithm::Sha1 => CERT_SHA1,
        HashAlgorithm::Sha256 => CERT_SHA256,
        HashAlgorithm::Sha384 => CERT_SHA384,
        HashAlgorithm::Sha512 => CERT_SHA512,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const OWNER_GUID: Guid = Guid::from_fields(1, 2, 3, 4, 5, &[6; 6]);

    #[test]
    fn scan_finds_the_lists_of_one_type_among_other_bytes() {
        let mut bytes = std::vec![0xa5; 7];
        bytes.extend(build(&CERT_X509, &OWNER_GUID, b"first"));
        bytes.extend(build(&CERT_SHA256, &OWNER_GUID, &[7; 32]));
        // The type's GUID with a size running past the end: not a list.
        bytes.extend(CERT_X509.as_bytes());
        bytes.extend(0x1000u32.to_le_bytes());
        bytes.extend(build(&CERT_X509, &OWNER_GUID, b"second"));
        let found: Vec<Entry<'_>> = scan(&bytes, &CERT_X509).into_iter().map(|s| s.entry).collect();
        assert_eq!(found, [Entry::X509(b"first"), Entry::X509(b"second")]);
        assert!(scan(&bytes, &CERT_SHA1).is_empty());
        // The GUID at the very end, with no room for a size.
        assert!(scan(CERT_X509.as_bytes(), &CERT_X509).is_empty());
    }

    #[test]
    fn round_trips_several_lists() {
        let mut bytes = build(&CERT_SHA256, &OWNER_GUID, &[7; 32]);
        bytes.extend(build(&CERT_X509, &OWNER_GUID, b"0\x03cert"));
        let sigs = parse(&bytes).unwrap();
        assert_eq!(sigs.len(), 2);
        assert_eq!(sigs[0].entry, Entry::Hash(HashAlgorithm::Sha256, &[7; 32]));
        assert_eq!(sigs[1].entry, Entry::X509(b"0\x03cert"));
        assert_eq!(sigs[1].owner, OWNER_GUID);
        assert_eq!(parse(&[]).unwrap(), alloc::vec![]);
    }

    #[test]
    fn a_list_of_two_hashes() {
        let mut bytes = build(&CERT_SHA256, &OWNER_GUID, &[1; 32]);
        bytes[16..20].copy_from_slice(&(28u32 + 96).to_le_bytes());
        bytes.extend_from_slice(OWNER_GUID.as_bytes());
        bytes.extend_from_slice(&[2; 32]);
        let sigs = parse(&bytes).unwrap();
        assert_eq!(sigs[1].entry, Entry::Hash(HashAlgorithm::Sha256, &[2; 32]));
    }

    #[test]
    fn malformed_lists_are_errors_not_panics() {
        let good = build(&CERT_SHA256, &OWNER_GUID, &[7; 32]);
        assert_eq!(parse(&good[..27]), Err(EslError::Truncated { offset: 0 }));
        assert_eq!(parse(&good[..40]), Err(EslError::Truncated { offset: 0 }));
        let mut bad = good.clone();
        bad[24..28].copy_from_slice(&0u32.to_le_bytes());
        assert_eq!(parse(&bad), Err(EslError::BadSizes { offset: 0 }));
        let mut bad = good.clone();
        bad[20..24].copy_from_slice(&u32::MAX.to_le_bytes());
        assert_eq!(parse(&bad), Err(EslError::BadSizes { offset: 0 }));
        let short = build(&CERT_SHA256, &OWNER_GUID, &[7; 20]);
        assert_eq!(parse(&short), Err(EslError::WrongSignatureSize { offset: 0 }));
        let mut two = good.clone();
        two.extend_from_slice(&good[..30]);
        assert_eq!(parse(&two), Err(EslError::Truncated { offset: good.len() }));
    }
}
