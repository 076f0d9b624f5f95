//! EFI_GRAPHICS_OUTPUT_PROTOCOL (UEFI 2.10 §12.9), checked against the
//! framebuffer itself (through Blt on a PixelBltOnly device, which has none): QueryMode of every mode, SetMode to 800x600, and Blt's
//! four operations, each followed by reading the pixels at FrameBufferBase.
//! It leaves a picture the harness finds in QEMU's screendump:
//! - (10, 10) 40x20 filled with #123456;
//! - (100, 10) a 16x8 pattern (pixel (x, y) = red 16x, green 32y, blue 0x80),
//!   copied to (108, 14) by VideoToVideo (the copy lands on top);
//! - four 64x32 blocks at y = 48: red, green, blue, white from x = 0.

use crate::app::{ok, Console};
use core::ffi::c_void;
use core::fmt::Write;
use uefi_raw::protocol::console::{
    GraphicsOutputBltOperation as Op, GraphicsOutputBltPixel as Pixel, GraphicsOutputModeInformation,
    GraphicsOutputProtocol, GraphicsPixelFormat,
};
use uefi_raw::table::boot::BootServices;
use uefi_raw::table::system::SystemTable;
use uefi_raw::Status;

const fn pixel(red: u8, green: u8, blue: u8) -> Pixel {
    Pixel {
        blue,
        green,
        red,
        reserved: 0,
    }
}

fn as_u32(p: Pixel) -> u32 {
    u32::from(p.red) << 16 | u32::from(p.green) << 8 | u32::from(p.blue)
}

fn pattern(x: usize, y: usize) -> Pixel {
    pixel((16 * x) as u8, (32 * y) as u8, 0x80)
}

/// The screen's pixels: read from the framebuffer, or, on a PixelBltOnly
/// device (virtio-gpu), through a one-pixel VideoToBltBuffer.
struct Frame {
    base: *mut u32,
    stride: usize,
    gop: *mut GraphicsOutputProtocol,
    blt_only: bool,
}

impl Frame {
    fn at(&self, x: usize, y: usize) -> u32 {
        if self.blt_only {
            let mut p = pixel(1, 2, 3);
            // SAFETY: GOP's own Blt with a one-pixel buffer.
            let status =
                unsafe { ((*self.gop).blt)(self.gop, &mut p, Op::BLT_VIDEO_TO_BLT_BUFFER, x, y, 0, 0, 1, 1, 0) };
            return if status == Status::SUCCESS { as_u32(p) } else { 0xdead };
        }
        // SAFETY: inside the current mode, whose framebuffer GOP reported.
        unsafe { self.base.add(y * self.stride + x).read_volatile() & 0x00ff_ffff }
    }
}

/// `None` when the machine has no GOP (no display device).
pub(crate) unsafe fn check(st: &SystemTable, out: &mut Console) -> Option<Result<(), &'static str>> {
    // SAFETY: boot services are valid while the application runs.
    let bs = unsafe { &*st.boot_services };
    let mut interface: *mut c_void = core::ptr::null_mut();
    // SAFETY: LocateProtocol with valid pointers.
    let status = unsafe { (bs.locate_protocol)(&GraphicsOutputProtocol::GUID, core::ptr::null_mut(), &mut interface) };
    if status != Status::SUCCESS {
        return None;
    }
    // SAFETY: the firmware returned its GOP instance.
    Some(unsafe { run(bs, st, interface.cast(), out) })
}

unsafe fn run(
    bs: &BootServices,
    st: &SystemTable,
    gop: *mut GraphicsOutputProtocol,
    out: &mut Console,
) -> Result<(), &'static str> {
    // SAFETY: every call follows §12.9; pointers are GOP's own or locals.
    unsafe {
        let mut on_console: *mut c_void = core::ptr::null_mut();
        ok(
            (bs.handle_protocol)(st.stdout_handle, &GraphicsOutputProtocol::GUID, &mut on_console),
            "no GOP on the ConsoleOut handle",
        )?;
        let mode = &*(*gop).mode;
        let info = &*mode.info;
        let blt_only = info.pixel_format == GraphicsPixelFormat::PIXEL_BLT_ONLY;
        if !blt_only && info.pixel_format != GraphicsPixelFormat::PIXEL_BLUE_GREEN_RED_RESERVED_8_BIT_PER_COLOR {
            return Err("the pixel format is neither BGR-reserved 8 bits nor Blt-only");
        }
        let _ = writeln!(
            out,
            "HVFW-APP: gop {} modes, mode {} {}x{} stride {} framebuffer {:#x}+{:#x}",
            mode.max_mode,
            mode.mode,
            info.horizontal_resolution,
            info.vertical_resolution,
            info.pixels_per_scan_line,
            mode.frame_buffer_base,
            mode.frame_buffer_size
        );
        let mut target = None;
        for number in 0..mode.max_mode {
            let mut size = 0usize;
            let mut queried: *mut GraphicsOutputModeInformation = core::ptr::null_mut();
            ok(((*gop).query_mode)(gop, number, &mut size, &mut queried), "QueryMode")?;
            if size < size_of::<GraphicsOutputModeInformation>() {
                return Err("QueryMode's SizeOfInfo is too small");
            }
            let q = *queried;
            ok((bs.free_pool)(queried.cast()), "FreePool of QueryMode's Info")?;
            if (q.horizontal_resolution, q.vertical_resolution) == (800, 600) {
                target = Some(number);
            }
        }
        let mut size = 0usize;
        let mut queried: *mut GraphicsOutputModeInformation = core::ptr::null_mut();
        if ((*gop).query_mode)(gop, mode.max_mode, &mut size, &mut queried) != Status::INVALID_PARAMETER {
            return Err("QueryMode(MaxMode) is not INVALID_PARAMETER");
        }
        let target = target.ok_or("no 800x600 mode")?;
        ok(((*gop).set_mode)(gop, target), "SetMode 800x600")?;
        let mode = &*(*gop).mode;
        let info = &*mode.info;
        if mode.mode != target || (info.horizontal_resolution, info.vertical_resolution) != (800, 600) {
            return Err("Mode does not show the mode SetMode set");
        }
        let stride = info.pixels_per_scan_line as usize;
        let small = mode.frame_buffer_size < stride * 600 * 4 || mode.frame_buffer_base == 0;
        if stride < 800 || (!blt_only && small) {
            return Err("the framebuffer is smaller than the mode");
        }
        let frame = Frame {
            base: mode.frame_buffer_base as *mut u32,
            stride,
            gop,
            blt_only,
        };
        if (0..600).step_by(37).any(|y| frame.at(799 - y, y) != 0) {
            return Err("SetMode did not clear the screen to black");
        }

        // VideoFill.
        let mut fill = pixel(0x12, 0x34, 0x56);
        ok(
            ((*gop).blt)(gop, &mut fill, Op::BLT_VIDEO_FILL, 0, 0, 10, 10, 40, 20, 0),
            "Blt VideoFill",
        )?;
        let inside = (10..30).all(|y| (10..50).all(|x| frame.at(x, y) == 0x123456));
        if !inside || frame.at(9, 10) != 0 || frame.at(50, 29) != 0 || frame.at(10, 30) != 0 {
            return Err("VideoFill did not fill exactly its rectangle");
        }

        // BufferToVideo: all of a 16x8 buffer, then a part of it by Delta.
        let mut picture = [pixel(0, 0, 0); 16 * 8];
        for (i, p) in picture.iter_mut().enumerate() {
            *p = pattern(i % 16, i / 16);
        }
        ok(
            ((*gop).blt)(
                gop,
                picture.as_mut_ptr(),
                Op::BLT_BUFFER_TO_VIDEO,
                0,
                0,
                100,
                10,
                16,
                8,
                0,
            ),
            "Blt BufferToVideo",
        )?;
        if !(0..8).all(|y| (0..16).all(|x| frame.at(100 + x, 10 + y) == as_u32(pattern(x, y)))) {
            return Err("BufferToVideo: the framebuffer differs from the buffer");
        }
        ok(
            ((*gop).blt)(
                gop,
                picture.as_mut_ptr(),
                Op::BLT_BUFFER_TO_VIDEO,
                2,
                1,
                200,
                10,
                8,
                4,
                16 * 4,
            ),
            "Blt BufferToVideo with a Delta",
        )?;
        if !(0..4).all(|y| (0..8).all(|x| frame.at(200 + x, 10 + y) == as_u32(pattern(x + 2, y + 1)))) {
            return Err("BufferToVideo from (2, 1) with Delta 64 put other pixels");
        }

        // VideoToBltBuffer, into the middle of a wider buffer.
        let mut back = [pixel(9, 9, 9); 20 * 9];
        ok(
            ((*gop).blt)(
                gop,
                back.as_mut_ptr(),
                Op::BLT_VIDEO_TO_BLT_BUFFER,
                100,
                10,
                2,
                1,
                16,
                8,
                20 * 4,
            ),
            "Blt VideoToBltBuffer",
        )?;
        let read_ok = (0..8).all(|y| (0..16).all(|x| as_u32(back[(y + 1) * 20 + x + 2]) == as_u32(pattern(x, y))));
        if !read_ok || as_u32(back[0]) != 0x090909 || as_u32(back[20 + 18]) != 0x090909 {
            return Err("VideoToBltBuffer read other pixels or wrote outside its rectangle");
        }

        // VideoToVideo, overlapping its source.
        ok(
            ((*gop).blt)(
                gop,
                core::ptr::null_mut(),
                Op::BLT_VIDEO_TO_VIDEO,
                100,
                10,
                108,
                14,
                16,
                8,
                0,
            ),
            "Blt VideoToVideo",
        )?;
        if !(0..8).all(|y| (0..16).all(|x| frame.at(108 + x, 14 + y) == as_u32(pattern(x, y)))) {
            return Err("VideoToVideo: the copy differs from its source");
        }
        if frame.at(100, 10) != as_u32(pattern(0, 0)) {
            return Err("VideoToVideo changed the part of the source it does not cover");
        }

        if ((*gop).blt)(gop, &mut fill, Op::BLT_VIDEO_FILL, 0, 0, 790, 0, 20, 1, 0) != Status::INVALID_PARAMETER {
            return Err("a fill past the right edge is not INVALID_PARAMETER");
        }

        for (i, colour) in [
            pixel(0xff, 0, 0),
            pixel(0, 0xff, 0),
            pixel(0, 0, 0xff),
            pixel(0xff, 0xff, 0xff),
        ]
        .into_iter()
        .enumerate()
        {
            let mut colour = colour;
            ok(
                ((*gop).blt)(gop, &mut colour, Op::BLT_VIDEO_FILL, 0, 0, 64 * i, 48, 64, 32, 0),
                "Blt VideoFill of the colour blocks",
            )?;
        }
        let _ = writeln!(out, "HVFW-APP: gop picture drawn at 800x600");
        Ok(())
    }
}
