//! What must hold of the map after every operation, checked by the property
//! test and, in debug builds, on every GetMemoryMap:
//! - entries are sorted, non-empty and do not overlap;
//! - free entries are EfiConventionalMemory and nothing else is;
//! - what `AllocatePages` or the pool handed out has an allocatable type;
//! - the per-type page counts agree with the entries.
#![forbid(unsafe_code)]

use super::{MemoryMap, Owner};
use crate::memory::MemoryType;
use core::fmt;

/// A broken rule, with the entry (by start address) that breaks it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InvariantError {
    /// An entry of no pages.
    Empty {
        /// Where the entry starts.
        start: u64,
    },
    /// An entry that starts before the previous one ends.
    Overlap {
        /// Where the entry starts.
        start: u64,
        /// Where the previous entry ends.
        previous_end: u64,
    },
    /// A free entry whose type is not conventional memory.
    FreeNotConventional {
        /// Where the entry starts.
        start: u64,
        /// Its type.
        ty: MemoryType,
    },
    /// Conventional memory that is not free.
    ConventionalNotFree {
        /// Where the entry starts.
        start: u64,
    },
    /// An allocation of a type nobody may allocate.
    AllocationNotAllocatable {
        /// Where the entry starts.
        start: u64,
        /// Its type.
        ty: MemoryType,
    },
    /// The pages counted for a type differ from its entries' sum.
    CountMismatch {
        /// The type.
        ty: MemoryType,
        /// The pages the statistics hold.
        counted: u64,
        /// The pages its entries add up to.
        entries: u64,
    },
}

impl fmt::Display for InvariantError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InvariantError::Empty { start } => write!(f, "entry at {start:#x} has no pages"),
            InvariantError::Overlap { start, previous_end } => {
                write!(
                    f,
                    "entry at {start:#x} starts before the previous one ends ({previous_end:#x})"
                )
            }
            InvariantError::FreeNotConventional { start, ty } => write!(f, "free entry at {start:#x} is {ty:?}"),
            InvariantError::ConventionalNotFree { start } => {
                write!(f, "conventional memory at {start:#x} is owned")
            }
            InvariantError::AllocationNotAllocatable { start, ty } => {
                write!(f, "allocation at {start:#x} has the type {ty:?}")
            }
            InvariantError::CountMismatch { ty, counted, entries } => {
                write!(f, "{ty:?}: {counted} pages counted, {entries} in the entries")
            }
        }
    }
}

impl MemoryMap {
    /// Checks the rules above.
    pub fn check_invariants(&self) -> Result<(), InvariantError> {
        let mut previous_end = 0;
        for (i, e) in self.entries.iter().enumerate() {
            if e.pages == 0 {
                return Err(InvariantError::Empty { start: e.start });
            }
            if i > 0 && e.start < previous_end {
                return Err(InvariantError::Overlap {
                    start: e.start,
                    previous_end,
                });
            }
            previous_end = e.end();
            let conventional = e.ty == MemoryType::ConventionalMemory;
            match e.owner {
                Owner::Free if !conventional => {
                    return Err(InvariantError::FreeNotConventional {
                        start: e.start,
                        ty: e.ty,
                    })
                }
                Owner::Firmware | Owner::Pages | Owner::Pool if conventional => {
                    return Err(InvariantError::ConventionalNotFree { start: e.start })
                }
                Owner::Pages | Owner::Pool if !e.ty.is_allocatable() => {
                    return Err(InvariantError::AllocationNotAllocatable {
                        start: e.start,
                        ty: e.ty,
                    })
                }
                _ => {}
            }
        }
        for &ty in MemoryType::standard() {
            let entries: u64 = self.entries.iter().filter(|e| e.ty == ty).map(|e| e.pages).sum();
            let counted = self.stats.pages(ty);
            if counted != entries {
                return Err(InvariantError::CountMismatch { ty, counted, entries });
            }
        }
        Ok(())
    }
}
