//! From the entry stub to the firmware: the trap vector, the device tree, the
//! timebase, the boot hart, the hand-over.

use super::{time, trap};
use crate::boot_tree;
use crate::devicetree::{self, DeviceTreeError};
use core::sync::atomic::{AtomicU64, Ordering};
use fw_core::boot_info::BootInfo;
use fw_drivers::fdt::Fdt;

/// What the firmware's main is handed on riscv64: the [`BootInfo`] from the
/// device tree, or why there is none.
pub type Boot = Result<BootInfo, DeviceTreeError>;

unsafe extern "Rust" {
    /// Defined by the firmware binary.
    fn firmware_main(boot: Boot) -> !;
}

/// The hart OpenSBI started the firmware on (a0 at entry).
static BOOT_HART_ID: AtomicU64 = AtomicU64::new(0);

/// The boot hart's id, for RISCV_EFI_BOOT_PROTOCOL.GetBootHartId.
pub fn boot_hart_id() -> u64 {
    BOOT_HART_ID.load(Ordering::Relaxed)
}

/// `/cpus/timebase-frequency`: the rate of the `time` CSR (riscv/cpus.yaml;
/// a cpu node may carry it instead of `/cpus`).
fn timebase_frequency(tree: &Fdt) -> Option<u64> {
    let cpus = tree.find_path("/cpus")?;
    cpus.number_property("timebase-frequency")
        .or_else(|| cpus.children().find_map(|c| c.number_property("timebase-frequency")))
}

/// Builds the [`BootInfo`], with the SBI firmware's memory below the image
/// reserved (see [`devicetree::reserve_below_payload`]).
fn boot_info(tree: &Fdt, dtb: u64) -> Boot {
    let mut info = devicetree::boot_info(tree, dtb)?;
    devicetree::reserve_below_payload(&mut info, crate::image_range().start)?;
    Ok(info)
}

#[unsafe(no_mangle)]
extern "C" fn arch_start(hart_id: u64, dtb: u64) -> ! {
    trap::init();
    BOOT_HART_ID.store(hart_id, Ordering::Relaxed);
    // SAFETY: a1 at entry, unchanged; with satp = 0 all of RAM is readable.
    let tree = unsafe { boot_tree::read(dtb) };
    let boot = tree.and_then(|t| {
        if let Some(hz) = timebase_frequency(&t) {
            time::set_frequency(hz);
        }
        boot_info(&t, dtb)
    });
    // SAFETY: `firmware_main` is the binary's entry, with this exact signature.
    unsafe { firmware_main(boot) }
}

/// Stops the hart for good.
pub fn halt() -> ! {
    loop {
        // SAFETY: wfi only waits; with interrupts disabled it may return at
        // any time, hence the loop.
        unsafe { core::arch::asm!("wfi", options(nomem, nostack)) };
    }
}

/// Tells a test harness that the firmware failed: with the `qemu-exit` feature
/// the machine powers off through the SBI, so QEMU ends at once (the harness
/// recognises the failure by the `firmware stopped` line). Otherwise nothing.
pub fn report_failure() {
    #[cfg(feature = "qemu-exit")]
    super::sbi::shutdown_after_failure();
}

#[panic_handler]
fn panic(info: &core::panic::PanicInfo) -> ! {
    fw_core::logger::write_raw(format_args!("\n!!!! PANIC: {info}\n!!!! firmware stopped\n"));
    report_failure();
    halt()
}
