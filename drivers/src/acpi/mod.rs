//! ACPI table lookup: the RSDP (ACPI 6.5 §5.2.5.3), the RSDT and XSDT (§5.2.7, §5.2.8)
//! with the common table header (§5.2.6). What the firmware reads from particular
//! tables lives beside it: `mcfg.rs` (PCI Express ECAM windows), `fadt.rs` (FADT
//! fields), `pm_timer.rs`, `hpet.rs`, `madt.rs` (the 8259s' presence), `power.rs` (reset and power off), `aml.rs`
//! (the `\_S5` object) and `extents.rs` (where the reachable structures lie).
//!
//! Memory is read through [`PhysMemory`], so host tests walk tables in a byte buffer and
//! the firmware walks them in identity-mapped RAM. Every length comes from the tables
//! themselves and is checked against what [`PhysMemory`] can give before it is used.
#![forbid(unsafe_code)]

mod aml;
mod extents;
mod fadt;
mod hpet;
mod madt;
mod mcfg;
mod pm_timer;
mod power;
#[cfg(test)]
mod tests;

pub use aml::s5_sleep_type;
pub use extents::{reachable_extents, Extent};
pub use fadt::FADT_SIGNATURE;
pub use hpet::{hpet, Hpet, HPET_SIGNATURE};
pub use madt::{has_dual_8259, MADT_SIGNATURE};
pub use mcfg::{parse_mcfg, EcamRegion};
pub use pm_timer::{pm_timer, PmTimer};
pub use power::{power_control, PowerControl};

use crate::bytes::LeFields;
use alloc::vec::Vec;
use core::fmt;
use log::{debug, warn};

/// Read access to physical memory.
pub trait PhysMemory {
    /// The `len` bytes at physical address `addr`, or `None` when they are not all
    /// readable.
    fn read(&self, addr: u64, len: usize) -> Option<&[u8]>;
}

/// "RSD PTR " (with the trailing space).
pub const RSDP_SIGNATURE: [u8; 8] = *b"RSD PTR ";
/// The Root System Description Table: 32-bit table addresses.
pub const RSDT_SIGNATURE: TableSignature = TableSignature(*b"RSDT");
/// The Extended System Description Table: 64-bit table addresses.
pub const XSDT_SIGNATURE: TableSignature = TableSignature(*b"XSDT");
/// The PCI Express memory-mapped configuration table.
pub const MCFG_SIGNATURE: TableSignature = TableSignature(*b"MCFG");

/// The ACPI 1.0 RSDP: up to and including `RsdtAddress`, covered by `Checksum`.
const RSDP_V1_LENGTH: usize = 20;
/// The ACPI 2.0+ RSDP, covered by `Extended Checksum`.
const RSDP_V2_LENGTH: usize = 36;
/// RSDP revision 0 is ACPI 1.0 (RSDT only); 2 and later add the XSDT.
const RSDP_REVISION_XSDT: u8 = 2;
/// The system description table header (§5.2.6).
pub const SDT_HEADER_LENGTH: usize = 36;
// Offsets in the RSDP (ACPI 6.5 Table 5.3).
const RSDP_OEMID: usize = 9;
const RSDP_REVISION: usize = 15;
const RSDP_RSDT_ADDRESS: usize = 16;
const RSDP_LENGTH: usize = 20;
const RSDP_XSDT_ADDRESS: usize = 24;

/// A table's four-character signature ("APIC", "MCFG", ...).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct TableSignature(pub [u8; 4]);

impl fmt::Display for TableSignature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for &byte in &self.0 {
            let c = if byte.is_ascii_graphic() || byte == b' ' {
                byte as char
            } else {
                '?'
            };
            write!(f, "{c}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for TableSignature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "\"{self}\"")
    }
}

/// Why a table could not be found or read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Error {
    /// The RSDP address does not hold "RSD PTR ".
    BadRsdpSignature {
        /// The RSDP's address.
        addr: u64,
    },
    /// The first 20 bytes of the RSDP do not sum to zero.
    BadRsdpChecksum {
        /// The RSDP's address.
        addr: u64,
    },
    /// The whole (ACPI 2.0+) RSDP does not sum to zero.
    BadRsdpExtendedChecksum {
        /// The RSDP's address.
        addr: u64,
    },
    /// An ACPI 2.0+ RSDP whose `Length` is too short for its fields.
    BadRsdpLength {
        /// The RSDP's address.
        addr: u64,
        /// Its `Length`.
        length: u32,
    },
    /// The RSDP gives no RSDT or XSDT address.
    NoRootTable {
        /// The RSDP's address.
        addr: u64,
    },
    /// Memory a table claims to occupy is not readable.
    Truncated {
        /// Where the memory starts.
        addr: u64,
        /// The bytes the table claims.
        len: usize,
    },
    /// A table's `Length` is shorter than its header (or than the table type needs).
    TableTooShort {
        /// The table's signature.
        signature: TableSignature,
        /// Its address.
        addr: u64,
        /// Its `Length`.
        length: u32,
    },
    /// The RSDT or XSDT address holds a table of another kind.
    WrongRootSignature {
        /// The root table's address.
        addr: u64,
        /// The signature expected there.
        expected: TableSignature,
        /// The one found.
        found: TableSignature,
    },
    /// A table's bytes do not sum to zero.
    TableChecksum {
        /// The table's signature.
        signature: TableSignature,
        /// Its address.
        addr: u64,
    },
    /// The RSDT/XSDT lists no table with this signature.
    TableNotFound {
        /// The signature looked for.
        signature: TableSignature,
    },
    /// The MCFG's length leaves a partial allocation structure.
    BadMcfgLength {
        /// The MCFG's `Length`.
        length: u32,
    },
    /// An MCFG allocation's end bus is below its start bus.
    BadEcamBusRange {
        /// The allocation's index.
        index: usize,
        /// Its start bus.
        start_bus: u8,
        /// Its end bus.
        end_bus: u8,
    },
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::BadRsdpSignature { addr } => {
                write!(f, "no \"RSD PTR \" signature at {addr:#x}")
            }
            Error::BadRsdpChecksum { addr } => write!(f, "RSDP at {addr:#x} has a bad checksum"),
            Error::BadRsdpExtendedChecksum { addr } => {
                write!(f, "RSDP at {addr:#x} has a bad extended checksum")
            }
            Error::BadRsdpLength { addr, length } => {
                write!(f, "RSDP at {addr:#x} has invalid length {length}")
            }
            Error::NoRootTable { addr } => {
                write!(f, "RSDP at {addr:#x} gives neither an RSDT nor an XSDT address")
            }
            Error::Truncated { addr, len } => {
                write!(f, "ACPI data at {addr:#x} ({len} bytes) is not readable")
            }
            Error::TableTooShort {
                signature,
                addr,
                length,
            } => write!(f, "ACPI table {signature} at {addr:#x} is too short ({length} bytes)"),
            Error::WrongRootSignature { addr, expected, found } => {
                write!(f, "expected the {expected} at {addr:#x}, found a table signed {found}")
            }
            Error::TableChecksum { signature, addr } => {
                write!(f, "ACPI table {signature} at {addr:#x} has a bad checksum")
            }
            Error::TableNotFound { signature } => write!(f, "no ACPI table {signature}"),
            Error::BadMcfgLength { length } => {
                write!(f, "MCFG length {length} does not hold whole allocation structures")
            }
            Error::BadEcamBusRange {
                index,
                start_bus,
                end_bus,
            } => write!(
                f,
                "MCFG allocation {index} ends at bus {end_bus} before its start bus {start_bus}"
            ),
        }
    }
}

/// The Root System Description Pointer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rsdp {
    /// Where the RSDP is.
    pub address: u64,
    /// 0 for ACPI 1.0, 2 for 2.0 and later.
    pub revision: u8,
    /// The OEM's id.
    pub oem_id: [u8; 6],
    /// The RSDT's address.
    pub rsdt_address: u32,
    /// Present in revision 2 and later, when not zero.
    pub xsdt_address: Option<u64>,
    /// The bytes it covers: its `Length` from revision 2, else the ACPI 1.0 size.
    pub length: u32,
}

/// The common header of a system description table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SdtHeader {
    /// The table's four-letter signature.
    pub signature: TableSignature,
    /// Of the whole table, header included.
    pub length: u32,
    /// The table's revision.
    pub revision: u8,
    /// The OEM's id.
    pub oem_id: [u8; 6],
    /// The OEM's id for this table.
    pub oem_table_id: [u8; 8],
    /// The OEM's revision of this table.
    pub oem_revision: u32,
    /// The id of the tool that made the table.
    pub creator_id: u32,
    /// The revision of that tool.
    pub creator_revision: u32,
}

impl SdtHeader {
    /// The header at the start of `bytes`, whose length was checked (a short
    /// slice would read as zeros).
    fn parse(bytes: &[u8]) -> SdtHeader {
        SdtHeader {
            signature: TableSignature(bytes.array_at(0).unwrap_or_default()),
            length: bytes.u32_le(4).unwrap_or(0),
            revision: bytes.u8_at(8).unwrap_or(0),
            oem_id: bytes.array_at(10).unwrap_or_default(),
            oem_table_id: bytes.array_at(16).unwrap_or_default(),
            oem_revision: bytes.u32_le(24).unwrap_or(0),
            creator_id: bytes.u32_le(28).unwrap_or(0),
            creator_revision: bytes.u32_le(32).unwrap_or(0),
        }
    }
}

/// A table whose length and checksum were checked.
#[derive(Clone, Copy, Debug)]
pub struct Table<'m> {
    /// Where the table is.
    pub address: u64,
    /// Its header.
    pub header: SdtHeader,
    /// The whole table, header included (`header.length` bytes).
    pub bytes: &'m [u8],
}

impl<'m> Table<'m> {
    /// The bytes after the common header.
    pub fn data(&self) -> &'m [u8] {
        self.bytes.get(SDT_HEADER_LENGTH..).unwrap_or_default()
    }
}

/// Reads and checks the RSDP at `addr`.
pub fn read_rsdp<M: PhysMemory + ?Sized>(mem: &M, addr: u64) -> Result<Rsdp, Error> {
    let v1 = read(mem, addr, RSDP_V1_LENGTH)?;
    if v1.get(..8) != Some(&RSDP_SIGNATURE[..]) {
        return Err(Error::BadRsdpSignature { addr });
    }
    if checksum(v1) != 0 {
        return Err(Error::BadRsdpChecksum { addr });
    }
    // `read` gave exactly RSDP_V1_LENGTH bytes: every field below is there.
    let revision = v1.u8_at(RSDP_REVISION).unwrap_or(0);
    let mut rsdp = Rsdp {
        address: addr,
        revision,
        oem_id: v1.array_at(RSDP_OEMID).unwrap_or_default(),
        rsdt_address: v1.u32_le(RSDP_RSDT_ADDRESS).unwrap_or(0),
        xsdt_address: None,
        length: RSDP_V1_LENGTH as u32,
    };
    if revision >= RSDP_REVISION_XSDT {
        let v2 = read(mem, addr, RSDP_V2_LENGTH)?;
        let length = v2.u32_le(RSDP_LENGTH).unwrap_or(0);
        if (length as usize) < RSDP_V2_LENGTH {
            return Err(Error::BadRsdpLength { addr, length });
        }
        let whole = read(mem, addr, length as usize)?;
        if checksum(whole) != 0 {
            return Err(Error::BadRsdpExtendedChecksum { addr });
        }
        rsdp.xsdt_address = v2.u64_le(RSDP_XSDT_ADDRESS).filter(|&a| a != 0);
        rsdp.length = length;
    }
    Ok(rsdp)
}

/// Reads the table at `addr`, checking that its `Length` is readable and that its
/// bytes sum to zero.
pub fn read_table<M: PhysMemory + ?Sized>(mem: &M, addr: u64) -> Result<Table<'_>, Error> {
    let header = SdtHeader::parse(read(mem, addr, SDT_HEADER_LENGTH)?);
    if (header.length as usize) < SDT_HEADER_LENGTH {
        return Err(Error::TableTooShort {
            signature: header.signature,
            addr,
            length: header.length,
        });
    }
    let bytes = read(mem, addr, header.length as usize)?;
    if checksum(bytes) != 0 {
        return Err(Error::TableChecksum {
            signature: header.signature,
            addr,
        });
    }
    Ok(Table {
        address: addr,
        header,
        bytes,
    })
}

/// The ACPI tables reachable from an RSDP.
pub struct Acpi<'m, M: PhysMemory + ?Sized> {
    mem: &'m M,
    rsdp: Rsdp,
    root: Table<'m>,
    /// 8 for the XSDT's 64-bit entries, 4 for the RSDT's.
    entry_size: usize,
}

impl<'m, M: PhysMemory + ?Sized> Acpi<'m, M> {
    /// Checks the RSDP at `rsdp_address` and its XSDT (or, for ACPI 1.0 and an RSDP
    /// without an XSDT address, its RSDT).
    pub fn new(mem: &'m M, rsdp_address: u64) -> Result<Self, Error> {
        let rsdp = read_rsdp(mem, rsdp_address)?;
        let (root_address, expected, entry_size) = match rsdp.xsdt_address {
            Some(xsdt) => (xsdt, XSDT_SIGNATURE, 8),
            None if rsdp.rsdt_address != 0 => (u64::from(rsdp.rsdt_address), RSDT_SIGNATURE, 4),
            None => return Err(Error::NoRootTable { addr: rsdp_address }),
        };
        let root = read_table(mem, root_address)?;
        if root.header.signature != expected {
            return Err(Error::WrongRootSignature {
                addr: root_address,
                expected,
                found: root.header.signature,
            });
        }
        debug!(
            "acpi: RSDP revision {} at {rsdp_address:#x}, {expected} at {root_address:#x}",
            rsdp.revision
        );
        Ok(Acpi {
            mem,
            rsdp,
            root,
            entry_size,
        })
    }

    /// The RSDP this reader started from.
    pub fn rsdp(&self) -> &Rsdp {
        &self.rsdp
    }

    /// The XSDT or RSDT.
    pub fn root(&self) -> &Table<'m> {
        &self.root
    }

    /// The addresses the root table lists, in order.
    pub fn table_addresses(&self) -> impl Iterator<Item = u64> + '_ {
        let entry_size = self.entry_size;
        self.root
            .data()
            .chunks_exact(entry_size)
            .filter_map(move |entry| match entry_size {
                8 => entry.u64_le(0),
                _ => entry.u32_le(0).map(u64::from),
            })
    }

    /// The first listed table with `signature`, length and checksum checked. Entries
    /// whose header cannot be read are skipped with a warning.
    pub fn find_table(&self, signature: TableSignature) -> Result<Table<'m>, Error> {
        for addr in self.table_addresses() {
            let Some(header) = self.mem.read(addr, SDT_HEADER_LENGTH) else {
                warn!("acpi: root table lists unreadable address {addr:#x}");
                continue;
            };
            if header.get(..4) == Some(&signature.0[..]) {
                return read_table(self.mem, addr);
            }
        }
        Err(Error::TableNotFound { signature })
    }

    /// The ECAM windows of the MCFG table.
    pub fn ecam_regions(&self) -> Result<Vec<EcamRegion>, Error> {
        parse_mcfg(&self.find_table(MCFG_SIGNATURE)?)
    }
}

fn read<M: PhysMemory + ?Sized>(mem: &M, addr: u64, len: usize) -> Result<&[u8], Error> {
    mem.read(addr, len)
        .filter(|bytes| bytes.len() == len)
        .ok_or(Error::Truncated { addr, len })
}

/// The byte sum that must be zero over a checksummed structure.
fn checksum(bytes: &[u8]) -> u8 {
    bytes.iter().fold(0u8, |sum, &b| sum.wrapping_add(b))
}
