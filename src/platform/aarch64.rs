//! The aarch64 machine (QEMU `virt`, Cloud Hypervisor), as its device tree
//! describes it: the PL011 console `/chosen/stdout-path` names, the PL031
//! clock, power control
//! through PSCI, the generic PCI host bridge (`pci-host-ecam-generic`, whose
//! BARs QEMU leaves unassigned: they are placed in the bridge's `ranges`) and
//! the `virtio,mmio` slots.

use super::{pci_disks, Disk, MMIO_DEVICES, REQUEST_TIMEOUT_NS};
use alloc::format;
use alloc::sync::Arc;
use alloc::vec::Vec;
use fw_core::boot_info::BootInfo;
use fw_drivers::fdt::{Fdt, PciSpace};
use fw_drivers::pci::{self, BarWindows, Window};
use fw_drivers::rtc::calendar::DateTime;
use fw_drivers::rtc::pl031::{MmioRegisters as Pl031Mmio, Pl031};
use fw_drivers::uart::pl011::{MmioRegisters, Pl011};
use fw_drivers::virtio::{self, PollLimit};
use log::{debug, info, warn};

/// Where QEMU `virt` and Cloud Hypervisor put their PL011: used when the
/// device tree names none.
const DEFAULT_PL011: u64 = 0x0900_0000;

static CONSOLE: spin::Once<Pl011<MmioRegisters>> = spin::Once::new();

/// The PL011 to use: the one `stdout-path` names, else the first in the
/// tree, else the VMMs' usual address.
fn console_address() -> u64 {
    let Some(tree) = fw_arch::aarch64::device_tree() else {
        return DEFAULT_PL011;
    };
    tree.stdout()
        .filter(|n| n.is_compatible("arm,pl011"))
        .or_else(|| tree.find_compatible("arm,pl011"))
        .and_then(|n| n.first_reg())
        .map_or(DEFAULT_PL011, |(address, _)| address)
}

/// Finds and programs the console.
pub fn console_init(_boot: &fw_arch::Boot) {
    let uart = CONSOLE.call_once(|| {
        Pl011::new(MmioRegisters {
            base: console_address() as usize,
        })
    });
    uart.init();
}

pub fn console_write(bytes: &[u8]) {
    if let Some(uart) = CONSOLE.get() {
        uart.write_bytes(bytes);
    }
}

pub fn console_read() -> Option<u8> {
    CONSOLE.get().and_then(|uart| uart.read_byte())
}

/// The PL031's register block (base, size), as the device tree names it.
/// Looked up once, during boot services: GetTime runs after
/// ExitBootServices, when the device tree belongs to the OS.
fn rtc_registers() -> Option<(u64, u64)> {
    static REG: spin::Once<Option<(u64, u64)>> = spin::Once::new();
    *REG.call_once(|| {
        fw_arch::aarch64::device_tree()
            .and_then(|tree| tree.find_compatible("arm,pl031"))
            .and_then(|n| n.first_reg())
    })
}

/// The PL031 the device tree names.
fn rtc() -> Option<Pl031<Pl031Mmio>> {
    rtc_registers().map(|(base, _)| Pl031::new(Pl031Mmio { base: base as usize }))
}

/// MMIO the runtime services touch after ExitBootServices (base, size): the
/// PL031 behind GetTime/SetTime. The memory map reports it as
/// EfiMemoryMappedIO with EFI_MEMORY_RUNTIME (UEFI 2.10 §7.2.3) so that the
/// OS maps it for runtime calls.
pub fn runtime_mmio() -> Vec<(u64, u64)> {
    rtc_registers().into_iter().collect()
}

/// The time of day (GetTime, FAT timestamps), in UTC.
pub fn rtc_get() -> Option<DateTime> {
    rtc().map(|rtc| rtc.read())
}

/// SetTime; `false` when there is no clock or it cannot hold the time.
pub fn rtc_set(t: &DateTime) -> bool {
    rtc().is_some_and(|rtc| rtc.write(t).is_ok())
}

/// ResetSystem through PSCI. Returns only if PSCI is missing or refused.
pub fn reset(kind: r_efi::efi::ResetType) {
    if kind == r_efi::efi::RESET_SHUTDOWN {
        fw_arch::aarch64::psci::system_off();
    } else {
        fw_arch::aarch64::psci::system_reset();
    }
}

fn timer_now() -> u64 {
    fw_arch::time::ticks()
}

/// Discovers clocks, buses and disks: PCI first, then virtio-mmio slots in
/// device tree order.
pub fn discover(_info: &BootInfo, alloc_page: &mut dyn FnMut() -> Option<u64>) -> Vec<Disk> {
    let hz = fw_arch::time::frequency();
    info!("generic timer: {} MHz", hz / 1_000_000);
    let Some(tree) = fw_arch::aarch64::device_tree() else {
        warn!("no device tree: no disks");
        return Vec::new();
    };
    let limit = PollLimit::Clock {
        now: timer_now,
        limit: fw_core::clock::ns_to_ticks(REQUEST_TIMEOUT_NS, hz),
    };
    let mut disks = pci_host_disks(&tree, limit, alloc_page);
    disks.extend(virtio_mmio_disks(&tree, limit));
    disks
}

/// The BAR windows of a host bridge: its `ranges` where PCI and CPU addresses
/// agree (QEMU and Cloud Hypervisor map memory 1:1).
fn bar_windows(host: &fw_drivers::fdt::Node) -> BarWindows {
    let mut windows = BarWindows {
        mmio32: None,
        mmio64: None,
        io: None,
    };
    for range in host.pci_ranges() {
        let identity = range.pci_address == range.cpu_address;
        match range.space {
            PciSpace::Memory32 if identity && windows.mmio32.is_none() => {
                windows.mmio32 = Some(Window::new(range.pci_address, range.size));
            }
            PciSpace::Memory64 if identity && windows.mmio64.is_none() => {
                windows.mmio64 = Some(Window::new(range.pci_address, range.size));
            }
            // Port numbers are bus addresses; the firmware never uses I/O BARs,
            // but placing them keeps devices' decoding consistent. Port 0 is
            // left out so that no BAR reads as "unassigned".
            PciSpace::Io if windows.io.is_none() && range.size > 0x1000 => {
                windows.io = Some(Window::new(range.pci_address + 0x1000, range.size - 0x1000));
            }
            _ => debug!("PCI: window {range:?} not used"),
        }
    }
    windows
}

fn pci_host_disks(tree: &Fdt, limit: PollLimit, alloc_page: &mut dyn FnMut() -> Option<u64>) -> Vec<Disk> {
    let Some(host) = tree.find_compatible("pci-host-ecam-generic") else {
        info!("PCI: no generic host bridge in the device tree");
        return Vec::new();
    };
    let Some((base, size)) = host.first_reg() else {
        warn!("PCI: host bridge without reg");
        return Vec::new();
    };
    let (first, last) = host.bus_range();
    // The ECAM window decodes 1 MiB per bus: never look past what `reg` covers.
    let buses = (size >> 20).clamp(1, 256) as u16;
    let last = last.min((u16::from(first) + buses - 1).min(255) as u8);
    info!("PCI: ECAM at {base:#x}, buses {first}-{last}");
    let windows = bar_windows(&host);
    // SAFETY: the device tree describes this ECAM window; arch_start mapped it
    // as device memory, and only the firmware drives PCI configuration.
    let config = unsafe { pci::Ecam::new(base, first, last) };
    pci_disks(&config, windows, limit, alloc_page)
}

/// A virtio-blk device on virtio-mmio.
pub type MmioBlk = virtio::VirtioBlk<virtio::MmioTransport<virtio::MmioRegion>>;

fn virtio_mmio_disks(tree: &Fdt, limit: PollLimit) -> Vec<Disk> {
    let mut disks = Vec::new();
    for node in tree.nodes().filter(|n| n.is_compatible("virtio,mmio")) {
        let Some((base, _)) = node.first_reg() else { continue };
        // SAFETY: the device tree names this virtio-mmio register block;
        // arch_start mapped it as device memory and nothing else drives it.
        match unsafe { virtio::mmio_block_device(base, limit) } {
            Ok(blk) => {
                let blk = Arc::new(blk);
                MMIO_DEVICES.lock().push(blk.clone());
                disks.push(Disk {
                    location: format!("virtio-blk at MMIO {base:#x}"),
                    pci: None,
                    mmio: Some(base),
                    device: blk,
                    virtio: None,
                });
            }
            Err(virtio::Error::NoDevice) => {}
            Err(e) => debug!("virtio-mmio at {base:#x}: {e}"),
        }
    }
    disks
}
