//! The checked little-endian field reader, [`LeFields`], and [`utf16_units`], from `fw-bytes`
//! (shared with the loaders), under the name the drivers' parsers use.

pub use fw_bytes::{utf16_units, LeFields};
