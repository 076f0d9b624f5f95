//! Booting a kernel through its EFI stub (Linux `Documentation/admin-guide/efi-stub.rst`):
//! LoadImage + LoadOptions + StartImage, with the initrd served by
//! EFI_LOAD_FILE2_PROTOCOL (UEFI 2.10 §13.2) on a handle whose device path is a
//! single vendor media node (§10.3.5.6) holding LINUX_EFI_INITRD_MEDIA_GUID —
//! the interface the stub looks for since Linux 5.8 on every architecture.
//! The `initrd=` command-line convention is not used (see the parent module).

use super::initrd::{self, InitrdSource};
use super::{arm64_placement, cmdline, e820, stub_memory, LinuxError};
use crate::efi::Efi;
use crate::efi_print;
use alloc::boxed::Box;
use core::ffi::c_void;
use uefi_raw::protocol::device_path::DevicePathProtocol;
use uefi_raw::protocol::media::LoadFile2Protocol;
use uefi_raw::{guid, Boolean, Guid, Status};

/// The vendor GUID of the initrd media device path (`linux/efi.h`).
pub const LINUX_EFI_INITRD_MEDIA_GUID: Guid = guid!("5568e427-68fc-4f3d-ac74-ca555231cc68");

const MEDIA_DEVICE_PATH: u8 = 4;
const MEDIA_VENDOR_DP: u8 = 3;
const END_DEVICE_PATH_TYPE: u8 = 0x7f;
const END_ENTIRE_DEVICE_PATH_SUBTYPE: u8 = 0xff;
const VENDOR_NODE_LEN: usize = 4 + 16;

/// Bytes of the initrd device path: the vendor media node and the end node.
pub const INITRD_DEVICE_PATH_LEN: usize = VENDOR_NODE_LEN + 4;

/// The device path the stub locates LoadFile2 by.
pub const fn initrd_device_path() -> [u8; INITRD_DEVICE_PATH_LEN] {
    let mut p = [0u8; INITRD_DEVICE_PATH_LEN];
    p[0] = MEDIA_DEVICE_PATH;
    p[1] = MEDIA_VENDOR_DP;
    p[2] = VENDOR_NODE_LEN as u8;
    p[3] = 0;
    let guid = LINUX_EFI_INITRD_MEDIA_GUID.to_bytes();
    let mut i = 0;
    while i < 16 {
        p[4 + i] = guid[i];
        i += 1;
    }
    p[VENDOR_NODE_LEN] = END_DEVICE_PATH_TYPE;
    p[VENDOR_NODE_LEN + 1] = END_ENTIRE_DEVICE_PATH_SUBTYPE;
    p[VENDOR_NODE_LEN + 2] = 4;
    p
}

/// Installed as the initrd handle's device path; static so it outlives any use.
static INITRD_DEVICE_PATH: [u8; INITRD_DEVICE_PATH_LEN] = initrd_device_path();

/// LoadFile2 serving the concatenated initrds. `#[repr(C)]` with the protocol
/// first: the firmware and the kernel see only `protocol`, and `load_file2`
/// turns its `this` pointer back into the whole struct.
#[repr(C)]
pub struct InitrdLoadFile2<'a, P: InitrdSource> {
    protocol: LoadFile2Protocol,
    /// The initrds in command order; served back to back.
    parts: &'a [P],
    /// Sum of the parts' lengths.
    total: usize,
}

impl<'a, P: InitrdSource> InitrdLoadFile2<'a, P> {
    /// The protocol over `parts` (the initrds, in order).
    pub fn new(parts: &'a [P]) -> InitrdLoadFile2<'a, P> {
        InitrdLoadFile2 {
            protocol: LoadFile2Protocol {
                load_file: load_file2::<P>,
            },
            parts,
            total: initrd::total_len(parts),
        }
    }

    /// The interface pointer to install (and later uninstall).
    pub fn interface(&self) -> *const c_void {
        core::ptr::from_ref::<LoadFile2Protocol>(&self.protocol).cast::<c_void>()
    }

    /// LoadFile2 semantics on safe values: `buffer` is `None` for a NULL
    /// buffer, else exactly `*buffer_size` bytes.
    pub fn load(&self, boot_policy: bool, buffer_size: &mut usize, buffer: Option<&mut [u8]>) -> Status {
        // §13.2: LoadFile2 never loads boot options.
        if boot_policy {
            return Status::UNSUPPORTED;
        }
        let buffer = match buffer {
            Some(b) if b.len() >= self.total => b,
            _ => {
                *buffer_size = self.total;
                return Status::BUFFER_TOO_SMALL;
            }
        };
        // Each part is read now, straight into the kernel's buffer.
        if let Err(status) = initrd::read_all(self.parts, buffer) {
            return status;
        }
        *buffer_size = self.total;
        Status::SUCCESS
    }
}

/// EFI_LOAD_FILE2_PROTOCOL.LoadFile for the initrd. `file_path` (the rest of
/// the initrd device path: the end node) is not needed: the handle serves one file.
unsafe extern "efiapi" fn load_file2<P: InitrdSource>(
    this: *mut LoadFile2Protocol,
    _file_path: *const DevicePathProtocol,
    boot_policy: Boolean,
    buffer_size: *mut usize,
    buffer: *mut c_void,
) -> Status {
    if this.is_null() || buffer_size.is_null() {
        return Status::INVALID_PARAMETER;
    }
    // SAFETY: `this` is the `protocol` field we installed, the first field of a
    // `#[repr(C)]` InitrdLoadFile2 that stays alive until it is uninstalled.
    let me = unsafe { &*(this as *const InitrdLoadFile2<P>) };
    // SAFETY: the caller passes a valid in/out size.
    let size = unsafe { &mut *buffer_size };
    let out = if buffer.is_null() {
        None
    } else {
        // SAFETY: the caller promises `*size` writable bytes at `buffer`.
        Some(unsafe { core::slice::from_raw_parts_mut(buffer.cast::<u8>(), *size) })
    };
    me.load(boot_policy.is_true(), size, out)
}

/// The initrd protocols while installed.
struct InstalledInitrd<'a, P: InitrdSource> {
    handle: uefi_raw::Handle,
    protocol: Box<InitrdLoadFile2<'a, P>>,
}

/// Boots a kernel through its EFI stub.
///
/// - `kernel`: the kernel file's bytes; may be empty when `kernel_path` is
///   given, and the firmware then reads the file itself.
/// - `kernel_path`: the kernel file's full device path (device nodes, a file
///   path node, end node), if known: it becomes the LoadedImage's FilePath.
/// - `initrds`: zero or more initrds, handed to the kernel concatenated in
///   this order through LoadFile2; each is read when the kernel asks, into
///   the kernel's buffer. Empty ones are skipped.
/// - `cmdline`: the command line, passed as UCS-2 LoadOptions.
///
/// Returns only if the kernel did not take over: `Ok(status)` is what the
/// kernel's StartImage returned (it exited, so it failed), `Err` a failure
/// before it started. In both cases the initrd protocols are uninstalled again.
///
/// ```text
/// let status = linux::boot_efi_stub(&efi, &kernel, Some(&kernel_path), &[&initrd], "root=/dev/vda1 ro")?;
/// ```
pub fn boot_efi_stub<P: InitrdSource>(
    efi: &Efi,
    kernel: &[u8],
    kernel_path: Option<&[u8]>,
    initrds: &[P],
    cmdline: &str,
) -> Result<Status, LinuxError> {
    if kernel.is_empty() && kernel_path.is_none() {
        return Err(LinuxError::NoKernel);
    }
    let options = cmdline::load_options(cmdline);
    let image = efi
        .load_image_from_buffer(kernel_path, kernel)
        .map_err(LinuxError::LoadImage)?;
    // SAFETY: `options` lives until this function returns, after StartImage.
    if let Err(status) = unsafe { efi.set_load_options(image, &options) } {
        let _ = efi.unload_image(image);
        return Err(LinuxError::LoadOptions(status));
    }
    if let Err(e) = check_memory(efi, image) {
        let _ = efi.unload_image(image);
        return Err(e);
    }
    let installed = if initrd::total_len(initrds) == 0 {
        None
    } else {
        match install_initrd(efi, initrds) {
            Ok(i) => Some(i),
            Err(e) => {
                let _ = efi.unload_image(image);
                return Err(e);
            }
        }
    };
    let status = efi.start_boot_option(image);
    efi_print!(
        efi,
        "Linux: the kernel returned {}\n",
        crate::status::status_name(status)
    );
    if let Some(i) = installed {
        uninstall_initrd(efi, i);
    }
    Ok(status)
}

/// Refuses an x86 kernel whose stub would not find the block it decompresses
/// into (see [`stub_memory`]); tells an arm64 kernel whose stub could not move
/// it to run where it was loaded (see [`arm64_placement`]); other kernels pass.
fn check_memory(efi: &Efi, image: uefi_raw::Handle) -> Result<(), LinuxError> {
    let Some(headers) = efi.loaded_image_bytes(image, 0x400) else {
        return Ok(());
    };
    if let Some(init_size) = stub_memory::init_size(&headers) {
        return stub_memory::check(&free_regions(efi)?, init_size).map_err(LinuxError::NotEnoughMemory);
    }
    if let Some(size) = arm64_placement::image_size(&headers) {
        if !arm64_placement::stub_can_move(&free_regions(efi)?, size) {
            // SAFETY: a null interface: the protocol is only a marker.
            let fixed = unsafe {
                efi.install_protocol(
                    Some(image),
                    &arm64_placement::LINUX_EFI_LOADED_IMAGE_FIXED_GUID,
                    core::ptr::null(),
                )
            };
            match fixed {
                Ok(_) => log_fixed(efi, size),
                Err(status) => efi_print!(
                    efi,
                    "Linux: cannot ask the kernel to stay where it is loaded: {}\n",
                    crate::status::status_name(status)
                ),
            }
        }
    }
    Ok(())
}

fn log_fixed(efi: &Efi, size: u64) {
    efi_print!(
        efi,
        "Linux: no room to move the {} MiB kernel; it runs where it was loaded\n",
        size.div_ceil(1 << 20)
    );
}

/// The memory map as the stub will see it.
fn free_regions(efi: &Efi) -> Result<alloc::vec::Vec<e820::EfiRegion>, LinuxError> {
    let (size, desc_size) = efi.memory_map_size().map_err(LinuxError::MemoryMap)?;
    // Room for the descriptors the allocation of the buffer itself may add.
    let mut map = alloc::vec![0u8; size + 4 * desc_size];
    let info = efi.memory_map(&mut map).map_err(LinuxError::MemoryMap)?;
    Ok(e820::efi_regions(&map[..info.size], info.desc_size).collect())
}

fn install_initrd<'a, P: InitrdSource>(efi: &Efi, parts: &'a [P]) -> Result<InstalledInitrd<'a, P>, LinuxError> {
    if efi
        .locate_device_path_exact(&LoadFile2Protocol::GUID, &INITRD_DEVICE_PATH)
        .is_some()
    {
        return Err(LinuxError::InitrdProviderExists);
    }
    let protocol = Box::new(InitrdLoadFile2::new(parts));
    let path = INITRD_DEVICE_PATH.as_ptr().cast::<c_void>();
    // SAFETY: a complete device path in a static.
    let handle =
        unsafe { efi.install_protocol(None, &DevicePathProtocol::GUID, path) }.map_err(LinuxError::InstallInitrd)?;
    // SAFETY: a LoadFile2 interface in a Box that `uninstall_initrd` uninstalls
    // before dropping it; `boot_efi_stub` always calls it before returning.
    if let Err(status) = unsafe { efi.install_protocol(Some(handle), &LoadFile2Protocol::GUID, protocol.interface()) } {
        let _ = efi.uninstall_protocol(handle, &DevicePathProtocol::GUID, path);
        return Err(LinuxError::InstallInitrd(status));
    }
    Ok(InstalledInitrd { handle, protocol })
}

fn uninstall_initrd<P: InitrdSource>(efi: &Efi, installed: InstalledInitrd<'_, P>) {
    let path = INITRD_DEVICE_PATH.as_ptr().cast::<c_void>();
    let _ = efi.uninstall_protocol(
        installed.handle,
        &LoadFile2Protocol::GUID,
        installed.protocol.interface(),
    );
    let _ = efi.uninstall_protocol(installed.handle, &DevicePathProtocol::GUID, path);
    drop(installed.protocol);
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::vec;

    fn call(proto: &InitrdLoadFile2<&[u8]>, boot_policy: bool, size: &mut usize, buffer: *mut u8) -> Status {
        let this = proto.interface() as *mut LoadFile2Protocol;
        // SAFETY: `this` is a live InitrdLoadFile2; `buffer` has `*size` bytes or is null.
        unsafe {
            ((*this).load_file)(
                this,
                INITRD_DEVICE_PATH[VENDOR_NODE_LEN..]
                    .as_ptr()
                    .cast::<DevicePathProtocol>(),
                Boolean(u8::from(boot_policy)),
                size,
                buffer.cast::<c_void>(),
            )
        }
    }

    #[test]
    fn device_path_is_one_vendor_media_node_and_an_end_node() {
        let p = initrd_device_path();
        assert_eq!(&p[..4], &[4, 3, 20, 0]);
        assert_eq!(
            &p[4..20],
            &[0x27, 0xe4, 0x68, 0x55, 0xfc, 0x68, 0x3d, 0x4f, 0xac, 0x74, 0xca, 0x55, 0x52, 0x31, 0xcc, 0x68]
        );
        assert_eq!(&p[20..], &[0x7f, 0xff, 4, 0]);
    }

    #[test]
    fn load_file2_guid_is_the_specs() {
        assert_eq!(LoadFile2Protocol::GUID, guid!("4006c0c1-fcb3-403e-996d-4a6c8724e06d"));
    }

    #[test]
    fn load_file2_reports_the_size_for_a_null_buffer() {
        let parts: [&[u8]; 2] = [b"first", b"-second"];
        let proto = InitrdLoadFile2::new(&parts);
        let mut size = 0;
        assert_eq!(
            call(&proto, false, &mut size, core::ptr::null_mut()),
            Status::BUFFER_TOO_SMALL
        );
        assert_eq!(size, 12);
    }

    #[test]
    fn load_file2_reports_the_size_for_a_small_buffer_and_writes_nothing() {
        let parts: [&[u8]; 2] = [b"first", b"-second"];
        let proto = InitrdLoadFile2::new(&parts);
        let mut buf = vec![0xEEu8; 11];
        let mut size = buf.len();
        assert_eq!(
            call(&proto, false, &mut size, buf.as_mut_ptr()),
            Status::BUFFER_TOO_SMALL
        );
        assert_eq!(size, 12);
        assert!(buf.iter().all(|&b| b == 0xEE));
    }

    #[test]
    fn load_file2_copies_the_initrds_in_order() {
        let parts: [&[u8]; 3] = [b"first", b"", b"-second"];
        let proto = InitrdLoadFile2::new(&parts);
        let mut buf = vec![0xEEu8; 16];
        let mut size = buf.len();
        assert_eq!(call(&proto, false, &mut size, buf.as_mut_ptr()), Status::SUCCESS);
        assert_eq!(size, 12);
        assert_eq!(&buf[..12], b"first-second");
        assert_eq!(&buf[12..], &[0xEE; 4]);
    }

    #[test]
    fn load_file2_refuses_boot_policy() {
        let parts: [&[u8]; 1] = [b"x"];
        let proto = InitrdLoadFile2::new(&parts);
        let mut size = 0;
        assert_eq!(
            call(&proto, true, &mut size, core::ptr::null_mut()),
            Status::UNSUPPORTED
        );
    }

    #[test]
    fn load_file2_refuses_a_null_size() {
        let parts: [&[u8]; 1] = [b"x"];
        let proto = InitrdLoadFile2::new(&parts);
        let this = proto.interface() as *mut LoadFile2Protocol;
        // SAFETY: a live protocol; the null size is the point.
        let status = unsafe {
            ((*this).load_file)(
                this,
                core::ptr::null(),
                Boolean(0),
                core::ptr::null_mut(),
                core::ptr::null_mut(),
            )
        };
        assert_eq!(status, Status::INVALID_PARAMETER);
    }
}
