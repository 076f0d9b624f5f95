//! Starting one candidate: `BootCurrent`, then LoadImage and StartImage of an
//! EFI program, or a BLS entry (boot counting first, then its program, unified
//! kernel image or Linux kernel). Returns only when the candidate did not
//! take over, with how it ended.

use super::gather::VolumeInfo;
use super::linux_entry;
use super::{BS_RT, GLOBAL};
use crate::bls::{BootEntry, EntryKind};
use crate::boot_loader_interface as bli;
use crate::boot_plan::{Attempt, Candidate, Outcome, Target};
use crate::efi::Efi;
use crate::efi_print;
use crate::path;
use crate::status::status_name;
use alloc::string::String;
use alloc::vec::Vec;

/// Boots `attempt`'s candidate. `bls_number` is the `Boot####` that stands
/// for the BLS entries.
pub fn boot(
    efi: &Efi,
    volumes: &[VolumeInfo],
    candidate: &Candidate,
    attempt: &Attempt,
    bls_number: Option<u16>,
) -> Outcome {
    if let Some(number) = candidate.boot_current(bls_number) {
        let _ = efi.set_variable("BootCurrent", &GLOBAL, BS_RT, &number.to_le_bytes());
    }
    match &candidate.target {
        Target::LoadOption { path, data, .. } => {
            let options: Vec<u16> = data.chunks_exact(2).map(|c| u16::from_le_bytes([c[0], c[1]])).collect();
            start_efi(efi, path, &options)
        }
        Target::Removable { path, .. } => start_efi(efi, path, &[]),
        Target::Bls { volume, entry } => boot_bls(efi, &volumes[*volume], entry, attempt.cmdline.as_deref()),
    }
}

/// LoadImage + LoadOptions + StartImage of an EFI program.
fn start_efi(efi: &Efi, path: &[u8], options: &[u16]) -> Outcome {
    let image = match efi.load_image(path) {
        Ok(image) => image,
        Err(status) => return Outcome::CannotLoad(status),
    };
    if !options.is_empty() {
        // SAFETY: `options` outlives StartImage below.
        let _ = unsafe { efi.set_load_options(image, options) };
    }
    Outcome::Returned(efi.start_boot_option(image))
}

fn ucs2(s: &str) -> Vec<u16> {
    s.encode_utf16().chain([0]).collect()
}

/// A BLS entry: Linux through its EFI stub (or the boot protocol when asked),
/// an EFI program, or a unified kernel image. Boot counting is applied first.
fn boot_bls(efi: &Efi, v: &VolumeInfo, entry: &BootEntry, cmdline: Option<&str>) -> Outcome {
    bli::publish_selected(efi, &entry.id, &v.path);
    if let Some(new_name) = entry.renamed_after_attempt() {
        let file = entry.file_path();
        if let Err(status) = v.volume.rename(&file, &new_name) {
            efi_print!(
                efi,
                "Boot: cannot count the attempt on {file}: {}\n",
                status_name(status)
            );
        }
    }
    match &entry.kind {
        EntryKind::Type2 { path: file, .. } => match path::with_file(&v.path, file) {
            Some(full) => start_efi(efi, &full, &cmdline.map(ucs2).unwrap_or_default()),
            None => Outcome::NoDevicePath { file: file.clone() },
        },
        EntryKind::Type1 {
            efi: Some(program),
            options,
            ..
        } => match path::with_file(&v.path, program) {
            Some(full) => start_efi(efi, &full, &options.as_deref().map(ucs2).unwrap_or_default()),
            None => Outcome::NoDevicePath { file: program.clone() },
        },
        EntryKind::Type1 {
            linux: Some(kernel),
            initrds,
            options,
            devicetree,
            devicetree_overlays,
            ..
        } => {
            let cmdline = cmdline
                .map(String::from)
                .or_else(|| options.clone())
                .unwrap_or_default();
            if !devicetree_overlays.is_empty() {
                efi_print!(
                    efi,
                    "Boot: devicetree-overlay is not supported; booting without {}\n",
                    devicetree_overlays.join(" ")
                );
            }
            let _tree = match devicetree {
                Some(file) if cfg!(target_arch = "x86_64") => {
                    efi_print!(
                        efi,
                        "Boot: devicetree {file} ignored: x86_64 Linux takes no device tree\n"
                    );
                    None
                }
                Some(file) => match linux_entry::install_devicetree(efi, &v.volume, file) {
                    Ok(tree) => Some(tree),
                    Err(e) => return Outcome::DeviceTree(e),
                },
                None => None,
            };
            linux_entry::boot_linux(efi, v, kernel, initrds, &cmdline)
        }
        EntryKind::Type1 { .. } => Outcome::NoKernelOrProgram,
    }
}
