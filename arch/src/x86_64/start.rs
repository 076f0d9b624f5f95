//! From the entry stub to the firmware: CPU tables, the start info, the hand-over.

use super::pvh::{self, PhysMemory, PvhError};
use super::{exceptions, gdt, paging};
use fw_core::boot_info::BootInfo;

/// What the firmware's main is handed on x86_64: the parsed start info, or why
/// there is none. The console works either way (the UART is at a fixed port).
pub type Boot = Result<BootInfo, PvhError>;

unsafe extern "Rust" {
    /// Defined by the firmware binary.
    fn firmware_main(boot: Boot) -> !;
}

/// Physical memory below 4 GiB, identity mapped by the entry code.
struct LowMemory;

impl PhysMemory for LowMemory {
    fn read(&self, addr: u64, len: usize) -> Option<&[u8]> {
        let end = addr.checked_add(len as u64)?;
        if addr == 0 || end > 1 << 32 {
            return None;
        }
        // SAFETY: the first 4 GiB are identity mapped and readable; the start info
        // and the tables it points to are memory the VMM gave us to read.
        Some(unsafe { core::slice::from_raw_parts(addr as *const u8, len) })
    }
}

#[unsafe(no_mangle)]
extern "C" fn arch_start(start_info: u64) -> ! {
    gdt::init();
    exceptions::init();
    paging::protect_guard_pages(&exceptions::guard_pages());
    let boot = pvh::parse(start_info, &LowMemory);
    // SAFETY: `firmware_main` is the binary's entry, with this exact signature.
    unsafe { firmware_main(boot) }
}

/// Stops the CPU for good.
pub fn halt() -> ! {
    loop {
        // SAFETY: interrupts are off; `hlt` just waits.
        unsafe { core::arch::asm!("cli", "hlt", options(nomem, nostack)) };
    }
}

/// Tells a test harness that the firmware failed: with the `qemu-exit` feature,
/// QEMU's isa-debug-exit device (port 0xf4) exits with status 3. Otherwise nothing.
pub fn report_failure() {
    #[cfg(feature = "qemu-exit")]
    // SAFETY: test builds run under QEMU with isa-debug-exit at 0xf4.
    unsafe {
        super::io::outl(0xf4, 1)
    };
}

#[panic_handler]
fn panic(info: &core::panic::PanicInfo) -> ! {
    fw_core::logger::write_raw(format_args!("\n!!!! PANIC: {info}\n!!!! firmware stopped\n"));
    report_failure();
    halt()
}
