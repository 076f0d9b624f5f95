//! SMBIOS tables handed on from the VMM: the entry points (DMTF DSP0134 3.x §5.2.1
//! "SMBIOS 2.1 (32-bit) Entry Point", §5.2.2 "SMBIOS 3.0 (64-bit) Entry Point"), found
//! on a 16-byte boundary in the PC BIOS area 0xF0000-0xFFFFF (§5.2.1, §5.2.2 "On
//! non-UEFI systems"), and the structure table they point to (§6.1.2 structure header,
//! §6.1.3 text strings, §7.45 end-of-table, type 127).
//!
//! A [`Smbios`] is a checked copy of one structure table with the entry point(s)
//! that described it. It comes from a source — the BIOS area that SeaBIOS (QEMU) or
//! Cloud Hypervisor filled ([`Smbios::from_bios_area`]), or an entry point and a
//! buffer of structures a VMM hands over otherwise, such as QEMU's fw_cfg files
//! ([`Smbios::from_parts`]) — and is turned into one block of bytes for a given
//! address ([`Smbios::image`]): the entry points with that address and their
//! checksums recomputed, followed by the structures. The firmware puts that block in
//! runtime services data and installs the entry points as EFI configuration tables
//! (UEFI 2.10 §4.6, `SMBIOS_TABLE_GUID`, `SMBIOS3_TABLE_GUID`), so the OS never
//! depends on how the VMM's memory map describes the BIOS area.
#![forbid(unsafe_code)]

use crate::acpi::PhysMemory;
use crate::bytes::LeFields;
use alloc::vec::Vec;
use core::fmt;
use core::ops::Range;

/// The 2.1 entry point's anchor string (§5.2.1, offset 00h).
pub const ANCHOR_32: [u8; 4] = *b"_SM_";
/// The 2.1 entry point's intermediate anchor string (§5.2.1, offset 10h).
pub const INTERMEDIATE_ANCHOR: [u8; 5] = *b"_DMI_";
/// The 3.0 entry point's anchor string (§5.2.2, offset 00h).
pub const ANCHOR_64: [u8; 5] = *b"_SM3_";

/// Where a PC firmware leaves its entry points (§5.2.1: "searching for the anchor
/// string on paragraph (16-byte) boundaries within the physical memory address
/// range 000F0000h to 000FFFFFh").
pub const BIOS_AREA: Range<u64> = 0xF_0000..0x10_0000;
/// The anchor's alignment in [`BIOS_AREA`].
const ANCHOR_ALIGN: usize = 16;

/// `Entry Point Length` of a 2.1 entry point is 1Fh; SMBIOS 2.1 itself wrote 1Eh
/// (the erratum §5.2.1 mentions), which readers accept.
const LENGTH_32: Range<u8> = 0x1E..0x20;
/// `Entry Point Length` of a 3.0 entry point is 18h; later revisions may grow it.
const MIN_LENGTH_64: u8 = 0x18;
/// Longest entry point handed on: the space [`Smbios::image`] leaves for each.
const MAX_ENTRY_POINT: usize = 0x20;
/// The intermediate checksum covers the 0Fh bytes from the intermediate anchor.
const INTERMEDIATE_RANGE: Range<usize> = 0x10..0x1F;

/// Offsets of the fields that [`Smbios::image`] rewrites.
const CHECKSUM_32: usize = 0x04;
const INTERMEDIATE_CHECKSUM: usize = 0x15;
const TABLE_LENGTH_32: usize = 0x16;
const TABLE_ADDRESS_32: usize = 0x18;
const CHECKSUM_64: usize = 0x05;
const TABLE_MAX_SIZE_64: usize = 0x0C;
const TABLE_ADDRESS_64: usize = 0x10;

/// A structure's header: type, length, handle (§6.1.2).
const STRUCTURE_HEADER: usize = 4;
/// The end-of-table structure's type (§7.45).
const END_OF_TABLE: u8 = 127;
/// Largest structure table accepted: real ones are a few KiB; this bounds what a
/// corrupt 3.0 `Structure Table Maximum Size` can make the firmware copy.
pub const MAX_TABLE_SIZE: u32 = 1 << 20;

/// The layout of [`Smbios::image`]: the 2.1 entry point, the 3.0 entry point, then
/// the structures. Entry points are 16-byte aligned, as readers scanning memory
/// expect.
pub const IMAGE_OFFSET_32: usize = 0;
/// Where the 3.0 (`_SM3_`) entry point is in the image.
pub const IMAGE_OFFSET_64: usize = IMAGE_OFFSET_32 + MAX_ENTRY_POINT;
/// Where the structure table is in the image.
pub const IMAGE_OFFSET_STRUCTURES: usize = IMAGE_OFFSET_64 + MAX_ENTRY_POINT;

/// QEMU's fw_cfg file with the entry point (address and checksums left zero).
pub const FW_CFG_ANCHOR: &str = "etc/smbios/smbios-anchor";
/// QEMU's fw_cfg file with the structure table.
pub const FW_CFG_TABLES: &str = "etc/smbios/smbios-tables";

/// Why SMBIOS tables were not taken.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Error {
    /// No anchor string on a 16-byte boundary of the area.
    NotFound {
        /// The memory searched.
        area: Range<u64>,
    },
    /// The bytes do not start with `_SM_` or `_SM3_`.
    NoAnchor,
    /// The entry point is shorter than its fields, or says it is.
    BadEntryPointLength {
        /// The entry point's anchor.
        anchor: &'static str,
        /// Its length.
        length: usize,
    },
    /// The bytes of the entry point (or, for `_DMI_`, of its intermediate part) do not
    /// sum to zero.
    BadChecksum {
        /// The entry point's anchor.
        anchor: &'static str,
    },
    /// A 2.1 entry point without `_DMI_` at offset 10h.
    NoIntermediateAnchor,
    /// The entry point describes an empty structure table.
    EmptyTable,
    /// The structure table is larger than [`MAX_TABLE_SIZE`].
    TableTooLarge {
        /// The table's length.
        length: u64,
    },
    /// The structure table does not lie within memory the VMM described.
    TableOutsideMemory {
        /// The table's address.
        address: u64,
        /// Its length.
        length: u64,
    },
    /// Fewer structure bytes were handed over than the entry point announces.
    TableTruncated {
        /// The length announced.
        length: u64,
        /// The bytes handed over.
        available: u64,
    },
    /// A structure's formatted area is shorter than its header (§6.1.2).
    BadStructureLength {
        /// Where the structure starts in the table.
        offset: usize,
        /// Its `Length`.
        length: u8,
    },
    /// A structure (formatted area or strings) runs past the end of the table.
    StructureTruncated {
        /// Where the structure starts in the table.
        offset: usize,
    },
    /// The copy would place the structures where a 2.1 entry point cannot point
    /// (its address field has 32 bits).
    AddressTooHigh {
        /// Where the structures would go.
        address: u64,
    },
    /// QEMU's fw_cfg offers one of the two SMBIOS files without the other.
    MissingFwCfgFile {
        /// The file that is missing.
        name: &'static str,
    },
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::NotFound { area } => write!(
                f,
                "no _SM_ or _SM3_ entry point in {:#x}-{:#x}",
                area.start,
                area.end.saturating_sub(1)
            ),
            Error::NoAnchor => f.write_str("the entry point has neither _SM_ nor _SM3_ as anchor"),
            Error::BadEntryPointLength { anchor, length } => {
                write!(f, "{anchor} entry point has an invalid length of {length} bytes")
            }
            Error::BadChecksum { anchor } => write!(f, "{anchor} checksum does not sum to zero"),
            Error::NoIntermediateAnchor => f.write_str("_SM_ entry point without _DMI_ at offset 0x10"),
            Error::EmptyTable => f.write_str("the entry point describes an empty structure table"),
            Error::TableTooLarge { length } => {
                write!(f, "structure table of {length} bytes is larger than {MAX_TABLE_SIZE}")
            }
            Error::TableOutsideMemory { address, length } => write!(
                f,
                "structure table at {address:#x}+{length:#x} is outside the memory the VMM described"
            ),
            Error::TableTruncated { length, available } => {
                write!(f, "structure table of {length} bytes, but only {available} were given")
            }
            Error::BadStructureLength { offset, length } => write!(
                f,
                "structure at offset {offset:#x} has a length of {length}, shorter than its header"
            ),
            Error::StructureTruncated { offset } => {
                write!(f, "structure at offset {offset:#x} runs past the end of the table")
            }
            Error::AddressTooHigh { address } => {
                write!(f, "structures at {address:#x} are out of reach of a 32-bit entry point")
            }
            Error::MissingFwCfgFile { name } => {
                write!(f, "fw_cfg offers the other SMBIOS file but not {name}")
            }
        }
    }
}

/// Which entry point format (§5.2.1 or §5.2.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// `_SM_`, 32-bit structure table address.
    Smbios2,
    /// `_SM3_`, 64-bit structure table address.
    Smbios3,
}

impl Kind {
    fn anchor(self) -> &'static str {
        match self {
            Kind::Smbios2 => "_SM_",
            Kind::Smbios3 => "_SM3_",
        }
    }
}

/// Whether [`EntryPoint::parse`] insists on valid checksums.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Checksums {
    /// An entry point found in memory: its checksums must hold.
    Verify,
    /// An entry point whose table address is filled in by the firmware (QEMU's
    /// `etc/smbios/smbios-anchor` fw_cfg file comes with address and checksums
    /// left for the firmware): [`Smbios::image`] computes them anyway.
    Recompute,
}

/// A checked entry point.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EntryPoint {
    /// Which entry point (2.1 or 3.0).
    pub kind: Kind,
    /// The SMBIOS major version.
    pub major: u8,
    /// The SMBIOS minor version.
    pub minor: u8,
    /// The structure table's address as the entry point gives it.
    pub table_address: u64,
    /// `Structure Table Length` (2.1) or `Structure Table Maximum Size` (3.0).
    pub table_length: u32,
    /// `Entry Point Length`: how many bytes the checksum covers.
    covered: usize,
    /// The entry point's bytes (all of its fields).
    bytes: Vec<u8>,
}

fn sum(bytes: &[u8]) -> u8 {
    bytes.iter().fold(0u8, |a, b| a.wrapping_add(*b))
}

impl EntryPoint {
    /// Checks the entry point at the start of `bytes` (which may run on past it).
    pub fn parse(bytes: &[u8], checksums: Checksums) -> Result<EntryPoint, Error> {
        let kind = if bytes.starts_with(&ANCHOR_64) {
            Kind::Smbios3
        } else if bytes.starts_with(&ANCHOR_32) {
            Kind::Smbios2
        } else {
            return Err(Error::NoAnchor);
        };
        let anchor = kind.anchor();
        let length_at = match kind {
            Kind::Smbios2 => 0x05,
            Kind::Smbios3 => 0x06,
        };
        let length = *bytes.get(length_at).ok_or(Error::BadEntryPointLength {
            anchor,
            length: bytes.len(),
        })?;
        let length_ok = match kind {
            Kind::Smbios2 => LENGTH_32.contains(&length),
            Kind::Smbios3 => (MIN_LENGTH_64..=MAX_ENTRY_POINT as u8).contains(&length),
        };
        let bad_length = Error::BadEntryPointLength {
            anchor,
            length: usize::from(length),
        };
        if !length_ok {
            return Err(bad_length);
        }
        let covered = usize::from(length);
        // An 1Eh-long 2.1 entry point still has the 1Fh bytes of its fields.
        let span = match kind {
            Kind::Smbios2 => covered.max(INTERMEDIATE_RANGE.end),
            Kind::Smbios3 => covered,
        };
        let ep = bytes.get(..span).ok_or(Error::BadEntryPointLength {
            anchor,
            length: bytes.len(),
        })?;
        if kind == Kind::Smbios2 && !ep[INTERMEDIATE_RANGE].starts_with(&INTERMEDIATE_ANCHOR) {
            return Err(Error::NoIntermediateAnchor);
        }
        if checksums == Checksums::Verify {
            if sum(&ep[..covered]) != 0 {
                return Err(Error::BadChecksum { anchor });
            }
            if kind == Kind::Smbios2 && sum(&ep[INTERMEDIATE_RANGE]) != 0 {
                return Err(Error::BadChecksum { anchor: "_DMI_" });
            }
        }
        let (major, minor, table_address, table_length) = match kind {
            Kind::Smbios2 => (
                ep[0x06],
                ep[0x07],
                ep.u32_le(TABLE_ADDRESS_32).map(u64::from),
                ep.u16_le(TABLE_LENGTH_32).map(u32::from),
            ),
            Kind::Smbios3 => (
                ep[0x07],
                ep[0x08],
                ep.u64_le(TABLE_ADDRESS_64),
                ep.u32_le(TABLE_MAX_SIZE_64),
            ),
        };
        let (Some(table_address), Some(table_length)) = (table_address, table_length) else {
            return Err(Error::BadEntryPointLength {
                anchor,
                length: ep.len(),
            });
        };
        if table_length == 0 {
            return Err(Error::EmptyTable);
        }
        if table_length > MAX_TABLE_SIZE {
            return Err(Error::TableTooLarge {
                length: u64::from(table_length),
            });
        }
        Ok(EntryPoint {
            kind,
            major,
            minor,
            table_address,
            table_length,
            covered,
            bytes: ep.to_vec(),
        })
    }

    /// The entry point's bytes with the structures at `address` and its
    /// checksums made right.
    fn relocated(&self, address: u64) -> Result<Vec<u8>, Error> {
        let mut ep = self.bytes.clone();
        match self.kind {
            Kind::Smbios2 => {
                let address = u32::try_from(address).map_err(|_| Error::AddressTooHigh { address })?;
                ep[TABLE_ADDRESS_32..TABLE_ADDRESS_32 + 4].copy_from_slice(&address.to_le_bytes());
                ep[INTERMEDIATE_CHECKSUM] = 0;
                ep[INTERMEDIATE_CHECKSUM] = 0u8.wrapping_sub(sum(&ep[INTERMEDIATE_RANGE]));
                ep[CHECKSUM_32] = 0;
                ep[CHECKSUM_32] = 0u8.wrapping_sub(sum(&ep[..self.covered]));
            }
            Kind::Smbios3 => {
                ep[TABLE_ADDRESS_64..TABLE_ADDRESS_64 + 8].copy_from_slice(&address.to_le_bytes());
                ep[CHECKSUM_64] = 0;
                ep[CHECKSUM_64] = 0u8.wrapping_sub(sum(&ep));
            }
        }
        Ok(ep)
    }
}

/// What a walk over the structures found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StructureSummary {
    /// Structures up to and including the end-of-table structure.
    pub count: usize,
    /// Whether an end-of-table structure (type 127) was met.
    pub end_of_table: bool,
}

/// Walks the structures of `table` (§6.1.2, §6.1.3): each header's length covers at
/// least the header, and each formatted area and its string-set (ending in two
/// zero bytes) lies inside the table. Stops after an end-of-table structure; fewer
/// bytes than a header after the last structure are padding.
pub fn walk_structures(table: &[u8]) -> Result<StructureSummary, Error> {
    let mut offset = 0;
    let mut count = 0;
    while table.len() - offset >= STRUCTURE_HEADER {
        let (ty, length) = (table[offset], table[offset + 1]);
        if usize::from(length) < STRUCTURE_HEADER {
            return Err(Error::BadStructureLength { offset, length });
        }
        let strings = offset + usize::from(length);
        // The string-set ends at the first pair of zero bytes after the formatted area.
        let end = table
            .get(strings..)
            .and_then(|rest| rest.windows(2).position(|w| w == [0, 0]))
            .map(|at| strings + at + 2)
            .ok_or(Error::StructureTruncated { offset })?;
        count += 1;
        offset = end;
        if ty == END_OF_TABLE {
            return Ok(StructureSummary {
                count,
                end_of_table: true,
            });
        }
    }
    Ok(StructureSummary {
        count,
        end_of_table: false,
    })
}

/// A checked SMBIOS structure table and the entry point(s) describing it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Smbios {
    smbios2: Option<EntryPoint>,
    smbios3: Option<EntryPoint>,
    structures: Vec<u8>,
    summary: StructureSummary,
    /// Where the preferred entry point was found, when it was found in memory.
    found_at: Option<u64>,
}

/// The bytes to place at some address, and where in them the entry points are.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Image {
    /// The entry points and the structures, laid out as [`IMAGE_OFFSET_32`] and the others say.
    pub bytes: Vec<u8>,
    /// Offset of the `_SM_` entry point, when there is one.
    pub smbios2: Option<usize>,
    /// Offset of the `_SM3_` entry point, when there is one.
    pub smbios3: Option<usize>,
}

impl Smbios {
    /// Finds the entry points on 16-byte boundaries of `area` (normally
    /// [`BIOS_AREA`]) and reads the structure table they point to, which must lie
    /// entirely in one of `memory_ranges` (the memory the VMM described, and the
    /// BIOS area itself). A 3.0 entry point is preferred; a 2.1 one found too is
    /// kept when it points to the same table. Entry points whose checks fail are
    /// skipped; the first failure is the error when none is left.
    pub fn from_bios_area(
        memory: &dyn PhysMemory,
        area: Range<u64>,
        memory_ranges: &[Range<u64>],
    ) -> Result<Smbios, Error> {
        let len = usize::try_from(area.end.saturating_sub(area.start)).unwrap_or(0);
        let bytes = memory
            .read(area.start, len)
            .ok_or(Error::NotFound { area: area.clone() })?;
        let mut first_error = None;
        let mut found = |kind: Kind| -> Option<(u64, EntryPoint)> {
            let anchor: &[u8] = match kind {
                Kind::Smbios2 => &ANCHOR_32,
                Kind::Smbios3 => &ANCHOR_64,
            };
            (0..bytes.len())
                .step_by(ANCHOR_ALIGN)
                .filter(|&at| bytes[at..].starts_with(anchor))
                .find_map(|at| match EntryPoint::parse(&bytes[at..], Checksums::Verify) {
                    Ok(ep) => Some((area.start + at as u64, ep)),
                    Err(e) => {
                        log::debug!(
                            "SMBIOS: skipping {} at {:#x}: {e}",
                            kind.anchor(),
                            area.start + at as u64
                        );
                        first_error.get_or_insert(e);
                        None
                    }
                })
        };
        let smbios3 = found(Kind::Smbios3);
        let smbios2 = found(Kind::Smbios2);
        let ((found_at, main), other) = match (smbios3, smbios2) {
            (Some(three), two) => (three, two.map(|(_, ep)| ep)),
            (None, Some(two)) => (two, None),
            (None, None) => return Err(first_error.unwrap_or(Error::NotFound { area })),
        };
        let length = u64::from(main.table_length);
        let table = main.table_address..main.table_address.saturating_add(length);
        let inside = memory_ranges
            .iter()
            .any(|r| r.start <= table.start && table.end <= r.end);
        let structures = if inside {
            usize::try_from(length)
                .ok()
                .and_then(|len| memory.read(table.start, len))
        } else {
            None
        }
        .ok_or(Error::TableOutsideMemory {
            address: main.table_address,
            length,
        })?;
        let other = other.filter(|o| o.table_address == main.table_address && o.table_length <= main.table_length);
        let (smbios2, smbios3) = match main.kind {
            Kind::Smbios3 => (other, Some(main)),
            Kind::Smbios2 => (Some(main), None),
        };
        let mut smbios = Smbios::new(smbios2, smbios3, structures.to_vec())?;
        smbios.found_at = Some(found_at);
        Ok(smbios)
    }

    /// An entry point and the structure table handed over apart from it (QEMU's
    /// fw_cfg files `etc/smbios/smbios-anchor` and `etc/smbios/smbios-tables`):
    /// the entry point's table address is ignored, its length must be covered by
    /// `structures`.
    pub fn from_parts(entry_point: &[u8], checksums: Checksums, mut structures: Vec<u8>) -> Result<Smbios, Error> {
        let ep = EntryPoint::parse(entry_point, checksums)?;
        let length = ep.table_length as usize;
        if structures.len() < length {
            return Err(Error::TableTruncated {
                length: length as u64,
                available: structures.len() as u64,
            });
        }
        structures.truncate(length);
        match ep.kind {
            Kind::Smbios2 => Smbios::new(Some(ep), None, structures),
            Kind::Smbios3 => Smbios::new(None, Some(ep), structures),
        }
    }

    /// The tables QEMU offers through fw_cfg (QEMU `hw/smbios`, read by edk2's
    /// SmbiosPlatformDxe the same way): [`FW_CFG_ANCHOR`] holds an entry point
    /// whose table address and checksums the firmware fills in, [`FW_CFG_TABLES`]
    /// the structures. `read` returns a file's contents. `Ok(None)` when neither
    /// file exists (`-machine virt,acpi=off` keeps them, other VMMs have no
    /// fw_cfg); one without the other is an error.
    pub fn from_fw_cfg(mut read: impl FnMut(&str) -> Option<Vec<u8>>) -> Result<Option<Smbios>, Error> {
        match (read(FW_CFG_ANCHOR), read(FW_CFG_TABLES)) {
            (None, None) => Ok(None),
            (Some(_), None) => Err(Error::MissingFwCfgFile { name: FW_CFG_TABLES }),
            (None, Some(_)) => Err(Error::MissingFwCfgFile { name: FW_CFG_ANCHOR }),
            (Some(anchor), Some(tables)) => Smbios::from_parts(&anchor, Checksums::Recompute, tables).map(Some),
        }
    }

    fn new(smbios2: Option<EntryPoint>, smbios3: Option<EntryPoint>, structures: Vec<u8>) -> Result<Smbios, Error> {
        let summary = walk_structures(&structures)?;
        Ok(Smbios {
            smbios2,
            smbios3,
            structures,
            summary,
            found_at: None,
        })
    }

    /// The entry point that describes the table best (3.0 when there is one).
    pub fn entry_point(&self) -> &EntryPoint {
        self.smbios3
            .as_ref()
            .or(self.smbios2.as_ref())
            .expect("a Smbios has at least one entry point")
    }

    /// Where [`Smbios::entry_point`] was found in memory ([`Smbios::from_bios_area`]).
    pub fn found_at(&self) -> Option<u64> {
        self.found_at
    }

    /// The 2.1 entry point, if the table has one.
    pub fn smbios2(&self) -> Option<&EntryPoint> {
        self.smbios2.as_ref()
    }

    /// The 3.0 entry point, if the table has one.
    pub fn smbios3(&self) -> Option<&EntryPoint> {
        self.smbios3.as_ref()
    }

    /// The structure table.
    pub fn structures(&self) -> &[u8] {
        &self.structures
    }

    /// What the structure table holds, for the log.
    pub fn summary(&self) -> StructureSummary {
        self.summary
    }

    /// How many bytes [`Smbios::image`] produces.
    pub fn image_len(&self) -> usize {
        IMAGE_OFFSET_STRUCTURES + self.structures.len()
    }

    /// The entry points and the structures as they are to be placed at `base`:
    /// the entry points point at the structures' new place, with their checksums
    /// recomputed. Fails when a 2.1 entry point could not reach the structures.
    pub fn image(&self, base: u64) -> Result<Image, Error> {
        let table_address = base
            .checked_add(IMAGE_OFFSET_STRUCTURES as u64)
            .ok_or(Error::AddressTooHigh { address: base })?;
        let mut bytes = alloc::vec![0u8; self.image_len()];
        let mut place = |ep: &Option<EntryPoint>, at: usize| -> Result<Option<usize>, Error> {
            let Some(ep) = ep else { return Ok(None) };
            let relocated = ep.relocated(table_address)?;
            bytes[at..at + relocated.len()].copy_from_slice(&relocated);
            Ok(Some(at))
        };
        let smbios2 = place(&self.smbios2, IMAGE_OFFSET_32)?;
        let smbios3 = place(&self.smbios3, IMAGE_OFFSET_64)?;
        bytes[IMAGE_OFFSET_STRUCTURES..].copy_from_slice(&self.structures);
        Ok(Image {
            bytes,
            smbios2,
            smbios3,
        })
    }
}

#[cfg(test)]
mod tests;
