//! The UEFI memory services (UEFI 2.10 §7.2): the memory map and page allocator
//! ([`map`], its [`error`]s), the pool allocator ([`pool`]), the memory types ([`types`]) and the
//! map the firmware starts with ([`initial`]).
//!
//! The boot service thunks hold one [`Memory`] behind a lock, convert the raw
//! arguments (`MemoryType::from_raw`, `AllocateType::from_raw`), call it, and turn
//! errors into statuses with `status()`.
#![forbid(unsafe_code)]

pub mod attributes;
pub mod error;
pub mod initial;
pub mod map;
pub mod pool;
pub mod types;

#[cfg(test)]
mod ownership_tests;

pub use map::{
    AllocateType, Descriptor, MemoryError, MemoryMap, MemoryStatistics, DESCRIPTOR_SIZE, DESCRIPTOR_VERSION,
    EFI_PAGE_SIZE,
};
pub use pool::{Pool, PoolError, PoolStatistics};
pub use types::{InvalidMemoryType, MemoryType};

/// The memory map and the pool that draws on it, as the boot services use them.
#[derive(Debug, Default)]
pub struct Memory {
    /// The memory map: every page's type and owner.
    pub map: MemoryMap,
    /// The pool: AllocatePool's buffers, carved from map pages.
    pub pool: Pool,
}

impl Memory {
    /// An empty map and pool.
    pub const fn new() -> Memory {
        Memory {
            map: MemoryMap::new(),
            pool: Pool::new(),
        }
    }

    /// `AllocatePages`. Running out of memory is said on the console, with the
    /// request: the caller (an OS loader) may fail without a word.
    pub fn allocate_pages(&mut self, kind: AllocateType, ty: MemoryType, pages: u64) -> Result<u64, MemoryError> {
        let result = self.map.allocate_pages(kind, ty, pages);
        if let Err(MemoryError::OutOfResources { .. }) = result {
            log::warn!(
                "out of memory: AllocatePages of {} KiB ({pages} pages) of {ty:?} failed",
                pages * 4
            );
        }
        result
    }

    /// `FreePages`.
    pub fn free_pages(&mut self, address: u64, pages: u64) -> Result<(), MemoryError> {
        self.map.free_pages(address, pages)
    }

    /// `AllocatePool`; running out of memory is said, as for pages.
    pub fn allocate_pool(&mut self, ty: MemoryType, size: usize) -> Result<u64, PoolError> {
        let result = self.pool.allocate(&mut self.map, ty, size);
        if let Err(PoolError::OutOfResources { .. }) = result {
            log::warn!("out of memory: AllocatePool of {size} bytes of {ty:?} failed");
        }
        result
    }

    /// `FreePool`.
    pub fn free_pool(&mut self, address: u64) -> Result<(), PoolError> {
        self.pool.free(&mut self.map, address)
    }

    /// `GetMemoryMap`: the map key and the bytes written.
    pub fn get_memory_map(&self, buffer: &mut [u8]) -> Result<(usize, usize), MemoryError> {
        self.map.get_memory_map(buffer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pool_and_pages_share_one_map() {
        let mut memory = Memory::new();
        memory
            .map
            .add_range(0x10_0000, 0x1000, MemoryType::ConventionalMemory)
            .unwrap();
        let key = memory.map.map_key();
        let p = memory.allocate_pool(MemoryType::LoaderData, 10).unwrap();
        let a = memory
            .allocate_pages(AllocateType::AnyPages, MemoryType::LoaderData, 1)
            .unwrap();
        assert_ne!(memory.map.map_key(), key);
        assert!(a + EFI_PAGE_SIZE <= p || a >= p + 10);
        memory.free_pool(p).unwrap();
        memory.free_pages(a, 1).unwrap();
        assert_eq!(memory.map.pages_of(MemoryType::LoaderData), 0);
        let mut buf = [0u8; DESCRIPTOR_SIZE];
        assert_eq!(memory.get_memory_map(&mut buf).unwrap().1, DESCRIPTOR_SIZE);
    }
}
