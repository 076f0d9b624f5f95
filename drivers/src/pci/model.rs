//! A model configuration space for host tests: a map of dwords per function, with
//! BARs that behave like hardware (the low address bits are hard-wired to zero and
//! the type bits are read-only, so writing all ones reads back the size mask).

use super::SUBORDINATE_BUS;
use super::{ConfigAccess, PciAddress, BAR0, CAPABILITIES_POINTER, HEADER_TYPE, STATUS};
use super::{PREFETCHABLE_MEMORY_BASE, PREFETCHABLE_MEMORY_LIMIT, SECONDARY_BUS, STATUS_CAPABILITIES_LIST};
use core::cell::RefCell;
use std::collections::HashMap;
use std::vec::Vec;

#[derive(Default)]
pub struct ModelConfig {
    dwords: RefCell<HashMap<(PciAddress, u16), u32>>,
    /// Per BAR dword: the writable bits (the rest keep their value).
    bar_masks: HashMap<(PciAddress, u16), u32>,
    /// Every write, for tests that check what was (not) touched.
    pub writes: RefCell<Vec<(PciAddress, u16, u32)>>,
    /// Routed bridges: (physical address, physical secondary bus).
    routes: Vec<(PciAddress, u8)>,
    /// The last bus number the "ECAM" decodes (255 when `None`).
    pub last_bus: Option<u8>,
}

/// A BAR to put in the model.
#[derive(Clone, Copy)]
pub enum ModelBar {
    Memory32 { size: u32, prefetchable: bool },
    Memory64 { size: u64, prefetchable: bool },
    Io { size: u32 },
}

impl ModelConfig {
    pub fn new() -> ModelConfig {
        ModelConfig::default()
    }

    pub fn set32(&mut self, address: PciAddress, offset: u16, value: u32) {
        self.dwords.get_mut().insert((address, offset & !3), value);
    }

    pub fn set16(&mut self, address: PciAddress, offset: u16, value: u16) {
        let shift = (offset & 2) * 8;
        let old = self.get32(address, offset & !3) & !(0xFFFF << shift);
        self.set32(address, offset & !3, old | u32::from(value) << shift);
    }

    pub fn set8(&mut self, address: PciAddress, offset: u16, value: u8) {
        let shift = (offset & 3) * 8;
        let old = self.get32(address, offset & !3) & !(0xFF << shift);
        self.set32(address, offset & !3, old | u32::from(value) << shift);
    }

    fn get32(&self, address: PciAddress, offset: u16) -> u32 {
        self.dwords.borrow().get(&(address, offset & !3)).copied().unwrap_or(0)
    }

    /// Adds a function with a type 0 header.
    pub fn add_function(&mut self, address: PciAddress, vendor: u16, device: u16, class: u32) {
        self.set32(address, 0, u32::from(device) << 16 | u32::from(vendor));
        self.set32(address, 8, class << 8);
    }

    pub fn set_multifunction(&mut self, address: PciAddress) {
        let header = self.get32(address, HEADER_TYPE) >> 16 & 0xFF;
        self.set8(address, HEADER_TYPE, header as u8 | 0x80);
    }

    /// Adds a PCI-to-PCI bridge already given `secondary` (and as its
    /// subordinate, the same) by the VMM. Its prefetchable window decodes 64 bits.
    pub fn add_bridge(&mut self, address: PciAddress, secondary: u8) {
        self.add_function(address, 0x1B36, 0x000C, 0x06_04_00);
        self.set8(address, HEADER_TYPE, 1);
        self.set8(address, SECONDARY_BUS, secondary);
        self.set8(address, SUBORDINATE_BUS, secondary);
        self.set16(address, PREFETCHABLE_MEMORY_BASE, 1);
        self.set16(address, PREFETCHABLE_MEMORY_LIMIT, 1);
    }

    /// Adds an unnumbered bridge at physical `address` whose secondary side is
    /// the physical bus `behind` (functions behind it are added there).
    pub fn add_routed_bridge(&mut self, address: PciAddress, behind: u8) {
        self.add_bridge(address, 0);
        self.routes.push((address, behind));
    }

    /// The physical bus a configuration access to `bus` reaches, if any.
    fn route(&self, bus: u8) -> Option<u8> {
        if self.routes.is_empty() || bus == 0 {
            return Some(bus);
        }
        let mut physical = 0u8;
        // Each step goes one bridge deeper: at most one per bridge.
        for _ in 0..self.routes.len() {
            let &(_, behind) = self.routes.iter().find(|(bridge, _)| {
                let secondary = self.get32(*bridge, SECONDARY_BUS) >> 8 & 0xFF;
                let subordinate = self.get32(*bridge, SUBORDINATE_BUS) >> 16 & 0xFF;
                bridge.bus == physical && secondary != 0 && (secondary..=subordinate).contains(&u32::from(bus))
            })?;
            let bridge_secondary = self
                .routes
                .iter()
                .find(|r| r.1 == behind)
                .map(|r| self.get32(r.0, SECONDARY_BUS) >> 8 & 0xFF)?;
            if bridge_secondary == u32::from(bus) {
                return Some(behind);
            }
            physical = behind;
        }
        None
    }

    fn physical(&self, address: PciAddress) -> Option<PciAddress> {
        if address.bus > self.last_bus.unwrap_or(255) {
            return None;
        }
        self.route(address.bus)
            .map(|bus| PciAddress::new(bus, address.device, address.function))
    }

    /// Puts a BAR at `index` with address `placed` (0 = unassigned).
    pub fn add_bar(&mut self, address: PciAddress, index: u8, bar: ModelBar, placed: u64) {
        let offset = BAR0 + 4 * u16::from(index);
        match bar {
            ModelBar::Memory32 { size, prefetchable } => {
                let flags = if prefetchable { 8 } else { 0 };
                self.bar_masks.insert((address, offset), !(size - 1));
                self.set32(address, offset, placed as u32 | flags);
            }
            ModelBar::Memory64 { size, prefetchable } => {
                let flags = 4 | if prefetchable { 8 } else { 0 };
                let mask = !(size - 1);
                self.bar_masks.insert((address, offset), mask as u32);
                self.bar_masks.insert((address, offset + 4), (mask >> 32) as u32);
                self.set32(address, offset, placed as u32 | flags);
                self.set32(address, offset + 4, (placed >> 32) as u32);
            }
            ModelBar::Io { size } => {
                // 16-bit I/O decoders hard-wire the upper half to zero.
                self.bar_masks.insert((address, offset), !(size - 1) & 0xFFFF);
                self.set32(address, offset, placed as u32 | 1);
            }
        }
    }

    /// Adds capabilities, each `(id, body)`; body bytes follow the id and next
    /// pointer. They are laid out from 0x40 in order.
    pub fn add_capabilities(&mut self, address: PciAddress, caps: &[(u8, &[u8])]) {
        let status = (self.get32(address, STATUS) >> 16) as u16;
        self.set16(address, STATUS, status | STATUS_CAPABILITIES_LIST);
        let mut at = 0x40u16;
        self.set8(address, CAPABILITIES_POINTER, at as u8);
        for (i, (id, body)) in caps.iter().enumerate() {
            let len = (2 + body.len() as u16 + 3) & !3;
            let next = if i + 1 == caps.len() { 0 } else { at + len };
            self.set8(address, at, *id);
            self.set8(address, at + 1, next as u8);
            for (j, b) in body.iter().enumerate() {
                self.set8(address, at + 2 + j as u16, *b);
            }
            at += len;
        }
    }
}

impl ModelConfig {
    fn bar_slots(&self, address: PciAddress) -> u16 {
        if self.get32(address, HEADER_TYPE) >> 16 & 0x7F == 1 {
            2
        } else {
            6
        }
    }
}

impl ConfigAccess for ModelConfig {
    fn last_bus(&self) -> u8 {
        self.last_bus.unwrap_or(255)
    }

    fn read32(&self, address: PciAddress, offset: u16) -> u32 {
        let Some(address) = self.physical(address) else {
            return u32::MAX;
        };
        match self.dwords.borrow().get(&(address, offset & !3)) {
            Some(&v) => v,
            // Absent function, or an unimplemented register of a present one.
            None if self.dwords.borrow().contains_key(&(address, 0)) => 0,
            None => u32::MAX,
        }
    }

    fn write32(&self, address: PciAddress, offset: u16, value: u32) {
        self.writes.borrow_mut().push((address, offset, value));
        let Some(address) = self.physical(address) else {
            return;
        };
        let offset = offset & !3;
        if !self.dwords.borrow().contains_key(&(address, 0)) {
            return;
        }
        let old = self.get32(address, offset);
        let value = match self.bar_masks.get(&(address, offset)) {
            Some(&mask) => (value & mask) | (old & !mask),
            // A BAR slot with no BAR: hard-wired to zero.
            None if (BAR0..BAR0 + 4 * self.bar_slots(address)).contains(&offset) => 0,
            None => value,
        };
        self.dwords.borrow_mut().insert((address, offset), value);
    }
}
