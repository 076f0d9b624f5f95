//! The ABI edge of EFI_UNICODE_COLLATION2_PROTOCOL (UEFI 2.10 §19.2). r-efi
//! has no binding for it, so the struct is declared here as §19.2 lays it out.
//!
//! The functions return no status, so misuse has nowhere to be reported: a
//! NULL string reads as empty and a NULL output is left unwritten.
#![deny(unsafe_op_in_unsafe_fn)]

use super::collate;
use core::cmp::Ordering;
use r_efi::efi::{Boolean, Guid};

/// EFI_UNICODE_COLLATION_PROTOCOL2_GUID.
pub const PROTOCOL_GUID: Guid = Guid::from_fields(
    0xa4c751fc,
    0x23ae,
    0x4c3e,
    0x92,
    0xe9,
    &[0x49, 0x64, 0xcf, 0x63, 0xf3, 0x49],
);

/// SupportedLanguages: RFC 4646 codes, NUL-terminated ASCII.
static LANGUAGES: &[u8] = b"en\0";

/// The longest string the functions read, in UCS-2 units: a string whose
/// NUL lies further is taken to end here rather than read without bound.
const MAX_STRING: usize = 1 << 20;

/// EFI_UNICODE_COLLATION_PROTOCOL.
#[repr(C)]
pub struct Protocol {
    /// StriColl: compares two strings without regard to case.
    pub stri_coll: extern "efiapi" fn(*mut Protocol, *const u16, *const u16) -> isize,
    /// MetaiMatch: matches a string against a pattern with `*`, `?` and `[...]`, without regard to case.
    pub metai_match: extern "efiapi" fn(*mut Protocol, *const u16, *const u16) -> Boolean,
    /// StrLwr: lower-cases a string in place.
    pub str_lwr: extern "efiapi" fn(*mut Protocol, *mut u16),
    /// StrUpr: upper-cases a string in place.
    pub str_upr: extern "efiapi" fn(*mut Protocol, *mut u16),
    /// FatToStr: an OEM (FAT 8.3) name as a string.
    pub fat_to_str: extern "efiapi" fn(*mut Protocol, usize, *const u8, *mut u16),
    /// StrToFat: a string as an OEM (FAT 8.3) name; whether characters were replaced.
    pub str_to_fat: extern "efiapi" fn(*mut Protocol, *const u16, usize, *mut u8) -> Boolean,
    /// The languages supported, as an RFC 4646 list (`en`).
    pub supported_languages: *const u8,
}

// SAFETY: the struct is immutable; its pointer names a static string.
unsafe impl Sync for Protocol {}

static PROTOCOL: Protocol = Protocol {
    stri_coll,
    metai_match,
    str_lwr,
    str_upr,
    fat_to_str,
    str_to_fat,
    supported_languages: LANGUAGES.as_ptr(),
};

/// The one instance, to install (applications only read it).
pub fn protocol() -> *mut Protocol {
    core::ptr::from_ref::<Protocol>(&PROTOCOL).cast_mut()
}

/// The units of a NUL-terminated string, without the NUL.
///
/// # Safety
/// `s` is null or readable up to its NUL (or [`MAX_STRING`] units).
unsafe fn string<'a>(s: *const u16) -> &'a [u16] {
    if s.is_null() {
        return &[];
    }
    let mut len = 0;
    // SAFETY: the caller's contract: units up to the NUL are readable.
    while len < MAX_STRING && unsafe { s.add(len).read_unaligned() } != 0 {
        len += 1;
    }
    // SAFETY: the `len` units before the NUL were just read.
    unsafe { core::slice::from_raw_parts(s, len) }
}

/// # Safety
/// As [`string`], and the units are writable.
unsafe fn string_mut<'a>(s: *mut u16) -> &'a mut [u16] {
    // SAFETY: the caller's contract.
    let len = unsafe { string(s) }.len();
    if len == 0 {
        return &mut [];
    }
    // SAFETY: the caller's contract: the `len` units are the caller's string.
    unsafe { core::slice::from_raw_parts_mut(s, len) }
}

fn boolean(b: bool) -> Boolean {
    if b {
        Boolean::TRUE
    } else {
        Boolean::FALSE
    }
}

// The spec's pointer contract (§19.2): strings are NUL-terminated and the
// output buffers as large as the function's description says.

extern "efiapi" fn stri_coll(_this: *mut Protocol, s1: *const u16, s2: *const u16) -> isize {
    // SAFETY: the caller's strings.
    let (a, b) = unsafe { (string(s1), string(s2)) };
    match collate::stri_coll(a, b) {
        Ordering::Less => -1,
        Ordering::Equal => 0,
        Ordering::Greater => 1,
    }
}

extern "efiapi" fn metai_match(_this: *mut Protocol, s: *const u16, pattern: *const u16) -> Boolean {
    // SAFETY: the caller's strings.
    let (s, pattern) = unsafe { (string(s), string(pattern)) };
    boolean(collate::metai_match(s, pattern))
}

extern "efiapi" fn str_lwr(_this: *mut Protocol, s: *mut u16) {
    // SAFETY: the caller's writable string.
    collate::str_lwr(unsafe { string_mut(s) });
}

extern "efiapi" fn str_upr(_this: *mut Protocol, s: *mut u16) {
    // SAFETY: the caller's writable string.
    collate::str_upr(unsafe { string_mut(s) });
}

/// `string` holds the converted characters and a NUL: up to `fat_size + 1`
/// units, as edk2 and U-Boot write them.
extern "efiapi" fn fat_to_str(_this: *mut Protocol, fat_size: usize, fat: *const u8, out: *mut u16) {
    if out.is_null() {
        return;
    }
    let fat: &[u8] = if fat.is_null() {
        &[]
    } else {
        // SAFETY: the caller gives `fat_size` readable bytes.
        unsafe { core::slice::from_raw_parts(fat, fat_size) }
    };
    let mut written = 0;
    for unit in collate::fat_to_str(fat) {
        // SAFETY: the caller's buffer holds a unit per FAT byte and the NUL.
        unsafe { out.add(written).write_unaligned(unit) };
        written += 1;
    }
    // SAFETY: as above.
    unsafe { out.add(written).write_unaligned(0) };
}

/// Writes only the converted bytes: a caller that filled `fat` with spaces
/// keeps its 8.3 padding.
extern "efiapi" fn str_to_fat(_this: *mut Protocol, s: *const u16, fat_size: usize, fat: *mut u8) -> Boolean {
    if fat.is_null() {
        return Boolean::FALSE;
    }
    // SAFETY: the caller's string, and `fat_size` writable bytes at `fat`.
    let (s, fat) = unsafe { (string(s), core::slice::from_raw_parts_mut(fat, fat_size)) };
    boolean(collate::str_to_fat(s, fat).1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec::Vec;

    fn z(s: &str) -> Vec<u16> {
        s.encode_utf16().chain([0]).collect()
    }

    #[test]
    fn the_functions_work_on_nul_terminated_strings() {
        let p = protocol();
        assert_eq!(stri_coll(p, z("Abc").as_ptr(), z("aBC").as_ptr()), 0);
        assert!(stri_coll(p, z("a").as_ptr(), z("b").as_ptr()) < 0);
        assert!(bool::from(metai_match(
            p,
            z("BOOTX64.EFI").as_ptr(),
            z("boot*.[e]fi").as_ptr()
        )));
        let mut s = z("MiXeD");
        str_lwr(p, s.as_mut_ptr());
        assert_eq!(s, z("mixed"));
        str_upr(p, s.as_mut_ptr());
        assert_eq!(s, z("MIXED"));
        let mut out = [0xffffu16; 12];
        fat_to_str(p, 11, b"KERNEL  EFI".as_ptr(), out.as_mut_ptr());
        assert_eq!(out.to_vec(), z("KERNEL  EFI"));
        let mut fat = *b"        ";
        assert!(!bool::from(str_to_fat(p, z("a.b").as_ptr(), 8, fat.as_mut_ptr())));
        assert_eq!(&fat, b"AB      ");
        assert!(bool::from(str_to_fat(p, z("a*b").as_ptr(), 8, fat.as_mut_ptr())));
        assert_eq!(&fat, b"A_B     ");
    }

    #[test]
    fn null_pointers_read_as_empty_and_are_not_written() {
        let p = protocol();
        assert_eq!(stri_coll(p, core::ptr::null(), z("").as_ptr()), 0);
        assert!(bool::from(metai_match(p, core::ptr::null(), z("*").as_ptr())));
        str_lwr(p, core::ptr::null_mut());
        fat_to_str(p, 11, core::ptr::null(), core::ptr::null_mut());
        assert!(!bool::from(str_to_fat(p, z("x").as_ptr(), 8, core::ptr::null_mut())));
    }
}
