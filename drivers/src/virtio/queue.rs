//! The split virtqueue (virtio 1.2 §2.7): a descriptor table, the driver area
//! ("available ring") and the device area ("used ring"), in one zeroed allocation
//! from the global allocator. The device reads and writes this memory behind the
//! compiler's back, so every access to it is volatile, with fences ordering the
//! ring updates (§2.7.13, §2.7.14). Addresses handed to the device are the
//! pointers themselves: the firmware identity-maps memory.

use super::{Error, Transport};
use alloc::alloc::{alloc_zeroed, dealloc};
use alloc::vec::Vec;
use core::alloc::Layout;
use core::ptr::NonNull;
use core::sync::atomic::{fence, Ordering};
use log::debug;

/// The chain continues in `next`.
pub const VIRTQ_DESC_F_NEXT: u16 = 1;
/// The device writes the buffer (otherwise it reads it).
pub const VIRTQ_DESC_F_WRITE: u16 = 2;
/// The driver asks for no interrupts (it polls).
pub const VIRTQ_AVAIL_F_NO_INTERRUPT: u16 = 1;

/// Largest queue the driver sets up: requests are synchronous, so more
/// descriptors only allow more segments per request (QEMU offers 256).
pub const MAX_QUEUE_SIZE: u16 = 256;

const DESCRIPTOR_SIZE: usize = 16;
/// §2.7.5: 16 for the descriptor table, 2 and 4 for the rings. The allocation is
/// page-aligned, which satisfies all three and keeps the rings off other data.
const RING_ALIGN: usize = 4096;
const USED_ALIGN: usize = 4;
// Offsets inside the rings.
const RING_FLAGS: usize = 0;
const RING_IDX: usize = 2;
const RING_ENTRIES: usize = 4;
const USED_ELEMENT_SIZE: usize = 8;

/// Bus addresses of a queue's three parts, for the transport.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct QueueAreas {
    /// The descriptor table.
    pub descriptors: u64,
    /// The driver (available) ring.
    pub driver: u64,
    /// The device (used) ring.
    pub device: u64,
}

/// One buffer of a descriptor chain.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Buffer {
    /// Physical address (= virtual address under identity mapping).
    pub address: u64,
    /// Its length in bytes.
    pub len: u32,
    /// The device writes it (otherwise it only reads it).
    pub device_writable: bool,
}

/// A chain the device has finished with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Used {
    /// The chain's first descriptor.
    pub head: u16,
    /// Bytes the device wrote into the chain's writable buffers.
    pub len: u32,
}

/// A split virtqueue (§2.7): descriptors and both rings in one page-aligned allocation.
pub struct SplitQueue {
    index: u16,
    size: u16,
    memory: NonNull<u8>,
    layout: Layout,
    avail_offset: usize,
    used_offset: usize,
    /// Free descriptor indices.
    free: Vec<u16>,
    /// Per head descriptor: the length of its chain while in flight, else 0.
    in_flight: Vec<u16>,
    next_avail: u16,
    last_used: u16,
}

// SAFETY: the queue owns its ring memory; the raw pointer is never shared with
// other Rust code, only with the device, which does not care which thread drives
// the queue. The firmware runs on one CPU without interrupts.
unsafe impl Send for SplitQueue {}

impl SplitQueue {
    /// Allocates a queue of `size` descriptors (a power of two, §2.7).
    pub fn new(index: u16, size: u16) -> Result<SplitQueue, Error> {
        if !size.is_power_of_two() {
            return Err(Error::QueueUnavailable { queue: index });
        }
        let n = size as usize;
        let avail_offset = DESCRIPTOR_SIZE * n;
        let avail_bytes = RING_ENTRIES + 2 * n + 2;
        let used_offset = (avail_offset + avail_bytes).next_multiple_of(USED_ALIGN);
        let used_bytes = RING_ENTRIES + USED_ELEMENT_SIZE * n + 2;
        let layout = Layout::from_size_align(used_offset + used_bytes, RING_ALIGN).map_err(|_| Error::OutOfMemory)?;
        // SAFETY: the layout has a non-zero size.
        let memory = NonNull::new(unsafe { alloc_zeroed(layout) }).ok_or(Error::OutOfMemory)?;
        let queue = SplitQueue {
            index,
            size,
            memory,
            layout,
            avail_offset,
            used_offset,
            free: (0..size).rev().collect(),
            in_flight: alloc::vec![0; n],
            next_avail: 0,
            last_used: 0,
        };
        // We poll the used ring; ask the device not to interrupt (§2.7.7).
        queue.write16(avail_offset + RING_FLAGS, VIRTQ_AVAIL_F_NO_INTERRUPT);
        Ok(queue)
    }

    /// Sets up queue `index` on the device (§4.1.5.1.3, §4.2.3.2): its size is the
    /// device's maximum, at most `limit`, rounded down to a power of two.
    pub fn setup<T: Transport + ?Sized>(transport: &mut T, index: u16, limit: u16) -> Result<SplitQueue, Error> {
        transport.select_queue(index);
        let max = transport.queue_max_size();
        if max == 0 || transport.queue_enabled() {
            return Err(Error::QueueUnavailable { queue: index });
        }
        let wanted = max.min(limit.max(1));
        let size = 1u16 << (15 - wanted.leading_zeros());
        let queue = SplitQueue::new(index, size)?;
        transport.set_queue_size(size);
        transport.set_queue_areas(&queue.areas());
        transport.enable_queue();
        debug!("virtio: queue {index} of {size} descriptors (device max {max})");
        Ok(queue)
    }

    /// The queue's index on its device.
    pub fn index(&self) -> u16 {
        self.index
    }

    /// The number of descriptors.
    pub fn size(&self) -> u16 {
        self.size
    }

    /// Descriptors not in a chain.
    pub fn free_descriptors(&self) -> usize {
        self.free.len()
    }

    /// The ring addresses to give the device.
    pub fn areas(&self) -> QueueAreas {
        let base = self.memory.as_ptr() as u64;
        QueueAreas {
            descriptors: base,
            driver: base + self.avail_offset as u64,
            device: base + self.used_offset as u64,
        }
    }

    /// Puts a chain of buffers in the descriptor table and makes it available.
    /// The caller then notifies the device. Returns the chain's head.
    pub fn add(&mut self, chain: &[Buffer]) -> Result<u16, Error> {
        if chain.is_empty() || chain.len() > self.free.len() {
            return Err(Error::QueueFull {
                needed: chain.len(),
                free: self.free.len(),
            });
        }
        let split = self.free.len() - chain.len();
        let ids: Vec<u16> = self.free.drain(split..).rev().collect();
        for (i, (buffer, &id)) in chain.iter().zip(&ids).enumerate() {
            let next = ids.get(i + 1).copied();
            let mut flags = if buffer.device_writable { VIRTQ_DESC_F_WRITE } else { 0 };
            if next.is_some() {
                flags |= VIRTQ_DESC_F_NEXT;
            }
            let at = DESCRIPTOR_SIZE * id as usize;
            self.write64(at, buffer.address);
            self.write32(at + 8, buffer.len);
            self.write16(at + 12, flags);
            self.write16(at + 14, next.unwrap_or(0));
        }
        let head = ids[0];
        self.in_flight[head as usize] = chain.len() as u16;
        let slot = (self.next_avail % self.size) as usize;
        self.write16(self.avail_offset + RING_ENTRIES + 2 * slot, head);
        // The descriptors and ring entry must be visible before the index (§2.7.13.1).
        fence(Ordering::SeqCst);
        self.next_avail = self.next_avail.wrapping_add(1);
        self.write16(self.avail_offset + RING_IDX, self.next_avail);
        // And the index before the notification that follows.
        fence(Ordering::SeqCst);
        Ok(head)
    }

    /// The next chain the device has finished with, if any; its descriptors are
    /// free again.
    pub fn pop_used(&mut self) -> Result<Option<Used>, Error> {
        let device_idx = self.read16(self.used_offset + RING_IDX);
        if device_idx == self.last_used {
            return Ok(None);
        }
        // Read the element (and the buffers it covers) only after the index.
        fence(Ordering::SeqCst);
        let slot = (self.last_used % self.size) as usize;
        let at = self.used_offset + RING_ENTRIES + USED_ELEMENT_SIZE * slot;
        let id = self.read32(at);
        let len = self.read32(at + 4);
        self.last_used = self.last_used.wrapping_add(1);
        let chain_len = match self.in_flight.get(id as usize) {
            Some(&n) if n > 0 => n,
            _ => return Err(Error::BadUsedEntry { id }),
        };
        self.in_flight[id as usize] = 0;
        // Our own `next` fields (the device does not write descriptors); the
        // recorded length bounds the walk.
        let mut desc = id as u16;
        for _ in 0..chain_len {
            self.free.push(desc);
            desc = self.read16(DESCRIPTOR_SIZE * desc as usize + 14) % self.size;
        }
        Ok(Some(Used { head: id as u16, len }))
    }

    /// Whether the device still holds any chain.
    pub fn is_busy(&self) -> bool {
        self.free.len() < self.size as usize
    }

    fn ptr(&self, offset: usize) -> *mut u8 {
        debug_assert!(offset < self.layout.size());
        // SAFETY: callers pass offsets inside the allocation.
        unsafe { self.memory.as_ptr().add(offset) }
    }

    /// The `T` at `offset`: virtqueue fields sit at offsets that are multiples
    /// of their size (virtio 1.2 §2.7), in an allocation aligned to 4 KiB.
    fn field<T>(&self, offset: usize) -> *mut T {
        let field = self.ptr(offset).cast::<T>();
        debug_assert!(field.is_aligned());
        field
    }

    fn read16(&self, offset: usize) -> u16 {
        // SAFETY: in bounds of our allocation, 2-aligned (ring fields are).
        unsafe { self.field::<u16>(offset).read_volatile() }
    }

    fn read32(&self, offset: usize) -> u32 {
        // SAFETY: in bounds, 4-aligned (used ring elements are).
        unsafe { self.field::<u32>(offset).read_volatile() }
    }

    fn write16(&self, offset: usize, value: u16) {
        // SAFETY: in bounds, 2-aligned; the device only reads these fields.
        unsafe { self.field::<u16>(offset).write_volatile(value) }
    }

    fn write32(&self, offset: usize, value: u32) {
        // SAFETY: in bounds, 4-aligned.
        unsafe { self.field::<u32>(offset).write_volatile(value) }
    }

    fn write64(&self, offset: usize, value: u64) {
        // SAFETY: in bounds, 8-aligned (descriptor addresses are).
        unsafe { self.field::<u64>(offset).write_volatile(value) }
    }
}

impl Drop for SplitQueue {
    /// The owner must have reset the device first, so it no longer uses the rings.
    fn drop(&mut self) {
        // SAFETY: allocated in `new` with this layout.
        unsafe { dealloc(self.memory.as_ptr(), self.layout) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn buffer(address: u64, len: u32, device_writable: bool) -> Buffer {
        Buffer {
            address,
            len,
            device_writable,
        }
    }

    /// Plays the device: reads the avail ring entry `n` and returns its chain.
    fn chain_at(queue: &SplitQueue, n: u16) -> Vec<(u64, u32, u16)> {
        let head = queue.read16(queue.avail_offset + RING_ENTRIES + 2 * (n % queue.size) as usize);
        let mut out = Vec::new();
        let mut d = head as usize;
        loop {
            let at = DESCRIPTOR_SIZE * d;
            let flags = queue.read16(at + 12);
            let addr = u64::from(queue.read32(at)) | u64::from(queue.read32(at + 4)) << 32;
            out.push((addr, queue.read32(at + 8), flags));
            if flags & VIRTQ_DESC_F_NEXT == 0 {
                return out;
            }
            d = queue.read16(at + 14) as usize;
        }
    }

    fn complete(queue: &SplitQueue, head: u16, len: u32) {
        let idx = queue.read16(queue.used_offset + RING_IDX);
        let at = queue.used_offset + RING_ENTRIES + USED_ELEMENT_SIZE * (idx % queue.size) as usize;
        queue.write32(at, u32::from(head));
        queue.write32(at + 4, len);
        queue.write16(queue.used_offset + RING_IDX, idx.wrapping_add(1));
    }

    #[test]
    fn rings_are_aligned_as_the_spec_requires() {
        for size in [1, 2, 128, 256] {
            let q = SplitQueue::new(0, size).unwrap();
            let areas = q.areas();
            assert_eq!(areas.descriptors % 16, 0);
            assert_eq!(areas.driver % 2, 0);
            assert_eq!(areas.device % 4, 0);
            assert_eq!(areas.driver - areas.descriptors, 16 * u64::from(size));
        }
        assert!(SplitQueue::new(0, 100).is_err());
    }

    #[test]
    fn chains_are_linked_flagged_and_freed_after_use() {
        let mut q = SplitQueue::new(0, 4).unwrap();
        let head = q
            .add(&[
                buffer(0x1000, 16, false),
                buffer(0x2000, 512, true),
                buffer(0x3000, 1, true),
            ])
            .unwrap();
        assert_eq!(q.free_descriptors(), 1);
        assert_eq!(
            chain_at(&q, 0),
            [
                (0x1000, 16, VIRTQ_DESC_F_NEXT),
                (0x2000, 512, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE),
                (0x3000, 1, VIRTQ_DESC_F_WRITE)
            ]
        );
        assert_eq!(
            q.add(&[buffer(0, 1, false), buffer(0, 1, false)]),
            Err(Error::QueueFull { needed: 2, free: 1 })
        );
        assert_eq!(q.pop_used(), Ok(None));
        complete(&q, head, 513);
        assert_eq!(q.pop_used(), Ok(Some(Used { head, len: 513 })));
        assert_eq!(q.free_descriptors(), 4);
        assert!(!q.is_busy());
    }

    #[test]
    fn indices_wrap_around_the_ring_and_16_bits() {
        let mut q = SplitQueue::new(0, 2).unwrap();
        for n in 0..70_000u32 {
            let head = q.add(&[buffer(u64::from(n), 8, true)]).unwrap();
            assert_eq!(chain_at(&q, n as u16), [(u64::from(n), 8, VIRTQ_DESC_F_WRITE)]);
            complete(&q, head, 8);
            assert_eq!(q.pop_used().unwrap().map(|u| u.head), Some(head));
        }
    }

    #[test]
    fn used_entry_not_in_flight_is_an_error() {
        let mut q = SplitQueue::new(0, 4).unwrap();
        complete(&q, 3, 0);
        assert_eq!(q.pop_used(), Err(Error::BadUsedEntry { id: 3 }));
        complete(&q, 900, 0);
        assert_eq!(q.pop_used(), Err(Error::BadUsedEntry { id: 900 }));
    }
}
