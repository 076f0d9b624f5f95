//! Reads the SMBIOS tables the firmware installed, as a loader looking for the
//! system information (type 1) would: the `SMBIOS3_TABLE_GUID` and
//! `SMBIOS_TABLE_GUID` configuration tables (UEFI 2.10 §4.6), their entry points
//! (DMTF DSP0134 §5.2.1, §5.2.2) and the structures they point to (§6.1.2,
//! §6.1.3, §7.2). Written apart from the firmware's parser on purpose.

use crate::app::Console;
use core::fmt::Write;
use uefi_raw::table::system::SystemTable;
use uefi_raw::{guid, Guid};

const SMBIOS: Guid = guid!("eb9d2d31-2d88-11d3-9a16-0090273fc14d");
const SMBIOS3: Guid = guid!("f2fd1544-9794-4a2c-992e-e5bbcf20e394");
/// More than any VMM writes; bounds the walk over a corrupt length.
const MAX_TABLE: usize = 1 << 20;

fn sums_to_zero(bytes: &[u8]) -> bool {
    bytes.iter().fold(0u8, |a, b| a.wrapping_add(*b)) == 0
}

/// What one entry point leads to.
struct Table {
    anchor: &'static str,
    major: u8,
    minor: u8,
    structures: usize,
    manufacturer: Option<&'static [u8]>,
}

/// Checks the entry point at `ep` and walks its structures.
///
/// # Safety
/// `ep` is a configuration table the firmware installed under one of the SMBIOS
/// GUIDs, so its bytes and the table it names are readable memory.
unsafe fn table(ep: *const u8, three: bool) -> Result<Table, &'static str> {
    // SAFETY: the caller's contract; 32 bytes covers either entry point.
    let head = unsafe { core::slice::from_raw_parts(ep, 32) };
    let le32 = |at: usize| u32::from_le_bytes([head[at], head[at + 1], head[at + 2], head[at + 3]]);
    let (anchor, address, length) = if three {
        if &head[..5] != b"_SM3_" || !(0x18..=0x20).contains(&head[6]) {
            return Err("SMBIOS3 table without a _SM3_ entry point");
        }
        if !sums_to_zero(&head[..usize::from(head[6])]) {
            return Err("_SM3_ checksum");
        }
        let address = u64::from(le32(0x10)) | u64::from(le32(0x14)) << 32;
        ("_SM3_", address, le32(0x0c) as usize)
    } else {
        if &head[..4] != b"_SM_" || !(0x1e..=0x20).contains(&head[5]) || &head[0x10..0x15] != b"_DMI_" {
            return Err("SMBIOS table without a _SM_/_DMI_ entry point");
        }
        if !sums_to_zero(&head[..usize::from(head[5])]) || !sums_to_zero(&head[0x10..0x1f]) {
            return Err("_SM_ or _DMI_ checksum");
        }
        let length = usize::from(u16::from_le_bytes([head[0x16], head[0x17]]));
        ("_SM_", u64::from(le32(0x18)), length)
    };
    let (major, minor) = if three { (head[7], head[8]) } else { (head[6], head[7]) };
    if address == 0 || length == 0 || length > MAX_TABLE {
        return Err("structure table address or length");
    }
    // SAFETY: the caller's contract.
    let t: &'static [u8] = unsafe { core::slice::from_raw_parts(address as *const u8, length) };
    let (mut at, mut structures, mut manufacturer) = (0, 0, None);
    while at + 4 <= t.len() {
        let (kind, formatted) = (t[at], usize::from(t[at + 1]));
        if formatted < 4 || at + formatted > t.len() {
            return Err("a structure's length");
        }
        let strings = &t[at + formatted..];
        let end = strings
            .windows(2)
            .position(|w| w == [0, 0])
            .ok_or("a structure's strings run past the table")?;
        structures += 1;
        if kind == 1 && formatted > 4 && t[at + 4] != 0 {
            // Strings are numbered from 1 in the order they follow the formatted area.
            manufacturer = strings[..end].split(|b| *b == 0).nth(usize::from(t[at + 4]) - 1);
        }
        at += formatted + end + 2;
        if kind == 127 {
            break;
        }
    }
    Ok(Table {
        anchor,
        major,
        minor,
        structures,
        manufacturer,
    })
}

/// Prints `HVFW-APP: smbios ANCHOR MAJOR.MINOR structures=N manufacturer=TEXT`
/// for each SMBIOS table installed (`HVFW-APP: smbios none` without any); fails
/// when one does not check out.
///
/// # Safety
/// `st` is the system table the firmware passed, boot services still running.
pub(crate) unsafe fn report(st: &SystemTable, out: &mut Console) -> Result<(), &'static str> {
    // SAFETY: the firmware's configuration table array and its count.
    let tables =
        unsafe { core::slice::from_raw_parts(st.configuration_table, st.number_of_configuration_table_entries) };
    let mut found = 0;
    for (guid, three) in [(SMBIOS3, true), (SMBIOS, false)] {
        let Some(entry) = tables.iter().find(|t| t.vendor_guid == guid) else {
            continue;
        };
        found += 1;
        // SAFETY: installed under an SMBIOS GUID by the firmware.
        let t = unsafe { table(entry.vendor_table as *const u8, three) }?;
        let manufacturer = t.manufacturer.and_then(|m| core::str::from_utf8(m).ok()).unwrap_or("?");
        let _ = writeln!(
            out,
            "HVFW-APP: smbios {} {}.{} structures={} manufacturer={manufacturer}",
            t.anchor, t.major, t.minor, t.structures
        );
    }
    if found == 0 {
        let _ = writeln!(out, "HVFW-APP: smbios none");
    }
    Ok(())
}
