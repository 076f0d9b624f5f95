//! The boot manager (UEFI 2.10 §3): tries each boot option in turn and moves on
//! when one fails. For now the options are the removable-media paths
//! (`\EFI\BOOT\BOOTX64.EFI`) of every file system, in the firmware's order
//! (disks in PCI order, partitions in table order).

use crate::efi::Efi;
use crate::efi_print;
use crate::path;
use alloc::string::String;
use alloc::vec::Vec;
use uefi_raw::protocol::file_system::SimpleFileSystemProtocol;
use uefi_raw::table::system::SystemTable;
use uefi_raw::{Handle, Status};

/// The removable-media boot file for this architecture (§3.5.1.1).
#[cfg(target_arch = "x86_64")]
pub const REMOVABLE_MEDIA_FILE: &str = "\\EFI\\BOOT\\BOOTX64.EFI";
#[cfg(target_arch = "aarch64")]
pub const REMOVABLE_MEDIA_FILE: &str = "\\EFI\\BOOT\\BOOTAA64.EFI";
#[cfg(target_arch = "riscv64")]
pub const REMOVABLE_MEDIA_FILE: &str = "\\EFI\\BOOT\\BOOTRISCV64.EFI";

/// The boot manager's entry point, started by the firmware like any image.
///
/// # Safety
/// `st` is the system table, as StartImage passes it.
pub unsafe extern "efiapi" fn efi_main(image: Handle, st: *mut SystemTable) -> Status {
    // SAFETY: the firmware starts us with a valid system table.
    let efi = unsafe { Efi::new(image, st) };
    let mut tried: Vec<String> = Vec::new();
    for fs in efi.handles_with(&SimpleFileSystemProtocol::GUID) {
        let Some(device) = efi.device_path(fs) else { continue };
        let Some(file) = path::with_file(&device, REMOVABLE_MEDIA_FILE) else {
            continue;
        };
        let text = efi.path_text(&file);
        match efi.load_image(&file) {
            Ok(handle) => {
                efi_print!(efi, "Boot: starting {text}\n");
                let status = efi.start_image(handle);
                efi_print!(efi, "Boot: {text} returned {}\n", status_name(status));
                tried.push(alloc::format!("{text}: returned {}", status_name(status)));
            }
            Err(status) => tried.push(alloc::format!("{text}: {}", status_name(status))),
        }
    }
    efi_print!(efi, "no bootable device found. Tried:\n");
    if tried.is_empty() {
        efi_print!(efi, "  (no file systems)\n");
    }
    for t in &tried {
        efi_print!(efi, "  {t}\n");
    }
    Status::NOT_FOUND
}

/// The specification's name for a status.
pub fn status_name(status: Status) -> String {
    let name = match status {
        Status::SUCCESS => "SUCCESS",
        Status::LOAD_ERROR => "LOAD_ERROR",
        Status::INVALID_PARAMETER => "INVALID_PARAMETER",
        Status::UNSUPPORTED => "UNSUPPORTED",
        Status::NOT_FOUND => "NOT_FOUND",
        Status::ACCESS_DENIED => "ACCESS_DENIED",
        Status::SECURITY_VIOLATION => "SECURITY_VIOLATION",
        Status::OUT_OF_RESOURCES => "OUT_OF_RESOURCES",
        Status::ABORTED => "ABORTED",
        Status::DEVICE_ERROR => "DEVICE_ERROR",
        Status::VOLUME_CORRUPTED => "VOLUME_CORRUPTED",
        _ => return alloc::format!("status {:#x}", status.0),
    };
    String::from(name)
}
