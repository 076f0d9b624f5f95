//! Authenticated writes of the Secure Boot variables (UEFI 2.10 §8.2.2,
//! §32.3), asked for by the `.auth` files in `\hvfw-sb\` on the
//! application's volume (made by efitools, `core/testdata/auth/make.sh`).
//!
//! Each step sends one file to SetVariable and prints
//! `HVFW-SB: <step> <status>`; after some, `HVFW-SB: <variable> size=<n>
//! attributes=<hex>` or `=absent`, and the mode variables as
//! `HVFW-SB: SetupMode=<n> SecureBoot=<n>`. The harness
//! (`tests/src/secure_boot_vars_tests.rs`) holds the expected statuses.

use crate::app::{read_own_volume, Console};
use core::fmt::Write;
use uefi_raw::table::boot::BootServices;
use uefi_raw::table::runtime::{RuntimeServices, VariableAttributes};
use uefi_raw::{guid, Guid, Handle, Status};

const GLOBAL: Guid = guid!("8be4df61-93ca-11d2-aa0d-00e098032b8c");
const SECURITY_DATABASE: Guid = guid!("d719b2cb-3d3a-4596-a3bc-dad00e67656f");

fn auth_attributes() -> VariableAttributes {
    VariableAttributes::NON_VOLATILE
        | VariableAttributes::BOOTSERVICE_ACCESS
        | VariableAttributes::RUNTIME_ACCESS
        | VariableAttributes::TIME_BASED_AUTHENTICATED_WRITE_ACCESS
}

/// How a step changes the file before sending it.
#[derive(Clone, Copy)]
enum Change {
    None,
    /// Flip a bit near the end (inside the new certificate).
    Tamper,
    /// Send only the first 30 bytes (less than a descriptor).
    Truncate,
}

/// A step: its name, the variable, whether APPEND_WRITE, the file, the change.
type Step = (&'static str, &'static str, bool, &'static str, Change);

const STEPS: &[Step] = &[
    ("enroll-pk", "PK", false, "PK.auth", Change::None),
    ("kek-signed-by-pk", "KEK", false, "KEK.auth", Change::None),
    ("db-signed-by-kek", "db", false, "db.auth", Change::None),
    ("db-append-wrong-key", "db", true, "db-wrong-key.auth", Change::None),
    ("db-older-timestamp", "db", false, "db-older.auth", Change::None),
    ("db-replayed", "db", false, "db.auth", Change::None),
    ("db-append-tampered", "db", true, "db-append.auth", Change::Tamper),
    ("db-append-truncated", "db", true, "db-append.auth", Change::Truncate),
    ("db-append", "db", true, "db-append.auth", Change::None),
    ("db-append-again", "db", true, "db-append-again.auth", Change::None),
];

fn ucs2<const N: usize>(s: &str) -> [u16; N] {
    let mut out = [0u16; N];
    for (slot, unit) in out.iter_mut().zip(s.encode_utf16()) {
        *slot = unit;
    }
    out
}

fn vendor(name: &str) -> Guid {
    match name {
        "db" | "dbx" => SECURITY_DATABASE,
        _ => GLOBAL,
    }
}

/// # Safety
/// `rt` is the firmware's runtime services table.
unsafe fn set(rt: &RuntimeServices, name: &str, attributes: VariableAttributes, data: &[u8]) -> Status {
    let vendor = vendor(name);
    let name = ucs2::<16>(name);
    // SAFETY: valid name, vendor and data.
    unsafe { (rt.set_variable)(name.as_ptr(), &vendor, attributes, data.len(), data.as_ptr()) }
}

/// # Safety
/// As [`set`].
unsafe fn report(rt: &RuntimeServices, name: &str, out: &mut Console) {
    let wide = ucs2::<16>(name);
    let vendor = vendor(name);
    let mut buffer = [0u8; 4096];
    let mut size = buffer.len();
    let mut attributes = VariableAttributes::empty();
    // SAFETY: valid name, vendor and buffers.
    let status = unsafe {
        (rt.get_variable)(
            wide.as_ptr(),
            &vendor,
            &mut attributes,
            &mut size,
            buffer.as_mut_ptr().cast(),
        )
    };
    let _ = match status {
        Status::SUCCESS => writeln!(out, "HVFW-SB: {name} size={size} attributes={:#x}", attributes.bits()),
        Status::NOT_FOUND => writeln!(out, "HVFW-SB: {name}=absent"),
        other => writeln!(out, "HVFW-SB: {name}=error {other:?}"),
    };
}

/// # Safety
/// As [`set`].
unsafe fn byte(rt: &RuntimeServices, name: &str) -> i32 {
    let wide = ucs2::<16>(name);
    let mut value = [0u8; 8];
    let mut size = value.len();
    let mut attributes = VariableAttributes::empty();
    // SAFETY: valid name, vendor and buffers.
    let status = unsafe {
        (rt.get_variable)(
            wide.as_ptr(),
            &GLOBAL,
            &mut attributes,
            &mut size,
            value.as_mut_ptr().cast(),
        )
    };
    if status == Status::SUCCESS && size == 1 {
        i32::from(value[0])
    } else {
        -1
    }
}

/// # Safety
/// As [`set`].
unsafe fn modes(rt: &RuntimeServices, out: &mut Console) {
    // SAFETY: as the caller guarantees.
    let (setup, secure) = unsafe { (byte(rt, "SetupMode"), byte(rt, "SecureBoot")) };
    let _ = writeln!(out, "HVFW-SB: SetupMode={setup} SecureBoot={secure}");
}

/// # Safety
/// `bs` and `rt` are the firmware's tables and boot services run.
pub unsafe fn run(bs: &BootServices, rt: &RuntimeServices, image: Handle, out: &mut Console) {
    let mut esl = [0u8; 4096];
    // SAFETY: as the caller guarantees.
    let Ok(esl_len) = (unsafe { read_own_volume(bs, image, "\\hvfw-sb\\DB2.esl", &mut esl) }) else {
        return;
    };
    let _ = writeln!(out, "HVFW-SB: started");
    // SAFETY: runtime services called as the specification describes.
    unsafe {
        modes(rt, out);
        // Unauthenticated: a plain non-volatile write of a signature list.
        let plain = VariableAttributes::NON_VOLATILE
            | VariableAttributes::BOOTSERVICE_ACCESS
            | VariableAttributes::RUNTIME_ACCESS;
        let status = set(rt, "db", plain, &esl[..esl_len]);
        let _ = writeln!(out, "HVFW-SB: db-unauthenticated {status:?}");
        for &(step, variable, append, file, change) in STEPS {
            let mut data = [0u8; 4096];
            let mut path = [0u8; 64];
            let prefix = b"\\hvfw-sb\\";
            path[..prefix.len()].copy_from_slice(prefix);
            path[prefix.len()..prefix.len() + file.len()].copy_from_slice(file.as_bytes());
            let path = core::str::from_utf8(&path[..prefix.len() + file.len()]).unwrap_or("");
            let len = match read_own_volume(bs, image, path, &mut data) {
                Ok(len) => len,
                Err(why) => {
                    let _ = writeln!(out, "HVFW-SB: {step} cannot read {file}: {why}");
                    continue;
                }
            };
            let len = match change {
                Change::None => len,
                Change::Tamper => {
                    data[len - 10] ^= 1;
                    len
                }
                Change::Truncate => 30,
            };
            let mut attributes = auth_attributes();
            if append {
                attributes |= VariableAttributes::APPEND_WRITE;
            }
            let status = set(rt, variable, attributes, &data[..len]);
            let _ = writeln!(out, "HVFW-SB: {step} {status:?}");
            if step == "enroll-pk" {
                modes(rt, out);
            }
            if variable == "db" && status == Status::SUCCESS {
                report(rt, "db", out);
            }
        }
        // The firmware's own variables.
        let status = set(rt, "SecureBoot", plain, &[0]);
        let _ = writeln!(out, "HVFW-SB: write-secure-boot {status:?}");
        report(rt, "PK", out);
        report(rt, "KEK", out);
        report(rt, "db", out);
        // PK deleted with a PK-signed empty update: setup mode again, so
        // that the rest of this boot is not bound by the test keys.
        let mut data = [0u8; 4096];
        if let Ok(len) = read_own_volume(bs, image, "\\hvfw-sb\\noPK.auth", &mut data) {
            let status = set(rt, "PK", auth_attributes(), &data[..len]);
            let _ = writeln!(out, "HVFW-SB: delete-pk {status:?}");
        }
        modes(rt, out);
        report(rt, "PK", out);
    }
    let _ = writeln!(out, "HVFW-SB: done");
}
