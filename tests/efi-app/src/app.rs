//! The checks. Each is small and calls services exactly as the specification
//! describes them, through `uefi-raw`'s tables.

use core::ffi::c_void;
use core::fmt::{self, Write};
use uefi_raw::protocol::block::BlockIoProtocol;
use uefi_raw::protocol::console::SimpleTextOutputProtocol;
use uefi_raw::protocol::loaded_image::LoadedImageProtocol;
use uefi_raw::table::boot::{BootServices, EventType, MemoryDescriptor, MemoryType, TimerDelay, Tpl};
use uefi_raw::table::runtime::{ResetType, RuntimeServices, VariableAttributes, VariableVendor};
use uefi_raw::table::system::SystemTable;
use uefi_raw::{guid, Guid, Handle, Status};

pub(crate) struct Console(pub(crate) *mut SimpleTextOutputProtocol);

impl Write for Console {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        fw_bytes::console::for_each_piece(s, |piece| {
            // SAFETY: ConOut from the system table; `piece` is NUL-terminated UCS-2.
            let _ = unsafe { ((*self.0).output_string)(self.0, piece.as_ptr()) };
        });
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

pub(crate) fn ok(status: Status, what: &'static str) -> Result<(), &'static str> {
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
        #[expect(
            clippy::cast_ptr_alignment,
            reason = "AllocatePool's memory is 8-byte aligned (UEFI 2.10 §7.2.4)"
        )]
        let descriptors = map.cast::<MemoryDescriptor>();
        ok(
            (bs.get_memory_map)(&mut size, descriptors, &mut key, &mut dsize, &mut version),
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
        ok((bs.free_pool)(handles.cast::<u8>()), "FreePool")?;
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
                core::ptr::from_mut::<u64>(&mut marker).cast::<c_void>(),
                core::ptr::null::<Guid>(),
            ),
            "InstallMultipleProtocolInterfaces",
        )?;
        let mut found: *mut c_void = core::ptr::null_mut();
        ok(
            (bs.locate_protocol)(&TEST_PROTOCOL, core::ptr::null(), &mut found),
            "LocateProtocol",
        )?;
        if found != core::ptr::from_mut::<u64>(&mut marker).cast::<c_void>() {
            return Err("LocateProtocol found another interface");
        }
        ok(
            (bs.uninstall_multiple_protocol_interfaces)(
                handle,
                &TEST_PROTOCOL,
                core::ptr::from_mut::<u64>(&mut marker).cast::<c_void>(),
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

/// The one handle carrying `guid`, and its interface.
pub(crate) unsafe fn find_protocol(bs: &BootServices, guid: &Guid) -> Result<(Handle, *mut c_void), &'static str> {
    // SAFETY: boot services called as the specification describes.
    unsafe {
        let mut count = 0usize;
        let mut handles: *mut Handle = core::ptr::null_mut();
        ok(
            (bs.locate_handle_buffer)(2, guid, core::ptr::null(), &mut count, &mut handles),
            "LocateHandleBuffer",
        )?;
        let handle = *handles;
        ok((bs.free_pool)(handles.cast::<u8>()), "FreePool")?;
        if count != 1 {
            return Err("expected exactly one handle");
        }
        let mut interface: *mut c_void = core::ptr::null_mut();
        ok((bs.handle_protocol)(handle, guid, &mut interface), "HandleProtocol")?;
        Ok((handle, interface))
    }
}

/// The line the harness looks for on QEMU's serial port.
pub(crate) const SERIAL_IO_LINE: &[u8] = b"HVFW-SERIAL-IO: written through EFI_SERIAL_IO_PROTOCOL\r\n";

/// EFI_SERIAL_IO_PROTOCOL: found with a device path ending in a UART node,
/// reporting the console's line, writing a line the harness sees, and
/// returning what it wrote in software loopback.
unsafe fn serial_io(bs: &BootServices) -> Result<(), &'static str> {
    use uefi_raw::protocol::console::serial::{ControlBits, Parity, SerialIoProtocol, StopBits};
    use uefi_raw::protocol::device_path::DevicePathProtocol;
    // SAFETY: boot services and the protocol called as the specification describes.
    unsafe {
        let (handle, io) = find_protocol(bs, &SerialIoProtocol::GUID)?;
        let io = io.cast::<SerialIoProtocol>();
        let mut path: *mut c_void = core::ptr::null_mut();
        ok(
            (bs.handle_protocol)(handle, &DevicePathProtocol::GUID, &mut path),
            "the Serial I/O handle has no device path",
        )?;
        // The last node before the end is Uart (messaging 3, subtype 14).
        let mut node = path as *const u8;
        let mut last = (0u8, 0u8);
        while *node != 0x7f {
            last = (*node, *node.add(1));
            node = node.add(usize::from(u16::from_le_bytes([*node.add(2), *node.add(3)])));
        }
        if last != (3, 14) {
            return Err("the Serial I/O device path does not end in a Uart node");
        }
        let mode = &*(*io).mode;
        if mode.baud_rate != 115_200 || mode.data_bits != 8 || mode.parity != Parity::NONE {
            return Err("Mode is not 115200 8N1");
        }
        ok(
            ((*io).set_attributes)(io, 115_200, 0, 50_000, Parity::DEFAULT, 0, StopBits::DEFAULT),
            "SetAttributes(115200, 50 ms timeout)",
        )?;
        if (*(*io).mode).timeout != 50_000 {
            return Err("SetAttributes did not update Mode.Timeout");
        }
        let mut size = SERIAL_IO_LINE.len();
        ok(((*io).write)(io, &mut size, SERIAL_IO_LINE.as_ptr()), "Write")?;
        if size != SERIAL_IO_LINE.len() {
            return Err("Write wrote fewer bytes");
        }
        let normal = ControlBits::DATA_TERMINAL_READY | ControlBits::REQUEST_TO_SEND;
        ok(
            ((*io).set_control_bits)(io, normal | ControlBits::SOFTWARE_LOOPBACK_ENABLE),
            "SetControl(software loopback)",
        )?;
        let mut size = 4;
        ok(((*io).write)(io, &mut size, b"ping".as_ptr()), "Write in loopback")?;
        let mut bits = ControlBits::empty();
        ok(((*io).get_control_bits)(io, &mut bits), "GetControl")?;
        if bits.contains(ControlBits::INPUT_BUFFER_EMPTY) || !bits.contains(ControlBits::SOFTWARE_LOOPBACK_ENABLE) {
            return Err("GetControl: loopback data not reported");
        }
        let mut back = [0u8; 6];
        let mut size = back.len();
        let status = ((*io).read)(io, &mut size, back.as_mut_ptr());
        ok(((*io).set_control_bits)(io, normal), "SetControl(loopback off)")?;
        if status != Status::TIMEOUT || size != 4 || &back[..4] != b"ping" {
            return Err("Read in loopback: expected ping, then EFI_TIMEOUT");
        }
        ok(((*io).reset)(io), "Reset")
    }
}

/// EFI_PARTITION_INFO_PROTOCOL_GUID (UEFI 2.10 §13.18); uefi-raw has no binding.
const PARTITION_INFO_GUID: Guid = guid!("8cf2f62c-bc9b-4821-808d-ec9ec421a1a0");

/// EFI_PARTITION_INFO_PROTOCOL on the application's own partition: a GPT EFI
/// System Partition whose entry is, byte for byte, the one the application
/// reads itself from the GPT through the whole disk's BlockIo.
unsafe fn partition_info(bs: &BootServices, image: Handle) -> Result<(), &'static str> {
    // SAFETY: boot services and protocols called as the specification describes.
    unsafe {
        let partition = own_partition(bs, image)?;
        let mut info: *mut c_void = core::ptr::null_mut();
        ok(
            (bs.handle_protocol)(partition, &PARTITION_INFO_GUID, &mut info),
            "no PartitionInfo on the application's partition",
        )?;
        let info = core::slice::from_raw_parts(info as *const u8, 16 + 128);
        let u32_at = |b: &[u8], at: usize| u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]]);
        // Type 1: an MBR record, 2: a GPT entry (both carry the ESP's System flag).
        let kind = u32_at(info, 4);
        if u32_at(info, 0) != 0x1000 || !(kind == 1 || kind == 2) || info[8] != 1 {
            return Err("expected revision 0x1000, type MBR or GPT and the System flag");
        }
        let (disk, number) = own_disk(bs, partition)?;
        let mut block_io: *mut c_void = core::ptr::null_mut();
        ok(
            (bs.handle_protocol)(disk, &BlockIoProtocol::GUID, &mut block_io),
            "HandleProtocol(BlockIo)",
        )?;
        let block_io = block_io.cast::<BlockIoProtocol>();
        let media = &*(*block_io).media;
        let block_size = media.block_size as usize;
        let mut block = [0u8; 4096];
        if block_size > block.len() || media.logical_partition.into() {
            return Err("unexpected disk media");
        }
        let read = |lba: u64, block: &mut [u8; 4096]| {
            ok(
                ((*block_io).read_blocks)(block_io, media.media_id, lba, block_size, block.as_mut_ptr().cast()),
                "ReadBlocks",
            )
        };
        if kind == 1 {
            read(0, &mut block)?;
            let at = 446 + 16 * (number as usize - 1);
            if number == 0 || number > 4 || block[at..at + 16] != info[16..32] {
                return Err("PartitionInfo's record differs from the MBR's");
            }
            return Ok(());
        }
        read(1, &mut block)?;
        if &block[..8] != b"EFI PART" {
            return Err("LBA 1 holds no GPT header");
        }
        let entries_lba = u64::from(u32_at(&block, 72)) | (u64::from(u32_at(&block, 76)) << 32);
        let entry_size = u32_at(&block, 84) as usize;
        let offset = (number as usize - 1) * entry_size;
        read(entries_lba + (offset / block_size) as u64, &mut block)?;
        let entry = &block[offset % block_size..offset % block_size + 128];
        if entry != &info[16..] {
            return Err("PartitionInfo's entry differs from the GPT's");
        }
        Ok(())
    }
}

/// The disk a partition handle lies on, and the partition's number: the disk's
/// path is the partition's up to its HD node, and LocateDevicePath(BlockIo)
/// finds the disk's handle from it.
pub(crate) unsafe fn own_disk(bs: &BootServices, partition: Handle) -> Result<(Handle, u32), &'static str> {
    use uefi_raw::protocol::device_path::DevicePathProtocol;
    // SAFETY: boot services called as the specification describes; the
    // firmware's device paths are well formed up to their end node.
    unsafe {
        let mut path: *mut c_void = core::ptr::null_mut();
        ok(
            (bs.handle_protocol)(partition, &DevicePathProtocol::GUID, &mut path),
            "HandleProtocol(DevicePath)",
        )?;
        let mut disk_path = [0u8; 256];
        let mut node = path as *const u8;
        let mut len = 0;
        while !(*node == 4 && *node.add(1) == 1) {
            if *node == 0x7f {
                return Err("the partition's device path has no HD node");
            }
            let node_len = usize::from(u16::from_le_bytes([*node.add(2), *node.add(3)]));
            if len + node_len + 4 > disk_path.len() || node_len < 4 {
                return Err("the partition's device path is too long");
            }
            core::ptr::copy_nonoverlapping(node, disk_path.as_mut_ptr().add(len), node_len);
            len += node_len;
            node = node.add(node_len);
        }
        let number = u32::from_le_bytes([*node.add(4), *node.add(5), *node.add(6), *node.add(7)]);
        disk_path[len..len + 4].copy_from_slice(&[0x7f, 0xff, 4, 0]);
        let mut remaining = disk_path.as_ptr().cast::<DevicePathProtocol>();
        let mut disk: Handle = core::ptr::null_mut();
        ok(
            (bs.locate_device_path)(&BlockIoProtocol::GUID, &mut remaining, &mut disk),
            "LocateDevicePath(BlockIo) for the disk",
        )?;
        if disk == partition {
            return Err("LocateDevicePath found the partition, not its disk");
        }
        Ok((disk, number))
    }
}

/// The handle of the partition the application was loaded from.
pub(crate) unsafe fn own_partition(bs: &BootServices, image: Handle) -> Result<Handle, &'static str> {
    let mut loaded: *mut c_void = core::ptr::null_mut();
    // SAFETY: boot services called as the specification describes.
    unsafe {
        ok(
            (bs.handle_protocol)(image, &LoadedImageProtocol::GUID, &mut loaded),
            "HandleProtocol(LoadedImage)",
        )?;
        Ok((*(loaded as *const LoadedImageProtocol)).device_handle)
    }
}

/// EFI_DISK_IO2_PROTOCOL beside DiskIo on the application's partition: the
/// same bytes blocking (no token) and with an event (signalled, with the
/// transaction status in the token).
unsafe fn disk_io2(bs: &BootServices, image: Handle) -> Result<(), &'static str> {
    use uefi_raw::protocol::disk::{DiskIo2Protocol, DiskIo2Token, DiskIoProtocol};
    // SAFETY: boot services and protocols called as the specification describes.
    unsafe {
        let partition = own_partition(bs, image)?;
        let (mut io, mut io2, mut block_io) = (core::ptr::null_mut(), core::ptr::null_mut(), core::ptr::null_mut());
        ok(
            (bs.handle_protocol)(partition, &DiskIoProtocol::GUID, &mut io),
            "HandleProtocol(DiskIo)",
        )?;
        ok(
            (bs.handle_protocol)(partition, &DiskIo2Protocol::GUID, &mut io2),
            "no DiskIo2 beside DiskIo",
        )?;
        ok(
            (bs.handle_protocol)(partition, &BlockIoProtocol::GUID, &mut block_io),
            "HandleProtocol(BlockIo)",
        )?;
        let (io, io2) = (io.cast::<DiskIoProtocol>(), io2.cast::<DiskIo2Protocol>());
        let media_id = (*(*(block_io as *const BlockIoProtocol)).media).media_id;
        // An unaligned range across block boundaries: the boot sector and more.
        let (offset, len) = (300u64, 1500usize);
        let mut expected = [0u8; 1500];
        ok(
            ((*io).read_disk)(io, media_id, offset, len, expected.as_mut_ptr().cast()),
            "ReadDisk",
        )?;
        let mut blocking = [0u8; 1500];
        ok(
            ((*io2).read_disk_ex)(
                io2,
                media_id,
                offset,
                core::ptr::null_mut(),
                len,
                blocking.as_mut_ptr().cast(),
            ),
            "ReadDiskEx without a token",
        )?;
        if blocking != expected {
            return Err("ReadDiskEx without a token read other bytes than ReadDisk");
        }
        let mut event = core::ptr::null_mut();
        ok(
            (bs.create_event)(
                EventType::empty(),
                Tpl::APPLICATION,
                None,
                core::ptr::null_mut(),
                &mut event,
            ),
            "CreateEvent",
        )?;
        let mut token = DiskIo2Token {
            event,
            transaction_status: Status::NOT_READY,
        };
        let mut with_event = [0u8; 1500];
        let status = ((*io2).read_disk_ex)(io2, media_id, offset, &mut token, len, with_event.as_mut_ptr().cast());
        let signalled = (bs.check_event)(event);
        let _ = (bs.close_event)(event);
        ok(status, "ReadDiskEx with an event")?;
        ok(signalled, "the token's event was not signalled")?;
        ok(token.transaction_status, "the token's TransactionStatus is not SUCCESS")?;
        if with_event != expected {
            return Err("ReadDiskEx with an event read other bytes than ReadDisk");
        }
        ok(((*io2).flush_disk_ex)(io2, core::ptr::null_mut()), "FlushDiskEx")
    }
}

/// Reads a whole file from the volume the application was loaded from.
pub(crate) unsafe fn read_own_volume(
    bs: &BootServices,
    image: Handle,
    name: &str,
    out: &mut [u8],
) -> Result<usize, &'static str> {
    let mut path = [0u16; 64];
    for (i, c) in name.encode_utf16().enumerate() {
        path[i] = c;
    }
    // SAFETY: the caller's contract.
    unsafe { read_own_volume_utf16(bs, image, &path, out) }
}

/// Reads a whole file, named by a NUL-terminated UTF-16 path, from the volume
/// the application was loaded from.
pub(crate) unsafe fn read_own_volume_utf16(
    bs: &BootServices,
    image: Handle,
    path: &[u16],
    out: &mut [u8],
) -> Result<usize, &'static str> {
    use uefi_raw::protocol::file_system::{FileAttribute, FileMode, FileProtocolV1, SimpleFileSystemProtocol};
    if !path.contains(&0) {
        return Err("the path is not NUL-terminated");
    }
    // SAFETY: boot services and protocols called as the specification describes.
    unsafe {
        let device = own_partition(bs, image)?;
        let mut sfs: *mut c_void = core::ptr::null_mut();
        ok(
            (bs.handle_protocol)(device, &SimpleFileSystemProtocol::GUID, &mut sfs),
            "HandleProtocol(SimpleFileSystem)",
        )?;
        let sfs = sfs.cast::<SimpleFileSystemProtocol>();
        let mut root: *mut FileProtocolV1 = core::ptr::null_mut();
        ok(((*sfs).open_volume)(sfs, &mut root), "OpenVolume")?;
        let mut file: *mut FileProtocolV1 = core::ptr::null_mut();
        let status = ((*root).open)(root, &mut file, path.as_ptr(), FileMode::READ, FileAttribute::empty());
        let _ = ((*root).close)(root);
        if status == Status::NOT_FOUND {
            return Err("not found");
        }
        ok(status, "Open")?;
        let mut size = out.len();
        let status = ((*file).read)(file, &mut size, out.as_mut_ptr().cast::<c_void>());
        let _ = ((*file).close)(file);
        ok(status, "Read")?;
        Ok(size)
    }
}

#[unsafe(no_mangle)]
extern "efiapi" fn efi_main(image: Handle, system_table: *mut SystemTable) -> Status {
    // SAFETY: the firmware passes a valid system table.
    let st = unsafe { &*system_table };
    // Started by the Secure Boot checks only to see it run (`sb_arch.rs`).
    // SAFETY: the tables are valid while boot services run.
    if unsafe { crate::sb_arch::asked_to_return(&*st.boot_services, image) } {
        return Status::SUCCESS;
    }
    let mut checks = Checks {
        out: Console(st.stdout),
        failed: 0,
    };
    let _ = writeln!(checks.out, "HVFW-APP: started");
    // SAFETY: the tables are valid while boot services run.
    let (bs, rt) = unsafe { (&*st.boot_services, &*st.runtime_services) };
    // A disk that carries \hvfw-sb-auth asks only for the authenticated
    // variable checks (under Secure Boot, where the other checks' premises,
    // such as SecureBoot being 0, do not hold).
    // SAFETY: as above.
    if unsafe { crate::sb_auth::run(bs, rt, image, &mut checks.out) } {
        return Status::SUCCESS;
    }
    // \hvfw-sb-arch asks only for LoadImage's statuses under Secure Boot.
    // SAFETY: as above.
    if unsafe { crate::sb_arch::run(bs, image, &mut checks.out) } {
        return Status::SUCCESS;
    }
    // A disk that carries \hvfw-fault-write or \hvfw-fault-stack asks for a fault.
    // SAFETY: as above.
    unsafe { crate::faults::run(bs, image, &mut checks.out) };
    // SAFETY: each check calls services as the specification describes.
    unsafe {
        checks.check("memory", memory(bs));
        checks.check("timer", timer(bs));
        checks.check("protocols", protocols(bs, image));
        checks.check("variables", variables(rt));
        checks.check("serial-io", serial_io(bs));
        checks.check("partition-info", partition_info(bs, image));
        checks.check("disk-io2", disk_io2(bs, image));
        checks.check("load-image-buffer", crate::image_buffer::check(bs, image));
        checks.check("unicode-collation", crate::collation::check(bs));
        checks.check("reset-notification", crate::reset_notify::check(bs));
        checks.check("device-path-from-text", crate::device_path_text::check(bs, image));
        let table = crate::device_path_text::table(bs, &mut checks.out);
        checks.check("device-path-to-text", table);
        checks.check("watchdog", crate::watchdog::check(bs));
        let drivers = crate::drivers::check(bs, image, &mut checks.out);
        checks.check("component-name", drivers);
        let disk_info = crate::drivers::disk_info(bs, image, &mut checks.out);
        checks.check("disk-info", disk_info);
        let pci = crate::pci_io::check(bs, image, &mut checks.out);
        checks.check("pci-io", pci);
        let smbios = crate::smbios::report(st, &mut checks.out);
        checks.check("smbios", smbios);
        match crate::gop::check(st, &mut checks.out) {
            Some(result) => checks.check("gop", result),
            None => {
                let _ = writeln!(checks.out, "HVFW-APP: no gop");
            }
        }
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
    // A disk that carries \hvfw-keyboard asks for keys typed by the harness.
    // SAFETY: as above.
    if unsafe { read_own_volume(bs, image, "\\hvfw-keyboard", &mut [0u8; 64]) }.is_ok() {
        // SAFETY: the system table is valid and boot services run.
        let keys = unsafe { crate::keyboard::check(st, &mut checks.out) };
        checks.check("keyboard", keys);
    }
    // SAFETY: as above.
    unsafe { crate::nv::run(bs, rt, image, &mut checks.out) };
    // A disk that carries \hvfw-sb\ asks for the authenticated-write steps.
    // SAFETY: as above.
    unsafe { crate::sb_vars::run(bs, rt, image, &mut checks.out) };
    let _ = writeln!(checks.out, "HVFW-APP: done, {} failed", checks.failed);
    let status = if checks.failed == 0 {
        Status::SUCCESS
    } else {
        Status::ABORTED
    };
    // A disk that carries \hvfw-shutdown (\hvfw-reboot) asks for a power-off
    // (a cold reset) through ResetSystem.
    for (trigger, kind, name) in [
        ("\\hvfw-shutdown", ResetType::SHUTDOWN, "EfiResetShutdown"),
        ("\\hvfw-reboot", ResetType::COLD, "EfiResetCold"),
    ] {
        // SAFETY: as above.
        if unsafe { read_own_volume(bs, image, trigger, &mut [0u8; 64]) }.is_ok() {
            let _ = writeln!(checks.out, "HVFW-APP: ResetSystem({name})");
            // SAFETY: boot services still run.
            if let Err(why) = unsafe { crate::reset_notify::announce_reset(bs, st.stdout) } {
                let _ = writeln!(checks.out, "HVFW-APP: FAIL reset-notification: {why}");
            }
            // SAFETY: runtime services called as the specification describes.
            unsafe { (rt.reset_system)(kind, status, 0, core::ptr::null()) };
        }
    }
    // A disk that carries \hvfw-watchdog asks for an expired watchdog.
    // SAFETY: as above.
    if unsafe { read_own_volume(bs, image, "\\hvfw-watchdog", &mut [0u8; 64]) }.is_ok() {
        let _ = writeln!(checks.out, "HVFW-APP: arming the watchdog for 1 s");
        // SAFETY: boot services still run.
        unsafe {
            if let Err(why) = crate::reset_notify::announce_reset(bs, st.stdout) {
                let _ = writeln!(checks.out, "HVFW-APP: FAIL reset-notification: {why}");
            }
            let status = crate::watchdog::expire(bs);
            let _ = writeln!(checks.out, "HVFW-APP: FAIL watchdog-expiry: still running ({status:?})");
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
