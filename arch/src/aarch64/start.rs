//! From the entry stub to the firmware: exception vectors, the device tree, the
//! MMU, the hand-over.

use super::psci::{self, Conduit};
use super::{exceptions, mmu};
use crate::boot_tree;
use crate::devicetree::{self, DeviceTreeError};
use fw_core::boot_info::BootInfo;
use fw_drivers::fdt::Fdt;

/// What the firmware's main is handed on aarch64: the [`BootInfo`] from the
/// device tree, or why there is none.
pub type Boot = Result<BootInfo, DeviceTreeError>;

unsafe extern "Rust" {
    /// Defined by the firmware binary.
    fn firmware_main(boot: Boot) -> !;
}

/// Device registers the firmware touches: everything the tree names that it
/// drives (console, RTC, PCI configuration space, virtio-mmio, QEMU's fw_cfg).
fn device_ranges<'a>(tree: Option<Fdt<'a>>) -> impl Iterator<Item = (u64, u64)> + 'a {
    const DRIVEN: [&str; 5] = [
        "arm,pl011",
        "arm,pl031",
        "pci-host-ecam-generic",
        "virtio,mmio",
        "qemu,fw-cfg-mmio",
    ];
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
    // SAFETY: x0 at entry, unchanged; the MMU is off.
    let tree = unsafe { boot_tree::read(dtb) };
    let image = crate::image_range();
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
