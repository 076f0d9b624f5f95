//! [`File`]: a handle's copy of one directory entry.

use super::{
    put16, put32, DateTime, EntryLocation, Run, ATTR_DIRECTORY, DIR_ATTR, DIR_CRT_DATE, DIR_CRT_TIME,
    DIR_CRT_TIME_TENTH, DIR_ENTRY_SIZE, DIR_FILE_SIZE, DIR_FST_CLUS_HI, DIR_FST_CLUS_LO, DIR_LST_ACC_DATE,
    DIR_WRT_DATE, DIR_WRT_TIME,
};
use crate::bytes::LeFields;
use alloc::string::String;
use alloc::vec::Vec;

/// One file or directory: its name and a copy of its short directory entry.
/// A handle keeps one; the operations on [`FileSystem`] update it and the disk.
#[derive(Clone, Debug)]
pub struct File {
    pub(super) name: String,
    pub(super) raw: [u8; DIR_ENTRY_SIZE],
    pub(super) first_cluster: u32,
    pub(super) location: Option<EntryLocation>,
    /// The cluster chain, once walked (files only).
    pub(super) runs: Option<Vec<Run>>,
}

impl File {
    /// The long name when present, else the short name (NT case bits honoured).
    /// Empty for the root directory.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Size in bytes (0 for directories).
    pub fn size(&self) -> u64 {
        if self.is_directory() {
            0
        } else {
            u64::from(self.raw.u32_le(DIR_FILE_SIZE).unwrap_or(0))
        }
    }

    /// The `ATTR_*` bits.
    pub fn attributes(&self) -> u8 {
        self.raw[DIR_ATTR]
    }

    /// Whether the entry is a directory.
    pub fn is_directory(&self) -> bool {
        self.raw[DIR_ATTR] & ATTR_DIRECTORY != 0
    }

    /// Whether this is the root directory (which has no entry of its own).
    pub fn is_root(&self) -> bool {
        self.location.is_none()
    }

    /// First cluster of the data (0 for an empty file and the root directory).
    pub fn first_cluster(&self) -> u32 {
        self.first_cluster
    }

    /// When the file was created.
    pub fn created(&self) -> DateTime {
        DateTime::from_fat(
            self.raw.u16_le(DIR_CRT_DATE).unwrap_or(0),
            self.raw.u16_le(DIR_CRT_TIME).unwrap_or(0),
            self.raw[DIR_CRT_TIME_TENTH],
        )
    }

    /// When the file was last written.
    pub fn modified(&self) -> DateTime {
        DateTime::from_fat(
            self.raw.u16_le(DIR_WRT_DATE).unwrap_or(0),
            self.raw.u16_le(DIR_WRT_TIME).unwrap_or(0),
            0,
        )
    }

    /// Last access (FAT keeps the date only).
    pub fn accessed(&self) -> DateTime {
        DateTime::from_fat(self.raw.u16_le(DIR_LST_ACC_DATE).unwrap_or(0), 0, 0)
    }

    pub(super) fn set_first_cluster(&mut self, cluster: u32) {
        self.first_cluster = cluster;
        put16(&mut self.raw, DIR_FST_CLUS_HI, (cluster >> 16) as u16);
        put16(&mut self.raw, DIR_FST_CLUS_LO, cluster as u16);
    }

    pub(super) fn set_size(&mut self, size: u64) {
        put32(&mut self.raw, DIR_FILE_SIZE, size as u32);
    }

    pub(super) fn touch(&mut self, now: DateTime) {
        let (date, time, _) = now.to_fat();
        put16(&mut self.raw, DIR_WRT_DATE, date);
        put16(&mut self.raw, DIR_WRT_TIME, time);
        put16(&mut self.raw, DIR_LST_ACC_DATE, date);
    }
}
