//! The screen: a display controller's linear framebuffer, the Graphics Output
//! Protocol over it (UEFI 2.10 §12.9) and the font the text console draws with.
//!
//! - [`DisplayDevice`]: what a driver (Bochs DISPI, ...) provides: its modes,
//!   setting one, the framebuffer memory, and a flush for devices that need one.
//! - [`Screen`]: the current mode and the drawing operations on it (fills,
//!   copies, rectangles to and from a caller's buffer), in safe Rust with every
//!   rectangle checked; GOP's Blt and the text console both draw through it.
//! - [`gop`]: Graphics Output's services as plain functions over a [`Screen`].
//! - [`efi`]: the ABI edge: the protocol instance and its thunks.
//! - [`font`]: the 8x16 glyphs.
//!
//! Pixels are XRGB8888 as a little-endian u32 (blue in the low byte), which is
//! PixelBlueGreenRedReserved8BitPerColor and also EFI_GRAPHICS_OUTPUT_BLT_PIXEL's layout.

pub mod efi;
pub mod font;
pub mod gop;
pub mod screen;

pub use screen::{Rect, Screen};

use core::fmt;

/// A mode's size in pixels.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Resolution {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
}

impl Resolution {
    /// `width` x `height` pixels.
    pub const fn new(width: u32, height: u32) -> Resolution {
        Resolution { width, height }
    }

    /// Bytes of framebuffer the mode needs at 32 bits per pixel, stride = width.
    pub const fn bytes(&self) -> u64 {
        self.width as u64 * self.height as u64 * 4
    }
}

/// The resolutions the firmware offers on devices that can show any size,
/// smallest first; a driver keeps those its memory holds.
pub const STANDARD_RESOLUTIONS: [Resolution; 7] = [
    Resolution::new(640, 480),
    Resolution::new(800, 600),
    Resolution::new(1024, 768),
    Resolution::new(1280, 800),
    Resolution::new(1280, 1024),
    Resolution::new(1440, 900),
    Resolution::new(1920, 1080),
];

/// The mode set at start: what OVMF uses on QEMU, large enough for every text
/// mode the console offers (100x31 and 80x50 cells of 8x16).
pub const DEFAULT_RESOLUTION: Resolution = Resolution::new(1280, 800);

/// Why a display device refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DeviceError {
    /// The device does not offer this size.
    UnsupportedResolution {
        /// The width asked for, in pixels.
        width: u32,
        /// The height asked for, in pixels.
        height: u32,
    },
    /// The mode needs more framebuffer than the device has.
    TooLittleMemory {
        /// Bytes the mode needs.
        needed: u64,
        /// Bytes of framebuffer the device has.
        available: u64,
    },
    /// The device did not take the mode (it reads back something else).
    Rejected {
        /// The setting, e.g. a register's name.
        what: &'static str,
        /// The value written.
        wrote: u32,
        /// The value read back.
        read: u32,
    },
    /// The device answered a command with an error.
    Command {
        /// The command's name.
        command: &'static str,
        /// The device's response code.
        response: u32,
    },
}

impl fmt::Display for DeviceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DeviceError::UnsupportedResolution { width, height } => {
                write!(f, "{width}x{height} is not a mode of this device")
            }
            DeviceError::TooLittleMemory { needed, available } => write!(
                f,
                "the mode needs {} KiB of framebuffer, the device has {} KiB",
                needed >> 10,
                available >> 10
            ),
            DeviceError::Rejected { what, wrote, read } => {
                write!(f, "the device did not take {what} {wrote} (reads back {read})")
            }
            DeviceError::Command { command, response } => {
                write!(f, "the device answered {command} with {response:#x}")
            }
        }
    }
}

/// A display controller with a linear XRGB8888 framebuffer.
pub trait DisplayDevice: Send {
    /// What to call it in messages, e.g. "bochs-display at PCI 00:02.0".
    fn name(&self) -> &str;
    /// The sizes it offers; GOP mode N is the N-th.
    fn resolutions(&self) -> &[Resolution];
    /// Programs `resolution`; returns the stride in pixels.
    fn set_resolution(&mut self, resolution: Resolution) -> Result<u32, DeviceError>;
    /// The framebuffer as the CPU sees it (at least stride x height pixels of
    /// the current mode).
    fn pixels(&mut self) -> &mut [u32];
    /// The framebuffer's physical address and size in bytes, for GOP's Mode
    /// and so for the OS (`screen_info`).
    fn framebuffer(&self) -> (u64, usize);
    /// Makes `rect` of the framebuffer visible (devices whose scanout is not
    /// the framebuffer itself, such as virtio-gpu); nothing by default.
    fn flush(&mut self, rect: Rect) {
        let _ = rect;
    }
    /// Whether only Blt shows on screen (virtio-gpu): GOP then reports
    /// PixelBltOnly and no framebuffer, so nobody writes where nothing shows.
    fn blt_only(&self) -> bool {
        false
    }
}
