//! GUIDs as UEFI stores them (UEFI 2.10 Appendix A): the first three fields
//! little-endian, the last eight bytes in order, so "C12A7328-F81F-11D2-BA4B-00A0C93EC93B"
//! is stored as 28 73 2A C1 1F F8 D2 11 BA 4B 00 A0 C9 3E C9 3B.
#![forbid(unsafe_code)]

use core::fmt;

/// A GUID in its 16-byte on-disk (mixed-endian) form.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Guid([u8; 16]);

/// EFI System Partition (UEFI 2.10 Table 5.7; sgdisk type ef00).
pub const EFI_SYSTEM_PARTITION: Guid = Guid::from_fields(
    0xC12A_7328,
    0xF81F,
    0x11D2,
    [0xBA, 0x4B, 0x00, 0xA0, 0xC9, 0x3E, 0xC9, 0x3B],
);

/// Linux filesystem data (Discoverable Partitions Specification; sgdisk type 8300).
pub const LINUX_FILESYSTEM: Guid = Guid::from_fields(
    0x0FC6_3DAF,
    0x8483,
    0x4772,
    [0x8E, 0x79, 0x3D, 0x69, 0xD8, 0x47, 0x7D, 0xE4],
);

/// Extended Boot Loader Partition, XBOOTLDR (Boot Loader Specification; sgdisk type ea00).
pub const XBOOTLDR: Guid = Guid::from_fields(
    0xBC13_C2FF,
    0x59E6,
    0x4262,
    [0xA3, 0x52, 0xB2, 0x75, 0xFD, 0x6F, 0x71, 0x72],
);

impl Guid {
    /// The all-zero GUID, which marks an unused GPT entry.
    pub const ZERO: Guid = Guid([0; 16]);

    /// A GUID from its 16 stored bytes.
    pub const fn from_bytes(bytes: [u8; 16]) -> Guid {
        Guid(bytes)
    }

    /// A GUID from the fields of its text form: `data1-data2-data3-data4[0..2]-data4[2..8]`.
    pub const fn from_fields(data1: u32, data2: u16, data3: u16, data4: [u8; 8]) -> Guid {
        let d1 = data1.to_le_bytes();
        let d2 = data2.to_le_bytes();
        let d3 = data3.to_le_bytes();
        Guid([
            d1[0], d1[1], d1[2], d1[3], d2[0], d2[1], d3[0], d3[1], data4[0], data4[1], data4[2], data4[3], data4[4],
            data4[5], data4[6], data4[7],
        ])
    }

    /// The 16 stored bytes (as a device path or a GPT entry holds them).
    pub const fn to_bytes(self) -> [u8; 16] {
        self.0
    }

    /// Whether all sixteen bytes are zero (an unused GPT entry's type).
    pub fn is_zero(&self) -> bool {
        self.0 == [0; 16]
    }

    /// Parses the text form `XXXXXXXX-XXXX-XXXX-XXXX-XXXXXXXXXXXX` (either case).
    pub fn parse(text: &str) -> Option<Guid> {
        let text = text.as_bytes();
        if text.len() != 36 {
            return None;
        }
        // The text form holds the bytes in display order: data1..data3 big-endian.
        let mut display = [0u8; 16];
        let mut digits = text.iter().enumerate().filter(|&(i, _)| !is_dash_position(i));
        for byte in &mut display {
            let (_, &hi) = digits.next()?;
            let (_, &lo) = digits.next()?;
            *byte = hex_value(hi)? << 4 | hex_value(lo)?;
        }
        if !DASH_POSITIONS.iter().all(|&i| text.get(i) == Some(&b'-')) {
            return None;
        }
        let [a0, a1, a2, a3, b0, b1, c0, c1, d0, d1, d2, d3, d4, d5, d6, d7] = display;
        Some(Guid::from_fields(
            u32::from_be_bytes([a0, a1, a2, a3]),
            u16::from_be_bytes([b0, b1]),
            u16::from_be_bytes([c0, c1]),
            [d0, d1, d2, d3, d4, d5, d6, d7],
        ))
    }

    /// The bytes in the order the text form shows them.
    fn display_bytes(&self) -> [u8; 16] {
        let b = self.0;
        [
            b[3], b[2], b[1], b[0], b[5], b[4], b[7], b[6], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15],
        ]
    }

    fn write_text(&self, f: &mut fmt::Formatter<'_>, upper: bool) -> fmt::Result {
        for (i, byte) in self.display_bytes().iter().enumerate() {
            if matches!(i, 4 | 6 | 8 | 10) {
                f.write_str("-")?;
            }
            if upper {
                write!(f, "{byte:02X}")?;
            } else {
                write!(f, "{byte:02x}")?;
            }
        }
        Ok(())
    }
}

const DASH_POSITIONS: [usize; 4] = [8, 13, 18, 23];

fn is_dash_position(i: usize) -> bool {
    DASH_POSITIONS.contains(&i)
}

fn hex_value(digit: u8) -> Option<u8> {
    (digit as char).to_digit(16).map(|v| v as u8)
}

/// The canonical text form in upper case, as the UEFI spec and sgdisk print it.
impl fmt::Display for Guid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.write_text(f, true)
    }
}

impl fmt::UpperHex for Guid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.write_text(f, true)
    }
}

/// The text form in lower case, as Linux shows PARTUUIDs.
impl fmt::LowerHex for Guid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.write_text(f, false)
    }
}

impl fmt::Debug for Guid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Guid({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::format;

    #[test]
    fn stores_first_three_fields_little_endian() {
        assert_eq!(
            EFI_SYSTEM_PARTITION.to_bytes(),
            [0x28, 0x73, 0x2A, 0xC1, 0x1F, 0xF8, 0xD2, 0x11, 0xBA, 0x4B, 0x00, 0xA0, 0xC9, 0x3E, 0xC9, 0x3B]
        );
    }

    #[test]
    fn displays_canonical_text_form() {
        assert_eq!(
            format!("{EFI_SYSTEM_PARTITION}"),
            "C12A7328-F81F-11D2-BA4B-00A0C93EC93B"
        );
        assert_eq!(format!("{LINUX_FILESYSTEM:x}"), "0fc63daf-8483-4772-8e79-3d69d8477de4");
        assert_eq!(format!("{XBOOTLDR}"), "BC13C2FF-59E6-4262-A352-B275FD6F7172");
    }

    #[test]
    fn parses_what_it_displays_in_either_case() {
        for guid in [EFI_SYSTEM_PARTITION, LINUX_FILESYSTEM, XBOOTLDR] {
            assert_eq!(Guid::parse(&format!("{guid}")), Some(guid));
            assert_eq!(Guid::parse(&format!("{guid:x}")), Some(guid));
        }
    }

    #[test]
    fn rejects_malformed_text() {
        for text in [
            "",
            "C12A7328F81F11D2BA4B00A0C93EC93B",
            "C12A7328-F81F-11D2-BA4B-00A0C93EC93",
            "C12A7328-F81F-11D2-BA4B-00A0C93EC93BX",
            "C12A7328-F81F-11D2+BA4B-00A0C93EC93B",
            "G12A7328-F81F-11D2-BA4B-00A0C93EC93B",
            "C12A7328-F81F-11D2-BA4B-00A0C93EC9éB",
        ] {
            assert_eq!(Guid::parse(text), None, "{text}");
        }
    }
}
