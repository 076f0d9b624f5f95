//! Boot Loader Specification entries as candidates: on every volume, in disk
//! order, the Type #1 entries and Type #2 unified kernel images sorted as
//! the specification says, the default first. The default is the Boot
//! Loader Interface's one-shot entry, else its default entry, else
//! `loader.conf`'s `default`.
#![forbid(unsafe_code)]

use super::candidate::{Candidate, Target};
use super::notes::Note;
use crate::bls::{self, LoaderConf, Type1File, UkiFile, UkiSections};
use crate::boot_loader_interface::Requests;
use alloc::boxed::Box;
use alloc::string::String;
use alloc::vec::Vec;
use uefi_raw::Status;

/// A volume's BLS files, as read from it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BlsFiles {
    /// `\loader\loader.conf`, when it exists and could be read.
    pub loader_conf: Option<Vec<u8>>,
    /// The files of [`bls::TYPE1_DIR`] that [`is_type1_file`] accepts.
    pub type1: Vec<EntryFile>,
    /// The files of [`bls::TYPE2_DIR`] that [`is_uki_file`] accepts.
    pub ukis: Vec<UkiImage>,
}

/// A Type #1 entry file: its name and contents, or why it could not be read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EntryFile {
    /// The file's name in the Type #1 directory.
    pub name: String,
    /// Its bytes, or the status reading it failed with.
    pub contents: Result<Vec<u8>, Status>,
}

/// A unified kernel image: its name and the sections the menu needs (each
/// `None` when missing or unreadable).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UkiImage {
    /// The image's name in the Type #2 directory.
    pub name: String,
    /// Its `.osrel` section.
    pub osrel: Option<Vec<u8>>,
    /// Its `.cmdline` section.
    pub cmdline: Option<Vec<u8>>,
    /// Its `.uname` section.
    pub uname: Option<Vec<u8>>,
}

/// Whether a file of [`bls::TYPE1_DIR`] is worth reading as an entry.
pub fn is_type1_file(name: &str) -> bool {
    name.to_ascii_lowercase().ends_with(".conf")
}

/// Whether a file of [`bls::TYPE2_DIR`] is worth reading as a unified kernel image.
pub fn is_uki_file(name: &str) -> bool {
    name.to_ascii_lowercase().ends_with(".efi")
}

/// Whether the built-in BLS loader runs, from the `BootLoaderSpec` variable:
/// "off" leaves the entries to a boot loader on the disk.
pub fn enabled(variable: Option<&[u8]>) -> bool {
    variable != Some(b"off")
}

/// The candidates for the BLS entries of `volumes` (in order) and the
/// `loader.conf` of the first volume that has entries.
pub(super) fn candidates<'a>(
    volumes: impl Iterator<Item = &'a BlsFiles>,
    requests: &Requests,
    notes: &mut Vec<Note>,
) -> (Vec<Candidate>, Option<LoaderConf>) {
    let mut out = Vec::new();
    let mut first_conf: Option<LoaderConf> = None;
    for (index, files) in volumes.enumerate() {
        let conf = files
            .loader_conf
            .as_deref()
            .and_then(|bytes| match bls::parse_loader_conf(bytes) {
                Ok(conf) => Some(conf),
                Err(error) => {
                    notes.push(Note::LoaderConfUnusable { error });
                    None
                }
            });
        let type1: Vec<Type1File> = files
            .type1
            .iter()
            .filter_map(|file| match &file.contents {
                Ok(contents) => Some(Type1File {
                    file_name: &file.name,
                    contents,
                }),
                Err(status) => {
                    notes.push(Note::EntryUnreadable {
                        file: file.name.clone(),
                        status: *status,
                    });
                    None
                }
            })
            .collect();
        if type1.is_empty() && files.ukis.is_empty() {
            continue;
        }
        let ukis: Vec<UkiFile> = files
            .ukis
            .iter()
            .map(|image| UkiFile {
                file_name: &image.name,
                sections: UkiSections {
                    osrel: image.osrel.as_deref(),
                    cmdline: image.cmdline.as_deref(),
                    uname: image.uname.as_deref(),
                },
            })
            .collect();
        let default = requests.default_pattern(conf.as_ref().and_then(|c| c.default.as_deref()));
        let mut menu = bls::build_menu(&type1, &ukis, bls::LOCAL_ARCHITECTURE, default);
        notes.extend(menu.skipped.drain(..).map(Note::EntrySkipped));
        if let Some(d) = menu.default.filter(|&d| d > 0) {
            let entry = menu.entries.remove(d);
            menu.entries.insert(0, entry);
        }
        out.extend(menu.entries.into_iter().map(|entry| Candidate {
            title: entry.title.clone(),
            target: Target::Bls {
                volume: index,
                entry: Box::new(entry),
            },
        }));
        if first_conf.is_none() {
            first_conf = conf;
        }
    }
    (out, first_conf)
}
