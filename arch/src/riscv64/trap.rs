//! Traps: stvec points at `trap_entry`, which reports the trap on the console
//! (scause with its name, sepc, stval, sstatus, the registers, and which
//! image's code trapped) on its own stack (sscratch holds its top) and stops
//! the machine. There are no interrupt handlers: the firmware polls, with
//! interrupts disabled (sie = 0, sstatus.SIE = 0).

use core::arch::global_asm;
use core::ptr::addr_of;
use fw_core::logger::write_raw;

global_asm!(include_str!("trap.s"));

unsafe extern "C" {
    static trap_entry: u8;
    static boot_stack_bottom: u8;
}

/// Points stvec at the trap entry (Direct mode: the low two bits are 0).
pub fn init() {
    let entry = addr_of!(trap_entry) as u64;
    // SAFETY: trap_entry is 4-byte aligned code that never returns; writing
    // stvec only changes where traps go.
    unsafe { core::arch::asm!("csrw stvec, {}", in(reg) entry, options(nostack)) };
}

/// What `trap_entry` leaves on the trap stack: x0-x31.
#[repr(C)]
struct Frame {
    x: [u64; 32],
}

/// The ABI names of x0-x31 (RISC-V psABI, "Integer Register Convention").
const NAMES: [&str; 32] = [
    "zero", "ra", "sp", "gp", "tp", "t0", "t1", "t2", "s0", "s1", "a0", "a1", "a2", "a3", "a4", "a5", "a6", "a7", "s2",
    "s3", "s4", "s5", "s6", "s7", "s8", "s9", "s10", "s11", "t3", "t4", "t5", "t6",
];

/// scause's exception codes (RISC-V Privileged Architecture, Table 22
/// "Supervisor cause register (scause) values after trap").
fn exception_name(code: u64) -> &'static str {
    match code {
        0 => "instruction address misaligned",
        1 => "instruction access fault",
        2 => "illegal instruction",
        3 => "breakpoint",
        4 => "load address misaligned",
        5 => "load access fault",
        6 => "store/AMO address misaligned",
        7 => "store/AMO access fault",
        8 => "environment call from U-mode",
        9 => "environment call from S-mode",
        12 => "instruction page fault",
        13 => "load page fault",
        15 => "store/AMO page fault",
        18 => "software check",
        19 => "hardware error",
        _ => "reserved",
    }
}

fn interrupt_name(code: u64) -> &'static str {
    match code {
        1 => "supervisor software interrupt",
        5 => "supervisor timer interrupt",
        9 => "supervisor external interrupt",
        13 => "counter overflow interrupt",
        _ => "reserved interrupt",
    }
}

fn csr_values() -> (u64, u64, u64, u64) {
    let (scause, sepc, stval, sstatus): (u64, u64, u64, u64);
    // SAFETY: reading the trap CSRs has no side effects.
    unsafe {
        core::arch::asm!(
            "csrr {0}, scause",
            "csrr {1}, sepc",
            "csrr {2}, stval",
            "csrr {3}, sstatus",
            out(reg) scause,
            out(reg) sepc,
            out(reg) stval,
            out(reg) sstatus,
            options(nomem, nostack),
        )
    };
    (scause, sepc, stval, sstatus)
}

#[unsafe(no_mangle)]
extern "C" fn riscv64_trap(frame: &Frame) -> ! {
    let (scause, sepc, stval, sstatus) = csr_values();
    let interrupt = scause >> 63 != 0;
    let code = scause & !(1 << 63);
    let name = if interrupt {
        interrupt_name(code)
    } else {
        exception_name(code)
    };
    write_raw(format_args!(
        "\n!!!! TRAP {}: {name} (scause {scause:#x})\n",
        if interrupt { "interrupt" } else { "exception" }
    ));
    // Without paging there is no guard page: a stack pointer between the
    // image's start and the bottom of the boot stack is the best sign of an
    // overflow (the firmware and the images it starts run on that stack).
    let sp = frame.x[2];
    if (crate::image_range().start..addr_of!(boot_stack_bottom) as u64).contains(&sp) {
        write_raw(format_args!("!!!! stack overflow: sp is below the boot stack\n"));
    }
    write_raw(format_args!(
        "SEPC {sepc:#018x} STVAL {stval:#018x} SSTATUS {sstatus:#018x}\n"
    ));
    for (row, regs) in frame.x.chunks(4).enumerate() {
        for (i, value) in regs.iter().enumerate() {
            let n = row * 4 + i;
            write_raw(format_args!(
                "{:>4} {value:#018x}{}",
                NAMES[n],
                if i == regs.len() - 1 { "\n" } else { " " }
            ));
        }
    }
    let access = fw_core::fault_location::Access::of_riscv_cause(scause).map(|a| (stval, a));
    fw_core::efi::image::fault_summary(name, access, sepc, crate::image_range(), &mut |s| {
        write_raw(format_args!("!!!! {s}\n"))
    });
    write_raw(format_args!("!!!! firmware stopped\n"));
    super::report_failure();
    super::halt()
}
