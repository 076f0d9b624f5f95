//! The console on the screen: a small terminal that draws the same byte
//! stream the serial console sends (UTF-8 text and the few ANSI sequences
//! [`output`](super::output) emits) with the 8x16 font onto a [`Screen`].
//!
//! Mirroring the bytes, rather than a second model of Simple Text Output,
//! keeps serial and screen in step by construction: the console's services
//! run once, and both "terminals" show their result. The text grid is the
//! console mode's (80x25, 80x50, 100x31) centred on the screen, as edk2's
//! graphics console does. Cells are drawn a glyph row at a time; scrolling is
//! one copy of the grid's pixels; the cursor is an inverted underline.
//!
//! The firmware calls [`attach`] when a display is found, the console calls
//! [`mirror`] with each service's bytes, the logger [`mirror_log`], and
//! ExitBootServices [`detach`] (the OS owns the framebuffer after it).
#![forbid(unsafe_code)]

use crate::display::font::{self, HEIGHT, WIDTH};
use crate::display::{Rect, Screen};
use spin::Mutex;

/// VGA's 16 colours as XRGB8888, in ANSI order (black, red, green, yellow,
/// blue, magenta, cyan, white), normal then bright.
const PALETTE: [u32; 16] = [
    0x000000, 0xaa0000, 0x00aa00, 0xaa5500, 0x0000aa, 0xaa00aa, 0x00aaaa, 0xaaaaaa, 0x555555, 0xff5555, 0x55ff55,
    0xffff55, 0x5555ff, 0xff55ff, 0x55ffff, 0xffffff,
];
const DEFAULT_FOREGROUND: usize = 7;
const DEFAULT_BACKGROUND: usize = 0;
const MAX_PARAMETERS: usize = 4;
/// Scan lines of the underline cursor, from the cell's bottom.
const CURSOR_LINES: usize = 2;

/// The colour of ANSI colour `index` (0..16).
pub fn colour(index: usize) -> u32 {
    PALETTE[index & 0x0f]
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Parser {
    Ground,
    Escape,
    Csi {
        parameters: [u16; MAX_PARAMETERS],
        count: usize,
        private: bool,
    },
}

/// The terminal's state: grid, cursor, colours, and where the bytes stopped.
#[derive(Clone, Debug)]
pub struct Terminal {
    columns: usize,
    rows: usize,
    /// The screen mode the layout was made for (`Screen::generation`).
    generation: u64,
    origin: (usize, usize),
    column: usize,
    row: usize,
    /// Set after printing in the last column: the next character wraps first.
    pending_wrap: bool,
    foreground: usize,
    background: usize,
    cursor_visible: bool,
    cursor_drawn: Option<(usize, usize)>,
    parser: Parser,
    utf8: Utf8,
}

impl Default for Terminal {
    fn default() -> Self {
        Self::new()
    }
}

impl Terminal {
    /// A terminal with no layout yet: it lays itself out on the screen at
    /// first use (and after every mode change).
    pub const fn new() -> Terminal {
        Terminal {
            columns: 0,
            rows: 0,
            generation: 0,
            origin: (0, 0),
            column: 0,
            row: 0,
            pending_wrap: false,
            foreground: DEFAULT_FOREGROUND,
            background: DEFAULT_BACKGROUND,
            cursor_visible: true,
            cursor_drawn: None,
            parser: Parser::Ground,
            utf8: Utf8::new(),
        }
    }

    /// The cursor's cell.
    pub fn cursor(&self) -> (usize, usize) {
        (self.column, self.row)
    }

    /// The pixel position of cell (0, 0).
    pub fn origin(&self) -> (usize, usize) {
        self.origin
    }

    /// Shows `bytes` on `screen` in a grid of `size` (columns, rows).
    pub fn write(&mut self, bytes: &[u8], size: (usize, usize), screen: &mut Screen) {
        self.layout(size, screen);
        screen.batch(|screen| {
            self.hide_cursor(screen);
            for &byte in bytes {
                self.byte(byte, screen);
            }
            self.show_cursor(screen);
        });
    }

    /// Centres the grid again if the text mode or the screen mode changed.
    fn layout(&mut self, (columns, rows): (usize, usize), screen: &Screen) {
        if (columns, rows) == (self.columns, self.rows) && screen.generation() == self.generation {
            return;
        }
        if screen.generation() != self.generation {
            // A mode change cleared the screen, cursor included.
            self.cursor_drawn = None;
        }
        let resolution = screen.resolution();
        let centre = |pixels: u32, cells: usize, size: usize| (pixels as usize).saturating_sub(cells * size) / 2;
        self.origin = (
            centre(resolution.width, columns, WIDTH),
            centre(resolution.height, rows, HEIGHT),
        );
        self.columns = columns;
        self.rows = rows;
        self.generation = screen.generation();
        self.column = self.column.min(columns.saturating_sub(1));
        self.row = self.row.min(rows.saturating_sub(1));
    }

    fn cell_rect(&self, column: usize, row: usize) -> Rect {
        Rect::new(
            self.origin.0 + column * WIDTH,
            self.origin.1 + row * HEIGHT,
            WIDTH,
            HEIGHT,
        )
    }

    fn grid_rect(&self) -> Rect {
        Rect::new(self.origin.0, self.origin.1, self.columns * WIDTH, self.rows * HEIGHT)
    }

    fn cursor_rect(&self, (column, row): (usize, usize)) -> Rect {
        let cell = self.cell_rect(column, row);
        Rect::new(cell.x, cell.y + HEIGHT - CURSOR_LINES, WIDTH, CURSOR_LINES)
    }

    fn hide_cursor(&mut self, screen: &mut Screen) {
        if let Some(at) = self.cursor_drawn.take() {
            let _ = screen.invert(self.cursor_rect(at));
        }
    }

    fn show_cursor(&mut self, screen: &mut Screen) {
        if self.cursor_visible && screen.invert(self.cursor_rect(self.cursor())).is_ok() {
            self.cursor_drawn = Some(self.cursor());
        }
    }

    fn byte(&mut self, byte: u8, screen: &mut Screen) {
        match self.parser {
            Parser::Ground => match byte {
                0x1b => {
                    self.utf8 = Utf8::new();
                    self.parser = Parser::Escape;
                }
                b'\r' => {
                    self.column = 0;
                    self.pending_wrap = false;
                }
                b'\n' => {
                    self.pending_wrap = false;
                    self.line_feed(screen);
                }
                0x08 => {
                    self.pending_wrap = false;
                    self.column = self.column.saturating_sub(1);
                }
                0x00..=0x1f | 0x7f => {}
                _ => {
                    if let Some(c) = self.utf8.push(byte) {
                        self.print(c, screen);
                    }
                }
            },
            Parser::Escape => {
                self.parser = if byte == b'[' {
                    Parser::Csi {
                        parameters: [0; MAX_PARAMETERS],
                        count: 0,
                        private: false,
                    }
                } else {
                    Parser::Ground
                };
            }
            Parser::Csi {
                mut parameters,
                mut count,
                mut private,
            } => {
                match byte {
                    b'0'..=b'9' => {
                        let index = count.max(1) - 1;
                        count = count.max(1);
                        if let Some(p) = parameters.get_mut(index) {
                            *p = p.saturating_mul(10).saturating_add(u16::from(byte - b'0'));
                        }
                    }
                    b';' => count = count.max(1) + 1,
                    b'?' => private = true,
                    0x40..=0x7e => {
                        self.parser = Parser::Ground;
                        let given = &parameters[..count.min(MAX_PARAMETERS)];
                        self.control(byte, given, private, screen);
                        return;
                    }
                    _ => {}
                }
                self.parser = Parser::Csi {
                    parameters,
                    count,
                    private,
                };
            }
        }
    }

    /// A control sequence's final byte with its parameters.
    fn control(&mut self, last: u8, parameters: &[u16], private: bool, screen: &mut Screen) {
        let first = parameters.first().copied().unwrap_or(0);
        match (last, private) {
            (b'm', false) => {
                if parameters.is_empty() {
                    self.select(0);
                }
                for &p in parameters {
                    self.select(p);
                }
            }
            (b'J', false) if first == 2 => {
                let _ = screen.fill(self.grid_rect(), colour(self.background));
            }
            (b'H', false) => {
                let row = usize::from(first.max(1)) - 1;
                let column = usize::from(parameters.get(1).copied().unwrap_or(0).max(1)) - 1;
                self.row = row.min(self.rows.saturating_sub(1));
                self.column = column.min(self.columns.saturating_sub(1));
                self.pending_wrap = false;
            }
            (b'h', true) if first == 25 => self.cursor_visible = true,
            (b'l', true) if first == 25 => self.cursor_visible = false,
            _ => {}
        }
    }

    /// One SGR parameter.
    fn select(&mut self, p: u16) {
        let p = usize::from(p);
        match p {
            0 => {
                self.foreground = DEFAULT_FOREGROUND;
                self.background = DEFAULT_BACKGROUND;
            }
            30..=37 => self.foreground = p - 30,
            90..=97 => self.foreground = p - 90 + 8,
            39 => self.foreground = DEFAULT_FOREGROUND,
            40..=47 => self.background = p - 40,
            49 => self.background = DEFAULT_BACKGROUND,
            _ => {}
        }
    }

    fn print(&mut self, c: char, screen: &mut Screen) {
        if self.columns == 0 || self.rows == 0 {
            return;
        }
        if self.pending_wrap {
            self.pending_wrap = false;
            self.column = 0;
            self.line_feed(screen);
        }
        let cell = self.cell_rect(self.column, self.row);
        let glyph = font::glyph_or_replacement(c);
        // A grid larger than the screen mode is cut off at its edge.
        let _ = screen.draw_bitmap(cell.x, cell.y, glyph, colour(self.foreground), colour(self.background));
        if self.column + 1 < self.columns {
            self.column += 1;
        } else {
            self.pending_wrap = true;
        }
    }

    fn line_feed(&mut self, screen: &mut Screen) {
        if self.row + 1 < self.rows {
            self.row += 1;
            return;
        }
        // Scroll the grid up by one row and blank the last.
        let grid = self.grid_rect();
        let moved = Rect::new(grid.x, grid.y, grid.width, grid.height - HEIGHT);
        if screen.copy(grid.x, grid.y + HEIGHT, moved).is_ok() {
            let last = Rect::new(grid.x, grid.y + grid.height - HEIGHT, grid.width, HEIGHT);
            let _ = screen.fill(last, colour(self.background));
        }
    }
}

/// A UTF-8 decoder fed one byte at a time; malformed input shows as U+FFFD.
#[derive(Clone, Copy, Debug)]
struct Utf8 {
    value: u32,
    remaining: u8,
}

impl Utf8 {
    const fn new() -> Utf8 {
        Utf8 { value: 0, remaining: 0 }
    }

    fn push(&mut self, byte: u8) -> Option<char> {
        if self.remaining > 0 && byte & 0xc0 == 0x80 {
            self.value = (self.value << 6) | u32::from(byte & 0x3f);
            self.remaining -= 1;
            return (self.remaining == 0).then(|| char::from_u32(self.value).unwrap_or('\u{fffd}'));
        }
        let (value, remaining) = match byte {
            0x00..=0x7f => (u32::from(byte), 0),
            0xc0..=0xdf => (u32::from(byte & 0x1f), 1),
            0xe0..=0xef => (u32::from(byte & 0x0f), 2),
            0xf0..=0xf7 => (u32::from(byte & 0x07), 3),
            _ => (0xfffd, 0),
        };
        self.value = value;
        self.remaining = remaining;
        (remaining == 0).then(|| char::from_u32(value).unwrap_or('\u{fffd}'))
    }
}

/// The screen console, when a display was found.
struct Attached {
    terminal: Terminal,
    screen: &'static Mutex<Screen>,
    /// The console mode's size at the last [`mirror`], for log lines.
    size: (usize, usize),
}

static ATTACHED: Mutex<Option<Attached>> = Mutex::new(None);

/// Shows the console on `screen` from now on, in a grid of `size` cells.
pub fn attach(screen: &'static Mutex<Screen>, size: (usize, usize)) {
    *ATTACHED.lock() = Some(Attached {
        terminal: Terminal::new(),
        screen,
        size,
    });
}

/// Stops drawing (ExitBootServices: the framebuffer is the OS's now).
pub fn detach() {
    *ATTACHED.lock() = None;
}

/// Whether a screen console is attached.
pub fn attached() -> bool {
    ATTACHED.lock().is_some()
}

/// Draws the bytes a console service sent to serial, in a grid of `size`.
/// Skipped if the screen is busy (a log line from inside a drawing operation).
pub fn mirror(bytes: &[u8], size: (usize, usize)) {
    let Some(mut attached) = ATTACHED.try_lock() else {
        return;
    };
    let Some(attached) = attached.as_mut() else {
        return;
    };
    attached.size = size;
    if let Some(mut screen) = attached.screen.try_lock() {
        attached.terminal.write(bytes, size, &mut screen);
    }
}

/// Draws a firmware log line's bytes in the console's current grid.
pub fn mirror_log(bytes: &[u8]) {
    let size = match ATTACHED.try_lock() {
        Some(attached) => match attached.as_ref() {
            Some(attached) => attached.size,
            None => return,
        },
        None => return,
    };
    mirror(bytes, size);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::display::screen::tests::screen;
    use alloc::vec;
    use alloc::vec::Vec;

    /// The screen as text: each cell's glyph looked up again from its pixels
    /// ('#' where the pixels match no glyph in the given colours).
    fn cell_pixels(s: &mut Screen, t: &Terminal, column: usize, row: usize) -> Vec<u32> {
        let rect = t.cell_rect(column, row);
        let mut out = vec![0; WIDTH * HEIGHT];
        s.read(rect, &mut out, 0, 0, WIDTH, |p| p).unwrap();
        out
    }

    fn expected(c: char, fg: usize, bg: usize) -> Vec<u32> {
        let glyph = font::glyph_or_replacement(c);
        glyph
            .iter()
            .flat_map(|&bits| {
                (0..8).map(move |b| {
                    if bits & (0x80 >> b) != 0 {
                        colour(fg)
                    } else {
                        colour(bg)
                    }
                })
            })
            .collect()
    }

    fn with_cursor(mut pixels: Vec<u32>) -> Vec<u32> {
        for p in &mut pixels[(HEIGHT - CURSOR_LINES) * WIDTH..] {
            *p ^= 0x00ff_ffff;
        }
        pixels
    }

    #[test]
    fn text_lands_in_the_centred_grid_with_its_colours() {
        let mut s = screen(100, 80);
        let mut t = Terminal::new();
        t.write("\x1b[0;37;40m\x1b[2J\x1b[HA\x1b[0;93;44m┌".as_bytes(), (10, 4), &mut s);
        assert_eq!(t.origin(), (10, 8));
        assert_eq!(cell_pixels(&mut s, &t, 0, 0), expected('A', 7, 0));
        assert_eq!(cell_pixels(&mut s, &t, 1, 0), expected('┌', 11, 4));
        assert_eq!(t.cursor(), (2, 0));
        assert_eq!(cell_pixels(&mut s, &t, 2, 0), with_cursor(expected(' ', 7, 0)));
        // Moving the cursor and hiding it removes the underline.
        t.write(b"\x1b[3;5H\x1b[?25l", (10, 4), &mut s);
        assert_eq!(t.cursor(), (4, 2));
        assert_eq!(cell_pixels(&mut s, &t, 2, 0), expected(' ', 7, 0));
        assert_eq!(cell_pixels(&mut s, &t, 4, 2), expected(' ', 7, 0));
    }

    #[test]
    fn wraps_late_and_scrolls_at_the_bottom() {
        let mut s = screen(100, 80);
        let mut t = Terminal::new();
        t.write(b"\x1b[?25l0123456789", (10, 4), &mut s);
        assert_eq!(t.cursor(), (9, 0), "pending wrap after the last column");
        // What TextOutput sends after the last column.
        t.write(b"\r\nb\r\nc\r\nd\r\ne", (10, 4), &mut s);
        assert_eq!(t.cursor(), (1, 3));
        assert_eq!(cell_pixels(&mut s, &t, 0, 0), expected('b', 7, 0));
        assert_eq!(cell_pixels(&mut s, &t, 0, 3), expected('e', 7, 0));
        assert_eq!(cell_pixels(&mut s, &t, 1, 0), expected(' ', 7, 0));
        // A long log line wraps by itself.
        t.write(b"\x1b[2J\x1b[Hxxxxxxxxxxyz\x08!", (10, 4), &mut s);
        assert_eq!(cell_pixels(&mut s, &t, 0, 1), expected('y', 7, 0));
        assert_eq!(cell_pixels(&mut s, &t, 1, 1), expected('!', 7, 0));
    }

    #[test]
    fn malformed_utf8_and_unknown_characters_show_replacements() {
        let mut s = screen(100, 80);
        let mut t = Terminal::new();
        t.write(b"\x1b[?25l\xff\xe4\xb8\x80\x1b[5mZ", (10, 4), &mut s);
        assert_eq!(cell_pixels(&mut s, &t, 0, 0), expected('\u{fffd}', 7, 0));
        assert_eq!(cell_pixels(&mut s, &t, 1, 0), expected('\u{4e00}', 7, 0));
        assert_eq!(cell_pixels(&mut s, &t, 2, 0), expected('Z', 7, 0));
    }

    #[test]
    fn a_grid_larger_than_the_screen_is_cut_off() {
        let mut s = screen(100, 80);
        let mut t = Terminal::new();
        t.write(b"\x1b[2J\x1b[20;40Hq", (80, 50), &mut s);
        assert_eq!(t.origin(), (0, 0));
        assert_eq!(t.cursor(), (40, 19));
    }
}
