//! The MCFG table, which places PCI Express ECAM windows (PCI Firmware
//! Specification 3.3 §4.1.2, Table 4-3).

use super::{Error, Table, SDT_HEADER_LENGTH};
use crate::bytes::LeFields;
use alloc::vec::Vec;
use log::debug;

/// MCFG: the header, 8 reserved bytes, then the allocation structures.
const MCFG_ALLOCATIONS: usize = SDT_HEADER_LENGTH + 8;
const MCFG_ALLOCATION_LENGTH: usize = 16;
/// Each bus takes 1 MiB of ECAM space: 32 devices × 8 functions × 4 KiB.
const ECAM_BUS_SHIFT: u32 = 20;
const ECAM_DEVICE_SHIFT: u32 = 15;
const ECAM_FUNCTION_SHIFT: u32 = 12;

/// A PCI Express ECAM window from the MCFG.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EcamRegion {
    /// The address of bus 0 of the segment: bus `b` starts at `base_address + (b << 20)`,
    /// even when `start_bus` is not 0 (as Linux and FreeBSD read it).
    pub base_address: u64,
    /// The PCI segment group.
    pub segment: u16,
    /// The first bus the window decodes.
    pub start_bus: u8,
    /// The last bus the window decodes.
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
            // `chunks_exact` gave all 16 bytes of the allocation structure.
            base_address: entry.u64_le(0).unwrap_or(0),
            segment: entry.u16_le(8).unwrap_or(0),
            start_bus: entry.u8_at(10).unwrap_or(0),
            end_bus: entry.u8_at(11).unwrap_or(0),
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
