//! Hands the VMM's SMBIOS tables to the OS (UEFI 2.10 §4.6 `SMBIOS_TABLE_GUID` and
//! `SMBIOS3_TABLE_GUID`; DMTF DSP0134 3.x §5.2 for the entry points).
//!
//! Whatever the source, the checked tables ([`fw_drivers::smbios::Smbios`]) are
//! copied, entry points first, into pages of EFI runtime services data below 4 GiB
//! (where a 32-bit entry point can reach them), with the entry points' table
//! address and checksums rewritten. The OS keeps runtime services data, so it
//! finds the tables after ExitBootServices however the VMM's memory map described
//! the place they came from (Cloud Hypervisor leaves the BIOS area out of its map).
//!
//! Sources: on x86_64 the PC BIOS area, where SeaBIOS (QEMU's PVH boot) and Cloud
//! Hypervisor leave their entry points. On aarch64 and riscv64 QEMU's fw_cfg files
//! `etc/smbios/smbios-anchor` and `etc/smbios/smbios-tables`
//! ([`fw_drivers::smbios::Smbios::from_fw_cfg`]), as edk2 reads them on `virt`.

use core::ffi::c_void;
use core::fmt;
use fw_core::boot_info::BootInfo;
use fw_core::efi::{tables, BOOT};
use fw_core::memory::{AllocateType, MemoryError, MemoryType, EFI_PAGE_SIZE};
use fw_drivers::smbios::{self, Smbios};
use log::{debug, info};
use r_efi::efi;

/// Why tables that were found could not be handed on.
#[derive(Debug)]
pub enum InstallError {
    /// No pages for the copy.
    Memory(MemoryError),
    /// The copy's address does not fit an entry point.
    Image(smbios::Error),
    /// InstallConfigurationTable failed.
    ConfigurationTable { guid: &'static str, status: efi::Status },
}

impl fmt::Display for InstallError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InstallError::Memory(e) => write!(f, "no memory for the copy: {e}"),
            InstallError::Image(e) => e.fmt(f),
            InstallError::ConfigurationTable { guid, status } => {
                write!(f, "cannot install the {guid} configuration table: {status:?}")
            }
        }
    }
}

/// The highest address of the copy: a 2.1 entry point's structure table address
/// has 32 bits (DSP0134 §5.2.1, offset 18h).
const BELOW_4_GIB: u64 = 0xFFFF_FFFF;

/// Finds the VMM's tables and installs them, saying what was found or why not.
pub fn install_from_vmm(info: &BootInfo) {
    #[cfg(target_arch = "x86_64")]
    {
        let source = "the BIOS area";
        match crate::platform::smbios_from_bios_area(info) {
            Ok(found) => {
                if let Err(e) = install(&found, source) {
                    log::warn!("SMBIOS tables from {source} not installed: {e}");
                }
            }
            Err(e @ smbios::Error::NotFound { .. }) => info!("no SMBIOS tables: {e}"),
            Err(e) => log::warn!("SMBIOS tables in {source} refused: {e}"),
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let _ = info;
        let source = "QEMU's fw_cfg";
        let Some(fw_cfg) = crate::platform::fw_cfg() else {
            log::debug!("SMBIOS: no fw_cfg device, no tables");
            return;
        };
        match Smbios::from_fw_cfg(|name| fw_cfg.read_file(name)) {
            Ok(Some(found)) => {
                if let Err(e) = install(&found, source) {
                    log::warn!("SMBIOS tables from {source} not installed: {e}");
                }
            }
            Ok(None) => info!("no SMBIOS tables: {source} offers none"),
            Err(e) => log::warn!("SMBIOS tables from {source} refused: {e}"),
        }
    }
}

/// Copies `found` into runtime services data and installs its entry points as
/// configuration tables. `source` names where the tables came from, for the log.
pub fn install(found: &Smbios, source: &str) -> Result<(), InstallError> {
    let len = found.image_len();
    let pages = (len as u64).div_ceil(EFI_PAGE_SIZE);
    let base = BOOT
        .lock()
        .memory
        .allocate_pages(
            AllocateType::MaxAddress(BELOW_4_GIB),
            MemoryType::RuntimeServicesData,
            pages,
        )
        .map_err(InstallError::Memory)?;
    let image = match found.image(base) {
        Ok(image) => image,
        Err(e) => {
            let _ = BOOT.lock().memory.free_pages(base, pages);
            return Err(InstallError::Image(e));
        }
    };
    // SAFETY: `base` starts `pages` pages (at least `len` bytes) just allocated for
    // this copy, identity mapped like all RAM; nothing else refers to them yet.
    unsafe { core::ptr::copy_nonoverlapping(image.bytes.as_ptr(), base as *mut u8, image.bytes.len()) };
    for (offset, guid, name) in [
        (image.smbios3, efi::SMBIOS3_TABLE_GUID, "SMBIOS3"),
        (image.smbios2, efi::SMBIOS_TABLE_GUID, "SMBIOS"),
    ] {
        let Some(offset) = offset else { continue };
        tables::set_configuration_table(guid, (base + offset as u64) as *mut c_void)
            .map_err(|status| InstallError::ConfigurationTable { guid: name, status })?;
    }
    let ep = found.entry_point();
    let (bytes, count) = (found.structures().len(), found.summary().count);
    // One short line for users; where it was and where it went for developers
    // (each console byte is a VM exit, dear when nested).
    info!("SMBIOS {}.{}: {count} structures from {source}", ep.major, ep.minor);
    match found.found_at() {
        Some(at) => debug!(
            "SMBIOS entry point at {at:#x}: {bytes} bytes of structures at {:#x}, handed on at {base:#x}",
            ep.table_address
        ),
        None => debug!("SMBIOS: {bytes} bytes of structures, handed on at {base:#x}"),
    }
    Ok(())
}
