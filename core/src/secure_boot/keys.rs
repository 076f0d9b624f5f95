//! The Secure Boot variables (UEFI 2.10 §3.3 and §32.3): PK, KEK, db, dbx
//! from a source the guest cannot change, and the mode variables that follow
//! from them.
//!
//! With a platform key: user mode, `SecureBoot`=1, `SetupMode`=0. Without:
//! setup mode, `SecureBoot`=0, `SetupMode`=1, and images are not verified.
//! `AuditMode` and `DeployedMode` are 0 (neither mode is offered). All of
//! them, and the keys, are read-only for applications: the keys came from the
//! firmware image or the VMM, and the guest's ESP is not a place they could
//! be kept safely.
#![forbid(unsafe_code)]

use super::signature_list::{self, EslError, CERT_X509};
use super::IMAGE_SECURITY_DATABASE;
use crate::variables::{VariableError, VariableStore};
use alloc::vec::Vec;
use core::fmt;
use r_efi::efi::{self, Guid};

/// The owner GUID given to certificates handed over as bare DER.
pub const HVFW_OWNER: Guid = Guid::from_fields(
    0x5b6b_1f0e,
    0x7c2a,
    0x4d3e,
    0x9a,
    0x41,
    &[0x68, 0x76, 0x66, 0x77, 0x73, 0x62],
);

/// PK, KEK, db and dbx: name, vendor GUID.
pub const KEY_VARIABLES: [(&str, Guid); 4] = [
    ("PK", efi::GLOBAL_VARIABLE),
    ("KEK", efi::GLOBAL_VARIABLE),
    ("db", IMAGE_SECURITY_DATABASE),
    ("dbx", IMAGE_SECURITY_DATABASE),
];

/// Whether `name`/`guid` is one of the Secure Boot key databases (which only
/// the firmware sets). Runs in SetVariable at runtime: it must not allocate.
pub fn is_key_variable(name: &[u16], guid: &Guid) -> bool {
    let name = name.iter().copied().take_while(|&c| c != 0);
    KEY_VARIABLES
        .iter()
        .any(|(n, g)| g == guid && name.clone().eq(n.encode_utf16()))
}

/// The key databases as signature lists, each empty when not provided.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Keys {
    /// The platform key: one certificate, or nothing (setup mode).
    pub pk: Vec<u8>,
    /// The key exchange keys, which sign changes to db and dbx.
    pub kek: Vec<u8>,
    /// The allowed signers and image digests.
    pub db: Vec<u8>,
    /// The forbidden signers and image digests.
    pub dbx: Vec<u8>,
}

/// Why a key file was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyError {
    /// Neither signature lists nor a DER certificate.
    Malformed {
        /// The variable the file was for (`PK`, `db`, ...).
        variable: &'static str,
        /// Why the bytes are not signature lists.
        error: EslError,
    },
    /// PK holds more than one key, or one that is not a certificate.
    BadPlatformKey,
}

impl fmt::Display for KeyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeyError::Malformed { variable, error } => {
                write!(f, "{variable}: not signature lists nor a DER certificate ({error})")
            }
            KeyError::BadPlatformKey => write!(f, "PK must be exactly one X.509 certificate"),
        }
    }
}

/// A key file's content as signature lists: signature lists as they are, or
/// one DER X.509 certificate (a SEQUENCE) wrapped in a list of its own.
pub fn to_signature_lists(variable: &'static str, bytes: &[u8]) -> Result<Vec<u8>, KeyError> {
    if bytes.is_empty() {
        return Ok(Vec::new());
    }
    match signature_list::parse(bytes) {
        Ok(_) => Ok(bytes.to_vec()),
        Err(error) => {
            let cert = super::asn1::Tlv::first(bytes, "certificate")
                .ok()
                .filter(|t| t.tag == super::asn1::SEQUENCE && t.raw.len() == bytes.len());
            match cert {
                Some(_) if super::pkcs7::Certificate::parse(bytes).is_ok() => {
                    Ok(signature_list::build(&CERT_X509, &HVFW_OWNER, bytes))
                }
                _ => Err(KeyError::Malformed { variable, error }),
            }
        }
    }
}

impl Keys {
    /// Checks that PK is one certificate (UEFI 2.10 §32.3.1).
    pub fn validate(&self) -> Result<(), KeyError> {
        if self.pk.is_empty() {
            return Ok(());
        }
        let pk = signature_list::parse(&self.pk).map_err(|error| KeyError::Malformed { variable: "PK", error })?;
        match pk.as_slice() {
            [one] if matches!(one.entry, signature_list::Entry::X509(_)) => Ok(()),
            _ => Err(KeyError::BadPlatformKey),
        }
    }

    /// Whether a platform key is enrolled, i.e. the firmware is in user
    /// mode and verifies images.
    pub fn user_mode(&self) -> bool {
        !self.pk.is_empty()
    }
}

/// Attributes of the key databases: non-volatile, boot and runtime access,
/// time-based authenticated writes.
pub const KEY_ATTRIBUTES: u32 = efi::VARIABLE_NON_VOLATILE
    | efi::VARIABLE_BOOTSERVICE_ACCESS
    | efi::VARIABLE_RUNTIME_ACCESS
    | efi::VARIABLE_TIME_BASED_AUTHENTICATED_WRITE_ACCESS;
const BS_RT: u32 = efi::VARIABLE_BOOTSERVICE_ACCESS | efi::VARIABLE_RUNTIME_ACCESS;

fn ucs2(s: &str) -> Vec<u16> {
    s.encode_utf16().collect()
}

/// Sets the key databases (those provided), their `...Default` copies and
/// the mode variables in `store`, read-only.
pub fn enroll<A: AsRef<[u8]> + AsMut<[u8]>>(store: &mut VariableStore<A>, keys: &Keys) -> Result<(), VariableError> {
    let values = [&keys.pk, &keys.kek, &keys.db, &keys.dbx];
    for ((name, guid), value) in KEY_VARIABLES.iter().zip(values) {
        if value.is_empty() {
            continue;
        }
        store.set_read_only(&ucs2(name), guid, KEY_ATTRIBUTES, value)?;
        let default = alloc::format!("{name}Default");
        store.set_read_only(&ucs2(&default), &efi::GLOBAL_VARIABLE, BS_RT, value)?;
    }
    let user = keys.user_mode();
    for (name, value) in [
        ("SecureBoot", user),
        ("SetupMode", !user),
        ("AuditMode", false),
        ("DeployedMode", false),
    ] {
        store.set_read_only(&ucs2(name), &efi::GLOBAL_VARIABLE, BS_RT, &[u8::from(value)])?;
    }
    Ok(())
}

/// What LoadImage checks against: db and dbx, when `SecureBoot` is 1.
pub fn enforced<A: AsRef<[u8]> + AsMut<[u8]>>(store: &VariableStore<A>) -> Option<(Vec<u8>, Vec<u8>)> {
    let on = store
        .get(&ucs2("SecureBoot"), &efi::GLOBAL_VARIABLE, false)
        .is_ok_and(|(_, v)| v == [1]);
    if !on {
        return None;
    }
    let read = |name: &str| {
        store
            .get(&ucs2(name), &IMAGE_SECURITY_DATABASE, false)
            .map(|(_, v)| v.to_vec())
            .unwrap_or_default()
    };
    Some((read("db"), read("dbx")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secure_boot::signature_list::CERT_SHA256;

    fn store() -> VariableStore<Vec<u8>> {
        VariableStore::new(alloc::vec![0u8; 16 * 1024])
    }

    /// A minimal self-signed-shaped certificate: enough structure to parse.
    fn cert() -> Vec<u8> {
        let alg = [
            0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0b, 0x05, 0x00,
        ];
        let name = [0x30, 0x00];
        let mut tbs_body = alloc::vec![0x02, 0x01, 0x01];
        tbs_body.extend_from_slice(&alg);
        tbs_body.extend_from_slice(&name);
        tbs_body.extend_from_slice(&[0x30, 0x00]);
        tbs_body.extend_from_slice(&name);
        tbs_body.extend_from_slice(&[0x30, 0x00]);
        let mut tbs = alloc::vec![0x30, tbs_body.len() as u8];
        tbs.extend(tbs_body);
        let mut body = tbs;
        body.extend_from_slice(&alg);
        body.extend_from_slice(&[0x03, 0x02, 0x00, 0xff]);
        let mut c = alloc::vec![0x30, body.len() as u8];
        c.extend(body);
        c
    }

    #[test]
    fn der_certificates_become_one_list_and_lists_stay() {
        let c = cert();
        let esl = to_signature_lists("db", &c).unwrap();
        let sigs = signature_list::parse(&esl).unwrap();
        assert_eq!(sigs[0].entry, signature_list::Entry::X509(&c));
        assert_eq!(to_signature_lists("db", &esl).unwrap(), esl);
        assert!(matches!(
            to_signature_lists("db", b"garbage that is neither"),
            Err(KeyError::Malformed { variable: "db", .. })
        ));
    }

    #[test]
    fn pk_must_be_one_certificate() {
        let pk = to_signature_lists("PK", &cert()).unwrap();
        let keys = Keys {
            pk: pk.clone(),
            ..Keys::default()
        };
        assert_eq!(keys.validate(), Ok(()));
        let mut two = pk.clone();
        two.extend_from_slice(&pk);
        assert_eq!(
            Keys {
                pk: two,
                ..Keys::default()
            }
            .validate(),
            Err(KeyError::BadPlatformKey)
        );
        let hash = signature_list::build(&CERT_SHA256, &HVFW_OWNER, &[0; 32]);
        assert_eq!(
            Keys {
                pk: hash,
                ..Keys::default()
            }
            .validate(),
            Err(KeyError::BadPlatformKey)
        );
    }

    #[test]
    fn modes_follow_the_platform_key_and_everything_is_read_only() {
        let mut s = store();
        enroll(&mut s, &Keys::default()).unwrap();
        assert_eq!(s.get(&ucs2("SetupMode"), &efi::GLOBAL_VARIABLE, true).unwrap().1, &[1]);
        assert_eq!(enforced(&s), None);

        let db = signature_list::build(&CERT_SHA256, &HVFW_OWNER, &[9; 32]);
        let keys = Keys {
            pk: to_signature_lists("PK", &cert()).unwrap(),
            db: db.clone(),
            ..Keys::default()
        };
        let mut s = store();
        enroll(&mut s, &keys).unwrap();
        assert_eq!(s.get(&ucs2("SecureBoot"), &efi::GLOBAL_VARIABLE, true).unwrap().1, &[1]);
        assert_eq!(s.get(&ucs2("SetupMode"), &efi::GLOBAL_VARIABLE, true).unwrap().1, &[0]);
        assert_eq!(
            s.get(&ucs2("DeployedMode"), &efi::GLOBAL_VARIABLE, true).unwrap().1,
            &[0]
        );
        let (attributes, value) = s.get(&ucs2("db"), &IMAGE_SECURITY_DATABASE, true).unwrap();
        assert_eq!((attributes, value), (KEY_ATTRIBUTES, &db[..]));
        assert_eq!(
            s.get(&ucs2("dbDefault"), &efi::GLOBAL_VARIABLE, true).unwrap().1,
            &db[..]
        );
        assert_eq!(enforced(&s), Some((db.clone(), Vec::new())));
        let nv_bs_rt = efi::VARIABLE_NON_VOLATILE | BS_RT;
        for (name, guid) in [("db", IMAGE_SECURITY_DATABASE), ("SecureBoot", efi::GLOBAL_VARIABLE)] {
            assert!(s.set(&ucs2(name), &guid, nv_bs_rt, &[0; 4], false).is_err(), "{name}");
        }
        // Not enrolled, still not writable without authentication.
        assert!(s
            .set(&ucs2("dbx"), &IMAGE_SECURITY_DATABASE, nv_bs_rt, &[0; 4], false)
            .is_err());
        assert!(is_key_variable(&ucs2("KEK"), &efi::GLOBAL_VARIABLE));
        assert!(!is_key_variable(&ucs2("KEK"), &IMAGE_SECURITY_DATABASE));
    }
}
