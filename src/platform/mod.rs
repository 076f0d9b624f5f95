//! The machine: its console, clock and power control, and the disks found on
//! it. Each architecture's file has the same functions (`console_init`,
//! `console_write`, `console_read`, `console_path`, `rtc_get`, `rtc_set`, `reset`,
//! `discover`);
//! what they share (PCI disks, the entropy device, quiescing) is here.

#[cfg(target_arch = "aarch64")]
mod aarch64;
#[cfg(any(target_arch = "aarch64", target_arch = "riscv64"))]
mod devicetree;
#[cfg(target_arch = "riscv64")]
mod riscv64;
#[cfg(target_arch = "x86_64")]
mod x86_64;

#[cfg(target_arch = "aarch64")]
pub use aarch64::*;
#[cfg(target_arch = "riscv64")]
pub use riscv64::*;
#[cfg(target_arch = "x86_64")]
pub use x86_64::*;

use alloc::boxed::Box;
use alloc::format;
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;
use fw_arch::Caching;
use fw_drivers::acpi::PhysMemory;
use fw_drivers::block::BlockDevice;
use fw_drivers::fw_cfg::{self, FwCfg};
use fw_drivers::pci::{self, BarWindows, ConfigAccess, PciDevice};
use fw_drivers::virtio::{self, EntropySource, PollLimit};
use fw_protocols::console::keyboard::KeyboardSource;
use fw_protocols::console::KeySource;
use log::{debug, info, warn};

/// The line every console UART runs at (drivers/src/uart): 115200 8N1, in
/// Serial I/O's terms (parity 1 = none, stop bits 1 = one).
pub const CONSOLE_LINE: fw_protocols::device_path::UartNode = fw_protocols::device_path::UartNode {
    baud_rate: 115_200,
    data_bits: 8,
    parity: 1,
    stop_bits: 1,
};

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

/// QEMU's fw_cfg device, when the machine has one (found by `discover`).
static FW_CFG: spin::Once<FwCfg<fw_cfg::mmio::MmioTransport>> = spin::Once::new();

/// QEMU's fw_cfg device, if `discover` found one: ACPI tables now, SMBIOS
/// and more later. It is a QEMU convenience: whatever uses it must also work
/// without it (Cloud Hypervisor has none).
pub fn fw_cfg() -> Option<&'static FwCfg<fw_cfg::mmio::MmioTransport>> {
    FW_CFG.get()
}

/// A virtio-blk device on PCI.
pub type PciBlk = virtio::VirtioBlk<virtio::PciTransport<virtio::MmioRegion>>;

/// A block device found on the machine, with where it was found.
pub struct Disk {
    pub device: Arc<dyn BlockDevice>,
    /// e.g. "virtio-blk at PCI 00:03.0".
    pub location: String,
    pub pci: Option<pci::PciAddress>,
    /// The register block of a virtio-mmio device.
    pub mmio: Option<u64>,
    /// The driver itself, for its request statistics (test hooks).
    #[cfg_attr(not(feature = "test-hooks"), allow(dead_code))]
    pub virtio: Option<Arc<PciBlk>>,
}

/// The virtio entropy device the firmware drives (the first one found), for
/// EFI_RNG_PROTOCOL.
static ENTROPY: spin::Once<Box<dyn EntropySource>> = spin::Once::new();

/// The virtio entropy device `discover` found, if any.
pub fn entropy() -> Option<&'static dyn EntropySource> {
    ENTROPY.get().map(|source| &**source)
}

/// Keeps `source` as the machine's entropy device unless one was found before
/// (then `source` is dropped, which resets it).
fn keep_entropy(source: Box<dyn EntropySource>, location: &str) {
    if ENTROPY.get().is_some() {
        debug!("virtio-rng at {location}: not used, another one was found first");
        return;
    }
    debug!("virtio-rng at {location}");
    ENTROPY.call_once(|| source);
}

/// How long the entropy device may take to answer: it has nothing to read
/// from disk, so a short wait; one that does not answer is reset and not used.
const ENTROPY_TIMEOUT_MS: u64 = 2_000;

/// `request` (a limit of [`REQUEST_TIMEOUT_MS`]) shortened to [`ENTROPY_TIMEOUT_MS`].
fn entropy_limit(request: PollLimit) -> PollLimit {
    match request {
        PollLimit::Spins(n) => PollLimit::Spins(n / (REQUEST_TIMEOUT_MS / ENTROPY_TIMEOUT_MS)),
        PollLimit::Clock { now, hz, .. } => PollLimit::Clock {
            now,
            hz,
            ms: ENTROPY_TIMEOUT_MS,
        },
    }
}

/// The keyboards `discover` found, for the console (leaked: they live as long
/// as the firmware).
static KEY_SOURCES: spin::Mutex<Vec<&'static dyn KeySource>> = spin::Mutex::new(Vec::new());

#[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
fn add_key_source(source: Box<dyn KeySource>) {
    KEY_SOURCES.lock().push(Box::leak(source));
}

/// The keyboards found, to feed the console beside the serial line.
pub fn key_sources() -> Vec<&'static dyn KeySource> {
    KEY_SOURCES.lock().clone()
}

/// A keyboard that must be stopped before the OS takes over.
trait Stop: Send + Sync {
    fn stop(&self);
}

impl<T: virtio::Transport + Send> Stop for KeyboardSource<virtio::VirtioInput<T>> {
    fn stop(&self) {
        self.with_keyboard(|input| input.reset());
    }
}

/// The virtio input devices driven as keyboards, to reset at ExitBootServices.
static VIRTIO_KEYBOARDS: spin::Mutex<Vec<&'static dyn Stop>> = spin::Mutex::new(Vec::new());

/// Makes a virtio input device one of the console's keyboards.
fn keep_virtio_keyboard<T: virtio::Transport + Send + 'static>(input: virtio::VirtioInput<T>, location: &str) {
    let source: &'static KeyboardSource<virtio::VirtioInput<T>> = Box::leak(Box::new(KeyboardSource::new(input)));
    KEY_SOURCES.lock().push(source);
    VIRTIO_KEYBOARDS.lock().push(source);
    info!("keyboard: virtio-input at {location}");
}

/// The virtio devices, to reset before the OS takes over.
static VIRTIO_DEVICES: spin::Mutex<Vec<Arc<PciBlk>>> = spin::Mutex::new(Vec::new());
#[cfg(any(target_arch = "aarch64", target_arch = "riscv64"))]
static MMIO_DEVICES: spin::Mutex<Vec<Arc<devicetree::MmioBlk>>> = spin::Mutex::new(Vec::new());

/// Stops every device the firmware drives (ExitBootServices): a device that
/// still owned firmware memory would DMA into the OS.
pub fn quiesce() {
    for device in VIRTIO_DEVICES.lock().iter() {
        device.reset();
    }
    #[cfg(any(target_arch = "aarch64", target_arch = "riscv64"))]
    for device in MMIO_DEVICES.lock().iter() {
        device.reset();
    }
    if let Some(source) = ENTROPY.get() {
        source.reset();
    }
    for keyboard in VIRTIO_KEYBOARDS.lock().iter() {
        keyboard.stop();
    }
    // The framebuffer is the OS's from here on; the mode stays as GOP left it
    // (a virtio GPU is reset: it would read firmware memory).
    fw_protocols::console::screen::detach();
    crate::display::quiesce();
}

/// What PCI enumeration found, kept for the EFI protocols (`crate::efi_pci`).
pub struct PciFound {
    pub config: Box<dyn ConfigAccess + Send + Sync>,
    pub spaces: pci::host::MachineSpaces,
    pub buses: (u8, u8),
    /// The windows the platform gave for BARs, before any was handed out.
    pub windows: BarWindows,
    pub devices: Vec<PciDevice>,
}

static PCI_FOUND: spin::Mutex<Option<PciFound>> = spin::Mutex::new(None);

/// The PCI root bridge `discover` enumerated (once: the caller keeps it).
pub fn take_pci() -> Option<PciFound> {
    PCI_FOUND.lock().take()
}

/// How long a small virtio-blk request may take before the device is declared
/// dead (larger ones get more, see `virtio::blk::SLOW_DISK_BYTES_PER_S`). QEMU and
/// Cloud Hypervisor answer in microseconds to milliseconds, and a busy or nested
/// host stalls a guest for a second or two at worst; 5 s is well past that, and is
/// what a disk that never answers costs a boot before the next disk is tried.
const REQUEST_TIMEOUT_MS: u64 = 5_000;

/// Enumerates PCI, assigns the BARs the VMM left unassigned from `windows`,
/// and drives the virtio-blk functions and the first virtio entropy function.
/// `io_base` is the CPU address of I/O port 0 where I/O space is memory-mapped.
fn pci_disks<C: ConfigAccess + Send + Sync + 'static>(
    config: C,
    mut windows: BarWindows,
    io_base: Option<u64>,
    limit: PollLimit,
    alloc_page: &mut dyn FnMut() -> Option<u64>,
) -> Vec<Disk> {
    let given = windows;
    let owned = config;
    let config = &owned;
    let mut devices: Vec<PciDevice> = pci::enumerate(config);
    for d in &devices {
        debug!(
            "PCI {} {:04x}:{:04x} class {:02x}.{:02x}",
            d.address, d.vendor_id, d.device_id, d.class, d.subclass
        );
    }
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
    crate::display::probe_pci(&devices);
    // SAFETY: every memory BAR is identity mapped (below 4 GiB by the entry
    // code, above by the loop just before), and only the firmware drives them.
    let blks = unsafe { virtio::pci_block_devices(config, &devices, limit) };
    // SAFETY: as above.
    if let Some((rng, address)) = unsafe { virtio::pci_entropy_device(config, &devices, entropy_limit(limit)) } {
        keep_entropy(Box::new(rng), &format!("PCI {address}"));
    }
    // SAFETY: as above.
    for (input, address) in unsafe { virtio::pci_input_devices(config, &devices) } {
        keep_virtio_keyboard(input, &format!("PCI {address}"));
    }
    // SAFETY: as above.
    if let Some((gpu, address)) = unsafe { virtio::pci_gpu_device(config, &devices, limit) } {
        crate::display::keep_virtio_gpu(gpu, address);
    }
    let buses = (config.root_bus(), config.last_bus());
    let found = PciFound {
        config: Box::new(owned),
        // SAFETY: the EFI protocols reach memory only inside the memory BARs
        // mapped above and I/O inside the bridge's window (`fw_protocols::pci_io`);
        // `io_base` is the platform's I/O window for port 0.
        spaces: unsafe { pci::host::MachineSpaces::new(io_base) },
        buses,
        windows: given,
        devices,
    };
    *PCI_FOUND.lock() = Some(found);
    let blks: Vec<_> = blks.into_iter().collect();
    blks.into_iter()
        .map(|blk| {
            let address = blk.with_transport(|t| t.pci_address());
            let blk = Arc::new(blk);
            VIRTIO_DEVICES.lock().push(blk.clone());
            Disk {
                location: format!("virtio-blk at PCI {address}"),
                pci: Some(address),
                mmio: None,
                device: blk.clone(),
                virtio: Some(blk),
            }
        })
        .collect()
}
