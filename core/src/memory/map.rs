//! The UEFI memory map and page allocator: `AllocatePages`, `FreePages` and
//! `GetMemoryMap` (UEFI 2.10 §7.2, `EFI_MEMORY_DESCRIPTOR` in §7.2.3).
//!
//! The map is a sorted list of non-overlapping ranges of whole 4 KiB pages, each with a
//! memory type, an attribute and an owner. The owner is not visible to the OS; it
//! records who may give the range back:
//! - free: `EfiConventionalMemory`, the only memory pages are taken from;
//! - firmware: ranges set at boot (the VMM's reserved and ACPI ranges, the firmware
//!   image, stack and heap, runtime MMIO), never freed by `FreePages`;
//! - pages: ranges handed out by `AllocatePages`, freeable in any part (Linux's EFI stub
//!   allocates with slack and frees the unaligned head and tail);
//! - pool: chunks the [`Pool`](super::pool::Pool) took, freed only by the pool.
//!
//! Placement (`AllocateAnyPages`, `AllocateMaxAddress`) takes the highest fitting
//! pages, like edk2, which leaves low memory to loaders that ask for fixed addresses
//! (e.g. a bzImage at 16 MiB). `AllocateAnyPages` looks below 4 GiB first and only then
//! above: the specification allows any range, but loaders and devices in the wild still
//! store pointers in 32-bit fields. Page 0 is never handed out by those two kinds,
//! because a caller could not tell it from `NULL`; `AllocateAddress` may take it.
#![forbid(unsafe_code)]

mod invariants;
pub use invariants::InvariantError;

pub use super::error::MemoryError;
use super::types::{MemoryType, TYPE_SLOTS};
use crate::boot_info::{MemoryKind, MemoryRegion};
use alloc::vec::Vec;
use core::mem::{offset_of, size_of};
use core::ops::Range;
use log::{debug, trace};
use r_efi::efi;

/// `EFI_PAGE_SIZE`.
pub const EFI_PAGE_SIZE: u64 = 4096;
/// `EFI_PAGE_MASK`.
const EFI_PAGE_MASK: u64 = EFI_PAGE_SIZE - 1;
/// The `DescriptorSize` `GetMemoryMap` reports: `size_of::<EFI_MEMORY_DESCRIPTOR>()` is
/// 40, but like edk2 we leave room so that callers who step by 40 instead of the
/// reported size fail at once rather than on some other firmware.
pub const DESCRIPTOR_SIZE: usize = 48;
/// `EFI_MEMORY_DESCRIPTOR_VERSION`.
pub const DESCRIPTOR_VERSION: u32 = efi::MEMORY_DESCRIPTOR_VERSION;
/// The highest address `AllocateAnyPages` prefers.
const BELOW_4_GIB: u64 = 0xFFFF_FFFF;

const _: () = assert!(DESCRIPTOR_SIZE >= size_of::<efi::MemoryDescriptor>());
const _: () = assert!(DESCRIPTOR_SIZE.is_multiple_of(8));

/// How `AllocatePages` chooses the address (`EFI_ALLOCATE_TYPE`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AllocateType {
    /// `AllocateAnyPages`.
    AnyPages,
    /// `AllocateMaxAddress`: the last byte of the range is at most this address.
    MaxAddress(u64),
    /// `AllocateAddress`: exactly here.
    Address(u64),
}

impl AllocateType {
    /// Builds the allocate type from `AllocatePages`' `Type` and the value `*Memory`
    /// held on entry.
    pub fn from_raw(kind: efi::AllocateType, memory: u64) -> Result<AllocateType, MemoryError> {
        match kind {
            efi::ALLOCATE_ANY_PAGES => Ok(AllocateType::AnyPages),
            efi::ALLOCATE_MAX_ADDRESS => Ok(AllocateType::MaxAddress(memory)),
            efi::ALLOCATE_ADDRESS => Ok(AllocateType::Address(memory)),
            raw => Err(MemoryError::InvalidAllocateType { raw }),
        }
    }
}

/// One range of the map as the OS sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Descriptor {
    /// The range's first byte.
    pub start: u64,
    /// Its length in 4 KiB pages.
    pub pages: u64,
    /// Its memory type.
    pub ty: MemoryType,
    /// Its `EFI_MEMORY_*` attribute bits.
    pub attribute: u64,
}

impl Descriptor {
    /// One past the last byte.
    pub fn end(&self) -> u64 {
        self.start.saturating_add(self.pages.saturating_mul(EFI_PAGE_SIZE))
    }

    /// The descriptor in its ABI form; the virtual start is 0 until
    /// `SetVirtualAddressMap`, which only the OS's copy of the map sees.
    pub fn to_efi(&self) -> efi::MemoryDescriptor {
        efi::MemoryDescriptor {
            r#type: self.ty.raw(),
            physical_start: self.start,
            virtual_start: 0,
            number_of_pages: self.pages,
            attribute: self.attribute,
        }
    }

    /// Writes the `EFI_MEMORY_DESCRIPTOR` into `slot` (at least `size_of` the struct),
    /// zeroing padding and the rest of the slot.
    pub(crate) fn write(&self, slot: &mut [u8]) {
        slot.fill(0);
        put(
            slot,
            offset_of!(efi::MemoryDescriptor, r#type),
            &self.ty.raw().to_ne_bytes(),
        );
        put(
            slot,
            offset_of!(efi::MemoryDescriptor, physical_start),
            &self.start.to_ne_bytes(),
        );
        put(
            slot,
            offset_of!(efi::MemoryDescriptor, number_of_pages),
            &self.pages.to_ne_bytes(),
        );
        put(
            slot,
            offset_of!(efi::MemoryDescriptor, attribute),
            &self.attribute.to_ne_bytes(),
        );
    }
}

fn put(slot: &mut [u8], offset: usize, bytes: &[u8]) {
    if let Some(dst) = slot.get_mut(offset..offset + bytes.len()) {
        dst.copy_from_slice(bytes);
    }
}

/// Who may give a range back (see the module documentation).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Owner {
    Free,
    Firmware,
    Pages,
    Pool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Entry {
    start: u64,
    pages: u64,
    ty: MemoryType,
    attribute: u64,
    owner: Owner,
}

impl Entry {
    /// One past the last byte; never overflows because every range entering the map
    /// was checked by [`page_range`].
    fn end(&self) -> u64 {
        self.start + self.pages * EFI_PAGE_SIZE
    }

    /// Splits at the page-aligned address `at`, which lies strictly inside.
    fn split(self, at: u64) -> (Entry, Entry) {
        let low_pages = (at - self.start) / EFI_PAGE_SIZE;
        let low = Entry {
            pages: low_pages,
            ..self
        };
        let high = Entry {
            start: at,
            pages: self.pages - low_pages,
            ..self
        };
        (low, high)
    }

    fn joins(&self, next: &Entry) -> bool {
        self.end() == next.start && self.ty == next.ty && self.attribute == next.attribute && self.owner == next.owner
    }
}

/// Pages of each type in the map, and the high-water mark of boot services memory.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MemoryStatistics {
    pages: [u64; TYPE_SLOTS],
    /// The most `EfiBootServicesCode` + `EfiBootServicesData` pages the map ever held.
    pub peak_boot_services_pages: u64,
}

impl MemoryStatistics {
    /// Pages of `ty`; for an OEM or OS type, the pages of all OEM (or OS) types.
    pub fn pages(&self, ty: MemoryType) -> u64 {
        self.pages.get(ty.index()).copied().unwrap_or(0)
    }

    /// RAM the OS may use once it has called `ExitBootServices`: free, loader and
    /// boot services memory.
    pub fn usable_after_exit_boot_services_pages(&self) -> u64 {
        MemoryType::standard()
            .iter()
            .filter(|ty| ty.is_free_after_exit_boot_services())
            .map(|&ty| self.pages(ty))
            .sum()
    }

    /// RAM the firmware keeps from the OS for good: reserved, runtime code and data,
    /// ACPI NVS and PAL code (ACPI reclaim memory is not counted: the OS gets it back
    /// after reading the tables).
    pub fn firmware_reserved_pages(&self) -> u64 {
        [
            MemoryType::ReservedMemoryType,
            MemoryType::RuntimeServicesCode,
            MemoryType::RuntimeServicesData,
            MemoryType::ACPIMemoryNVS,
            MemoryType::PalCode,
        ]
        .iter()
        .map(|&ty| self.pages(ty))
        .sum()
    }

    /// Boot services code and data pages now.
    pub fn boot_services_pages(&self) -> u64 {
        self.pages(MemoryType::BootServicesCode) + self.pages(MemoryType::BootServicesData)
    }
}

/// The UEFI memory map. See the module documentation.
#[derive(Clone, Debug)]
pub struct MemoryMap {
    entries: Vec<Entry>,
    key: usize,
    stats: MemoryStatistics,
}

impl Default for MemoryMap {
    fn default() -> Self {
        MemoryMap::new()
    }
}

/// Checks a range of pages and returns its end.
fn page_range(start: u64, pages: u64) -> Result<u64, MemoryError> {
    if pages == 0 {
        return Err(MemoryError::ZeroPages);
    }
    if start & EFI_PAGE_MASK != 0 {
        return Err(MemoryError::Unaligned {
            address: start,
            align: EFI_PAGE_SIZE,
        });
    }
    pages
        .checked_mul(EFI_PAGE_SIZE)
        .and_then(|len| start.checked_add(len))
        .ok_or(MemoryError::RangeOverflow { start, pages })
}

impl MemoryMap {
    /// An empty map (no memory at all).
    pub const fn new() -> MemoryMap {
        MemoryMap {
            entries: Vec::new(),
            key: 0,
            stats: MemoryStatistics {
                pages: [0; TYPE_SLOTS],
                peak_boot_services_pages: 0,
            },
        }
    }

    /// Adds memory the VMM reported. Conventional memory only fills what is not yet in
    /// the map, any other type takes its range over, so that reserved ranges win over
    /// RAM whatever order the VMM lists them in.
    pub fn add_range(&mut self, start: u64, pages: u64, ty: MemoryType) -> Result<(), MemoryError> {
        let end = page_range(start, pages)?;
        if ty != MemoryType::ConventionalMemory {
            self.assign(start, end, ty, ty.default_attribute(), Owner::Firmware);
            return Ok(());
        }
        let mut gaps = Vec::new();
        let mut cursor = start;
        for e in self.entries.iter().filter(|e| e.end() > start && e.start < end) {
            if e.start > cursor {
                gaps.push(cursor..e.start);
            }
            cursor = cursor.max(e.end());
        }
        if cursor < end {
            gaps.push(cursor..end);
        }
        for gap in gaps {
            self.assign(gap.start, gap.end, ty, ty.default_attribute(), Owner::Free);
        }
        Ok(())
    }

    /// Adds one region of the VMM's memory map: RAM rounded inwards to whole pages,
    /// everything else rounded outwards. A region with no whole page of RAM is dropped.
    pub fn add_boot_region(&mut self, region: &MemoryRegion) -> Result<(), MemoryError> {
        let ty = match region.kind {
            MemoryKind::Ram => MemoryType::ConventionalMemory,
            MemoryKind::Reserved | MemoryKind::ReservedRam => MemoryType::ReservedMemoryType,
            MemoryKind::AcpiReclaimable => MemoryType::ACPIReclaimMemory,
            MemoryKind::AcpiNvs => MemoryType::ACPIMemoryNVS,
            MemoryKind::Unusable => MemoryType::UnusableMemory,
            MemoryKind::Persistent => MemoryType::PersistentMemory,
        };
        let end = region.end();
        let (start, end) = if matches!(region.kind, MemoryKind::Ram | MemoryKind::Persistent) {
            (
                region.start.div_ceil(EFI_PAGE_SIZE) * EFI_PAGE_SIZE,
                end & !EFI_PAGE_MASK,
            )
        } else {
            (
                region.start & !EFI_PAGE_MASK,
                end.div_ceil(EFI_PAGE_SIZE) * EFI_PAGE_SIZE,
            )
        };
        if end <= start {
            return Ok(());
        }
        self.add_range(start, (end - start) / EFI_PAGE_SIZE, ty)
    }

    /// Gives `pages` pages at `start` the type `ty` and its default attribute, whatever
    /// they were (splitting descriptors, filling holes). The firmware uses this at boot
    /// for its image, stack and heap and for runtime MMIO; the range can then not be
    /// freed with `FreePages`. Setting `EfiConventionalMemory` makes the range free.
    pub fn set_type(&mut self, start: u64, pages: u64, ty: MemoryType) -> Result<(), MemoryError> {
        self.set_type_with_attribute(start, pages, ty, ty.default_attribute())
    }

    /// [`MemoryMap::set_type`] with an explicit attribute.
    pub fn set_type_with_attribute(
        &mut self,
        start: u64,
        pages: u64,
        ty: MemoryType,
        attribute: u64,
    ) -> Result<(), MemoryError> {
        let end = page_range(start, pages)?;
        let owner = if ty == MemoryType::ConventionalMemory {
            Owner::Free
        } else {
            Owner::Firmware
        };
        self.assign(start, end, ty, attribute, owner);
        Ok(())
    }

    /// [`MemoryMap::set_type`] for a byte range, widened to whole pages.
    pub fn set_type_covering(&mut self, range: Range<u64>, ty: MemoryType) -> Result<(), MemoryError> {
        let start = range.start & !EFI_PAGE_MASK;
        let end = range.end.checked_add(EFI_PAGE_MASK).ok_or(MemoryError::RangeOverflow {
            start,
            pages: (range.end - start) / EFI_PAGE_SIZE + 1,
        })? & !EFI_PAGE_MASK;
        if end <= start {
            return Err(MemoryError::ZeroPages);
        }
        self.set_type(start, (end - start) / EFI_PAGE_SIZE, ty)
    }

    /// `AllocatePages` with page alignment.
    pub fn allocate_pages(&mut self, kind: AllocateType, ty: MemoryType, pages: u64) -> Result<u64, MemoryError> {
        self.allocate_pages_aligned(kind, ty, pages, EFI_PAGE_SIZE)
    }

    /// `AllocatePages` with the start aligned to `align` (a power of two of at least a
    /// page). For `AllocateAddress` the address itself must be so aligned.
    pub fn allocate_pages_aligned(
        &mut self,
        kind: AllocateType,
        ty: MemoryType,
        pages: u64,
        align: u64,
    ) -> Result<u64, MemoryError> {
        self.allocate_as(kind, ty, pages, align, Owner::Pages)
    }

    /// Pages for the firmware's own placement of an image: the lowest `align`ed
    /// start at or above `min` whose pages end below 4 GiB, else wherever
    /// `AnyPages` would put them. Not an EFI allocation type: LoadImage uses it
    /// for kernels (see `efi::image`).
    pub fn allocate_pages_low(&mut self, ty: MemoryType, pages: u64, align: u64, min: u64) -> Result<u64, MemoryError> {
        if !align.is_power_of_two() || align < EFI_PAGE_SIZE {
            return Err(MemoryError::InvalidAlignment { align });
        }
        match self.find_free_low(pages, align, min, BELOW_4_GIB) {
            Some(start) => self.allocate_as(AllocateType::Address(start), ty, pages, align, Owner::Pages),
            None => self.allocate_as(AllocateType::AnyPages, ty, pages, align, Owner::Pages),
        }
    }

    /// Pages for the firmware's own placement of an image: the lowest `align`ed
    /// start at or above `window.start` whose pages end at or below `window.end`;
    /// `None` (and nothing allocated) when no free range there is large enough.
    pub fn allocate_pages_within(&mut self, ty: MemoryType, pages: u64, align: u64, window: Range<u64>) -> Option<u64> {
        if !align.is_power_of_two() || align < EFI_PAGE_SIZE || window.end <= window.start {
            return None;
        }
        let start = self.find_free_low(pages, align, window.start, window.end - 1)?;
        self.allocate_as(AllocateType::Address(start), ty, pages, align, Owner::Pages)
            .ok()
    }

    /// `FreePages`: returns pages that `AllocatePages` handed out, in whole or in part.
    pub fn free_pages(&mut self, address: u64, pages: u64) -> Result<(), MemoryError> {
        self.free_as(address, pages, Owner::Pages)
    }

    /// Pages for a pool chunk: only the pool may free them.
    pub(crate) fn allocate_pool_pages(&mut self, ty: MemoryType, pages: u64, align: u64) -> Result<u64, MemoryError> {
        self.allocate_as(AllocateType::AnyPages, ty, pages, align, Owner::Pool)
    }

    pub(crate) fn free_pool_pages(&mut self, address: u64, pages: u64) -> Result<(), MemoryError> {
        self.free_as(address, pages, Owner::Pool)
    }

    /// The map as the OS sees it: neighbours of the same type and attribute merged.
    pub fn descriptors(&self) -> Descriptors<'_> {
        Descriptors { entries: &self.entries }
    }

    /// A value that changes whenever the map changes (`MapKey`).
    pub fn map_key(&self) -> usize {
        self.key
    }

    /// Bytes `GetMemoryMap` needs for the map as it is now.
    pub fn map_size(&self) -> usize {
        self.descriptors().count() * DESCRIPTOR_SIZE
    }

    /// `GetMemoryMap`: writes one `EFI_MEMORY_DESCRIPTOR` every [`DESCRIPTOR_SIZE`]
    /// bytes (version [`DESCRIPTOR_VERSION`]) and returns the map key and the bytes
    /// written. A buffer that is too small gets nothing and the size needed.
    pub fn get_memory_map(&self, buffer: &mut [u8]) -> Result<(usize, usize), MemoryError> {
        // Debug builds check the map's rules each time it is handed out.
        debug_assert_eq!(self.check_invariants(), Ok(()), "memory map invariant broken");
        let needed = self.map_size();
        if buffer.len() < needed {
            return Err(MemoryError::BufferTooSmall { needed });
        }
        for (slot, d) in buffer.chunks_exact_mut(DESCRIPTOR_SIZE).zip(self.descriptors()) {
            d.write(slot);
        }
        Ok((self.key, needed))
    }

    /// Pages per type and the boot services peak.
    pub fn statistics(&self) -> MemoryStatistics {
        self.stats
    }

    /// Pages of `ty` now (all OEM or all OS types together for those).
    pub fn pages_of(&self, ty: MemoryType) -> u64 {
        self.stats.pages(ty)
    }

    fn allocate_as(
        &mut self,
        kind: AllocateType,
        ty: MemoryType,
        pages: u64,
        align: u64,
        owner: Owner,
    ) -> Result<u64, MemoryError> {
        if !ty.is_allocatable() {
            return Err(MemoryError::NotAllocatable { ty });
        }
        if pages == 0 {
            return Err(MemoryError::ZeroPages);
        }
        if !align.is_power_of_two() || align < EFI_PAGE_SIZE {
            return Err(MemoryError::InvalidAlignment { align });
        }
        let start = match kind {
            AllocateType::Address(address) => {
                if address & (align - 1) != 0 {
                    return Err(MemoryError::Unaligned { address, align });
                }
                let free = page_range(address, pages).is_ok_and(|end| self.covered(address, end, Owner::Free));
                if !free {
                    debug!("AllocateAddress: {pages} pages at {address:#x} are not free");
                    return Err(MemoryError::NotFound { address, pages });
                }
                Some(address)
            }
            AllocateType::MaxAddress(max) => self.find_free(pages, align, max),
            AllocateType::AnyPages => self
                .find_free(pages, align, BELOW_4_GIB)
                .or_else(|| self.find_free(pages, align, u64::MAX)),
        }
        .ok_or_else(|| {
            debug!("no free range of {pages} pages for {kind:?}");
            MemoryError::OutOfResources { pages }
        })?;
        // `find_free` only returns ranges inside an entry, and `Address` was checked.
        let end = start + pages * EFI_PAGE_SIZE;
        self.assign(start, end, ty, ty.default_attribute(), owner);
        trace!("allocated {pages} pages of {ty} at {start:#x}");
        Ok(start)
    }

    fn free_as(&mut self, address: u64, pages: u64, owner: Owner) -> Result<(), MemoryError> {
        let end = page_range(address, pages)?;
        if !self.covered(address, end, owner) {
            debug!("FreePages: {pages} pages at {address:#x} were not allocated");
            return Err(MemoryError::NotAllocated { address, pages });
        }
        let free = MemoryType::ConventionalMemory;
        self.assign(address, end, free, free.default_attribute(), Owner::Free);
        trace!("freed {pages} pages at {address:#x}");
        Ok(())
    }

    /// The highest `align`ed start of `pages` free pages whose last byte is at most
    /// `max`, never page 0.
    fn find_free(&self, pages: u64, align: u64, max: u64) -> Option<u64> {
        let len = pages.checked_mul(EFI_PAGE_SIZE)?;
        let limit = max.saturating_add(1);
        self.entries
            .iter()
            .rev()
            .filter(|e| e.owner == Owner::Free)
            .find_map(|e| {
                let top = e.end().min(limit);
                let bottom = top.checked_sub(len)? & !(align - 1);
                (bottom >= e.start.max(EFI_PAGE_SIZE)).then_some(bottom)
            })
    }

    /// The lowest `align`ed start of `pages` free pages at or above `min` whose
    /// last byte is at most `max`.
    fn find_free_low(&self, pages: u64, align: u64, min: u64, max: u64) -> Option<u64> {
        let len = pages.checked_mul(EFI_PAGE_SIZE)?;
        let limit = max.saturating_add(1);
        self.entries
            .iter()
            .filter(|e| e.owner == Owner::Free && e.end() > min)
            .find_map(|e| {
                let start = e.start.max(min).max(EFI_PAGE_SIZE).checked_add(align - 1)? & !(align - 1);
                let end = start.checked_add(len)?;
                (end <= e.end().min(limit)).then_some(start)
            })
    }

    /// Whether `[start, end)` lies wholly in entries owned by `owner`, without holes.
    fn covered(&self, start: u64, end: u64, owner: Owner) -> bool {
        let first = self.entries.partition_point(|e| e.end() <= start);
        let mut cursor = start;
        for e in &self.entries[first..] {
            if e.start > cursor || e.owner != owner {
                return false;
            }
            cursor = e.end();
            if cursor >= end {
                return true;
            }
        }
        false
    }

    /// Makes `[start, end)` one entry of the given kind, replacing what was there.
    fn assign(&mut self, start: u64, end: u64, ty: MemoryType, attribute: u64, owner: Owner) {
        let at = self.cut(start, end);
        let entry = Entry {
            start,
            pages: (end - start) / EFI_PAGE_SIZE,
            ty,
            attribute,
            owner,
        };
        self.entries.insert(at, entry);
        self.count(ty, entry.pages, true);
        // Join with the following entry, then with the preceding one.
        if let Some(next) = self.entries.get(at + 1).copied() {
            if entry.joins(&next) {
                self.entries[at].pages += next.pages;
                self.entries.remove(at + 1);
            }
        }
        if at > 0 {
            let prev = self.entries[at - 1];
            if prev.joins(&self.entries[at]) {
                self.entries[at - 1].pages += self.entries[at].pages;
                self.entries.remove(at);
            }
        }
        self.key = self.key.wrapping_add(1);
        let bs = self.stats.boot_services_pages();
        self.stats.peak_boot_services_pages = self.stats.peak_boot_services_pages.max(bs);
    }

    /// Removes `[start, end)` from the map, splitting entries that straddle its edges,
    /// and returns the index where an entry for it belongs.
    fn cut(&mut self, start: u64, end: u64) -> usize {
        let mut first = self.entries.partition_point(|e| e.end() <= start);
        if let Some(e) = self.entries.get(first).copied() {
            if e.start < start {
                let (low, high) = e.split(start);
                self.entries[first] = low;
                self.entries.insert(first + 1, high);
                first += 1;
            }
        }
        let mut last = self.entries.partition_point(|e| e.end() <= end);
        if let Some(e) = self.entries.get(last).copied() {
            if e.start < end {
                let (low, high) = e.split(end);
                self.entries[last] = low;
                self.entries.insert(last + 1, high);
                last += 1;
            }
        }
        for i in first..last {
            let e = self.entries[i];
            self.count(e.ty, e.pages, false);
        }
        self.entries.drain(first..last);
        first
    }

    fn count(&mut self, ty: MemoryType, pages: u64, add: bool) {
        if let Some(slot) = self.stats.pages.get_mut(ty.index()) {
            *slot = if add {
                slot.saturating_add(pages)
            } else {
                slot.saturating_sub(pages)
            };
        }
    }
}

/// Iterator over the OS's view of the map; see [`MemoryMap::descriptors`].
pub struct Descriptors<'a> {
    entries: &'a [Entry],
}

impl Iterator for Descriptors<'_> {
    type Item = Descriptor;

    fn next(&mut self) -> Option<Descriptor> {
        let (first, rest) = self.entries.split_first()?;
        let mut d = Descriptor {
            start: first.start,
            pages: first.pages,
            ty: first.ty,
            attribute: first.attribute,
        };
        let mut taken = 1;
        for e in rest {
            if e.start != d.end() || e.ty != d.ty || e.attribute != d.attribute {
                break;
            }
            d.pages += e.pages;
            taken += 1;
        }
        self.entries = self.entries.get(taken..).unwrap_or(&[]);
        Some(d)
    }
}

#[cfg(test)]
mod tests;
