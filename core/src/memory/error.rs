//! Why a memory map operation failed, and the EFI status each reason gives.
#![forbid(unsafe_code)]

use super::types::{InvalidMemoryType, MemoryType};
use core::fmt;
use r_efi::efi;

/// Why a memory map operation failed. [`MemoryError::status`] gives the EFI status.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MemoryError {
    /// A request for no pages. `EFI_INVALID_PARAMETER`.
    ZeroPages,
    /// An address not aligned to a page (or to the requested alignment).
    /// `EFI_INVALID_PARAMETER`.
    Unaligned {
        /// The address given.
        address: u64,
        /// The alignment it lacks.
        align: u64,
    },
    /// An alignment that is not a power of two of at least a page. `EFI_INVALID_PARAMETER`.
    InvalidAlignment {
        /// The alignment given.
        align: u64,
    },
    /// `start + pages * 4096` does not fit in 64 bits. `EFI_INVALID_PARAMETER`.
    RangeOverflow {
        /// The first address.
        start: u64,
        /// The page count.
        pages: u64,
    },
    /// An `EFI_ALLOCATE_TYPE` beyond `AllocateAddress`. `EFI_INVALID_PARAMETER`.
    InvalidAllocateType {
        /// The value given.
        raw: u32,
    },
    /// An undefined memory type value. `EFI_INVALID_PARAMETER`.
    InvalidType(InvalidMemoryType),
    /// A type nobody may allocate (conventional, persistent, unaccepted).
    /// `EFI_INVALID_PARAMETER`.
    NotAllocatable {
        /// The type given.
        ty: MemoryType,
    },
    /// No free range is large enough (below the limit). `EFI_OUT_OF_RESOURCES`.
    OutOfResources {
        /// The pages asked for.
        pages: u64,
    },
    /// `AllocateAddress` named pages that are not all free memory. `EFI_NOT_FOUND`.
    NotFound {
        /// The address given.
        address: u64,
        /// The page count.
        pages: u64,
    },
    /// `FreePages` named pages that `AllocatePages` did not hand out. `EFI_NOT_FOUND`.
    NotAllocated {
        /// The address given.
        address: u64,
        /// The page count.
        pages: u64,
    },
    /// The `GetMemoryMap` buffer is smaller than `needed` bytes. `EFI_BUFFER_TOO_SMALL`,
    /// with `*MemoryMapSize = needed`.
    BufferTooSmall {
        /// The bytes the map needs.
        needed: usize,
    },
}

impl MemoryError {
    /// The status the boot service returns for this error (UEFI 2.10 §7.2).
    pub fn status(&self) -> efi::Status {
        match self {
            MemoryError::ZeroPages
            | MemoryError::Unaligned { .. }
            | MemoryError::InvalidAlignment { .. }
            | MemoryError::RangeOverflow { .. }
            | MemoryError::InvalidAllocateType { .. }
            | MemoryError::InvalidType(_)
            | MemoryError::NotAllocatable { .. } => efi::Status::INVALID_PARAMETER,
            MemoryError::OutOfResources { .. } => efi::Status::OUT_OF_RESOURCES,
            MemoryError::NotFound { .. } | MemoryError::NotAllocated { .. } => efi::Status::NOT_FOUND,
            MemoryError::BufferTooSmall { .. } => efi::Status::BUFFER_TOO_SMALL,
        }
    }
}

impl From<InvalidMemoryType> for MemoryError {
    fn from(e: InvalidMemoryType) -> Self {
        MemoryError::InvalidType(e)
    }
}

impl fmt::Display for MemoryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MemoryError::ZeroPages => f.write_str("request for zero pages"),
            MemoryError::Unaligned { address, align } => {
                write!(f, "address {address:#x} is not aligned to {align:#x}")
            }
            MemoryError::InvalidAlignment { align } => {
                write!(f, "alignment {align:#x} is not a power of two of at least a page")
            }
            MemoryError::RangeOverflow { start, pages } => {
                write!(f, "{pages} pages at {start:#x} run past the end of the address space")
            }
            MemoryError::InvalidAllocateType { raw } => {
                write!(f, "allocate type {raw} is not defined")
            }
            MemoryError::InvalidType(e) => e.fmt(f),
            MemoryError::NotAllocatable { ty } => {
                write!(f, "memory of type {ty} cannot be allocated")
            }
            MemoryError::OutOfResources { pages } => write!(f, "no free range of {pages} pages"),
            MemoryError::NotFound { address, pages } => {
                write!(f, "{pages} pages at {address:#x} are not free memory")
            }
            MemoryError::NotAllocated { address, pages } => {
                write!(f, "{pages} pages at {address:#x} were not allocated with AllocatePages")
            }
            MemoryError::BufferTooSmall { needed } => {
                write!(f, "the memory map needs a buffer of {needed} bytes")
            }
        }
    }
}
