//! The firmware's GDT and TSS. The TSS exists for its interrupt stack table
//! (Intel SDM vol. 3A §6.14.5): every exception runs on a stack of the
//! firmware's (the double fault on one of its own), so that a stack overflow or
//! an application's corrupt RSP can still be reported. The stacks and their
//! guard pages are in `entry.s`.

use core::arch::asm;
use core::mem::size_of;
use core::ptr::addr_of;

pub const CODE64: u16 = 0x08;
pub const DATA: u16 = 0x10;
const TSS: u16 = 0x18;
/// IST slot (1-based, as the IDT encodes it) for the double-fault handler.
pub const DOUBLE_FAULT_IST: u8 = 1;
/// IST slot for every other exception.
pub const EXCEPTION_IST: u8 = 2;

#[repr(C, packed(4))]
struct TaskStateSegment {
    reserved0: u32,
    rsp: [u64; 3],
    reserved1: u64,
    ist: [u64; 7],
    reserved2: u64,
    reserved3: u16,
    iomap_base: u16,
}

unsafe extern "C" {
    static double_fault_stack_top: u8;
    static exception_stack_top: u8;
}

static mut TSS_SEGMENT: TaskStateSegment = TaskStateSegment {
    reserved0: 0,
    rsp: [0; 3],
    reserved1: 0,
    ist: [0; 7],
    reserved2: 0,
    reserved3: 0,
    iomap_base: size_of::<TaskStateSegment>() as u16,
};

static mut GDT: [u64; 5] = [
    0,
    0x00af_9a00_0000_ffff, // 64-bit code, DPL 0
    0x00cf_9200_0000_ffff, // data, DPL 0
    0,                     // TSS, low half (filled in at init)
    0,                     // TSS, high half
];

/// The operand of LGDT and LIDT (Intel SDM vol. 3 §3.5.1, §6.10): a
/// descriptor table's limit (its size less one) and its address.
#[repr(C, packed)]
pub(super) struct DescriptorPointer {
    limit: u16,
    base: u64,
}

impl DescriptorPointer {
    /// The pointer to the table `table`.
    pub(super) fn to<T>(table: *const T) -> DescriptorPointer {
        DescriptorPointer {
            limit: (size_of::<T>() - 1) as u16,
            base: table as u64,
        }
    }
}

/// Loads the GDT with the TSS and reloads every segment register.
pub fn init() {
    // SAFETY: runs once at entry, before anything else reads these statics; one CPU.
    unsafe {
        TSS_SEGMENT.ist[(DOUBLE_FAULT_IST - 1) as usize] = addr_of!(double_fault_stack_top) as u64;
        TSS_SEGMENT.ist[(EXCEPTION_IST - 1) as usize] = addr_of!(exception_stack_top) as u64;

        let base = addr_of!(TSS_SEGMENT) as u64;
        let limit = (size_of::<TaskStateSegment>() - 1) as u64;
        // Available 64-bit TSS (type 9), present.
        GDT[3] = (limit & 0xffff)
            | ((base & 0xff_ffff) << 16)
            | (0x89 << 40)
            | (((limit >> 16) & 0xf) << 48)
            | (((base >> 24) & 0xff) << 56);
        GDT[4] = base >> 32;

        let pointer = DescriptorPointer::to(addr_of!(GDT));
        asm!(
            "lgdt [{ptr}]",
            // Reload CS with a far return to the next instruction.
            "push {code}",
            "lea {tmp}, [rip + 2f]",
            "push {tmp}",
            "retfq",
            "2:",
            "mov ds, {data:x}",
            "mov es, {data:x}",
            "mov ss, {data:x}",
            "ltr {tss:x}",
            ptr = in(reg) &pointer,
            code = in(reg) u64::from(CODE64),
            tmp = lateout(reg) _,
            data = in(reg) u64::from(DATA),
            tss = in(reg) u64::from(TSS),
        );
    }
}
