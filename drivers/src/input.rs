//! Keyboards as the rest of the firmware sees them: a stream of key presses
//! and releases named by Linux input event codes (`linux/input-event-codes.h`),
//! which virtio-input devices speak natively (virtio 1.2 §5.8) and into which
//! the PS/2 scan code sets translate ([`crate::ps2::scancode`]). One keymap
//! above this (the console's) then serves every keyboard.
#![forbid(unsafe_code)]

/// What happened to a key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyAction {
    /// The key went up (virtio-input value 0; a PS/2 break code).
    Release,
    /// The key went down (virtio-input value 1; a PS/2 make code).
    Press,
    /// Typematic repeat while held (virtio-input value 2; PS/2 repeats the make code).
    Repeat,
}

/// One key event: a Linux key code and what happened to it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KeyEvent {
    /// The key, as a Linux key code ([`code`]).
    pub code: u16,
    /// Whether it went down, up, or repeats.
    pub action: KeyAction,
}

impl KeyEvent {
    /// The key `code` going down.
    pub const fn press(code: u16) -> KeyEvent {
        KeyEvent {
            code,
            action: KeyAction::Press,
        }
    }

    /// The key `code` going up.
    pub const fn release(code: u16) -> KeyEvent {
        KeyEvent {
            code,
            action: KeyAction::Release,
        }
    }
}

/// The lock LEDs a keyboard may show.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Leds {
    /// Scroll Lock is on.
    pub scroll_lock: bool,
    /// Num Lock is on.
    pub num_lock: bool,
    /// Caps Lock is on.
    pub caps_lock: bool,
}

/// A keyboard the firmware polls (no interrupts: DESIGN.md).
pub trait Keyboard: Send {
    /// The next key event the device has, if any; never blocks.
    fn poll_event(&mut self) -> Option<KeyEvent>;
    /// Shows the lock state on the keyboard's LEDs, where it has them.
    fn set_leds(&mut self, leds: Leds);
}

/// Linux key codes (`linux/input-event-codes.h`), the ones the console maps.
///
/// Each `KEY_*` constant has the name and value of the kernel header's macro;
/// the codes between the named ones (the rest of a row of letters, digits or
/// function keys) follow the header's numbering and are used as plain numbers.
// The constants are the kernel header's, copied as they are: the header is their
// documentation, so they carry no doc comment each (the workspace's missing_docs
// is allowed for this constant-only module alone).
#[allow(
    missing_docs,
    reason = "Linux's KEY_* constants, documented by linux/input-event-codes.h"
)]
pub mod code {
    pub const KEY_ESC: u16 = 1;
    pub const KEY_1: u16 = 2;
    pub const KEY_0: u16 = 11;
    pub const KEY_MINUS: u16 = 12;
    pub const KEY_EQUAL: u16 = 13;
    pub const KEY_BACKSPACE: u16 = 14;
    pub const KEY_TAB: u16 = 15;
    pub const KEY_Q: u16 = 16;
    pub const KEY_P: u16 = 25;
    pub const KEY_LEFTBRACE: u16 = 26;
    pub const KEY_RIGHTBRACE: u16 = 27;
    pub const KEY_ENTER: u16 = 28;
    pub const KEY_LEFTCTRL: u16 = 29;
    pub const KEY_A: u16 = 30;
    pub const KEY_L: u16 = 38;
    pub const KEY_SEMICOLON: u16 = 39;
    pub const KEY_APOSTROPHE: u16 = 40;
    pub const KEY_GRAVE: u16 = 41;
    pub const KEY_LEFTSHIFT: u16 = 42;
    pub const KEY_BACKSLASH: u16 = 43;
    pub const KEY_Z: u16 = 44;
    pub const KEY_M: u16 = 50;
    pub const KEY_COMMA: u16 = 51;
    pub const KEY_DOT: u16 = 52;
    pub const KEY_SLASH: u16 = 53;
    pub const KEY_RIGHTSHIFT: u16 = 54;
    pub const KEY_KPASTERISK: u16 = 55;
    pub const KEY_LEFTALT: u16 = 56;
    pub const KEY_SPACE: u16 = 57;
    pub const KEY_CAPSLOCK: u16 = 58;
    pub const KEY_F1: u16 = 59;
    pub const KEY_F10: u16 = 68;
    pub const KEY_NUMLOCK: u16 = 69;
    pub const KEY_SCROLLLOCK: u16 = 70;
    pub const KEY_KP7: u16 = 71;
    pub const KEY_KP8: u16 = 72;
    pub const KEY_KP9: u16 = 73;
    pub const KEY_KPMINUS: u16 = 74;
    pub const KEY_KP4: u16 = 75;
    pub const KEY_KP5: u16 = 76;
    pub const KEY_KP6: u16 = 77;
    pub const KEY_KPPLUS: u16 = 78;
    pub const KEY_KP1: u16 = 79;
    pub const KEY_KP2: u16 = 80;
    pub const KEY_KP3: u16 = 81;
    pub const KEY_KP0: u16 = 82;
    pub const KEY_KPDOT: u16 = 83;
    pub const KEY_102ND: u16 = 86;
    pub const KEY_F11: u16 = 87;
    pub const KEY_F12: u16 = 88;
    pub const KEY_KPENTER: u16 = 96;
    pub const KEY_RIGHTCTRL: u16 = 97;
    pub const KEY_KPSLASH: u16 = 98;
    pub const KEY_SYSRQ: u16 = 99;
    pub const KEY_RIGHTALT: u16 = 100;
    pub const KEY_HOME: u16 = 102;
    pub const KEY_UP: u16 = 103;
    pub const KEY_PAGEUP: u16 = 104;
    pub const KEY_LEFT: u16 = 105;
    pub const KEY_RIGHT: u16 = 106;
    pub const KEY_END: u16 = 107;
    pub const KEY_DOWN: u16 = 108;
    pub const KEY_PAGEDOWN: u16 = 109;
    pub const KEY_INSERT: u16 = 110;
    pub const KEY_DELETE: u16 = 111;
    pub const KEY_KPEQUAL: u16 = 117;
    pub const KEY_PAUSE: u16 = 119;
    pub const KEY_LEFTMETA: u16 = 125;
    pub const KEY_RIGHTMETA: u16 = 126;
    pub const KEY_COMPOSE: u16 = 127;
}
