//! Files on a SimpleFileSystem volume (UEFI 2.10 §13.4-§13.5), as the built-in
//! applications need them: read a whole file, list a directory, rename.
//! Every `unsafe` block calls a protocol function the firmware installed, with
//! arguments as the specification requires.

use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;
use core::ffi::c_void;
use fw_bytes::LeFields;
use uefi_raw::protocol::file_system::{FileAttribute, FileInfo, FileMode, FileProtocolV1, SimpleFileSystemProtocol};
use uefi_raw::Status;

/// Largest file the loaders read into memory (kernels and initrds included).
pub const MAX_FILE: u64 = 2 << 30;
/// Most directory entries read from one directory.
const MAX_ENTRIES: usize = 4096;
/// EFI_FILE_DIRECTORY.
const ATTRIBUTE_DIRECTORY: u64 = 0x10;

fn ucs2(path: &str) -> Vec<u16> {
    path.encode_utf16().chain([0]).collect()
}

/// An open file or directory; closed on drop.
pub struct File(*mut FileProtocolV1);

impl Drop for File {
    fn drop(&mut self) {
        // SAFETY: an open file handle from Open/OpenVolume.
        let _ = unsafe { ((*self.0).close)(self.0) };
    }
}

/// A volume's root directory.
pub struct Volume(File);

impl Volume {
    /// Opens the volume of a SimpleFileSystem protocol instance.
    ///
    /// # Safety
    /// `sfs` is a SimpleFileSystem protocol from the firmware.
    pub unsafe fn open(sfs: *mut c_void) -> Result<Volume, Status> {
        let sfs = sfs.cast::<SimpleFileSystemProtocol>();
        let mut root: *mut FileProtocolV1 = core::ptr::null_mut();
        // SAFETY: the caller's contract.
        let status = unsafe { ((*sfs).open_volume)(sfs, &mut root) };
        if status != Status::SUCCESS || root.is_null() {
            return Err(if status == Status::SUCCESS {
                Status::DEVICE_ERROR
            } else {
                status
            });
        }
        Ok(Volume(File(root)))
    }

    /// Opens `path` (backslash-separated, from the root) for reading.
    pub fn open_file(&self, path: &str, mode: FileMode) -> Result<File, Status> {
        let name = ucs2(path);
        let mut file: *mut FileProtocolV1 = core::ptr::null_mut();
        // SAFETY: see the module doc.
        let status = unsafe { ((*self.0 .0).open)(self.0 .0, &mut file, name.as_ptr(), mode, FileAttribute::empty()) };
        if status != Status::SUCCESS || file.is_null() {
            return Err(if status == Status::SUCCESS {
                Status::DEVICE_ERROR
            } else {
                status
            });
        }
        Ok(File(file))
    }

    /// Whether `path` names a file or directory that opens for reading.
    pub fn exists(&self, path: &str) -> bool {
        self.open_file(path, FileMode::READ).is_ok()
    }

    /// Whether `path` can be opened: NOT_FOUND when it is absent, another
    /// status when the volume or device is in trouble.
    pub fn check(&self, path: &str) -> Result<(), Status> {
        self.open_file(path, FileMode::READ).map(|_| ())
    }

    /// The whole file at `path`.
    pub fn read(&self, path: &str) -> Result<Vec<u8>, Status> {
        let file = self.open_file(path, FileMode::READ)?;
        let size = file.size()?;
        if size > MAX_FILE {
            return Err(Status::BAD_BUFFER_SIZE);
        }
        let mut data = vec![0u8; size as usize];
        // A file that ends early (it changed since GetInfo) is an error.
        if file.read_at(0, &mut data)? != data.len() {
            return Err(Status::END_OF_FILE);
        }
        Ok(data)
    }

    /// The names of the regular files in directory `path` (not subdirectories).
    pub fn list(&self, path: &str) -> Result<Vec<String>, Status> {
        let dir = self.open_file(path, FileMode::READ)?;
        let mut names = Vec::new();
        let mut buffer = vec![0u64; 128]; // 1 KiB, 8-byte aligned for FileInfo
        for _ in 0..MAX_ENTRIES {
            let mut size = buffer.len() * 8;
            // SAFETY: see the module doc.
            let mut status = unsafe { ((*dir.0).read)(dir.0, &mut size, buffer.as_mut_ptr().cast::<c_void>()) };
            if status == Status::BUFFER_TOO_SMALL {
                buffer = vec![0u64; size.div_ceil(8)];
                // SAFETY: as above, with the size the firmware asked for.
                status = unsafe { ((*dir.0).read)(dir.0, &mut size, buffer.as_mut_ptr().cast::<c_void>()) };
            }
            if status != Status::SUCCESS {
                return Err(status);
            }
            if size == 0 {
                break;
            }
            let (attributes, name) = parse_file_info(&buffer, size);
            if attributes & ATTRIBUTE_DIRECTORY == 0 {
                names.push(name);
            }
        }
        Ok(names)
    }

    /// Renames the file at `path` within its directory (boot counting).
    pub fn rename(&self, path: &str, new_name: &str) -> Result<(), Status> {
        let file = self.open_file(path, FileMode::READ | FileMode::WRITE)?;
        let mut size = 0usize;
        // SAFETY: a size query with a null buffer.
        let status = unsafe { ((*file.0).get_info)(file.0, &FileInfo::ID, &mut size, core::ptr::null_mut()) };
        if status != Status::BUFFER_TOO_SMALL {
            return Err(status);
        }
        let header = core::mem::size_of::<FileInfo>();
        let name = ucs2(new_name);
        let total = header + name.len() * 2;
        let mut buffer = vec![0u64; total.max(size).div_ceil(8)];
        let mut got = buffer.len() * 8;
        // SAFETY: the buffer is large enough for the current info.
        let status =
            unsafe { ((*file.0).get_info)(file.0, &FileInfo::ID, &mut got, buffer.as_mut_ptr().cast::<c_void>()) };
        if status != Status::SUCCESS {
            return Err(status);
        }
        let bytes: &mut [u8] = bytemuck_u64(&mut buffer);
        bytes[..8].copy_from_slice(&(total as u64).to_le_bytes());
        for (i, unit) in name.iter().enumerate() {
            bytes[header + 2 * i..header + 2 * i + 2].copy_from_slice(&unit.to_le_bytes());
        }
        // SAFETY: `total` bytes of a FileInfo with the new name.
        let status = unsafe { ((*file.0).set_info)(file.0, &FileInfo::ID, total, buffer.as_ptr().cast::<c_void>()) };
        if status == Status::SUCCESS {
            Ok(())
        } else {
            Err(status)
        }
    }
}

impl File {
    /// The file's size in bytes.
    pub fn size(&self) -> Result<u64, Status> {
        Ok(self.info()?.0)
    }

    /// Fills `buffer` from `offset`; the bytes read (fewer at the end of the file).
    pub fn read_at(&self, offset: u64, buffer: &mut [u8]) -> Result<usize, Status> {
        // SAFETY: see the module doc.
        let status = unsafe { ((*self.0).set_position)(self.0, offset) };
        if status != Status::SUCCESS {
            return Err(status);
        }
        let mut done = 0;
        while done < buffer.len() {
            let mut size = buffer.len() - done;
            // SAFETY: see the module doc; the buffer has `size` bytes left.
            let status = unsafe { ((*self.0).read)(self.0, &mut size, buffer[done..].as_mut_ptr().cast::<c_void>()) };
            if status != Status::SUCCESS {
                return Err(status);
            }
            if size == 0 {
                break;
            }
            done += size;
        }
        Ok(done)
    }

    /// (file size, attributes) from GetInfo.
    fn info(&self) -> Result<(u64, u64), Status> {
        let mut buffer = vec![0u64; 128];
        let mut size = buffer.len() * 8;
        // SAFETY: see the module doc.
        let status =
            unsafe { ((*self.0).get_info)(self.0, &FileInfo::ID, &mut size, buffer.as_mut_ptr().cast::<c_void>()) };
        if status != Status::SUCCESS {
            return Err(status);
        }
        let bytes = bytemuck_u64(&mut buffer);
        let file_size = bytes.u64_le(8).unwrap_or(0);
        let attributes = bytes.u64_le(72).unwrap_or(0);
        Ok((file_size, attributes))
    }
}

/// A u64 buffer seen as bytes (the buffers are u64 for FileInfo's alignment).
fn bytemuck_u64(buffer: &mut [u64]) -> &mut [u8] {
    let len = buffer.len() * 8;
    // SAFETY: u64 has no padding and any byte pattern is valid for u8.
    unsafe { core::slice::from_raw_parts_mut(buffer.as_mut_ptr().cast::<u8>(), len) }
}

/// Attributes and name of an EFI_FILE_INFO of `size` bytes: Size, FileSize,
/// PhysicalSize (u64 each), three EFI_TIMEs (16 bytes each), Attribute (u64),
/// then the NUL-terminated name at offset 80.
fn parse_file_info(buffer: &[u64], size: usize) -> (u64, String) {
    let bytes: Vec<u8> = buffer.iter().flat_map(|w| w.to_le_bytes()).take(size).collect();
    let attributes = bytes.u64_le(72).unwrap_or(0);
    let name: Vec<u16> = fw_bytes::utf16_units(bytes.get(80..).unwrap_or_default()).collect();
    (attributes, String::from_utf16_lossy(&name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_name_and_attributes_of_a_file_info() {
        let mut bytes = [0u8; 96];
        bytes[72] = 0x20; // archive
        for (i, c) in "a.conf".encode_utf16().enumerate() {
            bytes[80 + 2 * i..82 + 2 * i].copy_from_slice(&c.to_le_bytes());
        }
        let words: Vec<u64> = bytes
            .chunks_exact(8)
            .map(|c| u64::from_le_bytes(c.try_into().unwrap()))
            .collect();
        assert_eq!(parse_file_info(&words, 96), (0x20, String::from("a.conf")));
    }
}
