//! The aarch64 machine (QEMU `virt`, Cloud Hypervisor), as its device tree
//! describes it: the PL011 console `/chosen/stdout-path` names, the PL031
//! clock, power control
//! through PSCI, the generic PCI host bridge (`pci-host-ecam-generic`, whose
//! BARs QEMU leaves unassigned: they are placed in the bridge's `ranges`) and
//! the `virtio,mmio` slots.

use super::Disk;
use alloc::vec::Vec;
use fw_core::boot_info::BootInfo;
use fw_drivers::rtc::calendar::DateTime;
use fw_drivers::rtc::pl031::{MmioRegisters as Pl031Mmio, Pl031};
use fw_drivers::uart::pl011::{MmioRegisters, Pl011};
use log::{info, warn};

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

/// Discovers clocks, buses and disks: PCI first, then virtio-mmio slots in
/// device tree order.
pub fn discover(_info: &BootInfo, alloc_page: &mut dyn FnMut() -> Option<u64>) -> Vec<Disk> {
    let hz = fw_arch::time::frequency();
    info!("generic timer: {} MHz", hz / 1_000_000);
    let Some(tree) = fw_arch::aarch64::device_tree() else {
        warn!("no device tree: no disks");
        return Vec::new();
    };
    super::devicetree::disks(&tree, alloc_page)
}
