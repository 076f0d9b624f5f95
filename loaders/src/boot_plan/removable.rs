//! The removable-media boot file of every volume, in disk order (UEFI 2.10
//! §3.5.1.1): the last resort after `Boot####` options and BLS entries.
#![forbid(unsafe_code)]

use super::candidate::{Candidate, Target};
use super::notes::{Note, Unreadable};
use super::{Probe, VolumeFacts};
use crate::path;
use alloc::vec::Vec;
use uefi_raw::Status;

/// The removable-media boot file for this architecture (§3.5.1.1).
#[cfg(not(any(target_arch = "aarch64", target_arch = "riscv64")))]
pub const REMOVABLE_MEDIA_FILE: &str = "\\EFI\\BOOT\\BOOTX64.EFI";
#[cfg(target_arch = "aarch64")]
/// The removable-media boot program's path on aarch64 (UEFI 2.10 §3.5.1.1).
pub const REMOVABLE_MEDIA_FILE: &str = "\\EFI\\BOOT\\BOOTAA64.EFI";
#[cfg(target_arch = "riscv64")]
/// The removable-media boot program's path on riscv64 (UEFI 2.10 §3.5.1.1).
pub const REMOVABLE_MEDIA_FILE: &str = "\\EFI\\BOOT\\BOOTRISCV64.EFI";

/// A candidate for each volume whose removable-media file opens; a note and
/// an entry in `unreadable` for each whose file is there but cannot be
/// opened. Volumes without the file are passed over in silence.
pub(super) fn candidates(
    volumes: &[VolumeFacts],
    probe: &dyn Probe,
    notes: &mut Vec<Note>,
    unreadable: &mut Vec<Unreadable>,
) -> Vec<Candidate> {
    let mut out = Vec::new();
    for v in volumes {
        let Some(path) = path::with_file(&v.device_path, REMOVABLE_MEDIA_FILE) else {
            continue;
        };
        match v.removable_file {
            Ok(()) => out.push(Candidate {
                title: probe.path_text(&path),
                target: Target::Removable { path, number: None },
            }),
            Err(Status::NOT_FOUND) => {}
            Err(status) => {
                let file = Unreadable {
                    path_text: probe.path_text(&path),
                    status,
                };
                notes.push(Note::RemovableUnreadable(file.clone()));
                unreadable.push(file);
            }
        }
    }
    out
}
