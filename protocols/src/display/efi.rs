//! The ABI edge of EFI_GRAPHICS_OUTPUT_PROTOCOL (UEFI 2.10 §12.9): the
//! protocol instance, its `Mode` and `ModeInformation`, and the thunks that
//! check `This` and the caller's pointers before calling [`gop`](super::gop).
#![deny(unsafe_op_in_unsafe_fn)]

use super::gop::{mode_information, Blt, BltPixel};
use super::Screen;
use crate::instances::Instances;
use alloc::boxed::Box;
use core::cell::UnsafeCell;
use r_efi::efi::Status;
use r_efi::protocols::graphics_output::{self, ModeInformation, Protocol};
use spin::Mutex;

/// Allocates pool memory the caller frees with FreePool (QueryMode's `Info`).
pub type AllocatePool = fn(usize) -> Option<*mut u8>;

/// One EFI_GRAPHICS_OUTPUT_PROTOCOL instance: the protocol structure (first,
/// so that `This` is the instance), its Mode and current ModeInformation, and
/// the screen it draws on.
#[repr(C)]
pub struct Gop {
    protocol: UnsafeCell<Protocol>,
    mode: UnsafeCell<graphics_output::Mode>,
    info: UnsafeCell<ModeInformation>,
    screen: &'static Mutex<Screen>,
    allocate_pool: AllocatePool,
}

// SAFETY: the UnsafeCells are written only by this module's thunks, and the
// firmware runs on one CPU without interrupts (DESIGN.md), so no two accesses
// overlap; the screen is behind a Mutex.
unsafe impl Sync for Gop {}

static INSTANCES: Instances<Gop> = Instances::new();

impl Gop {
    /// The protocol instance for `screen` (leaked: it outlives every application).
    pub fn create(screen: &'static Mutex<Screen>, allocate_pool: AllocatePool) -> &'static Gop {
        let gop: &'static Gop = Box::leak(Box::new(Gop {
            protocol: UnsafeCell::new(Protocol {
                query_mode,
                set_mode,
                blt,
                mode: core::ptr::null_mut(),
            }),
            mode: UnsafeCell::new(graphics_output::Mode {
                max_mode: 0,
                mode: 0,
                info: core::ptr::null_mut(),
                size_of_info: core::mem::size_of::<ModeInformation>(),
                frame_buffer_base: 0,
                frame_buffer_size: 0,
            }),
            info: UnsafeCell::new(mode_information(super::Resolution::new(0, 0), 0, false)),
            screen,
            allocate_pool,
        }));
        // SAFETY: the instance was just leaked and nothing else refers to it yet.
        unsafe {
            (*gop.protocol.get()).mode = gop.mode.get();
            (*gop.mode.get()).info = gop.info.get();
        }
        gop.refresh(&screen.lock());
        INSTANCES.register(gop);
        gop
    }

    /// The protocol to install.
    pub fn protocol(&self) -> *mut Protocol {
        self.protocol.get()
    }

    /// Rewrites `Mode` and its `Info` from the screen's current mode.
    fn refresh(&self, screen: &Screen) {
        let (base, size) = if screen.blt_only() {
            (0, 0)
        } else {
            screen.framebuffer()
        };
        let used = (screen.stride() * screen.resolution().height as usize * 4).min(size);
        // SAFETY: both cells belong to this leaked instance; see `Sync` above.
        unsafe {
            *self.info.get() = mode_information(screen.resolution(), screen.stride() as u32, screen.blt_only());
            let mode = &mut *self.mode.get();
            mode.max_mode = screen.modes().len() as u32;
            mode.mode = screen.mode() as u32;
            mode.frame_buffer_base = base;
            mode.frame_buffer_size = used;
        }
    }
}

unsafe extern "efiapi" fn query_mode(
    this: *mut Protocol,
    mode_number: u32,
    size_of_info: *mut usize,
    info: *mut *mut ModeInformation,
) -> Status {
    let Some(gop) = INSTANCES.find(this) else {
        return Status::INVALID_PARAMETER;
    };
    if size_of_info.is_null() || info.is_null() || !size_of_info.is_aligned() || !info.is_aligned() {
        return Status::INVALID_PARAMETER;
    }
    let screen = gop.screen.lock();
    let Some(&resolution) = screen.modes().get(mode_number as usize) else {
        return Status::INVALID_PARAMETER;
    };
    // Every mode of a device has stride = width but the current one, whose
    // stride the device chose.
    let stride = if mode_number as usize == screen.mode() {
        screen.stride() as u32
    } else {
        resolution.width
    };
    let size = core::mem::size_of::<ModeInformation>();
    let Some(buffer) = (gop.allocate_pool)(size) else {
        return Status::OUT_OF_RESOURCES;
    };
    #[expect(
        clippy::cast_ptr_alignment,
        reason = "AllocatePool returns memory aligned for any EFI structure (8 bytes)"
    )]
    let buffer = buffer.cast::<ModeInformation>();
    // SAFETY: the pool gave `size` bytes aligned for any EFI structure (8);
    // `size_of_info` and `info` were checked non-null and aligned, and are the
    // caller's outputs (§12.9.2).
    unsafe {
        buffer.write(mode_information(resolution, stride, screen.blt_only()));
        size_of_info.write(size);
        info.write(buffer);
    }
    Status::SUCCESS
}

unsafe extern "efiapi" fn set_mode(this: *mut Protocol, mode_number: u32) -> Status {
    let Some(gop) = INSTANCES.find(this) else {
        return Status::INVALID_PARAMETER;
    };
    let mut screen = gop.screen.lock();
    if mode_number as usize >= screen.modes().len() {
        return Status::UNSUPPORTED;
    }
    let result = screen.set_mode(mode_number as usize);
    gop.refresh(&screen);
    match result {
        Ok(()) => Status::SUCCESS,
        Err(e) => {
            log::warn!("{}: SetMode({mode_number}): {e}", screen.name());
            Status::DEVICE_ERROR
        }
    }
}

#[allow(clippy::too_many_arguments)]
unsafe extern "efiapi" fn blt(
    this: *mut Protocol,
    buffer: *mut graphics_output::BltPixel,
    operation: graphics_output::BltOperation,
    source_x: usize,
    source_y: usize,
    destination_x: usize,
    destination_y: usize,
    width: usize,
    height: usize,
    delta: usize,
) -> Status {
    let Some(gop) = INSTANCES.find(this) else {
        return Status::INVALID_PARAMETER;
    };
    let source = (source_x, source_y);
    let destination = (destination_x, destination_y);
    let request = match Blt::new(operation, source, destination, (width, height), delta) {
        Ok(request) => request,
        Err(e) => {
            log::debug!("GOP Blt: {e}");
            return e.status();
        }
    };
    let Some(pixels) = request.buffer_pixels() else {
        return Status::INVALID_PARAMETER;
    };
    if pixels > 0 && buffer.is_null() {
        return Status::INVALID_PARAMETER;
    }
    // SAFETY: BltPixel is four bytes with alignment 1, as BltPixel ([u8; 4]);
    // the caller promises a buffer covering the rectangle it describes
    // (§12.9.2, Blt), which is `pixels` long; the claim is checked first.
    let buffer = match unsafe { fw_core::caller_buffer::slice_mut(buffer.cast::<BltPixel>(), pixels) } {
        Ok(buffer) => buffer,
        Err(e) => return e.status(),
    };
    match request.run(&mut gop.screen.lock(), buffer) {
        Ok(()) => Status::SUCCESS,
        Err(e) => {
            log::debug!("GOP Blt: {e}");
            e.status()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::screen::tests::screen;
    use super::*;
    use alloc::vec;
    use r_efi::protocols::graphics_output::{BltPixel as EfiPixel, BLT_VIDEO_FILL, BLT_VIDEO_TO_BLT_BUFFER};

    fn allocate(size: usize) -> Option<*mut u8> {
        Some(
            Box::leak(vec![0u64; size.div_ceil(8)].into_boxed_slice())
                .as_mut_ptr()
                .cast(),
        )
    }

    #[test]
    fn services_through_the_table() {
        let screen: &'static Mutex<Screen> = Box::leak(Box::new(Mutex::new(screen(16, 12))));
        let gop = Gop::create(screen, allocate);
        let p = gop.protocol();
        // SAFETY: calling the protocol as an application would.
        unsafe {
            let mode = &*(*p).mode;
            assert_eq!((mode.max_mode, mode.mode), (2, 1));
            assert_eq!((*mode.info).horizontal_resolution, 16);
            assert_eq!((*mode.info).pixels_per_scan_line, 32);
            assert_eq!(mode.frame_buffer_base, 0x8000_0000);

            let mut size = 0usize;
            let mut info: *mut ModeInformation = core::ptr::null_mut();
            assert_eq!(((*p).query_mode)(p, 0, &mut size, &mut info), Status::SUCCESS);
            assert_eq!((size, (*info).horizontal_resolution), (size_of::<ModeInformation>(), 8));
            assert_eq!(((*p).query_mode)(p, 2, &mut size, &mut info), Status::INVALID_PARAMETER);
            assert_eq!(
                ((*p).query_mode)(p, 0, core::ptr::null_mut(), &mut info),
                Status::INVALID_PARAMETER
            );

            let mut fill = EfiPixel {
                blue: 1,
                green: 2,
                red: 3,
                reserved: 0,
            };
            assert_eq!(
                ((*p).blt)(p, &mut fill, BLT_VIDEO_FILL, 0, 0, 1, 1, 2, 2, 0),
                Status::SUCCESS
            );
            let mut back = [[0u8; 4]; 9];
            let status = ((*p).blt)(
                p,
                back.as_mut_ptr().cast(),
                BLT_VIDEO_TO_BLT_BUFFER,
                0,
                0,
                0,
                0,
                3,
                3,
                0,
            );
            assert_eq!(status, Status::SUCCESS);
            assert_eq!((back[0], back[4], back[8]), ([0; 4], [1, 2, 3, 0], [1, 2, 3, 0]));
            assert_eq!(
                ((*p).blt)(p, core::ptr::null_mut(), BLT_VIDEO_FILL, 0, 0, 0, 0, 1, 1, 0),
                Status::INVALID_PARAMETER
            );
            assert_eq!(
                ((*p).blt)(p, &mut fill, 9, 0, 0, 0, 0, 1, 1, 0),
                Status::INVALID_PARAMETER
            );

            assert_eq!(((*p).set_mode)(p, 0), Status::SUCCESS);
            assert_eq!(((*(*p).mode).mode, (*(*(*p).mode).info).horizontal_resolution), (0, 8));
            assert_eq!(((*p).set_mode)(p, 5), Status::UNSUPPORTED);

            let mut foreign = core::ptr::read(p);
            assert_eq!(((*p).set_mode)(&mut foreign, 0), Status::INVALID_PARAMETER);
        }
    }
}
