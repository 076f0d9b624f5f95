//! Brings up the EFI runtime: the memory map from the VMM's map and the
//! firmware's own layout, the tables, the runtime services, the console, the
//! standard variables and the ACPI configuration table.

use alloc::boxed::Box;
use core::ffi::c_void;
use core::ops::Range;
use fw_core::boot_info::BootInfo;
use fw_core::efi::{self, runtime, tables, Platform, BOOT};
use fw_core::handles::HandleId;
use fw_core::memory::{MemoryType, EFI_PAGE_SIZE};
use fw_drivers::rtc::calendar::DateTime;
use fw_drivers::rtc::cmos::{CmosRegisters, CmosRtc};
use fw_protocols::console::{MonotonicClock, SerialConsole, SerialPort};
use log::{error, warn};
use r_efi::efi as e;

/// Bytes of the variable store, in the image's .bss (runtime services data).
static mut VARIABLE_ARENA: [u8; runtime::VARIABLE_STORE_SIZE] = [0; runtime::VARIABLE_STORE_SIZE];

struct Com1;

impl SerialPort for Com1 {
    fn write(&self, bytes: &[u8]) {
        crate::firmware::COM1.write_bytes(bytes);
    }
    fn read_byte(&self) -> Option<u8> {
        crate::firmware::COM1.read_byte()
    }
}

struct Tsc;

impl MonotonicClock for Tsc {
    fn now_ns(&self) -> u64 {
        fw_arch::x86_64::time::now_ns()
    }
}

static COM1_PORT: Com1 = Com1;
static TSC: Tsc = Tsc;
static CONSOLE: spin::Once<&'static SerialConsole> = spin::Once::new();

/// The CMOS index/data ports.
pub struct CmosPorts;

impl CmosRegisters for CmosPorts {
    fn read(&self, index: u8) -> u8 {
        // SAFETY: 0x70/0x71 are the PC's CMOS ports; NMI stays enabled (bit 7 clear).
        unsafe {
            fw_drivers::portio::outb(0x70, index & 0x7f);
            fw_drivers::portio::inb(0x71)
        }
    }
    fn write(&self, index: u8, value: u8) {
        // SAFETY: as above.
        unsafe {
            fw_drivers::portio::outb(0x70, index & 0x7f);
            fw_drivers::portio::outb(0x71, value);
        }
    }
}

fn rtc_get() -> Result<DateTime, e::Status> {
    CmosRtc::new(CmosPorts).read().map_err(|_| e::Status::DEVICE_ERROR)
}

fn rtc_set(t: &DateTime) -> Result<(), e::Status> {
    CmosRtc::new(CmosPorts).write(t).map_err(|_| e::Status::DEVICE_ERROR)
}

fn reset(kind: e::ResetType) {
    crate::power::reset(kind);
}

fn idle() {
    if let Some(console) = CONSOLE.get() {
        console.poll();
    }
}

/// The WaitForKey notification (EVT_NOTIFY_WAIT): runs when an application
/// checks or waits on the event; signals it when a key is waiting.
extern "efiapi" fn wait_for_key(event: e::Event, _context: *mut c_void) {
    if let Some(console) = CONSOLE.get() {
        console.poll();
        if console.key_available() {
            let _ = BOOT.lock().events.signal(fw_core::events::EventId(event as usize));
        }
    }
}

fn exit_boot_services() {
    crate::platform::quiesce();
}

fn pages(range: &Range<u64>) -> u64 {
    (range.end - range.start).div_ceil(EFI_PAGE_SIZE)
}

/// Builds the EFI memory map: the VMM's regions, then the firmware image
/// (runtime code and data, with the boot stack and page tables as boot data)
/// and the heap (boot data) carved out.
fn build_memory_map(info: &BootInfo, heap: &Range<u64>) {
    let mut boot = BOOT.lock();
    let map = &mut boot.memory.map;
    for region in info.regions() {
        if let Err(e) = map.add_boot_region(region) {
            warn!("memory map: cannot add {:#x}+{:#x}: {e}", region.start, region.size);
        }
    }
    let layout = fw_arch::image_layout();
    let carve = [
        (&layout.code, MemoryType::RuntimeServicesCode),
        (&layout.data, MemoryType::RuntimeServicesData),
        (&layout.boot_data, MemoryType::BootServicesData),
        (heap, MemoryType::BootServicesData),
    ];
    for (range, ty) in carve {
        if let Err(e) = map.set_type(range.start, pages(range), ty) {
            error!(
                "memory map: cannot mark {:#x}-{:#x} as {ty:?}: {e}",
                range.start, range.end
            );
        }
    }
    for m in info.modules() {
        let range = m.start..m.start + m.size;
        if let Err(e) = map.set_type_covering(range, MemoryType::LoaderData) {
            warn!("memory map: cannot keep module at {:#x}: {e}", m.start);
        }
    }
}

fn ucs2(s: &str) -> alloc::vec::Vec<u16> {
    s.encode_utf16().collect()
}

fn set_standard_variables() {
    use e::{VARIABLE_BOOTSERVICE_ACCESS as BS, VARIABLE_NON_VOLATILE as NV, VARIABLE_RUNTIME_ACCESS as RT};
    let mut rt = runtime::RUNTIME.lock();
    let Some(rt) = rt.as_mut() else { return };
    let global = e::GLOBAL_VARIABLE;
    let read_only: [(&str, &[u8]); 5] = [
        // Secure Boot is off and no platform key is enrolled (setup mode).
        ("SecureBoot", &[0]),
        ("SetupMode", &[1]),
        ("PlatformLangCodes", b"en-US\0"),
        ("LangCodes", b"eng\0"),
        ("OsIndicationsSupported", &[0; 8]),
    ];
    for (name, value) in read_only {
        if let Err(e) = rt.variables.set_read_only(&ucs2(name), &global, BS | RT, value) {
            warn!("variable {name}: {e}");
        }
    }
    for (name, value) in [("PlatformLang", &b"en-US\0"[..]), ("Lang", b"eng\0")] {
        if let Err(e) = rt.variables.set(&ucs2(name), &global, NV | BS | RT, value, false) {
            warn!("variable {name}: {e}");
        }
    }
}

/// hypervisor-fw's own variables, for its built-in applications, from the VMM's
/// command line: `hvfw.linux=bzimage` boots Linux entries through the x86 boot
/// protocol instead of the kernel's EFI stub; `hvfw.bls=off` leaves Boot Loader
/// Specification entries to a boot loader on the disk (systemd-boot).
fn set_firmware_variables(info: &BootInfo) {
    use e::{VARIABLE_BOOTSERVICE_ACCESS as BS, VARIABLE_RUNTIME_ACCESS as RT};
    use fw_loaders::boot_manager::{BLS_VARIABLE, HVFW_VENDOR, LINUX_BOOT_PROTOCOL_VARIABLE};
    let vendor = e::Guid::from_bytes(&HVFW_VENDOR.to_bytes());
    for (key, variable) in [
        ("hvfw.linux=", LINUX_BOOT_PROTOCOL_VARIABLE),
        ("hvfw.bls=", BLS_VARIABLE),
    ] {
        let Some(value) = info
            .cmdline()
            .split_ascii_whitespace()
            .find_map(|w| w.strip_prefix(key))
        else {
            continue;
        };
        if let Some(rt) = runtime::RUNTIME.lock().as_mut() {
            if let Err(err) = rt
                .variables
                .set(&ucs2(variable), &vendor, BS | RT, value.as_bytes(), false)
            {
                warn!("cannot record {key}{value}: {err}");
            }
        }
    }
}

/// The handle applications see as the firmware's own image (their parent).
pub fn firmware_handle() -> e::Handle {
    FIRMWARE_HANDLE.load(core::sync::atomic::Ordering::Relaxed) as e::Handle
}

static FIRMWARE_HANDLE: core::sync::atomic::AtomicUsize = core::sync::atomic::AtomicUsize::new(0);

fn install_firmware_image() {
    let range = fw_arch::image_range();
    let protocol = Box::leak(Box::new(r_efi::protocols::loaded_image::Protocol {
        revision: r_efi::protocols::loaded_image::REVISION,
        parent_handle: core::ptr::null_mut(),
        system_table: tables::system_table(),
        device_handle: core::ptr::null_mut(),
        file_path: core::ptr::null_mut(),
        reserved: core::ptr::null_mut(),
        load_options_size: 0,
        load_options: core::ptr::null_mut(),
        image_base: range.start as *mut c_void,
        image_size: range.end - range.start,
        image_code_type: MemoryType::RuntimeServicesCode.raw(),
        image_data_type: MemoryType::RuntimeServicesData.raw(),
        unload: None,
    }));
    match efi::protocol::install(
        None,
        r_efi::protocols::loaded_image::PROTOCOL_GUID,
        protocol as *mut _ as *mut c_void,
    ) {
        Ok(h) => FIRMWARE_HANDLE.store(h.raw(), core::sync::atomic::Ordering::Relaxed),
        Err(e) => error!("cannot install the firmware's LoadedImage: {e}"),
    }
}

fn install_console() {
    let console = *CONSOLE.call_once(|| SerialConsole::create(&COM1_PORT, &TSC));
    let mut handle: Option<HandleId> = None;
    for (guid, interface) in [
        (
            r_efi::protocols::simple_text_output::PROTOCOL_GUID,
            console.text_output() as *mut c_void,
        ),
        (
            r_efi::protocols::simple_text_input::PROTOCOL_GUID,
            console.text_input() as *mut c_void,
        ),
        (
            r_efi::protocols::simple_text_input_ex::PROTOCOL_GUID,
            console.text_input_ex() as *mut c_void,
        ),
    ] {
        match efi::protocol::install(handle, guid, interface) {
            Ok(h) => handle = Some(h),
            Err(e) => error!("console: {e}"),
        }
    }
    let event = BOOT.lock().events.create(
        e::EVT_NOTIFY_WAIT,
        e::TPL_NOTIFY,
        wait_for_key as *const () as usize,
        0,
        None,
    );
    match event {
        Ok(id) => console.set_wait_for_key_event(id.0),
        Err(e) => error!("console: cannot create WaitForKey: {e}"),
    }
    let handle = handle.map_or(core::ptr::null_mut(), HandleId::to_efi);
    tables::set_consoles(tables::Consoles {
        input_handle: handle,
        input: console.text_input(),
        output_handle: handle,
        output: console.text_output(),
    });
}

/// EFI_RNG_PROTOCOL when the CPU has a hardware generator (RDRAND).
fn install_rng() {
    if !fw_arch::x86_64::random::available() {
        log::debug!("no RDRAND: no EFI_RNG_PROTOCOL");
        return;
    }
    let rng = fw_protocols::rng::RngProtocol::create(fw_arch::x86_64::random::fill);
    if let Err(e) = efi::protocol::install(None, r_efi::protocols::rng::PROTOCOL_GUID, rng.protocol().cast()) {
        warn!("cannot install EFI_RNG_PROTOCOL: {e}");
    }
}

fn alloc_pool(size: usize) -> *mut u8 {
    BOOT.lock()
        .memory
        .allocate_pool(MemoryType::BootServicesData, size)
        .map_or(core::ptr::null_mut(), |a| a as *mut u8)
}

/// Starts the built-in boot manager the way StartImage starts any image.
pub fn run_boot_manager() {
    let entry = fw_loaders::boot_manager::efi_main as *const () as usize;
    let handle = match efi::image::register_builtin(firmware_handle(), entry, fw_arch::image_range()) {
        Ok(h) => h,
        Err(s) => return error!("cannot register the boot manager: {s:?}"),
    };
    let status = efi::image::start_image(handle.to_efi(), core::ptr::null_mut(), core::ptr::null_mut());
    log::debug!("boot manager returned {status:?}");
}

/// Sets everything up; after this, images can be loaded and started.
pub fn init(info: &BootInfo, heap: &Range<u64>) {
    efi::set_platform(Platform {
        now_ns: fw_arch::x86_64::time::now_ns,
        idle,
        enter_image: fw_arch::x86_64::efi_calls::enter_image,
        exit_image: fw_arch::x86_64::efi_calls::exit_image,
        exit_boot_services,
    });
    build_memory_map(info, heap);
    // SAFETY: the arena is used only by the runtime variable store from here on.
    let arena: &'static mut [u8] = unsafe { &mut *core::ptr::addr_of_mut!(VARIABLE_ARENA) };
    runtime::init(
        arena,
        runtime::RuntimePlatform {
            get_time: rtc_get,
            set_time: rtc_set,
            reset,
        },
    );
    set_standard_variables();
    tables::set_variadic_services(
        fw_arch::x86_64::efi_calls::install_multiple_protocol_interfaces,
        fw_arch::x86_64::efi_calls::uninstall_multiple_protocol_interfaces,
    );
    if let Some(rsdp) = info.rsdp {
        let guid = if acpi_revision(rsdp) >= 2 {
            e::ACPI_20_TABLE_GUID
        } else {
            e::ACPI_10_TABLE_GUID
        };
        if let Err(s) = tables::set_configuration_table(guid, rsdp as *mut c_void) {
            warn!("cannot install the ACPI table: {s:?}");
        }
    }
    install_firmware_image();
    install_console();
    set_firmware_variables(info);
    install_rng();
    let paths = fw_protocols::device_path::DevicePathProtocols::create(alloc_pool);
    if let Err(e) = paths.install(None, efi::protocol::install) {
        warn!("cannot install the device path protocols: {e}");
    }
    tables::init();
}

fn acpi_revision(rsdp: u64) -> u8 {
    use fw_drivers::acpi::PhysMemory;
    let memory = crate::platform::IdentityMemory { limit: 1 << 32 };
    memory.read(rsdp + 15, 1).map_or(0, |b| b[0])
}
