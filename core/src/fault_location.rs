//! Which code an exception interrupted, for the one-line report the exception
//! handlers print: the loaded image that holds the faulting instruction (its
//! file path and the offset inside it), or the firmware itself, and the image
//! StartImage entered last.
//!
//! The handlers run in whatever state the fault left: nothing here allocates
//! or locks, and the file path is written straight from its device-path bytes
//! (UEFI 2.10 §10.3.5.4, FILE_PATH media nodes).
#![forbid(unsafe_code)]

use crate::handles::device_path;
use core::fmt;
use core::ops::Range;

/// Media device path (UEFI 2.10 §10.3.5).
const MEDIA_DEVICE_PATH: u8 = 4;
/// File path media node (§10.3.5.4): a NUL-terminated UCS-2 path.
const MEDIA_FILE_PATH: u8 = 4;

/// What an image is called in the report.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ImageName<'a> {
    /// Loaded from a file: the file part of its device path (LoadedImage.FilePath).
    File(&'a [u8]),
    /// An application compiled into the firmware (the boot manager, the loaders).
    BuiltIn,
    /// Loaded from a buffer without a file path.
    Memory,
}

impl fmt::Display for ImageName<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ImageName::File(path) => write_file_path(f, path),
            ImageName::BuiltIn => f.write_str("the firmware's built-in boot manager"),
            ImageName::Memory => f.write_str("an image loaded from memory"),
        }
    }
}

/// Writes the FILE_PATH nodes of `path` joined with backslashes; a path with
/// other nodes, or none, is written as `<device path>`.
fn write_file_path(f: &mut fmt::Formatter<'_>, path: &[u8]) -> fmt::Result {
    let is_file_path = |n: &device_path::Node<'_>| n.kind() == MEDIA_DEVICE_PATH && n.sub_type() == MEDIA_FILE_PATH;
    let usable = device_path::nodes(path)
        .take_while(|n| n.as_ref().is_ok_and(|n| !n.is_end()))
        .all(|n| n.is_ok_and(|n| is_file_path(&n)));
    let has_node = device_path::nodes(path)
        .next()
        .is_some_and(|n| n.is_ok_and(|n| !n.is_end()));
    if !usable || !has_node {
        return f.write_str("<device path>");
    }
    let mut last = None;
    for node in device_path::nodes(path)
        .map_while(Result::ok)
        .take_while(|n| !n.is_end())
    {
        let units = fw_drivers::bytes::utf16_units(node.data());
        let mut first = true;
        for c in char::decode_utf16(units) {
            let c = c.unwrap_or(char::REPLACEMENT_CHARACTER);
            if first && c != '\\' && last.is_some_and(|l| l != '\\') {
                f.write_str("\\")?;
            }
            first = false;
            fmt::Write::write_char(f, c)?;
            last = Some(c);
        }
    }
    Ok(())
}

/// One loaded image as the lookup sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ImageSpan<'a> {
    /// Where the image was loaded.
    pub base: u64,
    /// LoadedImage.ImageSize: the PE image's SizeOfImage.
    pub size: u64,
    /// The image's file name, for the report.
    pub name: ImageName<'a>,
}

impl ImageSpan<'_> {
    /// Whether `address` is in `[base, base + size)`.
    pub fn contains(&self, address: u64) -> bool {
        address >= self.base && address - self.base < self.size
    }
}

/// Where an address lies.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Location<'a> {
    /// Inside a loaded image, `offset` bytes from its base.
    Image {
        /// The image.
        image: ImageSpan<'a>,
        /// Bytes from its base.
        offset: u64,
    },
    /// Inside the firmware's own image (built-in applications included).
    Firmware {
        /// Bytes from the firmware image's start.
        offset: u64,
    },
    /// Neither; `images_known` is false when the image list could not be read
    /// (the fault interrupted code that was changing it).
    Unknown {
        /// The address itself.
        address: u64,
        /// Whether the image list could be read.
        images_known: bool,
    },
}

/// Looks `address` up among `images` and the firmware's `firmware` range.
/// Built-in images live inside the firmware and are reported as the firmware.
pub fn locate<'a>(address: u64, firmware: Range<u64>, images: impl IntoIterator<Item = ImageSpan<'a>>) -> Location<'a> {
    if let Some(image) = images
        .into_iter()
        .filter(|i| i.name != ImageName::BuiltIn)
        .find(|i| i.contains(address))
    {
        return Location::Image {
            image,
            offset: address - image.base,
        };
    }
    if firmware.contains(&address) {
        return Location::Firmware {
            offset: address - firmware.start,
        };
    }
    Location::Unknown {
        address,
        images_known: true,
    }
}

impl Location<'_> {
    /// The image whose code faulted, when it is a loaded (not built-in) image.
    pub fn image(&self) -> Option<&ImageSpan<'_>> {
        match self {
            Location::Image { image, .. } => Some(image),
            _ => None,
        }
    }
}

impl fmt::Display for Location<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Location::Image { image, offset } => {
                write!(
                    f,
                    "{} + {offset:#x} (image at {:#x}, size {:#x}",
                    image.name, image.base, image.size
                )
            }
            Location::Firmware { offset } => write!(f, "the firmware + {offset:#x} ("),
            Location::Unknown {
                address,
                images_known: true,
            } => write!(f, "code at {address:#x}, outside the firmware and every loaded image ("),
            Location::Unknown {
                address,
                images_known: false,
            } => write!(
                f,
                "code at {address:#x}, outside the firmware (the image list was busy; "
            ),
        }
    }
}

/// Which image StartImage entered last and has not returned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Running<'a> {
    /// That image, by name.
    Image(ImageName<'a>),
    /// No image runs: the firmware itself faulted before or between images.
    Nothing,
    /// The list was being changed when the fault came.
    Unknown,
}

impl fmt::Display for Running<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Running::Image(name) => write!(f, "running: {name}"),
            Running::Nothing => f.write_str("no image running"),
            Running::Unknown => f.write_str("running image unknown"),
        }
    }
}

/// How the faulting access touched memory.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// A load.
    Read,
    /// A store.
    Write,
    /// An instruction fetch.
    Execute,
}

impl Access {
    /// From a page fault's error code (Intel SDM vol. 3A §4.7, Figure 4-12):
    /// bit 4 I/D (instruction fetch), bit 1 W/R (write).
    pub fn of_x86_page_fault(error_code: u64) -> Access {
        if error_code & (1 << 4) != 0 {
            Access::Execute
        } else if error_code & (1 << 1) != 0 {
            Access::Write
        } else {
            Access::Read
        }
    }

    /// From ESR_EL1 for an abort (Arm ARM D19.2.41): an instruction abort
    /// (EC 0x20/0x21) is a fetch; a data abort (EC 0x24/0x25) writes when
    /// ISS.WnR (bit 6) is set. Other classes have no access.
    pub fn of_arm_abort(esr: u64) -> Option<Access> {
        match (esr >> 26) & 0x3f {
            0x20 | 0x21 => Some(Access::Execute),
            0x24 | 0x25 if esr & (1 << 6) != 0 => Some(Access::Write),
            0x24 | 0x25 => Some(Access::Read),
            _ => None,
        }
    }

    /// From scause (RISC-V Privileged Architecture, "Supervisor cause register
    /// (scause) values after trap"): instruction, load and store/AMO access
    /// and page faults have an access (stval holds the address); nothing else.
    pub fn of_riscv_cause(scause: u64) -> Option<Access> {
        if scause >> 63 != 0 {
            return None;
        }
        match scause {
            1 | 12 => Some(Access::Execute),
            5 | 13 => Some(Access::Read),
            7 | 15 => Some(Access::Write),
            _ => None,
        }
    }
}

impl fmt::Display for Access {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Access::Read => "read",
            Access::Write => "write",
            Access::Execute => "instruction fetch",
        })
    }
}

/// The report's summary line, without its line end:
/// `exception: page fault at 0x7e0000000000 (write) in \EFI\BOOT\BOOTX64.EFI
/// + 0x1a2b (image at 0x..., size 0x..., running: \EFI\BOOT\BOOTX64.EFI)`.
pub struct Summary<'a> {
    /// What the CPU reported (`page fault`, `data abort`).
    pub exception: &'a str,
    /// The data address and how it was accessed, for memory faults.
    pub access: Option<(u64, Access)>,
    /// Where the faulting instruction is.
    pub location: Location<'a>,
    /// Which image was running when the fault came.
    pub running: Running<'a>,
}

impl fmt::Display for Summary<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "exception: {}", self.exception)?;
        if let Some((address, access)) = self.access {
            write!(f, " at {address:#x} ({access})")?;
        }
        write!(f, " in {}", self.location)?;
        if matches!(self.location, Location::Image { .. }) {
            f.write_str(", ")?;
        }
        write!(f, "{})", self.running)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::string::ToString;
    use std::vec::Vec;

    /// A device path of FILE_PATH nodes, one per part, and an End Entire node.
    fn file_path(parts: &[&str]) -> Vec<u8> {
        let mut path = Vec::new();
        for part in parts {
            let units: Vec<u16> = part.encode_utf16().chain([0]).collect();
            path.extend([MEDIA_DEVICE_PATH, MEDIA_FILE_PATH]);
            path.extend(((4 + 2 * units.len()) as u16).to_le_bytes());
            path.extend(units.iter().flat_map(|u| u.to_le_bytes()));
        }
        path.extend([0x7f, 0xff, 4, 0]);
        path
    }

    const FIRMWARE: Range<u64> = 0x10_0000..0x20_0000;

    #[test]
    fn an_address_inside_a_loaded_image_gives_its_file_and_offset() {
        let path = file_path(&["\\EFI\\BOOT\\BOOTX64.EFI"]);
        let images = [
            ImageSpan {
                base: 0x10_0000,
                size: 0x10_0000,
                name: ImageName::BuiltIn,
            },
            ImageSpan {
                base: 0x4000_0000,
                size: 0x2_0000,
                name: ImageName::File(&path),
            },
        ];
        let location = locate(0x4000_1a2b, FIRMWARE, images);
        assert_eq!(
            location,
            Location::Image {
                image: images[1],
                offset: 0x1a2b
            }
        );
        let summary = Summary {
            exception: "page fault",
            access: Some((0x7e00_0000_0000, Access::Write)),
            location,
            running: Running::Image(ImageName::File(&path)),
        };
        assert_eq!(
            summary.to_string(),
            "exception: page fault at 0x7e0000000000 (write) in \\EFI\\BOOT\\BOOTX64.EFI + 0x1a2b \
             (image at 0x40000000, size 0x20000, running: \\EFI\\BOOT\\BOOTX64.EFI)"
        );
    }

    #[test]
    fn an_image_ends_before_base_plus_size() {
        let images = [ImageSpan {
            base: 0x4000_0000,
            size: 0x2_0000,
            name: ImageName::Memory,
        }];
        assert!(matches!(
            locate(0x4001_ffff, FIRMWARE, images),
            Location::Image { offset: 0x1_ffff, .. }
        ));
        assert_eq!(
            locate(0x4002_0000, FIRMWARE, images),
            Location::Unknown {
                address: 0x4002_0000,
                images_known: true
            }
        );
        assert_eq!(
            locate(0x3fff_ffff, FIRMWARE, images),
            Location::Unknown {
                address: 0x3fff_ffff,
                images_known: true
            }
        );
    }

    #[test]
    fn built_in_images_are_reported_as_the_firmware() {
        let images = [ImageSpan {
            base: FIRMWARE.start,
            size: FIRMWARE.end - FIRMWARE.start,
            name: ImageName::BuiltIn,
        }];
        let summary = Summary {
            exception: "general protection fault",
            access: None,
            location: locate(0x12_3456, FIRMWARE, images),
            running: Running::Image(ImageName::BuiltIn),
        };
        assert_eq!(
            summary.to_string(),
            "exception: general protection fault in the firmware + 0x23456 \
             (running: the firmware's built-in boot manager)"
        );
    }

    #[test]
    fn a_fault_outside_everything_says_so() {
        let summary = Summary {
            exception: "invalid opcode",
            access: None,
            location: locate(0xdead_0000, FIRMWARE, []),
            running: Running::Nothing,
        };
        assert_eq!(
            summary.to_string(),
            "exception: invalid opcode in code at 0xdead0000, outside the firmware and every loaded image \
             (no image running)"
        );
    }

    #[test]
    fn a_busy_image_list_is_said() {
        let summary = Summary {
            exception: "page fault",
            access: Some((0x10, Access::Read)),
            location: Location::Unknown {
                address: 0x5000_0000,
                images_known: false,
            },
            running: Running::Unknown,
        };
        assert_eq!(
            summary.to_string(),
            "exception: page fault at 0x10 (read) in code at 0x50000000, outside the firmware \
             (the image list was busy; running image unknown)"
        );
    }

    #[test]
    fn file_path_nodes_are_joined_with_one_backslash() {
        let path = file_path(&["\\EFI", "BOOT", "\\grubx64.efi"]);
        assert_eq!(ImageName::File(&path).to_string(), "\\EFI\\BOOT\\grubx64.efi");
        let trailing = file_path(&["\\EFI\\", "shim.efi"]);
        assert_eq!(ImageName::File(&trailing).to_string(), "\\EFI\\shim.efi");
    }

    #[test]
    fn a_path_that_is_not_only_file_nodes_is_not_guessed_at() {
        let mut path = std::vec![1, 1, 6, 0, 0, 0];
        path.extend(file_path(&["\\a.efi"]));
        assert_eq!(ImageName::File(&path).to_string(), "<device path>");
        assert_eq!(ImageName::File(&[1, 2, 3]).to_string(), "<device path>");
        assert_eq!(ImageName::File(&[0x7f, 0xff, 4, 0]).to_string(), "<device path>");
    }

    #[test]
    fn access_kinds_come_from_the_architectures_fault_syndromes() {
        // x86: P=1, W/R=1 (write to a present page); I/D=1 (fetch); 0 (read).
        assert_eq!(Access::of_x86_page_fault(0b00011), Access::Write);
        assert_eq!(Access::of_x86_page_fault(0b10000), Access::Execute);
        assert_eq!(Access::of_x86_page_fault(0b00000), Access::Read);
        // Arm: EC 0x25 with WnR set, without, EC 0x21, and an SVC (EC 0x15).
        assert_eq!(Access::of_arm_abort(0x9600_0044), Some(Access::Write));
        assert_eq!(Access::of_arm_abort(0x9600_0004), Some(Access::Read));
        assert_eq!(Access::of_arm_abort(0x8600_000f), Some(Access::Execute));
        assert_eq!(Access::of_arm_abort(0x5600_0000), None);
        // RISC-V: store page fault, load access fault, instruction page fault,
        // illegal instruction, and the supervisor timer interrupt (code 5 too).
        assert_eq!(Access::of_riscv_cause(15), Some(Access::Write));
        assert_eq!(Access::of_riscv_cause(5), Some(Access::Read));
        assert_eq!(Access::of_riscv_cause(12), Some(Access::Execute));
        assert_eq!(Access::of_riscv_cause(2), None);
        assert_eq!(Access::of_riscv_cause((1 << 63) | 5), None);
    }
}
