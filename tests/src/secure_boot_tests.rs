//! QEMU tests of UEFI Secure Boot (issue 15): keys handed over through
//! fw_cfg, verification in LoadImage, the boot manager moving on after a
//! refusal, and Linux's own report that Secure Boot and lockdown are on.
//!
//! Keys are generated once per work tree with openssl (`target/secure-boot/`,
//! never in the shared caches); kernels are signed with sbsigntool's sbsign,
//! dbx hashes come from efitools' hash-to-efi-sig-list (its own Authenticode
//! code, not the firmware's). Microsoft's KEK CA 2011 and UEFI CA 2011 are
//! taken from Debian's OVMF_VARS_4M.ms.fd (package ovmf).

use crate::boot_tests::{proof, proof_value, BootTest, Context, Session};
use crate::images::{self, BlsDisk, Source};
use crate::initramfs::{self, Cpio};
use crate::qemu::{Qemu, QemuConfig};
use crate::{debian, firmware};
use fw_core::secure_boot::{pkcs7, signature_list};
use std::path::{Path, PathBuf};
use std::time::Duration;

mod security_arch;

const LINUX: Duration = Duration::from_secs(180);
const FW_CFG: &str = "opt/org.hypervisor-fw";
const OVMF_MS_VARS: &str = "/usr/share/OVMF/OVMF_VARS_4M.ms.fd";

pub fn tests() -> Vec<BootTest> {
    vec![
        BootTest {
            name: "secure_boot_bls_refuses_bad_kernels_and_boots_the_signed_one",
            run: bls_matrix,
        },
        BootTest {
            name: "secure_boot_microsoft_keys_boot_debian_shim_grub_linux_with_lockdown",
            run: shim_microsoft_keys,
        },
        BootTest {
            name: "secure_boot_refuses_shim_without_microsoft_ca_in_db",
            run: shim_refused,
        },
        BootTest {
            name: "secure_boot_authenticated_db_updates_from_an_efi_program",
            run: authenticated_db,
        },
        BootTest {
            name: "secure_boot_refused_image_loads_but_does_not_start_and_security2_override_decides",
            run: security_arch::security_arch,
        },
        BootTest {
            name: "secure_boot_keys_built_into_the_firmware_win_over_fw_cfg",
            run: built_in_keys,
        },
        BootTest {
            name: "secure_boot_signed_uki_with_a_signed_kernel_boots",
            run: uki,
        },
        BootTest {
            name: "aarch64_secure_boot_fw_cfg_keys_refuse_unsigned_and_boot_signed_kernel",
            run: aarch64_bls,
        },
    ]
}

fn work_dir() -> Result<PathBuf, String> {
    let dir = firmware::target_dir().join("secure-boot");
    std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    Ok(dir)
}

fn path_str(p: &Path) -> &str {
    p.to_str().unwrap_or_default()
}

/// The test's keys and kernels, made once per work tree (a stamp marks a
/// complete set).
pub struct Material {
    dir: PathBuf,
}

impl Material {
    pub fn file(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }
}

fn flip_middle_byte(from: &Path, to: &Path) -> Result<(), String> {
    let mut bytes = std::fs::read(from).map_err(|e| e.to_string())?;
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x01;
    std::fs::write(to, bytes).map_err(|e| e.to_string())
}

pub fn material() -> Result<Material, String> {
    let dir = work_dir()?;
    let m = Material { dir: dir.clone() };
    let stamp = dir.join("material-v1.done");
    if stamp.exists() {
        return Ok(m);
    }
    let run = |program: &str, args: &[&str]| images::run(program, args).map(|_| ());
    for name in ["PK", "KEK", "db", "other"] {
        let key = m.file(&format!("{name}.key"));
        let crt = m.file(&format!("{name}.crt"));
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
                "3650",
                "-subj",
                &format!("/CN=hypervisor-fw test {name}/"),
                "-keyout",
                path_str(&key),
                "-out",
                path_str(&crt),
            ],
        )?;
        run(
            "openssl",
            &[
                "x509",
                "-in",
                path_str(&crt),
                "-outform",
                "der",
                "-out",
                path_str(&m.file(&format!("{name}.der"))),
            ],
        )?;
    }
    let kernel = debian::cloud_kernel()?;
    let unsigned = m.file("vmlinuz-unsigned");
    std::fs::copy(&kernel, &unsigned).map_err(|e| e.to_string())?;
    // Debian's signature goes: these kernels are signed by the test's keys only.
    run("sbattach", &["--remove", path_str(&unsigned)])?;
    let sign = |key: &str, input: &Path, output: &Path| {
        run(
            "sbsign",
            &[
                "--key",
                path_str(&m.file(&format!("{key}.key"))),
                "--cert",
                path_str(&m.file(&format!("{key}.crt"))),
                "--output",
                path_str(output),
                path_str(input),
            ],
        )
    };
    sign("db", &unsigned, &m.file("vmlinuz-signed"))?;
    sign("other", &unsigned, &m.file("vmlinuz-other-key"))?;
    flip_middle_byte(&m.file("vmlinuz-signed"), &m.file("vmlinuz-tampered"))?;
    // Another image (one byte differs), properly signed, whose hash is in dbx.
    flip_middle_byte(&unsigned, &m.file("vmlinuz-revoked.unsigned"))?;
    sign("db", &m.file("vmlinuz-revoked.unsigned"), &m.file("vmlinuz-revoked"))?;
    run(
        "hash-to-efi-sig-list",
        &[path_str(&m.file("vmlinuz-revoked")), path_str(&m.file("dbx.esl"))],
    )?;
    std::fs::write(&stamp, b"").map_err(|e| e.to_string())?;
    Ok(m)
}

/// The proof script plus what Secure Boot tests read: Linux's `secureboot:`
/// line, the lockdown state, and the SecureBoot/SetupMode variables as
/// efivarfs shows them (attributes, then the value).
fn secure_boot_script() -> String {
    secure_boot_script_from(initramfs::proof_script())
}

fn secure_boot_script_from(proof_script: String) -> String {
    let global = "8be4df61-93ca-11d2-aa0d-00e098032b8c";
    let extra = format!(
        "mount -t securityfs securityfs /sys/kernel/security 2>/dev/null\n\
         proof \"secureboot=$(dmesg | grep -o 'secureboot: .*' | head -n 1)\"\n\
         proof \"lockdown=$(cat /sys/kernel/security/lockdown 2>/dev/null)\"\n\
         proof \"efi-secureboot=$(od -An -tx1 /sys/firmware/efi/efivars/SecureBoot-{global} 2>/dev/null | tr -s ' ')\"\n\
         proof \"efi-setupmode=$(od -An -tx1 /sys/firmware/efi/efivars/SetupMode-{global} 2>/dev/null | tr -s ' ')\"\n\
         proof \"done\"\n"
    );
    proof_script.replace("proof \"done\"\n", &extra)
}

/// A second initrd that replaces the proof initramfs's `/init` with
/// [`secure_boot_script`] (the kernel unpacks initrds in order).
fn secure_boot_init() -> Result<PathBuf, String> {
    secure_boot_init_named("sb-init", &secure_boot_script())
}

fn secure_boot_init_named(name: &str, script: &str) -> Result<PathBuf, String> {
    let recipe = format!("sb-init-v1 {:016x}", initramfs::fnv1a(script.as_bytes()));
    images::cached_in("initramfs", &format!("{name}.cpio.gz"), &recipe, |out| {
        let mut cpio = Cpio::new();
        cpio.file("init", 0o755, script.as_bytes());
        std::fs::write(out, initramfs::gzip(&cpio.finish())?).map_err(|e| e.to_string())
    })
}

fn fw_cfg_keys(config: &mut QemuConfig, keys: &[(&str, &Path)]) {
    for (name, file) in keys {
        config.extra_args.push("-fw_cfg".into());
        config
            .extra_args
            .push(format!("name={FW_CFG}/{name},file={}", file.display()));
    }
}

/// Fails unless Linux says Secure Boot is on, lockdown is active and the
/// SecureBoot/SetupMode variables read 1/0.
fn assert_linux_secure_boot(qemu: &Qemu) -> Result<(), String> {
    let line = proof_value(qemu, "secureboot").unwrap_or_default();
    if line != "secureboot: Secure boot enabled" {
        return Err(format!("Linux did not report Secure Boot enabled: {line:?}"));
    }
    let lockdown = proof_value(qemu, "lockdown").unwrap_or_default();
    if !(lockdown.contains("[integrity]") || lockdown.contains("[confidentiality]")) {
        return Err(format!("lockdown is not active: {lockdown:?}"));
    }
    // Four attribute bytes (BS|RT = 06), then the value.
    let sb = proof_value(qemu, "efi-secureboot").unwrap_or_default();
    let setup = proof_value(qemu, "efi-setupmode").unwrap_or_default();
    if !sb.ends_with(" 01") || !setup.ends_with(" 00") {
        return Err(format!("efivarfs: SecureBoot = {sb:?}, SetupMode = {setup:?}"));
    }
    println!("    Linux: {line}; lockdown {lockdown}");
    Ok(())
}

/// The line where the firmware refused `file`, which must give `reason`.
fn assert_refused(qemu: &Qemu, file: &str, reason: &str) -> Result<(), String> {
    let log = qemu.log();
    let line = log
        .lines()
        .find(|l| l.contains("Secure Boot: refused") && l.contains(file))
        .ok_or_else(|| format!("no refusal of {file} on the console"))?;
    if !line.contains(reason) {
        return Err(format!("{file} refused for another reason: {line}"));
    }
    println!("    {}", line.trim());
    Ok(())
}

fn sb_entry(version: &str, kernel: &str, marker: &str) -> String {
    format!(
        "title Secure Boot {version}\nversion {version}\nsort-key sb\nlinux /sb/{kernel}\n\
         initrd /sb/initrd.img\ninitrd /sb/sb-init.img\noptions console=ttyS0 hvfw.marker={marker}\n"
    )
}

/// The disk of [`bls_matrix`]: five entries, newest first.
fn bls_matrix_disk(m: &Material) -> Result<PathBuf, String> {
    let kernels = [
        ("5", "vmlinuz-unsigned", "sb-unsigned"),
        ("4", "vmlinuz-other-key", "sb-other-key"),
        ("3", "vmlinuz-tampered", "sb-tampered"),
        ("2", "vmlinuz-revoked", "sb-revoked"),
        ("1", "vmlinuz-signed", "sb-good"),
    ];
    let mut files = vec![
        (
            "/sb/initrd.img".to_string(),
            Source::Host(initramfs::proof_initramfs()?),
        ),
        ("/sb/sb-init.img".to_string(), Source::Host(secure_boot_init()?)),
    ];
    let mut entries = Vec::new();
    for (version, kernel, marker) in kernels {
        files.push((format!("/sb/{kernel}"), Source::Host(m.file(kernel))));
        entries.push((format!("sb-{version}.conf"), sb_entry(version, kernel, marker)));
    }
    images::bls_disk(&BlsDisk {
        name: "sb-bls-matrix".into(),
        esp_mib: 128,
        loader_conf: "timeout 0\n".into(),
        entries,
        files,
        boot_loader: None,
    })
}

/// Five entries, newest first: an unsigned kernel, one signed by a key not in
/// db, a signed one with a byte changed, a signed one whose hash is in dbx,
/// and the good one. Each bad one is refused with its reason and the boot
/// manager moves on; the last boots and Linux reports Secure Boot.
fn bls_matrix(ctx: &Context, s: &mut Session) -> Result<(), String> {
    let m = material()?;
    let disk = bls_matrix_disk(&m)?;
    let mut config = QemuConfig::new(&ctx.firmware);
    config.disks.push(disk);
    fw_cfg_keys(
        &mut config,
        &[
            ("PK", &m.file("PK.der")),
            ("KEK", &m.file("KEK.der")),
            ("db", &m.file("db.der")),
            ("dbx", &m.file("dbx.esl")),
        ],
    );
    let qemu = s.boot(&config)?;
    proof(qemu, 512, "hvfw.marker=sb-good", LINUX)?;
    assert_refused(qemu, "vmlinuz-unsigned", "unsigned")?;
    assert_refused(qemu, "vmlinuz-other-key", "signed by an unknown key")?;
    assert_refused(qemu, "vmlinuz-tampered", "modified after signing")?;
    assert_refused(qemu, "vmlinuz-revoked", "revoked by dbx")?;
    assert_no_image_left(qemu)?;
    assert_linux_secure_boot(qemu)?;
    Ok(())
}

/// Fails if the firmware found, at ExitBootServices, images loaded but never
/// started nor unloaded: the refused kernels (loaded with SECURITY_VIOLATION)
/// must have been unloaded by the boot manager.
fn assert_no_image_left(qemu: &Qemu) -> Result<(), String> {
    match qemu.log().lines().find(|l| l.contains("never started nor unloaded")) {
        Some(line) => Err(format!("a loaded image was left behind: {}", line.trim())),
        None => Ok(()),
    }
}

/// Microsoft's certificate whose subject contains `cn`, from the ESLs in
/// Debian's Microsoft-enrolled OVMF variable store, written as DER.
pub fn microsoft_certificate(cn: &str, file: &str) -> Result<PathBuf, String> {
    let out = work_dir()?.join(file);
    if out.exists() {
        return Ok(out);
    }
    let vars = std::fs::read(OVMF_MS_VARS).map_err(|e| format!("{OVMF_MS_VARS} (package ovmf): {e}"))?;
    for sig in signature_list::scan(&vars, &signature_list::CERT_X509) {
        if let signature_list::Entry::X509(der) = sig.entry {
            let matches =
                pkcs7::Certificate::parse(der).is_ok_and(|c| c.subject.windows(cn.len()).any(|w| w == cn.as_bytes()));
            if matches {
                std::fs::write(&out, der).map_err(|e| e.to_string())?;
                return Ok(out);
            }
        }
    }
    Err(format!("no certificate {cn} in {OVMF_MS_VARS}"))
}

fn shim_disk() -> Result<PathBuf, String> {
    images::shim_grub_disk(&images::ShimGrub {
        name: "sb-shim-grub".into(),
        extra_initrds: vec![secure_boot_init()?],
        ..Default::default()
    })
}

/// Microsoft's UEFI CA 2011 in db and its KEK CA 2011 in KEK: Debian's
/// Microsoft-signed shim is verified by the firmware, shim verifies GRUB and
/// GRUB (through shim) the kernel, and Linux runs with Secure Boot and
/// lockdown.
/// PK (the test's), KEK and db (Microsoft's) for Debian's signed shim.
pub fn microsoft_keys() -> Result<[(&'static str, PathBuf); 3], String> {
    let m = material()?;
    Ok([
        ("PK", m.file("PK.der")),
        (
            "KEK",
            microsoft_certificate("Microsoft Corporation KEK CA 2011", "MicCorKEKCA2011.der")?,
        ),
        (
            "db",
            microsoft_certificate("Microsoft Corporation UEFI CA 2011", "MicCorUEFCA2011.der")?,
        ),
    ])
}

/// `-fw_cfg` arguments handing `keys` to the firmware.
pub fn fw_cfg_args(keys: &[(&str, PathBuf)]) -> Vec<String> {
    keys.iter()
        .flat_map(|(name, file)| {
            [
                "-fw_cfg".to_string(),
                format!("name={FW_CFG}/{name},file={}", file.display()),
            ]
        })
        .collect()
}

fn shim_microsoft_keys(ctx: &Context, s: &mut Session) -> Result<(), String> {
    let [_, (_, kek), (_, db)] = microsoft_keys()?;
    let m = material()?;
    let mut config = QemuConfig::new(&ctx.firmware);
    config.disks.push(shim_disk()?);
    fw_cfg_keys(&mut config, &[("PK", &m.file("PK.der")), ("KEK", &kek), ("db", &db)]);
    let qemu = s.boot(&config)?;
    let linux = proof(qemu, 512, "hvfw.marker=grub-cmdline-ok", LINUX)?;
    println!(
        "    Linux version after {:.2}s (Secure Boot, shim + GRUB)",
        linux.as_secs_f64()
    );
    assert_linux_secure_boot(qemu)?;
    Ok(())
}

/// The same disk with only the test's own key in db: the firmware refuses
/// Microsoft's shim, and nothing boots.
fn shim_refused(ctx: &Context, s: &mut Session) -> Result<(), String> {
    let m = material()?;
    let mut config = QemuConfig::new(&ctx.firmware);
    config.disks.push(shim_disk()?);
    fw_cfg_keys(&mut config, &[("PK", &m.file("PK.der")), ("db", &m.file("db.der"))]);
    let qemu = s.boot(&config)?;
    qemu.wait_for("Secure Boot: refused", Duration::from_secs(60))?;
    // Every candidate (the removable path and the BLS-less ESP) is shim.
    qemu.wait_for("Boot: ", Duration::from_secs(30))?;
    std::thread::sleep(Duration::from_secs(3));
    assert_refused(qemu, "BOOTX64.EFI", "signed by an unknown key")?;
    if qemu.log().contains("Linux version") {
        return Err("Linux booted although shim's signer is not in db".into());
    }
    Ok(())
}

/// A key "new", a kernel it signs and efitools' payloads for db (see
/// tests/efi-app/src/sb_auth.rs), made once per work tree.
fn auth_material(m: &Material) -> Result<(), String> {
    let stamp = m.file("auth-v1.done");
    if stamp.exists() {
        return Ok(());
    }
    let run = |program: &str, args: &[&str]| images::run(program, args).map(|_| ());
    let (key, crt) = (m.file("new.key"), m.file("new.crt"));
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
            "3650",
            "-subj",
            "/CN=hypervisor-fw test new db key/",
            "-keyout",
            path_str(&key),
            "-out",
            path_str(&crt),
        ],
    )?;
    run("cert-to-efi-sig-list", &[path_str(&crt), path_str(&m.file("new.esl"))])?;
    run(
        "cert-to-efi-sig-list",
        &[path_str(&m.file("db.crt")), path_str(&m.file("db.esl"))],
    )?;
    let mut both = std::fs::read(m.file("db.esl")).map_err(|e| e.to_string())?;
    both.extend(std::fs::read(m.file("new.esl")).map_err(|e| e.to_string())?);
    std::fs::write(m.file("db-and-new.esl"), both).map_err(|e| e.to_string())?;
    run(
        "sbsign",
        &[
            "--key",
            path_str(&key),
            "--cert",
            path_str(&crt),
            "--output",
            path_str(&m.file("vmlinuz-new-key")),
            path_str(&m.file("vmlinuz-unsigned")),
        ],
    )?;
    for (out, append, time, signer, esl) in [
        ("wrong-key.auth", true, "2026-01-01 00:00:00", "other", "new.esl"),
        ("append.auth", true, "2026-01-01 00:00:00", "KEK", "new.esl"),
        ("write.auth", false, "2026-02-01 00:00:00", "KEK", "db-and-new.esl"),
        ("older.auth", false, "2026-01-15 00:00:00", "KEK", "db.esl"),
    ] {
        let (k, c) = (m.file(&format!("{signer}.key")), m.file(&format!("{signer}.crt")));
        let mut args = vec![];
        if append {
            args.push("-a");
        }
        let (esl, out) = (m.file(esl), m.file(out));
        args.extend([
            "-t",
            time,
            "-k",
            path_str(&k),
            "-c",
            path_str(&c),
            "db",
            path_str(&esl),
            path_str(&out),
        ]);
        run("sign-efi-sig-list", &args)?;
    }
    std::fs::write(&stamp, b"").map_err(|e| e.to_string())
}

/// The EFI test application, built now and signed with the db key.
fn signed_test_app(m: &Material) -> Result<PathBuf, String> {
    let app = firmware::build_efi_test_app()?;
    let signed_app = m.file("efi-test-app.signed.efi");
    images::run(
        "sbsign",
        &[
            "--key",
            path_str(&m.file("db.key")),
            "--cert",
            path_str(&m.file("db.crt")),
            "--output",
            path_str(&signed_app),
            path_str(&app),
        ],
    )?;
    Ok(signed_app)
}

/// The EFI test application (signed with the db key) makes authenticated
/// writes of db: an unauthenticated one and one signed by a key not in KEK
/// are refused, a KEK-signed append and a later full write succeed, an older
/// write and a replay are refused. It returns, the boot manager moves on,
/// and a kernel signed by the key the append added boots: the new db is the
/// one LoadImage checks.
fn authenticated_db(ctx: &Context, s: &mut Session) -> Result<(), String> {
    let m = material()?;
    auth_material(&m)?;
    let signed_app = signed_test_app(&m)?;
    let mut files = vec![
        ("/hvfw-sb-auth".to_string(), Source::text("yes\n")),
        ("/sb/app.efi".to_string(), Source::Host(signed_app)),
        (
            "/sb/vmlinuz-new-key".to_string(),
            Source::Host(m.file("vmlinuz-new-key")),
        ),
        (
            "/sb/initrd.img".to_string(),
            Source::Host(initramfs::proof_initramfs()?),
        ),
        ("/sb/sb-init.img".to_string(), Source::Host(secure_boot_init()?)),
    ];
    for f in ["wrong-key.auth", "append.auth", "write.auth", "older.auth"] {
        files.push((format!("/sb-auth/{f}"), Source::Host(m.file(f))));
    }
    let entries = vec![
        (
            "sb-2.conf".to_string(),
            "title Secure Boot app\nversion 2\nsort-key sb\nefi /sb/app.efi\n".to_string(),
        ),
        ("sb-1.conf".to_string(), sb_entry("1", "vmlinuz-new-key", "sb-new-key")),
    ];
    let disk = images::bls_disk(&BlsDisk {
        name: "sb-auth".into(),
        esp_mib: 64,
        loader_conf: "timeout 0\n".into(),
        entries,
        files,
        boot_loader: None,
    })?;
    let mut config = QemuConfig::new(&ctx.firmware);
    config.disks.push(disk);
    fw_cfg_keys(
        &mut config,
        &[
            ("PK", &m.file("PK.der")),
            ("KEK", &m.file("KEK.der")),
            ("db", &m.file("db.der")),
        ],
    );
    let qemu = s.boot(&config)?;
    qemu.wait_for("HVFW-APP: sb-auth done", Duration::from_secs(60))?;
    let log = qemu.log();
    let value = |key: &str| -> Vec<String> {
        let prefix = format!("HVFW-APP: sb-auth {key}=");
        log.lines()
            .filter_map(|l| l.split_once(&prefix).map(|(_, v)| v.trim().to_string()))
            .collect()
    };
    for (key, want) in [
        ("unauthenticated", "INVALID_PARAMETER"),
        ("wrong-key", "SECURITY_VIOLATION"),
        ("append", "SUCCESS"),
        ("write", "SUCCESS"),
        ("replay-older", "SECURITY_VIOLATION"),
        ("replay-same", "SECURITY_VIOLATION"),
    ] {
        let got = value(key);
        if got.len() != 1 || !got[0].contains(want) {
            return Err(format!("SetVariable(db) {key}: {got:?}, expected {want}"));
        }
        println!("    SetVariable(db) {key}: {}", got[0]);
    }
    // db's size: before, after the refused write, after the append (grown),
    // and unchanged by the full write of the same lists and the refusals.
    let sizes: Vec<usize> = value("db-size").iter().filter_map(|v| v.parse().ok()).collect();
    match sizes.as_slice() {
        [before, after_wrong, after_append, after_write, s5, s6]
            if before == after_wrong
                && after_append > before
                && after_write == after_append
                && s5 == after_write
                && s6 == after_write => {}
        other => return Err(format!("db sizes along the writes: {other:?}")),
    }
    proof(qemu, 512, "hvfw.marker=sb-new-key", LINUX)?;
    assert_linux_secure_boot(qemu)?;
    Ok(())
}

/// The firmware built with `HVFW_SECURE_BOOT_KEYS` (PK as PEM, KEK as DER, db
/// and dbx as signature lists) boots the BLS matrix disk as the fw_cfg keys
/// do, and ignores a db the VMM hands over (the test's "other" key, which
/// would let the kernel it signed boot).
fn built_in_keys(_ctx: &Context, s: &mut Session) -> Result<(), String> {
    let m = material()?;
    auth_material(&m)?;
    let keys = m.file("built-in");
    std::fs::create_dir_all(&keys).map_err(|e| e.to_string())?;
    for (from, to) in [
        ("PK.crt", "PK.pem"),
        ("KEK.der", "KEK.der"),
        ("db.esl", "db.esl"),
        ("dbx.esl", "dbx.esl"),
    ] {
        std::fs::copy(m.file(from), keys.join(to)).map_err(|e| format!("{from}: {e}"))?;
    }
    let target = firmware::target(debian::Arch::Amd64);
    let status = std::process::Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .current_dir(crate::workspace_root())
        .args(["build", "--release", "--target", target])
        .env("HVFW_SECURE_BOOT_KEYS", &keys)
        .status()
        .map_err(|e| format!("cannot run cargo: {e}"))?;
    if !status.success() {
        return Err("the firmware build with HVFW_SECURE_BOOT_KEYS failed".into());
    }
    let built = firmware::target_dir().join(target).join("release/hypervisor-fw");
    let with_keys = m.file("hypervisor-fw-with-keys");
    std::fs::copy(&built, &with_keys).map_err(|e| e.to_string())?;
    let mut config = QemuConfig::new(&with_keys);
    config.disks.push(bls_matrix_disk(&m)?);
    fw_cfg_keys(&mut config, &[("db", &m.file("other.der"))]);
    let qemu = s.boot(&config)?;
    proof(qemu, 512, "hvfw.marker=sb-good", LINUX)?;
    assert_refused(qemu, "vmlinuz-unsigned", "unsigned")?;
    assert_refused(qemu, "vmlinuz-other-key", "signed by an unknown key")?;
    assert_refused(qemu, "vmlinuz-tampered", "modified after signing")?;
    assert_refused(qemu, "vmlinuz-revoked", "revoked by dbx")?;
    assert_linux_secure_boot(qemu)?;
    Ok(())
}

/// On aarch64 (`virt`, keys through fw_cfg's MMIO interface): Debian's arm64
/// kernel without its signature is refused, the same kernel signed by the
/// test's db key boots, and Linux reports Secure Boot and lockdown.
fn aarch64_bls(_ctx: &Context, s: &mut Session) -> Result<(), String> {
    let m = material()?;
    let unsigned = m.file("arm64-vmlinuz-unsigned");
    let signed = m.file("arm64-vmlinuz-signed");
    if !signed.exists() {
        std::fs::copy(debian::arm64_kernel()?, &unsigned).map_err(|e| e.to_string())?;
        images::run("sbattach", &["--remove", path_str(&unsigned)])?;
        images::run(
            "sbsign",
            &[
                "--key",
                path_str(&m.file("db.key")),
                "--cert",
                path_str(&m.file("db.crt")),
                "--output",
                path_str(&signed),
                path_str(&unsigned),
            ],
        )?;
    }
    let init = secure_boot_init_named(
        "sb-init-arm64",
        &secure_boot_script_from(initramfs::proof_script_for("ttyAMA0")),
    )?;
    let entry = |version: &str, kernel: &str, marker: &str| {
        format!(
            "title Secure Boot {version}\nversion {version}\nsort-key sb\nlinux /sb/{kernel}\n\
             initrd /sb/initrd.img\ninitrd /sb/sb-init.img\noptions console=ttyAMA0 hvfw.marker={marker}\n"
        )
    };
    let disk = images::bls_disk(&BlsDisk {
        name: "sb-bls-arm64".into(),
        esp_mib: 128,
        loader_conf: "timeout 0\n".into(),
        entries: vec![
            ("sb-2.conf".into(), entry("2", "arm64-vmlinuz-unsigned", "sb-unsigned")),
            ("sb-1.conf".into(), entry("1", "arm64-vmlinuz-signed", "sb-good")),
        ],
        files: vec![
            (
                "/sb/initrd.img".into(),
                Source::Host(initramfs::arm64_proof_initramfs()?),
            ),
            ("/sb/sb-init.img".into(), Source::Host(init)),
            ("/sb/arm64-vmlinuz-unsigned".into(), Source::Host(unsigned)),
            ("/sb/arm64-vmlinuz-signed".into(), Source::Host(signed)),
        ],
        boot_loader: None,
    })?;
    let mut config = QemuConfig::aarch64(&crate::boot_tests::aarch64_firmware()?);
    config.disks.push(disk);
    fw_cfg_keys(
        &mut config,
        &[
            ("PK", &m.file("PK.der")),
            ("KEK", &m.file("KEK.der")),
            ("db", &m.file("db.der")),
        ],
    );
    let qemu = s.boot(&config)?;
    crate::boot_tests::proof_with_acpi(qemu, 512, "hvfw.marker=sb-good", LINUX, &[])?;
    assert_refused(qemu, "arm64-vmlinuz-unsigned", "unsigned")?;
    assert_linux_secure_boot(qemu)?;
    Ok(())
}

/// A unified kernel image under Secure Boot: the UKI is one PE, signed with
/// the db key, and Debian 12's systemd-stub (252) starts the kernel in its
/// `.linux` section through LoadImage, which verifies it too; so the kernel
/// inside is signed with the db key as well (as `ukify --sign-kernel` does).
/// Linux itself says Secure Boot is on.
fn uki(ctx: &Context, s: &mut Session) -> Result<(), String> {
    let m = material()?;
    let inner = crate::bls_tests::uki_file_with("sb-uki-inner.efi", m.file("vmlinuz-signed"))?;
    let signed = m.file("uki-signed.efi");
    images::run(
        "sbsign",
        &[
            "--key",
            path_str(&m.file("db.key")),
            "--cert",
            path_str(&m.file("db.crt")),
            "--output",
            path_str(&signed),
            path_str(&inner),
        ],
    )?;
    let disk = images::bls_disk(&BlsDisk {
        name: "sb-uki".into(),
        esp_mib: 64,
        loader_conf: "timeout 0\n".into(),
        entries: vec![],
        files: vec![("/EFI/Linux/debian.efi".into(), Source::Host(signed))],
        boot_loader: None,
    })?;
    let mut config = QemuConfig::new(&ctx.firmware);
    config.disks.push(disk);
    fw_cfg_keys(&mut config, &[("PK", &m.file("PK.der")), ("db", &m.file("db.der"))]);
    let qemu = s.boot(&config)?;
    proof(qemu, 512, "hvfw.marker=uki-cmdline-ok", LINUX)?;
    // The kernel's own line (the proof initramfs inside the UKI reports no
    // Secure Boot facts).
    if !qemu.log().contains("secureboot: Secure boot enabled") {
        return Err("Linux did not report Secure Boot enabled".into());
    }
    if qemu.log().contains("Secure Boot: refused") {
        return Err("the firmware refused an image on the way".into());
    }
    Ok(())
}
