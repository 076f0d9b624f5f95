//! virtio 1.2 (modern devices only, no legacy interface): the device status and
//! feature negotiation of §3.1, the [`Transport`] abstraction over the PCI (§4.1)
//! and MMIO (§4.2) transports, split virtqueues (§2.7), the block device (§5.2),
//! the entropy device (§5.4) and the input device (§5.8).

pub mod blk;
pub mod gpu;
pub mod input;
pub mod mmio;
#[cfg(test)]
pub(crate) mod model;
pub mod pci;
mod polled;
pub mod queue;
pub mod regs;
pub mod rng;

pub use blk::VirtioBlk;
pub use input::VirtioInput;
pub use mmio::MmioTransport;
pub use pci::PciTransport;
pub use queue::{QueueAreas, SplitQueue};
pub use regs::{MmioRegion, Registers};
pub use rng::{EntropySource, VirtioRng};

use core::fmt;
use log::debug;

// Device status bits (§2.1).
/// The guest noticed the device.
pub const ACKNOWLEDGE: u8 = 1;
/// The guest has a driver for it.
pub const DRIVER: u8 = 2;
/// The driver is ready.
pub const DRIVER_OK: u8 = 4;
/// The driver accepted the features.
pub const FEATURES_OK: u8 = 8;
/// The device needs a reset.
pub const DEVICE_NEEDS_RESET: u8 = 64;
/// The guest gave up on the device.
pub const FAILED: u8 = 128;

// Device-independent feature bits (§6).
/// Descriptors may point to tables of descriptors.
pub const VIRTIO_F_INDIRECT_DESC: u64 = 1 << 28;
/// Used and available ring event indices.
pub const VIRTIO_F_EVENT_IDX: u64 = 1 << 29;
/// A virtio 1.x device (not legacy).
pub const VIRTIO_F_VERSION_1: u64 = 1 << 32;
/// The device's DMA goes through the platform's address translation. Accepted
/// when offered: the firmware programs no IOMMU, so the addresses it hands out are
/// physical addresses either way, and refusing the bit can make the device refuse
/// FEATURES_OK.
pub const VIRTIO_F_ACCESS_PLATFORM: u64 = 1 << 33;

// Device types (§5).
/// Network card.
pub const DEVICE_TYPE_NET: u32 = 1;
/// Block device.
pub const DEVICE_TYPE_BLOCK: u32 = 2;
/// Entropy source.
pub const DEVICE_TYPE_ENTROPY: u32 = 4;
/// Input device (keyboard, mouse, tablet).
pub const DEVICE_TYPE_INPUT: u32 = 18;

/// Why a virtio operation failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Error {
    /// The MMIO region does not start with "virt".
    BadMagic {
        /// The first register's value.
        value: u32,
    },
    /// A virtio-mmio version other than 2 (1 is the legacy interface).
    UnsupportedMmioVersion {
        /// The version register's value.
        version: u32,
    },
    /// A virtio-mmio slot with device ID 0: no device behind it.
    NoDevice,
    /// The PCI function is not a virtio device this driver handles.
    NotVirtio {
        /// The function's vendor ID.
        vendor_id: u16,
        /// Its device ID.
        device_id: u16,
    },
    /// The device is a different virtio device type.
    WrongDeviceType {
        /// The type the driver handles.
        expected: u32,
        /// The device's type.
        found: u32,
    },
    /// A required virtio PCI capability (common, notify, ISR) is missing.
    MissingCapability {
        /// The capability's `cfg_type`.
        cfg_type: u8,
    },
    /// A virtio PCI capability points at a BAR that is absent, unassigned, I/O
    /// space, or too small for the structure.
    BadCapabilityBar {
        /// The capability's `cfg_type`.
        cfg_type: u8,
        /// The BAR it names.
        bar: u8,
    },
    /// The device does not offer VIRTIO_F_VERSION_1 (legacy-only).
    LegacyOnly,
    /// The device cleared FEATURES_OK: it does not accept our feature subset.
    FeaturesRejected {
        /// The features offered.
        features: u64,
    },
    /// The queue does not exist (maximum size 0) or is already enabled.
    QueueUnavailable {
        /// The queue's index.
        queue: u16,
    },
    /// The device's configuration kept changing while being read.
    ConfigUnstable,
    /// The device did not finish a reset.
    ResetTimeout,
    /// The allocator could not provide ring memory.
    OutOfMemory,
    /// A descriptor chain longer than the queue's free descriptors.
    QueueFull {
        /// The descriptors the chain needs.
        needed: usize,
        /// The free ones.
        free: usize,
    },
    /// The device put a descriptor index into the used ring that is not the head
    /// of a chain in flight.
    BadUsedEntry {
        /// The index found.
        id: u32,
    },
    /// The device reports DEVICE_NEEDS_RESET or FAILED.
    DeviceFailed {
        /// The device status read.
        status: u8,
    },
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::BadMagic { value } => {
                write!(f, "virtio-mmio magic is {value:#010x}, expected 0x74726976")
            }
            Error::UnsupportedMmioVersion { version } => {
                write!(f, "virtio-mmio version {version} is not supported (need 2)")
            }
            Error::NoDevice => write!(f, "virtio-mmio slot has no device"),
            Error::NotVirtio { vendor_id, device_id } => write!(
                f,
                "PCI device {vendor_id:04x}:{device_id:04x} is not a modern virtio device"
            ),
            Error::WrongDeviceType { expected, found } => {
                write!(f, "virtio device type {found}, expected {expected}")
            }
            Error::MissingCapability { cfg_type } => {
                write!(f, "virtio PCI capability of type {cfg_type} is missing")
            }
            Error::BadCapabilityBar { cfg_type, bar } => write!(
                f,
                "virtio PCI capability of type {cfg_type} points at unusable BAR{bar}"
            ),
            Error::LegacyOnly => write!(f, "device does not offer VIRTIO_F_VERSION_1"),
            Error::FeaturesRejected { features } => {
                write!(f, "device refused features {features:#x}")
            }
            Error::QueueUnavailable { queue } => write!(f, "virtqueue {queue} is not available"),
            Error::ConfigUnstable => write!(f, "device configuration kept changing while read"),
            Error::ResetTimeout => write!(f, "device did not complete a reset"),
            Error::OutOfMemory => write!(f, "no memory for the virtqueue"),
            Error::QueueFull { needed, free } => {
                write!(f, "request needs {needed} descriptors, {free} are free")
            }
            Error::BadUsedEntry { id } => {
                write!(f, "device returned descriptor {id}, which is not in flight")
            }
            Error::DeviceFailed { status } => {
                write!(f, "device failed (status {status:#04x})")
            }
        }
    }
}

/// Reads of the device status while waiting for a reset to complete.
pub const RESET_POLLS: u32 = 1_000_000;
/// Attempts at reading a consistent device configuration (§2.5.1).
pub const CONFIG_READ_ATTEMPTS: u32 = 64;

/// Access to one device through its transport (§4). The queue methods act on the
/// queue last chosen with [`Transport::select_queue`].
pub trait Transport {
    /// The virtio device type (§5): 2 for block.
    fn device_type(&self) -> u32;
    /// The device status register.
    fn status(&self) -> u8;
    /// Writes the device status register (`ACKNOWLEDGE`, ...; 0 resets).
    fn set_status(&mut self, status: u8);
    /// All 64 feature bits the device offers.
    fn device_features(&mut self) -> u64;
    /// Writes the features the driver accepts.
    fn set_driver_features(&mut self, features: u64);
    /// Selects the queue the queue methods act on.
    fn select_queue(&mut self, queue: u16);
    /// The largest size the device supports for the selected queue; 0 if the
    /// queue does not exist.
    fn queue_max_size(&self) -> u16;
    /// Sets the selected queue's size.
    fn set_queue_size(&mut self, size: u16);
    /// Gives the device the selected queue's ring addresses.
    fn set_queue_areas(&mut self, areas: &QueueAreas);
    /// Whether the selected queue is enabled.
    fn queue_enabled(&self) -> bool;
    /// Enables the selected queue.
    fn enable_queue(&mut self);
    /// Tells the device that `queue` has new buffers.
    fn notify(&mut self, queue: u16);
    /// Changes whenever the device configuration changes (§2.5.1).
    fn config_generation(&self) -> u32;
    /// Device configuration reads, each of its field's natural width (§4.1.3.1).
    fn config_read8(&self, offset: usize) -> u8;
    /// A 16-bit device configuration field.
    fn config_read16(&self, offset: usize) -> u16;
    /// A 32-bit device configuration field.
    fn config_read32(&self, offset: usize) -> u32;

    /// Resets the device and waits until it reads back status 0 (§2.4).
    fn reset(&mut self) -> Result<(), Error> {
        self.set_status(0);
        for _ in 0..RESET_POLLS {
            if self.status() == 0 {
                return Ok(());
            }
            core::hint::spin_loop();
        }
        Err(Error::ResetTimeout)
    }

    /// A 64-bit configuration field, as two 32-bit reads (§4.1.3.1).
    fn config_read64(&self, offset: usize) -> u64 {
        u64::from(self.config_read32(offset)) | u64::from(self.config_read32(offset + 4)) << 32
    }
}

/// Runs `read` until the configuration generation is the same before and after,
/// so that multi-field values are consistent (§2.5.1).
pub fn read_config<T: Transport + ?Sized, R>(transport: &T, read: impl Fn(&T) -> R) -> Result<R, Error> {
    for _ in 0..CONFIG_READ_ATTEMPTS {
        let before = transport.config_generation();
        let value = read(transport);
        if transport.config_generation() == before {
            return Ok(value);
        }
    }
    Err(Error::ConfigUnstable)
}

/// The first steps of device initialisation (§3.1.1): reset, ACKNOWLEDGE, DRIVER,
/// feature negotiation. Accepts `wanted & offered` plus VIRTIO_F_VERSION_1, which
/// the device must offer. Returns the accepted features; the caller sets up its
/// queues and then sets DRIVER_OK. On failure the device is left FAILED.
pub fn negotiate<T: Transport + ?Sized>(transport: &mut T, wanted: u64) -> Result<u64, Error> {
    transport.reset()?;
    transport.set_status(ACKNOWLEDGE);
    transport.set_status(ACKNOWLEDGE | DRIVER);
    let offered = transport.device_features();
    if offered & VIRTIO_F_VERSION_1 == 0 {
        transport.set_status(ACKNOWLEDGE | DRIVER | FAILED);
        return Err(Error::LegacyOnly);
    }
    let accepted = offered & (wanted | VIRTIO_F_VERSION_1);
    debug!("virtio: device offers {offered:#x}, driver accepts {accepted:#x}");
    transport.set_driver_features(accepted);
    transport.set_status(ACKNOWLEDGE | DRIVER | FEATURES_OK);
    if transport.status() & FEATURES_OK == 0 {
        transport.set_status(ACKNOWLEDGE | DRIVER | FAILED);
        return Err(Error::FeaturesRejected { features: accepted });
    }
    Ok(accepted)
}

/// Initialisation (§3.1.1) of a device that needs nothing but one queue, up to
/// DRIVER_OK: checks that the device is a `device_type`, negotiates `wanted`
/// ([`negotiate`]) and sets up queue `index` with at most `size` entries.
/// Returns the accepted features and the queue; the caller sets DRIVER_OK
/// when it is ready. A device whose queue cannot be set up is left FAILED.
pub fn start_with_one_queue<T: Transport + ?Sized>(
    transport: &mut T,
    device_type: u32,
    wanted: u64,
    index: u16,
    size: u16,
) -> Result<(u64, queue::SplitQueue), Error> {
    let found = transport.device_type();
    if found != device_type {
        return Err(Error::WrongDeviceType {
            expected: device_type,
            found,
        });
    }
    let features = negotiate(transport, wanted)?;
    match queue::SplitQueue::setup(transport, index, size) {
        Ok(queue) => Ok((features, queue)),
        Err(e) => {
            transport.set_status(ACKNOWLEDGE | DRIVER | FAILED);
            Err(e)
        }
    }
}

/// How long to wait for the device to complete a request. A device that never
/// answers then yields a timeout error instead of hanging the firmware.
#[derive(Clone, Copy, Debug)]
pub enum PollLimit {
    /// Checks of the used ring before giving up.
    Spins(u64),
    /// A monotonic clock `now` that ticks `hz` times a second (TSC, generic
    /// timer), and the time allowed in milliseconds.
    Clock {
        /// Reads the clock.
        now: fn() -> u64,
        /// Its ticks per second.
        hz: u64,
        /// The time allowed.
        ms: u64,
    },
}

impl PollLimit {
    /// Without a clock: 2^28 polls, from a few seconds to about a minute
    /// depending on the CPU and accelerator. Prefer a [`PollLimit::Clock`].
    pub const DEFAULT: PollLimit = PollLimit::Spins(1 << 28);

    /// This limit with `extra_ms` more time; a spin count stays as it is (it has
    /// no time to add to).
    pub fn extended_by_ms(self, extra_ms: u64) -> PollLimit {
        match self {
            PollLimit::Spins(n) => PollLimit::Spins(n),
            PollLimit::Clock { now, hz, ms } => PollLimit::Clock {
                now,
                hz,
                ms: ms.saturating_add(extra_ms),
            },
        }
    }

    pub(crate) fn start(self) -> Deadline {
        match self {
            PollLimit::Spins(n) => Deadline::Spins(n),
            PollLimit::Clock { now, hz, ms } => {
                let ticks = (u128::from(ms) * u128::from(hz) / 1000).min(u128::from(u64::MAX)) as u64;
                Deadline::Clock {
                    now,
                    end: now().saturating_add(ticks),
                }
            }
        }
    }
}

/// "5 s", "2.5 s", or "1000 polls": the limit as a message names it.
impl fmt::Display for PollLimit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PollLimit::Spins(n) => write!(f, "{n} polls"),
            PollLimit::Clock { ms, .. } if ms % 1000 == 0 => write!(f, "{} s", ms / 1000),
            PollLimit::Clock { ms, .. } => write!(f, "{}.{} s", ms / 1000, ms % 1000 / 100),
        }
    }
}

pub(crate) enum Deadline {
    Spins(u64),
    Clock { now: fn() -> u64, end: u64 },
}

impl Deadline {
    /// Counts one poll; true once the limit is reached.
    pub(crate) fn expired(&mut self) -> bool {
        match self {
            Deadline::Spins(0) => true,
            Deadline::Spins(n) => {
                *n -= 1;
                false
            }
            Deadline::Clock { now, end } => now() >= *end,
        }
    }
}

/// Bytes of a virtio-mmio register block (registers and device configuration).
pub const VIRTIO_MMIO_REGION_SIZE: usize = 0x200;

/// Initialises every virtio-blk function among `devices` (enumerated, BARs
/// assigned and enabled). Devices that fail are logged and skipped.
///
/// # Safety
/// The functions' memory BARs must be identity-mapped, and nothing else may
/// drive these devices.
pub unsafe fn pci_block_devices<C: crate::pci::ConfigAccess>(
    config: &C,
    devices: &[crate::pci::PciDevice],
    poll_limit: PollLimit,
) -> alloc::vec::Vec<VirtioBlk<PciTransport<MmioRegion>>> {
    let mut found = alloc::vec::Vec::new();
    for device in devices {
        if pci::virtio_device_type(device) != Some(DEVICE_TYPE_BLOCK) {
            continue;
        }
        // SAFETY: the caller's guarantee.
        let transport = unsafe { PciTransport::new_mmio(config, device) };
        match transport.and_then(|t| VirtioBlk::new(t, poll_limit)) {
            Ok(blk) => found.push(blk),
            Err(e) => log::warn!("virtio-blk at pci {}: {e}", device.address),
        }
    }
    found
}

/// Initialises the first virtio entropy function among `devices` (enumerated,
/// BARs assigned and enabled); the PCI address says where it is. A second one
/// is left alone; one that fails is logged and the next is tried.
///
/// # Safety
/// The functions' memory BARs must be identity-mapped, and nothing else may
/// drive these devices.
pub unsafe fn pci_entropy_device<C: crate::pci::ConfigAccess>(
    config: &C,
    devices: &[crate::pci::PciDevice],
    poll_limit: PollLimit,
) -> Option<(VirtioRng<PciTransport<MmioRegion>>, crate::pci::PciAddress)> {
    for device in devices {
        if pci::virtio_device_type(device) != Some(DEVICE_TYPE_ENTROPY) {
            continue;
        }
        // SAFETY: the caller's guarantee.
        let transport = unsafe { PciTransport::new_mmio(config, device) };
        match transport.and_then(|t| VirtioRng::new(t, poll_limit)) {
            Ok(rng) => return Some((rng, device.address)),
            Err(e) => log::warn!("virtio-rng at pci {}: {e}", device.address),
        }
    }
    None
}

/// Initialises every virtio input function among `devices` (enumerated, BARs
/// assigned and enabled), with its PCI address; one that fails is logged.
///
/// # Safety
/// As for [`pci_entropy_device`].
pub unsafe fn pci_input_devices<C: crate::pci::ConfigAccess>(
    config: &C,
    devices: &[crate::pci::PciDevice],
) -> alloc::vec::Vec<(VirtioInput<PciTransport<MmioRegion>>, crate::pci::PciAddress)> {
    let mut found = alloc::vec::Vec::new();
    for device in devices {
        if pci::virtio_device_type(device) != Some(DEVICE_TYPE_INPUT) {
            continue;
        }
        // SAFETY: the caller's guarantee.
        let transport = unsafe { PciTransport::new_mmio(config, device) };
        match transport.and_then(VirtioInput::new) {
            Ok(input) => found.push((input, device.address)),
            Err(e) => log::warn!("virtio-input at pci {}: {e}", device.address),
        }
    }
    found
}

/// Initialises the first virtio GPU function among `devices` (enumerated, BARs
/// assigned and enabled) for 2D scanout; one that fails is logged and the next
/// is tried.
///
/// # Safety
/// The functions' memory BARs must be identity-mapped, and nothing else may
/// drive these devices.
pub unsafe fn pci_gpu_device<C: crate::pci::ConfigAccess>(
    config: &C,
    devices: &[crate::pci::PciDevice],
    poll_limit: PollLimit,
) -> Option<(gpu::VirtioGpu<PciTransport<MmioRegion>>, crate::pci::PciAddress)> {
    for device in devices {
        if pci::virtio_device_type(device) != Some(gpu::DEVICE_TYPE_GPU) {
            continue;
        }
        // SAFETY: the caller's guarantee.
        let transport = unsafe { PciTransport::new_mmio(config, device) };
        match transport.and_then(|t| gpu::VirtioGpu::new(t, poll_limit)) {
            Ok(gpu) => return Some((gpu, device.address)),
            Err(e) => log::warn!("virtio-gpu at pci {}: {e}", device.address),
        }
    }
    None
}

/// The virtio device behind a virtio-mmio slot, driven by the driver for its type.
pub enum MmioDevice {
    /// A block device.
    Block(VirtioBlk<MmioTransport<MmioRegion>>),
    /// An entropy source.
    Entropy(VirtioRng<MmioTransport<MmioRegion>>),
    /// An input device, driven as a keyboard (only its key events come out).
    Input(VirtioInput<MmioTransport<MmioRegion>>),
}

/// Initialises the block, entropy or input device of a virtio-mmio slot at `base`;
/// [`Error::NoDevice`] for an empty slot, [`Error::WrongDeviceType`] for other
/// device types.
///
/// # Safety
/// `base..base + VIRTIO_MMIO_REGION_SIZE` must be an identity-mapped virtio-mmio
/// register block that nothing else drives.
pub unsafe fn mmio_device(base: u64, poll_limit: PollLimit, entropy_limit: PollLimit) -> Result<MmioDevice, Error> {
    // SAFETY: the caller's guarantee.
    let regs = unsafe { MmioRegion::new(base, VIRTIO_MMIO_REGION_SIZE) };
    let transport = MmioTransport::new(regs)?;
    match transport.device_type() {
        DEVICE_TYPE_BLOCK => VirtioBlk::new(transport, poll_limit).map(MmioDevice::Block),
        DEVICE_TYPE_ENTROPY => VirtioRng::new(transport, entropy_limit).map(MmioDevice::Entropy),
        DEVICE_TYPE_INPUT => VirtioInput::new(transport).map(MmioDevice::Input),
        found => Err(Error::WrongDeviceType {
            expected: DEVICE_TYPE_BLOCK,
            found,
        }),
    }
}
