//! The Secure Boot decision for one image (UEFI 2.10 §32.5): refused when its
//! hash, or a certificate of a signature, is in dbx; allowed when a
//! signature's certificate chain reaches a certificate in db (any certificate
//! of the chain may be the one in db, an intermediate too, as edk2 and shim
//! accept) or when its hash is in db; refused otherwise.
#![forbid(unsafe_code)]

use super::authenticode::{self, PeError};
use super::digest::HashAlgorithm;
use super::pkcs7::{self, Certificate, SignatureError};
use super::signature_list::{Entry, Signature};
use alloc::vec::Vec;
use core::fmt;

/// Why an image may not run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// Its headers cannot be hashed.
    NotPe(PeError),
    /// No signature, and its hash is not in db.
    Unsigned,
    /// Its signatures verify, but none chains to a certificate in db.
    UnknownKey,
    /// A signature vouches for another digest: the image changed after signing.
    Modified,
    /// Its hash is in dbx.
    HashRevoked,
    /// A certificate of one of its signatures is in dbx.
    CertificateRevoked,
    /// A signature that cannot be read or does not verify.
    MalformedSignature(SignatureError),
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refusal::NotPe(e) => write!(f, "cannot be hashed: {e}"),
            Refusal::Unsigned => write!(f, "unsigned, and its hash is not in db"),
            Refusal::UnknownKey => write!(f, "signed by an unknown key (no certificate in db)"),
            Refusal::Modified => write!(f, "its signature does not match its contents (modified after signing)"),
            Refusal::HashRevoked => write!(f, "revoked by dbx (its hash)"),
            Refusal::CertificateRevoked => write!(f, "revoked by dbx (a signing certificate)"),
            Refusal::MalformedSignature(e) => write!(f, "malformed signature: {e}"),
        }
    }
}

/// What allowed an image.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Approval {
    /// A signature chaining to a db certificate.
    Signature,
    /// Its hash in db.
    Hash(HashAlgorithm),
}

/// The image digests, computed once per algorithm.
struct Digests<'a> {
    pe: &'a [u8],
    layout: &'a authenticode::Layout,
    computed: Vec<(HashAlgorithm, Vec<u8>)>,
}

impl Digests<'_> {
    fn get(&mut self, algorithm: HashAlgorithm) -> &[u8] {
        let at = match self.computed.iter().position(|(a, _)| *a == algorithm) {
            Some(at) => at,
            None => {
                let d = authenticode::digest(self.pe, self.layout, algorithm);
                self.computed.push((algorithm, d));
                self.computed.len() - 1
            }
        };
        &self.computed[at].1
    }
}

fn hash_listed(list: &[Signature<'_>], digests: &mut Digests<'_>) -> Option<HashAlgorithm> {
    list.iter().find_map(|s| match s.entry {
        Entry::Hash(a, h) if digests.get(a) == h => Some(a),
        _ => None,
    })
}

/// Whether `cert` itself is in `list`: its DER, or the hash of its
/// tbsCertificate. No signature check: cheap.
pub(crate) fn certificate_named(list: &[Signature<'_>], cert: &Certificate<'_>) -> bool {
    list.iter().any(|s| match s.entry {
        Entry::X509(der) => der == cert.der,
        Entry::X509Hash(a, h) => a.hash(cert.tbs) == h,
        _ => false,
    })
}

/// Whether a certificate in `list` issued `cert` (names, then the RSA
/// signature).
fn issued_by_listed(list: &[Signature<'_>], cert: &Certificate<'_>) -> bool {
    list.iter().any(|s| match s.entry {
        Entry::X509(der) => Certificate::parse(der).is_ok_and(|listed| cert.is_signed_by(&listed)),
        _ => false,
    })
}

/// Whether any certificate of `chain` is in `list` or issued by one there.
/// Exact matches are looked for first: each issuer check costs an RSA
/// verification.
pub(crate) fn chain_listed(list: &[Signature<'_>], chain: &[Certificate<'_>]) -> bool {
    chain.iter().any(|c| certificate_named(list, c)) || chain.iter().any(|c| issued_by_listed(list, c))
}

/// The chain from `leaf` up through the SignedData's certificates.
pub(crate) fn chain<'a>(leaf: Certificate<'a>, pool: &[Certificate<'a>]) -> Vec<Certificate<'a>> {
    let mut chain = alloc::vec![leaf];
    while chain.len() < 8 {
        let last = chain[chain.len() - 1];
        if last.issuer == last.subject {
            break;
        }
        let next = pool
            .iter()
            .find(|c| !chain.iter().any(|d| d.der == c.der) && last.is_signed_by(c));
        match next {
            Some(c) => chain.push(*c),
            None => break,
        }
    }
    chain
}

/// Decides whether `pe` may run under `db` and `dbx`.
pub fn check(pe: &[u8], db: &[Signature<'_>], dbx: &[Signature<'_>]) -> Result<Approval, Refusal> {
    let layout = authenticode::layout(pe).map_err(Refusal::NotPe)?;
    let blobs = authenticode::signatures(pe, &layout).map_err(Refusal::NotPe)?;
    let mut digests = Digests {
        pe,
        layout: &layout,
        computed: Vec::new(),
    };
    if hash_listed(dbx, &mut digests).is_some() {
        return Err(Refusal::HashRevoked);
    }
    let mut trusted = false;
    let mut verified_untrusted = false;
    let mut modified = false;
    let mut malformed = None;
    for blob in &blobs {
        if trusted {
            // One trusted signature is enough; the others can still revoke
            // the image through dbx. Their certificates are compared with
            // dbx without verifying their signatures, which can only refuse
            // more.
            match pkcs7::certificates(blob) {
                Ok(certs)
                    if certs
                        .iter()
                        .any(|c| certificate_named(dbx, c) || issued_by_listed(dbx, c)) =>
                {
                    return Err(Refusal::CertificateRevoked);
                }
                _ => continue,
            }
        }
        let signature = match pkcs7::verify_signed_data(blob) {
            Ok(s) => s,
            Err(e) => {
                malformed.get_or_insert(e);
                continue;
            }
        };
        if digests.get(signature.digest_algorithm) != signature.image_digest {
            modified = true;
            continue;
        }
        for signer in &signature.signers {
            let chain = chain(signer.certificate, &signature.certificates);
            if chain_listed(dbx, &chain) {
                return Err(Refusal::CertificateRevoked);
            }
            if chain_listed(db, &chain) {
                trusted = true;
            } else {
                verified_untrusted = true;
            }
        }
    }
    if trusted {
        return Ok(Approval::Signature);
    }
    if let Some(a) = hash_listed(db, &mut digests) {
        return Ok(Approval::Hash(a));
    }
    Err(if blobs.is_empty() {
        Refusal::Unsigned
    } else if verified_untrusted {
        Refusal::UnknownKey
    } else if modified {
        Refusal::Modified
    } else {
        Refusal::MalformedSignature(malformed.unwrap_or(SignatureError::NotAuthenticode))
    })
}
