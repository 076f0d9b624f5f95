//! EFI_PCI_ROOT_BRIDGE_IO_PROTOCOL (UEFI 2.10 §14.2): the ABI edge. The
//! protocol struct is defined here (r-efi has none); the thunks check `This`
//! against the instances created here and call [`RootBridge`]'s safe logic.
#![deny(unsafe_op_in_unsafe_fn)]
// The thunks are the EFI ABI edge: callers are bound by the specification's
// pointer contract, which each states where it dereferences.
#![allow(clippy::not_unsafe_ptr_arg_deref)]

use super::bridge::{RootBridge, Target};
use super::dma::Operation;
use super::edge::{self, poll_edge, transfer, Instance};
use super::{descriptors, status, Error};
use crate::instances::Instances;
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

/// The spaces and directions of the accesses, as the thunks' const parameters.
const MEMORY: u8 = b'm';
const IO: u8 = b'i';
const CONFIG: u8 = b'p';
const READ: bool = false;
const WRITE: bool = true;

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
        INSTANCES.leak(RootBridgeIo {
            protocol: UnsafeCell::new(Protocol {
                parent_handle: core::ptr::null_mut(),
                poll_mem: poll::<MEMORY>,
                poll_io: poll::<IO>,
                mem: access(space_access::<MEMORY, READ>, space_access::<MEMORY, WRITE>),
                io: access(space_access::<IO, READ>, space_access::<IO, WRITE>),
                pci: access(space_access::<CONFIG, READ>, space_access::<CONFIG, WRITE>),
                copy_mem,
                map: edge::map::<RootBridgeIo>,
                unmap: edge::unmap::<RootBridgeIo>,
                allocate_buffer: edge::allocate_buffer::<RootBridgeIo>,
                free_buffer: edge::free_buffer::<RootBridgeIo>,
                flush: edge::flush::<RootBridgeIo>,
                get_attributes,
                set_attributes,
                configuration,
                segment_number: bridge.segment,
            }),
            signature: SIGNATURE,
            bridge,
            configuration: descriptors::root_bridge(bridge.buses, &bridge.apertures),
        })
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

impl Instance for RootBridgeIo {
    type Protocol = Protocol;
    const NAME: &'static str = "RootBridgeIo";

    fn find(this: *mut Protocol) -> Option<&'static RootBridgeIo> {
        INSTANCES.find(this).filter(|i| i.signature == SIGNATURE)
    }

    fn bridge(&self) -> &RootBridge {
        self.bridge
    }

    /// Read, Write, CommonBuffer, then their 64-bit forms (§14.2.2).
    fn map_operation(&self, raw: u32) -> Option<(Operation, bool)> {
        let kind = [Operation::Read, Operation::Write, Operation::Common];
        let operation = kind.get(raw as usize % 3).filter(|_| raw < 6)?;
        Some((*operation, raw >= 3))
    }

    fn allocates_above_4g(&self) -> bool {
        false
    }
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

/// Mem, Io and Pci's Read and Write: `count` values at `address` of `SPACE`.
unsafe extern "efiapi" fn space_access<const SPACE: u8, const WRITE: bool>(
    this: *mut Protocol,
    width: u32,
    address: u64,
    count: usize,
    buffer: *mut c_void,
) -> Status {
    let Some(i) = RootBridgeIo::find(this) else {
        return Status::INVALID_PARAMETER;
    };
    let (target, address) = target_of(SPACE, address);
    // SAFETY: the caller's contract, checked in `transfer`.
    let result = unsafe { transfer(i.bridge, target, width, address, count, buffer, WRITE) };
    status(
        result.map_err(|e| match e {
            // The root bridge answers INVALID_PARAMETER for any bad address.
            Error::OutsideConfigSpace { .. } => Error::NotDecoded { address, len: 0 },
            e => e,
        }),
        "RootBridgeIo access",
    )
}

/// PollMem and PollIo: reads a location until it matches or time runs out.
unsafe extern "efiapi" fn poll<const SPACE: u8>(
    this: *mut Protocol,
    width: u32,
    address: u64,
    mask: u64,
    value: u64,
    delay: u64,
    result: *mut u64,
) -> Status {
    let Some(i) = RootBridgeIo::find(this) else {
        return Status::INVALID_PARAMETER;
    };
    let (target, address) = target_of(SPACE, address);
    // SAFETY: the caller's UINT64, or null (refused).
    unsafe {
        poll_edge(result, "RootBridgeIo Poll", || {
            i.bridge.poll(target, width, address, mask, value, delay)
        })
    }
}

unsafe extern "efiapi" fn copy_mem(
    this: *mut Protocol,
    width: u32,
    destination: u64,
    source: u64,
    count: usize,
) -> Status {
    let Some(i) = RootBridgeIo::find(this) else {
        return Status::INVALID_PARAMETER;
    };
    status(i.bridge.copy(width, destination, source, count), "RootBridgeIo CopyMem")
}

unsafe extern "efiapi" fn get_attributes(this: *mut Protocol, supports: *mut u64, attributes: *mut u64) -> Status {
    if RootBridgeIo::find(this).is_none() || (supports.is_null() && attributes.is_null()) {
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
    match RootBridgeIo::find(this) {
        None => Status::INVALID_PARAMETER,
        Some(_) if attributes == 0 => Status::SUCCESS,
        Some(_) => status(
            Err(Error::UnsupportedAttributes(attributes)),
            "RootBridgeIo SetAttributes",
        ),
    }
}

unsafe extern "efiapi" fn configuration(this: *mut Protocol, resources: *mut *mut c_void) -> Status {
    let Some(i) = RootBridgeIo::find(this) else {
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
