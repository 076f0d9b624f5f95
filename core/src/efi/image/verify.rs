//! Secure Boot's check of an image (UEFI 2.10 §32.5): while it is on, an
//! image may run only if db allows it and dbx does not revoke it. This is the
//! firmware's FileAuthentication of EFI_SECURITY2_ARCH_PROTOCOL
//! (`security_arch.rs`), which LoadImage asks.

use super::from_file::file_path_name;
use crate::secure_boot::{self, load_policy};
use alloc::vec::Vec;
use log::{info, warn};
use r_efi::efi;

/// db and dbx while Secure Boot is on (`SecureBoot` is 1), else `None`.
pub(super) fn secure_boot_keys() -> Option<(Vec<u8>, Vec<u8>)> {
    let runtime = crate::efi::runtime::RUNTIME.lock();
    secure_boot::keys::enforced(&runtime.as_ref()?.variables)
}

/// The file an image came from, for the log: the File Path nodes that end
/// its device path (after the device's own nodes).
pub(super) fn image_name(device_path: Option<&[u8]>) -> alloc::string::String {
    let file_part = device_path.and_then(|path| {
        let mut start = 0;
        for node in crate::handles::device_path::nodes(path) {
            let node = node.ok()?;
            if node.is_end() {
                break;
            }
            if node.kind() != 4 || node.sub_type() != 4 {
                start = node.end_offset();
            }
        }
        path.get(start..)
    });
    match file_part.and_then(file_path_name) {
        Some(name) => alloc::string::String::from_utf16_lossy(&name[..name.len() - 1]),
        None => "an image from memory".into(),
    }
}

/// The firmware's verdict on `data` (the file at `device_path`): `SUCCESS`
/// with Secure Boot off or when db allows it, `SECURITY_VIOLATION` (with the
/// file and the reason logged) when it is refused.
pub(super) fn secure_boot_check(data: &[u8], device_path: Option<&[u8]>) -> efi::Status {
    let Some((db, dbx)) = secure_boot_keys() else {
        return load_policy::authentication_status(None);
    };
    let name = image_name(device_path);
    // The firmware checked both when it enrolled them; should they not parse,
    // db trusts nothing and dbx refuses everything.
    let db = secure_boot::signature_list::parse(&db).unwrap_or_default();
    let Ok(dbx) = secure_boot::signature_list::parse(&dbx) else {
        warn!("Secure Boot: refused {name}: dbx is malformed");
        return efi::Status::SECURITY_VIOLATION;
    };
    let started = crate::efi::now_ns();
    let decision = secure_boot::check(data, &db, &dbx);
    match decision {
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
        }
        Err(refusal) => warn!("Secure Boot: refused {name}: {refusal}"),
    }
    load_policy::authentication_status(Some(decision))
}
