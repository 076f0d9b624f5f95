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
use fw_drivers::mmio::Mmio32;
use fw_drivers::uart::pl011::Pl011;
use log::{info, warn};

/// Where QEMU `virt` and Cloud Hypervisor put their PL011: used when the
/// device tree names none.
const DEFAULT_PL011: u64 = 0x0900_0000;

/// The console and why that PL011 was chosen (logged once the logger runs).
struct Console {
    uart: Pl011<Mmio32>,
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
            uart: Pl011::new(Mmio32 { base: base as usize }),
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

// The clock behind GetTime/SetTime, as the device tree names it.
pub use super::devicetree::{rtc_get, rtc_set, runtime_mmio};

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
    super::devicetree::log_rtc();
    let Some(tree) = fw_arch::aarch64::device_tree() else {
        warn!("no device tree: no disks");
        return Vec::new();
    };
    super::devicetree::probe_fw_cfg(&tree);
    super::devicetree::disks(&tree, alloc_page)
}
