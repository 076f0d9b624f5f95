//! ACPI table lookup: the RSDP (ACPI 6.5 §5.2.5.3), the RSDT and XSDT (§5.2.7, §5.2.8)
//! with the common table header (§5.2.6), the MCFG table that places PCI Express
//! ECAM windows (PCI Firmware Specification 3.3 §4.1.2, Table 4-3), the FADT's PM
//! timer and power registers (§5.2.9, §4.8.3), and the HPET table (IA-PC HPET
//! Specification 1.0a §3.2.4).
//!
//! Memory is read through [`PhysMemory`], so host tests walk tables in a byte buffer and
//! the firmware walks them in identity-mapped RAM. Every length comes from the tables
//! themselves and is checked against what [`PhysMemory`] can give before it is used.
#![forbid(unsafe_code)]

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
pub const RSDT_SIGNATURE: TableSignature = TableSignature(*b"RSDT");
pub const XSDT_SIGNATURE: TableSignature = TableSignature(*b"XSDT");
pub const MCFG_SIGNATURE: TableSignature = TableSignature(*b"MCFG");

/// The ACPI 1.0 RSDP: up to and including `RsdtAddress`, covered by `Checksum`.
const RSDP_V1_LENGTH: usize = 20;
/// The ACPI 2.0+ RSDP, covered by `Extended Checksum`.
const RSDP_V2_LENGTH: usize = 36;
/// RSDP revision 0 is ACPI 1.0 (RSDT only); 2 and later add the XSDT.
const RSDP_REVISION_XSDT: u8 = 2;
/// The system description table header (§5.2.6).
pub const SDT_HEADER_LENGTH: usize = 36;
/// MCFG: the header, 8 reserved bytes, then the allocation structures.
const MCFG_ALLOCATIONS: usize = SDT_HEADER_LENGTH + 8;
const MCFG_ALLOCATION_LENGTH: usize = 16;
/// Each bus takes 1 MiB of ECAM space: 32 devices × 8 functions × 4 KiB.
const ECAM_BUS_SHIFT: u32 = 20;
const ECAM_DEVICE_SHIFT: u32 = 15;
const ECAM_FUNCTION_SHIFT: u32 = 12;

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
    BadRsdpSignature { addr: u64 },
    /// The first 20 bytes of the RSDP do not sum to zero.
    BadRsdpChecksum { addr: u64 },
    /// The whole (ACPI 2.0+) RSDP does not sum to zero.
    BadRsdpExtendedChecksum { addr: u64 },
    /// An ACPI 2.0+ RSDP whose `Length` is too short for its fields.
    BadRsdpLength { addr: u64, length: u32 },
    /// The RSDP gives no RSDT or XSDT address.
    NoRootTable { addr: u64 },
    /// Memory a table claims to occupy is not readable.
    Truncated { addr: u64, len: usize },
    /// A table's `Length` is shorter than its header (or than the table type needs).
    TableTooShort {
        signature: TableSignature,
        addr: u64,
        length: u32,
    },
    /// The RSDT or XSDT address holds a table of another kind.
    WrongRootSignature {
        addr: u64,
        expected: TableSignature,
        found: TableSignature,
    },
    /// A table's bytes do not sum to zero.
    TableChecksum { signature: TableSignature, addr: u64 },
    /// The RSDT/XSDT lists no table with this signature.
    TableNotFound { signature: TableSignature },
    /// The MCFG's length leaves a partial allocation structure.
    BadMcfgLength { length: u32 },
    /// An MCFG allocation's end bus is below its start bus.
    BadEcamBusRange { index: usize, start_bus: u8, end_bus: u8 },
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
    pub address: u64,
    pub revision: u8,
    pub oem_id: [u8; 6],
    pub rsdt_address: u32,
    /// Present in revision 2 and later, when not zero.
    pub xsdt_address: Option<u64>,
}

/// The common header of a system description table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SdtHeader {
    pub signature: TableSignature,
    /// Of the whole table, header included.
    pub length: u32,
    pub revision: u8,
    pub oem_id: [u8; 6],
    pub oem_table_id: [u8; 8],
    pub oem_revision: u32,
    pub creator_id: u32,
    pub creator_revision: u32,
}

impl SdtHeader {
    fn parse(bytes: &[u8]) -> SdtHeader {
        SdtHeader {
            signature: TableSignature(array(bytes, 0)),
            length: le_u32(bytes, 4),
            revision: byte(bytes, 8),
            oem_id: array(bytes, 10),
            oem_table_id: array(bytes, 16),
            oem_revision: le_u32(bytes, 24),
            creator_id: le_u32(bytes, 28),
            creator_revision: le_u32(bytes, 32),
        }
    }
}

/// A table whose length and checksum were checked.
#[derive(Clone, Copy, Debug)]
pub struct Table<'m> {
    pub address: u64,
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

/// A PCI Express ECAM window from the MCFG.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EcamRegion {
    /// The address of bus 0 of the segment: bus `b` starts at `base_address + (b << 20)`,
    /// even when `start_bus` is not 0 (as Linux and FreeBSD read it).
    pub base_address: u64,
    pub segment: u16,
    pub start_bus: u8,
    pub end_bus: u8,
}

impl EcamRegion {
    /// The address of a function's 4 KiB configuration space, if the region covers it.
    pub fn config_address(&self, bus: u8, device: u8, function: u8) -> Option<u64> {
        if !(self.start_bus..=self.end_bus).contains(&bus) || device >= 32 || function >= 8 {
            return None;
        }
        let offset = u64::from(bus) << ECAM_BUS_SHIFT
            | u64::from(device) << ECAM_DEVICE_SHIFT
            | u64::from(function) << ECAM_FUNCTION_SHIFT;
        self.base_address.checked_add(offset)
    }

    /// The bytes the region covers, from `start_bus` to `end_bus`.
    pub fn covered_range(&self) -> core::ops::Range<u64> {
        let first = self
            .base_address
            .saturating_add(u64::from(self.start_bus) << ECAM_BUS_SHIFT);
        let end = self
            .base_address
            .saturating_add((u64::from(self.end_bus) + 1) << ECAM_BUS_SHIFT);
        first..end
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
    let revision = byte(v1, RSDP_REVISION);
    let mut rsdp = Rsdp {
        address: addr,
        revision,
        oem_id: array(v1, RSDP_OEMID),
        rsdt_address: le_u32(v1, RSDP_RSDT_ADDRESS),
        xsdt_address: None,
    };
    if revision >= RSDP_REVISION_XSDT {
        let v2 = read(mem, addr, RSDP_V2_LENGTH)?;
        let length = le_u32(v2, RSDP_LENGTH);
        if (length as usize) < RSDP_V2_LENGTH {
            return Err(Error::BadRsdpLength { addr, length });
        }
        let whole = read(mem, addr, length as usize)?;
        if checksum(whole) != 0 {
            return Err(Error::BadRsdpExtendedChecksum { addr });
        }
        rsdp.xsdt_address = Some(le_u64(v2, RSDP_XSDT_ADDRESS)).filter(|&a| a != 0);
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
            .map(move |entry| match entry_size {
                8 => le_u64(entry, 0),
                _ => u64::from(le_u32(entry, 0)),
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

/// The ECAM windows of an MCFG table.
pub fn parse_mcfg(table: &Table<'_>) -> Result<Vec<EcamRegion>, Error> {
    let length = table.header.length;
    let allocations = table.bytes.get(MCFG_ALLOCATIONS..).ok_or(Error::TableTooShort {
        signature: table.header.signature,
        addr: table.address,
        length,
    })?;
    if allocations.len() % MCFG_ALLOCATION_LENGTH != 0 {
        return Err(Error::BadMcfgLength { length });
    }
    let mut regions = Vec::with_capacity(allocations.len() / MCFG_ALLOCATION_LENGTH);
    for (index, entry) in allocations.chunks_exact(MCFG_ALLOCATION_LENGTH).enumerate() {
        let region = EcamRegion {
            base_address: le_u64(entry, 0),
            segment: le_u16(entry, 8),
            start_bus: byte(entry, 10),
            end_bus: byte(entry, 11),
        };
        if region.end_bus < region.start_bus {
            return Err(Error::BadEcamBusRange {
                index,
                start_bus: region.start_bus,
                end_bus: region.end_bus,
            });
        }
        debug!(
            "acpi: ECAM segment {} buses {}..={} at {:#x}",
            region.segment, region.start_bus, region.end_bus, region.base_address
        );
        regions.push(region);
    }
    Ok(regions)
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

// Readers for fixed offsets inside structures whose length was checked; a short
// slice reads as zero rather than panicking.
fn byte(bytes: &[u8], offset: usize) -> u8 {
    bytes.get(offset).copied().unwrap_or(0)
}

fn array<const N: usize>(bytes: &[u8], offset: usize) -> [u8; N] {
    let mut out = [0u8; N];
    if let Some(src) = bytes.get(offset..offset + N) {
        out.copy_from_slice(src);
    }
    out
}

fn le_u16(bytes: &[u8], offset: usize) -> u16 {
    u16::from_le_bytes(array(bytes, offset))
}

fn le_u32(bytes: &[u8], offset: usize) -> u32 {
    u32::from_le_bytes(array(bytes, offset))
}

fn le_u64(bytes: &[u8], offset: usize) -> u64 {
    u64::from_le_bytes(array(bytes, offset))
}

/// The FADT's signature.
pub const FADT_SIGNATURE: TableSignature = TableSignature(*b"FACP");

/// Where the ACPI power-management timer is (ACPI 6.5 §4.8.3.3, FADT fields
/// PM_TMR_BLK, PM_TMR_LEN, X_PM_TMR_BLK and the TMR_VAL_EXT flag).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PmTimer {
    /// I/O port of the counter.
    pub port: u16,
    /// 32-bit counter (TMR_VAL_EXT); 24-bit otherwise.
    pub wide: bool,
}

const FADT_PM_TMR_BLK: usize = 76;
const FADT_PM_TMR_LEN: usize = 91;
const FADT_FLAGS: usize = 112;
const FADT_X_PM_TMR_BLK: usize = 208;
const FADT_FLAG_TMR_VAL_EXT: u32 = 1 << 8;
const FADT_FLAG_HW_REDUCED_ACPI: u32 = 1 << 20;
const GAS_SYSTEM_MEMORY: u8 = 0;
const GAS_SYSTEM_IO: u8 = 1;

/// The PM timer a FADT describes, if it has one in I/O space: X_PM_TMR_BLK when
/// it is a System I/O address, else PM_TMR_BLK. A hardware-reduced FADT (flag
/// HW_REDUCED_ACPI) need not have one, but Cloud Hypervisor's names its timer
/// at I/O 0x608 in X_PM_TMR_BLK, and Linux uses it, so the flag is not a reason
/// to ignore one that is there.
pub fn pm_timer(fadt: &Table<'_>) -> Option<PmTimer> {
    let bytes = fadt.bytes;
    let field = |offset: usize, len: usize| bytes.get(offset..offset + len);
    let flags = le_u32(field(FADT_FLAGS, 4)?, 0);
    let wide = flags & FADT_FLAG_TMR_VAL_EXT != 0;
    if flags & FADT_FLAG_HW_REDUCED_ACPI != 0 {
        debug!("acpi: the FADT is hardware-reduced; looking for a PM timer all the same");
    }
    if let Some(gas) = field(FADT_X_PM_TMR_BLK, 12) {
        let (space, address) = (gas[0], le_u64(gas, 4));
        if address != 0 {
            match (space, u16::try_from(address)) {
                (GAS_SYSTEM_IO, Ok(port)) => return Some(PmTimer { port, wide }),
                (GAS_SYSTEM_IO, Err(_)) => {
                    debug!("acpi: X_PM_TMR_BLK port {address:#x} is beyond the I/O space")
                }
                (GAS_SYSTEM_MEMORY, _) => {
                    debug!("acpi: X_PM_TMR_BLK is memory-mapped at {address:#x}: not supported, only I/O ports")
                }
                _ => debug!("acpi: X_PM_TMR_BLK is in address space {space}: not supported, only I/O ports"),
            }
        }
    }
    let port = le_u32(field(FADT_PM_TMR_BLK, 4)?, 0);
    let len = *field(FADT_PM_TMR_LEN, 1)?.first()?;
    if port == 0 || len < 4 {
        return None;
    }
    u16::try_from(port).ok().map(|port| PmTimer { port, wide })
}

/// The HPET description table's signature.
pub const HPET_SIGNATURE: TableSignature = TableSignature(*b"HPET");

/// An event timer block from the ACPI HPET table (IA-PC HPET Specification
/// 1.0a §3.2.4, "The ACPI 2.0 HPET Description Table").
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Hpet {
    /// Physical address of its 1 KiB of memory-mapped registers.
    pub base_address: u64,
}

/// BASE_ADDRESS: a generic address structure after the header and the 4-byte
/// Event Timer Block ID; its 64-bit address is at offset 44 of the table.
const HPET_BASE_ADDRESS: usize = 40;

/// The timer block an HPET table describes, if its registers are in memory
/// space (the specification puts them nowhere else).
pub fn hpet(table: &Table<'_>) -> Option<Hpet> {
    let gas = table.bytes.get(HPET_BASE_ADDRESS..HPET_BASE_ADDRESS + 12)?;
    let (space, address) = (gas[0], le_u64(gas, 4));
    if address == 0 {
        return None;
    }
    if space != GAS_SYSTEM_MEMORY {
        debug!("acpi: the HPET at {address:#x} is in address space {space}, not memory: not used");
        return None;
    }
    Some(Hpet { base_address: address })
}

/// How to reset and power off the machine, from the FADT and the DSDT's `\_S5`
/// object (ACPI 6.5 §4.8.3.6 reset register, §7.4.2 sleep states, §4.8.3.7
/// sleep control register of hardware-reduced platforms).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PowerControl {
    /// RESET_REG in I/O space and RESET_VALUE, when RESET_REG_SUP is set.
    pub reset: Option<(u16, u8)>,
    /// PM1a and PM1b control blocks (I/O ports).
    pub pm1a_control: Option<u16>,
    pub pm1b_control: Option<u16>,
    /// SLEEP_CONTROL_REG (hardware-reduced ACPI), I/O port.
    pub sleep_control: Option<u16>,
    /// SLP_TYPa and SLP_TYPb of the S5 (soft off) state.
    pub s5: Option<(u8, u8)>,
}

const FADT_DSDT: usize = 40;
const FADT_PM1A_CNT_BLK: usize = 64;
const FADT_PM1B_CNT_BLK: usize = 68;
const FADT_RESET_REG: usize = 116;
const FADT_RESET_VALUE: usize = 128;
const FADT_X_DSDT: usize = 140;
const FADT_X_PM1A_CNT_BLK: usize = 172;
const FADT_X_PM1B_CNT_BLK: usize = 184;
const FADT_SLEEP_CONTROL_REG: usize = 244;
const FADT_FLAG_RESET_REG_SUP: u32 = 1 << 10;
const AML_PACKAGE_OP: u8 = 0x12;
const AML_ZERO_OP: u8 = 0x00;
const AML_ONE_OP: u8 = 0x01;
const AML_BYTE_PREFIX: u8 = 0x0a;

/// An I/O port from a generic address structure at `offset`, if it is one.
fn gas_io_port(bytes: &[u8], offset: usize) -> Option<u16> {
    let gas = bytes.get(offset..offset + 12)?;
    let address = le_u64(gas, 4);
    (gas[0] == GAS_SYSTEM_IO && address != 0)
        .then(|| u16::try_from(address).ok())
        .flatten()
}

/// A legacy 32-bit port block field, if set.
fn port_field(bytes: &[u8], offset: usize) -> Option<u16> {
    let value = le_u32(bytes.get(offset..offset + 4)?, 0);
    (value != 0).then(|| u16::try_from(value).ok()).flatten()
}

/// The FADT's power registers, with `\_S5` from the DSDT it points to.
pub fn power_control<M: PhysMemory + ?Sized>(mem: &M, fadt: &Table<'_>) -> PowerControl {
    let bytes = fadt.bytes;
    let flags = bytes.get(FADT_FLAGS..FADT_FLAGS + 4).map_or(0, |f| le_u32(f, 0));
    let reset = (flags & FADT_FLAG_RESET_REG_SUP != 0)
        .then(|| Some((gas_io_port(bytes, FADT_RESET_REG)?, *bytes.get(FADT_RESET_VALUE)?)))
        .flatten();
    let dsdt = bytes
        .get(FADT_X_DSDT..FADT_X_DSDT + 8)
        .map(|b| le_u64(b, 0))
        .filter(|&a| a != 0)
        .or_else(|| {
            bytes
                .get(FADT_DSDT..FADT_DSDT + 4)
                .map(|b| u64::from(le_u32(b, 0)))
                .filter(|&a| a != 0)
        });
    let s5 = dsdt
        .and_then(|addr| read_table(mem, addr).ok())
        .and_then(|t| s5_sleep_type(t.data()));
    PowerControl {
        reset,
        pm1a_control: gas_io_port(bytes, FADT_X_PM1A_CNT_BLK).or_else(|| port_field(bytes, FADT_PM1A_CNT_BLK)),
        pm1b_control: gas_io_port(bytes, FADT_X_PM1B_CNT_BLK).or_else(|| port_field(bytes, FADT_PM1B_CNT_BLK)),
        sleep_control: gas_io_port(bytes, FADT_SLEEP_CONTROL_REG),
        s5,
    }
}

/// One integer element of a package: ZeroOp, OneOp or a ByteConst. Returns the
/// value and the bytes it took.
fn aml_small_integer(bytes: &[u8]) -> Option<(u8, usize)> {
    match *bytes.first()? {
        AML_ZERO_OP => Some((0, 1)),
        AML_ONE_OP => Some((1, 1)),
        AML_BYTE_PREFIX => Some((*bytes.get(1)?, 2)),
        _ => None,
    }
}

/// The SLP_TYPa/SLP_TYPb values of `\_S5` in AML (the DSDT body): the name is
/// followed by a package whose first two elements are small integers. This is
/// the one AML object the firmware needs, so it is found by its encoding rather
/// than by interpreting AML.
pub fn s5_sleep_type(aml: &[u8]) -> Option<(u8, u8)> {
    let at = aml.windows(4).position(|w| w == b"_S5_")?;
    let rest = aml.get(at + 4..)?;
    if *rest.first()? != AML_PACKAGE_OP {
        return None;
    }
    // PkgLength: bits 6-7 of the lead byte count the bytes that follow it.
    let length_bytes = 1 + usize::from(rest.get(1)? >> 6);
    let elements = rest.get(1 + length_bytes + 1..)?;
    let (a, used) = aml_small_integer(elements)?;
    let (b, _) = aml_small_integer(elements.get(used..)?)?;
    Some((a, b))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::string::ToString;
    use std::vec;
    use std::vec::Vec;

    fn fadt(flags: u32, pm_tmr_blk: u32, x_pm_tmr: Option<(u8, u64)>) -> Vec<u8> {
        let mut t = vec![0u8; 244];
        t[0..4].copy_from_slice(b"FACP");
        t[4..8].copy_from_slice(&244u32.to_le_bytes());
        t[76..80].copy_from_slice(&pm_tmr_blk.to_le_bytes());
        t[91] = 4;
        t[112..116].copy_from_slice(&flags.to_le_bytes());
        if let Some((space, addr)) = x_pm_tmr {
            t[208] = space;
            t[212..220].copy_from_slice(&addr.to_le_bytes());
        }
        t
    }

    fn table(bytes: &[u8]) -> Table<'_> {
        Table {
            address: 0,
            header: SdtHeader::parse(bytes),
            bytes,
        }
    }

    #[test]
    fn finds_s5_in_aml_encodings_used_by_qemu_and_cloud_hypervisor() {
        // Name(_S5, Package(4) {Zero, Zero, Zero, Zero}) as QEMU q35 writes it.
        let q35 = [0x08, b'_', b'S', b'5', b'_', 0x12, 0x06, 0x04, 0x00, 0x00, 0x00, 0x00];
        assert_eq!(s5_sleep_type(&q35), Some((0, 0)));
        // Name(_S5, Package(1) {0x05}) as Cloud Hypervisor writes it.
        let ch = [0x08, b'_', b'S', b'5', b'_', 0x12, 0x04, 0x01, 0x0a, 0x05, 0x0a, 0x05];
        assert_eq!(s5_sleep_type(&ch), Some((5, 5)));
        // A two-byte PkgLength.
        let long = [b'_', b'S', b'5', b'_', 0x12, 0x40, 0x01, 0x02, 0x0a, 0x07, 0x01];
        assert_eq!(s5_sleep_type(&long), Some((7, 1)));
        assert_eq!(s5_sleep_type(b"_S5_"), None);
        assert_eq!(s5_sleep_type(&[b'_', b'S', b'5', b'_', 0x12, 0x06, 0x04, 0x0b]), None);
    }

    #[test]
    fn reads_power_registers_from_the_fadt() {
        let mut t = fadt(FADT_FLAG_RESET_REG_SUP, 0x608, None);
        t[116] = GAS_SYSTEM_IO;
        t[120..128].copy_from_slice(&0xcf9u64.to_le_bytes());
        t[128] = 0x06;
        t[64..68].copy_from_slice(&0x604u32.to_le_bytes());
        let mem = TestMemory {
            bytes: vec![0; MEMORY_SIZE],
        };
        let p = power_control(&mem, &table(&t));
        assert_eq!(p.reset, Some((0xcf9, 0x06)));
        assert_eq!(p.pm1a_control, Some(0x604));
        assert_eq!(p.pm1b_control, None);
        assert_eq!(p.sleep_control, None);
        assert_eq!(p.s5, None, "no DSDT in this FADT");
    }

    #[test]
    fn finds_the_pm_timer_like_qemu_q35_describes_it() {
        let t = fadt(FADT_FLAG_TMR_VAL_EXT, 0x608, Some((GAS_SYSTEM_IO, 0x608)));
        assert_eq!(
            pm_timer(&table(&t)),
            Some(PmTimer {
                port: 0x608,
                wide: true
            })
        );
        let t = fadt(0, 0xb008, None);
        assert_eq!(
            pm_timer(&table(&t)),
            Some(PmTimer {
                port: 0xb008,
                wide: false
            })
        );
    }

    #[test]
    fn finds_the_pm_timer_of_cloud_hypervisors_hardware_reduced_fadt() {
        // HW_REDUCED_ACPI | RESET_REG_SUP | TMR_VAL_EXT, no PM_TMR_BLK, the
        // timer at I/O 0x608 in X_PM_TMR_BLK.
        let flags = FADT_FLAG_HW_REDUCED_ACPI | FADT_FLAG_RESET_REG_SUP | FADT_FLAG_TMR_VAL_EXT;
        let t = fadt(flags, 0, Some((GAS_SYSTEM_IO, 0x608)));
        assert_eq!(
            pm_timer(&table(&t)),
            Some(PmTimer {
                port: 0x608,
                wide: true
            })
        );
        // A hardware-reduced FADT with only the legacy field is read too.
        let t = fadt(FADT_FLAG_HW_REDUCED_ACPI, 0x608, None);
        assert_eq!(
            pm_timer(&table(&t)),
            Some(PmTimer {
                port: 0x608,
                wide: false
            })
        );
    }

    #[test]
    fn a_memory_mapped_pm_timer_falls_back_to_the_legacy_port_or_none() {
        let t = fadt(0, 0, Some((GAS_SYSTEM_MEMORY, 0xfed0_0000)));
        assert_eq!(pm_timer(&table(&t)), None);
        let t = fadt(0, 0xb008, Some((GAS_SYSTEM_MEMORY, 0xfed0_0000)));
        assert_eq!(
            pm_timer(&table(&t)),
            Some(PmTimer {
                port: 0xb008,
                wide: false
            })
        );
    }

    #[test]
    fn no_pm_timer_without_one_in_the_fadt() {
        let t = fadt(FADT_FLAG_HW_REDUCED_ACPI, 0, None);
        assert_eq!(pm_timer(&table(&t)), None);
        let t = fadt(0, 0, Some((GAS_SYSTEM_IO, 0x1_0000)));
        assert_eq!(pm_timer(&table(&t)), None, "beyond the I/O space");
        let t = fadt(0, 0x608, Some((GAS_SYSTEM_IO, 0x608)));
        assert_eq!(
            pm_timer(&table(&t[..100])),
            None,
            "a truncated FADT is not read past its end"
        );
    }

    /// An HPET table like QEMU q35's: block ID 0x8086a201, registers at
    /// `address` in address space `space`.
    fn hpet_table(space: u8, address: u64) -> Vec<u8> {
        let mut data = vec![0u8; 20];
        data[0..4].copy_from_slice(&0x8086_a201u32.to_le_bytes());
        data[4] = space;
        data[8..16].copy_from_slice(&address.to_le_bytes());
        build_table(b"HPET", &data)
    }

    #[test]
    fn finds_the_hpet_like_qemu_q35_describes_it() {
        let t = hpet_table(GAS_SYSTEM_MEMORY, 0xfed0_0000);
        assert_eq!(t.len(), 56);
        assert_eq!(
            hpet(&table(&t)),
            Some(Hpet {
                base_address: 0xfed0_0000
            })
        );
    }

    #[test]
    fn an_hpet_outside_memory_space_or_at_zero_is_not_used() {
        assert_eq!(hpet(&table(&hpet_table(GAS_SYSTEM_IO, 0xfed0_0000))), None);
        assert_eq!(hpet(&table(&hpet_table(GAS_SYSTEM_MEMORY, 0))), None);
        let t = hpet_table(GAS_SYSTEM_MEMORY, 0xfed0_0000);
        assert_eq!(
            hpet(&table(&t[..50])),
            None,
            "a truncated table is not read past its end"
        );
    }

    #[test]
    fn finds_the_hpet_table_through_the_xsdt() {
        let mut mem = memory();
        const HPET_AT: u64 = BASE + 0x500;
        let t = hpet_table(GAS_SYSTEM_MEMORY, 0xfed0_0000);
        mem.at(HPET_AT)[..t.len()].copy_from_slice(&t);
        let xsdt: Vec<u8> = [FACP_AT, MCFG_AT, HPET_AT]
            .iter()
            .flat_map(|a| a.to_le_bytes())
            .collect();
        mem.put_table(XSDT_AT, b"XSDT", &xsdt);
        let acpi = Acpi::new(&mem, RSDP_AT).unwrap();
        let found = acpi.find_table(HPET_SIGNATURE).unwrap();
        assert_eq!(found.address, HPET_AT);
        assert_eq!(hpet(&found).map(|h| h.base_address), Some(0xfed0_0000));
    }

    const BASE: u64 = 0xE_0000;
    const RSDP_AT: u64 = BASE;
    const XSDT_AT: u64 = BASE + 0x100;
    const RSDT_AT: u64 = BASE + 0x200;
    const FACP_AT: u64 = BASE + 0x300;
    const MCFG_AT: u64 = BASE + 0x400;
    const MEMORY_SIZE: usize = 0x1000;

    /// Physical memory from `BASE` to `BASE + MEMORY_SIZE`.
    struct TestMemory {
        bytes: Vec<u8>,
    }

    impl PhysMemory for TestMemory {
        fn read(&self, addr: u64, len: usize) -> Option<&[u8]> {
            let start = usize::try_from(addr.checked_sub(BASE)?).ok()?;
            self.bytes.get(start..start.checked_add(len)?)
        }
    }

    impl TestMemory {
        fn at(&mut self, addr: u64) -> &mut [u8] {
            &mut self.bytes[(addr - BASE) as usize..]
        }

        /// Writes a table with a valid checksum.
        fn put_table(&mut self, addr: u64, signature: &[u8; 4], data: &[u8]) {
            let table = build_table(signature, data);
            self.at(addr)[..table.len()].copy_from_slice(&table);
        }
    }

    fn build_table(signature: &[u8; 4], data: &[u8]) -> Vec<u8> {
        let mut table = vec![0u8; SDT_HEADER_LENGTH];
        table[0..4].copy_from_slice(signature);
        table[4..8].copy_from_slice(&((SDT_HEADER_LENGTH + data.len()) as u32).to_le_bytes());
        table[8] = 1;
        table[10..16].copy_from_slice(b"HVFWTS");
        table[16..24].copy_from_slice(b"TESTTABL");
        table.extend_from_slice(data);
        table[9] = 0u8.wrapping_sub(checksum(&table));
        table
    }

    fn rsdp(revision: u8, rsdt: u32, xsdt: u64) -> Vec<u8> {
        let mut rsdp = vec![0u8; RSDP_V2_LENGTH];
        rsdp[..8].copy_from_slice(&RSDP_SIGNATURE);
        rsdp[9..15].copy_from_slice(b"HVFWTS");
        rsdp[15] = revision;
        rsdp[16..20].copy_from_slice(&rsdt.to_le_bytes());
        rsdp[20..24].copy_from_slice(&(RSDP_V2_LENGTH as u32).to_le_bytes());
        rsdp[24..32].copy_from_slice(&xsdt.to_le_bytes());
        rsdp[8] = 0u8.wrapping_sub(checksum(&rsdp[..RSDP_V1_LENGTH]));
        rsdp[32] = 0u8.wrapping_sub(checksum(&rsdp));
        rsdp
    }

    fn mcfg_data(regions: &[(u64, u16, u8, u8)]) -> Vec<u8> {
        let mut data = vec![0u8; 8];
        for &(base, segment, start, end) in regions {
            data.extend_from_slice(&base.to_le_bytes());
            data.extend_from_slice(&segment.to_le_bytes());
            data.extend_from_slice(&[start, end, 0, 0, 0, 0]);
        }
        data
    }

    /// ACPI 2.0 tables: RSDP -> XSDT -> [FACP, MCFG], and an ACPI 1.0 RSDT beside them
    /// listing the same tables.
    fn memory() -> TestMemory {
        let mut mem = TestMemory {
            bytes: vec![0; MEMORY_SIZE],
        };
        let rsdp = rsdp(2, RSDT_AT as u32, XSDT_AT);
        mem.at(RSDP_AT)[..rsdp.len()].copy_from_slice(&rsdp);
        let xsdt: Vec<u8> = [FACP_AT, MCFG_AT].iter().flat_map(|a| a.to_le_bytes()).collect();
        mem.put_table(XSDT_AT, b"XSDT", &xsdt);
        let rsdt: Vec<u8> = [FACP_AT, MCFG_AT]
            .iter()
            .flat_map(|&a| (a as u32).to_le_bytes())
            .collect();
        mem.put_table(RSDT_AT, b"RSDT", &rsdt);
        mem.put_table(FACP_AT, b"FACP", &[0x55; 20]);
        mem.put_table(
            MCFG_AT,
            b"MCFG",
            &mcfg_data(&[(0xB000_0000, 0, 0, 0xFF), (0x40_0000_0000, 1, 0x10, 0x1F)]),
        );
        mem
    }

    fn expected_regions() -> Vec<EcamRegion> {
        vec![
            EcamRegion {
                base_address: 0xB000_0000,
                segment: 0,
                start_bus: 0,
                end_bus: 0xFF,
            },
            EcamRegion {
                base_address: 0x40_0000_0000,
                segment: 1,
                start_bus: 0x10,
                end_bus: 0x1F,
            },
        ]
    }

    #[test]
    fn finds_mcfg_through_the_xsdt() {
        let mem = memory();
        let acpi = Acpi::new(&mem, RSDP_AT).unwrap();
        assert_eq!(acpi.rsdp().revision, 2);
        assert_eq!(acpi.rsdp().xsdt_address, Some(XSDT_AT));
        assert_eq!(acpi.root().header.signature, XSDT_SIGNATURE);
        assert_eq!(acpi.table_addresses().collect::<Vec<_>>(), [FACP_AT, MCFG_AT]);
        assert_eq!(acpi.ecam_regions().unwrap(), expected_regions());
    }

    #[test]
    fn finds_tables_through_the_rsdt_for_acpi_1() {
        let mut mem = memory();
        let rsdp = rsdp(0, RSDT_AT as u32, 0);
        mem.at(RSDP_AT)[..RSDP_V1_LENGTH].copy_from_slice(&rsdp[..RSDP_V1_LENGTH]);
        // An ACPI 1.0 RSDP is 20 bytes: what follows is not its business.
        mem.at(RSDP_AT)[RSDP_V1_LENGTH..RSDP_V2_LENGTH].fill(0xAA);
        let acpi = Acpi::new(&mem, RSDP_AT).unwrap();
        assert_eq!(acpi.rsdp().xsdt_address, None);
        assert_eq!(acpi.root().header.signature, RSDT_SIGNATURE);
        let facp = acpi.find_table(TableSignature(*b"FACP")).unwrap();
        assert_eq!((facp.address, facp.data()), (FACP_AT, &[0x55; 20][..]));
        assert_eq!(facp.header.oem_table_id, *b"TESTTABL");
        assert_eq!(acpi.ecam_regions().unwrap(), expected_regions());
    }

    #[test]
    fn revision_2_rsdp_without_xsdt_uses_the_rsdt() {
        let mut mem = memory();
        let rsdp = rsdp(2, RSDT_AT as u32, 0);
        mem.at(RSDP_AT)[..rsdp.len()].copy_from_slice(&rsdp);
        let acpi = Acpi::new(&mem, RSDP_AT).unwrap();
        assert_eq!(acpi.root().address, RSDT_AT);
    }

    #[test]
    fn bad_rsdp_signature_is_reported() {
        let mut mem = memory();
        mem.at(RSDP_AT)[0] = b'X';
        assert_eq!(
            Acpi::new(&mem, RSDP_AT).err(),
            Some(Error::BadRsdpSignature { addr: RSDP_AT })
        );
    }

    #[test]
    fn bad_rsdp_checksums_are_reported() {
        let mut mem = memory();
        mem.at(RSDP_AT)[8] ^= 1;
        assert_eq!(
            Acpi::new(&mem, RSDP_AT).err(),
            Some(Error::BadRsdpChecksum { addr: RSDP_AT })
        );
        let mut mem = memory();
        mem.at(RSDP_AT)[32] ^= 1;
        assert_eq!(
            Acpi::new(&mem, RSDP_AT).err(),
            Some(Error::BadRsdpExtendedChecksum { addr: RSDP_AT })
        );
    }

    #[test]
    fn rsdp_outside_memory_is_truncated() {
        let mem = memory();
        let end = BASE + MEMORY_SIZE as u64;
        assert_eq!(
            Acpi::new(&mem, end - 10).err(),
            Some(Error::Truncated {
                addr: end - 10,
                len: RSDP_V1_LENGTH
            })
        );
    }

    #[test]
    fn root_table_checksum_is_checked() {
        let mut mem = memory();
        mem.at(XSDT_AT)[SDT_HEADER_LENGTH] ^= 0x40;
        assert_eq!(
            Acpi::new(&mem, RSDP_AT).err(),
            Some(Error::TableChecksum {
                signature: XSDT_SIGNATURE,
                addr: XSDT_AT
            })
        );
    }

    #[test]
    fn root_address_holding_another_table_is_refused() {
        let mut mem = memory();
        let rsdp = rsdp(2, 0, FACP_AT);
        mem.at(RSDP_AT)[..rsdp.len()].copy_from_slice(&rsdp);
        let error = Acpi::new(&mem, RSDP_AT).err().unwrap();
        assert_eq!(
            error,
            Error::WrongRootSignature {
                addr: FACP_AT,
                expected: XSDT_SIGNATURE,
                found: TableSignature(*b"FACP")
            }
        );
        assert_eq!(
            error.to_string(),
            "expected the XSDT at 0xe0300, found a table signed FACP"
        );
    }

    #[test]
    fn found_table_checksum_is_checked() {
        let mut mem = memory();
        mem.at(MCFG_AT)[50] ^= 1;
        let acpi = Acpi::new(&mem, RSDP_AT).unwrap();
        assert_eq!(
            acpi.ecam_regions().err(),
            Some(Error::TableChecksum {
                signature: MCFG_SIGNATURE,
                addr: MCFG_AT
            })
        );
    }

    #[test]
    fn missing_table_is_not_found() {
        let mem = memory();
        let acpi = Acpi::new(&mem, RSDP_AT).unwrap();
        let error = acpi.find_table(TableSignature(*b"APIC")).err().unwrap();
        assert_eq!(
            error,
            Error::TableNotFound {
                signature: TableSignature(*b"APIC")
            }
        );
        assert_eq!(error.to_string(), "no ACPI table APIC");
    }

    #[test]
    fn table_reaching_past_memory_is_truncated() {
        let mut mem = memory();
        let huge = 0x10_0000u32;
        mem.at(MCFG_AT)[4..8].copy_from_slice(&huge.to_le_bytes());
        let acpi = Acpi::new(&mem, RSDP_AT).unwrap();
        assert_eq!(
            acpi.ecam_regions().err(),
            Some(Error::Truncated {
                addr: MCFG_AT,
                len: huge as usize
            })
        );
    }

    #[test]
    fn table_shorter_than_its_header_is_refused() {
        let mut mem = memory();
        mem.at(FACP_AT)[4..8].copy_from_slice(&8u32.to_le_bytes());
        let acpi = Acpi::new(&mem, RSDP_AT).unwrap();
        assert_eq!(
            acpi.find_table(TableSignature(*b"FACP")).err(),
            Some(Error::TableTooShort {
                signature: TableSignature(*b"FACP"),
                addr: FACP_AT,
                length: 8
            })
        );
    }

    #[test]
    fn unreadable_entries_are_skipped_while_searching() {
        let mut mem = memory();
        let xsdt: Vec<u8> = [0xFFFF_0000_0000u64, MCFG_AT]
            .iter()
            .flat_map(|a| a.to_le_bytes())
            .collect();
        mem.put_table(XSDT_AT, b"XSDT", &xsdt);
        let acpi = Acpi::new(&mem, RSDP_AT).unwrap();
        assert_eq!(acpi.ecam_regions().unwrap(), expected_regions());
    }

    #[test]
    fn mcfg_with_a_partial_allocation_is_refused() {
        let mut mem = memory();
        let mut data = mcfg_data(&[(0xB000_0000, 0, 0, 0xFF)]);
        data.truncate(data.len() - 4);
        mem.put_table(MCFG_AT, b"MCFG", &data);
        let acpi = Acpi::new(&mem, RSDP_AT).unwrap();
        assert_eq!(acpi.ecam_regions().err(), Some(Error::BadMcfgLength { length: 56 }));
    }

    #[test]
    fn mcfg_without_allocations_has_no_regions() {
        let mut mem = memory();
        mem.put_table(MCFG_AT, b"MCFG", &mcfg_data(&[]));
        let acpi = Acpi::new(&mem, RSDP_AT).unwrap();
        assert_eq!(acpi.ecam_regions().unwrap(), []);
    }

    #[test]
    fn mcfg_bus_range_ending_before_start_is_refused() {
        let mut mem = memory();
        mem.put_table(MCFG_AT, b"MCFG", &mcfg_data(&[(0xB000_0000, 0, 8, 7)]));
        let acpi = Acpi::new(&mem, RSDP_AT).unwrap();
        assert_eq!(
            acpi.ecam_regions().err(),
            Some(Error::BadEcamBusRange {
                index: 0,
                start_bus: 8,
                end_bus: 7
            })
        );
    }

    #[test]
    fn ecam_addresses_count_buses_from_zero() {
        let region = expected_regions()[1];
        assert_eq!(region.config_address(0x10, 0, 0), Some(0x40_0000_0000 + (0x10 << 20)));
        assert_eq!(
            region.config_address(0x12, 3, 1),
            Some(0x40_0000_0000 + (0x12 << 20) + (3 << 15) + (1 << 12))
        );
        assert_eq!(region.config_address(0x0F, 0, 0), None);
        assert_eq!(region.config_address(0x20, 0, 0), None);
        assert_eq!(region.config_address(0x10, 32, 0), None);
        assert_eq!(region.config_address(0x10, 0, 8), None);
        assert_eq!(region.covered_range(), 0x40_0100_0000..0x40_0200_0000);
    }
}
