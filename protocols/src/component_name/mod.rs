//! EFI_COMPONENT_NAME2_PROTOCOL (UEFI 2.10 §11.5) for the firmware's own
//! drivers: each driver's name, and the names of the controllers it manages
//! (a disk, a partition as a child of its disk, a file system), in English.
//!
//! `names.rs` holds the names and the language rule; `efi.rs` is the ABI edge.

mod efi;
mod names;

pub use efi::{ComponentName2, PROTOCOL_GUID};
pub use names::{is_english, ucs2, ControllerNames, LANGUAGES, MAX_LANGUAGE};
