//! Media (UEFI 2.10 §10.3.5) and BIOS boot specification (§10.3.6) nodes from
//! their §10.6.1.6 text. File paths are the text of any node without a known
//! name ([`super::node_from_text`]).
#![forbid(unsafe_code)]

use super::hardware::vendor_data;
use super::messaging::Bytes;
use super::{guid, keyword_or_number, number, unquote, Args, Made};
use crate::device_path::text::BBS_TYPES;
use crate::device_path::{
    BBS_BBS_DP, BBS_DEVICE_PATH, MEDIA_CDROM_DP, MEDIA_DEVICE_PATH, MEDIA_HARDDRIVE_DP, MEDIA_PIWG_FW_FILE_DP,
    MEDIA_PIWG_FW_VOL_DP, MEDIA_PROTOCOL_DP, MEDIA_RAM_DISK_DP, MEDIA_RELATIVE_OFFSET_RANGE_DP, MEDIA_VENDOR_DP,
    RAM_DISK_SHORTCUTS,
};

/// The node named `name`, `None` if media and BBS nodes have no such name.
pub(super) fn parse(name: &str, a: &Args<'_>) -> Option<Made> {
    let media = |sub_type: u8, data: Option<Bytes>| data.map(|d| (MEDIA_DEVICE_PATH, sub_type, d.0));
    let guid_node = |sub_type| {
        media(
            sub_type,
            (|| Some(Bytes::default().bytes(&guid(a.get(0)?)?)))().filter(|_| a.len() == 1),
        )
    };
    if let Some((_, disk_type)) = RAM_DISK_SHORTCUTS.iter().find(|(n, _)| *n == name) {
        return Some(media(MEDIA_RAM_DISK_DP, ram_disk(a, 3, disk_type.as_bytes())));
    }
    Some(match name {
        "HD" => media(MEDIA_HARDDRIVE_DP, hard_drive(a)),
        "CDROM" => media(
            MEDIA_CDROM_DP,
            (|| Some(Bytes::default().u32(a.num_or(0, 0)?).u64(a.num(1)?).u64(a.num(2)?)))().filter(|_| a.len() == 3),
        ),
        "VenMedia" => media(MEDIA_VENDOR_DP, vendor_data(a).map(Bytes)),
        "Media" => guid_node(MEDIA_PROTOCOL_DP),
        "FvFile" => guid_node(MEDIA_PIWG_FW_FILE_DP),
        "Fv" => guid_node(MEDIA_PIWG_FW_VOL_DP),
        "Offset" => media(
            MEDIA_RELATIVE_OFFSET_RANGE_DP,
            (|| Some(Bytes::default().u32(0).u64(a.num(0)?).u64(a.num(1)?)))().filter(|_| a.len() == 2),
        ),
        "RamDisk" => media(MEDIA_RAM_DISK_DP, (|| ram_disk(a, 4, &guid(a.get(3)?)?))()),
        "BBS" => (|| {
            a.at_most(3)?;
            let device_type: u16 = keyword_or_number(a.get(0)?, &BBS_TYPES)?;
            let description = unquote(a.raw(1)?);
            (description.is_ascii() && !description.contains('\0')).then_some(())?;
            let d = Bytes::default().u16(device_type).u16(a.num_or(2, 0)?);
            Some((BBS_DEVICE_PATH, BBS_BBS_DP, d.bytes(description.as_bytes()).u8(0).0))
        })(),
        _ => return None,
    })
}

/// `RamDisk(Start,End,Instance,Type)` or a shortcut `(Start,End,Instance)`.
fn ram_disk(a: &Args<'_>, max: usize, disk_type: &[u8; 16]) -> Option<Bytes> {
    a.at_most(max)?;
    let d = Bytes::default().u64(a.num(0)?).u64(a.num(1)?);
    Some(d.bytes(disk_type).u16(a.num_or(2, 0)?))
}

/// `HD(Partition,Type,Signature[,Start,Size])`: Type MBR, GPT or a number
/// (GPT when empty); the signature `0`, a `0x` MBR signature or a GUID.
fn hard_drive(a: &Args<'_>) -> Option<Bytes> {
    if a.len() != 3 && a.len() != 5 {
        return None;
    }
    let number_text = a.num_or(0, 0u32)?;
    let format: u8 = match a.get(1) {
        None | Some("GPT") => 2,
        Some("MBR") => 1,
        Some(other) => number(other)?,
    };
    let (signature, signature_type) = hd_signature(a.get(2)?)?;
    let (start, size) = if a.len() == 5 { (a.num(3)?, a.num(4)?) } else { (0, 0) };
    let d = Bytes::default().u32(number_text).u64(start).u64(size).bytes(&signature);
    Some(d.u8(format).u8(signature_type))
}

/// HD's signature: `0` (none), `0x` + digits (MBR), or a GUID.
fn hd_signature(text: &str) -> Option<([u8; 16], u8)> {
    let mut signature = [0u8; 16];
    if text == "0" {
        return Some((signature, 0));
    }
    if text.contains('-') {
        return Some((guid(text)?, 2));
    }
    if !(text.starts_with("0x") || text.starts_with("0X")) {
        return None;
    }
    signature[..4].copy_from_slice(&number::<u32>(text)?.to_le_bytes());
    Some((signature, 1))
}
