//! EFI_GRAPHICS_OUTPUT_PROTOCOL's services (UEFI 2.10 §12.9) as safe
//! functions over a [`Screen`]: what QueryMode reports for a mode, and Blt's
//! four operations with the specification's parameter rules.
#![forbid(unsafe_code)]

use super::screen::{Error as ScreenError, Rect, Screen};
use super::Resolution;
use core::fmt;
use r_efi::efi::Status;
use r_efi::protocols::graphics_output::{
    ModeInformation, PixelBitmask, BLT_BUFFER_TO_VIDEO, BLT_VIDEO_FILL, BLT_VIDEO_TO_BLT_BUFFER, BLT_VIDEO_TO_VIDEO,
    PIXEL_BLT_ONLY, PIXEL_BLUE_GREEN_RED_RESERVED_8_BIT_PER_COLOR,
};

/// One pixel of a caller's Blt buffer: blue, green, red, reserved.
pub type BltPixel = [u8; 4];

/// What QueryMode reports for a mode (XRGB8888 is BGR-reserved in byte order;
/// a device whose picture only Blt updates is PixelBltOnly).
pub fn mode_information(resolution: Resolution, stride: u32, blt_only: bool) -> ModeInformation {
    ModeInformation {
        version: 0,
        horizontal_resolution: resolution.width,
        vertical_resolution: resolution.height,
        pixel_format: if blt_only {
            PIXEL_BLT_ONLY
        } else {
            PIXEL_BLUE_GREEN_RED_RESERVED_8_BIT_PER_COLOR
        },
        pixel_information: PixelBitmask {
            red_mask: 0,
            green_mask: 0,
            blue_mask: 0,
            reserved_mask: 0,
        },
        pixels_per_scan_line: stride,
    }
}

/// The four Blt operations.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BltOperation {
    /// EfiBltVideoFill: fills the destination rectangle with the buffer's first pixel.
    VideoFill,
    /// EfiBltVideoToBltBuffer: copies a rectangle of the screen into the buffer.
    VideoToBltBuffer,
    /// EfiBltBufferToVideo: copies a rectangle of the buffer onto the screen.
    BufferToVideo,
    /// EfiBltVideoToVideo: copies a rectangle of the screen elsewhere on it.
    VideoToVideo,
}

/// Why Blt refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BltError {
    /// BltOperation is none of the four.
    UnknownOperation(u32),
    /// Width or Height is 0.
    EmptyRectangle,
    /// Delta is not a whole number of pixels.
    UnalignedDelta(usize),
    /// The operation needs a buffer and got NULL.
    NoBuffer,
    /// The screen refused the rectangle, or the device failed.
    Screen(ScreenError),
}

impl BltError {
    /// The EFI status Blt returns for this error.
    pub fn status(&self) -> Status {
        match self {
            BltError::Screen(ScreenError::Device(_)) => Status::DEVICE_ERROR,
            _ => Status::INVALID_PARAMETER,
        }
    }
}

impl fmt::Display for BltError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BltError::UnknownOperation(op) => write!(f, "unknown operation {op}"),
            BltError::EmptyRectangle => write!(f, "width or height is 0"),
            BltError::UnalignedDelta(delta) => write!(f, "delta {delta} is not a multiple of 4"),
            BltError::NoBuffer => write!(f, "the operation needs a buffer"),
            BltError::Screen(e) => write!(f, "{e}"),
        }
    }
}

/// One Blt call's arguments.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Blt {
    /// What to do.
    pub operation: BltOperation,
    /// Left edge of the source rectangle (on screen or in the buffer).
    pub source_x: usize,
    /// Top edge of the source rectangle (on screen or in the buffer).
    pub source_y: usize,
    /// Left edge of the destination rectangle (on screen or in the buffer).
    pub destination_x: usize,
    /// Top edge of the destination rectangle (on screen or in the buffer).
    pub destination_y: usize,
    /// Width of the rectangle in pixels.
    pub width: usize,
    /// Height of the rectangle in pixels.
    pub height: usize,
    /// Pixels per row of the caller's buffer.
    pub buffer_stride: usize,
}

impl Blt {
    /// Checks the raw arguments: the source's and the destination's (x, y),
    /// the rectangle's (width, height), and `delta` in bytes, 0 meaning
    /// `width` pixels.
    pub fn new(
        operation: u32,
        (source_x, source_y): (usize, usize),
        (destination_x, destination_y): (usize, usize),
        (width, height): (usize, usize),
        delta: usize,
    ) -> Result<Blt, BltError> {
        let operation = match operation {
            BLT_VIDEO_FILL => BltOperation::VideoFill,
            BLT_VIDEO_TO_BLT_BUFFER => BltOperation::VideoToBltBuffer,
            BLT_BUFFER_TO_VIDEO => BltOperation::BufferToVideo,
            BLT_VIDEO_TO_VIDEO => BltOperation::VideoToVideo,
            other => return Err(BltError::UnknownOperation(other)),
        };
        if width == 0 || height == 0 {
            return Err(BltError::EmptyRectangle);
        }
        if !delta.is_multiple_of(4) {
            return Err(BltError::UnalignedDelta(delta));
        }
        let buffer_stride = if delta == 0 { width } else { delta / 4 };
        Ok(Blt {
            operation,
            source_x,
            source_y,
            destination_x,
            destination_y,
            width,
            height,
            buffer_stride,
        })
    }

    /// How many pixels of the caller's buffer the operation reads or writes
    /// (from its start), `None` if it overflows.
    pub fn buffer_pixels(&self) -> Option<usize> {
        let (x, y) = match self.operation {
            BltOperation::VideoFill => return Some(1),
            BltOperation::VideoToVideo => return Some(0),
            BltOperation::VideoToBltBuffer => (self.destination_x, self.destination_y),
            BltOperation::BufferToVideo => (self.source_x, self.source_y),
        };
        (y + self.height - 1)
            .checked_mul(self.buffer_stride)?
            .checked_add(x)?
            .checked_add(self.width)
    }

    /// Runs the operation on `screen`; `buffer` is the caller's (at least
    /// [`buffer_pixels`](Self::buffer_pixels) long).
    pub fn run(&self, screen: &mut Screen, buffer: &mut [BltPixel]) -> Result<(), BltError> {
        let destination = Rect::new(self.destination_x, self.destination_y, self.width, self.height);
        let source = Rect::new(self.source_x, self.source_y, self.width, self.height);
        match self.operation {
            BltOperation::VideoFill => {
                let pixel = *buffer.first().ok_or(BltError::NoBuffer)?;
                screen.fill(destination, u32::from_le_bytes(pixel))
            }
            BltOperation::VideoToVideo => screen.copy(self.source_x, self.source_y, destination),
            BltOperation::BufferToVideo => screen.write(
                destination,
                buffer,
                self.source_x,
                self.source_y,
                self.buffer_stride,
                u32::from_le_bytes,
            ),
            BltOperation::VideoToBltBuffer => screen.read(
                source,
                buffer,
                self.destination_x,
                self.destination_y,
                self.buffer_stride,
                // The reserved byte reads as 0, as a caller comparing expects.
                |p| (p & 0x00ff_ffff).to_le_bytes(),
            ),
        }
        .map_err(BltError::Screen)
    }
}

#[cfg(test)]
mod tests {
    use super::super::screen::tests::screen;
    use super::*;
    use alloc::vec;

    #[allow(clippy::too_many_arguments)]
    fn blt(op: u32, sx: usize, sy: usize, dx: usize, dy: usize, w: usize, h: usize, delta: usize) -> Blt {
        Blt::new(op, (sx, sy), (dx, dy), (w, h), delta).unwrap()
    }

    #[test]
    fn arguments_are_checked() {
        assert_eq!(
            Blt::new(4, (0, 0), (0, 0), (1, 1), 0),
            Err(BltError::UnknownOperation(4))
        );
        assert_eq!(Blt::new(0, (0, 0), (0, 0), (0, 1), 0), Err(BltError::EmptyRectangle));
        assert_eq!(Blt::new(2, (0, 0), (0, 0), (1, 1), 6), Err(BltError::UnalignedDelta(6)));
        assert_eq!(blt(2, 0, 0, 0, 0, 3, 2, 0).buffer_stride, 3);
        assert_eq!(blt(2, 1, 1, 0, 0, 3, 2, 40).buffer_pixels(), Some(10 + 10 + 1 + 3));
        assert_eq!(blt(1, 0, 0, 2, 0, 3, 2, 0).buffer_pixels(), Some(3 + 2 + 3));
        assert_eq!(blt(0, 0, 0, 2, 0, 3, 2, 0).buffer_pixels(), Some(1));
        assert_eq!(blt(2, 0, usize::MAX / 2, 0, 0, 3, 2, 400).buffer_pixels(), None);
    }

    #[test]
    fn the_four_operations_agree_with_each_other() {
        let mut s = screen(16, 12);
        let red = [0, 0, 0xff, 0];
        blt(BLT_VIDEO_FILL, 0, 0, 1, 1, 4, 3, 0)
            .run(&mut s, &mut [red])
            .unwrap();
        // A 2x2 picture from the middle of a 4-wide buffer.
        let mut picture: vec::Vec<BltPixel> = (0..16u8).map(|i| [i, i, i, 0xee]).collect();
        blt(BLT_BUFFER_TO_VIDEO, 1, 1, 10, 8, 2, 2, 16)
            .run(&mut s, &mut picture)
            .unwrap();
        blt(BLT_VIDEO_TO_VIDEO, 10, 8, 11, 9, 2, 2, 0)
            .run(&mut s, &mut [])
            .unwrap();

        let mut back = vec![[9u8; 4]; 6 * 6];
        blt(BLT_VIDEO_TO_BLT_BUFFER, 0, 0, 0, 0, 6, 6, 0)
            .run(&mut s, &mut back)
            .unwrap();
        assert_eq!(back[0], [0, 0, 0, 0]);
        assert_eq!(back[6 + 1], red);
        assert_eq!(back[3 * 6 + 4], red);
        assert_eq!(back[4 * 6 + 4], [0, 0, 0, 0]);

        let mut corner = vec![[0u8; 4]; 9];
        blt(BLT_VIDEO_TO_BLT_BUFFER, 10, 8, 0, 0, 3, 3, 0)
            .run(&mut s, &mut corner)
            .unwrap();
        // (10,8)=5 (11,8)=6 (10,9)=9, then the copy put 5 at (11,9), 6 at (12,9), 9 at (11,10), 10 at (12,10).
        let g = |p: BltPixel| p[0];
        assert_eq!(
            corner.iter().map(|&p| g(p)).collect::<vec::Vec<_>>(),
            vec![5, 6, 0, 9, 5, 6, 0, 9, 10]
        );
        assert!(corner.iter().all(|p| p[3] == 0), "reserved reads back as 0");

        let outside = blt(BLT_VIDEO_FILL, 0, 0, 15, 11, 2, 1, 0).run(&mut s, &mut [red]);
        assert_eq!(
            outside.as_ref().map_err(BltError::status),
            Err(Status::INVALID_PARAMETER)
        );
        assert_eq!(
            blt(BLT_VIDEO_FILL, 0, 0, 0, 0, 1, 1, 0).run(&mut s, &mut []),
            Err(BltError::NoBuffer)
        );
    }

    #[test]
    fn mode_information_is_bgr_reserved() {
        assert_eq!(
            mode_information(Resolution::new(8, 8), 8, true).pixel_format,
            PIXEL_BLT_ONLY
        );
        let info = mode_information(Resolution::new(1280, 800), 1280, false);
        assert_eq!(info.pixel_format, PIXEL_BLUE_GREEN_RED_RESERVED_8_BIT_PER_COLOR);
        assert_eq!(
            (
                info.horizontal_resolution,
                info.vertical_resolution,
                info.pixels_per_scan_line
            ),
            (1280, 800, 1280)
        );
    }
}
