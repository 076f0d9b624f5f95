//! Time-based authenticated writes of the Secure Boot variables, as an EFI
//! program makes them: the test application (tests/efi-app/src/sb_vars.rs)
//! sends efitools' `.auth` files (core/testdata/auth, made by its make.sh)
//! to SetVariable and reports each status, the variables' sizes and the
//! mode variables. Starting in setup mode (no keys in the firmware).

use crate::boot_tests::{check_app_report, efi_app_disk_with, BootTest, Context, Session};
use crate::images::{self, Source};
use crate::qemu::QemuConfig;
use std::path::PathBuf;
use std::time::Duration;

pub fn tests() -> Vec<BootTest> {
    vec![
        BootTest {
            name: "secure_boot_vars_signed_db_append_works_and_bad_updates_are_refused",
            run: efi_program_writes,
        },
        BootTest {
            name: "secure_boot_vars_linux_enrolls_keys_at_runtime_and_mokutil_agrees",
            run: linux_writes,
        },
        BootTest {
            name: "secure_boot_vars_aarch64_signed_db_append_works_and_bad_updates_are_refused",
            run: aarch64_efi_program_writes,
        },
    ]
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
    let disk = efi_app_disk_with("efi-test-app-sb-vars", crate::debian::Arch::Amd64, app_files())?;
    let mut config = QemuConfig::new(&ctx.firmware);
    config.disks.push(disk);
    expect_app_steps(s, &config)
}

/// The same on aarch64 (the firmware built for aarch64-unknown-none).
fn aarch64_efi_program_writes(_ctx: &Context, s: &mut Session) -> Result<(), String> {
    let disk = efi_app_disk_with("efi-test-app-sb-vars-aa64", crate::debian::Arch::Arm64, app_files())?;
    let mut config = QemuConfig::aarch64(&crate::boot_tests::aarch64_firmware()?);
    config.disks.push(disk);
    expect_app_steps(s, &config)
}

fn app_files() -> Vec<(String, Source)> {
    FILES
        .iter()
        .map(|f| (format!("hvfw-sb/{f}"), Source::Host(fixture(f))))
        .collect()
}

fn expect_app_steps(s: &mut Session, config: &QemuConfig) -> Result<(), String> {
    let qemu = s.boot(config)?;
    // The steps run before the application's summary line.
    check_app_report(qemu)?;
    if !qemu.log().contains("HVFW-SB: done") {
        return Err("the application did not run the authenticated-write steps".into());
    }
    let log = qemu.log();
    let db = size_of("DB.esl")?;
    let db2 = size_of("DB2.esl")?;
    let expected: Vec<String> = [
        "SetupMode=1 SecureBoot=0",
        "db-unauthenticated INVALID_PARAMETER",
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

/// Debian's mokutil and chattr and the libraries they load: (path in the initramfs,
/// package, candidate paths in the package).
const MOKUTIL_FILES: &[(&str, &str, &[&str])] = &[
    ("bin/mokutil", "mokutil", &["usr/bin/mokutil"]),
    (
        "lib/x86_64-linux-gnu/libefivar.so.1",
        "libefivar1",
        &["usr/lib/x86_64-linux-gnu/libefivar.so.1.37"],
    ),
    (
        "lib/x86_64-linux-gnu/libcrypto.so.3",
        "libssl3",
        &["usr/lib/x86_64-linux-gnu/libcrypto.so.3"],
    ),
    (
        "lib/x86_64-linux-gnu/libkeyutils.so.1",
        "libkeyutils1",
        &[
            "lib/x86_64-linux-gnu/libkeyutils.so.1",
            "usr/lib/x86_64-linux-gnu/libkeyutils.so.1",
        ],
    ),
    (
        "lib/x86_64-linux-gnu/libcrypt.so.1",
        "libcrypt1",
        &[
            "lib/x86_64-linux-gnu/libcrypt.so.1",
            "usr/lib/x86_64-linux-gnu/libcrypt.so.1",
        ],
    ),
    // efivarfs makes existing key variables immutable; busybox has no chattr.
    ("bin/chattr", "e2fsprogs", &["usr/bin/chattr", "bin/chattr"]),
    (
        "lib/x86_64-linux-gnu/libe2p.so.2",
        "libext2fs2",
        &[
            "lib/x86_64-linux-gnu/libe2p.so.2",
            "usr/lib/x86_64-linux-gnu/libe2p.so.2",
        ],
    ),
    (
        "lib/x86_64-linux-gnu/libcom_err.so.2",
        "libcom-err2",
        &[
            "lib/x86_64-linux-gnu/libcom_err.so.2",
            "usr/lib/x86_64-linux-gnu/libcom_err.so.2",
        ],
    ),
    (
        "lib/x86_64-linux-gnu/libc.so.6",
        "libc6",
        &["lib/x86_64-linux-gnu/libc.so.6"],
    ),
    (
        "lib/x86_64-linux-gnu/libdl.so.2",
        "libc6",
        &["lib/x86_64-linux-gnu/libdl.so.2"],
    ),
    (
        "lib64/ld-linux-x86-64.so.2",
        "libc6",
        &["lib/x86_64-linux-gnu/ld-linux-x86-64.so.2"],
    ),
];

/// What Linux writes through efivarfs, in order: (step, variable, vendor
/// GUID, fixture, append). efivarfs takes the attributes as the first 4
/// bytes of the one write(2).
const LINUX_STEPS: &[(&str, &str, &str, &str, bool)] = &[
    ("enroll-pk", "PK", GLOBAL, "PK.auth", false),
    ("kek-signed-by-pk", "KEK", GLOBAL, "KEK.auth", false),
    ("db-signed-by-kek", "db", SECURITY_DATABASE, "db.auth", false),
    (
        "db-append-wrong-key",
        "db",
        SECURITY_DATABASE,
        "db-wrong-key.auth",
        true,
    ),
    ("db-older-timestamp", "db", SECURITY_DATABASE, "db-older.auth", false),
    ("db-append", "db", SECURITY_DATABASE, "db-append.auth", true),
];
const GLOBAL: &str = "8be4df61-93ca-11d2-aa0d-00e098032b8c";
const SECURITY_DATABASE: &str = "d719b2cb-3d3a-4596-a3bc-dad00e67656f";

fn linux_script() -> String {
    let mut script = format!(
        r#"#!/bin/sh
export PATH=/sbin:/bin:/usr/sbin:/usr/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
insmod /lib/modules/efivarfs.ko || echo "HVFW-SBL: insmod efivarfs failed"
mount -t efivarfs efivarfs /sys/firmware/efi/efivars
vars=/sys/firmware/efi/efivars
byte() {{ tail -c +5 $vars/$1-{GLOBAL} | od -An -tu1 | tr -d ' \n'; }}
modes() {{
    echo "HVFW-SBL: $1 SetupMode=$(byte SetupMode) SecureBoot=$(byte SecureBoot)"
    mokutil --sb-state 2>&1 | sed "s/^/HVFW-SBL: $1 mokutil: /"
}}
put() {{
    [ -e $vars/$2 ] && chattr -i $vars/$2
    if cat /sb/$3 >> $vars/$2 2>/tmp/err; then echo "HVFW-SBL: $1 ok"; else echo "HVFW-SBL: $1 refused"; fi
    sed "s/^/HVFW-SBL-ERR: $1 /" /tmp/err
}}
modes before
"#
    );
    for (step, var, guid, file, _) in LINUX_STEPS {
        script.push_str(&format!(
            "put {step} {var}-{guid} {file}.var
"
        ));
        if *step == "enroll-pk" {
            script.push_str(
                "modes after-pk
",
            );
        }
    }
    script.push_str(&format!(
        "echo \"HVFW-SBL: db size=$(($(wc -c < $vars/db-{SECURITY_DATABASE}) - 4))\"\n\
         echo \"HVFW-SBL: done\"\npoweroff -f\n"
    ));
    script
}

/// `base` (a gzip-compressed busybox initramfs) with mokutil and the
/// fixtures (attributes first, as efivarfs wants them) appended as an
/// uncompressed archive.
fn with_mokutil_and_fixtures(base: &std::path::Path) -> Result<PathBuf, String> {
    let mut recipe = format!("sb-vars-v2 {}\n", images::file_identity(base)?);
    let mut files = Vec::new();
    for (to, package, candidates) in MOKUTIL_FILES {
        let mut found = Err(format!("Debian package {package} has none of {candidates:?}"));
        for from in *candidates {
            if let Ok(file) = crate::debian::file_in(package, crate::debian::Arch::Amd64, from) {
                found = Ok(file);
                break;
            }
        }
        let file = found?;
        recipe.push_str(&format!("{to} {}\n", images::file_identity(&file)?));
        files.push((to.to_string(), std::fs::read(&file).map_err(|e| e.to_string())?));
    }
    for (_, _, _, file, append) in LINUX_STEPS {
        let path = fixture(file);
        recipe.push_str(&format!("{file} {append} {}\n", images::file_identity(&path)?));
        let attributes: u32 = if *append { 0x67 } else { 0x27 };
        let mut data = attributes.to_le_bytes().to_vec();
        data.extend(std::fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?);
        files.push((format!("sb/{file}.var"), data));
    }
    let name = format!(
        "{}-sb-vars.cpio",
        base.file_name().unwrap_or_default().to_string_lossy()
    );
    images::cached_in("initramfs", &name, &recipe, |out| {
        let mut bytes = std::fs::read(base).map_err(|e| e.to_string())?;
        while bytes.len() % 4 != 0 {
            bytes.push(0);
        }
        let mut cpio = crate::initramfs::Cpio::new();
        cpio.dir("sb", 0o755);
        for (to, data) in &files {
            cpio.file(to, 0o755, data);
        }
        bytes.extend(cpio.finish());
        std::fs::write(out, bytes).map_err(|e| e.to_string())
    })
}

/// Linux, booted in setup mode, enrolls PK, KEK and db through efivarfs
/// (authenticated writes after ExitBootServices: checked with the runtime
/// arena), a wrong key and a replay are refused, and `mokutil --sb-state`
/// reads the same modes the firmware reports: SetupMode follows PK at once,
/// SecureBoot keeps this boot's value.
fn linux_writes(ctx: &Context, s: &mut Session) -> Result<(), String> {
    let kernel = crate::debian::cloud_kernel()?;
    let base = crate::initramfs::initramfs_with_modules(
        &kernel,
        crate::debian::Arch::Amd64,
        "sb-vars-linux",
        &linux_script(),
        &["kernel/fs/efivarfs/efivarfs.ko"],
    )?;
    let initrd = with_mokutil_and_fixtures(&base)?;
    let disk = images::bls_disk(&images::BlsDisk {
        name: "sb-vars-linux".into(),
        esp_mib: 64,
        loader_conf: "timeout 0\n".into(),
        entries: vec![(
            "a.conf".into(),
            images::bls_entry("Debian", "1", "/debian/linux", &["/debian/initrd.img"], "console=ttyS0"),
        )],
        files: vec![
            ("/debian/linux".into(), Source::Host(kernel)),
            ("/debian/initrd.img".into(), Source::Host(initrd)),
        ],
        boot_loader: None,
    })?;
    let mut config = QemuConfig::new(&ctx.firmware);
    config.disks.push(disk);
    let qemu = s.boot(&config)?;
    qemu.wait_for("HVFW-SBL: done", Duration::from_secs(180))?;
    let db = size_of("DB.esl")? + size_of("DB2.esl")?;
    let expected: Vec<String> = [
        "before SetupMode=1 SecureBoot=0",
        "before mokutil: SecureBoot disabled",
        "before mokutil: Platform is in Setup Mode",
        "enroll-pk ok",
        "after-pk SetupMode=0 SecureBoot=0",
        "after-pk mokutil: SecureBoot disabled",
        "kek-signed-by-pk ok",
        "db-signed-by-kek ok",
        "db-append-wrong-key refused",
        "db-older-timestamp refused",
        "db-append ok",
        &format!("db size={db}"),
    ]
    .iter()
    .map(|l| format!("HVFW-SBL: {l}"))
    .collect();
    let log = qemu.log();
    let seen: Vec<&str> = log
        .lines()
        .map(str::trim_end)
        .filter(|l| l.starts_with("HVFW-SBL: ") && *l != "HVFW-SBL: done")
        .collect();
    // efivarfs turns the firmware's SECURITY_VIOLATION into EACCES; the
    // accepted writes report nothing.
    for (step, ..) in LINUX_STEPS {
        let errors: Vec<&str> = log
            .lines()
            .filter(|l| l.starts_with(&format!("HVFW-SBL-ERR: {step} ")))
            .collect();
        let refused = seen.contains(&format!("HVFW-SBL: {step} refused").as_str());
        match (refused, errors.as_slice()) {
            (false, []) => {}
            (true, [one]) if one.contains("Permission denied") => {}
            _ => return Err(format!("{step}: unexpected errors {errors:?}")),
        }
    }
    if seen != expected {
        return Err(format!(
            "Linux saw:\n  {}\nexpected:\n  {}",
            seen.join("\n  "),
            expected.join("\n  ")
        ));
    }
    Ok(())
}
