//! `BootNext` and `BootOrder` (UEFI 2.10 §3.1.2-§3.1.3): which `Boot####`
//! options to try, in which order, and which of them can be started.
//! `BootNext` comes first and is used once: the boot manager deletes it
//! before it starts anything.
#![forbid(unsafe_code)]

use super::candidate::{Candidate, Target};
use super::device_match::full_path;
use super::notes::{Note, Source};
use super::{Probe, VolumeFacts};
use crate::load_option;
use alloc::collections::BTreeMap;
use alloc::vec::Vec;

/// The boot variables as the boot manager found them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LoadOptionVariables {
    /// `BootNext`'s bytes, when the variable exists.
    pub boot_next: Option<Vec<u8>>,
    /// `BootOrder`'s bytes, when the variable exists.
    pub boot_order: Option<Vec<u8>>,
    /// The `Boot####` variables that exist among those [`Self::requested`] names.
    pub options: BTreeMap<u16, Vec<u8>>,
}

impl LoadOptionVariables {
    /// The `Boot####` numbers to try, in order: the first of `BootNext`, then
    /// all of `BootOrder` (an option in both is tried twice, as when BootNext's
    /// attempt returns the boot manager goes on with BootOrder).
    pub fn requested(&self) -> Vec<(u16, Source)> {
        let next = self.boot_next.as_deref().map(load_option::parse_order);
        let order = self.boot_order.as_deref().map(load_option::parse_order);
        next.unwrap_or_default()
            .first()
            .map(|&n| (n, Source::BootNext))
            .into_iter()
            .chain(order.unwrap_or_default().into_iter().map(|n| (n, Source::BootOrder)))
            .collect()
    }

    /// Whether `BootNext` must be deleted before anything starts: it is used
    /// once, even when it is empty or names nothing usable.
    pub fn consumes_boot_next(&self) -> bool {
        self.boot_next.is_some()
    }
}

/// The candidates for the options [`LoadOptionVariables::requested`] names,
/// with a note for each one left out. Inactive options and applications
/// (LOAD_OPTION_CATEGORY_APP) are left out silently: they are not boot targets.
pub(super) fn candidates(
    variables: &LoadOptionVariables,
    volumes: &[VolumeFacts],
    probe: &dyn Probe,
    notes: &mut Vec<Note>,
) -> Vec<Candidate> {
    let mut out = Vec::new();
    for (number, source) in variables.requested() {
        let Some(bytes) = variables.options.get(&number) else {
            notes.push(Note::OptionMissing { number, source });
            continue;
        };
        let option = match load_option::parse(bytes) {
            Ok(o) => o,
            Err(error) => {
                notes.push(Note::OptionUnusable { number, error });
                continue;
            }
        };
        if !option.is_active() || !option.is_boot_target() {
            continue;
        }
        match full_path(volumes, &option.file_path, probe) {
            Some(path) => out.push(Candidate {
                title: alloc::format!("{} {}", load_option::boot_variable_name(number), option.description),
                target: Target::LoadOption {
                    number,
                    path,
                    data: option.optional_data,
                },
            }),
            None => notes.push(Note::NoDiskMatches {
                number,
                description: option.description,
            }),
        }
    }
    out
}
