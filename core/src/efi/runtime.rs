//! Runtime services thunks (UEFI 2.10 §8): time, variables, virtual memory and
//! reset. They run before and after ExitBootServices, so they use only
//! [`RUNTIME`] and statics — never the heap, which the OS owns by then.

// These are the EFI ABI edge: the functions are public so the service tables
// can name them, and their callers (EFI applications) are bound by the
// specification's pointer contract, which each function states at its checks.
#![allow(clippy::not_unsafe_ptr_arg_deref)]

use super::out;
use crate::caller_buffer;
use crate::variable_file::{self, RT_VAR_FILE_GUID};
use crate::variables::{VariableError, VariableStore};
use core::ffi::c_void;
use core::sync::atomic::{AtomicBool, Ordering};
use fw_drivers::rtc::calendar::{DateTime, EFI_TIME_SIZE};
use r_efi::efi;
use spin::Mutex;

/// Bytes for variables. Shim's MOK lists and SBAT levels, BootOrder and a
/// few Boot#### entries need a few KiB; systemd-boot adds a dozen small ones.
pub const VARIABLE_STORE_SIZE: usize = 64 * 1024;
/// VirtualAddressChange notifications kept at ExitBootServices.
const MAX_ADDRESS_CHANGE_NOTIFIES: usize = 16;

/// What the platform provides at runtime: functions in the firmware image.
#[derive(Clone, Copy)]
pub struct RuntimePlatform {
    /// Reads the real-time clock.
    pub get_time: fn() -> Result<DateTime, efi::Status>,
    /// Sets the real-time clock.
    pub set_time: fn(&DateTime) -> Result<(), efi::Status>,
    /// Resets or powers off; returns only if it could not.
    pub reset: fn(efi::ResetType),
    /// Whether SetVirtualAddressMap is offered. The runtime code keeps using
    /// physical addresses: that works where the OS keeps the runtime regions
    /// mapped 1:1 beside their new addresses (x86_64 Linux), not where it maps
    /// only the new ones (arm64 Linux). Where false, SetVirtualAddressMap
    /// returns UNSUPPORTED and the firmware says so in its
    /// EFI_RT_PROPERTIES_TABLE (UEFI 2.10 §4.6.2), so that the OS calls the
    /// services through a 1:1 mapping.
    pub virtual_address_map: bool,
}

/// EFI_RT_PROPERTIES_TABLE.RuntimeServicesSupported (UEFI 2.10 §4.6.2): what
/// this firmware implements, less SetVirtualAddressMap and ConvertPointer
/// where `virtual_address_map` is false.
pub const fn runtime_services_supported(virtual_address_map: bool) -> u32 {
    let always = efi::RT_SUPPORTED_GET_TIME
        | efi::RT_SUPPORTED_SET_TIME
        | efi::RT_SUPPORTED_GET_VARIABLE
        | efi::RT_SUPPORTED_GET_NEXT_VARIABLE_NAME
        | efi::RT_SUPPORTED_SET_VARIABLE
        | efi::RT_SUPPORTED_GET_NEXT_HIGH_MONOTONIC_COUNT
        | efi::RT_SUPPORTED_RESET_SYSTEM
        | efi::RT_SUPPORTED_QUERY_VARIABLE_INFO;
    if virtual_address_map {
        always | efi::RT_SUPPORTED_SET_VIRTUAL_ADDRESS_MAP | efi::RT_SUPPORTED_CONVERT_POINTER
    } else {
        always
    }
}

/// Writes a variable file (the store's non-volatile variables) to where the
/// platform keeps it; called after SetVariable changed a non-volatile variable
/// before ExitBootServices, with no lock held.
pub type PersistVariables = fn(&[u8]);

/// The runtime services' state: the variables and what changes at ExitBootServices and SetVirtualAddressMap.
pub struct Runtime {
    /// The variables, in an arena of runtime services data.
    pub variables: VariableStore<&'static mut [u8]>,
    /// Set once the platform found where to keep non-volatile variables.
    persist: Option<PersistVariables>,
    platform: Option<RuntimePlatform>,
    /// Set by ExitBootServices: only runtime-access variables are visible.
    exited: bool,
    virtual_mode: bool,
    high_count: u32,
    address_change: [(usize, usize); MAX_ADDRESS_CHANGE_NOTIFIES],
    address_change_count: usize,
}

/// The runtime state, `None` until the platform sets it up.
pub static RUNTIME: Mutex<Option<Runtime>> = Mutex::new(None);

/// Sets up the runtime state with the arena the firmware placed in runtime
/// memory (a static in the firmware image).
pub fn init(arena: &'static mut [u8], platform: RuntimePlatform) {
    *RUNTIME.lock() = Some(Runtime {
        variables: VariableStore::new(arena),
        persist: None,
        platform: Some(platform),
        exited: false,
        virtual_mode: false,
        high_count: 0,
        address_change: [(0, 0); MAX_ADDRESS_CHANGE_NOTIFIES],
        address_change_count: 0,
    });
}

/// Runs `f` with the runtime state; NOT_READY if the firmware never set it up.
fn with<T>(f: impl FnOnce(&mut Runtime) -> Result<T, efi::Status>) -> Result<T, efi::Status> {
    match RUNTIME.lock().as_mut() {
        Some(rt) => f(rt),
        None => Err(efi::Status::NOT_READY),
    }
}

fn status(result: Result<(), efi::Status>) -> efi::Status {
    result.err().unwrap_or(efi::Status::SUCCESS)
}

/// `VarToFile`: regenerated on every read from the store's non-volatile
/// variables, the variable file's complete content (EBBR, "Runtime Access to
/// File-Backed Variables").
const VAR_TO_FILE: &str = "VarToFile";
/// `RTStorageVolatile`: the variable file's path on the ESP, NUL-terminated ASCII.
const RT_STORAGE_VOLATILE: &str = "RTStorageVolatile";

fn is_named(name: &[u16], expected: &str) -> bool {
    name.iter().copied().take_while(|&c| c != 0).eq(expected.encode_utf16())
}

/// From now on, changes to non-volatile variables before ExitBootServices go
/// to `persist`, and `RTStorageVolatile` (naming `file_name`) and `VarToFile`
/// tell the OS where and what to write back after it changed variables at
/// runtime. Returns false if the runtime was never set up.
pub fn keep_variables_in_file(file_name: &str, persist: PersistVariables) -> bool {
    with(|rt| {
        rt.persist = Some(persist);
        let bs_rt = efi::VARIABLE_BOOTSERVICE_ACCESS | efi::VARIABLE_RUNTIME_ACCESS;
        let mut path = [0u8; 64];
        let bytes = file_name.as_bytes();
        let path = path.get_mut(..bytes.len() + 1).ok_or(efi::Status::INVALID_PARAMETER)?;
        path[..bytes.len()].copy_from_slice(bytes);
        let mut name = [0u16; 32];
        for (variable, value) in [(RT_STORAGE_VOLATILE, &*path), (VAR_TO_FILE, &[][..])] {
            let units = variable.encode_utf16().count();
            for (slot, unit) in name.iter_mut().zip(variable.encode_utf16()) {
                *slot = unit;
            }
            rt.variables
                .set_read_only(&name[..units], &RT_VAR_FILE_GUID, bs_rt, value)
                .map_err(|e| e.status())?;
        }
        Ok(())
    })
    .is_ok()
}

/// Loads a variable file's variables into the store (see
/// [`crate::variables::VariableStore::load`]).
pub fn load_variables(variables: &[variable_file::FileVariable<'_>]) -> crate::variables::LoadSummary {
    with(|rt| Ok(rt.variables.load(variables))).unwrap_or_default()
}

/// The variable file's bytes now: what [`keep_variables_in_file`]'s function
/// is given.
pub fn variable_file() -> Option<alloc::vec::Vec<u8>> {
    with(|rt| {
        let entries = rt.variables.non_volatile();
        let mut out = alloc::vec![0u8; variable_file::file_len(entries.clone())];
        variable_file::write_file(&mut out, entries).map_err(|_| efi::Status::BUFFER_TOO_SMALL)?;
        Ok(out)
    })
    .ok()
}

/// Set by ExitBootServices, read without a lock (by the global allocator,
/// which may run while [`RUNTIME`] is held).
static EXITED: AtomicBool = AtomicBool::new(false);

/// Whether ExitBootServices has run: the boot-services heap is the OS's.
pub fn exited() -> bool {
    EXITED.load(Ordering::Acquire)
}

/// Called by ExitBootServices with the VirtualAddressChange notifications,
/// which must outlive the boot-services event table.
pub fn enter_runtime(notifies: &[(usize, usize)]) {
    EXITED.store(true, Ordering::Release);
    let _ = with(|rt| {
        rt.exited = true;
        let n = notifies.len().min(MAX_ADDRESS_CHANGE_NOTIFIES);
        rt.address_change[..n].copy_from_slice(&notifies[..n]);
        rt.address_change_count = n;
        Ok(())
    });
}

// ---- Time (§8.3) ----

/// An EFI_TIME has one layout, `DateTime`'s EFI_TIME bytes (host-tested in
/// `fw_drivers::rtc::calendar`); r-efi's `efi::Time` is the same 16 bytes.
const _: () = assert!(core::mem::size_of::<efi::Time>() == EFI_TIME_SIZE);

/// GetTime: the real-time clock's date and time, and its capabilities.
pub extern "efiapi" fn get_time(time: *mut efi::Time, capabilities: *mut efi::TimeCapabilities) -> efi::Status {
    // SAFETY: the caller passes a valid pointer or null.
    let time = match unsafe { out(time) } {
        Ok(t) => t,
        Err(s) => return s,
    };
    let get = match with(|rt| rt.platform.map(|p| p.get_time).ok_or(efi::Status::UNSUPPORTED)) {
        Ok(get) => get,
        Err(s) => return s,
    };
    match get() {
        Ok(now) => {
            let time: *mut efi::Time = time;
            // SAFETY: `time` is the caller's writable EFI_TIME (checked by `out`),
            // whose 16 bytes are exactly the EFI_TIME layout `to_efi_bytes` writes.
            unsafe { time.cast::<[u8; EFI_TIME_SIZE]>().write_unaligned(now.to_efi_bytes()) };
            // SAFETY: as above; capabilities are optional.
            if let Ok(caps) = unsafe { out(capabilities) } {
                // The CMOS clock counts seconds; its accuracy is the VMM's.
                *caps = efi::TimeCapabilities {
                    resolution: 1,
                    accuracy: 50_000_000,
                    sets_to_zero: efi::Boolean::FALSE,
                };
            }
            efi::Status::SUCCESS
        }
        Err(s) => s,
    }
}

/// SetTime: sets the real-time clock.
pub extern "efiapi" fn set_time(time: *mut efi::Time) -> efi::Status {
    if time.is_null() {
        return efi::Status::INVALID_PARAMETER;
    }
    // SAFETY: the caller passes a valid EFI_TIME (null was refused above); its
    // 16 bytes are the layout `from_efi_bytes` reads.
    let t = DateTime::from_efi_bytes(&unsafe { time.cast::<[u8; EFI_TIME_SIZE]>().read_unaligned() });
    if !t.is_valid() {
        return efi::Status::INVALID_PARAMETER;
    }
    let set = match with(|rt| rt.platform.map(|p| p.set_time).ok_or(efi::Status::UNSUPPORTED)) {
        Ok(set) => set,
        Err(s) => return s,
    };
    status(set(&t))
}

/// GetWakeupTime: no wake-up alarm (UNSUPPORTED).
pub extern "efiapi" fn get_wakeup_time(
    _enabled: *mut efi::Boolean,
    _pending: *mut efi::Boolean,
    _time: *mut efi::Time,
) -> efi::Status {
    // Virtual machines have no wake-up alarm.
    efi::Status::UNSUPPORTED
}

/// SetWakeupTime: no wake-up alarm (UNSUPPORTED).
pub extern "efiapi" fn set_wakeup_time(_enable: efi::Boolean, _time: *mut efi::Time) -> efi::Status {
    efi::Status::UNSUPPORTED
}

// ---- Virtual memory (§8.4) ----

/// SetVirtualAddressMap: the firmware stays identity-mapped; runs the address-change notifications once.
pub extern "efiapi" fn set_virtual_address_map(
    _map_size: usize,
    _descriptor_size: usize,
    _version: u32,
    _map: *mut efi::MemoryDescriptor,
) -> efi::Status {
    let notifies = match with(|rt| {
        if !rt.exited || rt.virtual_mode || !rt.platform.is_some_and(|p| p.virtual_address_map) {
            return Err(efi::Status::UNSUPPORTED);
        }
        rt.virtual_mode = true;
        Ok((rt.address_change, rt.address_change_count))
    }) {
        Ok(n) => n,
        Err(s) => return s,
    };
    // The firmware keeps using physical addresses: x86_64 Linux keeps the 1:1
    // mapping of runtime regions next to the new one. The notifications let
    // drivers that registered them convert their own pointers.
    for &(function, context) in &notifies.0[..notifies.1] {
        // SAFETY: registered through CreateEvent(EVT_SIGNAL_VIRTUAL_ADDRESS_CHANGE),
        // which checked the function is not null.
        unsafe {
            let f = core::mem::transmute::<usize, efi::EventNotify>(function);
            f(core::ptr::null_mut(), context as *mut c_void);
        }
    }
    efi::Status::SUCCESS
}

/// ConvertPointer: addresses stay as they are (identity mapping).
pub extern "efiapi" fn convert_pointer(_debug_disposition: usize, address: *mut *mut c_void) -> efi::Status {
    if address.is_null() {
        return efi::Status::INVALID_PARAMETER;
    }
    if let Err(s) = with(|rt| match rt.platform {
        Some(p) if p.virtual_address_map => Ok(()),
        _ => Err(efi::Status::UNSUPPORTED),
    }) {
        return s;
    }
    // Identity: see set_virtual_address_map.
    efi::Status::SUCCESS
}

// ---- Variables (§8.2) ----

/// The longest variable name read from a caller, in characters.
const MAX_VARIABLE_NAME: usize = 1024;

/// A NUL-terminated UCS-2 name, at most [`MAX_VARIABLE_NAME`] characters.
///
/// # Safety
/// `name` is null or points to a NUL-terminated string.
unsafe fn name<'a>(name: *const u16) -> Result<&'a [u16], efi::Status> {
    // SAFETY: the caller's contract.
    unsafe { caller_buffer::ucs2_string(name, MAX_VARIABLE_NAME) }.map_err(|e| e.status())
}

/// GetVariable: a variable's attributes and data.
pub extern "efiapi" fn get_variable(
    variable_name: *mut efi::Char16,
    vendor: *mut efi::Guid,
    attributes: *mut u32,
    data_size: *mut usize,
    data: *mut c_void,
) -> efi::Status {
    // SAFETY: the caller passes valid pointers or null.
    let (name, vendor, size) = match unsafe { (name(variable_name), vendor.as_ref(), data_size.as_mut()) } {
        (Ok(n), Some(v), Some(s)) => (n, *v, s),
        _ => return efi::Status::INVALID_PARAMETER,
    };
    status(with(|rt| {
        let (attrs, value) = rt.variables.get(name, &vendor, rt.exited).map_err(|e| e.status())?;
        // §8.2.1: Attributes is set on output with EFI_SUCCESS and also with
        // EFI_BUFFER_TOO_SMALL (callers size their buffer and learn both).
        // SAFETY: an optional attributes pointer from the caller.
        if let Some(a) = unsafe { attributes.as_mut() } {
            *a = attrs;
        }
        if vendor == RT_VAR_FILE_GUID && is_named(name, VAR_TO_FILE) {
            return var_to_file(rt, size, data);
        }
        if *size < value.len() {
            *size = value.len();
            return Err(efi::Status::BUFFER_TOO_SMALL);
        }
        if data.is_null() {
            return Err(efi::Status::INVALID_PARAMETER);
        }
        caller_buffer::check_elements(data as *const u8, *size).map_err(|e| e.status())?;
        // SAFETY: the caller gave `*size` (at least the value's length) writable
        // bytes at `data`; the claim passed the checks.
        let out = unsafe { caller_buffer::slice_mut(data.cast::<u8>(), value.len()) }.map_err(|e| e.status())?;
        out.copy_from_slice(value);
        *size = value.len();
        Ok(())
    }))
}

/// GetVariable of `VarToFile`: the variable file written straight into the
/// caller's buffer (no allocation: this runs after ExitBootServices too).
fn var_to_file(rt: &Runtime, size: &mut usize, data: *mut c_void) -> Result<(), efi::Status> {
    let entries = rt.variables.non_volatile();
    let needed = variable_file::file_len(entries.clone());
    if *size < needed {
        *size = needed;
        return Err(efi::Status::BUFFER_TOO_SMALL);
    }
    if data.is_null() {
        return Err(efi::Status::INVALID_PARAMETER);
    }
    caller_buffer::check_elements(data as *const u8, *size).map_err(|e| e.status())?;
    // SAFETY: the caller gave `*size` (at least `needed`) writable bytes at
    // `data`; the claim passed the checks.
    let out = unsafe { caller_buffer::slice_mut(data.cast::<u8>(), needed) }.map_err(|e| e.status())?;
    *size = variable_file::write_file(out, entries).map_err(|_| efi::Status::BUFFER_TOO_SMALL)?;
    Ok(())
}

/// GetNextVariableName: the name and GUID of the variable after the given one.
pub extern "efiapi" fn get_next_variable_name(
    name_size: *mut usize,
    variable_name: *mut efi::Char16,
    vendor: *mut efi::Guid,
) -> efi::Status {
    // SAFETY: the caller passes valid pointers or null.
    let (size, guid) = match unsafe { (name_size.as_mut(), vendor.as_mut()) } {
        (Some(s), Some(g)) if !variable_name.is_null() => (s, g),
        _ => return efi::Status::INVALID_PARAMETER,
    };
    let units = *size / 2;
    if units == 0 {
        return efi::Status::INVALID_PARAMETER;
    }
    // SAFETY: the caller gave `*size` bytes at `variable_name`, holding a
    // NUL-terminated name within them; the claim is checked first.
    let buffer = match unsafe { caller_buffer::slice_mut(variable_name, units) } {
        Ok(buffer) => buffer,
        Err(e) => return e.status(),
    };
    let Some(current_len) = buffer.iter().position(|&c| c == 0) else {
        return efi::Status::INVALID_PARAMETER;
    };
    status(with(|rt| {
        // The current name is copied out so the same buffer can receive the next.
        let mut current = [0u16; 1025];
        let current = match current.get_mut(..current_len) {
            Some(slot) => {
                slot.copy_from_slice(&buffer[..current_len]);
                &*slot
            }
            None => return Err(efi::Status::INVALID_PARAMETER),
        };
        match rt.variables.next_name(current, guid, rt.exited, buffer) {
            Ok(next) => {
                *guid = next;
                *size = (buffer.iter().position(|&c| c == 0).unwrap_or(0) + 1) * 2;
                Ok(())
            }
            Err(VariableError::BufferTooSmall { needed }) => {
                *size = needed;
                Err(efi::Status::BUFFER_TOO_SMALL)
            }
            Err(e) => Err(e.status()),
        }
    }))
}

/// SetVariable: creates, replaces, appends to or deletes a variable.
pub extern "efiapi" fn set_variable(
    variable_name: *mut efi::Char16,
    vendor: *mut efi::Guid,
    attributes: u32,
    data_size: usize,
    data: *mut c_void,
) -> efi::Status {
    // SAFETY: the caller passes valid pointers or null.
    let (name, vendor) = match unsafe { (name(variable_name), vendor.as_ref()) } {
        (Ok(n), Some(v)) => (n, *v),
        _ => return efi::Status::INVALID_PARAMETER,
    };
    if data_size != 0 && data.is_null() {
        return efi::Status::INVALID_PARAMETER;
    }
    // SAFETY: the caller gave `data_size` readable bytes at `data` (checked first).
    let value = match unsafe { caller_buffer::slice(data as *const u8, data_size) } {
        Ok(value) => value,
        Err(e) => return e.status(),
    };
    let persist = with(|rt| {
        // PK, KEK, db, dbx and the mode variables: checked, never persisted.
        // After ExitBootServices the check allocates from the runtime arena
        // (the firmware's global allocator switches to it).
        use crate::secure_boot::auth_write;
        let secure_boot = auth_write::set_variable(&mut rt.variables, name, &vendor, attributes, value, rt.exited);
        if let Some(result) = secure_boot {
            return result.map(|()| None).map_err(|e| e.status());
        }
        let was_non_volatile = rt.variables.is_non_volatile(name, &vendor);
        rt.variables
            .set(name, &vendor, attributes, value, rt.exited)
            .map_err(|e| e.status())?;
        let non_volatile = was_non_volatile || attributes & efi::VARIABLE_NON_VOLATILE != 0;
        // After ExitBootServices the disk is the OS's: VarToFile carries the change.
        Ok(rt.persist.filter(|_| non_volatile && !rt.exited))
    });
    match persist {
        Ok(Some(persist)) => {
            // Outside the lock: writing the file reads variables no more, but
            // goes through the disk drivers.
            if let Some(file) = variable_file() {
                persist(&file);
            }
            efi::Status::SUCCESS
        }
        Ok(None) => efi::Status::SUCCESS,
        Err(status) => status,
    }
}

/// QueryVariableInfo: the storage the variables of `attributes` have and may take.
pub extern "efiapi" fn query_variable_info(
    attributes: u32,
    maximum_storage: *mut u64,
    remaining_storage: *mut u64,
    maximum_variable_size: *mut u64,
) -> efi::Status {
    // SAFETY: the caller passes valid pointers or null.
    let (Some(a), Some(b), Some(c)) = (unsafe {
        (
            maximum_storage.as_mut(),
            remaining_storage.as_mut(),
            maximum_variable_size.as_mut(),
        )
    }) else {
        return efi::Status::INVALID_PARAMETER;
    };
    status(with(|rt| {
        let info = match rt.variables.info(attributes, rt.exited) {
            Ok(info) => info,
            // §8.2.4: UNSUPPORTED for attributes the platform does not offer
            // (hardware error records, count-based authenticated variables).
            Err(VariableError::AuthenticationUnsupported) => return Err(efi::Status::UNSUPPORTED),
            Err(e) => return Err(e.status()),
        };
        *a = info.maximum_storage;
        *b = info.remaining_storage;
        *c = info.maximum_variable_size;
        Ok(())
    }))
}

// ---- Miscellaneous (§8.5) ----

/// GetNextHighMonotonicCount: increments the high 32 bits of the monotonic count and returns them.
pub extern "efiapi" fn get_next_high_mono_count(count: *mut u32) -> efi::Status {
    // SAFETY: the caller passes a valid pointer or null.
    let count = match unsafe { out(count) } {
        Ok(c) => c,
        Err(s) => return s,
    };
    status(with(|rt| {
        rt.high_count = rt.high_count.wrapping_add(1);
        *count = rt.high_count;
        Ok(())
    }))
}

/// ResetSystem: runs the reset notifications (before ExitBootServices), then resets or powers off.
pub extern "efiapi" fn reset_system(kind: efi::ResetType, status: efi::Status, size: usize, data: *mut c_void) {
    // Reset notifications (§8.5.1) live in boot-services memory.
    if with(|rt| Ok(!rt.exited)).unwrap_or(false) {
        super::reset_notify::notify(kind, status, size, data);
    }
    if let Ok(reset) = with(|rt| rt.platform.map(|p| p.reset).ok_or(efi::Status::UNSUPPORTED)) {
        reset(kind);
    }
    // The platform could not reset: stop here, as the call must not return.
    loop {
        core::hint::spin_loop();
    }
}

/// UpdateCapsule: no capsules (UNSUPPORTED).
pub extern "efiapi" fn update_capsule(
    _capsules: *mut *mut efi::CapsuleHeader,
    _count: usize,
    _list: efi::PhysicalAddress,
) -> efi::Status {
    efi::Status::UNSUPPORTED
}

/// QueryCapsuleCapabilities: no capsules (UNSUPPORTED).
pub extern "efiapi" fn query_capsule_capabilities(
    _capsules: *mut *mut efi::CapsuleHeader,
    _count: usize,
    _max_size: *mut u64,
    _reset: *mut efi::ResetType,
) -> efi::Status {
    efi::Status::UNSUPPORTED
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn properties_table_leaves_out_virtual_addressing_where_it_is_not_offered() {
        let without = runtime_services_supported(false);
        let with = runtime_services_supported(true);
        let virtual_bits = efi::RT_SUPPORTED_SET_VIRTUAL_ADDRESS_MAP | efi::RT_SUPPORTED_CONVERT_POINTER;
        assert_eq!(without & virtual_bits, 0);
        assert_eq!(with & virtual_bits, virtual_bits);
        assert_eq!(with & !virtual_bits, without);
        assert_ne!(without & efi::RT_SUPPORTED_GET_VARIABLE, 0);
        assert_eq!(without & efi::RT_SUPPORTED_UPDATE_CAPSULE, 0);
    }
}
