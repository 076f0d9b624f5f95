//! The riscv64 machine (QEMU `virt` under OpenSBI), as its device tree
//! describes it: the `ns16550a` console `/chosen/stdout-path` names, reset and
//! power-off through the SBI System Reset extension, the generic PCI host
//! bridge, the `virtio,mmio` slots and QEMU's fw_cfg (see `devicetree`; QEMU
//! 7.2 offers no ACPI tables on riscv64 `virt`), and the Goldfish RTC behind
//! GetTime/SetTime.

use super::Disk;
use alloc::vec::Vec;
use fw_core::boot_info::BootInfo;
use fw_drivers::uart::ns16550::{MmioRegisters, Ns16550};
use log::{info, warn};

/// Where QEMU `virt` puts its ns16550a: used when the device tree names none.
const DEFAULT_NS16550: u64 = 0x1000_0000;

static CONSOLE: spin::Once<Ns16550<MmioRegisters>> = spin::Once::new();

/// The 16550 to use (base, reg-shift): the one `stdout-path` names, else the
/// first in the tree, else QEMU's usual address.
fn console_registers() -> MmioRegisters {
    let node = fw_arch::riscv64::device_tree().and_then(|tree| {
        tree.stdout()
            .filter(|n| n.is_compatible("ns16550a") || n.is_compatible("ns16550"))
            .or_else(|| tree.find_compatible("ns16550a"))
            .or_else(|| tree.find_compatible("ns16550"))
    });
    let base = node
        .as_ref()
        .and_then(|n| n.first_reg())
        .map_or(DEFAULT_NS16550, |(b, _)| b);
    let shift = node.and_then(|n| n.u32_property("reg-shift")).unwrap_or(0);
    MmioRegisters {
        base: base as usize,
        shift: shift.min(4) as u8,
    }
}

/// Finds and programs the console.
pub fn console_init(_boot: &fw_arch::Boot) {
    let uart = CONSOLE.call_once(|| Ns16550::new(console_registers()));
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

/// The console's device path, for its Serial I/O handle: a 16550 as ACPI
/// names it, with the line it runs (`Acpi(PNP0501,0x0)/Uart(115200,8,N,1)`).
pub fn console_path() -> fw_protocols::device_path::DevicePathBuf {
    use fw_protocols::device_path::{DevicePathBuf, EISA_PNP0501};
    DevicePathBuf::new().acpi(EISA_PNP0501, 0).uart(&super::CONSOLE_LINE)
}

// The clock behind GetTime/SetTime, as the device tree names it.
pub use super::devicetree::{rtc_get, rtc_set, runtime_mmio};

/// ResetSystem through SBI SRST. Returns only if the SBI refused.
pub fn reset(kind: r_efi::efi::ResetType) {
    if kind == r_efi::efi::RESET_SHUTDOWN {
        fw_arch::riscv64::sbi::shutdown();
    } else {
        fw_arch::riscv64::sbi::cold_reboot();
    }
}

/// Discovers buses and disks: PCI first, then virtio-mmio slots in device
/// tree order.
pub fn discover(_info: &BootInfo, alloc_page: &mut dyn FnMut() -> Option<u64>) -> Vec<Disk> {
    let hz = fw_arch::time::frequency();
    info!("timebase: {} MHz", hz / 1_000_000);
    super::devicetree::log_rtc();
    let Some(tree) = fw_arch::riscv64::device_tree() else {
        warn!("no device tree: no disks");
        return Vec::new();
    };
    super::devicetree::probe_fw_cfg(&tree);
    super::devicetree::disks(&tree, alloc_page)
}
