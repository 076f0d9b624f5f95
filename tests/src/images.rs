//! Disk images built with the real tools (sgdisk, mkfs.fat, mtools; fdisk for
//! 4096-byte sectors), cached under
//! `target/images/` and rebuilt only when their recipe changes.

use crate::cache_dir;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Runs a command, turning a failure into an error with its output.
pub fn run(program: &str, args: &[&str]) -> Result<String, String> {
    let output = Command::new(program)
        .args(args)
        .env("MTOOLS_SKIP_CHECK", "1")
        .output()
        .map_err(|e| format!("cannot run {program}: {e}"))?;
    if !output.status.success() {
        return Err(format!(
            "`{program} {}` failed: {}{}",
            args.join(" "),
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

/// Returns `target/images/<name>.img`, building it with `build` when the cached
/// copy is missing or was made by another `recipe` version.
pub fn cached(name: &str, recipe: &str, build: impl FnOnce(&Path) -> Result<(), String>) -> Result<PathBuf, String> {
    cached_in("images", &format!("{name}.img"), recipe, build)
}

/// Returns `target/<dir>/<file>`, building it with `build` when the cached copy
/// is missing or its `<file>.recipe` stamp differs from `recipe`.
pub fn cached_in(
    dir: &str,
    file: &str,
    recipe: &str,
    build: impl FnOnce(&Path) -> Result<(), String>,
) -> Result<PathBuf, String> {
    let dir = cache_dir(dir);
    let output = dir.join(file);
    let stamp = dir.join(format!("{file}.recipe"));
    if output.exists() && std::fs::read_to_string(&stamp).ok().as_deref() == Some(recipe) {
        return Ok(output);
    }
    let partial = dir.join(format!("{file}.partial"));
    let _ = std::fs::remove_file(&partial);
    build(&partial).map_err(|e| format!("building {file}: {e}"))?;
    std::fs::rename(&partial, &output).map_err(|e| e.to_string())?;
    std::fs::write(&stamp, recipe).map_err(|e| e.to_string())?;
    Ok(output)
}

/// What a recipe says about an input file: its path, size and modification time
/// (a new package version changes one or the other, so images built from it are rebuilt).
pub fn file_identity(path: &Path) -> Result<String, String> {
    let meta = std::fs::metadata(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let mtime = meta
        .modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map(|d| d.as_secs())
        .unwrap_or(0);
    Ok(format!("{}:{}:{mtime}", path.display(), meta.len()))
}

/// Start of the first partition in the images made here: 1 MiB, as partitioning
/// tools align it.
pub const FIRST_PARTITION_OFFSET: u64 = 1 << 20;

/// A GPT disk of `size_mib` with one EFI system partition filling it, formatted
/// FAT32 (`mkfs.fat -F 32`), with `files` ((path on the ESP, bytes)) copied in by mtools.
pub fn gpt_with_esp(path: &Path, size_mib: u64, files: &[(&str, &[u8])]) -> Result<(), String> {
    let p = path.to_string_lossy();
    let file = std::fs::File::create(path).map_err(|e| e.to_string())?;
    file.set_len(size_mib << 20).map_err(|e| e.to_string())?;
    drop(file);
    run(
        "sgdisk",
        &[
            "--clear",
            "--new=1:2048:0",
            "--typecode=1:ef00",
            "--change-name=1:EFI System",
            &p,
        ],
    )?;
    let sectors = ((size_mib << 20) - FIRST_PARTITION_OFFSET - 34 * 512) / 512;
    let offset = (FIRST_PARTITION_OFFSET / 512).to_string();
    // mkfs.fat takes the size in KiB when given a block count.
    let kib = (sectors / 2).to_string();
    run("mkfs.fat", &["-F", "32", "-n", "ESP", "--offset", &offset, &p, &kib])?;
    let target = format!("{p}@@{FIRST_PARTITION_OFFSET}");
    let scratch = tempdir("esp-files")?;
    for (name, bytes) in files {
        let parts: Vec<&str> = name.trim_start_matches('/').split('/').collect();
        for depth in 1..parts.len() {
            let dir = format!("::/{}", parts[..depth].join("/"));
            let _ = run("mmd", &["-i", &target, &dir]); // exists already: fine
        }
        let local = scratch.join(parts.last().unwrap());
        std::fs::write(&local, bytes).map_err(|e| e.to_string())?;
        run(
            "mcopy",
            &[
                "-o",
                "-i",
                &target,
                &local.to_string_lossy(),
                &format!("::/{}", parts.join("/")),
            ],
        )?;
    }
    let _ = std::fs::remove_dir_all(scratch);
    Ok(())
}

/// A fresh, empty scratch directory.
pub fn tempdir(tag: &str) -> Result<PathBuf, String> {
    let dir = cache_dir("tmp").join(format!(
        "{tag}-{}-{:?}",
        std::process::id(),
        std::thread::current().id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    Ok(dir)
}

/// The disk `cargo xtask run` boots when the user names none: a GPT disk whose
/// ESP holds nothing bootable yet.
pub fn empty_disk() -> Result<PathBuf, String> {
    const README: &[u8] = b"This ESP was made by `cargo xtask run`. Put an EFI application at \\EFI\\BOOT\\BOOTX64.EFI, or boot your own disk with `cargo xtask run --disk PATH`.\r\n";
    cached("default", "gpt-esp-fat32-64MiB-readme-v1", |path| {
        gpt_with_esp(path, 64, &[("README.TXT", README)])
    })
}

/// Where a file put on a disk comes from.
#[derive(Clone, Debug)]
pub enum Source {
    Bytes(Vec<u8>),
    Host(PathBuf),
}

impl Source {
    pub fn text(text: &str) -> Source {
        Source::Bytes(text.as_bytes().to_vec())
    }

    /// What a recipe records: the bytes' hash, or the host file's identity.
    fn identity(&self) -> Result<String, String> {
        match self {
            Source::Bytes(bytes) => Ok(format!("bytes:{:016x}", crate::initramfs::fnv1a(bytes))),
            Source::Host(path) => file_identity(path),
        }
    }

    /// Puts the file at `local`.
    fn place(&self, local: &Path) -> Result<(), String> {
        if let Some(parent) = local.parent() {
            std::fs::create_dir_all(parent).map_err(|e| format!("cannot create {}: {e}", parent.display()))?;
        }
        match self {
            Source::Bytes(bytes) => std::fs::write(local, bytes).map(|_| ()),
            Source::Host(path) => std::fs::copy(path, local).map(|_| ()),
        }
        .map_err(|e| format!("cannot write {}: {e}", local.display()))
    }
}

/// What a partition holds.
#[derive(Clone, Debug)]
pub enum Content {
    /// FAT32 (`mkfs.fat -F 32`) with files copied in by mtools: (path, source).
    Fat32 {
        label: String,
        files: Vec<(String, Source)>,
    },
    /// ext4 made by `mkfs.ext4 -d` from a staging tree of (path, source), with a
    /// fixed file system UUID, then written into the disk with `dd`.
    Ext4 {
        label: String,
        uuid: String,
        files: Vec<(String, Source)>,
    },
}

/// One GPT partition; partitions are laid out in order from 1 MiB on.
#[derive(Clone, Debug)]
pub struct Partition {
    pub size_mib: u64,
    /// sgdisk's type code: `ef00` EFI system, `8300` Linux file system.
    pub typecode: &'static str,
    pub name: String,
    /// The unique partition GUID (fixed, so device paths match between builds).
    pub guid: String,
    pub content: Content,
}

impl Partition {
    /// An EFI system partition with `files`, formatted FAT32.
    pub fn esp(size_mib: u64, files: Vec<(String, Source)>) -> Partition {
        Partition {
            size_mib,
            typecode: "ef00",
            name: "EFI System".into(),
            guid: ESP_PARTITION_GUID.into(),
            content: Content::Fat32 {
                label: "ESP".into(),
                files,
            },
        }
    }
}

/// The disk GUID of the images made here.
pub const DISK_GUID: &str = "4856464d-0000-4000-8000-000000000001";
/// The ESP's unique partition GUID.
pub const ESP_PARTITION_GUID: &str = "4856464d-0000-4000-8000-0000000000e5";
/// The Linux root partition's unique partition GUID.
pub const ROOT_PARTITION_GUID: &str = "4856464d-0000-4000-8000-0000000000f5";
/// The ext4 file system UUID of the Debian-style root partition, which GRUB's
/// `search --fs-uuid` looks for.
pub const DEBIAN_ROOT_FS_UUID: &str = "4856464d-7e57-4d0e-9f00-00000000d001";

/// A recipe line for a partition table: everything that shapes the bytes.
fn partitions_recipe(partitions: &[Partition]) -> Result<String, String> {
    let mut recipe = String::new();
    for p in partitions {
        let (kind, label, uuid, files) = match &p.content {
            Content::Fat32 { label, files } => ("fat32", label, "", files),
            Content::Ext4 { label, uuid, files } => ("ext4", label, uuid.as_str(), files),
        };
        recipe.push_str(&format!(
            "part {} {} {:?} {} {kind} {label:?} {uuid}\n",
            p.size_mib, p.typecode, p.name, p.guid
        ));
        for (path, source) in files {
            recipe.push_str(&format!("  {path} {}\n", source.identity()?));
        }
    }
    Ok(recipe)
}

/// Writes a GPT disk with `partitions` to `path`: sgdisk for the table, mkfs.fat
/// and mtools for FAT, mkfs.ext4 and dd for ext4.
pub fn gpt_disk(path: &Path, partitions: &[Partition]) -> Result<(), String> {
    let p = path.to_string_lossy().into_owned();
    // 1 MiB before the first partition, 1 MiB after the last one for the backup GPT.
    let total_mib = 2 + partitions.iter().map(|p| p.size_mib).sum::<u64>();
    let file = std::fs::File::create(path).map_err(|e| e.to_string())?;
    file.set_len(total_mib << 20).map_err(|e| e.to_string())?;
    drop(file);
    let mut args = vec!["--clear".to_string(), format!("--disk-guid={DISK_GUID}")];
    let mut start_mib = FIRST_PARTITION_OFFSET >> 20;
    for (i, part) in partitions.iter().enumerate() {
        let n = i + 1;
        let first = start_mib * 2048;
        let last = first + part.size_mib * 2048 - 1;
        args.push(format!("--new={n}:{first}:{last}"));
        args.push(format!("--typecode={n}:{}", part.typecode));
        args.push(format!("--change-name={n}:{}", part.name));
        args.push(format!("--partition-guid={n}:{}", part.guid));
        start_mib += part.size_mib;
    }
    args.push(p.clone());
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    run("sgdisk", &args)?;

    let scratch = tempdir("gpt-disk")?;
    let mut start_mib = FIRST_PARTITION_OFFSET >> 20;
    for (i, part) in partitions.iter().enumerate() {
        let offset = start_mib << 20;
        match &part.content {
            Content::Fat32 { label, files } => {
                let sectors = (offset / 512).to_string();
                let kib = (part.size_mib * 1024).to_string();
                run("mkfs.fat", &["-F", "32", "-n", label, "--offset", &sectors, &p, &kib])?;
                let target = format!("{p}@@{offset}");
                let local = scratch.join(format!("fat-{i}"));
                std::fs::create_dir_all(&local).map_err(|e| e.to_string())?;
                for (name, source) in files {
                    fat_copy(&target, name, source, &local)?;
                }
            }
            Content::Ext4 { label, uuid, files } => {
                let tree = scratch.join(format!("ext4-{i}"));
                std::fs::create_dir_all(&tree).map_err(|e| e.to_string())?;
                for (name, source) in files {
                    source.place(&tree.join(name.trim_start_matches('/')))?;
                }
                let image = scratch.join(format!("ext4-{i}.img"));
                let size = format!("{}M", part.size_mib);
                // No metadata_csum_seed or orphan_file: GRUB 2.06 refuses both.
                run(
                    "mkfs.ext4",
                    &[
                        "-q",
                        "-F",
                        "-L",
                        label,
                        "-U",
                        uuid,
                        "-O",
                        "^metadata_csum_seed,^orphan_file",
                        "-E",
                        "root_owner=0:0",
                        "-d",
                        &tree.to_string_lossy(),
                        &image.to_string_lossy(),
                        &size,
                    ],
                )?;
                run(
                    "dd",
                    &[
                        &format!("if={}", image.display()),
                        &format!("of={p}"),
                        "bs=1M",
                        &format!("seek={start_mib}"),
                        "conv=notrunc",
                        "status=none",
                    ],
                )?;
            }
        }
        start_mib += part.size_mib;
    }
    let _ = std::fs::remove_dir_all(scratch);
    Ok(())
}

/// Logical block size of the "4Kn" disks: what `virtio-blk-pci,logical_block_size=4096`
/// reports, and what the GPT and FAT on them count in.
pub const SECTOR_4KN: u64 = 4096;
/// The ESP of a 4Kn disk: FAT32 with one 4096-byte sector per cluster needs at
/// least 65525 clusters, so 256 MiB and more (Windows asks 260 MB of a 4Kn ESP).
const ESP_4KN_MIB: u64 = 300;

/// A disk of 4096-byte logical blocks with one EFI system partition at 1 MiB
/// holding `files`: the GPT by `fdisk -b 4096` (header at byte 4096, entries
/// from byte 8192), FAT32 by `mkfs.fat -S 4096`, files copied in by mtools.
/// Cached as `target/images/<name>.img`.
pub fn esp_4kn_disk(name: &str, files: &[(String, Source)]) -> Result<PathBuf, String> {
    let mut recipe = format!("esp-4kn-v2 {ESP_4KN_MIB}\n");
    for (path, source) in files {
        recipe.push_str(&format!("  {path} {}\n", source.identity()?));
    }
    cached(name, &recipe, |path| {
        let p = path.to_string_lossy().into_owned();
        let file = std::fs::File::create(path).map_err(|e| e.to_string())?;
        // 1 MiB before the ESP; after it the backup GPT, and room for fdisk,
        // which ends partitions on a 1 MiB boundary below the last usable block.
        file.set_len((ESP_4KN_MIB + 4) << 20).map_err(|e| e.to_string())?;
        drop(file);
        let first = FIRST_PARTITION_OFFSET / SECTOR_4KN;
        // fdisk's commands: new GPT; partition 1 from `first`; type 1 (EFI
        // System); in expert mode its unique GUID, its name and the disk GUID.
        let script = format!(
            "g\nn\n1\n{first}\n+{ESP_4KN_MIB}M\nt\n1\nx\nu\n{ESP_PARTITION_GUID}\nn\nEFI System\n\
             i\n{DISK_GUID}\nr\nw\n"
        );
        run_with_input("fdisk", &["-b", &SECTOR_4KN.to_string(), &p], &script)?;
        check_4kn_esp_entry(path, first, first + (ESP_4KN_MIB << 20) / SECTOR_4KN - 1)?;
        let sector = SECTOR_4KN.to_string();
        let kib = (ESP_4KN_MIB * 1024).to_string();
        // --offset counts sectors of the -S size.
        run(
            "mkfs.fat",
            &[
                "-F",
                "32",
                "-S",
                &sector,
                "-s",
                "1",
                "-n",
                "ESP",
                "--offset",
                &first.to_string(),
                &p,
                &kib,
            ],
        )?;
        let target = format!("{p}@@{FIRST_PARTITION_OFFSET}");
        let scratch = tempdir("esp-4kn")?;
        for (name, source) in files {
            fat_copy(&target, name.trim_start_matches('/'), source, &scratch)?;
        }
        let _ = std::fs::remove_dir_all(scratch);
        Ok(())
    })
}

/// Checks what fdisk wrote: a GPT header at LBA 1 (byte 4096), and the first
/// entry (at the LBA the header names) spanning `first..=last`.
fn check_4kn_esp_entry(path: &Path, first: u64, last: u64) -> Result<(), String> {
    let image = std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let u64_at = |at: usize| image.get(at..at + 8).map(|b| u64::from_le_bytes(b.try_into().unwrap()));
    let header = SECTOR_4KN as usize;
    if image.get(header..header + 8) != Some(b"EFI PART".as_slice()) {
        return Err("fdisk wrote no GPT header at byte 4096".into());
    }
    // UEFI 2.10 Table 5.5: PartitionEntryLBA at 72; Table 5.6: StartingLBA at 32, EndingLBA at 40.
    let entry = u64_at(header + 72).unwrap_or(0) as usize * SECTOR_4KN as usize;
    match (u64_at(entry + 32), u64_at(entry + 40)) {
        (Some(start), Some(end)) if (start, end) == (first, last) => Ok(()),
        found => Err(format!("fdisk made the ESP {found:?}, not LBA {first}..={last}")),
    }
}

/// Runs a command with `input` on its standard input, as [`run`] does otherwise.
fn run_with_input(program: &str, args: &[&str], input: &str) -> Result<String, String> {
    use std::io::Write;
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run {program}: {e}"))?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin
            .write_all(input.as_bytes())
            .map_err(|e| format!("cannot write to {program}: {e}"))?;
    }
    let output = child.wait_with_output().map_err(|e| format!("{program}: {e}"))?;
    if !output.status.success() {
        return Err(format!(
            "`{program} {}` failed: {}{}",
            args.join(" "),
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

/// Copies `source` to `name` on the FAT file system at `target` (mtools'
/// `image@@offset`), making its directories; `scratch` holds the local copy.
fn fat_copy(target: &str, name: &str, source: &Source, scratch: &Path) -> Result<(), String> {
    let parts: Vec<&str> = name.trim_start_matches('/').split('/').collect();
    for depth in 1..parts.len() {
        let dir = format!("::/{}", parts[..depth].join("/"));
        let _ = run("mmd", &["-D", "s", "-i", target, &dir]); // exists already: fine
    }
    let local = match source {
        Source::Host(path) => path.clone(),
        Source::Bytes(_) => {
            let local = scratch.join("file");
            source.place(&local)?;
            local
        }
    };
    run(
        "mcopy",
        &[
            "-o",
            "-i",
            target,
            &local.to_string_lossy(),
            &format!("::/{}", parts.join("/")),
        ],
    )?;
    Ok(())
}

/// How a Debian-style shim + GRUB disk is put together.
#[derive(Clone, Debug)]
pub struct ShimGrub {
    /// The cached image's name (`target/images/<name>.img`).
    pub name: String,
    /// The kernel command line GRUB passes.
    pub cmdline: String,
    /// Extra initrds after `/boot/initrd.img`, stored as `/boot/<file name>`.
    pub extra_initrds: Vec<PathBuf>,
    /// Put shim's fallback `fbx64.efi` beside `\EFI\BOOT\BOOTX64.EFI` (as Ubuntu's
    /// cloud images do), so shim creates a Boot#### entry from
    /// `\EFI\debian\BOOTX64.CSV` before booting.
    pub fallback_in_boot_dir: bool,
    /// Show GRUB's menu for 60 s with a second entry whose command line ends in
    /// `hvfw.marker=grub-menu-second`, for tests that drive the menu over serial.
    /// GRUB's terminal is then `efi0`, the firmware's EFI_SERIAL_IO_PROTOCOL,
    /// instead of its own 16550 driver on COM1 (which `--unit=0` picks on x86).
    pub menu: bool,
    /// With `menu`: GRUB also reads the firmware's ConIn (`terminal_input
    /// console serial_efi0`), where keyboard keys arrive.
    pub keyboard: bool,
    /// With `menu`: GRUB's terminal lines instead of `serial_efi0`, e.g. its
    /// default `console` (the firmware's ConIn/ConOut, which also reach the
    /// screen) or `gfxterm` (GRUB draws on GOP itself, with Debian's
    /// `unicode.pf2`, put in `/boot/grub/fonts/`).
    pub terminal: Option<GrubTerminal>,
}

/// GRUB's output terminal for the menu tests (see [`ShimGrub::terminal`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GrubTerminal {
    /// `terminal_input console` / `terminal_output console`.
    Console,
    /// `terminal_output gfxterm serial_efi0` with `gfxmode=1024x768`.
    Gfxterm,
}

impl Default for ShimGrub {
    fn default() -> Self {
        ShimGrub {
            name: "debian-shim-grub".into(),
            cmdline: "console=ttyS0 hvfw.marker=grub-cmdline-ok".into(),
            extra_initrds: Vec::new(),
            fallback_in_boot_dir: false,
            menu: false,
            keyboard: false,
            terminal: None,
        }
    }
}

/// `\EFI\debian\grub.cfg` as Debian's grub-install writes it: find the root file
/// system by UUID and read its `/boot/grub/grub.cfg`.
pub fn grub_stub_cfg(root_uuid: &str) -> String {
    format!(
        "search --no-floppy --fs-uuid --set=root {root_uuid}\nset prefix=($root)'/boot/grub'\nconfigfile $prefix/grub.cfg\n"
    )
}

/// `/boot/grub/grub.cfg`: serial console, no menu delay, one entry.
pub fn grub_main_cfg(root_uuid: &str, cmdline: &str, initrds: &[String]) -> String {
    format!(
        "serial --unit=0 --speed=115200\n\
         terminal_input serial\n\
         terminal_output serial\n\
         set timeout=0\n\
         set default=0\n\
         menuentry 'Debian GNU/Linux (hypervisor-fw test image)' {{\n\
         \tsearch --no-floppy --fs-uuid --set=root {root_uuid}\n\
         \techo 'HVFW-GRUB: loading linux'\n\
         \tlinux /boot/vmlinuz {cmdline}\n\
         \techo 'HVFW-GRUB: loading initrd'\n\
         \tinitrd {}\n\
         }}\n",
        initrds.join(" ")
    )
}

/// shim's fallback reads `BOOTX64.CSV` (UCS-2 with a byte-order mark) to learn
/// which loader in its directory to make a boot entry for.
fn boot_csv() -> Vec<u8> {
    let text = "shimx64.efi,debian,,This is the boot entry for debian\n";
    let mut bytes = vec![0xff, 0xfe];
    for unit in text.encode_utf16() {
        bytes.extend_from_slice(&unit.to_le_bytes());
    }
    bytes
}

/// The Debian layout (see `ShimGrub::default`): a GPT disk with a 64 MiB ESP
/// holding shim as `\EFI\BOOT\BOOTX64.EFI` with signed GRUB beside it, and
/// `\EFI\debian\` with shim, GRUB, MokManager, fallback, `BOOTX64.CSV` and the
/// `grub.cfg` stub; then a 64 MiB ext4 root with `/boot/vmlinuz` (the cloud
/// kernel), `/boot/initrd.img` (the proof initramfs) and `/boot/grub/grub.cfg`.
pub fn debian_shim_grub_disk() -> Result<PathBuf, String> {
    shim_grub_disk(&ShimGrub::default())
}

pub fn shim_grub_disk(spec: &ShimGrub) -> Result<PathBuf, String> {
    use crate::{debian, initramfs};
    let shim = Source::Host(debian::shim()?);
    let grub = Source::Host(debian::signed_grub()?);
    let mok = Source::Host(debian::mok_manager()?);
    let fallback = Source::Host(debian::shim_fallback()?);
    let kernel = debian::cloud_kernel()?;
    let initrd = initramfs::proof_initramfs()?;

    let mut esp: Vec<(String, Source)> = vec![
        ("EFI/BOOT/BOOTX64.EFI".into(), shim.clone()),
        ("EFI/BOOT/grubx64.efi".into(), grub.clone()),
        ("EFI/BOOT/mmx64.efi".into(), mok.clone()),
        ("EFI/debian/shimx64.efi".into(), shim),
        ("EFI/debian/grubx64.efi".into(), grub),
        ("EFI/debian/mmx64.efi".into(), mok),
        ("EFI/debian/fbx64.efi".into(), fallback.clone()),
        ("EFI/debian/BOOTX64.CSV".into(), Source::Bytes(boot_csv())),
        (
            "EFI/debian/grub.cfg".into(),
            Source::text(&grub_stub_cfg(DEBIAN_ROOT_FS_UUID)),
        ),
    ];
    if spec.fallback_in_boot_dir {
        esp.push(("EFI/BOOT/fbx64.efi".into(), fallback));
    }
    let mut initrds = vec!["/boot/initrd.img".to_string()];
    let mut root: Vec<(String, Source)> = vec![
        ("boot/vmlinuz".into(), Source::Host(kernel)),
        ("boot/initrd.img".into(), Source::Host(initrd)),
    ];
    for extra in &spec.extra_initrds {
        let name = extra
            .file_name()
            .ok_or("an extra initrd has no file name")?
            .to_string_lossy()
            .into_owned();
        initrds.push(format!("/boot/{name}"));
        root.push((format!("boot/{name}"), Source::Host(extra.clone())));
    }
    let mut grub_cfg = grub_main_cfg(DEBIAN_ROOT_FS_UUID, &spec.cmdline, &initrds);
    if spec.menu {
        grub_cfg = grub_cfg
            .replace("set timeout=0", "set timeout=60")
            .replace("serial --unit=0 --speed=115200", "serial --speed=115200 efi0")
            .replace(
                "terminal_input serial\n",
                if spec.keyboard {
                    "terminal_input console serial_efi0\n"
                } else {
                    "terminal_input serial_efi0\n"
                },
            )
            .replace("terminal_output serial\n", "terminal_output serial_efi0\n");
        match spec.terminal {
            None => {}
            Some(GrubTerminal::Console) => {
                grub_cfg = grub_cfg
                    .replace("terminal_input serial_efi0\n", "terminal_input console\n")
                    .replace("terminal_output serial_efi0\n", "terminal_output console\n");
            }
            Some(GrubTerminal::Gfxterm) => {
                grub_cfg = grub_cfg.replace(
                    "terminal_output serial_efi0\n",
                    "loadfont /boot/grub/fonts/unicode.pf2\n\
                     set gfxmode=1024x768\n\
                     terminal_output gfxterm serial_efi0\n",
                );
                let font =
                    crate::debian::file_in("grub-common", crate::debian::Arch::Amd64, "usr/share/grub/unicode.pf2")?;
                root.push(("boot/grub/fonts/unicode.pf2".into(), Source::Host(font)));
            }
        }
        grub_cfg.push_str(&format!(
            "menuentry 'Second entry (hypervisor-fw menu test)' {{\n\
             \tsearch --no-floppy --fs-uuid --set=root {DEBIAN_ROOT_FS_UUID}\n\
             \tlinux /boot/vmlinuz console=ttyS0 hvfw.marker=grub-menu-second\n\
             \tinitrd {}\n\
             }}\n",
            initrds.join(" ")
        ));
    }
    root.push(("boot/grub/grub.cfg".into(), Source::text(&grub_cfg)));

    let partitions = vec![
        Partition::esp(64, esp),
        Partition {
            size_mib: 64,
            typecode: "8300",
            name: "debian-root".into(),
            guid: ROOT_PARTITION_GUID.into(),
            content: Content::Ext4 {
                label: "debian-root".into(),
                uuid: DEBIAN_ROOT_FS_UUID.into(),
                files: root,
            },
        },
    ];
    let recipe = format!("shim-grub-v1\n{}", partitions_recipe(&partitions)?);
    cached(&spec.name, &recipe, |path| gpt_disk(path, &partitions))
}

/// The Debian layout for arm64 (see `debian_shim_grub_disk`): shim as
/// `\EFI\BOOT\BOOTAA64.EFI` with `grubaa64.efi` and `mmaa64.efi` beside it,
/// the same in `\EFI\debian\` with the `grub.cfg` stub, and an ext4 root
/// holding Debian's generic arm64 kernel, the arm64 proof initramfs and a
/// `/boot/grub/grub.cfg` whose entry passes `cmdline`. GRUB's console is the
/// firmware's (the `virt` PL011), so the configuration sets no serial terminal.
pub fn debian_arm64_shim_grub_disk(cmdline: &str) -> Result<PathBuf, String> {
    use crate::debian::{self, Arch};
    use crate::initramfs;
    let arch = Arch::Arm64;
    let shim = Source::Host(debian::shim_for(arch)?);
    let grub = Source::Host(debian::signed_grub_for(arch)?);
    let mok = Source::Host(debian::mok_manager_for(arch)?);
    let esp: Vec<(String, Source)> = vec![
        ("EFI/BOOT/BOOTAA64.EFI".into(), shim.clone()),
        ("EFI/BOOT/grubaa64.efi".into(), grub.clone()),
        ("EFI/BOOT/mmaa64.efi".into(), mok.clone()),
        ("EFI/debian/shimaa64.efi".into(), shim),
        ("EFI/debian/grubaa64.efi".into(), grub),
        ("EFI/debian/mmaa64.efi".into(), mok),
        (
            "EFI/debian/grub.cfg".into(),
            Source::text(&grub_stub_cfg(DEBIAN_ROOT_FS_UUID)),
        ),
    ];
    let grub_cfg: String = grub_main_cfg(DEBIAN_ROOT_FS_UUID, cmdline, &["/boot/initrd.img".to_string()])
        .lines()
        .filter(|l| !l.starts_with("serial") && !l.starts_with("terminal_"))
        .map(|l| format!("{l}\n"))
        .collect();
    let root: Vec<(String, Source)> = vec![
        ("boot/vmlinuz".into(), Source::Host(debian::arm64_kernel()?)),
        (
            "boot/initrd.img".into(),
            Source::Host(initramfs::arm64_proof_initramfs()?),
        ),
        ("boot/grub/grub.cfg".into(), Source::text(&grub_cfg)),
    ];
    let partitions = vec![
        Partition::esp(64, esp),
        Partition {
            size_mib: 96,
            typecode: "8300",
            name: "debian-root".into(),
            guid: ROOT_PARTITION_GUID.into(),
            content: Content::Ext4 {
                label: "debian-root".into(),
                uuid: DEBIAN_ROOT_FS_UUID.into(),
                files: root,
            },
        },
    ];
    let recipe = format!("shim-grub-arm64-v1\n{}", partitions_recipe(&partitions)?);
    cached("debian-arm64-shim-grub", &recipe, |path| gpt_disk(path, &partitions))
}

/// A GPT disk with `partitions`, cached as `target/images/<name>.img` and
/// rebuilt when the partitions or their files change.
pub fn custom_disk(name: &str, partitions: &[Partition]) -> Result<PathBuf, String> {
    let recipe = format!("custom-v1\n{}", partitions_recipe(partitions)?);
    cached(name, &recipe, |path| gpt_disk(path, partitions))
}

/// The disk `cargo xtask run` boots when the user names none: Debian's cloud
/// kernel as a Boot Loader Specification entry with a 3-second menu, and an
/// initramfs that shows what Linux found and gives a shell.
pub fn default_disk() -> Result<PathBuf, String> {
    use crate::{debian, initramfs};
    let kernel = debian::cloud_kernel()?;
    let version = debian::kernel_release(&kernel);
    let entry = bls_entry(
        "Debian GNU/Linux 12 (bookworm), cloud kernel",
        &version,
        "/debian/linux",
        &["/debian/initrd.img"],
        "console=ttyS0",
    );
    bls_disk(&BlsDisk {
        name: "default-demo".into(),
        esp_mib: 64,
        loader_conf: "timeout 3\neditor yes\n".into(),
        entries: vec![(format!("debian-{version}.conf"), entry)],
        files: vec![
            ("/debian/linux".into(), Source::Host(kernel)),
            ("/debian/initrd.img".into(), Source::Host(initramfs::demo_initramfs()?)),
        ],
        boot_loader: None,
    })
}

/// A disk for Boot Loader Specification (Type #1) tests: one ESP holding
/// `/loader/loader.conf`, `/loader/entries/<name>`, the kernels and initrds,
/// and optionally a boot loader as `\EFI\BOOT\BOOTX64.EFI`.
#[derive(Clone, Debug)]
pub struct BlsDisk {
    /// The cached image's name (`target/images/<name>.img`).
    pub name: String,
    pub esp_mib: u64,
    pub loader_conf: String,
    /// (file name under `/loader/entries/`, its text).
    pub entries: Vec<(String, String)>,
    /// Other files: (path on the ESP, source), e.g. `/debian/6.1.0-56-cloud-amd64/linux`.
    pub files: Vec<(String, Source)>,
    pub boot_loader: Option<PathBuf>,
}

pub fn bls_disk(spec: &BlsDisk) -> Result<PathBuf, String> {
    let mut esp: Vec<(String, Source)> = vec![("loader/loader.conf".into(), Source::text(&spec.loader_conf))];
    for (name, text) in &spec.entries {
        esp.push((format!("loader/entries/{name}"), Source::text(text)));
    }
    esp.extend(
        spec.files
            .iter()
            .map(|(path, source)| (path.trim_start_matches('/').to_string(), source.clone())),
    );
    if let Some(loader) = &spec.boot_loader {
        esp.push(("EFI/BOOT/BOOTX64.EFI".into(), Source::Host(loader.clone())));
    }
    let partitions = vec![Partition::esp(spec.esp_mib, esp)];
    let recipe = format!("bls-v1\n{}", partitions_recipe(&partitions)?);
    cached(&spec.name, &recipe, |path| gpt_disk(path, &partitions))
}

/// A BLS entry booting `/<entry token>/<version>/linux` with its initrd.
pub fn bls_entry(title: &str, version: &str, linux: &str, initrds: &[&str], options: &str) -> String {
    let mut entry = format!("title {title}\nversion {version}\nlinux {linux}\n");
    for initrd in initrds {
        entry.push_str(&format!("initrd {initrd}\n"));
    }
    entry.push_str(&format!("options {options}\n"));
    entry
}

/// The cloud kernel and proof initramfs laid out on an ESP as `kernel-install`
/// does (`/debian/<version>/linux`, `/debian/<version>/initrd.img`), with one
/// entry `debian-<version>.conf`; `boot_loader` is `\EFI\BOOT\BOOTX64.EFI`.
pub fn cloud_kernel_bls(name: &str, options: &str, boot_loader: Option<PathBuf>) -> Result<BlsDisk, String> {
    use crate::{debian, initramfs};
    let kernel = debian::cloud_kernel()?;
    let version = debian::kernel_release(&kernel);
    let linux = format!("/debian/{version}/linux");
    let initrd = format!("/debian/{version}/initrd.img");
    Ok(BlsDisk {
        name: name.into(),
        esp_mib: 64,
        loader_conf: "timeout 0\ndefault debian-*\neditor no\n".into(),
        entries: vec![(
            format!("debian-{version}.conf"),
            bls_entry("Debian GNU/Linux 12 (bookworm)", &version, &linux, &[&initrd], options),
        )],
        files: vec![
            (linux, Source::Host(kernel)),
            (initrd, Source::Host(initramfs::proof_initramfs()?)),
        ],
        boot_loader,
    })
}

/// systemd-boot as `\EFI\BOOT\BOOTX64.EFI` with one BLS entry booting the cloud
/// kernel and the proof initramfs with `console=ttyS0`.
pub fn systemd_boot_disk() -> Result<PathBuf, String> {
    let loader = crate::debian::systemd_boot()?;
    bls_disk(&cloud_kernel_bls(
        "systemd-boot",
        "console=ttyS0 hvfw.marker=sdboot-cmdline-ok",
        Some(loader),
    )?)
}

/// Every image the boot tests use, by name, built (or found in the cache).
pub fn all_debian_images() -> Result<Vec<(&'static str, PathBuf)>, String> {
    Ok(vec![
        ("cloud kernel", crate::debian::cloud_kernel()?),
        ("proof initramfs", crate::initramfs::proof_initramfs()?),
        (
            "extra initramfs",
            crate::initramfs::extra_initramfs("second-initrd-ok")?,
        ),
        ("shim", crate::debian::shim()?),
        ("signed GRUB", crate::debian::signed_grub()?),
        ("systemd-boot", crate::debian::systemd_boot()?),
        ("EFI stub", crate::debian::efi_stub()?),
        ("busybox", crate::debian::busybox()?),
        ("shim+GRUB disk", debian_shim_grub_disk()?),
        ("systemd-boot disk", systemd_boot_disk()?),
    ])
}

/// The timings of one reference boot.
#[derive(Debug)]
pub struct ReferenceBoot {
    pub first_proof: Duration,
    pub done: Duration,
    pub exited: Duration,
    pub console: String,
}

/// What a reference boot's console showed, and when.
#[derive(Default)]
struct Seen {
    console: String,
    first_proof: Option<Duration>,
    done: Option<Duration>,
}

/// Boots QEMU with `args` (plus serial on stdio, no display, `-no-reboot`) and
/// waits until it powers off by itself; the proof initramfs must have printed
/// its `done` line.
pub fn reference_boot(args: &[String], timeout: Duration) -> Result<ReferenceBoot, String> {
    let mut child = Command::new("qemu-system-x86_64")
        .args(args)
        .args(["-display", "none", "-no-reboot", "-monitor", "none", "-serial", "stdio"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start qemu-system-x86_64 (Debian package qemu-system-x86): {e}"))?;
    let started = Instant::now();
    let seen: Arc<Mutex<Seen>> = Arc::default();
    let mut readers = Vec::new();
    for stream in [
        Box::new(child.stdout.take().ok_or("no stdout")?) as Box<dyn Read + Send>,
        Box::new(child.stderr.take().ok_or("no stderr")?),
    ] {
        let seen = seen.clone();
        readers.push(std::thread::spawn(move || {
            let mut stream = stream;
            let mut buf = [0u8; 4096];
            while let Ok(n) = stream.read(&mut buf) {
                if n == 0 {
                    break;
                }
                let mut seen = seen.lock().unwrap();
                seen.console
                    .push_str(&String::from_utf8_lossy(&buf[..n]).replace('\r', ""));
                if seen.first_proof.is_none() && seen.console.contains(crate::initramfs::PROOF_PREFIX) {
                    seen.first_proof = Some(started.elapsed());
                }
                if seen.done.is_none() && seen.console.contains(crate::initramfs::PROOF_DONE) {
                    seen.done = Some(started.elapsed());
                }
            }
        }));
    }
    let status = loop {
        if let Some(status) = child.try_wait().map_err(|e| e.to_string())? {
            break Some(status);
        }
        if started.elapsed() >= timeout {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let exited = started.elapsed();
    for reader in readers {
        let _ = reader.join();
    }
    let Seen {
        console,
        first_proof,
        done,
    } = std::mem::take(&mut *seen.lock().unwrap());
    let fail = |why: String| Err(format!("{why}\n---- console ----\n{console}\n---- end of console ----"));
    let Some(status) = status else {
        return fail(format!("QEMU did not power off within {timeout:?}"));
    };
    let (Some(first_proof), Some(done)) = (first_proof, done) else {
        return fail(format!(
            "QEMU exited ({status}) without printing {:?}",
            crate::initramfs::PROOF_DONE
        ));
    };
    Ok(ReferenceBoot {
        first_proof,
        done,
        exited,
        console,
    })
}

/// Boots the cloud kernel with the proof initramfs through QEMU's own
/// `-kernel`/`-initrd` loader: proves the kernel and initramfs without any UEFI.
pub fn verify_with_direct_boot() -> Result<ReferenceBoot, String> {
    let kernel = crate::debian::cloud_kernel()?;
    let initrd = crate::initramfs::proof_initramfs()?;
    let args: Vec<String> = [
        "-machine",
        "q35,accel=tcg",
        "-cpu",
        "max",
        "-m",
        "512M",
        "-kernel",
        &kernel.to_string_lossy(),
        "-initrd",
        &initrd.to_string_lossy(),
        "-append",
        "console=ttyS0 hvfw.marker=direct-boot-ok",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let boot = reference_boot(&args, Duration::from_secs(120))?;
    if !boot.console.contains("hvfw.marker=direct-boot-ok") {
        return Err(format!("the proof lines lack the command line:\n{}", boot.console));
    }
    Ok(boot)
}

/// Debian's OVMF (package `ovmf`), 4 MiB flash layout.
pub const OVMF_CODE: &str = "/usr/share/OVMF/OVMF_CODE_4M.fd";
pub const OVMF_VARS: &str = "/usr/share/OVMF/OVMF_VARS_4M.fd";

/// Boots `disk` under Debian's OVMF (a fresh copy of its variable store) until
/// the proof initramfs powers off, and checks the console shows `marker`: proves
/// the disk image itself is right, independently of our firmware.
pub fn verify_with_ovmf(disk: &Path, marker: &str) -> Result<ReferenceBoot, String> {
    if !Path::new(OVMF_CODE).is_file() {
        return Err(format!("{OVMF_CODE} is missing: install Debian package ovmf"));
    }
    let scratch = tempdir("ovmf")?;
    let vars = scratch.join("vars.fd");
    std::fs::copy(OVMF_VARS, &vars).map_err(|e| format!("cannot copy {OVMF_VARS}: {e}"))?;
    let args: Vec<String> = vec![
        "-machine".into(),
        "q35,accel=tcg".into(),
        "-cpu".into(),
        "max".into(),
        "-m".into(),
        "512M".into(),
        "-drive".into(),
        format!("if=pflash,format=raw,unit=0,readonly=on,file={OVMF_CODE}"),
        "-drive".into(),
        format!("if=pflash,format=raw,unit=1,file={}", vars.display()),
        "-drive".into(),
        format!("if=none,id=disk0,format=raw,file={},snapshot=on", disk.display()),
        "-device".into(),
        "virtio-blk-pci,drive=disk0,disable-legacy=on".into(),
        // No network card: OVMF would otherwise add PXE and HTTP boot entries.
        "-nic".into(),
        "none".into(),
    ];
    let result = reference_boot(&args, Duration::from_secs(300));
    let _ = std::fs::remove_dir_all(&scratch);
    let boot = result?;
    if !boot.console.contains(marker) {
        return Err(format!("the console lacks {marker:?}:\n{}", boot.console));
    }
    Ok(boot)
}
