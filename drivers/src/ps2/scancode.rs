//! PS/2 keyboard scan codes into Linux key codes ([`crate::input`]).
//!
//! Set 1 is what the guest reads when the i8042 translates (QEMU's default,
//! and what PC firmware has always asked for): a make code per key, the same
//! code with bit 7 set on release, `E0` before the keys the 101-key keyboard
//! added, and `E1 1D 45 E1 9D C5` for Pause. Set 2 is the keyboard's own set
//! (seen when translation is off): `F0` before a break code, `E0` for the
//! added keys, and `E1 14 77 E1 F0 14 F0 77` for Pause.
//!
//! The Linux key codes 1..88 were numbered after set 1's make codes, so set 1
//! maps onto them almost one to one; set 2 needs a table. `E0 2A`/`E0 12`
//! style "fake shifts" that keyboards send around the navigation keys are
//! dropped. Keyboard answers that are not keys (ACK, resend, echo, errors) are
//! dropped where they cannot be part of a key.
#![forbid(unsafe_code)]

use crate::input::code::*;
use crate::input::{KeyAction, KeyEvent};

const PREFIX_EXTENDED: u8 = 0xe0;
const PREFIX_PAUSE: u8 = 0xe1;
const SET2_BREAK: u8 = 0xf0;
/// Keyboard answers (ACK, resend, echo, errors, self-test passed).
const ACK: u8 = 0xfa;
const RESEND: u8 = 0xfe;
const ECHO: u8 = 0xee;
const OVERRUN_SET1: u8 = 0xff;
const OVERRUN_SET2: u8 = 0x00;
const SELF_TEST_PASSED: u8 = 0xaa;

/// Bytes after `E1` that make up Pause: 5 in set 1, 7 in set 2.
const SET1_PAUSE_TAIL: u8 = 5;
const SET2_PAUSE_TAIL: u8 = 7;

/// Which set the keyboard's bytes are in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ScanCodeSet {
    /// Set 1 (XT): what the i8042 delivers when it translates.
    Set1,
    /// Set 2 (AT): the keyboard's own codes, seen without translation.
    Set2,
}

impl core::fmt::Display for ScanCodeSet {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            ScanCodeSet::Set1 => "scan code set 1",
            ScanCodeSet::Set2 => "scan code set 2",
        })
    }
}

/// A byte-at-a-time decoder for one scan code set.
#[derive(Clone, Debug)]
pub struct ScanDecoder {
    set: ScanCodeSet,
    extended: bool,
    release: bool,
    /// Pause bytes still to skip.
    pause_left: u8,
}

impl ScanDecoder {
    /// A decoder for bytes in `set`, at the start of a sequence.
    pub const fn new(set: ScanCodeSet) -> ScanDecoder {
        ScanDecoder {
            set,
            extended: false,
            release: false,
            pause_left: 0,
        }
    }

    /// The scan code set this decoder reads.
    pub fn set(&self) -> ScanCodeSet {
        self.set
    }

    /// Forgets a partial sequence.
    pub fn reset(&mut self) {
        self.extended = false;
        self.release = false;
        self.pause_left = 0;
    }

    /// Feeds one byte from the keyboard; returns the key event it completes.
    pub fn feed(&mut self, byte: u8) -> Option<KeyEvent> {
        if self.pause_left > 0 {
            self.pause_left -= 1;
            // Pause sends no break code: the whole sequence is one press.
            return (self.pause_left == 0).then_some(KeyEvent::press(KEY_PAUSE));
        }
        match self.set {
            ScanCodeSet::Set1 => self.feed_set1(byte),
            ScanCodeSet::Set2 => self.feed_set2(byte),
        }
    }

    fn feed_set1(&mut self, byte: u8) -> Option<KeyEvent> {
        match byte {
            PREFIX_EXTENDED => {
                self.extended = true;
                return None;
            }
            PREFIX_PAUSE => {
                self.pause_left = SET1_PAUSE_TAIL;
                self.extended = false;
                return None;
            }
            // 0xaa is the break code of left shift in set 1, so it is a key here.
            ACK | RESEND | ECHO | OVERRUN_SET1 | OVERRUN_SET2 => {
                self.extended = false;
                return None;
            }
            _ => {}
        }
        let extended = core::mem::replace(&mut self.extended, false);
        let action = if byte & 0x80 != 0 {
            KeyAction::Release
        } else {
            KeyAction::Press
        };
        let make = byte & 0x7f;
        let code = if extended { set1_extended(make)? } else { set1(make)? };
        Some(KeyEvent { code, action })
    }

    fn feed_set2(&mut self, byte: u8) -> Option<KeyEvent> {
        match byte {
            PREFIX_EXTENDED => {
                self.extended = true;
                return None;
            }
            SET2_BREAK => {
                self.release = true;
                return None;
            }
            PREFIX_PAUSE => {
                self.pause_left = SET2_PAUSE_TAIL;
                self.extended = false;
                self.release = false;
                return None;
            }
            ACK | RESEND | ECHO | OVERRUN_SET1 | OVERRUN_SET2 | SELF_TEST_PASSED => {
                self.extended = false;
                self.release = false;
                return None;
            }
            _ => {}
        }
        let extended = core::mem::replace(&mut self.extended, false);
        let release = core::mem::replace(&mut self.release, false);
        let code = if extended { set2_extended(byte)? } else { set2(byte)? };
        let action = if release { KeyAction::Release } else { KeyAction::Press };
        Some(KeyEvent { code, action })
    }
}

/// Set 1 make codes without prefix: the Linux codes are the make codes,
/// except SysRq (Alt+PrintScreen) and the gap before KEY_102ND.
fn set1(make: u8) -> Option<u16> {
    match make {
        0x01..=0x53 => Some(u16::from(make)),
        0x54 => Some(KEY_SYSRQ),
        0x56..=0x58 => Some(u16::from(make)),
        _ => None,
    }
}

fn set1_extended(make: u8) -> Option<u16> {
    Some(match make {
        0x1c => KEY_KPENTER,
        0x1d => KEY_RIGHTCTRL,
        0x35 => KEY_KPSLASH,
        0x37 => KEY_SYSRQ,
        0x38 => KEY_RIGHTALT,
        0x47 => KEY_HOME,
        0x48 => KEY_UP,
        0x49 => KEY_PAGEUP,
        0x4b => KEY_LEFT,
        0x4d => KEY_RIGHT,
        0x4f => KEY_END,
        0x50 => KEY_DOWN,
        0x51 => KEY_PAGEDOWN,
        0x52 => KEY_INSERT,
        0x53 => KEY_DELETE,
        0x5b => KEY_LEFTMETA,
        0x5c => KEY_RIGHTMETA,
        0x5d => KEY_COMPOSE,
        // 0x2a, 0x36: fake shifts; the rest are multimedia keys.
        _ => return None,
    })
}

/// Set 2 make codes without prefix, as the Linux codes of the same keys.
fn set2(make: u8) -> Option<u16> {
    Some(match make {
        0x76 => KEY_ESC,
        0x16 => 2,
        0x1e => 3,
        0x26 => 4,
        0x25 => 5,
        0x2e => 6,
        0x36 => 7,
        0x3d => 8,
        0x3e => 9,
        0x46 => 10,
        0x45 => KEY_0,
        0x4e => KEY_MINUS,
        0x55 => KEY_EQUAL,
        0x66 => KEY_BACKSPACE,
        0x0d => KEY_TAB,
        0x15 => KEY_Q,
        0x1d => 17,
        0x24 => 18,
        0x2d => 19,
        0x2c => 20,
        0x35 => 21,
        0x3c => 22,
        0x43 => 23,
        0x44 => 24,
        0x4d => KEY_P,
        0x54 => KEY_LEFTBRACE,
        0x5b => KEY_RIGHTBRACE,
        0x5a => KEY_ENTER,
        0x14 => KEY_LEFTCTRL,
        0x1c => KEY_A,
        0x1b => 31,
        0x23 => 32,
        0x2b => 33,
        0x34 => 34,
        0x33 => 35,
        0x3b => 36,
        0x42 => 37,
        0x4b => KEY_L,
        0x4c => KEY_SEMICOLON,
        0x52 => KEY_APOSTROPHE,
        0x0e => KEY_GRAVE,
        0x12 => KEY_LEFTSHIFT,
        0x5d => KEY_BACKSLASH,
        0x1a => KEY_Z,
        0x22 => 45,
        0x21 => 46,
        0x2a => 47,
        0x32 => 48,
        0x31 => 49,
        0x3a => KEY_M,
        0x41 => KEY_COMMA,
        0x49 => KEY_DOT,
        0x4a => KEY_SLASH,
        0x59 => KEY_RIGHTSHIFT,
        0x7c => KEY_KPASTERISK,
        0x11 => KEY_LEFTALT,
        0x29 => KEY_SPACE,
        0x58 => KEY_CAPSLOCK,
        0x05 => KEY_F1,
        0x06 => 60,
        0x04 => 61,
        0x0c => 62,
        0x03 => 63,
        0x0b => 64,
        0x83 => 65,
        0x0a => 66,
        0x01 => 67,
        0x09 => KEY_F10,
        0x77 => KEY_NUMLOCK,
        0x7e => KEY_SCROLLLOCK,
        0x6c => KEY_KP7,
        0x75 => KEY_KP8,
        0x7d => KEY_KP9,
        0x7b => KEY_KPMINUS,
        0x6b => KEY_KP4,
        0x73 => KEY_KP5,
        0x74 => KEY_KP6,
        0x79 => KEY_KPPLUS,
        0x69 => KEY_KP1,
        0x72 => KEY_KP2,
        0x7a => KEY_KP3,
        0x70 => KEY_KP0,
        0x71 => KEY_KPDOT,
        0x61 => KEY_102ND,
        0x78 => KEY_F11,
        0x07 => KEY_F12,
        _ => return None,
    })
}

fn set2_extended(make: u8) -> Option<u16> {
    Some(match make {
        0x5a => KEY_KPENTER,
        0x14 => KEY_RIGHTCTRL,
        0x4a => KEY_KPSLASH,
        0x7c => KEY_SYSRQ,
        0x11 => KEY_RIGHTALT,
        0x6c => KEY_HOME,
        0x75 => KEY_UP,
        0x7d => KEY_PAGEUP,
        0x6b => KEY_LEFT,
        0x74 => KEY_RIGHT,
        0x69 => KEY_END,
        0x72 => KEY_DOWN,
        0x7a => KEY_PAGEDOWN,
        0x70 => KEY_INSERT,
        0x71 => KEY_DELETE,
        0x1f => KEY_LEFTMETA,
        0x27 => KEY_RIGHTMETA,
        0x2f => KEY_COMPOSE,
        // 0x12, 0x59: fake shifts; the rest are multimedia keys.
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::vec::Vec;

    /// a, release a, Enter, Esc, left shift and its release: what both sets'
    /// samples of plain keys decode to.
    const PLAIN_KEYS: [KeyEvent; 6] = [
        KeyEvent::press(KEY_A),
        KeyEvent::release(KEY_A),
        KeyEvent::press(KEY_ENTER),
        KeyEvent::press(KEY_ESC),
        KeyEvent::press(KEY_LEFTSHIFT),
        KeyEvent::release(KEY_LEFTSHIFT),
    ];

    /// Each of `keys` pressed, in turn.
    fn presses(keys: &[u16]) -> Vec<KeyEvent> {
        keys.iter().map(|&key| KeyEvent::press(key)).collect()
    }

    fn decode(set: ScanCodeSet, bytes: &[u8]) -> Vec<KeyEvent> {
        let mut d = ScanDecoder::new(set);
        bytes.iter().filter_map(|&b| d.feed(b)).collect()
    }

    #[test]
    fn set1_make_and_break_of_plain_keys() {
        // a, release a, Enter, Esc, left shift and its break (0xaa).
        assert_eq!(
            decode(ScanCodeSet::Set1, &[0x1e, 0x9e, 0x1c, 0x01, 0x2a, 0xaa]),
            PLAIN_KEYS
        );
        assert_eq!(
            decode(ScanCodeSet::Set1, &[0x57, 0x58, 0x3b]),
            presses(&[KEY_F11, KEY_F12, KEY_F1])
        );
    }

    #[test]
    fn set1_extended_keys_and_fake_shifts() {
        // Down arrow as keyboards send it with NumLock on: E0 2A E0 50 ... E0 D0 E0 AA.
        assert_eq!(
            decode(ScanCodeSet::Set1, &[0xe0, 0x2a, 0xe0, 0x50, 0xe0, 0xd0, 0xe0, 0xaa]),
            [KeyEvent::press(KEY_DOWN), KeyEvent::release(KEY_DOWN)]
        );
        assert_eq!(
            decode(ScanCodeSet::Set1, &[0xe0, 0x1d, 0xe0, 0x38, 0xe0, 0x1c, 0xe0, 0x53]),
            presses(&[KEY_RIGHTCTRL, KEY_RIGHTALT, KEY_KPENTER, KEY_DELETE])
        );
    }

    #[test]
    fn set1_pause_and_keyboard_answers() {
        assert_eq!(
            decode(ScanCodeSet::Set1, &[0xe1, 0x1d, 0x45, 0xe1, 0x9d, 0xc5, 0x10]),
            [KeyEvent::press(KEY_PAUSE), KeyEvent::press(KEY_Q)]
        );
        assert_eq!(decode(ScanCodeSet::Set1, &[0xfa, 0xfe, 0xee, 0xff, 0x00]), []);
    }

    #[test]
    fn set2_make_break_and_extended() {
        assert_eq!(
            decode(ScanCodeSet::Set2, &[0x1c, 0xf0, 0x1c, 0x5a, 0x76, 0x12, 0xf0, 0x12]),
            PLAIN_KEYS
        );
        // Down with fake shifts: E0 12 E0 72 ... E0 F0 72 E0 F0 12.
        assert_eq!(
            decode(
                ScanCodeSet::Set2,
                &[0xe0, 0x12, 0xe0, 0x72, 0xe0, 0xf0, 0x72, 0xe0, 0xf0, 0x12]
            ),
            [KeyEvent::press(KEY_DOWN), KeyEvent::release(KEY_DOWN)]
        );
        assert_eq!(
            decode(ScanCodeSet::Set2, &[0x83, 0x07, 0x78, 0x05]),
            presses(&[65, KEY_F12, KEY_F11, KEY_F1])
        );
    }

    #[test]
    fn set2_pause_and_answers() {
        assert_eq!(
            decode(
                ScanCodeSet::Set2,
                &[0xe1, 0x14, 0x77, 0xe1, 0xf0, 0x14, 0xf0, 0x77, 0x15]
            ),
            [KeyEvent::press(KEY_PAUSE), KeyEvent::press(KEY_Q)]
        );
        assert_eq!(decode(ScanCodeSet::Set2, &[0xfa, 0xaa, 0xfe, 0x00]), []);
    }

    #[test]
    fn both_sets_name_every_letter_and_digit_alike() {
        // The set 2 make codes of a..z and 1..0 against set 1's (= Linux codes).
        let set2_letters = [
            0x1c, 0x32, 0x21, 0x23, 0x24, 0x2b, 0x34, 0x33, 0x43, 0x3b, 0x42, 0x4b, 0x3a, 0x31, 0x44, 0x4d, 0x15, 0x2d,
            0x1b, 0x2c, 0x3c, 0x2a, 0x1d, 0x22, 0x35, 0x1a,
        ];
        let set1_letters = [
            0x1e, 0x30, 0x2e, 0x20, 0x12, 0x21, 0x22, 0x23, 0x17, 0x24, 0x25, 0x26, 0x32, 0x31, 0x18, 0x19, 0x10, 0x13,
            0x1f, 0x14, 0x16, 0x2f, 0x11, 0x2d, 0x15, 0x2c,
        ];
        for (s2, s1) in set2_letters.iter().zip(set1_letters) {
            assert_eq!(set2(*s2), set1(s1), "set 2 {s2:#04x} vs set 1 {s1:#04x}");
        }
        let set2_digits = [0x16, 0x1e, 0x26, 0x25, 0x2e, 0x36, 0x3d, 0x3e, 0x46, 0x45];
        for (i, s2) in set2_digits.iter().enumerate() {
            assert_eq!(set2(*s2), Some(KEY_1 + i as u16));
        }
    }
}
