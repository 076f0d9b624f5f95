//! A bounded queue of decoded keys between the serial port and ReadKeyStroke
//! (UEFI 2.10 §12.3.3: keys wait until read; the device keeps a small buffer).
#![forbid(unsafe_code)]

use super::keys::Key;

/// Keys kept before further ones are dropped (a paste into a menu).
pub const KEY_FIFO_CAPACITY: usize = 32;

/// A fixed-size ring buffer of keys; no allocation.
#[derive(Clone, Debug)]
pub struct KeyFifo {
    keys: [Key; KEY_FIFO_CAPACITY],
    head: usize,
    len: usize,
}

impl Default for KeyFifo {
    fn default() -> Self {
        Self::new()
    }
}

impl KeyFifo {
    /// An empty queue.
    pub const fn new() -> Self {
        KeyFifo {
            keys: [Key {
                scan_code: 0,
                unicode_char: 0,
                shift_state: 0,
            }; KEY_FIFO_CAPACITY],
            head: 0,
            len: 0,
        }
    }

    /// Appends `key`; returns false (and drops it) when the queue is full.
    pub fn push(&mut self, key: Key) -> bool {
        if self.len == KEY_FIFO_CAPACITY {
            return false;
        }
        self.keys[(self.head + self.len) % KEY_FIFO_CAPACITY] = key;
        self.len += 1;
        true
    }

    /// The oldest key.
    pub fn pop(&mut self) -> Option<Key> {
        if self.len == 0 {
            return None;
        }
        let key = self.keys[self.head];
        self.head = (self.head + 1) % KEY_FIFO_CAPACITY;
        self.len -= 1;
        Some(key)
    }

    /// Whether no key is waiting.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// How many keys are waiting.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Drops every waiting key.
    pub fn clear(&mut self) {
        self.head = 0;
        self.len = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_come_out_in_order_across_the_wrap() {
        let mut fifo = KeyFifo::new();
        for round in 0..3u16 {
            for i in 0..20u16 {
                assert!(fifo.push(Key::char(round * 100 + i)));
            }
            for i in 0..20u16 {
                assert_eq!(fifo.pop(), Some(Key::char(round * 100 + i)));
            }
        }
        assert_eq!(fifo.pop(), None);
    }

    #[test]
    fn a_full_queue_drops_new_keys() {
        let mut fifo = KeyFifo::new();
        for i in 0..KEY_FIFO_CAPACITY as u16 {
            assert!(fifo.push(Key::char(i)));
        }
        assert!(!fifo.push(Key::char(999)));
        assert_eq!(fifo.len(), KEY_FIFO_CAPACITY);
        assert_eq!(fifo.pop(), Some(Key::char(0)));
        fifo.clear();
        assert!(fifo.is_empty());
    }
}
