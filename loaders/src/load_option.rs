//! Boot options as UEFI keeps them in variables (UEFI 2.10 §3.1.3): `BootOrder`
//! (a list of UINT16), `BootNext`, and `Boot####` holding an EFI_LOAD_OPTION:
//! Attributes (UINT32), FilePathListLength (UINT16), Description (UCS-2, NUL
//! terminated), FilePathList, OptionalData.
#![forbid(unsafe_code)]

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;
use fw_bytes::LeFields;

/// LOAD_OPTION_ACTIVE: the boot manager may boot the option.
pub const LOAD_OPTION_ACTIVE: u32 = 0x0000_0001;
/// LOAD_OPTION_CATEGORY_APP: an application, not a boot target.
pub const LOAD_OPTION_CATEGORY_APP: u32 = 0x0000_0100;
const LOAD_OPTION_CATEGORY_MASK: u32 = 0x0000_1f00;

/// Why a `Boot####` variable is not a usable EFI_LOAD_OPTION (UEFI 2.10 §3.1.3).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LoadOptionError {
    /// The variable is shorter than its fixed part and stated lengths.
    Truncated {
        /// The bytes the fixed part and the lengths it states need.
        needed: usize,
        /// The variable's size.
        found: usize,
    },
    /// The description has no terminating NUL within the variable.
    DescriptionUnterminated,
    /// `FilePathListLength` is zero: nothing to load.
    FilePathListEmpty,
    /// The file path list does not parse as device path nodes ending in an end node.
    BadDevicePath,
}

impl fmt::Display for LoadOptionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LoadOptionError::Truncated { needed, found } => {
                write!(f, "load option is {found} bytes, needs at least {needed}")
            }
            LoadOptionError::DescriptionUnterminated => write!(f, "description has no terminating NUL"),
            LoadOptionError::FilePathListEmpty => write!(f, "file path list is empty"),
            LoadOptionError::BadDevicePath => write!(f, "file path list is not a well-formed device path"),
        }
    }
}

/// One parsed `Boot####` variable.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoadOption {
    /// The `LOAD_OPTION_*` bits.
    pub attributes: u32,
    /// The description, for menus and messages.
    pub description: String,
    /// The first device path of the list (what the boot manager loads).
    pub file_path: Vec<u8>,
    /// Handed to the image as its LoadOptions.
    pub optional_data: Vec<u8>,
}

impl LoadOption {
    /// Whether `LOAD_OPTION_ACTIVE` is set: the boot manager may start it.
    pub fn is_active(&self) -> bool {
        self.attributes & LOAD_OPTION_ACTIVE != 0
    }

    /// Boot targets (category BOOT); applications are only started on request.
    pub fn is_boot_target(&self) -> bool {
        self.attributes & LOAD_OPTION_CATEGORY_MASK != LOAD_OPTION_CATEGORY_APP
    }
}

/// An EFI_LOAD_OPTION's bytes: `attributes`, `description`, one device path
/// (ending in its End node) and `optional_data`.
pub fn encode(attributes: u32, description: &str, file_path: &[u8], optional_data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(&attributes.to_le_bytes());
    out.extend_from_slice(&(file_path.len() as u16).to_le_bytes());
    for unit in description.encode_utf16().chain([0]) {
        out.extend_from_slice(&unit.to_le_bytes());
    }
    out.extend_from_slice(file_path);
    out.extend_from_slice(optional_data);
    out
}

/// Parses an EFI_LOAD_OPTION.
pub fn parse(bytes: &[u8]) -> Result<LoadOption, LoadOptionError> {
    if bytes.len() < 6 {
        return Err(LoadOptionError::Truncated {
            needed: 6,
            found: bytes.len(),
        });
    }
    let attributes = bytes.u32_le(0).unwrap_or(0);
    let path_len = usize::from(bytes.u16_le(4).unwrap_or(0));
    let mut description: Vec<u16> = Vec::new();
    let mut offset = 6;
    loop {
        let Some(unit) = bytes.get(offset..offset + 2) else {
            return Err(LoadOptionError::DescriptionUnterminated);
        };
        offset += 2;
        let unit = u16::from_le_bytes([unit[0], unit[1]]);
        if unit == 0 {
            break;
        }
        description.push(unit);
    }
    if path_len == 0 {
        return Err(LoadOptionError::FilePathListEmpty);
    }
    let end = offset + path_len;
    let list = bytes.get(offset..end).ok_or(LoadOptionError::Truncated {
        needed: end,
        found: bytes.len(),
    })?;
    let first = crate::path::first_path(list).ok_or(LoadOptionError::BadDevicePath)?;
    Ok(LoadOption {
        attributes,
        description: String::from_utf16_lossy(&description),
        file_path: first.to_vec(),
        optional_data: bytes[end..].to_vec(),
    })
}

/// `BootOrder` / `BootNext` contents: little-endian UINT16s (an odd byte is ignored).
pub fn parse_order(bytes: &[u8]) -> Vec<u16> {
    bytes
        .chunks_exact(2)
        .map(|c| u16::from_le_bytes([c[0], c[1]]))
        .collect()
}

/// The variable name of option `n`: `Boot0001`.
pub fn boot_variable_name(n: u16) -> String {
    alloc::format!("Boot{n:04X}")
}

/// Whether a device path is a short form that starts at a partition (HD node,
/// type 4 subtype 1) or a file path (type 4 subtype 4), and must be matched to
/// a full device path of the machine (UEFI 2.10 §3.1.2).
pub fn is_short_form(path: &[u8]) -> bool {
    matches!(path.get(..2), Some([4, 1 | 4]))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An EFI_LOAD_OPTION as shim's fallback writes it: HD(...)/\EFI\debian\shimx64.efi.
    fn option(attributes: u32, description: &str, path: &[u8], data: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend_from_slice(&attributes.to_le_bytes());
        out.extend_from_slice(&(path.len() as u16).to_le_bytes());
        for u in description.encode_utf16().chain([0]) {
            out.extend_from_slice(&u.to_le_bytes());
        }
        out.extend_from_slice(path);
        out.extend_from_slice(data);
        out
    }

    fn hd_file_path() -> Vec<u8> {
        let mut p = alloc::vec![4, 1, 42, 0];
        p.extend_from_slice(&[0; 38]);
        let name: Vec<u8> = "\\EFI\\debian\\shimx64.efi"
            .encode_utf16()
            .chain([0])
            .flat_map(u16::to_le_bytes)
            .collect();
        p.extend_from_slice(&[4, 4]);
        p.extend_from_slice(&((4 + name.len()) as u16).to_le_bytes());
        p.extend_from_slice(&name);
        p.extend_from_slice(&[0x7f, 0xff, 4, 0]);
        p
    }

    #[test]
    fn parses_a_boot_option_with_optional_data() {
        let path = hd_file_path();
        let o = parse(&option(LOAD_OPTION_ACTIVE, "debian", &path, b"opt")).unwrap();
        assert_eq!(o.description, "debian");
        assert_eq!(o.file_path, path);
        assert_eq!(o.optional_data, b"opt");
        assert!(o.is_active() && o.is_boot_target());
        assert!(is_short_form(&o.file_path));
    }

    #[test]
    fn rejects_truncated_and_malformed_options() {
        let path = hd_file_path();
        let full = option(LOAD_OPTION_ACTIVE, "debian", &path, &[]);
        assert!(matches!(
            parse(&full[..full.len() - 3]),
            Err(LoadOptionError::Truncated { .. })
        ));
        assert_eq!(
            parse(&[1, 0, 0, 0, 4, 0, b'x', 0]),
            Err(LoadOptionError::DescriptionUnterminated)
        );
        assert_eq!(
            parse(&option(1, "x", &[], &[])),
            Err(LoadOptionError::FilePathListEmpty)
        );
        assert_eq!(
            parse(&option(1, "x", &[4, 4, 0, 0], &[])),
            Err(LoadOptionError::BadDevicePath)
        );
        assert!(matches!(parse(&[0; 3]), Err(LoadOptionError::Truncated { .. })));
    }

    #[test]
    fn reads_boot_order_and_names_options() {
        assert_eq!(parse_order(&[1, 0, 0x10, 0, 7]), [1, 0x10]);
        assert_eq!(boot_variable_name(0x1a), "Boot001A");
        let app = parse(&option(
            LOAD_OPTION_ACTIVE | LOAD_OPTION_CATEGORY_APP,
            "shell",
            &hd_file_path(),
            &[],
        ))
        .unwrap();
        assert!(!app.is_boot_target());
    }

    #[test]
    fn encoded_options_parse_back() {
        let path = [4u8, 4, 10, 0, b'\\', 0, b'a', 0, 0, 0, 0x7f, 0xff, 4, 0];
        let bytes = encode(LOAD_OPTION_ACTIVE, "UEFI disk", &path, b"data");
        let option = parse(&bytes).unwrap();
        assert_eq!(option.attributes, LOAD_OPTION_ACTIVE);
        assert_eq!(option.description, "UEFI disk");
        assert_eq!(option.file_path, path);
        assert_eq!(option.optional_data, b"data");
    }
}
