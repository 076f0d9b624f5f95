//! The ABI edge both protocols share: the checked transfer between a caller's
//! buffer and the root bridge, Poll's result, and the DMA functions
//! (Map, Unmap, AllocateBuffer, FreeBuffer, Flush), which do the same for
//! EFI_PCI_ROOT_BRIDGE_IO_PROTOCOL and EFI_PCI_IO_PROTOCOL but for the type of
//! `This` and a few choices each [`Instance`] makes.
#![deny(unsafe_op_in_unsafe_fn)]
// The thunks are the EFI ABI edge: callers are bound by the specification's
// pointer contract, which each states where it dereferences.
#![allow(clippy::not_unsafe_ptr_arg_deref)]

use super::bridge::{RootBridge, Target};
use super::dma::{self, Operation};
use super::width::Width;
use super::{status, Error};
use core::ffi::c_void;
use r_efi::efi::{self, Status};

/// What the shared thunks need of a protocol instance.
pub(super) trait Instance: 'static {
    /// The protocol struct `This` points to.
    type Protocol;
    /// The protocol's name in log lines.
    const NAME: &'static str;
    /// The instance at `this`, if it is one of ours.
    fn find(this: *mut Self::Protocol) -> Option<&'static Self>;
    /// The root bridge it reaches the bus through.
    fn bridge(&self) -> &RootBridge;
    /// Map's operation `raw` (§14.2.2, §14.4), and whether the mapping may
    /// lie above 4 GiB (dual address cycle); `None` for one that is not.
    fn map_operation(&self, raw: u32) -> Option<(Operation, bool)>;
    /// Whether AllocateBuffer may hand out pages above 4 GiB.
    fn allocates_above_4g(&self) -> bool;
}

/// Reads or writes through `bridge` for a thunk: checks the request, then
/// turns the caller's buffer into a slice of the length it needs.
///
/// # Safety
/// A non-null `buffer` must be valid for the request's length (the caller's
/// contract, §14.2.2).
pub(super) unsafe fn transfer(
    bridge: &RootBridge,
    target: Target,
    raw_width: u32,
    address: u64,
    count: usize,
    buffer: *mut c_void,
    write: bool,
) -> Result<(), Error> {
    let width = Width::from_raw(raw_width)?;
    if buffer.is_null() {
        return Err(Error::NullBuffer);
    }
    let len = bridge.prepare(target, width, address, count)?;
    if write {
        // SAFETY: the caller's contract; `len` fits in isize (buffer_len).
        let bytes = unsafe { core::slice::from_raw_parts(buffer.cast::<u8>(), len) };
        bridge.write(target, width, address, count, bytes)
    } else {
        // SAFETY: as above.
        let bytes = unsafe { core::slice::from_raw_parts_mut(buffer.cast::<u8>(), len) };
        bridge.read(target, width, address, count, bytes)
    }
}

/// Poll's edge: refuses a NULL `result`, runs `poll`, and stores the last
/// value it read in `*result` whether or not the value matched (§14.2.2, §14.4).
///
/// # Safety
/// A non-null `result` must be valid for a write of a `u64`.
pub(super) unsafe fn poll_edge(
    result: *mut u64,
    service: &str,
    poll: impl FnOnce() -> Result<u64, (Error, u64)>,
) -> Status {
    if result.is_null() {
        return Status::INVALID_PARAMETER;
    }
    let (read, outcome) = match poll() {
        Ok(v) => (v, Ok(())),
        Err((e, v)) => (v, Err(e)),
    };
    // SAFETY: checked non-null; the caller's contract for the rest.
    unsafe { *result = read };
    status(outcome, service)
}

/// Map: makes `*bytes` bytes at `host` reachable by bus masters.
pub(super) unsafe extern "efiapi" fn map<I: Instance>(
    this: *mut I::Protocol,
    operation: u32,
    host: *mut c_void,
    bytes: *mut usize,
    device: *mut efi::PhysicalAddress,
    mapping: *mut *mut c_void,
) -> Status {
    let Some(i) = I::find(this) else {
        return Status::INVALID_PARAMETER;
    };
    let Some((operation, dac)) = i.map_operation(operation) else {
        return status(Err(Error::BadOperation(operation)), format_args!("{} Map", I::NAME));
    };
    if host.is_null() || bytes.is_null() || device.is_null() || mapping.is_null() {
        return status(Err(Error::NullBuffer), format_args!("{} Map", I::NAME));
    }
    // SAFETY: checked non-null; the caller's UINTN.
    let len = unsafe { *bytes };
    let result = dma::map(&i.bridge().services, operation, dac, host as u64, len).map(|(address, token)| {
        // SAFETY: checked non-null; the caller's out parameters.
        unsafe {
            *device = address;
            *mapping = token as *mut c_void;
        }
    });
    status(result, format_args!("{} Map", I::NAME))
}

/// Unmap: ends a Map, copying a bounce buffer back.
pub(super) unsafe extern "efiapi" fn unmap<I: Instance>(this: *mut I::Protocol, mapping: *mut c_void) -> Status {
    let Some(i) = I::find(this) else {
        return Status::INVALID_PARAMETER;
    };
    let result = dma::unmap(&i.bridge().services, mapping as usize);
    status(result, format_args!("{} Unmap", I::NAME))
}

/// AllocateBuffer: pages for a common buffer mapping.
pub(super) unsafe extern "efiapi" fn allocate_buffer<I: Instance>(
    this: *mut I::Protocol,
    _kind: efi::AllocateType,
    memory_type: efi::MemoryType,
    pages: usize,
    host: *mut *mut c_void,
    attributes: u64,
) -> Status {
    let Some(i) = I::find(this) else {
        return Status::INVALID_PARAMETER;
    };
    let result = if host.is_null() {
        Err(Error::NullBuffer)
    } else {
        let above_4g = i.allocates_above_4g();
        dma::allocate(&i.bridge().services, memory_type, pages, attributes, above_4g).map(|address| {
            // SAFETY: checked non-null; the caller's VOID*.
            unsafe { *host = address as *mut c_void };
        })
    };
    status(result, format_args!("{} AllocateBuffer", I::NAME))
}

/// FreeBuffer: frees AllocateBuffer's pages.
pub(super) unsafe extern "efiapi" fn free_buffer<I: Instance>(
    this: *mut I::Protocol,
    pages: usize,
    host: *mut c_void,
) -> Status {
    let Some(i) = I::find(this) else {
        return Status::INVALID_PARAMETER;
    };
    let result = dma::free(&i.bridge().services, pages, host as u64);
    status(result, format_args!("{} FreeBuffer", I::NAME))
}

/// Flush: identity mapping and coherent DMA, so nothing is posted in between.
pub(super) unsafe extern "efiapi" fn flush<I: Instance>(this: *mut I::Protocol) -> Status {
    match I::find(this) {
        Some(_) => Status::SUCCESS,
        None => Status::INVALID_PARAMETER,
    }
}
