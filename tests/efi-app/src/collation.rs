//! EFI_UNICODE_COLLATION2_PROTOCOL (UEFI 2.10 §19.2), found the way a shell
//! finds it: by protocol, on a handle of its own, offering "en". The check
//! compares, matches and folds names and converts them to and from 8.3 form.

use crate::app::{find_protocol, ok};
use uefi_raw::protocol::string::UnicodeCollationProtocol;
use uefi_raw::table::boot::BootServices;
use uefi_raw::Guid;

/// A NUL-terminated UCS-2 copy of `s` (ASCII only).
fn ucs2<const N: usize>(s: &str) -> [u16; N] {
    let mut out = [0u16; N];
    for (i, b) in s.bytes().enumerate() {
        out[i] = u16::from(b);
    }
    out
}

pub(crate) unsafe fn check(bs: &BootServices) -> Result<(), &'static str> {
    // SAFETY: boot services and the protocol called as the specification describes.
    unsafe {
        let (handle, interface) = find_protocol(bs, &UnicodeCollationProtocol::GUID)?;
        let mut guids: *mut *const Guid = core::ptr::null_mut();
        let mut count = 0usize;
        ok(
            (bs.protocols_per_handle)(handle, &mut guids, &mut count),
            "ProtocolsPerHandle",
        )?;
        let _ = (bs.free_pool)(guids.cast::<u8>());
        if count != 1 {
            return Err("Unicode Collation 2 does not sit on a handle of its own");
        }
        let uc = interface as *const UnicodeCollationProtocol;
        if core::ffi::CStr::from_ptr((*uc).supported_languages.cast()).to_bytes() != b"en" {
            return Err("SupportedLanguages is not \"en\"");
        }

        let (a, b) = (ucs2::<16>("Grub.CFG"), ucs2::<16>("grub.cfg"));
        if ((*uc).stri_coll)(uc, a.as_ptr(), b.as_ptr()) != 0 {
            return Err("StriColl: Grub.CFG differs from grub.cfg");
        }
        let (a, b) = (ucs2::<16>("ALPHA"), ucs2::<16>("beta"));
        if ((*uc).stri_coll)(uc, a.as_ptr(), b.as_ptr()) >= 0 || ((*uc).stri_coll)(uc, b.as_ptr(), a.as_ptr()) <= 0 {
            return Err("StriColl: ALPHA does not sort before beta");
        }

        let name = ucs2::<16>("BOOTX64.EFI");
        for (pattern, expected) in [
            ("boot*.efi", true),
            ("BOOT???.EFI", true),
            ("[a-c]oot*", true),
            ("*.[e]f[h-j]", true),
            ("boot?.efi", false),
            ("[c-z]*", false),
        ] {
            let p = ucs2::<16>(pattern);
            if bool::from(((*uc).metai_match)(uc, name.as_ptr(), p.as_ptr())) != expected {
                return Err(if expected {
                    "MetaiMatch: a matching pattern did not match"
                } else {
                    "MetaiMatch: a pattern matched that must not"
                });
            }
        }

        let mut s = ucs2::<16>("MiXeD Case 42");
        ((*uc).str_lwr)(uc, s.as_mut_ptr());
        if s != ucs2::<16>("mixed case 42") {
            return Err("StrLwr");
        }
        ((*uc).str_upr)(uc, s.as_mut_ptr());
        if s != ucs2::<16>("MIXED CASE 42") {
            return Err("StrUpr");
        }

        let mut text = [0xffffu16; 12];
        ((*uc).fat_to_str)(uc, 11, b"KERNEL  EFI".as_ptr(), text.as_mut_ptr());
        if text != ucs2::<12>("KERNEL  EFI") {
            return Err("FatToStr");
        }
        let mut fat = *b"           ";
        let plain = ucs2::<16>("readme.txt");
        if bool::from(((*uc).str_to_fat)(uc, plain.as_ptr(), 11, fat.as_mut_ptr())) || &fat != b"READMETXT  " {
            return Err("StrToFat of a legal name");
        }
        let mut fat = *b"           ";
        let odd = ucs2::<16>("a+b.c");
        if !bool::from(((*uc).str_to_fat)(uc, odd.as_ptr(), 11, fat.as_mut_ptr())) || &fat != b"A_BC       " {
            return Err("StrToFat: a substitution was not reported (TRUE) or not made");
        }
        Ok(())
    }
}
