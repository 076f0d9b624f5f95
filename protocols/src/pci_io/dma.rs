//! Bus-master DMA for both PCI protocols (UEFI 2.10 §14.2.2 and §14.4:
//! Map, Unmap, AllocateBuffer, FreeBuffer). There is no IOMMU: a device
//! address is the host address. A device that cannot address 64 bits (no
//! dual address cycle) gets a bounce buffer below 4 GiB for a read or write
//! mapping above it; a common buffer there cannot be bounced and is refused.

use super::bridge::Services;
use super::Error;
use alloc::vec::Vec;
use r_efi::efi;
use spin::Mutex;

/// DMA buffers are whole 4 KiB pages.
pub const PAGE_SIZE: u64 = 4096;
/// The highest address a 32-bit bus master reaches.
pub const MAX_32_BIT: u64 = 0xFFFF_FFFF;

/// What the device does with a mapping.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Operation {
    /// The device reads system memory.
    Read,
    /// The device writes system memory.
    Write,
    /// Both, at any time, on the same bytes.
    Common,
}

/// Where a mapping's device address comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Plan {
    /// The device uses the host address itself.
    Identity,
    /// The device uses a bounce buffer below 4 GiB.
    Bounce {
        /// The bounce buffer's size in pages.
        pages: usize,
    },
}

/// Decides how to map `bytes` at `host` (safe logic, host-tested).
pub fn plan(operation: Operation, dac: bool, host: u64, bytes: usize) -> Result<Plan, Error> {
    if bytes == 0 {
        return Err(Error::EmptyMapping);
    }
    let last = host.checked_add(bytes as u64 - 1).ok_or(Error::EmptyMapping)?;
    if dac || last <= MAX_32_BIT {
        return Ok(Plan::Identity);
    }
    if operation == Operation::Common {
        return Err(Error::CommonBufferAbove4G { host });
    }
    Ok(Plan::Bounce {
        pages: (bytes as u64).div_ceil(PAGE_SIZE) as usize,
    })
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
/// One Map's record, kept until Unmap.
pub struct Mapping {
    /// What the device does with it.
    pub operation: Operation,
    /// The caller's buffer.
    pub host: u64,
    /// The address the device uses.
    pub device: u64,
    /// The mapping's size in bytes.
    pub bytes: usize,
    /// Pages of the bounce buffer at `device` (0: identity).
    pub bounce_pages: usize,
}

/// Live mappings; the token handed out is the slot number plus one.
static MAPPINGS: Mutex<Vec<Option<Mapping>>> = Mutex::new(Vec::new());

fn remember(mapping: Mapping) -> usize {
    let mut list = MAPPINGS.lock();
    if let Some(slot) = list.iter().position(Option::is_none) {
        list[slot] = Some(mapping);
        return slot + 1;
    }
    list.push(Some(mapping));
    list.len()
}

fn forget(token: usize) -> Option<Mapping> {
    MAPPINGS.lock().get_mut(token.checked_sub(1)?)?.take()
}

/// Copies between the caller's memory and a bounce buffer.
fn copy(destination: u64, source: u64, bytes: usize) {
    // SAFETY: one side is the caller's buffer of `bytes` bytes, which the
    // EFI caller passed to Map for the device to use; the other a bounce
    // buffer of at least `bytes` bytes allocated in `map`. They do not
    // overlap (the bounce buffer is fresh pages).
    unsafe { core::ptr::copy_nonoverlapping(source as *const u8, destination as *mut u8, bytes) }
}

/// Map: the device address and a token for Unmap.
pub fn map(
    services: &Services,
    operation: Operation,
    dac: bool,
    host: u64,
    bytes: usize,
) -> Result<(u64, usize), Error> {
    let mapping = match plan(operation, dac, host, bytes)? {
        Plan::Identity => Mapping {
            operation,
            host,
            device: host,
            bytes,
            bounce_pages: 0,
        },
        Plan::Bounce { pages } => {
            let device = (services.allocate_pages)(MAX_32_BIT, efi::BOOT_SERVICES_DATA, pages)
                .map_err(|_| Error::OutOfResources)?;
            if operation == Operation::Read {
                copy(device, host, bytes);
            }
            Mapping {
                operation,
                host,
                device,
                bytes,
                bounce_pages: pages,
            }
        }
    };
    Ok((mapping.device, remember(mapping)))
}

/// Unmap: a bounce buffer the device wrote is copied back, then freed.
pub fn unmap(services: &Services, token: usize) -> Result<(), Error> {
    let mapping = forget(token).ok_or(Error::UnknownMapping { token })?;
    if mapping.bounce_pages != 0 {
        if mapping.operation == Operation::Write {
            copy(mapping.host, mapping.device, mapping.bytes);
        }
        let _ = (services.free_pages)(mapping.device, mapping.bounce_pages);
    }
    Ok(())
}

/// Attributes AllocateBuffer accepts (§14.4): write combining, cached, and
/// dual address cycle (any address).
pub const ALLOCATE_ATTRIBUTES: u64 = 0x0080 | 0x0800 | 0x8000;
pub use super::attributes::ATTRIBUTE_DUAL_ADDRESS_CYCLE;

/// AllocateBuffer: pages for a common buffer, below 4 GiB unless the device
/// addresses 64 bits. The allocation type argument is ignored, as §14.4 says.
pub fn allocate(services: &Services, memory_type: u32, pages: usize, attributes: u64, dac: bool) -> Result<u64, Error> {
    if memory_type != efi::BOOT_SERVICES_DATA && memory_type != efi::RUNTIME_SERVICES_DATA {
        return Err(Error::BadMemoryType(memory_type));
    }
    if attributes & !ALLOCATE_ATTRIBUTES != 0 {
        return Err(Error::UnsupportedAttributes(attributes));
    }
    let max = if dac || attributes & ATTRIBUTE_DUAL_ADDRESS_CYCLE != 0 {
        u64::MAX
    } else {
        MAX_32_BIT
    };
    (services.allocate_pages)(max, memory_type, pages).map_err(|_| Error::OutOfResources)
}

/// FreeBuffer.
pub fn free(services: &Services, pages: usize, host: u64) -> Result<(), Error> {
    match (services.free_pages)(host, pages) {
        efi::Status::SUCCESS => Ok(()),
        _ => Err(Error::NotAllocated { host, pages }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identity_below_4g_or_with_dac_bounce_otherwise() {
        assert_eq!(plan(Operation::Read, false, 0x1000, 0x2000), Ok(Plan::Identity));
        assert_eq!(plan(Operation::Common, true, 1 << 33, 0x2000), Ok(Plan::Identity));
        assert_eq!(
            plan(Operation::Write, false, 0xFFFF_F000, 0x1001),
            Ok(Plan::Bounce { pages: 2 })
        );
        assert_eq!(
            plan(Operation::Common, false, 1 << 32, 8),
            Err(Error::CommonBufferAbove4G { host: 1 << 32 })
        );
        assert_eq!(plan(Operation::Read, false, 0x1000, 0), Err(Error::EmptyMapping));
        assert_eq!(plan(Operation::Read, true, u64::MAX, 2), Err(Error::EmptyMapping));
    }

    fn no_pages(_: u64, _: u32, _: usize) -> Result<u64, efi::Status> {
        Err(efi::Status::OUT_OF_RESOURCES)
    }
    fn free_ok(_: u64, _: usize) -> efi::Status {
        efi::Status::SUCCESS
    }
    fn free_fails(_: u64, _: usize) -> efi::Status {
        efi::Status::NOT_FOUND
    }
    fn services() -> Services {
        Services {
            allocate_pages: no_pages,
            free_pages: free_ok,
            allocate_pool: |_| None,
            now_ns: || 0,
        }
    }

    #[test]
    fn a_token_unmaps_once() {
        let s = services();
        let (device, token) = map(&s, Operation::Common, false, 0x10_0000, 64).unwrap();
        assert_eq!(device, 0x10_0000);
        assert_eq!(unmap(&s, token), Ok(()));
        assert_eq!(unmap(&s, token), Err(Error::UnknownMapping { token }));
        assert_eq!(unmap(&s, 0), Err(Error::UnknownMapping { token: 0 }));
        assert_eq!(map(&s, Operation::Read, false, 1 << 32, 64), Err(Error::OutOfResources));
    }

    #[test]
    fn allocate_buffer_checks_type_and_attributes() {
        let mut s = services();
        assert_eq!(
            allocate(&s, efi::LOADER_DATA, 1, 0, false),
            Err(Error::BadMemoryType(efi::LOADER_DATA))
        );
        assert_eq!(
            allocate(&s, efi::BOOT_SERVICES_DATA, 1, 0x100, false),
            Err(Error::UnsupportedAttributes(0x100))
        );
        s.allocate_pages = |max, _, _| Ok(max & !0xFFF);
        assert_eq!(allocate(&s, efi::BOOT_SERVICES_DATA, 1, 0, false), Ok(0xFFFF_F000));
        assert_eq!(
            allocate(&s, efi::RUNTIME_SERVICES_DATA, 1, ATTRIBUTE_DUAL_ADDRESS_CYCLE, false),
            Ok(!0xFFF)
        );
        s.free_pages = free_fails;
        assert_eq!(free(&s, 1, 0x5000), Err(Error::NotAllocated { host: 0x5000, pages: 1 }));
    }
}
