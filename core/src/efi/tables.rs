//! The EFI system table, boot services table, runtime services table and the
//! configuration table array (UEFI 2.10 §4.3-§4.6), with their header CRCs.
//!
//! All of them are statics: the firmware image is runtime-services memory, so
//! the system table, runtime services and configuration tables stay valid for
//! the OS after ExitBootServices.

use super::{boot, image, protocol, runtime};
use core::cell::UnsafeCell;
use core::ffi::c_void;
use core::mem::size_of;
use r_efi::efi;
use spin::Mutex;

/// "IBI SYST", "BOOTSERV", "RUNTSERV".
const SYSTEM_TABLE_SIGNATURE: u64 = 0x5453_5953_2049_4249;
const BOOT_SERVICES_SIGNATURE: u64 = 0x5652_4553_544f_4f42;
const RUNTIME_SERVICES_SIGNATURE: u64 = 0x5652_4553_544e_5552;
/// UEFI 2.10.
pub const SPECIFICATION_REVISION: u32 = (2 << 16) | 100;
/// How many configuration tables can be installed (ACPI, SMBIOS, FDT, the
/// memory attributes, shim's and the OS loaders' own: a dozen in practice).
pub const MAX_CONFIGURATION_TABLES: usize = 32;

/// "hypervisor-fw" in UCS-2.
static VENDOR: [u16; 14] = {
    let text = *b"hypervisor-fw\0";
    let mut out = [0u16; 14];
    let mut i = 0;
    while i < text.len() {
        out[i] = text[i] as u16;
        i += 1;
    }
    out
};

/// A table the firmware hands out by pointer and applications may read at any
/// time. Mutated only by the firmware through [`Shared::with`], under a lock.
pub struct Shared<T>(UnsafeCell<T>);

// SAFETY: one CPU; mutation happens only under `UPDATE` below.
unsafe impl<T> Sync for Shared<T> {}

impl<T> Shared<T> {
    /// Wraps `value` for a static.
    pub const fn new(value: T) -> Shared<T> {
        Shared(UnsafeCell::new(value))
    }

    /// A pointer to the value, for the EFI tables and for changes under the update lock.
    pub fn get(&self) -> *mut T {
        self.0.get()
    }
}

/// Serialises changes to the tables.
static UPDATE: Mutex<()> = Mutex::new(());

const fn header(signature: u64, size: usize) -> efi::TableHeader {
    efi::TableHeader {
        signature,
        revision: SPECIFICATION_REVISION,
        header_size: size as u32,
        crc32: 0,
        reserved: 0,
    }
}

/// The configuration table array the system table points to.
pub static CONFIGURATION_TABLES: Shared<[efi::ConfigurationTable; MAX_CONFIGURATION_TABLES]> = Shared(UnsafeCell::new(
    [const {
        efi::ConfigurationTable {
            vendor_guid: efi::Guid::from_bytes(&[0; 16]),
            vendor_table: core::ptr::null_mut(),
        }
    }; MAX_CONFIGURATION_TABLES],
));

/// The runtime services table.
pub static RUNTIME_SERVICES: Shared<efi::RuntimeServices> = Shared(UnsafeCell::new(efi::RuntimeServices {
    hdr: header(RUNTIME_SERVICES_SIGNATURE, size_of::<efi::RuntimeServices>()),
    get_time: runtime::get_time,
    set_time: runtime::set_time,
    get_wakeup_time: runtime::get_wakeup_time,
    set_wakeup_time: runtime::set_wakeup_time,
    set_virtual_address_map: runtime::set_virtual_address_map,
    convert_pointer: runtime::convert_pointer,
    get_variable: runtime::get_variable,
    get_next_variable_name: runtime::get_next_variable_name,
    set_variable: runtime::set_variable,
    get_next_high_mono_count: runtime::get_next_high_mono_count,
    reset_system: runtime::reset_system,
    update_capsule: runtime::update_capsule,
    query_capsule_capabilities: runtime::query_capsule_capabilities,
    query_variable_info: runtime::query_variable_info,
}));

/// The boot services table.
pub static BOOT_SERVICES: Shared<efi::BootServices> = Shared(UnsafeCell::new(efi::BootServices {
    hdr: header(BOOT_SERVICES_SIGNATURE, size_of::<efi::BootServices>()),
    raise_tpl: boot::raise_tpl,
    restore_tpl: boot::restore_tpl,
    allocate_pages: boot::allocate_pages,
    free_pages: boot::free_pages,
    get_memory_map: boot::get_memory_map,
    allocate_pool: boot::allocate_pool,
    free_pool: boot::free_pool,
    create_event: boot::create_event,
    set_timer: boot::set_timer,
    wait_for_event: boot::wait_for_event,
    signal_event: boot::signal_event,
    close_event: boot::close_event,
    check_event: boot::check_event,
    install_protocol_interface: protocol::install_protocol_interface,
    reinstall_protocol_interface: protocol::reinstall_protocol_interface,
    uninstall_protocol_interface: protocol::uninstall_protocol_interface,
    handle_protocol: protocol::handle_protocol,
    reserved: core::ptr::null_mut(),
    register_protocol_notify: protocol::register_protocol_notify,
    locate_handle: protocol::locate_handle,
    locate_device_path: protocol::locate_device_path,
    install_configuration_table: boot::install_configuration_table,
    load_image: image::load_image,
    start_image: image::start_image,
    exit: image::exit,
    unload_image: image::unload_image,
    exit_boot_services: image::exit_boot_services,
    get_next_monotonic_count: boot::get_next_monotonic_count,
    stall: boot::stall,
    set_watchdog_timer: super::watchdog::set_watchdog_timer,
    connect_controller: protocol::connect_controller,
    disconnect_controller: protocol::disconnect_controller,
    open_protocol: protocol::open_protocol,
    close_protocol: protocol::close_protocol,
    open_protocol_information: protocol::open_protocol_information,
    protocols_per_handle: protocol::protocols_per_handle,
    locate_handle_buffer: protocol::locate_handle_buffer,
    locate_protocol: protocol::locate_protocol,
    install_multiple_protocol_interfaces: protocol::install_multiple_protocol_interfaces,
    uninstall_multiple_protocol_interfaces: protocol::uninstall_multiple_protocol_interfaces,
    calculate_crc32: boot::calculate_crc32,
    copy_mem: boot::copy_mem,
    set_mem: boot::set_mem,
    create_event_ex: boot::create_event_ex,
}));

/// The system table handed to every image.
pub static SYSTEM_TABLE: Shared<efi::SystemTable> = Shared(UnsafeCell::new(efi::SystemTable {
    hdr: header(SYSTEM_TABLE_SIGNATURE, size_of::<efi::SystemTable>()),
    firmware_vendor: VENDOR.as_ptr().cast_mut(),
    firmware_revision: 0x0001_0000,
    console_in_handle: core::ptr::null_mut(),
    con_in: core::ptr::null_mut(),
    console_out_handle: core::ptr::null_mut(),
    con_out: core::ptr::null_mut(),
    standard_error_handle: core::ptr::null_mut(),
    std_err: core::ptr::null_mut(),
    runtime_services: RUNTIME_SERVICES.0.get(),
    boot_services: BOOT_SERVICES.0.get(),
    number_of_table_entries: 0,
    configuration_table: CONFIGURATION_TABLES.0.get().cast::<efi::ConfigurationTable>(),
}));

/// The header's CRC32, computed with the CRC field zero (§4.2).
///
/// # Safety
/// `table` points to a table whose first bytes are an `efi::TableHeader` and
/// that is `header_size` bytes long.
unsafe fn update_crc(table: *mut efi::TableHeader) {
    // SAFETY: the caller's contract; one CPU, tables updated under `UPDATE`.
    unsafe {
        (*table).crc32 = 0;
        let bytes = core::slice::from_raw_parts(table as *const u8, (*table).header_size as usize);
        (*table).crc32 = fw_drivers::crc32::crc32(bytes);
    }
}

/// Recomputes the CRCs of all three tables.
fn update_crcs() {
    // SAFETY: the three statics start with their headers and are as long as
    // `header_size` says.
    unsafe {
        update_crc(RUNTIME_SERVICES.get().cast::<efi::TableHeader>());
        update_crc(BOOT_SERVICES.get().cast::<efi::TableHeader>());
        update_crc(SYSTEM_TABLE.get().cast::<efi::TableHeader>());
    }
}

/// The system table pointer handed to images.
pub fn system_table() -> *mut efi::SystemTable {
    SYSTEM_TABLE.get()
}

/// Computes the header CRCs; called once the console is in place.
pub fn init() {
    let _guard = UPDATE.lock();
    update_crcs();
}

/// Where the console protocols are.
#[derive(Clone, Copy)]
pub struct Consoles {
    /// The handle with the console input protocol.
    pub input_handle: efi::Handle,
    /// The console input protocol (SimpleTextIn).
    pub input: *mut r_efi::protocols::simple_text_input::Protocol,
    /// The handle with the console output protocol.
    pub output_handle: efi::Handle,
    /// The console output protocol (SimpleTextOut); also the standard error.
    pub output: *mut r_efi::protocols::simple_text_output::Protocol,
}

/// Points the system table's console fields at `c` and updates its CRC.
pub fn set_consoles(c: Consoles) {
    let _guard = UPDATE.lock();
    // SAFETY: under `UPDATE`; applications only read these fields.
    unsafe {
        let st = &mut *SYSTEM_TABLE.get();
        st.console_in_handle = c.input_handle;
        st.con_in = c.input;
        st.console_out_handle = c.output_handle;
        st.con_out = c.output;
        st.standard_error_handle = c.output_handle;
        st.std_err = c.output;
    }
    update_crcs();
}

/// InstallConfigurationTable: adds, replaces, or (with a null table) removes.
pub fn set_configuration_table(guid: efi::Guid, table: *mut c_void) -> Result<(), efi::Status> {
    let _guard = UPDATE.lock();
    // SAFETY: under `UPDATE`; the array and the count change together.
    unsafe {
        let st = &mut *SYSTEM_TABLE.get();
        let entries = &mut *CONFIGURATION_TABLES.get();
        let count = st.number_of_table_entries;
        let existing = entries[..count].iter().position(|e| e.vendor_guid == guid);
        match (existing, table.is_null()) {
            (Some(i), false) => entries[i].vendor_table = table,
            (Some(i), true) => {
                entries.copy_within(i + 1..count, i);
                st.number_of_table_entries = count - 1;
            }
            (None, true) => return Err(efi::Status::NOT_FOUND),
            (None, false) => {
                if count == MAX_CONFIGURATION_TABLES {
                    return Err(efi::Status::OUT_OF_RESOURCES);
                }
                entries[count] = efi::ConfigurationTable {
                    vendor_guid: guid,
                    vendor_table: table,
                };
                st.number_of_table_entries = count + 1;
            }
        }
    }
    update_crcs();
    Ok(())
}

/// The installed table with `guid`, for the firmware's own use.
pub fn configuration_table(guid: &efi::Guid) -> Option<*mut c_void> {
    let _guard = UPDATE.lock();
    // SAFETY: under `UPDATE`.
    unsafe {
        let st = &*SYSTEM_TABLE.get();
        let entries = &*CONFIGURATION_TABLES.get();
        entries[..st.number_of_table_entries]
            .iter()
            .find(|e| e.vendor_guid == *guid)
            .map(|e| e.vendor_table)
    }
}

/// After ExitBootServices the boot services are gone (§7.4): the OS must see
/// null pointers there.
pub fn clear_boot_services() {
    let _guard = UPDATE.lock();
    // SAFETY: under `UPDATE`; called once by ExitBootServices.
    unsafe {
        let st = &mut *SYSTEM_TABLE.get();
        st.boot_services = core::ptr::null_mut();
        st.console_in_handle = core::ptr::null_mut();
        st.con_in = core::ptr::null_mut();
        st.console_out_handle = core::ptr::null_mut();
        st.con_out = core::ptr::null_mut();
        st.standard_error_handle = core::ptr::null_mut();
        st.std_err = core::ptr::null_mut();
    }
    update_crcs();
}

/// Lets the architecture put trampolines in front of the runtime services
/// (aarch64: keeping the platform register x18 for the OS, UEFI 2.10 §2.3.6).
pub fn wrap_runtime_services(wrap: fn(&mut efi::RuntimeServices)) {
    let _guard = UPDATE.lock();
    // SAFETY: under `UPDATE`, before any application runs.
    unsafe { wrap(&mut *RUNTIME_SERVICES.get()) };
    update_crcs();
}

/// Installs the architecture's trampolines for the two variadic services,
/// which stable Rust cannot define; they spill the arguments and call
/// `protocol::{install,uninstall}_multiple_from_args`.
pub fn set_variadic_services(
    install: efi::BootInstallMultipleProtocolInterfaces,
    uninstall: efi::BootUninstallMultipleProtocolInterfaces,
) {
    let _guard = UPDATE.lock();
    // SAFETY: under `UPDATE`, before any application runs.
    unsafe {
        let bs = &mut *BOOT_SERVICES.get();
        bs.install_multiple_protocol_interfaces = install;
        bs.uninstall_multiple_protocol_interfaces = uninstall;
    }
    update_crcs();
}
