//! Authenticated variable writes made by the real tools: openssl makes the
//! keys, efitools' cert-to-efi-sig-list and sign-efi-sig-list the
//! EFI_VARIABLE_AUTHENTICATION_2 payloads. Ignored unless asked for (`cargo
//! xtask test` runs them with the packages it installs): they run programs.

use super::authenticated::{check, AuthError};
use super::keys::{self, Keys};
use super::signature_list;
use r_efi::efi;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::string::String;
use std::vec::Vec;

const APPEND: u32 = efi::VARIABLE_APPEND_WRITE;

fn run(program: &str, args: &[&str]) {
    let out = Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {program} (packages openssl, efitools): {e}"));
    assert!(
        out.status.success(),
        "{program} {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn dir() -> PathBuf {
    let dir = std::env::temp_dir().join(std::format!("hvfw-auth-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn key(dir: &Path, name: &str) {
    let k = dir.join(std::format!("{name}.key"));
    let c = dir.join(std::format!("{name}.crt"));
    run(
        "openssl",
        &[
            "req",
            "-new",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-sha256",
            "-days",
            "30",
            "-subj",
            &std::format!("/CN=hvfw auth test {name}/"),
            "-keyout",
            k.to_str().unwrap(),
            "-out",
            c.to_str().unwrap(),
        ],
    );
    run(
        "cert-to-efi-sig-list",
        &[
            c.to_str().unwrap(),
            dir.join(std::format!("{name}.esl")).to_str().unwrap(),
        ],
    );
}

/// `sign-efi-sig-list [-a] -t TIME -k SIGNER.key -c SIGNER.crt VAR ESL OUT`.
fn sign(dir: &Path, var: &str, esl: &str, signer: &str, time: &str, append: bool) -> Vec<u8> {
    let out = dir.join(std::format!(
        "{var}-{esl}-{signer}-{}.auth",
        time.replace([' ', ':'], "_")
    ));
    let mut args: Vec<String> = Vec::new();
    if append {
        args.push("-a".into());
    }
    for a in [
        "-t",
        time,
        "-k",
        dir.join(std::format!("{signer}.key")).to_str().unwrap(),
        "-c",
        dir.join(std::format!("{signer}.crt")).to_str().unwrap(),
        var,
        dir.join(std::format!("{esl}.esl")).to_str().unwrap(),
        out.to_str().unwrap(),
    ] {
        args.push(a.into());
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    run("sign-efi-sig-list", &args);
    std::fs::read(out).unwrap()
}

fn esl(dir: &Path, name: &str) -> Vec<u8> {
    std::fs::read(dir.join(std::format!("{name}.esl"))).unwrap()
}

#[test]
#[ignore = "runs openssl and efitools"]
fn efitools_payloads_update_db_and_dbx_as_the_specification_says() {
    let d = dir();
    for name in ["PK", "KEK", "db", "new", "other"] {
        key(&d, name);
    }
    let keys = Keys {
        pk: esl(&d, "PK"),
        kek: esl(&d, "KEK"),
        db: esl(&d, "db"),
        dbx: Vec::new(),
    };
    let zero = (0, 0, 0, 0, 0, 0, 0);
    let attrs = keys::KEY_ATTRIBUTES;

    // A KEK-signed append to db adds the new certificate after the old one.
    let append = sign(&d, "db", "new", "KEK", "2026-01-01 00:00:00", true);
    let update = check(2, attrs | APPEND, &append, &keys, zero).unwrap();
    let mut expected = esl(&d, "db");
    expected.extend(esl(&d, "new"));
    assert_eq!(update.value, expected);
    assert_eq!(signature_list::parse(&update.keys.db).unwrap().len(), 2);
    // Appending the same certificate again changes nothing.
    let again = check(2, attrs | APPEND, &append, &update.keys, update.time).unwrap();
    assert_eq!(again.value, expected);

    // PK may sign db too; a key that is neither KEK nor PK may not.
    let by_pk = sign(&d, "db", "new", "PK", "2026-01-02 00:00:00", false);
    assert_eq!(check(2, attrs, &by_pk, &keys, zero).unwrap().value, esl(&d, "new"));
    let by_other = sign(&d, "db", "new", "other", "2026-01-02 00:00:00", false);
    assert_eq!(check(2, attrs, &by_other, &keys, zero), Err(AuthError::NotAuthorized));
    assert_eq!(AuthError::NotAuthorized.status(), efi::Status::SECURITY_VIOLATION);
    // KEK may not change KEK: only PK may.
    let kek_by_kek = sign(&d, "KEK", "new", "KEK", "2026-01-02 00:00:00", false);
    assert_eq!(check(1, attrs, &kek_by_kek, &keys, zero), Err(AuthError::NotAuthorized));
    let kek_by_pk = sign(&d, "KEK", "new", "PK", "2026-01-02 00:00:00", false);
    assert!(check(1, attrs, &kek_by_pk, &keys, zero).is_ok());

    // A payload signed for db does not apply to dbx (the name is signed).
    assert!(matches!(
        check(3, attrs, &by_pk, &keys, zero),
        Err(AuthError::BadSignature(_))
    ));
    // A changed byte in the new value breaks the signature.
    let mut tampered = by_pk.clone();
    let last = tampered.len() - 10;
    tampered[last] ^= 1;
    assert!(matches!(
        check(2, attrs, &tampered, &keys, zero),
        Err(AuthError::BadSignature(_))
    ));

    // Replays: a write must be later than the last one.
    let first = check(2, attrs, &by_pk, &keys, zero).unwrap();
    let older = sign(&d, "db", "db", "KEK", "2025-12-31 23:59:59", false);
    assert_eq!(
        check(2, attrs, &older, &first.keys, first.time),
        Err(AuthError::Replayed)
    );
    assert_eq!(
        check(2, attrs, &by_pk, &first.keys, first.time),
        Err(AuthError::Replayed)
    );
    assert_eq!(AuthError::Replayed.status(), efi::Status::SECURITY_VIOLATION);

    // The attributes are part of the contract.
    assert_eq!(
        check(2, attrs & !efi::VARIABLE_RUNTIME_ACCESS, &by_pk, &keys, zero),
        Err(AuthError::BadAttributes)
    );
    assert_eq!(check(2, attrs, b"short", &keys, zero), Err(AuthError::Malformed));
    assert_eq!(AuthError::Malformed.status(), efi::Status::INVALID_PARAMETER);

    // Deleting PK (an empty value signed by PK) leaves setup mode behind.
    std::fs::write(d.join("empty.esl"), b"").unwrap();
    let delete_pk = sign(&d, "PK", "empty", "PK", "2026-01-03 00:00:00", false);
    let deleted = check(0, attrs, &delete_pk, &keys, zero).unwrap();
    assert!(deleted.value.is_empty() && !deleted.keys.user_mode());
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn unauthenticated_writes_of_keys_are_invalid_parameters() {
    let mut store = crate::variables::VariableStore::new(std::vec![0u8; 8192]);
    let name: Vec<u16> = "db".encode_utf16().collect();
    let nv_bs_rt = efi::VARIABLE_NON_VOLATILE | efi::VARIABLE_BOOTSERVICE_ACCESS | efi::VARIABLE_RUNTIME_ACCESS;
    let e = store
        .set(&name, &super::IMAGE_SECURITY_DATABASE, nv_bs_rt, &[1, 2, 3], false)
        .unwrap_err();
    assert_eq!(e.status(), efi::Status::INVALID_PARAMETER);
}
