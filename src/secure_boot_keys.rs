//! Where Secure Boot keys come from: sources the guest cannot change.
//!
//! 1. Keys built into the firmware image (`HVFW_SECURE_BOOT_KEYS` at build
//!    time, see `build.rs`). When the image has any, they are the keys and
//!    fw_cfg is not consulted: the VMM cannot swap them.
//! 2. Otherwise, on QEMU, fw_cfg files `opt/org.hypervisor-fw/PK`, `.../KEK`,
//!    `.../db`, `.../dbx` (`-fw_cfg name=opt/org.hypervisor-fw/db,file=db.esl`),
//!    each EFI_SIGNATURE_LISTs or one DER certificate.
//!
//! Never from the ESP's variable file: the store refuses PK, KEK, db and dbx
//! from it and from unauthenticated SetVariable (`fw_core::variables`).

use fw_core::efi::runtime;
use fw_core::secure_boot::keys::{self, KeyError, Keys};
use log::{info, warn};

mod built_in {
    include!(concat!(env!("OUT_DIR"), "/secure_boot_keys.rs"));
}

const FW_CFG_PREFIX: &str = "opt/org.hypervisor-fw/";

fn from_items(variable: &'static str, items: &[&[u8]]) -> Result<alloc::vec::Vec<u8>, KeyError> {
    let mut lists = alloc::vec::Vec::new();
    for item in items {
        lists.extend(keys::to_signature_lists(variable, item)?);
    }
    Ok(lists)
}

fn built_in_keys() -> Result<Option<Keys>, KeyError> {
    if [built_in::PK, built_in::KEK, built_in::DB, built_in::DBX]
        .iter()
        .all(|v| v.is_empty())
    {
        return Ok(None);
    }
    Ok(Some(Keys {
        pk: from_items("PK", built_in::PK)?,
        kek: from_items("KEK", built_in::KEK)?,
        db: from_items("db", built_in::DB)?,
        dbx: from_items("dbx", built_in::DBX)?,
    }))
}

/// On x86, QEMU's fw_cfg is at fixed I/O ports; the firmware probes it here
/// only (its ACPI tables and SMBIOS come from the VMM's memory on x86).
#[cfg(target_arch = "x86_64")]
fn fw_cfg_keys() -> Result<Option<Keys>, KeyError> {
    // SAFETY: the ports are QEMU's fw_cfg on PC and Q35 and unused elsewhere
    // (the probe then finds no signature); RAM is identity mapped.
    let transport = unsafe { fw_drivers::fw_cfg::port::PortTransport::new() };
    match fw_drivers::fw_cfg::FwCfg::probe(transport) {
        Ok(fw_cfg) => keys_from(&fw_cfg),
        Err(_) => Ok(None),
    }
}

#[cfg(not(target_arch = "x86_64"))]
fn fw_cfg_keys() -> Result<Option<Keys>, KeyError> {
    match crate::platform::fw_cfg() {
        Some(fw_cfg) => keys_from(fw_cfg),
        None => Ok(None),
    }
}

fn keys_from<T: fw_drivers::fw_cfg::Transport>(
    fw_cfg: &fw_drivers::fw_cfg::FwCfg<T>,
) -> Result<Option<Keys>, KeyError> {
    let mut keys = Keys::default();
    let mut any = false;
    for (name, slot) in [
        ("PK", &mut keys.pk),
        ("KEK", &mut keys.kek),
        ("db", &mut keys.db),
        ("dbx", &mut keys.dbx),
    ] {
        if let Some(bytes) = fw_cfg.read_file(&alloc::format!("{FW_CFG_PREFIX}{name}")) {
            *slot = keys::to_signature_lists(name, &bytes)?;
            any = true;
        }
    }
    Ok(any.then_some(keys))
}

/// Sets PK, KEK, db, dbx and the mode variables. Keys that do not parse are a
/// configuration error: Secure Boot stays off, with the reason on the console.
pub fn enroll() {
    let (source, found) = match built_in_keys() {
        Ok(None) => ("fw_cfg", fw_cfg_keys()),
        found => ("the firmware image", found),
    };
    let keys = match found.and_then(|k| {
        if let Some(k) = &k {
            k.validate()?;
        }
        Ok(k)
    }) {
        Ok(Some(keys)) => keys,
        Ok(None) => Keys::default(),
        Err(e) => {
            warn!("Secure Boot: keys from {source} refused: {e}; Secure Boot is off");
            Keys::default()
        }
    };
    let mut rt = runtime::RUNTIME.lock();
    let Some(rt) = rt.as_mut() else { return };
    if let Err(e) = keys::enroll(&mut rt.variables, &keys) {
        warn!("Secure Boot: cannot set its variables: {e}");
        return;
    }
    if keys.user_mode() {
        info!("Secure Boot: on, keys from {source}");
    } else if !keys.db.is_empty() || !keys.kek.is_empty() {
        info!("Secure Boot: off (keys from {source} but no PK: setup mode)");
    }
}
