//! The persistence check, asked for by a `\hvfw-nv` file on the application's
//! volume: it reports the non-volatile variable `HvfwNv` as it found it
//! (`HVFW-APP: HvfwNv=<value>` or `=absent`), then sets it to the file's text.
//! The harness restarts the machine (or cuts it off in the middle of the
//! firmware's write) and reads the next report.

use crate::app::{read_own_volume, Console};
use core::fmt::Write;
use uefi_raw::table::boot::BootServices;
use uefi_raw::table::runtime::{RuntimeServices, VariableAttributes};
use uefi_raw::{guid, Guid, Handle, Status};

/// The vendor of `HvfwNv` (the harness writes variable files with it).
pub const NV_VENDOR: Guid = guid!("0f6d4b1a-3c2e-4f5a-8b7c-9d0e1f2a3b4c");

/// # Safety
/// `bs` and `rt` are the firmware's tables and boot services run.
pub unsafe fn run(bs: &BootServices, rt: &RuntimeServices, image: Handle, out: &mut Console) {
    let mut wanted = [0u8; 64];
    // SAFETY: as the caller guarantees.
    let Ok(len) = (unsafe { read_own_volume(bs, image, "\\hvfw-nv", &mut wanted) }) else {
        return;
    };
    let wanted = &wanted[..len];
    let wanted = wanted.strip_suffix(b"\n").unwrap_or(wanted);
    let mut name = [0u16; 8];
    for (slot, unit) in name.iter_mut().zip("HvfwNv".encode_utf16()) {
        *slot = unit;
    }
    let mut value = [0u8; 64];
    let mut size = value.len();
    let mut attributes = VariableAttributes::empty();
    // SAFETY: valid name, vendor and buffers.
    let status = unsafe {
        (rt.get_variable)(
            name.as_ptr(),
            &NV_VENDOR,
            &mut attributes,
            &mut size,
            value.as_mut_ptr().cast(),
        )
    };
    let _ = match status {
        Status::SUCCESS => writeln!(
            out,
            "HVFW-APP: HvfwNv={}",
            core::str::from_utf8(&value[..size]).unwrap_or("<not UTF-8>")
        ),
        Status::NOT_FOUND => writeln!(out, "HVFW-APP: HvfwNv=absent"),
        other => writeln!(out, "HVFW-APP: HvfwNv=error {other:?}"),
    };
    let attributes =
        VariableAttributes::NON_VOLATILE | VariableAttributes::BOOTSERVICE_ACCESS | VariableAttributes::RUNTIME_ACCESS;
    // SAFETY: valid name, vendor and data.
    let status = unsafe { (rt.set_variable)(name.as_ptr(), &NV_VENDOR, attributes, wanted.len(), wanted.as_ptr()) };
    let _ = writeln!(out, "HVFW-APP: set HvfwNv: {status:?}");
}
