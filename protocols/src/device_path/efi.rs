//! The EFI ABI edge of device paths: `EFI_DEVICE_PATH_UTILITIES_PROTOCOL`
//! (UEFI 2.10 §10.5), `EFI_DEVICE_PATH_TO_TEXT_PROTOCOL` (§10.6) and
//! `EFI_DEVICE_PATH_FROM_TEXT_PROTOCOL` (§10.7).
//!
//! Neither protocol passes a `This` pointer, so their structs hold only the
//! functions. Paths from applications are walked node by node with a bound
//! ([`MAX_DEVICE_PATH`]) before a slice is made of them; a malformed path (a
//! node shorter than its header, no end node within the bound) gives NULL or 0.
//! What the functions return is allocated with the `alloc_pool` function given
//! to [`DevicePathProtocols::create`] (AllocatePool of boot services data), so
//! the application frees it with FreePool.
#![deny(unsafe_op_in_unsafe_fn)]

use super::from_text::{node_from_text, path_from_text};
use super::node::{self, Node};
use super::text::{node_to_text, path_to_text, TextForm};
use super::{
    Error, PathError, END_DEVICE_PATH_TYPE, END_ENTIRE_DEVICE_PATH_SUBTYPE, END_INSTANCE_DEVICE_PATH_SUBTYPE,
    NODE_HEADER_SIZE,
};
use alloc::boxed::Box;
use alloc::vec::Vec;
use core::ffi::c_void;
use core::ptr::NonNull;
use r_efi::efi::{Boolean, Char16, Guid};
use r_efi::protocols::device_path::Protocol as DevicePath;
use r_efi::protocols::{device_path_from_text, device_path_to_text, device_path_utilities};
use spin::Mutex;

/// Longest device path read from an application (the same bound as the
/// firmware's LocateDevicePath).
pub const MAX_DEVICE_PATH: usize = 64 * 1024;

/// Allocates `size` bytes of pool memory the caller may FreePool, or returns null.
pub type AllocPool = fn(usize) -> *mut u8;

static ALLOC_POOL: Mutex<Option<AllocPool>> = Mutex::new(None);

const END_ENTIRE: [u8; NODE_HEADER_SIZE] = [END_DEVICE_PATH_TYPE, END_ENTIRE_DEVICE_PATH_SUBTYPE, 4, 0];

/// The device path protocols, created once.
pub struct DevicePathProtocols {
    to_text: NonNull<device_path_to_text::Protocol>,
    from_text: NonNull<device_path_from_text::Protocol>,
    utilities: NonNull<device_path_utilities::Protocol>,
}

// SAFETY: the pointers are to leaked protocol structs that hold only function
// pointers, are never freed and never written by the firmware after creation.
unsafe impl Send for DevicePathProtocols {}
// SAFETY: as above.
unsafe impl Sync for DevicePathProtocols {}

impl DevicePathProtocols {
    /// Creates the protocol structs (leaked: they outlive every application)
    /// and records where their results are allocated.
    pub fn create(alloc_pool: AllocPool) -> &'static DevicePathProtocols {
        *ALLOC_POOL.lock() = Some(alloc_pool);
        let to_text = Box::leak(Box::new(device_path_to_text::Protocol {
            convert_device_node_to_text,
            convert_device_path_to_text,
        }));
        let from_text = Box::leak(Box::new(device_path_from_text::Protocol {
            convert_text_to_device_node,
            convert_text_to_device_path,
        }));
        let utilities = Box::leak(Box::new(device_path_utilities::Protocol {
            get_device_path_size,
            duplicate_device_path,
            append_device_path,
            append_device_node,
            append_device_path_instance,
            get_next_device_path_instance,
            is_device_path_multi_instance,
            create_device_node,
        }));
        Box::leak(Box::new(DevicePathProtocols {
            to_text: NonNull::from(to_text),
            from_text: NonNull::from(from_text),
            utilities: NonNull::from(utilities),
        }))
    }

    /// The `EFI_DEVICE_PATH_TO_TEXT_PROTOCOL` to install.
    pub fn to_text(&self) -> *mut device_path_to_text::Protocol {
        self.to_text.as_ptr()
    }

    /// The `EFI_DEVICE_PATH_FROM_TEXT_PROTOCOL` to install.
    pub fn from_text(&self) -> *mut device_path_from_text::Protocol {
        self.from_text.as_ptr()
    }

    /// The `EFI_DEVICE_PATH_UTILITIES_PROTOCOL` to install.
    pub fn utilities(&self) -> *mut device_path_utilities::Protocol {
        self.utilities.as_ptr()
    }

    /// Installs the three protocols on `handle` (a new handle for `None`) with
    /// the firmware's install function, e.g. `fw_core::efi::protocol::install`.
    pub fn install<H, E>(
        &self,
        handle: Option<H>,
        mut install: impl FnMut(Option<H>, Guid, *mut c_void) -> Result<H, E>,
    ) -> Result<H, E> {
        let handle = install(handle, device_path_to_text::PROTOCOL_GUID, self.to_text().cast())?;
        let handle = install(
            Some(handle),
            device_path_from_text::PROTOCOL_GUID,
            self.from_text().cast(),
        )?;
        install(
            Some(handle),
            device_path_utilities::PROTOCOL_GUID,
            self.utilities().cast(),
        )
    }
}

/// Copies `bytes` into pool memory; null if there is no allocator or no memory.
fn pool_copy(bytes: &[u8]) -> *mut u8 {
    let Some(alloc_pool) = *ALLOC_POOL.lock() else {
        log::debug!("device path: no pool allocator installed");
        return core::ptr::null_mut();
    };
    let memory = alloc_pool(bytes.len());
    if memory.is_null() {
        log::debug!("device path: pool allocation of {} bytes failed", bytes.len());
        return memory;
    }
    // SAFETY: the pool returned `bytes.len()` writable bytes at `memory`, which
    // cannot overlap `bytes` (firmware memory, allocated earlier).
    unsafe { core::ptr::copy_nonoverlapping(bytes.as_ptr(), memory, bytes.len()) };
    memory
}

fn pool_path(bytes: &[u8]) -> *mut DevicePath {
    pool_copy(bytes).cast()
}

/// `text` as a NUL-terminated UCS-2 string in pool memory (characters outside
/// UCS-2 become U+FFFD).
fn pool_text(text: &str) -> *mut Char16 {
    let bytes: Vec<u8> = text
        .chars()
        .map(|c| u16::try_from(u32::from(c)).unwrap_or(0xFFFD))
        .chain([0])
        .flat_map(u16::to_le_bytes)
        .collect();
    pool_copy(&bytes).cast()
}

/// The bytes of the device path at `path`, End Entire included.
///
/// # Safety
/// A non-null `path` must point at a device path the caller may read up to its
/// End Entire node (the specification's contract for every path argument).
unsafe fn path_bytes<'a>(path: *const DevicePath) -> Option<&'a [u8]> {
    if path.is_null() {
        return None;
    }
    let base = path.cast::<u8>();
    let size = node::size_in_memory(MAX_DEVICE_PATH, |offset| {
        // SAFETY: the walk asks only for the header of a node it has not passed
        // the end of, which the caller's path holds; nodes are byte-aligned.
        unsafe { core::ptr::read_unaligned(base.add(offset).cast::<[u8; NODE_HEADER_SIZE]>()) }
    });
    match size {
        // SAFETY: the `size` bytes were just walked as the caller's path.
        Ok(size) => Some(unsafe { core::slice::from_raw_parts(base, size) }),
        Err(error) => {
            log::debug!("device path: {error}");
            None
        }
    }
}

/// The bytes of the single node at `node`.
///
/// # Safety
/// A non-null `node` must point at a device path node the caller may read.
unsafe fn node_bytes<'a>(node: *const DevicePath) -> Option<&'a [u8]> {
    if node.is_null() {
        return None;
    }
    let base = node.cast::<u8>();
    // SAFETY: a node starts with its 4-byte header.
    let header = unsafe { core::ptr::read_unaligned(base.cast::<[u8; NODE_HEADER_SIZE]>()) };
    let length = u16::from_le_bytes([header[2], header[3]]);
    if usize::from(length) < NODE_HEADER_SIZE {
        log::debug!(
            "device path: {}",
            Error::Walk(PathError::NodeTooShort { offset: 0, length })
        );
        return None;
    }
    // SAFETY: the node's header says it holds `length` bytes.
    Some(unsafe { core::slice::from_raw_parts(base, usize::from(length)) })
}

// ---- EFI_DEVICE_PATH_TO_TEXT_PROTOCOL ----

/// The caller's two BOOLEANs (§10.6.3): any non-zero byte is TRUE.
fn text_form(display_only: Boolean, allow_shortcuts: Boolean) -> TextForm {
    TextForm {
        display_only: display_only.into(),
        allow_shortcuts: allow_shortcuts.into(),
    }
}

unsafe extern "efiapi" fn convert_device_node_to_text(
    device_node: *mut DevicePath,
    display_only: Boolean,
    allow_shortcuts: Boolean,
) -> *mut Char16 {
    let form = text_form(display_only, allow_shortcuts);
    // SAFETY: the caller passes a device node or null (§10.6.3).
    let Some(bytes) = (unsafe { node_bytes(device_node) }) else {
        return core::ptr::null_mut();
    };
    match Node::parse(bytes) {
        Ok(node) => pool_text(&node_to_text(&node, form)),
        Err(_) => core::ptr::null_mut(),
    }
}

unsafe extern "efiapi" fn convert_device_path_to_text(
    device_path: *mut DevicePath,
    display_only: Boolean,
    allow_shortcuts: Boolean,
) -> *mut Char16 {
    let form = text_form(display_only, allow_shortcuts);
    // SAFETY: the caller passes a device path or null (§10.6.4).
    let Some(bytes) = (unsafe { path_bytes(device_path) }) else {
        return core::ptr::null_mut();
    };
    match path_to_text(bytes, form) {
        Ok(text) => pool_text(&text),
        Err(_) => core::ptr::null_mut(),
    }
}

// ---- EFI_DEVICE_PATH_FROM_TEXT_PROTOCOL ----

/// The longest text read from an application, in UCS-2 units.
const MAX_TEXT: usize = 16 * 1024;

/// A NUL-terminated UCS-2 text as a string; `None` for NULL, a text longer
/// than [`MAX_TEXT`] or one with unpaired surrogates.
///
/// # Safety
/// A non-null `text` must be readable up to its NUL (or [`MAX_TEXT`] units).
unsafe fn text_arg(text: *const Char16) -> Option<alloc::string::String> {
    if text.is_null() {
        return None;
    }
    let mut units = Vec::new();
    loop {
        // SAFETY: the caller's contract: units up to the NUL are readable.
        let unit = unsafe { text.add(units.len()).read_unaligned() };
        if unit == 0 {
            break;
        }
        if units.len() == MAX_TEXT {
            return None;
        }
        units.push(unit);
    }
    alloc::string::String::from_utf16(&units).ok()
}

unsafe extern "efiapi" fn convert_text_to_device_node(text: *const Char16) -> *mut DevicePath {
    // SAFETY: the caller passes a NUL-terminated text or null (§10.7.2).
    let Some(text) = (unsafe { text_arg(text) }) else {
        return core::ptr::null_mut();
    };
    match node_from_text(&text) {
        Ok(node) => pool_path(&node),
        Err(error) => {
            log::debug!("device path: {error}");
            core::ptr::null_mut()
        }
    }
}

unsafe extern "efiapi" fn convert_text_to_device_path(text: *const Char16) -> *mut DevicePath {
    // SAFETY: the caller passes a NUL-terminated text or null (§10.7.3).
    let Some(text) = (unsafe { text_arg(text) }) else {
        return core::ptr::null_mut();
    };
    match path_from_text(&text) {
        Ok(path) => pool_path(&path),
        Err(error) => {
            log::debug!("device path: {error}");
            core::ptr::null_mut()
        }
    }
}

// ---- EFI_DEVICE_PATH_UTILITIES_PROTOCOL ----

unsafe extern "efiapi" fn get_device_path_size(device_path: *const DevicePath) -> usize {
    // SAFETY: the caller passes a device path or null (§10.5.2).
    unsafe { path_bytes(device_path) }.map_or(0, <[u8]>::len)
}

unsafe extern "efiapi" fn duplicate_device_path(device_path: *const DevicePath) -> *mut DevicePath {
    // SAFETY: the caller passes a device path or null (§10.5.3).
    match unsafe { path_bytes(device_path) } {
        Some(bytes) => pool_path(bytes),
        None => core::ptr::null_mut(),
    }
}

/// A path without its End Entire node; `Err` if it is malformed.
fn path_body(bytes: Option<&[u8]>) -> Result<Option<&[u8]>, ()> {
    match bytes {
        None => Ok(None),
        Some(bytes) => node::body(bytes).map(Some).map_err(|_| ()),
    }
}

/// Joins pieces and closes the result with End Entire, in pool memory.
fn pool_joined(pieces: &[&[u8]]) -> *mut DevicePath {
    let mut joined: Vec<u8> = pieces.concat();
    joined.extend_from_slice(&END_ENTIRE);
    pool_path(&joined)
}

unsafe extern "efiapi" fn append_device_path(src1: *const DevicePath, src2: *const DevicePath) -> *mut DevicePath {
    // SAFETY: the caller passes device paths or nulls (§10.5.4).
    let (first, second) = unsafe { (path_bytes(src1), path_bytes(src2)) };
    // A pointer that is not null but did not walk is malformed: fail.
    if (first.is_none() && !src1.is_null()) || (second.is_none() && !src2.is_null()) {
        return core::ptr::null_mut();
    }
    match (path_body(first), path_body(second)) {
        // Both null: a path of only End Entire. One null: a copy of the other.
        (Ok(first), Ok(second)) => pool_joined(&[first.unwrap_or(&[]), second.unwrap_or(&[])]),
        _ => core::ptr::null_mut(),
    }
}

unsafe extern "efiapi" fn append_device_node(
    device_path: *const DevicePath,
    device_node: *const DevicePath,
) -> *mut DevicePath {
    // SAFETY: the caller passes a device path, a device node, or nulls (§10.5.5).
    let (path, node) = unsafe { (path_bytes(device_path), node_bytes(device_node)) };
    if (path.is_none() && !device_path.is_null()) || (node.is_none() && !device_node.is_null()) {
        return core::ptr::null_mut();
    }
    match path_body(path) {
        Ok(body) => pool_joined(&[body.unwrap_or(&[]), node.unwrap_or(&[])]),
        Err(()) => core::ptr::null_mut(),
    }
}

unsafe extern "efiapi" fn append_device_path_instance(
    device_path: *const DevicePath,
    device_path_instance: *const DevicePath,
) -> *mut DevicePath {
    // SAFETY: the caller passes device paths or nulls (§10.5.6).
    let (path, instance) = unsafe { (path_bytes(device_path), path_bytes(device_path_instance)) };
    let Some(instance) = instance else {
        return core::ptr::null_mut();
    };
    if device_path.is_null() {
        return pool_path(instance);
    }
    let (Some(path), Ok(instance_body)) = (path, node::body(instance)) else {
        return core::ptr::null_mut();
    };
    let Ok(body) = node::body(path) else {
        return core::ptr::null_mut();
    };
    let separator = [END_DEVICE_PATH_TYPE, END_INSTANCE_DEVICE_PATH_SUBTYPE, 4, 0];
    pool_joined(&[body, &separator, instance_body])
}

unsafe extern "efiapi" fn get_next_device_path_instance(
    device_path_instance: *mut *mut DevicePath,
    device_path_instance_size: *mut usize,
) -> *mut DevicePath {
    if device_path_instance.is_null() || !device_path_instance.is_aligned() {
        return core::ptr::null_mut();
    }
    let size_out = (!device_path_instance_size.is_null() && device_path_instance_size.is_aligned())
        .then_some(device_path_instance_size);
    let set_size = |size: usize| {
        if let Some(out) = size_out {
            // SAFETY: a non-null, aligned size pointer is the caller's output (§10.5.7).
            unsafe { out.write(size) };
        }
    };
    // SAFETY: checked non-null and aligned; the caller's in/out pointer.
    let current = unsafe { device_path_instance.read() };
    // SAFETY: `current` is the caller's device path or null.
    let Some(bytes) = (unsafe { path_bytes(current) }) else {
        set_size(0);
        return core::ptr::null_mut();
    };
    let Ok((instance, end)) = node::first_instance(bytes) else {
        set_size(0);
        return core::ptr::null_mut();
    };
    let next = if end.is_end_entire() {
        core::ptr::null_mut()
    } else {
        // SAFETY: the end node lies inside the walked path, so its end does too.
        unsafe { current.cast::<u8>().add(end.end_offset()) }.cast()
    };
    // SAFETY: as above: the caller's in/out pointer.
    unsafe { device_path_instance.write(next) };
    set_size(instance.len() + NODE_HEADER_SIZE);
    pool_joined(&[instance])
}

unsafe extern "efiapi" fn is_device_path_multi_instance(device_path: *const DevicePath) -> Boolean {
    // SAFETY: the caller passes a device path or null (§10.5.8).
    let multi = unsafe { path_bytes(device_path) }.is_some_and(|bytes| node::is_multi_instance(bytes) == Ok(true));
    multi.into()
}

unsafe extern "efiapi" fn create_device_node(node_type: u8, node_sub_type: u8, node_length: u16) -> *mut DevicePath {
    let length = usize::from(node_length);
    if length < NODE_HEADER_SIZE {
        return core::ptr::null_mut();
    }
    let mut node = alloc::vec![0u8; length];
    let [lo, hi] = node_length.to_le_bytes();
    node[..NODE_HEADER_SIZE].copy_from_slice(&[node_type, node_sub_type, lo, hi]);
    pool_path(&node)
}
