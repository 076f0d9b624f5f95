//! The text form of device path nodes and paths (UEFI 2.10 §10.6.1): nodes are
//! joined with `/`, instances with `,`. Every node kind of the §10.6.1.6 table
//! has its text, written by the module of its family:
//!
//! - [`hardware`]: hardware (type 1) and ACPI (type 2) nodes;
//! - [`messaging`]: storage and bus messaging nodes (type 3): ATA to eMMC,
//!   vendor nodes and their terminal, flow control and SAS forms, UART;
//! - [`network`]: network messaging nodes: MAC, IPv4, IPv6, iSCSI, VLAN, URI,
//!   Bluetooth, Wi-Fi, DNS;
//! - [`media`]: media (type 4) and BIOS boot specification (type 5) nodes.
//!
//! [`TextForm`] carries the two choices §10.6.3 gives the caller. `display_only`
//! picks the shorter forms the table marks "Display Only" (`Ata(LUN)`,
//! `IPv4(RemoteIp)`, `HD(Partition,Type,Signature)`, ...); `allow_shortcuts`
//! lets a node be named by more than its type and subtype (`PciRoot(0x0)` for
//! `Acpi(PNP0A03,0x0)`, `VenPcAnsi()` for `VenMsg(<PC-ANSI GUID>)`,
//! `UsbHID(...)` for `UsbClass(...,0x3,...)`, `VirtualDisk(...)` for
//! `RamDisk(...)`).
//!
//! A node is written in its kind's form only when that text reads back as the
//! same bytes ([`super::from_text`]): its length is the one its fields need and
//! every field has a text. Anything else (a short or long node, a reserved
//! value, a string with characters the text cannot carry) gets the generic form
//! of its type (`HardwarePath(subtype,hex)`, `AcpiPath`, `Msg`, `MediaPath`,
//! `BbsPath`, or `Path(type,subtype,hex)` for an unknown type), so
//! `path_from_text(path_to_text(p, parseable)) == p` for every well-formed path.
#![forbid(unsafe_code)]

mod fields;
mod hardware;
mod media;
mod messaging;
mod network;

#[cfg(test)]
mod property;
#[cfg(test)]
mod spec_table;
#[cfg(test)]
mod tests;

use super::node::{nodes, Node};
use super::{Error, ACPI_DEVICE_PATH, BBS_DEVICE_PATH, HARDWARE_DEVICE_PATH, MEDIA_DEVICE_PATH, MESSAGING_DEVICE_PATH};
use alloc::string::String;
use core::fmt::Write;

pub(crate) use fields::Fields;
pub(crate) use hardware::ACPI_SHORTCUTS;
pub(crate) use media::BBS_TYPES;
pub(crate) use messaging::{FLOW_CONTROL, PARITY, STOP_BITS};
pub(crate) use network::{
    IPV4_ORIGIN, IPV6_ORIGIN, ISCSI_AUTH_NONE, ISCSI_CHAP_UNI, ISCSI_DATA_DIGEST_CRC32C, ISCSI_HEADER_DIGEST_CRC32C,
    PROTOCOL_TCP, PROTOCOL_UDP,
};

/// How a node is written (the two BOOLEANs of ConvertDeviceNodeToText).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TextForm {
    /// The shorter display-only forms, which do not read back to the same bytes.
    pub display_only: bool,
    /// Names that depend on more than the node's type and subtype.
    pub allow_shortcuts: bool,
}

impl TextForm {
    /// The full form without shortcuts: `FromText` gives back the same bytes.
    pub const PARSEABLE: TextForm = TextForm {
        display_only: false,
        allow_shortcuts: false,
    };
    /// The full form with shortcut names (`PciRoot(0x0)`): still reads back to
    /// the same bytes; what the firmware's own messages use.
    pub const SHORTCUTS: TextForm = TextForm {
        display_only: false,
        allow_shortcuts: true,
    };
    /// The shortest form, for people.
    pub const DISPLAY: TextForm = TextForm {
        display_only: true,
        allow_shortcuts: true,
    };
}

/// The text of one node. End Instance is `,`, End Entire is empty.
pub fn node_to_text(node: &Node<'_>, form: TextForm) -> String {
    let mut text = String::new();
    match end_kind(node) {
        Some(End::Entire) => {}
        Some(End::Instance) => text.push(','),
        None => write_node(&mut text, node, form),
    }
    text
}

/// The text of a whole path; fails only if the path is malformed.
pub fn path_to_text(path: &[u8], form: TextForm) -> Result<String, Error> {
    let mut text = String::new();
    let mut after_node = false;
    for node in nodes(path) {
        let node = node?;
        match end_kind(&node) {
            Some(End::Entire) => break,
            Some(End::Instance) => {
                text.push(',');
                after_node = false;
            }
            None => {
                if after_node {
                    text.push('/');
                }
                write_node(&mut text, &node, form);
                after_node = true;
            }
        }
    }
    Ok(text)
}

enum End {
    Entire,
    Instance,
}

/// The two end nodes of §10.3.1 as they are written; an end-type node with
/// another subtype or with data is written as a node (`Path(127,...)`).
fn end_kind(node: &Node<'_>) -> Option<End> {
    if !node.data().is_empty() {
        return None;
    }
    if node.is_end_entire() {
        Some(End::Entire)
    } else if node.is_end_instance() {
        Some(End::Instance)
    } else {
        None
    }
}

fn write_node(text: &mut String, node: &Node<'_>, form: TextForm) {
    let data = node.data();
    let known = match node.kind() {
        HARDWARE_DEVICE_PATH => hardware::hardware(node.sub_type(), data, form),
        ACPI_DEVICE_PATH => hardware::acpi(node.sub_type(), data, form),
        MESSAGING_DEVICE_PATH => {
            messaging::messaging(node.sub_type(), data, form).or_else(|| network::network(node.sub_type(), data, form))
        }
        MEDIA_DEVICE_PATH => media::media(node.sub_type(), data, form),
        BBS_DEVICE_PATH => media::bbs(node.sub_type(), data, form),
        _ => None,
    };
    match known {
        Some(known) => text.push_str(&known),
        None => write_generic(text, node),
    }
}

/// The generic form of a node whose kind has no text, or whose bytes its
/// kind's text cannot carry (§10.6.1.6, the "when ... not recognized" rows).
fn write_generic(text: &mut String, node: &Node<'_>) {
    let _ = match generic_name(node.kind()) {
        Some(name) => write!(text, "{name}({}", node.sub_type()),
        None => write!(text, "Path({},{}", node.kind(), node.sub_type()),
    };
    if !node.data().is_empty() {
        text.push(',');
        write_hex(text, node.data());
    }
    text.push(')');
}

/// The generic node name of a known type, which leaves the type out.
pub(crate) fn generic_name(kind: u8) -> Option<&'static str> {
    Some(match kind {
        HARDWARE_DEVICE_PATH => "HardwarePath",
        ACPI_DEVICE_PATH => "AcpiPath",
        MESSAGING_DEVICE_PATH => "Msg",
        MEDIA_DEVICE_PATH => "MediaPath",
        BBS_DEVICE_PATH => "BbsPath",
        _ => return None,
    })
}

/// `Name(` + arguments joined by `,` + `)`.
pub(crate) fn call(name: &str, args: &[&str]) -> String {
    let mut text = String::from(name);
    text.push('(');
    for (i, arg) in args.iter().enumerate() {
        if i > 0 {
            text.push(',');
        }
        text.push_str(arg);
    }
    text.push(')');
    text
}

/// `0x` and lower-case hex digits, the integer form the table's examples use.
pub(crate) fn hex_number(value: u64) -> String {
    let mut text = String::new();
    let _ = write!(text, "{value:#x}");
    text
}

/// An 8-byte array shown with byte 0 first as one number (§10.3.4.18: SAM-4
/// LUNs; FibreEx and SasEx addresses).
pub(crate) fn byte_array_number(bytes: [u8; 8]) -> String {
    hex_number(u64::from_be_bytes(bytes))
}

/// A GUID in its stored (mixed-endian) form, as `XXXXXXXX-XXXX-XXXX-XXXX-XXXXXXXXXXXX`.
pub fn write_guid(text: &mut String, bytes: &[u8; 16]) {
    let [a0, a1, a2, a3, b0, b1, c0, c1, rest @ ..] = *bytes;
    let _ = write!(
        text,
        "{:08X}-{:04X}-{:04X}-",
        u32::from_le_bytes([a0, a1, a2, a3]),
        u16::from_le_bytes([b0, b1]),
        u16::from_le_bytes([c0, c1])
    );
    write_hex(text, &rest[..2]);
    text.push('-');
    write_hex(text, &rest[2..]);
}

pub(crate) fn guid_text(bytes: &[u8; 16]) -> String {
    let mut text = String::new();
    write_guid(&mut text, bytes);
    text
}

/// Hex digit pairs, byte 0 first (the table's "hex dump").
pub(crate) fn write_hex(text: &mut String, bytes: &[u8]) {
    for byte in bytes {
        let _ = write!(text, "{byte:02X}");
    }
}

pub(crate) fn hex_dump(bytes: &[u8]) -> String {
    let mut text = String::new();
    write_hex(&mut text, bytes);
    text
}

/// An EISA `_HID`: three compressed letters and a 16-bit product number
/// (`PNP0A03`); as a number when the letters are not all A-Z.
pub(crate) fn eisa_id(hid: u32) -> String {
    let vendor = hid & 0xFFFF;
    let codes = [(vendor >> 10) & 0x1F, (vendor >> 5) & 0x1F, vendor & 0x1F];
    // The top bit of the compressed vendor id is reserved and 0 (ACPI 6.5 §6.1.5).
    if vendor & 0x8000 != 0 || codes.iter().any(|&c| !(1..=26).contains(&c)) {
        return hex_number(u64::from(hid));
    }
    let mut text: String = codes.iter().map(|&c| char::from(b'@' + c as u8)).collect();
    let _ = write!(text, "{:04X}", hid >> 16);
    text
}

/// Whether a string argument reads back as itself: printable ASCII, none of
/// the characters that delimit nodes and arguments, no space at either end.
pub(crate) fn plain_string(text: &str) -> bool {
    text.bytes()
        .all(|b| (0x20..0x7F).contains(&b) && !matches!(b, b',' | b'(' | b')' | b'"'))
        && text.trim() == text
}

/// An ASCII string held in `bytes` up to a single NUL that ends them, if it is
/// a [`plain_string`].
pub(crate) fn nul_terminated_ascii(bytes: &[u8]) -> Option<&str> {
    let (&last, body) = bytes.split_last()?;
    if last != 0 || body.contains(&0) {
        return None;
    }
    core::str::from_utf8(body).ok().filter(|s| plain_string(s))
}
