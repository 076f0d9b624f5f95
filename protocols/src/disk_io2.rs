//! `EFI_DISK_IO2_PROTOCOL` (UEFI 2.10 §13.8) beside each DiskIo: the same
//! byte-addressed access, with an optional token. Requests complete before the
//! call returns (the firmware has no interrupts, DESIGN.md); with a token that
//! names an event, the outcome goes into `TransactionStatus` and the event is
//! signalled, as for a request that completed at once. Bad arguments are
//! refused with the call's status and the event is not signalled.
#![deny(unsafe_op_in_unsafe_fn)]

use crate::block_io::BlockIoDevice;
use crate::disk_io::{check_range, read_disk, write_disk};
use crate::instances::Instances;
use crate::storage_error::{status, Error};
use alloc::boxed::Box;
use core::cell::UnsafeCell;
use core::ffi::c_void;
use fw_core::caller_buffer;
use fw_drivers::block::BlockDevice;
use r_efi::efi::{Event, Status};
use r_efi::protocols::disk_io2::{self, Token};

/// EFI_DISK_IO2_TOKEN as §13.8.3 lays it out (r-efi keeps its fields private).
#[repr(C)]
struct RawToken {
    event: Event,
    transaction_status: Status,
}

const _: () = assert!(core::mem::size_of::<RawToken>() == core::mem::size_of::<Token>());

/// Signals an event, as the boot service SignalEvent does.
pub type SignalEvent = fn(Event) -> Status;

/// SignalEvent of the firmware's boot services.
pub fn boot_services_signal(event: Event) -> Status {
    fw_core::efi::boot::signal_event(event)
}

/// Every instance created here (never freed).
static INSTANCES: Instances<DiskIo2Device> = Instances::new();

/// One DiskIo2 instance over a BlockIo instance's device.
#[repr(C)]
pub struct DiskIo2Device {
    protocol: UnsafeCell<disk_io2::Protocol>,
    block_io: &'static BlockIoDevice,
    signal: SignalEvent,
}

// SAFETY: the protocol struct is written only in `create`, before the instance
// is shared; the BlockIo instance is Sync.
unsafe impl Send for DiskIo2Device {}
// SAFETY: as above.
unsafe impl Sync for DiskIo2Device {}

impl DiskIo2Device {
    /// Creates the instance for `block_io`'s device and leaks it; `signal`
    /// completes tokens that carry an event. Install it on the BlockIo's handle.
    pub fn create(block_io: &'static BlockIoDevice, signal: SignalEvent) -> &'static DiskIo2Device {
        let instance = Box::leak(Box::new(DiskIo2Device {
            protocol: UnsafeCell::new(disk_io2::Protocol {
                revision: disk_io2::REVISION,
                cancel,
                read_disk_ex: transfer_ex::<READ>,
                write_disk_ex: transfer_ex::<WRITE>,
                flush_disk_ex,
            }),
            block_io,
            signal,
        }));
        INSTANCES.register(instance);
        instance
    }

    /// The `EFI_DISK_IO2_PROTOCOL` to install.
    pub fn protocol(&self) -> *mut disk_io2::Protocol {
        self.protocol.get()
    }

    /// ReadDiskEx's and WriteDiskEx's checks, in the specification's order
    /// (§13.8.3, §13.8.4): the media, a NULL buffer, a read-only device for
    /// writes, the range; the device to use.
    fn check_request(
        &self,
        media_id: u32,
        offset: u64,
        buffer_size: usize,
        buffer_is_null: bool,
        write: bool,
    ) -> Result<&dyn BlockDevice, Error> {
        self.block_io.check_media(media_id)?;
        let device = self.block_io.device().as_ref();
        if buffer_is_null {
            return Err(Error::NullBuffer);
        }
        if write && device.read_only() {
            return Err(Error::WriteProtected);
        }
        check_range(device, offset, buffer_size)?;
        Ok(device)
    }

    /// Hands the outcome of a request that passed its checks to the caller:
    /// returned directly without an event, else through the token.
    ///
    /// # Safety
    /// `token` is null or points at a writable EFI_DISK_IO2_TOKEN (§13.8.3).
    unsafe fn complete(&self, token: *mut Token, service: &str, result: Result<(), Error>) -> Status {
        let status = status(result, service);
        // SAFETY: the caller's token, checked non-null and aligned by `event_of`.
        match unsafe { event_of(token) } {
            None => status,
            Some(event) => {
                // SAFETY: as above; the token has RawToken's layout.
                unsafe { (*token.cast::<RawToken>()).transaction_status = status };
                let signalled = (self.signal)(event);
                if signalled != Status::SUCCESS {
                    log::debug!("disk io2: {service}: cannot signal the token's event: {signalled:?}");
                }
                Status::SUCCESS
            }
        }
    }
}

/// The token's event, if the request is a non-blocking one.
///
/// # Safety
/// `token` is null or points at a readable EFI_DISK_IO2_TOKEN.
unsafe fn event_of(token: *mut Token) -> Option<Event> {
    if token.is_null() || !token.is_aligned() {
        return None;
    }
    // SAFETY: non-null and aligned; the caller's token, laid out as RawToken.
    let event = unsafe { (*token.cast::<RawToken>()).event };
    (!event.is_null()).then_some(event)
}

fn instance(this: *mut disk_io2::Protocol) -> Option<&'static DiskIo2Device> {
    INSTANCES.find(this)
}

fn refused(service: &str, error: Error) -> Status {
    status(Err(error), service)
}

unsafe extern "efiapi" fn cancel(this: *mut disk_io2::Protocol) -> Status {
    // Requests complete before they return: none is ever outstanding.
    match instance(this) {
        Some(_) => Status::SUCCESS,
        None => Status::INVALID_PARAMETER,
    }
}

/// Whether a transfer writes the disk, as [`transfer_ex`]'s const parameter.
const READ: bool = false;
const WRITE: bool = true;

/// ReadDiskEx and WriteDiskEx (§13.8.3, §13.8.4): the checks, then the bytes
/// move between the disk and the caller's buffer, and the token completes.
unsafe extern "efiapi" fn transfer_ex<const WRITE: bool>(
    this: *mut disk_io2::Protocol,
    media_id: u32,
    offset: u64,
    token: *mut Token,
    buffer_size: usize,
    buffer: *mut c_void,
) -> Status {
    let service = if WRITE { "WriteDiskEx" } else { "ReadDiskEx" };
    let Some(disk) = instance(this) else {
        return Status::INVALID_PARAMETER;
    };
    let device = match disk.check_request(media_id, offset, buffer_size, buffer.is_null(), WRITE) {
        Ok(device) => device,
        Err(error) => return refused(service, error),
    };
    let result = if WRITE {
        // SAFETY: the caller provides `buffer_size` readable bytes (§13.8.4);
        // the claim is checked first.
        match unsafe { caller_buffer::slice(buffer.cast::<u8>(), buffer_size) } {
            Err(e) => return refused(service, Error::Buffer(e)),
            Ok(buffer) => write_disk(device, offset, buffer),
        }
    } else {
        // SAFETY: the caller provides `buffer_size` writable bytes (§13.8.3);
        // the claim is checked first.
        match unsafe { caller_buffer::slice_mut(buffer.cast::<u8>(), buffer_size) } {
            Err(e) => return refused(service, Error::Buffer(e)),
            Ok(buffer) => read_disk(device, offset, buffer),
        }
    };
    // SAFETY: the caller's token.
    unsafe { disk.complete(token, service, result) }
}

unsafe extern "efiapi" fn flush_disk_ex(this: *mut disk_io2::Protocol, token: *mut Token) -> Status {
    let Some(disk) = instance(this) else {
        return Status::INVALID_PARAMETER;
    };
    let result = disk.block_io.device().flush().map_err(Error::Device);
    // SAFETY: the caller's token (§13.8.5).
    unsafe { disk.complete(token, "FlushDiskEx", result) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::block_io::tests::patterned_disk;
    use crate::block_io::MEDIA_ID;
    use alloc::sync::Arc;
    use core::sync::atomic::{AtomicUsize, Ordering};
    use fw_drivers::block::MemoryDisk;
    use std::vec;

    std::thread_local! {
        /// The last event signalled on this thread (tests run in parallel).
        static SIGNALLED: AtomicUsize = const { AtomicUsize::new(0) };
    }

    fn record_signal(event: Event) -> Status {
        SIGNALLED.with(|s| s.store(event as usize, Ordering::SeqCst));
        Status::SUCCESS
    }

    fn take_signalled() -> usize {
        SIGNALLED.with(|s| s.swap(0, Ordering::SeqCst))
    }

    fn setup(read_only: bool) -> (*mut disk_io2::Protocol, Vec<u8>) {
        let data = patterned_disk(16, 512);
        let mut disk = MemoryDisk::new(data.clone(), 512);
        if read_only {
            disk = disk.read_only();
        }
        let block_io = BlockIoDevice::create(Arc::new(disk), false);
        (DiskIo2Device::create(block_io, record_signal).protocol(), data)
    }

    fn token(event: usize) -> RawToken {
        RawToken {
            event: event as Event,
            transaction_status: Status::NOT_READY,
        }
    }

    fn transaction_status(token: &RawToken) -> Status {
        token.transaction_status
    }

    use alloc::vec::Vec;

    #[test]
    fn disk_io2_reads_blocking_and_with_an_event() {
        let (p, data) = setup(false);
        let mut buffer = vec![0u8; 700];
        // SAFETY: calling the protocol as an application would.
        unsafe {
            let io = &*p;
            let status = (io.read_disk_ex)(p, MEDIA_ID, 300, core::ptr::null_mut(), 700, buffer.as_mut_ptr().cast());
            assert_eq!(status, Status::SUCCESS);
            assert_eq!(buffer, &data[300..1000]);

            let mut no_event = token(0);
            buffer.fill(0);
            assert_eq!(
                (io.read_disk_ex)(
                    p,
                    MEDIA_ID,
                    1,
                    core::ptr::from_mut::<RawToken>(&mut no_event).cast(),
                    700,
                    buffer.as_mut_ptr().cast()
                ),
                Status::SUCCESS
            );
            assert_eq!(buffer, &data[1..701]);
            assert_eq!(take_signalled(), 0, "blocking requests signal nothing");

            let mut with_event = token(0xe7e);
            buffer.fill(0);
            assert_eq!(
                (io.read_disk_ex)(
                    p,
                    MEDIA_ID,
                    512,
                    core::ptr::from_mut::<RawToken>(&mut with_event).cast(),
                    700,
                    buffer.as_mut_ptr().cast()
                ),
                Status::SUCCESS
            );
            assert_eq!(buffer, &data[512..1212]);
            assert_eq!(transaction_status(&with_event), Status::SUCCESS);
            assert_eq!(take_signalled(), 0xe7e);

            let mut flush = token(0xf1);
            assert_eq!(
                (io.flush_disk_ex)(p, core::ptr::from_mut::<RawToken>(&mut flush).cast()),
                Status::SUCCESS
            );
            assert_eq!(take_signalled(), 0xf1);
            assert_eq!((io.cancel)(p), Status::SUCCESS);
        }
    }

    #[test]
    fn disk_io2_refuses_bad_requests_without_signalling() {
        let (p, _) = setup(true);
        let mut buffer = vec![0u8; 16];
        let mut t = token(0xbad);
        let tp: *mut Token = core::ptr::from_mut::<RawToken>(&mut t).cast();
        // SAFETY: calling the protocol as an application would; bad arguments
        // must be refused before they are used.
        unsafe {
            let io = &*p;
            let b = buffer.as_mut_ptr().cast();
            assert_eq!((io.read_disk_ex)(p, MEDIA_ID + 1, 0, tp, 16, b), Status::MEDIA_CHANGED);
            assert_eq!(
                (io.read_disk_ex)(p, MEDIA_ID, 0, tp, 16, core::ptr::null_mut()),
                Status::INVALID_PARAMETER
            );
            assert_eq!(
                (io.read_disk_ex)(p, MEDIA_ID, 16 * 512 - 8, tp, 16, b),
                Status::INVALID_PARAMETER
            );
            assert_eq!((io.write_disk_ex)(p, MEDIA_ID, 0, tp, 16, b), Status::WRITE_PROTECTED);
            assert_eq!(
                (io.read_disk_ex)(0x10 as *mut disk_io2::Protocol, MEDIA_ID, 0, tp, 16, b),
                Status::INVALID_PARAMETER
            );
            assert_eq!(transaction_status(&t), Status::NOT_READY);
        }
        assert_eq!(take_signalled(), 0);
    }
}
