//! Like OVMF, the boot manager offers a `Boot####` for what it found, so that
//! the OS (`efibootmgr`) sees the options and `BootCurrent` names what booted:
//! one per removable-media file and one for the BLS entries. An option with
//! the same device path is reused; new ones are volatile (they are made anew
//! at each start, never pile up, and the firmware writes nothing to the disk
//! for them) and are not put in `BootOrder`.

use super::{BS_RT, GLOBAL, HVFW_VENDOR};
use crate::boot_plan::offered::{Offer, OfferedOptions, OFFERED_NUMBERS};
use crate::boot_plan::{Candidate, Target};
use crate::efi::Efi;
use crate::load_option;
use alloc::vec;
use alloc::vec::Vec;
use uefi_raw::Status;

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
    let mut offered = OfferedOptions::new(
        (0..OFFERED_NUMBERS)
            .filter_map(|n| {
                let bytes = efi.get_variable(&load_option::boot_variable_name(n), &GLOBAL)?;
                Some((n, load_option::parse(&bytes).ok()?.file_path))
            })
            .collect(),
    );
    let in_use = |n: u16| efi.get_variable(&load_option::boot_variable_name(n), &GLOBAL).is_some();
    let mut offer = |path: &[u8], description: &str| -> Option<u16> {
        match offered.offer(path, in_use)? {
            Offer::Existing(n) => Some(n),
            Offer::New(n) => {
                let bytes = load_option::encode(load_option::LOAD_OPTION_ACTIVE, description, path, &[]);
                let status = efi.set_variable(&load_option::boot_variable_name(n), &GLOBAL, BS_RT, &bytes);
                if status != Status::SUCCESS {
                    return None;
                }
                offered.written(n, path);
                Some(n)
            }
        }
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
