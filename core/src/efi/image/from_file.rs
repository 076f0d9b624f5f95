//! LoadImage from a file: the SimpleFileSystem on the device a path leads to
//! opens the file, its headers are read and checked, then each section is read
//! straight into the image's pages.

use super::{fail, place};
use crate::efi::BOOT;
use crate::handles::HandleId;
use crate::image::{self, Machine};
use crate::memory::{AllocateType, EFI_PAGE_SIZE};
use alloc::vec::Vec;
use core::ffi::c_void;
use r_efi::efi;
use r_efi::protocols::{device_path, file, simple_file_system};

/// An image file opened for LoadImage, and where it came from.
pub(super) struct ImageFile {
    /// The open file.
    file: SfsFile,
    /// The device whose SimpleFileSystem opened it.
    device: efi::Handle,
    /// The file part of the device path (the FILE_PATH nodes).
    file_path: Vec<u8>,
}

/// Opens the file a device path names through the SimpleFileSystem on the
/// device the path leads to.
pub(super) fn open_file(path: &[u8]) -> Result<ImageFile, efi::Status> {
    let mut remaining = path.as_ptr() as *mut device_path::Protocol;
    let mut device: efi::Handle = core::ptr::null_mut();
    let mut guid = simple_file_system::PROTOCOL_GUID;
    let status = crate::efi::protocol::locate_device_path(&mut guid, &mut remaining, &mut device);
    if status.is_error() {
        return Err(efi::Status::NOT_FOUND);
    }
    let consumed = remaining as usize - path.as_ptr() as usize;
    let file_part = path[consumed..].to_vec();
    let name = file_path_name(&file_part).ok_or(efi::Status::NOT_FOUND)?;
    let mut sfs: *mut c_void = core::ptr::null_mut();
    let status = crate::efi::protocol::handle_protocol(device, &mut guid, &mut sfs);
    if status.is_error() || sfs.is_null() {
        return Err(efi::Status::NOT_FOUND);
    }
    // SAFETY: the interface is a SimpleFileSystem protocol installed on the
    // device; it is called like an application would, with no lock held.
    let file = unsafe { SfsFile::open(sfs.cast::<simple_file_system::Protocol>(), &name) }?;
    Ok(ImageFile {
        file,
        device,
        file_path: file_part,
    })
}

/// The path name of a run of FILE_PATH media nodes (type 4, subtype 4),
/// joined with backslashes, NUL-terminated.
pub(super) fn file_path_name(path: &[u8]) -> Option<Vec<u16>> {
    let mut name: Vec<u16> = Vec::new();
    for node in crate::handles::device_path::nodes(path) {
        let node = node.ok()?;
        if node.is_end() {
            break;
        }
        if node.kind() != 4 || node.sub_type() != 4 {
            return None;
        }
        let units: Vec<u16> = fw_drivers::bytes::utf16_units(node.data()).collect();
        if !name.is_empty() && name.last() != Some(&u16::from(b'\\')) && units.first() != Some(&u16::from(b'\\')) {
            name.push(u16::from(b'\\'));
        }
        name.extend(units);
    }
    if name.is_empty() {
        return None;
    }
    name.push(0);
    Some(name)
}

/// A file opened read-only through a SimpleFileSystem protocol, for LoadImage
/// to read an image's headers and then each section straight into place.
/// Closed on drop.
pub(super) struct SfsFile {
    file: *mut file::Protocol,
    len: u64,
}

impl SfsFile {
    /// # Safety
    /// `sfs` is a live SimpleFileSystem protocol.
    unsafe fn open(sfs: *mut simple_file_system::Protocol, name: &[u16]) -> Result<SfsFile, efi::Status> {
        // SAFETY: the caller's contract; the protocol functions are called with
        // valid pointers, as the specification requires.
        unsafe {
            let mut root: *mut file::Protocol = core::ptr::null_mut();
            let s = ((*sfs).open_volume)(sfs, &mut root);
            if s.is_error() {
                return Err(s);
            }
            let mut f: *mut file::Protocol = core::ptr::null_mut();
            let s = ((*root).open)(root, &mut f, name.as_ptr().cast_mut(), file::MODE_READ, 0);
            ((*root).close)(root);
            if s.is_error() {
                return Err(s);
            }
            let mut file = SfsFile { file: f, len: 0 };
            // The size: seek to the end (§13.5 SetPosition with all ones).
            let s = ((*f).set_position)(f, u64::MAX);
            if s.is_error() || ((*f).get_position)(f, &mut file.len).is_error() {
                return Err(efi::Status::LOAD_ERROR);
            }
            Ok(file)
        }
    }

    /// Fills `buffer` from `offset`; a short read is an error.
    fn read_at(&mut self, offset: u64, buffer: &mut [u8]) -> Result<(), image::ImageError> {
        let len = buffer.len();
        let failed = |status| image::ImageError::Read { offset, len, status };
        // SAFETY: `file` is open (closed only on drop); the buffer is writable
        // for its length.
        unsafe {
            let s = ((*self.file).set_position)(self.file, offset);
            if s.is_error() {
                return Err(failed(s));
            }
            let mut done = 0;
            while done < buffer.len() {
                let mut size = buffer.len() - done;
                let s = ((*self.file).read)(self.file, &mut size, buffer[done..].as_mut_ptr().cast::<c_void>());
                if s.is_error() {
                    return Err(failed(s));
                }
                if size == 0 {
                    return Err(failed(efi::Status::END_OF_FILE));
                }
                done += size;
            }
        }
        Ok(())
    }
}

impl Drop for SfsFile {
    fn drop(&mut self) {
        // SAFETY: the file was opened by `open` and is closed once.
        unsafe { ((*self.file).close)(self.file) };
    }
}

/// Bytes read from the start of a file before its headers are measured.
const HEADER_PREFIX: u64 = 4096;

impl ImageFile {
    /// LoadImage from the file: the headers are read and checked, then every
    /// section is read from the file straight into the image's pages (one device
    /// request per contiguous run), so a kernel is neither buffered nor copied.
    pub(super) fn load(&mut self, parent: efi::Handle, full_path: &[u8]) -> Result<HandleId, efi::Status> {
        let file = &mut self.file;
        let bad = |e: image::ImageError| fail(&alloc::format!("{e}"), e.status());
        let mut prefix = alloc::vec![0u8; file.len.min(HEADER_PREFIX) as usize];
        file.read_at(0, &mut prefix).map_err(bad)?;
        let wanted = image::headers_len(&prefix).map_err(bad)?.min(file.len);
        // Headers beyond the first 4 KiB are unusual but legal: read them into pages.
        let larger;
        let headers: &[u8] = if wanted as usize <= prefix.len() {
            &prefix
        } else {
            let mut buffer = FileBuffer::new(wanted)?;
            // SAFETY: the pages were allocated for `wanted` bytes and are identity mapped.
            let bytes = unsafe { core::slice::from_raw_parts_mut(buffer.as_mut_ptr(), buffer.len()) };
            file.read_at(0, bytes).map_err(bad)?;
            larger = buffer;
            &larger
        };
        let pe = image::parse_headers(headers, file.len, Machine::NATIVE).map_err(bad)?;
        place(
            parent,
            &pe,
            headers,
            &mut |offset, target| file.read_at(offset, target),
            self.device,
            Some(full_path),
            Some(&self.file_path),
        )
    }

    /// LoadImage from the file when FileAuthentication must see it (Secure
    /// Boot is on, or a program replaced the function): the whole file is read
    /// into pages, authenticated, and loaded from there (the digest covers all
    /// of it).
    pub(super) fn load_authenticated(
        &mut self,
        parent: efi::Handle,
        full_path: &[u8],
        boot_policy: efi::Boolean,
    ) -> Result<(HandleId, efi::Status), efi::Status> {
        let file = &mut self.file;
        let mut buffer = FileBuffer::new(file.len)?;
        // SAFETY: the pages were allocated for `len` bytes and are identity mapped.
        let bytes = unsafe { core::slice::from_raw_parts_mut(buffer.as_mut_ptr(), buffer.len()) };
        file.read_at(0, bytes)
            .map_err(|e| fail(&alloc::format!("{e}"), e.status()))?;
        let source = super::Source {
            parent,
            device: self.device,
            full_path: Some(full_path),
            file_path: Some(&self.file_path),
            boot_policy,
        };
        super::load_authenticated(&source, &buffer)
    }
}

/// Bytes for LoadImage in pages of their own (headers too large for the
/// firmware's heap). Freed on drop.
struct FileBuffer {
    address: u64,
    pages: u64,
    len: usize,
}

impl FileBuffer {
    fn new(len: u64) -> Result<FileBuffer, efi::Status> {
        let pages = len.div_ceil(EFI_PAGE_SIZE).max(1);
        let address = BOOT
            .lock()
            .memory
            .allocate_pages(
                AllocateType::AnyPages,
                crate::memory::MemoryType::BootServicesData,
                pages,
            )
            .map_err(|_| efi::Status::OUT_OF_RESOURCES)?;
        Ok(FileBuffer {
            address,
            pages,
            len: len as usize,
        })
    }

    fn len(&self) -> usize {
        self.len
    }

    fn as_mut_ptr(&mut self) -> *mut u8 {
        self.address as *mut u8
    }
}

impl core::ops::Deref for FileBuffer {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        // SAFETY: the pages were allocated for `len` bytes and are identity mapped.
        unsafe { core::slice::from_raw_parts(self.address as *const u8, self.len) }
    }
}

impl Drop for FileBuffer {
    fn drop(&mut self) {
        let _ = BOOT.lock().memory.free_pages(self.address, self.pages);
    }
}
