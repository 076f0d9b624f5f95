//! What the boot manager may start: one candidate per `Boot####` option, BLS
//! entry or removable-media file, with the title the console and the menu show.
#![forbid(unsafe_code)]

use crate::bls::{BootEntry, EntryKind};
use alloc::boxed::Box;
use alloc::string::String;
use alloc::vec::Vec;

/// What starting a candidate means.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    /// A `Boot####` option: a full device path and its optional data.
    LoadOption {
        /// The option's number (`Boot####`).
        number: u16,
        /// Its file path list: where the program is.
        path: Vec<u8>,
        /// Its optional data: the program's load options.
        data: Vec<u8>,
    },
    /// A BLS entry on volume `volume` (index into the planner's volumes).
    Bls {
        /// Index into the planner's volumes.
        volume: usize,
        /// The entry, as the BLS reader made it.
        entry: Box<BootEntry>,
    },
    /// `\EFI\BOOT\BOOTX64.EFI` on a volume, and the `Boot####` that stands
    /// for it once the boot manager has offered one.
    Removable {
        /// The file's full device path.
        path: Vec<u8>,
        /// The `Boot####` offered for it, once there is one.
        number: Option<u16>,
    },
}

/// One thing to try, in the order of the plan.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Candidate {
    /// The menu's line for it.
    pub title: String,
    /// What starting it means.
    pub target: Target,
}

impl Candidate {
    /// The command line the menu's editor starts from: a Linux Type #1
    /// entry's `options`, a unified kernel image's `.cmdline`; `None` where
    /// there is nothing to edit.
    pub fn cmdline(&self) -> Option<String> {
        let Target::Bls { entry, .. } = &self.target else {
            return None;
        };
        match &entry.kind {
            EntryKind::Type1 {
                options,
                linux: Some(_),
                ..
            } => Some(options.clone().unwrap_or_default()),
            EntryKind::Type2 { cmdline, .. } => Some(cmdline.clone().unwrap_or_default()),
            EntryKind::Type1 { .. } => None,
        }
    }

    /// The `Boot####` that `BootCurrent` names while this candidate runs:
    /// its own option, the one offered for its removable-media file, or
    /// `bls_number`, the one standing for all BLS entries.
    pub fn boot_current(&self, bls_number: Option<u16>) -> Option<u16> {
        match &self.target {
            Target::LoadOption { number, .. } => Some(*number),
            Target::Removable { number, .. } => *number,
            Target::Bls { .. } => bls_number,
        }
    }

    /// The BLS entry's id, for a BLS candidate.
    pub fn bls_entry_id(&self) -> Option<&str> {
        match &self.target {
            Target::Bls { entry, .. } => Some(&entry.id),
            _ => None,
        }
    }
}
