//! Initrds as the Linux loaders hand them to a kernel: anything that knows its
//! length and can fill a buffer. The boot manager passes files still on their
//! volume, so an initrd is read once, by the device, straight into the memory
//! the kernel (or the boot protocol's placement) chose — never buffered and
//! copied. Tests and callers with bytes in memory pass slices.
#![forbid(unsafe_code)]

use uefi_raw::Status;

/// One initrd.
pub trait InitrdSource {
    /// Its length in bytes.
    fn len(&self) -> usize;

    /// Whether there are no bytes.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Fills `buffer`, exactly [`len`](Self::len) bytes long, with the initrd.
    fn read_into(&self, buffer: &mut [u8]) -> Result<(), Status>;
}

impl InitrdSource for &[u8] {
    fn len(&self) -> usize {
        <[u8]>::len(self)
    }

    fn read_into(&self, buffer: &mut [u8]) -> Result<(), Status> {
        if buffer.len() != <[u8]>::len(self) {
            return Err(Status::BAD_BUFFER_SIZE);
        }
        buffer.copy_from_slice(self);
        Ok(())
    }
}

/// The sum of the parts' lengths.
pub fn total_len<P: InitrdSource>(parts: &[P]) -> usize {
    parts.iter().map(InitrdSource::len).sum()
}

/// Fills `buffer` (at least [`total_len`] bytes) with the parts back to back;
/// the first failure stops it.
pub fn read_all<P: InitrdSource>(parts: &[P], buffer: &mut [u8]) -> Result<(), Status> {
    let mut at = 0;
    for part in parts {
        let end = at + part.len();
        let target = buffer.get_mut(at..end).ok_or(Status::BUFFER_TOO_SMALL)?;
        part.read_into(target)?;
        at = end;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_are_concatenated_in_order() {
        let parts: [&[u8]; 3] = [b"first", b"", b"-second"];
        assert_eq!(total_len(&parts), 12);
        let mut buf = [0xEEu8; 14];
        read_all(&parts, &mut buf).unwrap();
        assert_eq!(&buf[..12], b"first-second");
        assert_eq!(&buf[12..], &[0xEE; 2]);
    }

    #[test]
    fn a_short_buffer_is_refused() {
        let parts: [&[u8]; 2] = [b"first", b"-second"];
        let mut buf = [0u8; 8];
        assert_eq!(read_all(&parts, &mut buf), Err(Status::BUFFER_TOO_SMALL));
    }

    struct Failing;
    impl InitrdSource for Failing {
        fn len(&self) -> usize {
            4
        }
        fn read_into(&self, _: &mut [u8]) -> Result<(), Status> {
            Err(Status::DEVICE_ERROR)
        }
    }

    #[test]
    fn a_failed_read_is_passed_on() {
        let mut buf = [0u8; 8];
        assert_eq!(read_all(&[Failing, Failing], &mut buf), Err(Status::DEVICE_ERROR));
    }
}
