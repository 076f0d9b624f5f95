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

        dest.fill(0);
        let image = &mut dest[..image_size];
        copy(image, 0, file, 0, self.headers_size, "headers")?;
        for section in &self.sections {
            copy(
                image,
                section.virtual_address(),
                file,
                section.raw_offset(),
                section.loaded_size(),
                "section data",
            )?;
        }

        match self.relocations {
            Some(directory) => relocate::apply(image, directory, delta)?,
            None if delta != 0 => debug!("PE image has no base relocations; loading it at {load_address:#x} anyway"),
            None => {}
        }
        Ok(())
    }
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
