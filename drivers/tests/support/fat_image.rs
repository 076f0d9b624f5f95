//! Scratch FAT images for host tests, made by the real tools: `mkfs.fat`
//! (dosfstools) creates them, mtools fills and reads them, `fsck.fat -n`
//! checks them. Shared by the FAT driver's image tests
//! (drivers/tests/fat_images.rs) and the SimpleFileSystem protocol's tests
//! (protocols/src/file_system/tests.rs, through `#[path]`), so it names
//! everything from `std` explicitly: the protocols crate is `no_std` outside
//! its tests.
//!
//! A missing tool fails the test with the Debian package to install; nothing
//! is ever skipped.
#![allow(dead_code)] // each user needs only part of it

use fw_drivers::block::MemoryDisk;
use std::format;
use std::path::PathBuf;
use std::process::{Command, Output};
use std::string::{String, ToString};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::vec::Vec;

/// Finds a tool on PATH or in the sbin directories (mkfs.fat lives there).
pub fn tool(name: &str, package: &str) -> Command {
    let path = std::env::var("PATH").unwrap_or_default();
    let dirs = path
        .split(':')
        .map(PathBuf::from)
        .chain(["/usr/sbin", "/sbin", "/usr/bin"].map(PathBuf::from));
    for d in dirs {
        let candidate = d.join(name);
        if candidate.is_file() {
            let mut cmd = Command::new(candidate);
            cmd.env("MTOOLS_SKIP_CHECK", "1").env("LC_ALL", "C.UTF-8");
            return cmd;
        }
    }
    panic!("{name} is not installed: install the Debian package {package}");
}

/// Runs `cmd`, which must succeed.
pub fn run(mut cmd: Command) -> Output {
    let out = cmd.output().unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}\n{}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

static SCRATCH_ID: AtomicU32 = AtomicU32::new(0);

/// An image file in a fresh temporary directory, removed on drop.
pub struct Image {
    pub dir: PathBuf,
    pub path: PathBuf,
}

impl Drop for Image {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

impl Image {
    /// `mkfs.fat -C` an image of `kib` KiB with extra `args`, in a directory
    /// named for `tag`, this process and a counter (tests run in parallel).
    pub fn mkfs(tag: &str, kib: u64, args: &[&str]) -> Image {
        let id = SCRATCH_ID.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("fat-test-{tag}-{}-{id}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("fs.img");
        // Built first so that its drop removes the directory if mkfs fails.
        let image = Image { dir, path };
        let mut cmd = tool("mkfs.fat", "dosfstools");
        cmd.arg("-C").args(args).arg(&image.path).arg(kib.to_string());
        run(cmd);
        image
    }

    pub fn mtools(&self, name: &str) -> Command {
        let mut cmd = tool(name, "mtools");
        cmd.arg("-i").arg(&self.path);
        cmd
    }

    /// Copies local files and directories (recursively) into `dest` on the image.
    pub fn mcopy_in(&self, sources: &[PathBuf], dest: &str) {
        let mut cmd = self.mtools("mcopy");
        cmd.arg("-s").arg("-D").arg("o").args(sources).arg(format!("::{dest}"));
        run(cmd);
    }

    pub fn put(&self, dest: &str, data: &[u8]) {
        let local = self
            .dir
            .join(format!("put-{}", SCRATCH_ID.fetch_add(1, Ordering::Relaxed)));
        std::fs::write(&local, data).unwrap();
        let mut cmd = self.mtools("mcopy");
        cmd.arg("-D").arg("o").arg(&local).arg(format!("::{dest}"));
        run(cmd);
        std::fs::remove_file(local).unwrap();
    }

    pub fn mkdir(&self, dest: &str) {
        let mut cmd = self.mtools("mmd");
        cmd.arg(format!("::{dest}"));
        run(cmd);
    }

    pub fn del(&self, dest: &str) {
        let mut cmd = self.mtools("mdel");
        cmd.arg(format!("::{dest}"));
        run(cmd);
    }

    /// A file's bytes as mtools reads them; the file must exist.
    pub fn get(&self, src: &str) -> Vec<u8> {
        let mut cmd = self.mtools("mtype");
        cmd.arg(format!("::{src}"));
        run(cmd).stdout
    }

    /// A file's bytes as mtools reads them, or None when mtools finds no such file.
    pub fn try_get(&self, src: &str) -> Option<Vec<u8>> {
        let mut cmd = self.mtools("mtype");
        cmd.arg(format!("::{src}"));
        let out = cmd.output().expect("run mtype (Debian package mtools)");
        out.status.success().then_some(out.stdout)
    }

    pub fn mdir(&self, dir: &str) -> String {
        let mut cmd = self.mtools("mdir");
        cmd.arg(format!("::{dir}"));
        String::from_utf8_lossy(&run(cmd).stdout).into_owned()
    }

    /// `fsck.fat -n` must find nothing to repair.
    pub fn fsck(&self) {
        let mut cmd = tool("fsck.fat", "dosfstools");
        cmd.arg("-n").arg("-V").arg(&self.path);
        let out = cmd.output().expect("run fsck.fat");
        assert!(
            out.status.success(),
            "fsck.fat -n reports problems:\n{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// The image as a disk of `block_size`-byte blocks.
    pub fn disk(&self, block_size: u32) -> Arc<MemoryDisk> {
        Arc::new(MemoryDisk::new(std::fs::read(&self.path).unwrap(), block_size))
    }

    /// Writes `disk` back to the image file, for mtools and fsck.fat.
    pub fn save(&self, disk: &MemoryDisk) {
        std::fs::write(&self.path, disk.contents()).unwrap();
    }

    pub fn local(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }
}
