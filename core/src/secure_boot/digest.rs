//! The hash algorithms Secure Boot meets, over RustCrypto's `sha1` and `sha2`.
#![forbid(unsafe_code)]

use alloc::vec::Vec;
use sha2::Digest;

/// A hash algorithm of Authenticode digests, signature-list entries and
/// PKCS#7 signers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum HashAlgorithm {
    /// SHA-1 (20-byte digests; old signatures and dbx entries).
    Sha1,
    /// SHA-256 (32-byte digests; what current signers use).
    Sha256,
    /// SHA-384 (48-byte digests).
    Sha384,
    /// SHA-512 (64-byte digests).
    Sha512,
}

/// The DER contents of the algorithms' object identifiers.
const OID_SHA1: &[u8] = &[0x2b, 0x0e, 0x03, 0x02, 0x1a];
const OID_SHA256: &[u8] = &[0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01];
const OID_SHA384: &[u8] = &[0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x02];
const OID_SHA512: &[u8] = &[0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x03];

impl HashAlgorithm {
    /// Every algorithm, weakest first.
    pub const ALL: [HashAlgorithm; 4] = [Self::Sha1, Self::Sha256, Self::Sha384, Self::Sha512];

    /// The algorithm a digest OID names.
    pub fn from_oid(oid: &[u8]) -> Option<HashAlgorithm> {
        match oid {
            OID_SHA1 => Some(Self::Sha1),
            OID_SHA256 => Some(Self::Sha256),
            OID_SHA384 => Some(Self::Sha384),
            OID_SHA512 => Some(Self::Sha512),
            _ => None,
        }
    }

    /// The length in bytes of the algorithm's digests.
    pub fn digest_len(self) -> usize {
        match self {
            Self::Sha1 => 20,
            Self::Sha256 => 32,
            Self::Sha384 => 48,
            Self::Sha512 => 64,
        }
    }

    /// The algorithm's name as written in logs (`SHA-256`).
    pub fn name(self) -> &'static str {
        match self {
            Self::Sha1 => "SHA-1",
            Self::Sha256 => "SHA-256",
            Self::Sha384 => "SHA-384",
            Self::Sha512 => "SHA-512",
        }
    }

    /// A new running hash of the algorithm.
    pub fn hasher(self) -> Hasher {
        match self {
            Self::Sha1 => Hasher::Sha1(sha1::Sha1::new()),
            Self::Sha256 => Hasher::Sha256(sha2::Sha256::new()),
            Self::Sha384 => Hasher::Sha384(sha2::Sha384::new()),
            Self::Sha512 => Hasher::Sha512(sha2::Sha512::new()),
        }
    }

    /// The digest of `data` in one call.
    pub fn hash(self, data: &[u8]) -> Vec<u8> {
        let mut h = self.hasher();
        h.update(data);
        h.finish()
    }
}

/// A running hash of one of the algorithms.
pub enum Hasher {
    /// A running SHA-1.
    Sha1(sha1::Sha1),
    /// A running SHA-256.
    Sha256(sha2::Sha256),
    /// A running SHA-384.
    Sha384(sha2::Sha384),
    /// A running SHA-512.
    Sha512(sha2::Sha512),
}

impl Hasher {
    /// Feeds `data` to the hash.
    pub fn update(&mut self, data: &[u8]) {
        match self {
            Hasher::Sha1(h) => h.update(data),
            Hasher::Sha256(h) => h.update(data),
            Hasher::Sha384(h) => h.update(data),
            Hasher::Sha512(h) => h.update(data),
        }
    }

    /// Ends the hash and returns the digest.
    pub fn finish(self) -> Vec<u8> {
        match self {
            Hasher::Sha1(h) => h.finalize().to_vec(),
            Hasher::Sha256(h) => h.finalize().to_vec(),
            Hasher::Sha384(h) => h.finalize().to_vec(),
            Hasher::Sha512(h) => h.finalize().to_vec(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_answers() {
        // FIPS 180-2 "abc" vectors (first bytes).
        assert_eq!(&HashAlgorithm::Sha256.hash(b"abc")[..4], &[0xba, 0x78, 0x16, 0xbf]);
        assert_eq!(&HashAlgorithm::Sha1.hash(b"abc")[..4], &[0xa9, 0x99, 0x3e, 0x36]);
        assert_eq!(&HashAlgorithm::Sha384.hash(b"abc")[..4], &[0xcb, 0x00, 0x75, 0x3f]);
        assert_eq!(&HashAlgorithm::Sha512.hash(b"abc")[..4], &[0xdd, 0xaf, 0x35, 0xa1]);
        for a in HashAlgorithm::ALL {
            assert_eq!(a.hash(b"").len(), a.digest_len());
        }
    }
}
