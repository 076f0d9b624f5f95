//! Finding the machine's devices: ACPI tables from the RSDP, the TSC rate from the
//! PM timer, PCI through ECAM (MCFG) or ports 0xCF8/0xCFC, BARs the VMM left
//! unassigned, and the virtio block devices.

use alloc::format;
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;
use fw_arch::Caching;
use fw_core::boot_info::{BootInfo, MemoryKind};
use fw_drivers::acpi::{self, Acpi, PhysMemory};
use fw_drivers::block::BlockDevice;
use fw_drivers::pci::{self, BarWindows, ConfigAccess, PciDevice, Window};
use fw_drivers::virtio::{self, PollLimit};
use log::{debug, info, warn};

/// Physical memory, identity mapped below `limit`.
pub struct IdentityMemory {
    pub limit: u64,
}

impl PhysMemory for IdentityMemory {
    fn read(&self, addr: u64, len: usize) -> Option<&[u8]> {
        let end = addr.checked_add(len as u64)?;
        if addr == 0 || end > self.limit {
            return None;
        }
        // SAFETY: everything below `limit` is identity mapped; ACPI tables are
        // memory the VMM gave us to read and nothing writes them.
        Some(unsafe { core::slice::from_raw_parts(addr as *const u8, len) })
    }
}

/// A virtio-blk device on PCI.
pub type PciBlk = virtio::VirtioBlk<virtio::PciTransport<virtio::MmioRegion>>;

/// A block device found on the machine, with where it was found.
pub struct Disk {
    pub device: Arc<dyn BlockDevice>,
    /// e.g. "virtio-blk at PCI 00:03.0".
    pub location: String,
    pub pci: Option<pci::PciAddress>,
    /// The driver itself, for its request statistics (test hooks).
    #[cfg_attr(not(feature = "test-hooks"), allow(dead_code))]
    pub virtio: Option<Arc<PciBlk>>,
}

/// The virtio devices, to reset before the OS takes over.
static VIRTIO_DEVICES: spin::Mutex<Vec<Arc<PciBlk>>> = spin::Mutex::new(Vec::new());

/// Stops every device the firmware drives (ExitBootServices): a device that
/// still owned firmware memory would DMA into the OS.
pub fn quiesce() {
    for device in VIRTIO_DEVICES.lock().iter() {
        device.reset();
    }
}

/// How long a virtio request may take before the device is declared dead.
const REQUEST_TIMEOUT_NS: u64 = 30_000_000_000;

fn tsc_now() -> u64 {
    fw_arch::x86_64::time::ticks()
}

/// Discovers clocks, buses and disks.
pub fn discover(info: &BootInfo, alloc_page: &mut dyn FnMut() -> Option<u64>) -> Vec<Disk> {
    let memory = IdentityMemory { limit: 1 << 32 };
    let acpi = info.rsdp.and_then(|rsdp| match Acpi::new(&memory, rsdp) {
        Ok(acpi) => Some(acpi),
        Err(e) => {
            warn!("ACPI tables unusable: {e}");
            None
        }
    });

    let pm_timer = acpi
        .as_ref()
        .and_then(|a| a.find_table(acpi::FADT_SIGNATURE).ok())
        .and_then(|fadt| acpi::pm_timer(&fadt));
    let (hz, source) = fw_arch::x86_64::time::calibrate(pm_timer.map(|t| (t.port, t.wide)));
    if let Some(fadt) = acpi.as_ref().and_then(|a| a.find_table(acpi::FADT_SIGNATURE).ok()) {
        crate::power::set(acpi::power_control(&memory, &fadt));
    }
    info!("TSC: {} MHz (from {:?})", hz / 1_000_000, source);

    let ecam = acpi.as_ref().and_then(|a| match a.ecam_regions() {
        Ok(regions) => regions.into_iter().find(|r| r.segment == 0),
        Err(e) => {
            debug!("no MCFG: {e}");
            None
        }
    });
    let limit = PollLimit::Clock {
        now: tsc_now,
        limit: fw_core::clock::ns_to_ticks(REQUEST_TIMEOUT_NS, hz),
    };
    match ecam {
        Some(region) => {
            info!(
                "PCI: ECAM at {:#x}, buses {}-{}",
                region.base_address, region.start_bus, region.end_bus
            );
            // SAFETY: the MCFG describes this ECAM window; it is below 4 GiB and
            // identity mapped, and only the firmware drives PCI configuration.
            let config = unsafe { pci::Ecam::new(region.base_address, region.start_bus, region.end_bus) };
            pci_disks(&config, info, limit, alloc_page)
        }
        None => {
            info!("PCI: legacy configuration ports 0xcf8/0xcfc");
            // SAFETY: x86 PCs decode 0xcf8/0xcfc as the PCI configuration mechanism.
            let config = unsafe { pci::PortIo::new() };
            pci_disks(&config, info, limit, alloc_page)
        }
    }
}

/// The largest stretch of 32-bit address space above low RAM that no memory-map
/// entry claims, below the local APIC / IOAPIC area at 0xfec00000.
fn mmio32_window(info: &BootInfo) -> Option<Window> {
    const TOP: u64 = 0xfec0_0000;
    let low_ram_top = info
        .regions()
        .iter()
        .filter(|r| r.kind == MemoryKind::Ram && r.start < 1 << 32)
        .map(|r| r.end().min(1 << 32))
        .max()?;
    let mut claimed: Vec<(u64, u64)> = info
        .regions()
        .iter()
        .filter(|r| r.end() > low_ram_top && r.start < TOP)
        .map(|r| (r.start, r.end()))
        .collect();
    claimed.sort_unstable();
    let mut best: Option<(u64, u64)> = None;
    let mut cursor = low_ram_top.next_multiple_of(1 << 20);
    for (start, end) in claimed.into_iter().chain([(TOP, TOP)]) {
        if start > cursor && best.is_none_or(|(s, e)| start - cursor > e - s) {
            best = Some((cursor, start.min(TOP)));
        }
        cursor = cursor.max(end);
    }
    best.map(|(start, end)| Window::new(start, end - start))
}

fn pci_disks<C: ConfigAccess>(
    config: &C,
    info: &BootInfo,
    limit: PollLimit,
    alloc_page: &mut dyn FnMut() -> Option<u64>,
) -> Vec<Disk> {
    let mut devices: Vec<PciDevice> = pci::enumerate(config);
    for d in &devices {
        debug!(
            "PCI {} {:04x}:{:04x} class {:02x}.{:02x}",
            d.address, d.vendor_id, d.device_id, d.class, d.subclass
        );
    }
    let mut windows = BarWindows {
        mmio32: mmio32_window(info),
        mmio64: None,
        io: Some(Window::new(0xc000, 0x4000)),
    };
    if let Err(e) = pci::assign_bars(config, &mut devices, &mut windows) {
        warn!("PCI: {e}");
    }
    pci::enable_devices(config, &devices);
    // BARs above 4 GiB are outside the boot page tables.
    for bar in devices.iter().flat_map(|d| d.bars.iter().flatten()) {
        if bar.is_memory() && bar.address.saturating_add(bar.size) > 1 << 32 {
            if let Err(e) = fw_arch::identity_map(bar.address, bar.address + bar.size, Caching::Uncached, alloc_page) {
                warn!("cannot map BAR at {:#x}: {e}", bar.address);
            }
        }
    }
    // SAFETY: every memory BAR is identity mapped (below 4 GiB by the entry
    // code, above by the loop just before), and only the firmware drives them.
    let blks = unsafe { virtio::pci_block_devices(config, &devices, limit) };
    blks.into_iter()
        .map(|blk| {
            let address = blk.with_transport(|t| t.pci_address());
            let blk = Arc::new(blk);
            VIRTIO_DEVICES.lock().push(blk.clone());
            Disk {
                location: format!("virtio-blk at PCI {address}"),
                pci: Some(address),
                device: blk.clone(),
                virtio: Some(blk),
            }
        })
        .collect()
}
