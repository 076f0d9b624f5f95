//! The GPU device's 2D mode (virtio 1.2 §5.7) over any [`Transport`]: one
//! control queue (§5.7.2), no features (§5.7.3). The firmware keeps its
//! picture in guest memory (the resource's backing) and shows it through
//! the device: RESOURCE_CREATE_2D, RESOURCE_ATTACH_BACKING and SET_SCANOUT
//! once per mode, then TRANSFER_TO_HOST_2D and RESOURCE_FLUSH for each changed
//! rectangle (§5.7.6.8). Requests are synchronous: one request buffer the
//! device reads and one response buffer it writes, polled, bounded by a
//! [`PollLimit`]. The command encodings are plain functions, host-tested.

use super::polled::{Failure, PolledDevice};
use super::queue::Buffer;
use super::{Error as VirtioError, PollLimit, Transport};
use super::{VIRTIO_F_ACCESS_PLATFORM, VIRTIO_F_VERSION_1};
use alloc::vec;
use alloc::vec::Vec;
use core::fmt;

/// The GPU's virtio device ID (§5.7.1).
pub const DEVICE_TYPE_GPU: u32 = 16;
/// The control queue's index (§5.7.2); the cursor queue is not used.
pub const CONTROL_QUEUE: u16 = 0;
/// The features the driver accepts: version 1, and the platform's DMA rules.
pub const DRIVER_FEATURES: u64 = VIRTIO_F_VERSION_1 | VIRTIO_F_ACCESS_PLATFORM;
const QUEUE_SIZE: u16 = 2;

// Control commands and responses (§5.7.6.7, VIRTIO_GPU_CMD_* and VIRTIO_GPU_RESP_*).
/// Asks for the scanouts' sizes; answered with [`RESP_OK_DISPLAY_INFO`].
pub const CMD_GET_DISPLAY_INFO: u32 = 0x0100;
/// Creates a host-side 2D resource of a given format and size.
pub const CMD_RESOURCE_CREATE_2D: u32 = 0x0101;
/// Destroys a resource.
pub const CMD_RESOURCE_UNREF: u32 = 0x0102;
/// Shows a rectangle of a resource on a scanout.
pub const CMD_SET_SCANOUT: u32 = 0x0103;
/// Updates a scanout from a rectangle of the resource shown on it.
pub const CMD_RESOURCE_FLUSH: u32 = 0x0104;
/// Copies a rectangle of a resource's guest backing to the host resource.
pub const CMD_TRANSFER_TO_HOST_2D: u32 = 0x0105;
/// Gives a resource its backing pages in guest memory.
pub const CMD_RESOURCE_ATTACH_BACKING: u32 = 0x0106;
/// Takes a resource's backing pages away.
pub const CMD_RESOURCE_DETACH_BACKING: u32 = 0x0107;
/// Success response without data.
pub const RESP_OK_NODATA: u32 = 0x1100;
/// Success response to [`CMD_GET_DISPLAY_INFO`], with [`MAX_SCANOUTS`] scanout entries.
pub const RESP_OK_DISPLAY_INFO: u32 = 0x1101;
/// Bytes B, G, R, X in memory: XRGB8888 as a little-endian u32.
pub const FORMAT_B8G8R8X8_UNORM: u32 = 2;
/// Scanout entries in a DISPLAY_INFO response (VIRTIO_GPU_MAX_SCANOUTS).
pub const MAX_SCANOUTS: usize = 16;
const HEADER_SIZE: usize = 24;
const DISPLAY_INFO_SIZE: usize = HEADER_SIZE + MAX_SCANOUTS * 24;

/// A rectangle in device terms.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rect {
    /// Left edge, in pixels.
    pub x: u32,
    /// Top edge, in pixels.
    pub y: u32,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
}

struct Writer(Vec<u8>);

impl Writer {
    /// A command with its control header (§5.7.6.7): type, flags, fence, context, ring index.
    fn command(kind: u32) -> Writer {
        let mut w = Writer(Vec::with_capacity(64));
        w.u32(kind).u32(0).u64(0).u32(0).u32(0);
        w
    }
    fn u32(&mut self, v: u32) -> &mut Writer {
        self.0.extend_from_slice(&v.to_le_bytes());
        self
    }
    fn u64(&mut self, v: u64) -> &mut Writer {
        self.0.extend_from_slice(&v.to_le_bytes());
        self
    }
    fn rect(&mut self, r: Rect) -> &mut Writer {
        self.u32(r.x).u32(r.y).u32(r.width).u32(r.height)
    }
}

/// GET_DISPLAY_INFO: the scanouts' sizes (see [`parse_display_info`]).
pub fn get_display_info() -> Vec<u8> {
    Writer::command(CMD_GET_DISPLAY_INFO).0
}

/// RESOURCE_CREATE_2D: resource `resource`, `width` x `height` pixels of
/// [`FORMAT_B8G8R8X8_UNORM`].
pub fn resource_create_2d(resource: u32, width: u32, height: u32) -> Vec<u8> {
    let mut w = Writer::command(CMD_RESOURCE_CREATE_2D);
    w.u32(resource).u32(FORMAT_B8G8R8X8_UNORM).u32(width).u32(height);
    w.0
}

/// RESOURCE_UNREF: destroys resource `resource`.
pub fn resource_unref(resource: u32) -> Vec<u8> {
    let mut w = Writer::command(CMD_RESOURCE_UNREF);
    w.u32(resource).u32(0);
    w.0
}

/// One backing entry: `length` bytes at guest address `address`.
pub fn resource_attach_backing(resource: u32, address: u64, length: u32) -> Vec<u8> {
    let mut w = Writer::command(CMD_RESOURCE_ATTACH_BACKING);
    w.u32(resource).u32(1).u64(address).u32(length).u32(0);
    w.0
}

/// SET_SCANOUT: shows `rect` of resource `resource` on scanout `scanout`.
pub fn set_scanout(scanout: u32, resource: u32, rect: Rect) -> Vec<u8> {
    let mut w = Writer::command(CMD_SET_SCANOUT);
    w.rect(rect).u32(scanout).u32(resource);
    w.0
}

/// Copies `rect` of the backing (rows `stride` bytes apart) to the host.
pub fn transfer_to_host_2d(resource: u32, rect: Rect, stride: u32) -> Vec<u8> {
    let offset = u64::from(rect.y) * u64::from(stride) + u64::from(rect.x) * 4;
    let mut w = Writer::command(CMD_TRANSFER_TO_HOST_2D);
    w.rect(rect).u64(offset).u32(resource).u32(0);
    w.0
}

/// RESOURCE_FLUSH: updates the scanout showing resource `resource` within `rect`.
pub fn resource_flush(resource: u32, rect: Rect) -> Vec<u8> {
    let mut w = Writer::command(CMD_RESOURCE_FLUSH);
    w.rect(rect).u32(resource).u32(0);
    w.0
}

/// The first enabled scanout's size in a DISPLAY_INFO response.
pub fn parse_display_info(response: &[u8]) -> Option<(u32, u32)> {
    let word = |at: usize| {
        response
            .get(at..at + 4)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    };
    if word(0)? != RESP_OK_DISPLAY_INFO {
        return None;
    }
    (0..MAX_SCANOUTS).find_map(|i| {
        let at = HEADER_SIZE + i * 24;
        let (width, height, enabled) = (word(at + 8)?, word(at + 12)?, word(at + 16)?);
        (enabled != 0 && width > 0 && height > 0).then_some((width, height))
    })
}

/// Why a command failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Error {
    /// The control queue failed.
    Queue(VirtioError),
    /// No answer in time; the device was reset.
    Timeout {
        /// The command's type (a `CMD_*`).
        command: u32,
    },
    /// The device answered with an error response (§5.7.6.7, 0x12xx).
    Response {
        /// The command's type (a `CMD_*`).
        command: u32,
        /// The response's type.
        response: u32,
    },
    /// The device was reset and is no longer used.
    Stopped,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Queue(e) => write!(f, "{e}"),
            Error::Timeout { command } => write!(f, "no answer to command {command:#06x} in time"),
            Error::Response { command, response } => {
                write!(f, "command {command:#06x} answered {response:#06x}")
            }
            Error::Stopped => f.write_str("the device was reset and is no longer used"),
        }
    }
}

/// A virtio GPU driven in 2D mode. Methods lock the device.
pub struct VirtioGpu<T: Transport> {
    device: PolledDevice<T>,
}

impl<T: Transport> VirtioGpu<T> {
    /// Initialises the device (§3.1.1) with its control queue.
    pub fn new(transport: T, poll_limit: PollLimit) -> Result<VirtioGpu<T>, VirtioError> {
        let device = PolledDevice::start(
            transport,
            "virtio-gpu",
            DEVICE_TYPE_GPU,
            DRIVER_FEATURES,
            (CONTROL_QUEUE, QUEUE_SIZE),
            poll_limit,
        )?;
        Ok(VirtioGpu { device })
    }

    /// Runs `f` with the transport.
    pub fn with_transport<R>(&self, f: impl FnOnce(&T) -> R) -> R {
        self.device.with_transport(f)
    }

    /// Sends `request`, returns the response (`response_size` bytes) once its
    /// type is an OK.
    fn command(&self, request: &[u8], response_size: usize) -> Result<Vec<u8>, Error> {
        let command = u32::from_le_bytes([request[0], request[1], request[2], request[3]]);
        let mut response = vec![0u8; response_size];
        let chain = [
            Buffer {
                address: request.as_ptr() as u64,
                len: request.len() as u32,
                device_writable: false,
            },
            Buffer {
                address: response.as_mut_ptr() as u64,
                len: response_size as u32,
                device_writable: true,
            },
        ];
        self.device.request(&chain, |failure| match failure {
            Failure::Queue(e) => Error::Queue(e),
            Failure::Timeout => Error::Timeout { command },
            Failure::Stopped => Error::Stopped,
        })?;
        let kind = u32::from_le_bytes([response[0], response[1], response[2], response[3]]);
        if kind != RESP_OK_NODATA && kind != RESP_OK_DISPLAY_INFO {
            return Err(Error::Response {
                command,
                response: kind,
            });
        }
        Ok(response)
    }

    /// The first scanout's preferred size, if the device says.
    pub fn display_size(&self) -> Option<(u32, u32)> {
        let response = self.command(&get_display_info(), DISPLAY_INFO_SIZE).ok()?;
        parse_display_info(&response)
    }

    /// Shows resource `resource`, `width` x `height` backed by `length` bytes
    /// at `address` (rows `width * 4` apart), on scanout 0; `old` is the
    /// resource shown before, released afterwards.
    pub fn show(
        &self,
        resource: u32,
        old: Option<u32>,
        width: u32,
        height: u32,
        address: u64,
        length: u32,
    ) -> Result<(), Error> {
        self.command(&resource_create_2d(resource, width, height), HEADER_SIZE)?;
        self.command(&resource_attach_backing(resource, address, length), HEADER_SIZE)?;
        let all = Rect {
            x: 0,
            y: 0,
            width,
            height,
        };
        self.command(&set_scanout(0, resource, all), HEADER_SIZE)?;
        if let Some(old) = old {
            // Best effort: a leftover resource costs host memory only.
            let _ = self.command(&resource_unref(old), HEADER_SIZE);
        }
        Ok(())
    }

    /// Copies `rect` of the backing to the host and shows it.
    pub fn flush(&self, resource: u32, rect: Rect, stride: u32) -> Result<(), Error> {
        self.command(&transfer_to_host_2d(resource, rect, stride), HEADER_SIZE)?;
        self.command(&resource_flush(resource, rect), HEADER_SIZE)?;
        Ok(())
    }

    /// Resets the device before the OS takes over (it stops reading firmware
    /// memory); later commands fail.
    pub fn reset(&self) {
        self.device.reset()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(bytes: &[u8]) -> Vec<u32> {
        bytes
            .chunks_exact(4)
            .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect()
    }

    #[test]
    fn commands_are_encoded_as_the_specification_lays_them_out() {
        let rect = Rect {
            x: 8,
            y: 16,
            width: 32,
            height: 4,
        };
        assert_eq!(words(&get_display_info()), [0x100, 0, 0, 0, 0, 0]);
        assert_eq!(words(&resource_create_2d(1, 1280, 800))[6..], [1, 2, 1280, 800]);
        assert_eq!(
            words(&resource_attach_backing(1, 0x1_2345_6000, 4_096_000))[6..],
            [1, 1, 0x2345_6000, 1, 4_096_000, 0]
        );
        assert_eq!(words(&set_scanout(0, 1, rect))[6..], [8, 16, 32, 4, 0, 1]);
        // Offset of (8, 16) with 5120-byte rows: 16 * 5120 + 8 * 4.
        assert_eq!(
            words(&transfer_to_host_2d(1, rect, 5120))[6..],
            [8, 16, 32, 4, 81952, 0, 1, 0]
        );
        assert_eq!(words(&resource_flush(1, rect))[6..], [8, 16, 32, 4, 1, 0]);
        assert_eq!(words(&resource_unref(3))[..2], [0x102, 0]);
        assert_eq!(resource_create_2d(1, 1, 1).len(), 40);
        assert_eq!(resource_attach_backing(1, 0, 0).len(), 48);
        assert_eq!(transfer_to_host_2d(1, rect, 0).len(), 56);
    }

    #[test]
    fn display_info_gives_the_first_enabled_scanout() {
        let mut response = vec![0u8; DISPLAY_INFO_SIZE];
        response[..4].copy_from_slice(&RESP_OK_DISPLAY_INFO.to_le_bytes());
        let second = HEADER_SIZE + 24;
        for (at, v) in [(8, 1024u32), (12, 768), (16, 1)] {
            response[second + at..second + at + 4].copy_from_slice(&v.to_le_bytes());
        }
        assert_eq!(parse_display_info(&response), Some((1024, 768)));
        response[..4].copy_from_slice(&0x1200u32.to_le_bytes());
        assert_eq!(parse_display_info(&response), None);
    }
}
