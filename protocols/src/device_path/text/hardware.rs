//! Text of hardware (UEFI 2.10 §10.3.2) and ACPI (§10.3.3) nodes, as the
//! §10.6.1.6 table writes them: `Pci`, `PcCard`, `MemoryMapped`, `VenHw`,
//! `Ctrl`, `BMC`; `Acpi` and its shortcuts (`PciRoot`, `PcieRoot`, `Floppy`,
//! `Keyboard`, `Serial`, `ParallelPort`), `AcpiEx`/`AcpiExp` and `AcpiAdr`.
#![forbid(unsafe_code)]

use super::{call, eisa_id, guid_text, hex_dump, hex_number, nul_terminated_ascii, Fields, TextForm};
use crate::device_path::{
    ACPI_ADR_DP, ACPI_DP, ACPI_EXTENDED_DP, EISA_PNP0301, EISA_PNP0401, EISA_PNP0501, EISA_PNP0604, EISA_PNP0A03,
    EISA_PNP0A08, HW_BMC_DP, HW_CONTROLLER_DP, HW_MEMMAP_DP, HW_PCCARD_DP, HW_PCI_DP, HW_VENDOR_DP,
};
use alloc::string::String;
use alloc::vec::Vec;

/// ACPI nodes named by their `_HID` alone (§10.6.1.6).
pub(crate) const ACPI_SHORTCUTS: [(&str, u32); 6] = [
    ("PciRoot", EISA_PNP0A03),
    ("PcieRoot", EISA_PNP0A08),
    ("Floppy", EISA_PNP0604),
    ("Keyboard", EISA_PNP0301),
    ("Serial", EISA_PNP0501),
    ("ParallelPort", EISA_PNP0401),
];

pub(super) fn hardware(sub_type: u8, data: &[u8], _form: TextForm) -> Option<String> {
    let mut f = Fields::new(data);
    let text = match sub_type {
        HW_PCI_DP => {
            let (function, device) = (f.u8()?, f.u8()?);
            call("Pci", &[&hex_number(device.into()), &hex_number(function.into())])
        }
        HW_PCCARD_DP => call("PcCard", &[&hex_number(f.u8()?.into())]),
        HW_MEMMAP_DP => {
            let (memory_type, start, end) = (f.u32()?, f.u64()?, f.u64()?);
            call(
                "MemoryMapped",
                &[&hex_number(memory_type.into()), &hex_number(start), &hex_number(end)],
            )
        }
        HW_VENDOR_DP => vendor("VenHw", &mut f)?,
        HW_CONTROLLER_DP => call("Ctrl", &[&hex_number(f.u32()?.into())]),
        HW_BMC_DP => {
            let (interface_type, base) = (f.u8()?, f.u64()?);
            call("BMC", &[&hex_number(interface_type.into()), &hex_number(base)])
        }
        _ => return None,
    };
    f.end()?;
    Some(text)
}

/// `VenHw`/`VenMsg`/`VenMedia(GUID)`, with `,HEX` when the node carries data.
pub(super) fn vendor(name: &str, f: &mut Fields<'_>) -> Option<String> {
    let guid = guid_text(&f.array::<16>()?);
    let data = f.rest();
    Some(if data.is_empty() {
        call(name, &[&guid])
    } else {
        call(name, &[&guid, &hex_dump(data)])
    })
}

pub(super) fn acpi(sub_type: u8, data: &[u8], form: TextForm) -> Option<String> {
    let mut f = Fields::new(data);
    let text = match sub_type {
        ACPI_DP => {
            let (hid, uid) = (f.u32()?, f.u32()?);
            let uid = hex_number(uid.into());
            match ACPI_SHORTCUTS.iter().find(|(_, id)| *id == hid) {
                Some((name, _)) if form.allow_shortcuts => call(name, &[&uid]),
                _ => call("Acpi", &[&eisa_id(hid), &uid]),
            }
        }
        ACPI_EXTENDED_DP => return acpi_extended(&mut f, form),
        ACPI_ADR_DP => {
            let adrs = f.rest();
            if adrs.is_empty() || !adrs.len().is_multiple_of(4) {
                return None;
            }
            let adrs: Vec<String> = adrs
                .chunks_exact(4)
                .map(|adr| hex_number(u32::from_le_bytes([adr[0], adr[1], adr[2], adr[3]]).into()))
                .collect();
            let adrs: Vec<&str> = adrs.iter().map(String::as_str).collect();
            call("AcpiAdr", &adrs)
        }
        _ => return None,
    };
    f.end()?;
    Some(text)
}

/// The expanded ACPI node: `_HID`, `_UID`, `_CID` numbers, then the `_HID`,
/// `_UID` and `_CID` strings, each NUL-terminated (§10.3.3.2).
fn acpi_extended(f: &mut Fields<'_>, form: TextForm) -> Option<String> {
    let (hid, uid, cid) = (f.u32()?, f.u32()?, f.u32()?);
    let mut strings = f.rest().split_inclusive(|&b| b == 0);
    let hid_str = nul_terminated_ascii(strings.next()?)?;
    let uid_str = nul_terminated_ascii(strings.next()?)?;
    let cid_str = nul_terminated_ascii(strings.next()?)?;
    if strings.next().is_some() {
        return None;
    }
    let id = |number: u32| {
        if number == 0 {
            String::from("0")
        } else {
            eisa_id(number)
        }
    };
    let uid_text = if uid_str.is_empty() {
        hex_number(uid.into())
    } else {
        String::from(uid_str)
    };
    if form.display_only {
        // §10.6.1.6: PCI root bridges named by `_HID` or `_CID`, display only.
        if hid == EISA_PNP0A03 || (cid == EISA_PNP0A03 && hid != EISA_PNP0A08) {
            return Some(call("PciRoot", &[&uid_text]));
        }
        if hid == EISA_PNP0A08 || cid == EISA_PNP0A08 {
            return Some(call("PcieRoot", &[&uid_text]));
        }
        let hid_text = if hid_str.is_empty() {
            id(hid)
        } else {
            String::from(hid_str)
        };
        let cid_text = if cid_str.is_empty() {
            id(cid)
        } else {
            String::from(cid_str)
        };
        return Some(call("AcpiEx", &[&hid_text, &cid_text, &uid_text]));
    }
    if form.allow_shortcuts && hid_str.is_empty() && cid_str.is_empty() && !uid_str.is_empty() && uid == 0 {
        return Some(call("AcpiExp", &[&id(hid), &id(cid), uid_str]));
    }
    Some(call(
        "AcpiEx",
        &[&id(hid), &id(cid), &hex_number(uid.into()), hid_str, cid_str, uid_str],
    ))
}
