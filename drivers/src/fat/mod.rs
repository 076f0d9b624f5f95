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
mod dir;
mod dir_cache;
mod io;
mod table;
#[cfg(test)]
mod tests;

pub use bpb::{FatType, Geometry};
pub use dir::{
    DateTime, ATTR_ARCHIVE, ATTR_DIRECTORY, ATTR_HIDDEN, ATTR_READ_ONLY, ATTR_SYSTEM, ATTR_VOLUME_ID, MAX_LONG_NAME,
};

use crate::block::{BlockDevice, BlockError};
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec;
use alloc::vec::Vec;
use core::fmt;
use dir::{
    le16, le32, put16, put32, DIR_ATTR, DIR_CRT_DATE, DIR_CRT_TIME, DIR_CRT_TIME_TENTH, DIR_ENTRY_SIZE, DIR_FILE_SIZE,
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

/// Why a file-system operation failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Error {
    /// The device failed a request.
    Block(BlockError),
    /// A boot sector field is out of range, so this is not a usable FAT volume.
    BadBootSector {
        field: &'static str,
        value: u64,
    },
    /// A cluster chain runs into itself.
    ClusterLoop {
        cluster: u32,
    },
    /// A chain or directory entry names a cluster past the volume's last one.
    ClusterOutOfRange {
        cluster: u32,
    },
    /// A chain continues into a cluster marked free.
    FreeClusterInChain {
        cluster: u32,
    },
    /// A chain continues into a cluster marked bad.
    BadClusterInChain {
        cluster: u32,
    },
    /// A file's chain holds fewer bytes than its size says.
    ChainTooShort {
        first_cluster: u32,
        size: u64,
        chain_bytes: u64,
    },
    /// Adding an entry would take a directory past 65536 entries.
    DirectoryTooLarge {
        first_cluster: u32,
    },
    /// A directory's cluster chain is longer than 65536 entries can fill: the
    /// volume is damaged (FAT specification, directory size limit).
    DirectoryChainTooLong {
        first_cluster: u32,
    },
    /// The fixed FAT12/16 root directory has no free entries left.
    RootDirectoryFull,
    NotFound {
        name: String,
    },
    NotADirectory {
        name: String,
    },
    IsADirectory {
        name: String,
    },
    /// The operation is not possible on the root directory.
    IsRoot,
    /// The device is read-only.
    ReadOnly,
    DiskFull,
    InvalidName {
        name: String,
    },
    DirectoryNotEmpty {
        name: String,
    },
    AlreadyExists {
        name: String,
    },
    /// FAT files hold at most 4 GiB - 1 bytes.
    FileTooLarge {
        size: u64,
    },
}

impl From<BlockError> for Error {
    fn from(e: BlockError) -> Error {
        Error::Block(e)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Block(e) => write!(f, "FAT: {e}"),
            Error::BadBootSector { field, value } => {
                write!(f, "FAT: not a valid boot sector: {field} is {value}")
            }
            Error::ClusterLoop { cluster } => write!(f, "FAT: cluster chain loops at cluster {cluster}"),
            Error::ClusterOutOfRange { cluster } => {
                write!(f, "FAT: cluster {cluster:#x} is outside the volume")
            }
            Error::FreeClusterInChain { cluster } => {
                write!(f, "FAT: cluster chain continues from {cluster} into a free cluster")
            }
            Error::BadClusterInChain { cluster } => {
                write!(f, "FAT: cluster chain continues from {cluster} into a bad cluster")
            }
            Error::ChainTooShort {
                first_cluster,
                size,
                chain_bytes,
            } => write!(
                f,
                "FAT: file at cluster {first_cluster} is {size} bytes but its chain holds {chain_bytes}"
            ),
            Error::DirectoryTooLarge { first_cluster } => {
                write!(f, "FAT: directory at cluster {first_cluster} is full (65536 entries)")
            }
            Error::DirectoryChainTooLong { first_cluster } => {
                write!(f, "FAT: directory at cluster {first_cluster} exceeds 65536 entries")
            }
            Error::RootDirectoryFull => write!(f, "FAT: the root directory is full"),
            Error::NotFound { name } => write!(f, "FAT: {name:?} not found"),
            Error::NotADirectory { name } => write!(f, "FAT: {name:?} is not a directory"),
            Error::IsADirectory { name } => write!(f, "FAT: {name:?} is a directory"),
            Error::IsRoot => write!(f, "FAT: not possible on the root directory"),
            Error::ReadOnly => write!(f, "FAT: the volume is read-only"),
            Error::DiskFull => write!(f, "FAT: no free clusters left"),
            Error::InvalidName { name } => write!(f, "FAT: {name:?} is not a valid file name"),
            Error::DirectoryNotEmpty { name } => write!(f, "FAT: directory {name:?} is not empty"),
            Error::AlreadyExists { name } => write!(f, "FAT: {name:?} already exists"),
            Error::FileTooLarge { size } => write!(f, "FAT: {size} bytes is more than a FAT file holds"),
        }
    }
}

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

/// One file or directory: its name and a copy of its short directory entry.
/// A handle keeps one; the operations on [`FileSystem`] update it and the disk.
#[derive(Clone, Debug)]
pub struct File {
    name: String,
    raw: [u8; DIR_ENTRY_SIZE],
    first_cluster: u32,
    location: Option<EntryLocation>,
    /// The cluster chain, once walked (files only).
    runs: Option<Vec<Run>>,
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
            u64::from(le32(&self.raw, DIR_FILE_SIZE))
        }
    }

    /// The `ATTR_*` bits.
    pub fn attributes(&self) -> u8 {
        self.raw[DIR_ATTR]
    }

    pub fn is_directory(&self) -> bool {
        self.raw[DIR_ATTR] & ATTR_DIRECTORY != 0
    }

    pub fn is_root(&self) -> bool {
        self.location.is_none()
    }

    /// First cluster of the data (0 for an empty file and the root directory).
    pub fn first_cluster(&self) -> u32 {
        self.first_cluster
    }

    pub fn created(&self) -> DateTime {
        DateTime::from_fat(
            le16(&self.raw, DIR_CRT_DATE),
            le16(&self.raw, DIR_CRT_TIME),
            self.raw[DIR_CRT_TIME_TENTH],
        )
    }

    pub fn modified(&self) -> DateTime {
        DateTime::from_fat(le16(&self.raw, DIR_WRT_DATE), le16(&self.raw, DIR_WRT_TIME), 0)
    }

    /// Last access (FAT keeps the date only).
    pub fn accessed(&self) -> DateTime {
        DateTime::from_fat(le16(&self.raw, DIR_LST_ACC_DATE), 0, 0)
    }

    fn set_first_cluster(&mut self, cluster: u32) {
        self.first_cluster = cluster;
        put16(&mut self.raw, DIR_FST_CLUS_HI, (cluster >> 16) as u16);
        put16(&mut self.raw, DIR_FST_CLUS_LO, cluster as u16);
    }

    fn set_size(&mut self, size: u64) {
        put32(&mut self.raw, DIR_FILE_SIZE, size as u32);
    }

    fn touch(&mut self, now: DateTime) {
        let (date, time, _) = now.to_fat();
        put16(&mut self.raw, DIR_WRT_DATE, date);
        put16(&mut self.raw, DIR_WRT_TIME, time);
        put16(&mut self.raw, DIR_LST_ACC_DATE, date);
    }
}

/// What [`FileSystem::volume_info`] reports.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VolumeInfo {
    /// The root directory's volume label, else the boot sector's ("" for none).
    pub label: String,
    pub fat_type: FatType,
    pub bytes_per_cluster: u32,
    /// Bytes in data clusters.
    pub total_bytes: u64,
    pub free_bytes: u64,
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
            if le32(&info, bpb::FSI_LEAD_SIG_OFFSET) == bpb::FSI_LEAD_SIG
                && le32(&info, bpb::FSI_STRUC_SIG_OFFSET) == bpb::FSI_STRUC_SIG
                && le32(&info, bpb::FSI_TRAIL_SIG_OFFSET) == bpb::FSI_TRAIL_SIG
            {
                state.fsinfo = Some(fsinfo);
                let free = le32(&info, bpb::FSI_FREE_COUNT_OFFSET);
                if free <= geo.cluster_count {
                    state.free_count = Some(free);
                }
                let next = le32(&info, bpb::FSI_NXT_FREE_OFFSET);
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

    pub fn fat_type(&self) -> FatType {
        self.geo.fat_type
    }

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

    fn entry_cluster(&self, raw: &[u8]) -> u32 {
        let lo = u32::from(le16(raw, DIR_FST_CLUS_LO));
        if self.geo.fat_type == FatType::Fat32 {
            lo | u32::from(le16(raw, DIR_FST_CLUS_HI)) << 16
        } else {
            lo
        }
    }

    fn file_from_found(&self, dir: u32, found: Found) -> File {
        File {
            name: found.name(),
            first_cluster: self.entry_cluster(&found.raw),
            location: Some(EntryLocation {
                dir,
                index: found.index,
                first_slot: found.first_slot,
            }),
            raw: found.raw,
            runs: None,
        }
    }

    fn run_spans(&self, runs: &[Run]) -> Vec<Span> {
        let bpc = u64::from(self.geo.bytes_per_cluster);
        runs.iter()
            .map(|r| Span {
                offset: self.geo.cluster_offset(r.first),
                len: u64::from(r.count) * bpc,
            })
            .collect()
    }

    /// Calls `f(device_offset, range)` for each piece of `offset..offset+len`
    /// of the stream made of `spans`: one call per contiguous span.
    fn for_each_piece(
        spans: &[Span],
        offset: u64,
        len: usize,
        mut f: impl FnMut(u64, core::ops::Range<usize>) -> Result<(), Error>,
    ) -> Result<(), Error> {
        let end = offset + len as u64;
        let mut pos = 0u64;
        let mut done = 0usize;
        for span in spans {
            let (s, e) = (pos, pos + span.len);
            pos = e;
            if e <= offset || s >= end {
                continue;
            }
            let from = offset.max(s);
            let to = end.min(e);
            let n = (to - from) as usize;
            f(span.offset + (from - s), done..done + n)?;
            done += n;
        }
        if done < len {
            // The caller sized the request from the chain; a shortfall means
            // the chain is shorter than the stream claims.
            return Err(Error::ChainTooShort {
                first_cluster: 0,
                size: end,
                chain_bytes: pos,
            });
        }
        Ok(())
    }

    fn read_spans(&self, spans: &[Span], offset: u64, buf: &mut [u8]) -> Result<(), Error> {
        Self::for_each_piece(spans, offset, buf.len(), |dev_off, range| {
            Ok(io::read_at(&*self.dev, dev_off, &mut buf[range])?)
        })
    }

    /// A chunk of a directory: from the cache when it holds the same device
    /// bytes, else read (and kept when it is one contiguous device range).
    fn read_dir_chunk(&self, spans: &[Span], offset: u64, buf: &mut [u8]) -> Result<(), Error> {
        let mut pieces = 0;
        let mut device_offset = 0;
        Self::for_each_piece(spans, offset, buf.len(), |dev_off, range| {
            if range.start == 0 {
                device_offset = dev_off;
            }
            pieces += 1;
            Ok(())
        })?;
        if pieces == 1 && self.dir_cache.lock().get(device_offset, buf) {
            return Ok(());
        }
        self.read_spans(spans, offset, buf)?;
        if pieces == 1 {
            self.dir_cache.lock().insert(device_offset, buf);
        }
        Ok(())
    }

    fn write_spans(&self, spans: &[Span], offset: u64, data: &[u8]) -> Result<(), Error> {
        Self::for_each_piece(spans, offset, data.len(), |dev_off, range| {
            Ok(io::write_at(&*self.dev, dev_off, &data[range])?)
        })
    }

    fn zero_spans(&self, spans: &[Span], offset: u64, len: u64) -> Result<(), Error> {
        let zeros = vec![0u8; (len.min(ZERO_CHUNK as u64)) as usize];
        let mut done = 0;
        while done < len {
            let n = (len - done).min(ZERO_CHUNK as u64) as usize;
            self.write_spans(spans, offset + done, &zeros[..n])?;
            done += n as u64;
        }
        Ok(())
    }

    /// A file's chain, checked to hold its size.
    fn file_runs(&self, st: &mut State, file: &File) -> Result<Vec<Run>, Error> {
        let runs = self.chain_runs(st, file.first_cluster, None)?;
        let chain_bytes: u64 =
            runs.iter().map(|r| u64::from(r.count)).sum::<u64>() * u64::from(self.geo.bytes_per_cluster);
        if chain_bytes < file.size() {
            return Err(Error::ChainTooShort {
                first_cluster: file.first_cluster,
                size: file.size(),
                chain_bytes,
            });
        }
        Ok(runs)
    }

    /// Grows or shrinks a file's chain to hold `size` bytes exactly.
    fn resize_chain(&self, st: &mut State, file: &mut File, size: u64) -> Result<(), Error> {
        let bpc = u64::from(self.geo.bytes_per_cluster);
        let need = size.div_ceil(bpc) as u32;
        let mut runs = match file.runs.take() {
            Some(r) => r,
            None => self.file_runs(st, file)?,
        };
        let have: u32 = runs.iter().map(|r| r.count).sum();
        if need > have {
            let last = runs.last().map(|r| r.first + r.count - 1);
            let new = self.allocate(st, need - have, last)?;
            if last.is_none() {
                if let Some(&first) = new.first() {
                    file.set_first_cluster(first);
                }
            }
            for c in new {
                match runs.last_mut() {
                    Some(r) if r.first + r.count == c => r.count += 1,
                    _ => runs.push(Run { first: c, count: 1 }),
                }
            }
        } else if need < have {
            let mut kept = 0u32;
            let mut cut = Vec::new();
            let mut keep_runs = Vec::new();
            for r in runs {
                if kept >= need {
                    cut.push(r);
                } else if kept + r.count <= need {
                    kept += r.count;
                    keep_runs.push(r);
                } else {
                    let k = need - kept;
                    keep_runs.push(Run {
                        first: r.first,
                        count: k,
                    });
                    cut.push(Run {
                        first: r.first + k,
                        count: r.count - k,
                    });
                    kept = need;
                }
            }
            match keep_runs.last() {
                Some(r) => self.set_end_of_chain(st, r.first + r.count - 1)?,
                None => file.set_first_cluster(0),
            }
            self.release(st, &cut)?;
            runs = keep_runs;
        }
        file.runs = Some(runs);
        Ok(())
    }

    /// The chain of a directory (first cluster 0 = the root), bounded by the
    /// 65536-entry limit. Empty for the fixed FAT12/16 root.
    fn dir_runs(&self, st: &mut State, first: u32) -> Result<Vec<Run>, Error> {
        let cluster = if first == ROOT { self.geo.root_cluster } else { first };
        if cluster == 0 {
            return Ok(Vec::new());
        }
        let max = MAX_DIR_BYTES.div_ceil(u64::from(self.geo.bytes_per_cluster)) as u32;
        self.chain_runs(
            st,
            cluster,
            Some((max, Error::DirectoryChainTooLong { first_cluster: cluster })),
        )
    }

    fn dir_spans(&self, st: &mut State, first: u32) -> Result<Vec<Span>, Error> {
        if first == ROOT && self.geo.fat_type != FatType::Fat32 {
            return Ok(vec![Span {
                offset: self.geo.root_dir_offset(),
                len: u64::from(self.geo.root_entry_count) * DIR_ENTRY_SIZE as u64,
            }]);
        }
        let runs = self.dir_runs(st, first)?;
        Ok(self.run_spans(&runs))
    }

    fn dir_cursor(&self, st: &mut State, first: u32) -> Result<DirCursor, Error> {
        let spans = self.dir_spans(st, first)?;
        let total: u64 = spans.iter().map(|s| s.len).sum();
        Ok(DirCursor {
            spans,
            slots: (total / DIR_ENTRY_SIZE as u64) as u32,
            chunk_bytes: u64::from(self.geo.bytes_per_cluster),
            chunk_start: None,
            chunk: Vec::new(),
        })
    }

    /// The raw slot `index`, or None past the directory's end.
    fn slot(&self, cursor: &mut DirCursor, index: u32) -> Result<Option<[u8; DIR_ENTRY_SIZE]>, Error> {
        if index >= cursor.slots {
            return Ok(None);
        }
        let total = u64::from(cursor.slots) * DIR_ENTRY_SIZE as u64;
        let at = u64::from(index) * DIR_ENTRY_SIZE as u64;
        let start = at / cursor.chunk_bytes * cursor.chunk_bytes;
        if cursor.chunk_start != Some(start) {
            let len = cursor.chunk_bytes.min(total - start) as usize;
            cursor.chunk.resize(len, 0);
            cursor.chunk_start = None;
            self.read_dir_chunk(&cursor.spans, start, &mut cursor.chunk)?;
            cursor.chunk_start = Some(start);
        }
        let off = (at - start) as usize;
        let mut raw = [0u8; DIR_ENTRY_SIZE];
        raw.copy_from_slice(&cursor.chunk[off..off + DIR_ENTRY_SIZE]);
        Ok(Some(raw))
    }

    /// The next short entry from slot `*pos` on (volume labels included), with
    /// its long name; `*pos` moves past it.
    fn next_found(&self, cursor: &mut DirCursor, pos: &mut u32) -> Result<Option<Found>, Error> {
        let mut lfn = dir::LongNameAssembler::new();
        while let Some(raw) = self.slot(cursor, *pos)? {
            let index = *pos;
            *pos += 1;
            match raw[DIR_NAME] {
                ENTRY_END => {
                    *pos = index;
                    return Ok(None);
                }
                ENTRY_FREE => lfn.reset(),
                _ if dir::is_long_name(&raw) => lfn.push(&raw, index),
                _ => {
                    let (long_name, first_slot) = match lfn.finish(&raw) {
                        Some((name, first)) => (Some(name), first),
                        None => (None, index),
                    };
                    return Ok(Some(Found {
                        raw,
                        index,
                        first_slot,
                        long_name,
                    }));
                }
            }
        }
        Ok(None)
    }

    fn find_in_dir(&self, st: &mut State, dir: u32, name: &str) -> Result<Option<File>, Error> {
        let mut cursor = self.dir_cursor(st, dir)?;
        let mut pos = 0;
        while let Some(found) = self.next_found(&mut cursor, &mut pos)? {
            if dir::is_volume_label(&found.raw) || found.is_dot() {
                continue;
            }
            let long = found.long_name.as_deref().is_some_and(|l| dir::names_match(l, name));
            if long || dir::names_match(&dir::short_display(&found.raw), name) {
                let file = self.file_from_found(dir, found);
                if file.is_directory() && file.first_cluster == ROOT {
                    return Err(Error::ClusterOutOfRange { cluster: 0 });
                }
                return Ok(Some(file));
            }
        }
        Ok(None)
    }

    /// The directory containing `dir`.
    fn parent(&self, st: &mut State, dir: &File) -> Result<File, Error> {
        let Some(loc) = dir.location else {
            return Ok(self.root());
        };
        if loc.dir == ROOT {
            return Ok(self.root());
        }
        // Find the parent's own entry in the grandparent, named by its "..".
        let mut cursor = self.dir_cursor(st, loc.dir)?;
        let mut pos = 0;
        let mut grandparent = None;
        while let Some(found) = self.next_found(&mut cursor, &mut pos)? {
            if found.raw[..11] == DOTDOT_NAME {
                grandparent = Some(self.entry_cluster(&found.raw));
                break;
            }
        }
        let not_found = || Error::NotFound { name: "..".into() };
        let grandparent = grandparent.ok_or_else(not_found)?;
        let mut cursor = self.dir_cursor(st, grandparent)?;
        let mut pos = 0;
        while let Some(found) = self.next_found(&mut cursor, &mut pos)? {
            if !found.is_dot() && found.raw[DIR_ATTR] & ATTR_DIRECTORY != 0 && self.entry_cluster(&found.raw) == loc.dir
            {
                return Ok(self.file_from_found(grandparent, found));
            }
        }
        Err(not_found())
    }

    fn resolve(&self, st: &mut State, dir: &File, path: &str) -> Result<File, Error> {
        let mut cur = if path.starts_with(is_separator) {
            self.root()
        } else {
            dir.clone()
        };
        cur.runs = None;
        for comp in path.split(is_separator).filter(|c| !c.is_empty()) {
            if !cur.is_directory() {
                return Err(Error::NotADirectory { name: cur.name });
            }
            cur = match comp {
                "." => cur,
                ".." => self.parent(st, &cur)?,
                _ => self
                    .find_in_dir(st, cur.first_cluster, comp)?
                    .ok_or_else(|| Error::NotFound { name: comp.into() })?,
            };
        }
        Ok(cur)
    }

    fn store_entry(&self, st: &mut State, file: &File) -> Result<(), Error> {
        let Some(loc) = file.location else {
            return Ok(());
        };
        let spans = self.dir_spans(st, loc.dir)?;
        self.write_spans(&spans, u64::from(loc.index) * DIR_ENTRY_SIZE as u64, &file.raw)
    }

    fn create(&self, dir: &File, path: &str, directory: bool) -> Result<File, Error> {
        let path = path.trim_end_matches(is_separator);
        let (parent_path, leaf) = match path.rfind(is_separator) {
            Some(i) => (&path[..=i], &path[i + 1..]),
            None => ("", path),
        };
        let invalid = || Error::InvalidName { name: leaf.into() };
        if leaf == "." || leaf == ".." {
            return Err(invalid());
        }
        let plan = dir::plan_name(leaf).ok_or_else(invalid)?;
        self.mutate(|st| {
            let parent = self.resolve(st, dir, parent_path)?;
            if !parent.is_directory() {
                return Err(Error::NotADirectory { name: parent.name });
            }
            if self.find_in_dir(st, parent.first_cluster, leaf)?.is_some() {
                return Err(Error::AlreadyExists { name: leaf.into() });
            }
            let now = (self.clock)();
            let (date, time, tenths) = now.to_fat();
            let mut raw = [0u8; DIR_ENTRY_SIZE];
            raw[DIR_ATTR] = if directory { ATTR_DIRECTORY } else { ATTR_ARCHIVE };
            raw[DIR_CRT_TIME_TENTH] = tenths;
            put16(&mut raw, DIR_CRT_TIME, time);
            put16(&mut raw, DIR_CRT_DATE, date);
            put16(&mut raw, DIR_LST_ACC_DATE, date);
            put16(&mut raw, DIR_WRT_TIME, time);
            put16(&mut raw, DIR_WRT_DATE, date);
            let mut file = File {
                name: leaf.trim_end_matches([' ', '.']).into(),
                raw,
                first_cluster: 0,
                location: None,
                runs: Some(Vec::new()),
            };
            if directory {
                let cluster = self.allocate(st, 1, None)?[0];
                file.set_first_cluster(cluster);
                file.runs = None;
                if let Err(e) = self.init_dir_cluster(cluster, &file.raw, parent.first_cluster) {
                    self.release(
                        st,
                        &[Run {
                            first: cluster,
                            count: 1,
                        }],
                    )?;
                    return Err(e);
                }
            }
            match self.add_entry(st, parent.first_cluster, &plan, &mut file.raw) {
                Ok(loc) => file.location = Some(loc),
                Err(e) => {
                    if file.first_cluster != 0 {
                        self.release(
                            st,
                            &[Run {
                                first: file.first_cluster,
                                count: 1,
                            }],
                        )?;
                    }
                    return Err(e);
                }
            }
            debug!(
                "fat: created {:?} in directory cluster {}",
                file.name, parent.first_cluster
            );
            Ok(file)
        })
    }

    /// Zeroes a new directory cluster and writes its "." and ".." entries.
    fn init_dir_cluster(&self, cluster: u32, raw: &[u8; DIR_ENTRY_SIZE], parent: u32) -> Result<(), Error> {
        let mut data = vec![0u8; self.geo.bytes_per_cluster as usize];
        let mut dot = *raw;
        dot[..11].copy_from_slice(&DOT_NAME);
        let mut dotdot = *raw;
        dotdot[..11].copy_from_slice(&DOTDOT_NAME);
        put16(&mut dotdot, DIR_FST_CLUS_HI, (parent >> 16) as u16);
        put16(&mut dotdot, DIR_FST_CLUS_LO, parent as u16);
        data[..DIR_ENTRY_SIZE].copy_from_slice(&dot);
        data[DIR_ENTRY_SIZE..2 * DIR_ENTRY_SIZE].copy_from_slice(&dotdot);
        Ok(io::write_at(&*self.dev, self.geo.cluster_offset(cluster), &data)?)
    }

    /// Writes a new entry (with long-name entries when the plan needs them)
    /// into directory `dir`, growing it by whole clusters when no run of free
    /// slots is long enough. Fills in `raw`'s name and case bits.
    fn add_entry(
        &self,
        st: &mut State,
        dir: u32,
        plan: &dir::NamePlan,
        raw: &mut [u8; DIR_ENTRY_SIZE],
    ) -> Result<EntryLocation, Error> {
        let lfn_slots = match plan {
            dir::NamePlan::Short { .. } => 0,
            dir::NamePlan::Long { units, .. } => units.len().div_ceil(13) as u32,
        };
        let needed = lfn_slots + 1;
        let mut cursor = self.dir_cursor(st, dir)?;
        let mut shorts: Vec<[u8; 11]> = Vec::new();
        let mut fit = None;
        let mut run_start = 0;
        let mut run_len = 0;
        let mut index = 0;
        while let Some(slot) = self.slot(&mut cursor, index)? {
            if slot[DIR_NAME] == ENTRY_END {
                break;
            }
            if slot[DIR_NAME] == ENTRY_FREE {
                if run_len == 0 {
                    run_start = index;
                }
                run_len += 1;
                if run_len >= needed && fit.is_none() {
                    fit = Some(run_start);
                }
            } else {
                run_len = 0;
                if !dir::is_long_name(&slot) {
                    let mut name = [0u8; 11];
                    name.copy_from_slice(&slot[..11]);
                    shorts.push(name);
                }
            }
            index += 1;
        }
        // Slots from `index` on are free (never used, or past the end).
        let tail_start = if run_len > 0 { run_start } else { index };
        if fit.is_none() && cursor.slots - tail_start >= needed {
            fit = Some(tail_start);
        }
        let start = match fit {
            Some(s) => s,
            None => {
                let cluster = if dir == ROOT { self.geo.root_cluster } else { dir };
                if cluster == 0 {
                    return Err(Error::RootDirectoryFull);
                }
                let missing = u64::from(needed - (cursor.slots - tail_start)) * DIR_ENTRY_SIZE as u64;
                let bpc = u64::from(self.geo.bytes_per_cluster);
                let grow = missing.div_ceil(bpc);
                if u64::from(cursor.slots) * DIR_ENTRY_SIZE as u64 + grow * bpc > MAX_DIR_BYTES {
                    return Err(Error::DirectoryTooLarge { first_cluster: cluster });
                }
                let runs = self.dir_runs(st, dir)?;
                let last = runs.last().map(|r| r.first + r.count - 1);
                let new = self.allocate(st, grow as u32, last)?;
                let zeros = vec![0u8; bpc as usize];
                for &c in &new {
                    io::write_at(&*self.dev, self.geo.cluster_offset(c), &zeros)?;
                }
                tail_start
            }
        };
        let (short, nt) = match plan {
            dir::NamePlan::Short { name, nt } => (*name, *nt),
            dir::NamePlan::Long { base, ext, .. } => {
                shorts.sort_unstable();
                let short = (1..=MAX_NUMERIC_TAIL)
                    .map(|n| dir::numbered_short_name(base, ext, n))
                    .find(|s| shorts.binary_search(s).is_err())
                    .ok_or_else(|| Error::AlreadyExists {
                        name: String::from_utf8_lossy(base).into(),
                    })?;
                (short, 0)
            }
        };
        raw[..11].copy_from_slice(&short);
        raw[DIR_NTRES] = nt;
        let mut entries: Vec<u8> = Vec::with_capacity(needed as usize * DIR_ENTRY_SIZE);
        if let dir::NamePlan::Long { units, .. } = plan {
            for e in dir::long_name_entries(units, dir::lfn_checksum(&short)) {
                entries.extend_from_slice(&e);
            }
        }
        entries.extend_from_slice(raw);
        let spans = self.dir_spans(st, dir)?;
        self.write_spans(&spans, u64::from(start) * DIR_ENTRY_SIZE as u64, &entries)?;
        Ok(EntryLocation {
            dir,
            index: start + needed - 1,
            first_slot: start,
        })
    }
}

fn label_text(name: &[u8]) -> String {
    let s: String = name
        .iter()
        .map(|&b| if b.is_ascii() && b >= 0x20 { char::from(b) } else { '_' })
        .collect();
    String::from(s.trim_end())
}
