//! EFI_PCI_IO_PROTOCOL (UEFI 2.10 §14.4) against
//! EFI_PCI_ROOT_BRIDGE_IO_PROTOCOL (§14.2): every PCI I/O handle's vendor and
//! device id read through both; the controller the application was loaded
//! from is a PCI I/O handle whose path prefixes the application's device
//! path; a virtio register read through its BAR and through the root bridge
//! at the address GetBarAttributes gives agree; Configuration() ends with an
//! ACPI End Tag. The own controller's path is printed for the harness.

use crate::app::{find_protocol, ok, Console};
use core::ffi::c_void;
use core::fmt::Write;
use uefi_raw::protocol::device_path::{DevicePathProtocol, DevicePathToTextProtocol};
use uefi_raw::protocol::pci::root_bridge::{PciRootBridgeIoProtocol, PciRootBridgeIoProtocolWidth};
use uefi_raw::table::boot::BootServices;
use uefi_raw::{guid, Boolean, Guid, Handle, Status};

const PCI_IO: Guid = guid!("4cf5b200-68b8-4ca5-9eec-b23e3f50029a");
const UINT8: u32 = 0;
const UINT16: u32 = 1;
const UINT32: u32 = 2;

type IoMem = unsafe extern "efiapi" fn(*mut PciIo, u32, u8, u64, usize, *mut c_void) -> Status;
type Config = unsafe extern "efiapi" fn(*mut PciIo, u32, u32, usize, *mut c_void) -> Status;

/// `EFI_PCI_IO_PROTOCOL` (uefi-raw has none), the fields this check calls.
#[repr(C)]
struct PciIo {
    poll_mem: usize,
    poll_io: usize,
    mem_read: IoMem,
    mem_write: IoMem,
    io_read: IoMem,
    io_write: IoMem,
    pci_read: Config,
    pci_write: Config,
    copy_mem: usize,
    map: usize,
    unmap: usize,
    allocate_buffer: usize,
    free_buffer: usize,
    flush: usize,
    get_location: unsafe extern "efiapi" fn(*mut PciIo, *mut usize, *mut usize, *mut usize, *mut usize) -> Status,
    attributes: usize,
    get_bar_attributes: unsafe extern "efiapi" fn(*mut PciIo, u8, *mut u64, *mut *mut c_void) -> Status,
    set_bar_attributes: usize,
    rom_size: u64,
    rom_image: *mut c_void,
}

/// Bytes of a device path up to (not including) its end node.
unsafe fn path_body<'a>(path: *const u8) -> &'a [u8] {
    let mut len = 0usize;
    // SAFETY: a device path the firmware gave out, ending with End Entire.
    unsafe {
        while *path.add(len) != 0x7f && len < 4096 {
            len += usize::from(u16::from_le_bytes([*path.add(len + 2), *path.add(len + 3)])).max(4);
        }
        core::slice::from_raw_parts(path, len)
    }
}

unsafe fn device_path(bs: &BootServices, handle: Handle) -> Result<*const u8, &'static str> {
    let mut path: *mut c_void = core::ptr::null_mut();
    // SAFETY: boot services called as the specification describes.
    let status = unsafe { (bs.handle_protocol)(handle, &DevicePathProtocol::GUID, &mut path) };
    ok(status, "a PCI I/O handle without a device path")?;
    Ok(path as *const u8)
}

/// The virtio common configuration structure (virtio 1.2 §4.1.4.3): BAR and offset.
unsafe fn virtio_common_config(io: *mut PciIo) -> Option<(u8, u32)> {
    let mut at = 0u8;
    // SAFETY: PCI I/O called as §14.4 describes.
    unsafe {
        if ((*io).pci_read)(io, UINT8, 0x34, 1, core::ptr::from_mut::<u8>(&mut at).cast()) != Status::SUCCESS {
            return None;
        }
        for _ in 0..48 {
            if at < 0x40 {
                return None;
            }
            let mut cap = [0u8; 16];
            if ((*io).pci_read)(io, UINT8, u32::from(at), 16, cap.as_mut_ptr().cast()) != Status::SUCCESS {
                return None;
            }
            // Vendor-specific capability 0x09, cfg_type 1 (common).
            if cap[0] == 0x09 && cap[3] == 1 {
                return Some((cap[4], u32::from_le_bytes([cap[8], cap[9], cap[10], cap[11]])));
            }
            at = cap[1];
        }
    }
    None
}

pub(crate) unsafe fn check(bs: &BootServices, image: Handle, out: &mut Console) -> Result<(), &'static str> {
    // SAFETY: boot services and the protocols called as the specification describes.
    unsafe {
        let (_, root) = find_protocol(bs, &PciRootBridgeIoProtocol::GUID)?;
        let root = root.cast::<PciRootBridgeIoProtocol>();
        let mut resources: *const c_void = core::ptr::null();
        ok(((*root).configuration)(root, &mut resources), "Configuration")?;
        let mut d = resources.cast::<u8>();
        for _ in 0..16 {
            if *d != 0x8A {
                break;
            }
            d = d.add(3 + usize::from(u16::from_le_bytes([*d.add(1), *d.add(2)])));
        }
        if *d != 0x79 || d == resources.cast::<u8>() {
            return Err("Configuration's descriptors do not end with the End Tag");
        }

        let own = path_body(device_path(bs, crate::app::own_partition(bs, image)?)?);
        let own_on_pci = own.starts_with(&[2, 1]);

        let mut count = 0usize;
        let mut handles: *mut Handle = core::ptr::null_mut();
        ok(
            (bs.locate_handle_buffer)(2, &PCI_IO, core::ptr::null(), &mut count, &mut handles),
            "LocateHandleBuffer(PciIo)",
        )?;
        let handles = core::slice::from_raw_parts(handles, count);
        let mut own_controller = None;
        for &handle in handles {
            let mut io: *mut c_void = core::ptr::null_mut();
            ok((bs.handle_protocol)(handle, &PCI_IO, &mut io), "HandleProtocol(PciIo)")?;
            let io = io.cast::<PciIo>();
            let mut ids = 0u32;
            ok(
                ((*io).pci_read)(io, UINT32, 0, 1, core::ptr::from_mut::<u32>(&mut ids).cast()),
                "PciIo.Pci.Read",
            )?;
            let (mut seg, mut bus, mut dev, mut func) = (0usize, 0usize, 0usize, 0usize);
            ok(
                ((*io).get_location)(io, &mut seg, &mut bus, &mut dev, &mut func),
                "GetLocation",
            )?;
            if seg as u32 != (*root).segment_number {
                return Err("GetLocation's segment is not the root bridge's");
            }
            let address = (bus as u64) << 24 | (dev as u64) << 16 | (func as u64) << 8;
            let mut through_root = 0u32;
            ok(
                ((*root).pci.read)(
                    root,
                    PciRootBridgeIoProtocolWidth::UINT32,
                    address,
                    1,
                    core::ptr::from_mut::<u32>(&mut through_root).cast(),
                ),
                "RootBridgeIo.Pci.Read",
            )?;
            if ids != through_root || ids as u16 == 0xFFFF {
                return Err("PciIo and RootBridgeIo read different vendor/device ids");
            }
            let path = path_body(device_path(bs, handle)?);
            // The controller's path, then the partition's HD node (media 4/1).
            if own_on_pci && own.len() > path.len() && own.starts_with(path) && own[path.len()..].starts_with(&[4, 1]) {
                if ids as u16 != 0x1af4 {
                    return Err("the application's disk controller is not a virtio device");
                }
                own_controller = Some((handle, io));
            }
        }
        let _ = (bs.free_pool)(handles.as_ptr() as *mut u8);

        let Some((handle, io)) = own_controller else {
            if own_on_pci {
                return Err("no PCI I/O handle's path prefixes the application's device path");
            }
            let _ = writeln!(out, "HVFW-APP: pci-io {count} functions; own disk not on PCI");
            return Ok(());
        };
        // The same handle holds the disk's BlockIo (UEFI bus driver model).
        let mut block: *mut c_void = core::ptr::null_mut();
        ok(
            (bs.handle_protocol)(handle, &uefi_raw::protocol::block::BlockIoProtocol::GUID, &mut block),
            "the disk's PCI I/O handle has no BlockIo",
        )?;
        let (bar, offset) = virtio_common_config(io).ok_or("no virtio common configuration capability")?;
        let mut descriptor: *mut c_void = core::ptr::null_mut();
        let mut supports = 0u64;
        ok(
            ((*io).get_bar_attributes)(io, bar, &mut supports, &mut descriptor),
            "GetBarAttributes",
        )?;
        let desc = descriptor as *const u8;
        if *desc != 0x8A || *desc.add(3) != 0 || *desc.add(46) != 0x79 {
            return Err("GetBarAttributes: not one memory QWORD descriptor and an End Tag");
        }
        let base = u64::from_le_bytes(core::slice::from_raw_parts(desc.add(14), 8).try_into().unwrap());
        let _ = (bs.free_pool)(descriptor.cast());
        // num_queues (offset 0x12) of the common configuration.
        let register = u64::from(offset) + 0x12;
        let (mut via_bar, mut via_root) = (0u16, 0xFFFFu16);
        ok(
            ((*io).mem_read)(
                io,
                UINT16,
                bar,
                register,
                1,
                core::ptr::from_mut::<u16>(&mut via_bar).cast(),
            ),
            "PciIo.Mem.Read",
        )?;
        ok(
            ((*root).mem.read)(
                root,
                PciRootBridgeIoProtocolWidth::UINT16,
                base + register,
                1,
                core::ptr::from_mut::<u16>(&mut via_root).cast(),
            ),
            "RootBridgeIo.Mem.Read",
        )?;
        if via_bar != via_root || via_bar == 0 {
            return Err("num_queues differs between PciIo.Mem and RootBridgeIo.Mem");
        }
        // A read past the BAR is refused, not performed.
        if ((*io).mem_read)(
            io,
            UINT16,
            bar,
            u64::MAX - 1,
            1,
            core::ptr::from_mut::<u16>(&mut via_bar).cast(),
        ) != Status::UNSUPPORTED
        {
            return Err("PciIo.Mem.Read past the BAR is not UNSUPPORTED");
        }
        let (_, to_text) = find_protocol(bs, &DevicePathToTextProtocol::GUID)?;
        let to_text = to_text as *const DevicePathToTextProtocol;
        // With shortcuts, as a UEFI shell asks: the root bridge reads `PciRoot(..)`.
        let text = ((*to_text).convert_device_path_to_text)(
            device_path(bs, handle)?.cast::<DevicePathProtocol>(),
            Boolean::FALSE,
            Boolean::TRUE,
        );
        if text.is_null() {
            return Err("ConvertDevicePathToText gave NULL");
        }
        let mut line = [0u8; 160];
        let mut n = 0;
        let mut c = text;
        while *c != 0 && n < line.len() {
            line[n] = *c as u8;
            n += 1;
            c = c.add(1);
        }
        let _ = (bs.free_pool)(text.cast());
        let _ = writeln!(
            out,
            "HVFW-APP: pci-io {count} functions; own disk {}",
            core::str::from_utf8(&line[..n]).unwrap_or("?")
        );
        Ok(())
    }
}
