//! Protocol handler services thunks (UEFI 2.10 §7.3) over [`crate::handles`].
//!
//! Events registered with RegisterProtocolNotify are signalled after the
//! database lock is released. The firmware loads no drivers, so
//! ConnectController has nothing to connect and DisconnectController nothing
//! to stop.

// These are the EFI ABI edge: the functions are public so the service tables
// can name them, and their callers (EFI applications) are bound by the
// specification's pointer contract, which each function states at its checks.
#![allow(clippy::not_unsafe_ptr_arg_deref)]

use super::dispatch::signal;
use super::{out, status_of, BOOT};
use crate::events::EventId;
use crate::handles::{device_path, Database, Error, HandleId, Interface, RegistrationId, Search};
use crate::memory::MemoryType;
use alloc::vec::Vec;
use core::ffi::c_void;
use core::mem::size_of;
use r_efi::efi;

/// Longest device path the firmware reads from an application.
const MAX_DEVICE_PATH: usize = 64 * 1024;
/// Most (GUID, interface) pairs one InstallMultipleProtocolInterfaces call takes.
const MAX_MULTIPLE_PAIRS: usize = 64;

fn handle(h: efi::Handle) -> Option<HandleId> {
    HandleId::from_efi(h)
}

fn guid_arg(g: *const efi::Guid) -> Option<efi::Guid> {
    // SAFETY: a non-null GUID pointer points to a GUID (the caller's contract).
    unsafe { g.as_ref() }.copied()
}

/// The handle and the protocol GUID a service acts on, if both are given.
fn handle_and_guid(h: efi::Handle, guid: *const efi::Guid) -> Option<(HandleId, efi::Guid)> {
    Some((handle(h)?, guid_arg(guid)?))
}

/// The handle an install service adds protocols to: `None` (make a new
/// one) for null, INVALID_PARAMETER for a handle that is not valid.
fn handle_to_install_on(h: efi::Handle) -> Result<Option<HandleId>, efi::Status> {
    if h.is_null() {
        Ok(None)
    } else {
        handle(h).map(Some).ok_or(efi::Status::INVALID_PARAMETER)
    }
}

/// What the handle database answers a service that acts on a handle's
/// protocol: `query` runs under the lock, which is released before the service
/// goes on (to signal events, say). INVALID_PARAMETER when the handle or the
/// GUID is missing; the database's errors as their statuses.
fn on_protocol<T>(
    h: efi::Handle,
    guid: *const efi::Guid,
    query: impl FnOnce(&mut Database, HandleId, &efi::Guid) -> Result<T, Error>,
) -> Result<T, efi::Status> {
    let (h, guid) = handle_and_guid(h, guid).ok_or(efi::Status::INVALID_PARAMETER)?;
    query(&mut BOOT.lock().handles, h, &guid).map_err(|e| e.status())
}

/// The GUID and the out-parameter of a service that looks a protocol up and
/// writes what it found; INVALID_PARAMETER when either pointer is null.
///
/// # Safety
/// `slot` is null or writable, `guid` null or readable.
unsafe fn guid_and_slot<'a, T>(guid: *const efi::Guid, slot: *mut T) -> Result<(efi::Guid, &'a mut T), efi::Status> {
    // SAFETY: the caller's contract.
    let slot = unsafe { out(slot) }?;
    let guid = guid_arg(guid).ok_or(efi::Status::INVALID_PARAMETER)?;
    Ok((guid, slot))
}

/// The bytes of a device path in memory, bounded and checked node by node.
///
/// # Safety
/// `path` is null or points to a device path the caller may read.
pub unsafe fn device_path_bytes<'a>(path: *const u8) -> Option<&'a [u8]> {
    if path.is_null() {
        return None;
    }
    let size = device_path::size_in_memory(MAX_DEVICE_PATH, |offset| {
        // SAFETY: the walker asks only for headers of nodes it has not yet
        // passed the end of; the caller's path is readable up to its end node.
        Some(unsafe { core::ptr::read_unaligned(path.add(offset).cast::<[u8; 4]>()) })
    })
    .ok()?;
    // SAFETY: `size` bytes were found to form the path.
    Some(unsafe { core::slice::from_raw_parts(path, size) })
}

fn signal_all(events: Vec<EventId>) {
    for event in events {
        signal(event);
    }
}

/// Installs a protocol from firmware code (not through the ABI).
pub fn install(handle: Option<HandleId>, guid: efi::Guid, interface: *mut c_void) -> Result<HandleId, Error> {
    let installed = BOOT
        .lock()
        .handles
        .install_protocol(handle, guid, Interface::from_ptr(interface))?;
    signal_all(installed.events);
    Ok(installed.handle)
}

/// Opens a protocol from firmware code, as a firmware driver does when it
/// takes a controller (`BY_DRIVER`) or makes a child of it
/// (`BY_CHILD_CONTROLLER`), so that OpenProtocolInformation shows who manages
/// what (UEFI 2.10 §7.3.9).
pub fn open(
    handle: HandleId,
    guid: efi::Guid,
    agent: HandleId,
    controller: HandleId,
    attributes: u32,
) -> Result<(), Error> {
    BOOT.lock()
        .handles
        .open_protocol(handle, &guid, Some(agent), Some(controller), attributes)
        .map(|_| ())
}

/// InstallProtocolInterface: adds a protocol to a handle, making a handle if none is given.
pub extern "efiapi" fn install_protocol_interface(
    handle_ptr: *mut efi::Handle,
    guid: *mut efi::Guid,
    interface_type: efi::InterfaceType,
    interface: *mut c_void,
) -> efi::Status {
    // SAFETY: the caller passes a valid pointer or null.
    let (slot, guid) = match (unsafe { out(handle_ptr) }, guid_arg(guid)) {
        (Ok(slot), Some(guid)) if interface_type == efi::NATIVE_INTERFACE => (slot, guid),
        _ => return efi::Status::INVALID_PARAMETER,
    };
    let existing = match handle_to_install_on(*slot) {
        Ok(existing) => existing,
        Err(status) => return status,
    };
    match install(existing, guid, interface) {
        Ok(h) => {
            *slot = h.to_efi();
            efi::Status::SUCCESS
        }
        Err(e) => e.status(),
    }
}

/// ReinstallProtocolInterface: replaces a protocol's interface on a handle.
pub extern "efiapi" fn reinstall_protocol_interface(
    h: efi::Handle,
    guid: *mut efi::Guid,
    old: *mut c_void,
    new: *mut c_void,
) -> efi::Status {
    let result = on_protocol(h, guid, |handles, h, guid| {
        handles.reinstall_protocol(h, guid, Interface::from_ptr(old), Interface::from_ptr(new))
    });
    match result {
        Ok(events) => {
            signal_all(events);
            efi::Status::SUCCESS
        }
        Err(status) => status,
    }
}

/// UninstallProtocolInterface: removes a protocol from a handle (the handle goes with its last protocol).
pub extern "efiapi" fn uninstall_protocol_interface(
    h: efi::Handle,
    guid: *mut efi::Guid,
    interface: *mut c_void,
) -> efi::Status {
    let result = on_protocol(h, guid, |handles, h, guid| {
        handles.uninstall_protocol(h, guid, Interface::from_ptr(interface))
    });
    status_of(result, |&status| status)
}

/// HandleProtocol: the interface of a protocol on a handle.
pub extern "efiapi" fn handle_protocol(
    h: efi::Handle,
    guid: *mut efi::Guid,
    interface: *mut *mut c_void,
) -> efi::Status {
    // SAFETY: the caller passes valid pointers or null.
    let (guid, slot) = match unsafe { guid_and_slot(guid, interface) } {
        Ok(found) => found,
        Err(s) => return s,
    };
    let Some(h) = handle(h) else {
        return efi::Status::INVALID_PARAMETER;
    };
    match BOOT.lock().handles.handle_protocol(h, &guid) {
        Ok(i) => {
            *slot = i.to_ptr();
            efi::Status::SUCCESS
        }
        Err(e) => {
            *slot = core::ptr::null_mut();
            e.status()
        }
    }
}

/// RegisterProtocolNotify: signals an event whenever the protocol is installed.
pub extern "efiapi" fn register_protocol_notify(
    guid: *mut efi::Guid,
    event: efi::Event,
    registration: *mut *mut c_void,
) -> efi::Status {
    // SAFETY: the caller passes valid pointers or null.
    let (guid, slot) = match unsafe { guid_and_slot(guid, registration) } {
        Ok(found) => found,
        Err(s) => return s,
    };
    let event = EventId(event as usize);
    let mut boot = BOOT.lock();
    if !boot.events.exists(event) {
        return efi::Status::INVALID_PARAMETER;
    }
    match boot.handles.register_protocol_notify(guid, event) {
        Ok(r) => {
            *slot = r.to_efi();
            efi::Status::SUCCESS
        }
        Err(e) => e.status(),
    }
}

fn search(kind: efi::LocateSearchType, guid: *mut efi::Guid, key: *mut c_void) -> Option<Search> {
    match kind {
        efi::ALL_HANDLES => Some(Search::AllHandles),
        efi::BY_PROTOCOL => guid_arg(guid).map(Search::ByProtocol),
        efi::BY_REGISTER_NOTIFY => RegistrationId::from_efi(key).map(Search::ByRegisterNotify),
        _ => None,
    }
}

/// LocateHandle: handles with a protocol, all handles, or those newly registered.
pub extern "efiapi" fn locate_handle(
    kind: efi::LocateSearchType,
    guid: *mut efi::Guid,
    key: *mut c_void,
    size: *mut usize,
    buffer: *mut efi::Handle,
) -> efi::Status {
    // SAFETY: the caller passes a valid pointer or null.
    let size = match unsafe { out(size) } {
        Ok(s) => s,
        Err(s) => return s,
    };
    let Some(search) = search(kind, guid, key) else {
        return efi::Status::INVALID_PARAMETER;
    };
    let mut boot = BOOT.lock();
    // ByRegisterNotify hands out one handle per call and consumes it only
    // when it is returned.
    let found = match search {
        Search::ByRegisterNotify(r) => boot.handles.peek_notified(r).map(|h| alloc::vec![h]),
        other => boot.handles.locate_handle(other),
    };
    let found = match found {
        Ok(f) => f,
        Err(e) => return e.status(),
    };
    let needed = found.len() * size_of::<efi::Handle>();
    if *size < needed {
        *size = needed;
        return efi::Status::BUFFER_TOO_SMALL;
    }
    if buffer.is_null() {
        return efi::Status::INVALID_PARAMETER;
    }
    if let Search::ByRegisterNotify(_) = search {
        let _ = boot.handles.locate_handle(search);
    }
    for (i, h) in found.iter().enumerate() {
        // SAFETY: the caller gave `*size` >= `needed` bytes at `buffer`.
        unsafe { buffer.add(i).write(h.to_efi()) };
    }
    *size = needed;
    efi::Status::SUCCESS
}

/// LocateHandleBuffer: LocateHandle into a pool buffer.
pub extern "efiapi" fn locate_handle_buffer(
    kind: efi::LocateSearchType,
    guid: *mut efi::Guid,
    key: *mut c_void,
    count: *mut usize,
    buffer: *mut *mut efi::Handle,
) -> efi::Status {
    if count.is_null() || buffer.is_null() {
        return efi::Status::INVALID_PARAMETER;
    }
    let Some(search) = search(kind, guid, key) else {
        return efi::Status::INVALID_PARAMETER;
    };
    let mut boot = BOOT.lock();
    let found = match boot.handles.locate_handle(search) {
        Ok(f) => f,
        Err(e) => return e.status(),
    };
    let bytes = found.len() * size_of::<efi::Handle>();
    let array = match boot.memory.allocate_pool(MemoryType::BootServicesData, bytes) {
        Ok(a) => a as *mut efi::Handle,
        Err(e) => return e.status(),
    };
    for (i, h) in found.iter().enumerate() {
        // SAFETY: the pool block holds `found.len()` handles.
        unsafe { array.add(i).write(h.to_efi()) };
    }
    // SAFETY: checked non-null above; the caller's pointers.
    unsafe {
        *count = found.len();
        *buffer = array;
    }
    efi::Status::SUCCESS
}

/// LocateDevicePath: the handle with the protocol whose device path is the longest prefix of the given one.
pub extern "efiapi" fn locate_device_path(
    guid: *mut efi::Guid,
    path: *mut *mut r_efi::protocols::device_path::Protocol,
    device: *mut efi::Handle,
) -> efi::Status {
    // SAFETY: the caller passes valid pointers or null.
    let (Some(guid), Ok(path), Ok(device)) = (guid_arg(guid), unsafe { out(path) }, unsafe { out(device) }) else {
        return efi::Status::INVALID_PARAMETER;
    };
    // SAFETY: `*path` is the caller's device path.
    let Some(wanted) = (unsafe { device_path_bytes(*path as *const u8) }) else {
        return efi::Status::INVALID_PARAMETER;
    };
    let boot = BOOT.lock();
    let found = boot.handles.locate_device_path(&guid, wanted, |interface| {
        // SAFETY: device-path interfaces point to device paths (installed by the
        // firmware or by an application that promised so).
        unsafe { device_path_bytes(interface.to_ptr() as *const u8) }
    });
    match found {
        Ok(m) => {
            *device = m.handle.to_efi();
            // SAFETY: `consumed` bytes are inside the caller's path.
            *path = unsafe { (*path).cast::<u8>().add(m.consumed) }.cast::<r_efi::protocols::device_path::Protocol>();
            efi::Status::SUCCESS
        }
        Err(e) => e.status(),
    }
}

/// ConnectController: the firmware's drivers connect at start, so nothing more connects (NOT_FOUND).
pub extern "efiapi" fn connect_controller(
    controller: efi::Handle,
    _drivers: *mut efi::Handle,
    _remaining: *mut r_efi::protocols::device_path::Protocol,
    _recursive: efi::Boolean,
) -> efi::Status {
    if_valid(controller, efi::Status::NOT_FOUND)
}

/// DisconnectController: nothing to disconnect; SUCCESS for any valid handle.
pub extern "efiapi" fn disconnect_controller(
    controller: efi::Handle,
    _driver: efi::Handle,
    _child: efi::Handle,
) -> efi::Status {
    if_valid(controller, efi::Status::SUCCESS)
}

/// `status` when `controller` is a handle in the database, else
/// INVALID_PARAMETER (Connect/DisconnectController's first check).
fn if_valid(controller: efi::Handle, status: efi::Status) -> efi::Status {
    match handle(controller) {
        Some(h) if BOOT.lock().handles.is_valid(h) => status,
        _ => efi::Status::INVALID_PARAMETER,
    }
}

/// OpenProtocol: opens a protocol on a handle for an agent, with the specification's rules.
pub extern "efiapi" fn open_protocol(
    h: efi::Handle,
    guid: *mut efi::Guid,
    interface: *mut *mut c_void,
    agent: efi::Handle,
    controller: efi::Handle,
    attributes: u32,
) -> efi::Status {
    let Some((h, guid)) = handle_and_guid(h, guid) else {
        return efi::Status::INVALID_PARAMETER;
    };
    if interface.is_null() && attributes != efi::OPEN_PROTOCOL_TEST_PROTOCOL {
        return efi::Status::INVALID_PARAMETER;
    }
    let result = BOOT
        .lock()
        .handles
        .open_protocol(h, &guid, handle(agent), handle(controller), attributes);
    let (status, value) = match result {
        Ok(i) => (efi::Status::SUCCESS, i),
        Err(Error::AlreadyOpen { interface, .. }) => (efi::Status::ALREADY_STARTED, interface),
        Err(e) => (e.status(), Interface::NULL),
    };
    if !interface.is_null() && attributes != efi::OPEN_PROTOCOL_TEST_PROTOCOL {
        // SAFETY: checked non-null; the caller's pointer.
        unsafe { *interface = value.to_ptr() };
    }
    status
}

/// CloseProtocol: closes what OpenProtocol opened.
pub extern "efiapi" fn close_protocol(
    h: efi::Handle,
    guid: *mut efi::Guid,
    agent: efi::Handle,
    controller: efi::Handle,
) -> efi::Status {
    let result = on_protocol(h, guid, |handles, h, guid| {
        handles.close_protocol(h, guid, handle(agent), handle(controller))
    });
    status_of(result, |&status| status)
}

/// OpenProtocolInformation: who has a protocol on a handle open, and how.
pub extern "efiapi" fn open_protocol_information(
    h: efi::Handle,
    guid: *mut efi::Guid,
    entries: *mut *mut efi::OpenProtocolInformationEntry,
    count: *mut usize,
) -> efi::Status {
    let Some((h, guid)) = handle_and_guid(h, guid) else {
        return efi::Status::INVALID_PARAMETER;
    };
    if entries.is_null() || count.is_null() {
        return efi::Status::INVALID_PARAMETER;
    }
    let mut boot = BOOT.lock();
    let info = match boot.handles.open_protocol_information(h, &guid) {
        Ok(i) => i,
        Err(e) => return e.status(),
    };
    let bytes = info.len().max(1) * size_of::<efi::OpenProtocolInformationEntry>();
    let array = match boot.memory.allocate_pool(MemoryType::BootServicesData, bytes) {
        Ok(a) => a as *mut efi::OpenProtocolInformationEntry,
        Err(e) => return e.status(),
    };
    for (i, o) in info.iter().enumerate() {
        // SAFETY: the pool block holds `info.len()` entries.
        unsafe {
            array.add(i).write(efi::OpenProtocolInformationEntry {
                agent_handle: o.agent.to_efi(),
                controller_handle: o.controller.map_or(core::ptr::null_mut(), HandleId::to_efi),
                attributes: o.attributes,
                open_count: o.open_count,
            })
        };
    }
    // SAFETY: checked non-null above.
    unsafe {
        *entries = array;
        *count = info.len();
    }
    efi::Status::SUCCESS
}

/// ProtocolsPerHandle: the GUIDs of the protocols on a handle.
pub extern "efiapi" fn protocols_per_handle(
    h: efi::Handle,
    buffer: *mut *mut *mut efi::Guid,
    count: *mut usize,
) -> efi::Status {
    let Some(h) = handle(h) else {
        return efi::Status::INVALID_PARAMETER;
    };
    if buffer.is_null() || count.is_null() {
        return efi::Status::INVALID_PARAMETER;
    }
    let mut boot = BOOT.lock();
    let guids = match boot.handles.protocols_per_handle(h) {
        Ok(g) => g,
        Err(e) => return e.status(),
    };
    // One pool block: the pointer array, then the GUIDs it points to, so the
    // caller's single FreePool releases both.
    let pointers = guids.len() * size_of::<*mut efi::Guid>();
    let bytes = pointers + guids.len() * size_of::<efi::Guid>();
    let block = match boot.memory.allocate_pool(MemoryType::BootServicesData, bytes.max(1)) {
        Ok(b) => b,
        Err(e) => return e.status(),
    };
    let array = block as *mut *mut efi::Guid;
    let copies = (block as usize + pointers) as *mut efi::Guid;
    for (i, g) in guids.iter().enumerate() {
        // SAFETY: the block holds the array and the copies; pool blocks are
        // 16-byte aligned and pointers are 8 bytes, so the GUIDs are aligned.
        unsafe {
            copies.add(i).write(*g);
            array.add(i).write(copies.add(i));
        }
    }
    // SAFETY: checked non-null above.
    unsafe {
        *buffer = array;
        *count = guids.len();
    }
    efi::Status::SUCCESS
}

/// LocateProtocol: the first interface of a protocol.
pub extern "efiapi" fn locate_protocol(
    guid: *mut efi::Guid,
    registration: *mut c_void,
    interface: *mut *mut c_void,
) -> efi::Status {
    // SAFETY: the caller passes valid pointers or null.
    let (guid, slot) = match unsafe { guid_and_slot(guid, interface) } {
        Ok(found) => found,
        Err(s) => return s,
    };
    let registration = if registration.is_null() {
        None
    } else {
        match RegistrationId::from_efi(registration) {
            Some(r) => Some(r),
            None => return efi::Status::INVALID_PARAMETER,
        }
    };
    match BOOT.lock().handles.locate_protocol(&guid, registration) {
        Ok(i) => {
            *slot = i.to_ptr();
            efi::Status::SUCCESS
        }
        Err(e) => {
            *slot = core::ptr::null_mut();
            e.status()
        }
    }
}

/// The (GUID, interface) pairs of a variadic call, up to the NULL GUID.
///
/// # Safety
/// `args` points to the spilled arguments: pairs of pointers ending with a null
/// GUID pointer (the trampoline in `arch` lays them out contiguously).
unsafe fn pairs(args: *const usize) -> Option<Vec<(efi::Guid, Interface)>> {
    let mut out = Vec::new();
    for i in 0..MAX_MULTIPLE_PAIRS {
        // SAFETY: the caller's argument list continues until the null GUID.
        let (guid, interface) = unsafe { (*args.add(2 * i), *args.add(2 * i + 1)) };
        if guid == 0 {
            return Some(out);
        }
        out.push((guid_arg(guid as *const efi::Guid)?, Interface(interface)));
    }
    None
}

/// InstallMultipleProtocolInterfaces, with the variadic arguments laid out in
/// memory: `args[0]` is the handle pointer, then GUID/interface pairs.
///
/// # Safety
/// See [`pairs`].
pub unsafe extern "efiapi" fn install_multiple_from_args(args: *const usize) -> efi::Status {
    // SAFETY: the trampoline's layout.
    let (slot, list) = unsafe { (*args as *mut efi::Handle, pairs(args.add(1))) };
    // SAFETY: the caller passes a valid pointer or null.
    let (Ok(slot), Some(list)) = (unsafe { out(slot) }, list) else {
        return efi::Status::INVALID_PARAMETER;
    };
    let existing = match handle_to_install_on(*slot) {
        Ok(existing) => existing,
        Err(status) => return status,
    };
    let result = BOOT.lock().handles.install_multiple(existing, &list, |interface| {
        // SAFETY: device-path interfaces point to device paths.
        unsafe { device_path_bytes(interface.to_ptr() as *const u8) }
    });
    match result {
        Ok(installed) => {
            *slot = installed.handle.to_efi();
            signal_all(installed.events);
            efi::Status::SUCCESS
        }
        Err(e) => e.status(),
    }
}

/// UninstallMultipleProtocolInterfaces, laid out as for install.
///
/// # Safety
/// See [`pairs`].
pub unsafe extern "efiapi" fn uninstall_multiple_from_args(args: *const usize) -> efi::Status {
    // SAFETY: the trampoline's layout.
    let (h, list) = unsafe { (*args as efi::Handle, pairs(args.add(1))) };
    let (Some(h), Some(list)) = (handle(h), list) else {
        return efi::Status::INVALID_PARAMETER;
    };
    match BOOT.lock().handles.uninstall_multiple(h, &list) {
        Ok(()) => efi::Status::SUCCESS,
        // The specification names only INVALID_PARAMETER for this service.
        Err(_) => efi::Status::INVALID_PARAMETER,
    }
}

/// Placeholder for the variadic services until the platform installs its
/// trampolines (`tables::set_variadic_services`).
pub extern "efiapi" fn install_multiple_protocol_interfaces(
    _h: *mut efi::Handle,
    _a: *mut c_void,
    _b: *mut c_void,
) -> efi::Status {
    efi::Status::UNSUPPORTED
}

/// Placeholder for UninstallMultipleProtocolInterfaces, like the one above.
pub extern "efiapi" fn uninstall_multiple_protocol_interfaces(
    _h: efi::Handle,
    _a: *mut c_void,
    _b: *mut c_void,
) -> efi::Status {
    efi::Status::UNSUPPORTED
}
