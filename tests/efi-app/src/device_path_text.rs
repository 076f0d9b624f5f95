//! EFI_DEVICE_PATH_FROM_TEXT_PROTOCOL (UEFI 2.10 §10.7) against
//! EFI_DEVICE_PATH_TO_TEXT_PROTOCOL (§10.6): the application's own full
//! device path (its LoadedImageDevicePath: PCI or virtio-mmio, partition,
//! file) turned into text and back gives the same bytes ([`check`]); and a
//! table of nodes built byte by byte gives the §10.6.1.6 table's text, in
//! the DisplayOnly and AllowShortcuts forms asked for, and reads back as the
//! same bytes ([`table`]).

use crate::app::{find_protocol, ok};
use crate::image_buffer::LOADED_IMAGE_DEVICE_PATH;
use core::ffi::c_void;
use core::fmt::Write;
use uefi_raw::protocol::device_path::{DevicePathFromTextProtocol, DevicePathProtocol, DevicePathToTextProtocol};
use uefi_raw::table::boot::BootServices;
use uefi_raw::{Boolean, Handle};

/// Longest path the check walks.
const MAX_PATH: usize = 4096;
const END_ENTIRE: (u8, u8) = (0x7f, 0xff);

/// The bytes of a device path, End Entire included.
///
/// # Safety
/// `path` is a device path the firmware gave out.
unsafe fn path_bytes<'a>(path: *const DevicePathProtocol) -> Result<&'a [u8], &'static str> {
    let base = path.cast::<u8>();
    let mut offset = 0;
    // SAFETY: the caller's contract: nodes up to End Entire are readable.
    unsafe {
        loop {
            let node = base.add(offset);
            let len = usize::from(u16::from_le_bytes([*node.add(2), *node.add(3)]));
            if len < 4 || offset + len > MAX_PATH {
                return Err("a malformed device path");
            }
            offset += len;
            if (*node, *node.add(1)) == END_ENTIRE {
                return Ok(core::slice::from_raw_parts(base, offset));
            }
        }
    }
}

pub(crate) unsafe fn check(bs: &BootServices, image: Handle) -> Result<(), &'static str> {
    // SAFETY: boot services and the protocols called as the specification describes.
    unsafe {
        let mut own: *mut c_void = core::ptr::null_mut();
        ok(
            (bs.handle_protocol)(image, &LOADED_IMAGE_DEVICE_PATH, &mut own),
            "HandleProtocol(LoadedImageDevicePath)",
        )?;
        if own.is_null() {
            return Err("the application's LoadedImageDevicePath is NULL");
        }
        let own = own as *const DevicePathProtocol;
        let (_, to_text) = find_protocol(bs, &DevicePathToTextProtocol::GUID)?;
        let (_, from_text) = find_protocol(bs, &DevicePathFromTextProtocol::GUID)?;
        let (to_text, from_text) = (
            to_text as *const DevicePathToTextProtocol,
            from_text as *const DevicePathFromTextProtocol,
        );
        let text = ((*to_text).convert_device_path_to_text)(own, Boolean::FALSE, Boolean::FALSE);
        if text.is_null() {
            return Err("ConvertDevicePathToText gave NULL");
        }
        let back = ((*from_text).convert_text_to_device_path)(text);
        let _ = (bs.free_pool)(text.cast());
        if back.is_null() {
            return Err("ConvertTextToDevicePath gave NULL for the firmware's own text");
        }
        let same = match (path_bytes(own), path_bytes(back)) {
            (Ok(a), Ok(b)) => a == b,
            _ => false,
        };
        let _ = (bs.free_pool)(back.cast());
        if !same {
            return Err("FromText(ToText(path)) differs from the path");
        }
        // A node on its own: the first one of the path.
        let first = path_bytes(own)?;
        let first = &first[..usize::from(u16::from_le_bytes([first[2], first[3]]))];
        let text = ((*to_text).convert_device_node_to_text)(own, Boolean::FALSE, Boolean::FALSE);
        if text.is_null() {
            return Err("ConvertDeviceNodeToText gave NULL");
        }
        let node = ((*from_text).convert_text_to_device_node)(text);
        let _ = (bs.free_pool)(text.cast());
        if node.is_null() {
            return Err("ConvertTextToDeviceNode gave NULL");
        }
        let same = core::slice::from_raw_parts(node.cast::<u8>(), first.len()) == first;
        let _ = (bs.free_pool)(node.cast());
        if !same {
            return Err("FromText(ToText(node)) differs from the node");
        }
        Ok(())
    }
}

/// The §10.6.1.6 table's text of nodes laid out as §10.3 says, byte by byte:
/// (what, node, DisplayOnly, AllowShortcuts, the text).
const NODES: &[(&str, &[u8], bool, bool, &str)] = &[
    (
        "ATA",
        &[0x03, 0x01, 0x08, 0x00, 0x00, 0x01, 0x00, 0x00],
        false,
        false,
        "Ata(Primary,Slave,0x0)",
    ),
    (
        "ATA display",
        &[0x03, 0x01, 0x08, 0x00, 0x00, 0x01, 0x00, 0x00],
        true,
        false,
        "Ata(0x0)",
    ),
    (
        "SATA",
        &[0x03, 0x12, 0x0a, 0x00, 0x00, 0x00, 0xff, 0xff, 0x00, 0x00],
        false,
        false,
        "Sata(0x0,0xffff,0x0)",
    ),
    (
        "SCSI",
        &[0x03, 0x02, 0x08, 0x00, 0x01, 0x00, 0x00, 0x00],
        false,
        false,
        "Scsi(0x1,0x0)",
    ),
    (
        "NVMe",
        &[
            0x03, 0x17, 0x10, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08,
        ],
        false,
        false,
        "NVMe(0x1,08-07-06-05-04-03-02-01)",
    ),
    (
        "USB",
        &[0x03, 0x05, 0x06, 0x00, 0x01, 0x00],
        false,
        false,
        "USB(0x1,0x0)",
    ),
    (
        "UsbClass",
        &[0x03, 0x0f, 0x0b, 0x00, 0x6d, 0x04, 0x2b, 0xc5, 0x03, 0x01, 0x01],
        false,
        false,
        "UsbClass(0x46d,0xc52b,0x3,0x1,0x1)",
    ),
    (
        "UsbHID shortcut",
        &[0x03, 0x0f, 0x0b, 0x00, 0x6d, 0x04, 0x2b, 0xc5, 0x03, 0x01, 0x01],
        false,
        true,
        "UsbHID(0x46d,0xc52b,0x1,0x1)",
    ),
    (
        "MAC",
        &[
            0x03, 0x0b, 0x25, 0x00, 0x52, 0x54, 0x00, 0x12, 0x34, 0x56, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
            0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
            0x01,
        ],
        false,
        false,
        "MAC(525400123456,0x1)",
    ),
    (
        "IPv4",
        &[
            0x03, 0x0c, 0x1b, 0x00, 0xc0, 0xa8, 0x00, 0x01, 0xc0, 0xa8, 0x00, 0x64, 0x00, 0x00, 0xbc, 0x0c, 0x06, 0x00,
            0x01, 0xc0, 0xa8, 0x00, 0xfe, 0xff, 0xff, 0xff, 0x00,
        ],
        false,
        false,
        "IPv4(192.168.0.100:3260,TCP,Static,192.168.0.1,192.168.0.254,255.255.255.0)",
    ),
    (
        "IPv4 display",
        &[
            0x03, 0x0c, 0x1b, 0x00, 0xc0, 0xa8, 0x00, 0x01, 0xc0, 0xa8, 0x00, 0x64, 0x00, 0x00, 0xbc, 0x0c, 0x06, 0x00,
            0x01, 0xc0, 0xa8, 0x00, 0xfe, 0xff, 0xff, 0xff, 0x00,
        ],
        true,
        false,
        "IPv4(192.168.0.100:3260)",
    ),
    (
        "IPv6",
        &[
            0x03, 0x0d, 0x3c, 0x00, 0x20, 0x01, 0x0d, 0xb8, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
            0x00, 0x01, 0x20, 0x01, 0x0d, 0xb8, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02,
            0x00, 0x00, 0x00, 0x00, 0x11, 0x00, 0x01, 0x40, 0xfe, 0x80, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
            0x00, 0x00, 0x00, 0x00, 0x00, 0x01,
        ],
        false,
        false,
        "IPv6(2001:db8::2,UDP,StatelessAutoConfigure,2001:db8::1,0x40,fe80::1)",
    ),
    (
        "IPv6 display",
        &[
            0x03, 0x0d, 0x3c, 0x00, 0x20, 0x01, 0x0d, 0xb8, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
            0x00, 0x01, 0x20, 0x01, 0x0d, 0xb8, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02,
            0x00, 0x00, 0x00, 0x00, 0x11, 0x00, 0x01, 0x40, 0xfe, 0x80, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
            0x00, 0x00, 0x00, 0x00, 0x00, 0x01,
        ],
        true,
        false,
        "IPv6(2001:db8::2)",
    ),
    (
        "URI",
        &[
            0x03, 0x18, 0x1f, 0x00, 0x68, 0x74, 0x74, 0x70, 0x3a, 0x2f, 0x2f, 0x31, 0x39, 0x32, 0x2e, 0x31, 0x36, 0x38,
            0x2e, 0x30, 0x2e, 0x31, 0x2f, 0x62, 0x6f, 0x6f, 0x74, 0x2e, 0x65, 0x66, 0x69,
        ],
        false,
        false,
        "Uri(http://192.168.0.1/boot.efi)",
    ),
    (
        "VenPcAnsi",
        &[
            0x03, 0x0a, 0x14, 0x00, 0x53, 0x47, 0xc1, 0xe0, 0xbe, 0xf9, 0xd2, 0x11, 0x9a, 0x0c, 0x00, 0x90, 0x27, 0x3f,
            0xc1, 0x4d,
        ],
        false,
        true,
        "VenPcAnsi()",
    ),
    (
        "VenPcAnsi without shortcuts",
        &[
            0x03, 0x0a, 0x14, 0x00, 0x53, 0x47, 0xc1, 0xe0, 0xbe, 0xf9, 0xd2, 0x11, 0x9a, 0x0c, 0x00, 0x90, 0x27, 0x3f,
            0xc1, 0x4d,
        ],
        false,
        false,
        "VenMsg(E0C14753-F9BE-11D2-9A0C-0090273FC14D)",
    ),
    (
        "VenUtf8",
        &[
            0x03, 0x0a, 0x14, 0x00, 0xd6, 0xa0, 0x15, 0xad, 0xec, 0x8b, 0xcf, 0x4a, 0xa0, 0x73, 0xd0, 0x1d, 0xe7, 0x7e,
            0x2d, 0x88,
        ],
        false,
        true,
        "VenUtf8()",
    ),
    (
        "Uart",
        &[
            0x03, 0x0e, 0x13, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xc2, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x08, 0x01,
            0x01,
        ],
        false,
        false,
        "Uart(115200,8,N,1)",
    ),
    (
        "CDROM",
        &[
            0x04, 0x02, 0x18, 0x00, 0x00, 0x00, 0x00, 0x00, 0x1e, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x20, 0x2b,
            0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        ],
        false,
        false,
        "CDROM(0x0,0x1e,0x2b20)",
    ),
    (
        "CDROM display",
        &[
            0x04, 0x02, 0x18, 0x00, 0x00, 0x00, 0x00, 0x00, 0x1e, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x20, 0x2b,
            0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        ],
        true,
        false,
        "CDROM(0x0)",
    ),
    (
        "HD display",
        &[
            0x04, 0x01, 0x2a, 0x00, 0x01, 0x00, 0x00, 0x00, 0x22, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
            0x71, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x9a, 0xe3, 0x15, 0xd2, 0x1d, 0x00, 0x10, 0x8d, 0x7f, 0x00, 0xa0,
            0xc9, 0x24, 0x08, 0xfc, 0x02, 0x02,
        ],
        true,
        false,
        "HD(1,GPT,15E39A00-1DD2-1000-8D7F-00A0C92408FC)",
    ),
    (
        "PciRoot",
        &[0x02, 0x01, 0x0c, 0x00, 0xd0, 0x41, 0x03, 0x0a, 0x00, 0x00, 0x00, 0x00],
        false,
        true,
        "PciRoot(0x0)",
    ),
    (
        "PciRoot without shortcuts",
        &[0x02, 0x01, 0x0c, 0x00, 0xd0, 0x41, 0x03, 0x0a, 0x00, 0x00, 0x00, 0x00],
        false,
        false,
        "Acpi(PNP0A03,0x0)",
    ),
    (
        "iSCSI",
        &[
            0x03, 0x13, 0x49, 0x00, 0x00, 0x00, 0x00, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00,
            0x69, 0x71, 0x6e, 0x2e, 0x31, 0x39, 0x39, 0x31, 0x2d, 0x30, 0x35, 0x2e, 0x63, 0x6f, 0x6d, 0x2e, 0x6d, 0x69,
            0x63, 0x72, 0x6f, 0x73, 0x6f, 0x66, 0x74, 0x3a, 0x69, 0x73, 0x63, 0x73, 0x69, 0x74, 0x61, 0x72, 0x67, 0x65,
            0x74, 0x2d, 0x69, 0x73, 0x63, 0x73, 0x69, 0x64, 0x69, 0x73, 0x6b, 0x2d, 0x74, 0x61, 0x72, 0x67, 0x65, 0x74,
            0x00,
        ],
        false,
        false,
        "iSCSI(iqn.1991-05.com.microsoft:iscsitarget-iscsidisk-target,0x1,0x0,None,None,None,TCP)",
    ),
    (
        "BBS display",
        &[
            0x05, 0x01, 0x0f, 0x00, 0x02, 0x00, 0x00, 0x00, 0x44, 0x65, 0x62, 0x69, 0x61, 0x6e, 0x00,
        ],
        true,
        false,
        "BBS(HD,Debian)",
    ),
];

/// PciRoot(0x0)/Pci(0x2,0x0)/MAC/IPv4, End Entire: a network boot path.
const NETWORK_PATH: &[u8] = &[
    0x02, 0x01, 0x0c, 0x00, 0xd0, 0x41, 0x03, 0x0a, 0x00, 0x00, 0x00, 0x00, 0x01, 0x01, 0x06, 0x00, 0x00, 0x02, 0x03,
    0x0b, 0x25, 0x00, 0x52, 0x54, 0x00, 0x12, 0x34, 0x56, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x03, 0x0c,
    0x1b, 0x00, 0xc0, 0xa8, 0x00, 0x01, 0xc0, 0xa8, 0x00, 0x64, 0x00, 0x00, 0xbc, 0x0c, 0x06, 0x00, 0x01, 0xc0, 0xa8,
    0x00, 0xfe, 0xff, 0xff, 0xff, 0x00, 0x7f, 0xff, 0x04, 0x00,
];

/// The text of [`NETWORK_PATH`] in full with shortcuts, and for display.
const NETWORK_PATH_TEXT: &str =
    "PciRoot(0x0)/Pci(0x2,0x0)/MAC(525400123456,0x1)/IPv4(192.168.0.100:3260,TCP,Static,192.168.0.1,192.168.0.254,255.255.255.0)";
const NETWORK_PATH_DISPLAY: &str = "PciRoot(0x0)/Pci(0x2,0x0)/MAC(525400123456,0x1)/IPv4(192.168.0.100:3260)";

/// Longest text compared.
const MAX_TEXT: usize = 512;

/// Whether the NUL-terminated UCS-2 `text` is `expected`.
///
/// # Safety
/// `text` is a NUL-terminated string the firmware returned.
unsafe fn is_text(text: *const u16, expected: &str) -> bool {
    let mut units = expected.encode_utf16();
    for i in 0..MAX_TEXT {
        // SAFETY: the caller's contract: units up to the NUL are readable.
        let unit = unsafe { text.add(i).read_unaligned() };
        match (unit, units.next()) {
            (0, None) => return true,
            (got, Some(want)) if got == want => {}
            _ => return false,
        }
    }
    false
}

/// Writes what the firmware returned, for the failure's explanation.
///
/// # Safety
/// As [`is_text`].
unsafe fn write_text(out: &mut dyn Write, text: *const u16) {
    for i in 0..MAX_TEXT {
        // SAFETY: as above.
        let unit = unsafe { text.add(i).read_unaligned() };
        if unit == 0 {
            break;
        }
        let _ = out.write_char(char::from_u32(unit.into()).unwrap_or('?'));
    }
}

/// Says what the firmware gave where the table's text was expected.
///
/// # Safety
/// A non-null `got` is a NUL-terminated string the firmware returned.
unsafe fn report(out: &mut dyn Write, what: &str, got: *const u16, want: &str) {
    let _ = write!(out, "HVFW-APP: device-path-to-text: {what} gave ");
    if got.is_null() {
        let _ = write!(out, "NULL");
    } else {
        // SAFETY: the caller's contract.
        unsafe { write_text(out, got) };
    }
    let _ = writeln!(out, ", the spec's text is {want}");
}

/// The node at `node` (a pool copy the firmware returned) is `expected`.
///
/// # Safety
/// `node` is a device node the firmware returned.
unsafe fn is_node(node: *const DevicePathProtocol, expected: &[u8]) -> bool {
    let base = node.cast::<u8>();
    // SAFETY: a node starts with its 4-byte header.
    let len = unsafe { usize::from(u16::from_le_bytes([*base.add(2), *base.add(3)])) };
    // SAFETY: the node's header says it holds `len` bytes.
    len == expected.len() && unsafe { core::slice::from_raw_parts(base, len) } == expected
}

/// The table: ConvertDeviceNodeToText of each node in its forms, FromText of
/// each full text, and ConvertDevicePathToText of a whole path and back.
pub(crate) unsafe fn table(bs: &BootServices, out: &mut dyn Write) -> Result<(), &'static str> {
    // SAFETY: boot services and the protocols called as the specification describes.
    unsafe {
        let (_, to_text) = find_protocol(bs, &DevicePathToTextProtocol::GUID)?;
        let (_, from_text) = find_protocol(bs, &DevicePathFromTextProtocol::GUID)?;
        let to_text = &*(to_text as *const DevicePathToTextProtocol);
        let from_text = &*(from_text as *const DevicePathFromTextProtocol);
        let mut wrong = 0;
        for &(what, node, display_only, shortcuts, expected) in NODES {
            let node_ptr = node.as_ptr().cast::<DevicePathProtocol>();
            let text = (to_text.convert_device_node_to_text)(node_ptr, display_only.into(), shortcuts.into());
            if text.is_null() || !is_text(text, expected) {
                wrong += 1;
                report(out, what, text, expected);
            }
            if !text.is_null() {
                let _ = (bs.free_pool)(text.cast());
            }
            if display_only {
                continue;
            }
            // FromText(ToText(node)) == node.
            let back = (from_text.convert_text_to_device_node)(text_ucs2(expected).as_ptr());
            if back.is_null() || !is_node(back, node) {
                let _ = writeln!(
                    out,
                    "HVFW-APP: device-path-to-text: FromText({expected}) is not the {what} node"
                );
                wrong += 1;
            }
            if !back.is_null() {
                let _ = (bs.free_pool)(back.cast());
            }
        }
        let path = NETWORK_PATH.as_ptr().cast::<DevicePathProtocol>();
        for (display_only, expected) in [(false, NETWORK_PATH_TEXT), (true, NETWORK_PATH_DISPLAY)] {
            let text = (to_text.convert_device_path_to_text)(path, display_only.into(), Boolean::TRUE);
            if text.is_null() || !is_text(text, expected) {
                wrong += 1;
                report(out, "ConvertDevicePathToText", text, expected);
            }
            if !text.is_null() {
                let _ = (bs.free_pool)(text.cast());
            }
        }
        let text = (to_text.convert_device_path_to_text)(path, Boolean::FALSE, Boolean::FALSE);
        if text.is_null() {
            return Err("ConvertDevicePathToText gave NULL for a network boot path");
        }
        let back = (from_text.convert_text_to_device_path)(text);
        let _ = (bs.free_pool)(text.cast());
        let same = !back.is_null() && path_bytes(back).is_ok_and(|b| b == NETWORK_PATH);
        if !back.is_null() {
            let _ = (bs.free_pool)(back.cast());
        }
        if !same {
            return Err("FromText(ToText(network boot path)) differs from the path");
        }
        if wrong > 0 {
            return Err("text differs from UEFI 2.10 §10.6.1.6 (lines above)");
        }
        Ok(())
    }
}

/// `text` as NUL-terminated UCS-2 (the table's texts are short and ASCII).
fn text_ucs2(text: &str) -> [u16; MAX_TEXT] {
    let mut units = [0u16; MAX_TEXT];
    for (unit, c) in units.iter_mut().zip(text.encode_utf16()) {
        *unit = c;
    }
    units
}
