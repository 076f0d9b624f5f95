//! What the x86_64 and aarch64 identity maps share: both are 4-level tables of
//! 512 eight-byte entries over 4 KiB pages (Intel SDM vol. 3 §4.5, 4-level
//! paging; Arm ARM D8, VMSAv8-64 with a 4 KiB granule and 48-bit input
//! addresses), where a level-1 entry may map 1 GiB and a level-2 entry 2 MiB.
//! Only the bits of an entry differ; an [`EntryFormat`] names them, and
//! [`map_range`] is the one walk that adds a range to the map.
//!
//! The walk is host-tested on tables in ordinary memory; the architectures
//! supply the live root, the entry bits and the TLB maintenance.

/// How a range is mapped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Caching {
    /// RAM: normal, write-back cacheable memory.
    WriteBack,
    /// Device registers: uncached (aarch64: Device-nGnRE, never executable).
    Uncached,
}

/// Why a range could not be mapped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MapError {
    /// The address is wider than the CPU's physical address range.
    BeyondPhysicalAddressWidth {
        /// The first address that does not fit.
        addr: u64,
        /// The CPU's physical address width in bits.
        bits: u8,
    },
    /// The page allocator gave no page for a new table.
    OutOfMemory,
}

impl core::fmt::Display for MapError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            MapError::BeyondPhysicalAddressWidth { addr, bits } => {
                write!(f, "address {addr:#x} is beyond the CPU's {bits} physical address bits")
            }
            MapError::OutOfMemory => write!(f, "no memory for page tables"),
        }
    }
}

/// The bytes of one table, and of one page.
pub const PAGE: u64 = 4096;
/// What a level-2 block (a large page) maps.
pub const TWO_MIB: u64 = 1 << 21;
/// What a level-1 block (a huge page) maps.
pub const GIB: u64 = 1 << 30;

/// The bits of a table entry on one architecture.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EntryFormat {
    /// The bits that hold a table's or a block's address.
    pub address_mask: u64,
    /// The bit of an entry in use (x86: present; aarch64: valid).
    pub valid: u64,
    /// The bits that tell, in a valid level-1 or level-2 entry, a block (one
    /// that maps memory itself) from a pointer to a table ...
    pub kind_mask: u64,
    /// ... and their value in a block.
    pub block_kind: u64,
    /// The bits of an entry that points to a table.
    pub table: u64,
    /// The bits of a level-1 or level-2 block of RAM ([`Caching::WriteBack`]).
    pub write_back_block: u64,
    /// The bits of a level-1 or level-2 block of device registers ([`Caching::Uncached`]).
    pub uncached_block: u64,
    /// The width of the addresses the four levels translate (48 on both).
    pub input_bits: u8,
}

impl EntryFormat {
    /// Whether the entry is in use.
    pub const fn is_valid(&self, entry: u64) -> bool {
        entry & self.valid != 0
    }

    /// Whether a valid level-1 or level-2 entry is a block.
    pub const fn is_block(&self, entry: u64) -> bool {
        entry & self.kind_mask == self.block_kind
    }

    /// The level-1 or level-2 entry that maps the block at `addr`.
    pub const fn block(&self, addr: u64, caching: Caching) -> u64 {
        addr | match caching {
            Caching::WriteBack => self.write_back_block,
            Caching::Uncached => self.uncached_block,
        }
    }
}

/// A zeroed page for a new table, from `alloc_page`.
pub fn new_table(alloc_page: &mut dyn FnMut() -> Option<u64>) -> Result<u64, MapError> {
    let page = alloc_page().ok_or(MapError::OutOfMemory)?;
    debug_assert_eq!(page % PAGE, 0);
    // SAFETY: the allocator handed us this page, identity mapped and used by
    // nothing else.
    unsafe { core::ptr::write_bytes(page as *mut u8, 0, PAGE as usize) };
    Ok(page)
}

/// The table an entry points to, created (from `alloc_page`) when the entry
/// is not valid.
///
/// # Safety
/// `entry` is an entry of a level 0-2 table of the identity map, and not a block.
pub unsafe fn next_table(
    format: &EntryFormat,
    entry: *mut u64,
    alloc_page: &mut dyn FnMut() -> Option<u64>,
) -> Result<*mut u64, MapError> {
    // SAFETY: the caller passes a valid entry.
    unsafe {
        if !format.is_valid(*entry) {
            *entry = new_table(alloc_page)? | format.table;
        }
        Ok((*entry & format.address_mask) as *mut u64)
    }
}

/// The entry for `addr` in the table at `table`, whose entries each map
/// `1 << shift` bytes.
///
/// # Safety
/// `table` points to a table of 512 entries.
pub unsafe fn entry(table: *mut u64, addr: u64, shift: u32) -> *mut u64 {
    // SAFETY: the index is below 512.
    unsafe { table.add(((addr >> shift) & 511) as usize) }
}

/// Identity-maps `[start, end)` (rounded out to 2 MiB) under the level-0 table
/// `root`: with 1 GiB blocks where `gib_blocks` allows them and a whole free
/// GiB is covered, else with 2 MiB blocks. Parts that are already mapped keep
/// their mapping: only invalid entries are written, so no live translation
/// changes. The caller makes the new entries visible to the walker.
///
/// # Safety
/// `root` is the level-0 table of an identity map whose tables are all
/// reachable at their physical addresses.
pub unsafe fn map_range(
    format: &EntryFormat,
    root: *mut u64,
    start: u64,
    end: u64,
    caching: Caching,
    gib_blocks: bool,
    alloc_page: &mut dyn FnMut() -> Option<u64>,
) -> Result<(), MapError> {
    let mut addr = start & !(TWO_MIB - 1);
    // SAFETY: the caller's contract: every table reached from `root` is a
    // table of the map; only invalid entries are filled.
    unsafe {
        while addr < end {
            let level1 = next_table(format, entry(root, addr, 39), alloc_page)?;
            let level1_entry = entry(level1, addr, 30);
            if format.is_valid(*level1_entry) && format.is_block(*level1_entry) {
                addr = (addr & !(GIB - 1)) + GIB;
                continue;
            }
            if gib_blocks && !format.is_valid(*level1_entry) && addr.is_multiple_of(GIB) && end - addr >= GIB {
                *level1_entry = format.block(addr, caching);
                addr += GIB;
                continue;
            }
            let level2 = next_table(format, level1_entry, alloc_page)?;
            let level2_entry = entry(level2, addr, 21);
            if !format.is_valid(*level2_entry) {
                *level2_entry = format.block(addr, caching);
            }
            addr += TWO_MIB;
        }
    }
    Ok(())
}

/// An architecture's identity map: its entry format and how to reach it.
#[derive(Clone, Copy)]
pub struct IdentityMap {
    format: EntryFormat,
    root: fn() -> *mut u64,
    physical_address_bits: fn() -> u8,
    gib_blocks: fn() -> bool,
    publish: fn(),
}

impl IdentityMap {
    /// The map under the level-0 table `root()` returns, in `format`.
    /// `physical_address_bits()` is the CPU's physical address width,
    /// `gib_blocks()` whether level-1 blocks exist, and `publish()` makes new
    /// entries visible to the CPU's table walker.
    ///
    /// # Safety
    /// `root()` is the table the CPU translates through (or will, once paging
    /// is on), and every table reached from it is identity mapped.
    pub const unsafe fn new(
        format: EntryFormat,
        root: fn() -> *mut u64,
        physical_address_bits: fn() -> u8,
        gib_blocks: fn() -> bool,
        publish: fn(),
    ) -> IdentityMap {
        IdentityMap {
            format,
            root,
            physical_address_bits,
            gib_blocks,
            publish,
        }
    }

    /// Identity-maps `[start, end)` with [`map_range`] (rounded out to 2 MiB;
    /// what is mapped already stays as it is), after checking that `end` is
    /// within the CPU's physical address width.
    pub fn map(
        &self,
        start: u64,
        end: u64,
        caching: Caching,
        alloc_page: &mut dyn FnMut() -> Option<u64>,
    ) -> Result<(), MapError> {
        let bits = (self.physical_address_bits)();
        if end > 1u64 << bits.min(self.format.input_bits) {
            return Err(MapError::BeyondPhysicalAddressWidth { addr: end - 1, bits });
        }
        // SAFETY: `new`'s contract: `root` is the live level-0 table and its
        // tables are identity mapped.
        unsafe {
            map_range(
                &self.format,
                (self.root)(),
                start,
                end,
                caching,
                (self.gib_blocks)(),
                alloc_page,
            )?
        };
        (self.publish)();
        Ok(())
    }
}

/// Identity-maps `[start, end)` (RAM above what the entry code mapped, 64-bit
/// PCI BARs) in this architecture's map, taking new tables from `alloc_page`.
#[cfg(all(any(target_arch = "x86_64", target_arch = "aarch64"), target_os = "none"))]
pub fn identity_map(
    start: u64,
    end: u64,
    caching: Caching,
    alloc_page: &mut dyn FnMut() -> Option<u64>,
) -> Result<(), MapError> {
    #[cfg(target_arch = "aarch64")]
    use crate::aarch64::mmu::IDENTITY_MAP;
    #[cfg(target_arch = "x86_64")]
    use crate::x86_64::paging::IDENTITY_MAP;
    IDENTITY_MAP.map(start, end, caching, alloc_page)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::boxed::Box;
    use std::vec::Vec;

    /// x86-like entries: bit 0 present, bit 7 a block, bit 4 uncached.
    const TEST: EntryFormat = EntryFormat {
        address_mask: 0x000f_ffff_ffff_f000,
        valid: 1,
        kind_mask: 0x80,
        block_kind: 0x80,
        table: 1,
        write_back_block: 0x81,
        uncached_block: 0x91,
        input_bits: 48,
    };

    #[repr(C, align(4096))]
    struct Table([u64; 512]);

    /// Tables in host memory, handed out as the firmware's allocator would.
    struct Pages {
        tables: Vec<Box<Table>>,
        limit: usize,
    }

    impl Pages {
        fn new(limit: usize) -> Pages {
            Pages {
                tables: Vec::new(),
                limit,
            }
        }

        fn alloc(&mut self) -> Option<u64> {
            if self.tables.len() == self.limit {
                return None;
            }
            // Not zeroed: `new_table` must clear it.
            let mut table = Box::new(Table([!0; 512]));
            let address = table.0.as_mut_ptr() as u64;
            self.tables.push(table);
            Some(address)
        }
    }

    fn read(table: u64, index: usize) -> u64 {
        // SAFETY: `table` is one of the test's tables, still alive.
        unsafe { *(table as *const u64).add(index) }
    }

    fn map(root: &mut Table, pages: &mut Pages, start: u64, end: u64, gib_blocks: bool) -> Result<(), MapError> {
        // SAFETY: the root and every table are the test's own.
        unsafe {
            map_range(
                &TEST,
                root.0.as_mut_ptr(),
                start,
                end,
                Caching::WriteBack,
                gib_blocks,
                &mut || pages.alloc(),
            )
        }
    }

    #[test]
    fn whole_gibs_become_gib_blocks_and_the_rest_two_mib_blocks() {
        let mut root = Box::new(Table([0; 512]));
        let mut pages = Pages::new(8);
        // The start rounds down to 4 GiB: whole GiBs at 4 and 5, then two
        // 2 MiB blocks for the last 3 MiB.
        map(&mut root, &mut pages, (4 << 30) + 1, (6 << 30) + (3 << 20), true).unwrap();
        let level1 = root.0[0] & TEST.address_mask;
        assert_eq!(read(level1, 4), (4 << 30) | 0x81);
        assert_eq!(read(level1, 5), (5 << 30) | 0x81);
        let level2 = read(level1, 6) & TEST.address_mask;
        assert_eq!(read(level2, 0), (6 << 30) | 0x81);
        assert_eq!(read(level2, 1), ((6 << 30) + TWO_MIB) | 0x81);
        assert_eq!(read(level2, 2), 0);
        assert_eq!(pages.tables.len(), 2, "one level-1 and one level-2 table");
    }

    #[test]
    fn without_gib_blocks_every_gib_gets_a_level_2_table() {
        let mut root = Box::new(Table([0; 512]));
        let mut pages = Pages::new(8);
        map(&mut root, &mut pages, 1 << 30, 2 << 30, false).unwrap();
        let level2 = read(root.0[0] & TEST.address_mask, 1) & TEST.address_mask;
        assert!((0..512).all(|i| read(level2, i) == ((1 << 30) + i as u64 * TWO_MIB) | 0x81));
    }

    #[test]
    fn mapped_entries_keep_their_mapping() {
        let mut root = Box::new(Table([0; 512]));
        let mut pages = Pages::new(8);
        map(&mut root, &mut pages, 0, TWO_MIB, false).unwrap();
        let level1 = root.0[0] & TEST.address_mask;
        let level2 = read(level1, 0) & TEST.address_mask;
        // SAFETY: the test's own table.
        unsafe { *(level2 as *mut u64) = 0x1234_5000 | 0x81 };
        // SAFETY: as above: a block at 3 GiB the walk must step over.
        unsafe { *(level1 as *mut u64).add(3) = (3 << 30) | 0x83 };
        map(&mut root, &mut pages, 0, 4 << 30, true).unwrap();
        assert_eq!(read(level2, 0), 0x1234_5000 | 0x81);
        assert_eq!(read(level2, 1), TWO_MIB | 0x81);
        assert_eq!(read(level1, 1), (1 << 30) | 0x81);
        assert_eq!(read(level1, 3), (3 << 30) | 0x83);
    }

    #[test]
    fn an_empty_allocator_is_out_of_memory() {
        let mut root = Box::new(Table([0; 512]));
        let mut pages = Pages::new(1);
        assert_eq!(
            map(&mut root, &mut pages, 0, TWO_MIB, false),
            Err(MapError::OutOfMemory)
        );
    }
}
