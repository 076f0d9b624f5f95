//! Runs Cloud Hypervisor (CH) on this machine, which has no usable hardware
//! virtualisation, as `../shared/tools/README.md` describes: QEMU's software
//! emulation runs a level-1 guest (Debian's cloud kernel) whose CPU has SVM,
//! that guest loads `kvm-amd`, and CH runs inside it with KVM; the firmware
//! under test boots in CH's guest (level 2).
//!
//! - Level 1 boots from a busybox initramfs built here (cached in
//!   `target/initramfs/`): the cloud kernel's KVM and virtio modules, the CH
//!   binary and [`LEVEL1_INIT`]. What one run boots (the firmware, CH's
//!   arguments, a kernel for CH's direct boot) travels in a second, small cpio
//!   archive appended to that initramfs (the kernel unpacks concatenated
//!   archives in order).
//! - The disks under test are level 1's virtio disks (`/dev/vda`, ...), opened
//!   by QEMU with `snapshot=on`, so cached images stay pristine.
//! - CH's serial port is its standard output, which is level 1's console, which
//!   is QEMU's standard output: the [`Qemu`] runner captures and timestamps it.
//!   Waits start after level 1's `starting cloud-hypervisor` line, so nothing
//!   level 1's kernel printed can satisfy them, and fail at once when CH exits.
//!
//! CH comes from `HVFW_CLOUD_HYPERVISOR` (a static x86_64 binary, optionally
//! xz-compressed), else `../shared/tools/cloud-hypervisor-v53.0.xz` beside the
//! workspace. It must be static: level 1 has no C library.

use crate::boot_tests::Session;
use crate::debian::{self, Arch};
use crate::images::{cached_in, file_identity};
use crate::initramfs::{busybox_cpio, gzip, Cpio};
use crate::qemu::{Qemu, QemuConfig};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The CH release the tests are written against.
pub const VERSION: &str = "v53.0";

/// Level 1's lines: it is up, it is about to start CH, CH has ended.
pub const L1_UP: &str = "HVFW-L1: up";
pub const L1_STARTING: &str = "HVFW-L1: starting cloud-hypervisor";
pub const L1_CH_EXITED: &str = "HVFW-L1: cloud-hypervisor exited with status ";
/// Level 1 reports a set-up failure with this prefix, then powers off.
pub const L1_ERROR: &str = "HVFW-L1: ERROR";

/// How long level 1 may take to start CH under TCG (measured: 3-6 s).
const LEVEL1_START: Duration = Duration::from_secs(90);

/// Modules level 1 loads, in dependency order (`modinfo -F depends`): KVM for
/// AMD's SVM (QEMU's EPYC model with `svm=on`), and virtio-pci + virtio-blk
/// for the disks under test. Debian 12's cloud modules are not compressed.
const LEVEL1_MODULES: &[&str] = &[
    "kernel/virt/lib/irqbypass.ko",
    "kernel/arch/x86/kvm/kvm.ko",
    "kernel/arch/x86/kvm/kvm-amd.ko",
    "kernel/drivers/virtio/virtio_ring.ko",
    "kernel/drivers/virtio/virtio.ko",
    "kernel/drivers/virtio/virtio_pci_modern_dev.ko",
    "kernel/drivers/virtio/virtio_pci_legacy_dev.ko",
    "kernel/drivers/virtio/virtio_pci.ko",
    "kernel/drivers/block/virtio_blk.ko",
];

/// Level 1's `/init`: load the modules in order, check `/dev/kvm` and the
/// disks, then run `/job/run.sh` (written per run by [`job_archive`]), which
/// starts CH. Every failure is one `HVFW-L1: ERROR` line, then power-off.
pub const LEVEL1_INIT: &str = r#"#!/bin/sh
# hypervisor-fw level-1 init: the host for Cloud Hypervisor, nested in QEMU.
export PATH=/sbin:/bin:/usr/sbin:/usr/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
echo "HVFW-L1: up"
fail() {
    echo "HVFW-L1: ERROR $*"
    poweroff -f
    sleep 10
}
for module in $(cat /lib/modules/order); do
    insmod "/lib/modules/$module" || fail "insmod $module failed"
done
if [ ! -c /dev/kvm ]; then
    fail "/dev/kvm is missing: kvm-amd did not load (does the level-1 CPU have SVM? dmesg says: $(dmesg | grep -i -e kvm -e svm | tail -n 3))"
fi
disks=$(cat /job/disks)
for disk in $disks; do
    tries=0
    while [ ! -b "/dev/$disk" ]; do
        tries=$((tries + 1))
        if [ $tries -gt 100 ]; then fail "level 1 has no /dev/$disk for a disk under test"; fi
        sleep 0.1
    done
done
echo "HVFW-L1: kvm ready, disks: $disks"
. /job/run.sh
"#;

/// Where CH comes from (see the module documentation).
fn source_binary() -> Result<PathBuf, String> {
    if let Some(path) = std::env::var_os("HVFW_CLOUD_HYPERVISOR") {
        return Ok(PathBuf::from(path));
    }
    let shared = crate::workspace_root()
        .parent()
        .map(|p| p.join("shared/tools/cloud-hypervisor-v53.0.xz"))
        .ok_or("the workspace has no parent directory")?;
    if shared.is_file() {
        return Ok(shared);
    }
    Err(format!(
        "Cloud Hypervisor {VERSION} not found: set HVFW_CLOUD_HYPERVISOR to a static x86_64 \
         cloud-hypervisor binary (or its .xz), or put the team's shared folder beside the \
         workspace ({} is missing)",
        shared.display()
    ))
}

/// The CH binary, decompressed into `target/cloud-hypervisor/` when it comes as `.xz`.
pub fn binary() -> Result<PathBuf, String> {
    let source = source_binary()?;
    if source.extension().is_none_or(|e| e != "xz") {
        return Ok(source);
    }
    let recipe = format!("xz-dc {}", file_identity(&source)?);
    cached_in("cloud-hypervisor", "cloud-hypervisor", &recipe, |out| {
        let bytes = std::process::Command::new("xz")
            .args(["-dc", &source.to_string_lossy()])
            .output()
            .map_err(|e| format!("cannot run xz (Debian package xz-utils): {e}"))?;
        if !bytes.status.success() {
            return Err(format!(
                "`xz -dc {}` failed: {}",
                source.display(),
                String::from_utf8_lossy(&bytes.stderr)
            ));
        }
        std::fs::write(out, &bytes.stdout).map_err(|e| e.to_string())
    })
}

/// `target/initramfs/ch-level1.cpio.gz`: busybox, [`LEVEL1_MODULES`], the CH
/// binary as `/bin/cloud-hypervisor` and [`LEVEL1_INIT`].
pub fn level1_initramfs() -> Result<PathBuf, String> {
    let kernel = debian::cloud_kernel()?;
    let busybox = debian::busybox()?;
    let ch = binary()?;
    let modules = modules_of(&kernel, LEVEL1_MODULES)?;
    let mut recipe = format!(
        "ch-level1-v2 {} {} {}\n{}\n",
        file_identity(&busybox)?,
        file_identity(&ch)?,
        file_identity(&kernel)?,
        LEVEL1_MODULES.join(" ")
    );
    recipe.push_str(LEVEL1_INIT);
    cached_in("initramfs", "ch-level1.cpio.gz", &recipe, |out| {
        let mut archive = gzip(&busybox_cpio(&busybox, Arch::Amd64, LEVEL1_INIT, &modules)?)?;
        // Then, uncompressed, the load order and CH itself: the kernel reads
        // one archive after the other into the same root (a second gzip
        // member is not taken: "invalid magic at start of compressed archive").
        pad_to_4(&mut archive);
        let mut more = Cpio::new();
        let order: Vec<String> = modules
            .iter()
            .filter_map(|m| m.file_name().map(|n| n.to_string_lossy().into_owned()))
            .collect();
        more.file("lib/modules/order", 0o644, format!("{}\n", order.join("\n")).as_bytes());
        let binary = std::fs::read(&ch).map_err(|e| format!("cannot read {}: {e}", ch.display()))?;
        more.file("bin/cloud-hypervisor", 0o755, &binary);
        archive.extend(more.finish());
        std::fs::write(out, archive).map_err(|e| e.to_string())
    })
}

/// Pads with zeros to a multiple of 4 bytes: where the kernel looks for the
/// next archive's header (it skips zeros between archives).
fn pad_to_4(bytes: &mut Vec<u8>) {
    while !bytes.len().is_multiple_of(4) {
        bytes.push(0);
    }
}

/// The files of `kernel`'s package at `lib/modules/<release>/<module>`.
fn modules_of(kernel: &Path, modules: &[&str]) -> Result<Vec<PathBuf>, String> {
    let release = debian::kernel_release(kernel);
    let root = kernel
        .parent()
        .and_then(Path::parent)
        .ok_or("the kernel is not in a package's /boot")?;
    modules
        .iter()
        .map(|m| {
            let path = root.join("lib/modules").join(&release).join(m);
            if path.is_file() {
                Ok(path)
            } else {
                Err(format!("the cloud kernel's package has no {}", path.display()))
            }
        })
        .collect()
}

/// How CH starts the payload.
#[derive(Clone, Debug)]
pub enum Payload {
    /// `--firmware FILE`.
    Firmware(PathBuf),
    /// `--kernel FILE` (a PVH ELF: the firmware or a vmlinux), with `--cmdline`
    /// and `--initramfs` when given.
    Kernel {
        kernel: PathBuf,
        cmdline: Option<String>,
        initramfs: Option<PathBuf>,
    },
}

/// One CH run.
#[derive(Clone, Debug)]
pub struct ChConfig {
    pub payload: Payload,
    /// Raw images, CH's `--disk` devices in order.
    pub disks: Vec<PathBuf>,
    pub cpus: u32,
    pub memory_mib: u64,
    /// Further CH arguments, each one word.
    pub extra_args: Vec<String>,
}

impl ChConfig {
    /// The firmware as CH's `--firmware`, one vCPU, 512 MiB, no disks.
    pub fn firmware(firmware: &Path) -> ChConfig {
        ChConfig {
            payload: Payload::Firmware(firmware.to_path_buf()),
            disks: Vec::new(),
            cpus: 1,
            memory_mib: 512,
            extra_args: Vec::new(),
        }
    }

    /// `kernel` (the firmware, or a vmlinux) as CH's `--kernel`.
    pub fn kernel(kernel: &Path, cmdline: Option<&str>) -> ChConfig {
        ChConfig {
            payload: Payload::Kernel {
                kernel: kernel.to_path_buf(),
                cmdline: cmdline.map(str::to_string),
                initramfs: None,
            },
            ..ChConfig::firmware(kernel)
        }
    }

    /// CH's arguments, with the payload's files at their paths in level 1
    /// (see [`job_archive`]).
    pub fn args(&self) -> Vec<String> {
        let mut args: Vec<String> = Vec::new();
        match &self.payload {
            Payload::Firmware(_) => args.extend(["--firmware".into(), "/job/payload".into()]),
            Payload::Kernel { cmdline, initramfs, .. } => {
                args.extend(["--kernel".into(), "/job/payload".into()]);
                if let Some(cmdline) = cmdline {
                    args.extend(["--cmdline".into(), cmdline.clone()]);
                }
                if initramfs.is_some() {
                    args.extend(["--initramfs".into(), "/job/initramfs".into()]);
                }
            }
        }
        for i in 0..self.disks.len() {
            args.push("--disk".into());
            // The serial is what virtio-blk's GET_ID (and so DiskInfo) reports.
            args.push(format!(
                "path=/dev/{},image_type=raw,serial=hvfw-disk{i}",
                level1_disk(i)
            ));
        }
        args.extend([
            "--cpus".into(),
            format!("boot={}", self.cpus),
            "--memory".into(),
            format!("size={}M", self.memory_mib),
            "--serial".into(),
            "tty".into(),
            "--console".into(),
            "off".into(),
        ]);
        args.extend(self.extra_args.iter().cloned());
        args
    }
}

/// Level 1's name for the `index`th disk under test.
fn level1_disk(index: usize) -> String {
    format!("vd{}", (b'a' + index as u8) as char)
}

/// Quotes `word` for level 1's shell.
fn shell_quote(word: &str) -> String {
    format!("'{}'", word.replace('\'', r"'\''"))
}

/// The per-run archive appended to level 1's initramfs: `/job/payload`
/// (firmware or kernel), `/job/initramfs`, `/job/disks` and `/job/run.sh`,
/// which runs CH with `config`'s arguments and reports how it ended.
fn job_archive(config: &ChConfig) -> Result<Vec<u8>, String> {
    let read = |path: &Path| std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()));
    let mut cpio = Cpio::new();
    match &config.payload {
        Payload::Firmware(file) => cpio.file("job/payload", 0o644, &read(file)?),
        Payload::Kernel { kernel, initramfs, .. } => {
            cpio.file("job/payload", 0o644, &read(kernel)?);
            if let Some(initramfs) = initramfs {
                cpio.file("job/initramfs", 0o644, &read(initramfs)?);
            }
        }
    }
    let disks: Vec<String> = (0..config.disks.len()).map(level1_disk).collect();
    cpio.file("job/disks", 0o644, format!("{}\n", disks.join(" ")).as_bytes());
    let args: Vec<String> = config.args().iter().map(|a| shell_quote(a)).collect();
    // CH makes its standard input non-blocking, which would break level 1's
    // console for everything after it: it gets its own.
    // CH's standard error goes to a file that level 1 shows as it grows, so
    // that the exit line can repeat CH's error chain.
    let script = format!(
        "echo \"{L1_STARTING} {VERSION}: $(cat /proc/uptime | cut -d' ' -f1)s after level-1 boot\"\n\
         : > /tmp/ch.err\n\
         tail -f /tmp/ch.err &\n\
         tail=$!\n\
         cloud-hypervisor {} </dev/null 2>>/tmp/ch.err\n\
         status=$?\n\
         sleep 0.2\n\
         kill $tail\n\
         if [ $status -ne 0 ]; then\n\
         \tchain=$(grep -v -e ' WARN:' -e ' INFO:' /tmp/ch.err | tr '\\n' ' ')\n\
         \techo \"{L1_CH_EXITED}$status: $chain\"\n\
         else\n\
         \techo \"{L1_CH_EXITED}$status\"\n\
         fi\n\
         poweroff -f\n",
        args.join(" ")
    );
    cpio.file("job/run.sh", 0o755, script.as_bytes());
    Ok(cpio.finish())
}

/// Level 1's QEMU: TCG with a virtual SVM CPU (EPYC-v3 with `svm`, `npt`), the
/// cloud kernel with the level-1 initramfs plus `job`, and the disks under test.
fn level1_qemu(config: &ChConfig, initrd: &Path) -> Result<QemuConfig, String> {
    let kernel = debian::cloud_kernel()?;
    let mut qemu = QemuConfig::new(&kernel);
    qemu.cpu = Some("EPYC-v3,svm=on,npt=on".into());
    qemu.smp = config.cpus.max(2);
    // Room for CH's guest RAM (touched lazily) besides level 1's own.
    qemu.memory = format!("{}M", config.memory_mib + 1536);
    // Quiet: level 1's own kernel messages would interleave with level 2's console.
    qemu.append = Some("console=ttyS0 quiet loglevel=1 panic=-1".into());
    qemu.extra_args = vec!["-initrd".into(), initrd.to_string_lossy().into_owned()];
    qemu.disks = config.disks.clone();
    Ok(qemu)
}

/// Boots `config` under CH and returns the running level-1 QEMU, its console
/// positioned after level 1's `starting cloud-hypervisor` line: what follows
/// is CH's and level 2's.
pub fn boot<'s>(session: &'s mut Session, config: &ChConfig) -> Result<&'s mut Qemu, String> {
    boot_timed(session, config).map(|(qemu, _)| qemu)
}

/// [`boot`], also returning when level 1 started CH (since QEMU started), the
/// origin of the CH benchmark's times.
pub fn boot_timed<'s>(session: &'s mut Session, config: &ChConfig) -> Result<(&'s mut Qemu, Duration), String> {
    let base = level1_initramfs()?;
    let dir = crate::cache_dir("cloud-hypervisor");
    let initrd = dir.join(format!("level1-run-{}.cpio", std::process::id()));
    let mut bytes = std::fs::read(&base).map_err(|e| format!("cannot read {}: {e}", base.display()))?;
    pad_to_4(&mut bytes);
    bytes.extend(job_archive(config)?);
    std::fs::write(&initrd, bytes).map_err(|e| format!("cannot write {}: {e}", initrd.display()))?;
    let qemu_config = level1_qemu(config, &initrd)?;
    // Nested under software emulation, a started CH now and then never runs
    // its guest (not one line, not even CH's own start-up warning, where the
    // firmware's banner normally comes within a second). That is the nesting,
    // not what is under test: such a start is said and tried once more.
    for attempt in 1..=2 {
        let started = start_level1(session, &qemu_config)?;
        let qemu = session.qemu()?;
        if attempt == 2 || qemu.output_after(qemu.cursor(), SILENT_START) {
            return Ok((session.qemu()?, started));
        }
        println!(
            "    level 2 printed nothing in {}s after CH started (a nested-virtualisation stall): starting again",
            SILENT_START.as_secs()
        );
    }
    unreachable!("the second attempt returns")
}

/// How long a started CH may stay silent before the start counts as stalled.
const SILENT_START: Duration = Duration::from_secs(30);

/// Boots level 1 with `config` until it has started CH; returns when that was.
fn start_level1(session: &mut Session, config: &QemuConfig) -> Result<Duration, String> {
    let qemu = session.boot(config)?;
    qemu.wait_for(L1_UP, LEVEL1_START)
        .map_err(|e| format!("level 1 (QEMU with Debian's cloud kernel) did not boot: {e}"))?;
    qemu.fail_on(L1_ERROR, "level 1 failed to set up");
    qemu.wait_for(L1_STARTING, LEVEL1_START)
        .map_err(|e| format!("level 1 did not start cloud-hypervisor: {e}"))?;
    let started = qemu.wait_for("\n", LEVEL1_START)?;
    // From here on, CH ending is the end of what a test can wait for.
    qemu.fail_on(L1_CH_EXITED, "cloud-hypervisor exited");
    qemu.label_when_stuck("Cloud Hypervisor's guest (level 2)");
    Ok(started)
}

/// Waits for CH to end and returns its exit status.
pub fn exit_status(qemu: &mut Qemu, timeout: Duration) -> Result<i32, String> {
    qemu.clear_failures();
    qemu.wait_for(L1_CH_EXITED, timeout)?;
    let from = qemu.cursor();
    qemu.wait_for("\n", Duration::from_secs(5))?;
    let log = qemu.log();
    let line = log[from..].lines().next().unwrap_or_default().trim();
    let status = line.split(':').next().unwrap_or_default();
    status
        .parse()
        .map_err(|_| format!("level 1 printed an unreadable CH status {line:?}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ch_arguments_name_level_one_paths() {
        let mut config = ChConfig::kernel(Path::new("/x/fw"), Some("hvfw.bls=off"));
        config.disks = vec!["/a.img".into(), "/b.img".into()];
        config.cpus = 2;
        let args = config.args().join(" ");
        assert_eq!(
            args,
            "--kernel /job/payload --cmdline hvfw.bls=off --disk path=/dev/vda,image_type=raw,serial=hvfw-disk0 \
             --disk path=/dev/vdb,image_type=raw,serial=hvfw-disk1 --cpus boot=2 --memory size=512M --serial tty --console off"
        );
        assert!(ChConfig::firmware(Path::new("/x/fw"))
            .args()
            .starts_with(&["--firmware".to_string(), "/job/payload".to_string()]));
    }

    #[test]
    fn shell_quoting_survives_quotes() {
        assert_eq!(shell_quote("a b"), "'a b'");
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
    }
}
