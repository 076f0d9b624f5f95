//! The checked little-endian field reader, [`LeFields`], and the UTF-16LE
//! readers, [`utf16_units`] and [`utf16le_chars`], from `fw-bytes` (shared with
//! the loaders), under the name the drivers' parsers use.

pub use fw_bytes::{utf16_units, utf16le_chars, LeFields};
