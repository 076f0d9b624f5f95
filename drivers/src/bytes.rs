//! The checked little-endian field reader, [`LeFields`], from `fw-bytes`
//! (shared with the loaders), under the name the drivers' parsers use.

pub use fw_bytes::LeFields;
