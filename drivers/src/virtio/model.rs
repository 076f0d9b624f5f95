//! Model virtio devices for host tests: block ([`ModelBlk`]), entropy
//! ([`ModelRng`]) and input ([`ModelInput`]). They share one [`Transport`]
//! over in-memory state ([`ModelState`]): status, feature negotiation and the
//! one queue; what each device does when notified is its [`ModelDevice`]. The
//! block model walks the real descriptor chains the driver built in this
//! process's memory, serves them from a `Vec<u8>` disk, and fills in the used
//! ring, checking the device limits on the way.

use super::blk::{VIRTIO_BLK_F_SEG_MAX, VIRTIO_BLK_F_SIZE_MAX};
use super::blk::{VIRTIO_BLK_S_IOERR, VIRTIO_BLK_S_OK, VIRTIO_BLK_S_UNSUPP};
use super::blk::{VIRTIO_BLK_T_FLUSH, VIRTIO_BLK_T_GET_ID, VIRTIO_BLK_T_IN, VIRTIO_BLK_T_OUT};
use super::queue::{VIRTQ_DESC_F_NEXT, VIRTQ_DESC_F_WRITE};
use super::{QueueAreas, Transport, DEVICE_TYPE_BLOCK, FEATURES_OK, VIRTIO_F_VERSION_1};
use std::collections::VecDeque;
use std::format;
use std::string::String;
use std::sync::{Arc, Mutex};
use std::vec::Vec;

/// What a model device adds to the transport state all models share.
pub trait ModelDevice: Sized {
    /// The device configuration space (§4.1.4.6); reads past it give 0.
    fn config(&self) -> Vec<u8> {
        Vec::new()
    }
    /// What the device forgets when the driver resets it, beyond the queue.
    fn reset(&mut self) {}
    /// The driver notified `queue`.
    fn notified(state: &mut ModelState<Self>, queue: u16);
}

/// A model device's state: the transport's registers and the one queue, and
/// the device's own part in `device`.
pub struct ModelState<D> {
    pub device_type: u32,
    pub offered: u64,
    pub driver_features: u64,
    pub status: u8,
    pub queue_max: u16,
    pub queue_size: u16,
    pub queue_enabled: bool,
    pub areas: Option<QueueAreas>,
    pub notifications: u32,
    pub resets: u32,
    /// Rule breaks seen in what the driver did.
    pub violations: Vec<String>,
    last_avail: u16,
    pub device: D,
}

/// A model device, shared between the test and the driver under test.
pub struct Model<D> {
    pub state: Arc<Mutex<ModelState<D>>>,
}

impl<D> Clone for Model<D> {
    fn clone(&self) -> Self {
        Model {
            state: self.state.clone(),
        }
    }
}

impl<D> Model<D> {
    /// A device of `device_type` offering `offered` features, with a queue of
    /// at most `queue_max` entries.
    fn with_device(device_type: u32, offered: u64, queue_max: u16, device: D) -> Model<D> {
        Model {
            state: Arc::new(Mutex::new(ModelState {
                device_type,
                offered,
                driver_features: 0,
                status: 0,
                queue_max,
                queue_size: 0,
                queue_enabled: false,
                areas: None,
                notifications: 0,
                resets: 0,
                violations: Vec::new(),
                last_avail: 0,
                device,
            })),
        }
    }

    pub fn with<R>(&self, f: impl FnOnce(&mut ModelState<D>) -> R) -> R {
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

/// One descriptor of a chain.
#[derive(Clone, Copy)]
struct Desc {
    address: u64,
    len: u32,
    flags: u16,
}

impl<D> ModelState<D> {
    /// The queue's rings, once the driver has set them up and enabled it.
    fn live_queue(&self) -> Option<QueueAreas> {
        self.areas.filter(|_| self.queue_enabled)
    }

    /// The head of the next chain the driver made available, if any.
    fn next_available(&mut self, areas: &QueueAreas) -> Option<u16> {
        let avail_idx = read_u16(areas.driver + 2);
        if self.last_avail == avail_idx {
            return None;
        }
        let slot = u64::from(self.last_avail % self.queue_size);
        self.last_avail = self.last_avail.wrapping_add(1);
        Some(read_u16(areas.driver + 4 + 2 * slot))
    }

    /// The descriptor at `index` of the table.
    fn descriptor(&self, areas: &QueueAreas, index: u16) -> Desc {
        let at = areas.descriptors + 16 * u64::from(index);
        Desc {
            address: read_u64(at),
            len: read_u32(at + 8),
            flags: read_u16(at + 12),
        }
    }

    /// The `next` field of the descriptor at `index`.
    fn next_index(&self, areas: &QueueAreas, index: u16) -> u16 {
        read_u16(areas.descriptors + 16 * u64::from(index) + 14)
    }

    /// Returns chain `id` to the driver with `written` bytes in it.
    fn put_used(&self, areas: &QueueAreas, id: u32, written: u32) {
        let used_idx = read_u16(areas.device + 2);
        let element = areas.device + 4 + 8 * u64::from(used_idx % self.queue_size);
        write_u32(element, id);
        write_u32(element + 4, written);
        write_u16(areas.device + 2, used_idx.wrapping_add(1));
    }
}

impl<D: ModelDevice> Model<D> {
    fn config_bytes<const N: usize>(&self, offset: usize) -> [u8; N] {
        let config = self.with(|s| s.device.config());
        core::array::from_fn(|i| config.get(offset + i).copied().unwrap_or(0))
    }
}

impl<D: ModelDevice> Transport for Model<D> {
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
                s.device.reset();
                return;
            }
            let mut status = status;
            // §2.2.2: the device refuses features it did not offer, and a
            // driver that does not take VIRTIO_F_VERSION_1.
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
            D::notified(s, queue);
        })
    }

    fn config_generation(&self) -> u32 {
        0
    }

    fn config_read8(&self, offset: usize) -> u8 {
        u8::from_le_bytes(self.config_bytes(offset))
    }

    fn config_read16(&self, offset: usize) -> u16 {
        u16::from_le_bytes(self.config_bytes(offset))
    }

    fn config_read32(&self, offset: usize) -> u32 {
        u32::from_le_bytes(self.config_bytes(offset))
    }
}

/// One request as the block device saw it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SeenRequest {
    pub kind: u32,
    pub sector: u64,
    /// Lengths of the data descriptors.
    pub segments: Vec<u32>,
}

/// A model virtio block device (virtio 1.2 §5.2).
pub struct Blk {
    pub disk: Vec<u8>,
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
}

/// The model block device.
pub type ModelBlk = Model<Blk>;

impl ModelBlk {
    /// A device over `disk` offering `features` (VERSION_1 is not implied).
    pub fn new(disk: Vec<u8>, features: u64) -> ModelBlk {
        let blk = Blk {
            disk,
            seg_max: 126,
            size_max: 0,
            blk_size: 512,
            device_id: None,
            responds: true,
            forced_status: None,
            requests: Vec::new(),
        };
        Model::with_device(DEVICE_TYPE_BLOCK, features, 256, blk)
    }
}

impl ModelDevice for Blk {
    fn config(&self) -> Vec<u8> {
        let mut config = std::vec![0u8; 60];
        let capacity = (self.disk.len() / 512) as u64;
        config[0..8].copy_from_slice(&capacity.to_le_bytes());
        config[8..12].copy_from_slice(&self.size_max.to_le_bytes());
        config[12..16].copy_from_slice(&self.seg_max.to_le_bytes());
        config[20..24].copy_from_slice(&self.blk_size.to_le_bytes());
        config
    }

    fn notified(state: &mut ModelState<Blk>, queue: u16) {
        if queue == 0 {
            state.serve_queue();
        }
    }
}

impl ModelState<Blk> {
    fn serve_queue(&mut self) {
        let Some(areas) = self.areas else {
            self.violations.push("notified before queue setup".into());
            return;
        };
        if !self.queue_enabled || !self.device.responds {
            return;
        }
        let size = self.queue_size;
        while let Some(head) = self.next_available(&areas) {
            let mut chain = Vec::new();
            let mut index = head;
            loop {
                if chain.len() == size as usize || index >= size {
                    self.violations.push(format!("bad chain from head {head}"));
                    return;
                }
                let desc = self.descriptor(&areas, index);
                chain.push(desc);
                if desc.flags & VIRTQ_DESC_F_NEXT == 0 {
                    break;
                }
                index = self.next_index(&areas, index);
            }
            let written = self.serve_request(&chain);
            self.put_used(&areas, u32::from(head), written);
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
        self.device.requests.push(SeenRequest {
            kind,
            sector,
            segments: data.iter().map(|d| d.len).collect(),
        });
        if self.driver_features & VIRTIO_BLK_F_SEG_MAX != 0 && data.len() > self.device.seg_max as usize {
            self.violations
                .push(format!("{} segments > seg_max {}", data.len(), self.device.seg_max));
        }
        if self.driver_features & VIRTIO_BLK_F_SIZE_MAX != 0 && data.iter().any(|d| d.len > self.device.size_max) {
            self.violations
                .push(format!("segment larger than size_max {}", self.device.size_max));
        }
        let total: u64 = data.iter().map(|d| u64::from(d.len)).sum();
        let start = sector * 512;
        let in_range = start + total <= self.device.disk.len() as u64;
        let mut written = 1;
        let outcome = match kind {
            VIRTIO_BLK_T_IN | VIRTIO_BLK_T_OUT if !in_range => VIRTIO_BLK_S_IOERR,
            VIRTIO_BLK_T_IN => {
                let mut at = start as usize;
                for d in data {
                    if d.flags & VIRTQ_DESC_F_WRITE == 0 {
                        self.violations.push("read into a device-readable buffer".into());
                    }
                    copy_to_guest(d.address, &self.device.disk[at..at + d.len as usize]);
                    at += d.len as usize;
                    written += d.len;
                }
                VIRTIO_BLK_S_OK
            }
            VIRTIO_BLK_T_OUT => {
                let mut at = start as usize;
                for d in data {
                    let bytes = copy_from_guest(d.address, d.len as usize);
                    self.device.disk[at..at + bytes.len()].copy_from_slice(&bytes);
                    at += bytes.len();
                }
                VIRTIO_BLK_S_OK
            }
            VIRTIO_BLK_T_FLUSH => VIRTIO_BLK_S_OK,
            VIRTIO_BLK_T_GET_ID => match (&self.device.device_id, data) {
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
        let outcome = self.device.forced_status.unwrap_or(outcome);
        copy_to_guest(status.address, &[outcome]);
        written
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

/// A model virtio entropy device (virtio 1.2 §5.4): it answers each request
/// when notified, as its [`Answer`] says. It has no configuration (§5.4.4).
pub struct Rng {
    pub answer: Answer,
    /// Buffer lengths of the requests seen.
    pub requests: Vec<u32>,
    counter: u8,
}

/// The model entropy device.
pub type ModelRng = Model<Rng>;

impl ModelRng {
    pub fn new(answer: Answer) -> ModelRng {
        let rng = Rng {
            answer,
            requests: Vec::new(),
            counter: 0,
        };
        Model::with_device(super::DEVICE_TYPE_ENTROPY, VIRTIO_F_VERSION_1, 64, rng)
    }
}

impl Rng {
    /// The next `n` bytes of the running counter.
    fn fill(&mut self, n: u32) -> Vec<u8> {
        (0..n)
            .map(|_| {
                let b = self.counter;
                self.counter = self.counter.wrapping_add(1);
                b
            })
            .collect()
    }
}

impl ModelDevice for Rng {
    fn notified(state: &mut ModelState<Rng>, _queue: u16) {
        let Some(areas) = state.live_queue() else {
            state.violations.push("notified without a queue".into());
            return;
        };
        while let Some(head) = state.next_available(&areas) {
            let Desc { address, len, flags } = state.descriptor(&areas, head);
            state.device.requests.push(len);
            if flags & VIRTQ_DESC_F_WRITE == 0 || flags & VIRTQ_DESC_F_NEXT != 0 {
                state.violations.push(format!("descriptor flags {flags:#x}"));
            }
            let (id, written) = match state.device.answer {
                Answer::Never => return,
                Answer::Empty => (u32::from(head), 0),
                Answer::Overlong => (u32::from(head), len + 1),
                Answer::WrongHead => (u32::from(head) + 5, 1),
                Answer::Fill { at_most } => {
                    let n = len.min(at_most);
                    copy_to_guest(address, &state.device.fill(n));
                    (u32::from(head), n)
                }
            };
            state.put_used(&areas, id, written);
        }
    }
}

/// A model virtio input device (virtio 1.2 §5.8): events sent with
/// [`ModelInput::send`] go into the buffers the driver offered, as many as
/// there are; the rest wait for the next notify. Its configuration is not
/// modelled (reads give 0).
pub struct Input {
    /// Buffers the driver made available and the device has not used:
    /// (head, address, length).
    pub available: VecDeque<(u16, u64, u32)>,
    /// Events waiting for a buffer.
    pub pending: VecDeque<[u8; 8]>,
}

/// The model input device.
pub type ModelInput = Model<Input>;

impl ModelInput {
    pub fn new(queue_max: u16) -> ModelInput {
        let input = Input {
            available: VecDeque::new(),
            pending: VecDeque::new(),
        };
        Model::with_device(super::DEVICE_TYPE_INPUT, VIRTIO_F_VERSION_1, queue_max, input)
    }

    pub fn send(&self, events: &[[u8; 8]]) {
        self.with(|s| {
            s.device.pending.extend(events.iter().copied());
            s.deliver();
        })
    }
}

impl ModelState<Input> {
    fn collect_available(&mut self) {
        let Some(areas) = self.live_queue() else {
            return;
        };
        while let Some(head) = self.next_available(&areas) {
            let Desc { address, len, .. } = self.descriptor(&areas, head);
            self.device.available.push_back((head, address, len));
        }
    }

    fn deliver(&mut self) {
        if self.status & super::DRIVER_OK == 0 {
            return;
        }
        let Some(areas) = self.areas else { return };
        while !self.device.pending.is_empty() {
            let Some((head, address, len)) = self.device.available.pop_front() else {
                break;
            };
            let event = self.device.pending.pop_front().unwrap();
            assert!(len >= 8, "event buffer of {len} bytes");
            copy_to_guest(address, &event);
            self.put_used(&areas, u32::from(head), 8);
        }
    }
}

impl ModelDevice for Input {
    fn reset(&mut self) {
        self.available.clear();
    }

    fn notified(state: &mut ModelState<Input>, _queue: u16) {
        state.collect_available();
        state.deliver();
    }
}
