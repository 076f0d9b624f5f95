//! Test-only behaviour of `test-hooks` builds, asked for on the command line:
//! `hvfw.test=list-esp` lists each ESP's root directory, and
//! `hvfw.test=read=PATH` reads a file from the first ESP and reports the rate,
//! `hvfw.test=variable-write-cut=N` cuts the power after step N of the next
//! write of the variable file.

use crate::disks::Volume;
use alloc::sync::Arc;
use fw_core::boot_info::BootInfo;
use fw_core::efi::BOOT;
use fw_core::memory::{AllocateType, MemoryType, EFI_PAGE_SIZE};
use fw_drivers::fat::FileSystem;
use log::{error, info};

pub fn run(info: &BootInfo, volumes: &[Volume], requests: impl Fn() -> u64) {
    if let Some(step) = info
        .cmdline()
        .split_ascii_whitespace()
        .find_map(|w| w.strip_prefix("hvfw.test=variable-write-cut="))
        .and_then(|n| n.parse().ok())
    {
        info!("test hook: the next variable-file write stops after step {step}");
        crate::persistent_variables::cut_writes_after(step);
    }
    if info.cmdline_has("hvfw.test=list-esp") {
        for v in volumes.iter().filter(|v| v.info.is_efi_system_partition()) {
            list_root(v);
        }
    }
    if let Some(path) = info
        .cmdline()
        .split_ascii_whitespace()
        .find_map(|w| w.strip_prefix("hvfw.test=read="))
    {
        let Some(esp) = volumes.iter().find(|v| v.info.is_efi_system_partition()) else {
            error!("test hook: no ESP to read {path} from");
            return;
        };
        read_file(esp, path, &requests);
    }
}

fn list_root(v: &Volume) {
    let fs = match FileSystem::mount(v.device.clone()) {
        Ok(fs) => fs,
        Err(e) => {
            error!("ESP on disk {} partition {}: {e}", v.disk, v.info.number);
            return;
        }
    };
    info!(
        "ESP on disk {} partition {} ({:?}) root directory:",
        v.disk,
        v.info.number,
        fs.fat_type()
    );
    let root = fs.root();
    let mut position = 0;
    loop {
        match fs.read_dir(&root, &mut position) {
            Ok(Some(entry)) => info!(
                "  {:<24} {:>10} {}",
                entry.name(),
                entry.size(),
                if entry.is_directory() { "<DIR>" } else { "" }
            ),
            Ok(None) => break,
            Err(e) => {
                error!("  listing stopped: {e}");
                break;
            }
        }
    }
}

fn read_file(esp: &Volume, path: &str, requests: &dyn Fn() -> u64) {
    let fs = match FileSystem::mount(Arc::clone(&esp.device)) {
        Ok(fs) => fs,
        Err(e) => return error!("test hook: {e}"),
    };
    let mut file = match fs.open(&fs.root(), path) {
        Ok(f) => f,
        Err(e) => return error!("test hook: {path}: {e}"),
    };
    let size = file.size();
    let pages = size.div_ceil(EFI_PAGE_SIZE).max(1);
    let buffer = match BOOT
        .lock()
        .memory
        .allocate_pages(AllocateType::AnyPages, MemoryType::LoaderData, pages)
    {
        Ok(address) => address,
        Err(e) => return error!("test hook: no memory for {size} bytes: {e}"),
    };
    // SAFETY: the pages were just allocated for this buffer.
    let data = unsafe { core::slice::from_raw_parts_mut(buffer as *mut u8, size as usize) };
    let before = requests();
    let start = fw_arch::time::now_ns();
    let result = fs.read(&mut file, 0, data);
    let ns = fw_arch::time::now_ns() - start;
    match result {
        Ok(n) if n as u64 == size => {
            // Integer arithmetic: the bare-metal target has no hardware floats.
            let mib_s = (u128::from(size) * 1_000_000_000 / u128::from(ns.max(1))) >> 20;
            info!(
                "read {path}: {size} bytes in {} ms ({mib_s} MiB/s), {} device requests, crc32 {:#010x}",
                ns / 1_000_000,
                requests() - before,
                fw_drivers::crc32::crc32(data)
            );
        }
        Ok(n) => error!("test hook: read {n} of {size} bytes of {path}"),
        Err(e) => error!("test hook: reading {path}: {e}"),
    }
    let _ = BOOT.lock().memory.free_pages(buffer, pages);
}
