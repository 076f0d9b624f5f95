//! Boot counting in entry file names: Boot Loader Specification, "Boot
//! counting", and systemd's "Automatic Boot Assessment". A name such as
//! `NAME+LEFT-DONE.conf` or `NAME+LEFT.efi` carries the tries left and the
//! tries done; each boot attempt renames it to `NAME+(LEFT-1)-(DONE+1)`.
#![forbid(unsafe_code)]

use alloc::format;
use alloc::string::String;

/// The file name suffix of Type #1 entries.
pub const TYPE1_SUFFIX: &str = ".conf";
/// The file name suffix of Type #2 unified kernel images.
pub const TYPE2_SUFFIX: &str = ".efi";

/// Counters above this are not counters (systemd-boot refuses > `INT_MAX`).
const MAX_COUNT: u32 = i32::MAX as u32;

/// The boot counter of an entry that has boot counting enabled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BootCounter {
    /// Attempts still to be made; 0 means the entry is "bad".
    pub tries_left: u32,
    /// Failed attempts made so far (0 when the name has no `-DONE`).
    pub tries_done: u32,
}

impl BootCounter {
    /// No tries left: the entry is "bad" and sorts after all others.
    pub fn is_bad(&self) -> bool {
        self.tries_left == 0
    }
}

/// A file name split into its parts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CountedName<'a> {
    /// The name before the counter (or before the suffix if there is none).
    pub stem: &'a str,
    /// The boot counter, if the name has a valid one.
    pub counter: Option<BootCounter>,
    /// The suffix as spelled in the name (matched case-insensitively).
    pub suffix: &'a str,
}

impl CountedName<'_> {
    /// The entry id: the name without the counter, suffix kept, in lower case
    /// (systemd-boot folds case; FAT names are case-insensitive anyway).
    pub fn id(&self) -> String {
        let mut id = String::with_capacity(self.stem.len() + self.suffix.len());
        id.push_str(self.stem);
        id.push_str(self.suffix);
        id.make_ascii_lowercase();
        id
    }
}

/// Splits `file_name` into stem, counter and `suffix` (`.conf` or `.efi`,
/// any case). `None` if the name does not end with `suffix`.
///
/// The counter is what follows the last `+`: digits, optionally `-` and
/// digits, then the suffix right away. Anything else there means the name has
/// no counter and the `+` is part of the stem.
pub fn split_name<'a>(file_name: &'a str, suffix: &str) -> Option<CountedName<'a>> {
    let base_len = file_name.len().checked_sub(suffix.len())?;
    let (base, found_suffix) = (file_name.get(..base_len)?, file_name.get(base_len..)?);
    if !found_suffix.eq_ignore_ascii_case(suffix) {
        return None;
    }
    let parsed = base.rfind('+').and_then(|plus| {
        let counter = parse_counter(base.get(plus + 1..)?)?;
        Some((base.get(..plus)?, counter))
    });
    Some(match parsed {
        Some((stem, counter)) => CountedName {
            stem,
            counter: Some(counter),
            suffix: found_suffix,
        },
        None => CountedName {
            stem: base,
            counter: None,
            suffix: found_suffix,
        },
    })
}

/// Splits a Type #1 (`.conf`) or Type #2 (`.efi`) file name.
pub fn split_entry_name(file_name: &str) -> Option<CountedName<'_>> {
    split_name(file_name, TYPE1_SUFFIX).or_else(|| split_name(file_name, TYPE2_SUFFIX))
}

/// `LEFT` or `LEFT-DONE`.
fn parse_counter(text: &str) -> Option<BootCounter> {
    let (left, done) = match text.split_once('-') {
        Some((left, done)) => (left, Some(done)),
        None => (text, None),
    };
    let tries_left = parse_count(left)?;
    let tries_done = match done {
        Some(done) => parse_count(done)?,
        None => 0,
    };
    Some(BootCounter { tries_left, tries_done })
}

fn parse_count(digits: &str) -> Option<u32> {
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let value: u32 = digits.parse().ok()?;
    (value <= MAX_COUNT).then_some(value)
}

/// The name the entry file gets when the boot loader starts one attempt to
/// boot it: tries left one less, tries done one more (`a+3.conf` ->
/// `a+2-1.conf`). `None` when the file is not renamed: no counter, or no
/// tries left (`+0-N` entries are "bad" and keep their name).
pub fn renamed_after_attempt(file_name: &str) -> Option<String> {
    let name = split_entry_name(file_name)?;
    let counter = name.counter?;
    if counter.is_bad() {
        return None;
    }
    let left = counter.tries_left - 1;
    let done = counter.tries_done.saturating_add(1).min(MAX_COUNT);
    Some(format!("{}+{left}-{done}{}", name.stem, name.suffix))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counter(tries_left: u32, tries_done: u32) -> Option<BootCounter> {
        Some(BootCounter { tries_left, tries_done })
    }

    #[test]
    fn parses_left_and_done_counters() {
        let name = split_name("a+3.conf", ".conf").unwrap();
        assert_eq!((name.stem, name.counter), ("a", counter(3, 0)));
        let name = split_name("6.1.0-9+2-1.conf", ".conf").unwrap();
        assert_eq!((name.stem, name.counter), ("6.1.0-9", counter(2, 1)));
        assert_eq!(name.id(), "6.1.0-9.conf");
        let name = split_name("Debian+0-3.EFI", ".efi").unwrap();
        assert_eq!(
            (name.stem, name.counter, name.id().as_str()),
            ("Debian", counter(0, 3), "debian.efi")
        );
    }

    #[test]
    fn names_without_a_valid_counter_have_none() {
        for file in [
            "a.conf",
            "a+.conf",
            "a+x.conf",
            "a+3-.conf",
            "a+-1.conf",
            "a+3-1-2.conf",
            "a+3x.conf",
            "a+99999999999.conf",
            "c++.conf",
        ] {
            let name = split_name(file, ".conf").unwrap();
            assert_eq!(name.counter, None, "{file}");
            assert_eq!(name.stem, file.strip_suffix(".conf").unwrap());
        }
        assert_eq!(split_name("a+3.conf.bak", ".conf"), None);
        // A counter in the middle of the name is not one.
        assert_eq!(split_name("a+3-x.conf", ".conf").unwrap().counter, None);
    }

    #[test]
    fn renames_after_each_attempt_like_systemd_boot() {
        assert_eq!(renamed_after_attempt("a+3.conf").as_deref(), Some("a+2-1.conf"));
        assert_eq!(renamed_after_attempt("a+2-1.conf").as_deref(), Some("a+1-2.conf"));
        assert_eq!(renamed_after_attempt("a+1-2.conf").as_deref(), Some("a+0-3.conf"));
        assert_eq!(renamed_after_attempt("uki+4-0.efi").as_deref(), Some("uki+3-1.efi"));
    }

    #[test]
    fn bad_and_uncounted_entries_keep_their_name() {
        assert_eq!(renamed_after_attempt("a+0-3.conf"), None);
        assert_eq!(renamed_after_attempt("a+0.conf"), None);
        assert_eq!(renamed_after_attempt("a.conf"), None);
        assert_eq!(renamed_after_attempt("a+3.txt"), None);
    }
}
