//! LoadImage's statuses under Secure Boot and EFI_SECURITY2_ARCH_PROTOCOL as
//! a program sees them (tests/efi-app/src/sb_arch.rs): a refused image is
//! loaded with a handle StartImage refuses and UnloadImage frees; a program's
//! FileAuthentication in place of the firmware's decides (as systemd-stub
//! relies on); ACCESS_DENIED loads nothing.

use super::{fw_cfg_keys, material, signed_test_app};
use crate::boot_tests::{Context, Session};
use crate::firmware;
use crate::images::{self, BlsDisk, Source};
use crate::qemu::QemuConfig;
use std::time::Duration;

/// The signed test application runs the checks on the unsigned one; each
/// must report ok, and the firmware's log names the refusal and the
/// StartImage it refused.
pub(super) fn security_arch(ctx: &Context, s: &mut Session) -> Result<(), String> {
    let m = material()?;
    let unsigned = firmware::build_efi_test_app()?;
    let signed = signed_test_app(&m)?;
    let disk = images::bls_disk(&BlsDisk {
        name: "sb-arch".into(),
        esp_mib: 64,
        loader_conf: "timeout 0\n".into(),
        entries: vec![(
            "sb-1.conf".into(),
            "title Secure Boot arch\nversion 1\nsort-key sb\nefi /sb/app.efi\n".into(),
        )],
        files: vec![
            ("/hvfw-sb-arch".into(), Source::text("yes\n")),
            ("/sb/app.efi".into(), Source::Host(signed)),
            ("/sb/unsigned.efi".into(), Source::Host(unsigned)),
        ],
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
    qemu.wait_for("HVFW-APP: sb-arch done", Duration::from_secs(60))?;
    let log = qemu.log();
    for check in ["sb-arch-refused", "sb-arch-override", "sb-arch-denied"] {
        let ok = format!("HVFW-APP: ok {check}");
        if !log.contains(&ok) {
            let failure = log
                .lines()
                .find(|l| l.contains(&format!("HVFW-APP: FAIL {check}")))
                .unwrap_or("no report");
            return Err(format!("{check}: {}", failure.trim()));
        }
        println!("    {ok}");
    }
    for (what, needles) in [
        (
            "the refusal of the unsigned image",
            ["Secure Boot: refused an image from memory", "unsigned"],
        ),
        ("StartImage's refusal", ["StartImage: the image on", "not started"]),
    ] {
        let line = log
            .lines()
            .find(|l| needles.iter().all(|n| l.contains(n)))
            .ok_or_else(|| format!("no log line for {what}"))?;
        println!("    {}", line.trim());
    }
    Ok(())
}
