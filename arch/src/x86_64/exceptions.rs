//! CPU exceptions: an IDT whose 32 vectors report the fault on the console (name,
//! error code, RIP, CR2, registers, and which image's code faulted) on a stack
//! of the firmware's (the TSS's interrupt stack table), then either end the EFI
//! application whose code faulted, so that its StartImage returns, or stop the
//! machine. There are no interrupt handlers: the firmware polls, and runs with
//! interrupts disabled.

use super::gdt::{DescriptorPointer, CODE64, DOUBLE_FAULT_IST, EXCEPTION_IST};
use core::arch::{asm, global_asm};
use core::ptr::addr_of;
use core::sync::atomic::{AtomicBool, Ordering};
use fw_core::fault_location::Access;
use fw_core::logger::write_raw;
use r_efi::efi;

global_asm!(include_str!("exceptions.s"), options(att_syntax));

unsafe extern "C" {
    static exception_stubs: [u64; 32];
    static boot_stack_guard: u8;
    static exception_stack_guard: u8;
    static double_fault_stack_guard: u8;
}

const PAGE: u64 = 4096;

/// The guard pages below the boot stack and the two exception stacks.
pub fn guard_pages() -> [u64; 3] {
    [
        addr_of!(boot_stack_guard) as u64,
        addr_of!(exception_stack_guard) as u64,
        addr_of!(double_fault_stack_guard) as u64,
    ]
}

#[derive(Clone, Copy)]
#[repr(C)]
struct IdtEntry {
    offset_low: u16,
    selector: u16,
    ist: u8,
    type_attr: u8,
    offset_mid: u16,
    offset_high: u32,
    reserved: u32,
}

const INTERRUPT_GATE: u8 = 0x8e; // present, DPL 0, 64-bit interrupt gate

static mut IDT: [IdtEntry; 32] = [IdtEntry {
    offset_low: 0,
    selector: 0,
    ist: 0,
    type_attr: 0,
    offset_mid: 0,
    offset_high: 0,
    reserved: 0,
}; 32];

/// Installs the exception handlers.
pub fn init() {
    // SAFETY: runs once at entry on the only CPU; the stubs table is in .rodata.
    unsafe {
        let stubs = &*addr_of!(exception_stubs);
        for (vector, &handler) in stubs.iter().enumerate() {
            IDT[vector] = IdtEntry {
                offset_low: handler as u16,
                selector: CODE64,
                ist: if vector == 8 { DOUBLE_FAULT_IST } else { EXCEPTION_IST },
                type_attr: INTERRUPT_GATE,
                offset_mid: (handler >> 16) as u16,
                offset_high: (handler >> 32) as u32,
                reserved: 0,
            };
        }
        let pointer = DescriptorPointer::to(addr_of!(IDT));
        asm!("lidt [{}]", in(reg) &pointer, options(readonly, nostack, preserves_flags));
    }
}

/// What `exception_common` leaves on the stack.
#[repr(C)]
struct ExceptionFrame {
    r15: u64,
    r14: u64,
    r13: u64,
    r12: u64,
    r11: u64,
    r10: u64,
    r9: u64,
    r8: u64,
    rbp: u64,
    rdi: u64,
    rsi: u64,
    rdx: u64,
    rcx: u64,
    rbx: u64,
    rax: u64,
    vector: u64,
    error_code: u64,
    rip: u64,
    cs: u64,
    rflags: u64,
    rsp: u64,
    ss: u64,
}

fn name(vector: u64) -> &'static str {
    match vector {
        0 => "divide error (#DE)",
        1 => "debug (#DB)",
        2 => "non-maskable interrupt",
        3 => "breakpoint (#BP)",
        4 => "overflow (#OF)",
        5 => "bound range exceeded (#BR)",
        6 => "invalid opcode (#UD)",
        7 => "device not available (#NM)",
        8 => "double fault (#DF)",
        10 => "invalid TSS (#TS)",
        11 => "segment not present (#NP)",
        12 => "stack-segment fault (#SS)",
        13 => "general protection fault (#GP)",
        14 => "page fault (#PF)",
        16 => "x87 floating-point error (#MF)",
        17 => "alignment check (#AC)",
        18 => "machine check (#MC)",
        19 => "SIMD floating-point exception (#XM)",
        20 => "virtualization exception (#VE)",
        21 => "control protection exception (#CP)",
        _ => "reserved exception",
    }
}

/// Set while a report is being written: an exception inside the handler
/// (the image lists corrupted, say) stops at once instead of recursing.
static REPORTING: AtomicBool = AtomicBool::new(false);

#[unsafe(no_mangle)]
extern "C" fn exception_handler(frame: &ExceptionFrame) -> ! {
    let f = frame;
    if REPORTING.swap(true, Ordering::Relaxed) {
        write_raw(format_args!(
            "\n!!!! EXCEPTION {}: {} at RIP {:#x} while reporting an exception\n!!!! firmware stopped\n",
            f.vector,
            name(f.vector),
            f.rip
        ));
        super::report_failure();
        super::halt()
    }
    let cr2: u64;
    // SAFETY: reading CR2 has no side effects.
    unsafe { asm!("mov {}, cr2", out(reg) cr2, options(nomem, nostack, preserves_flags)) };
    write_raw(format_args!(
        "\n!!!! EXCEPTION {}: {} error code {:#x}\n",
        f.vector,
        name(f.vector),
        f.error_code
    ));
    let guards = guard_pages();
    let stack_guards = [Some(guards[0]), super::stack::moved_stack_guard()];
    if (f.vector == 14 || f.vector == 8) && stack_guards.iter().flatten().any(|g| (*g..g + PAGE).contains(&cr2)) {
        write_raw(format_args!(
            "!!!! stack overflow: the stack (the firmware's and its applications') ran into its guard page\n"
        ));
    }
    if (f.vector == 14 || f.vector == 8) && guards[1..].iter().any(|g| (*g..g + PAGE).contains(&cr2)) {
        write_raw(format_args!("!!!! an exception stack overflowed\n"));
    }
    write_raw(format_args!(
        "RIP {:#018x} CS {:#06x} RFLAGS {:#010x} RSP {:#018x} SS {:#06x} CR2 {:#018x}\n",
        f.rip, f.cs, f.rflags, f.rsp, f.ss, cr2
    ));
    write_raw(format_args!(
        "RAX {:#018x} RBX {:#018x} RCX {:#018x} RDX {:#018x}\n\
         RSI {:#018x} RDI {:#018x} RBP {:#018x} R8  {:#018x}\n\
         R9  {:#018x} R10 {:#018x} R11 {:#018x} R12 {:#018x}\n\
         R13 {:#018x} R14 {:#018x} R15 {:#018x}\n",
        f.rax, f.rbx, f.rcx, f.rdx, f.rsi, f.rdi, f.rbp, f.r8, f.r9, f.r10, f.r11, f.r12, f.r13, f.r14, f.r15
    ));
    let access = (f.vector == 14).then(|| (cr2, Access::of_x86_page_fault(f.error_code)));
    fw_core::efi::image::fault_summary(name(f.vector), access, f.rip, crate::image_range(), &mut |s| {
        write_raw(format_args!("!!!! {s}\n"))
    });
    // An NMI or machine check is the machine's, not the code's.
    if !matches!(f.vector, 2 | 18) {
        if let Some(context) = fw_core::efi::image::abandon_faulting_image(f.rip) {
            write_raw(format_args!(
                "!!!! the image is ended: its StartImage returns ABORTED to its caller\n"
            ));
            REPORTING.store(false, Ordering::Relaxed);
            // SAFETY: the context StartImage saved for the running image, whose
            // code faulted; the firmware's stack above it is intact (the
            // image's frames are below), and the IST stack we leave is set up
            // afresh from the TSS at the next exception.
            unsafe { super::efi_calls::exit_image(context, efi::Status::ABORTED) }
        }
    }
    write_raw(format_args!("!!!! firmware stopped\n"));
    super::report_failure();
    super::halt()
}
