//! Decoding terminal input into EFI keys (UEFI 2.10 §12.3.3 "EFI Scan Codes for
//! EFI_SIMPLE_TEXT_INPUT_PROTOCOL", §12.2.3 key shift states).
//!
//! A serial terminal sends printable characters as UTF-8 and special keys as
//! ECMA-48 / VT100 escape sequences: CSI (`ESC [ params final`) and SS3
//! (`ESC O final`). [`KeyDecoder`] is a byte-at-a-time state machine; a lone
//! ESC is only known to be the Escape key when no byte follows it within
//! [`ESC_TIMEOUT_NS`], so the decoder is driven with timestamps and
//! [`KeyDecoder::tick`] reports the key once the time has passed. Unknown or
//! malformed sequences are dropped; the decoder always returns to its ground
//! state by the sequence's final byte, a length limit, or the timeout.
#![forbid(unsafe_code)]

use r_efi::protocols::simple_text_input_ex::{
    LEFT_ALT_PRESSED, LEFT_CONTROL_PRESSED, LEFT_SHIFT_PRESSED, SHIFT_STATE_VALID,
};

/// EFI scan codes (UEFI 2.10 Table 12-4).
pub const SCAN_NULL: u16 = 0x00;
/// Cursor up.
pub const SCAN_UP: u16 = 0x01;
/// Cursor down.
pub const SCAN_DOWN: u16 = 0x02;
/// Cursor right.
pub const SCAN_RIGHT: u16 = 0x03;
/// Cursor left.
pub const SCAN_LEFT: u16 = 0x04;
/// Home.
pub const SCAN_HOME: u16 = 0x05;
/// End.
pub const SCAN_END: u16 = 0x06;
/// Insert.
pub const SCAN_INSERT: u16 = 0x07;
/// Delete.
pub const SCAN_DELETE: u16 = 0x08;
/// Page up.
pub const SCAN_PAGE_UP: u16 = 0x09;
/// Page down.
pub const SCAN_PAGE_DOWN: u16 = 0x0a;
/// F1.
pub const SCAN_F1: u16 = 0x0b;
/// F2.
pub const SCAN_F2: u16 = 0x0c;
/// F3.
pub const SCAN_F3: u16 = 0x0d;
/// F4.
pub const SCAN_F4: u16 = 0x0e;
/// F5.
pub const SCAN_F5: u16 = 0x0f;
/// F6.
pub const SCAN_F6: u16 = 0x10;
/// F7.
pub const SCAN_F7: u16 = 0x11;
/// F8.
pub const SCAN_F8: u16 = 0x12;
/// F9.
pub const SCAN_F9: u16 = 0x13;
/// F10.
pub const SCAN_F10: u16 = 0x14;
/// F11.
pub const SCAN_F11: u16 = 0x15;
/// F12.
pub const SCAN_F12: u16 = 0x16;
/// Escape.
pub const SCAN_ESC: u16 = 0x17;

/// Unicode control characters EFI keys carry.
pub const CHAR_BACKSPACE: u16 = 0x08;
/// Horizontal tab.
pub const CHAR_TAB: u16 = 0x09;
/// Carriage return (Enter).
pub const CHAR_CARRIAGE_RETURN: u16 = 0x0d;

/// How long after ESC the next byte must arrive to be part of a sequence.
/// Terminals send a whole sequence at once (at 115200 baud a byte takes 87 µs);
/// a human pressing ESC then another key is far slower.
pub const ESC_TIMEOUT_NS: u64 = 30_000_000;

/// Longest CSI parameter string kept; longer sequences are skipped to their end.
const MAX_CSI_PARAMS: usize = 16;

const ESC: u8 = 0x1b;
const DEL: u8 = 0x7f;

/// One decoded key stroke. `shift_state` is an EFI KeyShiftState: zero when the
/// terminal did not say, else SHIFT_STATE_VALID plus the modifier bits.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Key {
    /// The EFI scan code; [`SCAN_NULL`] for a character key.
    pub scan_code: u16,
    /// The character (UCS-2); 0 for a scan-code key.
    pub unicode_char: u16,
    /// The KeyShiftState (0 when unknown).
    pub shift_state: u32,
}

impl Key {
    /// A key with a scan code and no character.
    pub const fn scan(scan_code: u16) -> Key {
        Key {
            scan_code,
            unicode_char: 0,
            shift_state: 0,
        }
    }

    /// A character key.
    pub const fn char(unicode_char: u16) -> Key {
        Key {
            scan_code: SCAN_NULL,
            unicode_char,
            shift_state: 0,
        }
    }

    const fn with_shift_state(mut self, shift_state: u32) -> Key {
        self.shift_state = shift_state;
        self
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    Ground,
    /// ESC received at `since`.
    Escape {
        since: u64,
    },
    /// `ESC [` and parameter bytes so far.
    Csi {
        since: u64,
    },
    /// `ESC [ [`: the Linux console's F1..F5.
    LinuxFunction {
        since: u64,
    },
    /// A CSI too long to keep: skipped up to its final byte.
    CsiOverflow {
        since: u64,
    },
    /// `ESC O`.
    Ss3 {
        since: u64,
    },
    /// A UTF-8 sequence with `remaining` continuation bytes to come.
    Utf8 {
        since: u64,
        value: u32,
        remaining: u8,
        min: u32,
    },
}

/// Turns terminal bytes into [`Key`]s.
#[derive(Clone, Debug)]
pub struct KeyDecoder {
    state: State,
    params: [u8; MAX_CSI_PARAMS],
    params_len: usize,
    /// The previous byte was CR: a following LF is the same Enter key.
    after_cr: bool,
}

impl Default for KeyDecoder {
    fn default() -> Self {
        Self::new()
    }
}

impl KeyDecoder {
    /// A decoder with nothing pending.
    pub const fn new() -> Self {
        KeyDecoder {
            state: State::Ground,
            params: [0; MAX_CSI_PARAMS],
            params_len: 0,
            after_cr: false,
        }
    }

    /// Forgets any partial sequence.
    pub fn reset(&mut self) {
        *self = KeyDecoder::new();
    }

    /// Whether a sequence is in progress (a later byte or [`tick`] will finish it).
    ///
    /// [`tick`]: KeyDecoder::tick
    pub fn is_pending(&self) -> bool {
        self.state != State::Ground
    }

    /// Feeds one byte received at `now_ns`; decoded keys go to `emit`.
    ///
    /// Bytes always continue a pending sequence however late they come: a
    /// firmware that polls seldom finds a whole sequence in the UART at once.
    /// Only [`tick`](KeyDecoder::tick) ends a sequence by time.
    pub fn feed(&mut self, byte: u8, now_ns: u64, emit: &mut impl FnMut(Key)) {
        let after_cr = core::mem::replace(&mut self.after_cr, false);
        match self.state {
            State::Ground => self.ground(byte, now_ns, after_cr, emit),
            State::Escape { .. } => match byte {
                b'[' => {
                    self.params_len = 0;
                    self.state = State::Csi { since: now_ns };
                }
                b'O' => self.state = State::Ss3 { since: now_ns },
                _ => {
                    // ESC then an ordinary byte: the Escape key, then that byte
                    // (which may itself be ESC).
                    self.state = State::Ground;
                    emit(Key::scan(SCAN_ESC));
                    self.ground(byte, now_ns, false, emit);
                }
            },
            State::Csi { since } => self.csi(byte, since, now_ns, emit),
            State::LinuxFunction { .. } => {
                self.state = State::Ground;
                if let b'A'..=b'E' = byte {
                    emit(Key::scan(SCAN_F1 + u16::from(byte - b'A')));
                }
            }
            State::CsiOverflow { .. } => {
                if is_csi_final(byte) {
                    self.state = State::Ground;
                } else if !is_csi_body(byte) {
                    self.abort_into(byte, now_ns, emit);
                }
            }
            State::Ss3 { .. } => {
                self.state = State::Ground;
                match final_byte_scan(byte) {
                    Some(scan) => emit(Key::scan(scan)),
                    // Keypad Enter in application mode.
                    None if byte == b'M' => emit(Key::char(CHAR_CARRIAGE_RETURN)),
                    None => log::debug!("console: unknown SS3 sequence ending {byte:#04x} dropped"),
                }
            }
            State::Utf8 {
                since,
                value,
                remaining,
                min,
            } => {
                if byte & 0xc0 != 0x80 {
                    // Truncated sequence: drop it, the byte starts afresh.
                    self.state = State::Ground;
                    self.ground(byte, now_ns, false, emit);
                    return;
                }
                let value = (value << 6) | u32::from(byte & 0x3f);
                if remaining > 1 {
                    self.state = State::Utf8 {
                        since,
                        value,
                        remaining: remaining - 1,
                        min,
                    };
                    return;
                }
                self.state = State::Ground;
                // Overlong forms, surrogates and characters beyond the BMP
                // (which UCS-2 keys cannot carry) are dropped.
                if value >= min && value <= 0xffff && !(0xd800..=0xdfff).contains(&value) {
                    emit(Key::char(value as u16));
                }
            }
        }
    }

    /// Ends a sequence that has waited [`ESC_TIMEOUT_NS`]: a lone ESC becomes
    /// the Escape key, an unfinished sequence is dropped.
    pub fn tick(&mut self, now_ns: u64, emit: &mut impl FnMut(Key)) {
        let since = match self.state {
            State::Ground => return,
            State::Escape { since }
            | State::Csi { since }
            | State::LinuxFunction { since }
            | State::CsiOverflow { since }
            | State::Ss3 { since }
            | State::Utf8 { since, .. } => since,
        };
        if now_ns.saturating_sub(since) < ESC_TIMEOUT_NS {
            return;
        }
        if let State::Escape { .. } = self.state {
            emit(Key::scan(SCAN_ESC));
        } else {
            log::debug!("console: unfinished input sequence dropped after timeout");
        }
        self.state = State::Ground;
    }

    fn ground(&mut self, byte: u8, now_ns: u64, after_cr: bool, emit: &mut impl FnMut(Key)) {
        match byte {
            ESC => self.state = State::Escape { since: now_ns },
            b'\r' => {
                self.after_cr = true;
                emit(Key::char(CHAR_CARRIAGE_RETURN));
            }
            b'\n' if !after_cr => emit(Key::char(CHAR_CARRIAGE_RETURN)),
            // LF right after CR: the same Enter key.
            b'\n' => {}
            DEL | 0x08 => emit(Key::char(CHAR_BACKSPACE)),
            b'\t' => emit(Key::char(CHAR_TAB)),
            // Ctrl-A .. Ctrl-Z (less the ones above, which are their own keys).
            0x01..=0x1a => emit(Key::char(u16::from(byte)).with_shift_state(SHIFT_STATE_VALID | LEFT_CONTROL_PRESSED)),
            0x20..=0x7e => emit(Key::char(u16::from(byte))),
            0xc2..=0xdf => self.start_utf8(now_ns, byte & 0x1f, 1, 0x80),
            0xe0..=0xef => self.start_utf8(now_ns, byte & 0x0f, 2, 0x800),
            0xf0..=0xf4 => self.start_utf8(now_ns, byte & 0x07, 3, 0x1_0000),
            // NUL, the remaining C0 controls, stray continuation bytes, invalid
            // lead bytes.
            _ => {}
        }
    }

    fn start_utf8(&mut self, now_ns: u64, bits: u8, remaining: u8, min: u32) {
        self.state = State::Utf8 {
            since: now_ns,
            value: u32::from(bits),
            remaining,
            min,
        };
    }

    fn csi(&mut self, byte: u8, since: u64, now_ns: u64, emit: &mut impl FnMut(Key)) {
        if byte == b'[' && self.params_len == 0 {
            self.state = State::LinuxFunction { since };
            return;
        }
        if is_csi_final(byte) {
            self.state = State::Ground;
            match self.csi_key(byte) {
                Some(key) => emit(key),
                None => log::debug!("console: unknown CSI sequence ending {byte:#04x} dropped"),
            }
            return;
        }
        if !is_csi_body(byte) {
            self.abort_into(byte, now_ns, emit);
            return;
        }
        match self.params.get_mut(self.params_len) {
            Some(slot) => {
                *slot = byte;
                self.params_len += 1;
            }
            None => self.state = State::CsiOverflow { since },
        }
    }

    /// A byte that cannot be inside a sequence ends it; the byte itself is
    /// decoded as usual (ECMA-48 executes C0 controls met inside a sequence).
    fn abort_into(&mut self, byte: u8, now_ns: u64, emit: &mut impl FnMut(Key)) {
        log::debug!("console: escape sequence interrupted by {byte:#04x}");
        self.state = State::Ground;
        self.ground(byte, now_ns, false, emit);
    }

    /// The key of `ESC [ params final`, if it is one this console knows.
    fn csi_key(&self, final_byte: u8) -> Option<Key> {
        let params = &self.params[..self.params_len];
        let mut numbers = [0u16; 2];
        let mut count = 0;
        for field in params.split(|&b| b == b';') {
            let value = parse_number(field)?;
            if let Some(slot) = numbers.get_mut(count) {
                *slot = value;
            }
            count += 1;
        }
        let [first, second] = numbers;
        // xterm's modifier parameter: 1 + (shift 1 | alt 2 | ctrl 4 | meta 8).
        let modifiers = if count >= 2 { modifier_state(second) } else { 0 };
        let scan = match final_byte {
            // Shift-Tab (back-tab).
            b'Z' => return Some(Key::char(CHAR_TAB).with_shift_state(SHIFT_STATE_VALID | LEFT_SHIFT_PRESSED)),
            b'~' => match first {
                1 | 7 => SCAN_HOME,
                2 => SCAN_INSERT,
                3 => SCAN_DELETE,
                4 | 8 => SCAN_END,
                5 => SCAN_PAGE_UP,
                6 => SCAN_PAGE_DOWN,
                11 => SCAN_F1,
                12 => SCAN_F2,
                13 => SCAN_F3,
                14 => SCAN_F4,
                15 => SCAN_F5,
                17 => SCAN_F6,
                18 => SCAN_F7,
                19 => SCAN_F8,
                20 => SCAN_F9,
                21 => SCAN_F10,
                23 => SCAN_F11,
                24 => SCAN_F12,
                _ => return None,
            },
            _ => final_byte_scan(final_byte)?,
        };
        Some(Key::scan(scan).with_shift_state(modifiers))
    }
}

/// The key a sequence names by its final byte alone: the cursor keys, Home,
/// End and F1-F4, which terminals send as SS3 (`ESC O A`) or CSI (`ESC [ A`,
/// `ESC [ 1;5A` with modifiers).
fn final_byte_scan(byte: u8) -> Option<u16> {
    let scan = match byte {
        b'A' => SCAN_UP,
        b'B' => SCAN_DOWN,
        b'C' => SCAN_RIGHT,
        b'D' => SCAN_LEFT,
        b'H' => SCAN_HOME,
        b'F' => SCAN_END,
        b'P' => SCAN_F1,
        b'Q' => SCAN_F2,
        b'R' => SCAN_F3,
        b'S' => SCAN_F4,
        _ => return None,
    };
    Some(scan)
}

fn is_csi_final(byte: u8) -> bool {
    (0x40..=0x7e).contains(&byte)
}

/// Parameter (0x30..0x3f) and intermediate (0x20..0x2f) bytes.
fn is_csi_body(byte: u8) -> bool {
    (0x20..=0x3f).contains(&byte)
}

/// A decimal CSI parameter; empty means the default (0 here). `None` for
/// anything else (private markers like `?`, absurdly large values).
fn parse_number(field: &[u8]) -> Option<u16> {
    let mut value: u16 = 0;
    for &b in field {
        if !b.is_ascii_digit() {
            return None;
        }
        value = value.checked_mul(10)?.checked_add(u16::from(b - b'0'))?;
    }
    Some(value)
}

fn modifier_state(parameter: u16) -> u32 {
    let bits = parameter.saturating_sub(1);
    if bits == 0 {
        return 0;
    }
    let mut state = SHIFT_STATE_VALID;
    if bits & 1 != 0 {
        state |= LEFT_SHIFT_PRESSED;
    }
    if bits & 2 != 0 {
        state |= LEFT_ALT_PRESSED;
    }
    if bits & 4 != 0 {
        state |= LEFT_CONTROL_PRESSED;
    }
    state
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::vec::Vec;

    const MS: u64 = 1_000_000;

    /// Feeds all bytes at time `now`, then ticks at `now`.
    fn decode_at(decoder: &mut KeyDecoder, bytes: &[u8], now: u64) -> Vec<Key> {
        let mut keys = Vec::new();
        for &b in bytes {
            decoder.feed(b, now, &mut |k| keys.push(k));
        }
        decoder.tick(now, &mut |k| keys.push(k));
        keys
    }

    fn decode(bytes: &[u8]) -> Vec<Key> {
        decode_at(&mut KeyDecoder::new(), bytes, 0)
    }

    fn scans(bytes: &[u8]) -> Vec<u16> {
        decode(bytes).iter().map(|k| k.scan_code).collect()
    }

    #[test]
    fn printable_ascii_is_its_own_character() {
        let keys = decode(b"aZ ~");
        let chars: Vec<u16> = keys.iter().map(|k| k.unicode_char).collect();
        assert_eq!(chars, [b'a', b'Z', b' ', b'~'].map(u16::from));
        assert!(keys.iter().all(|k| k.scan_code == SCAN_NULL && k.shift_state == 0));
    }

    #[test]
    fn enter_from_cr_lf_or_crlf_is_one_carriage_return() {
        assert_eq!(decode(b"\r"), [Key::char(CHAR_CARRIAGE_RETURN)]);
        assert_eq!(decode(b"\n"), [Key::char(CHAR_CARRIAGE_RETURN)]);
        assert_eq!(decode(b"\r\n"), [Key::char(CHAR_CARRIAGE_RETURN)]);
        assert_eq!(decode(b"\n\n").len(), 2);
        assert_eq!(decode(b"\r\r\n").len(), 2);
    }

    #[test]
    fn delete_and_backspace_bytes_are_backspace() {
        assert_eq!(
            decode(&[0x7f, 0x08]),
            [Key::char(CHAR_BACKSPACE), Key::char(CHAR_BACKSPACE)]
        );
        assert_eq!(decode(b"\t"), [Key::char(CHAR_TAB)]);
    }

    #[test]
    fn ctrl_letters_carry_the_control_state() {
        let keys = decode(&[0x01, 0x03, 0x1a]);
        assert_eq!(keys.iter().map(|k| k.unicode_char).collect::<Vec<_>>(), [1, 3, 26]);
        assert!(keys
            .iter()
            .all(|k| k.shift_state == SHIFT_STATE_VALID | LEFT_CONTROL_PRESSED));
    }

    #[test]
    fn arrows_in_normal_and_application_mode() {
        assert_eq!(
            scans(b"\x1b[A\x1b[B\x1b[C\x1b[D"),
            [SCAN_UP, SCAN_DOWN, SCAN_RIGHT, SCAN_LEFT]
        );
        assert_eq!(
            scans(b"\x1bOA\x1bOB\x1bOC\x1bOD"),
            [SCAN_UP, SCAN_DOWN, SCAN_RIGHT, SCAN_LEFT]
        );
    }

    #[test]
    fn home_and_end_in_all_their_spellings() {
        assert_eq!(scans(b"\x1b[H\x1b[1~\x1bOH\x1b[7~"), [SCAN_HOME; 4]);
        assert_eq!(scans(b"\x1b[F\x1b[4~\x1bOF\x1b[8~"), [SCAN_END; 4]);
    }

    #[test]
    fn editing_keys() {
        assert_eq!(
            scans(b"\x1b[2~\x1b[3~\x1b[5~\x1b[6~"),
            [SCAN_INSERT, SCAN_DELETE, SCAN_PAGE_UP, SCAN_PAGE_DOWN]
        );
    }

    #[test]
    fn function_keys() {
        assert_eq!(scans(b"\x1bOP\x1bOQ\x1bOR\x1bOS"), [SCAN_F1, SCAN_F2, SCAN_F3, SCAN_F4]);
        assert_eq!(
            scans(b"\x1b[11~\x1b[12~\x1b[13~\x1b[14~"),
            [SCAN_F1, SCAN_F2, SCAN_F3, SCAN_F4]
        );
        assert_eq!(
            scans(b"\x1b[15~\x1b[17~\x1b[18~\x1b[19~\x1b[20~\x1b[21~\x1b[23~\x1b[24~"),
            [SCAN_F5, SCAN_F6, SCAN_F7, SCAN_F8, SCAN_F9, SCAN_F10, SCAN_F11, SCAN_F12]
        );
        assert_eq!(scans(b"\x1b[[A\x1b[[E"), [SCAN_F1, SCAN_F5], "Linux console");
        assert_eq!(SCAN_F10, 0x14);
        assert_eq!(SCAN_F12, 0x16);
    }

    #[test]
    fn xterm_modifiers_become_shift_state() {
        let keys = decode(b"\x1b[1;5A\x1b[3;2~\x1b[Z");
        assert_eq!(keys[0].scan_code, SCAN_UP);
        assert_eq!(keys[0].shift_state, SHIFT_STATE_VALID | LEFT_CONTROL_PRESSED);
        assert_eq!(keys[1].scan_code, SCAN_DELETE);
        assert_eq!(keys[1].shift_state, SHIFT_STATE_VALID | LEFT_SHIFT_PRESSED);
        assert_eq!(keys[2].unicode_char, CHAR_TAB);
        assert_eq!(keys[2].shift_state, SHIFT_STATE_VALID | LEFT_SHIFT_PRESSED);
    }

    #[test]
    fn sequences_split_byte_by_byte_across_polls() {
        let mut d = KeyDecoder::new();
        let mut all = Vec::new();
        for (i, &b) in b"\x1b[24~\x1bOP\x1b[B".iter().enumerate() {
            // Each byte in its own poll, a millisecond apart.
            all.extend(decode_at(&mut d, &[b], i as u64 * MS));
        }
        assert_eq!(
            all.iter().map(|k| k.scan_code).collect::<Vec<_>>(),
            [SCAN_F12, SCAN_F1, SCAN_DOWN]
        );
    }

    #[test]
    fn lone_escape_is_reported_after_the_timeout() {
        let mut d = KeyDecoder::new();
        assert!(decode_at(&mut d, b"\x1b", 100 * MS).is_empty());
        assert!(decode_at(&mut d, b"", 100 * MS + ESC_TIMEOUT_NS - 1).is_empty());
        assert_eq!(decode_at(&mut d, b"", 100 * MS + ESC_TIMEOUT_NS), [Key::scan(SCAN_ESC)]);
        assert!(!d.is_pending());
        assert_eq!(decode_at(&mut d, b"x", 200 * MS), [Key::char(u16::from(b'x'))]);
    }

    #[test]
    fn escape_then_late_bracket_still_completes_when_polled_before_timeout() {
        let mut d = KeyDecoder::new();
        assert!(decode_at(&mut d, b"\x1b", 0).is_empty());
        assert_eq!(decode_at(&mut d, b"[A", 10 * MS), [Key::scan(SCAN_UP)]);
    }

    #[test]
    fn escape_followed_by_a_plain_byte_is_escape_then_that_byte() {
        assert_eq!(decode(b"\x1bq"), [Key::scan(SCAN_ESC), Key::char(u16::from(b'q'))]);
        let mut d = KeyDecoder::new();
        assert_eq!(decode_at(&mut d, b"\x1b\x1b", 0), [Key::scan(SCAN_ESC)]);
        assert_eq!(decode_at(&mut d, b"", ESC_TIMEOUT_NS), [Key::scan(SCAN_ESC)]);
    }

    #[test]
    fn unknown_sequences_are_dropped_and_decoding_recovers() {
        assert_eq!(scans(b"\x1b[99~\x1b[A"), [SCAN_UP]);
        assert_eq!(scans(b"\x1b[?1;2c\x1b[B"), [SCAN_DOWN]);
        assert_eq!(scans(b"\x1bOz\x1b[C"), [SCAN_RIGHT]);
        assert_eq!(scans(b"\x1b[[z\x1b[D"), [SCAN_LEFT]);
        // A runaway parameter string is skipped to its final byte.
        let mut long = Vec::from(&b"\x1b["[..]);
        long.extend(core::iter::repeat_n(b'1', 100));
        long.extend_from_slice(b"~\x1b[H");
        assert_eq!(scans(&long), [SCAN_HOME]);
        // A control byte interrupts a sequence and is decoded itself.
        assert_eq!(decode(b"\x1b[1\r"), [Key::char(CHAR_CARRIAGE_RETURN)]);
    }

    #[test]
    fn unfinished_sequence_times_out_without_a_key() {
        let mut d = KeyDecoder::new();
        assert!(decode_at(&mut d, b"\x1b[1;", 0).is_empty());
        assert!(decode_at(&mut d, b"", ESC_TIMEOUT_NS).is_empty());
        assert!(!d.is_pending());
        assert_eq!(decode_at(&mut d, b"A", ESC_TIMEOUT_NS), [Key::char(u16::from(b'A'))]);
    }

    #[test]
    fn utf8_input_becomes_ucs2() {
        let keys = decode("é€ж".as_bytes());
        assert_eq!(
            keys.iter().map(|k| k.unicode_char).collect::<Vec<_>>(),
            [0xe9, 0x20ac, 0x436]
        );
        // Beyond the BMP, overlong, surrogate, stray continuation: dropped.
        assert!(decode("😀".as_bytes()).is_empty());
        assert!(decode(&[0xc0, 0xaf, 0xe0, 0x80, 0xaf, 0xed, 0xa0, 0x80, 0x80]).is_empty());
        // Truncated sequence: the next byte is decoded on its own.
        assert_eq!(decode(&[0xe2, 0x82, b'x']), [Key::char(u16::from(b'x'))]);
    }

    #[test]
    fn utf8_split_across_polls() {
        let mut d = KeyDecoder::new();
        let bytes = "€".as_bytes();
        assert!(decode_at(&mut d, &bytes[..1], 0).is_empty());
        assert!(decode_at(&mut d, &bytes[1..2], MS).is_empty());
        assert_eq!(decode_at(&mut d, &bytes[2..], 2 * MS), [Key::char(0x20ac)]);
    }
}
