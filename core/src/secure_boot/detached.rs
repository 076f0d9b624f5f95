//! PKCS#7 SignedData over content that travels beside it (RFC 2315 §9,
//! "external signatures"): what an EFI_VARIABLE_AUTHENTICATION_2 carries
//! (UEFI 2.10 §8.2.2). The signer checks are [`pkcs7`]'s; this module finds
//! the signers in either of the two encodings met in practice:
//!
//! - a bare `SignedData` SEQUENCE, as the specification asks and efitools'
//!   `sign-efi-sig-list` writes;
//! - a `ContentInfo` wrapping it (OID signedData, `[0]`), as `openssl cms`
//!   and some edk2-era tools write. edk2 accepts both, and so does this.
#![forbid(unsafe_code)]

use super::asn1::{self, Tlv};
use super::digest::HashAlgorithm;
use super::pkcs7::{self, Certificate, SignatureError};
use alloc::vec::Vec;

const OID_SIGNED_DATA: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x02];

/// A verified detached signature: every certificate it carries (for chains)
/// and, for each signer, its certificate and digest algorithm.
#[derive(Debug)]
pub struct Detached<'a> {
    /// The certificates of the SignedData's `certificates` field.
    pub certificates: Vec<Certificate<'a>>,
    /// Each signer's certificate and the digest algorithm it signed with.
    pub signers: Vec<(Certificate<'a>, HashAlgorithm)>,
}

/// The SignedData SEQUENCE in `blob`, unwrapping a ContentInfo if there is one.
fn signed_data(blob: &[u8]) -> Result<Tlv<'_>, SignatureError> {
    let top = Tlv::first(blob, "SignedData")?.expect(asn1::SEQUENCE, "SignedData")?;
    let mut fields = top.children("SignedData")?;
    let first = fields.any("SignedData")?;
    if first.tag != asn1::OID {
        return Ok(top);
    }
    if first.value != OID_SIGNED_DATA {
        return Err(SignatureError::NotAuthenticode);
    }
    let wrapper = fields.next(asn1::CONTEXT_0, "SignedData")?;
    Ok(wrapper.children("SignedData")?.next(asn1::SEQUENCE, "SignedData")?)
}

/// Verifies every signer of the SignedData in `blob` over `content`. A signer
/// whose signature does not verify makes the whole signature invalid; a
/// SignedData without signers is not a signature.
pub fn verify<'a>(blob: &'a [u8], content: &[u8]) -> Result<Detached<'a>, SignatureError> {
    let signed = signed_data(blob)?;
    let mut s = signed.children("SignedData")?;
    s.next(asn1::INTEGER, "SignedData version")?;
    s.next(asn1::SET, "digest algorithms")?;
    // Detached: the content info names id-data and carries nothing. Were it
    // to carry content, the signers are still checked against `content`.
    s.next(asn1::SEQUENCE, "content info")?;
    let certificates = pkcs7::certificates_and_crls(&mut s)?;
    let signer_infos = s.next(asn1::SET, "signer infos")?;
    let mut signers = Vec::new();
    for si in signer_infos.children("signer infos")? {
        let si = si?.expect(asn1::SEQUENCE, "SignerInfo")?;
        let hash = signer_digest(&si)?;
        let signer = pkcs7::verify_signer(&si, content, &certificates)?;
        signers.push((signer.certificate, hash));
    }
    if signers.is_empty() {
        return Err(SignatureError::NotAuthenticode);
    }
    Ok(Detached { certificates, signers })
}

/// A SignerInfo's digest algorithm (its third field).
fn signer_digest(si: &Tlv<'_>) -> Result<HashAlgorithm, SignatureError> {
    let mut f = si.children("SignerInfo")?;
    f.next(asn1::INTEGER, "SignerInfo version")?;
    f.any("signer identifier")?;
    let alg = f.next(asn1::SEQUENCE, "signer digest algorithm")?;
    let oid = alg.children("AlgorithmIdentifier")?.next(asn1::OID, "algorithm OID")?;
    HashAlgorithm::from_oid(oid.value).ok_or(SignatureError::UnsupportedAlgorithm)
}
