//! EFI handles for PCI: one for the root bridge (`PciRoot(0)` with
//! EFI_PCI_ROOT_BRIDGE_IO_PROTOCOL) and one per function enumerated behind
//! it, whose device path names every bridge on the way
//! (`PciRoot(0)/Pci(1,0)/Pci(0,0)`) and which carries EFI_PCI_IO_PROTOCOL.
//! Disk drivers install their BlockIo on their function's handle
//! (`efi_disks`), as a UEFI bus driver's children do (UEFI 2.10 §14.4).

use crate::platform::PciFound;
use alloc::boxed::Box;
use alloc::vec::Vec;
use fw_core::efi::protocol::install;
use fw_core::handles::HandleId;
use fw_drivers::pci::{function_path, PciAddress, PciDevice};
use fw_protocols::device_path::DevicePathBuf;
use fw_protocols::pci_io::efi::PciFunctionIo;
use fw_protocols::pci_io::root_bridge::RootBridgeIo;
use fw_protocols::pci_io::{Apertures, Range, RootBridge, Services};
use log::warn;
use r_efi::efi;
use r_efi::protocols::device_path;

/// The root bridge's ACPI UID in `PciRoot(UID)`: the machine has one, on segment 0.
const ROOT_UID: u32 = 0;

/// The PCI handles installed: each function's address, device path and handle.
pub struct PciHandles {
    pub functions: Vec<(PciAddress, DevicePathBuf, Option<HandleId>)>,
}

impl PciHandles {
    pub fn none() -> PciHandles {
        PciHandles { functions: Vec::new() }
    }

    /// The handle and device path of the function at `address`.
    pub fn find(&self, address: PciAddress) -> Option<(&DevicePathBuf, Option<HandleId>)> {
        self.functions
            .iter()
            .find(|(a, _, _)| *a == address)
            .map(|(_, path, handle)| (path, *handle))
    }
}

/// `PciRoot(0)/Pci(..)/...` for `devices[index]`.
pub fn function_device_path(devices: &[PciDevice], index: usize) -> DevicePathBuf {
    function_path(devices, index)
        .into_iter()
        .fold(DevicePathBuf::new().pci_root(ROOT_UID), |path, (device, function)| {
            path.pci(device, function)
        })
}

fn allocate_pages(max_address: u64, memory_type: u32, pages: usize) -> Result<u64, efi::Status> {
    let mut address = max_address;
    match fw_core::efi::boot::allocate_pages(efi::ALLOCATE_MAX_ADDRESS, memory_type, pages, &mut address) {
        efi::Status::SUCCESS => Ok(address),
        status => Err(status),
    }
}

fn free_pages(address: u64, pages: usize) -> efi::Status {
    fw_core::efi::boot::free_pages(address, pages)
}

fn allocate_pool(size: usize) -> Option<*mut u8> {
    let mut buffer: *mut core::ffi::c_void = core::ptr::null_mut();
    match fw_core::efi::boot::allocate_pool(efi::BOOT_SERVICES_DATA, size, &mut buffer) {
        efi::Status::SUCCESS => Some(buffer.cast()),
        _ => None,
    }
}

fn range(window: Option<fw_drivers::pci::Window>) -> Option<Range> {
    window.map(|w| Range {
        base: w.base(),
        size: w.end() - w.base(),
    })
}

/// Installs the root bridge's handle and one handle per function.
pub fn install_handles(found: Option<PciFound>) -> PciHandles {
    let Some(found) = found else {
        return PciHandles::none();
    };
    let bridge: &'static RootBridge = Box::leak(Box::new(RootBridge {
        segment: 0,
        buses: found.buses,
        apertures: Apertures {
            mmio32: range(found.windows.mmio32),
            mmio64: range(found.windows.mmio64),
            io: range(found.windows.io),
        },
        devices: found.devices,
        config: found.config,
        spaces: Box::new(found.spaces),
        services: Services {
            allocate_pages,
            free_pages,
            allocate_pool,
            now_ns: fw_arch::time::now_ns,
        },
    }));
    let root = RootBridgeIo::create(bridge);
    let root_path = DevicePathBuf::new().pci_root(ROOT_UID);
    let installed = install(None, device_path::PROTOCOL_GUID, root_path.leak().cast()).and_then(|handle| {
        install(
            Some(handle),
            fw_protocols::pci_io::root_bridge::PROTOCOL_GUID,
            root.protocol().cast(),
        )
    });
    match installed {
        Ok(handle) => root.set_parent(handle.raw() as efi::Handle),
        Err(e) => warn!("PCI root bridge: cannot install its handle: {e}"),
    }
    let functions = (0..bridge.devices.len())
        .map(|index| {
            let address = bridge.devices[index].address;
            let path = function_device_path(&bridge.devices, index);
            let io = PciFunctionIo::create(bridge, index);
            let handle = install(None, device_path::PROTOCOL_GUID, path.clone().leak().cast()).and_then(|handle| {
                install(
                    Some(handle),
                    fw_protocols::pci_io::efi::PROTOCOL_GUID,
                    io.protocol().cast(),
                )
            });
            let handle = match handle {
                Ok(handle) => {
                    install_gop(address, handle);
                    Some(handle)
                }
                Err(e) => {
                    warn!("PCI {address}: cannot install its handle: {e}");
                    None
                }
            };
            (address, path, handle)
        })
        .collect();
    PciHandles { functions }
}

/// GOP on the display function's handle, where edk2 puts it.
fn install_gop(address: PciAddress, handle: HandleId) {
    let Some(display) = crate::display::display().filter(|d| d.pci == Some(address)) else {
        return;
    };
    let gop = display.gop().protocol().cast();
    if let Err(e) = install(Some(handle), r_efi::protocols::graphics_output::PROTOCOL_GUID, gop) {
        warn!("PCI {address}: cannot install GOP: {e}");
    }
}
