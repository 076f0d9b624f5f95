//! Variables that survive a power cycle: each test starts a new QEMU for the
//! next boot, on a writable copy of a cached disk, and asserts on what Linux
//! (or the EFI program) sees.

use crate::boot_tests::{self, BootTest, Context, Session};
use crate::images::{self, ShimGrub};
use crate::qemu::{Qemu, QemuConfig};
use std::path::{Path, PathBuf};
use std::time::Duration;

const LINUX: Duration = Duration::from_secs(120);

pub fn tests() -> Vec<BootTest> {
    vec![BootTest {
        name: "variables_fallback_entry_boots_the_second_start_without_fallback",
        run: fallback_entry_persists,
    }]
}

/// A copy of `disk` the test may write to (cached images stay pristine).
fn writable_copy(disk: &Path, tag: &str) -> Result<PathBuf, String> {
    let copy = images::tempdir(tag)?.join("disk.img");
    std::fs::copy(disk, &copy).map_err(|e| format!("cannot copy {}: {e}", disk.display()))?;
    Ok(copy)
}

fn proof_value(qemu: &Qemu, key: &str) -> String {
    let prefix = format!("HVFW-PROOF: {key}=");
    qemu.log()
        .lines()
        .find_map(|l| l.split_once(&prefix).map(|(_, v)| v.trim().to_string()))
        .unwrap_or_default()
}

/// Boots `disk` (written to, not a snapshot) until Linux powered off.
fn boot_to_linux(ctx: &Context, s: &mut Session, disk: &Path, marker: &str) -> Result<(), String> {
    let mut config = QemuConfig::new(&ctx.firmware);
    config.disks.push(disk.to_path_buf());
    config.snapshot = false;
    let qemu = s.boot(&config)?;
    boot_tests::proof(qemu, 512, marker, LINUX)?;
    let status = qemu.wait_exit(Duration::from_secs(60))?;
    if !status.success() {
        return Err(format!("QEMU exited with {status} after Linux powered off"));
    }
    Ok(())
}

/// Ubuntu's cloud layout (shim, fbx64.efi and mmx64.efi in `\EFI\BOOT`,
/// `\EFI\debian\` with BOOTX64.CSV): the first start runs fallback, which
/// writes `Boot####` and `BootOrder`; the second start (a new QEMU) boots that
/// entry, whose path is `\EFI\debian\shimx64.efi`, so fallback does not run
/// again, and Linux sees it as `BootCurrent`.
fn fallback_entry_persists(ctx: &Context, s: &mut Session) -> Result<(), String> {
    let disk = images::shim_grub_disk(&ShimGrub {
        name: "ubuntu-style-shim-fallback".into(),
        fallback_in_boot_dir: true,
        ..Default::default()
    })?;
    let disk = writable_copy(&disk, "fallback-persists")?;
    boot_to_linux(ctx, s, &disk, "hvfw.marker=grub-cmdline-ok")?;
    let first = s.qemu()?;
    let entries = proof_value(first, "efi-boot-entries");
    let created = entries
        .split_whitespace()
        .next()
        .ok_or(format!("fallback created no Boot#### entry (Linux sees {entries:?})"))?
        .to_string();
    println!("    first start: fallback created {created}");

    boot_to_linux(ctx, s, &disk, "hvfw.marker=grub-cmdline-ok")?;
    let second = s.qemu()?;
    let current = proof_value(second, "efi-boot-current");
    if !created.eq_ignore_ascii_case(&format!("Boot{current}")) {
        return Err(format!(
            "the second start did not boot fallback's entry {created}: BootCurrent is {current:?}"
        ));
    }
    second.assert_absent("\\EFI\\BOOT\\BOOTX64.EFI")?;
    println!("    second start: BootCurrent {current}, fallback not run");
    Ok(())
}
