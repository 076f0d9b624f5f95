//! Bus enumeration, depth first, numbering the PCI-to-PCI bridges nobody numbered
//! (PCI 3.0 §6.1; PCI-to-PCI Bridge Architecture 1.2 §3.2.5.3-5 for the primary,
//! secondary and subordinate bus number registers, and its appendix on
//! configuration: a bridge forwards a Type 1 configuration cycle to bus numbers
//! `secondary..=subordinate`, so numbers are handed out depth first).
//!
//! Bus numbers a VMM gave (SeaBIOS does on q35) are kept when they are
//! consistent: the secondary bus lies after the bus the bridge sits on and after
//! every number handed out so far, and the subordinate bus is within the parent's
//! range. Other bridges get the next free number; QEMU's `virt` machines and
//! libvirt's `pcie-root-port`s need this, since nothing numbers them before the
//! firmware runs. Every bus is scanned at most once (numbers only grow), so the
//! walk ends even when a device lies about its numbers.
#![forbid(unsafe_code)]

use super::bar::{size_bars, Bar};
use super::{ConfigAccess, Error, PciAddress};
use super::{CLASS_CODE, DEVICE_ID, HEADER_TYPE, PROG_IF, REVISION_ID, SECONDARY_BUS, SUBCLASS};
use super::{HEADER_TYPE_BRIDGE, HEADER_TYPE_DEVICE, HEADER_TYPE_MASK, HEADER_TYPE_MULTIFUNCTION};
use super::{MAX_DEVICES, MAX_FUNCTIONS, PRIMARY_BUS, SUBORDINATE_BUS, SUBSYSTEM_ID, VENDOR_ID, VENDOR_NONE};
use alloc::vec::Vec;
use log::{debug, warn};

/// How deeply nested bridges are followed. A VM's hierarchy (root port, switch
/// upstream and downstream ports, a PCI bridge) is a handful deep; the bound
/// keeps the recursion's stack small whatever the devices claim.
pub const MAX_BRIDGE_DEPTH: usize = 16;

/// What enumeration learnt about one function.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PciDevice {
    /// Where the function is.
    pub address: PciAddress,
    /// The vendor ID.
    pub vendor_id: u16,
    /// The device ID.
    pub device_id: u16,
    /// Subsystem ID (type 0 headers; 0 otherwise). Transitional virtio devices
    /// carry their device type here.
    pub subsystem_id: u16,
    /// The base class code.
    pub class: u8,
    /// The sub-class code.
    pub subclass: u8,
    /// The programming interface.
    pub prog_if: u8,
    /// The revision ID.
    pub revision: u8,
    /// Header layout, without the multi-function bit.
    pub header_type: u8,
    /// Implemented BARs by slot; a 64-bit BAR fills its first slot only.
    pub bars: [Option<Bar>; 6],
    /// For bridges: the bus behind it (0 = not reached: no number was left).
    pub secondary_bus: Option<u8>,
    /// For bridges: the highest bus number behind it.
    pub subordinate_bus: Option<u8>,
    /// The bridge this function sits behind: its index in the list
    /// [`enumerate`] returns (`None` on the root bus).
    pub parent: Option<usize>,
}

impl PciDevice {
    /// Whether the function is a PCI-to-PCI bridge (header type 1).
    pub fn is_bridge(&self) -> bool {
        self.header_type == HEADER_TYPE_BRIDGE
    }

    /// The BAR in slot `index`, if implemented.
    pub fn bar(&self, index: u8) -> Option<Bar> {
        self.bars.get(index as usize).copied().flatten()
    }
}

/// Finds every function reachable from the root bus (bus 0, or the first bus of
/// the ECAM segment), numbering bridges on the way within the ECAM's bus range.
/// A bridge is listed before the functions behind it.
pub fn enumerate<C: ConfigAccess>(config: &C) -> Vec<PciDevice> {
    let root = config.root_bus();
    let mut walk = Walk {
        config,
        devices: Vec::new(),
        next_bus: u16::from(root) + 1,
    };
    walk.scan(root, config.last_bus(), 0, None);
    walk.devices
}

struct Walk<'a, C> {
    config: &'a C,
    devices: Vec<PciDevice>,
    /// The lowest bus number not yet handed out or kept.
    next_bus: u16,
}

impl<C: ConfigAccess> Walk<'_, C> {
    /// Scans `bus`, whose bridges may use bus numbers up to `limit`, `depth`
    /// bridges below the root, behind the bridge `devices[parent]`. Returns the
    /// highest bus number in use at or below `bus`.
    fn scan(&mut self, bus: u8, limit: u8, depth: usize, parent: Option<usize>) -> u8 {
        let mut highest = bus;
        for device in 0..MAX_DEVICES {
            let function0 = PciAddress::new(bus, device, 0);
            if self.config.read16(function0, VENDOR_ID) == VENDOR_NONE {
                continue;
            }
            let functions = if self.config.read8(function0, HEADER_TYPE) & HEADER_TYPE_MULTIFUNCTION != 0 {
                MAX_FUNCTIONS
            } else {
                1
            };
            for function in 0..functions {
                let Some(mut found) = probe(self.config, PciAddress::new(bus, device, function)) else {
                    continue;
                };
                found.parent = parent;
                let is_bridge = found.is_bridge();
                self.devices.push(found);
                if is_bridge {
                    let index = self.devices.len() - 1;
                    if let Some(subordinate) = self.bridge(index, bus, limit, depth + 1) {
                        highest = highest.max(subordinate);
                    }
                }
            }
        }
        highest
    }

    /// Numbers (or keeps the numbers of) the bridge `devices[index]` on `bus`
    /// and scans behind it. Returns its subordinate bus, `None` if it is not
    /// followed.
    fn bridge(&mut self, index: usize, bus: u8, limit: u8, depth: usize) -> Option<u8> {
        let address = self.devices[index].address;
        let secondary = self.config.read8(address, SECONDARY_BUS);
        let subordinate = self.config.read8(address, SUBORDINATE_BUS);
        if depth > MAX_BRIDGE_DEPTH {
            warn!("pci: {}", Error::TooDeep { bridge: address, depth });
            self.devices[index].secondary_bus = Some(0);
            return None;
        }
        let consistent = secondary > bus
            && u16::from(secondary) >= self.next_bus
            && subordinate >= secondary
            && subordinate <= limit;
        if consistent {
            if self.config.read8(address, PRIMARY_BUS) != bus {
                self.config.write8(address, PRIMARY_BUS, bus);
            }
            debug!("pci {address}: keeps buses {secondary}-{subordinate}");
            self.next_bus = u16::from(secondary) + 1;
            self.scan(secondary, subordinate, depth, Some(index));
            self.next_bus = self.next_bus.max(u16::from(subordinate) + 1);
            self.devices[index].secondary_bus = Some(secondary);
            self.devices[index].subordinate_bus = Some(subordinate);
            return Some(subordinate);
        }
        if self.next_bus > u16::from(limit) {
            warn!("pci: {}", Error::NoBusNumber { bridge: address });
            // Closed, so that it forwards nothing a sibling owns.
            self.config.write8(address, SUBORDINATE_BUS, 0);
            self.config.write8(address, SECONDARY_BUS, 0);
            self.devices[index].secondary_bus = Some(0);
            return None;
        }
        if secondary != 0 {
            debug!("pci {address}: bus numbers {secondary}-{subordinate} do not fit, renumbered");
        }
        let new_secondary = self.next_bus as u8;
        self.next_bus += 1;
        // Until the bridges behind it are numbered, it forwards every number
        // still free, so that configuration cycles reach them.
        self.config.write8(address, PRIMARY_BUS, bus);
        self.config.write8(address, SECONDARY_BUS, new_secondary);
        self.config.write8(address, SUBORDINATE_BUS, limit);
        let highest = self.scan(new_secondary, limit, depth, Some(index));
        self.config.write8(address, SUBORDINATE_BUS, highest);
        debug!("pci {address}: numbered buses {new_secondary}-{highest}");
        self.devices[index].secondary_bus = Some(new_secondary);
        self.devices[index].subordinate_bus = Some(highest);
        Some(highest)
    }
}

/// The `(device, function)` of every bridge from the root bus down to
/// `devices[index]`, then its own: the PCI nodes of its device path (UEFI 2.10
/// §10.3.2.1). Empty when `index` is out of range; a parent chain that does not
/// lead upwards (never built by [`enumerate`]) stops the walk.
pub fn function_path(devices: &[PciDevice], index: usize) -> Vec<(u8, u8)> {
    let mut path = Vec::new();
    let mut at = Some(index);
    while let Some(i) = at {
        let Some(device) = devices.get(i) else { break };
        if path.len() > MAX_BRIDGE_DEPTH {
            break;
        }
        path.push((device.address.device, device.address.function));
        // Bridges are listed before the functions behind them.
        at = device.parent.filter(|&p| p < i);
    }
    path.reverse();
    path
}

fn probe<C: ConfigAccess>(config: &C, address: PciAddress) -> Option<PciDevice> {
    let vendor_id = config.read16(address, VENDOR_ID);
    if vendor_id == VENDOR_NONE {
        return None;
    }
    let header_type = config.read8(address, HEADER_TYPE) & HEADER_TYPE_MASK;
    let (slots, secondary_bus, subsystem_id) = match header_type {
        HEADER_TYPE_DEVICE => (6, None, config.read16(address, SUBSYSTEM_ID)),
        HEADER_TYPE_BRIDGE => (2, Some(config.read8(address, SECONDARY_BUS)), 0),
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
        subordinate_bus: None,
        parent: None,
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

    fn bus_numbers(model: &ModelConfig, bridge: PciAddress) -> (u8, u8, u8) {
        (
            model.read8(bridge, PRIMARY_BUS),
            model.read8(bridge, SECONDARY_BUS),
            model.read8(bridge, SUBORDINATE_BUS),
        )
    }

    const BLK: (u16, u16, u32) = (0x1AF4, 0x1042, 0x01_00_00);

    /// Root port 00:01.0 -> bridge -> disk, and root port 00:02.0 -> disk, none
    /// numbered (QEMU `virt` with libvirt's layout).
    fn nested_model() -> ModelConfig {
        let mut model = ModelConfig::new();
        model.add_routed_bridge(PciAddress::new(0, 1, 0), 10);
        model.add_routed_bridge(PciAddress::new(10, 0, 0), 11);
        model.add_function(PciAddress::new(11, 0, 0), BLK.0, BLK.1, BLK.2);
        model.add_routed_bridge(PciAddress::new(0, 2, 0), 12);
        model.add_function(PciAddress::new(12, 3, 0), BLK.0, 0x1041, 0x02_00_00);
        model
    }

    #[test]
    fn numbers_unconfigured_bridges_depth_first_and_finds_devices_behind_them() {
        let model = nested_model();
        let devices = enumerate(&model);
        let found: Vec<_> = devices.iter().map(|d| (d.address, d.device_id)).collect();
        assert_eq!(
            found,
            [
                (PciAddress::new(0, 1, 0), 0x000C),
                (PciAddress::new(1, 0, 0), 0x000C),
                (PciAddress::new(2, 0, 0), 0x1042),
                (PciAddress::new(0, 2, 0), 0x000C),
                (PciAddress::new(3, 3, 0), 0x1041),
            ]
        );
        // What the bridges now decode, read back through the routed model.
        assert_eq!(bus_numbers(&model, PciAddress::new(0, 1, 0)), (0, 1, 2));
        assert_eq!(bus_numbers(&model, PciAddress::new(1, 0, 0)), (1, 2, 2));
        assert_eq!(bus_numbers(&model, PciAddress::new(0, 2, 0)), (0, 3, 3));
        assert_eq!(
            (devices[0].secondary_bus, devices[0].subordinate_bus),
            (Some(1), Some(2))
        );
        assert_eq!(function_path(&devices, 2), [(1, 0), (0, 0), (0, 0)]);
        assert_eq!(function_path(&devices, 4), [(2, 0), (3, 0)]);
        assert_eq!(function_path(&devices, 0), [(1, 0)]);
        assert!(function_path(&devices, 9).is_empty());
        // A second enumeration keeps every number it gave.
        let before = model.writes.borrow().len();
        assert_eq!(enumerate(&model), devices);
        let renumbered = model.writes.borrow()[before..].iter().any(|&(at, offset, _)| {
            devices.iter().any(|d| d.is_bridge() && d.address == at) && offset & !3 == PRIMARY_BUS
        });
        assert!(
            !renumbered,
            "consistent bus numbers were rewritten: {:?}",
            &model.writes.borrow()[before..]
        );
    }

    #[test]
    fn keeps_vmm_numbers_and_renumbers_a_bridge_that_claims_its_own_bus() {
        let mut model = ModelConfig::new();
        model.add_bridge(PciAddress::new(0, 2, 0), 1); // numbered 1-1 by the VMM
        model.add_bridge(PciAddress::new(0, 3, 0), 0); // not numbered
        model.add_function(PciAddress::new(1, 0, 0), BLK.0, BLK.1, BLK.2);
        // Behind 00:02.0, a bridge that claims bus 1 again: no number is left
        // in its parent's range 1-1, so it is closed, not followed.
        model.add_bridge(PciAddress::new(1, 2, 0), 1);
        let devices = enumerate(&model);
        let addresses: Vec<_> = devices.iter().map(|d| (d.address, d.secondary_bus)).collect();
        assert_eq!(
            addresses,
            [
                (PciAddress::new(0, 2, 0), Some(1)),
                (PciAddress::new(1, 0, 0), None),
                (PciAddress::new(1, 2, 0), Some(0)),
                (PciAddress::new(0, 3, 0), Some(2)),
            ]
        );
        assert_eq!(bus_numbers(&model, PciAddress::new(0, 2, 0)), (0, 1, 1));
        assert_eq!(bus_numbers(&model, PciAddress::new(1, 2, 0)).1, 0);
        assert_eq!(bus_numbers(&model, PciAddress::new(0, 3, 0)), (0, 2, 2));
    }

    #[test]
    fn bus_numbers_stop_at_the_end_of_the_ecam() {
        let mut model = nested_model();
        model.last_bus = Some(1);
        let devices = enumerate(&model);
        let found: Vec<_> = devices.iter().map(|d| (d.address, d.secondary_bus)).collect();
        assert_eq!(
            found,
            [
                (PciAddress::new(0, 1, 0), Some(1)),
                (PciAddress::new(1, 0, 0), Some(0)),
                (PciAddress::new(0, 2, 0), Some(0)),
            ]
        );
        assert_eq!(bus_numbers(&model, PciAddress::new(0, 1, 0)), (0, 1, 1));
    }

    #[test]
    fn bridges_nested_too_deep_are_not_followed() {
        let mut model = ModelConfig::new();
        model.add_routed_bridge(PciAddress::new(0, 1, 0), 100);
        for level in 0..30u8 {
            model.add_routed_bridge(PciAddress::new(100 + level, 0, 0), 101 + level);
        }
        let devices = enumerate(&model);
        assert_eq!(devices.len(), MAX_BRIDGE_DEPTH + 1);
        assert_eq!(devices.last().unwrap().secondary_bus, Some(0));
        assert_eq!(
            devices[MAX_BRIDGE_DEPTH - 1].subordinate_bus,
            Some(MAX_BRIDGE_DEPTH as u8)
        );
    }
}
