//! Time-based authenticated writes of the Secure Boot variables, as an EFI
//! program makes them: the test application (tests/efi-app/src/sb_vars.rs)
//! sends efitools' `.auth` files (core/testdata/auth, made by its make.sh)
//! to SetVariable and reports each status, the variables' sizes and the
//! mode variables. Starting in setup mode (no keys in the firmware).

use crate::boot_tests::{check_app_report, efi_app_disk_with, BootTest, Context, Session};
use crate::images::Source;
use crate::qemu::QemuConfig;
use std::path::PathBuf;

pub fn tests() -> Vec<BootTest> {
    vec![BootTest {
        name: "secure_boot_vars_signed_db_append_works_and_bad_updates_are_refused",
        run: efi_program_writes,
    }]
}

/// The fixtures the application reads.
const FILES: &[&str] = &[
    "DB2.esl",
    "PK.auth",
    "KEK.auth",
    "db.auth",
    "db-wrong-key.auth",
    "db-older.auth",
    "db-append.auth",
    "db-append-again.auth",
    "noPK.auth",
];

fn fixture(name: &str) -> PathBuf {
    crate::workspace_root().join("core/testdata/auth").join(name)
}

fn size_of(name: &str) -> Result<u64, String> {
    std::fs::metadata(fixture(name))
        .map(|m| m.len())
        .map_err(|e| format!("{name}: {e}"))
}

/// NV | BS | RT | TIME_BASED_AUTHENTICATED_WRITE_ACCESS.
const KEY_ATTRIBUTES: &str = "0x27";

fn efi_program_writes(ctx: &Context, s: &mut Session) -> Result<(), String> {
    let files: Vec<(String, Source)> = FILES
        .iter()
        .map(|f| (format!("hvfw-sb/{f}"), Source::Host(fixture(f))))
        .collect();
    let disk = efi_app_disk_with("efi-test-app-sb-vars", crate::debian::Arch::Amd64, files)?;
    let mut config = QemuConfig::new(&ctx.firmware);
    config.disks.push(disk);
    let qemu = s.boot(&config)?;
    // The steps run before the application's summary line.
    check_app_report(qemu)?;
    if !qemu.log().contains("HVFW-SB: done") {
        return Err("the application did not run the authenticated-write steps".into());
    }
    let log = qemu.log().to_string();
    let db = size_of("DB.esl")?;
    let db2 = size_of("DB2.esl")?;
    let expected: Vec<String> = [
        "SetupMode=1 SecureBoot=0",
        "db-unauthenticated SECURITY_VIOLATION",
        "enroll-pk SUCCESS",
        "SetupMode=0 SecureBoot=1",
        "kek-signed-by-pk SUCCESS",
        "db-signed-by-kek SUCCESS",
        &format!("db size={db} attributes={KEY_ATTRIBUTES}"),
        "db-append-wrong-key SECURITY_VIOLATION",
        "db-older-timestamp SECURITY_VIOLATION",
        "db-replayed SECURITY_VIOLATION",
        "db-append-tampered SECURITY_VIOLATION",
        "db-append-truncated INVALID_PARAMETER",
        "db-append SUCCESS",
        &format!("db size={} attributes={KEY_ATTRIBUTES}", db + db2),
        "db-append-again SUCCESS",
        &format!("db size={} attributes={KEY_ATTRIBUTES}", db + db2),
        "write-secure-boot WRITE_PROTECTED",
        &format!("PK size={} attributes={KEY_ATTRIBUTES}", size_of("PK.esl")?),
        &format!("KEK size={} attributes={KEY_ATTRIBUTES}", size_of("KEK.esl")?),
        &format!("db size={} attributes={KEY_ATTRIBUTES}", db + db2),
        "delete-pk SUCCESS",
        "SetupMode=1 SecureBoot=0",
        "PK=absent",
    ]
    .iter()
    .map(|l| format!("HVFW-SB: {l}"))
    .collect();
    let seen: Vec<&str> = log
        .lines()
        .map(str::trim_end)
        .filter(|l| l.starts_with("HVFW-SB: ") && *l != "HVFW-SB: started" && *l != "HVFW-SB: done")
        .collect();
    if seen != expected {
        return Err(format!(
            "the application saw:\n  {}\nexpected:\n  {}",
            seen.join("\n  "),
            expected.join("\n  ")
        ));
    }
    Ok(())
}
