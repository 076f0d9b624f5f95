//! Disks under pressure, proved by Linux booting: a virtio-blk device that never
//! completes a request (QEMU's own I/O throttling, no firmware hook) is named and
//! the next disk boots; disks of 4096-byte logical blocks (GPT and FAT32 counted
//! in 4 KiB sectors, made by `fdisk -b 4096` and `mkfs.fat -S 4096`) boot Debian
//! from a Boot Loader Specification entry on x86_64 and aarch64.

use crate::bls_tests::ARM64_ACPI_TABLES;
use crate::boot_tests::{aarch64_firmware, proof, proof_with_acpi, BootTest, Context, Session};
use crate::images::{self, Source};
use crate::qemu::QemuConfig;
use crate::{debian, initramfs};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// How long the firmware may take to reach a line under TCG.
const START: Duration = Duration::from_secs(20);
/// How long Linux may take to print its proof lines under TCG.
const LINUX: Duration = Duration::from_secs(120);
/// The firmware's message for a request that timed out; the time follows (5 s
/// for a small request, `REQUEST_TIMEOUT_MS` in `src/platform/mod.rs`, more for
/// a large one).
const REQUEST_TIMEOUT: &str = " did not complete in ";

pub fn tests() -> Vec<BootTest> {
    vec![
        BootTest {
            name: "disk_stuck_virtio_blk_is_named_and_the_next_disk_boots_linux",
            run: stuck_disk,
        },
        BootTest {
            name: "disk_4kn_x86_64_boots_debian_from_a_bls_entry",
            run: x86_64_4kn,
        },
        BootTest {
            name: "disk_4kn_x86_64_linux_stub_reads_its_initrd_through_the_file_protocol",
            run: x86_64_4kn_stub_initrd,
        },
        BootTest {
            name: "disk_4kn_aarch64_boots_debian_from_a_bls_entry",
            run: aarch64_4kn,
        },
    ]
}

/// `-drive`/`-device` arguments for a modern virtio-blk-pci disk `id` on `path`
/// (snapshot, so cached images stay pristine), with extra drive and device options.
fn virtio_blk_args(id: &str, path: &Path, drive_options: &str, device_options: &str) -> Vec<String> {
    vec![
        "-drive".into(),
        format!(
            "if=none,id={id},format=raw,file={},snapshot=on{drive_options}",
            path.display()
        ),
        "-device".into(),
        format!("virtio-blk-pci,drive={id},disable-legacy=on{device_options}"),
    ]
}

// ---- a device that never completes a request ----

/// QEMU's block throttling (`throttling.*` of `-drive`, a leaky bucket): the
/// disk may read this many bytes at once, then 1 byte a second, so the first
/// request past the budget would take days. The budget lets the firmware read
/// the partition table, the FAT and the BLS entries, and the kernel gets stuck.
const STUCK_BUDGET_BYTES: u64 = 2 << 20;

/// Two Debian BLS disks; the first stops answering part-way (QEMU throttling).
/// The firmware must name it in the timeout's message, and Linux must boot from
/// the second disk's entry (its own command-line marker).
fn stuck_disk(ctx: &Context, s: &mut Session) -> Result<(), String> {
    let stuck = images::bls_disk(&images::cloud_kernel_bls(
        "disk-stuck-first",
        "console=ttyS0 hvfw.marker=stuck-disk",
        None,
    )?)?;
    let second = images::bls_disk(&images::cloud_kernel_bls(
        "disk-stuck-second",
        "console=ttyS0 hvfw.marker=second-disk",
        None,
    )?)?;
    let mut config = QemuConfig::new(&ctx.firmware);
    let throttle = format!(",throttling.bps-total=1,throttling.bps-total-max={STUCK_BUDGET_BYTES}");
    config
        .extra_args
        .extend(virtio_blk_args("stuck", &stuck, &throttle, ""));
    config.extra_args.extend(virtio_blk_args("second", &second, "", ""));
    let qemu = s.boot(&config)?;
    qemu.wait_for("disk 0: virtio-blk at PCI ", START)?;
    // The message names the disk as the boot log does, then the time limit.
    let named = qemu.wait_for("disk 0 (virtio-blk at PCI ", START + Duration::from_secs(10))?;
    qemu.wait_for(REQUEST_TIMEOUT, Duration::from_secs(2))?;
    qemu.wait_for("\n", Duration::from_secs(2))?;
    let log = qemu.log();
    let line = log
        .lines()
        .find(|l| l.contains("disk 0 (virtio-blk at PCI ") && l.contains(REQUEST_TIMEOUT))
        .ok_or("the timeout's message does not name disk 0 on one line")?
        .to_string();
    println!("    {} (after {:.1}s)", line.trim(), named.as_secs_f64());
    let linux = proof(qemu, 512, "hvfw.marker=second-disk", LINUX)?;
    if qemu.log().contains("hvfw.marker=stuck-disk") {
        return Err("Linux got the stuck disk's command line".into());
    }
    println!(
        "    Linux version from the second disk after {:.2}s",
        linux.as_secs_f64()
    );
    Ok(())
}

// ---- 4Kn disks ----

/// How Linux gets its initrd.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Initrd {
    /// The entry's `initrd` line: the firmware offers it through LoadFile2.
    EntryLine,
    /// `initrd=\debian\initrd.img` on the command line: Linux's EFI stub opens
    /// it with SimpleFileSystem on the volume it was loaded from.
    StubOption,
}

/// A 4Kn disk whose ESP holds `kernel`, `initrd` and one BLS entry for EFI
/// architecture `arch` with `options`.
fn bls_4kn_disk(
    name: &str,
    arch: &str,
    kernel: PathBuf,
    initrd: PathBuf,
    options: &str,
    how: Initrd,
) -> Result<PathBuf, String> {
    let version = debian::kernel_release(&kernel);
    let (line, option) = match how {
        Initrd::EntryLine => ("initrd /debian/initrd.img\n", ""),
        Initrd::StubOption => ("", " initrd=\\debian\\initrd.img"),
    };
    let entry = format!(
        "title Debian {version} (4Kn)\nversion {version}\narchitecture {arch}\n\
         linux /debian/linux\n{line}options {options}{option}\n"
    );
    images::esp_4kn_disk(
        name,
        &[
            ("loader/loader.conf".into(), Source::text("timeout 0\n")),
            (format!("loader/entries/debian-{version}.conf"), Source::text(&entry)),
            ("debian/linux".into(), Source::Host(kernel)),
            ("debian/initrd.img".into(), Source::Host(initrd)),
        ],
    )
}

/// QEMU's virtio-blk device options for 4096-byte logical and physical blocks.
fn blocks_4k() -> String {
    let size = images::SECTOR_4KN;
    format!(",logical_block_size={size},physical_block_size={size}")
}

/// Checks, before trusting the boot, that the device really reported 4096-byte
/// blocks: the firmware's disk line says what the device's `blk_size` was.
fn expect_4k_disk(qemu: &mut crate::qemu::Qemu) -> Result<(), String> {
    qemu.wait_for("disk 0: virtio-blk at PCI ", START)?;
    qemu.wait_for("blocks of 4096 bytes)", Duration::from_secs(2))?;
    Ok(())
}

fn x86_64_4kn(ctx: &Context, s: &mut Session) -> Result<(), String> {
    let disk = bls_4kn_disk(
        "disk-4kn-x86_64",
        "x64",
        debian::cloud_kernel()?,
        initramfs::proof_initramfs()?,
        "console=ttyS0 hvfw.marker=4kn-x86_64",
        Initrd::EntryLine,
    )?;
    let mut config = QemuConfig::new(&ctx.firmware);
    config
        .extra_args
        .extend(virtio_blk_args("d4k", &disk, "", &blocks_4k()));
    let qemu = s.boot(&config)?;
    expect_4k_disk(qemu)?;
    let linux = proof(qemu, 512, "hvfw.marker=4kn-x86_64", LINUX)?;
    println!("    Linux version after {:.2}s (4Kn disk, BLS)", linux.as_secs_f64());
    Ok(())
}

/// The proof lines come from the initramfs: they prove the stub read it, in
/// 4 KiB sectors, through the firmware's file protocol.
fn x86_64_4kn_stub_initrd(ctx: &Context, s: &mut Session) -> Result<(), String> {
    let disk = bls_4kn_disk(
        "disk-4kn-x86_64-stub-initrd",
        "x64",
        debian::cloud_kernel()?,
        initramfs::proof_initramfs()?,
        "console=ttyS0 hvfw.marker=4kn-stub-initrd",
        Initrd::StubOption,
    )?;
    let mut config = QemuConfig::new(&ctx.firmware);
    config
        .extra_args
        .extend(virtio_blk_args("d4k", &disk, "", &blocks_4k()));
    let qemu = s.boot(&config)?;
    expect_4k_disk(qemu)?;
    let linux = proof(
        qemu,
        512,
        "hvfw.marker=4kn-stub-initrd initrd=\\debian\\initrd.img",
        LINUX,
    )?;
    // Linux's own word that its stub, not the firmware's LoadFile2, loaded it.
    if !qemu.log().contains("EFI stub: Loaded initrd from command line option") {
        return Err("Linux's EFI stub did not say it loaded the initrd= file".into());
    }
    println!(
        "    Linux version after {:.2}s (4Kn disk, initrd= read by the stub)",
        linux.as_secs_f64()
    );
    Ok(())
}

fn aarch64_4kn(_ctx: &Context, s: &mut Session) -> Result<(), String> {
    let disk = bls_4kn_disk(
        "disk-4kn-aarch64",
        "aa64",
        debian::arm64_kernel()?,
        initramfs::arm64_proof_initramfs()?,
        "console=ttyAMA0 hvfw.marker=4kn-aarch64",
        Initrd::EntryLine,
    )?;
    let mut config = QemuConfig::aarch64(&aarch64_firmware()?);
    config
        .extra_args
        .extend(virtio_blk_args("d4k", &disk, "", &blocks_4k()));
    let qemu = s.boot(&config)?;
    expect_4k_disk(qemu)?;
    let linux = proof_with_acpi(qemu, 512, "hvfw.marker=4kn-aarch64", LINUX, ARM64_ACPI_TABLES)?;
    println!(
        "    Linux version after {:.2}s (aarch64, 4Kn disk, BLS)",
        linux.as_secs_f64()
    );
    Ok(())
}
