//! The EFI ABI edge of the file system: `EFI_SIMPLE_FILE_SYSTEM_PROTOCOL`
//! (UEFI 2.10 §13.4) and `EFI_FILE_PROTOCOL` (§13.5).
//!
//! Every protocol lives in a `#[repr(C)]` instance whose first field is the
//! r-efi protocol struct, so the `This` pointer an application passes is the
//! instance's address. A thunk accepts `This` only if it is the address of a
//! live instance this module created (a registry of addresses, checked before
//! any dereference) whose signature matches; anything else gets
//! EFI_INVALID_PARAMETER. File instances are heap allocations: Close and
//! Delete take them out of the registry, then free them. Thunks check the
//! other pointers, call [`handle`](super::handle) under the instance's lock
//! and return the specification's status. Nothing here calls back into an
//! application, so no lock is held across application code.
#![deny(unsafe_op_in_unsafe_fn)]

use super::handle::{Handle, OpenMode, Volume};
use super::{name, Error};
use alloc::boxed::Box;
use alloc::collections::BTreeSet;
use alloc::vec::Vec;
use core::cell::UnsafeCell;
use core::ffi::c_void;
use fw_drivers::fat::FileSystem;
use r_efi::efi::{Char16, Guid, Status};
use r_efi::protocols::{file, simple_file_system};
use spin::Mutex;

const VOLUME_SIGNATURE: u64 = u64::from_le_bytes(*b"hvfwSFS_");
const FILE_SIGNATURE: u64 = u64::from_le_bytes(*b"hvfwFile");

/// Longest file name accepted, in UCS-2 units: far beyond any FAT path, and a
/// bound on the scan for the terminator.
const MAX_PATH_UNITS: usize = 32 * 1024;

/// Addresses of every SimpleFileSystem instance (never freed).
static VOLUMES: Mutex<Vec<usize>> = Mutex::new(Vec::new());
/// Addresses of the file instances not yet closed.
static FILES: Mutex<BTreeSet<usize>> = Mutex::new(BTreeSet::new());

/// One FAT volume's `EFI_SIMPLE_FILE_SYSTEM_PROTOCOL` instance. See the
/// [module docs](super) for how the firmware installs it.
#[repr(C)]
pub struct SimpleFileSystem {
    protocol: UnsafeCell<simple_file_system::Protocol>,
    signature: u64,
    volume: Volume,
}

// SAFETY: the protocol struct is written only at creation; UnsafeCell is there
// because applications receive a `*mut` to it. The volume's mutable state is
// behind the FAT driver's lock, and the firmware runs on one CPU (DESIGN.md).
unsafe impl Sync for SimpleFileSystem {}
// SAFETY: as above.
unsafe impl Send for SimpleFileSystem {}

impl SimpleFileSystem {
    /// Wraps a mounted volume in a protocol instance, leaked on purpose: it
    /// must outlive every application and every file handle opened from it.
    pub fn create(fs: FileSystem) -> &'static SimpleFileSystem {
        let instance: &'static SimpleFileSystem = Box::leak(Box::new(SimpleFileSystem {
            protocol: UnsafeCell::new(simple_file_system::Protocol {
                revision: simple_file_system::REVISION,
                open_volume,
            }),
            signature: VOLUME_SIGNATURE,
            volume: Volume::new(fs),
        }));
        VOLUMES
            .lock()
            .push(core::ptr::from_ref::<SimpleFileSystem>(instance) as usize);
        instance
    }

    /// The `EFI_SIMPLE_FILE_SYSTEM_PROTOCOL` to install on the partition's handle.
    pub fn protocol(&self) -> *mut simple_file_system::Protocol {
        self.protocol.get()
    }

    /// The mounted volume (for the firmware's own file access).
    pub fn file_system(&self) -> &FileSystem {
        &self.volume.fs
    }
}

#[repr(C)]
struct FileInstance {
    protocol: UnsafeCell<file::Protocol>,
    signature: u64,
    volume: &'static SimpleFileSystem,
    handle: Mutex<Handle>,
}

/// Allocates and registers a file instance; returns its protocol pointer.
fn new_file(volume: &'static SimpleFileSystem, handle: Handle) -> *mut file::Protocol {
    let instance = Box::into_raw(Box::new(FileInstance {
        protocol: UnsafeCell::new(file::Protocol {
            revision: file::REVISION,
            open,
            close,
            delete,
            read,
            write,
            get_position,
            set_position,
            get_info,
            set_info,
            flush,
            open_ex,
            read_ex,
            write_ex,
            flush_ex,
        }),
        signature: FILE_SIGNATURE,
        volume,
        handle: Mutex::new(handle),
    }));
    FILES.lock().insert(instance as usize);
    // The protocol struct is the first field of a #[repr(C)] struct.
    instance.cast::<file::Protocol>()
}

fn volume_of(this: *mut simple_file_system::Protocol) -> Option<&'static SimpleFileSystem> {
    if !VOLUMES.lock().contains(&(this as usize)) {
        return None;
    }
    // SAFETY: the address is one `create` leaked, so it is a live
    // SimpleFileSystem for the rest of the firmware's life.
    let instance = unsafe { &*this.cast::<SimpleFileSystem>() };
    (instance.signature == VOLUME_SIGNATURE).then_some(instance)
}

/// The live file instance at `this`.
fn file_of<'a>(this: *mut file::Protocol) -> Option<&'a FileInstance> {
    if !FILES.lock().contains(&(this as usize)) {
        return None;
    }
    // SAFETY: registered addresses are Box allocations from `new_file` that
    // Close/Delete have not freed yet (they unregister before freeing), and
    // nothing frees them while a thunk runs: the firmware is single-threaded
    // and no thunk calls into an application.
    let instance = unsafe { &*this.cast::<FileInstance>() };
    (instance.signature == FILE_SIGNATURE).then_some(instance)
}

/// Runs `f` on the handle at `this`, or returns EFI_INVALID_PARAMETER.
fn with_file(this: *mut file::Protocol, f: impl FnOnce(&'static SimpleFileSystem, &mut Handle) -> Status) -> Status {
    let Some(instance) = file_of(this) else {
        return Status::INVALID_PARAMETER;
    };
    let mut handle = instance.handle.lock();
    f(instance.volume, &mut handle)
}

/// Unregisters and frees the file instance at `this`, handing back its state.
fn take_file(this: *mut file::Protocol) -> Option<(&'static SimpleFileSystem, Handle)> {
    file_of(this)?;
    FILES.lock().remove(&(this as usize));
    // SAFETY: `this` was a registered (so live) Box allocation from `new_file`;
    // it is now unregistered, so no other thunk reaches it and it is freed once.
    let instance = unsafe { Box::from_raw(this.cast::<FileInstance>()) };
    Some((instance.volume, instance.handle.into_inner()))
}

/// Turns an error into its status; a damaged volume or a failing device is
/// worth telling the user about (an application may just say "not found").
fn report(service: &str, e: &Error) -> Status {
    let status = e.status();
    if status == Status::VOLUME_CORRUPTED || status == Status::DEVICE_ERROR {
        log::warn!("file system: {service}: {e}");
    } else {
        log::debug!("sfs: {service}: {e}");
    }
    status
}

/// Whether `pointer` can be written as a `T` (non-null, aligned).
fn writable<T>(pointer: *mut T) -> bool {
    !pointer.is_null() && pointer.is_aligned()
}

/// The NUL-terminated UCS-2 string at `string` (without the NUL), or `None`
/// for a null or misaligned pointer or no NUL within [`MAX_PATH_UNITS`].
///
/// # Safety
/// A non-null, aligned `string` must point at a NUL-terminated string, as the
/// specification requires of callers.
unsafe fn ucs2_string<'a>(string: *const Char16) -> Option<&'a [u16]> {
    // SAFETY: the caller's contract.
    unsafe { fw_core::caller_buffer::ucs2_string(string, MAX_PATH_UNITS) }.ok()
}

/// The caller's byte buffer of `size` bytes at `buffer`; empty for size 0.
///
/// # Safety
/// A non-null `buffer` must be valid for `size` bytes for `'a`, as the
/// specification requires of callers.
unsafe fn byte_buffer<'a>(buffer: *mut c_void, size: usize) -> Option<&'a mut [u8]> {
    // SAFETY: the caller provides `size` bytes there; the claim is checked first.
    unsafe { fw_core::caller_buffer::slice_mut(buffer.cast::<u8>(), size) }.ok()
}

/// Reads the GUID at `guid` (any alignment).
///
/// # Safety
/// A non-null `guid` must point at 16 readable bytes.
unsafe fn read_guid(guid: *const Guid) -> Option<Guid> {
    if guid.is_null() {
        return None;
    }
    // SAFETY: non-null; the caller passes an EFI_GUID.
    Some(unsafe { guid.read_unaligned() })
}

// ---- EFI_SIMPLE_FILE_SYSTEM_PROTOCOL ----

unsafe extern "efiapi" fn open_volume(
    this: *mut simple_file_system::Protocol,
    root: *mut *mut file::Protocol,
) -> Status {
    let Some(volume) = volume_of(this) else {
        return Status::INVALID_PARAMETER;
    };
    if !writable(root) {
        return Status::INVALID_PARAMETER;
    }
    let protocol = new_file(volume, Handle::root(&volume.volume));
    // SAFETY: checked non-null and aligned; the caller provides it for the
    // root handle (§13.4.2).
    unsafe { root.write(protocol) };
    Status::SUCCESS
}

// ---- EFI_FILE_PROTOCOL ----

unsafe extern "efiapi" fn open(
    this: *mut file::Protocol,
    new_handle: *mut *mut file::Protocol,
    file_name: *mut Char16,
    open_mode: u64,
    attributes: u64,
) -> Status {
    if !writable(new_handle) {
        return Status::INVALID_PARAMETER;
    }
    // SAFETY: Open's caller passes a NUL-terminated name (§13.5.2).
    let Some(units) = (unsafe { ucs2_string(file_name) }) else {
        return Status::INVALID_PARAMETER;
    };
    with_file(this, |volume, handle| {
        let opened = name::from_ucs2(units).and_then(|path| {
            let mode = OpenMode::from_efi(open_mode)?;
            handle.open(&volume.volume, &path, mode, attributes)
        });
        match opened {
            Ok(new) => {
                let protocol = new_file(volume, new);
                // SAFETY: checked non-null and aligned; the caller provides it
                // for the new handle (§13.5.2).
                unsafe { new_handle.write(protocol) };
                Status::SUCCESS
            }
            Err(e) => report("Open", &e),
        }
    })
}

unsafe extern "efiapi" fn close(this: *mut file::Protocol) -> Status {
    let Some((volume, handle)) = take_file(this) else {
        return Status::INVALID_PARAMETER;
    };
    handle.close(&volume.volume);
    Status::SUCCESS
}

unsafe extern "efiapi" fn delete(this: *mut file::Protocol) -> Status {
    let Some((volume, handle)) = take_file(this) else {
        return Status::INVALID_PARAMETER;
    };
    match handle.delete(&volume.volume) {
        Ok(()) => Status::SUCCESS,
        Err(e) => {
            log::debug!("sfs: Delete: {e}");
            Status::WARN_DELETE_FAILURE
        }
    }
}

unsafe extern "efiapi" fn read(this: *mut file::Protocol, buffer_size: *mut usize, buffer: *mut c_void) -> Status {
    if !writable(buffer_size) {
        return Status::INVALID_PARAMETER;
    }
    // SAFETY: checked non-null and aligned; the caller passes the buffer's size.
    let size = unsafe { buffer_size.read() };
    // SAFETY: the caller provides `size` bytes at `buffer` (§13.5.7).
    let Some(buf) = (unsafe { byte_buffer(buffer, size) }) else {
        return Status::INVALID_PARAMETER;
    };
    with_file(this, |volume, handle| {
        let (status, done) = if handle.is_directory() {
            match handle.read_dir(&volume.volume, size) {
                Ok(Some(info)) => {
                    buf[..info.len()].copy_from_slice(&info);
                    (Status::SUCCESS, info.len())
                }
                Ok(None) => (Status::SUCCESS, 0),
                Err(Error::BufferTooSmall { needed }) => (Status::BUFFER_TOO_SMALL, needed),
                Err(e) => (report("Read", &e), 0),
            }
        } else {
            match handle.read(&volume.volume, buf) {
                Ok(n) => (Status::SUCCESS, n),
                Err(e) => (report("Read", &e), 0),
            }
        };
        // SAFETY: checked non-null and aligned above; it returns the size.
        unsafe { buffer_size.write(done) };
        status
    })
}

unsafe extern "efiapi" fn write(this: *mut file::Protocol, buffer_size: *mut usize, buffer: *mut c_void) -> Status {
    if !writable(buffer_size) {
        return Status::INVALID_PARAMETER;
    }
    // SAFETY: checked non-null and aligned; the caller passes the data's size.
    let size = unsafe { buffer_size.read() };
    // SAFETY: the caller provides `size` bytes at `buffer` (§13.5.8).
    let Some(data) = (unsafe { byte_buffer(buffer, size) }) else {
        return Status::INVALID_PARAMETER;
    };
    with_file(this, |volume, handle| {
        let (status, done) = match handle.write(&volume.volume, data) {
            Ok(n) => (Status::SUCCESS, n),
            Err(e) => (report("Write", &e), 0),
        };
        // SAFETY: checked non-null and aligned above; it returns the size written.
        unsafe { buffer_size.write(done) };
        status
    })
}

unsafe extern "efiapi" fn get_position(this: *mut file::Protocol, position: *mut u64) -> Status {
    if !writable(position) {
        return Status::INVALID_PARAMETER;
    }
    with_file(this, |_, handle| match handle.position() {
        Ok(p) => {
            // SAFETY: checked non-null and aligned; the caller provides it (§13.5.10).
            unsafe { position.write(p) };
            Status::SUCCESS
        }
        Err(e) => report("GetPosition", &e),
    })
}

unsafe extern "efiapi" fn set_position(this: *mut file::Protocol, position: u64) -> Status {
    with_file(this, |_, handle| match handle.set_position(position) {
        Ok(()) => Status::SUCCESS,
        Err(e) => report("SetPosition", &e),
    })
}

unsafe extern "efiapi" fn get_info(
    this: *mut file::Protocol,
    information_type: *mut Guid,
    buffer_size: *mut usize,
    buffer: *mut c_void,
) -> Status {
    // SAFETY: GetInfo's caller passes an EFI_GUID (§13.5.12).
    let Some(kind) = (unsafe { read_guid(information_type) }) else {
        return Status::INVALID_PARAMETER;
    };
    if !writable(buffer_size) {
        return Status::INVALID_PARAMETER;
    }
    // SAFETY: checked non-null and aligned; the caller passes the buffer's size.
    let size = unsafe { buffer_size.read() };
    with_file(this, |volume, handle| {
        let info = match handle.get_info(&volume.volume, &kind) {
            Ok(info) => info,
            Err(e) => return report("GetInfo", &e),
        };
        // SAFETY: checked non-null and aligned above; it returns the size
        // written or needed.
        unsafe { buffer_size.write(info.len()) };
        if info.len() > size {
            return Status::BUFFER_TOO_SMALL;
        }
        // SAFETY: the caller provides `size` bytes at `buffer` (§13.5.12).
        let Some(buf) = (unsafe { byte_buffer(buffer, size) }) else {
            return Status::INVALID_PARAMETER;
        };
        buf[..info.len()].copy_from_slice(&info);
        Status::SUCCESS
    })
}

unsafe extern "efiapi" fn set_info(
    this: *mut file::Protocol,
    information_type: *mut Guid,
    buffer_size: usize,
    buffer: *mut c_void,
) -> Status {
    // SAFETY: SetInfo's caller passes an EFI_GUID (§13.5.13).
    let Some(kind) = (unsafe { read_guid(information_type) }) else {
        return Status::INVALID_PARAMETER;
    };
    if buffer.is_null() {
        return Status::INVALID_PARAMETER;
    }
    // SAFETY: the caller provides `buffer_size` bytes at `buffer` (§13.5.13).
    let Some(bytes) = (unsafe { byte_buffer(buffer, buffer_size) }) else {
        return Status::INVALID_PARAMETER;
    };
    with_file(this, |volume, handle| {
        match handle.set_info(&volume.volume, &kind, bytes) {
            Ok(()) => Status::SUCCESS,
            Err(e) => report("SetInfo", &e),
        }
    })
}

unsafe extern "efiapi" fn flush(this: *mut file::Protocol) -> Status {
    with_file(this, |volume, handle| match handle.flush(&volume.volume) {
        Ok(()) => Status::SUCCESS,
        Err(e) => report("Flush", &e),
    })
}

// Revision 2 services (§13.5.5, §13.5.6, §13.5.9, §13.5.15): not offered; the
// protocol's Revision says 1, so applications do not call them.

unsafe extern "efiapi" fn open_ex(
    _this: *mut file::Protocol,
    _new_handle: *mut *mut file::Protocol,
    _file_name: *mut Char16,
    _open_mode: u64,
    _attributes: u64,
    _token: *mut file::IoToken,
) -> Status {
    Status::UNSUPPORTED
}

unsafe extern "efiapi" fn read_ex(_this: *mut file::Protocol, _token: *mut file::IoToken) -> Status {
    Status::UNSUPPORTED
}

unsafe extern "efiapi" fn write_ex(_this: *mut file::Protocol, _token: *mut file::IoToken) -> Status {
    Status::UNSUPPORTED
}

unsafe extern "efiapi" fn flush_ex(_this: *mut file::Protocol, _token: *mut file::IoToken) -> Status {
    Status::UNSUPPORTED
}
