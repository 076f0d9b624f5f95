//! The input device (virtio 1.2 §5.8) as a keyboard, over any [`Transport`].
//!
//! The device sends Linux evdev events (§5.8.6.2: le16 type, le16 code, le32
//! value) through the event queue (§5.8.2) into buffers the driver keeps
//! available (§5.8.6.1). Key events (EV_KEY) become [`KeyEvent`]s; the rest
//! (EV_SYN, EV_MSC, a tablet's EV_ABS) are dropped, so any input device can be
//! driven and only keys come out. The status queue (LEDs) is not used: there
//! is no host keyboard LED worth the queue. Polled, with no interrupt; reset
//! before the OS takes over ([`VirtioInput::reset`]).

use super::queue::{Buffer, SplitQueue};
use super::{start_with_one_queue, Error, Transport};
use super::{ACKNOWLEDGE, DEVICE_TYPE_INPUT, DRIVER, DRIVER_OK, FAILED, FEATURES_OK};
use super::{VIRTIO_F_ACCESS_PLATFORM, VIRTIO_F_VERSION_1};
use crate::input::{KeyAction, KeyEvent, Keyboard, Leds};
use alloc::boxed::Box;
use alloc::vec;
use alloc::vec::Vec;
use core::sync::atomic::{compiler_fence, Ordering};
use log::{debug, warn};

/// The event queue (§5.8.2).
pub const EVENT_QUEUE: u16 = 0;
/// The device has no feature bits of its own (§5.8.3).
pub const DRIVER_FEATURES: u64 = VIRTIO_F_VERSION_1 | VIRTIO_F_ACCESS_PLATFORM;
/// Event buffers kept available: a burst of key events between polls.
pub const EVENT_BUFFERS: u16 = 64;
/// Size of one event (§5.8.6.2).
pub const EVENT_SIZE: usize = 8;
/// Used entries looked at per poll at most.
const MAX_USED_PER_POLL: usize = 64;

/// evdev event types (`linux/input-event-codes.h`).
pub const EV_KEY: u16 = 0x01;

type Event = [u8; EVENT_SIZE];

/// A virtio input device whose key events are read as a keyboard's.
pub struct VirtioInput<T: Transport> {
    transport: T,
    queue: SplitQueue,
    /// The event buffers the device writes; their addresses are in the ring.
    events: Box<[Event]>,
    /// Which buffer each descriptor head holds.
    slot_of_head: Vec<Option<usize>>,
    stopped: bool,
}

impl<T: Transport> VirtioInput<T> {
    /// Initialises the device (§3.1.1, §5.8.5): features, the event queue
    /// filled with buffers, DRIVER_OK.
    pub fn new(mut transport: T) -> Result<VirtioInput<T>, Error> {
        let (features, queue) = start_with_one_queue(
            &mut transport,
            DEVICE_TYPE_INPUT,
            DRIVER_FEATURES,
            EVENT_QUEUE,
            EVENT_BUFFERS,
        )?;
        let size = usize::from(queue.size());
        let mut input = VirtioInput {
            transport,
            queue,
            events: vec![[0u8; EVENT_SIZE]; size].into_boxed_slice(),
            slot_of_head: vec![None; size],
            stopped: false,
        };
        for slot in 0..size {
            if let Err(e) = input.offer(slot) {
                input.transport.set_status(ACKNOWLEDGE | DRIVER | FAILED);
                return Err(e);
            }
        }
        // §5.8.5: the event queue is filled before DRIVER_OK.
        input
            .transport
            .set_status(ACKNOWLEDGE | DRIVER | FEATURES_OK | DRIVER_OK);
        input.transport.notify(EVENT_QUEUE);
        debug!("virtio-input: ready, {size} event buffers, features {features:#x}");
        Ok(input)
    }

    /// Runs `f` with the transport (to ask where the device is, say).
    pub fn with_transport<R>(&self, f: impl FnOnce(&T) -> R) -> R {
        f(&self.transport)
    }

    /// Makes buffer `slot` available to the device.
    fn offer(&mut self, slot: usize) -> Result<(), Error> {
        let chain = [Buffer {
            address: self.events[slot].as_mut_ptr() as u64,
            len: EVENT_SIZE as u32,
            device_writable: true,
        }];
        let head = self.queue.add(&chain)?;
        match self.slot_of_head.get_mut(usize::from(head)) {
            Some(entry) => *entry = Some(slot),
            None => return Err(Error::QueueUnavailable { queue: EVENT_QUEUE }),
        }
        Ok(())
    }

    /// The next event the device wrote, its buffer offered again.
    fn next_event(&mut self) -> Option<Event> {
        if self.stopped {
            return None;
        }
        let used = match self.queue.pop_used() {
            Ok(Some(used)) => used,
            Ok(None) => return None,
            Err(e) => {
                self.stop(e);
                return None;
            }
        };
        let Some(slot) = self.slot_of_head.get_mut(usize::from(used.head)).and_then(Option::take) else {
            self.stop(Error::QueueUnavailable { queue: EVENT_QUEUE });
            return None;
        };
        // The device wrote the buffer behind the compiler's back, before the
        // used entry `pop_used` read with a fence (§2.7.14).
        compiler_fence(Ordering::SeqCst);
        let event = self.events[slot];
        let complete = used.len as usize >= EVENT_SIZE;
        if let Err(e) = self.offer(slot) {
            self.stop(e);
            return None;
        }
        self.transport.notify(EVENT_QUEUE);
        complete.then_some(event)
    }

    /// A device that misbehaved is reset and not used again.
    fn stop(&mut self, error: Error) {
        warn!("virtio-input: {error}; resetting the device");
        self.reset();
    }

    /// Resets the device so that it stops writing into firmware memory (at
    /// ExitBootServices); no more events after.
    pub fn reset(&mut self) {
        if self.stopped {
            return;
        }
        self.stopped = true;
        if let Err(e) = self.transport.reset() {
            warn!("virtio-input: {e}");
        }
    }
}

/// The key event an evdev event is, if it is one (§5.8.6.2; values 0, 1, 2
/// are release, press, autorepeat).
pub fn key_event(event: &Event) -> Option<KeyEvent> {
    let kind = u16::from_le_bytes([event[0], event[1]]);
    let code = u16::from_le_bytes([event[2], event[3]]);
    let value = u32::from_le_bytes([event[4], event[5], event[6], event[7]]);
    if kind != EV_KEY {
        return None;
    }
    let action = match value {
        0 => KeyAction::Release,
        1 => KeyAction::Press,
        2 => KeyAction::Repeat,
        _ => return None,
    };
    Some(KeyEvent { code, action })
}

impl<T: Transport + Send> Keyboard for VirtioInput<T> {
    fn poll_event(&mut self) -> Option<KeyEvent> {
        for _ in 0..MAX_USED_PER_POLL {
            let event = self.next_event()?;
            if let Some(key) = key_event(&event) {
                return Some(key);
            }
        }
        None
    }

    fn set_leds(&mut self, _leds: Leds) {}
}

impl<T: Transport> Drop for VirtioInput<T> {
    /// The device must not write into the buffers after they are freed.
    fn drop(&mut self) {
        self.reset();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::code::{KEY_A, KEY_DOWN};
    use crate::virtio::model::ModelInput;

    fn event(kind: u16, code: u16, value: u32) -> Event {
        let mut e = [0u8; 8];
        e[..2].copy_from_slice(&kind.to_le_bytes());
        e[2..4].copy_from_slice(&code.to_le_bytes());
        e[4..].copy_from_slice(&value.to_le_bytes());
        e
    }

    fn drain<T: Transport + Send>(input: &mut VirtioInput<T>) -> Vec<KeyEvent> {
        core::iter::from_fn(|| input.poll_event()).collect()
    }

    #[test]
    fn key_events_come_out_and_the_rest_is_dropped() {
        let model = ModelInput::new(16);
        let mut input = VirtioInput::new(model.clone()).unwrap();
        model.with(|s| {
            assert_eq!(s.status & DRIVER_OK, DRIVER_OK);
            assert_eq!(s.device.available.len(), 16, "every buffer offered before DRIVER_OK");
        });
        model.send(&[
            event(EV_KEY, KEY_DOWN, 1),
            event(0, 0, 0),
            event(0x03, 0, 500),
            event(EV_KEY, KEY_DOWN, 2),
            event(EV_KEY, KEY_DOWN, 0),
            event(EV_KEY, KEY_A, 1),
        ]);
        assert_eq!(
            drain(&mut input),
            [
                KeyEvent::press(KEY_DOWN),
                KeyEvent {
                    code: KEY_DOWN,
                    action: KeyAction::Repeat
                },
                KeyEvent::release(KEY_DOWN),
                KeyEvent::press(KEY_A),
            ]
        );
        model.with(|s| assert_eq!(s.device.available.len(), 16, "buffers are offered again"));
    }

    #[test]
    fn more_events_than_buffers_arrive_over_several_polls() {
        let model = ModelInput::new(4);
        let mut input = VirtioInput::new(model.clone()).unwrap();
        let events: Vec<Event> = (0..10).map(|i| event(EV_KEY, 30 + i, 1)).collect();
        model.send(&events);
        let got = drain(&mut input);
        assert_eq!(got.len(), 10);
        assert_eq!(got[9], KeyEvent::press(39));
    }

    #[test]
    fn reset_stops_the_device() {
        let model = ModelInput::new(4);
        let mut input = VirtioInput::new(model.clone()).unwrap();
        input.reset();
        model.with(|s| assert_eq!(s.status, 0));
        model.send(&[event(EV_KEY, KEY_A, 1)]);
        assert_eq!(drain(&mut input), []);
    }

    #[test]
    fn other_device_types_are_refused() {
        let model = ModelInput::new(4);
        model.with(|s| s.device_type = 2);
        assert!(matches!(
            VirtioInput::new(model),
            Err(Error::WrongDeviceType { expected: 18, found: 2 })
        ));
    }
}
