//! What the exception handlers learn from the image lists: which image holds
//! the faulting instruction and which one runs (for the report), and whether
//! the faulting image can be ended as Exit would end it, so that its
//! StartImage returns and the boot manager goes on (UEFI 2.10 §7.4.2).

use super::{JumpContext, LoadedImage, BOOT, IMAGES, RUNNING};
use crate::fault_location::{self, Access, ImageName, ImageSpan, Location, Running, Summary};
use core::ops::Range;

impl LoadedImage {
    fn span(&self) -> ImageSpan<'_> {
        let name = match (&self.file_path, self.pages) {
            (_, 0) => ImageName::BuiltIn,
            (Some(path), _) => ImageName::File(path),
            (None, _) => ImageName::Memory,
        };
        ImageSpan {
            base: self.base,
            size: self.size,
            name,
        }
    }
}

/// Hands `report` the summary line for an exception (`exception`, with the
/// data address and access of a memory fault) at instruction `ip`: which
/// loaded image or the firmware (`firmware`) holds `ip`, and which image runs.
///
/// For the exception handlers: it neither allocates nor waits for a lock. The
/// image lists are read only if their locks are free; held, they are being
/// changed by the code the fault interrupted, and the line says so.
pub fn fault_summary(
    exception: &str,
    access: Option<(u64, Access)>,
    ip: u64,
    firmware: Range<u64>,
    report: &mut dyn FnMut(&Summary<'_>),
) {
    let images = IMAGES.try_lock();
    let running = RUNNING.try_lock();
    let location = match &images {
        Some(list) => fault_location::locate(ip, firmware, list.iter().map(LoadedImage::span)),
        None => match fault_location::locate(ip, firmware, []) {
            Location::Unknown { address, .. } => Location::Unknown {
                address,
                images_known: false,
            },
            known => known,
        },
    };
    let running = match (&images, &running) {
        (Some(list), Some(running)) => match running.last() {
            Some(handle) => list
                .iter()
                .find(|i| i.handle == *handle)
                .map_or(Running::Unknown, |i| Running::Image(i.span().name)),
            None => Running::Nothing,
        },
        _ => Running::Unknown,
    };
    report(&Summary {
        exception,
        access,
        location,
        running,
    });
}

/// After an exception at `ip`: when `ip` is in the code of the image
/// StartImage entered last, an image loaded from a file or buffer (not the
/// firmware's), and boot services run with none of their state locked, marks
/// the image as ended by a fault and returns the context its StartImage saved,
/// for the handler to return from StartImage (`Platform::exit_image`) as Exit
/// does. The TPL goes back to TPL_APPLICATION, where StartImage was called.
///
/// `None` otherwise: the fault is the firmware's own, or its state cannot be
/// trusted, and the handler must stop the machine.
pub fn abandon_faulting_image(ip: u64) -> Option<*mut JumpContext> {
    let mut boot = BOOT.try_lock()?;
    let mut images = IMAGES.try_lock()?;
    let running = RUNNING.try_lock()?;
    if boot.exited {
        return None;
    }
    let innermost = *running.last()?;
    let image = images.iter_mut().find(|i| i.handle == innermost)?;
    if image.pages == 0 || !image.span().contains(ip) {
        return None;
    }
    let jump = image.jump?;
    image.faulted = true;
    boot.events.set_tpl(crate::events::TPL_APPLICATION);
    Some(jump)
}
