//! The ABI edge of EFI_SERIAL_IO_PROTOCOL (UEFI 2.10 §12.8), revision 1.1 with
//! the serial terminal device type. r-efi has no binding for it, so the
//! protocol and its Mode are declared here as §12.8.1 lays them out.
#![deny(unsafe_op_in_unsafe_fn)]

use super::line::{self, Line, Settings, Transfer};
use crate::console::{MonotonicClock, SerialPort};
use crate::instances::Instances;
use alloc::boxed::Box;
use core::cell::UnsafeCell;
use core::ffi::c_void;
use core::sync::atomic::{AtomicBool, Ordering};
use fw_core::caller_buffer;
use r_efi::efi::{Guid, Status};
use spin::Mutex;

/// EFI_SERIAL_IO_PROTOCOL_GUID.
pub const PROTOCOL_GUID: Guid = Guid::from_fields(
    0xbb25cf6f,
    0xf1d4,
    0x11d2,
    0x9a,
    0x0c,
    &[0x00, 0x90, 0x27, 0x3f, 0xc1, 0xfd],
);

/// EFI_SERIAL_TERMINAL_DEVICE_TYPE_GUID: a port suitable as a UEFI console.
pub const TERMINAL_DEVICE_TYPE_GUID: Guid = Guid::from_fields(
    0x6ad9a60f,
    0x5815,
    0x4c7c,
    0x8a,
    0x10,
    &[0x50, 0x53, 0xd2, 0xbf, 0x7a, 0x1b],
);

/// EFI_SERIAL_IO_PROTOCOL_REVISION1p1: DeviceTypeGuid is present.
pub const REVISION_1_1: u32 = 0x0001_0001;

/// EFI_SERIAL_IO_MODE.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Mode {
    /// `ControlMask`: the control bits GetControl can report.
    pub control_mask: u32,
    /// `Timeout`: microseconds to wait for a character.
    pub timeout: u32,
    /// `BaudRate`.
    pub baud_rate: u64,
    /// `ReceiveFifoDepth`: characters the receive FIFO holds.
    pub receive_fifo_depth: u32,
    /// `DataBits`.
    pub data_bits: u32,
    /// `Parity`, as `EFI_PARITY_TYPE`.
    pub parity: u32,
    /// `StopBits`, as `EFI_STOP_BITS_TYPE`.
    pub stop_bits: u32,
}

/// EFI_SERIAL_IO_PROTOCOL.
#[repr(C)]
pub struct Protocol {
    /// The protocol's revision.
    pub revision: u32,
    /// Reset: resets the device.
    pub reset: unsafe extern "efiapi" fn(*mut Protocol) -> Status,
    /// SetAttributes: baud rate, FIFO depth, timeout, parity, data bits and stop bits.
    pub set_attributes: unsafe extern "efiapi" fn(*mut Protocol, u64, u32, u32, u32, u8, u32) -> Status,
    /// SetControl: the control bits (RTS, DTR, loopback, flow control).
    pub set_control: unsafe extern "efiapi" fn(*mut Protocol, u32) -> Status,
    /// GetControl: the control and status bits.
    pub get_control: unsafe extern "efiapi" fn(*mut Protocol, *mut u32) -> Status,
    /// Write: writes bytes.
    pub write: unsafe extern "efiapi" fn(*mut Protocol, *mut usize, *mut c_void) -> Status,
    /// Read: reads the bytes that arrive within the timeout.
    pub read: unsafe extern "efiapi" fn(*mut Protocol, *mut usize, *mut c_void) -> Status,
    /// The current settings.
    pub mode: *mut Mode,
    /// The device type GUID (a terminal, for revision 1.1).
    pub device_type_guid: *const Guid,
}

/// One port's protocol, its Mode and its state; leaked, never freed.
#[repr(C)]
pub struct SerialIo {
    protocol: UnsafeCell<Protocol>,
    mode: UnsafeCell<Mode>,
    line: Mutex<Line>,
    /// An application read the port through this protocol.
    claimed: AtomicBool,
}

// SAFETY: the protocol struct and Mode are written only by this module through
// UnsafeCell, on one CPU without interrupts (DESIGN.md), and applications only
// read them between calls; the line state is behind a spin::Mutex.
unsafe impl Sync for SerialIo {}
// SAFETY: as above.
unsafe impl Send for SerialIo {}

static INSTANCES: Instances<SerialIo> = Instances::new();

fn mode_of(settings: Settings) -> Mode {
    Mode {
        control_mask: line::CONTROL_MASK,
        timeout: settings.timeout_us,
        baud_rate: settings.baud_rate,
        receive_fifo_depth: settings.receive_fifo_depth,
        data_bits: settings.data_bits,
        parity: settings.parity,
        stop_bits: settings.stop_bits,
    }
}

impl SerialIo {
    /// A Serial I/O protocol over `port` (the console's UART), whose Read
    /// timeouts are measured with `clock`.
    pub fn create(port: &'static dyn SerialPort, clock: &'static dyn MonotonicClock) -> &'static SerialIo {
        let serial: &'static mut SerialIo = Box::leak(Box::new(SerialIo {
            protocol: UnsafeCell::new(Protocol {
                revision: REVISION_1_1,
                reset,
                set_attributes,
                set_control,
                get_control,
                write: transfer::<WRITE>,
                read: transfer::<READ>,
                mode: core::ptr::null_mut(),
                device_type_guid: &TERMINAL_DEVICE_TYPE_GUID,
            }),
            mode: UnsafeCell::new(mode_of(Settings::DEFAULT)),
            line: Mutex::new(Line::new(port, clock)),
            claimed: AtomicBool::new(false),
        }));
        serial.protocol.get_mut().mode = serial.mode.get();
        let serial: &'static SerialIo = serial;
        INSTANCES.register(serial);
        serial
    }

    /// The interface to install under [`PROTOCOL_GUID`].
    pub fn protocol(&self) -> *mut Protocol {
        self.protocol.get()
    }

    /// Whether an application has read the port through Serial I/O: from
    /// then on the firmware's idle loop leaves incoming bytes to it instead
    /// of decoding them as console keys.
    pub fn claimed(&self) -> bool {
        self.claimed.load(Ordering::Relaxed)
    }

    fn claim(&self) {
        if !self.claimed.swap(true, Ordering::Relaxed) {
            log::debug!("Serial I/O: an application reads the port; the console no longer polls it when idle");
        }
    }
}

fn serial_io(this: *mut Protocol) -> Option<&'static SerialIo> {
    INSTANCES.find(this)
}

unsafe extern "efiapi" fn reset(this: *mut Protocol) -> Status {
    let Some(serial) = serial_io(this) else {
        return Status::INVALID_PARAMETER;
    };
    serial.line.lock().reset();
    Status::SUCCESS
}

unsafe extern "efiapi" fn set_attributes(
    this: *mut Protocol,
    baud_rate: u64,
    receive_fifo_depth: u32,
    timeout: u32,
    parity: u32,
    data_bits: u8,
    stop_bits: u32,
) -> Status {
    let Some(serial) = serial_io(this) else {
        return Status::INVALID_PARAMETER;
    };
    let result =
        serial
            .line
            .lock()
            .set_attributes(baud_rate, receive_fifo_depth, timeout, parity, data_bits, stop_bits);
    match result {
        Ok(settings) => {
            // SAFETY: our leaked Mode, read by applications only between calls.
            unsafe { *serial.mode.get() = mode_of(settings) };
            Status::SUCCESS
        }
        Err(e) => {
            log::debug!("Serial I/O: SetAttributes: {e}");
            Status::INVALID_PARAMETER
        }
    }
}

unsafe extern "efiapi" fn set_control(this: *mut Protocol, control: u32) -> Status {
    let Some(serial) = serial_io(this) else {
        return Status::INVALID_PARAMETER;
    };
    match serial.line.lock().set_control(control) {
        Ok(()) => Status::SUCCESS,
        Err(e) => {
            log::debug!("Serial I/O: SetControl: {e}");
            Status::UNSUPPORTED
        }
    }
}

unsafe extern "efiapi" fn get_control(this: *mut Protocol, control: *mut u32) -> Status {
    let Some(serial) = serial_io(this) else {
        return Status::INVALID_PARAMETER;
    };
    if control.is_null() || !control.is_aligned() {
        return Status::INVALID_PARAMETER;
    }
    serial.claim();
    let bits = serial.line.lock().control();
    // SAFETY: checked non-null and aligned; the caller provides it (§12.8.5).
    unsafe { control.write(bits) };
    Status::SUCCESS
}

/// The caller's `BufferSize` and buffer, checked.
///
/// # Safety
/// Non-null pointers must be valid as §12.8.6/§12.8.7 require of callers:
/// `size` a readable and writable UINTN, `buffer` `*size` bytes.
unsafe fn transfer_size(size: *mut usize, buffer: *mut c_void) -> Result<usize, Status> {
    if size.is_null() || !size.is_aligned() {
        return Err(Status::INVALID_PARAMETER);
    }
    // SAFETY: non-null and aligned, provided by the caller.
    let len = unsafe { size.read() };
    if len > 0 && buffer.is_null() {
        return Err(Status::INVALID_PARAMETER);
    }
    Ok(len)
}

/// Whether a transfer sends, as [`transfer`]'s const parameter.
const READ: bool = false;
const WRITE: bool = true;

/// Write (§12.8.6) and Read (§12.8.7): `*size` bytes at `buffer` go out or
/// come in; a timeout leaves in `*size` how many did.
unsafe extern "efiapi" fn transfer<const WRITE: bool>(
    this: *mut Protocol,
    size: *mut usize,
    buffer: *mut c_void,
) -> Status {
    let Some(serial) = serial_io(this) else {
        return Status::INVALID_PARAMETER;
    };
    // SAFETY: the caller's pointers, as the specification describes them.
    let len = match unsafe { transfer_size(size, buffer) } {
        Ok(0) => return Status::SUCCESS,
        Ok(len) => len,
        Err(status) => return status,
    };
    let transfer = if WRITE {
        // SAFETY: the caller gives `len` readable bytes at `buffer` (§12.8.6);
        // the claim is checked first.
        match unsafe { caller_buffer::slice(buffer as *const u8, len) } {
            Ok(bytes) => serial.line.lock().write(bytes),
            Err(e) => return e.status(),
        }
    } else {
        serial.claim();
        // SAFETY: the caller gives `len` writable bytes at `buffer` (§12.8.7);
        // the claim is checked first.
        match unsafe { caller_buffer::slice_mut(buffer.cast::<u8>(), len) } {
            Ok(bytes) => serial.line.lock().read(bytes),
            Err(e) => return e.status(),
        }
    };
    match transfer {
        Transfer::Complete => Status::SUCCESS,
        Transfer::TimedOut(count) => {
            // SAFETY: `size` was checked by `transfer_size`.
            unsafe { size.write(count) };
            Status::TIMEOUT
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::console::terminal_model::Terminal;

    fn setup() -> (&'static Terminal, &'static SerialIo, *mut Protocol) {
        let model = Terminal::new(100_000);
        let serial = SerialIo::create(model, model);
        (model, serial, serial.protocol())
    }

    #[test]
    fn serial_io_writes_reads_and_reports_mode_as_an_application_sees_it() {
        let (model, serial, p) = setup();
        // SAFETY: calling the protocol as an application would.
        unsafe {
            let io = &*p;
            assert_eq!(io.revision, REVISION_1_1);
            assert_eq!(*io.device_type_guid, TERMINAL_DEVICE_TYPE_GUID);
            assert_eq!(((*io.mode).baud_rate, (*io.mode).timeout), (115_200, 1_000_000));
            let mut text = *b"hello";
            let mut size = text.len();
            assert_eq!((io.write)(p, &mut size, text.as_mut_ptr().cast()), Status::SUCCESS);
            assert_eq!((size, model.tx.lock().unwrap().as_slice()), (5, &b"hello"[..]));

            assert_eq!((io.set_attributes)(p, 115_200, 0, 1000, 1, 8, 1), Status::SUCCESS);
            assert_eq!((*io.mode).timeout, 1000);
            assert!(!serial.claimed());
            model.rx.lock().unwrap().extend(b"k");
            let mut buffer = [0u8; 3];
            let mut size = buffer.len();
            assert_eq!((io.read)(p, &mut size, buffer.as_mut_ptr().cast()), Status::TIMEOUT);
            assert_eq!((size, buffer[0]), (1, b'k'));
            assert!(serial.claimed());
        }
    }

    #[test]
    fn serial_io_bad_arguments_get_the_spec_statuses() {
        let (_, _, p) = setup();
        let mut byte = 0u8;
        let mut size = 1usize;
        let mut bits = 0u32;
        // SAFETY: calling the protocol as an application would; the functions
        // must refuse the bad pointers without using them.
        unsafe {
            let io = &*p;
            let foreign = 0x1000 as *mut Protocol;
            assert_eq!((io.reset)(foreign), Status::INVALID_PARAMETER);
            assert_eq!(
                (io.get_control)(core::ptr::null_mut(), &mut bits),
                Status::INVALID_PARAMETER
            );
            assert_eq!((io.get_control)(p, core::ptr::null_mut()), Status::INVALID_PARAMETER);
            assert_eq!(
                (io.write)(p, core::ptr::null_mut(), core::ptr::from_mut::<u8>(&mut byte).cast()),
                Status::INVALID_PARAMETER
            );
            assert_eq!(
                (io.read)(p, &mut size, core::ptr::null_mut()),
                Status::INVALID_PARAMETER
            );
            let mut zero = 0usize;
            assert_eq!((io.read)(p, &mut zero, core::ptr::null_mut()), Status::SUCCESS);
            assert_eq!((io.set_attributes)(p, 9600, 0, 0, 0, 0, 0), Status::INVALID_PARAMETER);
            assert_eq!((io.set_attributes)(p, 0, 0, 0, 6, 0, 0), Status::INVALID_PARAMETER);
            assert_eq!((io.set_control)(p, line::HARDWARE_LOOPBACK_ENABLE), Status::UNSUPPORTED);
            assert_eq!((io.reset)(p), Status::SUCCESS);
        }
    }
}
