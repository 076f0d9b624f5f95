//! systemd's Boot Loader Interface (systemd.io/BOOT_LOADER_INTERFACE): the EFI
//! variables under vendor 4a67b082-0a4c-41cf-b6c7-440b29bb8c4f through which
//! a boot loader tells the OS what it did (`LoaderDevicePartUUID`,
//! `LoaderEntries`, `LoaderEntrySelected`, ...) and the OS asks for the next
//! boot (`LoaderEntryDefault`, `LoaderEntryOneShot`, `LoaderConfigTimeout`),
//! as systemd-boot implements it. Strings are UTF-16, NUL-terminated.
//!
//! The encodings here are pure and host-tested; [`publish`] and
//! [`requests`] are the thin EFI side.
#![forbid(unsafe_code)]

use crate::efi::Efi;
use alloc::string::String;
use alloc::vec::Vec;
use fw_bytes::LeFields;
use uefi_raw::{guid, Guid};

/// The interface's vendor GUID.
pub const LOADER_GUID: Guid = guid!("4a67b082-0a4c-41cf-b6c7-440b29bb8c4f");

/// LoaderFeatures bits (systemd's `EFI_LOADER_FEATURE_*`) this boot manager
/// honours: CONFIG_TIMEOUT (0), CONFIG_TIMEOUT_ONE_SHOT (1), ENTRY_DEFAULT
/// (2), ENTRY_ONESHOT (3), BOOT_COUNTING (4).
pub const FEATURES: u64 = (1 << 0) | (1 << 1) | (1 << 2) | (1 << 3) | (1 << 4);

const BS_RT: u32 = 0x2 | 0x4;

/// `text` as UTF-16LE with a terminating NUL.
pub fn utf16_string(text: &str) -> Vec<u8> {
    text.encode_utf16().chain([0]).flat_map(u16::to_le_bytes).collect()
}

/// `LoaderEntries`: the ids, each UTF-16 with its NUL, one after the other.
pub fn string_list<'a>(items: impl IntoIterator<Item = &'a str>) -> Vec<u8> {
    items.into_iter().flat_map(utf16_string).collect()
}

/// A UTF-16LE string variable's text, up to its NUL (or its end).
pub fn read_utf16_string(bytes: &[u8]) -> Option<String> {
    let units: Vec<u16> = fw_bytes::utf16_units(bytes).collect();
    String::from_utf16(&units).ok()
}

/// A partition GUID as the interface writes it: "normal GUID syntax"
/// (systemd-boot prints it in upper case; readers compare without case).
pub fn guid_text(bytes: &[u8; 16]) -> String {
    let d1 = bytes.u32_le(0).unwrap_or(0);
    let d2 = bytes.u16_le(4).unwrap_or(0);
    let d3 = bytes.u16_le(6).unwrap_or(0);
    alloc::format!(
        "{d1:08X}-{d2:04X}-{d3:04X}-{:02X}{:02X}-{:02X}{:02X}{:02X}{:02X}{:02X}{:02X}",
        bytes[8],
        bytes[9],
        bytes[10],
        bytes[11],
        bytes[12],
        bytes[13],
        bytes[14],
        bytes[15]
    )
}

/// Media device path, Hard Drive node (UEFI 2.10 §10.3.5.1).
const MEDIA: u8 = 4;
const HARD_DRIVE: u8 = 1;
/// Its signature type for a GPT partition's unique GUID.
const SIGNATURE_GUID: u8 = 2;

/// The GPT partition GUID in a device path's Hard Drive node, if it has one.
pub fn partition_guid(device_path: &[u8]) -> Option<[u8; 16]> {
    crate::path::nodes(device_path)
        .map_while(Result::ok)
        .find(|n| n.kind() == MEDIA && n.sub_type() == HARD_DRIVE)
        .and_then(|n| {
            // Partition number (4), start (8), size (8), signature (16),
            // format (1), signature type (1).
            let data = n.data();
            (data.get(37) == Some(&SIGNATURE_GUID)).then(|| data.get(20..36)?.try_into().ok())?
        })
}

/// What the OS asked for through the interface, read once at start.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Requests {
    /// `LoaderEntryOneShot` (already deleted: it is used once).
    pub one_shot: Option<String>,
    /// `LoaderEntryDefault`.
    pub default: Option<String>,
    /// `LoaderConfigTimeoutOneShot`, else `LoaderConfigTimeout`, in seconds.
    pub timeout: Option<u32>,
}

impl Requests {
    /// The entry pattern that picks the default: the one-shot, else the
    /// OS's default, else `loader.conf`'s.
    pub fn default_pattern<'a>(&'a self, loader_conf: Option<&'a str>) -> Option<&'a str> {
        self.one_shot.as_deref().or(self.default.as_deref()).or(loader_conf)
    }
}

/// Reads the OS's requests, deleting the one-shot ones (systemd-boot does the
/// same: they hold for one start).
pub fn requests(efi: &Efi) -> Requests {
    let string = |name: &str| {
        efi.get_variable(name, &LOADER_GUID)
            .and_then(|b| read_utf16_string(&b))
            .filter(|s| !s.is_empty())
    };
    let one_shot = string("LoaderEntryOneShot");
    if one_shot.is_some() {
        let _ = efi.set_variable("LoaderEntryOneShot", &LOADER_GUID, 0, &[]);
    }
    let timeout_one_shot = string("LoaderConfigTimeoutOneShot");
    if timeout_one_shot.is_some() {
        let _ = efi.set_variable("LoaderConfigTimeoutOneShot", &LOADER_GUID, 0, &[]);
    }
    let timeout = timeout_one_shot
        .or_else(|| string("LoaderConfigTimeout"))
        .and_then(|s| s.trim().parse().ok());
    Requests {
        one_shot,
        default: string("LoaderEntryDefault"),
        timeout,
    }
}

/// What the boot manager tells the OS about itself and its entries, before
/// the menu (volatile variables, like systemd-boot's).
pub fn publish(efi: &Efi, entry_ids: &[&str], firmware: &FirmwareInfo, init_usec: Option<u64>) {
    let set = |name: &str, data: &[u8]| {
        let _ = efi.set_variable(name, &LOADER_GUID, BS_RT, data);
    };
    if let Some(usec) = init_usec {
        set("LoaderTimeInitUSec", &utf16_string(&alloc::format!("{usec}")));
    }
    set(
        "LoaderInfo",
        &utf16_string(&alloc::format!("hypervisor-fw {}", env!("CARGO_PKG_VERSION"))),
    );
    set(
        "LoaderFirmwareInfo",
        &utf16_string(&alloc::format!(
            "{} {}.{:02}",
            firmware.vendor,
            firmware.revision >> 16,
            firmware.revision & 0xffff
        )),
    );
    set(
        "LoaderFirmwareType",
        &utf16_string(&alloc::format!(
            "UEFI {}.{:02}",
            firmware.uefi_revision >> 16,
            firmware.uefi_revision & 0xffff
        )),
    );
    set("LoaderFeatures", &FEATURES.to_le_bytes());
    if !entry_ids.is_empty() {
        set("LoaderEntries", &string_list(entry_ids.iter().copied()));
    }
}

/// What is said about the booted entry, just before it starts (with the
/// time: `LoaderTimeExecUSec`).
pub fn publish_selected(efi: &Efi, entry_id: &str, volume_path: &[u8]) {
    if let Some(usec) = efi.timestamp_usec() {
        let _ = efi.set_variable(
            "LoaderTimeExecUSec",
            &LOADER_GUID,
            BS_RT,
            &utf16_string(&alloc::format!("{usec}")),
        );
    }
    let _ = efi.set_variable("LoaderEntrySelected", &LOADER_GUID, BS_RT, &utf16_string(entry_id));
    if let Some(guid) = partition_guid(volume_path) {
        let _ = efi.set_variable(
            "LoaderDevicePartUUID",
            &LOADER_GUID,
            BS_RT,
            &utf16_string(&guid_text(&guid)),
        );
    }
}

/// The firmware's identity from the system table.
pub struct FirmwareInfo {
    /// The system table's firmware vendor string.
    pub vendor: String,
    /// The system table's firmware revision.
    pub revision: u32,
    /// The system table's header revision (the UEFI version it implements).
    pub uefi_revision: u32,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_are_utf16_with_a_nul() {
        assert_eq!(utf16_string("ab"), [b'a', 0, b'b', 0, 0, 0]);
        assert_eq!(
            string_list(["a.conf", "b.efi"]),
            [utf16_string("a.conf"), utf16_string("b.efi")].concat()
        );
        assert_eq!(
            read_utf16_string(&utf16_string("debian.conf")),
            Some("debian.conf".into())
        );
        // bootctl writes with the NUL; a value without one reads the same.
        assert_eq!(read_utf16_string(&utf16_string("x")[..2]), Some("x".into()));
        assert_eq!(read_utf16_string(&[0x00, 0xd8]), None, "a lone surrogate");
    }

    /// A Hard Drive node for GPT partition 1 with unique GUID
    /// 4856464D-0000-4000-8000-0000000000E5 (the test images' ESP), then End.
    fn hd_path() -> Vec<u8> {
        let mut p = alloc::vec![2, 1, 12, 0, 0xd0, 0x41, 3, 0x0a, 0, 0, 0, 0]; // ACPI PNP0A03
        p.extend_from_slice(&[MEDIA, HARD_DRIVE, 42, 0]);
        p.extend_from_slice(&1u32.to_le_bytes());
        p.extend_from_slice(&2048u64.to_le_bytes());
        p.extend_from_slice(&0x20000u64.to_le_bytes());
        p.extend_from_slice(&[0x4d, 0x46, 0x56, 0x48, 0, 0, 0, 0x40, 0x80, 0, 0, 0, 0, 0, 0, 0xe5]);
        p.extend_from_slice(&[2, SIGNATURE_GUID]);
        p.extend_from_slice(&[0x7f, 0xff, 4, 0]);
        p
    }

    #[test]
    fn the_esp_guid_comes_from_the_hard_drive_node() {
        let guid = partition_guid(&hd_path()).unwrap();
        assert_eq!(guid_text(&guid), "4856464D-0000-4000-8000-0000000000E5");
        // An MBR partition (signature type 1) has no GUID.
        let mut mbr = hd_path();
        let at = 12 + 4 + 37;
        mbr[at] = 1;
        assert_eq!(partition_guid(&mbr), None);
        assert_eq!(partition_guid(&[0x7f, 0xff, 4, 0]), None);
        // A truncated node is no answer, not a panic.
        assert_eq!(partition_guid(&hd_path()[..30]), None);
    }

    #[test]
    fn the_one_shot_beats_the_os_default_which_beats_loader_conf() {
        let mut r = Requests::default();
        assert_eq!(r.default_pattern(Some("debian-*")), Some("debian-*"));
        r.default = Some("b.conf".into());
        assert_eq!(r.default_pattern(Some("debian-*")), Some("b.conf"));
        r.one_shot = Some("c.conf".into());
        assert_eq!(r.default_pattern(Some("debian-*")), Some("c.conf"));
    }
}
