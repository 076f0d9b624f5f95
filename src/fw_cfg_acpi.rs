//! ACPI tables from QEMU's fw_cfg: runs the `etc/table-loader` script
//! (`fw_drivers::fw_cfg::table_loader`) with every file it allocates placed in
//! EfiACPIReclaimMemory pages (UEFI 2.10 §7.2.3: the OS may reclaim them once
//! it has read the tables), copies the patched files into place and returns
//! the address of the patched `etc/acpi/rsdp`, for the ACPI 2.0 configuration
//! table. This is what edk2 does on QEMU `virt` (its QemuFwCfgAcpiPlatformDxe),
//! without rebuilding the tables: QEMU's own RSDP and XSDT are used as linked.

use crate::platform::IdentityMemory;
use alloc::string::String;
use alloc::vec::Vec;
use fw_core::efi::BOOT;
use fw_core::memory::{AllocateType, MemoryType, EFI_PAGE_SIZE};
use fw_drivers::acpi::Acpi;
use fw_drivers::fw_cfg::padding;
use fw_drivers::fw_cfg::table_loader::{self, Blob, Environment, Zone};
use fw_drivers::fw_cfg::{FwCfg, Transport};
use log::{debug, error, info};

/// The script, and the file whose patched copy is the RSDP.
const TABLE_LOADER: &str = "etc/table-loader";
const RSDP_FILE: &str = "etc/acpi/rsdp";

/// The table-loader's view of the firmware: files from fw_cfg, pages from the
/// EFI memory map (remembered, to give them back if the script fails).
struct Firmware<'a, T> {
    fw_cfg: &'a FwCfg<T>,
    pages: Vec<(u64, u64)>,
}

impl<T: Transport> Environment for Firmware<'_, T> {
    fn fetch(&mut self, name: &str) -> Option<Vec<u8>> {
        self.fw_cfg.read_file(name)
    }

    fn allocate(&mut self, name: &str, size: usize, align: u64, zone: Zone) -> Option<u64> {
        let pages = (size as u64).div_ceil(EFI_PAGE_SIZE);
        let align = align.max(EFI_PAGE_SIZE);
        // Both zones ask for 32-bit memory ("high" is QEMU's name for anywhere
        // below 4 GiB; the F segment exists only on a PC): the RSDT and the
        // RSDP hold 32-bit pointers. Higher memory is the fallback, and a
        // pointer that cannot hold its address is then refused by the loader.
        let map = &mut BOOT.lock().memory.map;
        let address = map
            .allocate_pages_aligned(
                AllocateType::MaxAddress(u32::MAX.into()),
                MemoryType::ACPIReclaimMemory,
                pages,
                align,
            )
            .or_else(|_| {
                map.allocate_pages_aligned(AllocateType::AnyPages, MemoryType::ACPIReclaimMemory, pages, align)
            });
        match address {
            Ok(address) => {
                debug!("ACPI: {name} ({size} bytes, {zone:?} zone) at {address:#x}");
                self.pages.push((address, pages));
                Some(address)
            }
            Err(e) => {
                error!("ACPI: no memory for {name} ({size} bytes): {e}");
                None
            }
        }
    }
}

/// Gives back the pages of padding after the tables (QEMU pads
/// `etc/acpi/tables` to 128 KiB) and shortens the blobs to what they hold.
fn trim_padding(blobs: &mut [Blob], rsdp: u64, allocated: &mut [(u64, u64)]) {
    let used = match padding::used_lengths(blobs, rsdp) {
        Ok(used) => used,
        Err(e) => {
            debug!("ACPI: padding kept, the tables do not check out before placing: {e}");
            return;
        }
    };
    for (blob, used) in blobs.iter_mut().zip(used) {
        let Some((_, pages)) = allocated.iter_mut().find(|(address, _)| *address == blob.address) else {
            continue;
        };
        let kept = (used as u64).div_ceil(EFI_PAGE_SIZE);
        if kept >= *pages {
            continue;
        }
        let tail = blob.address + kept * EFI_PAGE_SIZE;
        match BOOT.lock().memory.map.free_pages(tail, *pages - kept) {
            Ok(()) => {
                debug!(
                    "ACPI: {} holds {used} of {} bytes: {} KiB of padding returned",
                    blob.name,
                    blob.data.len(),
                    (*pages - kept) * EFI_PAGE_SIZE / 1024
                );
                *pages = kept;
                blob.data.truncate(used);
            }
            Err(e) => debug!("ACPI: cannot free the padding of {}: {e}", blob.name),
        }
    }
}

/// Copies the patched files to the pages allocated for them.
fn place(blobs: &[Blob]) {
    for blob in blobs {
        let pages = (blob.data.len() as u64).div_ceil(EFI_PAGE_SIZE);
        let len = (pages * EFI_PAGE_SIZE) as usize;
        // SAFETY: the table-loader allocated these pages (EfiACPIReclaimMemory,
        // identity-mapped RAM) for this file and nothing else uses them; the
        // file fits in them.
        let pages = unsafe { core::slice::from_raw_parts_mut(blob.address as *mut u8, len) };
        pages[..blob.data.len()].copy_from_slice(&blob.data);
        pages[blob.data.len()..].fill(0);
    }
}

/// Loads QEMU's ACPI tables through `fw_cfg` and returns the RSDP's address,
/// or `None` when the VMM offers none (a debug line) or they cannot be loaded
/// (an error line naming why: the VMM's script is guest-visible data).
pub fn load<T: Transport>(fw_cfg: &FwCfg<T>, ram_top: u64) -> Option<u64> {
    let script = match fw_cfg.file(TABLE_LOADER) {
        Some(_) => fw_cfg.read_file(TABLE_LOADER)?,
        None => {
            debug!("ACPI: fw_cfg offers no {TABLE_LOADER}: no ACPI tables from the VMM");
            return None;
        }
    };
    let mut firmware = Firmware {
        fw_cfg,
        pages: Vec::new(),
    };
    let rsdp = table_loader::run(&script, &mut firmware).map(|mut blobs| {
        let rsdp = blobs.iter().find(|b| b.name == RSDP_FILE).map(|b| b.address);
        if let Some(rsdp) = rsdp {
            trim_padding(&mut blobs, rsdp, &mut firmware.pages);
        }
        place(&blobs);
        rsdp
    });
    let failure: String = match rsdp {
        Ok(Some(rsdp)) => match Acpi::new(&IdentityMemory { limit: ram_top }, rsdp) {
            Ok(acpi) => {
                let memory = IdentityMemory { limit: ram_top };
                let names: Vec<String> = acpi
                    .table_addresses()
                    .filter_map(|a| fw_drivers::acpi::read_table(&memory, a).ok())
                    .map(|t| alloc::format!("{}", t.header.signature))
                    .collect();
                info!(
                    "ACPI: tables from QEMU's fw_cfg, RSDP at {rsdp:#x}: {}",
                    names.join(" ")
                );
                return Some(rsdp);
            }
            Err(e) => alloc::format!("the linked tables do not check out: {e}"),
        },
        Ok(None) => alloc::format!("{TABLE_LOADER} does not allocate {RSDP_FILE}"),
        Err(e) => alloc::format!("{e}"),
    };
    error!("ACPI: cannot load the VMM's tables: {failure}");
    let map = &mut BOOT.lock().memory.map;
    for (address, pages) in firmware.pages {
        if let Err(e) = map.free_pages(address, pages) {
            debug!("ACPI: cannot free {address:#x}: {e}");
        }
    }
    None
}
