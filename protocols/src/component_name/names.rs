//! The names a driver gives out and the language rule (RFC 4646 tags).
#![forbid(unsafe_code)]

use alloc::vec::Vec;

/// SupportedLanguages: RFC 4646 codes, `;`-separated, NUL-terminated ASCII.
pub const LANGUAGES: &[u8] = b"en\0";

/// Longest Language string read from a caller, in bytes: RFC 4646 tags are far
/// shorter, so a longer one is not a tag this firmware knows.
pub const MAX_LANGUAGE: usize = 64;

/// Whether `language` (without its NUL) asks for English: `en`, or an `en-`
/// tag with a region or script (`en-US`), in any case (RFC 4646 tags are
/// case-insensitive). The names are plain English, good for every region.
pub fn is_english(language: &[u8]) -> bool {
    match language {
        [e, n] => e.eq_ignore_ascii_case(&b'e') && n.eq_ignore_ascii_case(&b'n'),
        [e, n, b'-', rest @ ..] => e.eq_ignore_ascii_case(&b'e') && n.eq_ignore_ascii_case(&b'n') && !rest.is_empty(),
        _ => false,
    }
}

/// A name as NUL-terminated UCS-2, as the protocol returns it.
pub fn ucs2(name: &str) -> Vec<u16> {
    name.encode_utf16().chain(core::iter::once(0)).collect()
}

/// The controllers one driver names: (controller, child) handle addresses and
/// the name. `child` is `None` for the controller itself.
#[derive(Default)]
pub struct ControllerNames {
    names: Vec<(usize, Option<usize>, &'static [u16])>,
}

impl ControllerNames {
    /// Records (or replaces) the name of `controller` or of its `child`. Names
    /// are leaked: a pointer GetControllerName gave out stays valid even after
    /// a name is replaced.
    pub fn set(&mut self, controller: usize, child: Option<usize>, name: &str) {
        let name: &'static [u16] = alloc::boxed::Box::leak(ucs2(name).into_boxed_slice());
        match self.names.iter_mut().find(|(c, k, _)| *c == controller && *k == child) {
            Some(entry) => entry.2 = name,
            None => self.names.push((controller, child, name)),
        }
    }

    /// The name of `controller` (`child` `None`) or of its `child`, NUL-terminated.
    pub fn get(&self, controller: usize, child: Option<usize>) -> Option<&'static [u16]> {
        self.names
            .iter()
            .find(|(c, k, _)| *c == controller && *k == child)
            .map(|(_, _, name)| *name)
    }

    /// Whether the driver manages `controller` (names it or one of its children).
    pub fn manages(&self, controller: usize) -> bool {
        self.names.iter().any(|(c, _, _)| *c == controller)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn english_tags_match_in_any_case_and_with_a_region() {
        for tag in [&b"en"[..], b"EN", b"en-US", b"en-gb", b"En-Latn-US"] {
            assert!(is_english(tag), "{tag:?}");
        }
        for tag in [&b""[..], b"e", b"eng", b"en-", b"fr", b"de-DE", b"enx"] {
            assert!(!is_english(tag), "{tag:?}");
        }
    }

    #[test]
    fn controller_and_child_names_are_kept_apart() {
        let mut names = ControllerNames::default();
        names.set(0x1000, None, "disk");
        names.set(0x1000, Some(0x2000), "partition 1");
        names.set(0x1000, Some(0x3000), "partition 2");
        assert_eq!(names.get(0x1000, None), Some(&ucs2("disk")[..]));
        assert_eq!(names.get(0x1000, Some(0x3000)), Some(&ucs2("partition 2")[..]));
        assert_eq!(names.get(0x2000, None), None);
        assert_eq!(names.get(0x1000, Some(0x4000)), None);
        assert!(names.manages(0x1000));
        assert!(!names.manages(0x2000));
        names.set(0x1000, None, "renamed");
        assert_eq!(names.get(0x1000, None), Some(&ucs2("renamed")[..]));
    }

    #[test]
    fn names_end_in_one_nul() {
        assert_eq!(ucs2("ab"), [u16::from(b'a'), u16::from(b'b'), 0]);
    }
}
