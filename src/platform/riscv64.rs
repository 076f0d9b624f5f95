//! The riscv64 machine (QEMU `virt` under OpenSBI), as its device tree
//! describes it: the `ns16550a` console `/chosen/stdout-path` names, reset and
//! power-off through the SBI System Reset extension, the generic PCI host
//! bridge, the `virtio,mmio` slots and QEMU's fw_cfg (see `devicetree`; QEMU
//! 7.2 offers no ACPI tables on riscv64 `virt`), and the Goldfish RTC behind
//! GetTime/SetTime.

use super::Disk;
use alloc::vec::Vec;
use fw_core::boot_info::BootInfo;
use fw_drivers::rtc::calendar::DateTime;
use fw_drivers::rtc::goldfish::{Goldfish, MmioRegisters as GoldfishMmio};
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

/// The Goldfish RTC's register block (base, size), as the device tree names it.
/// Looked up once, during boot services: GetTime runs after ExitBootServices,
/// when the device tree belongs to the OS.
fn rtc_registers() -> Option<(u64, u64)> {
    static REG: spin::Once<Option<(u64, u64)>> = spin::Once::new();
    *REG.call_once(|| {
        fw_arch::riscv64::device_tree()
            .and_then(|tree| tree.find_compatible("google,goldfish-rtc"))
            .and_then(|n| n.first_reg())
    })
}

fn rtc() -> Option<Goldfish<GoldfishMmio>> {
    rtc_registers().map(|(base, _)| Goldfish::new(GoldfishMmio { base: base as usize }))
}

/// MMIO the runtime services touch after ExitBootServices (base, size): the
/// Goldfish RTC behind GetTime/SetTime (reset goes through the SBI). The memory
/// map reports it as EfiMemoryMappedIO with EFI_MEMORY_RUNTIME (UEFI 2.10
/// §7.2.3) so that the OS maps it for runtime calls.
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
    match rtc_registers() {
        Some((base, _)) => info!("RTC: Goldfish at {base:#x}, from the device tree"),
        None => warn!("RTC: no google,goldfish-rtc in the device tree: no time of day"),
    }
    let Some(tree) = fw_arch::riscv64::device_tree() else {
        warn!("no device tree: no disks");
        return Vec::new();
    };
    super::devicetree::probe_fw_cfg(&tree);
    super::devicetree::disks(&tree, alloc_page)
}
