//! The rules behind EFI_UNICODE_COLLATION2_PROTOCOL (UEFI 2.10 §19.2) for the
//! language "en": case folding of ASCII and Latin-1 letters, case-insensitive
//! comparison, pattern matching with `*`, `?` and `[...]` sets, and conversion
//! between UCS-2 names and 8.3 FAT names in an OEM character set (taken to be
//! Latin-1 in the upper half, which FatToStr maps one to one).
//!
//! Strings are slices of UCS-2 units without their terminating NUL.
#![forbid(unsafe_code)]

use core::cmp::Ordering;

/// What StrToFat puts where a character has no FAT equivalent (§19.2.7).
pub const SUBSTITUTE: u8 = b'_';

/// The upper-case form of `c`: ASCII `a`-`z` and Latin-1 `à`-`þ` (except `÷`).
pub fn to_upper(c: u16) -> u16 {
    match c {
        0x61..=0x7a => c - 0x20,
        0xe0..=0xfe if c != 0xf7 => c - 0x20,
        _ => c,
    }
}

/// The lower-case form of `c`: ASCII `A`-`Z` and Latin-1 `À`-`Þ` (except `×`).
pub fn to_lower(c: u16) -> u16 {
    match c {
        0x41..=0x5a => c + 0x20,
        0xc0..=0xde if c != 0xd7 => c + 0x20,
        _ => c,
    }
}

/// StriColl: compares without regard to case; `Less` when `a` sorts first.
pub fn stri_coll(a: &[u16], b: &[u16]) -> Ordering {
    a.iter().map(|&c| to_upper(c)).cmp(b.iter().map(|&c| to_upper(c)))
}

/// One pattern element that consumes exactly one character.
enum Single<'p> {
    Any,
    Char(u16),
    /// The units between `[` and `]`.
    Set(&'p [u16]),
}

/// Splits off the pattern's first element; `None` in the first place means
/// `*`. A `[` without its `]` can match nothing.
fn next_element(pattern: &[u16]) -> Option<(Option<Single<'_>>, &[u16])> {
    let (&first, rest) = pattern.split_first()?;
    Some(match first {
        0x2a => (None, rest),
        0x3f => (Some(Single::Any), rest),
        0x5b => match rest.iter().position(|&c| c == 0x5d) {
            Some(end) => (Some(Single::Set(&rest[..end])), &rest[end + 1..]),
            // An unterminated set: nothing matches it.
            None => (Some(Single::Set(&[])), &[]),
        },
        c => (Some(Single::Char(c)), rest),
    })
}

/// Whether `c` is in a set such as `abc` or `a-z0-9` (without case).
fn in_set(set: &[u16], c: u16) -> bool {
    let c = to_upper(c);
    let mut i = 0;
    while i < set.len() {
        let low = to_upper(set[i]);
        if i + 2 < set.len() && set[i + 1] == u16::from(b'-') {
            let high = to_upper(set[i + 2]);
            if (low..=high).contains(&c) {
                return true;
            }
            i += 3;
        } else {
            if low == c {
                return true;
            }
            i += 1;
        }
    }
    false
}

fn matches_one(element: &Single<'_>, c: u16) -> bool {
    match element {
        Single::Any => true,
        Single::Char(p) => to_upper(*p) == to_upper(c),
        Single::Set(set) => in_set(set, c),
    }
}

/// MetaiMatch: whether all of `string` matches `pattern` without regard to
/// case. `*` matches any run (also none), `?` any one character, `[chars]`
/// one of the characters or ranges (`[a-z]`) listed.
///
/// Every element but `*` consumes one character, so on a mismatch it is
/// enough to let the most recent `*` swallow one more character: the time is
/// bounded by the product of the lengths, whatever the pattern.
pub fn metai_match(string: &[u16], pattern: &[u16]) -> bool {
    let mut s = 0;
    let mut p = pattern;
    // The pattern after the last `*` and where in `string` that try began.
    let mut star: Option<(&[u16], usize)> = None;
    loop {
        match next_element(p) {
            Some((None, rest)) => {
                star = Some((rest, s));
                p = rest;
                continue;
            }
            Some((Some(element), rest)) if s < string.len() && matches_one(&element, string[s]) => {
                s += 1;
                p = rest;
                continue;
            }
            None if s == string.len() => return true,
            _ => {}
        }
        match star {
            Some((after, from)) if from < string.len() => {
                star = Some((after, from + 1));
                s = from + 1;
                p = after;
            }
            _ => return false,
        }
    }
}

/// StrLwr in place.
pub fn str_lwr(s: &mut [u16]) {
    s.iter_mut().for_each(|c| *c = to_lower(*c));
}

/// StrUpr in place.
pub fn str_upr(s: &mut [u16]) {
    s.iter_mut().for_each(|c| *c = to_upper(*c));
}

/// FatToStr: the OEM bytes of a FAT name, up to its first NUL, as UCS-2.
pub fn fat_to_str(fat: &[u8]) -> impl Iterator<Item = u16> + '_ {
    fat.iter().take_while(|&&b| b != 0).map(|&b| u16::from(b))
}

/// Whether `c` may stand in an 8.3 name as it is, once upper-cased (FAT
/// specification, "short name" characters: letters, digits and
/// `$ % ' - _ @ ~ ` ! ( ) { } ^ # &`).
fn is_fat_char(c: u16) -> bool {
    match u8::try_from(c) {
        Ok(b) => b.is_ascii_alphanumeric() || b"$%'-_@~`!(){}^#&".contains(&b),
        Err(_) => false,
    }
}

/// StrToFat: fills `fat` from `string`, upper-cased, leaving out `.` and
/// space, with [`SUBSTITUTE`] for each character an 8.3 name cannot hold.
/// Returns how many bytes were written and whether any was substituted
/// (then the name needs a long-name entry, as §19.2.7 says).
pub fn str_to_fat(string: &[u16], fat: &mut [u8]) -> (usize, bool) {
    let mut written = 0;
    let mut substituted = false;
    for &c in string.iter().filter(|&&c| c != u16::from(b'.') && c != u16::from(b' ')) {
        if written == fat.len() {
            break;
        }
        let upper = to_upper(c);
        fat[written] = if is_fat_char(upper) {
            upper as u8
        } else {
            substituted = true;
            SUBSTITUTE
        };
        written += 1;
    }
    (written, substituted)
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec::Vec;

    fn u(s: &str) -> Vec<u16> {
        s.encode_utf16().collect()
    }

    fn matches(s: &str, p: &str) -> bool {
        metai_match(&u(s), &u(p))
    }

    #[test]
    fn compares_without_regard_to_case() {
        assert_eq!(stri_coll(&u("Kernel.EFI"), &u("kernel.efi")), Ordering::Equal);
        assert_eq!(stri_coll(&u("abc"), &u("ABD")), Ordering::Less);
        assert_eq!(stri_coll(&u("abd"), &u("ABC")), Ordering::Greater);
        assert_eq!(stri_coll(&u("ab"), &u("ABC")), Ordering::Less);
        assert_eq!(stri_coll(&u(""), &u("")), Ordering::Equal);
        assert_eq!(stri_coll(&u("ÉTÉ"), &u("été")), Ordering::Equal);
    }

    #[test]
    fn star_matches_any_run_including_none() {
        assert!(matches("vmlinuz-6.1.0", "vmlinuz*"));
        assert!(matches("vmlinuz", "vmlinuz*"));
        assert!(matches("BOOTX64.EFI", "*.efi"));
        assert!(matches("a.b.c", "*.*"));
        assert!(matches("", "*"));
        assert!(matches("abcabd", "*abd"));
        assert!(!matches("abcabc", "*abd"));
        assert!(matches("xaaay", "x**a*y"));
    }

    #[test]
    fn question_mark_matches_exactly_one_character() {
        assert!(matches("BOOTX64.EFI", "BOOT???.EFI"));
        assert!(!matches("BOOTAA64X.EFI", "BOOT???.EFI"));
        assert!(!matches("", "?"));
    }

    #[test]
    fn sets_match_listed_characters_and_ranges() {
        assert!(matches("file7", "file[0-9]"));
        assert!(matches("fileQ", "file[a-z]"));
        assert!(matches("b", "[abc]"));
        assert!(!matches("d", "[abc]"));
        assert!(matches("-", "[a-]"));
        assert!(!matches("x", "[a-c]"));
        // An unterminated set matches nothing.
        assert!(!matches("a", "[a"));
    }

    #[test]
    fn plain_characters_match_without_regard_to_case() {
        assert!(matches("Grub.CFG", "grub.cfg"));
        assert!(!matches("grub.cfg", "grub.cf"));
        assert!(!matches("grub.c", "grub.cfg"));
    }

    #[test]
    fn long_star_patterns_stay_fast() {
        let string = u(&"a".repeat(2000));
        let pattern = u(&"*a".repeat(500).replace("*a*a", "*a*b"));
        assert!(!metai_match(&string, &pattern));
    }

    #[test]
    fn folds_ascii_and_latin1_letters() {
        let mut s = u("Hello, Wörld! ÷×");
        str_upr(&mut s);
        assert_eq!(s, u("HELLO, WÖRLD! ÷×"));
        str_lwr(&mut s);
        assert_eq!(s, u("hello, wörld! ÷×"));
    }

    #[test]
    fn fat_names_become_ucs2_up_to_their_nul() {
        let text: Vec<u16> = fat_to_str(b"README  TXT").collect();
        assert_eq!(text, u("README  TXT"));
        let text: Vec<u16> = fat_to_str(b"AB\0CD").collect();
        assert_eq!(text, u("AB"));
        let text: Vec<u16> = fat_to_str(&[0xc9]).collect();
        assert_eq!(text, u("É"));
    }

    #[test]
    fn legal_names_convert_without_substitution() {
        let mut fat = [0u8; 11];
        assert_eq!(str_to_fat(&u("readme.txt"), &mut fat), (9, false));
        assert_eq!(&fat[..9], b"READMETXT");
        // Bytes past the converted ones are left alone (a caller's space padding).
        assert_eq!(&fat[9..], &[0, 0]);
    }

    #[test]
    fn illegal_characters_are_substituted_and_reported() {
        let mut fat = [0u8; 8];
        assert_eq!(str_to_fat(&u("a+b[c]"), &mut fat), (6, true));
        assert_eq!(&fat[..6], b"A_B_C_");
        let mut fat = [0u8; 4];
        assert_eq!(str_to_fat(&u("Δx"), &mut fat), (2, true));
        assert_eq!(&fat[..2], b"_X");
    }

    #[test]
    fn conversion_stops_at_the_fat_size() {
        let mut fat = [0u8; 3];
        assert_eq!(str_to_fat(&u("abcdef"), &mut fat), (3, false));
        assert_eq!(&fat, b"ABC");
        // A substitution beyond the size is not seen.
        assert_eq!(str_to_fat(&u("abc+"), &mut fat), (3, false));
    }
}
