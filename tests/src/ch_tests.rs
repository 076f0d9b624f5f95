//! Boot tests under Cloud Hypervisor (x86_64), nested in QEMU as
//! [`crate::cloud_hypervisor`] describes. Each asserts on what Linux (or the
//! EFI test application) reports from inside CH's guest; Linux's MemTotal is
//! compared with CH's own direct kernel boot of the same kernel and initramfs
//! with the same `--memory`.

use crate::boot_tests::{self, proof_value, BootTest, Context, Session};
use crate::cloud_hypervisor::{self as ch, ChConfig, Payload};
use crate::debian::Arch;
use crate::images::{self, BlsDisk, ShimGrub, Source};
use crate::qemu::Qemu;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Duration;

/// How long level 2 may take from CH's start to Linux's proof lines (measured: ~10 s).
const LINUX: Duration = Duration::from_secs(120);
/// How long the firmware may take to reach a line under CH.
const START: Duration = Duration::from_secs(60);
/// How far MemTotal may be from CH's direct kernel boot's.
const MEMTOTAL_TOLERANCE_PERCENT: u64 = 3;

pub fn tests() -> Vec<BootTest> {
    vec![
        BootTest {
            name: "cloud_hypervisor_bls_boots_debian_with_firmware_option",
            run: bls_firmware_option,
        },
        BootTest {
            name: "cloud_hypervisor_bls_boots_debian_with_kernel_option_on_two_vcpus",
            run: bls_kernel_option_two_vcpus,
        },
        BootTest {
            name: "cloud_hypervisor_bls_boots_with_4608_mib_part_above_4g",
            run: bls_above_4g,
        },
        BootTest {
            name: "cloud_hypervisor_linux_finds_smbios",
            run: smbios,
        },
        BootTest {
            name: "cloud_hypervisor_uki_boots",
            run: uki,
        },
        BootTest {
            name: "cloud_hypervisor_linux_boots_through_the_x86_boot_protocol",
            run: bzimage,
        },
        BootTest {
            name: "cloud_hypervisor_shim_grub_boots_debian",
            run: shim_grub,
        },
        BootTest {
            name: "cloud_hypervisor_ubuntu_style_shim_fallback_creates_and_boots_an_entry",
            run: shim_fallback,
        },
        BootTest {
            name: "cloud_hypervisor_systemd_boot_boots_a_bls_entry",
            run: systemd_boot,
        },
        BootTest {
            name: "cloud_hypervisor_efi_test_app_runs_boot_and_runtime_services",
            run: efi_test_app,
        },
        BootTest {
            name: "cloud_hypervisor_reset_system_shutdown_ends_cloud_hypervisor",
            run: reset_shutdown,
        },
        BootTest {
            name: "cloud_hypervisor_reset_system_cold_reboots_the_vm",
            run: reset_reboot,
        },
        BootTest {
            name: "cloud_hypervisor_menu_timeout_follows_the_wall_clock",
            run: menu_timeout,
        },
        BootTest {
            name: "cloud_hypervisor_refusing_the_vm_is_reported_with_its_error_chain",
            run: refused_vm,
        },
    ]
}

/// Waits for CH to end by itself with status 0 (Linux powered off).
fn expect_clean_exit(qemu: &mut Qemu) -> Result<(), String> {
    match ch::exit_status(qemu, Duration::from_secs(60))? {
        0 => Ok(()),
        status => Err(format!("cloud-hypervisor exited with status {status}")),
    }
}

/// MemTotal (kB) of CH's direct kernel boot (`--kernel vmlinuz --initramfs`)
/// of the cloud kernel and the proof initramfs with `memory_mib`: the figure
/// Linux reports through the firmware is compared with it. Measured once per
/// size and run.
fn direct_boot_memtotal(memory_mib: u64) -> Result<u64, String> {
    static MEASURED: Mutex<Option<HashMap<u64, u64>>> = Mutex::new(None);
    if let Some(kb) = MEASURED.lock().unwrap().as_ref().and_then(|m| m.get(&memory_mib)) {
        return Ok(*kb);
    }
    let mut session = Session::default();
    let mut config = direct_boot_config()?;
    config.memory_mib = memory_mib;
    let qemu = ch::boot(&mut session, &config)?;
    // No EFI here: only the kernel's own view of memory counts.
    qemu.wait_for("HVFW-PROOF: done", LINUX)
        .map_err(|e| format!("CH's direct kernel boot (the reference) failed: {e}"))?;
    let kb: u64 = proof_value(qemu, "memtotal_kb")
        .and_then(|v| v.parse().ok())
        .ok_or("CH's direct kernel boot printed no MemTotal")?;
    MEASURED
        .lock()
        .unwrap()
        .get_or_insert_with(HashMap::new)
        .insert(memory_mib, kb);
    Ok(kb)
}

/// CH's own direct boot of the cloud kernel with the proof initramfs.
pub fn direct_boot_config() -> Result<ChConfig, String> {
    let kernel = crate::debian::cloud_kernel()?;
    let mut config = ChConfig::kernel(&kernel, Some("console=ttyS0 hvfw.marker=ch-direct"));
    if let Payload::Kernel { initramfs, .. } = &mut config.payload {
        *initramfs = Some(crate::initramfs::proof_initramfs()?);
    }
    Ok(config)
}

/// Linux's proof lines (EFI, efivars, the ACPI tables CH gives) and MemTotal
/// within [`MEMTOTAL_TOLERANCE_PERCENT`] of CH's direct kernel boot.
fn proof(qemu: &mut Qemu, memory_mib: u64, marker: &str) -> Result<Duration, String> {
    let linux =
        boot_tests::proof_with_memory_share(qemu, memory_mib, 80, marker, LINUX, &["APIC", "FACP", "DSDT", "MCFG"])?;
    let kb: u64 = proof_value(qemu, "memtotal_kb")
        .and_then(|v| v.parse().ok())
        .ok_or("no MemTotal")?;
    let direct = direct_boot_memtotal(memory_mib)?;
    if kb.abs_diff(direct) * 100 > direct * MEMTOTAL_TOLERANCE_PERCENT {
        return Err(format!(
            "MemTotal {kb} kB through the firmware, {direct} kB with CH's direct kernel boot \
             (--memory size={memory_mib}M): more than {MEMTOTAL_TOLERANCE_PERCENT}% apart"
        ));
    }
    println!(
        "    MemTotal {kb} kB (CH direct boot: {direct} kB), Linux version after {:.2}s",
        linux.as_secs_f64()
    );
    Ok(linux)
}

fn bls_disk(name: &str, marker: &str) -> Result<PathBuf, String> {
    images::bls_disk(&images::cloud_kernel_bls(
        name,
        &format!("console=ttyS0 hvfw.marker={marker}"),
        None,
    )?)
}

fn bls_firmware_option(ctx: &Context, s: &mut Session) -> Result<(), String> {
    let mut config = ChConfig::firmware(&ctx.firmware);
    config.disks.push(bls_disk("ch-bls", "ch-bls")?);
    let qemu = ch::boot(s, &config)?;
    proof(qemu, 512, "hvfw.marker=ch-bls")?;
    clocks_agree(qemu)?;
    expect_clean_exit(qemu)
}

/// The firmware's TSC rate (`TSC: N MHz (from SOURCE)`) is within 1 % of the
/// one Linux detects (`tsc: Detected N MHz processor`), and was not guessed.
fn clocks_agree(qemu: &Qemu) -> Result<(), String> {
    let log = qemu.log();
    let ours = log
        .lines()
        .find_map(|l| l.strip_prefix("TSC: "))
        .ok_or("the firmware printed no TSC line")?;
    let (mhz, source) = ours
        .split_once(" MHz (from ")
        .ok_or(format!("unreadable TSC line {ours:?}"))?;
    let mhz: f64 = mhz
        .trim()
        .parse()
        .map_err(|_| format!("unreadable TSC line {ours:?}"))?;
    if source.starts_with("Assumed") || source.starts_with("BaseFrequency") {
        return Err(format!("the firmware guessed its clock under CH: {ours}"));
    }
    let linux: f64 = log
        .lines()
        .find_map(|l| {
            l.split_once("tsc: Detected ")
                .and_then(|(_, rest)| rest.split_once(" MHz"))
        })
        .and_then(|(v, _)| v.trim().parse().ok())
        .ok_or("Linux printed no `tsc: Detected N MHz` line")?;
    if (mhz - linux).abs() > linux / 100.0 {
        return Err(format!("the firmware's TSC is {mhz} MHz, Linux's {linux} MHz"));
    }
    println!("    TSC {mhz} MHz (from {source}; Linux: {linux} MHz)");
    Ok(())
}

fn bls_kernel_option_two_vcpus(ctx: &Context, s: &mut Session) -> Result<(), String> {
    let mut config = ChConfig::kernel(&ctx.firmware, None);
    config.disks.push(bls_disk("ch-bls", "ch-bls")?);
    config.cpus = 2;
    let qemu = ch::boot(s, &config)?;
    proof(qemu, 512, "hvfw.marker=ch-bls")?;
    match proof_value(qemu, "cpus").as_deref() {
        Some("2") => {}
        other => return Err(format!("Linux brought up {other:?} CPUs, not 2")),
    }
    expect_clean_exit(qemu)
}

fn bls_above_4g(ctx: &Context, s: &mut Session) -> Result<(), String> {
    let mut config = ChConfig::firmware(&ctx.firmware);
    config.disks.push(bls_disk("ch-bls", "ch-bls")?);
    config.memory_mib = 4608;
    let qemu = ch::boot(s, &config)?;
    proof(qemu, 4608, "hvfw.marker=ch-bls")?;
    expect_clean_exit(qemu)
}

/// CH writes an SMBIOS 3.0 entry point at 0xF0000 with the structures right after
/// it (its `arch/src/x86_64/smbios.rs`), outside the memory map it gives; the
/// system manufacturer is "Cloud Hypervisor" unless `--platform` names another,
/// and `--platform system_serial_number=` sets the serial number. Linux, booted
/// through the firmware, must report both from the table the firmware handed on,
/// and Debian's dmidecode decode all of it without a complaint.
fn smbios(ctx: &Context, s: &mut Session) -> Result<(), String> {
    const SERIAL: &str = "ds=nocloud;h=hvfw-ch";
    // The BLS disk with Debian's dmidecode as a second initrd.
    let mut disk = images::cloud_kernel_bls("ch-smbios", "console=ttyS0 hvfw.marker=ch-smbios", None)?;
    let (_, entry) = &mut disk.entries[0];
    *entry = entry.replace("\noptions ", "\ninitrd /debian/dmidecode.img\noptions ");
    disk.files.push((
        "/debian/dmidecode.img".into(),
        Source::Host(crate::initramfs::dmidecode_initramfs()?),
    ));
    let mut config = ChConfig::firmware(&ctx.firmware);
    config.disks.push(images::bls_disk(&disk)?);
    config.extra_args = vec!["--platform".into(), format!("system_serial_number={SERIAL}")];
    let qemu = ch::boot(s, &config)?;
    boot_tests::proof_with_memory_share(
        qemu,
        512,
        80,
        "hvfw.marker=ch-smbios",
        LINUX,
        &["APIC", "FACP", "DSDT", "MCFG"],
    )?;
    for (key, wanted) in [
        ("dmi-entry-point", "_SM3"),
        ("dmi-sys-vendor", "Cloud Hypervisor"),
        ("dmi-product-serial", SERIAL),
        ("dmidecode-version", "SMBIOS 3.2.0 present."),
        ("dmidecode-manufacturer", "Cloud Hypervisor"),
        ("dmidecode-serial", SERIAL),
        ("dmidecode-complaints", ""),
    ] {
        match proof_value(qemu, key) {
            Some(v) if v == wanted => {}
            other => return Err(format!("Linux reports {key}={other:?}, not {wanted:?}")),
        }
    }
    if let Some(line) = qemu.log().lines().find(|l| l.starts_with("SMBIOS ")) {
        println!("    firmware: {line}");
    }
    expect_clean_exit(qemu)
}

fn uki(ctx: &Context, s: &mut Session) -> Result<(), String> {
    let disk = images::bls_disk(&BlsDisk {
        name: "uki".into(),
        esp_mib: 64,
        loader_conf: "timeout 0\n".into(),
        entries: vec![],
        files: vec![(
            "/EFI/Linux/debian.efi".into(),
            Source::Host(crate::bls_tests::uki_file()?),
        )],
        boot_loader: None,
    })?;
    let mut config = ChConfig::firmware(&ctx.firmware);
    config.disks.push(disk);
    let qemu = ch::boot(s, &config)?;
    qemu.wait_for("Boot: starting Debian UKI (hypervisor-fw test)", START)?;
    proof(qemu, 512, "hvfw.marker=uki-cmdline-ok")?;
    expect_clean_exit(qemu)
}

fn bzimage(ctx: &Context, s: &mut Session) -> Result<(), String> {
    let mut config = ChConfig::kernel(&ctx.firmware, Some("hvfw.linux=bzimage"));
    config.disks.push(bls_disk("ch-bls", "ch-bls")?);
    let qemu = ch::boot(s, &config)?;
    qemu.wait_for("through the Linux x86 boot protocol", START)?;
    proof(qemu, 512, "hvfw.marker=ch-bls")?;
    expect_clean_exit(qemu)
}

fn shim_grub(ctx: &Context, s: &mut Session) -> Result<(), String> {
    let mut config = ChConfig::firmware(&ctx.firmware);
    config.disks.push(images::debian_shim_grub_disk()?);
    let qemu = ch::boot(s, &config)?;
    proof(qemu, 512, "hvfw.marker=grub-cmdline-ok")?;
    expect_clean_exit(qemu)
}

/// Ubuntu's cloud layout: `fbx64.efi` beside shim in `\EFI\BOOT`, so shim runs
/// fallback, which makes a `Boot####` entry from `\EFI\debian\BOOTX64.CSV` and
/// starts it itself (so, as under OVMF, `BootCurrent` is not that entry on this
/// first start): Linux boots and sees the entry fallback made.
fn shim_fallback(ctx: &Context, s: &mut Session) -> Result<(), String> {
    let disk = images::shim_grub_disk(&ShimGrub {
        name: "ubuntu-style-shim-fallback".into(),
        fallback_in_boot_dir: true,
        ..Default::default()
    })?;
    let mut config = ChConfig::firmware(&ctx.firmware);
    config.disks.push(disk);
    let qemu = ch::boot(s, &config)?;
    proof(qemu, 512, "hvfw.marker=grub-cmdline-ok")?;
    let entries = proof_value(qemu, "efi-boot-entries").unwrap_or_default();
    if !entries.split_whitespace().any(|e| e.starts_with("Boot")) {
        return Err(format!(
            "Linux sees no Boot#### entry from fallback (entries: {entries:?})"
        ));
    }
    expect_clean_exit(qemu)
}

fn systemd_boot(ctx: &Context, s: &mut Session) -> Result<(), String> {
    // Leave the BLS entries to systemd-boot (the firmware's command line
    // reaches it through --kernel's PVH start info).
    let mut config = ChConfig::kernel(&ctx.firmware, Some("hvfw.bls=off"));
    config.disks.push(images::systemd_boot_disk()?);
    let qemu = ch::boot(s, &config)?;
    proof(qemu, 512, "hvfw.marker=sdboot-cmdline-ok")?;
    let cmdline = proof_value(qemu, "cmdline").unwrap_or_default();
    if !cmdline.starts_with("initrd=\\debian\\") {
        return Err(format!("systemd-boot did not start this kernel: {cmdline}"));
    }
    expect_clean_exit(qemu)
}

fn efi_test_app(ctx: &Context, s: &mut Session) -> Result<(), String> {
    let mut config = ChConfig::firmware(&ctx.firmware);
    config
        .disks
        .push(boot_tests::efi_app_disk("efi-test-app", Arch::Amd64, &[])?);
    let qemu = ch::boot(s, &config)?;
    boot_tests::check_app_report(qemu)?;
    boot_tests::expect_app_disk_id(qemu, "hvfw-disk0")?;
    boot_tests::expect_app_smbios(qemu, "_SM3_ 3.2 structures=3", "manufacturer=Cloud Hypervisor")?;
    qemu.wait_for("\\EFI\\BOOT\\BOOTX64.EFI returned SUCCESS", START)?;
    Ok(())
}

/// ResetSystem(EfiResetShutdown) goes through CH's ACPI (its hardware-reduced
/// FADT's sleep control register): CH ends with status 0.
fn reset_shutdown(ctx: &Context, s: &mut Session) -> Result<(), String> {
    let mut config = ChConfig::firmware(&ctx.firmware);
    config.disks.push(boot_tests::efi_app_disk(
        "efi-test-app-shutdown",
        Arch::Amd64,
        &[("hvfw-shutdown", "power off\n")],
    )?);
    let qemu = ch::boot(s, &config)?;
    qemu.wait_for("HVFW-APP: ResetSystem(EfiResetShutdown)", START)?;
    expect_clean_exit(qemu)
}

/// ResetSystem(EfiResetCold) goes through CH's reset register: CH starts the
/// VM again, so the firmware's banner shows a second time.
fn reset_reboot(ctx: &Context, s: &mut Session) -> Result<(), String> {
    let mut config = ChConfig::firmware(&ctx.firmware);
    config.disks.push(boot_tests::efi_app_disk(
        "efi-test-app-reboot",
        Arch::Amd64,
        &[("hvfw-reboot", "reboot\n")],
    )?);
    // CH tears the VM down and builds it again. Nested under TCG, level 1's
    // KVM once spent over 40 s in that (a soft-lockup warning in level 1,
    // and no new start within a minute): that stall belongs to the nesting,
    // so a start that does not come back in 90 s is said and the whole boot
    // is tried once more; a second such start fails the test.
    for attempt in 1..=2 {
        let qemu = ch::boot(s, &config)?;
        qemu.wait_for("hypervisor-fw ", START)?;
        qemu.wait_for("HVFW-APP: ResetSystem(EfiResetCold)", START)?;
        match qemu.wait_for("hypervisor-fw ", Duration::from_secs(90)) {
            Ok(_) => {
                qemu.wait_for("HVFW-APP: started", START)?;
                return Ok(());
            }
            Err(e) if attempt == 1 && e.contains("timed out") => {
                println!("    the VM did not start again within 90 s (a nested-virtualisation stall): booting again");
            }
            Err(e) => return Err(format!("the VM did not start again after the reset: {e}")),
        }
    }
    unreachable!("the second attempt returns")
}

/// `loader.conf` `timeout 5`: the menu must wait 5 s of wall clock (+-10 %),
/// which holds only if the firmware's clock is calibrated against what CH
/// offers.
fn menu_timeout(ctx: &Context, s: &mut Session) -> Result<(), String> {
    let mut spec = images::cloud_kernel_bls("ch-menu-5s", "console=ttyS0 hvfw.marker=ch-menu", None)?;
    spec.loader_conf = "timeout 5\neditor no\n".into();
    let mut config = ChConfig::firmware(&ctx.firmware);
    config.disks.push(images::bls_disk(&spec)?);
    let qemu = ch::boot(s, &config)?;
    let shown = qemu.wait_for("hypervisor-fw boot menu", START)?;
    let booted = qemu.wait_for("Boot: starting ", START)?;
    let waited = (booted - shown).as_secs_f64();
    println!("    menu waited {waited:.2}s of wall clock for `timeout 5`");
    if !(4.5..=5.5).contains(&waited) {
        return Err(format!("the menu's 5 s timeout took {waited:.2}s of wall clock"));
    }
    Ok(())
}

/// The runner itself: when CH refuses the VM (here: a disk that does not
/// exist), the wait fails at once and its message carries CH's exit status
/// and error chain.
fn refused_vm(ctx: &Context, s: &mut Session) -> Result<(), String> {
    let mut config = ChConfig::firmware(&ctx.firmware);
    config.extra_args = vec!["--disk".into(), "path=/nonexistent.img,image_type=raw".into()];
    let qemu = ch::boot(s, &config)?;
    let Err(error) = qemu.wait_for("hypervisor-fw ", START) else {
        return Err("the firmware started although CH should have refused the VM".into());
    };
    if !(error.contains("cloud-hypervisor exited") && error.contains("nonexistent.img")) {
        return Err(format!(
            "the failure does not carry CH's status and error chain: {error}"
        ));
    }
    println!("    {error}");
    Ok(())
}
