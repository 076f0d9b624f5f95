//! The run through the plan: which candidate comes next, what is recorded
//! after each attempt, and the summary when nothing is left.
//!
//! Every attempt that comes back moves on to the next candidate: the image
//! gave control back, so the machine is the boot manager's again (UEFI 2.10
//! §3.1.1). The run stops when the candidates run out.
#![forbid(unsafe_code)]

use super::notes::Unreadable;
use super::outcome::Outcome;
use super::Plan;
use alloc::collections::VecDeque;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

/// One attempt: the candidate (index into [`Plan::candidates`]) and, when
/// the menu's editor changed it, the command line to boot with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Attempt {
    /// Index into [`Plan::candidates`].
    pub index: usize,
    /// The command line the menu's editor made, replacing the candidate's own.
    pub cmdline: Option<String>,
}

/// One line of the summary.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Tried {
    /// A removable-media file that could not even be opened.
    Unreadable(Unreadable),
    /// A candidate that was started and came back.
    Attempt {
        /// The candidate's title.
        title: String,
        /// Why it did not take over the machine.
        outcome: Outcome,
    },
}

impl fmt::Display for Tried {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Tried::Unreadable(u) => write!(f, "{u}"),
            Tried::Attempt { title, outcome } => write!(f, "{title}: {outcome}"),
        }
    }
}

/// The candidates still to try and what the tried ones did.
#[derive(Clone, Debug)]
pub struct BootRun {
    titles: Vec<String>,
    pending: VecDeque<Attempt>,
    tried: Vec<Tried>,
}

impl BootRun {
    /// The plan's candidates in order, or, after a menu `choice`, that one
    /// first (with its edited command line) and the others after it.
    pub fn new(plan: &Plan, choice: Option<Attempt>) -> BootRun {
        let mut pending: VecDeque<Attempt> = (0..plan.candidates.len())
            .filter(|&index| choice.as_ref().is_none_or(|c| c.index != index))
            .map(|index| Attempt { index, cmdline: None })
            .collect();
        if let Some(choice) = choice.filter(|c| c.index < plan.candidates.len()) {
            pending.push_front(choice);
        }
        BootRun {
            titles: plan.candidates.iter().map(|c| c.title.clone()).collect(),
            pending,
            tried: plan.unreadable.iter().cloned().map(Tried::Unreadable).collect(),
        }
    }

    /// The next attempt; `None`: nothing is left, stop with [`BootRun::summary`].
    pub fn next_attempt(&mut self) -> Option<Attempt> {
        self.pending.pop_front()
    }

    /// What `attempt` did, for the summary.
    pub fn record(&mut self, attempt: &Attempt, outcome: Outcome) {
        let title = self.titles.get(attempt.index).cloned().unwrap_or_default();
        self.tried.push(Tried::Attempt { title, outcome });
    }

    /// What was tried, once nothing is left.
    pub fn summary(&self) -> Summary<'_> {
        Summary { tried: &self.tried }
    }
}

/// `no bootable device found. Tried:` and a line per attempt.
#[derive(Clone, Copy, Debug)]
pub struct Summary<'a> {
    /// The attempts, in the order they were made.
    pub tried: &'a [Tried],
}

impl fmt::Display for Summary<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "no bootable device found. Tried:")?;
        for t in self.tried {
            writeln!(f, "  {t}")?;
        }
        Ok(())
    }
}

/// The message when the plan has no candidate at all.
#[derive(Clone, Copy, Debug)]
pub struct NothingToBoot<'a> {
    /// How many volumes were looked at.
    pub volumes_searched: usize,
    /// Removable-media files that exist but could not be opened.
    pub unreadable: &'a [Unreadable],
}

impl fmt::Display for NothingToBoot<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "no bootable device found: no disk holds a boot option ({} file systems searched)",
            self.volumes_searched
        )?;
        for u in self.unreadable {
            writeln!(f, "  {u}")?;
        }
        Ok(())
    }
}
