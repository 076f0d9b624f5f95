//! `cargo xtask bench`: how hypervisor-fw compares with Debian's OVMF and with
//! QEMU's own direct kernel boot, under QEMU TCG (there is no usable KVM here).
//!
//! Every scenario is a disk booted N times by each applicable contender, the
//! runs interleaved (run 1 of everything, then run 2, ...; the contenders'
//! order rotates) so that machine noise hits them alike. Times come from this
//! harness's clock as serial output arrives, measured from QEMU's start:
//!
//! - firmware first line: ours prints its `hypervisor-fw <version>` banner; for
//!   OVMF, its first serial byte; direct boot has none;
//! - `Linux version`: the kernel's first line;
//! - `HVFW-PROOF: done`: the proof initramfs's last line before it powers off.
//!
//! Besides boot time: the initrd load rate through the BLS path (a 128 MiB
//! initrd against the small one), the firmware's own file read rate (the
//! `test-hooks` build's `hvfw.test=read=` hook), the release ELF's size, and the
//! memory the firmware leaves reserved, from its [`MEMORY_LINE`].
//!
//! The machine has q35's default standard VGA. Two environment variables let
//! one compare: `HVFW_BENCH_QEMU_ARGS` adds QEMU arguments to every contender
//! (`-vga none` for a machine without a display) and `HVFW_BENCH_FIRMWARE` is an
//! ELF to run instead of building this tree's (another branch's build).
//!
//! The report is a markdown table on stdout and JSON in `target/bench/results.json`
//! (schema [`SCHEMA`], documented in `write_json`). Runs are sequential: never
//! two QEMUs at once.

use crate::firmware::{self, Variant};
use crate::images::{self, cached_in, file_identity, Source};
use crate::initramfs::{self, Cpio, PROOF_DONE};
use crate::{boot_tests, debian, workspace_root};
use std::fmt::Write as _;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

/// The JSON's `schema` value; bump it when the layout changes.
pub const SCHEMA: &str = "hvfw-bench-v2";

/// The line the firmware prints at ExitBootServices, in decimal bytes:
///
/// ```text
/// hvfw-memory: runtime_code=<bytes> runtime_data=<bytes> acpi_reclaim=<bytes> acpi_nvs=<bytes> boot_services_peak=<bytes>
/// ```
///
/// The first four are the totals of those EFI memory types in the map the OS
/// gets (what stays reserved for it); `boot_services_peak` is the most memory the
/// firmware held as boot services code and data at any time during the boot.
/// It may follow a log prefix on its line; the last such line counts.
/// (EfiReservedMemoryType is not on the line: the firmware allocates none; what the
/// map has of it comes from the VMM.)
pub const MEMORY_LINE: &str = "hvfw-memory:";
/// The keys of [`MEMORY_LINE`], in order; the first four make up "reserved for the OS".
pub const MEMORY_KEYS: [&str; 5] = [
    "runtime_code",
    "runtime_data",
    "acpi_reclaim",
    "acpi_nvs",
    "boot_services_peak",
];

/// Guest RAM for every boot (`-m`).
const MEMORY: &str = "512M";
/// Guest RAM for the read-rate hook, as its boot test uses.
const READ_HOOK_MEMORY: &str = "1G";
/// How long one boot may take under TCG before it counts as failed.
const BOOT_TIMEOUT: Duration = Duration::from_secs(300);
/// Size of the padding file in the big initrd, in MiB.
const BIG_INITRD_MIB: u64 = 128;

/// The firmware prints this when it finds nothing to boot: the scenario is not
/// supported yet, rather than broken.
const NOTHING_TO_BOOT: &str = "no bootable device found";
/// Lines that end a boot of ours at once.
const OUR_FAILURES: &[&str] = &[NOTHING_TO_BOOT, "PANIC: ", "EXCEPTION ", "Kernel panic"];
/// Lines that end an OVMF boot at once: it gave up on the disk.
const OVMF_FAILURES: &[&str] = &["UEFI Interactive Shell", "Kernel panic"];
const DIRECT_FAILURES: &[&str] = &["Kernel panic"];

/// What `cargo xtask bench` was asked for.
#[derive(Clone, Debug)]
pub struct Options {
    /// Runs of each scenario and contender.
    pub runs: usize,
    /// Only these scenarios (names from [`scenarios`], plus [`READ_RATE`]); all when empty.
    pub only: Vec<String>,
}

/// The name that selects the firmware read-rate measurement with `--scenario`.
pub const READ_RATE: &str = "read-rate";
/// The name that selects the smallest-RAM measurement with `--scenario`.
pub const SMALLEST_RAM: &str = "smallest-ram";

/// Who boots the disk.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Contender {
    /// hypervisor-fw, release build, as a PVH `-kernel`.
    Ours,
    /// Debian's OVMF from pflash with a fresh variable store.
    Ovmf,
    /// QEMU's `-kernel`/`-initrd`/`-append` of the scenario's kernel.
    Direct,
}

impl Contender {
    pub const ALL: [Contender; 3] = [Contender::Ours, Contender::Ovmf, Contender::Direct];

    pub fn name(self) -> &'static str {
        match self {
            Contender::Ours => "hypervisor-fw",
            Contender::Ovmf => "OVMF",
            Contender::Direct => "direct",
        }
    }

    fn key(self) -> &'static str {
        match self {
            Contender::Ours => "hypervisor_fw",
            Contender::Ovmf => "ovmf",
            Contender::Direct => "direct",
        }
    }
}

/// The same kernel, initrd and command line handed over by QEMU itself.
#[derive(Clone, Debug)]
pub struct DirectBoot {
    pub kernel: PathBuf,
    pub initrd: PathBuf,
    pub cmdline: String,
}

/// A scenario's inputs, built before the runs.
#[derive(Clone, Debug)]
pub struct Prepared {
    pub disk: PathBuf,
    /// Why OVMF does not apply (no boot loader on the disk), or `None` when it does.
    pub no_ovmf: Option<&'static str>,
    pub direct: Option<DirectBoot>,
    /// hypervisor-fw's own command line (`-append`), e.g. `hvfw.linux=bzimage`.
    pub firmware_append: Option<&'static str>,
    /// Why only hypervisor-fw runs (a variant of another scenario's firmware), or `None`.
    pub ours_only: Option<&'static str>,
    /// Secure Boot: the `-fw_cfg` arguments that hand hypervisor-fw its keys;
    /// OVMF then runs its Secure Boot build with Microsoft's keys enrolled
    /// ([`OVMF_SECBOOT_CODE`], [`OVMF_MS_VARS`], SMM on).
    pub secure_boot: Option<Vec<String>>,
}

/// Debian's OVMF built with Secure Boot and SMM, and its variable store with
/// Microsoft's keys enrolled (and Secure Boot on).
pub const OVMF_SECBOOT_CODE: &str = "/usr/share/OVMF/OVMF_CODE_4M.secboot.fd";
pub const OVMF_MS_VARS: &str = "/usr/share/OVMF/OVMF_VARS_4M.ms.fd";

/// One boot scenario.
pub struct Scenario {
    pub name: &'static str,
    pub about: &'static str,
    pub prepare: fn() -> Result<Prepared, String>,
}

/// Every scenario, in report order. Adding one is an entry here and a `prepare`.
pub fn scenarios() -> Vec<Scenario> {
    vec![
        Scenario {
            name: "shim-grub",
            about: "Debian shim + GRUB on a GPT disk, kernel on ext4",
            prepare: shim_grub,
        },
        Scenario {
            name: "systemd-boot",
            about: "systemd-boot with one BLS Type #1 entry",
            prepare: systemd_boot,
        },
        Scenario {
            name: "bls",
            about: "BLS Type #1 entry on an ESP without a boot loader",
            prepare: bls,
        },
        Scenario {
            name: BLS_BIG,
            about: "as bls, the initrd padded with 128 MiB of noise",
            prepare: bls_big_initrd,
        },
        Scenario {
            name: "uki",
            about: "BLS Type #2 unified kernel image made with objcopy",
            prepare: uki,
        },
        Scenario {
            name: BLS_NO_TLB_WARMUP,
            about: "as bls, without readying TCG's TLB before StartImage (hvfw.tlb-warmup=off)",
            prepare: bls_no_tlb_warmup,
        },
        Scenario {
            name: UKI_NO_TLB_WARMUP,
            about: "as uki, without readying TCG's TLB before StartImage (hvfw.tlb-warmup=off)",
            prepare: uki_no_tlb_warmup,
        },
        Scenario {
            name: SHIM_GRUB_SECURE_BOOT,
            about: "shim-grub under Secure Boot with Microsoft's keys (OVMF: its secboot build, SMM)",
            prepare: shim_grub_secure_boot,
        },
        Scenario {
            name: BLS_SECURE_BOOT,
            about: "as bls under Secure Boot, the kernel signed by a test key in db",
            prepare: bls_secure_boot,
        },
        Scenario {
            name: "bzimage",
            about: "the bls disk booted through the x86 boot protocol (hvfw.linux=bzimage)",
            prepare: bzimage,
        },
    ]
}

const SHIM_GRUB_SECURE_BOOT: &str = "shim-grub-secure-boot";
const BLS_SECURE_BOOT: &str = "bls-secure-boot";

fn shim_grub_secure_boot() -> Result<Prepared, String> {
    let keys = crate::secure_boot_tests::microsoft_keys()?;
    let mut prepared = shim_grub()?;
    prepared.direct = None;
    prepared.secure_boot = Some(crate::secure_boot_tests::fw_cfg_args(&keys));
    Ok(prepared)
}

fn bls_secure_boot() -> Result<Prepared, String> {
    let m = crate::secure_boot_tests::material()?;
    let mut spec = images::cloud_kernel_bls("bench-bls-secure-boot", BLS_OPTIONS, None)?;
    for (path, source) in &mut spec.files {
        if path.ends_with("/linux") {
            *source = Source::Host(m.file("vmlinuz-signed"));
        }
    }
    let keys = [
        ("PK", m.file("PK.der")),
        ("KEK", m.file("KEK.der")),
        ("db", m.file("db.der")),
    ];
    Ok(Prepared {
        disk: images::bls_disk(&spec)?,
        no_ovmf: Some(NO_BOOT_LOADER),
        direct: None,
        firmware_append: None,
        ours_only: None,
        secure_boot: Some(crate::secure_boot_tests::fw_cfg_args(&keys)),
    })
}

/// The scenario whose difference from `bls` gives the initrd load rate.
const BLS_BIG: &str = "bls-initrd-128m";

/// The command line inside the UKI the boot tests build.
const UKI_CMDLINE: &str = "console=ttyS0 hvfw.marker=uki-cmdline-ok";

fn uki() -> Result<Prepared, String> {
    let spec = images::BlsDisk {
        name: "bench-uki".into(),
        esp_mib: 64,
        loader_conf: "timeout 0\n".into(),
        entries: vec![],
        files: vec![(
            "/EFI/Linux/debian.efi".into(),
            images::Source::Host(crate::bls_tests::uki_file()?),
        )],
        boot_loader: None,
    };
    Ok(Prepared {
        disk: images::bls_disk(&spec)?,
        no_ovmf: Some(NO_BOOT_LOADER),
        direct: direct(initramfs::proof_initramfs()?, UKI_CMDLINE)?,
        firmware_append: None,
        ours_only: None,
        secure_boot: None,
    })
}

/// The firmware's switch for its TCG TLB readying (`fw_arch::x86_64::tlb_warmup::OFF_SWITCH`).
const TLB_WARMUP_OFF: &str = "hvfw.tlb-warmup=off";
const BLS_NO_TLB_WARMUP: &str = "bls-no-tlb-warmup";
const UKI_NO_TLB_WARMUP: &str = "uki-no-tlb-warmup";
/// Each scenario beside its twin booted with [`TLB_WARMUP_OFF`].
const TLB_WARMUP_TWINS: [(&str, &str); 2] = [("bls", BLS_NO_TLB_WARMUP), ("uki", UKI_NO_TLB_WARMUP)];

/// `prepared` with the firmware's TLB readying off; the other contenders are
/// the same as in the scenario it comes from, so they do not run again.
fn without_tlb_warmup(mut prepared: Prepared) -> Prepared {
    prepared.firmware_append = Some(TLB_WARMUP_OFF);
    prepared.ours_only = Some("only the firmware's TLB readying differs");
    prepared
}

fn bls_no_tlb_warmup() -> Result<Prepared, String> {
    bls().map(without_tlb_warmup)
}

fn uki_no_tlb_warmup() -> Result<Prepared, String> {
    uki().map(without_tlb_warmup)
}

fn bzimage() -> Result<Prepared, String> {
    let mut prepared = bls()?;
    prepared.firmware_append = Some("hvfw.linux=bzimage");
    Ok(prepared)
}

/// The cloud kernel with `initrd`, as the disks hold it.
fn direct(initrd: PathBuf, cmdline: &str) -> Result<Option<DirectBoot>, String> {
    Ok(Some(DirectBoot {
        kernel: debian::cloud_kernel()?,
        initrd,
        cmdline: cmdline.into(),
    }))
}

fn shim_grub() -> Result<Prepared, String> {
    Ok(Prepared {
        disk: images::debian_shim_grub_disk()?,
        no_ovmf: None,
        direct: direct(initramfs::proof_initramfs()?, &images::ShimGrub::default().cmdline)?,
        firmware_append: None,
        ours_only: None,
        secure_boot: None,
    })
}

fn systemd_boot() -> Result<Prepared, String> {
    Ok(Prepared {
        disk: images::systemd_boot_disk()?,
        no_ovmf: None,
        direct: direct(
            initramfs::proof_initramfs()?,
            "console=ttyS0 hvfw.marker=sdboot-cmdline-ok",
        )?,
        // Leave the entry to systemd-boot: the firmware would boot it itself.
        firmware_append: Some("hvfw.bls=off"),
        ours_only: None,
        secure_boot: None,
    })
}

/// The kernel command line of the BLS scenarios.
const BLS_OPTIONS: &str = "console=ttyS0";
const NO_BOOT_LOADER: &str = "no boot loader on the disk";

fn bls() -> Result<Prepared, String> {
    Ok(Prepared {
        disk: images::bls_disk(&images::cloud_kernel_bls("bench-bls", BLS_OPTIONS, None)?)?,
        no_ovmf: Some(NO_BOOT_LOADER),
        direct: direct(initramfs::proof_initramfs()?, BLS_OPTIONS)?,
        firmware_append: None,
        ours_only: None,
        secure_boot: None,
    })
}

fn bls_big_initrd() -> Result<Prepared, String> {
    let big = big_initramfs()?;
    let mut spec = images::cloud_kernel_bls("bench-bls-initrd-128m", BLS_OPTIONS, None)?;
    let initrd = spec
        .files
        .iter_mut()
        .find(|(path, _)| path.ends_with("/initrd.img"))
        .ok_or("cloud_kernel_bls no longer lays out an initrd.img")?;
    initrd.1 = Source::Host(big.clone());
    spec.esp_mib += BIG_INITRD_MIB + 32;
    Ok(Prepared {
        disk: images::bls_disk(&spec)?,
        no_ovmf: Some(NO_BOOT_LOADER),
        direct: direct(big, BLS_OPTIONS)?,
        firmware_append: None,
        ours_only: None,
        secure_boot: None,
    })
}

/// `target/initramfs/proof-pad-128m.cpio`: the proof initramfs followed by an
/// uncompressed newc archive holding `/pad.bin`, 128 MiB of noise. The kernel
/// unpacks concatenated archives, compressed or not (buffer-format.rst); zeros
/// between them are allowed, so the first is padded to 512 bytes.
pub fn big_initramfs() -> Result<PathBuf, String> {
    let proof = initramfs::proof_initramfs()?;
    let (noise, _) = boot_tests::big_file()?;
    let recipe = format!(
        "proof+pad-newc-v1\n{}\n{}\n",
        file_identity(&proof)?,
        file_identity(&noise)?
    );
    cached_in("initramfs", "proof-pad-128m.cpio", &recipe, |path| {
        let mut bytes = std::fs::read(&proof).map_err(|e| format!("cannot read {}: {e}", proof.display()))?;
        bytes.resize(bytes.len().div_ceil(512) * 512, 0);
        let pad = std::fs::read(&noise).map_err(|e| format!("cannot read {}: {e}", noise.display()))?;
        if pad.len() as u64 != BIG_INITRD_MIB << 20 {
            return Err(format!("{} is not {BIG_INITRD_MIB} MiB", noise.display()));
        }
        let mut cpio = Cpio::new();
        cpio.file("pad.bin", 0o644, &pad);
        bytes.extend_from_slice(&cpio.finish());
        std::fs::write(path, bytes).map_err(|e| e.to_string())
    })
}

/// Serial output as it arrived.
#[derive(Default)]
struct Serial {
    text: String,
    first_byte: Option<Duration>,
    /// When each watched needle first appeared.
    seen: Vec<Option<Duration>>,
    closed: bool,
}

/// What one boot showed.
struct Boot {
    first_byte: Option<Duration>,
    /// Per needle, when it appeared.
    seen: Vec<Option<Duration>>,
    console: String,
}

/// Boots QEMU with `args` (serial on stdout) until every `needle` appeared, a
/// `failures` line appeared, QEMU exited or `timeout` passed; then kills it.
fn timed_boot(
    args: &[String],
    needles: &[&str],
    failures: &[&str],
    timeout: Duration,
) -> Result<Boot, (String, String)> {
    let mut child = Command::new("qemu-system-x86_64")
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| {
            (
                format!("cannot start qemu-system-x86_64 (Debian package qemu-system-x86): {e}"),
                String::new(),
            )
        })?;
    let started = Instant::now();
    let watched: Vec<String> = needles.iter().chain(failures).map(|s| s.to_string()).collect();
    let serial = Arc::new((
        Mutex::new(Serial {
            seen: vec![None; watched.len()],
            ..Serial::default()
        }),
        Condvar::new(),
    ));
    let stdout = child.stdout.take();
    let reader = {
        let serial = serial.clone();
        std::thread::spawn(move || {
            let Some(mut stdout) = stdout else { return };
            let mut buf = [0u8; 4096];
            loop {
                let n = stdout.read(&mut buf).unwrap_or(0);
                let at = started.elapsed();
                let (lock, ready) = &*serial;
                let mut s = lock.lock().unwrap_or_else(|e| e.into_inner());
                if n == 0 {
                    s.closed = true;
                    ready.notify_all();
                    return;
                }
                s.first_byte.get_or_insert(at);
                let before = s.text.len();
                s.text.push_str(&String::from_utf8_lossy(&buf[..n]).replace('\r', ""));
                for (i, needle) in watched.iter().enumerate() {
                    if s.seen[i].is_none() {
                        // Only where the new bytes could complete a match.
                        let mut from = before.saturating_sub(needle.len());
                        while !s.text.is_char_boundary(from) {
                            from -= 1;
                        }
                        if s.text[from..].contains(needle.as_str()) {
                            s.seen[i] = Some(at);
                        }
                    }
                }
                ready.notify_all();
            }
        })
    };
    let stderr = child.stderr.take();
    let errors = std::thread::spawn(move || {
        let mut text = String::new();
        if let Some(mut stderr) = stderr {
            let _ = stderr.read_to_string(&mut text);
        }
        text
    });

    let deadline = started + timeout;
    let outcome: Result<(), String> = {
        let (lock, ready) = &*serial;
        let mut s = lock.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            if s.seen[..needles.len()].iter().all(Option::is_some) {
                break Ok(());
            }
            if let Some(i) = (0..failures.len()).find(|&i| s.seen[needles.len() + i].is_some()) {
                let line = s.text.lines().find(|l| l.contains(failures[i])).unwrap_or(failures[i]);
                break Err(strip_escapes(line).trim().to_string());
            }
            if s.closed {
                let missing = needles
                    .iter()
                    .zip(&s.seen)
                    .find(|(_, seen)| seen.is_none())
                    .map(|(n, _)| *n)
                    .unwrap_or_default();
                break Err(format!("QEMU exited before printing {missing:?}"));
            }
            let now = Instant::now();
            if now >= deadline {
                break Err(format!("timed out after {}s", timeout.as_secs()));
            }
            s = ready
                .wait_timeout(s, deadline - now)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
    };
    let _ = child.kill();
    let _ = child.wait();
    let _ = reader.join();
    let stderr = errors.join().unwrap_or_default();
    let s = std::mem::take(&mut *serial.0.lock().unwrap_or_else(|e| e.into_inner()));
    let mut console = s.text;
    if !stderr.trim().is_empty() {
        let _ = write!(console, "\n---- QEMU stderr ----\n{stderr}");
    }
    match outcome {
        Ok(()) => Ok(Boot {
            first_byte: s.first_byte,
            seen: s.seen[..needles.len()].to_vec(),
            console,
        }),
        Err(why) if !stderr.trim().is_empty() && s.first_byte.is_none() => {
            Err((format!("{why}: {}", stderr.trim()), console))
        }
        Err(why) => Err((why, console)),
    }
}

/// `line` without terminal escape sequences (ECMA-48 CSI `ESC [ ... final`, and
/// two-byte `ESC x`), which firmware consoles sprinkle for colours.
fn strip_escapes(line: &str) -> String {
    let mut out = String::new();
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\u{1b}' {
            out.push(c);
            continue;
        }
        if chars.next_if_eq(&'[').is_some() {
            // Parameter and intermediate bytes, then one final byte in 0x40..=0x7e.
            for c in chars.by_ref() {
                if ('@'..='~').contains(&c) {
                    break;
                }
            }
        } else {
            chars.next();
        }
    }
    out
}

/// The machine every contender boots: same chipset, CPU, RAM and disk.
fn machine_args(memory: &str, disk: &Path) -> Vec<String> {
    let mut args: Vec<String> = [
        "-machine",
        "q35,accel=tcg",
        "-cpu",
        "max",
        "-m",
        memory,
        "-display",
        "none",
        "-no-reboot",
        "-monitor",
        "none",
        "-serial",
        "stdio",
        // No network card: OVMF would otherwise try PXE and HTTP boot.
        "-nic",
        "none",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    args.push("-drive".into());
    args.push(format!(
        "if=none,id=disk0,format=raw,file={},snapshot=on",
        disk.display()
    ));
    args.push("-device".into());
    args.push("virtio-blk-pci,drive=disk0,disable-legacy=on".into());
    // The display: q35's standard VGA unless HVFW_BENCH_QEMU_ARGS says
    // otherwise (`-vga none` for a machine without one, `-device bochs-display`).
    if let Ok(extra) = std::env::var("HVFW_BENCH_QEMU_ARGS") {
        args.extend(extra.split_whitespace().map(String::from));
    }
    args
}

/// The banner our firmware prints first.
fn banner() -> String {
    format!("hypervisor-fw {}", env!("CARGO_PKG_VERSION"))
}

/// One successful boot's times, in seconds since QEMU started.
#[derive(Clone, Debug)]
pub struct Run {
    pub firmware_first_line: Option<f64>,
    pub linux_version: f64,
    pub proof_done: f64,
}

/// How a scenario/contender pair went.
#[derive(Clone, Debug, PartialEq)]
pub enum Status {
    Ok,
    /// The contender does not apply (e.g. OVMF without a boot loader).
    NotApplicable(String),
    /// The scenario's inputs cannot be built yet.
    Unavailable(String),
    /// Our firmware found nothing to boot on this disk.
    NotBootableYet(String),
    /// A run failed; later runs were skipped.
    Failed(String),
}

impl Status {
    fn key(&self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::NotApplicable(_) => "not-applicable",
            Status::Unavailable(_) => "unavailable",
            Status::NotBootableYet(_) => "not-bootable-yet",
            Status::Failed(_) => "failed",
        }
    }

    fn note(&self) -> Option<&str> {
        match self {
            Status::Ok => None,
            Status::NotApplicable(s) | Status::Unavailable(s) | Status::NotBootableYet(s) | Status::Failed(s) => {
                Some(s)
            }
        }
    }

    fn describe(&self) -> String {
        match self {
            Status::Ok => "ok".into(),
            Status::NotApplicable(why) => format!("n/a ({why})"),
            Status::Unavailable(why) => format!("scenario {why}"),
            Status::NotBootableYet(why) => format!("not bootable by hypervisor-fw yet ({why})"),
            Status::Failed(why) => format!("FAILED: {why}"),
        }
    }
}

/// The memory figures of [`MEMORY_LINE`], in [`MEMORY_KEYS`] order.
pub type Memory = [u64; 5];

/// The memory left reserved for the OS: the sum of the first four figures.
fn reserved_for_os(m: &Memory) -> u64 {
    m[..4].iter().sum()
}

/// A scenario/contender pair's results.
#[derive(Clone, Debug)]
pub struct Pair {
    pub scenario: &'static str,
    pub contender: Contender,
    pub status: Status,
    pub runs: Vec<Run>,
    /// Ours only: the memory line of the last successful run, or why there is none.
    pub memory: Option<Result<Memory, String>>,
}

/// One reading of the firmware's read hook.
#[derive(Clone, Debug)]
pub struct ReadRun {
    pub bytes: u64,
    pub ms: u64,
    pub mib_s: u64,
    pub requests: u64,
}

/// Median, minimum and maximum.
#[derive(Clone, Copy, Debug)]
pub struct Summary {
    pub median: f64,
    pub min: f64,
    pub max: f64,
}

pub fn summarize(values: &[f64]) -> Option<Summary> {
    let mut v: Vec<f64> = values.to_vec();
    v.sort_by(f64::total_cmp);
    let n = v.len();
    let (first, last) = (*v.first()?, *v.last()?);
    let median = if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    };
    Some(Summary {
        median,
        min: first,
        max: last,
    })
}

impl Pair {
    fn summary(&self, metric: fn(&Run) -> Option<f64>) -> Option<Summary> {
        let values: Vec<f64> = self.runs.iter().filter_map(metric).collect();
        if self.status != Status::Ok {
            return None;
        }
        summarize(&values)
    }
}

/// The three metrics: (report column, JSON key, accessor).
type Metric = (&'static str, &'static str, fn(&Run) -> Option<f64>);
const METRICS: [Metric; 3] = [
    ("firmware first line", "firmware_first_line_s", |r| {
        r.firmware_first_line
    }),
    ("Linux version", "linux_version_s", |r| Some(r.linux_version)),
    ("HVFW-PROOF: done", "proof_done_s", |r| Some(r.proof_done)),
];

/// Parses the last [`MEMORY_LINE`] in `console`.
pub fn parse_memory_line(console: &str) -> Result<Memory, String> {
    let line = console
        .lines()
        .rev()
        .find_map(|l| l.find(MEMORY_LINE).map(|at| &l[at + MEMORY_LINE.len()..]))
        .ok_or_else(|| format!("the firmware prints no `{MEMORY_LINE}` line"))?;
    let mut memory = [0; 5];
    for (slot, key) in memory.iter_mut().zip(MEMORY_KEYS) {
        *slot = line
            .split_whitespace()
            .find_map(|word| word.strip_prefix(key).and_then(|rest| rest.strip_prefix('=')))
            .and_then(|value| value.parse().ok())
            .ok_or_else(|| format!("`{MEMORY_LINE}` line lacks {key}=<bytes>: {}", line.trim()))?;
    }
    Ok(memory)
}

/// Parses the read hook's `read <path>: <bytes> bytes in <ms> ms (<n> MiB/s), <k> device requests, ...`.
pub fn parse_read_line(console: &str) -> Result<ReadRun, String> {
    let line = console
        .lines()
        .find(|l| l.contains("read \\BIG.BIN: "))
        .ok_or("no `read \\BIG.BIN:` line")?;
    let number_before = |suffix: &str| -> Option<u64> {
        let end = line.find(suffix)?;
        let start = line[..end].rfind(|c: char| !c.is_ascii_digit()).map_or(0, |i| i + 1);
        line[start..end].parse().ok()
    };
    let parsed = (|| {
        Some(ReadRun {
            bytes: number_before(" bytes in ")?,
            ms: number_before(" ms (")?,
            mib_s: number_before(" MiB/s)")?,
            requests: number_before(" device requests")?,
        })
    })();
    parsed.ok_or_else(|| format!("cannot parse {line:?}"))
}

/// Sum of the PT_LOAD segments' memory sizes of a little-endian ELF64 file
/// (System V ABI: e_phoff at 0x20, e_phentsize at 0x36, e_phnum at 0x38;
/// p_type at 0, p_memsz at 0x28 of each program header).
pub fn elf_loaded_size(elf: &[u8]) -> Result<u64, String> {
    const PT_LOAD: u32 = 1;
    let bytes = |at: usize, n: usize| elf.get(at..at + n).ok_or("the ELF file is truncated".to_string());
    let u16_at = |at| bytes(at, 2).map(|b| u16::from_le_bytes([b[0], b[1]]));
    let u32_at = |at| bytes(at, 4).map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]));
    let u64_at = |at| bytes(at, 8).map(|b| u64::from_le_bytes(b.try_into().unwrap_or([0; 8])));
    if bytes(0, 6)? != b"\x7fELF\x02\x01" {
        return Err("not a little-endian ELF64 file".into());
    }
    let phoff = usize::try_from(u64_at(0x20)?).map_err(|e| e.to_string())?;
    let phentsize = usize::from(u16_at(0x36)?);
    let phnum = usize::from(u16_at(0x38)?);
    let mut total = 0u64;
    for i in 0..phnum {
        let ph = phoff + i * phentsize;
        if u32_at(ph)? == PT_LOAD {
            total += u64_at(ph + 0x28)?;
        }
    }
    Ok(total)
}

/// Everything measured.
pub struct Results {
    pub runs: usize,
    pub pairs: Vec<Pair>,
    pub read: Option<(Status, Vec<ReadRun>)>,
    pub elf_file_bytes: u64,
    pub elf_loaded_bytes: u64,
    /// The smallest RAM in MiB (8 MiB steps) where QEMU's direct kernel boot and
    /// our BLS boot of the same kernel and initramfs reach userspace.
    pub smallest_ram: Option<Result<(u64, u64), String>>,
    /// The same pair on aarch64 `virt` with Debian's arm64 kernel.
    pub smallest_ram_arm64: Option<Result<(u64, u64), String>>,
    pub qemu: String,
    pub git: String,
    pub load_start: String,
    pub load_end: String,
    pub seconds: f64,
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|l| {
            let v: Vec<&str> = l.split_whitespace().take(3).collect();
            (v.len() == 3).then(|| v.join(" "))
        })
        .unwrap_or_else(|| "unknown".into())
}

fn git_revision() -> String {
    let git = |args: &[&str]| {
        Command::new("git")
            .current_dir(workspace_root())
            .args(args)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
    };
    match git(&["rev-parse", "--short", "HEAD"]) {
        Some(rev) if git(&["status", "--porcelain", "--untracked-files=no"]).is_some_and(|s| !s.is_empty()) => {
            format!("{rev}+dirty")
        }
        Some(rev) => rev,
        None => "unknown".into(),
    }
}

/// Runs the benchmark; the caller prints [`markdown`] and writes [`write_json`].
pub fn run(options: &Options) -> Result<Results, String> {
    let started = Instant::now();
    let load_start = load_average();
    let known: Vec<&str> = scenarios()
        .iter()
        .map(|s| s.name)
        .chain([READ_RATE, SMALLEST_RAM])
        .collect();
    for name in &options.only {
        if !known.contains(&name.as_str()) {
            return Err(format!("unknown scenario {name:?}; known: {}", known.join(", ")));
        }
    }
    let wanted = |name: &str| options.only.is_empty() || options.only.iter().any(|o| o == name);
    if options.runs == 0 {
        return Err("--runs must be at least 1".into());
    }
    if !Path::new(images::OVMF_CODE).is_file() {
        return Err(format!("{} is missing: install Debian package ovmf", images::OVMF_CODE));
    }
    let qemu = Command::new("qemu-system-x86_64")
        .arg("--version")
        .output()
        .map(|o| {
            String::from_utf8_lossy(&o.stdout)
                .lines()
                .next()
                .unwrap_or("")
                .to_string()
        })
        .map_err(|e| format!("cannot run qemu-system-x86_64 (Debian package qemu-system-x86): {e}"))?;

    // Another build to compare (e.g. the main branch's), when asked for.
    let ours = match std::env::var_os("HVFW_BENCH_FIRMWARE") {
        Some(path) => {
            eprintln!("bench: firmware from HVFW_BENCH_FIRMWARE: {}", path.to_string_lossy());
            PathBuf::from(path)
        }
        None => {
            eprintln!("bench: building the firmware (release)");
            firmware::build(Variant::Release)?
        }
    };
    let elf = std::fs::read(&ours).map_err(|e| format!("cannot read {}: {e}", ours.display()))?;
    let elf_loaded_bytes = elf_loaded_size(&elf)?;
    let hooks = if wanted(READ_RATE) {
        eprintln!("bench: building the firmware (test-hooks, for the read rate)");
        // The build leaves the test-hooks ELF in the target dir; `ours` is a copy.
        Some(firmware::build(Variant::TestHooks)?)
    } else {
        None
    };

    let mut prepared: Vec<(&'static str, Result<Prepared, String>)> = Vec::new();
    for scenario in scenarios().into_iter().filter(|s| wanted(s.name)) {
        eprintln!("bench: preparing {} ({})", scenario.name, scenario.about);
        prepared.push((scenario.name, (scenario.prepare)()));
    }
    let mut pairs: Vec<Pair> = Vec::new();
    for (name, prep) in &prepared {
        for contender in Contender::ALL {
            let status = match (prep, contender) {
                (Err(why), _) => Status::Unavailable(why.clone()),
                (Ok(p), Contender::Ovmf | Contender::Direct) if p.ours_only.is_some() => {
                    Status::NotApplicable(p.ours_only.unwrap_or_default().into())
                }
                (Ok(p), Contender::Ovmf) if p.no_ovmf.is_some() => {
                    Status::NotApplicable(p.no_ovmf.unwrap_or_default().into())
                }
                (Ok(p), Contender::Direct) if p.direct.is_none() => {
                    Status::NotApplicable("no kernel outside the disk".into())
                }
                _ => Status::Ok,
            };
            pairs.push(Pair {
                scenario: name,
                contender,
                status,
                runs: Vec::new(),
                memory: (contender == Contender::Ours).then(|| Err("no successful run".into())),
            });
        }
    }

    let logs = crate::cache_dir("bench").join("logs");
    std::fs::create_dir_all(&logs).map_err(|e| format!("cannot create {}: {e}", logs.display()))?;
    let scratch = images::tempdir("bench")?;
    let mut read: Option<(Status, Vec<ReadRun>)> = hooks.as_ref().map(|_| (Status::Ok, Vec::new()));
    let read_disk = hooks
        .as_ref()
        .map(|_| boot_tests::big_file_disk().map(|(disk, _)| disk));
    if let (Some(Err(why)), Some((status, _))) = (&read_disk, read.as_mut()) {
        *status = Status::Unavailable(why.clone());
    }

    for run in 0..options.runs {
        for (name, prep) in &prepared {
            let Ok(prep) = prep else { continue };
            let mut order = Contender::ALL;
            order.rotate_left(run % Contender::ALL.len());
            for contender in order {
                let Some(pair) = pairs
                    .iter_mut()
                    .find(|p| p.scenario == *name && p.contender == contender)
                else {
                    continue;
                };
                if pair.status != Status::Ok {
                    continue;
                }
                let label = format!("{name}-{}-run{}", contender.key(), run + 1);
                let (args, needles, failures) = match contender {
                    Contender::Ours => {
                        let mut args = machine_args(MEMORY, &prep.disk);
                        args.extend(["-kernel".into(), ours.display().to_string()]);
                        if let Some(keys) = &prep.secure_boot {
                            args.extend(keys.iter().cloned());
                        }
                        if let Some(append) = prep.firmware_append {
                            args.extend(["-append".into(), append.into()]);
                        }
                        (
                            args,
                            vec![banner(), "Linux version ".into(), PROOF_DONE.into()],
                            OUR_FAILURES,
                        )
                    }
                    Contender::Ovmf => {
                        let (code, vars_template) = match prep.secure_boot {
                            Some(_) => (OVMF_SECBOOT_CODE, OVMF_MS_VARS),
                            None => (images::OVMF_CODE, images::OVMF_VARS),
                        };
                        let vars = scratch.join("OVMF_VARS.fd");
                        std::fs::copy(vars_template, &vars).map_err(|e| format!("cannot copy {vars_template}: {e}"))?;
                        let mut args = machine_args(MEMORY, &prep.disk);
                        if prep.secure_boot.is_some() {
                            // The secboot build keeps its variables in SMM.
                            for a in args.iter_mut().filter(|a| a.as_str() == "q35,accel=tcg") {
                                *a = "q35,accel=tcg,smm=on".into();
                            }
                            args.extend(["-global".into(), "driver=cfi.pflash01,property=secure,value=on".into()]);
                        }
                        args.push("-drive".into());
                        args.push(format!("if=pflash,format=raw,unit=0,readonly=on,file={code}"));
                        args.push("-drive".into());
                        args.push(format!("if=pflash,format=raw,unit=1,file={}", vars.display()));
                        (args, vec!["Linux version ".into(), PROOF_DONE.into()], OVMF_FAILURES)
                    }
                    Contender::Direct => {
                        let Some(d) = &prep.direct else { continue };
                        let mut args = machine_args(MEMORY, &prep.disk);
                        args.extend([
                            "-kernel".into(),
                            d.kernel.display().to_string(),
                            "-initrd".into(),
                            d.initrd.display().to_string(),
                            "-append".into(),
                            d.cmdline.clone(),
                        ]);
                        (args, vec!["Linux version ".into(), PROOF_DONE.into()], DIRECT_FAILURES)
                    }
                };
                let needle_refs: Vec<&str> = needles.iter().map(String::as_str).collect();
                let result = timed_boot(&args, &needle_refs, failures, BOOT_TIMEOUT);
                let console = match &result {
                    Ok(boot) => &boot.console,
                    Err((_, console)) => console,
                };
                let log = logs.join(format!("{label}.log"));
                let _ = std::fs::write(&log, console);
                match result {
                    Ok(boot) => {
                        let secs = |i: usize| boot.seen.get(i).copied().flatten().map(|d| d.as_secs_f64());
                        let r = match contender {
                            Contender::Ours => Run {
                                firmware_first_line: secs(0),
                                linux_version: secs(1).unwrap_or_default(),
                                proof_done: secs(2).unwrap_or_default(),
                            },
                            Contender::Ovmf => Run {
                                firmware_first_line: boot.first_byte.map(|d| d.as_secs_f64()),
                                linux_version: secs(0).unwrap_or_default(),
                                proof_done: secs(1).unwrap_or_default(),
                            },
                            Contender::Direct => Run {
                                firmware_first_line: None,
                                linux_version: secs(0).unwrap_or_default(),
                                proof_done: secs(1).unwrap_or_default(),
                            },
                        };
                        eprintln!(
                            "bench: run {}/{} {name:<16} {:<13} first {:>6}  Linux {:6.2}s  done {:6.2}s",
                            run + 1,
                            options.runs,
                            contender.name(),
                            r.firmware_first_line.map_or("-".into(), |s| format!("{s:.2}s")),
                            r.linux_version,
                            r.proof_done
                        );
                        if contender == Contender::Ours {
                            pair.memory = Some(parse_memory_line(&boot.console));
                        }
                        pair.runs.push(r);
                    }
                    Err((why, _)) => {
                        eprintln!(
                            "bench: run {}/{} {name:<16} {:<13} failed: {why} (console in {}); no more runs of this pair",
                            run + 1,
                            options.runs,
                            contender.name(),
                            log.display()
                        );
                        pair.status = if contender == Contender::Ours && why.contains(NOTHING_TO_BOOT) {
                            Status::NotBootableYet(format!("the firmware says: {NOTHING_TO_BOOT}"))
                        } else {
                            Status::Failed(format!("run {}: {why}", run + 1))
                        };
                    }
                }
            }
        }
        if let (Some(hooks), Some(Ok(disk)), Some((status, runs))) = (&hooks, &read_disk, read.as_mut()) {
            if *status == Status::Ok {
                let mut args = machine_args(READ_HOOK_MEMORY, disk);
                args.extend([
                    "-kernel".into(),
                    hooks.display().to_string(),
                    "-append".into(),
                    "hvfw.test=read=\\BIG.BIN".into(),
                ]);
                let needles = ["read \\BIG.BIN: ", " device requests"];
                let result = timed_boot(&args, &needles, OUR_FAILURES, BOOT_TIMEOUT)
                    .map_err(|(why, _)| why)
                    .and_then(|boot| parse_read_line(&boot.console));
                match result {
                    Ok(r) => {
                        eprintln!(
                            "bench: run {}/{} {READ_RATE:<16} {:<13} {} bytes in {} ms ({} MiB/s), {} requests",
                            run + 1,
                            options.runs,
                            "test-hooks",
                            r.bytes,
                            r.ms,
                            r.mib_s,
                            r.requests
                        );
                        runs.push(r);
                    }
                    Err(why) => {
                        eprintln!("bench: {READ_RATE} failed: {why}; no more runs of it");
                        *status = Status::Failed(format!("run {}: {why}", run + 1));
                    }
                }
            }
        }
    }
    let _ = std::fs::remove_dir_all(&scratch);

    let smallest_ram = wanted(SMALLEST_RAM).then(|| {
        eprintln!("bench: the smallest RAM for direct boot and for ours (bisection)");
        crate::small_vm::direct_minimum_mib()
            .and_then(|direct| Ok((direct, crate::small_vm::firmware_minimum_mib(&ours)?)))
    });
    let smallest_ram_arm64 = wanted(SMALLEST_RAM).then(|| {
        eprintln!("bench: the smallest RAM on aarch64 for direct boot and for ours (bisection)");
        let ours = crate::firmware::build_for(crate::debian::Arch::Arm64, crate::firmware::Variant::Release)?;
        crate::small_vm::aarch64_direct_minimum_mib()
            .and_then(|direct| Ok((direct, crate::small_vm::aarch64_firmware_minimum_mib(&ours)?)))
    });
    Ok(Results {
        runs: options.runs,
        pairs,
        read,
        elf_file_bytes: elf.len() as u64,
        elf_loaded_bytes,
        smallest_ram,
        smallest_ram_arm64,
        qemu,
        git: git_revision(),
        load_start,
        load_end: load_average(),
        seconds: started.elapsed().as_secs_f64(),
    })
}

impl Results {
    fn pair(&self, scenario: &str, contender: Contender) -> Option<&Pair> {
        self.pairs
            .iter()
            .find(|p| p.scenario == scenario && p.contender == contender)
    }

    /// Median of `metric` for a pair that succeeded.
    fn median(&self, scenario: &str, contender: Contender, metric: fn(&Run) -> Option<f64>) -> Option<f64> {
        self.pair(scenario, contender)?.summary(metric).map(|s| s.median)
    }

    /// Best (smallest) `metric` for a pair that succeeded.
    fn best(&self, scenario: &str, contender: Contender, metric: fn(&Run) -> Option<f64>) -> Option<f64> {
        self.pair(scenario, contender)?.summary(metric).map(|s| s.min)
    }

    /// Scenarios in report order, each once.
    fn scenario_names(&self) -> Vec<&'static str> {
        let mut names: Vec<&'static str> = Vec::new();
        for p in &self.pairs {
            if !names.contains(&p.scenario) {
                names.push(p.scenario);
            }
        }
        names
    }

    /// (ours, direct) initrd load rates in MiB/s, or why not.
    fn initrd_rates(&self) -> (Result<f64, String>, Result<f64, String>) {
        let linux = METRICS[1].2;
        let rate = |c: Contender| -> Result<f64, String> {
            let small = self.median("bls", c, linux);
            let big = self.median(BLS_BIG, c, linux);
            match (small, big) {
                (Some(small), Some(big)) if big > small => Ok(BIG_INITRD_MIB as f64 / (big - small)),
                (Some(_), Some(_)) => Err("no measurable difference".into()),
                _ => {
                    let why = [("bls", c), (BLS_BIG, c)]
                        .iter()
                        .filter_map(|(s, c)| self.pair(s, *c))
                        .find(|p| p.status != Status::Ok)
                        .map(|p| format!("{}: {}", p.scenario, p.status.describe()))
                        .unwrap_or_else(|| format!("needs scenarios bls and {BLS_BIG}"));
                    Err(why)
                }
            }
        };
        let ours = rate(Contender::Ours).map_err(|why| format!("not available yet ({why})"));
        (ours, rate(Contender::Direct))
    }
}

/// One row of the TLB readying comparison: a scenario's `Linux version`
/// seconds (median, best) with the readying and without it.
struct TlbWarmupRow {
    scenario: &'static str,
    with: (Option<f64>, Option<f64>),
    without: (Option<f64>, Option<f64>),
}

impl Results {
    /// The [`TLB_WARMUP_TWINS`] that ran, with and without the readying.
    fn tlb_warmup_rows(&self) -> Vec<TlbWarmupRow> {
        let linux = METRICS[1].2;
        let figures = |name: &str| {
            (
                self.median(name, Contender::Ours, linux),
                self.best(name, Contender::Ours, linux),
            )
        };
        TLB_WARMUP_TWINS
            .iter()
            .filter(|(_, twin)| self.pair(twin, Contender::Ours).is_some())
            .map(|&(scenario, twin)| TlbWarmupRow {
                scenario,
                with: figures(scenario),
                without: figures(twin),
            })
            .collect()
    }
}

/// What the firmware's TCG TLB readying gives: the kernel's EFI stub with and
/// without it (`arch/src/x86_64/tlb_warmup.rs`).
fn write_tlb_warmup(w: &mut String, r: &Results) {
    let rows = r.tlb_warmup_rows();
    if rows.is_empty() {
        return;
    }
    let _ = writeln!(
        w,
        "\n## TCG TLB readying (`Linux version`, s; without it: `{TLB_WARMUP_OFF}`)\n"
    );
    let _ = writeln!(
        w,
        "| scenario | median with | median without | best with | best without |"
    );
    let _ = writeln!(w, "|---|---|---|---|---|");
    let secs = |v: Option<f64>| v.map_or("n/a".into(), |v| format!("{v:.2}"));
    for row in rows {
        let _ = writeln!(
            w,
            "| {} | {} | {} | {} | {} |",
            row.scenario,
            secs(row.with.0),
            secs(row.without.0),
            secs(row.with.1),
            secs(row.without.1)
        );
    }
}

fn cell(summary: Option<Summary>) -> String {
    summary.map_or("n/a".into(), |s| format!("{:.2} ({:.2}–{:.2})", s.median, s.min, s.max))
}

fn ratio(a: Option<f64>, b: Option<f64>) -> Option<f64> {
    match (a, b) {
        (Some(a), Some(b)) if b > 0.0 => Some(a / b),
        _ => None,
    }
}

fn mib(bytes: u64) -> String {
    format!("{:.2} MiB", bytes as f64 / f64::from(1u32 << 20))
}

/// The report: markdown tables.
pub fn markdown(r: &Results) -> String {
    let mut out = String::new();
    let w = &mut out;
    let _ = writeln!(w, "# hypervisor-fw benchmark\n");
    let _ = writeln!(
        w,
        "{} runs per scenario and contender, interleaved; QEMU TCG (`-machine q35,accel=tcg -cpu max -m {MEMORY}`), {}; \
         commit {}; load average {} at start, {} at end; {:.0}s in all.\n",
        r.runs, r.qemu, r.git, r.load_start, r.load_end, r.seconds
    );
    let _ = writeln!(w, "## Boot time\n");
    let _ = writeln!(
        w,
        "Seconds from QEMU's start until the line arrived on the serial port: median (min–max).\n"
    );
    let _ = writeln!(
        w,
        "| scenario | contender | runs | firmware first line | Linux version | HVFW-PROOF: done |"
    );
    let _ = writeln!(w, "|---|---|---|---|---|---|");
    for p in &r.pairs {
        if p.status == Status::Ok {
            let cells: Vec<String> = METRICS.iter().map(|m| cell(p.summary(m.2))).collect();
            let _ = writeln!(
                w,
                "| {} | {} | {} | {} | {} | {} |",
                p.scenario,
                p.contender.name(),
                p.runs.len(),
                cells[0],
                cells[1],
                cells[2]
            );
        } else {
            let _ = writeln!(
                w,
                "| {} | {} | {} | {} | | |",
                p.scenario,
                p.contender.name(),
                p.runs.len(),
                p.status.describe()
            );
        }
    }
    let _ = writeln!(w, "\n## Ratios of the medians (below 1: hypervisor-fw is faster)\n");
    let _ = writeln!(
        w,
        "| scenario | first line ours/OVMF | Linux version ours/OVMF | done ours/OVMF | Linux version ours/direct | done ours/direct |"
    );
    let _ = writeln!(w, "|---|---|---|---|---|---|");
    for name in r.scenario_names() {
        let ours = |m: usize| r.median(name, Contender::Ours, METRICS[m].2);
        let cells: Vec<String> = [
            ratio(ours(0), r.median(name, Contender::Ovmf, METRICS[0].2)),
            ratio(ours(1), r.median(name, Contender::Ovmf, METRICS[1].2)),
            ratio(ours(2), r.median(name, Contender::Ovmf, METRICS[2].2)),
            ratio(ours(1), r.median(name, Contender::Direct, METRICS[1].2)),
            ratio(ours(2), r.median(name, Contender::Direct, METRICS[2].2)),
        ]
        .iter()
        .map(|v| v.map_or("n/a".into(), |v| format!("{v:.2}")))
        .collect();
        let _ = writeln!(w, "| {name} | {} |", cells.join(" | "));
    }

    // Under TCG on a shared machine, a run's speed depends on what else the
    // host runs: medians move with the share of disturbed runs. The best run
    // of each contender is the least disturbed one, so this ratio is the
    // steadier comparison of the work each side does.
    let _ = writeln!(
        w,
        "\n## Ratios of the best runs (the least disturbed run of each; below 1: hypervisor-fw is faster)\n"
    );
    let _ = writeln!(w, "| scenario | Linux version ours/OVMF | Linux version ours/direct |");
    let _ = writeln!(w, "|---|---|---|");
    for name in r.scenario_names() {
        let linux = METRICS[1].2;
        let ours = r.best(name, Contender::Ours, linux);
        let cells: Vec<String> = [
            ratio(ours, r.best(name, Contender::Ovmf, linux)),
            ratio(ours, r.best(name, Contender::Direct, linux)),
        ]
        .iter()
        .map(|v| v.map_or("n/a".into(), |v| format!("{v:.2}")))
        .collect();
        let _ = writeln!(w, "| {name} | {} |", cells.join(" | "));
    }

    write_tlb_warmup(w, r);

    let _ = writeln!(w, "\n## Disk throughput\n");
    let _ = writeln!(w, "| measurement | result |");
    let _ = writeln!(w, "|---|---|");
    let (ours, direct) = r.initrd_rates();
    let rate = |rate: &Result<f64, String>| match rate {
        Ok(v) => format!("{v:.0} MiB/s"),
        Err(why) => why.clone(),
    };
    let _ = writeln!(
        w,
        "| {BIG_INITRD_MIB} MiB initrd via BLS, hypervisor-fw: {BIG_INITRD_MIB} / (Linux version with it − without) | {} |",
        rate(&ours)
    );
    let _ = writeln!(w, "| the same, direct boot | {} |", rate(&direct));
    let percent = match (&ours, &direct) {
        (Ok(o), Ok(d)) => format!("{:.0}%", o / d * 100.0),
        _ => "n/a".into(),
    };
    let _ = writeln!(w, "| hypervisor-fw / direct | {percent} |");
    match &r.read {
        None => {}
        Some((status, runs)) => {
            let rates: Vec<f64> = runs.iter().map(|x| x.mib_s as f64).collect();
            let ms: Vec<f64> = runs.iter().map(|x| x.ms as f64).collect();
            let requests = runs.last().map_or(0, |x| x.requests);
            let text = match (status, summarize(&rates), summarize(&ms)) {
                (Status::Ok, Some(rate), Some(ms)) => format!(
                    "{:.0} MiB/s ({:.0}–{:.0}); {:.0} ms for 128 MiB; {requests} device requests; {} runs",
                    rate.median,
                    rate.min,
                    rate.max,
                    ms.median,
                    runs.len()
                ),
                (status, _, _) => status.describe(),
            };
            let _ = writeln!(
                w,
                "| firmware read of \\BIG.BIN (test-hooks build, `-m {READ_HOOK_MEMORY}`) | {text} |"
            );
        }
    }

    if let Some(smallest) = &r.smallest_ram {
        let _ = writeln!(
            w,
            "\n## Smallest RAM (MiB, {}-MiB steps: Debian's kernel and the proof initramfs reach `{PROOF_DONE}`)\n",
            crate::small_vm::STEP_MIB
        );
        let _ = writeln!(w, "| machine | QEMU direct kernel boot | hypervisor-fw, BLS entry |");
        let _ = writeln!(w, "|---|---|---|");
        let rows = [
            ("x86_64 q35, Debian cloud kernel", Some(smallest)),
            ("aarch64 virt, Debian arm64 kernel", r.smallest_ram_arm64.as_ref()),
        ];
        for (machine, pair) in rows {
            let _ = match pair {
                Some(Ok((direct, ours))) => writeln!(w, "| {machine} | {direct} | {ours} |"),
                Some(Err(why)) => writeln!(w, "| {machine} | not measured: {why} | |"),
                None => Ok(()),
            };
        }
    }
    let _ = writeln!(w, "\n## Size (release ELF)\n");
    let _ = writeln!(w, "| measurement | bytes |");
    let _ = writeln!(w, "|---|---|");
    let _ = writeln!(w, "| file size | {} ({}) |", r.elf_file_bytes, mib(r.elf_file_bytes));
    let _ = writeln!(
        w,
        "| loaded size (sum of PT_LOAD memsz) | {} ({}) |",
        r.elf_loaded_bytes,
        mib(r.elf_loaded_bytes)
    );

    let _ = writeln!(
        w,
        "\n## Memory (from the firmware's `{MEMORY_LINE}` line at ExitBootServices)\n"
    );
    let _ = writeln!(
        w,
        "| scenario | runtime code | runtime data | ACPI reclaim | ACPI NVS | left reserved for the OS | boot services peak |"
    );
    let _ = writeln!(w, "|---|---|---|---|---|---|---|");
    for p in r.pairs.iter().filter(|p| p.contender == Contender::Ours) {
        match &p.memory {
            Some(Ok(m)) => {
                let total = reserved_for_os(m);
                let cells: Vec<String> = m[..4].iter().map(|b| b.to_string()).collect();
                let peak = m[4];
                let _ = writeln!(
                    w,
                    "| {} | {} | {} ({}) | {} ({}) |",
                    p.scenario,
                    cells.join(" | "),
                    total,
                    mib(total),
                    peak,
                    mib(peak)
                );
            }
            Some(Err(why)) if p.status == Status::Ok => {
                let _ = writeln!(w, "| {} | not available: {why} | | | | | | |", p.scenario);
            }
            _ => {
                let _ = writeln!(
                    w,
                    "| {} | not available: {} | | | | | | |",
                    p.scenario,
                    p.status.describe()
                );
            }
        }
    }
    out
}

/// A JSON value, written by hand (the workspace has no JSON crate).
enum Json {
    Null,
    Num(f64),
    Int(u64),
    Str(String),
    Arr(Vec<Json>),
    Obj(Vec<(&'static str, Json)>),
}

impl Json {
    fn str(s: &str) -> Json {
        Json::Str(s.into())
    }

    fn opt(v: Option<f64>) -> Json {
        v.map_or(Json::Null, Json::Num)
    }

    fn summary(s: Option<Summary>) -> Json {
        s.map_or(Json::Null, |s| {
            Json::Obj(vec![
                ("median", Json::Num(s.median)),
                ("min", Json::Num(s.min)),
                ("max", Json::Num(s.max)),
            ])
        })
    }

    fn write(&self, out: &mut String, indent: usize) {
        let pad = |n: usize| "  ".repeat(n);
        match self {
            Json::Null => out.push_str("null"),
            Json::Num(v) if v.is_finite() => {
                let _ = write!(out, "{:.4}", v);
            }
            Json::Num(_) => out.push_str("null"),
            Json::Int(v) => {
                let _ = write!(out, "{v}");
            }
            Json::Str(s) => {
                out.push('"');
                for c in s.chars() {
                    match c {
                        '"' => out.push_str("\\\""),
                        '\\' => out.push_str("\\\\"),
                        '\n' => out.push_str("\\n"),
                        c if (c as u32) < 0x20 => {
                            let _ = write!(out, "\\u{:04x}", c as u32);
                        }
                        c => out.push(c),
                    }
                }
                out.push('"');
            }
            Json::Arr(items) if items.is_empty() => out.push_str("[]"),
            Json::Arr(items) => {
                out.push_str("[\n");
                for (i, item) in items.iter().enumerate() {
                    out.push_str(&pad(indent + 1));
                    item.write(out, indent + 1);
                    out.push_str(if i + 1 < items.len() { ",\n" } else { "\n" });
                }
                out.push_str(&pad(indent));
                out.push(']');
            }
            Json::Obj(fields) => {
                out.push_str("{\n");
                for (i, (key, value)) in fields.iter().enumerate() {
                    let _ = write!(out, "{}\"{key}\": ", pad(indent + 1));
                    value.write(out, indent + 1);
                    out.push_str(if i + 1 < fields.len() { ",\n" } else { "\n" });
                }
                out.push_str(&pad(indent));
                out.push('}');
            }
        }
    }
}

fn status_fields(status: &Status) -> Vec<(&'static str, Json)> {
    vec![
        ("status", Json::str(status.key())),
        ("note", status.note().map_or(Json::Null, Json::str)),
    ]
}

/// Writes `target/bench/results.json` and returns its path. Layout (times in
/// seconds since QEMU started, `null` where not measured):
///
/// ```text
/// { "schema": "hvfw-bench-v2", "runs": N, "qemu", "git", "load_average": {"start","end"},
///   "total_seconds", "memory_line_format",
///   "boot": [ { "scenario", "contender": "hypervisor_fw"|"ovmf"|"direct",
///               "status": "ok"|"not-applicable"|"unavailable"|"not-bootable-yet"|"failed", "note",
///               "runs": [ {"firmware_first_line_s", "linux_version_s", "proof_done_s"} ],
///               "firmware_first_line_s"|"linux_version_s"|"proof_done_s": {"median","min","max"} | null } ],
///   "ratios": [ { "scenario", "reference": "ovmf"|"direct",
///                 "firmware_first_line", "linux_version", "proof_done": ours/reference of medians | null } ],
///   "tlb_warmup": [ { "scenario": "bls"|"uki", "linux_version_median_with", "linux_version_median_without",
///                     "linux_version_best_with", "linux_version_best_without" (s | null) } ],
///   "initrd_throughput": { "initrd_mib": 128, "status": "ok"|"not-available", "note",
///                          "hypervisor_fw_mib_s", "direct_mib_s", "direct_note", "ours_over_direct_percent" },
///   "firmware_read": null | { "status", "note", "runs": [ {"bytes","ms","mib_s","device_requests"} ],
///                             "mib_s": {"median","min","max"}, "ms": {...} },
///   "size": { "elf_file_bytes", "elf_loaded_bytes" },
///   "memory": [ { "scenario", "status": "ok"|"not-available", "note",
///                 "runtime_code", "runtime_data", "acpi_reclaim", "acpi_nvs",
///                 "reserved_for_os", "boot_services_peak" (bytes) } ],
///   "smallest_ram_mib": { "direct", "ours_bls", "step" } (MiB), or why not measured, or null,
///   "smallest_ram_mib_arm64": the same on aarch64 }
/// ```
fn smallest_json(pair: &Option<Result<(u64, u64), String>>) -> Json {
    match pair {
        Some(Ok((direct, ours))) => Json::Obj(vec![
            ("direct", Json::Int(*direct)),
            ("ours_bls", Json::Int(*ours)),
            ("step", Json::Int(crate::small_vm::STEP_MIB)),
        ]),
        Some(Err(why)) => Json::Str(why.clone()),
        None => Json::Null,
    }
}

pub fn write_json(r: &Results) -> Result<PathBuf, String> {
    let boot = r
        .pairs
        .iter()
        .map(|p| {
            let mut fields = vec![
                ("scenario", Json::str(p.scenario)),
                ("contender", Json::str(p.contender.key())),
            ];
            fields.extend(status_fields(&p.status));
            fields.push((
                "runs",
                Json::Arr(
                    p.runs
                        .iter()
                        .map(|run| Json::Obj(METRICS.iter().map(|m| (m.1, Json::opt((m.2)(run)))).collect()))
                        .collect(),
                ),
            ));
            for m in METRICS {
                fields.push((m.1, Json::summary(p.summary(m.2))));
            }
            Json::Obj(fields)
        })
        .collect();
    let mut ratios = Vec::new();
    for name in r.scenario_names() {
        for reference in [Contender::Ovmf, Contender::Direct] {
            let values: Vec<Option<f64>> = METRICS
                .iter()
                .map(|m| ratio(r.median(name, Contender::Ours, m.2), r.median(name, reference, m.2)))
                .collect();
            if values.iter().all(Option::is_none) {
                continue;
            }
            ratios.push(Json::Obj(vec![
                ("scenario", Json::str(name)),
                ("reference", Json::str(reference.key())),
                ("firmware_first_line", Json::opt(values[0])),
                ("linux_version", Json::opt(values[1])),
                ("proof_done", Json::opt(values[2])),
            ]));
        }
    }
    let tlb_warmup = r
        .tlb_warmup_rows()
        .into_iter()
        .map(|row| {
            Json::Obj(vec![
                ("scenario", Json::str(row.scenario)),
                ("linux_version_median_with", Json::opt(row.with.0)),
                ("linux_version_median_without", Json::opt(row.without.0)),
                ("linux_version_best_with", Json::opt(row.with.1)),
                ("linux_version_best_without", Json::opt(row.without.1)),
            ])
        })
        .collect();
    let throughput = {
        let (ours, direct) = r.initrd_rates();
        let note = |rate: &Result<f64, String>| rate.as_ref().err().map_or(Json::Null, |why| Json::str(why));
        Json::Obj(vec![
            ("initrd_mib", Json::Int(BIG_INITRD_MIB)),
            ("status", Json::str(if ours.is_ok() { "ok" } else { "not-available" })),
            ("note", note(&ours)),
            ("hypervisor_fw_mib_s", Json::opt(ours.as_ref().ok().copied())),
            ("direct_mib_s", Json::opt(direct.as_ref().ok().copied())),
            ("direct_note", note(&direct)),
            (
                "ours_over_direct_percent",
                Json::opt(ratio(ours.ok(), direct.ok()).map(|v| v * 100.0)),
            ),
        ])
    };
    let read = r.read.as_ref().map_or(Json::Null, |(status, runs)| {
        let mut fields = status_fields(status);
        fields.push((
            "runs",
            Json::Arr(
                runs.iter()
                    .map(|x| {
                        Json::Obj(vec![
                            ("bytes", Json::Int(x.bytes)),
                            ("ms", Json::Int(x.ms)),
                            ("mib_s", Json::Int(x.mib_s)),
                            ("device_requests", Json::Int(x.requests)),
                        ])
                    })
                    .collect(),
            ),
        ));
        let rates: Vec<f64> = runs.iter().map(|x| x.mib_s as f64).collect();
        let ms: Vec<f64> = runs.iter().map(|x| x.ms as f64).collect();
        fields.push(("mib_s", Json::summary(summarize(&rates))));
        fields.push(("ms", Json::summary(summarize(&ms))));
        Json::Obj(fields)
    });
    let memory = r
        .pairs
        .iter()
        .filter(|p| p.contender == Contender::Ours)
        .map(|p| match &p.memory {
            Some(Ok(m)) => {
                let mut fields = vec![
                    ("scenario", Json::str(p.scenario)),
                    ("status", Json::str("ok")),
                    ("note", Json::Null),
                ];
                fields.extend(MEMORY_KEYS[..4].iter().zip(m).map(|(k, v)| (*k, Json::Int(*v))));
                fields.push(("reserved_for_os", Json::Int(reserved_for_os(m))));
                fields.push(("boot_services_peak", Json::Int(m[4])));
                Json::Obj(fields)
            }
            other => {
                let why = match other {
                    Some(Err(why)) if p.status == Status::Ok => why.clone(),
                    _ => p.status.describe(),
                };
                Json::Obj(vec![
                    ("scenario", Json::str(p.scenario)),
                    ("status", Json::str("not-available")),
                    ("note", Json::Str(why)),
                ])
            }
        })
        .collect();
    let doc = Json::Obj(vec![
        ("schema", Json::str(SCHEMA)),
        ("runs", Json::Int(r.runs as u64)),
        ("qemu", Json::str(&r.qemu)),
        ("git", Json::str(&r.git)),
        (
            "load_average",
            Json::Obj(vec![
                ("start", Json::str(&r.load_start)),
                ("end", Json::str(&r.load_end)),
            ]),
        ),
        ("total_seconds", Json::Num(r.seconds)),
        (
            "memory_line_format",
            Json::Str(format!(
                "{MEMORY_LINE} {}",
                MEMORY_KEYS.map(|k| format!("{k}=<bytes>")).join(" ")
            )),
        ),
        ("boot", Json::Arr(boot)),
        ("ratios", Json::Arr(ratios)),
        ("tlb_warmup", Json::Arr(tlb_warmup)),
        ("initrd_throughput", throughput),
        ("firmware_read", read),
        (
            "size",
            Json::Obj(vec![
                ("elf_file_bytes", Json::Int(r.elf_file_bytes)),
                ("elf_loaded_bytes", Json::Int(r.elf_loaded_bytes)),
            ]),
        ),
        ("memory", Json::Arr(memory)),
        ("smallest_ram_mib", smallest_json(&r.smallest_ram)),
        ("smallest_ram_mib_arm64", smallest_json(&r.smallest_ram_arm64)),
    ]);
    let mut text = String::new();
    doc.write(&mut text, 0);
    text.push('\n');
    let path = crate::cache_dir("bench").join("results.json");
    std::fs::write(&path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    Ok(path)
}

/// Exit status for `cargo xtask bench`: false when a pair that should work failed.
pub fn all_expected_passed(r: &Results) -> bool {
    !r.pairs.iter().any(|p| matches!(p.status, Status::Failed(_)))
        && !r.read.as_ref().is_some_and(|(s, _)| matches!(s, Status::Failed(_)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_of_even_count_is_mean_of_middle_pair() {
        let s = summarize(&[4.0, 1.0, 3.0, 2.0]).unwrap();
        assert_eq!((s.median, s.min, s.max), (2.5, 1.0, 4.0));
        assert!(summarize(&[]).is_none());
    }

    #[test]
    fn memory_line_parses_after_log_prefix() {
        let console = "x\n[INFO ] hvfw-memory: runtime_code=4096 runtime_data=8192 acpi_reclaim=1 acpi_nvs=2 boot_services_peak=99\nLinux";
        assert_eq!(parse_memory_line(console), Ok([4096, 8192, 1, 2, 99]));
        assert!(parse_memory_line("hvfw-memory: runtime_code=1").is_err());
    }

    #[test]
    fn memory_line_as_the_firmware_prints_it_sums_what_the_os_keeps() {
        let console = "hvfw-memory: runtime_code=376832 runtime_data=114688 acpi_reclaim=0 acpi_nvs=0 boot_services_peak=17395712";
        let m = parse_memory_line(console).unwrap();
        assert_eq!(m[4], 17395712);
        assert_eq!(reserved_for_os(&m), 376832 + 114688);
        assert!(parse_memory_line("nothing").is_err());
    }

    fn ours(scenario: &'static str, linux_version: &[f64]) -> Pair {
        Pair {
            scenario,
            contender: Contender::Ours,
            status: Status::Ok,
            runs: linux_version
                .iter()
                .map(|&linux_version| Run {
                    firmware_first_line: Some(0.07),
                    linux_version,
                    proof_done: linux_version + 1.0,
                })
                .collect(),
            memory: None,
        }
    }

    #[test]
    fn tlb_warmup_report_pairs_each_scenario_with_its_twin() {
        let r = Results {
            runs: 3,
            pairs: vec![
                ours("bls", &[0.36, 0.40, 0.38]),
                ours(BLS_NO_TLB_WARMUP, &[0.47, 0.49, 0.50]),
                ours("uki", &[0.36]),
            ],
            read: None,
            elf_file_bytes: 0,
            elf_loaded_bytes: 0,
            smallest_ram: None,
            smallest_ram_arm64: None,
            qemu: String::new(),
            git: String::new(),
            load_start: String::new(),
            load_end: String::new(),
            seconds: 0.0,
        };
        let rows = r.tlb_warmup_rows();
        assert_eq!(rows.len(), 1, "uki ran without its twin");
        assert_eq!(rows[0].scenario, "bls");
        assert_eq!(rows[0].with, (Some(0.38), Some(0.36)));
        assert_eq!(rows[0].without, (Some(0.49), Some(0.47)));
        let report = markdown(&r);
        assert!(report.contains("| bls | 0.38 | 0.49 | 0.36 | 0.47 |"), "{report}");
    }

    #[test]
    fn escapes_are_stripped_from_failure_lines() {
        assert_eq!(
            strip_escapes("\u{1b}[0;37;40mno bootable device found.\u{1b}[0m Tried:"),
            "no bootable device found. Tried:"
        );
    }

    #[test]
    fn read_hook_line_parses() {
        let console =
            "[INFO ] read \\BIG.BIN: 134217728 bytes in 812 ms (157 MiB/s), 33 device requests, crc32 0x12345678\n";
        let r = parse_read_line(console).unwrap();
        assert_eq!((r.bytes, r.ms, r.mib_s, r.requests), (134217728, 812, 157, 33));
    }

    #[test]
    fn elf_loaded_size_sums_pt_load_memsz() {
        // A header with two program headers at 0x40: PT_LOAD memsz 0x1000, PT_NOTE memsz 0x20.
        let mut elf = vec![0u8; 0x40 + 2 * 56];
        elf[..6].copy_from_slice(b"\x7fELF\x02\x01");
        elf[0x20..0x28].copy_from_slice(&0x40u64.to_le_bytes());
        elf[0x36..0x38].copy_from_slice(&56u16.to_le_bytes());
        elf[0x38..0x3a].copy_from_slice(&2u16.to_le_bytes());
        elf[0x40..0x44].copy_from_slice(&1u32.to_le_bytes());
        elf[0x40 + 0x28..0x40 + 0x30].copy_from_slice(&0x1000u64.to_le_bytes());
        elf[0x78..0x7c].copy_from_slice(&4u32.to_le_bytes());
        elf[0x78 + 0x28..0x78 + 0x30].copy_from_slice(&0x20u64.to_le_bytes());
        assert_eq!(elf_loaded_size(&elf), Ok(0x1000));
        assert!(elf_loaded_size(&elf[..0x50]).is_err());
    }

    #[test]
    fn json_strings_are_escaped() {
        let mut out = String::new();
        Json::Str("a\"b\\c\nd\u{1}".into()).write(&mut out, 0);
        assert_eq!(out, r#""a\"b\\c\nd\u0001""#);
    }
}
