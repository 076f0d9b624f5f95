//! Memory an EFI caller hands the firmware: a pointer and a size the caller
//! claims. Before any of it becomes a Rust slice the claim is checked, so that
//! a garbage size gets the service's error status instead of undefined
//! behaviour inside the firmware:
//! - a NULL pointer with a non-zero size is refused (a zero size gives an empty
//!   slice whatever the pointer);
//! - the pointer is aligned for the element type;
//! - the bytes do not wrap past the end of the address space and are not more
//!   than one Rust object may hold (`isize::MAX`);
//! - while boot services run, the bytes lie below the top of the memory the
//!   firmware maps one to one ([`set_address_limit`]). After
//!   ExitBootServices the OS calls runtime services with its own mappings
//!   (x86_64 Linux passes direct-map addresses), so only the first three hold.
//!
//! UCS-2 strings are read here too, with a named limit, so that every service
//! stops a runaway scan at the same place.

use core::fmt;
use core::sync::atomic::{AtomicUsize, Ordering};

/// Why a caller's buffer was refused. Every service maps it to
/// EFI_INVALID_PARAMETER: the specification's status for "a pointer or size
/// that is not valid".
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BufferError {
    /// NULL with a non-zero size.
    Null,
    /// Not aligned for the element type.
    Misaligned {
        /// The address given.
        address: usize,
        /// The alignment the element type needs.
        align: usize,
    },
    /// `address + bytes` wraps or exceeds `isize::MAX` bytes.
    Overflow {
        /// The address given.
        address: usize,
        /// The size given in bytes.
        bytes: usize,
    },
    /// Ends above the memory the firmware maps.
    BeyondMemory {
        /// Where the buffer ends.
        end: usize,
        /// The end of the memory the firmware maps.
        limit: usize,
    },
    /// A string without its NUL within the limit.
    Unterminated {
        /// How many elements were searched.
        limit: usize,
    },
}

impl fmt::Display for BufferError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BufferError::Null => write!(f, "NULL buffer with a non-zero size"),
            BufferError::Misaligned { address, align } => {
                write!(f, "buffer at {address:#x} is not {align}-byte aligned")
            }
            BufferError::Overflow { address, bytes } => {
                write!(f, "{bytes:#x} bytes at {address:#x} run past the address space")
            }
            BufferError::BeyondMemory { end, limit } => {
                write!(f, "buffer ends at {end:#x}, above the firmware's memory ({limit:#x})")
            }
            BufferError::Unterminated { limit } => write!(f, "string has no NUL in its first {limit} characters"),
        }
    }
}

impl BufferError {
    /// The status services return for it.
    pub fn status(&self) -> r_efi::efi::Status {
        r_efi::efi::Status::INVALID_PARAMETER
    }
}

/// The end of the memory callers' buffers may lie in; `usize::MAX` until set,
/// and again after ExitBootServices.
static ADDRESS_LIMIT: AtomicUsize = AtomicUsize::new(usize::MAX);

/// Sets the top of the memory the firmware maps one to one (boot services).
pub fn set_address_limit(limit: usize) {
    ADDRESS_LIMIT.store(limit, Ordering::Relaxed);
}

/// Lifts the limit: after ExitBootServices the OS's mappings apply.
pub fn lift_address_limit() {
    ADDRESS_LIMIT.store(usize::MAX, Ordering::Relaxed);
}

/// Checks `bytes` bytes at `address` aligned to `align` against `limit`.
pub fn check(address: usize, bytes: usize, align: usize, limit: usize) -> Result<(), BufferError> {
    if bytes == 0 {
        return Ok(());
    }
    if address == 0 {
        return Err(BufferError::Null);
    }
    if align > 1 && !address.is_multiple_of(align) {
        return Err(BufferError::Misaligned { address, align });
    }
    let end = address
        .checked_add(bytes)
        .filter(|_| isize::try_from(bytes).is_ok())
        .ok_or(BufferError::Overflow { address, bytes })?;
    if end > limit {
        return Err(BufferError::BeyondMemory { end, limit });
    }
    Ok(())
}

/// Checks `count` elements of `T` at `ptr` against the current limit.
pub fn check_elements<T>(ptr: *const T, count: usize) -> Result<(), BufferError> {
    let address = ptr as usize;
    let bytes = count
        .checked_mul(core::mem::size_of::<T>())
        .ok_or(BufferError::Overflow {
            address,
            bytes: usize::MAX,
        })?;
    check(
        address,
        bytes,
        core::mem::align_of::<T>(),
        ADDRESS_LIMIT.load(Ordering::Relaxed),
    )
}

/// `count` elements at `ptr` as a slice, once the claim is checked.
///
/// # Safety
/// If the claim passes the checks, the caller of the EFI service promised that
/// the elements are readable and stay unchanged by others for `'a`.
pub unsafe fn slice<'a, T>(ptr: *const T, count: usize) -> Result<&'a [T], BufferError> {
    check_elements(ptr, count)?;
    if count == 0 {
        return Ok(&[]);
    }
    // SAFETY: non-NULL, aligned, no wrap, within isize::MAX bytes (checked);
    // readable by the caller's contract.
    Ok(unsafe { core::slice::from_raw_parts(ptr, count) })
}

/// `count` elements at `ptr` as a mutable slice, once the claim is checked.
///
/// # Safety
/// If the claim passes the checks, the caller of the EFI service promised that
/// the elements are writable and not used by anyone else for `'a`.
pub unsafe fn slice_mut<'a, T>(ptr: *mut T, count: usize) -> Result<&'a mut [T], BufferError> {
    check_elements(ptr, count)?;
    if count == 0 {
        return Ok(&mut []);
    }
    // SAFETY: as in `slice`; writable and unaliased by the caller's contract.
    Ok(unsafe { core::slice::from_raw_parts_mut(ptr, count) })
}

/// The longest UCS-2 string a service reads, in characters (without the NUL):
/// variable names, file names, console text and the like are far shorter, so
/// a longer one is taken as a missing NUL.
pub const MAX_STRING: usize = 64 * 1024;

/// A NUL-terminated UCS-2 string at `ptr`, without its NUL, read up to `limit`
/// characters. NULL is [`BufferError::Null`]; no NUL within `limit`
/// characters is [`BufferError::Unterminated`]; a pointer that is not 2-byte
/// aligned (UEFI 2.10 §2.3.1: data is naturally aligned) is
/// [`BufferError::Misaligned`].
///
/// # Safety
/// The caller of the EFI service promised a NUL-terminated string at `ptr`
/// (or up to `limit` readable characters).
pub unsafe fn ucs2_string<'a>(ptr: *const u16, limit: usize) -> Result<&'a [u16], BufferError> {
    if ptr.is_null() {
        return Err(BufferError::Null);
    }
    check(ptr as usize, 2, 2, usize::MAX)?;
    let mut len = 0;
    // SAFETY: the caller's contract: characters up to the NUL are readable;
    // the scan stops at `limit`.
    while unsafe { ptr.add(len).read() } != 0 {
        len += 1;
        if len > limit {
            return Err(BufferError::Unterminated { limit });
        }
    }
    // SAFETY: the string was just read up to its NUL.
    unsafe { slice(ptr, len) }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMIT: usize = 0x1_0000_0000;

    #[test]
    fn sizes_that_cannot_be_real_are_refused() {
        let ok = |address, bytes| check(address, bytes, 1, LIMIT);
        assert_eq!(ok(0x1000, 0x1000), Ok(()));
        assert_eq!(ok(0, 0), Ok(()));
        assert_eq!(ok(0x1000, 0), Ok(()));
        assert_eq!(ok(0, 1), Err(BufferError::Null));
        assert_eq!(
            ok(0x1000, usize::MAX),
            Err(BufferError::Overflow {
                address: 0x1000,
                bytes: usize::MAX
            })
        );
        let huge = isize::MAX as usize + 1;
        assert_eq!(
            ok(0x1000, huge),
            Err(BufferError::Overflow {
                address: 0x1000,
                bytes: huge
            })
        );
        assert_eq!(
            ok(0x1000, LIMIT),
            Err(BufferError::BeyondMemory {
                end: LIMIT + 0x1000,
                limit: LIMIT
            })
        );
        assert_eq!(ok(LIMIT - 1, 1), Ok(()));
        assert_eq!(
            check(0x1001, 8, 8, LIMIT),
            Err(BufferError::Misaligned {
                address: 0x1001,
                align: 8
            })
        );
        assert_eq!(check(0x1001, 3, 1, LIMIT), Ok(()));
    }

    #[test]
    fn element_counts_that_overflow_in_bytes_are_refused() {
        let ptr = 0x1000 as *const u64;
        assert!(matches!(
            check_elements(ptr, usize::MAX / 4),
            Err(BufferError::Overflow { .. })
        ));
        assert_eq!(check_elements(ptr, 4), Ok(()));
    }

    #[test]
    fn real_buffers_become_slices_and_empty_ones_need_no_pointer() {
        let mut data = [1u32, 2, 3];
        // SAFETY: a live array of three elements.
        unsafe {
            assert_eq!(slice(data.as_ptr(), 3), Ok(&[1u32, 2, 3][..]));
            assert_eq!(slice::<u32>(core::ptr::null(), 0), Ok(&[][..]));
            assert_eq!(slice::<u32>(core::ptr::null(), 1), Err(BufferError::Null));
            slice_mut(data.as_mut_ptr(), 3).unwrap()[1] = 7;
        }
        assert_eq!(data, [1, 7, 3]);
    }

    #[test]
    fn strings_stop_at_their_nul_or_the_limit() {
        let text = [0x48u16, 0x69, 0, 0x21];
        let long = [0x41u16; 8];
        // SAFETY: live arrays; `long` has no NUL, so the limit stops the scan
        // inside it.
        unsafe {
            assert_eq!(ucs2_string(text.as_ptr(), 16), Ok(&text[..2]));
            assert_eq!(ucs2_string(text[2..].as_ptr(), 16), Ok(&[][..]));
            assert_eq!(
                ucs2_string(long.as_ptr(), 4),
                Err(BufferError::Unterminated { limit: 4 })
            );
            assert_eq!(ucs2_string(core::ptr::null(), 4), Err(BufferError::Null));
        }
    }
}
