//! A terminal at the other end of the serial line, and a clock: the model the
//! host tests of the serial console and of Serial I/O drive their code with.

use super::{MonotonicClock, SerialPort};
use alloc::boxed::Box;
use core::sync::atomic::{AtomicU64, Ordering};
use std::collections::VecDeque;
use std::string::String;
use std::sync::Mutex;
use std::vec::Vec;

/// What the firmware sent, what the terminal has typed, and the time.
#[derive(Default)]
pub(crate) struct Terminal {
    /// Bytes the firmware wrote to the line.
    pub tx: Mutex<Vec<u8>>,
    /// Bytes waiting for the firmware to read.
    pub rx: Mutex<VecDeque<u8>>,
    /// The clock, in nanoseconds.
    pub now: AtomicU64,
    /// How far the clock moves each time it is read (0: only when a test
    /// moves it).
    tick_ns: u64,
}

impl Terminal {
    /// A terminal that lives as long as the test's protocol instances.
    pub fn new(tick_ns: u64) -> &'static Terminal {
        Box::leak(Box::new(Terminal {
            tick_ns,
            ..Terminal::default()
        }))
    }

    /// Types `bytes` for the firmware to read.
    pub fn type_bytes(&self, bytes: &[u8]) {
        self.rx.lock().unwrap().extend(bytes);
    }

    /// What the firmware wrote since the last call, as text.
    pub fn take_output(&self) -> String {
        String::from_utf8(core::mem::take(&mut *self.tx.lock().unwrap())).unwrap()
    }
}

impl SerialPort for Terminal {
    fn write(&self, bytes: &[u8]) {
        self.tx.lock().unwrap().extend_from_slice(bytes);
    }
    fn read_byte(&self) -> Option<u8> {
        self.rx.lock().unwrap().pop_front()
    }
}

impl MonotonicClock for Terminal {
    fn now_ns(&self) -> u64 {
        self.now.fetch_add(self.tick_ns, Ordering::SeqCst)
    }
}
