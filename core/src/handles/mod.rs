//! The handle and protocol database: UEFI 2.10 §7.3 "Protocol Handler Services".
//!
//! [`Database`] stores handles, the protocol interfaces installed on them, who has
//! each interface open (§7.3.9 `OpenProtocol`, §7.3.10 `CloseProtocol`) and the
//! protocol-notify registrations (§7.3.5 `RegisterProtocolNotify`). It only stores
//! and answers: it never calls a function pointer. Where the specification asks the
//! firmware to call out (signal notify events, `DisconnectController` a driver
//! before an uninstall), the database returns what must be called and the ABI
//! thunk does it after releasing the lock.
//!
//! Interfaces are opaque addresses ([`Interface`]); device paths are read through
//! caller-provided closures because they live in guest memory.
#![forbid(unsafe_code)]

use core::ffi::c_void;
use core::fmt;

mod database;
pub mod device_path;
mod error;
mod locate;
mod open;

#[cfg(test)]
mod tests;

/// Events are named as the event table names them; the database only stores them
/// and hands them back for signalling.
pub use crate::events::EventId;
pub use database::{Database, Installed, OpenInfo};
pub use error::Error;
pub use locate::{PathMatch, Search};

/// Where handle ids start: far from any RAM address, and non-canonical on x86_64
/// (bits 63..47 differ) so an application that dereferences a handle faults at once.
#[cfg(target_pointer_width = "64")]
const HANDLE_ID_BASE: usize = 0xEF1D_0000_0000_0000;
/// Where registration ids start; a different range so one is never taken for the other.
#[cfg(target_pointer_width = "64")]
const REGISTRATION_ID_BASE: usize = 0xEF1E_0000_0000_0000;
/// How many id values each range spans.
#[cfg(target_pointer_width = "64")]
const ID_SPAN: usize = 1 << 40;

#[cfg(not(target_pointer_width = "64"))]
const HANDLE_ID_BASE: usize = 0xEF10_0000;
#[cfg(not(target_pointer_width = "64"))]
const REGISTRATION_ID_BASE: usize = 0xEF20_0000;
#[cfg(not(target_pointer_width = "64"))]
const ID_SPAN: usize = 1 << 20;

/// Distance between consecutive ids: keeps them pointer-aligned like real handles.
const ID_STEP: usize = 0x10;

/// A handle: the value handed to applications as `EFI_HANDLE`.
///
/// Ids grow monotonically and are never reused, so a handle an application kept after
/// the handle was freed is recognised as invalid.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct HandleId(usize);

impl HandleId {
    /// The id an `EFI_HANDLE` value names, or `None` for NULL. Whether the handle
    /// exists is [`Database::is_valid`]'s question.
    pub fn new(raw: usize) -> Option<HandleId> {
        (raw != 0).then_some(HandleId(raw))
    }

    /// Converts an `EFI_HANDLE` from an application.
    pub fn from_efi(handle: r_efi::efi::Handle) -> Option<HandleId> {
        HandleId::new(handle.addr())
    }

    /// The value as a number.
    pub fn raw(self) -> usize {
        self.0
    }

    /// The `EFI_HANDLE` to give to applications.
    pub fn to_efi(self) -> r_efi::efi::Handle {
        core::ptr::without_provenance_mut(self.0)
    }
}

impl fmt::Display for HandleId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "handle {:#x}", self.0)
    }
}

/// A protocol-notify registration: the `Registration` value of
/// `RegisterProtocolNotify`, used as `SearchKey` of `LocateHandle`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RegistrationId(usize);

impl RegistrationId {
    /// The id a `Registration` value names, or `None` for NULL.
    pub fn new(raw: usize) -> Option<RegistrationId> {
        (raw != 0).then_some(RegistrationId(raw))
    }

    /// Converts a `Registration`/`SearchKey` pointer from an application.
    pub fn from_efi(registration: *mut c_void) -> Option<RegistrationId> {
        RegistrationId::new(registration.addr())
    }

    /// The value as a number.
    pub fn raw(self) -> usize {
        self.0
    }

    /// The `Registration` pointer to give to applications.
    pub fn to_efi(self) -> *mut c_void {
        core::ptr::without_provenance_mut(self.0)
    }
}

impl fmt::Display for RegistrationId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "registration {:#x}", self.0)
    }
}

/// A protocol interface: an opaque address in guest memory. NULL is a legal
/// interface (tag protocols carry no data).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Interface(pub usize);

impl Interface {
    /// The NULL interface.
    pub const NULL: Interface = Interface(0);

    /// Converts an interface pointer from an application.
    pub fn from_ptr(interface: *mut c_void) -> Interface {
        Interface(interface.addr())
    }

    /// The pointer to give back to applications.
    pub fn to_ptr(self) -> *mut c_void {
        core::ptr::without_provenance_mut(self.0)
    }
}

/// Hands out ids from one range in steps of [`ID_STEP`], never twice.
#[derive(Debug)]
struct IdAllocator {
    next: usize,
    end: usize,
}

impl IdAllocator {
    const fn new(base: usize) -> IdAllocator {
        IdAllocator {
            next: base,
            end: base + ID_SPAN,
        }
    }

    fn allocate(&mut self) -> Option<usize> {
        if self.next >= self.end {
            return None;
        }
        let id = self.next;
        self.next += ID_STEP;
        Some(id)
    }
}

/// Formats a GUID as the specification writes it (`8be4df61-93ca-11d2-aa0d-00e098032b8c`).
pub struct GuidText<'a>(pub &'a r_efi::efi::Guid);

impl fmt::Display for GuidText<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (a, b, c, d, e, node) = self.0.as_fields();
        write!(f, "{a:08x}-{b:04x}-{c:04x}-{d:02x}{e:02x}-")?;
        node.iter().try_for_each(|byte| write!(f, "{byte:02x}"))
    }
}
