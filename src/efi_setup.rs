//! Brings up the EFI runtime: the memory map from the VMM's map and the
//! firmware's own layout, the tables, the runtime services, the console, the
//! standard variables and the ACPI, SMBIOS and device tree configuration tables.

use alloc::boxed::Box;
use core::ffi::c_void;
use core::ops::Range;
use fw_core::boot_info::BootInfo;
use fw_core::efi::{self, runtime, tables, Platform, BOOT};
use fw_core::handles::HandleId;
use fw_core::memory::{initial, MemoryType};
use fw_drivers::rtc::calendar::DateTime;
use fw_protocols::console::{MonotonicClock, SerialConsole, SerialPort};
use fw_protocols::serial_io::SerialIo;
use log::{error, info, warn};
use r_efi::efi as e;

/// Bytes of the variable store, in the image's .bss (runtime services data).
static mut VARIABLE_ARENA: [u8; runtime::VARIABLE_STORE_SIZE] = [0; runtime::VARIABLE_STORE_SIZE];

/// The serial console the platform found.
struct Console;

impl SerialPort for Console {
    fn write(&self, bytes: &[u8]) {
        crate::platform::console_write(bytes);
    }
    fn read_byte(&self) -> Option<u8> {
        crate::platform::console_read()
    }
}

/// The architecture's time source (TSC, generic timer).
struct ArchClock;

impl MonotonicClock for ArchClock {
    fn now_ns(&self) -> u64 {
        fw_arch::time::now_ns()
    }
}

static CONSOLE_PORT: Console = Console;
static CLOCK: ArchClock = ArchClock;
static CONSOLE: spin::Once<&'static SerialConsole> = spin::Once::new();
static SERIAL_IO: spin::Once<&'static SerialIo> = spin::Once::new();

fn rtc_get() -> Result<DateTime, e::Status> {
    crate::platform::rtc_get().ok_or(e::Status::DEVICE_ERROR)
}

fn rtc_set(t: &DateTime) -> Result<(), e::Status> {
    if crate::platform::rtc_set(t) {
        Ok(())
    } else {
        Err(e::Status::DEVICE_ERROR)
    }
}

/// SetVirtualAddressMap works where the OS keeps the runtime regions mapped
/// 1:1 (x86_64 Linux); arm64 and riscv64 Linux map only the new addresses, so
/// aarch64 and riscv64 do without it (see `RuntimePlatform::virtual_address_map`).
const VIRTUAL_ADDRESS_MAP: bool = cfg!(target_arch = "x86_64");

/// EFI_RT_PROPERTIES_TABLE (UEFI 2.10 §4.6.2), in the image's runtime data so
/// that it outlives ExitBootServices; installed where SetVirtualAddressMap is
/// not offered (Linux's stub then keeps the 1:1 mapping).
static RT_PROPERTIES: e::RtPropertiesTable = e::RtPropertiesTable {
    version: e::RT_PROPERTIES_TABLE_VERSION,
    length: core::mem::size_of::<e::RtPropertiesTable>() as u16,
    runtime_services_supported: runtime::runtime_services_supported(VIRTUAL_ADDRESS_MAP),
};

fn reset(kind: e::ResetType) {
    crate::platform::reset(kind);
}

fn idle() {
    // Bytes for an application that reads the port through Serial I/O stay in
    // the UART (keyboards are still read); the console still polls the UART
    // when asked for keys (ReadKeyStroke, WaitForKey).
    let Some(console) = CONSOLE.get() else { return };
    if SERIAL_IO.get().is_some_and(|serial| serial.claimed()) {
        console.poll_keyboards();
        return;
    }
    console.poll();
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

/// Builds the EFI memory map: the VMM's regions with the firmware's image, heap,
/// runtime MMIO and the VMM's modules carved out (`fw_core::memory::initial`).
fn build_memory_map(info: &BootInfo, heap: &Range<u64>) {
    let layout = fw_arch::image_layout();
    let runtime_mmio = crate::platform::runtime_mmio();
    let footprint = initial::Footprint {
        code: layout.code,
        data: layout.data,
        boot_data: layout.boot_data,
        heap: heap.clone(),
        runtime_mmio: &runtime_mmio,
        modules: info.modules(),
    };
    let limit = initial::build(&mut BOOT.lock().memory.map, info.regions(), &footprint);
    // Callers' buffers lie in memory the map describes (or below 4 GiB, where
    // the MMIO holes are); anything above is a size or pointer that cannot be
    // real (core/src/caller_buffer.rs).
    fw_core::caller_buffer::set_address_limit(usize::try_from(limit).unwrap_or(usize::MAX));
}

fn ucs2(s: &str) -> alloc::vec::Vec<u16> {
    s.encode_utf16().collect()
}

fn set_standard_variables() {
    use e::{VARIABLE_BOOTSERVICE_ACCESS as BS, VARIABLE_NON_VOLATILE as NV, VARIABLE_RUNTIME_ACCESS as RT};
    let mut rt = runtime::RUNTIME.lock();
    let Some(rt) = rt.as_mut() else { return };
    let global = e::GLOBAL_VARIABLE;
    let read_only: [(&str, &[u8]); 3] = [
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

/// EFI_MEMORY_ATTRIBUTES_TABLE: the image's code pages (`.text`, `.rodata`,
/// page aligned by `layout.ld`) read-only, all runtime data non-executable.
fn install_memory_attributes() {
    let code = fw_arch::image_layout().code;
    if let Err(s) = efi::memory_attributes::install(code) {
        warn!("cannot install the memory attributes table: {s:?}");
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
        core::ptr::from_mut(protocol).cast::<c_void>(),
    ) {
        Ok(h) => FIRMWARE_HANDLE.store(h.raw(), core::sync::atomic::Ordering::Relaxed),
        Err(e) => error!("cannot install the firmware's LoadedImage: {e}"),
    }
}

fn install_console() {
    let console = *CONSOLE.call_once(|| SerialConsole::create(&CONSOLE_PORT, &CLOCK));
    for source in crate::platform::key_sources() {
        console.add_key_source(source);
    }
    let mut handle: Option<HandleId> = None;
    for (guid, interface) in [
        (
            r_efi::protocols::simple_text_output::PROTOCOL_GUID,
            console.text_output().cast::<c_void>(),
        ),
        (
            r_efi::protocols::simple_text_input::PROTOCOL_GUID,
            console.text_input().cast::<c_void>(),
        ),
        (
            r_efi::protocols::simple_text_input_ex::PROTOCOL_GUID,
            console.text_input_ex().cast::<c_void>(),
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
    // GRUB and the Linux EFI stub look for GOP on ConOut's handle too.
    if let (Some(display), Some(h)) = (crate::display::display(), handle) {
        let gop = display.gop().protocol().cast();
        if let Err(e) = efi::protocol::install(Some(h), r_efi::protocols::graphics_output::PROTOCOL_GUID, gop) {
            error!("console: cannot install GOP: {e}");
        }
    }
    let handle = handle.map_or(core::ptr::null_mut(), HandleId::to_efi);
    tables::set_consoles(tables::Consoles {
        input_handle: handle,
        input: console.text_input(),
        output_handle: handle,
        output: console.text_output(),
    });
}

/// EFI_SERIAL_IO_PROTOCOL on the console's UART, on a handle of its own with
/// the UART's device path.
fn install_serial_io() {
    let serial = *SERIAL_IO.call_once(|| SerialIo::create(&CONSOLE_PORT, &CLOCK));
    let path = crate::platform::console_path();
    let mut handle = None;
    for (guid, interface) in [
        (
            r_efi::protocols::device_path::PROTOCOL_GUID,
            path.leak().cast::<c_void>(),
        ),
        (
            fw_protocols::serial_io::PROTOCOL_GUID,
            serial.protocol().cast::<c_void>(),
        ),
    ] {
        match efi::protocol::install(handle, guid, interface) {
            Ok(h) => handle = Some(h),
            Err(e) => return error!("cannot install EFI_SERIAL_IO_PROTOCOL: {e}"),
        }
    }
    if let Some(handle) = handle {
        crate::efi_drivers::serial_started(handle, "Serial console port");
    }
}

/// EFI_RNG_PROTOCOL when the machine has a random source: the CPU's
/// instruction (RDRAND on x86_64, RNDR on aarch64) when it has one, a virtio
/// entropy device otherwise. The instruction is preferred because it needs no
/// device round trip and is what the OS itself trusts; the device also stands in
/// when the instruction fails (RDRAND can run dry). Without either, no protocol:
/// the firmware never offers predictable bytes as random.
fn install_rng() {
    let cpu = fw_arch::random::available();
    let device = crate::platform::entropy().is_some();
    match (cpu, device) {
        (false, false) => {
            info!("RNG: no CPU instruction and no virtio-rng device: no EFI_RNG_PROTOCOL");
            return;
        }
        (true, false) => info!("RNG: EFI_RNG_PROTOCOL from the CPU ({})", fw_arch::random::NAME),
        (true, true) => info!(
            "RNG: EFI_RNG_PROTOCOL from the CPU ({}), virtio-rng if it fails",
            fw_arch::random::NAME
        ),
        (false, true) => info!("RNG: EFI_RNG_PROTOCOL from virtio-rng"),
    }
    let rng = fw_protocols::rng::RngProtocol::create(fill_random);
    if let Err(e) = efi::protocol::install(None, r_efi::protocols::rng::PROTOCOL_GUID, rng.protocol().cast()) {
        warn!("cannot install EFI_RNG_PROTOCOL: {e}");
    }
}

/// EFI_TIMESTAMP_PROTOCOL over the architecture's counter (after the clock's
/// calibration, which sets its rate).
fn install_timestamp() {
    let protocol = fw_protocols::timestamp::create(fw_arch::time::ticks, fw_arch::time::frequency());
    if let Err(e) = efi::protocol::install(None, fw_protocols::timestamp::PROTOCOL_GUID, protocol.cast()) {
        warn!("cannot install EFI_TIMESTAMP_PROTOCOL: {e}");
    }
}

/// EFI_UNICODE_COLLATION2_PROTOCOL ("en") on a handle of its own, for shells
/// and drivers that compare file names without regard to case.
fn install_unicode_collation() {
    let protocol = fw_protocols::unicode_collation::efi::protocol();
    if let Err(e) = efi::protocol::install(None, fw_protocols::unicode_collation::PROTOCOL_GUID, protocol.cast()) {
        warn!("cannot install EFI_UNICODE_COLLATION2_PROTOCOL: {e}");
    }
}

/// EFI_RESET_NOTIFICATION_PROTOCOL on a handle of its own: ResetSystem calls
/// the functions programs register before it resets.
fn install_reset_notification() {
    let protocol = fw_protocols::reset_notification::protocol();
    if let Err(e) = efi::protocol::install(None, fw_protocols::reset_notification::PROTOCOL_GUID, protocol.cast()) {
        warn!("cannot install EFI_RESET_NOTIFICATION_PROTOCOL: {e}");
    }
}

/// The source behind EFI_RNG_PROTOCOL, as [`install_rng`] describes.
fn fill_random(buffer: &mut [u8]) -> bool {
    if fw_arch::random::fill(buffer) {
        return true;
    }
    let Some(device) = crate::platform::entropy() else {
        return false;
    };
    // The driver said why on the console when it gave up on the device.
    device.fill(buffer).is_ok()
}

/// RISCV_EFI_BOOT_PROTOCOL on a handle of its own, with the hart OpenSBI
/// started the firmware on: Linux's EFI stub needs it to boot.
#[cfg(target_arch = "riscv64")]
fn install_riscv_boot() {
    let hart_id = fw_arch::riscv64::boot_hart_id() as usize;
    let boot = fw_protocols::riscv_boot::RiscvBootProtocol::create(hart_id);
    match efi::protocol::install(None, fw_protocols::riscv_boot::PROTOCOL_GUID, boot.protocol().cast()) {
        Ok(_) => log::debug!("RISCV_EFI_BOOT_PROTOCOL: boot hart {hart_id}"),
        Err(e) => error!("cannot install RISCV_EFI_BOOT_PROTOCOL: {e}"),
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
        now_ns: fw_arch::time::now_ns,
        idle,
        enter_image: fw_arch::efi_calls::enter_image,
        exit_image: fw_arch::efi_calls::exit_image,
        exit_boot_services,
        sync_code: fw_arch::efi_calls::sync_code,
        prepare_image: fw_arch::efi_calls::prepare_image,
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
            virtual_address_map: VIRTUAL_ADDRESS_MAP,
        },
    );
    if !VIRTUAL_ADDRESS_MAP {
        let table = core::ptr::addr_of!(RT_PROPERTIES) as *mut c_void;
        if let Err(s) = tables::set_configuration_table(e::RT_PROPERTIES_TABLE_GUID, table) {
            warn!("cannot install the runtime properties table: {s:?}");
        }
    }
    set_standard_variables();
    // SecureBoot, SetupMode, PK, KEK, db, dbx (setup mode without keys).
    crate::secure_boot_keys::enroll();
    // LoadImage asks Security2's FileAuthentication about every image
    // (Secure Boot's check when it is on); programs such as systemd-stub find
    // and briefly replace it, as under edk2.
    if let Err(e) = efi::image::install_security_protocols() {
        warn!("Secure Boot: {e}");
    }
    #[cfg(target_arch = "aarch64")]
    tables::wrap_runtime_services(fw_arch::efi_calls::wrap_runtime_services);
    tables::set_variadic_services(
        fw_arch::efi_calls::install_multiple_protocol_interfaces,
        fw_arch::efi_calls::uninstall_multiple_protocol_interfaces,
    );
    install_acpi_and_device_tree(info);
    crate::smbios::install_from_vmm(info);
    install_memory_attributes();
    install_firmware_image();
    crate::display::probe_ramfb();
    crate::display::probe_virtio_gpu();
    install_console();
    install_serial_io();
    set_firmware_variables(info);
    install_rng();
    install_timestamp();
    install_unicode_collation();
    install_reset_notification();
    #[cfg(target_arch = "riscv64")]
    install_riscv_boot();
    let paths = fw_protocols::device_path::DevicePathProtocols::create(alloc_pool);
    if let Err(e) = paths.install(None, efi::protocol::install) {
        warn!("cannot install the device path protocols: {e}");
    }
    tables::init();
}

/// The ACPI and device tree configuration tables. ACPI comes from the VMM's
/// boot information (PVH start info on x86_64) or, failing that, from QEMU's
/// fw_cfg table-loader. When the tables came from fw_cfg the device tree is not
/// installed, as edk2 does on QEMU `virt`: the OS then sees the same machine
/// as under AAVMF (arm64 Linux picks ACPI only when the device tree is empty).
/// The device tree stays the description when the VMM offers no tables
/// (`-machine virt,acpi=off`, Cloud Hypervisor) or they fail to load; a BLS
/// entry's `devicetree` is installed by the boot manager next to ACPI, and
/// arm64 Linux then boots from that tree.
fn install_acpi_and_device_tree(info: &BootInfo) {
    let from_fw_cfg = match (info.rsdp, crate::platform::fw_cfg()) {
        (None, Some(fw_cfg)) => crate::fw_cfg_acpi::load(fw_cfg, info.ram_top()),
        _ => None,
    };
    if let Some(rsdp) = info.rsdp.or(from_fw_cfg) {
        let guid = if acpi_revision(rsdp, info.ram_top()) >= 2 {
            e::ACPI_20_TABLE_GUID
        } else {
            e::ACPI_10_TABLE_GUID
        };
        if let Err(s) = tables::set_configuration_table(guid, rsdp as *mut c_void) {
            warn!("cannot install the ACPI table: {s:?}");
        }
    }
    let Some(fdt) = info.fdt else { return };
    if from_fw_cfg.is_some() {
        info!("device tree: not handed on, the VMM's ACPI tables describe the machine");
        return;
    }
    if let Err(s) = tables::set_configuration_table(FDT_TABLE_GUID, fdt as *mut c_void) {
        warn!("cannot install the device tree table: {s:?}");
    }
}

/// EFI_DTB_TABLE_GUID (UEFI 2.10 §4.6.1.3, "Devicetree Tables").
const FDT_TABLE_GUID: e::Guid = e::Guid::from_fields(
    0xb1b6_21d5,
    0xf19c,
    0x41a5,
    0x83,
    0x0b,
    &[0xd9, 0x15, 0x2c, 0x69, 0xaa, 0xe0],
);

fn acpi_revision(rsdp: u64, ram_top: u64) -> u8 {
    use fw_drivers::acpi::PhysMemory;
    // All RAM is mapped by now (`firmware::map_high_memory`).
    let memory = crate::platform::IdentityMemory {
        limit: ram_top.max(1 << 32),
    };
    memory.read(rsdp + 15, 1).map_or(0, |b| b[0])
}
