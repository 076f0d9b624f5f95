//! Model virtio devices for host tests: block ([`ModelBlk`]), entropy
//! ([`ModelRng`]) and input ([`ModelInput`]). Each implements [`Transport`] over in-memory state; the block
//! model, when notified, walks the real descriptor chains the driver
//! built in this process's memory, serves them from a `Vec<u8>` disk, and fills
//! in the used ring, checking the device limits on the way.

use super::blk::{VIRTIO_BLK_F_SEG_MAX, VIRTIO_BLK_F_SIZE_MAX};
use super::blk::{VIRTIO_BLK_S_IOERR, VIRTIO_BLK_S_OK, VIRTIO_BLK_S_UNSUPP};
use super::blk::{VIRTIO_BLK_T_FLUSH, VIRTIO_BLK_T_GET_ID, VIRTIO_BLK_T_IN, VIRTIO_BLK_T_OUT};
use super::queue::{VIRTQ_DESC_F_NEXT, VIRTQ_DESC_F_WRITE};
use super::{QueueAreas, Transport, DEVICE_TYPE_BLOCK, FEATURES_OK, VIRTIO_F_VERSION_1};
use std::format;
use std::string::String;
use std::sync::{Arc, Mutex};
use std::vec::Vec;

/// One request as the device saw it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SeenRequest {
    pub kind: u32,
    pub sector: u64,
    /// Lengths of the data descriptors.
    pub segments: Vec<u32>,
}

pub struct ModelState {
    pub disk: Vec<u8>,
    pub offered: u64,
    pub driver_features: u64,
    pub status: u8,
    pub queue_max: u16,
    pub seg_max: u32,
    pub size_max: u32,
    pub blk_size: u32,
    /// What GET_ID answers (`None`: the request is unsupported).
    pub device_id: Option<Vec<u8>>,
    /// Answer requests at all (false: a device that hangs).
    pub responds: bool,
    /// Status to return instead of the real outcome.
    pub forced_status: Option<u8>,
    pub requests: Vec<SeenRequest>,
    /// Rule breaks seen in the driver's requests.
    pub violations: Vec<String>,
    pub queue_size: u16,
    pub queue_enabled: bool,
    pub areas: Option<QueueAreas>,
    pub notifications: u32,
    pub resets: u32,
    last_avail: u16,
}

impl ModelState {
    fn config(&self) -> Vec<u8> {
        let mut config = std::vec![0u8; 60];
        let capacity = (self.disk.len() / 512) as u64;
        config[0..8].copy_from_slice(&capacity.to_le_bytes());
        config[8..12].copy_from_slice(&self.size_max.to_le_bytes());
        config[12..16].copy_from_slice(&self.seg_max.to_le_bytes());
        config[20..24].copy_from_slice(&self.blk_size.to_le_bytes());
        config
    }
}

#[derive(Clone)]
pub struct ModelBlk {
    pub state: Arc<Mutex<ModelState>>,
}

impl ModelBlk {
    /// A device over `disk` offering `features` (VERSION_1 is not implied).
    pub fn new(disk: Vec<u8>, features: u64) -> ModelBlk {
        ModelBlk {
            state: Arc::new(Mutex::new(ModelState {
                disk,
                offered: features,
                driver_features: 0,
                status: 0,
                queue_max: 256,
                seg_max: 126,
                size_max: 0,
                blk_size: 512,
                device_id: None,
                responds: true,
                forced_status: None,
                requests: Vec::new(),
                violations: Vec::new(),
                queue_size: 0,
                queue_enabled: false,
                areas: None,
                notifications: 0,
                resets: 0,
                last_avail: 0,
            })),
        }
    }

    pub fn with<R>(&self, f: impl FnOnce(&mut ModelState) -> R) -> R {
        f(&mut self.state.lock().unwrap())
    }
}

// SAFETY (for the helpers below): the driver under test hands the device
// addresses of live memory in this process (its rings and the caller's buffers),
// and keeps them alive until the chain is returned, which happens inside notify.
fn read_u16(address: u64) -> u16 {
    // SAFETY: see above.
    unsafe { (address as *const u16).read_volatile() }
}

fn read_u32(address: u64) -> u32 {
    // SAFETY: see above.
    unsafe { (address as *const u32).read_volatile() }
}

fn read_u64(address: u64) -> u64 {
    // SAFETY: see above.
    unsafe { (address as *const u64).read_volatile() }
}

fn write_u16(address: u64, value: u16) {
    // SAFETY: see above.
    unsafe { (address as *mut u16).write_volatile(value) }
}

fn write_u32(address: u64, value: u32) {
    // SAFETY: see above.
    unsafe { (address as *mut u32).write_volatile(value) }
}

fn copy_to_guest(address: u64, bytes: &[u8]) {
    // SAFETY: see above; the chain says the device may write `len` bytes there.
    unsafe { core::ptr::copy_nonoverlapping(bytes.as_ptr(), address as *mut u8, bytes.len()) }
}

fn copy_from_guest(address: u64, len: usize) -> Vec<u8> {
    // SAFETY: see above.
    unsafe { core::slice::from_raw_parts(address as *const u8, len) }.to_vec()
}

#[derive(Clone, Copy)]
struct Desc {
    address: u64,
    len: u32,
    flags: u16,
}

impl ModelState {
    fn serve_queue(&mut self) {
        let Some(areas) = self.areas else {
            self.violations.push("notified before queue setup".into());
            return;
        };
        if !self.queue_enabled || !self.responds {
            return;
        }
        let size = self.queue_size;
        let avail_idx = read_u16(areas.driver + 2);
        while self.last_avail != avail_idx {
            let head = read_u16(areas.driver + 4 + 2 * u64::from(self.last_avail % size));
            self.last_avail = self.last_avail.wrapping_add(1);
            let mut chain = Vec::new();
            let mut index = head;
            loop {
                if chain.len() == size as usize || index >= size {
                    self.violations.push(format!("bad chain from head {head}"));
                    return;
                }
                let at = areas.descriptors + 16 * u64::from(index);
                let desc = Desc {
                    address: read_u64(at),
                    len: read_u32(at + 8),
                    flags: read_u16(at + 12),
                };
                chain.push(desc);
                if desc.flags & VIRTQ_DESC_F_NEXT == 0 {
                    break;
                }
                index = read_u16(at + 14);
            }
            let written = self.serve_request(&chain);
            let used_idx = read_u16(areas.device + 2);
            let element = areas.device + 4 + 8 * u64::from(used_idx % size);
            write_u32(element, u32::from(head));
            write_u32(element + 4, written);
            write_u16(areas.device + 2, used_idx.wrapping_add(1));
        }
    }

    /// Serves one chain; returns the bytes written into it.
    fn serve_request(&mut self, chain: &[Desc]) -> u32 {
        let (Some(header), Some(status)) = (chain.first(), chain.last()) else {
            return 0;
        };
        if chain.len() < 2 || header.len != 16 || header.flags & VIRTQ_DESC_F_WRITE != 0 {
            self.violations.push("bad request header".into());
            return 0;
        }
        if status.len != 1 || status.flags & VIRTQ_DESC_F_WRITE == 0 {
            self.violations.push("bad status descriptor".into());
            return 0;
        }
        let kind = read_u32(header.address);
        let sector = read_u64(header.address + 8);
        let data = &chain[1..chain.len() - 1];
        self.requests.push(SeenRequest {
            kind,
            sector,
            segments: data.iter().map(|d| d.len).collect(),
        });
        if self.driver_features & VIRTIO_BLK_F_SEG_MAX != 0 && data.len() > self.seg_max as usize {
            self.violations
                .push(format!("{} segments > seg_max {}", data.len(), self.seg_max));
        }
        if self.driver_features & VIRTIO_BLK_F_SIZE_MAX != 0 && data.iter().any(|d| d.len > self.size_max) {
            self.violations
                .push(format!("segment larger than size_max {}", self.size_max));
        }
        let total: u64 = data.iter().map(|d| u64::from(d.len)).sum();
        let start = sector * 512;
        let in_range = start + total <= self.disk.len() as u64;
        let mut written = 1;
        let outcome = match kind {
            VIRTIO_BLK_T_IN | VIRTIO_BLK_T_OUT if !in_range => VIRTIO_BLK_S_IOERR,
            VIRTIO_BLK_T_IN => {
                let mut at = start as usize;
                for d in data {
                    if d.flags & VIRTQ_DESC_F_WRITE == 0 {
                        self.violations.push("read into a device-readable buffer".into());
                    }
                    copy_to_guest(d.address, &self.disk[at..at + d.len as usize]);
                    at += d.len as usize;
                    written += d.len;
                }
                VIRTIO_BLK_S_OK
            }
            VIRTIO_BLK_T_OUT => {
                let mut at = start as usize;
                for d in data {
                    let bytes = copy_from_guest(d.address, d.len as usize);
                    self.disk[at..at + bytes.len()].copy_from_slice(&bytes);
                    at += bytes.len();
                }
                VIRTIO_BLK_S_OK
            }
            VIRTIO_BLK_T_FLUSH => VIRTIO_BLK_S_OK,
            VIRTIO_BLK_T_GET_ID => match (&self.device_id, data) {
                (Some(id), [d]) if d.flags & VIRTQ_DESC_F_WRITE != 0 => {
                    let mut bytes = id.clone();
                    bytes.resize(d.len as usize, 0);
                    copy_to_guest(d.address, &bytes);
                    written += d.len;
                    VIRTIO_BLK_S_OK
                }
                _ => VIRTIO_BLK_S_UNSUPP,
            },
            _ => VIRTIO_BLK_S_UNSUPP,
        };
        let outcome = self.forced_status.unwrap_or(outcome);
        copy_to_guest(status.address, &[outcome]);
        written
    }
}

impl Transport for ModelBlk {
    fn device_type(&self) -> u32 {
        DEVICE_TYPE_BLOCK
    }

    fn status(&self) -> u8 {
        self.with(|s| s.status)
    }

    fn set_status(&mut self, status: u8) {
        self.with(|s| {
            if status == 0 {
                s.resets += 1;
                s.queue_enabled = false;
                s.areas = None;
                s.last_avail = 0;
                s.driver_features = 0;
                s.status = 0;
                return;
            }
            let mut status = status;
            // §2.2.2: the device refuses features it did not offer.
            let new_features_ok = status & FEATURES_OK != 0 && s.status & FEATURES_OK == 0;
            if new_features_ok && (s.driver_features & !s.offered != 0 || s.driver_features & VIRTIO_F_VERSION_1 == 0) {
                status &= !FEATURES_OK;
            }
            s.status = status;
        })
    }

    fn device_features(&mut self) -> u64 {
        self.with(|s| s.offered)
    }

    fn set_driver_features(&mut self, features: u64) {
        self.with(|s| s.driver_features = features)
    }

    fn select_queue(&mut self, queue: u16) {
        if queue != 0 {
            self.with(|s| s.violations.push(format!("selected queue {queue}")));
        }
    }

    fn queue_max_size(&self) -> u16 {
        self.with(|s| s.queue_max)
    }

    fn set_queue_size(&mut self, size: u16) {
        self.with(|s| {
            if size > s.queue_max || !size.is_power_of_two() {
                s.violations.push(format!("queue size {size}"));
            }
            s.queue_size = size;
        })
    }

    fn set_queue_areas(&mut self, areas: &QueueAreas) {
        let areas = *areas;
        self.with(|s| s.areas = Some(areas))
    }

    fn queue_enabled(&self) -> bool {
        self.with(|s| s.queue_enabled)
    }

    fn enable_queue(&mut self) {
        self.with(|s| s.queue_enabled = true)
    }

    fn notify(&mut self, queue: u16) {
        self.with(|s| {
            s.notifications += 1;
            if queue == 0 {
                s.serve_queue();
            }
        })
    }

    fn config_generation(&self) -> u32 {
        0
    }

    fn config_read8(&self, offset: usize) -> u8 {
        self.with(|s| s.config()[offset])
    }

    fn config_read16(&self, offset: usize) -> u16 {
        self.with(|s| {
            let c = s.config();
            u16::from_le_bytes([c[offset], c[offset + 1]])
        })
    }

    fn config_read32(&self, offset: usize) -> u32 {
        self.with(|s| {
            let c = s.config();
            u32::from_le_bytes([c[offset], c[offset + 1], c[offset + 2], c[offset + 3]])
        })
    }
}

/// How the model entropy device answers a request.
#[derive(Clone, Copy, Debug)]
pub enum Answer {
    /// Writes the next bytes of a running counter, at most this many per request.
    Fill { at_most: u32 },
    /// Never returns the buffer.
    Never,
    /// Returns the buffer with no bytes written.
    Empty,
    /// Claims one byte more than the buffer holds (writing none).
    Overlong,
    /// Returns a descriptor index that is not in flight.
    WrongHead,
}

pub struct RngState {
    pub device_type: u32,
    pub offered: u64,
    pub driver_features: u64,
    pub status: u8,
    pub queue_max: u16,
    pub queue_size: u16,
    pub queue_enabled: bool,
    pub areas: Option<QueueAreas>,
    pub answer: Answer,
    /// Buffer lengths of the requests seen.
    pub requests: Vec<u32>,
    pub violations: Vec<String>,
    pub resets: u32,
    counter: u8,
    last_avail: u16,
}

/// A model virtio entropy device (virtio 1.2 §5.4): it answers each request
/// when notified, as [`ModelRng::with`]'s [`Answer`] says.
#[derive(Clone)]
pub struct ModelRng {
    pub state: Arc<Mutex<RngState>>,
}

impl ModelRng {
    pub fn new(answer: Answer) -> ModelRng {
        ModelRng {
            state: Arc::new(Mutex::new(RngState {
                device_type: super::DEVICE_TYPE_ENTROPY,
                offered: VIRTIO_F_VERSION_1,
                driver_features: 0,
                status: 0,
                queue_max: 64,
                queue_size: 0,
                queue_enabled: false,
                areas: None,
                answer,
                requests: Vec::new(),
                violations: Vec::new(),
                resets: 0,
                counter: 0,
                last_avail: 0,
            })),
        }
    }

    pub fn with<R>(&self, f: impl FnOnce(&mut RngState) -> R) -> R {
        f(&mut self.state.lock().unwrap())
    }
}

impl RngState {
    fn serve_queue(&mut self) {
        let Some(areas) = self.areas.filter(|_| self.queue_enabled) else {
            self.violations.push("notified without a queue".into());
            return;
        };
        let size = self.queue_size;
        let avail_idx = read_u16(areas.driver + 2);
        while self.last_avail != avail_idx {
            let head = read_u16(areas.driver + 4 + 2 * u64::from(self.last_avail % size));
            self.last_avail = self.last_avail.wrapping_add(1);
            let at = areas.descriptors + 16 * u64::from(head);
            let (address, len, flags) = (read_u64(at), read_u32(at + 8), read_u16(at + 12));
            self.requests.push(len);
            if flags & VIRTQ_DESC_F_WRITE == 0 || flags & VIRTQ_DESC_F_NEXT != 0 {
                self.violations.push(format!("descriptor flags {flags:#x}"));
            }
            let (id, written) = match self.answer {
                Answer::Never => return,
                Answer::Empty => (u32::from(head), 0),
                Answer::Overlong => (u32::from(head), len + 1),
                Answer::WrongHead => (u32::from(head) + 5, 1),
                Answer::Fill { at_most } => {
                    let n = len.min(at_most);
                    let bytes: Vec<u8> = (0..n)
                        .map(|_| {
                            let b = self.counter;
                            self.counter = self.counter.wrapping_add(1);
                            b
                        })
                        .collect();
                    copy_to_guest(address, &bytes);
                    (u32::from(head), n)
                }
            };
            let used_idx = read_u16(areas.device + 2);
            let element = areas.device + 4 + 8 * u64::from(used_idx % size);
            write_u32(element, id);
            write_u32(element + 4, written);
            write_u16(areas.device + 2, used_idx.wrapping_add(1));
        }
    }
}

impl Transport for ModelRng {
    fn device_type(&self) -> u32 {
        self.with(|s| s.device_type)
    }

    fn status(&self) -> u8 {
        self.with(|s| s.status)
    }

    fn set_status(&mut self, status: u8) {
        self.with(|s| {
            if status == 0 {
                s.resets += 1;
                s.queue_enabled = false;
                s.areas = None;
                s.last_avail = 0;
                s.driver_features = 0;
                s.status = 0;
                return;
            }
            let mut status = status;
            let new_features_ok = status & FEATURES_OK != 0 && s.status & FEATURES_OK == 0;
            if new_features_ok && s.driver_features & !s.offered != 0 {
                status &= !FEATURES_OK;
            }
            s.status = status;
        })
    }

    fn device_features(&mut self) -> u64 {
        self.with(|s| s.offered)
    }

    fn set_driver_features(&mut self, features: u64) {
        self.with(|s| s.driver_features = features)
    }

    fn select_queue(&mut self, queue: u16) {
        if queue != 0 {
            self.with(|s| s.violations.push(format!("selected queue {queue}")));
        }
    }

    fn queue_max_size(&self) -> u16 {
        self.with(|s| s.queue_max)
    }

    fn set_queue_size(&mut self, size: u16) {
        self.with(|s| s.queue_size = size)
    }

    fn set_queue_areas(&mut self, areas: &QueueAreas) {
        let areas = *areas;
        self.with(|s| s.areas = Some(areas))
    }

    fn queue_enabled(&self) -> bool {
        self.with(|s| s.queue_enabled)
    }

    fn enable_queue(&mut self) {
        self.with(|s| s.queue_enabled = true)
    }

    fn notify(&mut self, _queue: u16) {
        self.with(|s| s.serve_queue())
    }

    fn config_generation(&self) -> u32 {
        0
    }

    // The entropy device has no configuration (§5.4.4).
    fn config_read8(&self, _offset: usize) -> u8 {
        0
    }

    fn config_read16(&self, _offset: usize) -> u16 {
        0
    }

    fn config_read32(&self, _offset: usize) -> u32 {
        0
    }
}

pub struct InputState {
    pub device_type: u32,
    pub status: u8,
    pub queue_size: u16,
    pub queue_max: u16,
    pub queue_enabled: bool,
    pub areas: Option<QueueAreas>,
    /// Buffers the driver made available and the device has not used:
    /// (head, address, length).
    pub available: std::collections::VecDeque<(u16, u64, u32)>,
    /// Events waiting for a buffer.
    pub pending: std::collections::VecDeque<[u8; 8]>,
    last_avail: u16,
}

/// A model virtio input device (virtio 1.2 §5.8): events sent with
/// [`ModelInput::send`] go into the buffers the driver offered, as many as
/// there are; the rest wait for the next notify.
#[derive(Clone)]
pub struct ModelInput {
    pub state: Arc<Mutex<InputState>>,
}

impl ModelInput {
    pub fn new(queue_max: u16) -> ModelInput {
        ModelInput {
            state: Arc::new(Mutex::new(InputState {
                device_type: super::DEVICE_TYPE_INPUT,
                status: 0,
                queue_size: 0,
                queue_max,
                queue_enabled: false,
                areas: None,
                available: Default::default(),
                pending: Default::default(),
                last_avail: 0,
            })),
        }
    }

    pub fn with<R>(&self, f: impl FnOnce(&mut InputState) -> R) -> R {
        f(&mut self.state.lock().unwrap())
    }

    pub fn send(&self, events: &[[u8; 8]]) {
        self.with(|s| {
            s.pending.extend(events.iter().copied());
            s.deliver();
        })
    }
}

impl InputState {
    fn collect_available(&mut self) {
        let Some(areas) = self.areas.filter(|_| self.queue_enabled) else {
            return;
        };
        let size = self.queue_size;
        let avail_idx = read_u16(areas.driver + 2);
        while self.last_avail != avail_idx {
            let head = read_u16(areas.driver + 4 + 2 * u64::from(self.last_avail % size));
            self.last_avail = self.last_avail.wrapping_add(1);
            let at = areas.descriptors + 16 * u64::from(head);
            self.available.push_back((head, read_u64(at), read_u32(at + 8)));
        }
    }

    fn deliver(&mut self) {
        if self.status & super::DRIVER_OK == 0 {
            return;
        }
        let Some(areas) = self.areas else { return };
        while !self.pending.is_empty() {
            let Some((head, address, len)) = self.available.pop_front() else {
                break;
            };
            let event = self.pending.pop_front().unwrap();
            assert!(len >= 8, "event buffer of {len} bytes");
            copy_to_guest(address, &event);
            let used_idx = read_u16(areas.device + 2);
            let element = areas.device + 4 + 8 * u64::from(used_idx % self.queue_size);
            write_u32(element, u32::from(head));
            write_u32(element + 4, 8);
            write_u16(areas.device + 2, used_idx.wrapping_add(1));
        }
    }
}

impl Transport for ModelInput {
    fn device_type(&self) -> u32 {
        self.with(|s| s.device_type)
    }

    fn status(&self) -> u8 {
        self.with(|s| s.status)
    }

    fn set_status(&mut self, status: u8) {
        self.with(|s| {
            s.status = status;
            if status == 0 {
                s.queue_enabled = false;
                s.areas = None;
                s.available.clear();
                s.last_avail = 0;
            }
        })
    }

    fn device_features(&mut self) -> u64 {
        VIRTIO_F_VERSION_1
    }

    fn set_driver_features(&mut self, _features: u64) {}

    fn select_queue(&mut self, _queue: u16) {}

    fn queue_max_size(&self) -> u16 {
        self.with(|s| s.queue_max)
    }

    fn set_queue_size(&mut self, size: u16) {
        self.with(|s| s.queue_size = size)
    }

    fn set_queue_areas(&mut self, areas: &QueueAreas) {
        let areas = *areas;
        self.with(|s| s.areas = Some(areas))
    }

    fn queue_enabled(&self) -> bool {
        self.with(|s| s.queue_enabled)
    }

    fn enable_queue(&mut self) {
        self.with(|s| s.queue_enabled = true)
    }

    fn notify(&mut self, _queue: u16) {
        self.with(|s| {
            s.collect_available();
            s.deliver();
        })
    }

    fn config_generation(&self) -> u32 {
        0
    }

    fn config_read8(&self, _offset: usize) -> u8 {
        0
    }

    fn config_read16(&self, _offset: usize) -> u16 {
        0
    }

    fn config_read32(&self, _offset: usize) -> u32 {
        0
    }
}
