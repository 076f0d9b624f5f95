//! Like OVMF, the boot manager offers a `Boot####` for what it found, so that
//! the OS (`efibootmgr`) sees the options and `BootCurrent` names what booted:
//! one per removable-media file and one for the BLS entries. An option with
//! the same device path is reused; new ones are volatile (they are made anew
//! at each start, never pile up, and the firmware writes nothing to the disk
//! for them) and are not put in `BootOrder`.

use super::{BS_RT, GLOBAL, HVFW_VENDOR};
use crate::boot_plan::{Candidate, Target};
use crate::efi::Efi;
use crate::load_option;
use alloc::vec;
use alloc::vec::Vec;
use uefi_raw::Status;

/// Boot#### numbers searched for options that already stand for a target.
const OFFERED_NUMBERS: u16 = 0x100;

/// The device path of the option standing for the BLS entries: a vendor
/// media node (UEFI 2.10 §10.3.5.3) with hypervisor-fw's GUID, then End.
fn bls_option_path() -> Vec<u8> {
    let mut path = vec![4, 3, 20, 0];
    path.extend_from_slice(HVFW_VENDOR.to_bytes().as_slice());
    path.extend_from_slice(&[0x7f, 0xff, 4, 0]);
    path
}

/// Offers the options, filling in each removable candidate's number, and
/// returns the BLS option's number.
pub fn offer_options(efi: &Efi, candidates: &mut [Candidate], has_bls: bool) -> Option<u16> {
    let mut existing: Vec<(u16, Vec<u8>)> = (0..OFFERED_NUMBERS)
        .filter_map(|n| {
            let bytes = efi.get_variable(&load_option::boot_variable_name(n), &GLOBAL)?;
            Some((n, load_option::parse(&bytes).ok()?.file_path))
        })
        .collect();
    let mut offer = |path: &[u8], description: &str| -> Option<u16> {
        if let Some((n, _)) = existing.iter().find(|(_, p)| p.as_slice() == path) {
            return Some(*n);
        }
        let free = (0..OFFERED_NUMBERS).find(|n| {
            !existing.iter().any(|(e, _)| e == n)
                && efi
                    .get_variable(&load_option::boot_variable_name(*n), &GLOBAL)
                    .is_none()
        })?;
        let bytes = load_option::encode(load_option::LOAD_OPTION_ACTIVE, description, path, &[]);
        let status = efi.set_variable(&load_option::boot_variable_name(free), &GLOBAL, BS_RT, &bytes);
        if status != Status::SUCCESS {
            return None;
        }
        existing.push((free, path.to_vec()));
        Some(free)
    };
    let bls = if has_bls {
        offer(&bls_option_path(), "hypervisor-fw Boot Loader Specification entries")
    } else {
        None
    };
    for candidate in candidates.iter_mut() {
        if let Target::Removable { path, number } = &mut candidate.target {
            *number = offer(path, &alloc::format!("UEFI {}", candidate.title));
        }
    }
    bls
}
