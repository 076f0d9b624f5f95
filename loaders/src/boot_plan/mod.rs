//! The boot manager's decisions (UEFI 2.10 §3.1, the Boot Loader
//! Specification, systemd's Boot Loader Interface), as pure functions of what
//! the boot manager read: which candidates, in which order, whether the menu
//! shows, and what comes after each attempt. The order:
//! 1. `BootNext` (used once), then the `Boot####` options in `BootOrder`;
//! 2. Boot Loader Specification entries of every FAT volume, in disk order:
//!    Type #1 (`\loader\entries\*.conf`) and Type #2 (`\EFI\Linux\*.efi`),
//!    sorted as the specification says, the default first;
//! 3. the removable-media file (`\EFI\BOOT\BOOTX64.EFI`) of every volume.
//!
//! After the menu's choice (that candidate first), each candidate is tried in
//! turn until one takes over; see [`attempts`]. The EFI side
//! (`crate::boot_manager`) reads the variables and volumes into [`Inputs`],
//! asks [`plan`], and carries the decisions out.
#![forbid(unsafe_code)]

pub mod attempts;
pub mod bls_entries;
pub mod candidate;
pub mod device_match;
pub mod load_options;
pub mod menu_choice;
pub mod notes;
pub mod offered;
pub mod outcome;
pub mod removable;
#[cfg(test)]
mod tests;

pub use attempts::{Attempt, BootRun, NothingToBoot, Summary, Tried};
pub use bls_entries::{BlsFiles, EntryFile, UkiImage};
pub use candidate::{Candidate, Target};
pub use load_options::LoadOptionVariables;
pub use menu_choice::{menu_decision, MenuDecision};
pub use notes::{Note, Source, Unreadable};
pub use outcome::{FileError, Outcome};
pub use removable::REMOVABLE_MEDIA_FILE;

use crate::bls::LoaderConf;
use crate::boot_loader_interface::Requests;
use alloc::string::String;
use alloc::vec::Vec;
use uefi_raw::Status;

/// What the planner asks of the machine while it plans: answers that cost
/// I/O or a protocol call, given only when needed.
pub trait Probe {
    /// Whether `file` exists on volume `volume` (index into [`Inputs::volumes`]).
    fn file_exists(&self, volume: usize, file: &str) -> bool;
    /// A device path as text, for titles and messages.
    fn path_text(&self, path: &[u8]) -> String;
}

/// One FAT volume, in the firmware's (disk) order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VolumeFacts {
    /// The volume's device path, with its End node.
    pub device_path: Vec<u8>,
    /// Its BLS files (empty when the built-in BLS loader is off).
    pub bls: BlsFiles,
    /// Whether [`REMOVABLE_MEDIA_FILE`] opens: `Err(NOT_FOUND)` when absent.
    pub removable_file: Result<(), Status>,
}

/// Everything the boot manager read before deciding.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Inputs {
    /// `BootNext`, `BootOrder` and the `Boot####` options they name.
    pub load_options: LoadOptionVariables,
    /// The volumes, in the order the firmware found them, with what is on each.
    pub volumes: Vec<VolumeFacts>,
    /// What the OS asked for through the Boot Loader Interface (empty when
    /// the built-in BLS loader is off).
    pub requests: Requests,
}

/// The candidates in order, and what was left out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Plan {
    /// What to start, in order.
    pub candidates: Vec<Candidate>,
    /// Printed as `Boot: <note>`, in this order.
    pub notes: Vec<Note>,
    /// Removable-media files that cannot be opened (also among `notes`).
    pub unreadable: Vec<Unreadable>,
    /// `loader.conf` of the first volume with BLS entries.
    pub loader_conf: Option<LoaderConf>,
    /// Delete `BootNext` before anything starts.
    pub consume_boot_next: bool,
    /// How many volumes were looked at, for the message when nothing boots.
    pub volumes_searched: usize,
}

impl Plan {
    /// The ids of the BLS entries, in order (`LoaderEntries`).
    pub fn bls_entry_ids(&self) -> Vec<&str> {
        self.candidates.iter().filter_map(Candidate::bls_entry_id).collect()
    }

    /// Whether any candidate is a BLS entry.
    pub fn has_bls(&self) -> bool {
        self.candidates.iter().any(|c| c.bls_entry_id().is_some())
    }

    /// The message to stop with when there is no candidate at all.
    pub fn nothing_to_boot(&self) -> Option<NothingToBoot<'_>> {
        self.candidates.is_empty().then_some(NothingToBoot {
            volumes_searched: self.volumes_searched,
            unreadable: &self.unreadable,
        })
    }
}

/// Decides the candidates and their order from what the boot manager read.
pub fn plan(inputs: &Inputs, probe: &dyn Probe) -> Plan {
    let mut notes = Vec::new();
    let mut candidates = load_options::candidates(&inputs.load_options, &inputs.volumes, probe, &mut notes);
    let (bls, loader_conf) =
        bls_entries::candidates(inputs.volumes.iter().map(|v| &v.bls), &inputs.requests, &mut notes);
    candidates.extend(bls);
    let mut unreadable = Vec::new();
    candidates.extend(removable::candidates(
        &inputs.volumes,
        probe,
        &mut notes,
        &mut unreadable,
    ));
    Plan {
        candidates,
        notes,
        unreadable,
        loader_conf,
        consume_boot_next: inputs.load_options.consumes_boot_next(),
        volumes_searched: inputs.volumes.len(),
    }
}
