//! What the planner tells the console while it plans: options, entries and
//! files it left out, and why. Each is printed once as `Boot: <note>`.
#![forbid(unsafe_code)]

use crate::bls::{self, Skipped};
use crate::load_option::{boot_variable_name, LoadOptionError};
use crate::status::status_name;
use alloc::string::String;
use core::fmt;
use uefi_raw::Status;

/// Which variable named a `Boot####` option.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    /// The one-shot `BootNext` variable.
    BootNext,
    /// The `BootOrder` list.
    BootOrder,
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Source::BootNext => "BootNext",
            Source::BootOrder => "BootOrder",
        })
    }
}

/// A removable-media file that exists but cannot be opened (a damaged file
/// system, a failing disk): reported, and listed with what was tried.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unreadable {
    /// The file's full device path as text.
    pub path_text: String,
    /// The status opening it failed with.
    pub status: Status,
}

impl fmt::Display for Unreadable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path_text, status_name(self.status))
    }
}

/// Why something was left out of the plan.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Note {
    /// `BootNext` or `BootOrder` names a `Boot####` that does not exist.
    OptionMissing {
        /// The option's number.
        number: u16,
        /// The variable that named it.
        source: Source,
    },
    /// The `Boot####` variable is not a well-formed EFI_LOAD_OPTION.
    OptionUnusable {
        /// The option's number.
        number: u16,
        /// What is wrong with it.
        error: LoadOptionError,
    },
    /// The option's short-form device path matches no volume.
    NoDiskMatches {
        /// The option's number.
        number: u16,
        /// The option's description, to name it in the note.
        description: String,
    },
    /// A volume's `loader.conf` is not text; its settings are ignored.
    LoaderConfUnusable {
        /// Why its contents are not text.
        error: bls::text::Error,
    },
    /// A Type #1 entry file could not be read.
    EntryUnreadable {
        /// The entry's file name.
        file: String,
        /// The status reading it failed with.
        status: Status,
    },
    /// A BLS file that did not become an entry.
    EntrySkipped(Skipped),
    /// A removable-media file that cannot be opened.
    RemovableUnreadable(Unreadable),
}

impl fmt::Display for Note {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Note::OptionMissing { number, source } => {
                write!(f, "{} is in {source} but does not exist", boot_variable_name(*number))
            }
            Note::OptionUnusable { number, error } => {
                write!(f, "{} is unusable: {error}", boot_variable_name(*number))
            }
            Note::NoDiskMatches { number, description } => write!(
                f,
                "{} ({description}): no disk matches its device path",
                boot_variable_name(*number)
            ),
            Note::LoaderConfUnusable { error } => {
                write!(f, "{} is unusable: {error}", bls::LOADER_CONF_PATH)
            }
            Note::EntryUnreadable { file, status } => {
                write!(f, "cannot read entry {file}: {}", status_name(*status))
            }
            Note::EntrySkipped(skipped) => write!(f, "skipping {skipped}"),
            Note::RemovableUnreadable(unreadable) => write!(f, "{unreadable}"),
        }
    }
}
