//! Simple Text Input (Ex) state (UEFI 2.10 §12.3, §12.2): decoded keys waiting
//! to be read, the toggle state SetState records, and RegisterKeyNotify's list.
//!
//! This module decides; it never calls an application. Matching notifications
//! are handed back from [`InputState::receive`] so that the ABI layer calls them
//! after releasing its lock (a notify function may read keys itself).
#![forbid(unsafe_code)]

use super::fifo::KeyFifo;
use super::key_source::KeySource;
use super::keys::{Key, KeyDecoder};
use super::SerialPort;
use alloc::vec::Vec;
use core::fmt;
use r_efi::efi;
use r_efi::protocols::simple_text_input::InputKey;
use r_efi::protocols::simple_text_input_ex::{KeyData, KeyNotifyFunction, KeyState, TOGGLE_STATE_VALID};

/// Bytes taken from the port per poll, so a port that never runs dry (a stuck
/// UART reporting data ready) cannot hang the firmware.
pub const MAX_BYTES_PER_POLL: usize = 256;

/// The first handle RegisterKeyNotify returns; handles are never reused.
const FIRST_NOTIFY_HANDLE: usize = 0x6b65_7900_0001;

/// Why an input service refused a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Error {
    /// SetState without TOGGLE_STATE_VALID.
    ToggleStateNotValid {
        /// The state given.
        state: u8,
    },
    /// UnregisterKeyNotify with a handle RegisterKeyNotify did not return.
    UnknownNotifyHandle {
        /// The handle given.
        handle: usize,
    },
}

impl Error {
    /// The status the specification names for this error.
    pub fn status(&self) -> efi::Status {
        match self {
            Error::ToggleStateNotValid { .. } => efi::Status::UNSUPPORTED,
            Error::UnknownNotifyHandle { .. } => efi::Status::INVALID_PARAMETER,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::ToggleStateNotValid { state } => {
                write!(f, "key toggle state {state:#04x} lacks TOGGLE_STATE_VALID")
            }
            Error::UnknownNotifyHandle { handle } => {
                write!(f, "no key notification registered as {handle:#x}")
            }
        }
    }
}

/// A key notification due: call `function` with (a copy of) `key_data`.
#[derive(Clone, Copy)]
pub struct PendingNotify {
    /// The function RegisterKeyNotify registered.
    pub function: KeyNotifyFunction,
    /// The key that matched, as the function receives it.
    pub key_data: KeyData,
}

#[derive(Clone, Copy)]
struct Registration {
    handle: usize,
    key_data: KeyData,
    function: KeyNotifyFunction,
}

/// The input side of a serial console.
pub struct InputState {
    decoder: KeyDecoder,
    fifo: KeyFifo,
    /// The last state SetState accepted (with TOGGLE_STATE_VALID), else 0.
    toggle_state: u8,
    notifies: Vec<Registration>,
    next_handle: usize,
    /// Keyboards, polled after the serial line.
    sources: Vec<&'static dyn KeySource>,
}

impl Default for InputState {
    fn default() -> Self {
        Self::new()
    }
}

impl InputState {
    /// No keys, no notifications, no toggle state.
    pub const fn new() -> Self {
        InputState {
            decoder: KeyDecoder::new(),
            fifo: KeyFifo::new(),
            toggle_state: 0,
            notifies: Vec::new(),
            next_handle: FIRST_NOTIFY_HANDLE,
            sources: Vec::new(),
        }
    }

    /// Adds a keyboard. Its lock keys make the toggle state valid from now on
    /// (a serial line alone has no lock state to report), and it is shown
    /// the current state.
    pub fn add_source(&mut self, source: &'static dyn KeySource) {
        self.toggle_state |= TOGGLE_STATE_VALID;
        source.show_toggles(self.toggle_state);
        self.sources.push(source);
    }

    /// Whether any keyboard feeds this console.
    pub fn has_sources(&self) -> bool {
        !self.sources.is_empty()
    }

    /// Moves waiting bytes from `port` through the decoder into the queue, then
    /// ends a lone ESC whose time is up. Returns the notifications the new keys
    /// trigger, for the caller to run without holding any lock.
    pub fn receive(&mut self, port: &dyn SerialPort, now_ns: u64) -> Vec<PendingNotify> {
        let mut keys: Vec<Key> = Vec::new();
        for _ in 0..MAX_BYTES_PER_POLL {
            let Some(byte) = port.read_byte() else { break };
            self.decoder.feed(byte, now_ns, &mut |key| keys.push(key));
        }
        self.decoder.tick(now_ns, &mut |key| keys.push(key));
        self.poll_sources(&mut keys);
        self.deliver(keys)
    }

    /// Like [`receive`](Self::receive) but leaves the serial line alone (an
    /// application owns it through Serial I/O): keyboards only.
    pub fn receive_keyboards(&mut self) -> Vec<PendingNotify> {
        if self.sources.is_empty() {
            return Vec::new();
        }
        let mut keys: Vec<Key> = Vec::new();
        self.poll_sources(&mut keys);
        self.deliver(keys)
    }

    fn poll_sources(&mut self, keys: &mut Vec<Key>) {
        let before = self.toggle_state;
        for source in &self.sources {
            source.poll(&mut self.toggle_state, &mut |key| keys.push(key));
        }
        if self.toggle_state != before {
            for source in &self.sources {
                source.show_toggles(self.toggle_state);
            }
        }
    }

    /// Queues `keys` and returns the notifications they trigger.
    fn deliver(&mut self, keys: Vec<Key>) -> Vec<PendingNotify> {
        let mut due = Vec::new();
        for key in keys {
            let key_data = self.key_data(key);
            due.extend(
                self.notifies
                    .iter()
                    .filter(|r| notify_matches(&r.key_data, &key_data))
                    .map(|r| PendingNotify {
                        function: r.function,
                        key_data,
                    }),
            );
            if !self.fifo.push(key) {
                log::debug!("console: key queue full, key {key:?} dropped");
            }
        }
        due
    }

    /// Whether ReadKeyStroke would return a key now.
    pub fn key_available(&self) -> bool {
        !self.fifo.is_empty()
    }

    /// Whether the decoder waits for more bytes or the ESC timeout.
    pub fn sequence_pending(&self) -> bool {
        self.decoder.is_pending()
    }

    /// ReadKeyStroke: the oldest key, as the simple protocol reports it.
    /// Partial keys (a modifier alone, only with KEY_STATE_EXPOSED) mean
    /// nothing there and are skipped.
    pub fn read_key(&mut self) -> Option<InputKey> {
        while let Some(key) = self.fifo.pop() {
            if key.scan_code != 0 || key.unicode_char != 0 {
                return Some(InputKey {
                    scan_code: key.scan_code,
                    unicode_char: key.unicode_char,
                });
            }
        }
        None
    }

    /// ReadKeyStrokeEx: the oldest key with its shift and toggle state.
    pub fn read_key_data(&mut self) -> Option<KeyData> {
        self.fifo.pop().map(|key| self.key_data(key))
    }

    /// Reset: drops queued keys and any partial sequence.
    pub fn reset(&mut self) {
        self.fifo.clear();
        self.decoder.reset();
        for source in &self.sources {
            source.reset();
        }
    }

    /// SetState. The state is recorded and reported back in KeyData (a
    /// terminal has no lock LEDs); keyboards show it on theirs and type by it.
    pub fn set_toggle_state(&mut self, state: u8) -> Result<(), Error> {
        if state & TOGGLE_STATE_VALID == 0 {
            return Err(Error::ToggleStateNotValid { state });
        }
        self.toggle_state = state;
        for source in &self.sources {
            source.show_toggles(state);
        }
        Ok(())
    }

    /// The toggle state keys are reported with.
    pub fn toggle_state(&self) -> u8 {
        self.toggle_state
    }

    /// RegisterKeyNotify: the handle for UnregisterKeyNotify. Registering the
    /// same key and function again returns the existing handle.
    pub fn register_notify(&mut self, key_data: KeyData, function: KeyNotifyFunction) -> usize {
        if let Some(existing) = self
            .notifies
            .iter()
            .find(|r| r.function as usize == function as usize && same_key_data(&r.key_data, &key_data))
        {
            return existing.handle;
        }
        let handle = self.next_handle;
        self.next_handle += 1;
        self.notifies.push(Registration {
            handle,
            key_data,
            function,
        });
        handle
    }

    /// UnregisterKeyNotify.
    pub fn unregister_notify(&mut self, handle: usize) -> Result<(), Error> {
        let index = self
            .notifies
            .iter()
            .position(|r| r.handle == handle)
            .ok_or(Error::UnknownNotifyHandle { handle })?;
        self.notifies.remove(index);
        Ok(())
    }

    fn key_data(&self, key: Key) -> KeyData {
        KeyData {
            key: InputKey {
                scan_code: key.scan_code,
                unicode_char: key.unicode_char,
            },
            key_state: KeyState {
                key_shift_state: key.shift_state,
                key_toggle_state: self.toggle_state,
            },
        }
    }
}

fn same_key_data(a: &KeyData, b: &KeyData) -> bool {
    a.key.scan_code == b.key.scan_code
        && a.key.unicode_char == b.key.unicode_char
        && a.key_state.key_shift_state == b.key_state.key_shift_state
        && a.key_state.key_toggle_state == b.key_state.key_toggle_state
}

/// Whether a registered key matches a typed one (§12.2.5): scan code and
/// character must be equal; shift and toggle states only when registered
/// non-zero.
fn notify_matches(registered: &KeyData, typed: &KeyData) -> bool {
    let shift = registered.key_state.key_shift_state;
    let toggle = registered.key_state.key_toggle_state;
    registered.key.scan_code == typed.key.scan_code
        && registered.key.unicode_char == typed.key.unicode_char
        && (shift == 0 || shift == typed.key_state.key_shift_state)
        && (toggle == 0 || toggle == typed.key_state.key_toggle_state)
}

#[cfg(test)]
mod tests {
    use super::super::keys::{ESC_TIMEOUT_NS, SCAN_ESC, SCAN_UP};
    use super::*;
    use r_efi::protocols::simple_text_input_ex::{LEFT_CONTROL_PRESSED, SHIFT_STATE_VALID};
    use std::boxed::Box;
    use std::collections::VecDeque;
    use std::sync::Mutex;

    #[derive(Default)]
    struct Port {
        rx: Mutex<VecDeque<u8>>,
    }

    impl Port {
        fn type_bytes(&self, bytes: &[u8]) {
            self.rx.lock().unwrap().extend(bytes);
        }
    }

    impl SerialPort for Port {
        fn write(&self, _bytes: &[u8]) {}
        fn read_byte(&self) -> Option<u8> {
            self.rx.lock().unwrap().pop_front()
        }
    }

    extern "efiapi" fn notify_a(_: *mut KeyData) -> efi::Status {
        efi::Status::SUCCESS
    }

    extern "efiapi" fn notify_b(_: *mut KeyData) -> efi::Status {
        efi::Status::SUCCESS
    }

    fn key_data(scan_code: u16, unicode_char: u16, shift: u32) -> KeyData {
        KeyData {
            key: InputKey {
                scan_code,
                unicode_char,
            },
            key_state: KeyState {
                key_shift_state: shift,
                key_toggle_state: 0,
            },
        }
    }

    #[test]
    fn received_keys_are_read_in_order() {
        let port = Port::default();
        let mut input = InputState::new();
        assert!(!input.key_available());
        port.type_bytes(b"a\x1b[A");
        assert!(input.receive(&port, 0).is_empty());
        assert!(input.key_available());
        let first = input.read_key().unwrap();
        assert_eq!((first.scan_code, first.unicode_char), (0, u16::from(b'a')));
        let second = input.read_key_data().unwrap();
        assert_eq!(second.key.scan_code, SCAN_UP);
        assert!(input.read_key().is_none());
    }

    #[test]
    fn lone_escape_arrives_on_a_later_poll() {
        let port = Port::default();
        let mut input = InputState::new();
        port.type_bytes(b"\x1b");
        input.receive(&port, 0);
        assert!(!input.key_available());
        assert!(input.sequence_pending());
        input.receive(&port, ESC_TIMEOUT_NS);
        assert_eq!(input.read_key().unwrap().scan_code, SCAN_ESC);
    }

    #[test]
    fn reset_discards_queued_keys_and_partial_sequences() {
        let port = Port::default();
        let mut input = InputState::new();
        port.type_bytes(b"xy\x1b[");
        input.receive(&port, 0);
        input.reset();
        assert!(!input.key_available());
        port.type_bytes(b"A");
        input.receive(&port, 1);
        assert_eq!(input.read_key().unwrap().unicode_char, u16::from(b'A'));
    }

    #[test]
    fn set_state_needs_the_valid_bit_and_is_reported_in_key_data() {
        let port = Port::default();
        let mut input = InputState::new();
        assert_eq!(
            input.set_toggle_state(0x04),
            Err(Error::ToggleStateNotValid { state: 0x04 })
        );
        input.set_toggle_state(TOGGLE_STATE_VALID | 0x04).unwrap();
        port.type_bytes(b"\x03");
        input.receive(&port, 0);
        let data = input.read_key_data().unwrap();
        assert_eq!(data.key.unicode_char, 3);
        assert_eq!(data.key_state.key_shift_state, SHIFT_STATE_VALID | LEFT_CONTROL_PRESSED);
        assert_eq!(data.key_state.key_toggle_state, TOGGLE_STATE_VALID | 0x04);
    }

    #[test]
    fn matching_keys_produce_notifications_and_still_queue() {
        let port = Port::default();
        let mut input = InputState::new();
        let on_up = input.register_notify(key_data(SCAN_UP, 0, 0), notify_a);
        let on_ctrl_c = input.register_notify(key_data(0, 3, SHIFT_STATE_VALID | LEFT_CONTROL_PRESSED), notify_b);
        assert_ne!(on_up, on_ctrl_c);
        assert_eq!(
            input.register_notify(key_data(SCAN_UP, 0, 0), notify_a),
            on_up,
            "same registration, same handle"
        );
        port.type_bytes(b"x\x1b[A\x03");
        let due = input.receive(&port, 0);
        assert_eq!(due.len(), 2);
        assert_eq!(due[0].function as usize, notify_a as KeyNotifyFunction as usize);
        assert_eq!(due[0].key_data.key.scan_code, SCAN_UP);
        assert_eq!(due[1].function as usize, notify_b as KeyNotifyFunction as usize);
        assert_eq!(due[1].key_data.key.unicode_char, 3);
        assert_eq!(input.fifo.len(), 3);

        input.unregister_notify(on_up).unwrap();
        assert_eq!(
            input.unregister_notify(on_up),
            Err(Error::UnknownNotifyHandle { handle: on_up })
        );
        port.type_bytes(b"\x1b[A");
        assert!(input.receive(&port, 0).is_empty());
    }

    #[test]
    fn registered_shift_state_must_match_when_given() {
        let registered = key_data(0, 3, SHIFT_STATE_VALID | LEFT_CONTROL_PRESSED);
        assert!(notify_matches(&registered, &registered));
        assert!(!notify_matches(&registered, &key_data(0, 3, 0)));
        assert!(notify_matches(&key_data(0, 3, 0), &registered));
    }

    /// A keyboard that types what the test queued and records what it was shown.
    #[derive(Default)]
    struct Typist {
        keys: Mutex<VecDeque<(Key, u8)>>,
        shown: Mutex<Vec<u8>>,
        resets: Mutex<usize>,
    }

    impl KeySource for Typist {
        fn poll(&self, toggles: &mut u8, emit: &mut dyn FnMut(Key)) {
            while let Some((key, flip)) = self.keys.lock().unwrap().pop_front() {
                *toggles ^= flip;
                emit(key);
            }
        }
        fn show_toggles(&self, toggles: u8) {
            self.shown.lock().unwrap().push(toggles);
        }
        fn reset(&self) {
            *self.resets.lock().unwrap() += 1;
        }
    }

    #[test]
    fn keyboard_and_serial_keys_share_one_queue() {
        let port = Port::default();
        let typist: &'static Typist = Box::leak(Box::default());
        let mut input = InputState::new();
        input.add_source(typist);
        assert_eq!(*typist.shown.lock().unwrap(), [TOGGLE_STATE_VALID]);
        port.type_bytes(b"s");
        typist.keys.lock().unwrap().push_back((Key::scan(SCAN_UP), 0));
        input.receive(&port, 0);
        assert_eq!(input.read_key().unwrap().unicode_char, u16::from(b's'));
        assert_eq!(input.read_key().unwrap().scan_code, SCAN_UP);
        // With Serial I/O claimed only the keyboard is read.
        port.type_bytes(b"t");
        typist.keys.lock().unwrap().push_back((Key::char(u16::from(b'k')), 0));
        input.receive_keyboards();
        assert_eq!(input.read_key().unwrap().unicode_char, u16::from(b'k'));
        assert!(input.read_key().is_none());
        input.reset();
        assert_eq!(*typist.resets.lock().unwrap(), 1);
    }

    #[test]
    fn a_lock_key_changes_the_console_toggle_state_and_every_keyboard_shows_it() {
        let port = Port::default();
        let first: &'static Typist = Box::leak(Box::default());
        let second: &'static Typist = Box::leak(Box::default());
        let mut input = InputState::new();
        input.add_source(first);
        input.add_source(second);
        first.keys.lock().unwrap().push_back((Key::char(u16::from(b'A')), 0x04));
        input.receive(&port, 0);
        let data = input.read_key_data().unwrap();
        assert_eq!(data.key_state.key_toggle_state, TOGGLE_STATE_VALID | 0x04);
        assert_eq!(second.shown.lock().unwrap().last(), Some(&(TOGGLE_STATE_VALID | 0x04)));
        input.set_toggle_state(TOGGLE_STATE_VALID | 0x02).unwrap();
        assert_eq!(first.shown.lock().unwrap().last(), Some(&(TOGGLE_STATE_VALID | 0x02)));
    }

    #[test]
    fn partial_keys_are_read_by_the_ex_protocol_only() {
        let port = Port::default();
        let typist: &'static Typist = Box::leak(Box::default());
        let mut input = InputState::new();
        input.add_source(typist);
        let partial = Key {
            scan_code: 0,
            unicode_char: 0,
            shift_state: SHIFT_STATE_VALID | LEFT_CONTROL_PRESSED,
        };
        typist
            .keys
            .lock()
            .unwrap()
            .extend([(partial, 0), (Key::char(3), 0), (partial, 0)]);
        input.receive(&port, 0);
        assert_eq!(
            input.read_key_data().unwrap().key_state.key_shift_state,
            partial.shift_state
        );
        assert_eq!(input.read_key().unwrap().unicode_char, 3);
        assert!(input.read_key().is_none(), "the trailing partial key is skipped");
    }

    #[test]
    fn a_port_that_never_runs_dry_does_not_hang_a_poll() {
        struct Endless;
        impl SerialPort for Endless {
            fn write(&self, _: &[u8]) {}
            fn read_byte(&self) -> Option<u8> {
                Some(b'z')
            }
        }
        let mut input = InputState::new();
        input.receive(&Endless, 0);
        assert!(input.key_available());
    }
}
