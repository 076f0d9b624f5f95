//! Device paths from their text form (UEFI 2.10 §10.6.1, read back as §10.7
//! EFI_DEVICE_PATH_FROM_TEXT_PROTOCOL does): the node kinds [`super::text`]
//! writes — `PciRoot`, `PcieRoot`, `Acpi`, `Pci`, `MemoryMapped`, `VenHw`,
//! `VenMsg`, `VenMedia`, `Uart`, `HD` (GPT, MBR or a numeric type) and the
//! generic `Path(type,subtype,hex)` — and file paths, the text of any node
//! that names no known kind. Nodes are separated by `/`, instances by `,`
//! (outside parentheses); the End Entire node closes every path.
//!
//! Numbers are decimal, or hexadecimal with `0x`, as the text form writes them;
//! so `path_from_text(&path_to_text(p)) == p` for the paths the firmware builds.
#![forbid(unsafe_code)]

use super::{
    ACPI_DEVICE_PATH, ACPI_DP, EISA_PNP0A03, EISA_PNP0A08, END_DEVICE_PATH_TYPE, END_ENTIRE_DEVICE_PATH_SUBTYPE,
    END_INSTANCE_DEVICE_PATH_SUBTYPE, HARDWARE_DEVICE_PATH, HW_MEMMAP_DP, HW_PCI_DP, HW_VENDOR_DP, MEDIA_DEVICE_PATH,
    MEDIA_FILEPATH_DP, MEDIA_HARDDRIVE_DP, MEDIA_VENDOR_DP, MESSAGING_DEVICE_PATH, MSG_UART_DP, MSG_VENDOR_DP,
    NODE_HEADER_SIZE,
};
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::fmt;

/// Why a text could not be read as a device path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Error {
    /// The text is empty where a node was expected (`a//b`, a trailing `/`).
    EmptyNode { at: usize },
    /// A parenthesis opened at `at` is not closed, or one closes that never opened.
    Unbalanced { at: usize },
    /// A node's arguments do not fit its kind.
    BadArguments { node: String },
    /// A node's data does not fit the 16-bit length field.
    TooLong { node: String },
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::EmptyNode { at } => write!(f, "empty device path node at character {at}"),
            Error::Unbalanced { at } => write!(f, "unbalanced parenthesis at character {at}"),
            Error::BadArguments { node } => write!(f, "device path node {node:?} has arguments its kind cannot take"),
            Error::TooLong { node } => write!(f, "device path node {node:?} is too long"),
        }
    }
}

/// A whole path: its nodes, End Instance between instances, End Entire last.
/// The empty text is the path of only End Entire.
pub fn path_from_text(text: &str) -> Result<Vec<u8>, Error> {
    let mut path = Vec::new();
    if !text.is_empty() {
        for (separator, token, at) in split_top_level(text)? {
            if separator == Some(',') {
                push(
                    &mut path,
                    END_DEVICE_PATH_TYPE,
                    END_INSTANCE_DEVICE_PATH_SUBTYPE,
                    &[],
                    token,
                )?;
            }
            if token.is_empty() {
                return Err(Error::EmptyNode { at });
            }
            path.extend_from_slice(&node_from_text(token)?);
        }
    }
    path.extend_from_slice(&[END_DEVICE_PATH_TYPE, END_ENTIRE_DEVICE_PATH_SUBTYPE, 4, 0]);
    Ok(path)
}

/// A token of a path's text: the separator before it (`None` for the first),
/// the token, and its character offset.
type Token<'a> = (Option<char>, &'a str, usize);

/// The tokens between top-level `/` and `,`.
fn split_top_level(text: &str) -> Result<Vec<Token<'_>>, Error> {
    let mut tokens = Vec::new();
    let (mut depth, mut start, mut separator) = (0usize, 0, None);
    let mut opened_at = 0;
    for (at, c) in text.char_indices() {
        match c {
            '(' => {
                if depth == 0 {
                    opened_at = at;
                }
                depth += 1;
            }
            ')' => depth = depth.checked_sub(1).ok_or(Error::Unbalanced { at })?,
            '/' | ',' if depth == 0 => {
                tokens.push((separator, &text[start..at], start));
                separator = Some(c);
                start = at + 1;
            }
            _ => {}
        }
    }
    if depth != 0 {
        return Err(Error::Unbalanced { at: opened_at });
    }
    tokens.push((separator, &text[start..], start));
    Ok(tokens)
}

/// One node (header and data) from its text.
pub fn node_from_text(text: &str) -> Result<Vec<u8>, Error> {
    let bad = || Error::BadArguments { node: text.to_string() };
    let Some((name, args)) = function(text) else {
        return file_path(text);
    };
    let args: Vec<&str> = if args.is_empty() {
        Vec::new()
    } else {
        args.split(',').map(str::trim).collect()
    };
    let mut node = Vec::new();
    match (name, args.as_slice()) {
        ("PciRoot", [uid]) => acpi(&mut node, EISA_PNP0A03, number(uid).ok_or_else(bad)?, text)?,
        ("PcieRoot", [uid]) => acpi(&mut node, EISA_PNP0A08, number(uid).ok_or_else(bad)?, text)?,
        ("Acpi", [hid, uid]) => acpi(
            &mut node,
            eisa_id(hid).ok_or_else(bad)?,
            number(uid).ok_or_else(bad)?,
            text,
        )?,
        ("Pci", [device, function]) => {
            let data = [number(function).ok_or_else(bad)?, number(device).ok_or_else(bad)?];
            push(&mut node, HARDWARE_DEVICE_PATH, HW_PCI_DP, &data, text)?;
        }
        ("MemoryMapped", [memory_type, start, end]) => {
            let mut data = Vec::with_capacity(20);
            data.extend_from_slice(&number::<u32>(memory_type).ok_or_else(bad)?.to_le_bytes());
            data.extend_from_slice(&number::<u64>(start).ok_or_else(bad)?.to_le_bytes());
            data.extend_from_slice(&number::<u64>(end).ok_or_else(bad)?.to_le_bytes());
            push(&mut node, HARDWARE_DEVICE_PATH, HW_MEMMAP_DP, &data, text)?;
        }
        ("VenHw", rest) => vendor(&mut node, HARDWARE_DEVICE_PATH, HW_VENDOR_DP, rest, text)?,
        ("VenMsg", rest) => vendor(&mut node, MESSAGING_DEVICE_PATH, MSG_VENDOR_DP, rest, text)?,
        ("VenMedia", rest) => vendor(&mut node, MEDIA_DEVICE_PATH, MEDIA_VENDOR_DP, rest, text)?,
        ("Uart", [baud, data_bits, parity, stop_bits]) => {
            let mut data = Vec::with_capacity(15);
            data.extend_from_slice(&[0; 4]);
            data.extend_from_slice(&number::<u64>(baud).ok_or_else(bad)?.to_le_bytes());
            data.push(number(data_bits).ok_or_else(bad)?);
            data.push(parity_code(parity).ok_or_else(bad)?);
            data.push(stop_bits_code(stop_bits).ok_or_else(bad)?);
            push(&mut node, MESSAGING_DEVICE_PATH, MSG_UART_DP, &data, text)?;
        }
        ("HD", [number_text, kind, signature, start, size]) => {
            let mut data = Vec::with_capacity(38);
            data.extend_from_slice(&number::<u32>(number_text).ok_or_else(bad)?.to_le_bytes());
            data.extend_from_slice(&number::<u64>(start).ok_or_else(bad)?.to_le_bytes());
            data.extend_from_slice(&number::<u64>(size).ok_or_else(bad)?.to_le_bytes());
            let (signature, signature_type) = hd_signature(signature).ok_or_else(bad)?;
            data.extend_from_slice(&signature);
            data.push(match *kind {
                "MBR" => 1,
                "GPT" => 2,
                other => number(other).ok_or_else(bad)?,
            });
            data.push(signature_type);
            push(&mut node, MEDIA_DEVICE_PATH, MEDIA_HARDDRIVE_DP, &data, text)?;
        }
        ("Path", [kind, sub_type, rest @ ..]) if rest.len() <= 1 => {
            let data = match rest {
                [hex_text] => hex(hex_text).ok_or_else(bad)?,
                _ => Vec::new(),
            };
            push(
                &mut node,
                number(kind).ok_or_else(bad)?,
                number(sub_type).ok_or_else(bad)?,
                &data,
                text,
            )?;
        }
        ("PciRoot" | "PcieRoot" | "Acpi" | "Pci" | "MemoryMapped" | "Uart" | "HD" | "Path", _) => return Err(bad()),
        // Not a kind the firmware writes: the text names a file.
        _ => return file_path(text),
    }
    Ok(node)
}

/// `Name(args)` split into its name and the text between the parentheses.
fn function(text: &str) -> Option<(&str, &str)> {
    let open = text.find('(')?;
    let inner = text.strip_suffix(')')?.get(open + 1..)?;
    let name = &text[..open];
    (!name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric())).then_some((name, inner))
}

fn push(node: &mut Vec<u8>, kind: u8, sub_type: u8, data: &[u8], text: &str) -> Result<(), Error> {
    let length = u16::try_from(NODE_HEADER_SIZE + data.len()).map_err(|_| Error::TooLong { node: text.to_string() })?;
    let [lo, hi] = length.to_le_bytes();
    node.extend_from_slice(&[kind, sub_type, lo, hi]);
    node.extend_from_slice(data);
    Ok(())
}

fn acpi(node: &mut Vec<u8>, hid: u32, uid: u32, text: &str) -> Result<(), Error> {
    let mut data = [0u8; 8];
    data[..4].copy_from_slice(&hid.to_le_bytes());
    data[4..].copy_from_slice(&uid.to_le_bytes());
    push(node, ACPI_DEVICE_PATH, ACPI_DP, &data, text)
}

fn vendor(node: &mut Vec<u8>, kind: u8, sub_type: u8, args: &[&str], text: &str) -> Result<(), Error> {
    let bad = || Error::BadArguments { node: text.to_string() };
    let (guid_text, extra) = match args {
        [guid] => (guid, Vec::new()),
        [guid, data] => (guid, hex(data).ok_or_else(bad)?),
        _ => return Err(bad()),
    };
    let mut data = guid(guid_text).ok_or_else(bad)?.to_vec();
    data.extend_from_slice(&extra);
    push(node, kind, sub_type, &data, text)
}

/// A File Path node: the text as UCS-2 with its NUL.
fn file_path(text: &str) -> Result<Vec<u8>, Error> {
    let mut data = Vec::with_capacity(2 * (text.len() + 1));
    for c in text.chars() {
        let unit = u16::try_from(u32::from(c))
            .ok()
            .filter(|&u| u != 0)
            .ok_or_else(|| Error::BadArguments { node: text.to_string() })?;
        data.extend_from_slice(&unit.to_le_bytes());
    }
    data.extend_from_slice(&[0, 0]);
    let mut node = Vec::new();
    push(&mut node, MEDIA_DEVICE_PATH, MEDIA_FILEPATH_DP, &data, text)?;
    Ok(node)
}

/// A number, decimal or `0x` hexadecimal, that fits `T`.
fn number<T: TryFrom<u64>>(text: &str) -> Option<T> {
    let value = match text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")) {
        Some(digits) => u64::from_str_radix(digits, 16).ok()?,
        None => text.parse::<u64>().ok()?,
    };
    T::try_from(value).ok()
}

/// An EISA id as `PNP0501` (three letters, four hex digits) or a raw `0x` number.
fn eisa_id(text: &str) -> Option<u32> {
    if text.starts_with("0x") || text.starts_with("0X") {
        return number(text);
    }
    let bytes = text.as_bytes();
    if bytes.len() != 7 || !bytes[..3].iter().all(u8::is_ascii_uppercase) {
        return None;
    }
    let vendor = bytes[..3].iter().fold(0u32, |v, &b| (v << 5) | u32::from(b - b'@'));
    let product = u32::from_str_radix(&text[3..], 16).ok()?;
    Some(vendor | (product << 16))
}

/// `XXXXXXXX-XXXX-XXXX-XXXX-XXXXXXXXXXXX` in its stored (mixed-endian) form.
fn guid(text: &str) -> Option<[u8; 16]> {
    let parts: Vec<&str> = text.split('-').collect();
    let [a, b, c, d, e] = parts.as_slice() else {
        return None;
    };
    if [a.len(), b.len(), c.len(), d.len(), e.len()] != [8, 4, 4, 4, 12] {
        return None;
    }
    let mut bytes = [0u8; 16];
    bytes[..4].copy_from_slice(&u32::from_str_radix(a, 16).ok()?.to_le_bytes());
    bytes[4..6].copy_from_slice(&u16::from_str_radix(b, 16).ok()?.to_le_bytes());
    bytes[6..8].copy_from_slice(&u16::from_str_radix(c, 16).ok()?.to_le_bytes());
    bytes[8..10].copy_from_slice(&hex(d)?);
    bytes[10..].copy_from_slice(&hex(e)?);
    Some(bytes)
}

/// Hex digit pairs as bytes, in order.
fn hex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) || !text.is_ascii() {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).ok())
        .collect()
}

/// HD's signature: `0` (none), `0x` + 8 digits (MBR), or a GUID.
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

/// §10.6.1.6: parity as D/N/E/O/M/S.
fn parity_code(text: &str) -> Option<u8> {
    Some(match text {
        "D" => 0,
        "N" => 1,
        "E" => 2,
        "O" => 3,
        "M" => 4,
        "S" => 5,
        _ => return None,
    })
}

/// §10.6.1.6: stop bits as D/1/1.5/2.
fn stop_bits_code(text: &str) -> Option<u8> {
    Some(match text {
        "D" => 0,
        "1" => 1,
        "1.5" => 2,
        "2" => 3,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::device_path::builder::{HardDrive, UartNode, LINUX_EFI_INITRD_MEDIA_GUID, PL011_UART_GUID};
    use crate::device_path::{path_to_text, DevicePathBuf, EISA_PNP0501};

    fn round_trip(path: &DevicePathBuf) {
        let text = path_to_text(path.as_bytes()).unwrap();
        assert_eq!(path_from_text(&text).unwrap(), path.as_bytes(), "{text}");
    }

    fn partition(mbr: bool) -> HardDrive {
        HardDrive {
            partition_number: 2,
            partition_start: 0x800,
            partition_size: 0x1F000,
            signature: if mbr {
                let mut s = [0; 16];
                s[..4].copy_from_slice(&0x00C0_FFEEu32.to_le_bytes());
                s
            } else {
                *LINUX_EFI_INITRD_MEDIA_GUID.as_bytes()
            },
            mbr_type: if mbr { 1 } else { 2 },
            signature_type: if mbr { 1 } else { 2 },
        }
    }

    #[test]
    fn boot_file_paths_on_gpt_and_mbr_partitions_round_trip() {
        for mbr in [false, true] {
            let path = DevicePathBuf::new()
                .pci_root(0)
                .pci(3, 0)
                .hard_drive(&partition(mbr))
                .file_path("\\EFI\\BOOT\\BOOTX64.EFI")
                .unwrap();
            round_trip(&path);
        }
        round_trip(&DevicePathBuf::new().pci_root(1).pci(0x1f, 7));
    }

    #[test]
    fn console_and_vendor_paths_round_trip() {
        let uart = UartNode {
            baud_rate: 115200,
            data_bits: 8,
            parity: 1,
            stop_bits: 1,
        };
        round_trip(&DevicePathBuf::new().acpi(EISA_PNP0501, 0).uart(&uart));
        let pl011 = DevicePathBuf::new()
            .vendor_hardware(&PL011_UART_GUID, &0x0900_0000u64.to_le_bytes())
            .unwrap()
            .uart(&uart);
        round_trip(&pl011);
        round_trip(
            &DevicePathBuf::new()
                .virtio_mmio(0xA003E00)
                .hard_drive(&partition(false)),
        );
        round_trip(&DevicePathBuf::linux_initrd_media());
        round_trip(&DevicePathBuf::new().acpi(0x0A08_41D0, 2));
    }

    #[test]
    fn generic_memory_mapped_and_multi_instance_paths_round_trip() {
        let mut path = DevicePathBuf::new();
        path.push_node(HARDWARE_DEVICE_PATH, HW_MEMMAP_DP, &{
            let mut d = [0u8; 20];
            d[..4].copy_from_slice(&11u32.to_le_bytes());
            d[4..12].copy_from_slice(&0x1000u64.to_le_bytes());
            d[12..].copy_from_slice(&0x1fffu64.to_le_bytes());
            d
        })
        .unwrap();
        path.push_node(3, 0x12, &[0, 1, 0xff]).unwrap();
        path.push_node(5, 1, &[]).unwrap();
        round_trip(&path);
        let mut bytes = DevicePathBuf::new().pci_root(0).pci(1, 0).as_bytes().to_vec();
        let at = bytes.len() - 4;
        bytes[at + 1] = END_INSTANCE_DEVICE_PATH_SUBTYPE;
        bytes.extend_from_slice(DevicePathBuf::new().pci_root(0).pci(2, 0).as_bytes());
        let text = path_to_text(&bytes).unwrap();
        assert_eq!(path_from_text(&text).unwrap(), bytes);
        assert_eq!(path_from_text("").unwrap(), DevicePathBuf::new().as_bytes());
    }

    #[test]
    fn unknown_node_names_are_file_paths() {
        assert_eq!(
            path_from_text("PciRoot(0x0)/kernel").unwrap(),
            DevicePathBuf::new().pci_root(0).file_path("kernel").unwrap().as_bytes()
        );
        assert_eq!(
            node_from_text("Mystery(1)").unwrap(),
            DevicePathBuf::new().file_path("Mystery(1)").unwrap().as_bytes()[..26]
        );
    }

    #[test]
    fn malformed_text_is_refused_with_its_reason() {
        assert!(matches!(path_from_text("Pci(0x1"), Err(Error::Unbalanced { at: 3 })));
        assert!(matches!(path_from_text("Pci(0x1))"), Err(Error::Unbalanced { .. })));
        assert!(matches!(
            path_from_text("PciRoot(0x0)//a"),
            Err(Error::EmptyNode { at: 13 })
        ));
        assert!(matches!(path_from_text("Pci(0x1)"), Err(Error::BadArguments { .. })));
        assert!(matches!(
            path_from_text("Pci(0x100,0)"),
            Err(Error::BadArguments { .. })
        ));
        assert!(matches!(path_from_text("VenHw(1234)"), Err(Error::BadArguments { .. })));
        assert!(matches!(
            path_from_text("HD(1,GPT,zz,0x1,0x2)"),
            Err(Error::BadArguments { .. })
        ));
        assert!(matches!(
            path_from_text("Uart(9600,8,X,1)"),
            Err(Error::BadArguments { .. })
        ));
        assert!(matches!(
            path_from_text("Acpi(pnp0501,0)"),
            Err(Error::BadArguments { .. })
        ));
    }
}
