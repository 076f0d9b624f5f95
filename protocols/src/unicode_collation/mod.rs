//! EFI_UNICODE_COLLATION2_PROTOCOL (UEFI 2.10 §19.2) for the language "en":
//! what shells and FAT drivers loaded from disk use to compare and match file
//! names without regard to case.
//!
//! - [`collate`]: the rules, as safe functions over UCS-2 slices.
//! - [`efi`]: the ABI edge: the protocol struct and its functions.
//!
//! The protocol keeps no state; install [`efi::protocol`] under
//! [`PROTOCOL_GUID`] on a handle of its own.

pub mod collate;
pub mod efi;

pub use efi::PROTOCOL_GUID;
