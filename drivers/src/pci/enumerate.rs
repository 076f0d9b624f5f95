//! Bus enumeration: every function on bus 0 and on the secondary bus of every
//! PCI-to-PCI bridge the VMM configured (PCI 3.0 §6.1, PCI-to-PCI Bridge 1.2 §3.2.5).
//! Bridges left unconfigured (secondary bus 0) are reported but not followed:
//! numbering buses would also mean programming the bridges' address windows.
#![forbid(unsafe_code)]

use super::bar::{size_bars, Bar};
use super::{ConfigAccess, PciAddress};
use super::{CLASS_CODE, DEVICE_ID, HEADER_TYPE, PROG_IF, REVISION_ID, SECONDARY_BUS, SUBCLASS};
use super::{HEADER_TYPE_BRIDGE, HEADER_TYPE_DEVICE, HEADER_TYPE_MASK, HEADER_TYPE_MULTIFUNCTION};
use super::{MAX_DEVICES, MAX_FUNCTIONS, SUBSYSTEM_ID, VENDOR_ID, VENDOR_NONE};
use alloc::vec::Vec;
use log::debug;

/// What enumeration learnt about one function.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PciDevice {
    pub address: PciAddress,
    pub vendor_id: u16,
    pub device_id: u16,
    /// Subsystem ID (type 0 headers; 0 otherwise). Transitional virtio devices
    /// carry their device type here.
    pub subsystem_id: u16,
    pub class: u8,
    pub subclass: u8,
    pub prog_if: u8,
    pub revision: u8,
    /// Header layout, without the multi-function bit.
    pub header_type: u8,
    /// Implemented BARs by slot; a 64-bit BAR fills its first slot only.
    pub bars: [Option<Bar>; 6],
    /// For bridges: the bus behind it (0 = not configured).
    pub secondary_bus: Option<u8>,
}

impl PciDevice {
    pub fn is_bridge(&self) -> bool {
        self.header_type == HEADER_TYPE_BRIDGE
    }

    pub fn bar(&self, index: u8) -> Option<Bar> {
        self.bars.get(index as usize).copied().flatten()
    }
}

/// Finds every function reachable from the root bus (bus 0, or the first bus of
/// the ECAM segment). Each bus is scanned at most once,
/// so bridges pointing at each other cannot loop.
pub fn enumerate<C: ConfigAccess>(config: &C) -> Vec<PciDevice> {
    let mut devices = Vec::new();
    let mut scanned = [false; 256];
    let mut buses = Vec::from([config.root_bus()]);
    while let Some(bus) = buses.pop() {
        if core::mem::replace(&mut scanned[bus as usize], true) {
            continue;
        }
        let first_on_bus = devices.len();
        for device in 0..MAX_DEVICES {
            let function0 = PciAddress::new(bus, device, 0);
            if config.read16(function0, VENDOR_ID) == VENDOR_NONE {
                continue;
            }
            let functions = if config.read8(function0, HEADER_TYPE) & HEADER_TYPE_MULTIFUNCTION != 0 {
                MAX_FUNCTIONS
            } else {
                1
            };
            for function in 0..functions {
                let address = PciAddress::new(bus, device, function);
                if let Some(found) = probe(config, address) {
                    devices.push(found);
                }
            }
        }
        // Visit secondary buses in ascending order after this bus.
        let mut behind: Vec<u8> = devices[first_on_bus..]
            .iter()
            .filter_map(|d| d.secondary_bus)
            .filter(|&b| b != 0 && !scanned[b as usize])
            .collect();
        behind.sort_unstable_by(|a, b| b.cmp(a));
        buses.extend(behind);
    }
    devices
}

fn probe<C: ConfigAccess>(config: &C, address: PciAddress) -> Option<PciDevice> {
    let vendor_id = config.read16(address, VENDOR_ID);
    if vendor_id == VENDOR_NONE {
        return None;
    }
    let header_type = config.read8(address, HEADER_TYPE) & HEADER_TYPE_MASK;
    let (slots, secondary_bus, subsystem_id) = match header_type {
        HEADER_TYPE_DEVICE => (6, None, config.read16(address, SUBSYSTEM_ID)),
        HEADER_TYPE_BRIDGE => {
            let secondary = config.read8(address, SECONDARY_BUS);
            if secondary == 0 {
                debug!("pci {address}: bridge without a bus number, not followed");
            }
            (2, Some(secondary), 0)
        }
        _ => (0, None, 0),
    };
    let device = PciDevice {
        address,
        vendor_id,
        device_id: config.read16(address, DEVICE_ID),
        subsystem_id,
        class: config.read8(address, CLASS_CODE),
        subclass: config.read8(address, SUBCLASS),
        prog_if: config.read8(address, PROG_IF),
        revision: config.read8(address, REVISION_ID),
        header_type,
        bars: size_bars(config, address, slots),
        secondary_bus,
    };
    debug!(
        "pci {address}: {:04x}:{:04x} class {:02x}{:02x} header {}",
        device.vendor_id, device.device_id, device.class, device.subclass, header_type
    );
    Some(device)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pci::model::ModelConfig;

    #[test]
    fn finds_functions_of_multifunction_devices_and_skips_absent_ones() {
        let mut model = ModelConfig::new();
        model.add_function(PciAddress::new(0, 0, 0), 0x8086, 0x29C0, 0x06_00_00);
        let lpc = PciAddress::new(0, 0x1F, 0);
        model.add_function(lpc, 0x8086, 0x2918, 0x06_01_00);
        model.set_multifunction(lpc);
        model.add_function(PciAddress::new(0, 0x1F, 2), 0x8086, 0x2922, 0x01_06_01);
        model.add_function(PciAddress::new(0, 0x1F, 3), 0x8086, 0x2930, 0x0C_05_00);
        // Function 1 of a single-function device must not be probed.
        model.add_function(PciAddress::new(0, 0, 1), 0x1234, 0x5678, 0);
        let found: Vec<_> = enumerate(&model).iter().map(|d| (d.address, d.device_id)).collect();
        assert_eq!(
            found,
            [
                (PciAddress::new(0, 0, 0), 0x29C0),
                (lpc, 0x2918),
                (PciAddress::new(0, 0x1F, 2), 0x2922),
                (PciAddress::new(0, 0x1F, 3), 0x2930),
            ]
        );
        let sata = &enumerate(&model)[2];
        assert_eq!((sata.class, sata.subclass, sata.prog_if), (0x01, 0x06, 0x01));
    }

    #[test]
    fn follows_configured_bridges_and_ignores_bridge_loops() {
        let mut model = ModelConfig::new();
        model.add_bridge(PciAddress::new(0, 2, 0), 1);
        model.add_bridge(PciAddress::new(0, 3, 0), 0); // unconfigured
        model.add_function(PciAddress::new(1, 0, 0), 0x1AF4, 0x1042, 0x01_00_00);
        // A bridge on bus 1 that claims bus 0 again: must not loop.
        model.add_bridge(PciAddress::new(1, 1, 0), 0);
        model.add_bridge(PciAddress::new(1, 2, 0), 1);
        let devices = enumerate(&model);
        let addresses: Vec<_> = devices.iter().map(|d| d.address).collect();
        assert_eq!(
            addresses,
            [
                PciAddress::new(0, 2, 0),
                PciAddress::new(0, 3, 0),
                PciAddress::new(1, 0, 0),
                PciAddress::new(1, 1, 0),
                PciAddress::new(1, 2, 0),
            ]
        );
        assert!(devices[0].is_bridge());
        assert_eq!(devices[0].secondary_bus, Some(1));
    }
}
