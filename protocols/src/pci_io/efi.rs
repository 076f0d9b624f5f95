//! EFI_PCI_IO_PROTOCOL (UEFI 2.10 §14.4): one instance per function the
//! firmware enumerated. BAR-relative accesses are turned into bus addresses
//! after checking the BAR exists, is of the space asked for, and holds the
//! whole request; then they go through the root bridge's checked accesses.
#![deny(unsafe_op_in_unsafe_fn)]
#![allow(clippy::not_unsafe_ptr_arg_deref)]

use super::attributes::{self, Operation as AttributeOperation};
use super::bridge::{RootBridge, Target};
use super::dma::Operation;
use super::edge::{self, poll_edge, transfer, Instance};
use super::width::Width;
use super::{descriptors, status, Error};
use crate::instances::Instances;
use core::cell::UnsafeCell;
use core::ffi::c_void;
use core::sync::atomic::{AtomicBool, Ordering};
use fw_drivers::pci::{PciDevice, COMMAND};
use r_efi::efi::Status;
use r_efi::protocols::pci_io::{self, Protocol};

pub use pci_io::PROTOCOL_GUID;

const SIGNATURE: u64 = u64::from_le_bytes(*b"hvfwPcIo");

/// The spaces and directions of the BAR and configuration accesses, as the
/// thunks' const parameters.
const MEMORY: bool = true;
const IO: bool = false;
const READ: bool = false;
const WRITE: bool = true;

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
        INSTANCES.leak(PciFunctionIo {
            protocol: UnsafeCell::new(Protocol {
                poll_mem: poll::<MEMORY>,
                poll_io: poll::<IO>,
                mem: pci_io::Access {
                    read: bar_access::<MEMORY, READ>,
                    write: bar_access::<MEMORY, WRITE>,
                },
                io: pci_io::Access {
                    read: bar_access::<IO, READ>,
                    write: bar_access::<IO, WRITE>,
                },
                pci: pci_io::ConfigAccess {
                    read: config::<READ>,
                    write: config::<WRITE>,
                },
                copy_mem,
                map: edge::map::<PciFunctionIo>,
                unmap: edge::unmap::<PciFunctionIo>,
                allocate_buffer: edge::allocate_buffer::<PciFunctionIo>,
                free_buffer: edge::free_buffer::<PciFunctionIo>,
                flush: edge::flush::<PciFunctionIo>,
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
        })
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

impl Instance for PciFunctionIo {
    type Protocol = Protocol;
    const NAME: &'static str = "PciIo";

    fn find(this: *mut Protocol) -> Option<&'static PciFunctionIo> {
        INSTANCES.find(this).filter(|i| i.signature == SIGNATURE)
    }

    fn bridge(&self) -> &RootBridge {
        self.bridge
    }

    /// BusMasterRead, BusMasterWrite, BusMasterCommonBuffer (§14.4); above
    /// 4 GiB once the caller enabled DUAL_ADDRESS_CYCLE.
    fn map_operation(&self, raw: u32) -> Option<(Operation, bool)> {
        let operation = [Operation::Read, Operation::Write, Operation::Common].get(raw as usize)?;
        Some((*operation, self.dac.load(Ordering::Relaxed)))
    }

    fn allocates_above_4g(&self) -> bool {
        self.dac.load(Ordering::Relaxed)
    }
}

/// Mem.Read, Mem.Write, Io.Read and Io.Write: `count` values at `offset`
/// in BAR `bar` of the space `MEMORY` says.
unsafe extern "efiapi" fn bar_access<const MEMORY: bool, const WRITE: bool>(
    this: *mut Protocol,
    width: u32,
    bar: u8,
    offset: u64,
    count: usize,
    buffer: *mut c_void,
) -> Status {
    let Some(i) = PciFunctionIo::find(this) else {
        return Status::INVALID_PARAMETER;
    };
    let result = Width::from_raw(width)
        .and_then(|w| w.span(count))
        .and_then(|span| i.bar_address(bar, MEMORY, offset, span))
        .and_then(|address| {
            let target = if MEMORY { Target::Memory } else { Target::Io };
            // SAFETY: the caller's contract, checked in `transfer`.
            unsafe { transfer(i.bridge, target, width, address, count, buffer, WRITE) }
        });
    status(result, if MEMORY { "PciIo Mem" } else { "PciIo Io" })
}

/// Pci.Read and Pci.Write: the function's configuration space.
unsafe extern "efiapi" fn config<const WRITE: bool>(
    this: *mut Protocol,
    width: u32,
    offset: u32,
    count: usize,
    buffer: *mut c_void,
) -> Status {
    let Some(i) = PciFunctionIo::find(this) else {
        return Status::INVALID_PARAMETER;
    };
    let target = Target::Config(i.device().address);
    // SAFETY: the caller's contract, checked in `transfer`.
    let result = unsafe { transfer(i.bridge, target, width, u64::from(offset), count, buffer, WRITE) };
    status(result, "PciIo Pci")
}

/// PollMem and PollIo: reads a BAR location until it matches or time runs out.
// The EFI function's own arguments.
#[allow(clippy::too_many_arguments)]
unsafe extern "efiapi" fn poll<const MEMORY: bool>(
    this: *mut Protocol,
    width: u32,
    bar: u8,
    offset: u64,
    mask: u64,
    value: u64,
    delay: u64,
    result: *mut u64,
) -> Status {
    let Some(i) = PciFunctionIo::find(this) else {
        return Status::INVALID_PARAMETER;
    };
    let target = if MEMORY { Target::Memory } else { Target::Io };
    let poll = || {
        Width::plain(width)
            .and_then(|w| i.bar_address(bar, MEMORY, offset, w.bytes()))
            .map_err(|e| (e, 0))
            .and_then(|address| i.bridge.poll(target, width, address, mask, value, delay))
    };
    // SAFETY: the caller's UINT64, or null (refused).
    unsafe { poll_edge(result, "PciIo Poll", poll) }
}

unsafe extern "efiapi" fn copy_mem(
    this: *mut Protocol,
    width: u32,
    destination_bar: u8,
    destination_offset: u64,
    source_bar: u8,
    source_offset: u64,
    count: usize,
) -> Status {
    let Some(i) = PciFunctionIo::find(this) else {
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

unsafe extern "efiapi" fn get_location(
    this: *mut Protocol,
    segment: *mut usize,
    bus: *mut usize,
    device: *mut usize,
    function: *mut usize,
) -> Status {
    let Some(i) = PciFunctionIo::find(this) else {
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
    let Some(i) = PciFunctionIo::find(this) else {
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
    let Some(i) = PciFunctionIo::find(this) else {
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
    match PciFunctionIo::find(this) {
        Some(_) => Status::UNSUPPORTED,
        None => Status::INVALID_PARAMETER,
    }
}
