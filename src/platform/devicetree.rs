//! Machines described by a device tree (aarch64 and riscv64 `virt`, Cloud
//! Hypervisor): the generic PCI host bridge (`pci-host-ecam-generic`, Linux's
//! host-generic-pci binding; QEMU leaves its BARs unassigned, so they are
//! placed in the bridge's `ranges`), the `virtio,mmio` slots, and QEMU's
//! fw_cfg (`qemu,fw-cfg-mmio`, QEMU `docs/specs/fw_cfg.rst`), and the clock
//! behind GetTime/SetTime (which one: `fw_arch::devicetree::rtc`).

use super::{entropy_limit, keep_entropy, keep_virtio_keyboard, pci_disks, Disk, MMIO_DEVICES, REQUEST_TIMEOUT_MS};
use alloc::boxed::Box;
use alloc::format;
use alloc::sync::Arc;
use alloc::vec::Vec;
use fw_arch::devicetree::{Rtc, RtcModel};
use fw_drivers::fdt::{Fdt, PciSpace};
use fw_drivers::fw_cfg;
use fw_drivers::mmio::Mmio32;
use fw_drivers::pci::{self, BarWindows, Window};
use fw_drivers::rtc::calendar::DateTime;
use fw_drivers::rtc::goldfish::Goldfish;
use fw_drivers::rtc::pl031::Pl031;
use fw_drivers::virtio::{self, PollLimit};
use log::{debug, info, warn};

/// The clock the device tree names. Looked up once, during boot services:
/// GetTime runs after ExitBootServices, when the device tree belongs to the OS.
fn rtc() -> Option<Rtc> {
    static RTC: spin::Once<Option<Rtc>> = spin::Once::new();
    *RTC.call_once(|| fw_arch::boot_tree::device_tree().and_then(|tree| fw_arch::devicetree::rtc(&tree)))
}

/// Says which clock [`rtc_get`] reads, for the boot log.
pub fn log_rtc() {
    match rtc() {
        Some(rtc) => info!("RTC: {} at {:#x}, from the device tree", rtc.model, rtc.base),
        None => warn!("RTC: no arm,pl031 or google,goldfish-rtc in the device tree: no time of day"),
    }
}

/// MMIO the runtime services touch after ExitBootServices (base, size): the
/// clock behind GetTime/SetTime. The memory map reports it as
/// EfiMemoryMappedIO with EFI_MEMORY_RUNTIME (UEFI 2.10 §7.2.3) so that the
/// OS maps it for runtime calls.
pub fn runtime_mmio() -> Vec<(u64, u64)> {
    rtc().map(|rtc| (rtc.base, rtc.size)).into_iter().collect()
}

/// The time of day (GetTime, FAT timestamps), in UTC.
pub fn rtc_get() -> Option<DateTime> {
    let rtc = rtc()?;
    let base = rtc.base as usize;
    Some(match rtc.model {
        RtcModel::Pl031 => Pl031::new(Mmio32 { base }).read(),
        RtcModel::Goldfish => Goldfish::new(Mmio32 { base }).read(),
    })
}

/// SetTime; `false` when there is no clock or it cannot hold the time.
pub fn rtc_set(t: &DateTime) -> bool {
    let Some(rtc) = rtc() else { return false };
    let base = rtc.base as usize;
    match rtc.model {
        RtcModel::Pl031 => Pl031::new(Mmio32 { base }).write(t).is_ok(),
        RtcModel::Goldfish => Goldfish::new(Mmio32 { base }).write(t).is_ok(),
    }
}

/// The disks `tree` describes: behind its PCI host bridges first, then in its
/// virtio-mmio slots, in tree order (the first entropy device met on the way is
/// kept, see [`super::entropy`]). Requests time out after
/// [`REQUEST_TIMEOUT_MS`] of the architecture's timer.
pub fn disks(tree: &Fdt, alloc_page: &mut dyn FnMut() -> Option<u64>) -> Vec<Disk> {
    let limit = PollLimit::Clock {
        now: fw_arch::time::ticks,
        hz: fw_arch::time::frequency(),
        ms: REQUEST_TIMEOUT_MS,
    };
    let mut disks = pci_host_disks(tree, limit, alloc_page);
    disks.extend(virtio_mmio_disks(tree, limit));
    disks
}

/// Probes the fw_cfg device the tree names, if any, and keeps it for
/// [`super::fw_cfg`]. Without one nothing changes (Cloud Hypervisor).
pub fn probe_fw_cfg(tree: &Fdt) {
    let Some(node) = tree.find_compatible("qemu,fw-cfg-mmio") else {
        debug!("fw_cfg: no qemu,fw-cfg-mmio node in the device tree");
        return;
    };
    let Some((base, size)) = node.first_reg() else {
        warn!("fw_cfg: its device tree node has no reg");
        return;
    };
    if size < fw_cfg::mmio::REGISTERS_LENGTH {
        warn!("fw_cfg: registers at {base:#x} are {size:#x} bytes, fewer than the interface has");
        return;
    }
    // SAFETY: the device tree names these fw_cfg registers; they are mapped
    // as device memory (aarch64) or addressing is physical (riscv64), RAM is
    // identity mapped, and nothing else drives the device.
    let transport = unsafe { fw_cfg::mmio::MmioTransport::new(base) };
    match fw_cfg::FwCfg::probe(transport) {
        Ok(device) => {
            info!(
                "fw_cfg: QEMU's firmware configuration at {base:#x}, {} files, {}",
                device.files().len(),
                if device.uses_dma() { "DMA" } else { "no DMA" }
            );
            super::FW_CFG.call_once(|| device);
        }
        Err(e) => warn!("fw_cfg at {base:#x}: {e}"),
    }
}

/// The CPU address of I/O port 0: where the host bridge's I/O range maps it.
fn io_base(host: &fw_drivers::fdt::Node) -> Option<u64> {
    host.pci_ranges()
        .find(|r| r.space == PciSpace::Io)
        .and_then(|r| r.cpu_address.checked_sub(r.pci_address))
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
    let io_base = io_base(&host);
    // SAFETY: the device tree describes this ECAM window; it is mapped as
    // device memory (aarch64) or addressing is physical (riscv64), and only
    // the firmware drives PCI configuration.
    let config = unsafe { pci::Ecam::new(base, first, last) };
    pci_disks(config, windows, io_base, limit, alloc_page)
}

/// A virtio-blk device on virtio-mmio.
pub type MmioBlk = virtio::VirtioBlk<virtio::MmioTransport<virtio::MmioRegion>>;

fn virtio_mmio_disks(tree: &Fdt, limit: PollLimit) -> Vec<Disk> {
    let mut disks = Vec::new();
    for node in tree.nodes().filter(|n| n.is_compatible("virtio,mmio")) {
        let Some((base, _)) = node.first_reg() else { continue };
        // SAFETY: the device tree names this virtio-mmio register block; it
        // is mapped as device memory (aarch64) or addressing is physical
        // (riscv64), and nothing else drives it.
        match unsafe { virtio::mmio_device(base, limit, entropy_limit(limit)) } {
            Ok(virtio::MmioDevice::Entropy(rng)) => keep_entropy(Box::new(rng), &format!("MMIO {base:#x}")),
            Ok(virtio::MmioDevice::Input(input)) => keep_virtio_keyboard(input, &format!("MMIO {base:#x}")),
            Ok(virtio::MmioDevice::Block(blk)) => {
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
