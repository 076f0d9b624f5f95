//! The current mode of a display and the drawing on it: every operation checks
//! its rectangle against the mode, works a row at a time on the framebuffer
//! slice and then asks the device to flush what changed.
#![forbid(unsafe_code)]

use super::{DeviceError, DisplayDevice, Resolution};
use alloc::boxed::Box;
use core::fmt;

/// A rectangle in pixels.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rect {
    /// Left edge, in pixels from the left of the screen.
    pub x: usize,
    /// Top edge, in pixels from the top of the screen.
    pub y: usize,
    /// Width in pixels.
    pub width: usize,
    /// Height in pixels.
    pub height: usize,
}

impl Rect {
    /// The `width` x `height` rectangle whose top left corner is (`x`, `y`).
    pub const fn new(x: usize, y: usize, width: usize, height: usize) -> Rect {
        Rect { x, y, width, height }
    }

    fn fits(&self, resolution: Resolution) -> bool {
        let inside =
            |start: usize, len: usize, limit: u32| start.checked_add(len).is_some_and(|end| end <= limit as usize);
        inside(self.x, self.width, resolution.width) && inside(self.y, self.height, resolution.height)
    }

    fn is_empty(&self) -> bool {
        self.width == 0 || self.height == 0
    }
}

/// Why a drawing operation or mode change was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Error {
    /// A rectangle reaches outside the current mode.
    OutsideScreen {
        /// The rectangle.
        rect: Rect,
        /// The current mode's width in pixels.
        width: u32,
        /// The current mode's height in pixels.
        height: u32,
    },
    /// A caller's buffer is too small for the rectangle and its stride.
    BufferTooSmall {
        /// Pixels the rectangle needs in the buffer.
        needed: usize,
        /// Pixels the buffer holds.
        given: usize,
    },
    /// No such mode number.
    NoSuchMode {
        /// The mode number asked for.
        mode: usize,
        /// How many modes the device has.
        modes: usize,
    },
    /// The device refused the mode.
    Device(DeviceError),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::OutsideScreen { rect, width, height } => write!(
                f,
                "rectangle {}x{} at ({}, {}) is outside the {width}x{height} screen",
                rect.width, rect.height, rect.x, rect.y
            ),
            Error::BufferTooSmall { needed, given } => {
                write!(f, "the buffer holds {given} pixels, the rectangle needs {needed}")
            }
            Error::NoSuchMode { mode, modes } => write!(f, "mode {mode} does not exist ({modes} modes)"),
            Error::Device(e) => write!(f, "{e}"),
        }
    }
}

/// A display in its current mode.
pub struct Screen {
    device: Box<dyn DisplayDevice>,
    mode: usize,
    resolution: Resolution,
    stride: usize,
    /// Bumped at every mode change, so the text console notices one made
    /// through GOP and lays itself out again.
    generation: u64,
    /// Inside [`batch`](Self::batch): what changed, flushed once at its end.
    batching: bool,
    pending: Option<Rect>,
}

impl Screen {
    /// Takes over `device` and sets `preferred` if it offers it, else its largest
    /// mode that is not larger, else its first.
    pub fn new(device: Box<dyn DisplayDevice>, preferred: Resolution) -> Result<Screen, Error> {
        let modes = device.resolutions();
        let fits = |r: &Resolution| r.width <= preferred.width && r.height <= preferred.height;
        let mode = modes
            .iter()
            .position(|r| *r == preferred)
            .or_else(|| {
                modes
                    .iter()
                    .enumerate()
                    .filter(|(_, r)| fits(r))
                    .max_by_key(|(_, r)| r.bytes())
                    .map(|(i, _)| i)
            })
            .unwrap_or(0);
        let mut screen = Screen {
            device,
            mode: 0,
            resolution: Resolution::new(0, 0),
            stride: 0,
            generation: 0,
            batching: false,
            pending: None,
        };
        screen.set_mode(mode)?;
        Ok(screen)
    }

    /// The device's name for messages ([`DisplayDevice::name`]).
    pub fn name(&self) -> &str {
        self.device.name()
    }

    /// The device's modes; GOP mode N is the N-th.
    pub fn modes(&self) -> &[Resolution] {
        self.device.resolutions()
    }

    /// The current mode's number (an index into [`modes`](Self::modes)).
    pub fn mode(&self) -> usize {
        self.mode
    }

    /// The current mode's size.
    pub fn resolution(&self) -> Resolution {
        self.resolution
    }

    /// Pixels per scan line.
    pub fn stride(&self) -> usize {
        self.stride
    }

    /// A number that changes at every mode change, so that users of the
    /// screen (the text console) notice one made by someone else.
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// The framebuffer's physical address and size in bytes.
    pub fn framebuffer(&self) -> (u64, usize) {
        self.device.framebuffer()
    }

    /// SetMode: programs mode `mode` and clears the screen to black.
    pub fn set_mode(&mut self, mode: usize) -> Result<(), Error> {
        let modes = self.device.resolutions();
        let resolution = *modes.get(mode).ok_or(Error::NoSuchMode {
            mode,
            modes: modes.len(),
        })?;
        let stride = self.device.set_resolution(resolution).map_err(Error::Device)?;
        self.mode = mode;
        self.resolution = resolution;
        self.stride = stride as usize;
        self.generation += 1;
        let all = Rect::new(0, 0, resolution.width as usize, resolution.height as usize);
        self.fill(all, 0)
    }

    /// Whether the device shows only what Blt flushes (no framebuffer for the OS).
    pub fn blt_only(&self) -> bool {
        self.device.blt_only()
    }

    /// Runs `draw` with one flush of everything it changed at the end, instead
    /// of one per operation (the text console's glyphs on virtio-gpu).
    pub fn batch<R>(&mut self, draw: impl FnOnce(&mut Screen) -> R) -> R {
        let outer = self.batching;
        self.batching = true;
        let result = draw(self);
        self.batching = outer;
        if !outer {
            if let Some(rect) = self.pending.take() {
                self.device.flush(rect);
            }
        }
        result
    }

    /// Flushes `rect` now, or at the end of the batch.
    fn touched(&mut self, rect: Rect) {
        if !self.batching {
            self.device.flush(rect);
            return;
        }
        self.pending = Some(match self.pending {
            None => rect,
            Some(p) => {
                let (x, y) = (p.x.min(rect.x), p.y.min(rect.y));
                let right = (p.x + p.width).max(rect.x + rect.width);
                let bottom = (p.y + p.height).max(rect.y + rect.height);
                Rect::new(x, y, right - x, bottom - y)
            }
        });
    }

    fn check(&self, rect: Rect) -> Result<(), Error> {
        if rect.fits(self.resolution) {
            Ok(())
        } else {
            Err(Error::OutsideScreen {
                rect,
                width: self.resolution.width,
                height: self.resolution.height,
            })
        }
    }

    /// Rows `rect` covers in the framebuffer, each a slice of `rect.width` pixels.
    fn rows_mut(&mut self, rect: Rect) -> impl Iterator<Item = &mut [u32]> {
        let stride = self.stride;
        let pixels = self.device.pixels();
        let start = rect.y * stride;
        pixels[start..start + rect.height * stride]
            .chunks_mut(stride)
            .map(move |row| &mut row[rect.x..rect.x + rect.width])
    }

    /// Fills `rect` with `pixel`.
    pub fn fill(&mut self, rect: Rect, pixel: u32) -> Result<(), Error> {
        self.check(rect)?;
        if rect.is_empty() {
            return Ok(());
        }
        for row in self.rows_mut(rect) {
            row.fill(pixel);
        }
        self.touched(rect);
        Ok(())
    }

    /// Copies `width` x `height` pixels from (`from_x`, `from_y`) to `to`'s
    /// corner; the rectangles may overlap (VideoToVideo, scrolling).
    pub fn copy(&mut self, from_x: usize, from_y: usize, to: Rect) -> Result<(), Error> {
        let from = Rect::new(from_x, from_y, to.width, to.height);
        self.check(from)?;
        self.check(to)?;
        if to.is_empty() {
            return Ok(());
        }
        let stride = self.stride;
        let pixels = self.device.pixels();
        let copy_row = |pixels: &mut [u32], row: usize| {
            let source = (from.y + row) * stride + from.x;
            let target = (to.y + row) * stride + to.x;
            pixels.copy_within(source..source + to.width, target);
        };
        if to.x == 0 && from.x == 0 && to.width == stride {
            // Whole scan lines: one move.
            let source = from.y * stride;
            pixels.copy_within(source..source + to.height * stride, to.y * stride);
        } else if to.y <= from.y {
            (0..to.height).for_each(|row| copy_row(pixels, row));
        } else {
            (0..to.height).rev().for_each(|row| copy_row(pixels, row));
        }
        self.touched(to);
        Ok(())
    }

    /// Writes `rect` from `source`, whose rows are `source_stride` pixels
    /// apart, starting at (`source_x`, `source_y`) (BufferToVideo, glyphs).
    pub fn write<P: Copy>(
        &mut self,
        rect: Rect,
        source: &[P],
        source_x: usize,
        source_y: usize,
        source_stride: usize,
        convert: impl Fn(P) -> u32,
    ) -> Result<(), Error> {
        self.check(rect)?;
        if rect.is_empty() {
            return Ok(());
        }
        check_buffer(rect, source.len(), source_x, source_y, source_stride)?;
        for (i, row) in self.rows_mut(rect).enumerate() {
            let start = (source_y + i) * source_stride + source_x;
            for (pixel, &from) in row.iter_mut().zip(&source[start..start + rect.width]) {
                *pixel = convert(from);
            }
        }
        self.touched(rect);
        Ok(())
    }

    /// Reads `rect` into `target` at (`target_x`, `target_y`), rows
    /// `target_stride` pixels apart (VideoToBltBuffer).
    pub fn read<P>(
        &mut self,
        rect: Rect,
        target: &mut [P],
        target_x: usize,
        target_y: usize,
        target_stride: usize,
        convert: impl Fn(u32) -> P,
    ) -> Result<(), Error> {
        self.check(rect)?;
        if rect.is_empty() {
            return Ok(());
        }
        check_buffer(rect, target.len(), target_x, target_y, target_stride)?;
        for (i, row) in self.rows_mut(rect).enumerate() {
            let start = (target_y + i) * target_stride + target_x;
            for (to, &pixel) in target[start..start + rect.width].iter_mut().zip(row.iter()) {
                *to = convert(pixel);
            }
        }
        Ok(())
    }

    /// Draws a `width`-pixel-wide 1-bit-per-pixel bitmap (rows of one byte, bit 7
    /// leftmost) at (`x`, `y`) in `foreground` on `background`: a glyph.
    pub fn draw_bitmap(
        &mut self,
        x: usize,
        y: usize,
        rows: &[u8],
        foreground: u32,
        background: u32,
    ) -> Result<(), Error> {
        let rect = Rect::new(x, y, 8, rows.len());
        self.check(rect)?;
        for (line, &bits) in self.rows_mut(rect).zip(rows) {
            let mut expanded = [background; 8];
            for (bit, pixel) in expanded.iter_mut().enumerate() {
                if bits & (0x80 >> bit) != 0 {
                    *pixel = foreground;
                }
            }
            line.copy_from_slice(&expanded);
        }
        self.touched(rect);
        Ok(())
    }

    /// Inverts the colours of `rect` (the text cursor, drawn and removed the same way).
    pub fn invert(&mut self, rect: Rect) -> Result<(), Error> {
        self.check(rect)?;
        for row in self.rows_mut(rect) {
            for pixel in row {
                *pixel ^= 0x00ff_ffff;
            }
        }
        self.touched(rect);
        Ok(())
    }
}

/// Whether a buffer of `len` pixels holds `rect` placed at (`x`, `y`) with rows `stride` apart.
fn check_buffer(rect: Rect, len: usize, x: usize, y: usize, stride: usize) -> Result<(), Error> {
    let last_row_start = (y + rect.height - 1).checked_mul(stride).and_then(|s| s.checked_add(x));
    let needed = last_row_start
        .and_then(|s| s.checked_add(rect.width))
        .unwrap_or(usize::MAX);
    if x + rect.width > stride || needed > len {
        return Err(Error::BufferTooSmall { needed, given: len });
    }
    Ok(())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use alloc::vec;
    use alloc::vec::Vec;
    use std::sync::{Arc, Mutex};

    /// A display in memory: any of a few sizes, stride a little wider than the
    /// mode so stride bugs show, and a record of flushes.
    pub struct Model {
        pub pixels: Vec<u32>,
        pub stride: u32,
        pub modes: Vec<Resolution>,
        pub flushed: Arc<Mutex<Vec<Rect>>>,
    }

    impl Model {
        pub fn new(modes: &[Resolution]) -> Model {
            Model {
                pixels: Vec::new(),
                stride: 0,
                modes: modes.to_vec(),
                flushed: Arc::default(),
            }
        }
    }

    impl DisplayDevice for Model {
        fn name(&self) -> &str {
            "model"
        }
        fn resolutions(&self) -> &[Resolution] {
            &self.modes
        }
        fn set_resolution(&mut self, r: Resolution) -> Result<u32, DeviceError> {
            self.stride = r.width + 16;
            self.pixels = vec![0xdead_beef; (self.stride * r.height) as usize];
            Ok(self.stride)
        }
        fn pixels(&mut self) -> &mut [u32] {
            &mut self.pixels
        }
        fn framebuffer(&self) -> (u64, usize) {
            (0x8000_0000, self.pixels.len() * 4)
        }
        fn flush(&mut self, rect: Rect) {
            self.flushed.lock().unwrap().push(rect);
        }
    }

    pub fn screen(width: u32, height: u32) -> Screen {
        Screen::new(
            Box::new(Model::new(&[Resolution::new(8, 8), Resolution::new(width, height)])),
            Resolution::new(width, height),
        )
        .unwrap()
    }

    fn read_all(screen: &mut Screen) -> Vec<u32> {
        let r = screen.resolution();
        let mut out = vec![0u32; (r.width * r.height) as usize];
        let all = Rect::new(0, 0, r.width as usize, r.height as usize);
        screen.read(all, &mut out, 0, 0, r.width as usize, |p| p).unwrap();
        out
    }

    #[test]
    fn new_picks_the_preferred_mode_or_the_largest_below_and_clears() {
        let mut s = screen(16, 12);
        assert_eq!((s.mode(), s.resolution(), s.stride()), (1, Resolution::new(16, 12), 32));
        assert!(read_all(&mut s).iter().all(|&p| p == 0));
        let s = Screen::new(
            Box::new(Model::new(&[Resolution::new(640, 480), Resolution::new(2000, 2000)])),
            Resolution::new(1280, 800),
        )
        .unwrap();
        assert_eq!(s.mode(), 0);
    }

    #[test]
    fn fill_copy_write_read_stay_inside_their_rectangles() {
        let mut s = screen(16, 12);
        s.fill(Rect::new(2, 3, 4, 2), 7).unwrap();
        let all = read_all(&mut s);
        let at = |all: &[u32], x: usize, y: usize| all[y * 16 + x];
        assert_eq!(all.iter().filter(|&&p| p == 7).count(), 8);
        assert_eq!(
            (at(&all, 2, 3), at(&all, 5, 4), at(&all, 6, 4), at(&all, 2, 5)),
            (7, 7, 0, 0)
        );

        // Overlapping copy down-right by one: like memmove.
        s.copy(2, 3, Rect::new(3, 4, 4, 2)).unwrap();
        let all = read_all(&mut s);
        assert_eq!(all.iter().filter(|&&p| p == 7).count(), 13);
        assert_eq!((at(&all, 6, 5), at(&all, 2, 5)), (7, 0));

        // A buffer with its own stride and offset.
        let buffer: Vec<u32> = (0..30).collect();
        s.write(Rect::new(10, 0, 2, 2), &buffer, 1, 1, 10, |p| p + 100).unwrap();
        let all = read_all(&mut s);
        assert_eq!((at(&all, 10, 0), at(&all, 11, 0), at(&all, 10, 1)), (111, 112, 121));
        let mut back = vec![0u32; 4];
        s.read(Rect::new(10, 0, 2, 2), &mut back, 0, 0, 2, |p| p - 100).unwrap();
        assert_eq!(back, vec![11, 12, 21, 22]);
    }

    #[test]
    fn whole_line_copies_scroll() {
        let mut s = screen(16, 12);
        s.fill(Rect::new(0, 4, 16, 1), 5).unwrap();
        s.copy(0, 2, Rect::new(0, 0, 16, 10)).unwrap();
        let all = read_all(&mut s);
        assert!(all[2 * 16..3 * 16].iter().all(|&p| p == 5));
        assert!(all[4 * 16..5 * 16].iter().all(|&p| p == 0));
    }

    #[test]
    fn rectangles_and_buffers_outside_are_refused() {
        let mut s = screen(16, 12);
        assert!(matches!(
            s.fill(Rect::new(15, 0, 2, 1), 1),
            Err(Error::OutsideScreen { .. })
        ));
        assert!(s.fill(Rect::new(usize::MAX, 0, 2, 1), 1).is_err());
        assert!(s.copy(0, 11, Rect::new(0, 0, 1, 2)).is_err());
        let small = [0u32; 3];
        assert!(matches!(
            s.write(Rect::new(0, 0, 2, 2), &small, 0, 0, 2, |p| p),
            Err(Error::BufferTooSmall { needed: 4, given: 3 })
        ));
        assert!(s.write(Rect::new(0, 0, 3, 1), &[0u32; 8], 0, 0, 2, |p| p).is_err());
        assert!(s.set_mode(2).is_err());
        assert!(s.fill(Rect::new(0, 0, 0, 0), 1).is_ok());
    }

    #[test]
    fn a_batch_flushes_once_the_union_of_its_changes() {
        let model = Model::new(&[Resolution::new(16, 12)]);
        let flushed = model.flushed.clone();
        let mut s = Screen::new(Box::new(model), Resolution::new(16, 12)).unwrap();
        flushed.lock().unwrap().clear();
        s.batch(|s| {
            s.fill(Rect::new(1, 1, 2, 2), 3).unwrap();
            s.batch(|s| s.fill(Rect::new(5, 0, 1, 6), 3).unwrap());
            s.draw_bitmap(8, 4, &[0xff], 1, 0).unwrap();
        });
        assert_eq!(*flushed.lock().unwrap(), vec![Rect::new(1, 0, 15, 6)]);
        s.fill(Rect::new(0, 0, 1, 1), 3).unwrap();
        assert_eq!(flushed.lock().unwrap().len(), 2);
    }

    #[test]
    fn bitmaps_and_inversion() {
        let mut s = screen(16, 12);
        s.draw_bitmap(8, 1, &[0b1000_0001, 0b0100_0000], 9, 1).unwrap();
        let all = read_all(&mut s);
        assert_eq!(&all[16 + 8..16 + 16], &[9, 1, 1, 1, 1, 1, 1, 9]);
        assert_eq!(&all[32 + 8..32 + 10], &[1, 9]);
        s.invert(Rect::new(8, 1, 1, 1)).unwrap();
        s.invert(Rect::new(8, 1, 1, 1)).unwrap();
        assert_eq!(read_all(&mut s), all);
        assert!(s.draw_bitmap(10, 0, &[0], 1, 1).is_err());
    }
}
