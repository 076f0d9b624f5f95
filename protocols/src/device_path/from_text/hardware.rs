//! Hardware (UEFI 2.10 §10.3.2) and ACPI (§10.3.3) nodes from their
//! §10.6.1.6 text.
#![forbid(unsafe_code)]

use super::{eisa_id, guid, hex, Args, Made};
use crate::device_path::text::ACPI_SHORTCUTS;
use crate::device_path::{
    ACPI_ADR_DP, ACPI_DEVICE_PATH, ACPI_DP, ACPI_EXTENDED_DP, HARDWARE_DEVICE_PATH, HW_BMC_DP, HW_CONTROLLER_DP,
    HW_MEMMAP_DP, HW_PCCARD_DP, HW_PCI_DP, HW_VENDOR_DP,
};
use alloc::vec::Vec;

/// The node named `name`, `None` if hardware and ACPI nodes have no such name.
pub(super) fn parse(name: &str, a: &Args<'_>) -> Option<Made> {
    if let Some((_, hid)) = ACPI_SHORTCUTS.iter().find(|(n, _)| *n == name) {
        return Some(acpi(*hid, a.num_or(0, 0u32), a.at_most(1)));
    }
    let hw = |sub_type, data: Option<Vec<u8>>| data.map(|d| (HARDWARE_DEVICE_PATH, sub_type, d));
    Some(match name {
        "Pci" => hw(
            HW_PCI_DP,
            (|| Some(alloc::vec![a.num(1)?, a.num(0)?]))().filter(|_| a.len() == 2),
        ),
        "PcCard" => hw(
            HW_PCCARD_DP,
            a.num::<u8>(0).map(|f| alloc::vec![f]).filter(|_| a.len() == 1),
        ),
        "MemoryMapped" => hw(
            HW_MEMMAP_DP,
            (|| {
                a.at_most(3)?;
                let mut d = a.num::<u32>(0)?.to_le_bytes().to_vec();
                d.extend_from_slice(&a.num::<u64>(1)?.to_le_bytes());
                d.extend_from_slice(&a.num::<u64>(2)?.to_le_bytes());
                Some(d)
            })(),
        ),
        "VenHw" => hw(HW_VENDOR_DP, vendor_data(a)),
        "Ctrl" => hw(
            HW_CONTROLLER_DP,
            a.num::<u32>(0)
                .map(|c| c.to_le_bytes().to_vec())
                .filter(|_| a.len() == 1),
        ),
        "BMC" => hw(
            HW_BMC_DP,
            (|| {
                a.at_most(2)?;
                let mut d = alloc::vec![a.num::<u8>(0)?];
                d.extend_from_slice(&a.num::<u64>(1)?.to_le_bytes());
                Some(d)
            })(),
        ),
        "Acpi" => (|| acpi(eisa_id(a.get(0)?)?, a.num_or(1, 0u32), a.at_most(2)))(),
        "AcpiEx" => (|| {
            a.at_most(6)?;
            let hid = eisa_id(a.get(0).unwrap_or("0"))?;
            let cid = eisa_id(a.get(1).unwrap_or("0"))?;
            let uid = a.num_or(2, 0u32)?;
            let text = |i| a.raw(i).unwrap_or("");
            acpi_extended(hid, uid, cid, text(3), text(5), text(4))
        })(),
        "AcpiExp" => (|| {
            a.at_most(3)?;
            let cid = eisa_id(a.get(1).unwrap_or("0"))?;
            acpi_extended(eisa_id(a.get(0)?)?, 0, cid, "", a.get(2)?, "")
        })(),
        "AcpiAdr" => (|| {
            (a.len() >= 1).then_some(())?;
            let mut d = Vec::new();
            for i in 0..a.len() {
                d.extend_from_slice(&a.num::<u32>(i)?.to_le_bytes());
            }
            Some((ACPI_DEVICE_PATH, ACPI_ADR_DP, d))
        })(),
        _ => return None,
    })
}

fn acpi(hid: u32, uid: Option<u32>, fits: Option<()>) -> Made {
    fits?;
    let mut d = hid.to_le_bytes().to_vec();
    d.extend_from_slice(&uid?.to_le_bytes());
    Some((ACPI_DEVICE_PATH, ACPI_DP, d))
}

/// §10.3.3.2: the numbers, then the `_HID`, `_UID` and `_CID` strings with NULs.
fn acpi_extended(hid: u32, uid: u32, cid: u32, hid_str: &str, uid_str: &str, cid_str: &str) -> Made {
    let mut d = hid.to_le_bytes().to_vec();
    d.extend_from_slice(&uid.to_le_bytes());
    d.extend_from_slice(&cid.to_le_bytes());
    for s in [hid_str, uid_str, cid_str] {
        s.is_ascii().then_some(())?;
        d.extend_from_slice(s.as_bytes());
        d.push(0);
    }
    Some((ACPI_DEVICE_PATH, ACPI_EXTENDED_DP, d))
}

/// `GUID[,HEX]` of the vendor nodes.
pub(super) fn vendor_data(a: &Args<'_>) -> Option<Vec<u8>> {
    a.at_most(2)?;
    let mut d = guid(a.get(0)?)?.to_vec();
    if let Some(data) = a.get(1) {
        d.extend_from_slice(&hex(data)?);
    }
    Some(d)
}
