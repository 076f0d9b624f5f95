//! Initramfs images for the boot tests: a gzip-compressed "newc" cpio archive
//! (the format the kernel unpacks, see the kernel's
//! Documentation/driver-api/early-userspace/buffer-format.rst) holding Debian's
//! static busybox, its applet links and an `/init` shell script.
//!
//! The archive is written here; only the compression uses a program (`gzip`).
//! Images are cached in `target/initramfs/` and keyed by their full recipe (the
//! script text and the busybox file), so changing either rebuilds.

use crate::debian::{self, Arch};
use crate::images::{cached_in, file_identity, run};
use std::collections::BTreeSet;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The magic at the start of every newc header (no checksums).
const NEWC_MAGIC: &str = "070701";
/// The name of the entry that ends an archive.
const TRAILER: &str = "TRAILER!!!";
/// File type bits of `mode` (as in `st_mode`).
const S_IFDIR: u32 = 0o040000;
const S_IFREG: u32 = 0o100000;
const S_IFLNK: u32 = 0o120000;
const S_IFCHR: u32 = 0o020000;

/// The line every proof script's report starts with.
pub const PROOF_PREFIX: &str = "HVFW-PROOF:";
/// The proof script's last line before it powers off.
pub const PROOF_DONE: &str = "HVFW-PROOF: done";

/// A newc cpio archive being written. Parent directories are added as needed;
/// all entries belong to root and carry mtime 0, so equal inputs give equal bytes.
pub struct Cpio {
    bytes: Vec<u8>,
    next_inode: u32,
    dirs: BTreeSet<String>,
}

impl Default for Cpio {
    fn default() -> Self {
        Self::new()
    }
}

impl Cpio {
    pub fn new() -> Cpio {
        Cpio {
            bytes: Vec::new(),
            next_inode: 1,
            dirs: BTreeSet::new(),
        }
    }

    /// A directory (and its parents).
    pub fn dir(&mut self, path: &str, mode: u32) {
        let path = path.trim_matches('/');
        if path.is_empty() || self.dirs.contains(path) {
            return;
        }
        self.parents(path);
        self.dirs.insert(path.to_string());
        self.entry(path, S_IFDIR | mode, 2, (0, 0), &[]);
    }

    /// A regular file.
    pub fn file(&mut self, path: &str, mode: u32, data: &[u8]) {
        let path = path.trim_matches('/');
        self.parents(path);
        self.entry(path, S_IFREG | mode, 1, (0, 0), data);
    }

    /// A symbolic link to `target`.
    pub fn symlink(&mut self, path: &str, target: &str) {
        let path = path.trim_matches('/');
        self.parents(path);
        self.entry(path, S_IFLNK | 0o777, 1, (0, 0), target.as_bytes());
    }

    /// A character device node.
    pub fn char_device(&mut self, path: &str, mode: u32, major: u32, minor: u32) {
        let path = path.trim_matches('/');
        self.parents(path);
        self.entry(path, S_IFCHR | mode, 1, (major, minor), &[]);
    }

    /// Ends the archive and returns its bytes.
    pub fn finish(mut self) -> Vec<u8> {
        self.entry(TRAILER, 0, 1, (0, 0), &[]);
        self.bytes
    }

    fn parents(&mut self, path: &str) {
        if let Some((parent, _)) = path.rsplit_once('/') {
            self.dir(parent, 0o755);
        }
    }

    /// One header, name and data, each padded to 4 bytes.
    fn entry(&mut self, name: &str, mode: u32, nlink: u32, rdev: (u32, u32), data: &[u8]) {
        let inode = if name == TRAILER { 0 } else { self.next_inode };
        self.next_inode += 1;
        let fields = [
            inode,
            mode,
            0, // uid
            0, // gid
            nlink,
            0, // mtime
            data.len() as u32,
            0, // devmajor
            0, // devminor
            rdev.0,
            rdev.1,
            name.len() as u32 + 1, // with its NUL
            0,                     // check
        ];
        self.bytes.extend_from_slice(NEWC_MAGIC.as_bytes());
        for field in fields {
            self.bytes.extend_from_slice(format!("{field:08X}").as_bytes());
        }
        self.bytes.extend_from_slice(name.as_bytes());
        self.bytes.push(0);
        self.pad();
        self.bytes.extend_from_slice(data);
        self.pad();
    }

    fn pad(&mut self) {
        while !self.bytes.len().is_multiple_of(4) {
            self.bytes.push(0);
        }
    }
}

/// Compresses with `gzip -9 -n` (no name or time stamp: reproducible).
pub fn gzip(data: &[u8]) -> Result<Vec<u8>, String> {
    let mut child = Command::new("gzip")
        .args(["-9", "-n", "-c"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run gzip (Debian package gzip): {e}"))?;
    let mut stdin = child.stdin.take().ok_or("gzip has no stdin")?;
    let input = data.to_vec();
    let writer = std::thread::spawn(move || stdin.write_all(&input));
    let output = child.wait_with_output().map_err(|e| format!("gzip failed: {e}"))?;
    writer
        .join()
        .map_err(|_| "gzip writer thread panicked")?
        .map_err(|e| format!("cannot feed gzip: {e}"))?;
    if !output.status.success() {
        return Err(format!("gzip failed: {}", String::from_utf8_lossy(&output.stderr)));
    }
    Ok(output.stdout)
}

/// Applets linked when busybox cannot be asked for its list (another architecture).
const FALLBACK_APPLETS: &[&str] = &[
    "bin/sh",
    "bin/ash",
    "bin/cat",
    "bin/echo",
    "bin/ls",
    "bin/mkdir",
    "bin/mount",
    "bin/umount",
    "bin/grep",
    "bin/sleep",
    "bin/dmesg",
    "bin/ln",
    "bin/rm",
    "bin/cp",
    "bin/mv",
    "bin/dd",
    "bin/sync",
    "bin/sed",
    "bin/uname",
    "bin/mknod",
    "bin/stat",
    "sbin/poweroff",
    "sbin/reboot",
    "sbin/halt",
    "sbin/switch_root",
    "sbin/blkid",
    "usr/bin/wc",
    "usr/bin/tr",
    "usr/bin/cut",
    "usr/bin/head",
    "usr/bin/tail",
    "usr/bin/printf",
    "usr/bin/test",
    "usr/bin/[",
    "usr/bin/find",
    "usr/bin/hexdump",
    "usr/bin/od",
    "usr/bin/awk",
    "usr/bin/readlink",
    "usr/bin/sha256sum",
    "usr/bin/xargs",
    "usr/bin/sort",
    "usr/bin/seq",
];

/// Where busybox's applets go (`busybox --list-full`: paths such as `sbin/poweroff`).
fn applets(busybox: &Path, arch: Arch) -> Vec<String> {
    if arch == Arch::Amd64 && cfg!(target_arch = "x86_64") {
        if let Ok(list) = run(&busybox.to_string_lossy(), &["--list-full"]) {
            let applets: Vec<String> = list
                .lines()
                .map(|l| l.trim().trim_start_matches('/').to_string())
                .filter(|l| !l.is_empty() && l != "bin/busybox")
                .collect();
            if !applets.is_empty() {
                return applets;
            }
        }
    }
    FALLBACK_APPLETS.iter().map(|a| a.to_string()).collect()
}

/// The cpio (uncompressed) of a busybox initramfs whose `/init` is
/// `init_script`, with `modules` (kernel `.ko` files) in `/lib/modules/`.
pub fn busybox_cpio(busybox: &Path, arch: Arch, init_script: &str, modules: &[PathBuf]) -> Result<Vec<u8>, String> {
    let binary = std::fs::read(busybox).map_err(|e| format!("cannot read {}: {e}", busybox.display()))?;
    let mut cpio = Cpio::new();
    for dir in [
        "bin",
        "sbin",
        "usr/bin",
        "usr/sbin",
        "proc",
        "sys",
        "dev",
        "run",
        "tmp",
        "root",
        "etc",
        "lib/modules",
    ] {
        cpio.dir(dir, 0o755);
    }
    // The kernel opens /dev/console for init's stdin/out/err before devtmpfs is mounted.
    cpio.char_device("dev/console", 0o600, 5, 1);
    cpio.file("bin/busybox", 0o755, &binary);
    for applet in applets(busybox, arch) {
        let depth = applet.matches('/').count();
        let target = format!("{}bin/busybox", "../".repeat(depth));
        cpio.symlink(&applet, &target);
    }
    for module in modules {
        let name = module
            .file_name()
            .ok_or("a module path has no file name")?
            .to_string_lossy();
        let bytes = std::fs::read(module).map_err(|e| format!("cannot read {}: {e}", module.display()))?;
        cpio.file(&format!("lib/modules/{name}"), 0o644, &bytes);
    }
    cpio.file("init", 0o755, init_script.as_bytes());
    Ok(cpio.finish())
}

/// `target/initramfs/<name>.cpio.gz`: Debian's static busybox (amd64) with
/// `init_script` as `/init`.
pub fn busybox_initramfs(name: &str, init_script: &str) -> Result<PathBuf, String> {
    busybox_initramfs_for(name, Arch::Amd64, init_script, &[])
}

/// Like `busybox_initramfs`, for `arch`, with kernel `modules` in `/lib/modules/`
/// (they must match the kernel booted; the proof script loads them all).
pub fn busybox_initramfs_for(
    name: &str,
    arch: Arch,
    init_script: &str,
    modules: &[PathBuf],
) -> Result<PathBuf, String> {
    let busybox = debian::busybox_for(arch)?;
    let mut recipe = format!("busybox-newc-gzip-v2 {} {}\n", arch.name(), file_identity(&busybox)?);
    for module in modules {
        recipe.push_str(&format!("module {}\n", file_identity(module)?));
    }
    recipe.push_str(init_script);
    cached_in("initramfs", &format!("{name}.cpio.gz"), &recipe, |path| {
        let archive = gzip(&busybox_cpio(&busybox, arch, init_script, modules)?)?;
        std::fs::write(path, archive).map_err(|e| e.to_string())
    })
}

/// The proof script: mounts proc, sysfs, devtmpfs and efivarfs, prints one
/// `HVFW-PROOF: key=value` line per fact on the console, then powers off.
///
/// ```text
/// HVFW-PROOF: cmdline=<the kernel command line>
/// HVFW-PROOF: efi=yes|no
/// HVFW-PROOF: efivars=<entries in /sys/firmware/efi/efivars>
/// HVFW-PROOF: efi-boot-entries=<Boot#### variables, e.g. Boot0000 Boot0001>
/// HVFW-PROOF: efi-boot-current=<BootCurrent in hex, e.g. 0001>
/// HVFW-PROOF: efi-boot-order=<BootOrder as Boot#### names>
/// HVFW-PROOF: acpi=<table names under /sys/firmware/acpi/tables>
/// HVFW-PROOF: dmi-entry-point=<anchor of the SMBIOS entry point Linux used: _SM_ or _SM3>
/// HVFW-PROOF: dmi-sys-vendor=<SMBIOS system manufacturer, /sys/class/dmi/id/sys_vendor>
/// HVFW-PROOF: dmi-product-serial=<SMBIOS system serial number>
/// HVFW-PROOF: dmidecode-version=<dmidecode's "SMBIOS x.y present." line>
/// HVFW-PROOF: dmidecode-manufacturer=<dmidecode -s system-manufacturer>
/// HVFW-PROOF: dmidecode-serial=<dmidecode -s system-serial-number>
/// HVFW-PROOF: dmidecode-complaints=<dmidecode's stderr while decoding every structure>
/// HVFW-PROOF: cpus=<processors Linux brought up>
/// HVFW-PROOF: memtotal_kb=<MemTotal>
/// HVFW-PROOF: initrd-extra=<contents of /extra.txt, from a second initrd>
/// HVFW-PROOF: efi-rng=yes|no  (Linux's `efi:` line names the RNG seed table,
///                              which the EFI stub fills from EFI_RNG_PROTOCOL)
/// HVFW-PROOF: efi-memattr=<the EFI_MEMORY_ATTRIBUTES_TABLE's address on Linux's `efi:` line>
/// HVFW-PROOF: efi-memattr-complaints=<Linux's `efi: memattr:` messages: entries it
///                                     rejected (it prints none for a good table)>
/// HVFW-PROOF: rtc=<names of Linux's RTC devices, e.g. rtc-efi>
/// HVFW-PROOF: year=<date +%Y: the system clock, set at boot from rtc0>
/// HVFW-PROOF: done
/// ```
///
/// The `dmidecode-*` lines come only when [`dmidecode_initramfs`] was loaded too.
pub fn proof_script() -> String {
    proof_script_for("ttyS0")
}

/// The proof script for a machine whose serial port is `serial` (`ttyS0` on
/// x86, `ttyAMA0` on Arm `virt`). Lines go to `/dev/console` and, when the
/// console is not that port already, to the port as well.
pub fn proof_script_for(serial: &str) -> String {
    format!(
        r#"#!/bin/sh
# hypervisor-fw proof init: reports what the kernel was handed, then powers off.
export PATH=/sbin:/bin:/usr/sbin:/usr/bin
for module in /lib/modules/*.ko; do
    if [ -f "$module" ]; then insmod "$module"; fi
done
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
if [ -d /sys/firmware/efi/efivars ]; then
    mount -t efivarfs efivarfs /sys/firmware/efi/efivars
fi
outputs=/dev/console
if ! grep -qw {serial} /sys/class/tty/console/active 2>/dev/null && [ -c /dev/{serial} ]; then
    outputs="$outputs /dev/{serial}"
fi
proof() {{
    for out in $outputs; do
        echo "{PROOF_PREFIX} $*" > "$out"
    done
}}
proof "cmdline=$(cat /proc/cmdline)"
if [ -d /sys/firmware/efi ]; then proof "efi=yes"; else proof "efi=no"; fi
proof "efivars=$(ls /sys/firmware/efi/efivars 2>/dev/null | wc -l)"
entries=""
current=""
global=8be4df61-93ca-11d2-aa0d-00e098032b8c
for var in /sys/firmware/efi/efivars/Boot????-$global; do
    if [ -f "$var" ]; then name=${{var##*/}}; entries="$entries ${{name%%-*}}"; fi
done
if [ -f /sys/firmware/efi/efivars/BootCurrent-$global ]; then
    # 4 bytes of attributes, then the UINT16, little-endian.
    set -- $(od -An -tx1 /sys/firmware/efi/efivars/BootCurrent-$global)
    current=$6$5
fi
order=""
if [ -f /sys/firmware/efi/efivars/BootOrder-$global ]; then
    # 4 bytes of attributes, then UINT16s, little-endian.
    set -- $(od -An -v -tx1 /sys/firmware/efi/efivars/BootOrder-$global)
    shift 4
    while [ $# -ge 2 ]; do order="$order Boot$2$1"; shift 2; done
fi
proof "efi-boot-entries=${{entries# }}"
proof "efi-boot-order=${{order# }}"
proof "efi-boot-current=$current"
acpi=""
for table in /sys/firmware/acpi/tables/*; do
    if [ -f "$table" ]; then acpi="$acpi ${{table##*/}}"; fi
done
proof "acpi=${{acpi# }}"
proof "dmi-entry-point=$(head -c 4 /sys/firmware/dmi/tables/smbios_entry_point 2>/dev/null)"
proof "dmi-sys-vendor=$(cat /sys/class/dmi/id/sys_vendor 2>/dev/null)"
proof "dmi-product-serial=$(cat /sys/class/dmi/id/product_serial 2>/dev/null)"
if [ -x /usr/sbin/dmidecode ]; then
    proof "dmidecode-version=$(dmidecode -t 1 2>&1 | grep -m1 '^SMBIOS')"
    proof "dmidecode-manufacturer=$(dmidecode -s system-manufacturer 2>&1)"
    proof "dmidecode-serial=$(dmidecode -s system-serial-number 2>&1)"
    proof "dmidecode-complaints=$(dmidecode 2>&1 >/dev/null | tr '\n' ' ')"
fi
proof "cpus=$(grep -c ^processor /proc/cpuinfo)"
memtotal=""
while read -r key value unit; do
    if [ "$key" = "MemTotal:" ]; then memtotal=$value; fi
done < /proc/meminfo
proof "memtotal_kb=$memtotal"
extra=""
if [ -f /extra.txt ]; then extra=$(cat /extra.txt); fi
proof "initrd-extra=$extra"
if dmesg | grep 'efi: ' | grep -q 'RNG='; then proof "efi-rng=yes"; else proof "efi-rng=no"; fi
memattr=$(dmesg | grep 'efi: ' | grep -o 'MEMATTR=0x[0-9a-f]*' | head -n 1)
proof "efi-memattr=${{memattr#MEMATTR=}}"
proof "efi-memattr-complaints=$(dmesg | grep 'efi: memattr:' | tr '\n' ' ')"
rtc=""
for name in /sys/class/rtc/rtc*/name; do
    if [ -f "$name" ]; then rtc="$rtc $(cat "$name")"; fi
done
proof "rtc=${{rtc# }}"
proof "year=$(date +%Y)"
proof "done"
poweroff -f
# Only reached if ACPI power-off failed.
echo o > /proc/sysrq-trigger
sleep 5
"#
    )
}

/// Modules of the cloud kernel the proof script needs: efivarfs is `=m` in
/// Debian's cloud config.
pub const PROOF_MODULES: &[&str] = &["kernel/fs/efivarfs/efivarfs.ko"];

/// `target/initramfs/proof.cpio.gz`: busybox with the proof script as `/init`
/// and the cloud kernel's efivarfs module.
pub fn proof_initramfs() -> Result<PathBuf, String> {
    proof_initramfs_named("proof", &proof_script())
}

/// `target/initramfs/NAME.cpio.gz`: busybox, the cloud kernel's efivarfs
/// module and `script` as `/init` (a variant of [`proof_script`]).
pub fn proof_initramfs_with_script(name: &str, script: &str) -> Result<PathBuf, String> {
    proof_initramfs_named(name, script)
}

/// The initramfs `cargo xtask run` boots: the proof lines, then a shell on the
/// serial console instead of powering off.
pub fn demo_initramfs() -> Result<PathBuf, String> {
    let script = proof_script().replace(
        "poweroff -f",
        "echo\necho 'hypervisor-fw demo: a busybox shell. Type poweroff -f to end.'\n\
         exec setsid cttyhack sh\n",
    );
    proof_initramfs_named("demo", &script)
}

/// `target/initramfs/proof-riscv64.cpio.gz`: riscv64 busybox (Debian 13) with
/// the proof script, on QEMU virt's 16550 console, and the efivarfs module of
/// Debian 13's riscv64 kernel.
pub fn riscv64_proof_initramfs() -> Result<PathBuf, String> {
    let kernel = debian::riscv64_kernel()?;
    proof_initramfs_with(&kernel, Arch::Riscv64, "proof-riscv64", &proof_script_for("ttyS0"))
}

/// `target/initramfs/proof-arm64.cpio.gz`: arm64 busybox with the proof
/// script for the `virt` machine's PL011 (`ttyAMA0`) and the efivarfs module
/// of Debian's generic arm64 kernel.
pub fn arm64_proof_initramfs() -> Result<PathBuf, String> {
    let kernel = debian::arm64_kernel()?;
    proof_initramfs_with(&kernel, Arch::Arm64, "proof-arm64", &proof_script_for("ttyAMA0"))
}

fn proof_initramfs_named(name: &str, script: &str) -> Result<PathBuf, String> {
    let kernel = debian::cloud_kernel()?;
    proof_initramfs_with(&kernel, Arch::Amd64, name, script)
}

/// The proof initramfs for `arch` with `kernel`'s `PROOF_MODULES`.
fn proof_initramfs_with(kernel: &Path, arch: Arch, name: &str, script: &str) -> Result<PathBuf, String> {
    initramfs_with_modules(kernel, arch, name, script, PROOF_MODULES)
}

/// A busybox initramfs for `kernel` with `script` as `/init` and `modules`
/// (paths under the kernel's `lib/modules/<release>/`) in `/lib/modules/`.
pub fn initramfs_with_modules(
    kernel: &Path,
    arch: Arch,
    name: &str,
    script: &str,
    modules: &[&str],
) -> Result<PathBuf, String> {
    let release = debian::kernel_release(kernel);
    let root = kernel
        .parent()
        .and_then(Path::parent)
        .ok_or("the kernel is not in a package's /boot")?;
    // Debian 12 keeps modules in /lib/modules, Debian 13 in /usr/lib/modules,
    // compressed with xz (busybox's insmod wants them plain).
    let tree = [root.join("lib/modules"), root.join("usr/lib/modules")]
        .into_iter()
        .map(|dir| dir.join(&release))
        .find(|dir| dir.is_dir())
        .ok_or_else(|| format!("the kernel package has no lib/modules/{release}"))?;
    let wanted = modules;
    let mut modules = Vec::new();
    for module in wanted {
        let path = tree.join(module);
        let compressed = tree.join(format!("{module}.xz"));
        if path.is_file() {
            modules.push(path);
        } else if compressed.is_file() {
            modules.push(decompressed_module(&compressed)?);
        } else {
            return Err(format!("the kernel package has no lib/modules/{release}/{module}"));
        }
    }
    busybox_initramfs_for(name, arch, script, &modules)
}

/// A plain copy of an xz-compressed kernel module, beside it (`xz -dk`).
fn decompressed_module(compressed: &Path) -> Result<PathBuf, String> {
    let plain = compressed.with_extension("");
    if !plain.is_file() {
        crate::images::run("xz", &["-dk", &compressed.to_string_lossy()])
            .map_err(|e| format!("decompressing {} (Debian package xz-utils): {e}", compressed.display()))?;
    }
    Ok(plain)
}

/// `target/initramfs/<name>.cpio.gz`: a small archive holding only `path` with
/// `contents`, to pass as a second initrd.
pub fn single_file_initramfs(name: &str, path: &str, contents: &[u8]) -> Result<PathBuf, String> {
    let recipe = format!("single-file-newc-gzip-v1 {path} {}", fnv1a(contents));
    cached_in("initramfs", &format!("{name}.cpio.gz"), &recipe, |out| {
        let mut cpio = Cpio::new();
        cpio.file(path, 0o644, contents);
        std::fs::write(out, gzip(&cpio.finish())?).map_err(|e| e.to_string())
    })
}

/// `target/initramfs/extra-<hash>.cpio.gz`: a second initrd adding `/extra.txt`,
/// which the proof script prints as `initrd-extra=<text>`.
pub fn extra_initramfs(text: &str) -> Result<PathBuf, String> {
    single_file_initramfs(
        &format!("extra-{:016x}", fnv1a(text.as_bytes())),
        "extra.txt",
        text.as_bytes(),
    )
}

/// The dynamic loader and C library `dmidecode` links against (Debian 12), and
/// the interpreter path its ELF names (x86_64 and AArch64 psABI).
fn dmidecode_libraries(arch: Arch) -> Result<([&'static str; 2], &'static str, &'static str), String> {
    match arch {
        Arch::Amd64 => Ok((
            [
                "lib/x86_64-linux-gnu/ld-linux-x86-64.so.2",
                "lib/x86_64-linux-gnu/libc.so.6",
            ],
            "lib64/ld-linux-x86-64.so.2",
            "/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2",
        )),
        Arch::Arm64 => Ok((
            [
                "lib/aarch64-linux-gnu/ld-linux-aarch64.so.1",
                "lib/aarch64-linux-gnu/libc.so.6",
            ],
            "lib/ld-linux-aarch64.so.1",
            "/lib/aarch64-linux-gnu/ld-linux-aarch64.so.1",
        )),
        Arch::Riscv64 => Err("no dmidecode initrd for riscv64".into()),
    }
}

/// `target/initramfs/dmidecode.cpio.gz`: a second initrd adding Debian's amd64
/// `/usr/sbin/dmidecode` with the libc6 files it needs (its only dependency), for
/// the proof script's `dmidecode-*` lines.
pub fn dmidecode_initramfs() -> Result<PathBuf, String> {
    dmidecode_initramfs_for(Arch::Amd64)
}

/// [`dmidecode_initramfs`] for `arch` (amd64 or arm64).
pub fn dmidecode_initramfs_for(arch: Arch) -> Result<PathBuf, String> {
    let (paths, interpreter, interpreter_target) = dmidecode_libraries(arch)?;
    let dmidecode = debian::file_in("dmidecode", arch, "usr/sbin/dmidecode")?;
    let libraries = paths
        .iter()
        .map(|path| debian::file_in("libc6", arch, path))
        .collect::<Result<Vec<_>, _>>()?;
    let mut recipe = format!("dmidecode-newc-gzip-v1 {}\n", file_identity(&dmidecode)?);
    for library in &libraries {
        recipe.push_str(&format!("{}\n", file_identity(library)?));
    }
    let name = match arch {
        Arch::Amd64 => "dmidecode.cpio.gz".to_string(),
        other => format!("dmidecode-{}.cpio.gz", other.name()),
    };
    cached_in("initramfs", &name, &recipe, |out| {
        let read = |path: &Path| std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()));
        let mut cpio = Cpio::new();
        cpio.file("usr/sbin/dmidecode", 0o755, &read(&dmidecode)?);
        for (path, library) in paths.iter().zip(&libraries) {
            cpio.file(path, 0o755, &read(library)?);
        }
        cpio.symlink(interpreter, interpreter_target);
        std::fs::write(out, gzip(&cpio.finish())?).map_err(|e| e.to_string())
    })
}

/// FNV-1a, 64 bits: a short, stable name for cache entries.
pub fn fnv1a(bytes: &[u8]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        hash ^= u64::from(b);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    hash
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn newc_entries_are_padded_to_four_bytes_and_end_with_the_trailer() {
        let mut cpio = Cpio::new();
        cpio.file("a/b.txt", 0o644, b"hello");
        let bytes = cpio.finish();
        assert_eq!(bytes.len() % 4, 0);
        assert!(bytes.starts_with(b"070701"));
        let text = String::from_utf8_lossy(&bytes);
        // The parent directory comes first, then the file, then the trailer.
        let a = text.find("a\0").unwrap();
        let b = text.find("a/b.txt\0").unwrap();
        let t = text.find("TRAILER!!!\0").unwrap();
        assert!(a < b && b < t);
    }

    #[test]
    fn cpio_program_lists_what_we_wrote() {
        if !crate::setup::have_program("cpio") {
            panic!("this test needs cpio (Debian package cpio)");
        }
        let mut cpio = Cpio::new();
        cpio.file("init", 0o755, b"#!/bin/sh\n");
        cpio.symlink("bin/sh", "busybox");
        cpio.char_device("dev/console", 0o600, 5, 1);
        let bytes = cpio.finish();
        let mut child = Command::new("cpio")
            .args(["-t", "-v", "--quiet"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(&bytes).unwrap();
        let out = String::from_utf8(child.wait_with_output().unwrap().stdout).unwrap();
        assert!(out.contains("init"), "{out}");
        assert!(out.contains("bin/sh -> busybox"), "{out}");
        assert!(out.contains("crw-------"), "{out}");
    }
}
