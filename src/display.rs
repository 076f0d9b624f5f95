//! The machine's display, when it has one: finds the device on PCI, gives the
//! drivers their register access and framebuffer memory (the `unsafe` edge),
//! sets the first mode, and makes the screen available to the console and GOP.
//!
//! Devices: QEMU's standard VGA (`-vga std`) and `bochs-display`, both PCI
//! 1234:1111 with the Bochs DISPI registers (`fw_drivers::display::bochs`),
//! `ramfb` (fw_cfg's `etc/ramfb`, `fw_drivers::display::ramfb`) and
//! `virtio-gpu-pci` in 2D mode (`fw_drivers::virtio::gpu`).
//! No display device: nothing here runs beyond one look at the PCI list and
//! the fw_cfg directory.

use alloc::boxed::Box;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use fw_drivers::display::bochs::{self, Dispi, DispiRegisters};
use fw_drivers::display::ramfb;
use fw_drivers::pci::{PciAddress, PciDevice};
use fw_protocols::display::efi::Gop;
use fw_protocols::display::{DeviceError, DisplayDevice, Resolution, Screen, DEFAULT_RESOLUTION, STANDARD_RESOLUTIONS};
use log::{info, warn};
use spin::Mutex;

const BOCHS_VENDOR: u16 = 0x1234;
const BOCHS_DEVICE: u16 = 0x1111;
const CLASS_DISPLAY: u8 = 0x03;
const SUBCLASS_VGA: u8 = 0x00;

/// The display in use.
pub struct Display {
    pub screen: &'static Mutex<Screen>,
    /// Its PCI function, whose handle gets GOP.
    pub pci: Option<PciAddress>,
    gop: spin::Once<&'static Gop>,
}

impl Display {
    /// The GOP instance (made once, installed on the device's and ConOut's handles).
    pub fn gop(&self) -> &'static Gop {
        self.gop.call_once(|| Gop::create(self.screen, allocate_pool))
    }
}

static DISPLAY: spin::Once<Display> = spin::Once::new();

/// The display `probe_pci` found.
pub fn display() -> Option<&'static Display> {
    DISPLAY.get()
}

fn allocate_pool(size: usize) -> Option<*mut u8> {
    let mut buffer: *mut core::ffi::c_void = core::ptr::null_mut();
    match fw_core::efi::boot::allocate_pool(r_efi::efi::BOOT_SERVICES_DATA, size, &mut buffer) {
        r_efi::efi::Status::SUCCESS => Some(buffer.cast()),
        _ => None,
    }
}

/// DISPI registers at BAR 2 + 0x500, VGA ports at BAR 2 + 0x400.
struct MmioRegisters {
    bar2: u64,
}

impl DispiRegisters for MmioRegisters {
    fn read(&self, index: u16) -> u16 {
        let address = self.bar2 + bochs::MMIO_DISPI_OFFSET + u64::from(index) * 2;
        // SAFETY: BAR 2 of a DISPI device, assigned and identity mapped by PCI
        // enumeration; its registers are 16 bits wide at even offsets.
        unsafe { core::ptr::read_volatile(address as *const u16) }
    }
    fn write(&self, index: u16, value: u16) {
        let address = self.bar2 + bochs::MMIO_DISPI_OFFSET + u64::from(index) * 2;
        // SAFETY: as in `read`.
        unsafe { core::ptr::write_volatile(address as *mut u16, value) }
    }
    fn vga_read(&self, port: u16) -> u8 {
        let address = self.bar2 + bochs::MMIO_VGA_OFFSET + u64::from(port - bochs::VGA_ATTRIBUTE);
        // SAFETY: the standard VGA's BAR 2 maps its ports 0x3C0..0x3DF byte-wide here.
        unsafe { core::ptr::read_volatile(address as *const u8) }
    }
    fn vga_write(&self, port: u16, value: u8) {
        let address = self.bar2 + bochs::MMIO_VGA_OFFSET + u64::from(port - bochs::VGA_ATTRIBUTE);
        // SAFETY: as in `vga_read`.
        unsafe { core::ptr::write_volatile(address as *mut u8, value) }
    }
}

/// DISPI through the index/data ports 0x1CE/0x1CF (a standard VGA without its MMIO BAR).
#[cfg(target_arch = "x86_64")]
struct PortRegisters;

#[cfg(target_arch = "x86_64")]
impl DispiRegisters for PortRegisters {
    fn read(&self, index: u16) -> u16 {
        // SAFETY: a standard VGA decodes 0x1CE/0x1CF as its DISPI index and data ports.
        unsafe {
            fw_arch::x86_64::io::outw(0x1ce, index);
            fw_arch::x86_64::io::inw(0x1cf)
        }
    }
    fn write(&self, index: u16, value: u16) {
        // SAFETY: as in `read`.
        unsafe {
            fw_arch::x86_64::io::outw(0x1ce, index);
            fw_arch::x86_64::io::outw(0x1cf, value);
        }
    }
    fn vga_read(&self, port: u16) -> u8 {
        // SAFETY: the standard VGA's legacy ports.
        unsafe { fw_arch::x86_64::io::inb(port) }
    }
    fn vga_write(&self, port: u16, value: u8) {
        // SAFETY: as in `vga_read`.
        unsafe { fw_arch::x86_64::io::outb(port, value) }
    }
}

/// A DISPI device as the screen sees it.
struct Bochs<R: DispiRegisters> {
    name: String,
    dispi: Dispi<R>,
    vga: bool,
    modes: Vec<Resolution>,
    framebuffer: &'static mut [u32],
    base: u64,
}

impl<R: DispiRegisters> DisplayDevice for Bochs<R> {
    fn name(&self) -> &str {
        &self.name
    }
    fn resolutions(&self) -> &[Resolution] {
        &self.modes
    }
    fn set_resolution(&mut self, resolution: Resolution) -> Result<u32, DeviceError> {
        let stride = self
            .dispi
            .set_mode(resolution.width, resolution.height)
            .map_err(|e| match e {
                bochs::Error::Rejected { register, wrote, read } => DeviceError::Rejected {
                    what: register,
                    wrote: wrote.into(),
                    read: read.into(),
                },
                _ => DeviceError::UnsupportedResolution {
                    width: resolution.width,
                    height: resolution.height,
                },
            })?;
        if self.vga {
            self.dispi.unblank_vga();
        }
        let needed = u64::from(stride) * u64::from(resolution.height) * 4;
        if needed > self.framebuffer.len() as u64 * 4 {
            return Err(DeviceError::TooLittleMemory {
                needed,
                available: self.framebuffer.len() as u64 * 4,
            });
        }
        Ok(stride)
    }
    fn pixels(&mut self) -> &mut [u32] {
        self.framebuffer
    }
    fn framebuffer(&self) -> (u64, usize) {
        (self.base, self.framebuffer.len() * 4)
    }
}

/// Looks for a display among the enumerated PCI functions (BARs assigned,
/// decoding enabled, memory BARs identity mapped) and sets its first mode.
pub fn probe_pci(devices: &[PciDevice]) {
    for device in devices {
        if device.vendor_id != BOCHS_VENDOR || device.device_id != BOCHS_DEVICE || device.class != CLASS_DISPLAY {
            continue;
        }
        let vga = device.subclass == SUBCLASS_VGA;
        let kind = if vga { "standard VGA" } else { "bochs-display" };
        let name = format!("{kind} at PCI {}", device.address);
        match bochs_screen(device, vga, &name) {
            Ok(screen) => {
                let r = screen.resolution();
                info!("display: {name}, {}x{}", r.width, r.height);
                let display = DISPLAY.call_once(|| Display {
                    screen: Box::leak(Box::new(Mutex::new(screen))),
                    pci: Some(device.address),
                    gop: spin::Once::new(),
                });
                // The console's text mode 0 until the console says otherwise;
                // log lines show from here on.
                let (columns, rows) = fw_protocols::console::output::MODES[0];
                fw_protocols::console::screen::attach(display.screen, (columns, rows));
                return;
            }
            Err(e) => warn!("display: {name}: {e}"),
        }
    }
}

fn bochs_screen(device: &PciDevice, vga: bool, name: &str) -> Result<Screen, String> {
    let framebuffer = device
        .bar(0)
        .filter(|bar| bar.is_memory() && bar.is_assigned())
        .ok_or("no framebuffer BAR")?;
    let mmio = device.bar(2).filter(|bar| bar.is_memory() && bar.is_assigned());
    let size = framebuffer.size as usize;
    // SAFETY: BAR 0 of a DISPI device is its video memory: assigned, identity
    // mapped, decoded, and used by nothing else while the firmware runs.
    let pixels = unsafe { core::slice::from_raw_parts_mut(framebuffer.address as *mut u32, size / 4) };
    let device_box: Box<dyn DisplayDevice> = match mmio {
        Some(bar) => Box::new(bochs_device(
            MmioRegisters { bar2: bar.address },
            vga,
            name,
            pixels,
            framebuffer.address,
        )?),
        #[cfg(target_arch = "x86_64")]
        None if vga => Box::new(bochs_device(PortRegisters, vga, name, pixels, framebuffer.address)?),
        None => return Err("no register BAR".into()),
    };
    Screen::new(device_box, DEFAULT_RESOLUTION).map_err(|e| format!("{e}"))
}

fn bochs_device<R: DispiRegisters>(
    registers: R,
    vga: bool,
    name: &str,
    framebuffer: &'static mut [u32],
    base: u64,
) -> Result<Bochs<R>, String> {
    let dispi = Dispi::new(registers).map_err(|e| format!("{e}"))?;
    let memory = dispi
        .video_memory()
        .unwrap_or(framebuffer.len() as u64 * 4)
        .min(framebuffer.len() as u64 * 4);
    let modes = STANDARD_RESOLUTIONS
        .iter()
        .copied()
        .filter(|r| r.bytes() <= memory)
        .collect();
    Ok(Bochs {
        name: name.into(),
        dispi,
        vga,
        modes,
        framebuffer,
        base,
    })
}

/// The modes of displays whose framebuffer is RAM the OS must not reuse
/// (ramfb, virtio-gpu): the largest is the default mode, not 1920x1080.
const RAMFB_RESOLUTIONS: [Resolution; 4] = [
    Resolution::new(640, 480),
    Resolution::new(800, 600),
    Resolution::new(1024, 768),
    Resolution::new(1280, 800),
];

/// QEMU's ramfb: RAM the firmware chose, shown once `etc/ramfb` says where.
struct Ramfb {
    framebuffer: &'static mut [u32],
    base: u64,
}

impl DisplayDevice for Ramfb {
    fn name(&self) -> &str {
        "ramfb"
    }
    fn resolutions(&self) -> &[Resolution] {
        &RAMFB_RESOLUTIONS
    }
    fn set_resolution(&mut self, resolution: Resolution) -> Result<u32, DeviceError> {
        let config = ramfb::config(self.base, resolution.width, resolution.height);
        let fw_cfg = crate::platform::fw_cfg().ok_or(DeviceError::Command {
            command: "etc/ramfb (no fw_cfg)",
            response: 0,
        })?;
        fw_cfg.write_file(ramfb::FILE, &config).map_err(|e| {
            warn!("ramfb: {e}");
            DeviceError::Command {
                command: "the etc/ramfb write",
                response: 0,
            }
        })?;
        Ok(resolution.width)
    }
    fn pixels(&mut self) -> &mut [u32] {
        self.framebuffer
    }
    fn framebuffer(&self) -> (u64, usize) {
        (self.base, self.framebuffer.len() * 4)
    }
}

/// Sets up ramfb when fw_cfg offers `etc/ramfb` and no PCI display was found.
/// Needs the EFI memory services: the framebuffer is reserved memory, which
/// the OS keeps its hands off while efifb uses it.
pub fn probe_ramfb() {
    if DISPLAY.get().is_some() {
        return;
    }
    let Some(fw_cfg) = crate::platform::fw_cfg() else {
        return;
    };
    if fw_cfg.file(ramfb::FILE).is_none() {
        return;
    }
    let Some((framebuffer, base)) = reserve_framebuffer(&RAMFB_RESOLUTIONS, "ramfb") else {
        return;
    };
    match Screen::new(Box::new(Ramfb { framebuffer, base }), DEFAULT_RESOLUTION) {
        Ok(screen) => {
            let r = screen.resolution();
            info!("display: ramfb at {base:#x}, {}x{}", r.width, r.height);
            let display = DISPLAY.call_once(|| Display {
                screen: Box::leak(Box::new(Mutex::new(screen))),
                pci: None,
                gop: spin::Once::new(),
            });
            let (columns, rows) = fw_protocols::console::output::MODES[0];
            fw_protocols::console::screen::attach(display.screen, (columns, rows));
        }
        Err(e) => warn!("display: ramfb: {e}"),
    }
}

type PciGpu = fw_drivers::virtio::gpu::VirtioGpu<fw_drivers::virtio::PciTransport<fw_drivers::virtio::MmioRegion>>;

/// The virtio GPU PCI enumeration initialised, until `probe_virtio_gpu` gives it a picture.
static VIRTIO_GPU: spin::Once<(&'static PciGpu, PciAddress)> = spin::Once::new();

/// Keeps the virtio GPU `platform::discover` found (its scanout needs memory
/// from the EFI memory map, which comes later).
pub fn keep_virtio_gpu(gpu: PciGpu, address: PciAddress) {
    VIRTIO_GPU.call_once(|| (Box::leak(Box::new(gpu)), address));
}

/// Resets the virtio GPU at ExitBootServices (the others need nothing).
pub fn quiesce() {
    if let Some((gpu, _)) = VIRTIO_GPU.get() {
        gpu.reset();
    }
}

/// Reserved memory for the largest of `modes`, as a framebuffer.
fn reserve_framebuffer(modes: &[Resolution], what: &str) -> Option<(&'static mut [u32], u64)> {
    let largest = modes.iter().map(|r| r.bytes()).max()?;
    let pages = (largest as usize).div_ceil(4096);
    let mut base = 0u64;
    let status = fw_core::efi::boot::allocate_pages(
        r_efi::efi::ALLOCATE_ANY_PAGES,
        r_efi::efi::RESERVED_MEMORY_TYPE,
        pages,
        &mut base,
    );
    if status != r_efi::efi::Status::SUCCESS {
        warn!(
            "{what}: no memory for a framebuffer of {} KiB ({status:?})",
            largest >> 10
        );
        return None;
    }
    // SAFETY: `pages` pages of RAM just allocated for this purpose (identity
    // mapped like all RAM), never freed, used by nothing else.
    let framebuffer = unsafe { core::slice::from_raw_parts_mut(base as *mut u32, pages * 4096 / 4) };
    Some((framebuffer, base))
}

/// A virtio GPU's scanout: the picture lives in reserved memory (the
/// resource's backing) and shows when a changed rectangle is flushed.
struct VirtioGpuDisplay {
    name: String,
    gpu: &'static PciGpu,
    framebuffer: &'static mut [u32],
    base: u64,
    /// The resource shown, and its row length in bytes.
    resource: Option<u32>,
    stride_bytes: u32,
    next_resource: u32,
}

impl DisplayDevice for VirtioGpuDisplay {
    fn name(&self) -> &str {
        &self.name
    }
    fn resolutions(&self) -> &[Resolution] {
        &RAMFB_RESOLUTIONS
    }
    fn set_resolution(&mut self, resolution: Resolution) -> Result<u32, DeviceError> {
        let resource = self.next_resource;
        let (width, height) = (resolution.width, resolution.height);
        let bytes = resolution.bytes() as u32;
        self.gpu
            .show(resource, self.resource, width, height, self.base, bytes)
            .map_err(|e| {
                warn!("{}: {e}", self.name);
                DeviceError::Command {
                    command: "setting the scanout",
                    response: 0,
                }
            })?;
        self.resource = Some(resource);
        self.next_resource += 1;
        self.stride_bytes = resolution.width * 4;
        Ok(resolution.width)
    }
    fn pixels(&mut self) -> &mut [u32] {
        self.framebuffer
    }
    fn framebuffer(&self) -> (u64, usize) {
        (self.base, self.framebuffer.len() * 4)
    }
    fn flush(&mut self, rect: fw_protocols::display::Rect) {
        let Some(resource) = self.resource else {
            return;
        };
        let rect = fw_drivers::virtio::gpu::Rect {
            x: rect.x as u32,
            y: rect.y as u32,
            width: rect.width as u32,
            height: rect.height as u32,
        };
        if let Err(e) = self.gpu.flush(resource, rect, self.stride_bytes) {
            warn!("{}: {e}", self.name);
        }
    }
    fn blt_only(&self) -> bool {
        true
    }
}

/// Gives the virtio GPU PCI enumeration found its first mode, when no other
/// display was found first. Needs the EFI memory services.
pub fn probe_virtio_gpu() {
    if DISPLAY.get().is_some() {
        return;
    }
    let Some(&(gpu, address)) = VIRTIO_GPU.get() else {
        return;
    };
    let name = format!("virtio-gpu at PCI {address}");
    if let Some((width, height)) = gpu.display_size() {
        log::debug!("{name}: the host prefers {width}x{height}");
    }
    let Some((framebuffer, base)) = reserve_framebuffer(&RAMFB_RESOLUTIONS, &name) else {
        return;
    };
    let device = VirtioGpuDisplay {
        name: name.clone(),
        gpu,
        framebuffer,
        base,
        resource: None,
        stride_bytes: 0,
        next_resource: 1,
    };
    match Screen::new(Box::new(device), DEFAULT_RESOLUTION) {
        Ok(screen) => {
            let r = screen.resolution();
            info!("display: {name}, {}x{}", r.width, r.height);
            let display = DISPLAY.call_once(|| Display {
                screen: Box::leak(Box::new(Mutex::new(screen))),
                pci: Some(address),
                gop: spin::Once::new(),
            });
            let (columns, rows) = fw_protocols::console::output::MODES[0];
            fw_protocols::console::screen::attach(display.screen, (columns, rows));
        }
        Err(e) => warn!("display: {name}: {e}"),
    }
}
