//! The virtio PCI transport, modern interface only (virtio 1.2 §4.1): vendor
//! capabilities locate the common configuration, notification, ISR and device
//! configuration structures inside the function's memory BARs (§4.1.4).

use super::regs::{MmioRegion, Registers};
use super::{Error, QueueAreas, Transport};
use crate::pci::{vendor_capabilities, ConfigAccess, PciAddress, PciDevice};
use crate::pci::{COMMAND, COMMAND_BUS_MASTER, COMMAND_MEMORY_SPACE};
use alloc::vec::Vec;
use log::debug;

/// Red Hat's vendor ID, which virtio devices carry.
pub const VIRTIO_PCI_VENDOR_ID: u16 = 0x1AF4;
/// Modern devices: 0x1040 + device type (§4.1.2.1).
pub const VIRTIO_PCI_MODERN_DEVICE_ID_BASE: u16 = 0x1040;
/// The last modern virtio device ID.
pub const VIRTIO_PCI_MODERN_DEVICE_ID_LAST: u16 = 0x107F;
/// Transitional devices: 0x1000..=0x103F, device type in the subsystem ID.
pub const VIRTIO_PCI_TRANSITIONAL_DEVICE_ID_FIRST: u16 = 0x1000;
/// The last transitional device ID.
pub const VIRTIO_PCI_TRANSITIONAL_DEVICE_ID_LAST: u16 = 0x103F;
/// A modern virtio-blk device.
pub const VIRTIO_PCI_BLOCK_DEVICE_ID: u16 = 0x1042;
/// A transitional virtio-blk device.
pub const VIRTIO_PCI_TRANSITIONAL_BLOCK_DEVICE_ID: u16 = 0x1001;

// cfg_type of struct virtio_pci_cap (§4.1.4).
/// Common configuration: features, status, queues.
pub const VIRTIO_PCI_CAP_COMMON_CFG: u8 = 1;
/// Notifications: where queue notifications are written.
pub const VIRTIO_PCI_CAP_NOTIFY_CFG: u8 = 2;
/// The ISR status.
pub const VIRTIO_PCI_CAP_ISR_CFG: u8 = 3;
/// The device-specific configuration.
pub const VIRTIO_PCI_CAP_DEVICE_CFG: u8 = 4;

// Fields of struct virtio_pci_cap, from the capability header.
const CAP_CFG_TYPE: u16 = 3;
const CAP_BAR: u16 = 4;
const CAP_OFFSET: u16 = 8;
const CAP_LENGTH: u16 = 12;
const NOTIFY_OFF_MULTIPLIER: u16 = 16;
const MAX_BARS: u8 = 6;

// struct virtio_pci_common_cfg (§4.1.4.3).
const DEVICE_FEATURE_SELECT: usize = 0x00;
const DEVICE_FEATURE: usize = 0x04;
const DRIVER_FEATURE_SELECT: usize = 0x08;
const DRIVER_FEATURE: usize = 0x0C;
const DEVICE_STATUS: usize = 0x14;
const CONFIG_GENERATION: usize = 0x15;
const QUEUE_SELECT: usize = 0x16;
const QUEUE_SIZE: usize = 0x18;
const QUEUE_ENABLE: usize = 0x1C;
const QUEUE_NOTIFY_OFF: usize = 0x1E;
const QUEUE_DESC: usize = 0x20;
const QUEUE_DRIVER: usize = 0x28;
const QUEUE_DEVICE: usize = 0x30;
/// Bytes of the common configuration the driver uses.
const COMMON_CFG_LEN: u32 = 0x38;

/// The virtio device type of a PCI function, if it is a virtio device.
pub fn virtio_device_type(device: &PciDevice) -> Option<u32> {
    if device.vendor_id != VIRTIO_PCI_VENDOR_ID {
        return None;
    }
    match device.device_id {
        id @ VIRTIO_PCI_MODERN_DEVICE_ID_BASE..=VIRTIO_PCI_MODERN_DEVICE_ID_LAST => {
            Some(u32::from(id - VIRTIO_PCI_MODERN_DEVICE_ID_BASE))
        }
        VIRTIO_PCI_TRANSITIONAL_DEVICE_ID_FIRST..=VIRTIO_PCI_TRANSITIONAL_DEVICE_ID_LAST => {
            Some(u32::from(device.subsystem_id))
        }
        _ => None,
    }
}

/// Where one virtio structure lives in memory.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Structure {
    /// Its address, BAR base plus offset.
    pub address: u64,
    /// Its length in bytes.
    pub length: u32,
}

/// The structures a modern virtio PCI device exposes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Structures {
    /// The common configuration.
    pub common: Structure,
    /// The notification area.
    pub notify: Structure,
    /// The multiplier of each queue's notify offset.
    pub notify_off_multiplier: u32,
    /// The ISR status.
    pub isr: Structure,
    /// The device configuration, if the device has one.
    pub device: Option<Structure>,
}

/// Reads the virtio vendor capabilities of `device`, taking the first usable one
/// of each type (§4.1.4: "the driver SHOULD use the first ... it can support").
pub fn find_structures<C: ConfigAccess>(config: &C, device: &PciDevice) -> Result<Structures, Error> {
    let address = device.address;
    let (mut common, mut notify, mut isr, mut device_cfg) = (None, None, None, None);
    let mut multiplier = 0;
    let mut unusable = None;
    for cap in vendor_capabilities(config, address) {
        let at = u16::from(cap.offset);
        let cfg_type = config.read8(address, at + CAP_CFG_TYPE);
        let slot = match cfg_type {
            VIRTIO_PCI_CAP_COMMON_CFG => &mut common,
            VIRTIO_PCI_CAP_NOTIFY_CFG => &mut notify,
            VIRTIO_PCI_CAP_ISR_CFG => &mut isr,
            VIRTIO_PCI_CAP_DEVICE_CFG => &mut device_cfg,
            _ => continue,
        };
        if slot.is_some() {
            continue;
        }
        let bar = config.read8(address, at + CAP_BAR);
        let offset = config.read32(address, at + CAP_OFFSET);
        let length = config.read32(address, at + CAP_LENGTH);
        // Reserved BAR numbers are to be ignored (§4.1.4).
        if bar >= MAX_BARS {
            continue;
        }
        let usable = device
            .bar(bar)
            .filter(|b| b.is_memory() && b.is_assigned() && u64::from(offset) + u64::from(length) <= b.size);
        let Some(bar_info) = usable else {
            // A later capability of the same type may still be usable.
            unusable.get_or_insert(Error::BadCapabilityBar { cfg_type, bar });
            continue;
        };
        if cfg_type == VIRTIO_PCI_CAP_NOTIFY_CFG {
            multiplier = config.read32(address, at + NOTIFY_OFF_MULTIPLIER);
        }
        *slot = Some(Structure {
            address: bar_info.address + u64::from(offset),
            length,
        });
    }
    let missing = |cfg_type| {
        if let Some(error) = unusable {
            error
        } else if common.is_none() {
            // A transitional device with only the legacy I/O interface.
            Error::LegacyOnly
        } else {
            Error::MissingCapability { cfg_type }
        }
    };
    let structures = Structures {
        common: common.ok_or_else(|| missing(VIRTIO_PCI_CAP_COMMON_CFG))?,
        notify: notify.ok_or_else(|| missing(VIRTIO_PCI_CAP_NOTIFY_CFG))?,
        notify_off_multiplier: multiplier,
        isr: isr.ok_or_else(|| missing(VIRTIO_PCI_CAP_ISR_CFG))?,
        device: device_cfg,
    };
    if structures.common.length < COMMON_CFG_LEN {
        return Err(Error::MissingCapability {
            cfg_type: VIRTIO_PCI_CAP_COMMON_CFG,
        });
    }
    Ok(structures)
}

/// A modern virtio PCI device, its registers behind `R`.
pub struct PciTransport<R> {
    address: PciAddress,
    device_type: u32,
    common: R,
    notify: R,
    notify_len: u32,
    notify_off_multiplier: u32,
    isr: R,
    device: Option<R>,
    /// queue_notify_off of each enabled queue.
    notify_offsets: Vec<(u16, u16)>,
    selected_queue: u16,
}

impl<R: Registers> PciTransport<R> {
    /// Finds the virtio structures of `device` (enumerated, BARs assigned) and
    /// maps each with `map(physical address, length)`. Switches on memory
    /// decoding and bus mastering if they are off and every memory BAR is placed.
    pub fn new<C: ConfigAccess>(
        config: &C,
        device: &PciDevice,
        mut map: impl FnMut(u64, usize) -> R,
    ) -> Result<PciTransport<R>, Error> {
        let device_type = virtio_device_type(device).ok_or(Error::NotVirtio {
            vendor_id: device.vendor_id,
            device_id: device.device_id,
        })?;
        let structures = find_structures(config, device)?;
        let command = config.read16(device.address, COMMAND);
        let wanted = command | COMMAND_MEMORY_SPACE | COMMAND_BUS_MASTER;
        // A memory BAR left at 0 would claim address 0 once decoding is on.
        let placed = device.bars.iter().flatten().all(|b| !b.is_memory() || b.is_assigned());
        if wanted != command && placed {
            config.write16(device.address, COMMAND, wanted);
        }
        debug!("virtio-pci {}: type {device_type}, {structures:x?}", device.address);
        let map_structure = |s: Structure, map: &mut dyn FnMut(u64, usize) -> R| map(s.address, s.length as usize);
        Ok(PciTransport {
            address: device.address,
            device_type,
            common: map_structure(structures.common, &mut map),
            notify: map_structure(structures.notify, &mut map),
            notify_len: structures.notify.length,
            notify_off_multiplier: structures.notify_off_multiplier,
            isr: map_structure(structures.isr, &mut map),
            device: structures.device.map(|s| map_structure(s, &mut map)),
            notify_offsets: Vec::new(),
            selected_queue: 0,
        })
    }

    /// The function the device is.
    pub fn pci_address(&self) -> PciAddress {
        self.address
    }

    /// Reads (and so acknowledges) the ISR status (§4.1.4.5).
    pub fn isr_status(&self) -> u8 {
        self.isr.read8(0)
    }
}

impl PciTransport<MmioRegion> {
    /// The transport over the device's real BARs.
    ///
    /// # Safety
    /// The device's memory BARs must be identity-mapped, and no one else may drive
    /// the device while the transport is in use.
    pub unsafe fn new_mmio<C: ConfigAccess>(config: &C, device: &PciDevice) -> Result<PciTransport<MmioRegion>, Error> {
        PciTransport::new(config, device, |address, len| {
            // SAFETY: the caller guarantees the BARs are mapped device memory;
            // `find_structures` checked that each structure lies inside its BAR.
            unsafe { MmioRegion::new(address, len) }
        })
    }
}

impl<R: Registers> Transport for PciTransport<R> {
    fn device_type(&self) -> u32 {
        self.device_type
    }

    fn status(&self) -> u8 {
        self.common.read8(DEVICE_STATUS)
    }

    fn set_status(&mut self, status: u8) {
        self.common.write8(DEVICE_STATUS, status);
        if status == 0 {
            self.notify_offsets.clear();
        }
    }

    fn device_features(&mut self) -> u64 {
        self.common.write32(DEVICE_FEATURE_SELECT, 0);
        let low = self.common.read32(DEVICE_FEATURE);
        self.common.write32(DEVICE_FEATURE_SELECT, 1);
        let high = self.common.read32(DEVICE_FEATURE);
        u64::from(high) << 32 | u64::from(low)
    }

    fn set_driver_features(&mut self, features: u64) {
        self.common.write32(DRIVER_FEATURE_SELECT, 0);
        self.common.write32(DRIVER_FEATURE, features as u32);
        self.common.write32(DRIVER_FEATURE_SELECT, 1);
        self.common.write32(DRIVER_FEATURE, (features >> 32) as u32);
    }

    fn select_queue(&mut self, queue: u16) {
        self.selected_queue = queue;
        self.common.write16(QUEUE_SELECT, queue);
    }

    fn queue_max_size(&self) -> u16 {
        self.common.read16(QUEUE_SIZE)
    }

    fn set_queue_size(&mut self, size: u16) {
        self.common.write16(QUEUE_SIZE, size);
    }

    fn set_queue_areas(&mut self, areas: &QueueAreas) {
        for (offset, address) in [
            (QUEUE_DESC, areas.descriptors),
            (QUEUE_DRIVER, areas.driver),
            (QUEUE_DEVICE, areas.device),
        ] {
            self.common.write32(offset, address as u32);
            self.common.write32(offset + 4, (address >> 32) as u32);
        }
    }

    fn queue_enabled(&self) -> bool {
        self.common.read16(QUEUE_ENABLE) != 0
    }

    fn enable_queue(&mut self) {
        let notify_off = self.common.read16(QUEUE_NOTIFY_OFF);
        self.notify_offsets.retain(|&(q, _)| q != self.selected_queue);
        self.notify_offsets.push((self.selected_queue, notify_off));
        self.common.write16(QUEUE_ENABLE, 1);
    }

    fn notify(&mut self, queue: u16) {
        let Some(&(_, notify_off)) = self.notify_offsets.iter().find(|&&(q, _)| q == queue) else {
            debug!("virtio-pci {}: notify of queue {queue}, not enabled", self.address);
            return;
        };
        let offset = u64::from(notify_off) * u64::from(self.notify_off_multiplier);
        if offset + 2 > u64::from(self.notify_len) {
            debug!(
                "virtio-pci {}: notify offset {offset:#x} outside the structure",
                self.address
            );
            return;
        }
        // Without VIRTIO_F_NOTIFICATION_DATA the driver writes the queue index (§4.1.5.2).
        self.notify.write16(offset as usize, queue);
    }

    fn config_generation(&self) -> u32 {
        u32::from(self.common.read8(CONFIG_GENERATION))
    }

    fn config_read8(&self, offset: usize) -> u8 {
        self.device.as_ref().map_or(u8::MAX, |d| d.read8(offset))
    }

    fn config_read16(&self, offset: usize) -> u16 {
        self.device.as_ref().map_or(u16::MAX, |d| d.read16(offset))
    }

    fn config_read32(&self, offset: usize) -> u32 {
        self.device.as_ref().map_or(u32::MAX, |d| d.read32(offset))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pci::model::{ModelBar, ModelConfig};
    use crate::pci::{enumerate, PciAddress};
    use core::cell::RefCell;
    use std::collections::HashMap;
    use std::rc::Rc;
    use std::vec;
    use std::vec::Vec;

    const BAR_ADDRESS: u64 = 0x80_0000_0000;
    const DEV: PciAddress = PciAddress::new(0, 3, 0);

    /// Memory seen by the device's registers: writes are logged by absolute
    /// address; reads come from `values` (0 if unset).
    #[derive(Default)]
    struct Bus {
        writes: Vec<(u64, u32)>,
        values: HashMap<u64, u32>,
    }

    struct Region {
        base: u64,
        bus: Rc<RefCell<Bus>>,
    }

    impl Region {
        fn read(&self, offset: usize) -> u32 {
            let bus = self.bus.borrow();
            bus.values.get(&(self.base + offset as u64)).copied().unwrap_or(0)
        }
        fn write(&self, offset: usize, value: u32) {
            self.bus.borrow_mut().writes.push((self.base + offset as u64, value));
        }
    }

    impl Registers for Region {
        fn read8(&self, offset: usize) -> u8 {
            self.read(offset) as u8
        }
        fn read16(&self, offset: usize) -> u16 {
            self.read(offset) as u16
        }
        fn read32(&self, offset: usize) -> u32 {
            self.read(offset)
        }
        fn write8(&self, offset: usize, value: u8) {
            self.write(offset, u32::from(value))
        }
        fn write16(&self, offset: usize, value: u16) {
            self.write(offset, u32::from(value))
        }
        fn write32(&self, offset: usize, value: u32) {
            self.write(offset, value)
        }
    }

    /// struct virtio_pci_cap after the id and next bytes.
    fn cap(cfg_type: u8, bar: u8, offset: u32, length: u32, extra: Option<u32>) -> Vec<u8> {
        let mut body = vec![if extra.is_some() { 20 } else { 16 }, cfg_type, bar, 0, 0, 0];
        body.extend_from_slice(&offset.to_le_bytes());
        body.extend_from_slice(&length.to_le_bytes());
        if let Some(extra) = extra {
            body.extend_from_slice(&extra.to_le_bytes());
        }
        body
    }

    /// A virtio-blk function laid out like QEMU's: everything in BAR4.
    fn qemu_like_block(device_id: u16, modern: bool) -> ModelConfig {
        let mut model = ModelConfig::new();
        model.add_function(DEV, VIRTIO_PCI_VENDOR_ID, device_id, 0x01_00_00);
        model.set16(DEV, crate::pci::SUBSYSTEM_ID, 2);
        model.add_bar(DEV, 0, ModelBar::Io { size: 0x80 }, 0xC000);
        let bar4 = ModelBar::Memory64 {
            size: 0x4000,
            prefetchable: true,
        };
        model.add_bar(DEV, 4, bar4, BAR_ADDRESS);
        if modern {
            let caps = [
                cap(VIRTIO_PCI_CAP_COMMON_CFG, 4, 0, 0x1000, None),
                cap(VIRTIO_PCI_CAP_ISR_CFG, 4, 0x1000, 0x1000, None),
                cap(VIRTIO_PCI_CAP_DEVICE_CFG, 4, 0x2000, 0x1000, None),
                cap(VIRTIO_PCI_CAP_NOTIFY_CFG, 4, 0x3000, 0x1000, Some(4)),
            ];
            let caps: Vec<(u8, &[u8])> = caps.iter().map(|c| (0x09, &c[..])).collect();
            model.add_capabilities(DEV, &caps);
        }
        model
    }

    fn transport(model: &ModelConfig, bus: &Rc<RefCell<Bus>>) -> Result<PciTransport<Region>, Error> {
        let device = enumerate(model).remove(0);
        PciTransport::new(model, &device, |base, _| Region { base, bus: bus.clone() })
    }

    #[test]
    fn finds_structures_in_the_bars_from_vendor_capabilities() {
        let model = qemu_like_block(VIRTIO_PCI_BLOCK_DEVICE_ID, true);
        let device = enumerate(&model).remove(0);
        assert_eq!(virtio_device_type(&device), Some(2));
        let s = find_structures(&model, &device).unwrap();
        assert_eq!(
            s.common,
            Structure {
                address: BAR_ADDRESS,
                length: 0x1000
            }
        );
        assert_eq!(s.isr.address, BAR_ADDRESS + 0x1000);
        assert_eq!(s.device.unwrap().address, BAR_ADDRESS + 0x2000);
        assert_eq!((s.notify.address, s.notify_off_multiplier), (BAR_ADDRESS + 0x3000, 4));
    }

    #[test]
    fn transitional_device_needs_modern_capabilities() {
        let bus = Rc::new(RefCell::new(Bus::default()));
        let legacy = qemu_like_block(VIRTIO_PCI_TRANSITIONAL_BLOCK_DEVICE_ID, false);
        assert_eq!(transport(&legacy, &bus).err(), Some(Error::LegacyOnly));
        let both = qemu_like_block(VIRTIO_PCI_TRANSITIONAL_BLOCK_DEVICE_ID, true);
        assert_eq!(transport(&both, &bus).unwrap().device_type(), 2);
    }

    #[test]
    fn capability_in_an_unassigned_bar_is_refused() {
        let mut model = qemu_like_block(VIRTIO_PCI_BLOCK_DEVICE_ID, true);
        let bar4 = ModelBar::Memory64 {
            size: 0x4000,
            prefetchable: true,
        };
        model.add_bar(DEV, 4, bar4, 0);
        let bus = Rc::new(RefCell::new(Bus::default()));
        assert_eq!(
            transport(&model, &bus).err(),
            Some(Error::BadCapabilityBar {
                cfg_type: VIRTIO_PCI_CAP_COMMON_CFG,
                bar: 4
            })
        );
    }

    #[test]
    fn registers_are_written_where_the_spec_puts_them() {
        let model = qemu_like_block(VIRTIO_PCI_BLOCK_DEVICE_ID, true);
        let bus = Rc::new(RefCell::new(Bus::default()));
        let mut t = transport(&model, &bus).unwrap();
        // Enumeration left decoding as found; the transport switched it on.
        assert_eq!(model.read16(DEV, COMMAND), COMMAND_MEMORY_SPACE | COMMAND_BUS_MASTER);
        bus.borrow_mut().values.insert(BAR_ADDRESS + QUEUE_NOTIFY_OFF as u64, 3);
        t.select_queue(0);
        t.set_queue_areas(&QueueAreas {
            descriptors: 0x1_2345_6000,
            driver: 0x7000,
            device: 0x8000,
        });
        t.enable_queue();
        t.notify(0);
        t.set_driver_features(super::super::VIRTIO_F_VERSION_1 | 0x46);
        let writes = bus.borrow().writes.clone();
        assert_eq!(
            writes,
            [
                (BAR_ADDRESS + 0x16, 0),
                (BAR_ADDRESS + 0x20, 0x2345_6000),
                (BAR_ADDRESS + 0x24, 1),
                (BAR_ADDRESS + 0x28, 0x7000),
                (BAR_ADDRESS + 0x2C, 0),
                (BAR_ADDRESS + 0x30, 0x8000),
                (BAR_ADDRESS + 0x34, 0),
                (BAR_ADDRESS + 0x1C, 1),
                // queue_notify_off 3 * notify_off_multiplier 4
                (BAR_ADDRESS + 0x3000 + 12, 0),
                (BAR_ADDRESS + 0x08, 0),
                (BAR_ADDRESS + 0x0C, 0x46),
                (BAR_ADDRESS + 0x08, 1),
                (BAR_ADDRESS + 0x0C, 1),
            ]
        );
    }
}
