//! The checks. Each is small and calls services exactly as the specification
//! describes them, through `uefi-raw`'s tables.

use core::ffi::c_void;
use core::fmt::{self, Write};
use uefi_raw::protocol::block::BlockIoProtocol;
use uefi_raw::protocol::console::SimpleTextOutputProtocol;
use uefi_raw::protocol::loaded_image::LoadedImageProtocol;
use uefi_raw::table::boot::{BootServices, EventType, MemoryDescriptor, MemoryType, TimerDelay, Tpl};
use uefi_raw::table::runtime::{RuntimeServices, VariableAttributes, VariableVendor};
use uefi_raw::table::system::SystemTable;
use uefi_raw::{guid, Guid, Handle, Status};

pub(crate) struct Console(pub(crate) *mut SimpleTextOutputProtocol);

impl Write for Console {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let mut buf = [0u16; 128];
        let mut n = 0;
        for c in s.encode_utf16() {
            if c == u16::from(b'\n') {
                buf[n] = u16::from(b'\r');
                n += 1;
            }
            buf[n] = c;
            n += 1;
            if n >= buf.len() - 2 {
                buf[n] = 0;
                // SAFETY: ConOut from the system table; the buffer is NUL-terminated.
                let _ = unsafe { ((*self.0).output_string)(self.0, buf.as_ptr()) };
                n = 0;
            }
        }
        buf[n] = 0;
        // SAFETY: as above.
        let _ = unsafe { ((*self.0).output_string)(self.0, buf.as_ptr()) };
        Ok(())
    }
}

struct Checks {
    out: Console,
    failed: usize,
}

impl Checks {
    fn check(&mut self, name: &str, result: Result<(), &str>) {
        match result {
            Ok(()) => {
                let _ = writeln!(self.out, "HVFW-APP: ok {name}");
            }
            Err(why) => {
                self.failed += 1;
                let _ = writeln!(self.out, "HVFW-APP: FAIL {name}: {why}");
            }
        }
    }
}

fn ok(status: Status, what: &'static str) -> Result<(), &'static str> {
    if status == Status::SUCCESS {
        Ok(())
    } else {
        Err(what)
    }
}

const TEST_PROTOCOL: Guid = guid!("6b1f6c2e-2b47-4c21-9f5e-6c1b3a3f0d11");

unsafe fn memory(bs: &BootServices) -> Result<(), &'static str> {
    // SAFETY: boot services called as the specification describes.
    unsafe {
        let mut pool: *mut u8 = core::ptr::null_mut();
        ok(
            (bs.allocate_pool)(MemoryType::LOADER_DATA, 1000, &mut pool),
            "AllocatePool",
        )?;
        core::ptr::write_bytes(pool, 0xa5, 1000);
        ok((bs.free_pool)(pool), "FreePool")?;
        let mut pages: u64 = 0;
        ok(
            (bs.allocate_pages)(
                uefi_raw::table::boot::AllocateType::ANY_PAGES,
                MemoryType::LOADER_DATA,
                4,
                &mut pages,
            ),
            "AllocatePages",
        )?;
        core::ptr::write_bytes(pages as *mut u8, 0x5a, 4 * 4096);
        ok((bs.free_pages)(pages, 4), "FreePages")?;
        let (mut size, mut key, mut dsize, mut version) = (0usize, 0usize, 0usize, 0u32);
        let s = (bs.get_memory_map)(&mut size, core::ptr::null_mut(), &mut key, &mut dsize, &mut version);
        if s != Status::BUFFER_TOO_SMALL || size == 0 {
            return Err("GetMemoryMap size query");
        }
        size += 4 * dsize;
        let mut map: *mut u8 = core::ptr::null_mut();
        ok(
            (bs.allocate_pool)(MemoryType::LOADER_DATA, size, &mut map),
            "AllocatePool for the map",
        )?;
        ok(
            (bs.get_memory_map)(
                &mut size,
                map as *mut MemoryDescriptor,
                &mut key,
                &mut dsize,
                &mut version,
            ),
            "GetMemoryMap",
        )?;
        if dsize < core::mem::size_of::<MemoryDescriptor>() || version != 1 || size % dsize != 0 {
            return Err("descriptor size or version");
        }
        ok((bs.free_pool)(map), "FreePool of the map")
    }
}

unsafe fn timer(bs: &BootServices) -> Result<(), &'static str> {
    // SAFETY: as above.
    unsafe {
        let mut event = core::ptr::null_mut();
        ok(
            (bs.create_event)(
                EventType::TIMER,
                Tpl::APPLICATION,
                None,
                core::ptr::null_mut(),
                &mut event,
            ),
            "CreateEvent",
        )?;
        ok((bs.set_timer)(event, TimerDelay::RELATIVE, 100_000), "SetTimer 10 ms")?;
        let mut index = usize::MAX;
        ok((bs.wait_for_event)(1, &mut event, &mut index), "WaitForEvent")?;
        if index != 0 {
            return Err("WaitForEvent index");
        }
        ok((bs.close_event)(event), "CloseEvent")?;
        ok((bs.stall)(1000), "Stall")
    }
}

unsafe fn protocols(bs: &BootServices, image: Handle) -> Result<(), &'static str> {
    // SAFETY: as above.
    unsafe {
        let mut count = 0usize;
        let mut handles: *mut Handle = core::ptr::null_mut();
        ok(
            (bs.locate_handle_buffer)(2, &BlockIoProtocol::GUID, core::ptr::null(), &mut count, &mut handles),
            "LocateHandleBuffer(BlockIo)",
        )?;
        if count < 2 {
            return Err("expected a disk and a partition with BlockIo");
        }
        ok((bs.free_pool)(handles as *mut u8), "FreePool")?;
        let mut loaded: *mut c_void = core::ptr::null_mut();
        ok(
            (bs.handle_protocol)(image, &LoadedImageProtocol::GUID, &mut loaded),
            "HandleProtocol(LoadedImage)",
        )?;
        let loaded = &*(loaded as *const LoadedImageProtocol);
        if loaded.device_handle.is_null() || loaded.file_path.is_null() || loaded.image_size == 0 {
            return Err("LoadedImage lacks device handle, file path or size");
        }
        let mut handle: Handle = core::ptr::null_mut();
        let mut marker = 0u64;
        ok(
            (bs.install_multiple_protocol_interfaces)(
                &mut handle,
                &TEST_PROTOCOL,
                &mut marker as *mut u64 as *mut c_void,
                core::ptr::null::<Guid>(),
            ),
            "InstallMultipleProtocolInterfaces",
        )?;
        let mut found: *mut c_void = core::ptr::null_mut();
        ok(
            (bs.locate_protocol)(&TEST_PROTOCOL, core::ptr::null(), &mut found),
            "LocateProtocol",
        )?;
        if found != &mut marker as *mut u64 as *mut c_void {
            return Err("LocateProtocol found another interface");
        }
        ok(
            (bs.uninstall_multiple_protocol_interfaces)(
                handle,
                &TEST_PROTOCOL,
                &mut marker as *mut u64 as *mut c_void,
                core::ptr::null::<Guid>(),
            ),
            "UninstallMultipleProtocolInterfaces",
        )
    }
}

unsafe fn variables(rt: &RuntimeServices) -> Result<(), &'static str> {
    let name = |s: &str, out: &mut [u16; 32]| {
        for (i, c) in s.encode_utf16().enumerate() {
            out[i] = c;
        }
    };
    // SAFETY: runtime services called as the specification describes.
    unsafe {
        let mut secure_boot = [0u16; 32];
        name("SecureBoot", &mut secure_boot);
        let mut value = [0xffu8; 4];
        let mut size = value.len();
        let mut attributes = VariableAttributes::empty();
        ok(
            (rt.get_variable)(
                secure_boot.as_ptr(),
                &VariableVendor::GLOBAL_VARIABLE.0,
                &mut attributes,
                &mut size,
                value.as_mut_ptr(),
            ),
            "GetVariable(SecureBoot)",
        )?;
        if size != 1 || value[0] != 0 {
            return Err("SecureBoot is not 0");
        }
        let mut own = [0u16; 32];
        name("HvfwTestVar", &mut own);
        let attrs = VariableAttributes::BOOTSERVICE_ACCESS | VariableAttributes::RUNTIME_ACCESS;
        ok(
            (rt.set_variable)(own.as_ptr(), &TEST_PROTOCOL, attrs, 5, b"hello".as_ptr()),
            "SetVariable",
        )?;
        let mut back = [0u8; 8];
        let mut size = back.len();
        ok(
            (rt.get_variable)(
                own.as_ptr(),
                &TEST_PROTOCOL,
                &mut attributes,
                &mut size,
                back.as_mut_ptr(),
            ),
            "GetVariable",
        )?;
        if &back[..size] != b"hello" {
            return Err("variable read back differs");
        }
        let mut time = core::mem::zeroed();
        ok((rt.get_time)(&mut time, core::ptr::null_mut()), "GetTime")?;
        let time: uefi_raw::time::Time = time;
        if time.year < 2020 {
            return Err("GetTime year before 2020");
        }
        Ok(())
    }
}

/// Reads a whole file from the volume the application was loaded from.
unsafe fn read_own_volume(bs: &BootServices, image: Handle, name: &str, out: &mut [u8]) -> Result<usize, &'static str> {
    use uefi_raw::protocol::file_system::{FileAttribute, FileMode, FileProtocolV1, SimpleFileSystemProtocol};
    // SAFETY: boot services and protocols called as the specification describes.
    unsafe {
        let mut loaded: *mut c_void = core::ptr::null_mut();
        ok(
            (bs.handle_protocol)(image, &LoadedImageProtocol::GUID, &mut loaded),
            "HandleProtocol(LoadedImage)",
        )?;
        let device = (*(loaded as *const LoadedImageProtocol)).device_handle;
        let mut sfs: *mut c_void = core::ptr::null_mut();
        ok(
            (bs.handle_protocol)(device, &SimpleFileSystemProtocol::GUID, &mut sfs),
            "HandleProtocol(SimpleFileSystem)",
        )?;
        let sfs = sfs as *mut SimpleFileSystemProtocol;
        let mut root: *mut FileProtocolV1 = core::ptr::null_mut();
        ok(((*sfs).open_volume)(sfs, &mut root), "OpenVolume")?;
        let mut path = [0u16; 64];
        for (i, c) in name.encode_utf16().enumerate() {
            path[i] = c;
        }
        let mut file: *mut FileProtocolV1 = core::ptr::null_mut();
        let status = ((*root).open)(root, &mut file, path.as_ptr(), FileMode::READ, FileAttribute::empty());
        let _ = ((*root).close)(root);
        if status == Status::NOT_FOUND {
            return Err("not found");
        }
        ok(status, "Open")?;
        let mut size = out.len();
        let status = ((*file).read)(file, &mut size, out.as_mut_ptr() as *mut c_void);
        let _ = ((*file).close)(file);
        ok(status, "Read")?;
        Ok(size)
    }
}

#[unsafe(no_mangle)]
extern "efiapi" fn efi_main(image: Handle, system_table: *mut SystemTable) -> Status {
    // SAFETY: the firmware passes a valid system table.
    let st = unsafe { &*system_table };
    let mut checks = Checks {
        out: Console(st.stdout),
        failed: 0,
    };
    let _ = writeln!(checks.out, "HVFW-APP: started");
    // SAFETY: the tables are valid while boot services run.
    let (bs, rt) = unsafe { (&*st.boot_services, &*st.runtime_services) };
    // SAFETY: each check calls services as the specification describes.
    unsafe {
        checks.check("memory", memory(bs));
        checks.check("timer", timer(bs));
        checks.check("protocols", protocols(bs, image));
        checks.check("variables", variables(rt));
        let smbios = crate::smbios::report(st, &mut checks.out);
        checks.check("smbios", smbios);
        let mut text = [0u8; 64];
        let read = read_own_volume(bs, image, "\\hvfw-test.txt", &mut text);
        checks.check(
            "file-system",
            match read {
                Ok(n) if &text[..n] == b"hello from the ESP\n" => Ok(()),
                Ok(_) => Err("\\hvfw-test.txt holds other bytes"),
                Err(e) => Err(e),
            },
        );
    }
    // A disk that carries \hvfw-hostile asks for the hostile-call checks.
    // SAFETY: as above.
    if unsafe { read_own_volume(bs, image, "\\hvfw-hostile", &mut [0u8; 64]) }.is_ok() {
        // Its findings are reported on their own lines and summary.
        // SAFETY: the system table is valid and boot services run.
        let _ = unsafe { crate::hostile::run(image, st) };
    }
    let _ = writeln!(checks.out, "HVFW-APP: done, {} failed", checks.failed);
    let status = if checks.failed == 0 {
        Status::SUCCESS
    } else {
        Status::ABORTED
    };
    // A disk that carries \hvfw-shutdown (\hvfw-reboot) asks for a power-off
    // (a cold reset) through ResetSystem.
    use uefi_raw::table::runtime::ResetType;
    for (trigger, kind, name) in [
        ("\\hvfw-shutdown", ResetType::SHUTDOWN, "EfiResetShutdown"),
        ("\\hvfw-reboot", ResetType::COLD, "EfiResetCold"),
    ] {
        // SAFETY: as above.
        if unsafe { read_own_volume(bs, image, trigger, &mut [0u8; 64]) }.is_ok() {
            let _ = writeln!(checks.out, "HVFW-APP: ResetSystem({name})");
            // SAFETY: runtime services called as the specification describes.
            unsafe { (rt.reset_system)(kind, status, 0, core::ptr::null()) };
        }
    }
    // Leave through Exit, as loaders do when they give up: the firmware must
    // return from StartImage with this status.
    // SAFETY: our own image handle.
    let _ = unsafe { (bs.exit)(image, status, 0, core::ptr::null_mut()) };
    Status::LOAD_ERROR
}

#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    loop {
        core::hint::spin_loop();
    }
}
