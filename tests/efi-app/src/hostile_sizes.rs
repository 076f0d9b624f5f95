//! Hostile sizes: services that take a caller's buffer and its size, called
//! with sizes no real buffer has (usize::MAX, which wraps the address space,
//! and 2^60 bytes, more memory than any VM has) next to a real, small buffer,
//! and with the small sizes (0, 1, odd) the specification gives statuses for.
//! The firmware must answer with a status (INVALID_PARAMETER for a buffer that
//! cannot be real) and never write past the real buffer; SetMem and CopyMem,
//! which return nothing, must leave the buffer alone.

use crate::app::{own_partition, read_own_volume};
use crate::hostile::Hostile;
use core::ffi::c_void;
use uefi_raw::protocol::block::BlockIoProtocol;
use uefi_raw::protocol::disk::DiskIoProtocol;
use uefi_raw::protocol::file_system::{FileAttribute, FileMode, FileProtocolV1, SimpleFileSystemProtocol};
use uefi_raw::protocol::rng::RngProtocol;
use uefi_raw::table::boot::{AllocateType, BootServices, MemoryType};
use uefi_raw::table::runtime::{RuntimeServices, VariableAttributes, VariableVendor};
use uefi_raw::{Handle, Status};

/// A size that wraps the address space from any real buffer.
const WRAPS: usize = usize::MAX;
/// A size that does not wrap but is more memory than the machine has.
const HUGE: usize = 1 << 60;

/// Runs the checks.
///
/// # Safety
/// Boot services are running; `image` is the application's handle.
pub(crate) unsafe fn run(h: &mut Hostile, bs: &BootServices, rt: &RuntimeServices, image: Handle) {
    // SAFETY: the caller's contract; every call passes a real buffer of the
    // size the check states, so a firmware that honoured a hostile size would
    // write past it: the canary bytes after each buffer show that.
    unsafe {
        memory(h, bs);
        variables(h, rt);
        misc(h, bs, image);
        disk_and_files(h, bs, image);
    }
}

/// A buffer with canary bytes after its first `len` bytes.
struct Guarded {
    bytes: [u8; 4096],
}

const CANARY: u8 = 0xC5;

impl Guarded {
    fn new() -> Guarded {
        Guarded { bytes: [CANARY; 4096] }
    }
    fn ptr(&mut self) -> *mut c_void {
        self.bytes.as_mut_ptr().cast()
    }
    /// No byte at or after `from` was written.
    fn intact_from(&self, from: usize) -> bool {
        self.bytes[from..].iter().all(|&b| b == CANARY)
    }
}

unsafe fn memory(h: &mut Hostile, bs: &BootServices) {
    // SAFETY: boot services called with real buffers (see `run`).
    unsafe {
        // §7.2 GetMemoryMap(): the map is written only if it fits in
        // *MemoryMapSize bytes; a size no buffer has is refused.
        let (mut key, mut desc_size, mut version) = (0usize, 0usize, 0u32);
        for (name, size) in [("GetMemoryMap-size-max", WRAPS), ("GetMemoryMap-size-2^60", HUGE)] {
            let mut buffer = Guarded::new();
            let mut claimed = size;
            let s = (bs.get_memory_map)(
                &mut claimed,
                buffer.ptr().cast(),
                &mut key,
                &mut desc_size,
                &mut version,
            );
            h.expect(name, s, Status::INVALID_PARAMETER);
            h.expect_that(name, buffer.intact_from(0), "the map was written anyway");
        }
        // Odd and tiny sizes are too small: BUFFER_TOO_SMALL with the size needed.
        let mut buffer = Guarded::new();
        let mut claimed = 1usize;
        let s = (bs.get_memory_map)(
            &mut claimed,
            buffer.ptr().cast(),
            &mut key,
            &mut desc_size,
            &mut version,
        );
        h.expect("GetMemoryMap-size-1", s, Status::BUFFER_TOO_SMALL);
        h.expect_that(
            "GetMemoryMap-size-1-needed",
            claimed > 1 && buffer.intact_from(0),
            "no size needed, or the buffer was written",
        );
        // §7.2 AllocatePool()/AllocatePages(): no memory for impossible sizes.
        let mut pool: *mut u8 = core::ptr::null_mut();
        let s = (bs.allocate_pool)(MemoryType::LOADER_DATA, WRAPS, &mut pool);
        h.expect("AllocatePool-size-max", s, Status::OUT_OF_RESOURCES);
        let s = (bs.allocate_pool)(MemoryType::LOADER_DATA, HUGE, &mut pool);
        h.expect("AllocatePool-size-2^60", s, Status::OUT_OF_RESOURCES);
        let mut address = 0u64;
        let s = (bs.allocate_pages)(AllocateType::ANY_PAGES, MemoryType::LOADER_DATA, WRAPS, &mut address);
        h.expect_one_of(
            "AllocatePages-pages-max",
            s,
            [Status::OUT_OF_RESOURCES, Status::NOT_FOUND],
        );
        let s = (bs.allocate_pages)(
            AllocateType::ANY_PAGES,
            MemoryType::LOADER_DATA,
            HUGE / 4096,
            &mut address,
        );
        h.expect_one_of(
            "AllocatePages-pages-2^48",
            s,
            [Status::OUT_OF_RESOURCES, Status::NOT_FOUND],
        );
    }
}

unsafe fn variables(h: &mut Hostile, rt: &RuntimeServices) {
    let global = &VariableVendor::GLOBAL_VARIABLE.0;
    let boot_current: [u16; 12] = [
        u16::from(b'B'),
        u16::from(b'o'),
        u16::from(b'o'),
        u16::from(b't'),
        u16::from(b'C'),
        u16::from(b'u'),
        u16::from(b'r'),
        u16::from(b'r'),
        u16::from(b'e'),
        u16::from(b'n'),
        u16::from(b't'),
        0,
    ];
    // SAFETY: runtime services called with real buffers (see `run`).
    unsafe {
        // §8.2 GetVariable(): BootCurrent (2 bytes) exists.
        for (name, size) in [("GetVariable-size-max", WRAPS), ("GetVariable-size-2^60", HUGE)] {
            let mut buffer = Guarded::new();
            let mut claimed = size;
            let mut attributes = VariableAttributes::empty();
            let s = (rt.get_variable)(
                boot_current.as_ptr(),
                global,
                &mut attributes,
                &mut claimed,
                buffer.ptr().cast(),
            );
            h.expect(name, s, Status::INVALID_PARAMETER);
            h.expect_that(name, buffer.intact_from(0), "the value was written anyway");
        }
        let mut buffer = Guarded::new();
        let mut claimed = 1usize;
        let s = (rt.get_variable)(
            boot_current.as_ptr(),
            global,
            core::ptr::null_mut(),
            &mut claimed,
            buffer.ptr().cast(),
        );
        h.expect("GetVariable-size-1", s, Status::BUFFER_TOO_SMALL);
        h.expect_that("GetVariable-size-1-needed", claimed == 2, "BootCurrent's size is not 2");
        // §8.2 SetVariable(): a DataSize no buffer has.
        let name: [u16; 8] = [
            u16::from(b'H'),
            u16::from(b'v'),
            u16::from(b'f'),
            u16::from(b'w'),
            u16::from(b'S'),
            u16::from(b'z'),
            0,
            0,
        ];
        let vendor = crate::hostile::HOSTILE_PROTOCOL;
        let attributes = VariableAttributes::BOOTSERVICE_ACCESS;
        let data = [0u8; 16];
        for (label, size) in [("SetVariable-size-max", WRAPS), ("SetVariable-size-2^60", HUGE)] {
            let s = (rt.set_variable)(name.as_ptr(), &vendor, attributes, size, data.as_ptr().cast());
            h.expect_one_of(label, s, [Status::INVALID_PARAMETER, Status::OUT_OF_RESOURCES]);
        }
        // §8.2 GetNextVariableName(): sizes that cannot be real, and an odd
        // size holding the empty name (the search's start).
        for (label, size) in [
            ("GetNextVariableName-size-max", WRAPS),
            ("GetNextVariableName-size-2^60", HUGE),
        ] {
            let mut buffer = [0u16; 64];
            let mut claimed = size;
            let mut vendor = VariableVendor::GLOBAL_VARIABLE.0;
            let s = (rt.get_next_variable_name)(&mut claimed, buffer.as_mut_ptr(), &mut vendor);
            h.expect(label, s, Status::INVALID_PARAMETER);
        }
        let mut buffer = [0u16; 64];
        let mut claimed = 3usize;
        let mut vendor = VariableVendor::GLOBAL_VARIABLE.0;
        let s = (rt.get_next_variable_name)(&mut claimed, buffer.as_mut_ptr(), &mut vendor);
        h.expect("GetNextVariableName-size-3", s, Status::BUFFER_TOO_SMALL);
        h.expect_that(
            "GetNextVariableName-size-3-needed",
            claimed > 3 && claimed.is_multiple_of(2) && buffer[1..].iter().all(|&c| c == 0),
            "an odd or small needed size, or the buffer was written",
        );
    }
}

unsafe fn misc(h: &mut Hostile, bs: &BootServices, parent: Handle) {
    // SAFETY: boot services called with real buffers (see `run`).
    unsafe {
        let mut buffer = Guarded::new();
        let mut crc = 0u32;
        for (name, size) in [("CalculateCrc32-size-max", WRAPS), ("CalculateCrc32-size-2^60", HUGE)] {
            let s = (bs.calculate_crc32)(buffer.ptr(), size, &mut crc);
            h.expect(name, s, Status::INVALID_PARAMETER);
        }
        // §7.5 SetMem()/CopyMem() return nothing: an impossible length must
        // leave memory alone (and the firmware running).
        (bs.set_mem)(buffer.ptr().cast(), WRAPS, 0);
        (bs.set_mem)(buffer.ptr().cast(), HUGE, 0);
        h.expect_that(
            "SetMem-size-max",
            buffer.intact_from(0),
            "SetMem wrote with an impossible length",
        );
        let source = Guarded::new();
        let mut target = Guarded::new();
        target.bytes[0] = 0;
        (bs.copy_mem)(target.ptr().cast(), source.bytes.as_ptr().cast(), WRAPS);
        h.expect_that(
            "CopyMem-size-max",
            target.bytes[0] == 0,
            "CopyMem copied with an impossible length",
        );
        // §7.1 WaitForEvent(): NumberOfEvents no array has.
        let events = [core::ptr::null_mut::<c_void>(); 1];
        let mut index = 0usize;
        let s = (bs.wait_for_event)(WRAPS, events.as_ptr().cast_mut(), &mut index);
        h.expect("WaitForEvent-count-max", s, Status::INVALID_PARAMETER);
        // §7.4 LoadImage(): a SourceSize no buffer has.
        let mut image: Handle = core::ptr::null_mut();
        let s = (bs.load_image)(
            false.into(),
            parent,
            core::ptr::null_mut(),
            buffer.ptr().cast(),
            WRAPS,
            &mut image,
        );
        h.expect_one_of("LoadImage-size-max", s, [Status::INVALID_PARAMETER, Status::LOAD_ERROR]);
    }
}

unsafe fn disk_and_files(h: &mut Hostile, bs: &BootServices, image: Handle) {
    // SAFETY: boot services and protocols called with real buffers (see `run`).
    unsafe {
        let Ok(partition) = own_partition(bs, image) else {
            return h.expect_that("own-partition", false, "no partition");
        };
        let mut disk_io: *mut c_void = core::ptr::null_mut();
        let _ = (bs.handle_protocol)(partition, &DiskIoProtocol::GUID, &mut disk_io);
        let disk_io = disk_io as *const DiskIoProtocol;
        if disk_io.is_null() {
            return h.expect_that("own-disk-io", false, "no DiskIo on the partition");
        }
        let mut block_io: *mut c_void = core::ptr::null_mut();
        let _ = (bs.handle_protocol)(partition, &BlockIoProtocol::GUID, &mut block_io);
        if block_io.is_null() {
            return h.expect_that("own-block-io", false, "no BlockIo on the partition");
        }
        let media = (*(*(block_io as *const BlockIoProtocol)).media).media_id;
        let mut buffer = Guarded::new();
        for (name, size) in [("ReadDisk-size-max", WRAPS), ("ReadDisk-size-2^60", HUGE)] {
            let s = ((*disk_io).read_disk)(disk_io, media, 0, size, buffer.ptr());
            h.expect(name, s, Status::INVALID_PARAMETER);
            h.expect_that(name, buffer.intact_from(0), "ReadDisk wrote anyway");
        }
        // EFI_RNG_PROTOCOL.GetRNG() with a length no buffer has.
        let mut rng: *mut c_void = core::ptr::null_mut();
        if (bs.locate_protocol)(&RngProtocol::GUID, core::ptr::null_mut(), &mut rng) == Status::SUCCESS {
            let rng = rng.cast::<RngProtocol>();
            let s = ((*rng).get_rng)(rng, core::ptr::null_mut(), HUGE, buffer.bytes.as_mut_ptr());
            h.expect("GetRNG-length-2^60", s, Status::INVALID_PARAMETER);
            h.expect_that("GetRNG-length-2^60", buffer.intact_from(0), "GetRNG wrote anyway");
        }
        // EFI_FILE_PROTOCOL.Read() (§13.5.7) of a small file into a claimed
        // 2^60-byte buffer.
        let mut sfs: *mut c_void = core::ptr::null_mut();
        let _ = (bs.handle_protocol)(partition, &SimpleFileSystemProtocol::GUID, &mut sfs);
        let sfs = sfs.cast::<SimpleFileSystemProtocol>();
        let mut root: *mut FileProtocolV1 = core::ptr::null_mut();
        if sfs.is_null() || ((*sfs).open_volume)(sfs, &mut root) != Status::SUCCESS {
            return h.expect_that("own-volume", false, "cannot open the volume");
        }
        let path: [u16; 15] = crate::hostile::utf16("\\hvfw-test.txt");
        let mut file: *mut FileProtocolV1 = core::ptr::null_mut();
        let s = ((*root).open)(root, &mut file, path.as_ptr(), FileMode::READ, FileAttribute::empty());
        if s != Status::SUCCESS {
            return h.expect_that("open-test-file", false, "cannot open \\hvfw-test.txt");
        }
        for (name, size) in [("FileRead-size-max", WRAPS), ("FileRead-size-2^60", HUGE)] {
            let mut claimed = size;
            let s = ((*file).read)(file, &mut claimed, buffer.ptr());
            h.expect(name, s, Status::INVALID_PARAMETER);
            h.expect_that(name, buffer.intact_from(0), "Read wrote anyway");
        }
        let _ = ((*file).close)(file);
        let _ = ((*root).close)(root);
        // The volume still reads as before.
        let mut text = [0u8; 64];
        let read = read_own_volume(bs, image, "\\hvfw-test.txt", &mut text);
        h.expect_that(
            "FileRead-after-hostile-sizes",
            matches!(read, Ok(n) if &text[..n] == b"hello from the ESP\n"),
            "the file no longer reads back",
        );
    }
}
