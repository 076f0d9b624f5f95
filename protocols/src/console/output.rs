//! Simple Text Output semantics (UEFI 2.10 §12.4) rendered for an ANSI/VT100
//! terminal speaking UTF-8 over a serial line.
//!
//! [`TextOutput`] keeps the state the protocol's `Mode` exposes (mode, attribute,
//! cursor) and turns each service into the bytes the terminal needs. It writes
//! into a byte buffer; the ABI layer sends the buffer to the serial port.
//!
//! The cursor is tracked the way the specification describes: printable
//! characters advance it, writing past the last column wraps to the next row,
//! CR returns to column 0, LF moves down (scrolling at the bottom) and backspace
//! moves left without leaving the row. Wrapping is sent to the terminal as an
//! explicit CR LF, so that terminals with a deferred wrap (xterm's "pending
//! wrap") or with more columns than the mode agree with the model.
#![forbid(unsafe_code)]

use alloc::vec::Vec;
use core::fmt;
use core::fmt::Write as _;
use r_efi::efi;

/// EFI text colours (UEFI 2.10 §12.4.7, SetAttribute). Foreground uses all 16;
/// background only the first 8.
pub const EFI_BLACK: usize = 0x00;
/// Foreground blue.
pub const EFI_BLUE: usize = 0x01;
/// Foreground green.
pub const EFI_GREEN: usize = 0x02;
/// Foreground cyan.
pub const EFI_CYAN: usize = 0x03;
/// Foreground red.
pub const EFI_RED: usize = 0x04;
/// Foreground magenta.
pub const EFI_MAGENTA: usize = 0x05;
/// Foreground brown.
pub const EFI_BROWN: usize = 0x06;
/// Foreground light grey.
pub const EFI_LIGHTGRAY: usize = 0x07;
/// The bright bit, added to a colour from 0 to 7.
pub const EFI_BRIGHT: usize = 0x08;
/// Foreground dark grey (black made bright).
pub const EFI_DARKGRAY: usize = 0x08;
/// Foreground light blue.
pub const EFI_LIGHTBLUE: usize = 0x09;
/// Foreground light green.
pub const EFI_LIGHTGREEN: usize = 0x0a;
/// Foreground light cyan.
pub const EFI_LIGHTCYAN: usize = 0x0b;
/// Foreground light red.
pub const EFI_LIGHTRED: usize = 0x0c;
/// Foreground light magenta.
pub const EFI_LIGHTMAGENTA: usize = 0x0d;
/// Foreground yellow.
pub const EFI_YELLOW: usize = 0x0e;
/// Foreground white.
pub const EFI_WHITE: usize = 0x0f;

/// Background black.
pub const EFI_BACKGROUND_BLACK: usize = 0x00;
/// Background blue.
pub const EFI_BACKGROUND_BLUE: usize = 0x10;
/// Background green.
pub const EFI_BACKGROUND_GREEN: usize = 0x20;
/// Background cyan.
pub const EFI_BACKGROUND_CYAN: usize = 0x30;
/// Background red.
pub const EFI_BACKGROUND_RED: usize = 0x40;
/// Background magenta.
pub const EFI_BACKGROUND_MAGENTA: usize = 0x50;
/// Background brown.
pub const EFI_BACKGROUND_BROWN: usize = 0x60;
/// Background light grey.
pub const EFI_BACKGROUND_LIGHTGRAY: usize = 0x70;

/// `EFI_TEXT_ATTR(Foreground, Background)`.
pub const fn efi_text_attr(foreground: usize, background: usize) -> usize {
    foreground | (background << 4)
}

/// The attribute after Reset: light gray on black, as the specification's
/// examples and every firmware use.
pub const DEFAULT_ATTRIBUTE: usize = EFI_LIGHTGRAY | EFI_BACKGROUND_BLACK;

/// Attribute bits SetAttribute accepts (foreground 0..3, background 4..6).
const ATTRIBUTE_MASK: usize = 0x7f;

/// Control characters OutputString must implement (UEFI 2.10 §12.4.3).
pub const CHAR_NULL: u16 = 0x0000;
/// Backspace: the cursor moves one column left.
pub const CHAR_BACKSPACE: u16 = 0x0008;
/// Tab.
pub const CHAR_TAB: u16 = 0x0009;
/// Line feed: the cursor moves one row down.
pub const CHAR_LINEFEED: u16 = 0x000a;
/// Carriage return: the cursor moves to column 0.
pub const CHAR_CARRIAGE_RETURN: u16 = 0x000d;
const CHAR_BELL: u16 = 0x0007;

/// Text modes: mode 0 must be 80x25 and mode 1, when offered, 80x50 (§12.4.5).
/// 100x31 is the extra mode other serial consoles offer too.
pub const MODES: [(usize, usize); 3] = [(80, 25), (80, 50), (100, 31)];

const ESC: &str = "\x1b";
/// ANSI colour index of each EFI colour 0..7 (EFI is BGR-ordered, ANSI RGB).
const ANSI_COLOUR: [u8; 8] = [0, 4, 2, 6, 1, 5, 3, 7];
const REPLACEMENT: char = '?';

/// Why a text output service refused a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Error {
    /// QueryMode or SetMode with a mode number that does not exist.
    InvalidMode {
        /// The mode number given.
        mode: usize,
    },
    /// SetCursorPosition outside the current mode.
    CursorOutOfRange {
        /// The column asked for.
        column: usize,
        /// The row asked for.
        row: usize,
        /// The mode's columns.
        columns: usize,
        /// The mode's rows.
        rows: usize,
    },
    /// SetAttribute with bits beyond foreground and background.
    UnsupportedAttribute {
        /// The attribute given.
        attribute: usize,
    },
    /// TestString found a character the console cannot show.
    UnrenderableCharacter {
        /// The UCS-2 code unit.
        unit: u16,
    },
}

impl Error {
    /// The status the specification names for this failure.
    pub fn status(&self) -> efi::Status {
        efi::Status::UNSUPPORTED
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::InvalidMode { mode } => {
                write!(f, "text mode {mode} does not exist (max {})", MODES.len())
            }
            Error::CursorOutOfRange {
                column,
                row,
                columns,
                rows,
            } => write!(f, "cursor position ({column}, {row}) outside the {columns}x{rows} mode"),
            Error::UnsupportedAttribute { attribute } => {
                write!(f, "text attribute {attribute:#x} has unknown bits")
            }
            Error::UnrenderableCharacter { unit } => {
                write!(f, "character {unit:#06x} cannot be shown")
            }
        }
    }
}

/// Whether OutputString could show every character.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rendered {
    /// Every character was shown.
    All,
    /// Some characters were shown as '?': the status is EFI_WARN_UNKNOWN_GLYPH.
    SomeReplaced,
}

impl Rendered {
    /// The status OutputString returns for this.
    pub fn status(&self) -> efi::Status {
        match self {
            Rendered::All => efi::Status::SUCCESS,
            Rendered::SomeReplaced => efi::Status::WARN_UNKNOWN_GLYPH,
        }
    }
}

/// The protocol's `Mode` fields, as plain values.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ModeState {
    /// `MaxMode`: how many text modes there are.
    pub max_mode: i32,
    /// `Mode`: the current mode.
    pub mode: i32,
    /// `Attribute`: the current colours.
    pub attribute: i32,
    /// `CursorColumn`.
    pub cursor_column: i32,
    /// `CursorRow`.
    pub cursor_row: i32,
    /// `CursorVisible`.
    pub cursor_visible: bool,
}

/// What one UTF-16 code unit (or surrogate pair) means on the terminal.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Glyph {
    Print(char),
    Backspace,
    LineFeed,
    CarriageReturn,
    /// Shown as nothing (NUL, BEL).
    Silent,
    /// Shown as '?'.
    Unknown,
}

/// Decodes UCS-2 (with UTF-16 surrogate pairs accepted) into glyphs; stops at NUL.
fn glyphs(text: &[u16]) -> impl Iterator<Item = Glyph> + '_ {
    let end = text.iter().position(|&u| u == CHAR_NULL).unwrap_or(text.len());
    char::decode_utf16(text[..end].iter().copied()).map(|decoded| match decoded {
        Ok(c) => glyph_of(c),
        Err(_) => Glyph::Unknown,
    })
}

fn glyph_of(c: char) -> Glyph {
    match c as u32 {
        0x08 => Glyph::Backspace,
        0x0a => Glyph::LineFeed,
        0x0d => Glyph::CarriageReturn,
        0x09 => Glyph::Print(' '),
        u if u == u32::from(CHAR_BELL) || u == u32::from(CHAR_NULL) => Glyph::Silent,
        // Other C0 and C1 controls and DEL would act on the terminal (ESC starts
        // sequences) and desynchronise the cursor model; FFFE/FFFF are not
        // characters. Box drawing (U+2500..U+257F), block elements, geometric
        // shapes and arrows are ordinary characters here.
        0x00..=0x1f | 0x7f..=0x9f | 0xfffe | 0xffff => Glyph::Unknown,
        _ => Glyph::Print(c),
    }
}

/// State of a text console rendered on an ANSI terminal.
#[derive(Clone, Debug)]
pub struct TextOutput {
    mode: usize,
    attribute: usize,
    column: usize,
    row: usize,
    cursor_visible: bool,
    /// The attribute whose SGR sequence the terminal last received; `None` until
    /// the first one is sent, since the terminal's state is unknown at start.
    sent_attribute: Option<usize>,
}

impl Default for TextOutput {
    fn default() -> Self {
        Self::new()
    }
}

impl TextOutput {
    /// Mode 0, default attribute, cursor at (0, 0) and visible; nothing sent yet.
    pub const fn new() -> Self {
        TextOutput {
            mode: 0,
            attribute: DEFAULT_ATTRIBUTE,
            column: 0,
            row: 0,
            cursor_visible: true,
            sent_attribute: None,
        }
    }

    /// Columns and rows of the current mode.
    pub fn size(&self) -> (usize, usize) {
        MODES[self.mode]
    }

    /// The cursor as (column, row).
    pub fn cursor(&self) -> (usize, usize) {
        (self.column, self.row)
    }

    /// The current attribute (colours).
    pub fn attribute(&self) -> usize {
        self.attribute
    }

    /// The `Mode` fields for the protocol's structure.
    pub fn mode_state(&self) -> ModeState {
        ModeState {
            max_mode: MODES.len() as i32,
            mode: self.mode as i32,
            attribute: self.attribute as i32,
            cursor_column: self.column as i32,
            cursor_row: self.row as i32,
            cursor_visible: self.cursor_visible,
        }
    }

    /// Reset: mode 0, default attribute, cleared screen, visible cursor.
    pub fn reset(&mut self, out: &mut Vec<u8>) {
        self.mode = 0;
        self.attribute = DEFAULT_ATTRIBUTE;
        self.sent_attribute = None;
        self.send_attribute(out);
        self.clear_screen(out);
        self.enable_cursor(true, out);
    }

    /// OutputString: shows `text` up to its NUL terminator (or its end).
    pub fn output_string(&mut self, text: &[u16], out: &mut Vec<u8>) -> Rendered {
        self.send_attribute(out);
        let mut rendered = Rendered::All;
        for glyph in glyphs(text) {
            match glyph {
                Glyph::Print(c) => self.print(c, out),
                Glyph::Unknown => {
                    rendered = Rendered::SomeReplaced;
                    self.print(REPLACEMENT, out);
                }
                Glyph::Backspace => {
                    if self.column > 0 {
                        self.column -= 1;
                        out.push(0x08);
                    }
                }
                Glyph::LineFeed => {
                    self.line_feed();
                    out.push(b'\n');
                }
                Glyph::CarriageReturn => {
                    self.column = 0;
                    out.push(b'\r');
                }
                Glyph::Silent => {}
            }
        }
        rendered
    }

    /// TestString: whether every character of `text` can be shown.
    pub fn test_string(&self, text: &[u16]) -> Result<(), Error> {
        let end = text.iter().position(|&u| u == CHAR_NULL).unwrap_or(text.len());
        for decoded in char::decode_utf16(text[..end].iter().copied()) {
            match decoded {
                Ok(c) if glyph_of(c) == Glyph::Unknown => {
                    return Err(Error::UnrenderableCharacter { unit: c as u32 as u16 })
                }
                Ok(_) => {}
                Err(e) => {
                    return Err(Error::UnrenderableCharacter {
                        unit: e.unpaired_surrogate(),
                    })
                }
            }
        }
        Ok(())
    }

    /// QueryMode: columns and rows of `mode`.
    pub fn query_mode(&self, mode: usize) -> Result<(usize, usize), Error> {
        MODES.get(mode).copied().ok_or(Error::InvalidMode { mode })
    }

    /// SetMode: switches mode, clears the screen, homes the cursor.
    pub fn set_mode(&mut self, mode: usize, out: &mut Vec<u8>) -> Result<(), Error> {
        self.query_mode(mode)?;
        self.mode = mode;
        self.clear_screen(out);
        Ok(())
    }

    /// SetAttribute: foreground in bits 0..3, background in bits 4..6.
    pub fn set_attribute(&mut self, attribute: usize, out: &mut Vec<u8>) -> Result<(), Error> {
        if attribute & !ATTRIBUTE_MASK != 0 {
            return Err(Error::UnsupportedAttribute { attribute });
        }
        self.attribute = attribute;
        self.send_attribute(out);
        Ok(())
    }

    /// ClearScreen: clears to the current background and homes the cursor.
    pub fn clear_screen(&mut self, out: &mut Vec<u8>) {
        // ANSI erase fills with the current background colour, which must be
        // the EFI attribute's.
        self.send_attribute(out);
        out.extend_from_slice(b"\x1b[2J\x1b[H");
        self.column = 0;
        self.row = 0;
    }

    /// SetCursorPosition (zero-based column and row).
    pub fn set_cursor_position(&mut self, column: usize, row: usize, out: &mut Vec<u8>) -> Result<(), Error> {
        let (columns, rows) = self.size();
        if column >= columns || row >= rows {
            return Err(Error::CursorOutOfRange {
                column,
                row,
                columns,
                rows,
            });
        }
        self.column = column;
        self.row = row;
        push_fmt(out, format_args!("{ESC}[{};{}H", row + 1, column + 1));
        Ok(())
    }

    /// EnableCursor: shows or hides the cursor (DECTCEM).
    pub fn enable_cursor(&mut self, visible: bool, out: &mut Vec<u8>) {
        self.cursor_visible = visible;
        out.extend_from_slice(if visible { b"\x1b[?25h" } else { b"\x1b[?25l" });
    }

    fn print(&mut self, c: char, out: &mut Vec<u8>) {
        let mut utf8 = [0u8; 4];
        out.extend_from_slice(c.encode_utf8(&mut utf8).as_bytes());
        self.column += 1;
        if self.column >= self.size().0 {
            self.column = 0;
            self.line_feed();
            out.extend_from_slice(b"\r\n");
        }
    }

    fn line_feed(&mut self) {
        let rows = self.size().1;
        if self.row + 1 < rows {
            self.row += 1;
        }
    }

    fn send_attribute(&mut self, out: &mut Vec<u8>) {
        if self.sent_attribute != Some(self.attribute) {
            out.extend_from_slice(&sgr(self.attribute));
            self.sent_attribute = Some(self.attribute);
        }
    }
}

/// The SGR sequence selecting an EFI attribute: reset, foreground (bright
/// colours as 90..97), background.
pub fn sgr(attribute: usize) -> Vec<u8> {
    let foreground = attribute & 0x0f;
    let background = (attribute >> 4) & 0x07;
    let fg_code = if foreground & EFI_BRIGHT != 0 { 90 } else { 30 } + ANSI_COLOUR[foreground & 0x07];
    let bg_code = 40 + ANSI_COLOUR[background];
    let mut out = Vec::with_capacity(12);
    push_fmt(&mut out, format_args!("{ESC}[0;{fg_code};{bg_code}m"));
    out
}

fn push_fmt(out: &mut Vec<u8>, args: fmt::Arguments<'_>) {
    struct Bytes<'a>(&'a mut Vec<u8>);
    impl fmt::Write for Bytes<'_> {
        fn write_str(&mut self, s: &str) -> fmt::Result {
            self.0.extend_from_slice(s.as_bytes());
            Ok(())
        }
    }
    // Writing into a Vec cannot fail.
    let _ = Bytes(out).write_fmt(args);
}

#[cfg(test)]
mod tests;
