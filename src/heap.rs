//! The firmware's global allocator: the heap in boot-services memory until
//! ExitBootServices, then a small arena of runtime-services data (allocated
//! from the memory map at the top of RAM, not in the image: the image sits
//! below 16 MiB, where a small VM's kernel needs the room), because some runtime services allocate (an authenticated SetVariable
//! verifies an RSA signature, `fw_core::secure_boot::auth_write`) and the boot
//! heap belongs to the OS from then on. After ExitBootServices a block of the
//! boot heap is never freed (its memory is the OS's): it is left alone.

use core::alloc::{GlobalAlloc, Layout};
use core::ops::Range;
use core::sync::atomic::{AtomicUsize, Ordering};
use fw_core::efi::runtime;
use linked_list_allocator::LockedHeap;

/// Bytes for allocations after ExitBootServices: an authenticated write needs
/// its data, the signed bytes and the RSA arithmetic (a few KiB each for keys
/// and db appends; a large dbx update, ~20 KiB, several times that). The OS
/// keeps these pages for good, and the firmware's whole runtime footprint is
/// meant to stay under 1 MiB, so the arena is no larger than that needs.
const RUNTIME_HEAP_SIZE: usize = 64 * 1024;

/// Where the runtime arena is (its start; 0 until the memory map gave it).
static RUNTIME_ARENA: AtomicUsize = AtomicUsize::new(0);

pub struct FirmwareHeap {
    boot: LockedHeap,
    runtime: LockedHeap,
}

impl FirmwareHeap {
    pub const fn empty() -> FirmwareHeap {
        FirmwareHeap {
            boot: LockedHeap::empty(),
            runtime: LockedHeap::empty(),
        }
    }

    /// Gives the boot heap its range.
    ///
    /// # Safety
    /// `range` is RAM nothing else uses; called once, before any allocation.
    pub unsafe fn init(&self, range: &Range<u64>) {
        // SAFETY: the caller's contract.
        unsafe {
            self.boot
                .lock()
                .init(range.start as *mut u8, (range.end - range.start) as usize);
        }
    }

    /// Takes [`RUNTIME_HEAP_SIZE`] bytes of runtime-services data from the
    /// memory map for the allocations after ExitBootServices. Without it
    /// (no memory), those allocations fail and the services that need them
    /// say so.
    pub fn init_runtime_arena(&self) {
        use fw_core::memory::{AllocateType, MemoryType};
        let pages = (RUNTIME_HEAP_SIZE as u64).div_ceil(4096);
        let arena = fw_core::efi::BOOT.lock().memory.allocate_pages(
            AllocateType::MaxAddress(u32::MAX.into()),
            MemoryType::RuntimeServicesData,
            pages,
        );
        match arena {
            Ok(start) => {
                // SAFETY: the pages were just allocated for this arena for good,
                // identity mapped; only this heap uses them.
                unsafe { self.runtime.lock().init(start as *mut u8, RUNTIME_HEAP_SIZE) };
                RUNTIME_ARENA.store(start as usize, Ordering::Relaxed);
            }
            Err(e) => log::warn!(
                "no memory for the runtime services' {} KiB heap: {e}",
                RUNTIME_HEAP_SIZE >> 10
            ),
        }
    }

    fn in_runtime_arena(ptr: *mut u8) -> bool {
        let start = RUNTIME_ARENA.load(Ordering::Relaxed);
        start != 0 && (start..start + RUNTIME_HEAP_SIZE).contains(&(ptr as usize))
    }
}

// SAFETY: both heaps are linked-list allocators behind spin locks; a block is
// freed into the heap it came from, decided by its address.
unsafe impl GlobalAlloc for FirmwareHeap {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's contract (a non-zero-sized layout).
        unsafe {
            if runtime::exited() {
                self.runtime.alloc(layout)
            } else {
                self.boot.alloc(layout)
            }
        }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from `alloc` with `layout`, so from the heap its
        // address names.
        unsafe {
            if Self::in_runtime_arena(ptr) {
                self.runtime.dealloc(ptr, layout)
            } else if !runtime::exited() {
                self.boot.dealloc(ptr, layout)
            }
        }
    }
}
