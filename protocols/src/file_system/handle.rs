//! What one `EFI_FILE_PROTOCOL` handle does (UEFI 2.10 §13.5.2–§13.5.15), as
//! safe Rust over [`fw_drivers::fat`]: the open file, its position, its open
//! mode and, for directories, where the listing stands. The ABI edge in
//! [`efi`](super::efi) checks pointers and calls these.
#![forbid(unsafe_code)]

use super::info::{self, FileInfo, FileSystemInfo};
use super::Error;
use alloc::string::String;
use alloc::vec::Vec;
use fw_drivers::fat::{self, FileSystem, VolumeInfo, ATTR_ARCHIVE, ATTR_HIDDEN, ATTR_READ_ONLY, ATTR_SYSTEM};
use log::debug;
use r_efi::efi::Guid;
use r_efi::protocols::file;
use spin::Once;

/// SetPosition's "end of file" position (§13.5.11).
pub const END_OF_FILE: u64 = u64::MAX;

/// Attributes Open (with CREATE) and SetInfo may set besides EFI_FILE_DIRECTORY.
const SETTABLE_ATTRIBUTES: u8 = ATTR_READ_ONLY | ATTR_HIDDEN | ATTR_SYSTEM | ATTR_ARCHIVE;

/// One mounted volume shared by all its handles.
pub struct Volume {
    /// The FAT file system.
    pub fs: FileSystem,
    read_only: Once<bool>,
}

impl Volume {
    /// A volume over `fs`.
    pub fn new(fs: FileSystem) -> Volume {
        Volume {
            fs,
            read_only: Once::new(),
        }
    }

    /// Label, sizes and read-only flag; remembers the flag.
    fn info(&self) -> Result<VolumeInfo, Error> {
        let info = self.fs.volume_info()?;
        self.read_only.call_once(|| info.read_only);
        Ok(info)
    }

    /// Whether the device is read-only (asked of the driver once).
    fn read_only(&self) -> Result<bool, Error> {
        match self.read_only.get() {
            Some(&r) => Ok(r),
            None => Ok(self.info()?.read_only),
        }
    }

    fn bytes_per_cluster(&self) -> u64 {
        u64::from(self.fs.geometry().bytes_per_cluster)
    }

    /// EFI_FILE_INFO of `file`.
    fn file_info(&self, file: &fat::File) -> FileInfo {
        let file_size = file.size();
        let bpc = self.bytes_per_cluster().max(1);
        FileInfo {
            file_size,
            physical_size: file_size.div_ceil(bpc) * bpc,
            create_time: info::time_from_fat(file.created()),
            last_access_time: info::time_from_fat(file.accessed()),
            modification_time: info::time_from_fat(file.modified()),
            attribute: u64::from(file.attributes()) & file::VALID_ATTR,
            file_name: file.name().into(),
        }
    }
}

/// The open modes §13.5.2 allows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OpenMode {
    /// EFI_FILE_MODE_READ.
    Read,
    /// EFI_FILE_MODE_READ and WRITE.
    ReadWrite,
    /// EFI_FILE_MODE_READ, WRITE and CREATE.
    Create,
}

impl OpenMode {
    /// The open mode of Open's `OpenMode` bits.
    pub fn from_efi(mode: u64) -> Result<OpenMode, Error> {
        const READ_WRITE: u64 = file::MODE_READ | file::MODE_WRITE;
        const CREATE: u64 = READ_WRITE | file::MODE_CREATE;
        match mode {
            file::MODE_READ => Ok(OpenMode::Read),
            READ_WRITE => Ok(OpenMode::ReadWrite),
            CREATE => Ok(OpenMode::Create),
            _ => Err(Error::InvalidMode { mode }),
        }
    }

    fn writable(self) -> bool {
        self != OpenMode::Read
    }
}

/// The state of one file handle.
pub struct Handle {
    file: fat::File,
    writable: bool,
    /// Byte position (files).
    position: u64,
    /// read_dir position (directories).
    dir_position: u32,
}

impl Handle {
    /// The root directory, as OpenVolume returns it (open for reading and
    /// writing: writes on a read-only device fail with WRITE_PROTECTED).
    pub fn root(volume: &Volume) -> Handle {
        Handle::new(volume.fs.root(), true)
    }

    fn new(file: fat::File, writable: bool) -> Handle {
        Handle {
            file,
            writable,
            position: 0,
            dir_position: 0,
        }
    }

    /// Whether the handle is a directory's.
    pub fn is_directory(&self) -> bool {
        self.file.is_directory()
    }

    /// Whether the handle was opened for writing.
    pub fn writable(&self) -> bool {
        self.writable
    }

    /// Open (§13.5.2): `path` relative to this handle's directory, or to the
    /// root when it starts with `\`; empty opens this file again. CREATE makes
    /// a file, or a directory when `attributes` has EFI_FILE_DIRECTORY, if the
    /// last component is missing.
    pub fn open(&self, volume: &Volume, path: &str, mode: OpenMode, attributes: u64) -> Result<Handle, Error> {
        if mode == OpenMode::Create && attributes & !file::VALID_ATTR != 0 {
            return Err(Error::InvalidAttributes { attributes });
        }
        if mode.writable() && volume.read_only()? {
            return Err(Error::WriteProtected);
        }
        let file = match volume.fs.open(&self.file, path) {
            Ok(file) => {
                if mode.writable() && file.attributes() & ATTR_READ_ONLY != 0 {
                    return Err(Error::FileReadOnly {
                        name: file.name().into(),
                    });
                }
                file
            }
            Err(fat::Error::NotFound { .. }) if mode == OpenMode::Create => {
                create(volume, &self.file, path, attributes)?
            }
            Err(e) => return Err(e.into()),
        };
        debug!("sfs: opened {path:?} ({mode:?})");
        Ok(Handle::new(file, mode.writable()))
    }

    /// Read on a file (§13.5.7): bytes from the position, which advances.
    pub fn read(&mut self, volume: &Volume, buf: &mut [u8]) -> Result<usize, Error> {
        if self.is_directory() {
            return Err(Error::NotOnDirectory {
                service: "Read of bytes",
            });
        }
        let size = self.file.size();
        if self.position > size {
            return Err(Error::PastEnd {
                position: self.position,
                size,
            });
        }
        let n = volume.fs.read(&mut self.file, self.position, buf)?;
        self.position += n as u64;
        Ok(n)
    }

    /// Read on a directory (§13.5.7): the next entry as EFI_FILE_INFO if it
    /// fits in `capacity` bytes, None at the end. When it does not fit the
    /// listing stays where it is and the error says how much is needed.
    pub fn read_dir(&mut self, volume: &Volume, capacity: usize) -> Result<Option<Vec<u8>>, Error> {
        let mut position = self.dir_position;
        let Some(entry) = volume.fs.read_dir(&self.file, &mut position)? else {
            self.dir_position = position;
            return Ok(None);
        };
        let info = volume.file_info(&entry);
        if info.size() > capacity {
            return Err(Error::BufferTooSmall { needed: info.size() });
        }
        self.dir_position = position;
        Ok(Some(info.encode()))
    }

    /// Write (§13.5.8): at the position, growing the file; the position advances.
    pub fn write(&mut self, volume: &Volume, data: &[u8]) -> Result<usize, Error> {
        if self.is_directory() {
            return Err(Error::NotOnDirectory { service: "Write" });
        }
        if !self.writable {
            return Err(Error::OpenedReadOnly { service: "Write" });
        }
        let n = volume.fs.write(&mut self.file, self.position, data)?;
        self.position += n as u64;
        Ok(n)
    }

    /// GetPosition (§13.5.10): files only.
    pub fn position(&self) -> Result<u64, Error> {
        if self.is_directory() {
            return Err(Error::NotOnDirectory { service: "GetPosition" });
        }
        Ok(self.position)
    }

    /// SetPosition (§13.5.11): any byte position on files ([`END_OF_FILE`]
    /// for the end); 0 on directories restarts the listing.
    pub fn set_position(&mut self, position: u64) -> Result<(), Error> {
        if self.is_directory() {
            if position != 0 {
                return Err(Error::DirectoryPosition { position });
            }
            self.dir_position = 0;
        } else if position == END_OF_FILE {
            self.position = self.file.size();
        } else {
            self.position = position;
        }
        Ok(())
    }

    /// GetInfo (§13.5.12): the structure `kind` names, as bytes.
    pub fn get_info(&self, volume: &Volume, kind: &Guid) -> Result<Vec<u8>, Error> {
        if *kind == file::INFO_ID {
            Ok(volume.file_info(&self.file).encode())
        } else if *kind == file::SYSTEM_INFO_ID {
            let v = volume.info()?;
            Ok(FileSystemInfo {
                read_only: v.read_only,
                volume_size: v.total_bytes,
                free_space: v.free_bytes,
                block_size: v.bytes_per_cluster,
                volume_label: v.label,
            }
            .encode())
        } else if *kind == file::SYSTEM_VOLUME_LABEL_ID {
            Ok(info::encode_volume_label(&volume.info()?.label))
        } else {
            Err(Error::UnknownInfoType)
        }
    }

    /// SetInfo (§13.5.13) with the structure `kind` names in `bytes`.
    pub fn set_info(&mut self, volume: &Volume, kind: &Guid, bytes: &[u8]) -> Result<(), Error> {
        if *kind == file::INFO_ID {
            self.set_file_info(volume, &FileInfo::decode(bytes)?)
        } else if *kind == file::SYSTEM_INFO_ID {
            set_label(volume, &FileSystemInfo::decode_label(bytes)?)
        } else if *kind == file::SYSTEM_VOLUME_LABEL_ID {
            set_label(volume, &info::decode_volume_label(bytes)?)
        } else {
            Err(Error::UnknownInfoType)
        }
    }

    /// Applies the changes `new` makes to this file's EFI_FILE_INFO: name
    /// (within its directory), size, attributes and times. An all-zero time
    /// leaves that time unchanged.
    fn set_file_info(&mut self, volume: &Volume, new: &FileInfo) -> Result<(), Error> {
        if new.attribute & !file::VALID_ATTR != 0 {
            return Err(Error::InvalidInfo {
                reason: "Attribute has bits outside EFI_FILE_VALID_ATTR",
            });
        }
        let times = [
            info::time_to_fat(&new.create_time)?,
            info::time_to_fat(&new.modification_time)?,
            info::time_to_fat(&new.last_access_time)?,
        ];
        let old = volume.file_info(&self.file);
        let directory = self.is_directory();
        if (new.attribute & file::DIRECTORY != 0) != directory {
            return Err(Error::ChangeDenied {
                what: "the EFI_FILE_DIRECTORY attribute",
            });
        }
        let rename = new.file_name != old.file_name;
        let resize = new.file_size != old.file_size;
        let new_attributes = (new.attribute as u8) & SETTABLE_ATTRIBUTES;
        let attributes = new_attributes != (old.attribute as u8) & SETTABLE_ATTRIBUTES;
        let old_times = [old.create_time, old.modification_time, old.last_access_time];
        let new_times = [new.create_time, new.modification_time, new.last_access_time];
        let retime = times
            .iter()
            .zip(old_times.iter().zip(new_times.iter()))
            .any(|(t, (o, n))| t.is_some() && o != n);
        if !(rename || resize || attributes || retime) {
            return Ok(());
        }
        if directory && resize {
            return Err(Error::ChangeDenied {
                what: "the size of a directory",
            });
        }
        if !self.writable && (rename || resize || retime) {
            return Err(Error::ChangeDenied {
                what: "more than the attributes of a file opened read-only",
            });
        }
        if self.file.is_root() {
            return Err(Error::ChangeDenied {
                what: "the root directory's information",
            });
        }
        if volume.read_only()? {
            return Err(Error::WriteProtected);
        }
        if rename {
            if new.file_name.contains(['\\', '/']) {
                return Err(Error::Unsupported {
                    what: "moving a file to another directory",
                });
            }
            volume.fs.rename(&mut self.file, &new.file_name)?;
        }
        if resize {
            volume.fs.set_size(&mut self.file, new.file_size)?;
        }
        if attributes {
            volume.fs.set_attributes(&mut self.file, new_attributes)?;
        }
        if retime {
            let changed = |i: usize| if old_times[i] != new_times[i] { times[i] } else { None };
            volume
                .fs
                .set_times(&mut self.file, changed(0), changed(1), changed(2))?;
        }
        Ok(())
    }

    /// Flush (§13.5.14).
    pub fn flush(&self, volume: &Volume) -> Result<(), Error> {
        if !self.writable {
            return Err(Error::OpenedReadOnly { service: "Flush" });
        }
        Ok(volume.fs.flush()?)
    }

    /// What Close does before the handle goes (§13.5.3): flush if it wrote.
    pub fn close(self, volume: &Volume) {
        if self.writable {
            if let Err(e) = volume.fs.flush() {
                debug!("sfs: Close: flush failed: {e}");
            }
        }
    }

    /// Delete (§13.5.4): removes the file (an empty directory); the handle
    /// goes either way.
    pub fn delete(self, volume: &Volume) -> Result<(), Error> {
        if !self.writable {
            return Err(Error::OpenedReadOnly { service: "Delete" });
        }
        let name = String::from(self.file.name());
        volume.fs.delete(self.file)?;
        volume.fs.flush()?;
        debug!("sfs: deleted {name:?}");
        Ok(())
    }
}

/// Creates the missing last component of `path`, with the attributes Open
/// was given.
fn create(volume: &Volume, dir: &fat::File, path: &str, attributes: u64) -> Result<fat::File, Error> {
    let mut file = if attributes & file::DIRECTORY != 0 {
        volume.fs.create_dir(dir, path)?
    } else {
        volume.fs.create_file(dir, path)?
    };
    let wanted = file.attributes() & SETTABLE_ATTRIBUTES | (attributes as u8 & SETTABLE_ATTRIBUTES);
    if wanted != file.attributes() & SETTABLE_ATTRIBUTES {
        volume.fs.set_attributes(&mut file, wanted)?;
    }
    Ok(file)
}

/// SetInfo of the volume label: the driver cannot write labels, so only the
/// current one is accepted.
fn set_label(volume: &Volume, label: &str) -> Result<(), Error> {
    let info = volume.info()?;
    if info.read_only {
        return Err(Error::WriteProtected);
    }
    if label == info.label {
        return Ok(());
    }
    Err(Error::Unsupported {
        what: "changing the volume label",
    })
}
