//! The aarch64 machine (QEMU `virt`, Cloud Hypervisor), as its device tree
//! describes it: the PL011 console `/chosen/stdout-path` names (or the first
//! PL011: Cloud Hypervisor names none), the PL031 clock, power control
//! through PSCI, the generic PCI host bridge (`pci-host-ecam-generic`, whose
//! BARs QEMU leaves unassigned: they are placed in the bridge's `ranges`),
//! the `virtio,mmio` slots and QEMU's fw_cfg (whose ACPI tables the firmware
//! installs: see `fw_cfg_acpi`).

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

/// The console and why that PL011 was chosen (logged once the logger runs).
struct Console {
    uart: Pl011<MmioRegisters>,
    base: u64,
    chosen_by: &'static str,
}

static CONSOLE: spin::Once<Console> = spin::Once::new();

/// The PL011 to use: the one `stdout-path` names, else the first in the
/// tree (Cloud Hypervisor's tree has no `stdout-path`), else the VMMs' usual
/// address. Returns its base and why it was chosen.
fn console_address() -> (u64, &'static str) {
    let Some(tree) = fw_arch::aarch64::device_tree() else {
        return (DEFAULT_PL011, "no device tree: the usual address");
    };
    let named = tree
        .stdout()
        .filter(|n| n.is_compatible("arm,pl011"))
        .and_then(|n| n.first_reg());
    if let Some((base, _)) = named {
        return (base, "named by /chosen/stdout-path");
    }
    match tree.find_compatible("arm,pl011").and_then(|n| n.first_reg()) {
        Some((base, _)) => (
            base,
            "the first arm,pl011 in the device tree, which names no stdout-path",
        ),
        None => (DEFAULT_PL011, "none in the device tree: the usual address"),
    }
}

/// Finds and programs the console.
pub fn console_init(_boot: &fw_arch::Boot) {
    let console = CONSOLE.call_once(|| {
        let (base, chosen_by) = console_address();
        Console {
            uart: Pl011::new(MmioRegisters { base: base as usize }),
            base,
            chosen_by,
        }
    });
    console.uart.init();
}

pub fn console_write(bytes: &[u8]) {
    if let Some(console) = CONSOLE.get() {
        console.uart.write_bytes(bytes);
    }
}

pub fn console_read() -> Option<u8> {
    CONSOLE.get().and_then(|console| console.uart.read_byte())
}

/// The console's device path, for its Serial I/O handle: the PL011 by its
/// base address, with the line it runs.
pub fn console_path() -> fw_protocols::device_path::DevicePathBuf {
    use fw_protocols::device_path::{DevicePathBuf, PL011_UART_GUID};
    let base = CONSOLE.get().map_or(DEFAULT_PL011, |console| console.base);
    let path = DevicePathBuf::new();
    // 24 bytes always fit a node.
    let path = path
        .clone()
        .vendor_hardware(&PL011_UART_GUID, &base.to_le_bytes())
        .unwrap_or(path);
    path.uart(&super::CONSOLE_LINE)
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
    if let Some(console) = CONSOLE.get() {
        info!("console: PL011 at {:#x}, {}", console.base, console.chosen_by);
    }
    match rtc_registers() {
        Some((base, _)) => info!("RTC: PL031 at {base:#x}, from the device tree"),
        None => warn!("RTC: no arm,pl031 in the device tree: no time of day"),
    }
    let Some(tree) = fw_arch::aarch64::device_tree() else {
        warn!("no device tree: no disks");
        return Vec::new();
    };
    super::devicetree::probe_fw_cfg(&tree);
    super::devicetree::disks(&tree, alloc_page)
}
