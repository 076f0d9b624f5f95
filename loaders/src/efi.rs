//! Small safe wrappers over the boot services the built-in applications use.
//! Every `unsafe` block is a call through the system table the firmware gave
//! the application, with arguments as the specification requires.

use alloc::string::String;
use alloc::vec::Vec;
use core::ffi::c_void;
use core::fmt::{self, Write};
use uefi_raw::protocol::device_path::{DevicePathProtocol, DevicePathToTextProtocol};
use uefi_raw::table::boot::BootServices;
use uefi_raw::table::system::SystemTable;
use uefi_raw::{Guid, Handle, Status};

/// `value` if a boot service returned SUCCESS, else its status.
fn succeeded<T>(status: Status, value: T) -> Result<T, Status> {
    if status == Status::SUCCESS {
        Ok(value)
    } else {
        Err(status)
    }
}

/// The application's view of the firmware.
pub struct Efi {
    /// This application's image handle, as the entry point received it.
    pub image: Handle,
    st: *mut SystemTable,
}

impl Efi {
    /// # Safety
    /// `st` is the system table the application was started with.
    pub unsafe fn new(image: Handle, st: *mut SystemTable) -> Efi {
        Efi { image, st }
    }

    fn bs(&self) -> &BootServices {
        // SAFETY: valid while boot services run, which is while apps run.
        unsafe { &*(*self.st).boot_services }
    }

    /// Writes to ConOut, turning `\n` into CR LF.
    pub fn print(&self, args: fmt::Arguments) {
        let _ = ConOut(self).write_fmt(args);
    }

    /// The handles that carry `protocol`, in the firmware's order.
    pub fn handles_with(&self, protocol: &Guid) -> Vec<Handle> {
        let mut count = 0usize;
        let mut buffer: *mut Handle = core::ptr::null_mut();
        // SAFETY: see the module doc; ByProtocol = 2.
        let status =
            unsafe { (self.bs().locate_handle_buffer)(2, protocol, core::ptr::null(), &mut count, &mut buffer) };
        if status != Status::SUCCESS || buffer.is_null() {
            return Vec::new();
        }
        // SAFETY: the firmware returned `count` handles at `buffer`.
        let handles = unsafe { core::slice::from_raw_parts(buffer, count) }.to_vec();
        // SAFETY: the buffer came from the pool.
        let _ = unsafe { (self.bs().free_pool)(buffer.cast::<u8>()) };
        handles
    }

    /// The interface of `protocol` on `handle`.
    // Handles are opaque ids handed back to the firmware, never dereferenced here.
    #[allow(clippy::not_unsafe_ptr_arg_deref)]
    pub fn protocol(&self, handle: Handle, protocol: &Guid) -> Option<*mut c_void> {
        let mut interface: *mut c_void = core::ptr::null_mut();
        // SAFETY: see the module doc.
        let status = unsafe { (self.bs().handle_protocol)(handle, protocol, &mut interface) };
        (status == Status::SUCCESS && !interface.is_null()).then_some(interface)
    }

    /// Microseconds on EFI_TIMESTAMP_PROTOCOL's counter (UEFI 2.10 §37.3),
    /// which has run since the machine started; `None` without the protocol.
    pub fn timestamp_usec(&self) -> Option<u64> {
        /// EFI_TIMESTAMP_PROTOCOL: GetTimestamp, GetProperties.
        #[repr(C)]
        struct Timestamp {
            get_timestamp: unsafe extern "efiapi" fn() -> u64,
            get_properties: unsafe extern "efiapi" fn(*mut [u64; 2]) -> Status,
        }
        const GUID: Guid = uefi_raw::guid!("afbfde41-2e6e-4262-ba65-62b9236e5495");
        let mut interface: *mut c_void = core::ptr::null_mut();
        // SAFETY: see the module doc.
        let status = unsafe { (self.bs().locate_protocol)(&GUID, core::ptr::null(), &mut interface) };
        if status != Status::SUCCESS || interface.is_null() {
            return None;
        }
        // SAFETY: the firmware's EFI_TIMESTAMP_PROTOCOL; its properties are
        // two UINT64s (frequency, end value).
        let (ticks, frequency) = unsafe {
            let protocol = &*(interface as *const Timestamp);
            let mut properties = [0u64; 2];
            if (protocol.get_properties)(&mut properties) != Status::SUCCESS {
                return None;
            }
            ((protocol.get_timestamp)(), properties[0])
        };
        (frequency != 0).then(|| (u128::from(ticks) * 1_000_000 / u128::from(frequency)) as u64)
    }

    /// The device path on `handle`, copied.
    pub fn device_path(&self, handle: Handle) -> Option<Vec<u8>> {
        let path = self.protocol(handle, &DevicePathProtocol::GUID)? as *const u8;
        let mut len = 0usize;
        // Walk the nodes in place; bounded so a broken path cannot run away.
        while len < 64 * 1024 {
            // SAFETY: reading node headers of the firmware's device path.
            let (kind, sub, node_len) = unsafe {
                (
                    *path.add(len),
                    *path.add(len + 1),
                    u16::from_le_bytes([*path.add(len + 2), *path.add(len + 3)]),
                )
            };
            if node_len < 4 {
                return None;
            }
            len += usize::from(node_len);
            if kind == 0x7f && sub == 0xff {
                // SAFETY: `len` bytes were just walked.
                return Some(unsafe { core::slice::from_raw_parts(path, len) }.to_vec());
            }
        }
        None
    }

    /// A device path as text (DevicePathToText), or a placeholder.
    pub fn path_text(&self, path: &[u8]) -> String {
        let mut interface: *mut c_void = core::ptr::null_mut();
        // SAFETY: see the module doc.
        let status =
            unsafe { (self.bs().locate_protocol)(&DevicePathToTextProtocol::GUID, core::ptr::null(), &mut interface) };
        if status != Status::SUCCESS || interface.is_null() {
            return String::from("(device path)");
        }
        let to_text = interface as *const DevicePathToTextProtocol;
        // SAFETY: the protocol's contract; the result is pool memory we free.
        unsafe {
            let text = ((*to_text).convert_device_path_to_text)(
                path.as_ptr().cast::<DevicePathProtocol>(),
                false.into(),
                // Shortcut names (`PciRoot(0x0)`) read better in messages.
                true.into(),
            );
            if text.is_null() {
                return String::from("(device path)");
            }
            let mut len = 0;
            while *text.add(len) != 0 && len < 4096 {
                len += 1;
            }
            let out = String::from_utf16_lossy(core::slice::from_raw_parts(text, len));
            let _ = (self.bs().free_pool)(text.cast::<u8>());
            out
        }
    }

    /// LoadImage from a device path.
    pub fn load_image(&self, path: &[u8]) -> Result<Handle, Status> {
        self.load_image_from_buffer(Some(path), &[])
    }

    /// LoadImage's result. An image refused by Secure Boot is loaded all the
    /// same and its handle returned with SECURITY_VIOLATION (UEFI 2.10
    /// §7.4.1): it may not be started, so it is unloaded here at once.
    fn loaded(&self, status: Status, handle: Handle) -> Result<Handle, Status> {
        if status == Status::SUCCESS {
            return Ok(handle);
        }
        if status == Status::SECURITY_VIOLATION && !handle.is_null() {
            let _ = self.unload_image(handle);
        }
        Err(status)
    }

    /// StartImage; the image's status.
    // Handles are opaque ids handed back to the firmware, never dereferenced here.
    #[allow(clippy::not_unsafe_ptr_arg_deref)]
    pub fn start_image(&self, handle: Handle) -> Status {
        // SAFETY: see the module doc.
        unsafe { (self.bs().start_image)(handle, core::ptr::null_mut(), core::ptr::null_mut()) }
    }

    /// StartImage of a boot option under the boot manager's watchdog (UEFI
    /// 2.10 §3.1.2): armed for five minutes with the firmware's code 0x0000
    /// before, disarmed when the image returns. A loader that needs longer
    /// disarms or re-arms it; ExitBootServices disarms it.
    #[allow(clippy::not_unsafe_ptr_arg_deref)]
    pub fn start_boot_option(&self, handle: Handle) -> Status {
        self.set_watchdog_timer(BOOT_OPTION_WATCHDOG_SECONDS);
        let status = self.start_image(handle);
        self.set_watchdog_timer(0);
        status
    }

    /// SetWatchdogTimer with the boot manager's code; 0 seconds disarms.
    fn set_watchdog_timer(&self, seconds: usize) {
        // SAFETY: see the module doc.
        let status = unsafe { (self.bs().set_watchdog_timer)(seconds, 0, 0, core::ptr::null()) };
        if status != Status::SUCCESS {
            self.print(format_args!("Boot: SetWatchdogTimer({seconds} s) failed: {status:?}\n"));
        }
    }
}

/// The boot manager's watchdog before it starts a boot option (§3.1.2).
const BOOT_OPTION_WATCHDOG_SECONDS: usize = 5 * 60;

struct ConOut<'a>(&'a Efi);

impl Write for ConOut<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        // SAFETY: ConOut from the system table.
        let out = unsafe { (*self.0.st).stdout };
        if out.is_null() {
            return Ok(());
        }
        fw_bytes::console::for_each_piece(s, |piece| {
            // SAFETY: ConOut from the system table; `piece` is NUL-terminated UCS-2.
            let _ = unsafe { ((*out).output_string)(out, piece.as_ptr()) };
        });
        Ok(())
    }
}

/// `print!` to ConOut.
#[macro_export]
macro_rules! efi_print {
    ($efi:expr, $($arg:tt)*) => { $efi.print(format_args!($($arg)*)) };
}

// ---- Memory, images and protocols for the Linux loaders ----

/// What GetMemoryMap returned besides the descriptors (UEFI 2.10 §7.2.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MemoryMapInfo {
    /// Bytes of descriptors written.
    pub size: usize,
    /// The key ExitBootServices checks.
    pub map_key: usize,
    /// The size of one descriptor, which may exceed `EFI_MEMORY_DESCRIPTOR`'s.
    pub desc_size: usize,
    /// The descriptors' version.
    pub desc_version: u32,
}

impl Efi {
    /// The firmware's vendor, its revision and the UEFI revision it
    /// implements (the system table's header), for the Boot Loader Interface.
    pub fn firmware_info(&self) -> crate::boot_loader_interface::FirmwareInfo {
        // SAFETY: the system table the firmware gave us; FirmwareVendor is a
        // NUL-terminated UCS-2 string it owns (read up to 128 units).
        let (vendor, revision, uefi_revision) = unsafe {
            let st = &*self.st;
            let mut units = Vec::new();
            if !st.firmware_vendor.is_null() {
                for i in 0..128 {
                    let unit = *st.firmware_vendor.add(i);
                    if unit == 0 {
                        break;
                    }
                    units.push(unit);
                }
            }
            (
                String::from_utf16_lossy(&units),
                st.firmware_revision,
                st.header.revision.0,
            )
        };
        crate::boot_loader_interface::FirmwareInfo {
            vendor,
            revision,
            uefi_revision,
        }
    }

    /// The system table's address, for operating systems that want it.
    pub fn system_table_address(&self) -> u64 {
        self.st as u64
    }

    /// The configuration table registered under `guid` (e.g. ACPI 2.0), if any.
    pub fn configuration_table(&self, guid: &Guid) -> Option<*mut c_void> {
        // SAFETY: the firmware's table of `number_of_configuration_table_entries` entries.
        let tables = unsafe {
            let st = &*self.st;
            if st.configuration_table.is_null() {
                return None;
            }
            core::slice::from_raw_parts(st.configuration_table, st.number_of_configuration_table_entries)
        };
        tables.iter().find(|t| t.vendor_guid == *guid).map(|t| t.vendor_table)
    }

    /// InstallConfigurationTable (§7.3.16): adds, replaces (same GUID) or,
    /// with a null `table`, removes an entry.
    ///
    /// # Safety
    /// `table` stays valid, unmoved, for as long as it is installed.
    pub unsafe fn install_configuration_table(&self, guid: &Guid, table: *mut c_void) -> Result<(), Status> {
        // SAFETY: see the module doc; the caller keeps `table` alive.
        let status = unsafe { (self.bs().install_configuration_table)(guid, table) };
        succeeded(status, ())
    }

    /// AllocatePages (§7.2.1); `address` is the limit for MAX_ADDRESS and the
    /// place for ADDRESS, ignored for ANY_PAGES. The start of the pages.
    pub fn allocate_pages(
        &self,
        ty: uefi_raw::table::boot::AllocateType,
        memory_type: uefi_raw::table::boot::MemoryType,
        pages: usize,
        address: u64,
    ) -> Result<u64, Status> {
        let mut addr = address;
        // SAFETY: see the module doc; `addr` is a valid in/out location.
        let status = unsafe { (self.bs().allocate_pages)(ty, memory_type, pages, &mut addr) };
        succeeded(status, addr)
    }

    /// FreePages (§7.2.2) of pages this application allocated.
    pub fn free_pages(&self, address: u64, pages: usize) -> Status {
        // SAFETY: see the module doc; the firmware checks the range is allocated.
        unsafe { (self.bs().free_pages)(address, pages) }
    }

    /// GetMemoryMap (§7.2.3) into `buffer`, which should be 8-byte aligned.
    /// On BUFFER_TOO_SMALL the error carries no size: ask [`Efi::memory_map_size`].
    pub fn memory_map(&self, buffer: &mut [u8]) -> Result<MemoryMapInfo, Status> {
        let mut size = buffer.len();
        let (mut map_key, mut desc_size, mut desc_version) = (0usize, 0usize, 0u32);
        #[expect(
            clippy::cast_ptr_alignment,
            reason = "the buffer's alignment is the caller's duty, as this function's doc says"
        )]
        // SAFETY: `buffer` is writable for `size` bytes; the rest are out-parameters.
        let status = unsafe {
            (self.bs().get_memory_map)(
                &mut size,
                buffer.as_mut_ptr().cast::<uefi_raw::table::boot::MemoryDescriptor>(),
                &mut map_key,
                &mut desc_size,
                &mut desc_version,
            )
        };
        succeeded(
            status,
            MemoryMapInfo {
                size,
                map_key,
                desc_size,
                desc_version,
            },
        )
    }

    /// The bytes GetMemoryMap needs right now, and the descriptor size.
    pub fn memory_map_size(&self) -> Result<(usize, usize), Status> {
        let mut size = 0usize;
        let (mut map_key, mut desc_size, mut desc_version) = (0usize, 0usize, 0u32);
        // SAFETY: a zero-sized buffer only asks for the size.
        let status = unsafe {
            (self.bs().get_memory_map)(
                &mut size,
                core::ptr::null_mut(),
                &mut map_key,
                &mut desc_size,
                &mut desc_version,
            )
        };
        if status == Status::BUFFER_TOO_SMALL || status == Status::SUCCESS {
            Ok((size, desc_size))
        } else {
            Err(status)
        }
    }

    /// ExitBootServices (§7.4.6). After success no boot service may be called
    /// (this `Efi` must not be used again) and nothing may allocate.
    pub fn exit_boot_services(&self, map_key: usize) -> Result<(), Status> {
        // SAFETY: see the module doc; the firmware checks `map_key`.
        let status = unsafe { (self.bs().exit_boot_services)(self.image, map_key) };
        succeeded(status, ())
    }

    /// LoadImage (§7.4.1) from `data` in memory, naming it by `path` (the
    /// file's device path) when known. With empty `data` the firmware reads
    /// the file at `path` itself.
    pub fn load_image_from_buffer(&self, path: Option<&[u8]>, data: &[u8]) -> Result<Handle, Status> {
        let mut handle: Handle = core::ptr::null_mut();
        let path = path.map_or(core::ptr::null(), |p| p.as_ptr().cast::<DevicePathProtocol>());
        let source = if data.is_empty() {
            core::ptr::null()
        } else {
            data.as_ptr()
        };
        // SAFETY: see the module doc; `data` and `path` are read during the call only.
        let status = unsafe { (self.bs().load_image)(false.into(), self.image, path, source, data.len(), &mut handle) };
        self.loaded(status, handle)
    }

    /// UnloadImage (§7.4.4) of an image loaded but not started.
    // A handle is an opaque token the firmware validates, never dereferenced here.
    #[allow(clippy::not_unsafe_ptr_arg_deref)]
    pub fn unload_image(&self, handle: Handle) -> Status {
        // SAFETY: see the module doc.
        unsafe { (self.bs().unload_image)(handle) }
    }

    /// The first `len` bytes (at most the image's size) of what LoadImage placed
    /// for `image`: its headers.
    pub fn loaded_image_bytes(&self, image: Handle, len: usize) -> Option<Vec<u8>> {
        let loaded = self.protocol(image, &uefi_raw::protocol::loaded_image::LoadedImageProtocol::GUID)?
            as *const uefi_raw::protocol::loaded_image::LoadedImageProtocol;
        // SAFETY: the firmware's LoadedImage of an image we loaded: ImageBase
        // holds ImageSize bytes the firmware placed and nobody frees yet.
        unsafe {
            let base = (*loaded).image_base.cast::<u8>();
            let len = len.min(usize::try_from((*loaded).image_size).ok()?);
            if base.is_null() {
                return None;
            }
            Some(core::slice::from_raw_parts(base, len).to_vec())
        }
    }

    /// Points the LoadedImage of `image` at `options` (LoadOptions, with
    /// LoadOptionsSize its length in bytes).
    ///
    /// # Safety
    /// `options` must stay alive and unmoved until the image no longer reads
    /// them (for an OS loader: until StartImage returns or never does).
    pub unsafe fn set_load_options(&self, image: Handle, options: &[u16]) -> Result<(), Status> {
        let size = u32::try_from(core::mem::size_of_val(options)).map_err(|_| Status::INVALID_PARAMETER)?;
        let loaded = self
            .protocol(image, &uefi_raw::protocol::loaded_image::LoadedImageProtocol::GUID)
            .ok_or(Status::NOT_FOUND)?
            .cast::<uefi_raw::protocol::loaded_image::LoadedImageProtocol>();
        // SAFETY: the firmware's LoadedImage of an image we loaded; the caller
        // keeps `options` alive as long as the image may read them.
        unsafe {
            (*loaded).load_options = options.as_ptr().cast::<c_void>();
            (*loaded).load_options_size = size;
        }
        Ok(())
    }

    /// InstallProtocolInterface (§7.3.2): `interface` under `protocol` on
    /// `handle`, or on a new handle when `None`. The handle.
    ///
    /// # Safety
    /// `interface` must be what `protocol` specifies and stay valid and unmoved
    /// until it is uninstalled.
    pub unsafe fn install_protocol(
        &self,
        handle: Option<Handle>,
        protocol: &Guid,
        interface: *const c_void,
    ) -> Result<Handle, Status> {
        let mut handle = handle.unwrap_or(core::ptr::null_mut());
        // SAFETY: see the module doc; the caller vouches for `interface`.
        let status = unsafe {
            (self.bs().install_protocol_interface)(
                &mut handle,
                protocol,
                uefi_raw::table::boot::InterfaceType::NATIVE_INTERFACE,
                interface,
            )
        };
        succeeded(status, handle)
    }

    /// UninstallProtocolInterface (§7.3.3) of an interface this application installed.
    // The firmware only compares `handle` and `interface` with its records.
    #[allow(clippy::not_unsafe_ptr_arg_deref)]
    pub fn uninstall_protocol(&self, handle: Handle, protocol: &Guid, interface: *const c_void) -> Status {
        // SAFETY: see the module doc; the firmware checks the triple exists.
        unsafe { (self.bs().uninstall_protocol_interface)(handle, protocol, interface) }
    }

    /// LocateDevicePath (§7.3.11): the handle with `protocol` whose device path
    /// is the longest prefix of `path`, if that prefix is all of `path` (only
    /// the end node left).
    pub fn locate_device_path_exact(&self, protocol: &Guid, path: &[u8]) -> Option<Handle> {
        let mut remaining = path.as_ptr().cast::<DevicePathProtocol>();
        let mut handle: Handle = core::ptr::null_mut();
        // SAFETY: see the module doc; `path` is a complete device path.
        let status = unsafe { (self.bs().locate_device_path)(protocol, &mut remaining, &mut handle) };
        if status != Status::SUCCESS || remaining.is_null() {
            return None;
        }
        let offset = (remaining as usize).checked_sub(path.as_ptr() as usize)?;
        let rest = path.get(offset..offset + 2)?;
        (rest == [0x7f, 0xff]).then_some(handle)
    }
}

// ---- Variables, console and timing for the boot manager ----

impl Efi {
    fn rt(&self) -> &uefi_raw::table::runtime::RuntimeServices {
        // SAFETY: the runtime services table outlives the application.
        unsafe { &*(*self.st).runtime_services }
    }

    /// GetVariable (§8.2.1): the variable's bytes, `None` if absent or unreadable.
    pub fn get_variable(&self, name: &str, vendor: &Guid) -> Option<Vec<u8>> {
        let name: Vec<u16> = name.encode_utf16().chain([0]).collect();
        // `buffer` is null (a size query) or holds `size` bytes.
        let get = |size: &mut usize, buffer: *mut u8| {
            // SAFETY: see the module doc; the name is NUL-terminated and
            // `buffer` is null or writable for `*size` bytes.
            unsafe { (self.rt().get_variable)(name.as_ptr(), vendor, core::ptr::null_mut(), size, buffer) }
        };
        let mut size = 0usize;
        if get(&mut size, core::ptr::null_mut()) != Status::BUFFER_TOO_SMALL {
            return None;
        }
        let mut data = alloc::vec![0u8; size];
        let status = get(&mut size, data.as_mut_ptr());
        (status == Status::SUCCESS).then(|| {
            data.truncate(size);
            data
        })
    }

    /// SetVariable (§8.2.3) with `attributes`; empty data deletes.
    pub fn set_variable(&self, name: &str, vendor: &Guid, attributes: u32, data: &[u8]) -> Status {
        let name: Vec<u16> = name.encode_utf16().chain([0]).collect();
        let attributes = uefi_raw::table::runtime::VariableAttributes::from_bits_retain(attributes);
        // SAFETY: `data` is readable for its length.
        unsafe { (self.rt().set_variable)(name.as_ptr(), vendor, attributes, data.len(), data.as_ptr()) }
    }

    /// A key from ConIn if one is waiting: (scan code, UCS-2 character).
    pub fn read_key(&self) -> Option<(u16, u16)> {
        // SAFETY: ConIn from the system table.
        let input = unsafe { (*self.st).stdin };
        if input.is_null() {
            return None;
        }
        let mut key = uefi_raw::protocol::console::InputKey::default();
        // SAFETY: ConIn's ReadKeyStroke with a valid key buffer.
        let status = unsafe { ((*input).read_key_stroke)(input, &mut key) };
        (status == Status::SUCCESS).then_some((key.scan_code, key.unicode_char))
    }

    /// A timer event signalled every `period_100ns` (CreateEvent and SetTimer,
    /// UEFI 2.10 §7.1), for waits that must follow the firmware's clock
    /// rather than count loop iterations.
    pub fn periodic_timer(&self, period_100ns: u64) -> Option<PeriodicTimer<'_>> {
        let mut event: uefi_raw::Event = core::ptr::null_mut();
        // SAFETY: a plain timer event (no notification function), written to `event`.
        let status = unsafe {
            (self.bs().create_event)(
                uefi_raw::table::boot::EventType::TIMER,
                uefi_raw::table::boot::Tpl::CALLBACK,
                None,
                core::ptr::null_mut(),
                &mut event,
            )
        };
        if status != Status::SUCCESS {
            return None;
        }
        let timer = PeriodicTimer { efi: self, event };
        // SAFETY: the event just created.
        let status = unsafe { (self.bs().set_timer)(event, uefi_raw::table::boot::TimerDelay::PERIODIC, period_100ns) };
        (status == Status::SUCCESS).then_some(timer)
    }

    /// Stall (§7.5.5).
    pub fn stall(&self, microseconds: usize) {
        // SAFETY: see the module doc.
        let _ = unsafe { (self.bs().stall)(microseconds) };
    }

    fn con_out(&self) -> Option<*mut uefi_raw::protocol::console::SimpleTextOutputProtocol> {
        // SAFETY: ConOut from the system table.
        let out = unsafe { (*self.st).stdout };
        (!out.is_null()).then_some(out)
    }

    /// ClearScreen on ConOut.
    pub fn clear_screen(&self) {
        if let Some(out) = self.con_out() {
            // SAFETY: ConOut's ClearScreen.
            let _ = unsafe { ((*out).clear_screen)(out) };
        }
    }

    /// SetAttribute on ConOut (EFI_TEXT_ATTR: foreground | background << 4).
    pub fn set_attribute(&self, attribute: usize) {
        if let Some(out) = self.con_out() {
            // SAFETY: ConOut's SetAttribute.
            let _ = unsafe { ((*out).set_attribute)(out, attribute) };
        }
    }
}

/// A periodic timer event from [`Efi::periodic_timer`], closed when dropped.
pub struct PeriodicTimer<'e> {
    efi: &'e Efi,
    event: uefi_raw::Event,
}

impl PeriodicTimer<'_> {
    /// Whether the period has elapsed since the last call that said so
    /// (CheckEvent clears the signal).
    pub fn fired(&self) -> bool {
        // SAFETY: our own open event.
        unsafe { (self.efi.bs().check_event)(self.event) == Status::SUCCESS }
    }
}

impl Drop for PeriodicTimer<'_> {
    fn drop(&mut self) {
        // SAFETY: our own open event, closed once.
        let _ = unsafe { (self.efi.bs().close_event)(self.event) };
    }
}
