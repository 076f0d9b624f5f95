//! The checked little-endian field reader, [`LeFields`], and the UTF-16LE
//! text field reader, [`utf16le_chars`], from `fw-bytes` (shared with the
//! loaders), under the name the drivers' parsers use.

pub use fw_bytes::{utf16le_chars, LeFields};
