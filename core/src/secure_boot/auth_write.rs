//! Time-based authenticated writes of the Secure Boot variables (UEFI 2.10
//! §8.2.2 "Using the EFI_VARIABLE_AUTHENTICATION_2 descriptor", §32.3
//! "Firmware/OS Key Exchange", §32.5 "Signature Database Update").
//!
//! PK, KEK, db, dbx, dbt and dbr change only through SetVariable with
//! TIME_BASED_AUTHENTICATED_WRITE_ACCESS, whose data is an
//! EFI_VARIABLE_AUTHENTICATION_2 descriptor (an EFI_TIME, then a
//! WIN_CERTIFICATE_UEFI_GUID holding a PKCS#7 SignedData) followed by the new
//! EFI_SIGNATURE_LISTs. The signature covers VariableName (UCS-2, no NUL) ‖
//! VendorGuid ‖ Attributes (u32 LE) ‖ TimeStamp ‖ the new data, with SHA-256.
//!
//! Who may sign (§32.3): the PK holder for PK and KEK; the PK or KEK holders
//! for db, dbx, dbt, dbr. A PK or KEK update must be signed by the PK
//! certificate itself (no chain, as edk2); a db update's signer may be a PK or
//! KEK certificate or chain to one through the certificates in the
//! SignedData. Only X.509 entries of KEK count.
//!
//! Setup mode (no PK): §32.3 lets the platform owner write the keys without a
//! signature; the descriptor must still be well formed and the time stamp is
//! still checked. The signature is not checked then — not even for PK, which
//! edk2 (out of custom mode) wants signed by the new PK itself. Enrolling PK
//! leaves setup mode at once (`SetupMode` 0); deleting it (a PK-signed empty
//! update) returns to it. `SecureBoot` follows before ExitBootServices (so
//! the rest of this boot is verified); after it, `SecureBoot` keeps saying how
//! this boot was verified, as edk2 does, and changes with the next boot.
//! `AuditMode` and `DeployedMode` are not offered and stay 0.
//!
//! Replays: a write must carry a time stamp later than the variable's, except
//! with APPEND_WRITE, where the variable keeps the later of the two. Appending
//! signature lists adds only signatures not already there (§8.2.1).
//!
//! The store (`crate::variables`) keeps the time stamp with each variable.
//! None of these variables is written to or read from `\ubootefi.var`: the
//! ESP is not tamper-proof, so an update made by the OS or an EFI program
//! lasts until the machine is reset; the keys of the next boot come again
//! from the firmware image or the VMM.
#![forbid(unsafe_code)]

use super::detached;
use super::digest::HashAlgorithm;
use super::pkcs7::{Certificate, SignatureError};
use super::signature_list::{self, EslError};
use super::IMAGE_SECURITY_DATABASE;
use crate::variables::{VariableError, VariableStore};
use alloc::vec::Vec;
use core::fmt;
use fw_drivers::rtc::calendar::{DateTime, EFI_TIME_SIZE};
use r_efi::efi::{self, Guid, Status};

/// EFI_CERT_TYPE_PKCS7_GUID, 4aafd29d-68df-49ee-8aa9-347d375665a7.
pub const CERT_TYPE_PKCS7: Guid = Guid::from_fields(
    0x4aaf_d29d,
    0x68df,
    0x49ee,
    0x8a,
    0xa9,
    &[0x34, 0x7d, 0x37, 0x56, 0x65, 0xa7],
);
/// WIN_CERTIFICATE.wCertificateType of a WIN_CERTIFICATE_UEFI_GUID.
pub const WIN_CERT_TYPE_EFI_GUID: u16 = 0x0ef1;
/// WIN_CERTIFICATE.wRevision.
pub const WIN_CERT_REVISION: u16 = 0x0200;
/// EFI_TIME.
const TIME_LEN: usize = EFI_TIME_SIZE;
/// WIN_CERTIFICATE (dwLength, wRevision, wCertificateType) and CertType.
const WIN_CERT_HEADER: usize = 8 + 16;

/// What the Secure Boot variables are written with (§3.3): non-volatile,
/// boot and runtime access, time-based authenticated writes.
pub const ATTRIBUTES: u32 = efi::VARIABLE_NON_VOLATILE
    | efi::VARIABLE_BOOTSERVICE_ACCESS
    | efi::VARIABLE_RUNTIME_ACCESS
    | efi::VARIABLE_TIME_BASED_AUTHENTICATED_WRITE_ACCESS;

/// The variables this module guards.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyVariable {
    /// The platform key, which signs changes to itself and KEK.
    Pk,
    /// The key exchange keys, which sign changes to the databases.
    Kek,
    /// The allowed signers and image digests.
    Db,
    /// The forbidden signers and image digests.
    Dbx,
    /// The time-stamping authorities (kept, not used in verification).
    Dbt,
    /// The OS recovery signers (kept, not used in verification).
    Dbr,
}

impl KeyVariable {
    /// Every guarded variable.
    pub const ALL: [KeyVariable; 6] = [Self::Pk, Self::Kek, Self::Db, Self::Dbx, Self::Dbt, Self::Dbr];

    /// The variable's name (`PK`, `db`, ...).
    pub fn name(self) -> &'static str {
        match self {
            Self::Pk => "PK",
            Self::Kek => "KEK",
            Self::Db => "db",
            Self::Dbx => "dbx",
            Self::Dbt => "dbt",
            Self::Dbr => "dbr",
        }
    }

    /// The variable's vendor GUID: EFI_GLOBAL_VARIABLE for PK and KEK, the
    /// image security database's for the others.
    pub fn guid(self) -> Guid {
        match self {
            Self::Pk | Self::Kek => efi::GLOBAL_VARIABLE,
            _ => IMAGE_SECURITY_DATABASE,
        }
    }

    /// Which variable `name` (NUL-terminated or not) and `guid` are, if one of these.
    pub fn of(name: &[u16], guid: &Guid) -> Option<KeyVariable> {
        let name = name.split(|&c| c == 0).next().unwrap_or(&[]);
        Self::ALL
            .into_iter()
            .find(|v| v.guid() == *guid && name.iter().copied().eq(v.name().encode_utf16()))
    }
}

/// The mode variables (§3.3), which only the firmware sets.
const MODE_VARIABLES: [&str; 4] = ["SecureBoot", "SetupMode", "AuditMode", "DeployedMode"];

/// An EFI_TIME as §8.2.2 allows it in a descriptor: Pad1, Nanosecond,
/// TimeZone, Daylight and Pad2 zero, so only the date and the time of day
/// count. Ordered as time runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timestamp(pub DateTime);

impl Ord for Timestamp {
    fn cmp(&self, other: &Self) -> core::cmp::Ordering {
        self.to_stored().cmp(&other.to_stored())
    }
}

impl PartialOrd for Timestamp {
    fn partial_cmp(&self, other: &Self) -> Option<core::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

/// Marks a stored time stamp as present (0 means none).
const STORED: u64 = 1 << 63;

impl Timestamp {
    /// How the store keeps it: order-preserving, 0 for none.
    pub fn to_stored(self) -> u64 {
        let t = &self.0;
        STORED
            | u64::from(t.year) << 40
            | u64::from(t.month) << 32
            | u64::from(t.day) << 24
            | u64::from(t.hour) << 16
            | u64::from(t.minute) << 8
            | u64::from(t.second)
    }

    /// The time stamp [`Timestamp::to_stored`] made, or None for 0 (none).
    pub fn from_stored(v: u64) -> Option<Timestamp> {
        if v & STORED == 0 {
            return None;
        }
        Some(Timestamp(DateTime {
            year: (v >> 40) as u16,
            month: (v >> 32) as u8,
            day: (v >> 24) as u8,
            hour: (v >> 16) as u8,
            minute: (v >> 8) as u8,
            second: v as u8,
            ..DateTime::default()
        }))
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let t = &self.0;
        write!(
            f,
            "{:04}-{:02}-{:02} {:02}:{:02}:{:02}",
            t.year, t.month, t.day, t.hour, t.minute, t.second
        )
    }
}

/// Why an authenticated write was refused; [`AuthError::status`] is the
/// SetVariable status.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuthError {
    /// The data is shorter than the descriptor (`len` of `needed` bytes), or
    /// the certificate's length runs past it. INVALID_PARAMETER.
    Truncated {
        /// The bytes the descriptor needs.
        needed: usize,
        /// The bytes given.
        len: usize,
    },
    /// Attributes other than NV|BS|RT|TIME_BASED_AUTHENTICATED (with
    /// APPEND_WRITE, but not for PK). INVALID_PARAMETER.
    BadAttributes {
        /// The attributes given.
        attributes: u32,
    },
    /// The new data is not signature lists. INVALID_PARAMETER.
    BadPayload(EslError),
    /// PK would not be exactly one X.509 certificate. INVALID_PARAMETER.
    BadPlatformKey,
    /// Deleting a variable that does not exist. NOT_FOUND.
    NotFound,
    /// A write without TIME_BASED_AUTHENTICATED_WRITE_ACCESS: an invalid
    /// combination of attributes, name and GUID (§8.2.1; SECURITY_VIOLATION
    /// is for writes that carry the attribute and fail the check, and edk2
    /// answers the same). INVALID_PARAMETER.
    NotAuthenticated,
    /// Not a WIN_CERTIFICATE_UEFI_GUID with EFI_CERT_TYPE_PKCS7_GUID.
    /// SECURITY_VIOLATION.
    WrongCertificateType,
    /// Pad1, Nanosecond, TimeZone, Daylight or Pad2 not zero. SECURITY_VIOLATION.
    TimestampNotClean,
    /// Not later than the variable's time stamp. SECURITY_VIOLATION.
    Replay {
        /// The variable's time stamp.
        stored: Timestamp,
        /// The descriptor's time stamp.
        given: Timestamp,
    },
    /// The SignedData does not verify over the update. SECURITY_VIOLATION.
    Signature(SignatureError),
    /// A signer used a digest other than SHA-256 (§8.2.2). SECURITY_VIOLATION.
    NotSha256(HashAlgorithm),
    /// The signature verifies, but its signer is not an authority for the
    /// variable. SECURITY_VIOLATION.
    UntrustedSigner,
    /// SecureBoot, SetupMode, AuditMode, DeployedMode. WRITE_PROTECTED.
    ReadOnly,
    /// The store refused the new value (full). Its status.
    Store(VariableError),
}

impl AuthError {
    /// The status SetVariable returns for the refusal.
    pub fn status(&self) -> Status {
        match self {
            AuthError::Truncated { .. }
            | AuthError::BadAttributes { .. }
            | AuthError::BadPayload(_)
            | AuthError::BadPlatformKey
            | AuthError::NotAuthenticated => Status::INVALID_PARAMETER,
            AuthError::NotFound => Status::NOT_FOUND,
            AuthError::WrongCertificateType
            | AuthError::TimestampNotClean
            | AuthError::Replay { .. }
            | AuthError::Signature(_)
            | AuthError::NotSha256(_)
            | AuthError::UntrustedSigner => Status::SECURITY_VIOLATION,
            AuthError::ReadOnly => Status::WRITE_PROTECTED,
            AuthError::Store(e) => e.status(),
        }
    }
}

impl fmt::Display for AuthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AuthError::Truncated { needed, len } => {
                write!(f, "authentication descriptor cut short ({len} bytes, {needed} needed)")
            }
            AuthError::BadAttributes { attributes } => write!(f, "attributes {attributes:#x} not allowed here"),
            AuthError::BadPayload(e) => write!(f, "new value: {e}"),
            AuthError::BadPlatformKey => write!(f, "PK must be exactly one X.509 certificate"),
            AuthError::NotFound => write!(f, "no such variable to delete"),
            AuthError::NotAuthenticated => write!(f, "only time-based authenticated writes are accepted"),
            AuthError::WrongCertificateType => write!(f, "not a PKCS#7 WIN_CERTIFICATE_UEFI_GUID"),
            AuthError::TimestampNotClean => write!(f, "time stamp with non-zero pad, nanosecond or zone"),
            AuthError::Replay { stored, given } => write!(f, "time stamp {given} is not later than {stored}"),
            AuthError::Signature(e) => write!(f, "signature: {e}"),
            AuthError::NotSha256(h) => write!(f, "signed with {}, not SHA-256", h.name()),
            AuthError::UntrustedSigner => write!(f, "signer is not an authority for this variable"),
            AuthError::ReadOnly => write!(f, "variable is read-only"),
            AuthError::Store(e) => write!(f, "{e}"),
        }
    }
}

impl From<SignatureError> for AuthError {
    fn from(e: SignatureError) -> Self {
        AuthError::Signature(e)
    }
}

/// An EFI_VARIABLE_AUTHENTICATION_2 descriptor and the data after it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Descriptor<'a> {
    /// The descriptor's time stamp.
    pub timestamp: Timestamp,
    /// The EFI_TIME as written (what the signature covers).
    pub time_bytes: &'a [u8],
    /// WIN_CERTIFICATE_UEFI_GUID.CertData: the DER SignedData (with or
    /// without its ContentInfo).
    pub signed_data: &'a [u8],
    /// The new value.
    pub payload: &'a [u8],
}

fn u16_at(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}

/// Parses the descriptor at the start of `data` (§8.2.2).
pub fn parse(data: &[u8]) -> Result<Descriptor<'_>, AuthError> {
    let header = TIME_LEN + WIN_CERT_HEADER;
    if data.len() < header {
        return Err(AuthError::Truncated {
            needed: header,
            len: data.len(),
        });
    }
    let t: &[u8; EFI_TIME_SIZE] = data[..TIME_LEN].try_into().map_err(|_| AuthError::Truncated {
        needed: TIME_LEN,
        len: data.len(),
    })?;
    let length = u32::from_le_bytes([data[16], data[17], data[18], data[19]]) as usize;
    let end = TIME_LEN
        .checked_add(length)
        .filter(|&e| e <= data.len() && length >= WIN_CERT_HEADER);
    let Some(end) = end else {
        return Err(AuthError::Truncated {
            needed: TIME_LEN.saturating_add(length.max(WIN_CERT_HEADER)),
            len: data.len(),
        });
    };
    let revision = u16_at(data, 20);
    let kind = u16_at(data, 22);
    let mut guid = [0u8; 16];
    guid.copy_from_slice(&data[24..40]);
    if revision != WIN_CERT_REVISION || kind != WIN_CERT_TYPE_EFI_GUID || Guid::from_bytes(&guid) != CERT_TYPE_PKCS7 {
        return Err(AuthError::WrongCertificateType);
    }
    // Pad1 (7), Nanosecond (8..12), TimeZone (12..14), Daylight (14), Pad2 (15).
    if t[7..].iter().any(|&b| b != 0) {
        return Err(AuthError::TimestampNotClean);
    }
    Ok(Descriptor {
        timestamp: Timestamp(DateTime::from_efi_bytes(t)),
        time_bytes: t,
        signed_data: &data[header..end],
        payload: &data[end..],
    })
}

/// The bytes the signature covers (§8.2.2): the name without its NUL, the
/// vendor GUID, the attributes as given, the time stamp and the new data.
pub fn signed_bytes(name: &[u16], guid: &Guid, attributes: u32, descriptor: &Descriptor<'_>) -> Vec<u8> {
    let mut out = Vec::with_capacity(name.len() * 2 + 16 + 4 + TIME_LEN + descriptor.payload.len());
    for c in name.iter().take_while(|&&c| c != 0) {
        out.extend_from_slice(&c.to_le_bytes());
    }
    out.extend_from_slice(guid.as_bytes());
    out.extend_from_slice(&attributes.to_le_bytes());
    out.extend_from_slice(descriptor.time_bytes);
    out.extend_from_slice(descriptor.payload);
    out
}

/// The variable as it is now.
#[derive(Clone, Copy, Debug, Default)]
pub struct Current<'a> {
    /// The variable's value, if it exists.
    pub value: Option<&'a [u8]>,
    /// The time stamp of its last authenticated write, if any.
    pub timestamp: Option<Timestamp>,
}

/// Who may sign: PK's value (None in setup mode) and KEK's.
#[derive(Clone, Copy, Debug, Default)]
pub struct Authorities<'a> {
    /// PK's signature lists; None in setup mode, where signatures are not checked.
    pub pk: Option<&'a [u8]>,
    /// KEK's signature lists (empty when it has none).
    pub kek: &'a [u8],
}

/// What an accepted write does.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Update {
    /// The new value; empty deletes the variable.
    pub value: Vec<u8>,
    /// The variable's new time stamp: the descriptor's, or for APPEND_WRITE
    /// the later of it and the stored one.
    pub timestamp: Timestamp,
}

/// Checks an authenticated write of `variable` with `attributes` and `data`
/// against its current state and the keys, and returns what it becomes.
pub fn check(
    variable: KeyVariable,
    attributes: u32,
    data: &[u8],
    current: Current<'_>,
    keys: Authorities<'_>,
) -> Result<Update, AuthError> {
    if attributes & efi::VARIABLE_TIME_BASED_AUTHENTICATED_WRITE_ACCESS == 0 {
        return Err(AuthError::NotAuthenticated);
    }
    let append = attributes & efi::VARIABLE_APPEND_WRITE != 0;
    if attributes & !efi::VARIABLE_APPEND_WRITE != ATTRIBUTES || (append && variable == KeyVariable::Pk) {
        return Err(AuthError::BadAttributes { attributes });
    }
    let descriptor = parse(data)?;
    if let Some(stored) = current.timestamp {
        if !append && descriptor.timestamp <= stored {
            return Err(AuthError::Replay {
                stored,
                given: descriptor.timestamp,
            });
        }
    }
    if let Some(pk) = keys.pk {
        let mut name = [0u16; 3];
        let units = variable.name().encode_utf16().count();
        for (slot, c) in name.iter_mut().zip(variable.name().encode_utf16()) {
            *slot = c;
        }
        let signed = signed_bytes(&name[..units], &variable.guid(), attributes, &descriptor);
        let signature = detached::verify(descriptor.signed_data, &signed)?;
        let mut authorities = x509_entries(pk);
        if !matches!(variable, KeyVariable::Pk | KeyVariable::Kek) {
            authorities.extend(x509_entries(keys.kek));
        }
        let chains = !matches!(variable, KeyVariable::Pk | KeyVariable::Kek);
        for (signer, hash) in &signature.signers {
            if *hash != HashAlgorithm::Sha256 {
                return Err(AuthError::NotSha256(*hash));
            }
            if !trusted(signer, &signature.certificates, &authorities, chains) {
                return Err(AuthError::UntrustedSigner);
            }
        }
    }
    let payload = descriptor.payload;
    let entries = signature_list::parse(payload).map_err(AuthError::BadPayload)?;
    if variable == KeyVariable::Pk
        && !payload.is_empty()
        && !matches!(entries.as_slice(), [one] if matches!(one.entry, signature_list::Entry::X509(_)))
    {
        return Err(AuthError::BadPlatformKey);
    }
    if append {
        let existing = current.value.unwrap_or(&[]);
        return Ok(Update {
            value: append_lists(existing, payload),
            timestamp: current
                .timestamp
                .map_or(descriptor.timestamp, |t| t.max(descriptor.timestamp)),
        });
    }
    if payload.is_empty() && current.value.is_none() {
        return Err(AuthError::NotFound);
    }
    Ok(Update {
        value: payload.to_vec(),
        timestamp: descriptor.timestamp,
    })
}

/// The X.509 certificates of a signature-list variable (other entries, like
/// RSA-2048 keys, are not authorities here).
fn x509_entries(lists: &[u8]) -> Vec<&[u8]> {
    signature_list::parse(lists)
        .unwrap_or_default()
        .into_iter()
        .filter_map(|s| match s.entry {
            signature_list::Entry::X509(der) => Some(der),
            _ => None,
        })
        .collect()
}

/// Longest chain followed from a signer to an authority.
const MAX_CHAIN: usize = 8;

/// Whether `signer` is one of `authorities`, or (with `chains`) was issued by
/// one through the SignedData's certificates.
fn trusted(signer: &Certificate<'_>, certificates: &[Certificate<'_>], authorities: &[&[u8]], chains: bool) -> bool {
    if authorities.contains(&signer.der) {
        return true;
    }
    if !chains {
        return false;
    }
    let roots: Vec<Certificate<'_>> = authorities.iter().filter_map(|a| Certificate::parse(a).ok()).collect();
    let mut at = *signer;
    for _ in 0..MAX_CHAIN {
        if roots.iter().any(|root| root.der == at.der || at.is_signed_by(root)) {
            return true;
        }
        match certificates.iter().find(|c| c.der != at.der && at.is_signed_by(c)) {
            Some(issuer) => at = *issuer,
            None => return false,
        }
    }
    false
}

/// One EFI_SIGNATURE_LIST, raw: its type, header and signatures.
struct RawList<'a> {
    kind: &'a [u8],
    header: &'a [u8],
    size: usize,
    signatures: &'a [u8],
}

/// The lists of bytes that [`signature_list::parse`] accepted.
fn raw_lists(bytes: &[u8]) -> Vec<RawList<'_>> {
    let mut out = Vec::new();
    let mut at = 0;
    while bytes.len() - at >= 28 {
        let rest = &bytes[at..];
        let word = |i: usize| u32::from_le_bytes([rest[i], rest[i + 1], rest[i + 2], rest[i + 3]]) as usize;
        let (len, header, size) = (word(16), word(20), word(24));
        if len < 28 + header || len > rest.len() || size == 0 {
            break;
        }
        out.push(RawList {
            kind: &rest[..16],
            header: &rest[28..28 + header],
            size,
            signatures: &rest[28 + header..len],
        });
        at += len;
    }
    out
}

fn contains(lists: &[u8], kind: &[u8], signature: &[u8]) -> bool {
    raw_lists(lists).iter().any(|l| {
        l.kind == kind && l.size == signature.len() && l.signatures.chunks_exact(l.size).any(|s| s == signature)
    })
}

/// `existing` followed by the signatures of `new` it does not hold yet
/// (§8.2.1: an append to a signature database adds no duplicate
/// EFI_SIGNATURE_DATA), list by list.
pub fn append_lists(existing: &[u8], new: &[u8]) -> Vec<u8> {
    let mut out = existing.to_vec();
    for list in raw_lists(new) {
        let mut fresh: Vec<&[u8]> = Vec::new();
        for s in list.signatures.chunks_exact(list.size) {
            if !contains(&out, list.kind, s) && !fresh.contains(&s) {
                fresh.push(s);
            }
        }
        if fresh.is_empty() {
            continue;
        }
        let len = 28 + list.header.len() + fresh.len() * list.size;
        out.extend_from_slice(list.kind);
        out.extend_from_slice(&(len as u32).to_le_bytes());
        out.extend_from_slice(&(list.header.len() as u32).to_le_bytes());
        out.extend_from_slice(&(list.size as u32).to_le_bytes());
        out.extend_from_slice(list.header);
        for s in fresh {
            out.extend_from_slice(s);
        }
    }
    out
}

fn ucs2<const N: usize>(s: &str) -> ([u16; N], usize) {
    let mut out = [0u16; N];
    let mut n = 0;
    for (slot, c) in out.iter_mut().zip(s.encode_utf16()) {
        *slot = c;
        n += 1;
    }
    (out, n)
}

fn stored_value<A: AsRef<[u8]> + AsMut<[u8]>>(store: &VariableStore<A>, variable: KeyVariable) -> Option<(&[u8], u64)> {
    let (name, n) = ucs2::<4>(variable.name());
    store
        .authenticated(&name[..n], &variable.guid())
        .map(|(_, value, timestamp)| (value, timestamp))
}

/// SetVariable of `name`/`guid` when it is a Secure Boot variable: `None` for
/// any other variable (the store's rules apply), else the outcome. A
/// successful write changes the store (and the mode variables after a PK
/// change) and is never persisted. `runtime` is true after ExitBootServices.
pub fn set_variable<A: AsRef<[u8]> + AsMut<[u8]>>(
    store: &mut VariableStore<A>,
    name: &[u16],
    guid: &Guid,
    attributes: u32,
    data: &[u8],
    runtime: bool,
) -> Option<Result<(), AuthError>> {
    let trimmed = name.split(|&c| c == 0).next().unwrap_or(&[]);
    if *guid == efi::GLOBAL_VARIABLE
        && MODE_VARIABLES
            .iter()
            .any(|m| trimmed.iter().copied().eq(m.encode_utf16()))
    {
        return Some(Err(AuthError::ReadOnly));
    }
    let variable = KeyVariable::of(name, guid)?;
    Some(apply(store, variable, attributes, data, runtime))
}

fn apply<A: AsRef<[u8]> + AsMut<[u8]>>(
    store: &mut VariableStore<A>,
    variable: KeyVariable,
    attributes: u32,
    data: &[u8],
    runtime: bool,
) -> Result<(), AuthError> {
    let update = {
        let current = stored_value(store, variable);
        let pk = stored_value(store, KeyVariable::Pk)
            .map(|(v, _)| v)
            .filter(|v| !v.is_empty());
        let kek = stored_value(store, KeyVariable::Kek).map_or(&[][..], |(v, _)| v);
        check(
            variable,
            attributes,
            data,
            Current {
                value: current.map(|(v, _)| v),
                timestamp: current.and_then(|(_, t)| Timestamp::from_stored(t)),
            },
            Authorities { pk, kek },
        )?
    };
    let (name, n) = ucs2::<4>(variable.name());
    let was_setup = stored_value(store, KeyVariable::Pk).is_none();
    store
        .set_authenticated(
            &name[..n],
            &variable.guid(),
            ATTRIBUTES,
            &update.value,
            update.timestamp.to_stored(),
        )
        .map_err(|e| match e {
            VariableError::NotFound => AuthError::NotFound,
            e => AuthError::Store(e),
        })?;
    let setup = stored_value(store, KeyVariable::Pk).is_none();
    if variable == KeyVariable::Pk && setup != was_setup {
        set_modes(store, setup, runtime).map_err(AuthError::Store)?;
    }
    Ok(())
}

/// SetupMode (and SecureBoot before ExitBootServices) after PK came or went.
fn set_modes<A: AsRef<[u8]> + AsMut<[u8]>>(
    store: &mut VariableStore<A>,
    setup: bool,
    runtime: bool,
) -> Result<(), VariableError> {
    let bs_rt = efi::VARIABLE_BOOTSERVICE_ACCESS | efi::VARIABLE_RUNTIME_ACCESS;
    let (name, n) = ucs2::<16>("SetupMode");
    store.set_read_only(&name[..n], &efi::GLOBAL_VARIABLE, bs_rt, &[u8::from(setup)])?;
    if !runtime {
        let (name, n) = ucs2::<16>("SecureBoot");
        store.set_read_only(&name[..n], &efi::GLOBAL_VARIABLE, bs_rt, &[u8::from(!setup)])?;
    }
    Ok(())
}

#[cfg(test)]
mod tests;
