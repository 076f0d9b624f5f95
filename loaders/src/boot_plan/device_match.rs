//! Short-form device paths of `Boot####` options (UEFI 2.10 §3.1.2): a path
//! that starts at a partition (Hard Drive node) or at a file is completed
//! with the device path of the volume it names.
#![forbid(unsafe_code)]

use super::{Probe, VolumeFacts};
use crate::{load_option, path};
use alloc::vec::Vec;

/// A full device path for an option's path: full paths as they are; a
/// partition short form completed by the first volume whose path ends with
/// the same Hard Drive node; a file short form by the first volume holding
/// the file.
pub fn full_path(volumes: &[VolumeFacts], option_path: &[u8], probe: &dyn Probe) -> Option<Vec<u8>> {
    if !load_option::is_short_form(option_path) {
        return Some(option_path.to_vec());
    }
    let first_len = usize::from(u16::from_le_bytes([*option_path.get(2)?, *option_path.get(3)?]));
    let starts_with_file = option_path.get(..2) == Some(&[4, 4]);
    volumes.iter().enumerate().find_map(|(index, v)| {
        let body = path::without_end(&v.device_path)?;
        if starts_with_file {
            let file = path::file_text(option_path)?;
            return probe.file_exists(index, &file).then(|| [body, option_path].concat());
        }
        let hd = option_path.get(..first_len)?;
        body.ends_with(hd).then(|| [body, &option_path[first_len..]].concat())
    })
}
