//! Authenticated writes with the `.auth` files Debian's efitools makes
//! (`core/testdata/auth/make.sh` has the commands), as an EFI program would
//! send them to SetVariable.

use super::*;
use std::vec::Vec;

macro_rules! fixture {
    ($name:literal) => {
        include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/auth/", $name)).as_slice()
    };
}

const BS_RT: u32 = efi::VARIABLE_BOOTSERVICE_ACCESS | efi::VARIABLE_RUNTIME_ACCESS;
const APPEND: u32 = ATTRIBUTES | efi::VARIABLE_APPEND_WRITE;

fn w(s: &str) -> Vec<u16> {
    s.encode_utf16().collect()
}

/// A store as the firmware starts it without keys: setup mode.
fn store() -> VariableStore<Vec<u8>> {
    let mut s = VariableStore::new(std::vec![0u8; 64 * 1024]);
    s.set_read_only(&w("SecureBoot"), &efi::GLOBAL_VARIABLE, BS_RT, &[0])
        .unwrap();
    s.set_read_only(&w("SetupMode"), &efi::GLOBAL_VARIABLE, BS_RT, &[1])
        .unwrap();
    s
}

fn write(s: &mut VariableStore<Vec<u8>>, var: KeyVariable, attributes: u32, data: &[u8]) -> Status {
    match set_variable(s, &w(var.name()), &var.guid(), attributes, data, false) {
        Some(Ok(())) => Status::SUCCESS,
        Some(Err(e)) => e.status(),
        None => panic!("{} is not routed to authenticated writes", var.name()),
    }
}

fn value(s: &VariableStore<Vec<u8>>, var: KeyVariable) -> Option<Vec<u8>> {
    s.get(&w(var.name()), &var.guid(), true).ok().map(|(_, v)| v.to_vec())
}

fn mode(s: &VariableStore<Vec<u8>>, name: &str) -> u8 {
    s.get(&w(name), &efi::GLOBAL_VARIABLE, true).unwrap().1[0]
}

/// PK, KEK and db enrolled from the fixtures: user mode.
fn user_mode() -> VariableStore<Vec<u8>> {
    let mut s = store();
    assert_eq!(
        write(&mut s, KeyVariable::Pk, ATTRIBUTES, fixture!("PK.auth")),
        Status::SUCCESS
    );
    assert_eq!(
        write(&mut s, KeyVariable::Kek, ATTRIBUTES, fixture!("KEK.auth")),
        Status::SUCCESS
    );
    assert_eq!(
        write(&mut s, KeyVariable::Db, ATTRIBUTES, fixture!("db.auth")),
        Status::SUCCESS
    );
    s
}

fn concat(parts: &[&[u8]]) -> Vec<u8> {
    parts.iter().flat_map(|p| p.iter().copied()).collect()
}

#[test]
fn parses_the_descriptor_sign_efi_sig_list_writes() {
    let d = parse(fixture!("db.auth")).unwrap();
    assert_eq!(d.timestamp, timestamp(2026, 1, 3, 0, 0, 0));
    assert_eq!(d.payload, fixture!("DB.esl"));
    // sign-efi-sig-list writes a bare SignedData (INTEGER version first).
    assert_eq!(d.signed_data[0], 0x30);
    let empty = parse(fixture!("noPK.auth")).unwrap();
    assert!(empty.payload.is_empty());
}

#[test]
fn signed_bytes_are_what_efitools_signs() {
    let d = parse(fixture!("db-append.auth")).unwrap();
    let bytes = signed_bytes(&w("db"), &IMAGE_SECURITY_DATABASE, APPEND, &d);
    assert_eq!(bytes, fixture!("db-append.bundle"));
}

#[test]
fn setup_mode_enrolls_pk_then_user_mode_needs_signatures() {
    let mut s = store();
    assert_eq!(mode(&s, "SetupMode"), 1);
    assert_eq!(
        write(&mut s, KeyVariable::Pk, ATTRIBUTES, fixture!("PK.auth")),
        Status::SUCCESS
    );
    assert_eq!(value(&s, KeyVariable::Pk).unwrap(), fixture!("PK.esl"));
    assert_eq!(s.get(&w("PK"), &efi::GLOBAL_VARIABLE, true).unwrap().0, ATTRIBUTES);
    assert_eq!((mode(&s, "SetupMode"), mode(&s, "SecureBoot")), (0, 1));
    // A PK-signed KEK, then a KEK-signed db.
    assert_eq!(
        write(&mut s, KeyVariable::Kek, ATTRIBUTES, fixture!("KEK.auth")),
        Status::SUCCESS
    );
    assert_eq!(value(&s, KeyVariable::Kek).unwrap(), fixture!("KEK.esl"));
    assert_eq!(
        write(&mut s, KeyVariable::Db, ATTRIBUTES, fixture!("db.auth")),
        Status::SUCCESS
    );
    assert_eq!(value(&s, KeyVariable::Db).unwrap(), fixture!("DB.esl"));
    // KEK may not sign KEK.
    assert_eq!(
        write(&mut s, KeyVariable::Kek, ATTRIBUTES, fixture!("KEK-by-kek.auth")),
        Status::SECURITY_VIOLATION
    );
    assert_eq!(value(&s, KeyVariable::Kek).unwrap(), fixture!("KEK.esl"));
}

#[test]
fn kek_signed_db_append_adds_only_new_signatures() {
    let mut s = user_mode();
    assert_eq!(
        write(&mut s, KeyVariable::Db, APPEND, fixture!("db-append.auth")),
        Status::SUCCESS
    );
    let grown = concat(&[fixture!("DB.esl"), fixture!("DB2.esl")]);
    assert_eq!(value(&s, KeyVariable::Db).unwrap(), grown);
    // The same certificate again, later, and signed by PK: nothing added.
    assert_eq!(
        write(&mut s, KeyVariable::Db, APPEND, fixture!("db-append-again.auth")),
        Status::SUCCESS
    );
    assert_eq!(
        write(&mut s, KeyVariable::Db, APPEND, fixture!("db-append-pk.auth")),
        Status::SUCCESS
    );
    // Signed attributes, in a ContentInfo (openssl cms).
    assert_eq!(
        write(&mut s, KeyVariable::Db, APPEND, fixture!("db-attrs.auth")),
        Status::SUCCESS
    );
    assert_eq!(value(&s, KeyVariable::Db).unwrap(), grown);
    // An append may be older than the variable; the newer time stamp stays.
    assert_eq!(
        write(&mut s, KeyVariable::Db, APPEND, fixture!("db-append.auth")),
        Status::SUCCESS
    );
    let (_, _, stored) = s.authenticated(&w("db"), &IMAGE_SECURITY_DATABASE).unwrap();
    assert_eq!(Timestamp::from_stored(stored).unwrap().0.day, 11);
    // dbx too, and an append to a variable that does not exist creates it.
    assert_eq!(
        write(&mut s, KeyVariable::Dbx, APPEND, fixture!("dbx-append.auth")),
        Status::SUCCESS
    );
    assert_eq!(value(&s, KeyVariable::Dbx).unwrap(), fixture!("WRONG.esl"));
}

#[test]
fn wrong_key_is_a_security_violation() {
    let mut s = user_mode();
    assert_eq!(
        write(&mut s, KeyVariable::Db, APPEND, fixture!("db-wrong-key.auth")),
        Status::SECURITY_VIOLATION
    );
    assert_eq!(
        check(
            KeyVariable::Db,
            APPEND,
            fixture!("db-wrong-key.auth"),
            Current::default(),
            Authorities {
                pk: Some(fixture!("PK.esl")),
                kek: fixture!("KEK.esl")
            }
        ),
        Err(AuthError::UntrustedSigner)
    );
    assert_eq!(value(&s, KeyVariable::Db).unwrap(), fixture!("DB.esl"));
}

#[test]
fn tampered_updates_are_security_violations() {
    let mut s = user_mode();
    let good = fixture!("db-append.auth");
    // A byte of the new certificate.
    let mut payload = good.to_vec();
    let last = payload.len() - 10;
    payload[last] ^= 1;
    // A byte of the RSA signature (the end of the SignedData).
    let d = parse(good).unwrap();
    let mut signature = good.to_vec();
    signature[40 + d.signed_data.len() - 5] ^= 1;
    // The time stamp (it is signed too).
    let mut time = good.to_vec();
    time[6] = 1;
    let keys = Authorities {
        pk: Some(fixture!("PK.esl")),
        kek: fixture!("KEK.esl"),
    };
    for bad in [payload, signature, time] {
        assert_eq!(
            check(KeyVariable::Db, APPEND, &bad, Current::default(), keys),
            Err(AuthError::Signature(SignatureError::BadSignature))
        );
        assert_eq!(write(&mut s, KeyVariable::Db, APPEND, &bad), Status::SECURITY_VIOLATION);
    }
    // The attributes are signed: the append signed as a replacement fails.
    assert_eq!(
        write(&mut s, KeyVariable::Db, ATTRIBUTES, good),
        Status::SECURITY_VIOLATION
    );
    // So are the name and GUID.
    assert_eq!(
        write(&mut s, KeyVariable::Dbx, APPEND, good),
        Status::SECURITY_VIOLATION
    );
    assert_eq!(value(&s, KeyVariable::Db).unwrap(), fixture!("DB.esl"));
}

#[test]
fn replayed_or_older_updates_are_refused() {
    let mut s = user_mode();
    // db.auth (2026-01-03) again, and an older replacement (2025-12-31).
    assert_eq!(
        write(&mut s, KeyVariable::Db, ATTRIBUTES, fixture!("db.auth")),
        Status::SECURITY_VIOLATION
    );
    let older = check(
        KeyVariable::Db,
        ATTRIBUTES,
        fixture!("db-older.auth"),
        Current {
            value: Some(fixture!("DB.esl")),
            timestamp: Some(parse(fixture!("db.auth")).unwrap().timestamp),
        },
        Authorities {
            pk: Some(fixture!("PK.esl")),
            kek: fixture!("KEK.esl"),
        },
    );
    assert!(matches!(older, Err(AuthError::Replay { .. })), "{older:?}");
    assert_eq!(
        write(&mut s, KeyVariable::Db, ATTRIBUTES, fixture!("db-older.auth")),
        Status::SECURITY_VIOLATION
    );
    assert_eq!(value(&s, KeyVariable::Db).unwrap(), fixture!("DB.esl"));
}

#[test]
fn unauthenticated_writes_are_refused() {
    let mut s = user_mode();
    let nv = efi::VARIABLE_NON_VOLATILE | BS_RT;
    assert_eq!(
        write(&mut s, KeyVariable::Db, nv, fixture!("DB2.esl")),
        Status::INVALID_PARAMETER
    );
    assert_eq!(
        write(
            &mut s,
            KeyVariable::Db,
            nv | efi::VARIABLE_APPEND_WRITE,
            fixture!("DB2.esl")
        ),
        Status::INVALID_PARAMETER
    );
    // Deleting without a signed empty update.
    assert_eq!(write(&mut s, KeyVariable::Pk, 0, &[]), Status::INVALID_PARAMETER);
    // Not even in setup mode, and not for a variable that does not exist yet.
    let mut fresh = store();
    assert_eq!(
        write(&mut fresh, KeyVariable::Kek, nv, fixture!("KEK.esl")),
        Status::INVALID_PARAMETER
    );
    assert_eq!(value(&fresh, KeyVariable::Kek), None);
    // The store itself refuses a plain write to what an authenticated write made.
    assert_eq!(
        s.set(&w("db"), &IMAGE_SECURITY_DATABASE, nv, b"x", false),
        Err(VariableError::BadAttributes { attributes: nv })
    );
    assert_eq!(value(&s, KeyVariable::Db).unwrap(), fixture!("DB.esl"));
}

#[test]
fn malformed_descriptors_and_attributes_are_invalid_parameters() {
    let mut s = user_mode();
    let good = fixture!("db-append.auth");
    assert_eq!(
        write(&mut s, KeyVariable::Db, APPEND, &good[..30]),
        Status::INVALID_PARAMETER
    );
    assert_eq!(write(&mut s, KeyVariable::Db, APPEND, &[]), Status::INVALID_PARAMETER);
    let mut long = good.to_vec();
    long[16..20].copy_from_slice(&u32::MAX.to_le_bytes());
    assert_eq!(write(&mut s, KeyVariable::Db, APPEND, &long), Status::INVALID_PARAMETER);
    let mut short = good.to_vec();
    short[16..20].copy_from_slice(&4u32.to_le_bytes());
    assert_eq!(
        write(&mut s, KeyVariable::Db, APPEND, &short),
        Status::INVALID_PARAMETER
    );
    // Attributes: volatile, boot-only, the old count-based bit, append to PK.
    for attributes in [
        APPEND & !efi::VARIABLE_NON_VOLATILE,
        APPEND & !efi::VARIABLE_RUNTIME_ACCESS,
        APPEND | efi::VARIABLE_AUTHENTICATED_WRITE_ACCESS,
    ] {
        assert_eq!(
            write(&mut s, KeyVariable::Db, attributes, good),
            Status::INVALID_PARAMETER
        );
    }
    assert_eq!(
        write(&mut s, KeyVariable::Pk, APPEND, fixture!("PK.auth")),
        Status::INVALID_PARAMETER
    );
    // A descriptor that is whole but not PKCS#7, or with a dirty time stamp.
    let mut kind = good.to_vec();
    kind[22] = 0x02;
    assert_eq!(parse(&kind), Err(AuthError::WrongCertificateType));
    let mut guid = good.to_vec();
    guid[30] ^= 1;
    assert_eq!(
        write(&mut s, KeyVariable::Db, APPEND, &guid),
        Status::SECURITY_VIOLATION
    );
    let mut nanosecond = good.to_vec();
    nanosecond[8] = 1;
    assert_eq!(parse(&nanosecond), Err(AuthError::TimestampNotClean));
    assert_eq!(
        write(&mut s, KeyVariable::Db, APPEND, &nanosecond),
        Status::SECURITY_VIOLATION
    );
    assert_eq!(value(&s, KeyVariable::Db).unwrap(), fixture!("DB.esl"));
}

/// A descriptor from `auth` (its time stamp and signature) before `payload`:
/// not a valid signature, which setup mode does not check.
fn reframe(auth: &[u8], payload: &[u8]) -> Vec<u8> {
    let d = parse(auth).unwrap();
    concat(&[&auth[..auth.len() - d.payload.len()], payload])
}

#[test]
fn setup_mode_checks_format_and_time_not_signatures() {
    let mut s = store();
    // KEK and db may be written unsigned-by-anyone-known before PK exists.
    assert_eq!(
        write(&mut s, KeyVariable::Db, APPEND, fixture!("db-wrong-key.auth")),
        Status::SUCCESS
    );
    assert_eq!(
        write(&mut s, KeyVariable::Kek, ATTRIBUTES, fixture!("KEK-by-kek.auth")),
        Status::SUCCESS
    );
    // The payload must still be signature lists, PK exactly one certificate.
    let garbage = reframe(fixture!("KEK.auth"), b"not a signature list at all!");
    assert_eq!(
        check(
            KeyVariable::Kek,
            ATTRIBUTES,
            &garbage,
            Current::default(),
            Authorities::default()
        ),
        Err(AuthError::BadPayload(EslError::Truncated { offset: 0 }))
    );
    let two = reframe(fixture!("PK.auth"), &concat(&[fixture!("PK.esl"), fixture!("KEK.esl")]));
    assert_eq!(
        write(&mut s, KeyVariable::Pk, ATTRIBUTES, &two),
        Status::INVALID_PARAMETER
    );
    let hash = reframe(
        fixture!("PK.auth"),
        &signature_list::build(&signature_list::CERT_SHA256, &efi::GLOBAL_VARIABLE, &[1; 32]),
    );
    assert_eq!(
        write(&mut s, KeyVariable::Pk, ATTRIBUTES, &hash),
        Status::INVALID_PARAMETER
    );
    // Time stamps still count.
    assert_eq!(
        write(&mut s, KeyVariable::Kek, ATTRIBUTES, fixture!("KEK.auth")),
        Status::SECURITY_VIOLATION
    );
    assert_eq!(mode(&s, "SetupMode"), 1);
}

#[test]
fn deleting_pk_returns_to_setup_mode() {
    let mut s = user_mode();
    // Only PK may delete PK.
    let by_kek = reframe(fixture!("KEK-by-kek.auth"), &[]);
    assert_eq!(
        write(&mut s, KeyVariable::Pk, ATTRIBUTES, &by_kek),
        Status::SECURITY_VIOLATION
    );
    assert_eq!(
        write(&mut s, KeyVariable::Pk, ATTRIBUTES, fixture!("noPK.auth")),
        Status::SUCCESS
    );
    assert_eq!(value(&s, KeyVariable::Pk), None);
    assert_eq!((mode(&s, "SetupMode"), mode(&s, "SecureBoot")), (1, 0));
    // KEK and db stay; deleting what is not there is NOT_FOUND.
    assert_eq!(value(&s, KeyVariable::Kek).unwrap(), fixture!("KEK.esl"));
    assert_eq!(
        write(&mut s, KeyVariable::Pk, ATTRIBUTES, fixture!("noPK.auth")),
        Status::NOT_FOUND
    );
}

#[test]
fn after_exit_boot_services_secure_boot_keeps_this_boots_value() {
    let mut s = user_mode();
    let r = set_variable(
        &mut s,
        &w("PK"),
        &efi::GLOBAL_VARIABLE,
        ATTRIBUTES,
        fixture!("noPK.auth"),
        true,
    );
    assert_eq!(r, Some(Ok(())));
    assert_eq!((mode(&s, "SetupMode"), mode(&s, "SecureBoot")), (1, 1));
}

#[test]
fn mode_variables_are_write_protected_and_others_not_routed() {
    let mut s = user_mode();
    for name in ["SecureBoot", "SetupMode", "AuditMode", "DeployedMode"] {
        let r = set_variable(
            &mut s,
            &w(name),
            &efi::GLOBAL_VARIABLE,
            ATTRIBUTES,
            fixture!("KEK.auth"),
            false,
        );
        assert_eq!(
            r.map(|r| r.map_err(|e| e.status())),
            Some(Err(Status::WRITE_PROTECTED)),
            "{name}"
        );
    }
    assert_eq!(
        set_variable(&mut s, &w("db"), &efi::GLOBAL_VARIABLE, BS_RT, b"x", false),
        None
    );
    assert_eq!(
        set_variable(&mut s, &w("BootOrder"), &efi::GLOBAL_VARIABLE, BS_RT, b"x", false),
        None
    );
    let mut with_nul = w("KEK");
    with_nul.push(0);
    assert_eq!(
        KeyVariable::of(&with_nul, &efi::GLOBAL_VARIABLE),
        Some(KeyVariable::Kek)
    );
}

#[test]
fn keys_never_reach_the_variable_file() {
    let mut s = user_mode();
    let nv = efi::VARIABLE_NON_VOLATILE | BS_RT;
    s.set(&w("BootOrder"), &efi::GLOBAL_VARIABLE, nv, &[0, 0], false)
        .unwrap();
    let names: Vec<Vec<u8>> = s.non_volatile().map(|e| e.name_le.to_vec()).collect();
    assert_eq!(names.len(), 1);
    assert_eq!(
        names[0],
        [b'B', 0, b'o', 0, b'o', 0, b't', 0, b'O', 0, b'r', 0, b'd', 0, b'e', 0, b'r', 0]
    );
}

/// A descriptor's time stamp: the date and time of day, the rest zero.
fn timestamp(year: u16, month: u8, day: u8, hour: u8, minute: u8, second: u8) -> Timestamp {
    Timestamp(fw_drivers::rtc::calendar::DateTime::at(
        year, month, day, hour, minute, second,
    ))
}

#[test]
fn stored_time_stamps_keep_their_order() {
    let a = timestamp(2026, 12, 31, 23, 59, 59);
    let b = timestamp(2027, 1, 1, 0, 0, 0);
    assert!(a < b && a.to_stored() < b.to_stored());
    assert_eq!(Timestamp::from_stored(a.to_stored()), Some(a));
    assert_eq!(Timestamp::from_stored(0), None);
}

#[test]
fn appending_merges_lists_without_duplicates() {
    let owner = efi::GLOBAL_VARIABLE;
    let h1 = signature_list::build(&signature_list::CERT_SHA256, &owner, &[1; 32]);
    let h2 = signature_list::build(&signature_list::CERT_SHA256, &owner, &[2; 32]);
    let both = append_lists(&h1, &concat(&[&h1, &h2, &h2]));
    assert_eq!(both, concat(&[&h1, &h2]));
    assert_eq!(append_lists(&[], &h1), h1);
    assert_eq!(append_lists(&both, &[]), both);
}

#[test]
fn pk_signs_its_successor_and_user_mode_stays() {
    let mut s = user_mode();
    assert_eq!(
        write(&mut s, KeyVariable::Pk, ATTRIBUTES, fixture!("PK-replace.auth")),
        Status::SUCCESS
    );
    assert_eq!(value(&s, KeyVariable::Pk).unwrap(), fixture!("DB2.esl"));
    assert_eq!((mode(&s, "SetupMode"), mode(&s, "SecureBoot")), (0, 1));
    // The old PK no longer signs: its deletion is refused now.
    assert_eq!(
        write(&mut s, KeyVariable::Pk, ATTRIBUTES, fixture!("noPK.auth")),
        Status::SECURITY_VIOLATION
    );
}

#[test]
fn dbt_and_dbr_follow_db_rules() {
    let dbt: Vec<u16> = w("dbt");
    assert_eq!(KeyVariable::of(&dbt, &IMAGE_SECURITY_DATABASE), Some(KeyVariable::Dbt));
    assert_eq!(
        KeyVariable::of(&w("dbr"), &IMAGE_SECURITY_DATABASE),
        Some(KeyVariable::Dbr)
    );
    let mut s = user_mode();
    // db's update sent to dbt: the name is signed, so it fails.
    assert_eq!(
        write(&mut s, KeyVariable::Dbt, APPEND, fixture!("db-append.auth")),
        Status::SECURITY_VIOLATION
    );
    assert_eq!(
        write(
            &mut s,
            KeyVariable::Dbr,
            ATTRIBUTES & !efi::VARIABLE_TIME_BASED_AUTHENTICATED_WRITE_ACCESS,
            fixture!("DB.esl")
        ),
        Status::INVALID_PARAMETER
    );
}
