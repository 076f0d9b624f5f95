//! Identity paging (Intel SDM vol. 3, §4.5, 4-level paging).
//!
//! The entry code maps the first 4 GiB write-back with 2 MiB pages from static
//! tables. Here the pages under the boot and exception stacks become guard pages,
//! [`set_low_caching`] makes what is not RAM below 4 GiB uncached (PCD|PWT, the
//! decision is `fw_core::caching`), and [`IDENTITY_MAP`] adds
//! any other range (RAM above 4 GiB, 64-bit PCI BARs) with 1 GiB pages when the CPU
//! has them, else 2 MiB pages, taking new tables from a page allocator.

use core::arch::asm;
use core::arch::x86_64::__cpuid;
use core::ops::Range;
use core::ptr::addr_of_mut;
use core::sync::atomic::{AtomicUsize, Ordering};
use fw_core::caching::PageCaching;

use crate::page_tables::{new_table, EntryFormat, IdentityMap, PAGE, TWO_MIB};
pub use crate::page_tables::{Caching, MapError};

const PRESENT: u64 = 1 << 0;
const WRITABLE: u64 = 1 << 1;
const WRITE_THROUGH: u64 = 1 << 3;
const CACHE_DISABLE: u64 = 1 << 4;
const HUGE: u64 = 1 << 7;
const ADDRESS_MASK: u64 = 0x000f_ffff_ffff_f000;

/// PCD | PWT with PAT index 3 (the power-on PAT): UC.
const UNCACHED: u64 = WRITE_THROUGH | CACHE_DISABLE;

unsafe extern "C" {
    static mut boot_pml4: [u64; 512];
    static mut boot_pd: [u64; 2048];
}

#[repr(C, align(4096))]
struct PageTable([u64; 512]);

/// One per guard page at most: the entry stack's, the two exception stacks'
/// and the stack the firmware moves to (`stack.rs`).
static mut GUARD_TABLES: [PageTable; 4] = [const { PageTable([0; 512]) }; 4];
/// How many of [`GUARD_TABLES`] are in use.
static GUARD_TABLES_USED: AtomicUsize = AtomicUsize::new(0);

/// 4-level paging entries (Intel SDM vol. 3 §4.5, Tables 4-15 to 4-19): bit 0
/// present; in a PDPTE or PDE, PS (bit 7) set maps a 1 GiB or 2 MiB page.
const PAGING_ENTRY: EntryFormat = EntryFormat {
    address_mask: ADDRESS_MASK,
    valid: PRESENT,
    kind_mask: HUGE,
    block_kind: HUGE,
    table: PRESENT | WRITABLE,
    write_back_block: PRESENT | WRITABLE | HUGE,
    uncached_block: PRESENT | WRITABLE | UNCACHED | HUGE,
    // 4-level paging translates 48-bit linear addresses.
    input_bits: 48,
};

/// The identity map under the boot PML4 (what CR3 holds), with 1 GiB pages
/// where the CPU has them. Parts already mapped, such as the first 4 GiB, stay
/// as they are; a CR3 reload flushes the TLB after an addition.
// SAFETY: `boot_pml4` is the live top-level table; the entry code and
// `new_table` put every table in identity mapped memory.
pub const IDENTITY_MAP: IdentityMap = unsafe {
    IdentityMap::new(
        PAGING_ENTRY,
        boot_pml4_table,
        physical_address_bits,
        has_gib_pages,
        flush_tlb,
    )
};

fn boot_pml4_table() -> *mut u64 {
    addr_of_mut!(boot_pml4).cast::<u64>()
}

fn flush_tlb() {
    // SAFETY: reloading CR3 with its own value only flushes the TLB.
    unsafe {
        asm!("mov {tmp}, cr3", "mov cr3, {tmp}", tmp = out(reg) _, options(nostack, preserves_flags));
    }
}

/// Makes the page below each stack non-present (`guards`: the boot stack's and
/// the exception stacks'), so that a stack overflow faults instead of silently
/// corrupting memory. Each 2 MiB page holding a guard is split into 4 KiB pages
/// from a static table (the guards may straddle a 2 MiB boundary).
pub fn protect_guard_pages(guards: &[u64]) {
    let mut tables = GUARD_TABLES_USED.load(Ordering::Relaxed);
    // SAFETY: runs on the only CPU with interrupts off: at entry, before
    // anything lives on the exception stacks, and once more for the stack the
    // firmware moves to. A static 4 KiB table (one not used before) replaces
    // the 2 MiB entry covering a guard page with the same identity mapping,
    // then the guard's entry is cleared; the guards are pages nothing else uses.
    unsafe {
        let pd = &mut *addr_of_mut!(boot_pd);
        for &guard in guards {
            let large = guard & !(TWO_MIB - 1);
            let pde = &mut pd[(large / TWO_MIB) as usize];
            if *pde & HUGE != 0 {
                let Some(table) = (*addr_of_mut!(GUARD_TABLES)).get_mut(tables) else {
                    continue;
                };
                tables += 1;
                for (i, entry) in table.0.iter_mut().enumerate() {
                    *entry = (large + (i as u64) * PAGE) | PRESENT | WRITABLE;
                }
                *pde = core::ptr::from_mut::<PageTable>(table) as u64 | PRESENT | WRITABLE;
            }
            let table = (*pde & ADDRESS_MASK) as *mut u64;
            *table.add(((guard - large) / PAGE) as usize) = 0;
        }
    }
    GUARD_TABLES_USED.store(tables, Ordering::Relaxed);
    flush_tlb();
}

fn physical_address_bits() -> u8 {
    let max = __cpuid(0x8000_0000).eax;
    if max >= 0x8000_0008 {
        (__cpuid(0x8000_0008).eax & 0xff) as u8
    } else {
        36
    }
}

fn has_gib_pages() -> bool {
    let max = __cpuid(0x8000_0000).eax;
    max >= 0x8000_0001 && __cpuid(0x8000_0001).edx & (1 << 26) != 0
}

/// What [`set_low_caching`] did, for the log.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LowCaching {
    /// 2 MiB pages made uncached as a whole.
    pub uncached_large: u32,
    /// 2 MiB pages split into 4 KiB pages (or whose 4 KiB pages were updated).
    pub split: u32,
    /// 4 KiB pages made uncached inside those.
    pub uncached_small: u32,
}

/// Gives every page of the first 4 GiB the caching `decide` chooses for it:
/// write-back pages stay as the entry code mapped them, uncached 2 MiB pages get
/// PCD|PWT, and a [`PageCaching::Mixed`] 2 MiB page is split into 4 KiB pages
/// (a table from `alloc_page`), each decided again; a 4 KiB page that is still
/// mixed stays write-back (see `fw_core::caching`). A 2 MiB page already split
/// (the stack guard's) keeps its table and non-present guard page.
pub fn set_low_caching(
    decide: &dyn Fn(Range<u64>) -> PageCaching,
    alloc_page: &mut dyn FnMut() -> Option<u64>,
) -> Result<LowCaching, MapError> {
    let mut done = LowCaching::default();
    // SAFETY: runs on the only CPU before any application; `boot_pd` is the live
    // table for the first 4 GiB and every entry written maps the same physical
    // addresses as before, only with other caching bits, so no live data moves.
    unsafe {
        let pd = &mut *addr_of_mut!(boot_pd);
        for (index, pde) in pd.iter_mut().enumerate() {
            let base = index as u64 * TWO_MIB;
            let caching = decide(base..base + TWO_MIB);
            let split = *pde & HUGE == 0;
            match (caching, split) {
                (PageCaching::WriteBack, false) => {}
                (PageCaching::Uncached, false) => {
                    *pde |= UNCACHED;
                    done.uncached_large += 1;
                }
                (_, _) => {
                    let table = if split {
                        (*pde & ADDRESS_MASK) as *mut u64
                    } else {
                        new_table(alloc_page)? as *mut u64
                    };
                    for i in 0..512 {
                        let addr = base + i as u64 * PAGE;
                        let pte = table.add(i);
                        let old = if split { *pte } else { addr | PRESENT | WRITABLE };
                        if old & PRESENT == 0 {
                            continue;
                        }
                        let uncached = decide(addr..addr + PAGE) == PageCaching::Uncached;
                        *pte = if uncached { old | UNCACHED } else { old & !UNCACHED };
                        done.uncached_small += u32::from(uncached);
                    }
                    if !split {
                        *pde = table as u64 | PRESENT | WRITABLE;
                    }
                    done.split += 1;
                }
            }
        }
    }
    flush_tlb();
    Ok(done)
}
