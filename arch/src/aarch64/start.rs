//! From the entry stub to the firmware: exception vectors, the device tree, the
//! MMU, the hand-over.

use super::devicetree::{self, DeviceTreeError};
use super::psci::{self, Conduit};
use super::{exceptions, mmu};
use core::ops::Range;
use core::ptr::addr_of;
use core::sync::atomic::{AtomicU64, Ordering};
use fw_core::boot_info::BootInfo;
use fw_drivers::fdt::{self, Fdt};

/// What the firmware's main is handed on aarch64: the [`BootInfo`] from the
/// device tree, or why there is none.
pub type Boot = Result<BootInfo, DeviceTreeError>;

unsafe extern "Rust" {
    /// Defined by the firmware binary.
    fn firmware_main(boot: Boot) -> !;
}

unsafe extern "C" {
    static __image_start: u8;
    static __code_end: u8;
    static __boot_data_start: u8;
    static __boot_data_end: u8;
    static __image_end: u8;
}

/// Where the parts of the firmware image are, for the EFI memory map.
pub struct ImageLayout {
    /// Code and read-only data: runtime services code.
    pub code: Range<u64>,
    /// Data, including what runtime services use: runtime services data.
    pub data: Range<u64>,
    /// The boot stack and page tables (inside `data`): boot services data.
    pub boot_data: Range<u64>,
}

pub fn image_layout() -> ImageLayout {
    let start = addr_of!(__image_start) as u64;
    let code_end = addr_of!(__code_end) as u64;
    ImageLayout {
        code: start..code_end,
        data: code_end..addr_of!(__image_end) as u64,
        boot_data: addr_of!(__boot_data_start) as u64..addr_of!(__boot_data_end) as u64,
    }
}

/// The bytes the firmware image occupies, .bss (stack, page tables) included.
pub fn image_range() -> Range<u64> {
    addr_of!(__image_start) as u64..addr_of!(__image_end) as u64
}

/// Where the device tree is, and its size (0 when there is none).
static DEVICE_TREE: AtomicU64 = AtomicU64::new(0);
static DEVICE_TREE_SIZE: AtomicU64 = AtomicU64::new(0);

/// The device tree the VMM passed, checked; `None` if it passed none or a
/// broken one.
pub fn device_tree() -> Option<Fdt<'static>> {
    let addr = DEVICE_TREE.load(Ordering::Relaxed);
    let size = DEVICE_TREE_SIZE.load(Ordering::Relaxed);
    if addr == 0 || size == 0 {
        return None;
    }
    // SAFETY: arch_start checked that `size` bytes at `addr` are a device tree
    // in RAM, identity mapped; the memory map keeps them (a module) and nothing
    // writes them.
    let bytes = unsafe { core::slice::from_raw_parts(addr as *const u8, size as usize) };
    Fdt::new(bytes).ok()
}

/// The device tree blob at `addr`, read with the MMU off (byte accesses only:
/// the target has strict alignment).
///
/// # Safety
/// `addr` is where the VMM put the tree (x0 at entry), or 0.
unsafe fn read_device_tree(addr: u64) -> Result<Fdt<'static>, DeviceTreeError> {
    if addr == 0 {
        return Err(DeviceTreeError::NoDeviceTree);
    }
    let invalid = |error| DeviceTreeError::Invalid { addr, error };
    // SAFETY: the boot protocol puts the tree's header at x0.
    let header = unsafe { core::slice::from_raw_parts(addr as *const u8, fdt::FDT_HEADER_SIZE) };
    let size = fdt::total_size(header).map_err(invalid)?;
    // The booting protocol caps the tree at 2 MiB.
    if size > 2 << 20 {
        return Err(invalid(fdt::Error::Truncated {
            need: size,
            have: 2 << 20,
        }));
    }
    // SAFETY: the header says the tree is `size` bytes long.
    let bytes = unsafe { core::slice::from_raw_parts(addr as *const u8, size) };
    let tree = Fdt::new(bytes).map_err(invalid)?;
    DEVICE_TREE_SIZE.store(size as u64, Ordering::Relaxed);
    DEVICE_TREE.store(addr, Ordering::Relaxed);
    Ok(tree)
}

/// Device registers the firmware touches: everything the tree names that it
/// drives (console, RTC, PCI configuration space, virtio-mmio).
fn device_ranges<'a>(tree: Option<Fdt<'a>>) -> impl Iterator<Item = (u64, u64)> + 'a {
    const DRIVEN: [&str; 4] = ["arm,pl011", "arm,pl031", "pci-host-ecam-generic", "virtio,mmio"];
    tree.into_iter().flat_map(|t| {
        t.nodes()
            .filter(|n| DRIVEN.iter().any(|c| n.is_compatible(c)))
            .filter_map(|n| n.first_reg())
    })
}

/// Below RAM on the VMMs' aarch64 machines (QEMU `virt`, Cloud Hypervisor)
/// there is only MMIO: the first GiB is mapped as device memory whatever the
/// tree says, so the console works even without one.
const LOW_DEVICE_AREA: (u64, u64) = (0, 1 << 30);

#[unsafe(no_mangle)]
extern "C" fn arch_start(dtb: u64) -> ! {
    exceptions::init();
    // SAFETY: x0 at entry, unchanged.
    let tree = unsafe { read_device_tree(dtb) };
    let image = image_range();
    let tree_range = tree.as_ref().map(|t| (dtb, t.as_bytes().len() as u64));
    {
        let memory = tree
            .as_ref()
            .ok()
            .into_iter()
            .flat_map(|t| t.nodes().filter(|n| n.is_memory()).flat_map(|n| n.reg()));
        let mut ram = [(image.start, image.end - image.start)]
            .into_iter()
            .chain(tree_range.ok())
            .chain(memory);
        let mut devices = [LOW_DEVICE_AREA].into_iter().chain(device_ranges(tree.ok()));
        // SAFETY: the MMU is off and we are the only code running; the image,
        // its stack, the tree and the devices are in the ranges.
        if let Err(e) = unsafe { mmu::enable(&mut ram, &mut devices) } {
            // Without an MMU there is no console yet to say so.
            let _ = e;
            halt();
        }
    }
    let boot = tree.and_then(|t| {
        let conduit = t
            .find_compatible("arm,psci-0.2")
            .or_else(|| t.find_compatible("arm,psci"))
            .and_then(|n| match n.str_property("method") {
                Some("hvc") => Some(Conduit::Hvc),
                Some("smc") => Some(Conduit::Smc),
                _ => None,
            });
        psci::set_conduit(conduit);
        devicetree::boot_info(&t, dtb)
    });
    // SAFETY: `firmware_main` is the binary's entry, with this exact signature.
    unsafe { firmware_main(boot) }
}

/// Stops the CPU for good.
pub fn halt() -> ! {
    loop {
        aarch64_cpu::asm::wfi();
    }
}

/// Tells a test harness that the firmware failed: with the `qemu-exit` feature
/// the machine powers off through PSCI, so QEMU ends at once (the harness
/// recognises the failure by the `firmware stopped` line). Otherwise nothing.
pub fn report_failure() {
    #[cfg(feature = "qemu-exit")]
    psci::system_off();
}

#[panic_handler]
fn panic(info: &core::panic::PanicInfo) -> ! {
    fw_core::logger::write_raw(format_args!("\n!!!! PANIC: {info}\n!!!! firmware stopped\n"));
    report_failure();
    halt()
}
