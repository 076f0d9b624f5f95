//! FAT12/FAT16/FAT32 file systems, after Microsoft's "FAT: General Overview of
//! On-Disk Format" (fatgen103, version 1.03), with the long-name (VFAT) entries
//! of its §7. The volume starts at block 0 of the `BlockDevice` it is given (a
//! whole disk or a partition view).
//!
//! The API is shaped for the EFI SimpleFileSystem and File protocols (UEFI 2.10
//! §13.4, §13.5): a [`File`] is a handle's view of one directory entry, opened
//! by path relative to another; reads and writes take an offset (the handle's
//! position); directories are read one entry at a time from a position.
//!
//! Reads of runs of contiguous clusters become one device request, straight into
//! the caller's buffer when it is block aligned. Every walk over on-disk chains is
//! bounded, and corrupt structures give an [`Error`], never a panic or a hang.
#![forbid(unsafe_code)]

mod bpb;
mod create;
mod data;
mod dir;
mod dir_cache;
mod error;
mod file;
mod io;
mod lookup;
mod table;
#[cfg(test)]
mod tests;

pub use bpb::{FatType, Geometry};
pub use dir::{
    DateTime, ATTR_ARCHIVE, ATTR_DIRECTORY, ATTR_HIDDEN, ATTR_READ_ONLY, ATTR_SYSTEM, ATTR_VOLUME_ID, MAX_LONG_NAME,
};
pub use error::Error;
pub use file::File;

use crate::block::BlockDevice;
use crate::bytes::LeFields;
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec;
use alloc::vec::Vec;
use dir::{
    put16, put32, DIR_ATTR, DIR_CRT_DATE, DIR_CRT_TIME, DIR_CRT_TIME_TENTH, DIR_ENTRY_SIZE, DIR_FILE_SIZE,
    DIR_FST_CLUS_HI, DIR_FST_CLUS_LO, DIR_LST_ACC_DATE, DIR_NAME, DIR_NTRES, DIR_WRT_DATE, DIR_WRT_TIME, DOTDOT_NAME,
    DOT_NAME, ENTRY_END, ENTRY_FREE,
};
use log::debug;
use spin::Mutex;

/// §6: a directory holds at most 65536 entries (2 MiB).
const MAX_DIR_BYTES: u64 = 65536 * DIR_ENTRY_SIZE as u64;
/// DIR_FileSize is 32 bits.
const MAX_FILE_SIZE: u64 = 0xFFFF_FFFF;
/// Numeric tails tried for a generated short name (`~1` .. `~999999`).
const MAX_NUMERIC_TAIL: u32 = 999_999;
/// Zeros written at a time when a file grows past its old end.
const ZERO_CHUNK: usize = 64 * 1024;
/// The first cluster value naming the root directory (as ".." entries do).
const ROOT: u32 = 0;

/// A run of `count` contiguous clusters from `first`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Run {
    first: u32,
    count: u32,
}

/// A contiguous byte range of the device holding part of a file or directory.
#[derive(Clone, Copy, Debug)]
struct Span {
    offset: u64,
    len: u64,
}

/// Where a file's directory entry is: slot `index` of the directory whose first
/// cluster is `dir` (0 for the root), its long name starting at `first_slot`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct EntryLocation {
    dir: u32,
    index: u32,
    first_slot: u32,
}

/// What [`FileSystem::volume_info`] reports.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VolumeInfo {
    /// The root directory's volume label, else the boot sector's ("" for none).
    pub label: String,
    /// The FAT variant.
    pub fat_type: FatType,
    /// Bytes per cluster.
    pub bytes_per_cluster: u32,
    /// Bytes in data clusters.
    pub total_bytes: u64,
    /// Bytes in free data clusters.
    pub free_bytes: u64,
    /// Whether the device refuses writes.
    pub read_only: bool,
}

/// A short entry found while reading a directory, with its long name if valid.
struct Found {
    raw: [u8; DIR_ENTRY_SIZE],
    index: u32,
    first_slot: u32,
    long_name: Option<String>,
}

impl Found {
    fn name(&self) -> String {
        self.long_name.clone().unwrap_or_else(|| dir::short_display(&self.raw))
    }

    fn is_dot(&self) -> bool {
        self.raw[..11] == DOT_NAME || self.raw[..11] == DOTDOT_NAME
    }
}

/// Reads a directory's slots a chunk (one cluster) at a time.
struct DirCursor {
    spans: Vec<Span>,
    slots: u32,
    chunk_bytes: u64,
    chunk_start: Option<u64>,
    chunk: Vec<u8>,
}

/// Mutable state behind the file system's lock.
struct State {
    fat: table::FatWindow,
    /// Free clusters, when known.
    free_count: Option<u32>,
    /// Where allocation searches start (FSI_Nxt_Free).
    next_free: u32,
    fsinfo: Option<u32>,
    fsinfo_dirty: bool,
}

/// A mounted FAT volume. Methods take `&self`; a lock inside serialises them.
pub struct FileSystem {
    dev: Arc<dyn BlockDevice>,
    geo: Geometry,
    read_only: bool,
    clock: fn() -> DateTime,
    state: Mutex<State>,
    /// Directory clusters recently read: a boot resolves `\loader\...` and
    /// `\EFI\...` paths again and again. Emptied by every change to the volume.
    dir_cache: Mutex<dir_cache::DirCache>,
}

fn no_clock() -> DateTime {
    DateTime::FAT_EPOCH
}

fn is_separator(c: char) -> bool {
    c == '\\' || c == '/'
}

impl FileSystem {
    /// Mounts the FAT volume at block 0 of `dev`, checking its boot sector.
    pub fn mount(dev: Arc<dyn BlockDevice>) -> Result<FileSystem, Error> {
        let device_bytes = dev.block_count().saturating_mul(u64::from(dev.block_size()));
        let mut sector = [0u8; bpb::BOOT_SECTOR_BYTES];
        if device_bytes < sector.len() as u64 {
            return Err(Error::BadBootSector {
                field: "device size",
                value: device_bytes,
            });
        }
        io::read_at(&*dev, 0, &mut sector)?;
        let geo = Geometry::parse(&sector, device_bytes)?;
        let mut state = State {
            fat: table::FatWindow::new(),
            free_count: None,
            next_free: 2,
            fsinfo: None,
            fsinfo_dirty: false,
        };
        if let Some(fsinfo) = geo.fsinfo_sector {
            let mut info = [0u8; bpb::BOOT_SECTOR_BYTES];
            io::read_at(&*dev, u64::from(fsinfo) * u64::from(geo.bytes_per_sector), &mut info)?;
            if info.u32_le(bpb::FSI_LEAD_SIG_OFFSET).unwrap_or(0) == bpb::FSI_LEAD_SIG
                && info.u32_le(bpb::FSI_STRUC_SIG_OFFSET).unwrap_or(0) == bpb::FSI_STRUC_SIG
                && info.u32_le(bpb::FSI_TRAIL_SIG_OFFSET).unwrap_or(0) == bpb::FSI_TRAIL_SIG
            {
                state.fsinfo = Some(fsinfo);
                let free = info.u32_le(bpb::FSI_FREE_COUNT_OFFSET).unwrap_or(0);
                if free <= geo.cluster_count {
                    state.free_count = Some(free);
                }
                let next = info.u32_le(bpb::FSI_NXT_FREE_OFFSET).unwrap_or(0);
                if geo.is_data_cluster(next) {
                    state.next_free = next;
                }
            } else {
                debug!("fat: FSInfo sector {fsinfo} has bad signatures, ignoring it");
            }
        }
        debug!(
            "fat: {:?}, {} clusters of {} bytes, {}-byte sectors",
            geo.fat_type, geo.cluster_count, geo.bytes_per_cluster, geo.bytes_per_sector
        );
        Ok(FileSystem {
            read_only: dev.read_only(),
            dev,
            geo,
            clock: no_clock,
            state: Mutex::new(state),
            dir_cache: Mutex::new(dir_cache::DirCache::new()),
        })
    }

    /// Uses `clock` for the timestamps of created and written files (without
    /// one, they get 1980-01-01).
    pub fn with_clock(mut self, clock: fn() -> DateTime) -> FileSystem {
        self.clock = clock;
        self
    }

    /// The volume's FAT variant.
    pub fn fat_type(&self) -> FatType {
        self.geo.fat_type
    }

    /// The volume's checked layout.
    pub fn geometry(&self) -> &Geometry {
        &self.geo
    }

    /// The root directory.
    pub fn root(&self) -> File {
        let mut raw = [0u8; DIR_ENTRY_SIZE];
        raw[DIR_ATTR] = ATTR_DIRECTORY;
        File {
            name: String::new(),
            raw,
            first_cluster: ROOT,
            location: None,
            runs: None,
        }
    }

    /// Opens `path` relative to the directory `dir` (from the root when it
    /// starts with a separator). Names match case-insensitively; `\` and `/`
    /// separate; `.` and `..` are honoured.
    pub fn open(&self, dir: &File, path: &str) -> Result<File, Error> {
        let st = &mut *self.state.lock();
        let mut file = self.resolve(st, dir, path)?;
        if !file.is_directory() {
            file.runs = Some(self.file_runs(st, &file)?);
        }
        Ok(file)
    }

    /// Reads the directory entry at `*position` (a slot index, 0 to start) and
    /// moves `position` past it. Returns None at the end. "." and ".." are
    /// returned like other entries; volume labels and deleted entries are not.
    pub fn read_dir(&self, dir: &File, position: &mut u32) -> Result<Option<File>, Error> {
        if !dir.is_directory() {
            return Err(Error::NotADirectory { name: dir.name.clone() });
        }
        let st = &mut *self.state.lock();
        let mut cursor = self.dir_cursor(st, dir.first_cluster)?;
        while let Some(found) = self.next_found(&mut cursor, position)? {
            if dir::is_volume_label(&found.raw) {
                continue;
            }
            return Ok(Some(self.file_from_found(dir.first_cluster, found)));
        }
        Ok(None)
    }

    /// Reads from `offset` into `buf`; returns the bytes read (0 at or past the end).
    pub fn read(&self, file: &mut File, offset: u64, buf: &mut [u8]) -> Result<usize, Error> {
        if file.is_directory() {
            return Err(Error::IsADirectory {
                name: file.name.clone(),
            });
        }
        let size = file.size();
        if offset >= size || buf.is_empty() {
            return Ok(0);
        }
        let n = (size - offset).min(buf.len() as u64) as usize;
        if file.runs.is_none() {
            let st = &mut *self.state.lock();
            file.runs = Some(self.file_runs(st, file)?);
        }
        let spans = self.run_spans(file.runs.as_deref().unwrap_or(&[]));
        self.read_spans(&spans, offset, &mut buf[..n])?;
        Ok(n)
    }

    /// Writes `data` at `offset`, growing the file (and zero-filling any gap
    /// between its old end and `offset`). Returns the bytes written.
    pub fn write(&self, file: &mut File, offset: u64, data: &[u8]) -> Result<usize, Error> {
        if file.is_directory() {
            return Err(Error::IsADirectory {
                name: file.name.clone(),
            });
        }
        if data.is_empty() {
            return Ok(0);
        }
        let end = offset.saturating_add(data.len() as u64);
        if end > MAX_FILE_SIZE {
            return Err(Error::FileTooLarge { size: end });
        }
        self.mutate(|st| {
            let old = file.size();
            let new = old.max(end);
            self.resize_chain(st, file, new)?;
            let spans = self.run_spans(file.runs.as_deref().unwrap_or(&[]));
            if offset > old {
                self.zero_spans(&spans, old, offset - old)?;
            }
            self.write_spans(&spans, offset, data)?;
            file.set_size(new);
            file.touch((self.clock)());
            file.raw[DIR_ATTR] |= ATTR_ARCHIVE;
            self.store_entry(st, file)?;
            Ok(data.len())
        })
    }

    /// Truncates or extends (with zeros) a file to `size` bytes.
    pub fn set_size(&self, file: &mut File, size: u64) -> Result<(), Error> {
        if file.is_directory() {
            return Err(Error::IsADirectory {
                name: file.name.clone(),
            });
        }
        if size > MAX_FILE_SIZE {
            return Err(Error::FileTooLarge { size });
        }
        self.mutate(|st| {
            let old = file.size();
            self.resize_chain(st, file, size)?;
            if size > old {
                let spans = self.run_spans(file.runs.as_deref().unwrap_or(&[]));
                self.zero_spans(&spans, old, size - old)?;
            }
            file.set_size(size);
            file.touch((self.clock)());
            file.raw[DIR_ATTR] |= ATTR_ARCHIVE;
            self.store_entry(st, file)
        })
    }

    /// Creates an empty file at `path` relative to `dir`.
    pub fn create_file(&self, dir: &File, path: &str) -> Result<File, Error> {
        self.create(dir, path, false)
    }

    /// Creates an empty directory (with its "." and ".." entries).
    pub fn create_dir(&self, dir: &File, path: &str) -> Result<File, Error> {
        self.create(dir, path, true)
    }

    /// Deletes a file, or a directory holding nothing but "." and "..".
    pub fn delete(&self, file: File) -> Result<(), Error> {
        let loc = file.location.ok_or(Error::IsRoot)?;
        if file.raw[..11] == DOT_NAME || file.raw[..11] == DOTDOT_NAME {
            return Err(Error::InvalidName { name: file.name });
        }
        self.mutate(|st| {
            let runs = if file.is_directory() {
                let mut cursor = self.dir_cursor(st, file.first_cluster)?;
                let mut pos = 0;
                while let Some(found) = self.next_found(&mut cursor, &mut pos)? {
                    if !found.is_dot() && !dir::is_volume_label(&found.raw) {
                        return Err(Error::DirectoryNotEmpty {
                            name: file.name.clone(),
                        });
                    }
                }
                self.dir_runs(st, file.first_cluster)?
            } else {
                self.chain_runs(st, file.first_cluster, None)?
            };
            let spans = self.dir_spans(st, loc.dir)?;
            let slots = (loc.index - loc.first_slot + 1) as usize;
            let mut entries = vec![0u8; slots * DIR_ENTRY_SIZE];
            let at = u64::from(loc.first_slot) * DIR_ENTRY_SIZE as u64;
            self.read_spans(&spans, at, &mut entries)?;
            for slot in entries.chunks_mut(DIR_ENTRY_SIZE) {
                slot[0] = ENTRY_FREE;
            }
            self.write_spans(&spans, at, &entries)?;
            self.release(st, &runs)
        })
    }

    /// Renames a file or directory within its directory.
    pub fn rename(&self, file: &mut File, new_name: &str) -> Result<(), Error> {
        let loc = file.location.ok_or(Error::IsRoot)?;
        if new_name.contains(is_separator) {
            return Err(Error::InvalidName { name: new_name.into() });
        }
        let plan = dir::plan_name(new_name).ok_or_else(|| Error::InvalidName { name: new_name.into() })?;
        self.mutate(|st| {
            if let Some(other) = self.find_in_dir(st, loc.dir, new_name)? {
                if other.location != Some(loc) {
                    return Err(Error::AlreadyExists { name: new_name.into() });
                }
            }
            let mut raw = file.raw;
            let new_loc = self.add_entry(st, loc.dir, &plan, &mut raw)?;
            let spans = self.dir_spans(st, loc.dir)?;
            for slot in loc.first_slot..=loc.index {
                self.write_spans(&spans, u64::from(slot) * DIR_ENTRY_SIZE as u64, &[ENTRY_FREE])?;
            }
            file.raw = raw;
            file.location = Some(new_loc);
            file.name = new_name.trim_end_matches([' ', '.']).into();
            Ok(())
        })
    }

    /// Sets the read-only, hidden, system and archive attributes (the directory
    /// bit stays as it is).
    pub fn set_attributes(&self, file: &mut File, attributes: u8) -> Result<(), Error> {
        if file.is_root() {
            return Err(Error::IsRoot);
        }
        let settable = ATTR_READ_ONLY | ATTR_HIDDEN | ATTR_SYSTEM | ATTR_ARCHIVE;
        self.mutate(|st| {
            file.raw[DIR_ATTR] = (file.raw[DIR_ATTR] & ATTR_DIRECTORY) | (attributes & settable);
            self.store_entry(st, file)
        })
    }

    /// Sets the timestamps given (None leaves one as it is).
    pub fn set_times(
        &self,
        file: &mut File,
        created: Option<DateTime>,
        modified: Option<DateTime>,
        accessed: Option<DateTime>,
    ) -> Result<(), Error> {
        if file.is_root() {
            return Err(Error::IsRoot);
        }
        self.mutate(|st| {
            if let Some(t) = created {
                let (date, time, tenths) = t.to_fat();
                put16(&mut file.raw, DIR_CRT_DATE, date);
                put16(&mut file.raw, DIR_CRT_TIME, time);
                file.raw[DIR_CRT_TIME_TENTH] = tenths;
            }
            if let Some(t) = modified {
                let (date, time, _) = t.to_fat();
                put16(&mut file.raw, DIR_WRT_DATE, date);
                put16(&mut file.raw, DIR_WRT_TIME, time);
            }
            if let Some(t) = accessed {
                put16(&mut file.raw, DIR_LST_ACC_DATE, t.to_fat().0);
            }
            self.store_entry(st, file)
        })
    }

    /// Re-reads a file's directory entry (after another handle changed it).
    pub fn refresh(&self, file: &mut File) -> Result<(), Error> {
        let Some(loc) = file.location else {
            return Ok(());
        };
        let st = &mut *self.state.lock();
        let spans = self.dir_spans(st, loc.dir)?;
        self.read_spans(&spans, u64::from(loc.index) * DIR_ENTRY_SIZE as u64, &mut file.raw)?;
        file.first_cluster = self.entry_cluster(&file.raw);
        file.runs = None;
        Ok(())
    }

    /// Writes cached FAT sectors and FSInfo, then flushes the device.
    pub fn flush(&self) -> Result<(), Error> {
        if self.read_only {
            return Ok(());
        }
        let st = &mut *self.state.lock();
        self.sync(st)?;
        self.dev.flush()?;
        Ok(())
    }

    /// Label, cluster size, total and free space.
    pub fn volume_info(&self) -> Result<VolumeInfo, Error> {
        let st = &mut *self.state.lock();
        let free = self.free_clusters(st)?;
        let mut label = None;
        let mut cursor = self.dir_cursor(st, ROOT)?;
        let mut pos = 0;
        while let Some(found) = self.next_found(&mut cursor, &mut pos)? {
            if dir::is_volume_label(&found.raw) {
                label = Some(label_text(&found.raw[..11]));
                break;
            }
        }
        let label = label.unwrap_or_else(|| {
            let bpb = label_text(&self.geo.bpb_label);
            if bpb == "NO NAME" {
                String::new()
            } else {
                bpb
            }
        });
        let bpc = u64::from(self.geo.bytes_per_cluster);
        Ok(VolumeInfo {
            label,
            fat_type: self.geo.fat_type,
            bytes_per_cluster: self.geo.bytes_per_cluster,
            total_bytes: u64::from(self.geo.cluster_count) * bpc,
            free_bytes: u64::from(free) * bpc,
            read_only: self.read_only,
        })
    }

    // ---- internals ----

    /// Runs `f` under the lock on a writable volume, then writes back the FAT
    /// and FSInfo whatever `f` returned.
    fn mutate<T>(&self, f: impl FnOnce(&mut State) -> Result<T, Error>) -> Result<T, Error> {
        if self.read_only {
            return Err(Error::ReadOnly);
        }
        let st = &mut *self.state.lock();
        // Every write to the volume happens in here: cached directory
        // clusters may change, so none survives.
        self.dir_cache.lock().clear();
        let result = f(st);
        self.dir_cache.lock().clear();
        let synced = self.sync(st);
        let value = result?;
        synced?;
        Ok(value)
    }
}

fn label_text(name: &[u8]) -> String {
    let s: String = name
        .iter()
        .map(|&b| if b.is_ascii() && b >= 0x20 { char::from(b) } else { '_' })
        .collect();
    String::from(s.trim_end())
}
