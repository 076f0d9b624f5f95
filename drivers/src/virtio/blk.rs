//! The virtio block device (virtio 1.2 §5.2) over any [`Transport`], as a
//! [`BlockDevice`]. One request queue, one request in flight, polled. A read or
//! write becomes as few requests as the device's limits allow (`seg_max`,
//! `size_max`, the queue size): each is a header descriptor, data descriptors
//! pointing straight into the caller's buffer (memory is identity-mapped, so no
//! bounce copy), and a status descriptor.

use super::queue::{Buffer, SplitQueue, MAX_QUEUE_SIZE};
use super::{negotiate, read_config, Error, PollLimit, Transport};
use super::{ACKNOWLEDGE, DEVICE_TYPE_BLOCK, DRIVER, DRIVER_OK, FAILED, FEATURES_OK};
use super::{VIRTIO_F_ACCESS_PLATFORM, VIRTIO_F_VERSION_1};
use crate::block::{check_request, BlockDevice, BlockError};
use alloc::boxed::Box;
use alloc::string::String;
use alloc::vec::Vec;
use core::ptr::addr_of_mut;
use log::{debug, warn};
use spin::Mutex;

// Feature bits (§5.2.3).
/// The device gives the largest segment size (`size_max`).
pub const VIRTIO_BLK_F_SIZE_MAX: u64 = 1 << 1;
/// The device gives the most segments per request (`seg_max`).
pub const VIRTIO_BLK_F_SEG_MAX: u64 = 1 << 2;
/// The device gives a legacy disk geometry.
pub const VIRTIO_BLK_F_GEOMETRY: u64 = 1 << 4;
/// The device is read-only.
pub const VIRTIO_BLK_F_RO: u64 = 1 << 5;
/// The device gives its block size (`blk_size`).
pub const VIRTIO_BLK_F_BLK_SIZE: u64 = 1 << 6;
/// The device has a write cache that FLUSH empties.
pub const VIRTIO_BLK_F_FLUSH: u64 = 1 << 9;

/// The features this driver uses; the device's offer is intersected with them.
pub const DRIVER_FEATURES: u64 = VIRTIO_F_VERSION_1
    | VIRTIO_F_ACCESS_PLATFORM
    | VIRTIO_BLK_F_SIZE_MAX
    | VIRTIO_BLK_F_SEG_MAX
    | VIRTIO_BLK_F_RO
    | VIRTIO_BLK_F_BLK_SIZE
    | VIRTIO_BLK_F_FLUSH;

// struct virtio_blk_config (§5.2.4).
const CONFIG_CAPACITY: usize = 0;
const CONFIG_SIZE_MAX: usize = 8;
const CONFIG_SEG_MAX: usize = 12;
const CONFIG_BLK_SIZE: usize = 20;

// Request types and status values (§5.2.6).
/// Read sectors.
pub const VIRTIO_BLK_T_IN: u32 = 0;
/// Write sectors.
pub const VIRTIO_BLK_T_OUT: u32 = 1;
/// Flush the write cache.
pub const VIRTIO_BLK_T_FLUSH: u32 = 4;
/// Get the device ID string.
pub const VIRTIO_BLK_T_GET_ID: u32 = 8;
/// The device ID string GET_ID returns: up to 20 bytes, NUL-padded when shorter
/// (QEMU and Cloud Hypervisor fill it from the disk's `serial`).
pub const DEVICE_ID_BYTES: usize = 20;
/// The request succeeded.
pub const VIRTIO_BLK_S_OK: u8 = 0;
/// The request failed.
pub const VIRTIO_BLK_S_IOERR: u8 = 1;
/// The device does not support the request.
pub const VIRTIO_BLK_S_UNSUPP: u8 = 2;

/// Request headers address 512-byte sectors whatever the block size.
pub const SECTOR_SIZE: u64 = 512;
/// The request queue of a single-queue device.
pub const REQUEST_QUEUE: u16 = 0;
/// Bytes of data in one request at most: QEMU's block layer refuses requests
/// of 2 GiB and more.
pub const MAX_REQUEST_BYTES: u64 = 1 << 30;
/// A descriptor's length is 32 bits; without `size_max`, segments stay below.
const MAX_SEGMENT_BYTES: u64 = 0xFFFF_F000;
/// The status byte before the device answers; no valid status has this value.
const STATUS_PENDING: u8 = 0xFF;
/// Largest block size accepted from `blk_size`.
const MAX_BLOCK_SIZE: u32 = 64 * 1024;
/// A request's time limit is the platform's (for a small request) plus its data
/// at this rate, that of a slow network volume: a 128 MiB initrd read in one
/// request gets 16 s more, so a slow disk is not taken for a dead one.
pub const SLOW_DISK_BYTES_PER_S: u64 = 8 << 20;
/// What the device is called in messages until [`BlockDevice::set_name`].
const DEFAULT_NAME: &str = "virtio-blk";

/// struct virtio_blk_req's header and status byte, which the driver owns; the
/// data in between is the caller's buffer.
#[repr(C)]
struct RequestMemory {
    kind: u32,
    reserved: u32,
    sector: u64,
    status: u8,
}

const HEADER_LEN: u32 = 16;

struct Inner<T> {
    transport: T,
    queue: SplitQueue,
    /// Boxed so that its address stays put while the device uses it.
    request: Box<RequestMemory>,
    chain: Vec<Buffer>,
    /// Set after a reset (requested, or after a request timed out): the device
    /// no longer has a queue.
    stopped: bool,
}

/// The device limits read from its configuration.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Data descriptors per request.
    pub max_segments: usize,
    /// Bytes per data descriptor.
    pub segment_bytes: u64,
    /// Data bytes per request, a whole number of blocks.
    pub request_bytes: u64,
}

/// A virtio-blk device. Methods lock the device, so it can be shared.
pub struct VirtioBlk<T: Transport> {
    inner: Mutex<Inner<T>>,
    features: u64,
    block_size: u32,
    block_count: u64,
    limits: Limits,
    poll_limit: PollLimit,
    /// How messages name the device, e.g. "disk 0 (virtio-blk at PCI 00:03.0)".
    name: spin::Once<String>,
    /// Requests sent to the device, for the log and the benchmark.
    requests_sent: core::sync::atomic::AtomicU64,
}

/// What the device configuration says.
struct Config {
    capacity: u64,
    size_max: Option<u32>,
    seg_max: Option<u32>,
    blk_size: Option<u32>,
}

impl<T: Transport> VirtioBlk<T> {
    /// Initialises the device (§3.1.1): negotiates features, reads the
    /// configuration, sets up the request queue, and sets DRIVER_OK. `poll_limit`
    /// bounds the wait for each request.
    pub fn new(mut transport: T, poll_limit: PollLimit) -> Result<VirtioBlk<T>, Error> {
        let found = transport.device_type();
        if found != DEVICE_TYPE_BLOCK {
            return Err(Error::WrongDeviceType {
                expected: DEVICE_TYPE_BLOCK,
                found,
            });
        }
        let features = negotiate(&mut transport, DRIVER_FEATURES)?;
        let setup = Self::read_geometry(&transport, features).and_then(|geometry| {
            let queue = SplitQueue::setup(&mut transport, REQUEST_QUEUE, MAX_QUEUE_SIZE)?;
            Ok((geometry, queue))
        });
        let ((block_size, block_count, config), queue) = match setup {
            Ok(done) => done,
            Err(e) => {
                transport.set_status(ACKNOWLEDGE | DRIVER | FAILED);
                return Err(e);
            }
        };
        let Some(limits) = Self::request_limits(features, &config, queue.size(), block_size) else {
            transport.set_status(ACKNOWLEDGE | DRIVER | FAILED);
            return Err(Error::QueueUnavailable { queue: REQUEST_QUEUE });
        };
        transport.set_status(ACKNOWLEDGE | DRIVER | FEATURES_OK | DRIVER_OK);
        debug!("virtio-blk: {block_count} blocks of {block_size} bytes, features {features:#x}, {limits:?}");
        Ok(VirtioBlk {
            inner: Mutex::new(Inner {
                transport,
                queue,
                request: Box::new(RequestMemory {
                    kind: 0,
                    reserved: 0,
                    sector: 0,
                    status: STATUS_PENDING,
                }),
                chain: Vec::new(),
                stopped: false,
            }),
            features,
            block_size,
            block_count,
            limits,
            poll_limit,
            name: spin::Once::new(),
            requests_sent: core::sync::atomic::AtomicU64::new(0),
        })
    }

    /// Block size, block count and the raw limits from the configuration.
    fn read_geometry(transport: &T, features: u64) -> Result<(u32, u64, Config), Error> {
        let offered = |bit: u64| features & bit != 0;
        let config = read_config(transport, |t| Config {
            capacity: t.config_read64(CONFIG_CAPACITY),
            size_max: offered(VIRTIO_BLK_F_SIZE_MAX).then(|| t.config_read32(CONFIG_SIZE_MAX)),
            seg_max: offered(VIRTIO_BLK_F_SEG_MAX).then(|| t.config_read32(CONFIG_SEG_MAX)),
            blk_size: offered(VIRTIO_BLK_F_BLK_SIZE).then(|| t.config_read32(CONFIG_BLK_SIZE)),
        })?;
        let block_size = match config.blk_size {
            None => SECTOR_SIZE as u32,
            Some(size) if size.is_power_of_two() && (SECTOR_SIZE as u32..=MAX_BLOCK_SIZE).contains(&size) => size,
            Some(size) => {
                warn!("virtio-blk: ignoring blk_size {size}, using 512");
                SECTOR_SIZE as u32
            }
        };
        let block_count = config.capacity / (u64::from(block_size) / SECTOR_SIZE);
        Ok((block_size, block_count, config))
    }

    /// How large one request may be: data descriptors are limited by `seg_max`
    /// and by the queue (two descriptors go to header and status), each one by
    /// `size_max`. `None` if not even one block fits.
    fn request_limits(features: u64, config: &Config, queue_size: u16, block_size: u32) -> Option<Limits> {
        let queue_room = (queue_size as usize).checked_sub(2)?;
        let max_segments = match config.seg_max {
            Some(n) if n > 0 && features & VIRTIO_BLK_F_SEG_MAX != 0 => queue_room.min(n as usize),
            _ => queue_room,
        };
        let segment_bytes = match config.size_max {
            Some(n) if n > 0 => MAX_SEGMENT_BYTES.min(u64::from(n)),
            _ => MAX_SEGMENT_BYTES,
        };
        let bytes = (max_segments as u64 * segment_bytes).min(MAX_REQUEST_BYTES);
        let request_bytes = bytes - bytes % u64::from(block_size);
        (max_segments > 0 && request_bytes > 0).then_some(Limits {
            max_segments,
            segment_bytes,
            request_bytes,
        })
    }

    /// How messages name the device.
    fn name(&self) -> &str {
        self.name.get().map_or(DEFAULT_NAME, String::as_str)
    }

    /// The features both sides agreed on.
    pub fn features(&self) -> u64 {
        self.features
    }

    /// How many requests were sent to the device so far.
    pub fn requests_sent(&self) -> u64 {
        self.requests_sent.load(core::sync::atomic::Ordering::Relaxed)
    }

    /// Runs `f` with the transport (to ask where the device is, say).
    pub fn with_transport<R>(&self, f: impl FnOnce(&T) -> R) -> R {
        f(&self.inner.lock().transport)
    }

    /// The largest request the device accepts, as computed from its limits.
    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// Resets the device, so that it stops using firmware memory before the OS
    /// takes over (or before the device is dropped). Later requests fail.
    pub fn reset(&self) {
        let mut inner = self.inner.lock();
        inner.stopped = true;
        if let Err(e) = inner.transport.reset() {
            warn!("{}: {e}", self.name());
        }
    }

    /// Reads or writes `len` bytes at `address` starting at block `lba`, in as few
    /// requests as the limits allow.
    fn transfer(&self, kind: u32, lba: u64, address: u64, len: usize) -> Result<(), BlockError> {
        check_request(lba, len, self.block_size, self.block_count)?;
        let sectors_per_block = u64::from(self.block_size) / SECTOR_SIZE;
        let mut inner = self.inner.lock();
        let mut done = 0u64;
        while done < len as u64 {
            let chunk = (len as u64 - done).min(self.limits.request_bytes);
            let block = lba + done / u64::from(self.block_size);
            let data = Some((address + done, chunk));
            self.submit(&mut inner, kind, block, block * sectors_per_block, data)?;
            done += chunk;
        }
        Ok(())
    }

    /// Sends one request and waits for its status. `lba` is for error reports.
    fn submit(
        &self,
        inner: &mut Inner<T>,
        kind: u32,
        lba: u64,
        sector: u64,
        data: Option<(u64, u64)>,
    ) -> Result<(), BlockError> {
        if inner.stopped {
            return Err(BlockError::Timeout { lba });
        }
        let request: *mut RequestMemory = &mut *inner.request;
        // SAFETY: `request` points at our boxed request memory; no request is in
        // flight (we hold the lock and wait for each one), so the device does not
        // access it now. Volatile: the device reads it after the notification.
        unsafe {
            addr_of_mut!((*request).kind).write_volatile(kind.to_le());
            addr_of_mut!((*request).reserved).write_volatile(0);
            addr_of_mut!((*request).sector).write_volatile(sector.to_le());
            addr_of_mut!((*request).status).write_volatile(STATUS_PENDING);
        }
        let device_writable = matches!(kind, VIRTIO_BLK_T_IN | VIRTIO_BLK_T_GET_ID);
        inner.chain.clear();
        inner.chain.push(Buffer {
            address: request as u64,
            len: HEADER_LEN,
            device_writable: false,
        });
        if let Some((address, len)) = data {
            let mut offset = 0;
            while offset < len {
                let part = (len - offset).min(self.limits.segment_bytes);
                inner.chain.push(Buffer {
                    address: address + offset,
                    len: part as u32,
                    device_writable,
                });
                offset += part;
            }
        }
        inner.chain.push(Buffer {
            // SAFETY: a field address inside the same allocation; nothing is read.
            address: unsafe { addr_of_mut!((*request).status) } as u64,
            len: 1,
            device_writable: true,
        });
        let head = match inner.queue.add(&inner.chain) {
            Ok(head) => head,
            Err(e) => return Err(self.fail(inner, lba, e)),
        };
        self.requests_sent.fetch_add(1, core::sync::atomic::Ordering::Relaxed);
        inner.transport.notify(REQUEST_QUEUE);
        let bytes = data.map_or(0, |(_, len)| len);
        let limit = self
            .poll_limit
            .extended_by_ms(bytes.saturating_mul(1000) / SLOW_DISK_BYTES_PER_S);
        let mut deadline = limit.start();
        loop {
            match inner.queue.pop_used() {
                Ok(Some(used)) if used.head == head => break,
                Ok(Some(used)) => debug!("{}: stray used entry {}", self.name(), used.head),
                Ok(None) if deadline.expired() => {
                    warn!(
                        "{}: {} at LBA {lba} did not complete in {limit}; the device is reset and not used again",
                        self.name(),
                        request_name(kind)
                    );
                    inner.stopped = true;
                    // The reset also stops the device from writing into the
                    // caller's buffer later.
                    let _ = inner.transport.reset();
                    return Err(BlockError::Timeout { lba });
                }
                Ok(None) => core::hint::spin_loop(),
                Err(e) => return Err(self.fail(inner, lba, e)),
            }
        }
        // SAFETY: the device has returned the chain, so it no longer writes the
        // status byte; volatile because the compiler did not see its write.
        let status = unsafe { addr_of_mut!((*request).status).read_volatile() };
        match status {
            VIRTIO_BLK_S_OK => Ok(()),
            status => {
                let what = request_name(kind);
                let why = match status {
                    VIRTIO_BLK_S_IOERR => "I/O error (VIRTIO_BLK_S_IOERR)",
                    VIRTIO_BLK_S_UNSUPP => "unsupported (VIRTIO_BLK_S_UNSUPP)",
                    _ => "unknown status",
                };
                warn!("{}: {what} at LBA {lba} failed: {why}, status {status}", self.name());
                Err(BlockError::DeviceError { lba, status })
            }
        }
    }

    /// A queue error: the device misbehaved, so stop it.
    fn fail(&self, inner: &mut Inner<T>, lba: u64, error: Error) -> BlockError {
        warn!("{}: {error}; resetting the device", self.name());
        inner.stopped = true;
        let _ = inner.transport.reset();
        BlockError::DeviceError {
            lba,
            status: STATUS_PENDING,
        }
    }
}

/// A request type as messages name it.
fn request_name(kind: u32) -> &'static str {
    match kind {
        VIRTIO_BLK_T_IN => "read",
        VIRTIO_BLK_T_OUT => "write",
        VIRTIO_BLK_T_FLUSH => "flush",
        VIRTIO_BLK_T_GET_ID => "device ID request",
        _ => "request",
    }
}

impl<T: Transport> Drop for VirtioBlk<T> {
    /// The device must not use the rings after they are freed.
    fn drop(&mut self) {
        let inner = self.inner.get_mut();
        if !inner.stopped {
            let _ = inner.transport.reset();
        }
    }
}

impl<T: Transport + Send> BlockDevice for VirtioBlk<T> {
    fn block_size(&self) -> u32 {
        self.block_size
    }

    fn block_count(&self) -> u64 {
        self.block_count
    }

    fn read_only(&self) -> bool {
        self.features & VIRTIO_BLK_F_RO != 0
    }

    fn set_name(&self, name: &str) {
        self.name.call_once(|| String::from(name));
    }

    fn read_blocks(&self, lba: u64, buf: &mut [u8]) -> Result<(), BlockError> {
        let address = buf.as_mut_ptr() as u64;
        self.transfer(VIRTIO_BLK_T_IN, lba, address, buf.len())
    }

    fn write_blocks(&self, lba: u64, buf: &[u8]) -> Result<(), BlockError> {
        if self.read_only() {
            return Err(BlockError::ReadOnly);
        }
        self.transfer(VIRTIO_BLK_T_OUT, lba, buf.as_ptr() as u64, buf.len())
    }

    fn flush(&self) -> Result<(), BlockError> {
        if self.features & VIRTIO_BLK_F_FLUSH == 0 {
            return Ok(());
        }
        let mut inner = self.inner.lock();
        self.submit(&mut inner, VIRTIO_BLK_T_FLUSH, 0, 0, None)
    }

    /// The device ID string (VIRTIO_BLK_T_GET_ID, §5.2.6): asked on each call,
    /// into a heap buffer the device writes (memory is identity-mapped).
    fn device_id(&self) -> Result<[u8; DEVICE_ID_BYTES], BlockError> {
        let mut id = Box::new([0u8; DEVICE_ID_BYTES]);
        let data = Some((id.as_mut_ptr() as u64, DEVICE_ID_BYTES as u64));
        let mut inner = self.inner.lock();
        match self.submit(&mut inner, VIRTIO_BLK_T_GET_ID, 0, 0, data) {
            Ok(()) => Ok(*id),
            // A device without an ID answers UNSUPP; an I/O error stays an error.
            Err(BlockError::DeviceError {
                status: VIRTIO_BLK_S_UNSUPP,
                ..
            }) => Err(BlockError::Unsupported),
            Err(e) => Err(e),
        }
    }
}

#[cfg(test)]
mod tests;
