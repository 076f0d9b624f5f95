//! Text of media (UEFI 2.10 §10.3.5) and BIOS boot specification (§10.3.6)
//! nodes as the §10.6.1.6 table writes them: `HD`, `CDROM`, `VenMedia`, file
//! paths (their text), `Media`, `FvFile`, `Fv`, `Offset`, `RamDisk` (and with
//! shortcuts `VirtualDisk`, `VirtualCD`, `PersistentVirtualDisk`,
//! `PersistentVirtualCD`), `BBS`.
#![forbid(unsafe_code)]

use super::hardware::vendor;
use super::{call, guid_text, hex_number, nul_terminated_ascii, Fields, TextForm};
use crate::device_path::from_text::node_from_text;
use crate::device_path::{
    BBS_BBS_DP, MEDIA_CDROM_DP, MEDIA_DEVICE_PATH, MEDIA_FILEPATH_DP, MEDIA_HARDDRIVE_DP, MEDIA_PIWG_FW_FILE_DP,
    MEDIA_PIWG_FW_VOL_DP, MEDIA_PROTOCOL_DP, MEDIA_RAM_DISK_DP, MEDIA_RELATIVE_OFFSET_RANGE_DP, MEDIA_VENDOR_DP,
    NODE_HEADER_SIZE, RAM_DISK_SHORTCUTS,
};
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

/// §10.6.1.6 BBS device type keywords, by value (0 has none).
pub(crate) const BBS_TYPES: [&str; 7] = ["", "Floppy", "HD", "CDROM", "PCMCIA", "USB", "Network"];

pub(super) fn media(sub_type: u8, data: &[u8], form: TextForm) -> Option<String> {
    let mut f = Fields::new(data);
    let text = match sub_type {
        MEDIA_HARDDRIVE_DP => hard_drive(&mut f, form)?,
        MEDIA_CDROM_DP => {
            let (entry, start, size) = (f.u32()?, f.u64()?, f.u64()?);
            if form.display_only {
                call("CDROM", &[&hex_number(entry.into())])
            } else {
                call(
                    "CDROM",
                    &[&hex_number(entry.into()), &hex_number(start), &hex_number(size)],
                )
            }
        }
        MEDIA_VENDOR_DP => vendor("VenMedia", &mut f)?,
        MEDIA_FILEPATH_DP => file_path(f.rest())?,
        MEDIA_PROTOCOL_DP => call("Media", &[&guid_text(&f.array()?)]),
        MEDIA_PIWG_FW_FILE_DP => call("FvFile", &[&guid_text(&f.array()?)]),
        MEDIA_PIWG_FW_VOL_DP => call("Fv", &[&guid_text(&f.array()?)]),
        MEDIA_RELATIVE_OFFSET_RANGE_DP => {
            let (reserved, start, end) = (f.u32()?, f.u64()?, f.u64()?);
            (reserved == 0).then_some(())?;
            call("Offset", &[&hex_number(start), &hex_number(end)])
        }
        MEDIA_RAM_DISK_DP => {
            let (start, end, disk_type, instance) = (f.u64()?, f.u64()?, f.array::<16>()?, f.u16()?);
            let (start, end, instance) = (hex_number(start), hex_number(end), hex_number(instance.into()));
            match RAM_DISK_SHORTCUTS.iter().find(|(_, g)| g.as_bytes() == &disk_type) {
                Some((name, _)) if form.allow_shortcuts => call(name, &[&start, &end, &instance]),
                _ => call("RamDisk", &[&start, &end, &instance, &guid_text(&disk_type)]),
            }
        }
        _ => return None,
    };
    f.end()?;
    Some(text)
}

/// `HD(Partition,Type,Signature,Start,Size)`; display only, and for the whole
/// disk (partition 0, no range), without Start and Size.
fn hard_drive(f: &mut Fields<'_>, form: TextForm) -> Option<String> {
    let (number, start, size) = (f.u32()?, f.u64()?, f.u64()?);
    let (signature, format, signature_type) = (f.array::<16>()?, f.u8()?, f.u8()?);
    let format = match format {
        1 => String::from("MBR"),
        2 => String::from("GPT"),
        other => format!("{other}"),
    };
    let signature = match signature_type {
        0 => signature.iter().all(|&b| b == 0).then(|| String::from("0"))?,
        1 => {
            signature[4..].iter().all(|&b| b == 0).then_some(())?;
            let mbr = u32::from_le_bytes([signature[0], signature[1], signature[2], signature[3]]);
            format!("{mbr:#010x}")
        }
        2 => guid_text(&signature),
        _ => return None,
    };
    let number = format!("{number}");
    if form.display_only || (number == "0" && start == 0 && size == 0) {
        return Some(call("HD", &[&number, &format, &signature]));
    }
    Some(call(
        "HD",
        &[&number, &format, &signature, &hex_number(start), &hex_number(size)],
    ))
}

/// A file path's text: UCS-2 ending in its one NUL, that reads back as this
/// same node (no `/` or `,`, and no text that names another kind of node).
fn file_path(data: &[u8]) -> Option<String> {
    let (body, &[0, 0]) = data.split_last_chunk::<2>()? else {
        return None;
    };
    if !body.len().is_multiple_of(2) {
        return None;
    }
    let text: String = body
        .chunks_exact(2)
        .map(|pair| u16::from_le_bytes([pair[0], pair[1]]))
        .map(|unit| char::from_u32(unit.into()).filter(|&c| c != '\0'))
        .collect::<Option<String>>()?;
    if text.is_empty() || text.contains(['/', ',']) {
        return None;
    }
    if text.contains(['(', ')']) {
        let length = u16::try_from(NODE_HEADER_SIZE + data.len()).ok()?.to_le_bytes();
        let node: Vec<u8> = [&[MEDIA_DEVICE_PATH, MEDIA_FILEPATH_DP, length[0], length[1]][..], data].concat();
        (node_from_text(&text).ok()? == node).then_some(())?;
    }
    Some(text)
}

pub(super) fn bbs(sub_type: u8, data: &[u8], form: TextForm) -> Option<String> {
    if sub_type != BBS_BBS_DP {
        return None;
    }
    let mut f = Fields::new(data);
    let (device_type, flags) = (f.u16()?, f.u16()?);
    let description = nul_terminated_ascii(f.rest())?;
    let device_type = match BBS_TYPES.get(usize::from(device_type)) {
        Some(keyword) if !keyword.is_empty() => String::from(*keyword),
        _ => hex_number(device_type.into()),
    };
    Some(if form.display_only {
        call("BBS", &[&device_type, description])
    } else {
        call("BBS", &[&device_type, description, &hex_number(flags.into())])
    })
}
