//! EFI_PCI_IO_PROTOCOL (UEFI 2.10 §14.4): one instance per function the
//! firmware enumerated. BAR-relative accesses are turned into bus addresses
//! after checking the BAR exists, is of the space asked for, and holds the
//! whole request; then they go through the root bridge's checked accesses.
#![deny(unsafe_op_in_unsafe_fn)]
#![allow(clippy::not_unsafe_ptr_arg_deref)]

use super::attributes::{self, Operation as AttributeOperation};
use super::bridge::{RootBridge, Target};
use super::dma::{self, Operation};
use super::root_bridge::{allocate_edge, map_edge, poll_edge, transfer};
use super::width::Width;
use super::{descriptors, status, Error};
use crate::instances::Instances;
use alloc::boxed::Box;
use core::cell::UnsafeCell;
use core::ffi::c_void;
use core::sync::atomic::{AtomicBool, Ordering};
use fw_drivers::pci::{PciDevice, COMMAND};
use r_efi::efi::{self, Status};
use r_efi::protocols::pci_io::{self, Protocol};

pub use pci_io::PROTOCOL_GUID;

const SIGNATURE: u64 = u64::from_le_bytes(*b"hvfwPcIo");

#[repr(C)]
/// The EFI_PCI_IO_PROTOCOL of one PCI function: the table and what its functions need.
pub struct PciFunctionIo {
    protocol: UnsafeCell<Protocol>,
    signature: u64,
    bridge: &'static RootBridge,
    /// Index in `bridge.devices`.
    index: usize,
    /// The caller enabled EFI_PCI_IO_ATTRIBUTE_DUAL_ADDRESS_CYCLE.
    dac: AtomicBool,
}

// SAFETY: the protocol struct is written only in `create`; applications then
// only read it. The bridge is Sync and `dac` atomic.
unsafe impl Sync for PciFunctionIo {}
// SAFETY: as above.
unsafe impl Send for PciFunctionIo {}

static INSTANCES: Instances<PciFunctionIo> = Instances::new();

impl PciFunctionIo {
    /// Creates (and leaks) the instance for `bridge.devices[index]`.
    pub fn create(bridge: &'static RootBridge, index: usize) -> &'static PciFunctionIo {
        let instance = Box::leak(Box::new(PciFunctionIo {
            protocol: UnsafeCell::new(Protocol {
                poll_mem,
                poll_io,
                mem: pci_io::Access {
                    read: mem_read,
                    write: mem_write,
                },
                io: pci_io::Access {
                    read: io_read,
                    write: io_write,
                },
                pci: pci_io::ConfigAccess {
                    read: pci_read,
                    write: pci_write,
                },
                copy_mem,
                map,
                unmap,
                allocate_buffer,
                free_buffer,
                flush,
                get_location,
                attributes,
                get_bar_attributes,
                set_bar_attributes,
                // No option ROMs: virtual devices' firmware is this one.
                rom_size: 0,
                rom_image: core::ptr::null_mut(),
            }),
            signature: SIGNATURE,
            bridge,
            index,
            dac: AtomicBool::new(false),
        }));
        INSTANCES.register(instance);
        instance
    }

    /// The protocol structure to install.
    pub fn protocol(&self) -> *mut Protocol {
        self.protocol.get()
    }

    fn device(&self) -> &PciDevice {
        &self.bridge.devices[self.index]
    }

    /// The bus address of `span` bytes at `offset` in BAR `index` of
    /// `space`; the pass-through BAR takes `offset` as the address.
    pub fn bar_address(&self, index: u8, memory: bool, offset: u64, span: u64) -> Result<u64, Error> {
        if index == pci_io::PASS_THROUGH_BAR {
            return Ok(offset);
        }
        let bar = self
            .device()
            .bar(index)
            .filter(|b| b.is_memory() == memory && b.is_assigned())
            .ok_or(Error::NoSuchBar { index })?;
        let fits = offset.checked_add(span).is_some_and(|end| end <= bar.size);
        if !fits {
            return Err(Error::OutsideBar {
                index,
                offset,
                len: span,
            });
        }
        Ok(bar.address + offset)
    }
}

fn instance(this: *mut Protocol) -> Option<&'static PciFunctionIo> {
    INSTANCES.find(this).filter(|i| i.signature == SIGNATURE)
}

// The EFI function's own arguments, passed on.
#[allow(clippy::too_many_arguments)]
unsafe fn bar_access(
    this: *mut Protocol,
    memory: bool,
    width: u32,
    bar: u8,
    offset: u64,
    count: usize,
    buffer: *mut c_void,
    write: bool,
) -> Status {
    let Some(i) = instance(this) else {
        return Status::INVALID_PARAMETER;
    };
    let result = Width::from_raw(width)
        .and_then(|w| w.span(count))
        .and_then(|span| i.bar_address(bar, memory, offset, span))
        .and_then(|address| {
            let target = if memory { Target::Memory } else { Target::Io };
            // SAFETY: forwarded caller's contract, checked in `transfer`.
            unsafe { transfer(i.bridge, target, width, address, count, buffer, write) }
        });
    status(result, if memory { "PciIo Mem" } else { "PciIo Io" })
}

macro_rules! bar_thunk {
    ($name:ident, $memory:expr, $write:expr) => {
        unsafe extern "efiapi" fn $name(
            this: *mut Protocol,
            width: u32,
            bar: u8,
            offset: u64,
            count: usize,
            buffer: *mut c_void,
        ) -> Status {
            // SAFETY: the caller's contract, checked in `transfer`.
            unsafe { bar_access(this, $memory, width, bar, offset, count, buffer, $write) }
        }
    };
}
bar_thunk!(mem_read, true, false);
bar_thunk!(mem_write, true, true);
bar_thunk!(io_read, false, false);
bar_thunk!(io_write, false, true);

unsafe fn config(
    this: *mut Protocol,
    width: u32,
    offset: u32,
    count: usize,
    buffer: *mut c_void,
    write: bool,
) -> Status {
    let Some(i) = instance(this) else {
        return Status::INVALID_PARAMETER;
    };
    let target = Target::Config(i.device().address);
    // SAFETY: forwarded caller's contract, checked in `transfer`.
    let result = unsafe { transfer(i.bridge, target, width, u64::from(offset), count, buffer, write) };
    status(result, "PciIo Pci")
}

macro_rules! config_thunk {
    ($name:ident, $write:expr) => {
        unsafe extern "efiapi" fn $name(
            this: *mut Protocol,
            width: u32,
            offset: u32,
            count: usize,
            buffer: *mut c_void,
        ) -> Status {
            // SAFETY: forwarded.
            unsafe { config(this, width, offset, count, buffer, $write) }
        }
    };
}
config_thunk!(pci_read, false);
config_thunk!(pci_write, true);

// The EFI function's own arguments, passed on.
#[allow(clippy::too_many_arguments)]
unsafe fn poll(
    this: *mut Protocol,
    memory: bool,
    width: u32,
    bar: u8,
    offset: u64,
    mask: u64,
    value: u64,
    delay: u64,
    result: *mut u64,
) -> Status {
    let Some(i) = instance(this) else {
        return Status::INVALID_PARAMETER;
    };
    let target = if memory { Target::Memory } else { Target::Io };
    let poll = || {
        Width::plain(width)
            .and_then(|w| i.bar_address(bar, memory, offset, w.bytes()))
            .map_err(|e| (e, 0))
            .and_then(|address| i.bridge.poll(target, width, address, mask, value, delay))
    };
    // SAFETY: the caller's UINT64, or null (refused).
    unsafe { poll_edge(result, "PciIo Poll", poll) }
}

macro_rules! poll_thunk {
    ($name:ident, $memory:expr) => {
        unsafe extern "efiapi" fn $name(
            this: *mut Protocol,
            width: u32,
            bar: u8,
            offset: u64,
            mask: u64,
            value: u64,
            delay: u64,
            result: *mut u64,
        ) -> Status {
            // SAFETY: forwarded.
            unsafe { poll(this, $memory, width, bar, offset, mask, value, delay, result) }
        }
    };
}
poll_thunk!(poll_mem, true);
poll_thunk!(poll_io, false);

unsafe extern "efiapi" fn copy_mem(
    this: *mut Protocol,
    width: u32,
    destination_bar: u8,
    destination_offset: u64,
    source_bar: u8,
    source_offset: u64,
    count: usize,
) -> Status {
    let Some(i) = instance(this) else {
        return Status::INVALID_PARAMETER;
    };
    let result = Width::plain(width)
        .and_then(|access| {
            (count as u64)
                .checked_mul(access.bytes())
                .ok_or(Error::TooLong { count })
        })
        .and_then(|span| {
            let destination = i.bar_address(destination_bar, true, destination_offset, span)?;
            let source = i.bar_address(source_bar, true, source_offset, span)?;
            i.bridge.copy(width, destination, source, count)
        });
    status(result, "PciIo CopyMem")
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
    let result = [Operation::Read, Operation::Write, Operation::Common]
        .get(operation as usize)
        .copied()
        .ok_or(Error::BadOperation(operation))
        .and_then(|op| {
            let dac = i.dac.load(Ordering::Relaxed);
            // SAFETY: forwarded caller's contract.
            unsafe { map_edge(i.bridge, op, dac, host, bytes, device, mapping) }
        });
    status(result, "PciIo Map")
}

unsafe extern "efiapi" fn unmap(this: *mut Protocol, mapping: *mut c_void) -> Status {
    let Some(i) = instance(this) else {
        return Status::INVALID_PARAMETER;
    };
    status(dma::unmap(&i.bridge.services, mapping as usize), "PciIo Unmap")
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
    let dac = i.dac.load(Ordering::Relaxed);
    status(
        allocate_edge(i.bridge, memory_type, pages, host, attributes, dac),
        "PciIo AllocateBuffer",
    )
}

unsafe extern "efiapi" fn free_buffer(this: *mut Protocol, pages: usize, host: *mut c_void) -> Status {
    let Some(i) = instance(this) else {
        return Status::INVALID_PARAMETER;
    };
    status(dma::free(&i.bridge.services, pages, host as u64), "PciIo FreeBuffer")
}

unsafe extern "efiapi" fn flush(this: *mut Protocol) -> Status {
    match instance(this) {
        Some(_) => Status::SUCCESS,
        None => Status::INVALID_PARAMETER,
    }
}

unsafe extern "efiapi" fn get_location(
    this: *mut Protocol,
    segment: *mut usize,
    bus: *mut usize,
    device: *mut usize,
    function: *mut usize,
) -> Status {
    let Some(i) = instance(this) else {
        return Status::INVALID_PARAMETER;
    };
    if segment.is_null() || bus.is_null() || device.is_null() || function.is_null() {
        return Status::INVALID_PARAMETER;
    }
    let at = i.device().address;
    // SAFETY: checked non-null; the caller's UINTNs.
    unsafe {
        *segment = i.bridge.segment as usize;
        *bus = usize::from(at.bus);
        *device = usize::from(at.device);
        *function = usize::from(at.function);
    }
    Status::SUCCESS
}

unsafe extern "efiapi" fn attributes(this: *mut Protocol, operation: u32, requested: u64, result: *mut u64) -> Status {
    let Some(i) = instance(this) else {
        return Status::INVALID_PARAMETER;
    };
    let outcome = AttributeOperation::from_raw(operation).and_then(|op| {
        if matches!(op, AttributeOperation::Get | AttributeOperation::Supported) && result.is_null() {
            return Err(Error::NullBuffer);
        }
        let at = i.device().address;
        let command = i.bridge.config.read16(at, COMMAND);
        let supported = attributes::supported(i.device());
        let done = attributes::apply(op, requested, supported, command, i.dac.load(Ordering::Relaxed))?;
        if let Some(command) = done.command {
            i.bridge.config.write16(at, COMMAND, command);
        }
        i.dac.store(done.dac, Ordering::Relaxed);
        // SAFETY: non-null was required above for the operations that report.
        if let Some(out) = unsafe { result.as_mut() } {
            *out = done.result;
        }
        Ok(())
    });
    status(outcome, "PciIo Attributes")
}

unsafe extern "efiapi" fn get_bar_attributes(
    this: *mut Protocol,
    bar: u8,
    supports: *mut u64,
    resources: *mut *mut c_void,
) -> Status {
    let Some(i) = instance(this) else {
        return Status::INVALID_PARAMETER;
    };
    if supports.is_null() && resources.is_null() {
        return Status::INVALID_PARAMETER;
    }
    let Some(found) = i.device().bar(bar) else {
        return status(Err(Error::NoSuchBar { index: bar }), "PciIo GetBarAttributes");
    };
    if !resources.is_null() {
        let bytes = descriptors::bar(&found);
        let Some(pool) = (i.bridge.services.allocate_pool)(bytes.len()) else {
            return Status::OUT_OF_RESOURCES;
        };
        // SAFETY: `pool` holds `bytes.len()` fresh bytes; `resources` is the
        // caller's non-null VOID**.
        unsafe {
            core::ptr::copy_nonoverlapping(bytes.as_ptr(), pool, bytes.len());
            *resources = pool.cast();
        }
    }
    // SAFETY: the caller's UINT64 when non-null.
    if let Some(s) = unsafe { supports.as_mut() } {
        // SetBarAttributes offers nothing.
        *s = 0;
    }
    Status::SUCCESS
}

unsafe extern "efiapi" fn set_bar_attributes(
    this: *mut Protocol,
    _attributes: u64,
    _bar: u8,
    _offset: *mut u64,
    _length: *mut u64,
) -> Status {
    match instance(this) {
        Some(_) => Status::UNSUPPORTED,
        None => Status::INVALID_PARAMETER,
    }
}
