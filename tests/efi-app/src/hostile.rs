//! Hostile calls: boot and runtime services called with null pointers, bad
//! handles, wrong sizes, closed events and invalid combinations. Each check
//! compares the status with the one the UEFI 2.10 specification names for that
//! misuse and prints `HVFW-HOSTILE: ok NAME` or
//! `HVFW-HOSTILE: FAIL NAME: got X, expected Y`; the run ends with
//! `HVFW-HOSTILE: done, N failed`. The firmware must survive every call: a check
//! that faults stops the run, and the missing `done` line is the finding.
//!
//! Run only when `\hvfw-hostile` is on the application's volume.

use crate::app::Console;
use core::ffi::c_void;
use core::fmt::Write;
use uefi_raw::protocol::console::{InputKey, SimpleTextInputProtocol, SimpleTextOutputProtocol};
use uefi_raw::protocol::loaded_image::LoadedImageProtocol;
use uefi_raw::table::boot::{
    AllocateType, BootServices, EventType, InterfaceType, MemoryDescriptor, MemoryType, TimerDelay, Tpl,
};
use uefi_raw::table::runtime::{RuntimeServices, VariableAttributes, VariableVendor};
use uefi_raw::{guid, Guid, Handle, Status};

/// Installed by the checks only.
pub(crate) const HOSTILE_PROTOCOL: Guid = guid!("3c0f59a2-8d0e-4b1e-a8a4-1f2b7c6d9e01");
/// Installed nowhere.
const UNKNOWN_PROTOCOL: Guid = guid!("9e8d7c6b-5a49-4382-9170-6f5e4d3c2b1a");
/// A non-null value that is no handle or event the firmware gave out.
const BOGUS: usize = 0x1234;
/// The first value above the standard memory types that is still not an OEM
/// or OS type (§7.2.1: EfiMaxMemoryType..0x6FFFFFFF is invalid).
const INVALID_MEMORY_TYPE: u32 = 0x6fff_ffff;

// OpenProtocol attributes (§7.3, OpenProtocol()).
const BY_HANDLE_PROTOCOL: u32 = 0x01;
const GET_PROTOCOL: u32 = 0x02;
const BY_CHILD_CONTROLLER: u32 = 0x08;
const BY_DRIVER: u32 = 0x10;

// EFI_LOCATE_SEARCH_TYPE (§7.3, LocateHandle()).
const BY_PROTOCOL: i32 = 2;

pub(crate) struct Hostile {
    out: Console,
    failed: usize,
}

impl Hostile {
    pub(crate) fn expect(&mut self, name: &str, got: Status, expected: Status) {
        if got == expected {
            let _ = writeln!(self.out, "HVFW-HOSTILE: ok {name}");
        } else {
            self.failed += 1;
            let _ = writeln!(
                self.out,
                "HVFW-HOSTILE: FAIL {name}: got {got:?}, expected {expected:?}"
            );
        }
    }

    /// A misuse for which the specification names more than one status.
    pub(crate) fn expect_one_of(&mut self, name: &str, got: Status, expected: [Status; 2]) {
        if expected.contains(&got) {
            let _ = writeln!(self.out, "HVFW-HOSTILE: ok {name}");
        } else {
            self.failed += 1;
            let _ = writeln!(
                self.out,
                "HVFW-HOSTILE: FAIL {name}: got {got:?}, expected {:?} or {:?}",
                expected[0], expected[1]
            );
        }
    }

    /// A check on something other than a status (an output value).
    pub(crate) fn expect_that(&mut self, name: &str, holds: bool, what: &str) {
        if holds {
            let _ = writeln!(self.out, "HVFW-HOSTILE: ok {name}");
        } else {
            self.failed += 1;
            let _ = writeln!(self.out, "HVFW-HOSTILE: FAIL {name}: {what}");
        }
    }
}

fn bogus<T>() -> *mut T {
    BOGUS as *mut T
}

pub(crate) fn utf16<const N: usize>(s: &str) -> [u16; N] {
    let mut out = [0u16; N];
    for (i, c) in s.encode_utf16().take(N - 1).enumerate() {
        out[i] = c;
    }
    out
}

unsafe extern "efiapi" fn ignore_event(_event: *mut c_void, _context: *mut c_void) {}

/// Memory services, UEFI 2.10 §7.2.
unsafe fn memory(h: &mut Hostile, bs: &BootServices) {
    // SAFETY: every call passes pointers the firmware must check or our own
    // valid locals; none of them hands the firmware memory it may keep.
    unsafe {
        let null: *mut MemoryDescriptor = core::ptr::null_mut();
        let (mut key, mut dsize, mut version) = (0usize, 0usize, 0u32);
        // §7.2.3 GetMemoryMap: INVALID_PARAMETER "MemoryMapSize is NULL".
        let s = (bs.get_memory_map)(core::ptr::null_mut(), null, &mut key, &mut dsize, &mut version);
        h.expect("GetMemoryMap-null-size", s, Status::INVALID_PARAMETER);
        // §7.2.3: BUFFER_TOO_SMALL, "the size needed ... is returned in MemoryMapSize".
        let mut size = 0usize;
        let s = (bs.get_memory_map)(&mut size, null, &mut key, &mut dsize, &mut version);
        h.expect("GetMemoryMap-size-0", s, Status::BUFFER_TOO_SMALL);
        h.expect_that(
            "GetMemoryMap-size-0-sets-size",
            size >= core::mem::size_of::<MemoryDescriptor>(),
            "MemoryMapSize not set to the size needed",
        );

        // §7.2.4 AllocatePool: INVALID_PARAMETER "Buffer is NULL" and
        // "PoolType is in the range EfiMaxMemoryType..0x6FFFFFFF".
        let s = (bs.allocate_pool)(MemoryType::LOADER_DATA, 16, core::ptr::null_mut());
        h.expect("AllocatePool-null-buffer", s, Status::INVALID_PARAMETER);
        let mut pool: *mut u8 = core::ptr::null_mut();
        let s = (bs.allocate_pool)(MemoryType(INVALID_MEMORY_TYPE), 16, &mut pool);
        h.expect("AllocatePool-type-0x6fffffff", s, Status::INVALID_PARAMETER);

        // §7.2.1 AllocatePages: INVALID_PARAMETER "Memory is NULL" and for the
        // invalid type range. For no free pages below MaxAddress the section
        // names two statuses, OUT_OF_RESOURCES "The pages could not be
        // allocated" and NOT_FOUND "The requested pages could not be found";
        // either is the specified answer (EDK II gives OUT_OF_RESOURCES).
        let s = (bs.allocate_pages)(
            AllocateType::ANY_PAGES,
            MemoryType::LOADER_DATA,
            1,
            core::ptr::null_mut(),
        );
        h.expect("AllocatePages-null-memory", s, Status::INVALID_PARAMETER);
        let mut address: u64 = 0;
        let s = (bs.allocate_pages)(
            AllocateType::ANY_PAGES,
            MemoryType(INVALID_MEMORY_TYPE),
            1,
            &mut address,
        );
        h.expect("AllocatePages-type-0x6fffffff", s, Status::INVALID_PARAMETER);
        let mut address: u64 = 0xfff;
        let s = (bs.allocate_pages)(AllocateType::MAX_ADDRESS, MemoryType::LOADER_DATA, 1, &mut address);
        h.expect_one_of(
            "AllocatePages-max-address-below-ram",
            s,
            [Status::OUT_OF_RESOURCES, Status::NOT_FOUND],
        );

        // §7.2.2 FreePages: NOT_FOUND "The requested memory pages were not
        // allocated with AllocatePages()"; INVALID_PARAMETER "Memory is not a
        // page-aligned address or Pages is invalid".
        let s = (bs.free_pages)(0x7f_0000_0000, 1);
        h.expect("FreePages-never-allocated", s, Status::NOT_FOUND);
        let mut page: u64 = 0;
        let s = (bs.allocate_pages)(AllocateType::ANY_PAGES, MemoryType::LOADER_DATA, 1, &mut page);
        h.expect("AllocatePages-one", s, Status::SUCCESS);
        if s == Status::SUCCESS {
            h.expect("FreePages-once", (bs.free_pages)(page, 1), Status::SUCCESS);
            h.expect("FreePages-twice", (bs.free_pages)(page, 1), Status::NOT_FOUND);
        }
        let s = (bs.free_pages)(0x10_0001, 1);
        h.expect("FreePages-unaligned", s, Status::INVALID_PARAMETER);

        // §7.2.5 FreePool: INVALID_PARAMETER "Buffer was invalid".
        let mut on_stack = [0u8; 64];
        let s = (bs.free_pool)(on_stack.as_mut_ptr().add(16));
        h.expect("FreePool-stack-pointer", s, Status::INVALID_PARAMETER);
        let s = (bs.free_pool)(core::ptr::null_mut());
        h.expect("FreePool-null", s, Status::INVALID_PARAMETER);
        // A pointer into the middle of a pool allocation is no pool buffer either.
        let s = (bs.allocate_pool)(MemoryType::LOADER_DATA, 64, &mut pool);
        if s == Status::SUCCESS {
            h.expect(
                "FreePool-interior-pointer",
                (bs.free_pool)(pool.add(8)),
                Status::INVALID_PARAMETER,
            );
            h.expect("FreePool-once", (bs.free_pool)(pool), Status::SUCCESS);
            h.expect("FreePool-twice", (bs.free_pool)(pool), Status::INVALID_PARAMETER);
        }
        core::hint::black_box(&mut on_stack);
    }
}

/// Events and timers, UEFI 2.10 §7.1.
unsafe fn events(h: &mut Hostile, bs: &BootServices) {
    // SAFETY: as in `memory`; the notification function is a valid no-op.
    unsafe {
        let null = core::ptr::null_mut();
        // §7.1 CreateEvent: INVALID_PARAMETER "Event is NULL", "Type has either
        // EVT_NOTIFY_SIGNAL or EVT_NOTIFY_WAIT set and NotifyFunction is NULL",
        // "Type has an unsupported bit set".
        let s = (bs.create_event)(EventType::TIMER, Tpl::APPLICATION, None, null, core::ptr::null_mut());
        h.expect("CreateEvent-null-event", s, Status::INVALID_PARAMETER);
        let mut event: *mut c_void = null;
        let s = (bs.create_event)(EventType::NOTIFY_SIGNAL, Tpl::CALLBACK, None, null, &mut event);
        h.expect("CreateEvent-notify-signal-no-function", s, Status::INVALID_PARAMETER);
        let s = (bs.create_event)(
            EventType::from_bits_retain(0x0000_0001),
            Tpl::CALLBACK,
            None,
            null,
            &mut event,
        );
        h.expect("CreateEvent-unsupported-type-bit", s, Status::INVALID_PARAMETER);
        let s = (bs.create_event)(
            EventType::NOTIFY_SIGNAL | EventType::NOTIFY_WAIT,
            Tpl::CALLBACK,
            Some(ignore_event),
            null,
            &mut event,
        );
        h.expect("CreateEvent-signal-and-wait", s, Status::INVALID_PARAMETER);

        // A closed event is no event any more: §7.1 SetTimer names
        // INVALID_PARAMETER for "Event or Type is not valid"; CloseEvent,
        // SignalEvent, CheckEvent and WaitForEvent take the same status for an
        // event that is not valid.
        let mut event: *mut c_void = null;
        let s = (bs.create_event)(EventType::TIMER, Tpl::APPLICATION, None, null, &mut event);
        h.expect("CreateEvent-timer", s, Status::SUCCESS);
        if s == Status::SUCCESS {
            h.expect("CloseEvent", (bs.close_event)(event), Status::SUCCESS);
            h.expect(
                "SignalEvent-closed",
                (bs.signal_event)(event),
                Status::INVALID_PARAMETER,
            );
            h.expect("CheckEvent-closed", (bs.check_event)(event), Status::INVALID_PARAMETER);
            let s = (bs.set_timer)(event, TimerDelay::RELATIVE, 10_000);
            h.expect("SetTimer-closed", s, Status::INVALID_PARAMETER);
            let mut index = usize::MAX;
            let s = (bs.wait_for_event)(1, &event, &mut index);
            h.expect("WaitForEvent-closed", s, Status::INVALID_PARAMETER);
            h.expect_that(
                "WaitForEvent-closed-index",
                index == 0,
                "Index not set to the bad event",
            );
            h.expect("CloseEvent-closed", (bs.close_event)(event), Status::INVALID_PARAMETER);
        }
        let e = bogus::<c_void>();
        h.expect("SignalEvent-0x1234", (bs.signal_event)(e), Status::INVALID_PARAMETER);
        h.expect("CheckEvent-0x1234", (bs.check_event)(e), Status::INVALID_PARAMETER);
        h.expect("CloseEvent-0x1234", (bs.close_event)(e), Status::INVALID_PARAMETER);
        h.expect("SignalEvent-null", (bs.signal_event)(null), Status::INVALID_PARAMETER);
        h.expect("CheckEvent-null", (bs.check_event)(null), Status::INVALID_PARAMETER);

        // §7.1 CheckEvent: INVALID_PARAMETER "Event is of type EVT_NOTIFY_SIGNAL";
        // WaitForEvent: INVALID_PARAMETER "The event indicated by Index is of
        // type EVT_NOTIFY_SIGNAL" and "NumberOfEvents is 0".
        let mut notify: *mut c_void = null;
        let s = (bs.create_event)(
            EventType::NOTIFY_SIGNAL,
            Tpl::CALLBACK,
            Some(ignore_event),
            null,
            &mut notify,
        );
        h.expect("CreateEvent-notify-signal", s, Status::SUCCESS);
        if s == Status::SUCCESS {
            h.expect(
                "CheckEvent-notify-signal",
                (bs.check_event)(notify),
                Status::INVALID_PARAMETER,
            );
            let mut index = usize::MAX;
            let s = (bs.wait_for_event)(1, &notify, &mut index);
            h.expect("WaitForEvent-notify-signal", s, Status::INVALID_PARAMETER);
            // SetTimer on an event that is not a timer: "Event or Type is not valid".
            let s = (bs.set_timer)(notify, TimerDelay::RELATIVE, 10_000);
            h.expect("SetTimer-not-a-timer", s, Status::INVALID_PARAMETER);
            h.expect("CloseEvent-notify-signal", (bs.close_event)(notify), Status::SUCCESS);
        }
        let mut index = 0usize;
        let s = (bs.wait_for_event)(0, &notify, &mut index);
        h.expect("WaitForEvent-0-events", s, Status::INVALID_PARAMETER);

        let mut timer: *mut c_void = null;
        if (bs.create_event)(EventType::TIMER, Tpl::APPLICATION, None, null, &mut timer) == Status::SUCCESS {
            let s = (bs.set_timer)(timer, TimerDelay(7), 10_000);
            h.expect("SetTimer-type-7", s, Status::INVALID_PARAMETER);
            let _ = (bs.close_event)(timer);
        }
    }
}

/// Protocol handler services, UEFI 2.10 §7.3.
unsafe fn protocols(h: &mut Hostile, bs: &BootServices, image: Handle) {
    // SAFETY: as in `memory`; the installed interface is a static that outlives
    // the installation.
    unsafe {
        static MARKER: u64 = 0x4856_4657;
        static OTHER: u64 = 0;
        let marker = core::ptr::from_ref::<u64>(&MARKER).cast::<c_void>();
        let other = core::ptr::from_ref::<u64>(&OTHER).cast::<c_void>();
        let null = core::ptr::null_mut();
        let mut found: *mut c_void = null;

        // §7.3 HandleProtocol(): INVALID_PARAMETER "Handle is NULL",
        // "Protocol is NULL", "Interface is NULL"; UNSUPPORTED "The device does
        // not support the specified protocol". A handle the firmware never gave
        // out is no handle (§7.3: handles are created by InstallProtocolInterface()).
        let s = (bs.handle_protocol)(null, &LoadedImageProtocol::GUID, &mut found);
        h.expect("HandleProtocol-null-handle", s, Status::INVALID_PARAMETER);
        let s = (bs.handle_protocol)(bogus(), &LoadedImageProtocol::GUID, &mut found);
        h.expect("HandleProtocol-handle-0x1234", s, Status::INVALID_PARAMETER);
        let s = (bs.handle_protocol)(image, core::ptr::null(), &mut found);
        h.expect("HandleProtocol-null-guid", s, Status::INVALID_PARAMETER);
        let s = (bs.handle_protocol)(image, &LoadedImageProtocol::GUID, core::ptr::null_mut());
        h.expect("HandleProtocol-null-interface", s, Status::INVALID_PARAMETER);
        let s = (bs.handle_protocol)(image, &UNKNOWN_PROTOCOL, &mut found);
        h.expect("HandleProtocol-unknown-guid", s, Status::UNSUPPORTED);

        // §7.3 InstallProtocolInterface(): INVALID_PARAMETER "Handle is NULL",
        // "Protocol is NULL", "InterfaceType is not EFI_NATIVE_INTERFACE",
        // "Protocol is already installed on the handle specified by Handle".
        let s = (bs.install_protocol_interface)(
            core::ptr::null_mut(),
            &HOSTILE_PROTOCOL,
            InterfaceType::NATIVE_INTERFACE,
            marker,
        );
        h.expect("InstallProtocolInterface-null-handle", s, Status::INVALID_PARAMETER);
        let mut handle: Handle = null;
        let s =
            (bs.install_protocol_interface)(&mut handle, core::ptr::null(), InterfaceType::NATIVE_INTERFACE, marker);
        h.expect("InstallProtocolInterface-null-guid", s, Status::INVALID_PARAMETER);
        let mut handle: Handle = null;
        let s = (bs.install_protocol_interface)(&mut handle, &HOSTILE_PROTOCOL, InterfaceType(1), marker);
        h.expect(
            "InstallProtocolInterface-interface-type-1",
            s,
            Status::INVALID_PARAMETER,
        );
        let mut handle: Handle = null;
        let s =
            (bs.install_protocol_interface)(&mut handle, &HOSTILE_PROTOCOL, InterfaceType::NATIVE_INTERFACE, marker);
        h.expect("InstallProtocolInterface-new-handle", s, Status::SUCCESS);
        if s == Status::SUCCESS {
            let mut again = handle;
            let s =
                (bs.install_protocol_interface)(&mut again, &HOSTILE_PROTOCOL, InterfaceType::NATIVE_INTERFACE, other);
            h.expect("InstallProtocolInterface-twice", s, Status::INVALID_PARAMETER);
            // §7.3 UninstallProtocolInterface(): NOT_FOUND "The interface was not found".
            let s = (bs.uninstall_protocol_interface)(handle, &UNKNOWN_PROTOCOL, marker);
            h.expect("UninstallProtocolInterface-not-installed", s, Status::NOT_FOUND);
            let s = (bs.uninstall_protocol_interface)(handle, &HOSTILE_PROTOCOL, other);
            h.expect("UninstallProtocolInterface-other-interface", s, Status::NOT_FOUND);

            // §7.3 OpenProtocol(): INVALID_PARAMETER "Attributes is not a legal
            // value", "Attributes is BY_CHILD_CONTROLLER and ControllerHandle is
            // NULL", "Attributes is BY_DRIVER and AgentHandle is NULL" (or not a
            // valid handle), "Interface is NULL and Attributes is not TEST_PROTOCOL".
            let open = |attributes: u32, agent: Handle, controller: Handle, out: *mut *mut c_void| {
                (bs.open_protocol)(handle, &HOSTILE_PROTOCOL, out, agent, controller, attributes)
            };
            for (name, attributes) in [
                ("OpenProtocol-attributes-0", 0u32),
                ("OpenProtocol-attributes-0x40", 0x40),
                (
                    "OpenProtocol-attributes-handle-and-get",
                    BY_HANDLE_PROTOCOL | GET_PROTOCOL,
                ),
            ] {
                let s = open(attributes, image, null, &mut found);
                h.expect(name, s, Status::INVALID_PARAMETER);
            }
            let s = open(BY_CHILD_CONTROLLER, image, null, &mut found);
            h.expect("OpenProtocol-by-child-no-controller", s, Status::INVALID_PARAMETER);
            let s = open(BY_DRIVER, null, image, &mut found);
            h.expect("OpenProtocol-by-driver-null-agent", s, Status::INVALID_PARAMETER);
            let s = open(GET_PROTOCOL, image, null, core::ptr::null_mut());
            h.expect("OpenProtocol-get-null-interface", s, Status::INVALID_PARAMETER);
            let s = (bs.open_protocol)(bogus(), &HOSTILE_PROTOCOL, &mut found, image, null, GET_PROTOCOL);
            h.expect("OpenProtocol-handle-0x1234", s, Status::INVALID_PARAMETER);

            let s = (bs.uninstall_protocol_interface)(handle, &HOSTILE_PROTOCOL, marker);
            h.expect("UninstallProtocolInterface-last", s, Status::SUCCESS);
            if s == Status::SUCCESS {
                // §7.3 UninstallProtocolInterface(): removing the last
                // interface frees the handle; it is no longer a valid handle
                // for any service.
                let s = (bs.handle_protocol)(handle, &HOSTILE_PROTOCOL, &mut found);
                h.expect("HandleProtocol-freed-handle", s, Status::INVALID_PARAMETER);
                let s = (bs.uninstall_protocol_interface)(handle, &HOSTILE_PROTOCOL, marker);
                h.expect("UninstallProtocolInterface-freed-handle", s, Status::INVALID_PARAMETER);
                let mut stale = handle;
                let s = (bs.install_protocol_interface)(
                    &mut stale,
                    &HOSTILE_PROTOCOL,
                    InterfaceType::NATIVE_INTERFACE,
                    marker,
                );
                h.expect("InstallProtocolInterface-freed-handle", s, Status::INVALID_PARAMETER);
                if s == Status::SUCCESS {
                    let _ = (bs.uninstall_protocol_interface)(stale, &HOSTILE_PROTOCOL, marker);
                }
                let mut guids: *mut *const Guid = core::ptr::null_mut();
                let mut count = 0usize;
                let s = (bs.protocols_per_handle)(handle, &mut guids, &mut count);
                h.expect("ProtocolsPerHandle-freed-handle", s, Status::INVALID_PARAMETER);
            }
        }

        // §7.3 LocateHandle(): INVALID_PARAMETER "SearchType is not a member of
        // EFI_LOCATE_SEARCH_TYPE", "SearchType is ByProtocol and Protocol is
        // NULL"; BUFFER_TOO_SMALL with BufferSize set; NOT_FOUND "No handles
        // match the search".
        let mut size = 0usize;
        let mut handles = [null; 4];
        let s = (bs.locate_handle)(
            99,
            core::ptr::null(),
            core::ptr::null(),
            &mut size,
            handles.as_mut_ptr(),
        );
        h.expect("LocateHandle-search-type-99", s, Status::INVALID_PARAMETER);
        size = 0;
        let s = (bs.locate_handle)(
            BY_PROTOCOL,
            core::ptr::null(),
            core::ptr::null(),
            &mut size,
            handles.as_mut_ptr(),
        );
        h.expect("LocateHandle-by-protocol-null-guid", s, Status::INVALID_PARAMETER);
        size = 0;
        let s = (bs.locate_handle)(
            BY_PROTOCOL,
            &LoadedImageProtocol::GUID,
            core::ptr::null(),
            &mut size,
            handles.as_mut_ptr(),
        );
        h.expect("LocateHandle-size-0", s, Status::BUFFER_TOO_SMALL);
        h.expect_that(
            "LocateHandle-size-0-sets-size",
            size >= core::mem::size_of::<Handle>(),
            "BufferSize not set to the size needed",
        );
        size = core::mem::size_of_val(&handles);
        let s = (bs.locate_handle)(
            BY_PROTOCOL,
            &UNKNOWN_PROTOCOL,
            core::ptr::null(),
            &mut size,
            handles.as_mut_ptr(),
        );
        h.expect("LocateHandle-unknown-guid", s, Status::NOT_FOUND);
        // §7.3 LocateHandleBuffer(): the same search types.
        let mut count = 0usize;
        let mut buffer: *mut Handle = core::ptr::null_mut();
        let s = (bs.locate_handle_buffer)(99, core::ptr::null(), core::ptr::null(), &mut count, &mut buffer);
        h.expect("LocateHandleBuffer-search-type-99", s, Status::INVALID_PARAMETER);
        let s = (bs.locate_handle_buffer)(
            BY_PROTOCOL,
            &UNKNOWN_PROTOCOL,
            core::ptr::null(),
            &mut count,
            &mut buffer,
        );
        h.expect("LocateHandleBuffer-unknown-guid", s, Status::NOT_FOUND);
        // §7.3 LocateProtocol(): NOT_FOUND, INVALID_PARAMETER "Interface is NULL".
        let s = (bs.locate_protocol)(&UNKNOWN_PROTOCOL, core::ptr::null(), &mut found);
        h.expect("LocateProtocol-unknown-guid", s, Status::NOT_FOUND);
        let s = (bs.locate_protocol)(&LoadedImageProtocol::GUID, core::ptr::null(), core::ptr::null_mut());
        h.expect("LocateProtocol-null-interface", s, Status::INVALID_PARAMETER);
    }
}

/// Image services, UEFI 2.10 §7.4.
unsafe fn images(h: &mut Hostile, bs: &BootServices, image: Handle) {
    // SAFETY: as in `memory`.
    unsafe {
        let null = core::ptr::null_mut();
        // §7.4.1 LoadImage: LOAD_ERROR "Image was not loaded because the image
        // format was corrupt or not understood"; NOT_FOUND "Both SourceBuffer
        // and DevicePath are NULL"; INVALID_PARAMETER "ImageHandle is NULL" and
        // "ParentImageHandle is NULL".
        let text = *b"this buffer is plain text and no PE/COFF image at all. ...........";
        let mut child: Handle = null;
        let s = (bs.load_image)(
            uefi_raw::Boolean::FALSE,
            image,
            core::ptr::null(),
            text.as_ptr(),
            text.len(),
            &mut child,
        );
        h.expect("LoadImage-not-a-pe-file", s, Status::LOAD_ERROR);
        let mut mz = [0u8; 512];
        mz[0] = b'M';
        mz[1] = b'Z';
        mz[0x3c] = 0xf0; // e_lfanew past the buffer
        mz[0x3d] = 0xff;
        let s = (bs.load_image)(
            uefi_raw::Boolean::FALSE,
            image,
            core::ptr::null(),
            mz.as_ptr(),
            mz.len(),
            &mut child,
        );
        h.expect("LoadImage-mz-with-bad-lfanew", s, Status::LOAD_ERROR);
        let s = (bs.load_image)(
            uefi_raw::Boolean::FALSE,
            image,
            core::ptr::null(),
            core::ptr::null(),
            0,
            &mut child,
        );
        h.expect("LoadImage-no-source", s, Status::NOT_FOUND);
        let s = (bs.load_image)(
            uefi_raw::Boolean::FALSE,
            image,
            core::ptr::null(),
            text.as_ptr(),
            text.len(),
            core::ptr::null_mut(),
        );
        h.expect("LoadImage-null-image-handle", s, Status::INVALID_PARAMETER);
        let s = (bs.load_image)(
            uefi_raw::Boolean::FALSE,
            null,
            core::ptr::null(),
            text.as_ptr(),
            text.len(),
            &mut child,
        );
        h.expect("LoadImage-null-parent", s, Status::INVALID_PARAMETER);

        // §7.4.2 StartImage: INVALID_PARAMETER "ImageHandle is either an
        // invalid image handle or the image has already been initialized".
        let s = (bs.start_image)(bogus(), core::ptr::null_mut(), core::ptr::null_mut());
        h.expect("StartImage-handle-0x1234", s, Status::INVALID_PARAMETER);
        let s = (bs.start_image)(null, core::ptr::null_mut(), core::ptr::null_mut());
        h.expect("StartImage-null-handle", s, Status::INVALID_PARAMETER);
        // The running image has been started already.
        let s = (bs.start_image)(image, core::ptr::null_mut(), core::ptr::null_mut());
        h.expect("StartImage-running-image", s, Status::INVALID_PARAMETER);
        // §7.4.3 UnloadImage: INVALID_PARAMETER "ImageHandle is not a valid image handle".
        let s = (bs.unload_image)(bogus());
        h.expect("UnloadImage-handle-0x1234", s, Status::INVALID_PARAMETER);

        // §7.4.5 Exit: INVALID_PARAMETER when ImageHandle is not the image
        // that is running (a handle that is no image at all is such a handle).
        let s = (bs.exit)(bogus(), Status::ABORTED, 0, core::ptr::null_mut());
        h.expect("Exit-handle-0x1234", s, Status::INVALID_PARAMETER);
        let s = (bs.exit)(null, Status::ABORTED, 0, core::ptr::null_mut());
        h.expect("Exit-null-handle", s, Status::INVALID_PARAMETER);
    }
}

/// Variable services, UEFI 2.10 §8.2.
unsafe fn variables(h: &mut Hostile, rt: &RuntimeServices) {
    // SAFETY: runtime services called with our own buffers or null pointers.
    unsafe {
        let global = &VariableVendor::GLOBAL_VARIABLE.0;
        let secure_boot: [u16; 32] = utf16("SecureBoot");
        let missing: [u16; 32] = utf16("HvfwNoSuchVariable");
        let mut attributes = VariableAttributes::empty();
        let mut data = [0u8; 16];

        // §8.2.1 GetVariable: BUFFER_TOO_SMALL "The DataSize is too small for
        // the result. DataSize has been updated with the size needed".
        let mut size = 0usize;
        let s = (rt.get_variable)(
            secure_boot.as_ptr(),
            global,
            &mut attributes,
            &mut size,
            data.as_mut_ptr(),
        );
        h.expect("GetVariable-size-0", s, Status::BUFFER_TOO_SMALL);
        h.expect_that("GetVariable-size-0-sets-size", size == 1, "DataSize not set to 1");
        // §8.2.1: Attributes "is set on output both when EFI_SUCCESS and when
        // EFI_BUFFER_TOO_SMALL is returned".
        h.expect_that(
            "GetVariable-size-0-sets-attributes",
            attributes == VariableAttributes::BOOTSERVICE_ACCESS | VariableAttributes::RUNTIME_ACCESS,
            "Attributes not set with EFI_BUFFER_TOO_SMALL",
        );
        // NOT_FOUND "The variable was not found"; INVALID_PARAMETER
        // "VariableName is NULL", "DataSize is NULL".
        let mut size = data.len();
        let s = (rt.get_variable)(missing.as_ptr(), global, &mut attributes, &mut size, data.as_mut_ptr());
        h.expect("GetVariable-missing", s, Status::NOT_FOUND);
        let s = (rt.get_variable)(core::ptr::null(), global, &mut attributes, &mut size, data.as_mut_ptr());
        h.expect("GetVariable-null-name", s, Status::INVALID_PARAMETER);
        let s = (rt.get_variable)(
            secure_boot.as_ptr(),
            core::ptr::null(),
            &mut attributes,
            &mut size,
            data.as_mut_ptr(),
        );
        h.expect("GetVariable-null-guid", s, Status::INVALID_PARAMETER);
        let s = (rt.get_variable)(
            secure_boot.as_ptr(),
            global,
            &mut attributes,
            core::ptr::null_mut(),
            data.as_mut_ptr(),
        );
        h.expect("GetVariable-null-size", s, Status::INVALID_PARAMETER);

        // §8.2.4 QueryVariableInfo: the real numbers for valid attributes;
        // INVALID_PARAMETER for an invalid combination (none of the access
        // bits, RUNTIME_ACCESS without BOOTSERVICE_ACCESS); UNSUPPORTED for
        // hardware error records, which this firmware does not keep.
        let (mut maximum, mut remaining, mut largest) = (0u64, 0u64, 0u64);
        let nv_bs_rt = VariableAttributes::NON_VOLATILE
            | VariableAttributes::BOOTSERVICE_ACCESS
            | VariableAttributes::RUNTIME_ACCESS;
        let s = (rt.query_variable_info)(nv_bs_rt, &mut maximum, &mut remaining, &mut largest);
        h.expect("QueryVariableInfo-nv-bs-rt", s, Status::SUCCESS);
        h.expect_that(
            "QueryVariableInfo-numbers",
            maximum > 0 && remaining <= maximum && largest > 0,
            "storage numbers are not consistent",
        );
        for (name, attributes) in [
            ("QueryVariableInfo-no-access-bits", VariableAttributes::empty()),
            ("QueryVariableInfo-rt-without-bs", VariableAttributes::RUNTIME_ACCESS),
        ] {
            let s = (rt.query_variable_info)(attributes, &mut maximum, &mut remaining, &mut largest);
            h.expect(name, s, Status::INVALID_PARAMETER);
        }
        let s = (rt.query_variable_info)(
            nv_bs_rt | VariableAttributes::HARDWARE_ERROR_RECORD,
            &mut maximum,
            &mut remaining,
            &mut largest,
        );
        h.expect("QueryVariableInfo-hardware-error-record", s, Status::UNSUPPORTED);

        // §8.2.3 SetVariable: INVALID_PARAMETER "An invalid combination of
        // attribute bits ... was supplied" (RUNTIME_ACCESS requires
        // BOOTSERVICE_ACCESS); "VariableName is an empty string".
        let own: [u16; 32] = utf16("HvfwHostileVar");
        let s = (rt.set_variable)(
            own.as_ptr(),
            &HOSTILE_PROTOCOL,
            VariableAttributes::RUNTIME_ACCESS,
            4,
            b"nope".as_ptr(),
        );
        h.expect("SetVariable-runtime-without-bootservice", s, Status::INVALID_PARAMETER);
        let empty = [0u16; 2];
        let s = (rt.set_variable)(
            empty.as_ptr(),
            &HOSTILE_PROTOCOL,
            VariableAttributes::BOOTSERVICE_ACCESS,
            4,
            b"nope".as_ptr(),
        );
        h.expect("SetVariable-empty-name", s, Status::INVALID_PARAMETER);

        // §8.2.2 GetNextVariableName: INVALID_PARAMETER "The input values of
        // VariableName and VendorGuid are not a name and GUID of an existing
        // variable", "VariableName is NULL"; BUFFER_TOO_SMALL with the size set.
        let mut name: [u16; 64] = utf16("HvfwNoSuchVariable");
        let mut vendor = HOSTILE_PROTOCOL;
        let mut size = core::mem::size_of_val(&name);
        let s = (rt.get_next_variable_name)(&mut size, name.as_mut_ptr(), &mut vendor);
        h.expect("GetNextVariableName-missing-name", s, Status::INVALID_PARAMETER);
        let mut first = [0u16; 1];
        let mut size = core::mem::size_of_val(&first);
        let s = (rt.get_next_variable_name)(&mut size, first.as_mut_ptr(), &mut vendor);
        h.expect("GetNextVariableName-size-2", s, Status::BUFFER_TOO_SMALL);
        h.expect_that(
            "GetNextVariableName-size-2-sets-size",
            size > 2,
            "VariableNameSize not updated",
        );
        let s = (rt.get_next_variable_name)(&mut size, core::ptr::null_mut(), &mut vendor);
        h.expect("GetNextVariableName-null-name", s, Status::INVALID_PARAMETER);
    }
}

/// Time services, UEFI 2.10 §8.3.
unsafe fn time(h: &mut Hostile, rt: &RuntimeServices) {
    // SAFETY: as in `variables`.
    unsafe {
        // §8.3.1 GetTime: INVALID_PARAMETER "Time is NULL".
        let s = (rt.get_time)(core::ptr::null_mut(), core::ptr::null_mut());
        h.expect("GetTime-null", s, Status::INVALID_PARAMETER);
        let mut now: uefi_raw::time::Time = core::mem::zeroed();
        if (rt.get_time)(&mut now, core::ptr::null_mut()) == Status::SUCCESS {
            // §8.3.2 SetTime: INVALID_PARAMETER "A time field is out of range".
            let mut bad = now;
            bad.month = 13;
            h.expect("SetTime-month-13", (rt.set_time)(&bad), Status::INVALID_PARAMETER);
            let mut bad = now;
            bad.day = 0;
            h.expect("SetTime-day-0", (rt.set_time)(&bad), Status::INVALID_PARAMETER);
            let mut bad = now;
            bad.nanosecond = 1_000_000_000;
            h.expect("SetTime-nanosecond-1e9", (rt.set_time)(&bad), Status::INVALID_PARAMETER);
        } else {
            h.expect_that("GetTime", false, "GetTime failed");
        }
        h.expect(
            "SetTime-null",
            (rt.set_time)(core::ptr::null()),
            Status::INVALID_PARAMETER,
        );
    }
}

/// Console protocols, UEFI 2.10 §12.3 and §12.4.
unsafe fn console(h: &mut Hostile, stdin: *mut SimpleTextInputProtocol, stdout: *mut SimpleTextOutputProtocol) {
    // SAFETY: ConIn and ConOut from the system table, with our own locals.
    unsafe {
        let mode = (*(*stdout).mode).mode;
        let (mut columns, mut rows) = (0usize, 0usize);
        let s = ((*stdout).query_mode)(stdout, mode as usize, &mut columns, &mut rows);
        h.expect("QueryMode-current", s, Status::SUCCESS);
        // §12.4 SetCursorPosition: UNSUPPORTED "the cursor position is invalid
        // for the current mode".
        let s = ((*stdout).set_cursor_position)(stdout, columns, rows);
        h.expect("SetCursorPosition-past-screen", s, Status::UNSUPPORTED);
        let s = ((*stdout).set_cursor_position)(stdout, usize::MAX, 0);
        h.expect("SetCursorPosition-column-max", s, Status::UNSUPPORTED);
        // §12.4 QueryMode/SetMode: UNSUPPORTED "ModeNumber ... not supported".
        let max = (*(*stdout).mode).max_mode as usize;
        let s = ((*stdout).query_mode)(stdout, max, &mut columns, &mut rows);
        h.expect("QueryMode-max-mode", s, Status::UNSUPPORTED);
        let s = ((*stdout).set_mode)(stdout, max);
        h.expect("SetMode-max-mode", s, Status::UNSUPPORTED);
        // §12.3 ReadKeyStroke: NOT_READY "There was no keystroke data available".
        let mut key = InputKey::default();
        let s = ((*stdin).read_key_stroke)(stdin, &mut key);
        h.expect("ReadKeyStroke-no-key", s, Status::NOT_READY);
    }
}

/// Miscellaneous services, UEFI 2.10 §7.5.
unsafe fn misc(h: &mut Hostile, bs: &BootServices) {
    // SAFETY: as in `memory`.
    unsafe {
        // §7.5 CalculateCrc32(): INVALID_PARAMETER "DataSize is 0", "Data is NULL", "Crc32 is NULL".
        let data = [1u8; 8];
        let mut crc = 0u32;
        let s = (bs.calculate_crc32)(data.as_ptr().cast::<c_void>(), 0, &mut crc);
        h.expect("CalculateCrc32-size-0", s, Status::INVALID_PARAMETER);
        let s = (bs.calculate_crc32)(data.as_ptr().cast::<c_void>(), 8, core::ptr::null_mut());
        h.expect("CalculateCrc32-null-crc", s, Status::INVALID_PARAMETER);
        // §7.5 GetNextMonotonicCount(): INVALID_PARAMETER "Count is NULL".
        let s = (bs.get_next_monotonic_count)(core::ptr::null_mut());
        h.expect("GetNextMonotonicCount-null", s, Status::INVALID_PARAMETER);
        // §7.5 InstallConfigurationTable(): NOT_FOUND "An attempt was made to
        // delete a nonexistent entry"; INVALID_PARAMETER "Guid is NULL".
        let s = (bs.install_configuration_table)(&UNKNOWN_PROTOCOL, core::ptr::null());
        h.expect("InstallConfigurationTable-delete-missing", s, Status::NOT_FOUND);
        let s = (bs.install_configuration_table)(core::ptr::null(), core::ptr::null());
        h.expect("InstallConfigurationTable-null-guid", s, Status::INVALID_PARAMETER);
    }
}

/// Runs every hostile check and prints the summary line.
///
/// # Safety
/// `st` is the system table the firmware passed to `efi_main`, and boot
/// services are still running.
pub unsafe fn run(image: Handle, st: &uefi_raw::table::system::SystemTable) -> usize {
    let mut h = Hostile {
        out: Console(st.stdout),
        failed: 0,
    };
    let _ = writeln!(h.out, "HVFW-HOSTILE: started");
    // SAFETY: the caller's contract: the tables are valid.
    unsafe {
        let (bs, rt) = (&*st.boot_services, &*st.runtime_services);
        memory(&mut h, bs);
        events(&mut h, bs);
        protocols(&mut h, bs, image);
        images(&mut h, bs, image);
        variables(&mut h, rt);
        time(&mut h, rt);
        console(&mut h, st.stdin, st.stdout);
        misc(&mut h, bs);
        crate::hostile_sizes::run(&mut h, bs, rt, image);
    }
    let _ = writeln!(h.out, "HVFW-HOSTILE: done, {} failed", h.failed);
    h.failed
}
