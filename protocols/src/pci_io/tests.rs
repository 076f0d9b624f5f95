//! The protocols through their function tables, as an application calls
//! them, over a fake root bridge: one function with a 4 KiB memory BAR and a
//! 32-byte I/O BAR.

use super::bridge::{Apertures, Range, RootBridge, Services};
use super::efi::PciFunctionIo;
use super::root_bridge::RootBridgeIo;
use super::width::Width;
use alloc::boxed::Box;
use alloc::vec::Vec;
use core::ffi::c_void;
use fw_drivers::pci::{AccessWidth, Bar, BarKind, ConfigAccess, HostSpaces, PciAddress, PciDevice, Space};
use r_efi::efi::Status;
use spin::Mutex;
use std::collections::HashMap;

const AT: PciAddress = PciAddress::new(0, 3, 0);
const BAR_BASE: u64 = 0x1000_0000;
static CLOCK: core::sync::atomic::AtomicU64 = core::sync::atomic::AtomicU64::new(0);

#[derive(Default)]
struct Fake {
    config: Mutex<HashMap<(PciAddress, u16), u32>>,
    memory: Mutex<HashMap<(Space, u64), u8>>,
}

impl ConfigAccess for Fake {
    fn read32(&self, address: PciAddress, offset: u16) -> u32 {
        *self.config.lock().get(&(address, offset)).unwrap_or(&u32::MAX)
    }
    fn write32(&self, address: PciAddress, offset: u16, value: u32) {
        self.config.lock().insert((address, offset), value);
    }
}

impl HostSpaces for Fake {
    fn read(&self, space: Space, address: u64, width: AccessWidth) -> u64 {
        let m = self.memory.lock();
        (0..width.bytes()).fold(0, |v, i| {
            v | u64::from(*m.get(&(space, address + i)).unwrap_or(&0)) << (8 * i)
        })
    }
    fn write(&self, space: Space, address: u64, width: AccessWidth, value: u64) {
        let mut m = self.memory.lock();
        for i in 0..width.bytes() {
            m.insert((space, address + i), (value >> (8 * i)) as u8);
        }
    }
}

fn device() -> PciDevice {
    let mut bars = [None; 6];
    bars[0] = Some(Bar {
        index: 0,
        kind: BarKind::Io,
        prefetchable: false,
        address: 0xc000,
        size: 32,
    });
    bars[4] = Some(Bar {
        index: 4,
        kind: BarKind::Memory64,
        prefetchable: true,
        address: BAR_BASE,
        size: 0x1000,
    });
    PciDevice {
        address: AT,
        vendor_id: 0x1af4,
        device_id: 0x1042,
        subsystem_id: 0,
        class: 1,
        subclass: 0,
        prog_if: 0,
        revision: 1,
        header_type: 0,
        bars,
        secondary_bus: None,
        subordinate_bus: None,
        parent: None,
    }
}

fn bridge() -> &'static RootBridge {
    let fake = Fake::default();
    fake.write32(AT, 0, 0x1042_1af4);
    fake.write32(AT, 4, 0x0000_0006);
    let spaces = Fake::default();
    Box::leak(Box::new(RootBridge {
        segment: 0,
        buses: (0, 0),
        apertures: Apertures {
            mmio32: Some(Range {
                base: BAR_BASE,
                size: 0x1000_0000,
            }),
            mmio64: None,
            io: Some(Range {
                base: 0xc000,
                size: 0x1000,
            }),
        },
        devices: [device()].into(),
        config: Box::new(fake),
        spaces: Box::new(spaces),
        services: Services {
            allocate_pages: |_, _, _| Err(Status::OUT_OF_RESOURCES),
            free_pages: |_, _| Status::SUCCESS,
            allocate_pool: |n| Some(Box::leak(std::vec![0u8; n].into_boxed_slice()).as_mut_ptr()),
            // Each look at the clock moves it 1 µs on.
            now_ns: || CLOCK.fetch_add(1000, core::sync::atomic::Ordering::Relaxed),
        },
    }))
}

fn ptr<T>(v: &mut T) -> *mut c_void {
    core::ptr::from_mut::<T>(v).cast::<c_void>()
}

#[test]
fn pci_io_reads_config_space_and_checks_bar_bounds() {
    let b = bridge();
    let p = PciFunctionIo::create(b, 0).protocol();
    // SAFETY: calling our own thunks through the table, as an application would.
    unsafe {
        let mut ids = [0u16; 2];
        assert_eq!(((*p).pci.read)(p, 1, 0, 2, ids.as_mut_ptr().cast()), Status::SUCCESS);
        assert_eq!(ids, [0x1af4, 0x1042]);
        let mut v = 0u32;
        assert_eq!(((*p).pci.read)(p, 2, 4096, 1, ptr(&mut v)), Status::UNSUPPORTED);
        assert_eq!(
            ((*p).pci.read)(p, 2, 2, 1, ptr(&mut v)),
            Status::INVALID_PARAMETER,
            "unaligned"
        );
        assert_eq!(
            ((*p).pci.read)(p, 12, 0, 1, ptr(&mut v)),
            Status::INVALID_PARAMETER,
            "bad width"
        );
        assert_eq!(
            ((*p).pci.read)(p, 2, 0, 1, core::ptr::null_mut()),
            Status::INVALID_PARAMETER
        );

        let words: [u32; 2] = [0xdead_beef, 0x0bad_f00d];
        assert_eq!(
            ((*p).mem.write)(p, 2, 4, 0xff8, 2, words.as_ptr() as *mut c_void),
            Status::SUCCESS
        );
        assert_eq!(
            ((*p).mem.write)(p, 2, 4, 0xffc, 2, words.as_ptr() as *mut c_void),
            Status::UNSUPPORTED
        );
        assert_eq!(
            ((*p).mem.read)(p, 2, 0, 0, 1, ptr(&mut v)),
            Status::UNSUPPORTED,
            "BAR 0 is I/O"
        );
        assert_eq!(((*p).mem.read)(p, 2, 6, 0, 1, ptr(&mut v)), Status::UNSUPPORTED);
        let mut back = 0u64;
        assert_eq!(((*p).mem.read)(p, 3, 4, 0xff8, 1, ptr(&mut back)), Status::SUCCESS);
        assert_eq!(back, 0x0bad_f00d_dead_beef);
        // FIFO: four reads of one register; fill: one value over four.
        let mut four = [0u32; 4];
        assert_eq!(
            ((*p).mem.read)(p, 6, 4, 0xff8, 4, four.as_mut_ptr().cast()),
            Status::SUCCESS
        );
        assert_eq!(four, [0xdead_beef; 4]);
        let mut fill = 0x11u8;
        assert_eq!(((*p).io.write)(p, 8, 0, 0, 32, ptr(&mut fill)), Status::SUCCESS);
        let mut io = [0u8; 32];
        assert_eq!(((*p).io.read)(p, 0, 0, 0, 32, io.as_mut_ptr().cast()), Status::SUCCESS);
        assert_eq!(io, [0x11; 32]);

        let mut result = 0u64;
        assert_eq!(
            ((*p).poll_mem)(p, 2, 4, 0xff8, 0xffff, 0xbeef, 10, &mut result),
            Status::SUCCESS
        );
        assert_eq!(
            ((*p).poll_mem)(p, 2, 4, 0xff8, 0xffff, 0x1234, 10, &mut result),
            Status::TIMEOUT
        );
        assert_eq!(result, 0xdead_beef);
        assert_eq!(
            ((*p).poll_mem)(p, 6, 4, 0xff8, 0, 0, 0, &mut result),
            Status::INVALID_PARAMETER
        );

        assert_eq!(((*p).copy_mem)(p, 2, 4, 0x10, 4, 0xff8, 2), Status::SUCCESS);
        assert_eq!(((*p).mem.read)(p, 3, 4, 0x10, 1, ptr(&mut back)), Status::SUCCESS);
        assert_eq!(back, 0x0bad_f00d_dead_beef);

        let (mut s, mut bus, mut dev, mut func) = (9usize, 9usize, 9usize, 9usize);
        assert_eq!(
            ((*p).get_location)(p, &mut s, &mut bus, &mut dev, &mut func),
            Status::SUCCESS
        );
        assert_eq!((s, bus, dev, func), (0, 0, 3, 0));
        let mut attributes = 0u64;
        assert_eq!(((*p).attributes)(p, 0, 0, &mut attributes), Status::SUCCESS);
        assert_eq!(
            attributes,
            super::attributes::ATTRIBUTE_MEMORY | super::attributes::ATTRIBUTE_BUS_MASTER
        );
        assert_eq!(
            ((*p).attributes)(p, 0, 0, core::ptr::null_mut()),
            Status::INVALID_PARAMETER
        );

        let mut resources: *mut c_void = core::ptr::null_mut();
        let mut supports = 1u64;
        assert_eq!(
            ((*p).get_bar_attributes)(p, 4, &mut supports, &mut resources),
            Status::SUCCESS
        );
        let d = core::slice::from_raw_parts(resources.cast::<u8>(), super::descriptors::QWORD_SIZE + 2);
        assert_eq!(u64::from_le_bytes(d[14..22].try_into().unwrap()), BAR_BASE);
        assert_eq!(d[super::descriptors::QWORD_SIZE], super::descriptors::END_TAG);
        assert_eq!(
            ((*p).get_bar_attributes)(p, 1, &mut supports, &mut resources),
            Status::UNSUPPORTED
        );
        assert_eq!(
            ((*p).get_bar_attributes)(p, 4, core::ptr::null_mut(), core::ptr::null_mut()),
            Status::INVALID_PARAMETER
        );
        assert_eq!(
            ((*p).set_bar_attributes)(p, 0, 4, &mut back, &mut back),
            Status::UNSUPPORTED
        );
        assert_eq!((*p).rom_size, 0);
    }
}

#[test]
fn root_bridge_reaches_config_by_pci_address_and_only_mapped_memory() {
    let b = bridge();
    let p = RootBridgeIo::create(b).protocol();
    // SAFETY: as above.
    unsafe {
        let mut vendor = 0u16;
        let address = (u64::from(AT.device) << 16) | (u64::from(AT.function) << 8);
        assert_eq!(((*p).pci.read)(p, 1, address, 1, ptr(&mut vendor)), Status::SUCCESS);
        assert_eq!(vendor, 0x1af4);
        assert_eq!(
            ((*p).pci.read)(p, 1, address | 1 << 24, 1, ptr(&mut vendor)),
            Status::INVALID_PARAMETER
        );
        let mut v = 0u32;
        assert_eq!(((*p).mem.read)(p, 2, BAR_BASE, 1, ptr(&mut v)), Status::SUCCESS);
        assert_eq!(
            ((*p).mem.read)(p, 2, BAR_BASE + 0x1000, 1, ptr(&mut v)),
            Status::INVALID_PARAMETER
        );
        assert_eq!(((*p).mem.read)(p, 2, 0, 1, ptr(&mut v)), Status::INVALID_PARAMETER);
        let mut resources: *mut c_void = core::ptr::null_mut();
        assert_eq!(((*p).configuration)(p, &mut resources), Status::SUCCESS);
        assert_eq!(*resources.cast::<u8>(), super::descriptors::QWORD_ADDRESS_SPACE);
        assert_eq!((*p).segment_number, 0);
        let (mut host, mut bytes, mut device) = (0u64, 8usize, 0u64);
        let mut mapping: *mut c_void = core::ptr::null_mut();
        assert_eq!(
            ((*p).map)(p, 5, ptr(&mut host), &mut bytes, &mut device, &mut mapping),
            Status::SUCCESS
        );
        assert_eq!(device, core::ptr::from_mut::<u64>(&mut host) as u64);
        assert_eq!(((*p).unmap)(p, mapping), Status::SUCCESS);
        assert_eq!(((*p).unmap)(p, mapping), Status::INVALID_PARAMETER);
        assert_eq!(
            ((*p).map)(p, 6, ptr(&mut host), &mut bytes, &mut device, &mut mapping),
            Status::INVALID_PARAMETER
        );
        let mut foreign: Vec<u8> = std::vec![0; 256];
        assert_eq!(((*p).flush)(foreign.as_mut_ptr().cast()), Status::INVALID_PARAMETER);
    }
    let _ = Width::from_raw(0);
}
