//! A riscv64 EFI program reads the firmware's clock: GRUB, built from Debian
//! 13's riscv64 modules, runs `date` (GetTime, UEFI 2.10 §8.3.1, over QEMU
//! `virt`'s Goldfish RTC) and the test compares what GRUB prints with the
//! host's clock. Debian's riscv64 kernel has no `rtc-efi` driver (it reads the
//! Goldfish RTC itself), so an EFI program is the consumer that proves GetTime.
//!
//! Debian ships no prebuilt riscv64 GRUB image (no signed GRUB there), so the
//! test makes one as `grub-install` would: Debian 12's `grub-mkimage` (from
//! `grub-common`, unpacked, not installed) over `grub-efi-riscv64-bin`'s
//! modules.

use crate::boot_tests::{BootTest, Context, Session};
use crate::debian::{self, Arch};
use crate::images::{self, Partition, Source};
use crate::qemu::QemuConfig;
use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

pub fn tests() -> Vec<BootTest> {
    vec![BootTest {
        name: "riscv64_grub_date_reads_the_goldfish_clock_through_get_time",
        run: grub_date,
    }]
}

const START: Duration = Duration::from_secs(120);

/// The modules the image carries: enough to read its configuration from the
/// ESP, print the date and power off.
const MODULES: &[&str] = &["normal", "configfile", "echo", "date", "fat", "part_gpt", "halt"];

/// `BOOTRISCV64.EFI`: GRUB made by `grub-mkimage -O riscv64-efi`, cached in
/// `target/debian/` and remade when either package changes.
fn grub_riscv64() -> Result<PathBuf, String> {
    let mkimage = debian::file_in("grub-common", Arch::Amd64, "usr/bin/grub-mkimage")?;
    let modules = debian::extract_for("grub-efi-riscv64-bin", Arch::Riscv64)?.join("usr/lib/grub/riscv64-efi");
    let recipe = format!(
        "grub-riscv64-v1 {} {} {}",
        images::file_identity(&mkimage)?,
        images::file_identity(&modules.join("kernel.img"))?,
        MODULES.join(" ")
    );
    images::cached_in("debian", "grubriscv64.efi", &recipe, |out| {
        let (d, o) = (modules.to_string_lossy(), out.to_string_lossy());
        let mut args = vec!["-O", "riscv64-efi", "-d", &d, "-p", "/EFI/BOOT", "-o", &o];
        args.extend_from_slice(MODULES);
        images::run(&mkimage.to_string_lossy(), &args).map(|_| ())
    })
}

/// The UTC date and time of `seconds` since the epoch, as GRUB's `date` prints
/// it (`YYYY-MM-DD HH:MM:SS`).
fn utc(seconds: u64) -> String {
    let days = (seconds / 86_400) as i64;
    let rest = seconds % 86_400;
    // Days since 1970-01-01 to a civil date (the proleptic Gregorian calendar).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02}",
        rest / 3600,
        rest % 3600 / 60,
        rest % 60
    )
}

/// The first `YYYY-MM-DD HH:MM:SS` in `text` (GRUB's console may wrap it in
/// terminal escapes).
fn find_date(text: &str) -> Option<&str> {
    const SHAPE: &[u8] = b"dddd-dd-dd dd:dd:dd";
    let bytes = text.as_bytes();
    (0..bytes.len().saturating_sub(SHAPE.len() - 1))
        .find(|&at| {
            SHAPE.iter().zip(&bytes[at..]).all(|(&want, &got)| match want {
                b'd' => got.is_ascii_digit(),
                other => got == other,
            })
        })
        .map(|at| &text[at..at + SHAPE.len()])
}

fn now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

fn grub_date(_ctx: &Context, s: &mut Session) -> Result<(), String> {
    let grub = grub_riscv64()?;
    let cfg = "set timeout=0\necho \"HVFW-GRUB-DATE: begin\"\ndate\necho \"HVFW-GRUB-DATE: end\"\nhalt\n";
    let disk = images::custom_disk(
        "grub-riscv64-date",
        &[Partition::esp(
            48,
            vec![
                ("EFI/BOOT/BOOTRISCV64.EFI".into(), Source::Host(grub)),
                ("EFI/BOOT/grub.cfg".into(), Source::text(cfg)),
            ],
        )],
    )?;
    let firmware = crate::firmware::build_for(Arch::Riscv64, crate::firmware::Variant::Release)?;
    let mut config = QemuConfig::riscv64(&firmware);
    config.disks.push(disk);
    let before = now();
    let qemu = s.boot(&config)?;
    qemu.wait_for("HVFW-GRUB-DATE: end", START)?;
    let after = now();
    let log = qemu.log().clone();
    let block = log.split("HVFW-GRUB-DATE: begin").nth(1).unwrap_or_default();
    let printed = find_date(block).ok_or("GRUB printed no date")?;
    // GRUB's date is taken between `before` and `after`, to the second; allow
    // one second either side for the RTC's own rounding.
    let range = before.saturating_sub(1)..=after + 1;
    if !range.clone().any(|t| utc(t) == printed) {
        return Err(format!(
            "GRUB's date (GetTime) is {printed}, the host's clock was {} .. {}",
            utc(*range.start()),
            utc(*range.end())
        ));
    }
    println!("    GRUB (riscv64) date: {printed} UTC, the host agrees");
    let status = qemu.wait_exit(Duration::from_secs(30))?;
    if !status.success() {
        return Err(format!("QEMU ended with {status} after GRUB's halt"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::{find_date, utc};

    #[test]
    fn dates_are_found_among_terminal_escapes() {
        assert_eq!(
            find_date("begin\r\n\x1b[0m2026-12-03 19:05:12 Thursday\r\n"),
            Some("2026-12-03 19:05:12")
        );
        assert_eq!(find_date("2026-12-03 19:05"), None);
    }

    #[test]
    fn utc_dates_as_grub_prints_them() {
        assert_eq!(utc(0), "1970-01-01 00:00:00");
        assert_eq!(utc(951_782_400), "2000-02-29 00:00:00");
        assert_eq!(utc(1_796_324_264), "2026-12-03 18:57:44");
    }
}
