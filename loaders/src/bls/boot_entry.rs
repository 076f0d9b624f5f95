//! The boot menu entry the boot manager works with, made from a Type #1 entry
//! file or a Type #2 unified kernel image (Boot Loader Specification, "Boot
//! Loader Entries"), and the record of files that did not make an entry.
#![forbid(unsafe_code)]

use super::counter::{self, BootCounter, CountedName};
use super::entry::{self, efi_path};
use super::uki;
use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::fmt;

/// The directory of Type #1 entry files.
pub const TYPE1_DIR: &str = "\\loader\\entries";
/// The directory of Type #2 unified kernel images.
pub const TYPE2_DIR: &str = "\\EFI\\Linux";

/// What starting an entry means. Paths are absolute EFI paths (`\`-separated)
/// on the partition the entry was found on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EntryKind {
    /// A Type #1 entry: a Linux kernel with initrds, or an EFI program.
    Type1 {
        /// The `linux` path: the kernel to start.
        linux: Option<String>,
        /// The `initrd` paths, in order.
        initrds: Vec<String>,
        /// The kernel command line (all `options` lines joined), without the
        /// `initrd=` arguments a loader may add.
        options: Option<String>,
        /// The `devicetree` path, installed before the kernel starts.
        devicetree: Option<String>,
        /// The `devicetree-overlay` paths, in order.
        devicetree_overlays: Vec<String>,
        /// The `efi` path: an EFI program to start instead of a kernel.
        efi: Option<String>,
    },
    /// A Type #2 unified kernel image, started as an EFI program.
    Type2 {
        /// The image's path in the Type #2 directory.
        path: String,
        /// The image's `.cmdline`, for display only: the image uses its own.
        cmdline: Option<String>,
    },
}

/// One boot menu entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BootEntry {
    /// The file name without boot counter, suffix kept, in lower case
    /// (`debian-6.1.0-9.conf`): what `loader.conf`'s `default` matches.
    pub id: String,
    /// For the menu: `title`/`PRETTY_NAME`, else the id.
    pub title: String,
    /// The entry's `version` (Type #2: `.uname`, else `IMAGE_VERSION`, `VERSION_ID` or `BUILD_ID`), for sorting.
    pub version: Option<String>,
    /// The entry's `sort-key` (Type #2: `IMAGE_ID` or `ID`), the first sorting key.
    pub sort_key: Option<String>,
    /// The entry's `machine-id`, a sorting key after `sort-key`.
    pub machine_id: Option<String>,
    /// What the entry starts.
    pub kind: EntryKind,
    /// The boot counter, if the file name carries one.
    pub counter: Option<BootCounter>,
    /// The file name as found in its directory (with counter).
    pub file_name: String,
}

impl BootEntry {
    /// Builds the entry for a Type #1 file, or says why there is none.
    /// `local_architecture` is this firmware's EFI architecture name.
    pub fn from_type1(file_name: &str, contents: &[u8], local_architecture: &str) -> Result<BootEntry, SkipReason> {
        let name = entry_name(file_name, counter::TYPE1_SUFFIX)?;
        let parsed = entry::parse_entry(contents).map_err(SkipReason::Invalid)?;
        if let Some(arch) = &parsed.architecture {
            // The spec: compare case-insensitively, hide entries that differ.
            if !arch.eq_ignore_ascii_case(local_architecture) {
                return Err(SkipReason::OtherArchitecture {
                    entry: arch.clone(),
                    local: local_architecture.to_string(),
                });
            }
        }
        let id = name.id();
        Ok(BootEntry {
            title: parsed.title.unwrap_or_else(|| id.clone()),
            id,
            version: parsed.version,
            sort_key: parsed.sort_key,
            machine_id: parsed.machine_id,
            kind: EntryKind::Type1 {
                linux: parsed.linux.as_deref().map(efi_path),
                initrds: parsed.initrds.iter().map(|p| efi_path(p)).collect(),
                options: parsed.options,
                devicetree: parsed.devicetree.as_deref().map(efi_path),
                devicetree_overlays: parsed.devicetree_overlays.iter().map(|p| efi_path(p)).collect(),
                efi: parsed.efi.as_deref().map(efi_path),
            },
            counter: name.counter,
            file_name: file_name.to_string(),
        })
    }

    /// Builds the entry for a unified kernel image in [`TYPE2_DIR`] from its
    /// PE sections, or says why there is none.
    pub fn from_uki(file_name: &str, sections: &uki::UkiSections<'_>) -> Result<BootEntry, SkipReason> {
        let name = entry_name(file_name, counter::TYPE2_SUFFIX)?;
        let info = uki::read_sections(sections).map_err(SkipReason::Uki)?;
        let id = name.id();
        let os = info.os_release;
        Ok(BootEntry {
            // systemd-boot's choice of title, version and sort key.
            title: os
                .pretty_name
                .or_else(|| os.image_id.clone())
                .or(os.name)
                .or_else(|| os.id.clone())
                .unwrap_or_else(|| id.clone()),
            id,
            version: info.uname.or(os.image_version).or(os.version_id).or(os.build_id),
            sort_key: os.image_id.or(os.id),
            machine_id: None,
            kind: EntryKind::Type2 {
                path: format!("{TYPE2_DIR}\\{file_name}"),
                cmdline: info.cmdline,
            },
            counter: name.counter,
            file_name: file_name.to_string(),
        })
    }

    /// The tries left, if boot counting is on for this entry.
    pub fn tries_left(&self) -> Option<u32> {
        self.counter.map(|c| c.tries_left)
    }

    /// Boot counting says this entry failed all its tries.
    pub fn is_bad(&self) -> bool {
        self.counter.is_some_and(|c| c.is_bad())
    }

    /// The absolute EFI path of the entry's own file (what gets renamed).
    pub fn file_path(&self) -> String {
        let dir = match self.kind {
            EntryKind::Type1 { .. } => TYPE1_DIR,
            EntryKind::Type2 { .. } => TYPE2_DIR,
        };
        format!("{dir}\\{}", self.file_name)
    }

    /// The new file name before booting this entry (see
    /// [`counter::renamed_after_attempt`]); `None`: do not rename.
    pub fn renamed_after_attempt(&self) -> Option<String> {
        counter::renamed_after_attempt(&self.file_name)
    }

    /// The id without its `.conf`/`.efi` suffix, which the specification's
    /// last sorting rule compares.
    pub fn id_without_suffix(&self) -> &str {
        [counter::TYPE1_SUFFIX, counter::TYPE2_SUFFIX]
            .iter()
            .find_map(|suffix| self.id.strip_suffix(suffix))
            .unwrap_or(&self.id)
    }
}

/// The name parts of an entry file, if its name is one a boot loader reads:
/// ends with `suffix` (any case), does not start with `.` (hidden files) or
/// `auto-` (reserved by systemd-boot for its automatic entries).
fn entry_name<'a>(file_name: &'a str, suffix: &str) -> Result<CountedName<'a>, SkipReason> {
    let lower_start = file_name.get(..5).map(str::to_ascii_lowercase);
    if file_name.starts_with('.') || lower_start.as_deref() == Some("auto-") {
        return Err(SkipReason::NotAnEntryName {
            suffix: suffix.to_string(),
        });
    }
    counter::split_name(file_name, suffix).ok_or_else(|| SkipReason::NotAnEntryName {
        suffix: suffix.to_string(),
    })
}

/// A file that did not become a boot entry, for the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    /// The file name in its directory.
    pub file: String,
    /// Why it was left out.
    pub reason: SkipReason,
}

/// Why a file is not in the menu.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SkipReason {
    /// The name does not end with the directory's suffix, or is hidden or
    /// reserved.
    NotAnEntryName {
        /// The suffix the directory's entries must have.
        suffix: String,
    },
    /// A Type #1 file that is not a valid entry.
    Invalid(entry::Error),
    /// A Type #1 entry for another architecture (hidden, as the spec says).
    OtherArchitecture {
        /// The architecture the entry names (`architecture`).
        entry: String,
        /// The firmware's own architecture, as the specification spells it.
        local: String,
    },
    /// A unified kernel image whose sections are missing or unreadable.
    Uki(uki::Error),
}

impl fmt::Display for SkipReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SkipReason::NotAnEntryName { suffix } => {
                write!(
                    f,
                    "not an entry file name (needs '{suffix}', no leading '.' or 'auto-')"
                )
            }
            SkipReason::Invalid(e) => write!(f, "invalid entry: {e}"),
            SkipReason::OtherArchitecture { entry, local } => {
                write!(f, "entry is for architecture '{entry}', this is '{local}'")
            }
            SkipReason::Uki(e) => write!(f, "unusable unified kernel image: {e}"),
        }
    }
}

impl fmt::Display for Skipped {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.file, self.reason)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    #[test]
    fn builds_a_type1_entry_with_efi_paths_and_counter() {
        let text = b"title Debian\nversion 6.1.0-9\nlinux /debian/vmlinuz\ninitrd debian//initrd\noptions quiet\n";
        let entry = BootEntry::from_type1("Debian-6.1.0-9+2-1.conf", text, "x64").unwrap();
        assert_eq!(entry.id, "debian-6.1.0-9.conf");
        assert_eq!(entry.id_without_suffix(), "debian-6.1.0-9");
        assert_eq!(entry.title, "Debian");
        assert_eq!(entry.tries_left(), Some(2));
        assert_eq!(entry.file_path(), "\\loader\\entries\\Debian-6.1.0-9+2-1.conf");
        assert_eq!(
            entry.renamed_after_attempt().as_deref(),
            Some("Debian-6.1.0-9+1-2.conf")
        );
        assert_eq!(
            entry.kind,
            EntryKind::Type1 {
                linux: Some("\\debian\\vmlinuz".into()),
                initrds: vec!["\\debian\\initrd".into()],
                options: Some("quiet".into()),
                devicetree: None,
                devicetree_overlays: vec![],
                efi: None,
            }
        );
    }

    #[test]
    fn title_falls_back_to_the_id() {
        let entry = BootEntry::from_type1("plain.conf", b"linux /vmlinuz\n", "x64").unwrap();
        assert_eq!(entry.title, "plain.conf");
    }

    #[test]
    fn skips_other_architectures_and_bad_names_with_a_reason() {
        let err = BootEntry::from_type1("arm.conf", b"linux /Image\narchitecture aa64\n", "x64").unwrap_err();
        assert_eq!(err.to_string(), "entry is for architecture 'aa64', this is 'x64'");
        assert!(BootEntry::from_type1("x.conf", b"linux /a\narchitecture X64\n", "x64").is_ok());
        for name in ["notes.txt", ".hidden.conf", "auto-windows.conf", "AUTO-x.conf"] {
            assert!(matches!(
                BootEntry::from_type1(name, b"linux /a\n", "x64"),
                Err(SkipReason::NotAnEntryName { .. })
            ));
        }
        let skipped = Skipped {
            file: "a.conf".into(),
            reason: SkipReason::Invalid(entry::Error::NoKernel),
        };
        assert_eq!(
            skipped.to_string(),
            "a.conf: invalid entry: entry has neither a 'linux' nor an 'efi' key"
        );
    }
}
