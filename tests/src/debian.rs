//! Debian packages as test inputs: the cloud kernel, shim, signed GRUB,
//! systemd-boot and busybox come from the archive the machine's apt sources
//! point at (`apt-get download`, then `dpkg-deb -x`), so the tests boot the very
//! binaries Debian ships.
//!
//! Downloads are kept in `target/debian/debs/` and unpacked trees in
//! `target/debian/root-<package>[-<arch>]/`. Both are keyed by the package
//! version apt's lists offer (`apt-cache policy`, no network), so a second run
//! reuses them and a new version in the lists is fetched again.

use crate::cache_dir;
use crate::images::run;
use crate::initramfs::fnv1a;
use std::path::{Path, PathBuf};
use std::process::Command;

/// A Debian architecture.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Arch {
    Amd64,
    Arm64,
    /// From Debian 13 (trixie): see [`private_apt`].
    Riscv64,
}

impl Arch {
    /// The name Debian uses (`dpkg --print-architecture`).
    pub fn name(self) -> &'static str {
        match self {
            Arch::Amd64 => "amd64",
            Arch::Arm64 => "arm64",
            Arch::Riscv64 => "riscv64",
        }
    }
}

/// The Debian release riscv64 packages come from: Debian 12, which the
/// machine's apt sources name, has no riscv64; Debian 13 has.
const RISCV64_SUITE: &str = "trixie";

/// apt options for `arch`. riscv64 packages are looked up and downloaded with
/// a private apt state under `target/debian/apt-riscv64/` whose only source is
/// Debian 13's riscv64 archive, so the machine's own apt (Debian 12) is never
/// touched. Other architectures use the machine's apt as it is.
fn private_apt(arch: Arch) -> Result<Vec<String>, String> {
    if arch != Arch::Riscv64 {
        return Ok(Vec::new());
    }
    let root = cache_dir("debian").join("apt-riscv64");
    for dir in ["state/lists/partial", "cache/archives/partial", "etc/sources.list.d"] {
        std::fs::create_dir_all(root.join(dir)).map_err(|e| e.to_string())?;
    }
    let sources = root.join("etc/sources.list");
    let line = format!(
        "deb [arch=riscv64 signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian {RISCV64_SUITE} main\n"
    );
    if std::fs::read_to_string(&sources).ok().as_deref() != Some(line.as_str()) {
        std::fs::write(&sources, &line).map_err(|e| e.to_string())?;
    }
    let status = root.join("status");
    if !status.exists() {
        std::fs::write(&status, "").map_err(|e| e.to_string())?;
    }
    let at = |p: &str| root.join(p).to_string_lossy().into_owned();
    Ok([
        format!("Dir::State={}", at("state")),
        format!("Dir::State::status={}", at("status")),
        format!("Dir::Cache={}", at("cache")),
        format!("Dir::Etc::SourceList={}", at("etc/sources.list")),
        format!("Dir::Etc::SourceParts={}", at("etc/sources.list.d")),
        "APT::Architecture=riscv64".into(),
        "APT::Architectures=riscv64".into(),
        "Debug::NoLocking=1".into(),
    ]
    .into_iter()
    .flat_map(|o| ["-o".to_string(), o])
    .collect())
}

/// The cloud kernel's metapackage; it depends on the versioned image package.
pub const KERNEL_METAPACKAGE: &str = "linux-image-cloud";

/// Downloads the amd64 `package` (a metapackage is resolved to the package it
/// stands for) and returns the path of the `.deb`.
pub fn fetch(package: &str) -> Result<PathBuf, String> {
    fetch_for(package, Arch::Amd64)
}

/// Downloads `package` for `arch` into `target/debian/debs/` unless the version
/// apt's lists offer is there already.
pub fn fetch_for(package: &str, arch: Arch) -> Result<PathBuf, String> {
    ensure_lists(package, arch)?;
    let package = resolve(package, arch)?;
    let version = candidate_version(&package, arch)?.ok_or_else(|| {
        format!(
            "apt has no candidate version of Debian package {package} ({})",
            arch.name()
        )
    })?;
    let debs = cache_dir("debian").join("debs");
    std::fs::create_dir_all(&debs).map_err(|e| format!("cannot create {}: {e}", debs.display()))?;
    // apt-get download's own file name: the epoch's colon is URL-encoded.
    let file = debs.join(format!("{package}_{}_{}.deb", version.replace(':', "%3a"), arch.name()));
    if file.is_file() {
        return Ok(file);
    }
    let spec = format!("{package}:{}={version}", arch.name());
    eprintln!("debian: apt-get download {spec}");
    let output = Command::new("apt-get")
        .args(private_apt(arch)?)
        .args(["download", "-q", &spec])
        .current_dir(&debs)
        .output()
        .map_err(|e| format!("cannot run apt-get (Debian package apt): {e}"))?;
    if !output.status.success() {
        return Err(format!(
            "`apt-get download {spec}` failed (Debian package {package}): {}",
            String::from_utf8_lossy(&output.stderr).trim()
        ));
    }
    if !file.is_file() {
        return Err(format!("`apt-get download {spec}` did not leave {}", file.display()));
    }
    Ok(file)
}

/// Unpacks the amd64 `package` with `dpkg-deb -x` and returns the tree's root.
pub fn extract(package: &str) -> Result<PathBuf, String> {
    extract_for(package, Arch::Amd64)
}

/// Unpacks `package` for `arch` into `target/debian/root-<package>[-<arch>]/`,
/// reusing a tree unpacked from the same `.deb`.
pub fn extract_for(package: &str, arch: Arch) -> Result<PathBuf, String> {
    let deb = fetch_for(package, arch)?;
    let suffix = match arch {
        Arch::Amd64 => String::new(),
        other => format!("-{}", other.name()),
    };
    let base = cache_dir("debian");
    let root = base.join(format!("root-{package}{suffix}"));
    let stamp = base.join(format!("root-{package}{suffix}.from"));
    let from = deb.file_name().unwrap_or_default().to_string_lossy().into_owned();
    if root.is_dir() && std::fs::read_to_string(&stamp).ok().as_deref() == Some(from.as_str()) {
        return Ok(root);
    }
    let partial = base.join(format!("root-{package}{suffix}.partial"));
    let _ = std::fs::remove_dir_all(&partial);
    let _ = std::fs::remove_dir_all(&root);
    run("dpkg-deb", &["-x", &deb.to_string_lossy(), &partial.to_string_lossy()])
        .map_err(|e| format!("unpacking Debian package {package}: {e}"))?;
    std::fs::rename(&partial, &root).map_err(|e| format!("cannot rename {}: {e}", partial.display()))?;
    std::fs::write(&stamp, &from).map_err(|e| e.to_string())?;
    Ok(root)
}

/// A file inside the unpacked `package`, which must hold it.
pub fn file_in(package: &str, arch: Arch, path: &str) -> Result<PathBuf, String> {
    let root = extract_for(package, arch)?;
    let file = root.join(path.trim_start_matches('/'));
    if !file.is_file() {
        return Err(format!("Debian package {package} ({}) has no {path}", arch.name()));
    }
    Ok(file)
}

/// The cloud kernel (`/boot/vmlinuz-*` of the package `linux-image-cloud-amd64`
/// depends on).
pub fn cloud_kernel() -> Result<PathBuf, String> {
    cloud_kernel_for(Arch::Amd64)
}

pub fn cloud_kernel_for(arch: Arch) -> Result<PathBuf, String> {
    kernel_of(&format!("{KERNEL_METAPACKAGE}-{}", arch.name()), arch)
}

/// Debian's generic arm64 kernel (`/boot/vmlinuz-*` of the package
/// `linux-image-arm64` depends on): an uncompressed Image, itself a PE/COFF
/// EFI application (bookworm does not build EFI zboot kernels).
pub fn arm64_kernel() -> Result<PathBuf, String> {
    kernel_of("linux-image-arm64", Arch::Arm64)
}

/// Debian 13's riscv64 kernel (`/boot/vmlinux-*` of the package
/// `linux-image-riscv64` depends on): an uncompressed Image with an EFI stub.
pub fn riscv64_kernel() -> Result<PathBuf, String> {
    kernel_of("linux-image-riscv64", Arch::Riscv64)
}

/// The kernel of the versioned package `metapackage` stands for.
fn kernel_of(metapackage: &str, arch: Arch) -> Result<PathBuf, String> {
    let package = resolve(metapackage, arch)?;
    let boot = extract_for(&package, arch)?.join("boot");
    let entries = std::fs::read_dir(&boot).map_err(|e| format!("Debian package {package} has no /boot: {e}"))?;
    let mut kernels: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        // riscv64 packages ship an uncompressed `vmlinux-*` (itself an EFI image).
        .filter(|p| {
            p.file_name().is_some_and(|n| {
                let n = n.to_string_lossy();
                n.starts_with("vmlinuz-") || n.starts_with("vmlinux-")
            })
        })
        .collect();
    kernels.sort();
    match kernels.as_slice() {
        [one] => Ok(one.clone()),
        [] => Err(format!("Debian package {package} has no /boot/vmlinuz-*")),
        many => Err(format!("Debian package {package} has several kernels: {many:?}")),
    }
}

/// The kernel's version string, e.g. `6.1.0-56-cloud-amd64` (from its file name).
pub fn kernel_release(vmlinuz: &Path) -> String {
    let name = vmlinuz.file_name().unwrap_or_default().to_string_lossy();
    name.trim_start_matches("vmlinuz-")
        .trim_start_matches("vmlinux-")
        .to_string()
}

impl Arch {
    /// The suffix of EFI file names (`BOOTX64.EFI`, `shimaa64.efi`).
    pub fn efi_suffix(self) -> &'static str {
        match self {
            Arch::Amd64 => "x64",
            Arch::Arm64 => "aa64",
            Arch::Riscv64 => "riscv64",
        }
    }

    /// GRUB's platform directory name (`x86_64-efi`, `arm64-efi`).
    fn grub_platform(self) -> &'static str {
        match self {
            Arch::Amd64 => "x86_64-efi",
            Arch::Arm64 => "arm64-efi",
            Arch::Riscv64 => "riscv64-efi",
        }
    }
}

/// shim signed by Microsoft (`shim-signed`).
pub fn shim() -> Result<PathBuf, String> {
    shim_for(Arch::Amd64)
}

pub fn shim_for(arch: Arch) -> Result<PathBuf, String> {
    file_in(
        "shim-signed",
        arch,
        &format!("/usr/lib/shim/shim{}.efi.signed", arch.efi_suffix()),
    )
}

/// shim's fallback (`fbx64.efi`), in `shim-helpers-amd64-signed`.
pub fn shim_fallback() -> Result<PathBuf, String> {
    shim_fallback_for(Arch::Amd64)
}

pub fn shim_fallback_for(arch: Arch) -> Result<PathBuf, String> {
    file_in(
        &format!("shim-helpers-{}-signed", arch.name()),
        arch,
        &format!("/usr/lib/shim/fb{}.efi.signed", arch.efi_suffix()),
    )
}

/// shim's MOK manager (`mmx64.efi`), in `shim-helpers-amd64-signed`.
pub fn mok_manager() -> Result<PathBuf, String> {
    mok_manager_for(Arch::Amd64)
}

pub fn mok_manager_for(arch: Arch) -> Result<PathBuf, String> {
    file_in(
        &format!("shim-helpers-{}-signed", arch.name()),
        arch,
        &format!("/usr/lib/shim/mm{}.efi.signed", arch.efi_suffix()),
    )
}

/// Debian's signed monolithic GRUB (`grub-efi-amd64-signed`).
pub fn signed_grub() -> Result<PathBuf, String> {
    signed_grub_for(Arch::Amd64)
}

pub fn signed_grub_for(arch: Arch) -> Result<PathBuf, String> {
    file_in(
        &format!("grub-efi-{}-signed", arch.name()),
        arch,
        &format!(
            "/usr/lib/grub/{}-signed/grub{}.efi.signed",
            arch.grub_platform(),
            arch.efi_suffix()
        ),
    )
}

/// systemd-boot (`systemd-boot-efi`).
pub fn systemd_boot() -> Result<PathBuf, String> {
    file_in(
        "systemd-boot-efi",
        Arch::Amd64,
        "/usr/lib/systemd/boot/efi/systemd-bootx64.efi",
    )
}

/// systemd's EFI stub for unified kernel images (`systemd-boot-efi`).
pub fn efi_stub() -> Result<PathBuf, String> {
    file_in(
        "systemd-boot-efi",
        Arch::Amd64,
        "/usr/lib/systemd/boot/efi/linuxx64.efi.stub",
    )
}

/// A static busybox (`busybox-static`).
pub fn busybox() -> Result<PathBuf, String> {
    busybox_for(Arch::Amd64)
}

pub fn busybox_for(arch: Arch) -> Result<PathBuf, String> {
    // Debian 13 (merged /usr) ships it in /usr/bin.
    let path = if arch == Arch::Riscv64 {
        "/usr/bin/busybox"
    } else {
        "/bin/busybox"
    };
    file_in("busybox-static", arch, path)
}

/// A metapackage such as `linux-image-cloud-amd64` stands for a versioned
/// package (`linux-image-6.1.0-NN-cloud-amd64`); other names stand for themselves.
pub fn resolve(package: &str, arch: Arch) -> Result<String, String> {
    ensure_lists(package, arch)?;
    let is_kernel_metapackage = package
        .strip_prefix("linux-image-")
        .is_some_and(|rest| !rest.starts_with(|c: char| c.is_ascii_digit()));
    if !is_kernel_metapackage {
        return Ok(package.to_string());
    }
    let spec = format!("{package}:{}", arch.name());
    let depends = apt_cache(arch, &["depends", &spec])?;
    let real: Vec<&str> = depends
        .lines()
        .filter_map(|l| l.trim().strip_prefix("Depends:"))
        .map(|d| d.trim().split(':').next().unwrap_or_default())
        .filter(|d| {
            d.strip_prefix("linux-image-")
                .is_some_and(|v| v.starts_with(|c: char| c.is_ascii_digit()))
        })
        .collect();
    match real.as_slice() {
        [one] => Ok(one.to_string()),
        _ => Err(format!(
            "cannot tell which kernel package {spec} stands for; `apt-cache depends` says:\n{depends}"
        )),
    }
}

/// The version of `package` apt would download, if its lists know the package.
fn candidate_version(package: &str, arch: Arch) -> Result<Option<String>, String> {
    let spec = format!("{package}:{}", arch.name());
    let policy = apt_cache(arch, &["policy", &spec])?;
    Ok(policy
        .lines()
        .find_map(|l| l.trim().strip_prefix("Candidate:"))
        .map(str::trim)
        .filter(|v| !v.is_empty() && *v != "(none)")
        .map(str::to_string))
}

/// Runs `apt-cache` with `args`, remembering the answer in `target/debian/apt/`
/// for as long as apt's lists stay the same: each call costs half a second here
/// (apt keeps no binary cache), and a run asks dozens of times.
fn apt_cache(arch: Arch, args: &[&str]) -> Result<String, String> {
    let options = private_apt(arch)?;
    let key = format!("{} {}", options.join(" "), args.join(" "));
    let lists = lists_fingerprint();
    let memo = cache_dir("debian")
        .join("apt")
        .join(format!("{:016x}", fnv1a(key.as_bytes())));
    let header = format!("{lists:016x} {key}\n");
    if let Ok(text) = std::fs::read_to_string(&memo) {
        if let Some(answer) = text.strip_prefix(&header) {
            return Ok(answer.to_string());
        }
    }
    let output = Command::new("apt-cache")
        .args(&options)
        .args(args)
        .output()
        .map_err(|e| format!("cannot run apt-cache (Debian package apt): {e}"))?;
    // `apt-cache policy` of an unknown package succeeds with no output; other
    // failures are errors and are not remembered.
    if !output.status.success() {
        return Err(format!(
            "`apt-cache {key}` failed: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        ));
    }
    let answer = String::from_utf8_lossy(&output.stdout).into_owned();
    if let Some(dir) = memo.parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    let _ = std::fs::write(&memo, format!("{header}{answer}"));
    Ok(answer)
}

/// Changes whenever `apt-get update`, the sources or the architectures change.
fn lists_fingerprint() -> u64 {
    let mut state = String::new();
    let private = cache_dir("debian").join("apt-riscv64/state/lists");
    let private = private.to_string_lossy();
    for dir in ["/var/lib/apt/lists", "/etc/apt/sources.list.d", &private] {
        let mut entries: Vec<String> = std::fs::read_dir(dir)
            .into_iter()
            .flatten()
            .filter_map(|e| e.ok())
            .map(|e| {
                let meta = e.metadata().ok();
                let len = meta.as_ref().map(|m| m.len()).unwrap_or(0);
                let mtime = meta
                    .and_then(|m| m.modified().ok())
                    .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                    .map(|d| d.as_nanos())
                    .unwrap_or(0);
                format!("{} {len} {mtime}", e.path().display())
            })
            .collect();
        entries.sort();
        state.push_str(&entries.join("\n"));
    }
    for file in ["/etc/apt/sources.list", "/var/lib/dpkg/arch"] {
        state.push_str(&std::fs::read_to_string(file).unwrap_or_default());
    }
    fnv1a(state.as_bytes())
}

/// Makes sure apt's lists know `package` for `arch`: as root, adds the
/// architecture and runs `apt-get update` when they do not; otherwise says
/// which commands to run.
pub fn ensure_lists(package: &str, arch: Arch) -> Result<(), String> {
    let known = |p: &str| candidate_version(p, arch).is_ok_and(|v| v.is_some());
    if known(package) {
        return Ok(());
    }
    if arch == Arch::Riscv64 {
        // The private state needs no root: fill its lists.
        eprintln!("debian: apt-get update ({RISCV64_SUITE} riscv64, private lists)");
        let output = Command::new("apt-get")
            .args(private_apt(arch)?)
            .args(["update", "-q"])
            .output()
            .map_err(|e| format!("cannot run apt-get (Debian package apt): {e}"))?;
        if !output.status.success() {
            return Err(format!(
                "apt-get update of Debian {RISCV64_SUITE} riscv64 failed: {}",
                String::from_utf8_lossy(&output.stderr).trim()
            ));
        }
        return if known(package) {
            Ok(())
        } else {
            Err(format!("Debian {RISCV64_SUITE} riscv64 has no package {package}"))
        };
    }
    let foreign = arch != native_arch()?;
    let added = !foreign
        || run("dpkg", &["--print-foreign-architectures"])?
            .lines()
            .any(|l| l.trim() == arch.name());
    let mut commands = Vec::new();
    if !added {
        commands.push(format!("dpkg --add-architecture {}", arch.name()));
    }
    commands.push("apt-get update".to_string());
    if !crate::setup::is_root() {
        let sudo: Vec<String> = commands.iter().map(|c| format!("sudo {c}")).collect();
        return Err(format!(
            "apt does not know Debian package {package} ({}); fill its lists with:\n  {}",
            arch.name(),
            sudo.join(" && ")
        ));
    }
    for command in &commands {
        eprintln!("debian: {command}");
        let words: Vec<&str> = command.split(' ').collect();
        run(words[0], &words[1..])?;
    }
    if known(package) {
        Ok(())
    } else {
        Err(format!(
            "apt does not know Debian package {package} ({}) even after `apt-get update`",
            arch.name()
        ))
    }
}

fn native_arch() -> Result<Arch, String> {
    match run("dpkg", &["--print-architecture"])?.trim() {
        "amd64" => Ok(Arch::Amd64),
        "arm64" => Ok(Arch::Arm64),
        other => Err(format!("unsupported host architecture {other}")),
    }
}

/// A directory of links to the Debian EFI binaries the PE loader's host tests
/// read (`HVFW_EFI_BINARIES`): shim, GRUB, systemd-boot, the EFI stub, the
/// cloud kernel.
pub fn efi_binaries_dir() -> Result<PathBuf, String> {
    let dir = crate::cache_dir("efi-binaries");
    // Start empty, so a link to an older kernel never lingers beside the new one.
    for entry in std::fs::read_dir(&dir).map_err(|e| e.to_string())?.flatten() {
        let _ = std::fs::remove_file(entry.path());
    }
    let kernel = cloud_kernel()?;
    let kernel_name = kernel.file_name().ok_or("kernel path has no file name")?.to_owned();
    for (name, source) in [
        ("shimx64.efi.signed".into(), shim()?),
        ("grubx64.efi.signed".into(), signed_grub()?),
        ("systemd-bootx64.efi".into(), systemd_boot()?),
        ("linuxx64.efi.stub".into(), efi_stub()?),
        (kernel_name, kernel),
    ] {
        let link = dir.join(&name);
        std::os::unix::fs::symlink(&source, &link).map_err(|e| format!("cannot link {}: {e}", link.display()))?;
    }
    Ok(dir)
}
