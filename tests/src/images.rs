//! Disk images built with the real tools (sgdisk, mkfs.fat, mtools), cached under
//! `target/images/` and rebuilt only when their recipe changes.

use crate::cache_dir;
use std::path::{Path, PathBuf};
use std::process::Command;

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
    let dir = cache_dir("images");
    let image = dir.join(format!("{name}.img"));
    let stamp = dir.join(format!("{name}.recipe"));
    if image.exists() && std::fs::read_to_string(&stamp).ok().as_deref() == Some(recipe) {
        return Ok(image);
    }
    let partial = dir.join(format!("{name}.img.partial"));
    let _ = std::fs::remove_file(&partial);
    build(&partial).map_err(|e| format!("building image {name}: {e}"))?;
    std::fs::rename(&partial, &image).map_err(|e| e.to_string())?;
    std::fs::write(&stamp, recipe).map_err(|e| e.to_string())?;
    Ok(image)
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
    run("sgdisk", &["--clear", "--new=1:2048:0", "--typecode=1:ef00", "--change-name=1:EFI System", &p])?;
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
        run("mcopy", &["-o", "-i", &target, &local.to_string_lossy(), &format!("::/{}", parts.join("/"))])?;
    }
    let _ = std::fs::remove_dir_all(scratch);
    Ok(())
}

/// A fresh, empty scratch directory.
pub fn tempdir(tag: &str) -> Result<PathBuf, String> {
    let dir = cache_dir("tmp").join(format!("{tag}-{}-{:?}", std::process::id(), std::thread::current().id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    Ok(dir)
}

/// The disk `cargo xtask run` boots when the user names none: a GPT disk whose
/// ESP holds nothing bootable yet.
pub fn default_disk() -> Result<PathBuf, String> {
    const README: &[u8] = b"This ESP was made by `cargo xtask run`. Put an EFI application at \\EFI\\BOOT\\BOOTX64.EFI, or boot your own disk with `cargo xtask run --disk PATH`.\r\n";
    cached("default", "gpt-esp-fat32-64MiB-readme-v1", |path| gpt_with_esp(path, 64, &[("README.TXT", README)]))
}
