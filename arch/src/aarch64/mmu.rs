//! Identity mapping with the stage 1 MMU at EL1 (Arm ARM DDI 0487, D8: the
//! VMSAv8-64 translation system): 4 KiB granule, 48-bit input addresses
//! (TCR_EL1.T0SZ = 16, walks start at level 0), TTBR0_EL1 only.
//!
//! RAM is Normal write-back cacheable memory, inner shareable; device ranges
//! are Device-nGnRE and never executable. Ranges are mapped with 1 GiB blocks
//! where they allow it, else 2 MiB blocks; the page below the boot stack is a
//! 4 KiB hole (the guard page). Before the MMU is on, tables come from a static
//! pool; later `fw_arch::identity_map` takes them from the caller's page allocator.

use aarch64_cpu::asm::barrier;
use aarch64_cpu::registers::*;
use core::ptr::{addr_of, addr_of_mut};

use crate::page_tables::{entry, next_table, EntryFormat, IdentityMap, PAGE, TWO_MIB};
pub use crate::page_tables::{Caching, MapError};

const DESC_VALID: u64 = 1 << 0;
/// Level 0-2 table descriptor, level 3 page descriptor.
const DESC_TABLE: u64 = 1 << 1;
const ATTR_INDEX_SHIFT: u64 = 2;
const SH_INNER: u64 = 0b11 << 8;
const AF: u64 = 1 << 10;
const PXN: u64 = 1 << 53;
const UXN: u64 = 1 << 54;
const ADDRESS_MASK: u64 = 0x0000_ffff_ffff_f000;

/// MAIR_EL1 slots.
const MAIR_NORMAL: u64 = 0;
const MAIR_DEVICE: u64 = 1;

/// 48-bit input addresses.
const VA_BITS: u8 = 48;

/// Stage 1 descriptors (Arm ARM D8.3): bit 0 valid; at levels 1 and 2, bit 1
/// clear is a block and set is a table.
const DESCRIPTOR: EntryFormat = EntryFormat {
    address_mask: ADDRESS_MASK,
    valid: DESC_VALID,
    kind_mask: DESC_TABLE,
    block_kind: 0,
    table: DESC_VALID | DESC_TABLE,
    write_back_block: attributes(Caching::WriteBack) | DESC_VALID,
    uncached_block: attributes(Caching::Uncached) | DESC_VALID,
    input_bits: VA_BITS,
};

/// The identity map under TTBR0_EL1. Adding to it writes only invalid entries,
/// so no live translation changes and no TLB invalidation is needed: a DSB and
/// an ISB make the new entries visible to the walker.
// SAFETY: the root is the translation table `enable` installs in TTBR0_EL1;
// its tables come from the static pool or identity mapped RAM.
pub const IDENTITY_MAP: IdentityMap =
    unsafe { IdentityMap::new(DESCRIPTOR, root, physical_address_bits, || true, publish) };

fn publish() {
    barrier::dsb(barrier::ISHST);
    barrier::isb(barrier::SY);
}

#[repr(C, align(4096))]
struct Table([u64; 512]);

/// Tables for the boot mappings: the root, and what RAM, the low device area,
/// the ECAM and the guard page need. In .bss.boot_page_tables (boot data).
const BOOT_TABLES: usize = 16;

#[unsafe(link_section = ".bss.boot_page_tables")]
static mut BOOT_TABLE_POOL: [Table; BOOT_TABLES] = [const { Table([0; 512]) }; BOOT_TABLES];
static mut BOOT_TABLES_USED: usize = 0;

unsafe extern "C" {
    static boot_stack_guard: u8;
}

fn root() -> *mut u64 {
    // SAFETY: only the address is taken; the first pool table is the root.
    unsafe { addr_of_mut!(BOOT_TABLE_POOL[0]).cast::<u64>() }
}

/// A table from the static pool (before the heap exists).
fn pool_page() -> Option<u64> {
    // SAFETY: one CPU, and only the boot code calls this, before the MMU
    // tables are shared with anything else.
    unsafe {
        let used = *addr_of!(BOOT_TABLES_USED);
        if used >= BOOT_TABLES {
            return None;
        }
        *addr_of_mut!(BOOT_TABLES_USED) = used + 1;
        Some(addr_of!(BOOT_TABLE_POOL[used]) as u64)
    }
}

/// The CPU's physical address width (ID_AA64MMFR0_EL1.PARange).
pub fn physical_address_bits() -> u8 {
    match ID_AA64MMFR0_EL1.read(ID_AA64MMFR0_EL1::PARange) {
        0 => 32,
        1 => 36,
        2 => 40,
        3 => 42,
        4 => 44,
        5 => 48,
        _ => 52,
    }
}

const fn attributes(caching: Caching) -> u64 {
    match caching {
        Caching::WriteBack => (MAIR_NORMAL << ATTR_INDEX_SHIFT) | SH_INNER | AF,
        Caching::Uncached => (MAIR_DEVICE << ATTR_INDEX_SHIFT) | AF | PXN | UXN,
    }
}

/// Maps the 2 MiB around the boot stack's guard page with 4 KiB pages, minus
/// the guard page. Runs before the RAM holding the stack is mapped, so that
/// `IDENTITY_MAP` then skips this 2 MiB.
fn map_guard_page() -> Result<(), MapError> {
    let guard = addr_of!(boot_stack_guard) as u64;
    let block = guard & !(TWO_MIB - 1);
    let flags = attributes(Caching::WriteBack) | DESC_VALID | DESC_TABLE;
    let alloc = &mut pool_page;
    // SAFETY: the MMU is still off; these tables are not live yet.
    unsafe {
        let l1 = next_table(&DESCRIPTOR, entry(root(), block, 39), alloc)?;
        let l2 = next_table(&DESCRIPTOR, entry(l1, block, 30), alloc)?;
        let l3 = next_table(&DESCRIPTOR, entry(l2, block, 21), alloc)?;
        for i in 0..512u64 {
            let page = block + i * PAGE;
            if page != guard {
                *l3.add(i as usize) = page | flags;
            }
        }
    }
    Ok(())
}

/// The boot mappings, then the MMU and caches on. `ram` and `devices` come from
/// the device tree.
///
/// # Safety
/// Runs once at entry with the MMU off; every range the firmware touches
/// afterwards (its image, stack, the device tree, the console) is in `ram` or
/// `devices`.
pub unsafe fn enable(
    ram: &mut dyn Iterator<Item = (u64, u64)>,
    devices: &mut dyn Iterator<Item = (u64, u64)>,
) -> Result<(), MapError> {
    // The root table is pool page 0.
    pool_page().ok_or(MapError::OutOfMemory)?;
    map_guard_page()?;
    for (start, size) in ram {
        IDENTITY_MAP.map(start, start.saturating_add(size), Caching::WriteBack, &mut pool_page)?;
    }
    for (start, size) in devices {
        IDENTITY_MAP.map(start, start.saturating_add(size), Caching::Uncached, &mut pool_page)?;
    }
    MAIR_EL1.write(
        MAIR_EL1::Attr0_Normal_Outer::WriteBack_NonTransient_ReadWriteAlloc
            + MAIR_EL1::Attr0_Normal_Inner::WriteBack_NonTransient_ReadWriteAlloc
            + MAIR_EL1::Attr1_Device::nonGathering_nonReordering_EarlyWriteAck,
    );
    let ips = ID_AA64MMFR0_EL1.read(ID_AA64MMFR0_EL1::PARange).min(5);
    TCR_EL1.write(
        TCR_EL1::T0SZ.val(u64::from(64 - VA_BITS))
            + TCR_EL1::TG0::KiB_4
            + TCR_EL1::SH0::Inner
            + TCR_EL1::ORGN0::WriteBack_ReadAlloc_WriteAlloc_Cacheable
            + TCR_EL1::IRGN0::WriteBack_ReadAlloc_WriteAlloc_Cacheable
            + TCR_EL1::EPD1::DisableTTBR1Walks
            + TCR_EL1::IPS.val(ips),
    );
    TTBR0_EL1.set_baddr(root() as u64);
    barrier::dsb(barrier::ISH);
    barrier::isb(barrier::SY);
    // SAFETY: invalidating every TLB entry of this CPU has no other effect.
    unsafe { core::arch::asm!("tlbi vmalle1", options(nostack)) };
    barrier::dsb(barrier::ISH);
    barrier::isb(barrier::SY);
    SCTLR_EL1.modify(SCTLR_EL1::M::Enable + SCTLR_EL1::C::Cacheable + SCTLR_EL1::I::Cacheable);
    barrier::isb(barrier::SY);
    Ok(())
}

/// Whether `addr` is the boot stack's guard page (for the fault report).
pub fn is_guard_page(addr: u64) -> bool {
    let guard = addr_of!(boot_stack_guard) as u64;
    (guard..guard + PAGE).contains(&addr)
}
