//! Placing a parsed image (UEFI 2.10 §7.4 `LoadImage`; PE Format §3 "Section Table"):
//! headers first, then each section's raw data, zeros elsewhere, then base relocations.
#![forbid(unsafe_code)]

use log::debug;

use super::{relocate, ImageError, PeImage};

impl PeImage {
    /// Loads `file` (the bytes [`parse`](super::parse) accepted) into `dest`, which
    /// will run at `load_address`, and relocates it from its preferred base.
    ///
    /// `dest` holds at least `size_of_image()` bytes (page rounding may make it longer;
    /// the tail is zeroed too). `load_address` should be aligned to
    /// `section_alignment()`; that is the caller's allocation, not checked here.
    pub fn load(&self, file: &[u8], dest: &mut [u8], load_address: u64) -> Result<(), ImageError> {
        self.load_with(file, &mut read_from(file), dest, load_address)
    }

    /// [`load`](Self::load) for an image whose file is not in memory: the
    /// headers come from `headers` (the first bytes of the file, at least
    /// `size_of_headers()`), and each section's data is read by
    /// `read(file_offset, target)` straight into its place in `dest`. A 14 MB
    /// kernel is then written once, by the device, instead of read into a
    /// buffer and copied.
    pub fn load_with(
        &self,
        headers: &[u8],
        read: &mut ReadAt<'_>,
        dest: &mut [u8],
        load_address: u64,
    ) -> Result<(), ImageError> {
        let image_size = self.image_size as usize;
        if dest.len() < image_size {
            return Err(ImageError::DestinationTooSmall {
                needed: self.image_size,
                found: dest.len(),
            });
        }
        let delta = load_address.wrapping_sub(self.preferred_base);
        if delta != 0 && self.relocations_stripped {
            return Err(ImageError::RelocationsStripped {
                preferred_base: self.preferred_base,
                load_address,
            });
        }

        zero_gaps(dest, self);
        let image = &mut dest[..image_size];
        copy(image, 0, headers, 0, self.headers_size, "headers")?;
        for section in &self.sections {
            let len = section.loaded_size() as usize;
            if len == 0 {
                continue;
            }
            let rva = section.virtual_address() as usize;
            let target = rva
                .checked_add(len)
                .and_then(|end| image.get_mut(rva..end))
                .ok_or(ImageError::Truncated { what: "section data" })?;
            read(u64::from(section.raw_offset()), target)?;
        }

        match self.relocations {
            Some(directory) => relocate::apply(image, directory, delta)?,
            None if delta != 0 => debug!("PE image has no base relocations; loading it at {load_address:#x} anyway"),
            None => {}
        }
        Ok(())
    }
}

/// Fills the buffer from a file offset: where [`PeImage::load_with`] gets
/// section data.
pub type ReadAt<'a> = dyn FnMut(u64, &mut [u8]) -> Result<(), ImageError> + 'a;

/// A reader for [`PeImage::load_with`] over a file held in memory; every
/// range is checked, since `file` may not be the one that was parsed.
pub fn read_from(file: &[u8]) -> impl FnMut(u64, &mut [u8]) -> Result<(), ImageError> + '_ {
    move |offset, target| {
        let source = usize::try_from(offset)
            .ok()
            .and_then(|start| file.get(start..start.checked_add(target.len())?))
            .ok_or(ImageError::Truncated { what: "section data" })?;
        target.copy_from_slice(source);
        Ok(())
    }
}

/// Zeroes what the copies below will not overwrite (section tails, padding,
/// the page-rounding tail): kernels are large, and writing every byte twice
/// costs real time under emulation.
fn zero_gaps(dest: &mut [u8], image: &PeImage) {
    let mut covered: alloc::vec::Vec<(usize, usize)> = core::iter::once((0, image.headers_size as usize))
        .chain(image.sections.iter().map(|s| {
            (
                s.virtual_address() as usize,
                s.virtual_address() as usize + s.loaded_size() as usize,
            )
        }))
        .map(|(start, end)| (start.min(dest.len()), end.min(dest.len())))
        .collect();
    covered.sort_unstable();
    let mut cursor = 0;
    for (start, end) in covered {
        if start > cursor {
            dest[cursor..start].fill(0);
        }
        cursor = cursor.max(end);
    }
    dest[cursor..].fill(0);
}

/// Copies `len` bytes from the file into the image, both ranges checked: `file` may
/// not be the one that was parsed.
fn copy(image: &mut [u8], rva: u32, file: &[u8], offset: u32, len: u32, what: &'static str) -> Result<(), ImageError> {
    if len == 0 {
        return Ok(());
    }
    let (rva, offset, len) = (rva as usize, offset as usize, len as usize);
    let source = offset
        .checked_add(len)
        .and_then(|end| file.get(offset..end))
        .ok_or(ImageError::Truncated { what })?;
    let target = rva
        .checked_add(len)
        .and_then(|end| image.get_mut(rva..end))
        .ok_or(ImageError::Truncated { what })?;
    target.copy_from_slice(source);
    Ok(())
}
