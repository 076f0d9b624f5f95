//! Keyboards as console key sources: Linux key codes ([`fw_drivers::input`])
//! into EFI keys with a US layout (UEFI 2.10 §12.2.3 key shift and toggle
//! states, §12.3.3 scan codes).
//!
//! - Shift, Ctrl, Alt, the logo keys, Menu and SysRq are tracked while held
//!   and reported in KeyShiftState (with SHIFT_STATE_VALID). For printable
//!   characters that Shift already changed ('A', '!') the shift bits are left
//!   out, as §12.2.3 allows and other firmware does, so that a shifted letter
//!   reads the same from every console.
//! - Caps, Num and Scroll Lock flip the console's toggle state on press.
//! - Ctrl with a letter gives the control character (Ctrl-C is 0x03), as the
//!   serial console does.
//! - With KEY_STATE_EXPOSED set through SetState, pressing a modifier alone
//!   gives a partial key (no scan code, no character) carrying the new shift
//!   state; without it modifiers give no key.
#![forbid(unsafe_code)]

use super::key_source::KeySource;
use super::keys::*;
use fw_drivers::input::code::*;
use fw_drivers::input::{KeyAction, KeyEvent, Keyboard, Leds};
use r_efi::protocols::simple_text_input_ex::{
    CAPS_LOCK_ACTIVE, KEY_STATE_EXPOSED, LEFT_ALT_PRESSED, LEFT_CONTROL_PRESSED, LEFT_LOGO_PRESSED, LEFT_SHIFT_PRESSED,
    MENU_KEY_PRESSED, NUM_LOCK_ACTIVE, RIGHT_ALT_PRESSED, RIGHT_CONTROL_PRESSED, RIGHT_LOGO_PRESSED,
    RIGHT_SHIFT_PRESSED, SCROLL_LOCK_ACTIVE, SHIFT_STATE_VALID, SYS_REQ_PRESSED,
};
use spin::Mutex;

/// EFI scan code of the Pause key (UEFI 2.10 Table 12-4).
pub const SCAN_PAUSE: u16 = 0x48;

const SHIFT: u32 = LEFT_SHIFT_PRESSED | RIGHT_SHIFT_PRESSED;
const CONTROL: u32 = LEFT_CONTROL_PRESSED | RIGHT_CONTROL_PRESSED;

/// Key events per poll at most, so a device that never runs dry cannot hang
/// the firmware.
pub const MAX_EVENTS_PER_POLL: usize = 64;

/// The modifier bit a key holds while down, if it is a modifier.
fn modifier(code: u16) -> Option<u32> {
    Some(match code {
        KEY_LEFTSHIFT => LEFT_SHIFT_PRESSED,
        KEY_RIGHTSHIFT => RIGHT_SHIFT_PRESSED,
        KEY_LEFTCTRL => LEFT_CONTROL_PRESSED,
        KEY_RIGHTCTRL => RIGHT_CONTROL_PRESSED,
        KEY_LEFTALT => LEFT_ALT_PRESSED,
        KEY_RIGHTALT => RIGHT_ALT_PRESSED,
        KEY_LEFTMETA => LEFT_LOGO_PRESSED,
        KEY_RIGHTMETA => RIGHT_LOGO_PRESSED,
        KEY_COMPOSE => MENU_KEY_PRESSED,
        KEY_SYSRQ => SYS_REQ_PRESSED,
        _ => return None,
    })
}

fn lock(code: u16) -> Option<u8> {
    Some(match code {
        KEY_CAPSLOCK => CAPS_LOCK_ACTIVE,
        KEY_NUMLOCK => NUM_LOCK_ACTIVE,
        KEY_SCROLLLOCK => SCROLL_LOCK_ACTIVE,
        _ => return None,
    })
}

/// The characters of the main block (US layout): unshifted and shifted, by
/// key code from KEY_1 (2) to KEY_SLASH (53); 0 where the key is no character.
const MAIN_BLOCK: [(u8, u8); 52] = [
    (b'1', b'!'),
    (b'2', b'@'),
    (b'3', b'#'),
    (b'4', b'$'),
    (b'5', b'%'),
    (b'6', b'^'),
    (b'7', b'&'),
    (b'8', b'*'),
    (b'9', b'('),
    (b'0', b')'),
    (b'-', b'_'),
    (b'=', b'+'),
    (0, 0), // backspace
    (0, 0), // tab
    (b'q', b'Q'),
    (b'w', b'W'),
    (b'e', b'E'),
    (b'r', b'R'),
    (b't', b'T'),
    (b'y', b'Y'),
    (b'u', b'U'),
    (b'i', b'I'),
    (b'o', b'O'),
    (b'p', b'P'),
    (b'[', b'{'),
    (b']', b'}'),
    (0, 0), // enter
    (0, 0), // left ctrl
    (b'a', b'A'),
    (b's', b'S'),
    (b'd', b'D'),
    (b'f', b'F'),
    (b'g', b'G'),
    (b'h', b'H'),
    (b'j', b'J'),
    (b'k', b'K'),
    (b'l', b'L'),
    (b';', b':'),
    (b'\'', b'"'),
    (b'`', b'~'),
    (0, 0), // left shift
    (b'\\', b'|'),
    (b'z', b'Z'),
    (b'x', b'X'),
    (b'c', b'C'),
    (b'v', b'V'),
    (b'b', b'B'),
    (b'n', b'N'),
    (b'm', b'M'),
    (b',', b'<'),
    (b'.', b'>'),
    (b'/', b'?'),
];

/// The keypad's digit keys with Num Lock on, and their navigation keys with it off.
fn keypad(code: u16) -> Option<(u8, u16)> {
    Some(match code {
        KEY_KP7 => (b'7', SCAN_HOME),
        KEY_KP8 => (b'8', SCAN_UP),
        KEY_KP9 => (b'9', SCAN_PAGE_UP),
        KEY_KP4 => (b'4', SCAN_LEFT),
        KEY_KP5 => (b'5', SCAN_NULL),
        KEY_KP6 => (b'6', SCAN_RIGHT),
        KEY_KP1 => (b'1', SCAN_END),
        KEY_KP2 => (b'2', SCAN_DOWN),
        KEY_KP3 => (b'3', SCAN_PAGE_DOWN),
        KEY_KP0 => (b'0', SCAN_INSERT),
        KEY_KPDOT => (b'.', SCAN_DELETE),
        _ => return None,
    })
}

fn scan_key(code: u16) -> Option<u16> {
    Some(match code {
        KEY_ESC => SCAN_ESC,
        KEY_F1..=KEY_F10 => SCAN_F1 + (code - KEY_F1),
        KEY_F11 => SCAN_F11,
        KEY_F12 => SCAN_F12,
        KEY_UP => SCAN_UP,
        KEY_DOWN => SCAN_DOWN,
        KEY_LEFT => SCAN_LEFT,
        KEY_RIGHT => SCAN_RIGHT,
        KEY_HOME => SCAN_HOME,
        KEY_END => SCAN_END,
        KEY_PAGEUP => SCAN_PAGE_UP,
        KEY_PAGEDOWN => SCAN_PAGE_DOWN,
        KEY_INSERT => SCAN_INSERT,
        KEY_DELETE => SCAN_DELETE,
        KEY_PAUSE => SCAN_PAUSE,
        _ => return None,
    })
}

/// The state one keyboard keeps between events: which modifiers are down.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct KeyMap {
    modifiers: u32,
}

impl KeyMap {
    /// A key map with no modifier held.
    pub const fn new() -> KeyMap {
        KeyMap { modifiers: 0 }
    }

    /// Forgets the modifiers held (Reset; a keyboard that lost its state).
    pub fn reset(&mut self) {
        self.modifiers = 0;
    }

    /// A key with neither scan code nor character: only the shift state.
    fn partial_key(&self) -> Key {
        Key {
            scan_code: SCAN_NULL,
            unicode_char: 0,
            shift_state: SHIFT_STATE_VALID | self.modifiers,
        }
    }

    /// The EFI key `event` types, if any, given and updating the console's
    /// `toggles`.
    pub fn translate(&mut self, event: KeyEvent, toggles: &mut u8) -> Option<Key> {
        if let Some(bit) = modifier(event.code) {
            let before = self.modifiers;
            match event.action {
                KeyAction::Release => self.modifiers &= !bit,
                KeyAction::Press | KeyAction::Repeat => self.modifiers |= bit,
            }
            // A partial key reports a change of shift state only.
            let changed = self.modifiers != before;
            return (changed && *toggles & KEY_STATE_EXPOSED != 0).then_some(self.partial_key());
        }
        if event.action == KeyAction::Release {
            return None;
        }
        if let Some(bit) = lock(event.code) {
            if event.action == KeyAction::Press {
                *toggles ^= bit;
            }
            return (*toggles & KEY_STATE_EXPOSED != 0).then_some(self.partial_key());
        }
        let shift = self.modifiers & SHIFT != 0;
        let mut shift_state = SHIFT_STATE_VALID | self.modifiers;
        let key = |scan_code: u16, unicode_char: u16| Key {
            scan_code,
            unicode_char,
            shift_state,
        };
        if let Some(scan) = scan_key(event.code) {
            return Some(key(scan, 0));
        }
        if let Some((digit, scan)) = keypad(event.code) {
            // Shift inverts Num Lock on the keypad, as PC keyboards do.
            let digits = (*toggles & NUM_LOCK_ACTIVE != 0) != shift;
            return match (digits, scan) {
                (true, _) => Some(key(SCAN_NULL, u16::from(digit))),
                (false, SCAN_NULL) => None,
                (false, scan) => Some(key(scan, 0)),
            };
        }
        let simple = match event.code {
            KEY_ENTER | KEY_KPENTER => Some(CHAR_CARRIAGE_RETURN),
            KEY_BACKSPACE => Some(CHAR_BACKSPACE),
            KEY_TAB => Some(CHAR_TAB),
            KEY_SPACE => Some(u16::from(b' ')),
            KEY_KPSLASH => Some(u16::from(b'/')),
            KEY_KPASTERISK => Some(u16::from(b'*')),
            KEY_KPMINUS => Some(u16::from(b'-')),
            KEY_KPPLUS => Some(u16::from(b'+')),
            KEY_KPEQUAL => Some(u16::from(b'=')),
            _ => None,
        };
        if let Some(c) = simple {
            return Some(key(SCAN_NULL, c));
        }
        // The key left of Z on ISO keyboards; the main block otherwise.
        let (plain, shifted) = if event.code == KEY_102ND {
            (b'<', b'>')
        } else {
            *MAIN_BLOCK.get(usize::from(event.code.checked_sub(KEY_1)?))?
        };
        if plain == 0 {
            return None;
        }
        let letter = plain.is_ascii_lowercase();
        let upper = if letter {
            shift != (*toggles & CAPS_LOCK_ACTIVE != 0)
        } else {
            shift
        };
        let mut c = if upper { shifted } else { plain };
        if letter && self.modifiers & CONTROL != 0 {
            // Ctrl-A .. Ctrl-Z.
            c = plain - b'a' + 1;
        } else if shift {
            // The character already says Shift was down.
            shift_state &= !SHIFT;
        }
        Some(Key {
            scan_code: SCAN_NULL,
            unicode_char: u16::from(c),
            shift_state,
        })
    }
}

/// The LEDs that show `toggles`.
pub fn leds(toggles: u8) -> Leds {
    Leds {
        scroll_lock: toggles & SCROLL_LOCK_ACTIVE != 0,
        num_lock: toggles & NUM_LOCK_ACTIVE != 0,
        caps_lock: toggles & CAPS_LOCK_ACTIVE != 0,
    }
}

struct Inner<K> {
    keyboard: K,
    map: KeyMap,
}

/// A keyboard device as a console key source.
pub struct KeyboardSource<K: Keyboard> {
    inner: Mutex<Inner<K>>,
}

impl<K: Keyboard> KeyboardSource<K> {
    /// Serves `keyboard`'s keys to the console, with no modifier held yet.
    pub fn new(keyboard: K) -> KeyboardSource<K> {
        KeyboardSource {
            inner: Mutex::new(Inner {
                keyboard,
                map: KeyMap::new(),
            }),
        }
    }

    /// Runs `f` with the device (to reset it, say).
    pub fn with_keyboard<R>(&self, f: impl FnOnce(&mut K) -> R) -> R {
        f(&mut self.inner.lock().keyboard)
    }
}

impl<K: Keyboard + Send> KeySource for KeyboardSource<K> {
    fn poll(&self, toggles: &mut u8, emit: &mut dyn FnMut(Key)) {
        let mut inner = self.inner.lock();
        for _ in 0..MAX_EVENTS_PER_POLL {
            let Some(event) = inner.keyboard.poll_event() else {
                break;
            };
            if let Some(key) = inner.map.translate(event, toggles) {
                emit(key);
            }
        }
    }

    fn show_toggles(&self, toggles: u8) {
        self.inner.lock().keyboard.set_leds(leds(toggles));
    }

    fn reset(&self) {
        self.inner.lock().map.reset();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::vec::Vec;

    fn press(code: u16) -> KeyEvent {
        KeyEvent::press(code)
    }

    fn release(code: u16) -> KeyEvent {
        KeyEvent::release(code)
    }

    fn typed(events: &[KeyEvent], toggles: &mut u8) -> Vec<Key> {
        let mut map = KeyMap::new();
        events.iter().filter_map(|&e| map.translate(e, toggles)).collect()
    }

    fn chars(keys: &[Key]) -> std::string::String {
        keys.iter()
            .map(|k| char::from_u32(u32::from(k.unicode_char)).unwrap())
            .collect()
    }

    #[test]
    fn letters_digits_and_punctuation_of_a_us_keyboard() {
        let mut toggles = 0;
        let keys = typed(
            &[
                press(KEY_A),
                release(KEY_A),
                press(KEY_Z),
                press(KEY_1),
                press(KEY_0),
                press(KEY_SLASH),
                press(KEY_SPACE),
                press(KEY_GRAVE),
            ],
            &mut toggles,
        );
        assert_eq!(chars(&keys), "az10/ `");
        assert!(keys
            .iter()
            .all(|k| k.scan_code == SCAN_NULL && k.shift_state == SHIFT_STATE_VALID));
    }

    #[test]
    fn shift_gives_the_shifted_character_without_the_shift_bit() {
        let mut toggles = 0;
        let keys = typed(
            &[
                press(KEY_LEFTSHIFT),
                press(KEY_A),
                press(KEY_1),
                release(KEY_LEFTSHIFT),
                press(KEY_A),
                press(KEY_RIGHTSHIFT),
                press(KEY_UP),
            ],
            &mut toggles,
        );
        assert_eq!(chars(&keys[..3]), "A!a");
        let mut toggles = 0;
        let iso = typed(
            &[press(KEY_102ND), press(KEY_LEFTSHIFT), press(KEY_102ND)],
            &mut toggles,
        );
        assert_eq!(chars(&iso), "<>");
        assert!(iso.iter().all(|k| k.shift_state == SHIFT_STATE_VALID));
        assert!(keys[..3].iter().all(|k| k.shift_state == SHIFT_STATE_VALID));
        assert_eq!(keys[3].scan_code, SCAN_UP);
        assert_eq!(keys[3].shift_state, SHIFT_STATE_VALID | RIGHT_SHIFT_PRESSED);
    }

    #[test]
    fn caps_lock_toggles_and_shift_inverts_it_for_letters_only() {
        let mut toggles = 0;
        let keys = typed(
            &[
                press(KEY_CAPSLOCK),
                release(KEY_CAPSLOCK),
                press(KEY_A),
                press(KEY_1),
                press(KEY_LEFTSHIFT),
                press(KEY_A),
            ],
            &mut toggles,
        );
        assert_eq!(toggles, CAPS_LOCK_ACTIVE);
        assert_eq!(chars(&keys), "A1a");
        // A held lock key repeats without toggling again.
        let mut toggles = CAPS_LOCK_ACTIVE;
        let repeat = KeyEvent {
            code: KEY_CAPSLOCK,
            action: KeyAction::Repeat,
        };
        typed(&[repeat, press(KEY_NUMLOCK), press(KEY_SCROLLLOCK)], &mut toggles);
        assert_eq!(toggles, CAPS_LOCK_ACTIVE | NUM_LOCK_ACTIVE | SCROLL_LOCK_ACTIVE);
    }

    #[test]
    fn ctrl_letters_are_control_characters_and_alt_is_reported() {
        let mut toggles = 0;
        let keys = typed(
            &[
                press(KEY_LEFTCTRL),
                press(46), // c
                release(KEY_LEFTCTRL),
                press(KEY_RIGHTALT),
                press(45), // x
            ],
            &mut toggles,
        );
        assert_eq!(keys[0].unicode_char, 3);
        assert_eq!(keys[0].shift_state, SHIFT_STATE_VALID | LEFT_CONTROL_PRESSED);
        assert_eq!(keys[1].unicode_char, u16::from(b'x'));
        assert_eq!(keys[1].shift_state, SHIFT_STATE_VALID | RIGHT_ALT_PRESSED);
    }

    #[test]
    fn special_keys_are_scan_codes_and_controls() {
        let mut toggles = 0;
        let keys = typed(
            &[
                press(KEY_ESC),
                press(KEY_F1),
                press(KEY_F10),
                press(KEY_F12),
                press(KEY_DOWN),
                press(KEY_PAGEDOWN),
                press(KEY_DELETE),
                press(KEY_PAUSE),
                press(KEY_ENTER),
                press(KEY_KPENTER),
                press(KEY_BACKSPACE),
                press(KEY_TAB),
            ],
            &mut toggles,
        );
        let scans: Vec<u16> = keys.iter().map(|k| k.scan_code).collect();
        assert_eq!(
            scans,
            [
                SCAN_ESC,
                SCAN_F1,
                SCAN_F10,
                SCAN_F12,
                SCAN_DOWN,
                SCAN_PAGE_DOWN,
                SCAN_DELETE,
                SCAN_PAUSE,
                0,
                0,
                0,
                0
            ]
        );
        let controls: Vec<u16> = keys[8..].iter().map(|k| k.unicode_char).collect();
        assert_eq!(
            controls,
            [CHAR_CARRIAGE_RETURN, CHAR_CARRIAGE_RETURN, CHAR_BACKSPACE, CHAR_TAB]
        );
    }

    #[test]
    fn keypad_follows_num_lock() {
        let mut toggles = 0;
        let keys = typed(&[press(KEY_KP8), press(KEY_KP5), press(KEY_KPDOT)], &mut toggles);
        assert_eq!(
            keys.iter().map(|k| k.scan_code).collect::<Vec<_>>(),
            [SCAN_UP, SCAN_DELETE]
        );
        let mut toggles = NUM_LOCK_ACTIVE;
        let keys = typed(&[press(KEY_KP8), press(KEY_KP5), press(KEY_KPPLUS)], &mut toggles);
        assert_eq!(chars(&keys), "85+");
    }

    #[test]
    fn repeats_type_again_and_releases_type_nothing() {
        let mut toggles = 0;
        let repeat = KeyEvent {
            code: KEY_DOWN,
            action: KeyAction::Repeat,
        };
        let keys = typed(&[press(KEY_DOWN), repeat, release(KEY_DOWN)], &mut toggles);
        assert_eq!(keys.len(), 2);
    }

    #[test]
    fn partial_keys_only_when_exposed() {
        let mut toggles = 0;
        assert!(typed(&[press(KEY_LEFTSHIFT), release(KEY_LEFTSHIFT)], &mut toggles).is_empty());
        let mut toggles = KEY_STATE_EXPOSED;
        let keys = typed(&[press(KEY_LEFTCTRL), release(KEY_LEFTCTRL)], &mut toggles);
        assert_eq!(
            keys,
            [
                Key {
                    scan_code: 0,
                    unicode_char: 0,
                    shift_state: SHIFT_STATE_VALID | LEFT_CONTROL_PRESSED
                },
                Key {
                    scan_code: 0,
                    unicode_char: 0,
                    shift_state: SHIFT_STATE_VALID
                },
            ]
        );
    }

    #[test]
    fn unknown_codes_type_nothing() {
        let mut toggles = 0;
        assert!(typed(&[press(0), press(84), press(200), press(0x110)], &mut toggles).is_empty());
    }

    struct Scripted {
        events: Vec<KeyEvent>,
        leds: Vec<Leds>,
    }

    impl Keyboard for Scripted {
        fn poll_event(&mut self) -> Option<KeyEvent> {
            (!self.events.is_empty()).then(|| self.events.remove(0))
        }
        fn set_leds(&mut self, leds: Leds) {
            self.leds.push(leds);
        }
    }

    #[test]
    fn a_keyboard_source_emits_keys_and_shows_toggles() {
        let source = KeyboardSource::new(Scripted {
            events: [press(KEY_CAPSLOCK), press(KEY_A)].to_vec(),
            leds: Vec::new(),
        });
        let mut toggles = 0;
        let mut keys = Vec::new();
        source.poll(&mut toggles, &mut |k| keys.push(k));
        assert_eq!(chars(&keys), "A");
        assert_eq!(toggles, CAPS_LOCK_ACTIVE);
        source.show_toggles(toggles);
        source.with_keyboard(|k| {
            assert_eq!(
                k.leds,
                [Leds {
                    caps_lock: true,
                    ..Leds::default()
                }]
            )
        });
    }
}
