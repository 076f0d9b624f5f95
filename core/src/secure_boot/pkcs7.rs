//! Authenticode's PKCS#7 SignedData (RFC 2315, RFC 5652) and the X.509
//! certificates in it (RFC 5280): just the fields the signature checks use.
//!
//! Verification (RSA PKCS#1 v1.5 with SHA-1/256/384/512) is the `rsa` crate's;
//! this module finds what is signed and by whom. Certificates' validity
//! periods and key usages are not checked: as in edk2 and shim, a Secure Boot
//! signature stays valid after its certificate expires.
#![forbid(unsafe_code)]

use super::asn1::{self, Asn1Error, Children, Tlv};
use super::digest::HashAlgorithm;
use alloc::vec::Vec;
use core::fmt;
use rsa::{BigUint, Pkcs1v15Sign, RsaPublicKey};

const OID_SIGNED_DATA: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x02];
/// SPC_INDIRECT_DATA_OBJID, 1.3.6.1.4.1.311.2.1.4.
const OID_SPC_INDIRECT_DATA: &[u8] = &[0x2b, 0x06, 0x01, 0x04, 0x01, 0x82, 0x37, 0x02, 0x01, 0x04];
const OID_MESSAGE_DIGEST: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x04];
/// 1.2.840.113549.1.1.x: rsaEncryption (1) and the RSA-with-hash algorithms.
const OID_PKCS1_PREFIX: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01];

/// Why a signature does not verify.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SignatureError {
    /// The DER is not the structure it should be.
    Malformed(Asn1Error),
    /// A hash or signature algorithm the firmware does not implement.
    UnsupportedAlgorithm,
    /// SignedData without signers, or signed content that is not Authenticode's.
    NotAuthenticode,
    /// No certificate in the SignedData is the signer's.
    SignerCertificateMissing,
    /// The signed attributes' message digest is not the content's.
    ContentDigestMismatch,
    /// The RSA signature does not verify with the certificate's key.
    BadSignature,
}

impl From<Asn1Error> for SignatureError {
    fn from(e: Asn1Error) -> Self {
        SignatureError::Malformed(e)
    }
}

impl fmt::Display for SignatureError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SignatureError::Malformed(Asn1Error(what)) => write!(f, "malformed DER in {what}"),
            SignatureError::UnsupportedAlgorithm => write!(f, "unsupported algorithm"),
            SignatureError::NotAuthenticode => write!(f, "not an Authenticode signature"),
            SignatureError::SignerCertificateMissing => write!(f, "the signer's certificate is missing"),
            SignatureError::ContentDigestMismatch => write!(f, "signed attributes do not match the content"),
            SignatureError::BadSignature => write!(f, "the RSA signature does not verify"),
        }
    }
}

/// The algorithm an AlgorithmIdentifier SEQUENCE names: a digest OID, or an
/// RSA one (`rsaEncryption` gives `None` for the hash: the signer's digest
/// algorithm applies).
fn digest_algorithm(alg: &Tlv<'_>) -> Result<HashAlgorithm, SignatureError> {
    let oid = alg.children("AlgorithmIdentifier")?.next(asn1::OID, "algorithm OID")?;
    HashAlgorithm::from_oid(oid.value).ok_or(SignatureError::UnsupportedAlgorithm)
}

/// For a signature algorithm: `Ok(None)` for plain rsaEncryption, the hash for
/// sha*WithRSAEncryption.
fn rsa_signature_algorithm(alg: &Tlv<'_>) -> Result<Option<HashAlgorithm>, SignatureError> {
    let oid = alg.children("AlgorithmIdentifier")?.next(asn1::OID, "algorithm OID")?;
    let Some(last) = oid.value.strip_prefix(OID_PKCS1_PREFIX) else {
        return Err(SignatureError::UnsupportedAlgorithm);
    };
    match last {
        [1] => Ok(None),
        [5] => Ok(Some(HashAlgorithm::Sha1)),
        [11] => Ok(Some(HashAlgorithm::Sha256)),
        [12] => Ok(Some(HashAlgorithm::Sha384)),
        [13] => Ok(Some(HashAlgorithm::Sha512)),
        _ => Err(SignatureError::UnsupportedAlgorithm),
    }
}

/// Checks an RSA PKCS#1 v1.5 signature `sig` over `message` hashed with
/// `hash`, with the RSA key in a SubjectPublicKeyInfo.
fn rsa_verify(spki: &Tlv<'_>, hash: HashAlgorithm, message: &[u8], sig: &[u8]) -> Result<(), SignatureError> {
    let mut fields = spki.children("SubjectPublicKeyInfo")?;
    let alg = fields.next(asn1::SEQUENCE, "public key algorithm")?;
    if rsa_signature_algorithm(&alg)?.is_some() {
        return Err(SignatureError::UnsupportedAlgorithm);
    }
    let bits = fields.next(asn1::BIT_STRING, "public key")?;
    let Some((0, key)) = bits.value.split_first() else {
        return Err(Asn1Error("public key").into());
    };
    let key = Tlv::first(key, "RSA public key")?.expect(asn1::SEQUENCE, "RSA public key")?;
    let mut parts = key.children("RSA public key")?;
    let n = parts.next(asn1::INTEGER, "RSA modulus")?;
    let e = parts.next(asn1::INTEGER, "RSA exponent")?;
    let key = RsaPublicKey::new_with_max_size(
        BigUint::from_bytes_be(asn1::unsigned(n.value)),
        BigUint::from_bytes_be(asn1::unsigned(e.value)),
        8192,
    )
    .map_err(|_| SignatureError::UnsupportedAlgorithm)?;
    let digest = hash.hash(message);
    let scheme = match hash {
        HashAlgorithm::Sha1 => Pkcs1v15Sign::new::<sha1::Sha1>(),
        HashAlgorithm::Sha256 => Pkcs1v15Sign::new::<sha2::Sha256>(),
        HashAlgorithm::Sha384 => Pkcs1v15Sign::new::<sha2::Sha384>(),
        HashAlgorithm::Sha512 => Pkcs1v15Sign::new::<sha2::Sha512>(),
    };
    key.verify(scheme, &digest, sig)
        .map_err(|_| SignatureError::BadSignature)
}

/// An X.509 certificate, with the raw parts the checks compare.
#[derive(Clone, Copy, Debug)]
pub struct Certificate<'a> {
    /// The whole certificate (what a db X.509 entry holds).
    pub der: &'a [u8],
    /// `tbsCertificate`, what the issuer signed (and what dbx hashes).
    pub tbs: &'a [u8],
    /// The serial number's INTEGER contents.
    pub serial: &'a [u8],
    /// The issuer's Name, whole DER (compared with an issuer's `subject`).
    pub issuer: &'a [u8],
    /// The subject's Name, whole DER.
    pub subject: &'a [u8],
    spki: Tlv<'a>,
    signature_algorithm: Tlv<'a>,
    signature: &'a [u8],
}

impl<'a> Certificate<'a> {
    /// Parses the DER certificate `der` (the signature is not checked).
    pub fn parse(der: &'a [u8]) -> Result<Certificate<'a>, SignatureError> {
        let cert = Tlv::first(der, "certificate")?.expect(asn1::SEQUENCE, "certificate")?;
        let mut top = cert.children("certificate")?;
        let tbs = top.next(asn1::SEQUENCE, "tbsCertificate")?;
        let signature_algorithm = top.next(asn1::SEQUENCE, "certificate signature algorithm")?;
        let sig = top.next(asn1::BIT_STRING, "certificate signature")?;
        let Some((0, signature)) = sig.value.split_first() else {
            return Err(Asn1Error("certificate signature").into());
        };
        let mut f = tbs.children("tbsCertificate")?;
        f.optional(asn1::CONTEXT_0, "certificate version")?;
        let serial = f.next(asn1::INTEGER, "certificate serial")?.value;
        f.next(asn1::SEQUENCE, "certificate signature algorithm")?;
        let issuer = f.next(asn1::SEQUENCE, "certificate issuer")?.raw;
        f.next(asn1::SEQUENCE, "certificate validity")?;
        let subject = f.next(asn1::SEQUENCE, "certificate subject")?.raw;
        let spki = f.next(asn1::SEQUENCE, "certificate public key")?;
        Ok(Certificate {
            der: cert.raw,
            tbs: tbs.raw,
            serial,
            issuer,
            subject,
            spki,
            signature_algorithm,
            signature,
        })
    }

    /// Whether `issuer`'s key signed this certificate.
    pub fn is_signed_by(&self, issuer: &Certificate<'_>) -> bool {
        if self.issuer != issuer.subject {
            return false;
        }
        match rsa_signature_algorithm(&self.signature_algorithm) {
            Ok(Some(hash)) => rsa_verify(&issuer.spki, hash, self.tbs, self.signature).is_ok(),
            _ => false,
        }
    }
}

/// One SignerInfo, checked: the certificate that signed.
#[derive(Clone, Copy, Debug)]
pub struct Signer<'a> {
    /// The signer's certificate, whose key verified the signature.
    pub certificate: Certificate<'a>,
}

/// An Authenticode signature: the image digest it vouches for, the
/// certificates it carries and its signers (whose signatures verified).
#[derive(Debug)]
pub struct Authenticode<'a> {
    /// The algorithm of the image digest.
    pub digest_algorithm: HashAlgorithm,
    /// The image digest in SpcIndirectDataContent, to compare with the
    /// image's own.
    pub image_digest: &'a [u8],
    /// The certificates the SignedData carries (for chains).
    pub certificates: Vec<Certificate<'a>>,
    /// The signers, each verified over the signed content.
    pub signers: Vec<Signer<'a>>,
}

/// The certificates an Authenticode SignedData carries, parsed but not
/// verified (for comparisons with dbx).
pub fn certificates(blob: &[u8]) -> Result<Vec<Certificate<'_>>, SignatureError> {
    let (_, mut s) = signed_data(blob)?;
    s.next(asn1::SEQUENCE, "content info")?;
    certificate_set(&mut s)
}

/// A ContentInfo's content type and, in its SignedData, the fields after
/// the version and the digest algorithms (the content info comes next).
fn signed_data(blob: &[u8]) -> Result<(&[u8], Children<'_>), SignatureError> {
    let info = Tlv::first(blob, "ContentInfo")?.expect(asn1::SEQUENCE, "ContentInfo")?;
    let mut info = info.children("ContentInfo")?;
    let content_type = info.next(asn1::OID, "content type")?.value;
    let wrapper = info.next(asn1::CONTEXT_0, "SignedData")?;
    let signed = wrapper.children("SignedData")?.next(asn1::SEQUENCE, "SignedData")?;
    let mut s = signed.children("SignedData")?;
    s.next(asn1::INTEGER, "SignedData version")?;
    s.next(asn1::SET, "digest algorithms")?;
    Ok((content_type, s))
}

/// Parses an Authenticode SignedData (a ContentInfo; bytes after it are
/// padding) and verifies each signer's signature over the content. A signer
/// whose signature does not verify makes the whole signature invalid.
pub fn verify_signed_data(blob: &[u8]) -> Result<Authenticode<'_>, SignatureError> {
    let (content_type, mut s) = signed_data(blob)?;
    if content_type != OID_SIGNED_DATA {
        return Err(SignatureError::NotAuthenticode);
    }
    let content_info = s.next(asn1::SEQUENCE, "content info")?;
    let mut ci = content_info.children("content info")?;
    if ci.next(asn1::OID, "content type")?.value != OID_SPC_INDIRECT_DATA {
        return Err(SignatureError::NotAuthenticode);
    }
    let content = ci.next(asn1::CONTEXT_0, "SpcIndirectDataContent")?;
    let indirect = content
        .children("SpcIndirectDataContent")?
        .next(asn1::SEQUENCE, "SpcIndirectDataContent")?;
    let mut ind = indirect.children("SpcIndirectDataContent")?;
    ind.next(asn1::SEQUENCE, "SpcAttributeTypeAndOptionalValue")?;
    let digest_info = ind.next(asn1::SEQUENCE, "DigestInfo")?;
    let mut di = digest_info.children("DigestInfo")?;
    let digest_algorithm = digest_algorithm(&di.next(asn1::SEQUENCE, "DigestInfo algorithm")?)?;
    let image_digest = di.next(asn1::OCTET_STRING, "image digest")?.value;
    if image_digest.len() != digest_algorithm.digest_len() {
        return Err(Asn1Error("image digest").into());
    }
    let certificates = certificates_and_crls(&mut s)?;
    let signer_infos = s.next(asn1::SET, "signer infos")?;
    let mut signers = Vec::new();
    for si in signer_infos.children("signer infos")? {
        let si = si?.expect(asn1::SEQUENCE, "SignerInfo")?;
        signers.push(verify_signer(&si, indirect.value, &certificates)?);
    }
    if signers.is_empty() {
        return Err(SignatureError::NotAuthenticode);
    }
    Ok(Authenticode {
        digest_algorithm,
        image_digest,
        certificates,
        signers,
    })
}

/// Reads SignedData's optional certificates (\[0\]) and CRLs (\[1\]) from
/// `s`, which stands after the content info: the X.509 certificates, other
/// certificate choices (attribute certificates, ...) skipped; CRLs ignored.
pub(super) fn certificates_and_crls<'a>(s: &mut Children<'a>) -> Result<Vec<Certificate<'a>>, SignatureError> {
    let certificates = certificate_set(s)?;
    s.optional(asn1::CONTEXT_1, "CRLs")?;
    Ok(certificates)
}

/// Reads SignedData's optional certificates (\[0\]) from `s`: the X.509
/// certificates, other certificate choices skipped.
fn certificate_set<'a>(s: &mut Children<'a>) -> Result<Vec<Certificate<'a>>, SignatureError> {
    let mut certificates = Vec::new();
    if let Some(set) = s.optional(asn1::CONTEXT_0, "certificates")? {
        for c in set.children("certificates")? {
            let c = c?;
            if c.tag == asn1::SEQUENCE {
                certificates.push(Certificate::parse(c.raw)?);
            }
        }
    }
    Ok(certificates)
}

/// Verifies one SignerInfo over `content` (the contents octets of the
/// SpcIndirectDataContent, which PKCS#7 digests without its tag and length).
pub(super) fn verify_signer<'a>(
    si: &Tlv<'a>,
    content: &[u8],
    certificates: &[Certificate<'a>],
) -> Result<Signer<'a>, SignatureError> {
    let mut f = si.children("SignerInfo")?;
    f.next(asn1::INTEGER, "SignerInfo version")?;
    let sid = f.next(asn1::SEQUENCE, "IssuerAndSerialNumber")?;
    let mut sid = sid.children("IssuerAndSerialNumber")?;
    let issuer = sid.next(asn1::SEQUENCE, "signer issuer")?.raw;
    let serial = sid.next(asn1::INTEGER, "signer serial")?.value;
    let hash = digest_algorithm(&f.next(asn1::SEQUENCE, "signer digest algorithm")?)?;
    let attributes = f.optional(asn1::CONTEXT_0, "signed attributes")?;
    let sig_alg = f.next(asn1::SEQUENCE, "signature algorithm")?;
    let signature = f.next(asn1::OCTET_STRING, "signature")?.value;
    if let Ok(Some(h)) = rsa_signature_algorithm(&sig_alg) {
        if h != hash {
            return Err(SignatureError::UnsupportedAlgorithm);
        }
    }
    let certificate = *certificates
        .iter()
        .find(|c| c.issuer == issuer && asn1::unsigned(c.serial) == asn1::unsigned(serial))
        .ok_or(SignatureError::SignerCertificateMissing)?;
    let content_digest = hash.hash(content);
    match attributes {
        Some(attributes) => {
            let mut digest = None;
            for attribute in attributes.children("signed attributes")? {
                let attribute = attribute?.expect(asn1::SEQUENCE, "attribute")?;
                let mut a = attribute.children("attribute")?;
                if a.next(asn1::OID, "attribute type")?.value == OID_MESSAGE_DIGEST {
                    let values = a.next(asn1::SET, "message digest")?;
                    digest = Some(
                        values
                            .children("message digest")?
                            .next(asn1::OCTET_STRING, "message digest")?
                            .value,
                    );
                }
            }
            if digest != Some(&content_digest[..]) {
                return Err(SignatureError::ContentDigestMismatch);
            }
            // The signature covers the attributes' DER as a SET OF (tag 0x31),
            // not with the [0] IMPLICIT tag they carry in the SignerInfo.
            let mut signed = Vec::with_capacity(attributes.raw.len());
            signed.push(asn1::SET);
            signed.extend_from_slice(&attributes.raw[1..]);
            rsa_verify(&certificate.spki, hash, &signed, signature)?;
        }
        None => rsa_verify(&certificate.spki, hash, content, signature)?,
    }
    Ok(Signer { certificate })
}
