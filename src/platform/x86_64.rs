//! The x86_64 machine: the 16550 console at COM1, the CMOS clock, reset and
//! power-off through ACPI, and device discovery: ACPI tables from the RSDP, the
//! TSC rate (CPUID, kvmclock, the PM timer or the HPET: `fw_arch::x86_64::time`),
//! PCI through ECAM (MCFG) or ports 0xCF8/0xCFC.

use super::{pci_disks, Disk, IdentityMemory, REQUEST_TIMEOUT_MS};
use alloc::vec::Vec;
use fw_core::boot_info::{BootInfo, MemoryKind};
use fw_drivers::acpi::{self, Acpi};
use fw_drivers::pci::{self, BarWindows, Window};
use fw_drivers::ps2;
use fw_drivers::rtc::calendar::DateTime;
use fw_drivers::rtc::cmos::{CmosRegisters, CmosRtc};
use fw_drivers::smbios;
use fw_drivers::uart::ns16550::{Ns16550, PortRegisters};
use fw_drivers::virtio::PollLimit;
use fw_protocols::console::keyboard::KeyboardSource;
use log::{debug, info, warn};

pub static COM1: Ns16550<PortRegisters> = Ns16550::new(PortRegisters { base: 0x3f8 });

/// Programs the console (COM1 is at a fixed port on every PC-like VMM).
pub fn console_init(_boot: &fw_arch::Boot) {
    COM1.init();
}

pub fn console_write(bytes: &[u8]) {
    COM1.write_bytes(bytes);
}

pub fn console_read() -> Option<u8> {
    COM1.read_byte()
}

/// The console's device path, for its Serial I/O handle: a 16550 as ACPI
/// names it, with the line it runs (`Acpi(PNP0501,0x0)/Uart(115200,8,N,1)`).
pub fn console_path() -> fw_protocols::device_path::DevicePathBuf {
    use fw_protocols::device_path::{DevicePathBuf, EISA_PNP0501};
    DevicePathBuf::new().acpi(EISA_PNP0501, 0).uart(&super::CONSOLE_LINE)
}

/// The CMOS index/data ports.
pub struct CmosPorts;

impl CmosRegisters for CmosPorts {
    fn read(&self, index: u8) -> u8 {
        // SAFETY: 0x70/0x71 are the PC's CMOS ports; NMI stays enabled (bit 7 clear).
        unsafe {
            fw_arch::x86_64::io::outb(0x70, index & 0x7f);
            fw_arch::x86_64::io::inb(0x71)
        }
    }
    fn write(&self, index: u8, value: u8) {
        // SAFETY: as above.
        unsafe {
            fw_arch::x86_64::io::outb(0x70, index & 0x7f);
            fw_arch::x86_64::io::outb(0x71, value);
        }
    }
}

/// The time of day (GetTime, FAT timestamps).
pub fn rtc_get() -> Option<DateTime> {
    CmosRtc::new(CmosPorts).read().ok()
}

/// SetTime; `false` when the clock refused.
pub fn rtc_set(t: &DateTime) -> bool {
    CmosRtc::new(CmosPorts).write(t).is_ok()
}

/// ResetSystem. Returns only if nothing worked.
/// MMIO the runtime services touch after ExitBootServices: none (the CMOS
/// clock is behind I/O ports).
pub fn runtime_mmio() -> Vec<(u64, u64)> {
    Vec::new()
}

pub fn reset(kind: r_efi::efi::ResetType) {
    crate::power::reset(kind);
}

/// Masks the PC-AT's interrupt controllers when the MADT says they exist (QEMU's
/// PC machines; not Cloud Hypervisor's hardware-reduced one): see
/// `fw_drivers::pic8259` for what a pending, never-taken timer interrupt costs.
fn quiet_8259s(acpi: Option<&Acpi<'_, IdentityMemory>>) {
    let madt = acpi.and_then(|a| a.find_table(acpi::MADT_SIGNATURE).ok());
    match madt.as_ref().and_then(acpi::has_dual_8259) {
        Some(true) => {
            fw_drivers::pic8259::mask_all();
            debug!("8259 interrupt controllers: all lines masked");
        }
        Some(false) => debug!("no 8259 interrupt controllers (MADT)"),
        None => debug!("no usable MADT: the 8259s, if any, are left as they are"),
    }
}

fn tsc_now() -> u64 {
    fw_arch::x86_64::time::ticks()
}

/// Discovers clocks, buses and disks.
pub fn discover(info: &BootInfo, alloc_page: &mut dyn FnMut() -> Option<u64>) -> Vec<Disk> {
    let memory = IdentityMemory { limit: 1 << 32 };
    let acpi = info.rsdp.and_then(|rsdp| match Acpi::new(&memory, rsdp) {
        Ok(acpi) => Some(acpi),
        Err(e) => {
            warn!("ACPI tables unusable: {e}");
            None
        }
    });

    quiet_8259s(acpi.as_ref());
    let fadt = acpi.as_ref().and_then(|a| a.find_table(acpi::FADT_SIGNATURE).ok());
    let pm_timer = fadt.as_ref().and_then(acpi::pm_timer);
    let hpet = acpi
        .as_ref()
        .and_then(|a| a.find_table(acpi::HPET_SIGNATURE).ok())
        .and_then(|table| acpi::hpet(&table));
    let (hz, source) = fw_arch::x86_64::time::calibrate(pm_timer, hpet);
    if let Some(fadt) = &fadt {
        crate::power::set(acpi::power_control(&memory, fadt));
    }
    info!("TSC: {} MHz (from {:?})", hz / 1_000_000, source);
    probe_keyboard(info);

    let ecam = acpi.as_ref().and_then(|a| match a.ecam_regions() {
        Ok(regions) => regions.into_iter().find(|r| r.segment == 0),
        Err(e) => {
            debug!("no MCFG: {e}");
            None
        }
    });
    let limit = PollLimit::Clock {
        now: tsc_now,
        hz,
        ms: REQUEST_TIMEOUT_MS,
    };
    match ecam {
        Some(region) => {
            info!(
                "PCI: ECAM at {:#x}, buses {}-{}",
                region.base_address, region.start_bus, region.end_bus
            );
            // SAFETY: the MCFG describes this ECAM window; it is below 4 GiB and
            // identity mapped, and only the firmware drives PCI configuration.
            let config = unsafe { pci::Ecam::new(region.base_address, region.start_bus, region.end_bus) };
            pci_disks(config, x86_windows(info), None, limit, alloc_page)
        }
        None => {
            info!("PCI: legacy configuration ports 0xcf8/0xcfc");
            // SAFETY: x86 PCs decode 0xcf8/0xcfc as the PCI configuration mechanism.
            let config = unsafe { pci::PortIo::new() };
            pci_disks(config, x86_windows(info), None, limit, alloc_page)
        }
    }
}

/// The SMBIOS tables SeaBIOS (QEMU) or Cloud Hypervisor left in the BIOS area
/// 0xF0000-0xFFFFF. The structure table must lie in that area or in memory the
/// VMM's map describes (SeaBIOS puts it in a reserved range at the top of low RAM),
/// and in what the firmware has mapped: everything below 4 GiB and all RAM.
pub fn smbios_from_bios_area(info: &BootInfo) -> Result<smbios::Smbios, smbios::Error> {
    // The entry code mapped the first 4 GiB, `firmware::map_high_memory` the rest up to the top of RAM.
    let memory = IdentityMemory {
        limit: info.ram_top().max(1 << 32),
    };
    let described: Vec<core::ops::Range<u64>> = info
        .regions()
        .iter()
        .filter(|r| r.kind != MemoryKind::Unusable)
        .map(|r| r.start..r.end())
        .chain([smbios::BIOS_AREA])
        .collect();
    smbios::Smbios::from_bios_area(&memory, smbios::BIOS_AREA, &described)
}

/// The i8042 keyboard controller's ports, with the TSC for its timeouts.
struct I8042Ports;

impl ps2::Ports for I8042Ports {
    fn read_status(&mut self) -> u8 {
        // SAFETY: 0x64 is the PC keyboard controller's status port; reading it
        // has no side effect, and on a machine without one it reads all ones.
        unsafe { fw_arch::x86_64::io::inb(ps2::STATUS_PORT) }
    }
    fn read_data(&mut self) -> u8 {
        // SAFETY: 0x60 is the controller's data port; the firmware is the only
        // user of the keyboard until ExitBootServices.
        unsafe { fw_arch::x86_64::io::inb(ps2::DATA_PORT) }
    }
    fn write_command(&mut self, command: u8) {
        // SAFETY: 0x64 takes controller commands; the driver sends only the
        // documented set-up commands (never 0xFE, the reset line).
        unsafe { fw_arch::x86_64::io::outb(ps2::COMMAND_PORT, command) }
    }
    fn write_data(&mut self, data: u8) {
        // SAFETY: as for `read_data`.
        unsafe { fw_arch::x86_64::io::outb(ps2::DATA_PORT, data) }
    }
    fn now_ns(&self) -> u64 {
        fw_arch::time::now_ns()
    }
}

/// Finds the PS/2 keyboard (QEMU's q35 and pc always have one; Cloud
/// Hypervisor's i8042 only resets the machine) and adds it to the console's
/// key sources. Bounded: see `fw_drivers::ps2::ANSWER_TIMEOUT_NS`.
fn probe_keyboard(info: &BootInfo) {
    // Test builds: `hvfw.test=i8042-untranslated` has the keyboard's own scan
    // code set 2 decoded (QEMU translates to set 1 otherwise).
    let translation = if cfg!(feature = "test-hooks") && info.cmdline_has("hvfw.test=i8042-untranslated") {
        ps2::Translation::Off
    } else {
        ps2::Translation::AsFound
    };
    let start = fw_arch::time::now_ns();
    let probe = ps2::I8042::probe_with(I8042Ports, translation);
    // Measured before anything is printed: console output is slow under nested VMMs.
    let took_us = fw_arch::time::now_ns().saturating_sub(start) / 1000;
    match probe {
        Ok(keyboard) => {
            info!("keyboard: PS/2 on the i8042, {}", keyboard.scan_code_set());
            super::add_key_source(alloc::boxed::Box::new(KeyboardSource::new(keyboard)));
        }
        Err(e) => debug!("keyboard: {e}"),
    }
    debug!("keyboard: i8042 probe took {took_us} us");
}

/// Where BARs the VMM left unassigned go: the 32-bit hole and the PC's I/O
/// ports above the legacy devices.
fn x86_windows(info: &BootInfo) -> BarWindows {
    BarWindows {
        mmio32: fw_core::mmio_window::mmio32_window(info.regions())
            .map(|window| Window::new(window.start, window.end - window.start)),
        mmio64: None,
        io: Some(Window::new(0xc000, 0x4000)),
    }
}
