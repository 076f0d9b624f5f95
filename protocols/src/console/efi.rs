//! The EFI ABI edge of the serial console: `EFI_SIMPLE_TEXT_OUTPUT_PROTOCOL`
//! (UEFI 2.10 §12.4), `EFI_SIMPLE_TEXT_INPUT_PROTOCOL` (§12.3) and
//! `EFI_SIMPLE_TEXT_INPUT_EX_PROTOCOL` (§12.2).
//!
//! Each protocol lives in a `#[repr(C)]` instance whose first field is the r-efi
//! protocol struct, so the `This` pointer an application passes is the
//! instance's address. A thunk accepts `This` only if it is the address of an
//! instance this module created (a registry of addresses, checked before any
//! dereference) whose signature field matches; anything else gets
//! EFI_INVALID_PARAMETER. Thunks then check the other pointers, call the safe
//! logic in [`output`](super::output) and [`input`](super::input) under a
//! `spin::Mutex`, and return the specification's status. No lock is held while
//! an application's key notification function runs.
#![deny(unsafe_op_in_unsafe_fn)]

use super::input::{InputState, MAX_BYTES_PER_POLL};
use super::output::{ModeState, TextOutput};
use super::{MonotonicClock, SerialPort};
use alloc::boxed::Box;
use alloc::vec::Vec;
use core::cell::UnsafeCell;
use core::ffi::c_void;
use core::ptr::NonNull;
use r_efi::efi::{Boolean, Char16, Status};
use r_efi::protocols::simple_text_input::{self, InputKey};
use r_efi::protocols::simple_text_input_ex::{self, KeyData, KeyNotifyFunction, KeyToggleState};
use r_efi::protocols::simple_text_output;
use spin::Mutex;

const OUTPUT_SIGNATURE: u64 = u64::from_le_bytes(*b"hvfwCOut");
const INPUT_SIGNATURE: u64 = u64::from_le_bytes(*b"hvfwCIn_");
const INPUT_EX_SIGNATURE: u64 = u64::from_le_bytes(*b"hvfwCInX");

/// Which instance type an address in the registry holds.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Output,
    Input,
    InputEx,
}

/// Addresses of every instance created here. Instances are never freed, so an
/// address found here is valid for the rest of the firmware's life.
static INSTANCES: Mutex<Vec<(usize, Kind)>> = Mutex::new(Vec::new());

fn is_instance(address: usize, kind: Kind) -> bool {
    INSTANCES.lock().contains(&(address, kind))
}

/// State shared by the three protocols of one console.
struct Console {
    port: &'static dyn SerialPort,
    clock: &'static dyn MonotonicClock,
    output: Mutex<TextOutput>,
    input: Mutex<InputState>,
    wait_for_key: Mutex<Option<usize>>,
}

impl Console {
    /// Pulls bytes from the port into the key queue, then runs the key
    /// notifications they trigger with every lock released.
    fn poll(&self) {
        let now = self.clock.now_ns();
        let due = self.input.lock().receive(self.port, now);
        Self::notify(due);
    }

    /// Polls the keyboards only, leaving the serial line to whoever owns it.
    fn poll_keyboards(&self) {
        let due = self.input.lock().receive_keyboards();
        Self::notify(due);
    }

    fn notify(due: Vec<super::input::PendingNotify>) {
        for notify in due {
            let mut key_data = notify.key_data;
            // SAFETY: the application registered this function through
            // RegisterKeyNotify with the signature the specification gives
            // (EFI_KEY_NOTIFY_FUNCTION); it gets a pointer to a local KeyData
            // valid for the call. No lock is held, so it may call back in.
            let _ = unsafe { (notify.function)(&mut key_data) };
        }
    }

    /// Input Reset: empties the queue, the decoder and the UART's receive FIFO.
    fn reset_input(&self) {
        self.input.lock().reset();
        for _ in 0..MAX_BYTES_PER_POLL {
            if self.port.read_byte().is_none() {
                break;
            }
        }
    }
}

#[repr(C)]
struct OutputInstance {
    protocol: UnsafeCell<simple_text_output::Protocol>,
    signature: u64,
    console: &'static Console,
    /// What `protocol.mode` points at; rewritten after every service.
    mode: UnsafeCell<simple_text_output::Mode>,
}

#[repr(C)]
struct InputInstance {
    protocol: UnsafeCell<simple_text_input::Protocol>,
    signature: u64,
    console: &'static Console,
}

#[repr(C)]
struct InputExInstance {
    protocol: UnsafeCell<simple_text_input_ex::Protocol>,
    signature: u64,
    console: &'static Console,
}

/// One serial console: the three protocol instances and their shared state.
/// See the [module docs](super) for how the firmware wires it up.
pub struct SerialConsole {
    console: &'static Console,
    output: NonNull<OutputInstance>,
    input: NonNull<InputInstance>,
    input_ex: NonNull<InputExInstance>,
}

// SAFETY: the pointers are to leaked instances that are never freed; their
// protocol structs and Mode are only written through UnsafeCell by this module,
// and the firmware runs on one CPU without interrupts (DESIGN.md), so no two
// accesses overlap. The shared state behind them is guarded by spin::Mutex.
unsafe impl Send for SerialConsole {}
// SAFETY: as above.
unsafe impl Sync for SerialConsole {}

impl SerialConsole {
    /// Creates the console's protocol instances on the heap and leaks them: they
    /// must outlive every application. Nothing is sent to the port yet.
    pub fn create(port: &'static dyn SerialPort, clock: &'static dyn MonotonicClock) -> &'static SerialConsole {
        let console: &'static Console = Box::leak(Box::new(Console {
            port,
            clock,
            output: Mutex::new(TextOutput::new()),
            input: Mutex::new(InputState::new()),
            wait_for_key: Mutex::new(None),
        }));

        let output = Box::leak(Box::new(OutputInstance {
            protocol: UnsafeCell::new(simple_text_output::Protocol {
                reset: output_reset,
                output_string,
                test_string,
                query_mode,
                set_mode,
                set_attribute,
                clear_screen,
                set_cursor_position,
                enable_cursor,
                mode: core::ptr::null_mut(),
            }),
            signature: OUTPUT_SIGNATURE,
            console,
            mode: UnsafeCell::new(efi_mode(console.output.lock().mode_state())),
        }));
        output.protocol.get_mut().mode = output.mode.get();

        let input = Box::leak(Box::new(InputInstance {
            protocol: UnsafeCell::new(simple_text_input::Protocol {
                reset: input_reset,
                read_key_stroke,
                wait_for_key: core::ptr::null_mut(),
            }),
            signature: INPUT_SIGNATURE,
            console,
        }));

        let input_ex = Box::leak(Box::new(InputExInstance {
            protocol: UnsafeCell::new(simple_text_input_ex::Protocol {
                reset: input_ex_reset,
                read_key_stroke_ex,
                wait_for_key_ex: core::ptr::null_mut(),
                set_state,
                register_key_notify,
                unregister_key_notify,
            }),
            signature: INPUT_EX_SIGNATURE,
            console,
        }));

        let console = Box::leak(Box::new(SerialConsole {
            console,
            output: NonNull::from(&*output),
            input: NonNull::from(&*input),
            input_ex: NonNull::from(&*input_ex),
        }));
        let mut instances = INSTANCES.lock();
        instances.push((console.output.as_ptr() as usize, Kind::Output));
        instances.push((console.input.as_ptr() as usize, Kind::Input));
        instances.push((console.input_ex.as_ptr() as usize, Kind::InputEx));
        console
    }

    /// The `EFI_SIMPLE_TEXT_OUTPUT_PROTOCOL` to install (ConOut, StdErr).
    pub fn text_output(&self) -> *mut simple_text_output::Protocol {
        self.output_instance().protocol.get()
    }

    /// The `EFI_SIMPLE_TEXT_INPUT_PROTOCOL` to install (ConIn).
    pub fn text_input(&self) -> *mut simple_text_input::Protocol {
        self.input_instance().protocol.get()
    }

    /// The `EFI_SIMPLE_TEXT_INPUT_EX_PROTOCOL` to install on the ConIn handle.
    pub fn text_input_ex(&self) -> *mut simple_text_input_ex::Protocol {
        self.input_ex_instance().protocol.get()
    }

    /// Records the WaitForKey event the firmware created and publishes it in
    /// both input protocols (`WaitForKey`, `WaitForKeyEx`).
    pub fn set_wait_for_key_event(&self, event: usize) {
        *self.console.wait_for_key.lock() = Some(event);
        let event = event as r_efi::efi::Event;
        // SAFETY: the protocol structs live in leaked instances; the firmware is
        // single-threaded, so no application code runs during these writes.
        unsafe {
            (*self.input_instance().protocol.get()).wait_for_key = event;
            (*self.input_ex_instance().protocol.get()).wait_for_key_ex = event;
        }
    }

    /// The WaitForKey event id given to [`set_wait_for_key_event`](Self::set_wait_for_key_event).
    pub fn wait_for_key_event(&self) -> Option<usize> {
        *self.console.wait_for_key.lock()
    }

    /// Reads waiting bytes from the port, decodes keys (a lone ESC after its
    /// timeout) and runs matching key notification functions. Call from the
    /// firmware's idle loop and event checks with no lock held.
    pub fn poll(&self) {
        self.console.poll();
    }

    /// Like [`poll`](Self::poll) for the keyboards alone, for when an
    /// application reads the serial line itself (Serial I/O).
    pub fn poll_keyboards(&self) {
        self.console.poll_keyboards();
    }

    /// Adds a keyboard whose keys arrive on this console beside the serial
    /// line's (see [`super::key_source`]).
    pub fn add_key_source(&self, source: &'static dyn super::KeySource) {
        self.console.input.lock().add_source(source);
    }

    /// Whether a key is queued: the firmware signals WaitForKey when this holds.
    pub fn key_available(&self) -> bool {
        self.console.input.lock().key_available()
    }

    fn output_instance(&self) -> &'static OutputInstance {
        // SAFETY: `output` comes from Box::leak in `create` and is never freed.
        unsafe { self.output.as_ref() }
    }

    fn input_instance(&self) -> &'static InputInstance {
        // SAFETY: as for `output_instance`.
        unsafe { self.input.as_ref() }
    }

    fn input_ex_instance(&self) -> &'static InputExInstance {
        // SAFETY: as for `output_instance`.
        unsafe { self.input_ex.as_ref() }
    }
}

fn efi_mode(state: ModeState) -> simple_text_output::Mode {
    simple_text_output::Mode {
        max_mode: state.max_mode,
        mode: state.mode,
        attribute: state.attribute,
        cursor_column: state.cursor_column,
        cursor_row: state.cursor_row,
        cursor_visible: state.cursor_visible.into(),
    }
}

/// The instance behind `this`, if `this` is one of ours.
fn output_instance(this: *mut simple_text_output::Protocol) -> Option<&'static OutputInstance> {
    if !is_instance(this as usize, Kind::Output) {
        return None;
    }
    // SAFETY: the registry holds only addresses of leaked, never-freed
    // OutputInstances under Kind::Output; the protocol is the first field of a
    // repr(C) struct, so its address is the instance's.
    let instance = unsafe { &*(this as *const OutputInstance) };
    (instance.signature == OUTPUT_SIGNATURE).then_some(instance)
}

fn input_console(this: *mut simple_text_input::Protocol) -> Option<&'static Console> {
    if !is_instance(this as usize, Kind::Input) {
        return None;
    }
    // SAFETY: as in `output_instance`, for InputInstance.
    let instance = unsafe { &*(this as *const InputInstance) };
    (instance.signature == INPUT_SIGNATURE).then_some(instance.console)
}

fn input_ex_console(this: *mut simple_text_input_ex::Protocol) -> Option<&'static Console> {
    if !is_instance(this as usize, Kind::InputEx) {
        return None;
    }
    // SAFETY: as in `output_instance`, for InputExInstance.
    let instance = unsafe { &*(this as *const InputExInstance) };
    (instance.signature == INPUT_EX_SIGNATURE).then_some(instance.console)
}

/// Runs one output service: the bytes it produces go to the port in order
/// (under the lock, which covers only firmware code) and `Mode` is refreshed.
fn with_output(
    this: *mut simple_text_output::Protocol,
    service: impl FnOnce(&mut TextOutput, &mut Vec<u8>) -> Status,
) -> Status {
    let Some(instance) = output_instance(this) else {
        return Status::INVALID_PARAMETER;
    };
    let console = instance.console;
    let mut bytes = Vec::new();
    let mut output = console.output.lock();
    let status = service(&mut output, &mut bytes);
    if !bytes.is_empty() {
        console.port.write(&bytes);
        // The same bytes on the screen, when there is one (`screen`).
        super::screen::mirror(&bytes, output.size());
    }
    // SAFETY: `mode` is the leaked instance's Mode, which applications only
    // read between calls; the firmware is single-threaded.
    unsafe { *instance.mode.get() = efi_mode(output.mode_state()) };
    status
}

fn status_of<E: core::fmt::Display>(result: Result<(), E>, service: &str, status: impl FnOnce(&E) -> Status) -> Status {
    match result {
        Ok(()) => Status::SUCCESS,
        Err(e) => {
            log::debug!("console: {service}: {e}");
            status(&e)
        }
    }
}

/// The NUL-terminated UCS-2 string at `string`, or `None` for a null or
/// misaligned pointer.
///
/// # Safety
/// A non-null, aligned `string` must point at a NUL-terminated string that
/// stays unchanged for `'a`, as the specification requires of callers.
unsafe fn ucs2_string<'a>(string: *const Char16) -> Option<&'a [u16]> {
    // SAFETY: the caller's contract.
    unsafe { fw_core::caller_buffer::ucs2_string(string, fw_core::caller_buffer::MAX_STRING) }.ok()
}

/// Whether `pointer` can be written as a `T` (non-null, aligned).
fn writable<T>(pointer: *mut T) -> bool {
    !pointer.is_null() && pointer.is_aligned()
}

// ---- EFI_SIMPLE_TEXT_OUTPUT_PROTOCOL ----

unsafe extern "efiapi" fn output_reset(
    this: *mut simple_text_output::Protocol,
    _extended_verification: Boolean,
) -> Status {
    with_output(this, |output, bytes| {
        output.reset(bytes);
        Status::SUCCESS
    })
}

unsafe extern "efiapi" fn output_string(this: *mut simple_text_output::Protocol, string: *mut Char16) -> Status {
    // SAFETY: OutputString's caller passes a NUL-terminated string (§12.4.3).
    let Some(text) = (unsafe { ucs2_string(string) }) else {
        return Status::INVALID_PARAMETER;
    };
    with_output(this, |output, bytes| output.output_string(text, bytes).status())
}

unsafe extern "efiapi" fn test_string(this: *mut simple_text_output::Protocol, string: *mut Char16) -> Status {
    // SAFETY: TestString's caller passes a NUL-terminated string (§12.4.4).
    let Some(text) = (unsafe { ucs2_string(string) }) else {
        return Status::INVALID_PARAMETER;
    };
    with_output(this, |output, _| {
        status_of(output.test_string(text), "TestString", |e| e.status())
    })
}

unsafe extern "efiapi" fn query_mode(
    this: *mut simple_text_output::Protocol,
    mode_number: usize,
    columns: *mut usize,
    rows: *mut usize,
) -> Status {
    if !writable(columns) || !writable(rows) {
        return Status::INVALID_PARAMETER;
    }
    with_output(this, |output, _| match output.query_mode(mode_number) {
        Ok((c, r)) => {
            // SAFETY: both pointers were checked non-null and aligned; the
            // caller provides them as outputs (§12.4.5).
            unsafe {
                columns.write(c);
                rows.write(r);
            }
            Status::SUCCESS
        }
        Err(e) => {
            log::debug!("console: QueryMode: {e}");
            e.status()
        }
    })
}

unsafe extern "efiapi" fn set_mode(this: *mut simple_text_output::Protocol, mode_number: usize) -> Status {
    with_output(this, |output, bytes| {
        status_of(output.set_mode(mode_number, bytes), "SetMode", |e| e.status())
    })
}

unsafe extern "efiapi" fn set_attribute(this: *mut simple_text_output::Protocol, attribute: usize) -> Status {
    with_output(this, |output, bytes| {
        status_of(output.set_attribute(attribute, bytes), "SetAttribute", |e| e.status())
    })
}

unsafe extern "efiapi" fn clear_screen(this: *mut simple_text_output::Protocol) -> Status {
    with_output(this, |output, bytes| {
        output.clear_screen(bytes);
        Status::SUCCESS
    })
}

unsafe extern "efiapi" fn set_cursor_position(
    this: *mut simple_text_output::Protocol,
    column: usize,
    row: usize,
) -> Status {
    with_output(this, |output, bytes| {
        status_of(
            output.set_cursor_position(column, row, bytes),
            "SetCursorPosition",
            |e| e.status(),
        )
    })
}

unsafe extern "efiapi" fn enable_cursor(this: *mut simple_text_output::Protocol, visible: Boolean) -> Status {
    with_output(this, |output, bytes| {
        output.enable_cursor(visible.into(), bytes);
        Status::SUCCESS
    })
}

// ---- EFI_SIMPLE_TEXT_INPUT_PROTOCOL ----

unsafe extern "efiapi" fn input_reset(
    this: *mut simple_text_input::Protocol,
    _extended_verification: Boolean,
) -> Status {
    let Some(console) = input_console(this) else {
        return Status::INVALID_PARAMETER;
    };
    console.reset_input();
    Status::SUCCESS
}

unsafe extern "efiapi" fn read_key_stroke(this: *mut simple_text_input::Protocol, key: *mut InputKey) -> Status {
    let Some(console) = input_console(this) else {
        return Status::INVALID_PARAMETER;
    };
    if !writable(key) {
        return Status::INVALID_PARAMETER;
    }
    console.poll();
    let Some(read) = console.input.lock().read_key() else {
        return Status::NOT_READY;
    };
    // SAFETY: `key` was checked non-null and aligned; the caller provides it
    // for the result (§12.3.3).
    unsafe { key.write(read) };
    Status::SUCCESS
}

// ---- EFI_SIMPLE_TEXT_INPUT_EX_PROTOCOL ----

unsafe extern "efiapi" fn input_ex_reset(
    this: *mut simple_text_input_ex::Protocol,
    _extended_verification: Boolean,
) -> Status {
    let Some(console) = input_ex_console(this) else {
        return Status::INVALID_PARAMETER;
    };
    console.reset_input();
    Status::SUCCESS
}

unsafe extern "efiapi" fn read_key_stroke_ex(
    this: *mut simple_text_input_ex::Protocol,
    key_data: *mut KeyData,
) -> Status {
    let Some(console) = input_ex_console(this) else {
        return Status::INVALID_PARAMETER;
    };
    if !writable(key_data) {
        return Status::INVALID_PARAMETER;
    }
    console.poll();
    let Some(read) = console.input.lock().read_key_data() else {
        return Status::NOT_READY;
    };
    // SAFETY: `key_data` was checked non-null and aligned; the caller provides
    // it for the result (§12.2.3).
    unsafe { key_data.write(read) };
    Status::SUCCESS
}

unsafe extern "efiapi" fn set_state(
    this: *mut simple_text_input_ex::Protocol,
    key_toggle_state: *mut KeyToggleState,
) -> Status {
    let Some(console) = input_ex_console(this) else {
        return Status::INVALID_PARAMETER;
    };
    if key_toggle_state.is_null() {
        return Status::INVALID_PARAMETER;
    }
    // SAFETY: non-null, and a u8 needs no alignment; the caller passes the
    // state to set (§12.2.4).
    let state = unsafe { key_toggle_state.read() };
    status_of(console.input.lock().set_toggle_state(state), "SetState", |e| e.status())
}

unsafe extern "efiapi" fn register_key_notify(
    this: *mut simple_text_input_ex::Protocol,
    key_data: *mut KeyData,
    function: KeyNotifyFunction,
    notify_handle: *mut *mut c_void,
) -> Status {
    let Some(console) = input_ex_console(this) else {
        return Status::INVALID_PARAMETER;
    };
    if !writable(key_data) || !writable(notify_handle) {
        return Status::INVALID_PARAMETER;
    }
    // SAFETY: non-null and aligned; the caller passes the key to watch (§12.2.5).
    let key = unsafe { key_data.read() };
    let handle = console.input.lock().register_notify(key, function);
    // SAFETY: non-null and aligned; the caller provides it for the handle.
    unsafe { notify_handle.write(handle as *mut c_void) };
    Status::SUCCESS
}

unsafe extern "efiapi" fn unregister_key_notify(
    this: *mut simple_text_input_ex::Protocol,
    notification_handle: *mut c_void,
) -> Status {
    let Some(console) = input_ex_console(this) else {
        return Status::INVALID_PARAMETER;
    };
    if notification_handle.is_null() {
        return Status::INVALID_PARAMETER;
    }
    status_of(
        console.input.lock().unregister_notify(notification_handle as usize),
        "UnregisterKeyNotify",
        |e| e.status(),
    )
}

#[cfg(test)]
mod tests;
