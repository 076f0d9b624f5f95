//! Authenticated writes of `db`, asked for by a `\hvfw-sb-auth` file on the
//! application's volume: the payloads under `\sb-auth\` were made by efitools'
//! sign-efi-sig-list, and the application reports each SetVariable's status
//! (`HVFW-APP: sb-auth NAME=STATUS`) and db's size afterwards, then returns.
//! The harness knows what the specification wants for each.

use crate::app::{read_own_volume, Console};
use core::fmt::Write;
use uefi_raw::table::boot::BootServices;
use uefi_raw::table::runtime::{RuntimeServices, VariableAttributes};
use uefi_raw::{guid, Guid, Handle, Status};

/// EFI_IMAGE_SECURITY_DATABASE_GUID.
const SECURITY_DATABASE: Guid = guid!("d719b2cb-3d3a-4596-a3bc-dad00e67656f");

static mut PAYLOAD: [u8; 16384] = [0; 16384];

fn db_name() -> [u16; 3] {
    [u16::from(b'd'), u16::from(b'b'), 0]
}

/// # Safety
/// `bs` and `rt` are the firmware's tables and boot services run.
unsafe fn set_from_file(
    bs: &BootServices,
    rt: &RuntimeServices,
    image: Handle,
    file: &str,
    attributes: u32,
) -> Result<Status, &'static str> {
    // SAFETY: one thread; the buffer is used for one call at a time.
    let buffer = unsafe { &mut *core::ptr::addr_of_mut!(PAYLOAD) };
    // SAFETY: as the caller guarantees.
    let len = unsafe { read_own_volume(bs, image, file, buffer) }?;
    let name = db_name();
    // SAFETY: valid name, vendor and data.
    Ok(unsafe {
        (rt.set_variable)(
            name.as_ptr(),
            &SECURITY_DATABASE,
            VariableAttributes::from_bits_retain(attributes),
            len,
            buffer.as_ptr(),
        )
    })
}

fn db_size(rt: &RuntimeServices) -> usize {
    let name = db_name();
    let mut size = 0usize;
    let mut attributes = VariableAttributes::empty();
    // SAFETY: a size query with a null buffer.
    let _ = unsafe {
        (rt.get_variable)(
            name.as_ptr(),
            &SECURITY_DATABASE,
            &mut attributes,
            &mut size,
            core::ptr::null_mut(),
        )
    };
    size
}

/// Returns whether the disk asked for these checks.
///
/// # Safety
/// `bs` and `rt` are the firmware's tables and boot services run.
pub unsafe fn run(bs: &BootServices, rt: &RuntimeServices, image: Handle, out: &mut Console) -> bool {
    // NV | BS | RT | TIME_BASED_AUTHENTICATED_WRITE_ACCESS, and APPEND_WRITE.
    const AUTH: u32 = 0x27;
    const APPEND: u32 = 0x40;
    // SAFETY: as the caller guarantees.
    if unsafe { read_own_volume(bs, image, "\\hvfw-sb-auth", &mut [0u8; 8]) }.is_err() {
        return false;
    }
    let _ = writeln!(out, "HVFW-APP: sb-auth db-size={}", db_size(rt));
    // A write without the authentication descriptor and attribute.
    let name = db_name();
    let plain = b"not signature lists";
    // SAFETY: valid name, vendor and data.
    let status = unsafe {
        (rt.set_variable)(
            name.as_ptr(),
            &SECURITY_DATABASE,
            VariableAttributes::from_bits_retain(0x07),
            plain.len(),
            plain.as_ptr(),
        )
    };
    let _ = writeln!(out, "HVFW-APP: sb-auth unauthenticated={status:?}");
    for (label, file, attributes) in [
        ("wrong-key", "\\sb-auth\\wrong-key.auth", AUTH | APPEND),
        ("append", "\\sb-auth\\append.auth", AUTH | APPEND),
        ("write", "\\sb-auth\\write.auth", AUTH),
        ("replay-older", "\\sb-auth\\older.auth", AUTH),
        ("replay-same", "\\sb-auth\\write.auth", AUTH),
    ] {
        // SAFETY: as the caller guarantees.
        match unsafe { set_from_file(bs, rt, image, file, attributes) } {
            Ok(status) => {
                let _ = writeln!(out, "HVFW-APP: sb-auth {label}={status:?}");
            }
            Err(e) => {
                let _ = writeln!(out, "HVFW-APP: sb-auth {label}=unreadable {e}");
            }
        }
        let _ = writeln!(out, "HVFW-APP: sb-auth db-size={}", db_size(rt));
    }
    let _ = writeln!(out, "HVFW-APP: sb-auth done");
    true
}
