//! CPU exceptions: a vector table whose entries report the exception on the
//! console (kind, ESR_EL1 with its exception class, ELR_EL1, FAR_EL1, the
//! registers, and which image's code faulted), then either end the EFI
//! application whose code faulted, so that its StartImage returns, or stop the
//! machine. The firmware and its applications run on SP_EL0; exceptions on
//! SP_EL1, a stack of their own, so an exhausted or corrupt application stack
//! is still reported. There are no interrupt handlers: the firmware polls,
//! with interrupts masked.

use aarch64_cpu::registers::*;
use core::arch::global_asm;
use core::ptr::addr_of;
use core::sync::atomic::{AtomicBool, Ordering};
use fw_core::fault_location::Access;
use fw_core::logger::write_raw;
use r_efi::efi;

global_asm!(include_str!("exceptions.s"));

unsafe extern "C" {
    static exception_vectors: u8;
}

/// Installs the vector table.
pub fn init() {
    VBAR_EL1.set(addr_of!(exception_vectors) as u64);
    aarch64_cpu::asm::barrier::isb(aarch64_cpu::asm::barrier::SY);
}

/// What `exception_common` leaves on the exception stack.
#[repr(C)]
struct Frame {
    x: [u64; 31],
    sp_el0: u64,
    kind: u64,
}

/// The vector's type: the low two bits of its index.
fn kind_name(kind: u64) -> &'static str {
    match kind & 3 {
        0 => "synchronous",
        1 => "IRQ",
        2 => "FIQ",
        _ => "SError",
    }
}

fn source_name(kind: u64) -> &'static str {
    match kind >> 2 {
        0 => "current EL, SP_EL0",
        1 => "current EL, SP_EL1",
        2 => "lower EL, AArch64",
        _ => "lower EL, AArch32",
    }
}

/// ESR_ELx.EC (Arm ARM D19.2.41).
fn class_name(ec: u64) -> &'static str {
    match ec {
        0x00 => "unknown reason",
        0x01 => "WFI/WFE trapped",
        0x07 => "SVE/SIMD/FP access trapped",
        0x0e => "illegal execution state",
        0x15 => "SVC",
        0x16 => "HVC",
        0x17 => "SMC",
        0x18 => "system register access trapped",
        0x20 => "instruction abort from a lower EL",
        0x21 => "instruction abort",
        0x22 => "PC alignment fault",
        0x24 => "data abort from a lower EL",
        0x25 => "data abort",
        0x26 => "SP alignment fault",
        0x2c => "floating-point exception",
        0x2f => "SError",
        0x3c => "BRK instruction",
        _ => "other",
    }
}

/// Set while a report is being written: an exception inside the handler
/// stops at once instead of recursing.
static REPORTING: AtomicBool = AtomicBool::new(false);

#[unsafe(no_mangle)]
extern "C" fn aarch64_exception(frame: &Frame) -> ! {
    let esr = ESR_EL1.get();
    let elr = ELR_EL1.get();
    let far = FAR_EL1.get();
    let spsr = SPSR_EL1.get();
    let ec = (esr >> 26) & 0x3f;
    if REPORTING.swap(true, Ordering::Relaxed) {
        write_raw(format_args!(
            "\n!!!! EXCEPTION {} at ELR {elr:#x} while reporting an exception\n!!!! firmware stopped\n",
            class_name(ec)
        ));
        super::report_failure();
        super::halt()
    }
    write_raw(format_args!(
        "\n!!!! EXCEPTION {} ({}): {} (EC {ec:#04x}) ESR {esr:#010x}\n",
        kind_name(frame.kind),
        source_name(frame.kind),
        class_name(ec)
    ));
    if matches!(ec, 0x24 | 0x25) && super::mmu::is_guard_page(far) {
        write_raw(format_args!(
            "!!!! stack overflow: the stack (the firmware's and its applications') ran into its guard page\n"
        ));
    }
    write_raw(format_args!(
        "ELR {elr:#018x} FAR {far:#018x} SPSR {spsr:#010x} SP_EL0 {:#018x}\n",
        frame.sp_el0
    ));
    for (row, regs) in frame.x.chunks(4).enumerate() {
        for (i, value) in regs.iter().enumerate() {
            let n = row * 4 + i;
            write_raw(format_args!(
                "X{n:<2} {value:#018x}{}",
                if i == regs.len() - 1 { "\n" } else { " " }
            ));
        }
    }
    // Only a synchronous exception has a faulting instruction at ELR.
    let synchronous = frame.kind & 3 == 0;
    let name = if synchronous {
        class_name(ec)
    } else {
        kind_name(frame.kind)
    };
    let access = Access::of_arm_abort(esr).filter(|_| synchronous).map(|a| (far, a));
    fw_core::efi::image::fault_summary(name, access, elr, crate::image_range(), &mut |s| {
        write_raw(format_args!("!!!! {s}\n"))
    });
    // From EL1 with SP_EL0 (the vectors at kind 0-3): code running as the
    // firmware and its images do.
    if synchronous && frame.kind >> 2 == 0 {
        if let Some(context) = fw_core::efi::image::abandon_faulting_image(elr) {
            write_raw(format_args!(
                "!!!! the image is ended: its StartImage returns ABORTED to its caller\n"
            ));
            REPORTING.store(false, Ordering::Relaxed);
            // SAFETY: the context StartImage saved for the running image, whose
            // code faulted; the firmware's stack above it is intact (the
            // image's frames are below it).
            unsafe { super::efi_calls::exit_image_after_exception(context, efi::Status::ABORTED) }
        }
    }
    write_raw(format_args!("!!!! firmware stopped\n"));
    super::report_failure();
    super::halt()
}
