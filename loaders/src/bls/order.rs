//! The order of the boot menu and its default entry: Boot Loader
//! Specification, "Sorting" (with "Alphanumerical Order" and "Version
//! Order"), and loader.conf(5)'s `default`.
#![forbid(unsafe_code)]

use super::boot_entry::{BootEntry, Skipped};
use super::glob::glob_matches;
use super::uki::UkiSections;
use super::version::compare_versions;
use alloc::string::ToString;
use alloc::vec::Vec;
use core::cmp::Ordering;

/// A file from [`super::TYPE1_DIR`].
#[derive(Debug, Clone, Copy)]
pub struct Type1File<'a> {
    /// The file's name in the directory.
    pub file_name: &'a str,
    /// The file's bytes.
    pub contents: &'a [u8],
}

/// A unified kernel image from [`super::TYPE2_DIR`] with its sections.
#[derive(Debug, Clone, Copy)]
pub struct UkiFile<'a> {
    /// The image's name in the directory.
    pub file_name: &'a str,
    /// What was read from its sections.
    pub sections: UkiSections<'a>,
}

/// The boot menu: entries in display order, the default, and what was left
/// out and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Menu {
    /// The entries that made it into the menu, in display order.
    pub entries: Vec<BootEntry>,
    /// Index into `entries`; `None` only when there are no entries.
    pub default: Option<usize>,
    /// Files that did not become entries, and why.
    pub skipped: Vec<Skipped>,
}

/// Builds the menu from the files of both directories: parses them, drops
/// what is invalid or for another architecture, sorts, and picks the default
/// with `default_pattern` (`loader.conf`'s `default`, already lower case).
pub fn build_menu(
    type1: &[Type1File<'_>],
    ukis: &[UkiFile<'_>],
    local_architecture: &str,
    default_pattern: Option<&str>,
) -> Menu {
    let mut entries = Vec::new();
    let mut skipped = Vec::new();
    let mut keep = |file: &str, result| match result {
        Ok(entry) => entries.push(entry),
        Err(reason) => skipped.push(Skipped {
            file: file.to_string(),
            reason,
        }),
    };
    for file in type1 {
        keep(
            file.file_name,
            BootEntry::from_type1(file.file_name, file.contents, local_architecture),
        );
    }
    for file in ukis {
        keep(file.file_name, BootEntry::from_uki(file.file_name, &file.sections));
    }
    sort_entries(&mut entries);
    let default = select_default(&entries, default_pattern);
    Menu {
        entries,
        default,
        skipped,
    }
}

/// Sorts entries into menu order (see [`compare_entries`]).
pub fn sort_entries(entries: &mut [BootEntry]) {
    entries.sort_by(compare_entries);
}

/// The menu order, best first. The specification's rules, in order:
///
/// 1. Entries that boot counting marks "bad" (no tries left) go after all
///    others.
/// 2. If both have a `sort-key`: by `sort-key` ascending, then `machine-id`
///    ascending (both compared like strcmp(3); unset or empty sorts first),
///    then `version` descending (newest first) by the version comparison.
/// 3. If only one has a `sort-key`, it goes first.
/// 4. Then (or when neither has a `sort-key`) by file name without suffix,
///    descending by the version comparison: `debian-6.1.0-10` before
///    `debian-6.1.0-9`.
///
/// Entries still equal (the same name with different boot counters) follow
/// systemd-boot: more tries left first, then fewer tries done. Last of all the
/// raw file names, so the order never depends on directory order.
pub fn compare_entries(a: &BootEntry, b: &BootEntry) -> Ordering {
    a.is_bad()
        .cmp(&b.is_bad())
        .then_with(|| match (&a.sort_key, &b.sort_key) {
            (Some(key_a), Some(key_b)) => compare_alphanumerical(Some(key_a), Some(key_b))
                .then_with(|| compare_alphanumerical(a.machine_id.as_deref(), b.machine_id.as_deref()))
                .then_with(|| {
                    let version = |e: &BootEntry| e.version.clone().unwrap_or_default();
                    compare_versions(&version(a), &version(b)).reverse()
                }),
            (Some(_), None) => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            (None, None) => Ordering::Equal,
        })
        .then_with(|| compare_versions(a.id_without_suffix(), b.id_without_suffix()).reverse())
        .then_with(|| match (a.counter, b.counter) {
            (Some(ca), Some(cb)) => cb
                .tries_left
                .cmp(&ca.tries_left)
                .then(ca.tries_done.cmp(&cb.tries_done)),
            _ => Ordering::Equal,
        })
        .then_with(|| a.file_name.cmp(&b.file_name))
}

/// The spec's "Alphanumerical Order": strcmp(3) on the UTF-8 bytes, and an
/// unset or empty string compares lower than any other.
fn compare_alphanumerical(a: Option<&str>, b: Option<&str>) -> Ordering {
    let a = a.unwrap_or_default();
    let b = b.unwrap_or_default();
    a.as_bytes().cmp(b.as_bytes())
}

/// The default entry: the first (in menu order) whose id matches `pattern`
/// (compared in lower case; ids are lower case already), else the first
/// entry. An id also matches without its suffix, so `default debian-*.conf`
/// and `default debian-6.1.0-9` both work.
pub fn select_default(entries: &[BootEntry], pattern: Option<&str>) -> Option<usize> {
    if entries.is_empty() {
        return None;
    }
    let matching = pattern.and_then(|pattern| {
        let pattern = pattern.to_ascii_lowercase();
        entries
            .iter()
            .position(|e| glob_matches(&pattern, &e.id) || glob_matches(&pattern, e.id_without_suffix()))
    });
    Some(matching.unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use super::super::boot_entry::SkipReason;
    use super::*;
    use alloc::string::String;
    use alloc::vec;

    fn entry(file_name: &str, keys: &str) -> BootEntry {
        let text = alloc::format!("linux /vmlinuz\n{keys}");
        BootEntry::from_type1(file_name, text.as_bytes(), "x64").unwrap()
    }

    fn ids(entries: &[BootEntry]) -> Vec<&str> {
        entries.iter().map(|e| e.id.as_str()).collect()
    }

    const DEBIAN_ID: &str = "machine-id 1111aaaa1111aaaa1111aaaa1111aaaa\n";
    const FEDORA_ID: &str = "machine-id 2222bbbb2222bbbb2222bbbb2222bbbb\n";

    /// The acceptance case: sort-keys, machine-ids, versions `6.1.0-10`,
    /// `6.1.0-9` and `6.1.0-10~rc1`, one entry for another architecture and
    /// one bad entry.
    fn acceptance_menu(default: Option<&str>) -> Menu {
        let mut files: Vec<(String, String)> = vec![
            (
                "debian-6.1.0-9.conf".into(),
                alloc::format!("sort-key debian\n{DEBIAN_ID}version 6.1.0-9\n"),
            ),
            (
                "debian-6.1.0-10~rc1.conf".into(),
                alloc::format!("sort-key debian\n{DEBIAN_ID}version 6.1.0-10~rc1\n"),
            ),
            (
                "debian-6.1.0-10.conf".into(),
                alloc::format!("sort-key debian\n{DEBIAN_ID}version 6.1.0-10\n"),
            ),
            // Same OS, a second installation: groups after the first machine-id.
            (
                "debian2-6.1.0-11.conf".into(),
                alloc::format!("sort-key debian\n{FEDORA_ID}version 6.1.0-11\n"),
            ),
            // "arch" < "debian": sorts first although its version is older.
            ("arch-5.0.conf".into(), "sort-key arch\nversion 5.0\n".into()),
            // No sort-key: after all entries that have one.
            ("legacy-7.0.conf".into(), "version 7.0\n".into()),
            // No tries left: last of all, whatever its keys say.
            (
                "debian-6.2.0-1+0-3.conf".into(),
                alloc::format!("sort-key debian\n{DEBIAN_ID}version 6.2.0-1\n"),
            ),
            (
                "arm-6.1.conf".into(),
                "sort-key debian\nversion 6.1\narchitecture aa64\n".into(),
            ),
        ];
        files.iter_mut().for_each(|(_, text)| text.push_str("linux /vmlinuz\n"));
        files.push(("broken.conf".into(), "title no kernel\n".into()));
        let type1: Vec<Type1File<'_>> = files
            .iter()
            .map(|(name, text)| Type1File {
                file_name: name,
                contents: text.as_bytes(),
            })
            .collect();
        let mut menu = build_menu(&type1, &[], "x64", default);
        menu.entries.iter_mut().for_each(|e| e.title.clear());
        menu
    }

    #[test]
    fn orders_the_acceptance_case_as_the_specification_says() {
        let menu = acceptance_menu(None);
        assert_eq!(
            ids(&menu.entries),
            [
                "arch-5.0.conf",
                "debian-6.1.0-10.conf",
                "debian-6.1.0-10~rc1.conf",
                "debian-6.1.0-9.conf",
                "debian2-6.1.0-11.conf",
                "legacy-7.0.conf",
                "debian-6.2.0-1.conf",
            ]
        );
        assert!(menu.entries[6].is_bad());
        assert_eq!(menu.default, Some(0));
        let skipped: Vec<_> = menu.skipped.iter().map(|s| (s.file.as_str(), &s.reason)).collect();
        assert_eq!(
            skipped,
            [
                (
                    "arm-6.1.conf",
                    &SkipReason::OtherArchitecture {
                        entry: "aa64".into(),
                        local: "x64".into()
                    }
                ),
                (
                    "broken.conf",
                    &SkipReason::Invalid(super::super::entry::Error::NoKernel)
                ),
            ]
        );
    }

    #[test]
    fn default_glob_selects_the_first_match_in_menu_order() {
        let menu = acceptance_menu(Some("debian-*"));
        assert_eq!(menu.entries[menu.default.unwrap()].id, "debian-6.1.0-10.conf");
        let menu = acceptance_menu(Some("DEBIAN-6.1.0-9.conf"));
        assert_eq!(menu.entries[menu.default.unwrap()].id, "debian-6.1.0-9.conf");
        let menu = acceptance_menu(Some("debian-6.1.0-1[0-9]~rc?"));
        assert_eq!(menu.entries[menu.default.unwrap()].id, "debian-6.1.0-10~rc1.conf");
        let menu = acceptance_menu(Some("legacy-*"));
        assert_eq!(menu.entries[menu.default.unwrap()].id, "legacy-7.0.conf");
        // A bad entry can still be chosen explicitly.
        let menu = acceptance_menu(Some("debian-6.2*"));
        assert_eq!(menu.entries[menu.default.unwrap()].id, "debian-6.2.0-1.conf");
        // No match: the first entry.
        let menu = acceptance_menu(Some("windows*"));
        assert_eq!(menu.default, Some(0));
        assert_eq!(select_default(&[], Some("*")), None);
    }

    #[test]
    fn entries_without_sort_key_order_by_name_newest_first() {
        let mut entries = vec![
            entry("linux-6.1.0-9.conf", ""),
            entry("linux-6.1.0-10~rc1.conf", ""),
            entry("linux-6.1.0-10.conf", ""),
            entry("linux-5.10.conf", ""),
        ];
        sort_entries(&mut entries);
        assert_eq!(
            ids(&entries),
            [
                "linux-6.1.0-10.conf",
                "linux-6.1.0-10~rc1.conf",
                "linux-6.1.0-9.conf",
                "linux-5.10.conf"
            ]
        );
    }

    #[test]
    fn unset_machine_id_and_version_sort_as_specified() {
        let mut entries = vec![
            entry("b.conf", "sort-key os\nmachine-id 0123\nversion 2\n"),
            entry("a.conf", "sort-key os\nversion 1\n"),
            entry("c.conf", "sort-key os\nmachine-id 0123\n"),
        ];
        sort_entries(&mut entries);
        // No machine-id sorts before any; within machine-id 0123 the entry
        // with a version comes before the one without.
        assert_eq!(ids(&entries), ["a.conf", "b.conf", "c.conf"]);
    }

    #[test]
    fn same_entry_with_counters_prefers_more_tries_left_then_fewer_done() {
        let mut entries = vec![entry("x+1-2.conf", ""), entry("x+3.conf", ""), entry("x+1-1.conf", "")];
        sort_entries(&mut entries);
        let names: Vec<_> = entries.iter().map(|e| e.file_name.as_str()).collect();
        assert_eq!(names, ["x+3.conf", "x+1-1.conf", "x+1-2.conf"]);
    }

    fn uki<'a>(file_name: &'a str, osrel: &'a str, uname: Option<&'a str>) -> UkiFile<'a> {
        UkiFile {
            file_name,
            sections: UkiSections {
                osrel: Some(osrel.as_bytes()),
                cmdline: Some(b"root=/dev/vda2\0"),
                uname: uname.map(str::as_bytes),
            },
        }
    }

    #[test]
    fn orders_unified_kernel_images_with_the_type1_rules() {
        let debian = "ID=debian\nPRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nVERSION_ID=\"12\"\n";
        let ukis = [
            uki("debian-6.1.0-9.efi", debian, Some("6.1.0-9-amd64")),
            uki("debian-6.1.0-10.efi", debian, Some("6.1.0-10-amd64")),
            uki(
                "custom.efi",
                "ID=debian\nIMAGE_ID=appliance\nIMAGE_VERSION=3\nNAME=Appliance\n",
                None,
            ),
            uki("nothing.efi", "", None),
            UkiFile {
                file_name: "no-osrel.efi",
                sections: UkiSections::default(),
            },
            uki("notes.txt", debian, None),
        ];
        let type1 = [Type1File {
            file_name: "zeta.conf",
            contents: b"sort-key zeta\nlinux /vmlinuz\n",
        }];
        let menu = build_menu(&type1, &ukis, "x64", Some("debian-*"));
        assert_eq!(
            ids(&menu.entries),
            [
                "custom.efi",
                "debian-6.1.0-10.efi",
                "debian-6.1.0-9.efi",
                "zeta.conf",
                "nothing.efi"
            ]
        );
        let newest = &menu.entries[1];
        assert_eq!(menu.default, Some(1));
        assert_eq!(newest.title, "Debian GNU/Linux 12 (bookworm)");
        assert_eq!(newest.version.as_deref(), Some("6.1.0-10-amd64"));
        assert_eq!(newest.sort_key.as_deref(), Some("debian"));
        assert_eq!(
            newest.kind,
            super::super::EntryKind::Type2 {
                path: "\\EFI\\Linux\\debian-6.1.0-10.efi".into(),
                cmdline: Some("root=/dev/vda2".into())
            }
        );
        let custom = &menu.entries[0];
        assert_eq!(
            (custom.title.as_str(), custom.version.as_deref()),
            ("appliance", Some("3"))
        );
        assert_eq!(custom.sort_key.as_deref(), Some("appliance"));
        assert_eq!(menu.entries[4].title, "nothing.efi");
        let skipped: Vec<_> = menu.skipped.iter().map(|s| s.file.as_str()).collect();
        assert_eq!(skipped, ["no-osrel.efi", "notes.txt"]);
    }
}
