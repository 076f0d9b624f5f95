//! EFI_PCI_ROOT_BRIDGE_IO_PROTOCOL (UEFI 2.10 §14.2): the ABI edge. The
//! protocol struct is defined here (r-efi has none); the thunks check `This`
//! against the instances created here and call [`RootBridge`]'s safe logic.
#![deny(unsafe_op_in_unsafe_fn)]
// The thunks are the EFI ABI edge: callers are bound by the specification's
// pointer contract, which each states where it dereferences.
#![allow(clippy::not_unsafe_ptr_arg_deref)]

use super::bridge::{RootBridge, Target};
use super::dma::{self, Operation};
use super::width::Width;
use super::{descriptors, status, Error};
use crate::instances::Instances;
use alloc::boxed::Box;
use alloc::vec::Vec;
use core::cell::UnsafeCell;
use core::ffi::c_void;
use fw_drivers::pci::PciAddress;
use r_efi::efi::{self, Guid, Status};

/// EFI_PCI_ROOT_BRIDGE_IO_PROTOCOL_GUID.
pub const PROTOCOL_GUID: Guid = Guid::from_fields(
    0x2f70_7ebb,
    0x4a1a,
    0x11d4,
    0x9a,
    0x38,
    &[0x00, 0x90, 0x27, 0x3f, 0xc1, 0x4d],
);

type PollFn = unsafe extern "efiapi" fn(*mut Protocol, u32, u64, u64, u64, u64, *mut u64) -> Status;
type AccessFn = unsafe extern "efiapi" fn(*mut Protocol, u32, u64, usize, *mut c_void) -> Status;

#[repr(C)]
/// `EFI_PCI_ROOT_BRIDGE_IO_PROTOCOL_ACCESS`: a read and a write function for one space.
pub struct Access {
    /// Reads `count` values of the given width.
    pub read: AccessFn,
    /// Writes `count` values of the given width.
    pub write: AccessFn,
}

/// `EFI_PCI_ROOT_BRIDGE_IO_PROTOCOL`, field for field.
#[repr(C)]
pub struct Protocol {
    /// The handle of the root bridge's parent (the firmware's own).
    pub parent_handle: efi::Handle,
    /// PollMem: reads a memory location until it matches or time runs out.
    pub poll_mem: PollFn,
    /// PollIo: the same in I/O space.
    pub poll_io: PollFn,
    /// Memory space access.
    pub mem: Access,
    /// I/O space access.
    pub io: Access,
    /// Configuration space access (addresses as in `EFI_PCI_ROOT_BRIDGE_IO_PROTOCOL_PCI_ADDRESS`).
    pub pci: Access,
    /// CopyMem: copies within memory space.
    pub copy_mem: unsafe extern "efiapi" fn(*mut Protocol, u32, u64, u64, usize) -> Status,
    /// Map: makes a buffer reachable by bus masters.
    pub map: unsafe extern "efiapi" fn(
        *mut Protocol,
        u32,
        *mut c_void,
        *mut usize,
        *mut efi::PhysicalAddress,
        *mut *mut c_void,
    ) -> Status,
    /// Unmap: ends a Map, copying a bounce buffer back.
    pub unmap: unsafe extern "efiapi" fn(*mut Protocol, *mut c_void) -> Status,
    /// AllocateBuffer: pages suitable for a common buffer mapping.
    pub allocate_buffer: unsafe extern "efiapi" fn(
        *mut Protocol,
        efi::AllocateType,
        efi::MemoryType,
        usize,
        *mut *mut c_void,
        u64,
    ) -> Status,
    /// FreeBuffer: frees AllocateBuffer's pages.
    pub free_buffer: unsafe extern "efiapi" fn(*mut Protocol, usize, *mut c_void) -> Status,
    /// Flush: posted writes reach memory (nothing is posted here).
    pub flush: unsafe extern "efiapi" fn(*mut Protocol) -> Status,
    /// GetAttributes: the bridge's supported and current attributes.
    pub get_attributes: unsafe extern "efiapi" fn(*mut Protocol, *mut u64, *mut u64) -> Status,
    /// SetAttributes: changes the bridge's attributes.
    pub set_attributes: unsafe extern "efiapi" fn(*mut Protocol, u64, *mut u64, *mut u64) -> Status,
    /// Configuration: the ACPI resource descriptors of its windows and buses.
    pub configuration: unsafe extern "efiapi" fn(*mut Protocol, *mut *mut c_void) -> Status,
    /// The PCI segment.
    pub segment_number: u32,
}

const SIGNATURE: u64 = u64::from_le_bytes(*b"hvfwPcRB");

/// One instance: the protocol struct first, so `This` is its address.
#[repr(C)]
pub struct RootBridgeIo {
    protocol: UnsafeCell<Protocol>,
    signature: u64,
    bridge: &'static RootBridge,
    /// What Configuration returns (owned here, as §14.2.2 says).
    configuration: Vec<u8>,
}

// SAFETY: the protocol struct is written only in `create` and `set_parent`,
// before and while the firmware installs it on one CPU; applications then
// only read it. The bridge is Sync.
unsafe impl Sync for RootBridgeIo {}
// SAFETY: as above.
unsafe impl Send for RootBridgeIo {}

static INSTANCES: Instances<RootBridgeIo> = Instances::new();

impl RootBridgeIo {
    /// Creates (and leaks) the protocol instance of `bridge`.
    pub fn create(bridge: &'static RootBridge) -> &'static RootBridgeIo {
        let access = |read, write| Access { read, write };
        let instance = Box::leak(Box::new(RootBridgeIo {
            protocol: UnsafeCell::new(Protocol {
                parent_handle: core::ptr::null_mut(),
                poll_mem,
                poll_io,
                mem: access(mem_read, mem_write),
                io: access(io_read, io_write),
                pci: access(pci_read, pci_write),
                copy_mem,
                map,
                unmap,
                allocate_buffer,
                free_buffer,
                flush,
                get_attributes,
                set_attributes,
                configuration,
                segment_number: bridge.segment,
            }),
            signature: SIGNATURE,
            bridge,
            configuration: descriptors::root_bridge(bridge.buses, &bridge.apertures),
        }));
        INSTANCES.register(instance);
        instance
    }

    /// The protocol structure to install.
    pub fn protocol(&self) -> *mut Protocol {
        self.protocol.get()
    }

    /// Sets ParentHandle: the firmware has no separate host bridge handle,
    /// so it is the root bridge's own handle.
    pub fn set_parent(&self, handle: efi::Handle) {
        // SAFETY: called by the firmware while installing, before any
        // application runs; nothing else writes the struct.
        unsafe { (*self.protocol.get()).parent_handle = handle };
    }
}

fn instance(this: *mut Protocol) -> Option<&'static RootBridgeIo> {
    INSTANCES.find(this).filter(|i| i.signature == SIGNATURE)
}

/// The function and register an `EFI_PCI_ROOT_BRIDGE_IO_PROTOCOL_PCI_ADDRESS`
/// names (§14.2.2): register in bits 0-7, function 8-15, device 16-23, bus
/// 24-31, and an extended register in bits 32-63 that replaces the register
/// when not zero.
pub fn pci_address(address: u64) -> (PciAddress, u64) {
    let function = PciAddress::new((address >> 24) as u8, (address >> 16) as u8, (address >> 8) as u8);
    let extended = address >> 32;
    let register = if extended != 0 { extended } else { address & 0xFF };
    (function, register)
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

fn target_of(space: u8, address: u64) -> (Target, u64) {
    match space {
        b'm' => (Target::Memory, address),
        b'i' => (Target::Io, address),
        _ => {
            let (function, register) = pci_address(address);
            (Target::Config(function), register)
        }
    }
}

unsafe fn access(
    this: *mut Protocol,
    space: u8,
    width: u32,
    address: u64,
    count: usize,
    buffer: *mut c_void,
    write: bool,
) -> Status {
    let Some(i) = instance(this) else {
        return Status::INVALID_PARAMETER;
    };
    let (target, address) = target_of(space, address);
    // SAFETY: forwarded caller's contract.
    let result = unsafe { transfer(i.bridge, target, width, address, count, buffer, write) };
    status(
        result.map_err(|e| match e {
            // The root bridge answers INVALID_PARAMETER for any bad address.
            Error::OutsideConfigSpace { .. } => Error::NotDecoded { address, len: 0 },
            e => e,
        }),
        "RootBridgeIo access",
    )
}

macro_rules! access_thunk {
    ($name:ident, $space:expr, $write:expr) => {
        unsafe extern "efiapi" fn $name(
            this: *mut Protocol,
            width: u32,
            address: u64,
            count: usize,
            buffer: *mut c_void,
        ) -> Status {
            // SAFETY: the caller's contract, checked in `transfer`.
            unsafe { access(this, $space, width, address, count, buffer, $write) }
        }
    };
}
access_thunk!(mem_read, b'm', false);
access_thunk!(mem_write, b'm', true);
access_thunk!(io_read, b'i', false);
access_thunk!(io_write, b'i', true);
access_thunk!(pci_read, b'p', false);
access_thunk!(pci_write, b'p', true);

// The EFI function's own arguments, passed on.
#[allow(clippy::too_many_arguments)]
unsafe fn poll(
    this: *mut Protocol,
    target: Target,
    width: u32,
    address: u64,
    mask: u64,
    value: u64,
    delay: u64,
    result: *mut u64,
) -> Status {
    let Some(i) = instance(this) else {
        return Status::INVALID_PARAMETER;
    };
    // SAFETY: the caller's UINT64, or null (refused).
    unsafe {
        poll_edge(result, "RootBridgeIo Poll", || {
            i.bridge.poll(target, width, address, mask, value, delay)
        })
    }
}

/// Poll's shared edge for both protocols: refuses a NULL `result`, runs
/// `poll`, and stores the last value it read in `*result` whether or not the
/// value matched (§14.2.2, §14.4).
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

macro_rules! poll_thunk {
    ($name:ident, $target:expr) => {
        unsafe extern "efiapi" fn $name(
            this: *mut Protocol,
            width: u32,
            address: u64,
            mask: u64,
            value: u64,
            delay: u64,
            result: *mut u64,
        ) -> Status {
            // SAFETY: forwarded.
            unsafe { poll(this, $target, width, address, mask, value, delay, result) }
        }
    };
}
poll_thunk!(poll_mem, Target::Memory);
poll_thunk!(poll_io, Target::Io);

unsafe extern "efiapi" fn copy_mem(
    this: *mut Protocol,
    width: u32,
    destination: u64,
    source: u64,
    count: usize,
) -> Status {
    let Some(i) = instance(this) else {
        return Status::INVALID_PARAMETER;
    };
    status(i.bridge.copy(width, destination, source, count), "RootBridgeIo CopyMem")
}

/// Map's shared edge for both protocols.
///
/// # Safety
/// Non-null pointers are the caller's, as §14.2.2/§14.4 describe.
pub(super) unsafe fn map_edge(
    bridge: &RootBridge,
    operation: Operation,
    dac: bool,
    host: *mut c_void,
    bytes: *mut usize,
    device: *mut efi::PhysicalAddress,
    mapping: *mut *mut c_void,
) -> Result<(), Error> {
    if host.is_null() || bytes.is_null() || device.is_null() || mapping.is_null() {
        return Err(Error::NullBuffer);
    }
    // SAFETY: checked non-null; the caller's UINTN.
    let len = unsafe { *bytes };
    let (address, token) = dma::map(&bridge.services, operation, dac, host as u64, len)?;
    // SAFETY: checked non-null; the caller's out parameters.
    unsafe {
        *device = address;
        *mapping = token as *mut c_void;
    }
    Ok(())
}

unsafe extern "efiapi" fn map(
    this: *mut Protocol,
    operation: u32,
    host: *mut c_void,
    bytes: *mut usize,
    device: *mut efi::PhysicalAddress,
    mapping: *mut *mut c_void,
) -> Status {
    let Some(i) = instance(this) else {
        return Status::INVALID_PARAMETER;
    };
    // Read, Write, CommonBuffer, then their 64-bit forms (§14.2.2).
    let kind = [Operation::Read, Operation::Write, Operation::Common];
    let Some(&op) = kind.get(operation as usize % 3).filter(|_| operation < 6) else {
        return status(Err(Error::BadOperation(operation)), "RootBridgeIo Map");
    };
    // SAFETY: forwarded.
    let result = unsafe { map_edge(i.bridge, op, operation >= 3, host, bytes, device, mapping) };
    status(result, "RootBridgeIo Map")
}

unsafe extern "efiapi" fn unmap(this: *mut Protocol, mapping: *mut c_void) -> Status {
    let Some(i) = instance(this) else {
        return Status::INVALID_PARAMETER;
    };
    status(dma::unmap(&i.bridge.services, mapping as usize), "RootBridgeIo Unmap")
}

/// AllocateBuffer's shared edge.
pub(super) fn allocate_edge(
    bridge: &RootBridge,
    memory_type: efi::MemoryType,
    pages: usize,
    host: *mut *mut c_void,
    attributes: u64,
    dac: bool,
) -> Result<(), Error> {
    if host.is_null() {
        return Err(Error::NullBuffer);
    }
    let address = dma::allocate(&bridge.services, memory_type, pages, attributes, dac)?;
    // SAFETY: checked non-null; the caller's VOID*.
    unsafe { *host = address as *mut c_void };
    Ok(())
}

unsafe extern "efiapi" fn allocate_buffer(
    this: *mut Protocol,
    _kind: efi::AllocateType,
    memory_type: efi::MemoryType,
    pages: usize,
    host: *mut *mut c_void,
    attributes: u64,
) -> Status {
    let Some(i) = instance(this) else {
        return Status::INVALID_PARAMETER;
    };
    status(
        allocate_edge(i.bridge, memory_type, pages, host, attributes, false),
        "RootBridgeIo AllocateBuffer",
    )
}

unsafe extern "efiapi" fn free_buffer(this: *mut Protocol, pages: usize, host: *mut c_void) -> Status {
    let Some(i) = instance(this) else {
        return Status::INVALID_PARAMETER;
    };
    status(
        dma::free(&i.bridge.services, pages, host as u64),
        "RootBridgeIo FreeBuffer",
    )
}

unsafe extern "efiapi" fn flush(this: *mut Protocol) -> Status {
    // Identity mapping and coherent DMA: nothing is posted in between.
    match instance(this) {
        Some(_) => Status::SUCCESS,
        None => Status::INVALID_PARAMETER,
    }
}

unsafe extern "efiapi" fn get_attributes(this: *mut Protocol, supports: *mut u64, attributes: *mut u64) -> Status {
    if instance(this).is_none() || (supports.is_null() && attributes.is_null()) {
        return Status::INVALID_PARAMETER;
    }
    // A virtual root bridge has no ISA/VGA decoding or cache controls to offer.
    // SAFETY: each non-null pointer is the caller's UINT64.
    unsafe {
        if let Some(s) = supports.as_mut() {
            *s = 0;
        }
        if let Some(a) = attributes.as_mut() {
            *a = 0;
        }
    }
    Status::SUCCESS
}

unsafe extern "efiapi" fn set_attributes(
    this: *mut Protocol,
    attributes: u64,
    _base: *mut u64,
    _length: *mut u64,
) -> Status {
    match instance(this) {
        None => Status::INVALID_PARAMETER,
        Some(_) if attributes == 0 => Status::SUCCESS,
        Some(_) => status(
            Err(Error::UnsupportedAttributes(attributes)),
            "RootBridgeIo SetAttributes",
        ),
    }
}

unsafe extern "efiapi" fn configuration(this: *mut Protocol, resources: *mut *mut c_void) -> Status {
    let Some(i) = instance(this) else {
        return Status::INVALID_PARAMETER;
    };
    if resources.is_null() {
        return Status::INVALID_PARAMETER;
    }
    // SAFETY: checked non-null; the caller's VOID**. The descriptors live as
    // long as the (leaked) instance.
    unsafe { *resources = i.configuration.as_ptr() as *mut c_void };
    Status::SUCCESS
}
