//! Secure Boot's check in LoadImage (UEFI 2.10 §32.5): while it is on, an
//! image runs only if db allows it and dbx does not revoke it.

use super::from_file::file_path_name;
use crate::secure_boot;
use alloc::vec::Vec;
use log::{info, warn};
use r_efi::efi;

/// db and dbx while Secure Boot is on (`SecureBoot` is 1), else `None`.
pub(super) fn secure_boot_keys() -> Option<(Vec<u8>, Vec<u8>)> {
    let runtime = crate::efi::runtime::RUNTIME.lock();
    secure_boot::keys::enforced(&runtime.as_ref()?.variables)
}

/// The file an image came from, for the log.
fn image_name(file_path: Option<&[u8]>) -> alloc::string::String {
    match file_path.and_then(file_path_name) {
        Some(name) => alloc::string::String::from_utf16_lossy(&name[..name.len() - 1]),
        None => "an image from memory".into(),
    }
}

/// A refused image is not loaded and LoadImage returns SECURITY_VIOLATION,
/// with the file and the reason logged.
pub(super) fn secure_boot_check(data: &[u8], file_path: Option<&[u8]>) -> Result<(), efi::Status> {
    let Some((db, dbx)) = secure_boot_keys() else {
        return Ok(());
    };
    let name = image_name(file_path);
    // The firmware checked both when it enrolled them; should they not parse,
    // db trusts nothing and dbx refuses everything.
    let db = secure_boot::signature_list::parse(&db).unwrap_or_default();
    let Ok(dbx) = secure_boot::signature_list::parse(&dbx) else {
        warn!("Secure Boot: refused {name}: dbx is malformed");
        return Err(efi::Status::SECURITY_VIOLATION);
    };
    let started = crate::efi::now_ns();
    match secure_boot::check(data, &db, &dbx) {
        Ok(approval) => {
            let how = match approval {
                secure_boot::Approval::Signature => "signature trusted by db",
                secure_boot::Approval::Hash(_) => "hash in db",
            };
            // The time is most of all the digest's: what Secure Boot costs.
            let us = (crate::efi::now_ns() - started) / 1000;
            let mb_per_s = (data.len() as u64).checked_div(us).unwrap_or(0);
            info!(
                "Secure Boot: {name} verified ({how}), {} KiB in {} ms ({mb_per_s} MB/s)",
                data.len() / 1024,
                us / 1000
            );
            Ok(())
        }
        Err(refusal) => {
            warn!("Secure Boot: refused {name}: {refusal}");
            Err(efi::Status::SECURITY_VIOLATION)
        }
    }
}
