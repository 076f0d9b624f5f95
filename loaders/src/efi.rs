//! Small safe wrappers over the boot services the built-in applications use.
//! Every `unsafe` block is a call through the system table the firmware gave
//! the application, with arguments as the specification requires.

use alloc::string::String;
use alloc::vec::Vec;
use core::ffi::c_void;
use core::fmt::{self, Write};
use uefi_raw::protocol::device_path::{DevicePathProtocol, DevicePathToTextProtocol};
use uefi_raw::table::boot::BootServices;
use uefi_raw::table::system::SystemTable;
use uefi_raw::{Guid, Handle, Status};

/// The application's view of the firmware.
pub struct Efi {
    pub image: Handle,
    st: *mut SystemTable,
}

impl Efi {
    /// # Safety
    /// `st` is the system table the application was started with.
    pub unsafe fn new(image: Handle, st: *mut SystemTable) -> Efi {
        Efi { image, st }
    }

    fn bs(&self) -> &BootServices {
        // SAFETY: valid while boot services run, which is while apps run.
        unsafe { &*(*self.st).boot_services }
    }

    /// Writes to ConOut, turning `\n` into CR LF.
    pub fn print(&self, args: fmt::Arguments) {
        let _ = ConOut(self).write_fmt(args);
    }

    /// The handles that carry `protocol`, in the firmware's order.
    pub fn handles_with(&self, protocol: &Guid) -> Vec<Handle> {
        let mut count = 0usize;
        let mut buffer: *mut Handle = core::ptr::null_mut();
        // SAFETY: see the module doc; ByProtocol = 2.
        let status =
            unsafe { (self.bs().locate_handle_buffer)(2, protocol, core::ptr::null(), &mut count, &mut buffer) };
        if status != Status::SUCCESS || buffer.is_null() {
            return Vec::new();
        }
        // SAFETY: the firmware returned `count` handles at `buffer`.
        let handles = unsafe { core::slice::from_raw_parts(buffer, count) }.to_vec();
        // SAFETY: the buffer came from the pool.
        let _ = unsafe { (self.bs().free_pool)(buffer as *mut u8) };
        handles
    }

    /// The interface of `protocol` on `handle`.
    pub fn protocol(&self, handle: Handle, protocol: &Guid) -> Option<*mut c_void> {
        let mut interface: *mut c_void = core::ptr::null_mut();
        // SAFETY: see the module doc.
        let status = unsafe { (self.bs().handle_protocol)(handle, protocol, &mut interface) };
        (status == Status::SUCCESS && !interface.is_null()).then_some(interface)
    }

    /// The device path on `handle`, copied.
    pub fn device_path(&self, handle: Handle) -> Option<Vec<u8>> {
        let path = self.protocol(handle, &DevicePathProtocol::GUID)? as *const u8;
        let mut len = 0usize;
        // Walk the nodes in place; bounded so a broken path cannot run away.
        while len < 64 * 1024 {
            // SAFETY: reading node headers of the firmware's device path.
            let (kind, sub, node_len) = unsafe {
                (
                    *path.add(len),
                    *path.add(len + 1),
                    u16::from_le_bytes([*path.add(len + 2), *path.add(len + 3)]),
                )
            };
            if node_len < 4 {
                return None;
            }
            len += usize::from(node_len);
            if kind == 0x7f && sub == 0xff {
                // SAFETY: `len` bytes were just walked.
                return Some(unsafe { core::slice::from_raw_parts(path, len) }.to_vec());
            }
        }
        None
    }

    /// A device path as text (DevicePathToText), or a placeholder.
    pub fn path_text(&self, path: &[u8]) -> String {
        let mut interface: *mut c_void = core::ptr::null_mut();
        // SAFETY: see the module doc.
        let status =
            unsafe { (self.bs().locate_protocol)(&DevicePathToTextProtocol::GUID, core::ptr::null(), &mut interface) };
        if status != Status::SUCCESS || interface.is_null() {
            return String::from("(device path)");
        }
        let to_text = interface as *const DevicePathToTextProtocol;
        // SAFETY: the protocol's contract; the result is pool memory we free.
        unsafe {
            let text = ((*to_text).convert_device_path_to_text)(
                path.as_ptr() as *const DevicePathProtocol,
                false.into(),
                false.into(),
            );
            if text.is_null() {
                return String::from("(device path)");
            }
            let mut len = 0;
            while *text.add(len) != 0 && len < 4096 {
                len += 1;
            }
            let out = String::from_utf16_lossy(core::slice::from_raw_parts(text, len));
            let _ = (self.bs().free_pool)(text as *mut u8);
            out
        }
    }

    /// LoadImage from a device path.
    pub fn load_image(&self, path: &[u8]) -> Result<Handle, Status> {
        let mut handle: Handle = core::ptr::null_mut();
        // SAFETY: see the module doc; the path is a complete device path.
        let status = unsafe {
            (self.bs().load_image)(
                false.into(),
                self.image,
                path.as_ptr() as *const DevicePathProtocol,
                core::ptr::null(),
                0,
                &mut handle,
            )
        };
        if status == Status::SUCCESS {
            Ok(handle)
        } else {
            Err(status)
        }
    }

    /// StartImage; the image's status.
    pub fn start_image(&self, handle: Handle) -> Status {
        // SAFETY: see the module doc.
        unsafe { (self.bs().start_image)(handle, core::ptr::null_mut(), core::ptr::null_mut()) }
    }
}

struct ConOut<'a>(&'a Efi);

impl Write for ConOut<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        // SAFETY: ConOut from the system table.
        let out = unsafe { (*self.0.st).stdout };
        if out.is_null() {
            return Ok(());
        }
        let mut buf = [0u16; 130];
        let mut n = 0;
        let flush = |buf: &mut [u16; 130], n: &mut usize| {
            buf[*n] = 0;
            // SAFETY: a NUL-terminated UCS-2 string.
            let _ = unsafe { ((*out).output_string)(out, buf.as_ptr()) };
            *n = 0;
        };
        for c in s.encode_utf16() {
            if c == u16::from(b'\n') {
                buf[n] = u16::from(b'\r');
                n += 1;
            }
            buf[n] = c;
            n += 1;
            if n >= 126 {
                flush(&mut buf, &mut n);
            }
        }
        flush(&mut buf, &mut n);
        Ok(())
    }
}

/// `print!` to ConOut.
#[macro_export]
macro_rules! efi_print {
    ($efi:expr, $($arg:tt)*) => { $efi.print(format_args!($($arg)*)) };
}
