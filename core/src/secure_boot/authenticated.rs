//! Time-based authenticated writes of PK, KEK, db and dbx (UEFI 2.10 §8.2.2,
//! EFI_VARIABLE_AUTHENTICATION_2, and §32.3).
//!
//! The data starts with an EFI_TIME and a WIN_CERTIFICATE_UEFI_GUID whose
//! CertData is a detached PKCS#7 signature over name ‖ vendor GUID ‖
//! attributes ‖ timestamp ‖ new data. In user mode it must chain to PK (for
//! PK and KEK) or to KEK or PK (for db and dbx); in setup mode only a new PK
//! is checked, against itself. The timestamp must be later than the
//! variable's last one, except for appends (which keep the later of the two).
//! Appends add only signatures that are not already there.
#![forbid(unsafe_code)]

use super::keys::{self, Keys};
use super::pkcs7::{self, SignatureError};
use super::policy;
use super::signature_list::{self, EslError};
use alloc::vec::Vec;
use core::fmt;
use r_efi::efi;

/// WIN_CERT_TYPE_EFI_GUID.
const WIN_CERT_TYPE_EFI_GUID: u16 = 0x0ef1;
/// EFI_CERT_TYPE_PKCS7_GUID.
pub const CERT_TYPE_PKCS7: efi::Guid = efi::Guid::from_fields(
    0x4aaf_d29d,
    0x68df,
    0x49ee,
    0x8a,
    0xa9,
    &[0x34, 0x7d, 0x37, 0x56, 0x65, 0xa7],
);

/// Why an authenticated write was refused, with the status the
/// specification gives it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuthError {
    /// Not an EFI_VARIABLE_AUTHENTICATION_2 (INVALID_PARAMETER).
    Malformed,
    /// Without TIME_BASED_AUTHENTICATED_WRITE_ACCESS, or with other attributes
    /// than the variable's (INVALID_PARAMETER).
    BadAttributes,
    /// The timestamp is not later than the variable's (SECURITY_VIOLATION).
    Replayed,
    /// The signature does not verify (SECURITY_VIOLATION).
    BadSignature(SignatureError),
    /// It verifies, but not with a key that may change this variable
    /// (SECURITY_VIOLATION).
    NotAuthorized,
    /// The new value is not signature lists, or not one PK certificate
    /// (INVALID_PARAMETER).
    BadValue(EslError),
}

impl AuthError {
    pub fn status(&self) -> efi::Status {
        match self {
            AuthError::Malformed | AuthError::BadAttributes | AuthError::BadValue(_) => efi::Status::INVALID_PARAMETER,
            AuthError::Replayed | AuthError::BadSignature(_) | AuthError::NotAuthorized => {
                efi::Status::SECURITY_VIOLATION
            }
        }
    }
}

impl fmt::Display for AuthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AuthError::Malformed => write!(f, "not an EFI_VARIABLE_AUTHENTICATION_2"),
            AuthError::BadAttributes => write!(f, "wrong attributes for an authenticated variable"),
            AuthError::Replayed => write!(f, "timestamp not later than the variable's (replay)"),
            AuthError::BadSignature(e) => write!(f, "signature: {e}"),
            AuthError::NotAuthorized => write!(f, "not signed by a key allowed to change it"),
            AuthError::BadValue(e) => write!(f, "new value: {e}"),
        }
    }
}

/// EFI_TIME as the ordered fields that matter: year, month, day, hour,
/// minute, second, nanosecond.
pub type Timestamp = (u16, u8, u8, u8, u8, u8, u32);

/// The part of an EFI_VARIABLE_AUTHENTICATION_2 the checks use.
struct Descriptor<'a> {
    time_bytes: &'a [u8],
    time: Timestamp,
    signature: &'a [u8],
    value: &'a [u8],
}

fn parse(data: &[u8]) -> Result<Descriptor<'_>, AuthError> {
    let time_bytes = data.get(..16).ok_or(AuthError::Malformed)?;
    let t = time_bytes;
    // EFI_TIME: Year, Month, Day, Hour, Minute, Second, Pad1, Nanosecond,
    // TimeZone, Daylight, Pad2; all after Second are zero here (§8.2.2).
    if t[7..16].iter().any(|&b| b != 0) {
        return Err(AuthError::Malformed);
    }
    let time = (u16::from_le_bytes([t[0], t[1]]), t[2], t[3], t[4], t[5], t[6], 0);
    let header = data.get(16..16 + 24).ok_or(AuthError::Malformed)?;
    let length = u32::from_le_bytes([header[0], header[1], header[2], header[3]]) as usize;
    let revision = u16::from_le_bytes([header[4], header[5]]);
    let kind = u16::from_le_bytes([header[6], header[7]]);
    if revision != 0x0200 || kind != WIN_CERT_TYPE_EFI_GUID || &header[8..24] != CERT_TYPE_PKCS7.as_bytes() {
        return Err(AuthError::Malformed);
    }
    if length < 24 || 16 + length > data.len() {
        return Err(AuthError::Malformed);
    }
    Ok(Descriptor {
        time_bytes,
        time,
        signature: &data[16 + 24..16 + length],
        value: &data[16 + length..],
    })
}

/// What the write changes: the variable's new value and timestamp, and the
/// keys afterwards.
#[derive(Debug, PartialEq, Eq)]
pub struct Update {
    pub value: Vec<u8>,
    pub time: Timestamp,
    pub keys: Keys,
}

/// Checks an authenticated SetVariable of key variable `index` (0 PK, 1 KEK,
/// 2 db, 3 dbx, as [`keys::KEY_VARIABLES`]) with `attributes` and `data`,
/// given the current `keys` and the variable's last timestamp.
pub fn check(index: usize, attributes: u32, data: &[u8], current: &Keys, last: Timestamp) -> Result<Update, AuthError> {
    let append = attributes & efi::VARIABLE_APPEND_WRITE != 0;
    if attributes & !efi::VARIABLE_APPEND_WRITE != keys::KEY_ATTRIBUTES {
        return Err(AuthError::BadAttributes);
    }
    let d = parse(data)?;
    if !append && d.time <= last {
        return Err(AuthError::Replayed);
    }
    let (name, guid) = keys::KEY_VARIABLES[index];
    let mut signed = Vec::with_capacity(64 + d.value.len());
    for unit in name.encode_utf16() {
        signed.extend_from_slice(&unit.to_le_bytes());
    }
    signed.extend_from_slice(guid.as_bytes());
    signed.extend_from_slice(&attributes.to_le_bytes());
    signed.extend_from_slice(d.time_bytes);
    signed.extend_from_slice(d.value);
    let new_lists = signature_list::parse(d.value).map_err(AuthError::BadValue)?;
    let (signers, certificates) = pkcs7::verify_detached(d.signature, &signed).map_err(AuthError::BadSignature)?;
    // Who may sign: PK for PK and KEK, KEK or PK for db and dbx; in setup
    // mode a new PK signs for itself and the other variables need no key.
    let authority: Vec<u8> = match (current.user_mode(), index) {
        (true, 0 | 1) => current.pk.clone(),
        (true, _) => {
            let mut both = current.kek.clone();
            both.extend_from_slice(&current.pk);
            both
        }
        (false, 0) => d.value.to_vec(),
        (false, _) => Vec::new(),
    };
    if current.user_mode() || index == 0 {
        let authority = signature_list::parse(&authority).map_err(AuthError::BadValue)?;
        let trusted = signers
            .iter()
            .any(|s| policy::chain_listed(&authority, &policy::chain(s.certificate, &certificates)));
        if !trusted {
            return Err(AuthError::NotAuthorized);
        }
    }
    let old = [&current.pk, &current.kek, &current.db, &current.dbx][index];
    let value = if append {
        // Only signatures not already there are added (§8.2.1).
        let existing = signature_list::parse(old).unwrap_or_default();
        let mut value = old.clone();
        if new_lists.iter().all(|s| !existing.contains(s)) {
            value.extend_from_slice(d.value);
        } else {
            for s in new_lists.iter().filter(|s| !existing.contains(s)) {
                value.extend(rebuild(s));
            }
        }
        value
    } else {
        d.value.to_vec()
    };
    let mut keys = current.clone();
    *[&mut keys.pk, &mut keys.kek, &mut keys.db, &mut keys.dbx][index] = value.clone();
    keys.validate()
        .map_err(|_| AuthError::BadValue(EslError::BadSizes { offset: 0 }))?;
    Ok(Update {
        value,
        time: if append { d.time.max(last) } else { d.time },
        keys,
    })
}

/// One signature as a list of its own (a certificate hash gets a zero
/// revocation time: revoked whenever signed).
fn rebuild(s: &signature_list::Signature<'_>) -> Vec<u8> {
    use super::HashAlgorithm;
    use signature_list::{Entry, CERT_X509, CERT_X509_SHA256, CERT_X509_SHA384, CERT_X509_SHA512};
    match s.entry {
        Entry::X509(der) => signature_list::build(&CERT_X509, &s.owner, der),
        Entry::Hash(a, h) => signature_list::build(&signature_list::hash_type(a), &s.owner, h),
        Entry::X509Hash(a, h) => {
            let kind = match a {
                HashAlgorithm::Sha384 => CERT_X509_SHA384,
                HashAlgorithm::Sha512 => CERT_X509_SHA512,
                _ => CERT_X509_SHA256,
            };
            let mut data = h.to_vec();
            data.extend_from_slice(&[0; 16]);
            signature_list::build(&kind, &s.owner, &data)
        }
        Entry::Other => Vec::new(),
    }
}
