//! The pool allocator behind `AllocatePool` and `FreePool` (UEFI 2.10 §7.2).
//!
//! Design: the pool hands out addresses, never touches the memory behind them, and
//! keeps all its bookkeeping on the firmware's own heap:
//! - small requests (up to half a chunk) are carved from 64 KiB chunks of pages of the
//!   requested type, taken from the [`MemoryMap`] and marked as pool memory there so
//!   that `FreePages` cannot take them away; each chunk keeps a sorted list of its free
//!   extents (first fit, merged on free) and is given back to the map when it is empty;
//! - larger requests get pages of their own;
//! - every live allocation is recorded by its address, so `FreePool` needs only the
//!   pointer and rejects any pointer it did not hand out (or already took back) exactly,
//!   instead of trusting a magic number in a header the caller may have overwritten.
//!
//! Because nothing is written into the allocations, the allocator is plain safe code
//! that runs on the host with made-up addresses, and a buffer overrun by an EFI
//! application cannot corrupt the pool. Allocations are 16-byte aligned (the
//! specification asks for 8). Chunks, and the pages of large allocations of the types
//! the OS keeps (runtime, ACPI, reserved), are 64 KiB aligned and sized, as an OS
//! with 64 KiB pages needs for runtime regions on AArch64 (UEFI 2.10 §2.3.6).
#![forbid(unsafe_code)]

use super::map::{MemoryMap, EFI_PAGE_SIZE};
use super::types::MemoryType;
use alloc::collections::BTreeMap;
use alloc::vec::Vec;
use core::fmt;
use log::{debug, error};
use r_efi::efi;

/// Alignment of every pool allocation.
pub const POOL_ALIGN: u64 = 16;
/// Size (and alignment) of the page chunks small allocations come from.
pub const CHUNK_SIZE: u64 = 64 * 1024;
const CHUNK_PAGES: u64 = CHUNK_SIZE / EFI_PAGE_SIZE;
/// Requests above this size get pages of their own.
const LARGE: u64 = CHUNK_SIZE / 2;
/// Allocation granularity of memory the OS keeps mapped or untouched.
const RUNTIME_GRANULE: u64 = 64 * 1024;

/// Why a pool operation failed. [`PoolError::status`] gives the EFI status.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PoolError {
    /// A type nobody may allocate (conventional, persistent, unaccepted).
    /// `EFI_INVALID_PARAMETER`.
    NotAllocatable {
        /// The type asked for.
        ty: MemoryType,
    },
    /// No memory for `size` bytes. `EFI_OUT_OF_RESOURCES`.
    OutOfResources {
        /// The bytes asked for.
        size: usize,
    },
    /// `FreePool` of an address the pool did not hand out, or already took back.
    /// `EFI_INVALID_PARAMETER`.
    UnknownBuffer {
        /// The address given.
        address: u64,
    },
}

impl PoolError {
    /// The status `AllocatePool`/`FreePool` return for this error.
    pub fn status(&self) -> efi::Status {
        match self {
            PoolError::NotAllocatable { .. } | PoolError::UnknownBuffer { .. } => efi::Status::INVALID_PARAMETER,
            PoolError::OutOfResources { .. } => efi::Status::OUT_OF_RESOURCES,
        }
    }
}

impl fmt::Display for PoolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PoolError::NotAllocatable { ty } => {
                write!(f, "pool memory of type {ty} cannot be allocated")
            }
            PoolError::OutOfResources { size } => write!(f, "no memory for {size} bytes of pool"),
            PoolError::UnknownBuffer { address } => {
                write!(f, "{address:#x} is not a pool allocation")
            }
        }
    }
}

/// A free part of a chunk.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Extent {
    start: u64,
    len: u64,
}

#[derive(Debug)]
struct Chunk {
    ty: MemoryType,
    /// Sorted, non-adjacent free extents.
    free: Vec<Extent>,
    used: u64,
}

impl Chunk {
    fn take(&mut self, len: u64) -> Option<u64> {
        let i = self.free.iter().position(|e| e.len >= len)?;
        let extent = self.free.get_mut(i)?;
        let start = extent.start;
        extent.start += len;
        extent.len -= len;
        if extent.len == 0 {
            self.free.remove(i);
        }
        self.used += len;
        Some(start)
    }

    fn give_back(&mut self, start: u64, len: u64) {
        let i = self.free.partition_point(|e| e.start < start);
        self.free.insert(i, Extent { start, len });
        if let Some(next) = self.free.get(i + 1).copied() {
            if start + len == next.start {
                self.free[i].len += next.len;
                self.free.remove(i + 1);
            }
        }
        if i > 0 {
            let prev = self.free[i - 1];
            if prev.start + prev.len == self.free[i].start {
                self.free[i - 1].len += self.free[i].len;
                self.free.remove(i);
            }
        }
        self.used -= len;
    }
}

#[derive(Clone, Copy, Debug)]
enum Place {
    /// In the chunk starting at this address.
    Chunk(u64),
    /// On pages of its own.
    Pages(u64),
}

#[derive(Clone, Copy, Debug)]
struct Allocation {
    /// Bytes reserved (the request rounded up to [`POOL_ALIGN`]).
    len: u64,
    /// Bytes requested.
    size: usize,
    ty: MemoryType,
    place: Place,
}

/// Pool usage figures.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PoolStatistics {
    /// Live allocations.
    pub allocations: usize,
    /// Bytes requested by the live allocations.
    pub bytes_in_use: u64,
    /// The most bytes ever in use at once.
    pub peak_bytes_in_use: u64,
    /// Chunks held.
    pub chunks: usize,
}

/// The pool; see the module documentation. It works on a [`MemoryMap`] passed to each
/// call, so that one lock can guard both.
#[derive(Debug, Default)]
pub struct Pool {
    /// Chunks by start address.
    chunks: BTreeMap<u64, Chunk>,
    /// Live allocations by address.
    live: BTreeMap<u64, Allocation>,
    bytes_in_use: u64,
    peak_bytes_in_use: u64,
}

impl Pool {
    /// An empty pool.
    pub const fn new() -> Pool {
        Pool {
            chunks: BTreeMap::new(),
            live: BTreeMap::new(),
            bytes_in_use: 0,
            peak_bytes_in_use: 0,
        }
    }

    /// `AllocatePool`: `size` bytes (any size, 0 included) of memory of type `ty`,
    /// aligned to [`POOL_ALIGN`].
    pub fn allocate(&mut self, map: &mut MemoryMap, ty: MemoryType, size: usize) -> Result<u64, PoolError> {
        if !ty.is_allocatable() {
            return Err(PoolError::NotAllocatable { ty });
        }
        let out_of_resources = PoolError::OutOfResources { size };
        let len = (size.max(1) as u64)
            .checked_next_multiple_of(POOL_ALIGN)
            .ok_or(out_of_resources)?;
        let (address, place) = if len > LARGE {
            let granule = granule(ty);
            let pages = len.checked_next_multiple_of(granule).ok_or(out_of_resources)? / EFI_PAGE_SIZE;
            let address = map.allocate_pool_pages(ty, pages, granule).map_err(|e| {
                debug!("AllocatePool of {size} bytes: {e}");
                out_of_resources
            })?;
            (address, Place::Pages(pages))
        } else {
            let found = self
                .chunks
                .iter_mut()
                .filter(|(_, c)| c.ty == ty)
                .find_map(|(&chunk, c)| Some((c.take(len)?, chunk)));
            let (address, chunk) = match found {
                Some(found) => found,
                None => self.new_chunk(map, ty, len).ok_or(out_of_resources)?,
            };
            (address, Place::Chunk(chunk))
        };
        self.live.insert(address, Allocation { len, size, ty, place });
        self.bytes_in_use += size as u64;
        self.peak_bytes_in_use = self.peak_bytes_in_use.max(self.bytes_in_use);
        Ok(address)
    }

    /// `FreePool`: gives back an allocation by its address. Empty chunks and the pages
    /// of large allocations go back to the map.
    pub fn free(&mut self, map: &mut MemoryMap, address: u64) -> Result<(), PoolError> {
        let unknown = PoolError::UnknownBuffer { address };
        let Some(allocation) = self.live.remove(&address) else {
            debug!("FreePool: {address:#x} is not a pool allocation");
            return Err(unknown);
        };
        self.bytes_in_use -= allocation.size as u64;
        match allocation.place {
            Place::Pages(pages) => self.release(map, address, pages),
            Place::Chunk(start) => {
                let Some(chunk) = self.chunks.get_mut(&start) else {
                    error!("pool chunk {start:#x} of allocation {address:#x} is missing");
                    return Err(unknown);
                };
                chunk.give_back(address, allocation.len);
                if chunk.used == 0 {
                    self.chunks.remove(&start);
                    self.release(map, start, CHUNK_PAGES);
                }
            }
        }
        Ok(())
    }

    /// The size asked for when `address` was allocated, if it is a live allocation.
    pub fn size_of(&self, address: u64) -> Option<usize> {
        self.live.get(&address).map(|a| a.size)
    }

    /// The memory type of a live allocation.
    pub fn type_of(&self, address: u64) -> Option<MemoryType> {
        self.live.get(&address).map(|a| a.ty)
    }

    /// The pool's counters: live allocations, bytes in use now and at the peak, chunks held.
    pub fn statistics(&self) -> PoolStatistics {
        PoolStatistics {
            allocations: self.live.len(),
            bytes_in_use: self.bytes_in_use,
            peak_bytes_in_use: self.peak_bytes_in_use,
            chunks: self.chunks.len(),
        }
    }

    /// Takes a chunk for `ty` from the map and `len` bytes from it.
    fn new_chunk(&mut self, map: &mut MemoryMap, ty: MemoryType, len: u64) -> Option<(u64, u64)> {
        let start = map
            .allocate_pool_pages(ty, CHUNK_PAGES, CHUNK_SIZE)
            .map_err(|e| debug!("no pool chunk for {ty}: {e}"))
            .ok()?;
        let mut chunk = Chunk {
            ty,
            free: alloc::vec![Extent { start, len: CHUNK_SIZE }],
            used: 0,
        };
        let address = chunk.take(len)?;
        self.chunks.insert(start, chunk);
        Some((address, start))
    }

    fn release(&mut self, map: &mut MemoryMap, start: u64, pages: u64) {
        // The pages were marked as pool pages when taken; only `set_type` at boot
        // could have changed that, which would be a firmware bug.
        if let Err(e) = map.free_pool_pages(start, pages) {
            error!("pool pages at {start:#x} could not be returned: {e}");
        }
    }
}

/// The page granularity of pool pages of `ty`.
fn granule(ty: MemoryType) -> u64 {
    match ty {
        MemoryType::RuntimeServicesCode
        | MemoryType::RuntimeServicesData
        | MemoryType::ACPIReclaimMemory
        | MemoryType::ACPIMemoryNVS
        | MemoryType::ReservedMemoryType => RUNTIME_GRANULE,
        _ => EFI_PAGE_SIZE,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memory::map::{AllocateType, MemoryError};
    use alloc::vec::Vec;
    use MemoryType::*;

    const MIB: u64 = 1 << 20;

    fn map_with(bytes: u64) -> MemoryMap {
        let mut map = MemoryMap::new();
        map.add_range(MIB, bytes / EFI_PAGE_SIZE, ConventionalMemory).unwrap();
        map
    }

    fn overlaps(a: (u64, usize), b: (u64, usize)) -> bool {
        a.0 < b.0 + b.1 as u64 && b.0 < a.0 + a.1 as u64
    }

    #[test]
    fn small_allocations_of_mixed_types_are_aligned_disjoint_and_typed() {
        let mut map = map_with(64 * MIB);
        let mut pool = Pool::new();
        let types = [BootServicesData, LoaderData, RuntimeServicesData, ACPIReclaimMemory];
        let mut got: Vec<(u64, usize, MemoryType)> = Vec::new();
        for i in 0..2000usize {
            let ty = types[i % types.len()];
            let size = (i * 37) % 3000;
            let a = pool.allocate(&mut map, ty, size).unwrap();
            assert_eq!(a % 8, 0);
            assert_eq!(a % POOL_ALIGN, 0);
            got.push((a, size, ty));
        }
        let mut sorted = got.clone();
        sorted.sort();
        for w in sorted.windows(2) {
            let (a, b) = ((w[0].0, w[0].1.max(1)), (w[1].0, w[1].1.max(1)));
            assert!(!overlaps(a, b), "{:x?}", w);
        }
        // Each allocation lies in map memory of its own type.
        for &(a, size, ty) in &got {
            let d = map.descriptors().find(|d| d.start <= a && a < d.end()).unwrap();
            assert_eq!(d.ty, ty);
            assert!(a + size as u64 <= d.end());
        }
        let stats = pool.statistics();
        assert_eq!(stats.allocations, 2000);
        assert_eq!(stats.bytes_in_use, got.iter().map(|g| g.1 as u64).sum::<u64>());
    }

    #[test]
    fn freed_memory_is_reused() {
        let mut map = map_with(16 * MIB);
        let mut pool = Pool::new();
        let keep = pool.allocate(&mut map, BootServicesData, 100).unwrap();
        let a = pool.allocate(&mut map, BootServicesData, 200).unwrap();
        let key = map.map_key();
        pool.free(&mut map, a).unwrap();
        let b = pool.allocate(&mut map, BootServicesData, 200).unwrap();
        assert_eq!(a, b);
        assert_eq!(map.map_key(), key, "served from the existing chunk");
        pool.free(&mut map, keep).unwrap();
    }

    #[test]
    fn free_of_a_foreign_pointer_is_rejected() {
        let mut map = map_with(16 * MIB);
        let mut pool = Pool::new();
        let a = pool.allocate(&mut map, LoaderData, 64).unwrap();
        let pages = map.allocate_pages(AllocateType::AnyPages, LoaderData, 1).unwrap();
        for bad in [0, a + 16, a + 8, pages, 0xdead_beef] {
            let err = pool.free(&mut map, bad).unwrap_err();
            assert_eq!(err, PoolError::UnknownBuffer { address: bad });
            assert_eq!(err.status(), efi::Status::INVALID_PARAMETER);
        }
        pool.free(&mut map, a).unwrap();
        assert_eq!(
            pool.free(&mut map, a),
            Err(PoolError::UnknownBuffer { address: a }),
            "double free"
        );
    }

    #[test]
    fn pool_pages_cannot_be_freed_with_free_pages() {
        let mut map = map_with(16 * MIB);
        let mut pool = Pool::new();
        let a = pool.allocate(&mut map, LoaderData, 64).unwrap();
        let page = a & !(EFI_PAGE_SIZE - 1);
        assert_eq!(
            map.free_pages(page, 1),
            Err(MemoryError::NotAllocated {
                address: page,
                pages: 1
            })
        );
    }

    #[test]
    fn empty_chunks_go_back_to_the_map() {
        let mut map = map_with(16 * MIB);
        let free_before = map.pages_of(ConventionalMemory);
        let descriptors_before = map.descriptors().count();
        let mut pool = Pool::new();
        let addrs: Vec<u64> = (0..100)
            .map(|_| pool.allocate(&mut map, BootServicesData, 1000).unwrap())
            .collect();
        assert!(pool.statistics().chunks >= 2);
        assert_eq!(map.pages_of(BootServicesData), pool.statistics().chunks as u64 * 16);
        for (i, &a) in addrs.iter().enumerate() {
            assert_eq!(pool.size_of(a), Some(1000));
            pool.free(&mut map, a).unwrap();
            assert_eq!(pool.statistics().allocations, 99 - i);
        }
        assert_eq!(pool.statistics().chunks, 0);
        assert_eq!(map.pages_of(BootServicesData), 0);
        assert_eq!(map.pages_of(ConventionalMemory), free_before);
        assert_eq!(map.descriptors().count(), descriptors_before);
        assert_eq!(map.statistics().peak_boot_services_pages, 32);
    }

    #[test]
    fn large_allocations_get_their_own_pages() {
        let mut map = map_with(16 * MIB);
        let mut pool = Pool::new();
        let a = pool.allocate(&mut map, LoaderData, 100_000).unwrap();
        assert_eq!(a % EFI_PAGE_SIZE, 0);
        assert_eq!(pool.statistics().chunks, 0);
        assert_eq!(map.pages_of(LoaderData), 25);
        let r = pool.allocate(&mut map, RuntimeServicesData, 40_000).unwrap();
        assert_eq!(r % RUNTIME_GRANULE, 0);
        assert_eq!(map.pages_of(RuntimeServicesData), 16);
        pool.free(&mut map, a).unwrap();
        pool.free(&mut map, r).unwrap();
        assert_eq!(map.pages_of(LoaderData), 0);
        assert_eq!(map.pages_of(RuntimeServicesData), 0);
    }

    #[test]
    fn chunks_are_64_kib_aligned() {
        let mut map = map_with(16 * MIB);
        // Misalign the top of free memory.
        map.allocate_pages(AllocateType::AnyPages, LoaderData, 3).unwrap();
        let mut pool = Pool::new();
        let a = pool.allocate(&mut map, RuntimeServicesCode, 10).unwrap();
        assert_eq!(a % CHUNK_SIZE, 0);
        let d = map.descriptors().find(|d| d.ty == RuntimeServicesCode).unwrap();
        assert_eq!((d.start % CHUNK_SIZE, d.pages), (0, 16));
    }

    #[test]
    fn invalid_types_and_exhaustion_are_reported() {
        let mut map = map_with(MIB / 2);
        let mut pool = Pool::new();
        for ty in [ConventionalMemory, PersistentMemory, Unaccepted] {
            let err = pool.allocate(&mut map, ty, 8).unwrap_err();
            assert_eq!(err, PoolError::NotAllocatable { ty });
            assert_eq!(err.status(), efi::Status::INVALID_PARAMETER);
        }
        for size in [usize::MAX, usize::MAX - 8, MIB as usize] {
            let err = pool.allocate(&mut map, LoaderData, size).unwrap_err();
            assert_eq!(err, PoolError::OutOfResources { size });
            assert_eq!(err.status(), efi::Status::OUT_OF_RESOURCES);
        }
        assert_eq!(pool.statistics(), PoolStatistics::default());
    }

    #[test]
    fn zero_sized_allocations_are_distinct() {
        let mut map = map_with(MIB);
        let mut pool = Pool::new();
        let a = pool.allocate(&mut map, LoaderData, 0).unwrap();
        let b = pool.allocate(&mut map, LoaderData, 0).unwrap();
        assert_ne!(a, b);
        pool.free(&mut map, a).unwrap();
        pool.free(&mut map, b).unwrap();
    }

    #[test]
    fn interleaved_frees_merge_free_space_inside_a_chunk() {
        let mut map = map_with(MIB);
        let mut pool = Pool::new();
        let addrs: Vec<u64> = (0..8)
            .map(|_| pool.allocate(&mut map, LoaderData, 4096).unwrap())
            .collect();
        let keep = pool.allocate(&mut map, LoaderData, 16).unwrap();
        for &a in addrs.iter().step_by(2).chain(addrs.iter().skip(1).step_by(2)) {
            pool.free(&mut map, a).unwrap();
        }
        // All 8 KiB blocks merged again: a 32 KiB request fits in the same chunk.
        let big = pool.allocate(&mut map, LoaderData, 32 * 1024).unwrap();
        assert_eq!(pool.statistics().chunks, 1);
        assert_eq!(big, addrs[0]);
        assert_eq!(pool.type_of(keep), Some(LoaderData));
        assert_eq!(pool.statistics().peak_bytes_in_use, 8 * 4096 + 16);
    }
}
