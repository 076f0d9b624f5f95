//! Image services thunks (UEFI 2.10 §7.4): LoadImage, StartImage, Exit,
//! UnloadImage and ExitBootServices.
//!
//! StartImage enters the image through the platform's `enter_image`, which saves
//! the firmware's registers so that Exit (from any depth of the image's stack)
//! can return to StartImage's caller through `exit_image`.

// These are the EFI ABI edge: the functions are public so the service tables
// can name them, and their callers (EFI applications) are bound by the
// specification's pointer contract, which each function states at its checks.
#![allow(clippy::not_unsafe_ptr_arg_deref)]

use super::protocol::{device_path_bytes, install};
use super::tables::{clear_boot_services, system_table};
use super::{platform, BOOT};
use crate::handles::{Error, HandleId, Interface};
use crate::image::{self, Machine, Subsystem};
use crate::memory::{AllocateType, MemoryType, EFI_PAGE_SIZE};
use crate::secure_boot::load_policy::Verdict;
use alloc::boxed::Box;
use alloc::vec::Vec;
use core::ffi::c_void;
use log::{debug, info, warn};
use r_efi::efi;
use r_efi::protocols::{device_path, loaded_image, loaded_image_device_path};
use spin::{Mutex, MutexGuard};

/// Images at least this large go wholly below [`LARGE_IMAGE_MIN_ADDRESS`] when
/// they fit there, else aligned to [`LARGE_IMAGE_ALIGN`] as low as possible from it.
const LARGE_IMAGE: u64 = 1 << 20;
const LARGE_IMAGE_ALIGN: u64 = 2 << 20;
/// Linux's default LOAD_PHYSICAL_ADDR on x86: its EFI stub decompresses the
/// kernel into one block of `init_size` bytes (52 MiB for Debian's 6.1 cloud
/// kernel) at or above it.
const LARGE_IMAGE_MIN_ADDRESS: u64 = 16 << 20;
/// Nothing is placed below 1 MiB: the VMM keeps real-mode structures there.
const LOW_MEMORY_END: u64 = 1 << 20;

mod fault;
mod from_file;
mod security_arch;
mod verify;

pub use fault::{abandon_faulting_image, fault_summary};
use from_file::{file_path_name, open_file};
pub use security_arch::{
    file_authentication, file_authentication_state, install_security_protocols, FileAuthentication,
    FileAuthenticationState, InstallError, Security2ArchProtocol, SecurityArchProtocol, SECURITY2_ARCH_GUID,
    SECURITY_ARCH_GUID,
};
use verify::image_name;

/// Saved firmware registers for Exit; opaque to everything but the arch code.
#[repr(C, align(16))]
pub struct JumpContext(pub [u64; 32]);

/// One loaded image.
struct LoadedImage {
    handle: HandleId,
    base: u64,
    /// SizeOfImage (the firmware's size for built-in applications): kept here,
    /// as the LoadedImage protocol is the application's to change.
    size: u64,
    pages: u64,
    entry: u64,
    subsystem: Subsystem,
    started: bool,
    /// FileAuthentication answered SECURITY_VIOLATION: loaded, but StartImage
    /// refuses it (UEFI 2.10 §7.4.1); only UnloadImage (or Exit) ends it.
    not_startable: bool,
    /// An exception in its code ended it ([`abandon_faulting_image`]): its
    /// pages stay allocated, as its events or protocols may still point there.
    faulted: bool,
    /// Set while the image runs: where Exit returns to.
    jump: Option<*mut JumpContext>,
    exit_data: Option<(usize, *mut u16)>,
    /// Kept alive for the protocols installed on the handle.
    protocol: Box<loaded_image::Protocol>,
    full_path: Option<Box<[u8]>>,
    file_path: Option<Box<[u8]>>,
}

// SAFETY: one CPU; the raw pointers are only used under the IMAGES lock or by
// the image that owns them.
unsafe impl Send for LoadedImage {}

static IMAGES: Mutex<Vec<LoadedImage>> = Mutex::new(Vec::new());

/// The images StartImage entered and that have not returned, innermost last.
static RUNNING: Mutex<Vec<HandleId>> = Mutex::new(Vec::new());

/// Names the innermost running image for the log: its file path, or its
/// handle when it has none (images compiled into the firmware).
pub(crate) fn running_image() -> alloc::string::String {
    let Some(handle) = RUNNING.lock().last().copied() else {
        return "no image".into();
    };
    let images = IMAGES.lock();
    match images.iter().find(|i| i.handle == handle) {
        Some(image) => image_label(image),
        None => alloc::format!("the image on {handle} (built in)"),
    }
}

/// Names an image for the log: its file path, or its handle when it has
/// none (images compiled into the firmware, or loaded from memory).
fn image_label(image: &LoadedImage) -> alloc::string::String {
    let handle = image.handle;
    match image.file_path.as_deref().and_then(file_path_name) {
        Some(name) => {
            let name = alloc::string::String::from_utf16_lossy(&name[..name.len() - 1]);
            alloc::format!("image {name} ({handle})")
        }
        None if image.pages == 0 => alloc::format!("the image on {handle} (built in)"),
        None => alloc::format!("the image on {handle} (from memory)"),
    }
}

/// Why LoadImage failed, for the log.
fn fail(what: &str, status: efi::Status) -> efi::Status {
    warn!("LoadImage: {what}");
    status
}

/// Loads a PE image from memory (LoadImage with a SourceBuffer).
pub fn load_from_buffer(
    parent: efi::Handle,
    data: &[u8],
    device: efi::Handle,
    full_path: Option<&[u8]>,
    file_path: Option<&[u8]>,
) -> Result<HandleId, efi::Status> {
    let pe = image::parse(data, Machine::NATIVE).map_err(|e| fail(&alloc::format!("{e}"), e.status()))?;
    place(
        parent,
        &pe,
        data,
        &mut image::read_from(data),
        device,
        full_path,
        file_path,
    )
}

/// The common part of LoadImage: allocates the image's pages, places the
/// headers and sections (`read` fetches section data by file offset),
/// relocates, and installs LoadedImage (and LoadedImageDevicePath).
fn place(
    parent: efi::Handle,
    pe: &image::PeImage,
    headers: &[u8],
    read: &mut image::ReadAt<'_>,
    device: efi::Handle,
    full_path: Option<&[u8]>,
    file_path: Option<&[u8]>,
) -> Result<HandleId, efi::Status> {
    let size = u64::from(pe.size_of_image());
    let pages = size.div_ceil(EFI_PAGE_SIZE);
    let code_type = pe.subsystem().code_type();
    // Large images (kernels) go low rather than just below the firmware heap,
    // where Linux's top-down early allocator (memblock) starts: measured under
    // QEMU's TCG, Linux then reaches its console ~12 ms sooner. Below 16 MiB
    // first: the x86 stub of Debian's 6.1 kernel decompresses into one
    // `init_size` block at or above 16 MiB (it does not run the image where it
    // was loaded), and an image loaded at 16 MiB pushed that block 14 MiB higher,
    // so a VM needed 112 MiB where QEMU's direct kernel boot needs 72 MiB. A
    // kernel that does run in place (older x86 stubs want a 2 MiB boundary, or
    // copy themselves) and does not fit below 16 MiB goes 2 MiB aligned from there.
    let section_align = u64::from(pe.section_alignment()).max(EFI_PAGE_SIZE);
    let placed = {
        let map = &mut BOOT.lock().memory.map;
        if size >= LARGE_IMAGE {
            match map.allocate_pages_within(code_type, pages, section_align, LOW_MEMORY_END..LARGE_IMAGE_MIN_ADDRESS) {
                Some(base) => Ok(base),
                None => map.allocate_pages_low(
                    code_type,
                    pages,
                    section_align.max(LARGE_IMAGE_ALIGN),
                    LARGE_IMAGE_MIN_ADDRESS,
                ),
            }
        } else {
            map.allocate_pages_aligned(AllocateType::AnyPages, code_type, pages, section_align)
        }
    };
    let base = placed.map_err(|e| {
        fail(
            &alloc::format!("no memory for {size} bytes: {e}"),
            efi::Status::OUT_OF_RESOURCES,
        )
    })?;
    // SAFETY: the pages were just allocated for this image and are identity mapped.
    let dest = unsafe { core::slice::from_raw_parts_mut(base as *mut u8, (pages * EFI_PAGE_SIZE) as usize) };
    if let Err(e) = pe.load_with(headers, read, &mut dest[..size as usize], base) {
        let _ = BOOT.lock().memory.free_pages(base, pages);
        return Err(fail(&alloc::format!("{e}"), e.status()));
    }
    (platform().sync_code)(base, size as usize);
    let entry = base + u64::from(pe.entry_point());
    let handle = add_image(NewImage {
        parent,
        device,
        base,
        size,
        pages,
        entry,
        subsystem: pe.subsystem(),
        code_type,
        data_type: pe.subsystem().data_type(),
        full_path: full_path.map(Into::into),
        file_path: file_path.map(Into::into),
    })
    .map_err(|e| fail(&alloc::format!("{e}"), e.status()))?;
    debug!("loaded image at {base:#x} ({size} bytes), entry {entry:#x}");
    Ok(handle)
}

/// An image in memory (or compiled into the firmware) that has no handle yet:
/// what [`add_image`] records.
struct NewImage {
    parent: efi::Handle,
    device: efi::Handle,
    base: u64,
    size: u64,
    /// 0 for an application compiled into the firmware: nothing to free, and
    /// no LoadedImageDevicePath.
    pages: u64,
    entry: u64,
    subsystem: Subsystem,
    code_type: MemoryType,
    data_type: MemoryType,
    full_path: Option<Box<[u8]>>,
    file_path: Option<Box<[u8]>>,
}

/// Gives `new` a handle with LoadedImage on it and lists it as loaded, not
/// started. Every image LoadImage loads also carries LoadedImageDevicePath; one
/// loaded from a buffer without a device path carries it with a NULL interface
/// (§9.2).
fn add_image(new: NewImage) -> Result<HandleId, Error> {
    let mut protocol = Box::new(loaded_image::Protocol {
        revision: loaded_image::REVISION,
        parent_handle: new.parent,
        system_table: system_table(),
        device_handle: new.device,
        file_path: new
            .file_path
            .as_ref()
            .map_or(core::ptr::null_mut(), |p| p.as_ptr() as *mut device_path::Protocol),
        reserved: core::ptr::null_mut(),
        load_options_size: 0,
        load_options: core::ptr::null_mut(),
        image_base: new.base as *mut c_void,
        image_size: new.size,
        image_code_type: new.code_type.raw(),
        image_data_type: new.data_type.raw(),
        unload: None,
    });
    let handle = install(
        None,
        loaded_image::PROTOCOL_GUID,
        core::ptr::from_mut(&mut *protocol).cast::<c_void>(),
    )?;
    if new.pages > 0 {
        let _ = install(
            Some(handle),
            loaded_image_device_path::PROTOCOL_GUID,
            image_device_path(&new.full_path),
        );
    }
    IMAGES.lock().push(LoadedImage {
        handle,
        base: new.base,
        size: new.size,
        pages: new.pages,
        entry: new.entry,
        subsystem: new.subsystem,
        started: false,
        not_startable: false,
        faulted: false,
        jump: None,
        exit_data: None,
        protocol,
        full_path: new.full_path,
        file_path: new.file_path,
    });
    Ok(handle)
}

/// The LoadedImageDevicePath interface for an image's full path: the path, or
/// NULL when the image was loaded from a buffer without one.
fn image_device_path(full_path: &Option<Box<[u8]>>) -> *mut c_void {
    full_path
        .as_ref()
        .map_or(core::ptr::null_mut(), |p| p.as_ptr() as *mut c_void)
}

/// Registers an application compiled into the firmware (the boot manager, the
/// loaders) as a loaded image, so that StartImage runs it like one read from a
/// disk. `entry` is its `efi_main(ImageHandle, SystemTable)`; `image` is the
/// firmware's own image range, which the LoadedImage protocol reports.
pub fn register_builtin(
    parent: efi::Handle,
    entry: usize,
    image: core::ops::Range<u64>,
) -> Result<HandleId, efi::Status> {
    add_image(NewImage {
        parent,
        device: core::ptr::null_mut(),
        base: image.start,
        size: image.end - image.start,
        // Nothing to free: the code is part of the firmware.
        pages: 0,
        entry: entry as u64,
        subsystem: Subsystem::EfiApplication,
        code_type: MemoryType::RuntimeServicesCode,
        data_type: MemoryType::RuntimeServicesData,
        full_path: None,
        file_path: None,
    })
    .map_err(|e| e.status())
}

/// LoadImage: loads a PE image from a buffer or a device path into memory, and gives it a handle with LoadedImage.
///
/// Every image is first shown to Security2's FileAuthentication
/// ([`security_arch`]): `SUCCESS` loads it, `SECURITY_VIOLATION` loads it
/// with a handle StartImage refuses and returns `SECURITY_VIOLATION`,
/// `ACCESS_DENIED` loads nothing and returns a NULL handle (§7.4.1).
pub extern "efiapi" fn load_image(
    boot_policy: efi::Boolean,
    parent: efi::Handle,
    path: *mut device_path::Protocol,
    source: *mut c_void,
    source_size: usize,
    image_handle: *mut efi::Handle,
) -> efi::Status {
    if image_handle.is_null() || HandleId::from_efi(parent).is_none_or(|p| !BOOT.lock().handles.is_valid(p)) {
        return efi::Status::INVALID_PARAMETER;
    }
    // SAFETY: a non-null path is the caller's device path.
    let full_path = unsafe { device_path_bytes(path as *const u8) };
    let result = if !source.is_null() {
        // SAFETY: the caller gave `source_size` readable bytes (checked first).
        let data = match unsafe { crate::caller_buffer::slice(source as *const u8, source_size) } {
            Ok(data) => data,
            Err(e) => return e.status(),
        };
        let device = full_path.and_then(|p| {
            let mut remaining = p.as_ptr() as *mut device_path::Protocol;
            let mut device: efi::Handle = core::ptr::null_mut();
            let mut guid = r_efi::protocols::device_path::PROTOCOL_GUID;
            let s = super::protocol::locate_device_path(&mut guid, &mut remaining, &mut device);
            (!s.is_error()).then(|| (device, p[remaining as usize - p.as_ptr() as usize..].to_vec()))
        });
        let (device, file_part) = match device {
            Some((d, f)) => (d, Some(f)),
            None => (core::ptr::null_mut(), None),
        };
        let source = Source {
            parent,
            device,
            full_path,
            file_path: file_part.as_deref(),
            boot_policy,
        };
        load_authenticated(&source, data)
    } else {
        let Some(path) = full_path else {
            return efi::Status::NOT_FOUND;
        };
        match open_file(path) {
            Ok(mut image) if security_arch::needs_file_buffer() => image.load_authenticated(parent, path, boot_policy),
            Ok(mut image) => image.load(parent, path).map(|h| (h, efi::Status::SUCCESS)),
            Err(s) => Err(s),
        }
    };
    match result {
        Ok((h, status)) => {
            // SAFETY: checked non-null above.
            unsafe { *image_handle = h.to_efi() };
            status
        }
        Err(s) => {
            if s == efi::Status::ACCESS_DENIED {
                // SAFETY: checked non-null above.
                unsafe { *image_handle = core::ptr::null_mut() };
            }
            s
        }
    }
}

/// Where an image LoadImage loads from a buffer came from.
struct Source<'a> {
    parent: efi::Handle,
    /// The handle of the device the file is on (NULL if none).
    device: efi::Handle,
    /// LoadImage's DevicePath.
    full_path: Option<&'a [u8]>,
    /// The file part of it (after the device's nodes).
    file_path: Option<&'a [u8]>,
    boot_policy: efi::Boolean,
}

/// LoadImage of a whole file in memory: FileAuthentication decides
/// ([`load_policy::Verdict`]), then the image is loaded unless refused.
/// Returns the handle with LoadImage's status: `SUCCESS`, or
/// `SECURITY_VIOLATION` for an image loaded that StartImage will refuse.
fn load_authenticated(source: &Source<'_>, data: &[u8]) -> Result<(HandleId, efi::Status), efi::Status> {
    let verdict = Verdict::from_authentication(security_arch::authenticate(source.full_path, data, source.boot_policy));
    if let Verdict::Refuse(status) = verdict {
        return Err(fail(
            &alloc::format!(
                "{} not loaded: FileAuthentication says {status:?}",
                image_name(source.full_path)
            ),
            status,
        ));
    }
    let handle = load_from_buffer(source.parent, data, source.device, source.full_path, source.file_path)?;
    if verdict == Verdict::LoadNotStartable {
        if let Some(image) = IMAGES.lock().iter_mut().find(|i| i.handle == handle) {
            image.not_startable = true;
        }
        debug!("LoadImage: {handle} loaded, but may not be started (SECURITY_VIOLATION)");
    }
    Ok((handle, verdict.load_status()))
}

/// StartImage: calls a loaded image's entry point; returns when it returns or calls Exit.
pub extern "efiapi" fn start_image(
    handle: efi::Handle,
    exit_data_size: *mut usize,
    exit_data: *mut *mut u16,
) -> efi::Status {
    let Some(id) = HandleId::from_efi(handle) else {
        return efi::Status::INVALID_PARAMETER;
    };
    let mut context = Box::new(JumpContext([0; 32]));
    let (entry, loaded) = {
        let mut images = IMAGES.lock();
        let Some(image) = images.iter_mut().find(|i| i.handle == id) else {
            return efi::Status::INVALID_PARAMETER;
        };
        if image.started {
            return efi::Status::INVALID_PARAMETER;
        }
        if image.not_startable {
            let name = image_label(image);
            drop(images);
            warn!("StartImage: {name} not started: Secure Boot refused it when it was loaded (SECURITY_VIOLATION)");
            return efi::Status::SECURITY_VIOLATION;
        }
        image.started = true;
        image.jump = Some(&mut *context);
        // Images compiled into the firmware (pages == 0) need no readying.
        let loaded = (image.pages > 0).then_some((image.base, (image.pages * EFI_PAGE_SIZE) as usize));
        (image.entry, loaded)
    };
    if let Some((base, len)) = loaded {
        (platform().prepare_image)(base, len);
    }
    let enter = platform().enter_image;
    RUNNING.lock().push(id);
    // SAFETY: `entry` is the relocated entry point of an image loaded by
    // LoadImage; the context outlives the call, and Exit jumps back here.
    let status = unsafe { enter(entry, handle, system_table(), &mut *context) };
    // Exit returns here too, from any depth: what it left on top is this image.
    let mut running = RUNNING.lock();
    if let Some(at) = running.iter().rposition(|&h| h == id) {
        running.truncate(at);
    }
    drop(running);
    let record = {
        let mut images = IMAGES.lock();
        let index = images.iter().position(|i| i.handle == id);
        index.map(|i| images.remove(i))
    };
    if let Some(mut image) = record {
        image.jump = None;
        if let Some((size, data)) = image.exit_data.take() {
            // SAFETY: the caller passes valid pointers or null.
            unsafe {
                if let (Some(s), Some(d)) = (exit_data_size.as_mut(), exit_data.as_mut()) {
                    *s = size;
                    *d = data;
                }
            }
        }
        // Applications, and drivers that failed, are unloaded when they return.
        if image.subsystem == Subsystem::EfiApplication || status.is_error() {
            unload(image);
        } else {
            IMAGES.lock().push(image);
        }
    }
    status
}

fn unload(image: LoadedImage) {
    let mut boot = BOOT.lock();
    let _ = boot.handles.uninstall_protocol(
        image.handle,
        &loaded_image::PROTOCOL_GUID,
        Interface::from_ptr(core::ptr::from_ref(&*image.protocol) as *mut c_void),
    );
    // Images compiled into the firmware never had one.
    if image.pages > 0 {
        let _ = boot.handles.uninstall_protocol(
            image.handle,
            &loaded_image_device_path::PROTOCOL_GUID,
            Interface::from_ptr(image_device_path(&image.full_path)),
        );
    }
    boot.handles.close_opens_by_agent(image.handle);
    if image.faulted {
        warn!(
            "keeping the {} pages at {:#x} of the image that faulted: its events or protocols may still point there",
            image.pages, image.base
        );
    } else if image.pages > 0 {
        let _ = boot.memory.free_pages(image.base, image.pages);
    }
    drop(image.file_path);
}

/// The image list, locked, and the index in it of the image `handle` names;
/// `None` when it names no loaded image.
fn lookup(handle: efi::Handle) -> Option<(MutexGuard<'static, Vec<LoadedImage>>, usize)> {
    let id = HandleId::from_efi(handle)?;
    let images = IMAGES.lock();
    let index = images.iter().position(|i| i.handle == id)?;
    Some((images, index))
}

/// Takes the image at `index` out of the list and unloads it, with the list
/// unlocked first (unloading takes the boot services' lock).
fn unload_at(mut images: MutexGuard<'static, Vec<LoadedImage>>, index: usize) -> efi::Status {
    let image = images.remove(index);
    drop(images);
    unload(image);
    efi::Status::SUCCESS
}

/// Exit: ends the running image (or unloads one not yet started), returning to its StartImage.
pub extern "efiapi" fn exit(handle: efi::Handle, status: efi::Status, size: usize, data: *mut u16) -> efi::Status {
    let Some((mut images, index)) = lookup(handle) else {
        return efi::Status::INVALID_PARAMETER;
    };
    if !images[index].started {
        // Exit on an image that never started unloads it (§7.4.5).
        return unload_at(images, index);
    }
    let image = &mut images[index];
    if !data.is_null() && size > 0 {
        image.exit_data = Some((size, data));
    }
    let jump = image.jump;
    drop(images);
    match jump {
        Some(context) => {
            let leave = platform().exit_image;
            // SAFETY: `context` was saved by StartImage for this image, which is
            // running now (possibly deep in its own stack).
            unsafe { leave(context, status) }
        }
        None => efi::Status::INVALID_PARAMETER,
    }
}

/// UnloadImage: unloads an image that was never started, or one that asks to be unloaded.
pub extern "efiapi" fn unload_image(handle: efi::Handle) -> efi::Status {
    let Some((images, index)) = lookup(handle) else {
        return efi::Status::INVALID_PARAMETER;
    };
    if images[index].started {
        // Started drivers would need their own Unload function.
        return efi::Status::UNSUPPORTED;
    }
    unload_at(images, index)
}

/// One line the benchmark parses: what the OS must keep for the firmware
/// (runtime code and data), the ACPI memory, and the most boot-services memory
/// the firmware and its applications held at once.
fn log_memory_use() {
    use crate::memory::MemoryType as T;
    let boot = BOOT.lock();
    let stats = boot.memory.map.statistics();
    let bytes = |ty: T| stats.pages(ty) * EFI_PAGE_SIZE;
    info!(
        "hvfw-memory: runtime_code={} runtime_data={} acpi_reclaim={} acpi_nvs={} boot_services_peak={}",
        bytes(T::RuntimeServicesCode),
        bytes(T::RuntimeServicesData),
        bytes(T::ACPIReclaimMemory),
        bytes(T::ACPIMemoryNVS),
        stats.peak_boot_services_pages * EFI_PAGE_SIZE
    );
}

/// Names the images loaded but neither started nor unloaded: their pages are
/// lost to the OS's boot-services memory until it reclaims it, and a loader
/// that leaves one behind (a refused image, say) forgot its UnloadImage.
fn report_images_left() {
    let images = IMAGES.lock();
    let left: Vec<alloc::string::String> = images.iter().filter(|i| !i.started).map(image_label).collect();
    if !left.is_empty() {
        warn!(
            "ExitBootServices: {} image(s) loaded but never started nor unloaded: {}",
            left.len(),
            left.join(", ")
        );
    }
}

/// ExitBootServices: ends boot services if `map_key` is the current memory map's key.
pub extern "efiapi" fn exit_boot_services(_image: efi::Handle, map_key: usize) -> efi::Status {
    {
        let boot = BOOT.lock();
        if boot.exited {
            return efi::Status::INVALID_PARAMETER;
        }
        if map_key != boot.memory.map.map_key() {
            return efi::Status::INVALID_PARAMETER;
        }
    }
    // Notify EXIT_BOOT_SERVICES events once (§7.4.6), then check the key again:
    // a notify function that allocated invalidates it.
    let key_after = {
        let mut boot = BOOT.lock();
        if !boot.exited_notified {
            boot.exited_notified = true;
            boot.events.signal_group(&efi::EVENT_GROUP_EXIT_BOOT_SERVICES);
        }
        boot.memory.map.map_key()
    };
    super::dispatch::run_notifications();
    if BOOT.lock().memory.map.map_key() != key_after || key_after != map_key {
        return efi::Status::INVALID_PARAMETER;
    }
    super::watchdog::disarm();
    report_images_left();
    info!("ExitBootServices: handing the machine to the OS");
    // The map is final now: the OS checks the table's entries against it.
    super::memory_attributes::refresh();
    log_memory_use();
    (platform().exit_boot_services)();
    let notifies = BOOT.lock().events.address_change_notifications();
    super::runtime::enter_runtime(&notifies);
    // The OS calls runtime services with its own mappings from here on.
    crate::caller_buffer::lift_address_limit();
    BOOT.lock().exited = true;
    clear_boot_services();
    efi::Status::SUCCESS
}
