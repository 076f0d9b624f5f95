//! The hypervisor-fw test harness: set-up of a fresh machine, firmware builds,
//! disk images made with real tools, QEMU runs with the serial console captured,
//! and the boot tests. `src/bin/xtask.rs` puts the README's commands on top.

// The harness is no library for others: `missing_docs` holds for the
// firmware's crates (arch, core, drivers, protocols, loaders), not here.
#![allow(missing_docs)]

pub mod bench;
pub mod bench_ch;
pub mod bls_tests;
pub mod boot_tests;
pub mod ch_aarch64_layout;
pub mod ch_tests;
pub mod cloud_hypervisor;
pub mod debian;
pub mod disk_tests;
pub mod display_tests;
pub mod exception_tests;
pub mod fdt_writer;
pub mod firmware;
pub mod font;
pub mod fuzz;
pub mod images;
pub mod initramfs;
pub mod keyboard_tests;
pub mod qemu;
pub mod qmp;
pub mod riscv64_grub;
pub mod robustness;
pub mod secure_boot_tests;
pub mod secure_boot_vars_tests;
pub mod setup;
pub mod small_vm;
pub mod variable_tests;

use std::path::PathBuf;

/// The workspace root (this crate lives in `tests/`).
pub fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .to_path_buf()
}

/// Where built firmware, images and downloads are cached.
pub fn cache_dir(name: &str) -> PathBuf {
    let dir = workspace_root().join("target").join(name);
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("cannot create {}: {e}", dir.display()));
    dir
}
