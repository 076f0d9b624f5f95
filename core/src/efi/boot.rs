//! Boot services thunks (UEFI 2.10 §7): task priority, memory, events and
//! timers, and the miscellaneous services. Protocol and image services are in
//! their own modules.

// These are the EFI ABI edge: the functions are public so the service tables
// can name them, and their callers (EFI applications) are bound by the
// specification's pointer contract, which each function states at its checks.
#![allow(clippy::not_unsafe_ptr_arg_deref)]

use super::dispatch::{idle, poll_timers, run_notifications};
use super::{now_ns, out, BOOT};
use crate::caller_buffer;
use crate::events::{EventError, EventId};
use crate::memory::{AllocateType, MemoryType, DESCRIPTOR_SIZE, DESCRIPTOR_VERSION};
use core::ffi::c_void;
use r_efi::efi;

// ---- Task priority (§7.1) ----

/// RaiseTPL: sets the task priority level to `new`, returning the old one.
pub extern "efiapi" fn raise_tpl(new: efi::Tpl) -> efi::Tpl {
    BOOT.lock().events.raise_tpl(new)
}

/// RestoreTPL: lowers the task priority level back to `old`, running the notifications that became due.
pub extern "efiapi" fn restore_tpl(old: efi::Tpl) {
    BOOT.lock().events.restore_tpl(old);
    if old < crate::events::TPL_HIGH_LEVEL {
        poll_timers();
        run_notifications();
    }
}

// ---- Memory (§7.2) ----

/// AllocatePages: pages of `memory_type`, anywhere, below a limit or at an address.
pub extern "efiapi" fn allocate_pages(
    kind: efi::AllocateType,
    memory_type: efi::MemoryType,
    pages: usize,
    memory: *mut efi::PhysicalAddress,
) -> efi::Status {
    // SAFETY: the caller passes a valid pointer or null.
    let memory = match unsafe { out(memory) } {
        Ok(m) => m,
        Err(s) => return s,
    };
    let Ok(ty) = MemoryType::from_raw(memory_type) else {
        return efi::Status::INVALID_PARAMETER;
    };
    let Ok(kind) = AllocateType::from_raw(kind, *memory) else {
        return efi::Status::INVALID_PARAMETER;
    };
    match BOOT.lock().memory.allocate_pages(kind, ty, pages as u64) {
        Ok(address) => {
            *memory = address;
            efi::Status::SUCCESS
        }
        Err(e) => e.status(),
    }
}

/// FreePages: returns pages AllocatePages handed out.
pub extern "efiapi" fn free_pages(address: efi::PhysicalAddress, pages: usize) -> efi::Status {
    match BOOT.lock().memory.free_pages(address, pages as u64) {
        Ok(()) => efi::Status::SUCCESS,
        Err(e) => e.status(),
    }
}

/// GetMemoryMap: the memory map, its key, and the descriptors' size and version.
pub extern "efiapi" fn get_memory_map(
    size: *mut usize,
    map: *mut efi::MemoryDescriptor,
    key: *mut usize,
    descriptor_size: *mut usize,
    descriptor_version: *mut u32,
) -> efi::Status {
    // SAFETY: the caller passes valid pointers or null.
    let size = match unsafe { out(size) } {
        Ok(s) => s,
        Err(s) => return s,
    };
    // SAFETY: as above.
    if let Ok(d) = unsafe { out(descriptor_size) } {
        *d = DESCRIPTOR_SIZE;
    }
    // SAFETY: as above.
    if let Ok(v) = unsafe { out(descriptor_version) } {
        *v = DESCRIPTOR_VERSION;
    }
    let boot = BOOT.lock();
    let needed = boot.memory.map.map_size();
    if *size < needed {
        *size = needed;
        return efi::Status::BUFFER_TOO_SMALL;
    }
    if map.is_null() {
        return efi::Status::INVALID_PARAMETER;
    }
    // The caller's claim of `*size` bytes is checked; only what the map needs
    // becomes a slice.
    if let Err(e) = caller_buffer::check_elements(map as *const u8, *size) {
        log::debug!("GetMemoryMap: {e}");
        return e.status();
    }
    // SAFETY: the caller gave `*size` (at least `needed`) writable bytes at `map`.
    let buffer = match unsafe { caller_buffer::slice_mut(map.cast::<u8>(), needed) } {
        Ok(buffer) => buffer,
        Err(e) => return e.status(),
    };
    match boot.memory.get_memory_map(buffer) {
        Ok((map_key, written)) => {
            *size = written;
            // SAFETY: as above.
            match unsafe { out(key) } {
                Ok(k) => *k = map_key,
                Err(s) => return s,
            }
            efi::Status::SUCCESS
        }
        Err(e) => e.status(),
    }
}

/// AllocatePool: `size` bytes of `pool_type`, 8-byte aligned.
pub extern "efiapi" fn allocate_pool(
    memory_type: efi::MemoryType,
    size: usize,
    buffer: *mut *mut c_void,
) -> efi::Status {
    // SAFETY: the caller passes a valid pointer or null.
    let buffer = match unsafe { out(buffer) } {
        Ok(b) => b,
        Err(s) => return s,
    };
    let Ok(ty) = MemoryType::from_raw(memory_type) else {
        return efi::Status::INVALID_PARAMETER;
    };
    match BOOT.lock().memory.allocate_pool(ty, size) {
        Ok(address) => {
            *buffer = address as *mut c_void;
            efi::Status::SUCCESS
        }
        Err(e) => e.status(),
    }
}

/// FreePool: returns a buffer AllocatePool handed out.
pub extern "efiapi" fn free_pool(buffer: *mut c_void) -> efi::Status {
    if buffer.is_null() {
        return efi::Status::INVALID_PARAMETER;
    }
    match BOOT.lock().memory.free_pool(buffer as u64) {
        Ok(()) => efi::Status::SUCCESS,
        Err(e) => e.status(),
    }
}

// ---- Events and timers (§7.1) ----

fn event_id(event: efi::Event) -> EventId {
    EventId(event as usize)
}

fn create(
    kind: u32,
    tpl: efi::Tpl,
    function: Option<efi::EventNotify>,
    context: *mut c_void,
    group: Option<efi::Guid>,
    event: *mut efi::Event,
) -> efi::Status {
    // SAFETY: the caller passes a valid pointer or null.
    let event = match unsafe { out(event) } {
        Ok(e) => e,
        Err(s) => return s,
    };
    let function = function.map_or(0, |f| f as usize);
    match BOOT.lock().events.create(kind, tpl, function, context as usize, group) {
        Ok(id) => {
            *event = id.0 as efi::Event;
            efi::Status::SUCCESS
        }
        Err(e) => e.status(),
    }
}

/// CreateEvent: an event, with an optional notification function.
pub extern "efiapi" fn create_event(
    kind: u32,
    tpl: efi::Tpl,
    function: Option<efi::EventNotify>,
    context: *mut c_void,
    event: *mut efi::Event,
) -> efi::Status {
    create(kind, tpl, function, context, None, event)
}

/// CreateEventEx: CreateEvent, optionally in an event group.
pub extern "efiapi" fn create_event_ex(
    kind: u32,
    tpl: efi::Tpl,
    function: Option<efi::EventNotify>,
    context: *const c_void,
    group: *const efi::Guid,
    event: *mut efi::Event,
) -> efi::Status {
    // SAFETY: a non-null group points to a GUID (the caller's contract).
    let group = unsafe { group.as_ref() }.copied();
    create(kind, tpl, function, context.cast_mut(), group, event)
}

/// SetTimer: arms or cancels a timer event.
pub extern "efiapi" fn set_timer(event: efi::Event, kind: efi::TimerDelay, trigger: u64) -> efi::Status {
    let now = now_ns();
    let result = BOOT.lock().events.set_timer(event_id(event), kind, trigger, now);
    super::status_of(result, EventError::status)
}

/// SignalEvent: signals an event (and every event of its group).
pub extern "efiapi" fn signal_event(event: efi::Event) -> efi::Status {
    let result = BOOT.lock().events.signal(event_id(event));
    if result.is_ok() {
        run_notifications();
    }
    super::status_of(result, EventError::status)
}

/// CloseEvent: closes an event, cancelling its timer.
pub extern "efiapi" fn close_event(event: efi::Event) -> efi::Status {
    let result = BOOT.lock().events.close(event_id(event));
    super::status_of(result, EventError::status)
}

/// CheckEvent as a Rust function: Ok when signaled.
fn check(id: EventId) -> Result<(), EventError> {
    if BOOT.lock().events.check(id)? {
        return Ok(());
    }
    // A NOTIFY_WAIT event's function was queued; it may signal the event.
    run_notifications();
    BOOT.lock().events.consume_signal(id)
}

/// CheckEvent: whether a wait event is signalled, clearing it if so.
pub extern "efiapi" fn check_event(event: efi::Event) -> efi::Status {
    poll_timers();
    super::status_of(check(event_id(event)), EventError::status)
}

/// WaitForEvent: waits until one of `events` is signalled; its index goes to `index`.
pub extern "efiapi" fn wait_for_event(count: usize, events: *mut efi::Event, index: *mut usize) -> efi::Status {
    if count == 0 || events.is_null() || index.is_null() {
        return efi::Status::INVALID_PARAMETER;
    }
    if let Err(e) = BOOT.lock().events.check_wait_allowed() {
        return e.status();
    }
    // SAFETY: the caller gave `count` events at `events` (checked first).
    let list = match unsafe { caller_buffer::slice(events, count) } {
        Ok(list) => list,
        Err(e) => return e.status(),
    };
    loop {
        for (i, &event) in list.iter().enumerate() {
            match check(event_id(event)) {
                Err(EventError::NotReady) => {}
                result => {
                    // SAFETY: checked non-null above; the caller's pointer.
                    unsafe { *index = i };
                    return super::status_of(result, EventError::status);
                }
            }
        }
        idle();
        core::hint::spin_loop();
    }
}

// ---- Miscellaneous (§7.5) ----

/// Stall: busy-waits at least `microseconds`.
pub extern "efiapi" fn stall(microseconds: usize) -> efi::Status {
    let end = now_ns().saturating_add((microseconds as u64).saturating_mul(1000));
    while now_ns() < end {
        idle();
    }
    efi::Status::SUCCESS
}

/// GetNextMonotonicCount: the next value of the boot-time counter.
pub extern "efiapi" fn get_next_monotonic_count(count: *mut u64) -> efi::Status {
    // SAFETY: the caller passes a valid pointer or null.
    let count = match unsafe { out(count) } {
        Ok(c) => c,
        Err(s) => return s,
    };
    let mut boot = BOOT.lock();
    boot.monotonic_count += 1;
    *count = boot.monotonic_count;
    efi::Status::SUCCESS
}

/// CopyMem returns nothing, so a range that cannot be real is left alone (and
/// said in the debug log) rather than copied.
pub extern "efiapi" fn copy_mem(destination: *mut c_void, source: *mut c_void, length: usize) {
    let checked = caller_buffer::check_elements(source as *const u8, length)
        .and_then(|()| caller_buffer::check_elements(destination as *const u8, length));
    if let Err(e) = checked {
        return log::debug!("CopyMem: {e}");
    }
    // SAFETY: both ranges passed the checks and the caller promised them;
    // `copy` handles overlap as the specification requires.
    unsafe { core::ptr::copy(source as *const u8, destination.cast::<u8>(), length) }
}

/// SetMem returns nothing: as CopyMem, an impossible range is left alone.
pub extern "efiapi" fn set_mem(buffer: *mut c_void, size: usize, value: u8) {
    if let Err(e) = caller_buffer::check_elements(buffer as *const u8, size) {
        return log::debug!("SetMem: {e}");
    }
    // SAFETY: the range passed the checks and the caller promised it.
    unsafe { core::ptr::write_bytes(buffer.cast::<u8>(), value, size) }
}

/// CalculateCrc32: the CRC-32 of `size` bytes at `data`.
pub extern "efiapi" fn calculate_crc32(data: *mut c_void, size: usize, crc: *mut u32) -> efi::Status {
    if data.is_null() || size == 0 || crc.is_null() {
        return efi::Status::INVALID_PARAMETER;
    }
    // SAFETY: the caller gives `size` readable bytes at `data` (checked first)
    // and a valid `crc`.
    unsafe {
        match caller_buffer::slice(data as *const u8, size) {
            Ok(bytes) => *crc = fw_drivers::crc32::crc32(bytes),
            Err(e) => return e.status(),
        }
    }
    efi::Status::SUCCESS
}

/// InstallConfigurationTable: adds, replaces or (with a NULL table) removes a configuration table.
pub extern "efiapi" fn install_configuration_table(guid: *mut efi::Guid, table: *mut c_void) -> efi::Status {
    // SAFETY: the caller passes a valid GUID or null.
    let Some(guid) = (unsafe { guid.as_ref() }).copied() else {
        return efi::Status::INVALID_PARAMETER;
    };
    let result = super::tables::set_configuration_table(guid, table);
    super::status_of(result, |s| *s)
}
