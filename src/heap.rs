//! The firmware's global allocator: the heap in boot-services memory until
//! ExitBootServices, then a small arena in the firmware image (runtime-services
//! data), because some runtime services allocate (an authenticated SetVariable
//! verifies an RSA signature, `fw_core::secure_boot::auth_write`) and the boot
//! heap belongs to the OS from then on. After ExitBootServices a block of the
//! boot heap is never freed (its memory is the OS's): it is left alone.

use core::alloc::{GlobalAlloc, Layout};
use core::ops::Range;
use fw_core::efi::runtime;
use linked_list_allocator::LockedHeap;

/// Bytes for allocations after ExitBootServices: an authenticated write needs
/// its data, the signed bytes and the RSA arithmetic (a few KiB each).
const RUNTIME_HEAP_SIZE: usize = 192 * 1024;

static mut RUNTIME_ARENA: [u8; RUNTIME_HEAP_SIZE] = [0; RUNTIME_HEAP_SIZE];

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

    /// Gives the boot heap its range and the runtime heap its arena.
    ///
    /// # Safety
    /// `range` is RAM nothing else uses; called once, before any allocation.
    pub unsafe fn init(&self, range: &Range<u64>) {
        // SAFETY: the caller's contract; the arena is used by this heap only.
        unsafe {
            self.boot
                .lock()
                .init(range.start as *mut u8, (range.end - range.start) as usize);
            let arena = core::ptr::addr_of_mut!(RUNTIME_ARENA) as *mut u8;
            self.runtime.lock().init(arena, RUNTIME_HEAP_SIZE);
        }
    }

    fn in_runtime_arena(ptr: *mut u8) -> bool {
        let start = core::ptr::addr_of!(RUNTIME_ARENA) as usize;
        (start..start + RUNTIME_HEAP_SIZE).contains(&(ptr as usize))
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
