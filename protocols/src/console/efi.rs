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
mod tests {
    use super::super::keys::{ESC_TIMEOUT_NS, SCAN_ESC, SCAN_UP};
    use super::super::output::{EFI_BACKGROUND_LIGHTGRAY, EFI_BLACK};
    use super::*;
    use alloc::vec;
    use core::sync::atomic::{AtomicPtr, AtomicU64, AtomicUsize, Ordering};
    use r_efi::protocols::simple_text_input_ex::{
        KeyState, LEFT_CONTROL_PRESSED, SHIFT_STATE_VALID, TOGGLE_STATE_VALID,
    };
    use std::collections::VecDeque;
    use std::string::String;
    use std::sync::Mutex as StdMutex;

    /// A terminal on the other end of the line, and the clock.
    #[derive(Default)]
    struct Model {
        tx: StdMutex<Vec<u8>>,
        rx: StdMutex<VecDeque<u8>>,
        now: AtomicU64,
    }

    impl Model {
        fn new() -> &'static Model {
            Box::leak(Box::default())
        }
        fn type_bytes(&self, bytes: &[u8]) {
            self.rx.lock().unwrap().extend(bytes);
        }
        fn take_output(&self) -> String {
            String::from_utf8(core::mem::take(&mut *self.tx.lock().unwrap())).unwrap()
        }
    }

    impl SerialPort for Model {
        fn write(&self, bytes: &[u8]) {
            self.tx.lock().unwrap().extend_from_slice(bytes);
        }
        fn read_byte(&self) -> Option<u8> {
            self.rx.lock().unwrap().pop_front()
        }
    }

    impl MonotonicClock for Model {
        fn now_ns(&self) -> u64 {
            self.now.load(Ordering::SeqCst)
        }
    }

    fn setup() -> (&'static Model, &'static SerialConsole) {
        let model = Model::new();
        (model, SerialConsole::create(model, model))
    }

    fn ucs2(s: &str) -> Vec<u16> {
        s.encode_utf16().chain([0]).collect()
    }

    fn mode(out: *mut simple_text_output::Protocol) -> simple_text_output::Mode {
        // SAFETY: test-only read of the Mode the console publishes.
        unsafe { *(*out).mode }
    }

    #[test]
    fn output_string_sends_utf8_and_updates_mode() {
        let (model, console) = setup();
        let out = console.text_output();
        let mut text = ucs2("┌─┐ Debian\r\n");
        // SAFETY: calling the protocol as an application would, with valid pointers.
        let status = unsafe { ((*out).output_string)(out, text.as_mut_ptr()) };
        assert_eq!(status, Status::SUCCESS);
        assert_eq!(model.take_output(), "\x1b[0;37;40m┌─┐ Debian\r\n");
        let m = mode(out);
        assert_eq!((m.cursor_column, m.cursor_row, m.max_mode), (0, 1, 3));

        let mut bad = vec![b'a' as u16, 0xd800, 0];
        // SAFETY: as above.
        let status = unsafe { ((*out).output_string)(out, bad.as_mut_ptr()) };
        assert_eq!(status, Status::WARN_UNKNOWN_GLYPH);
        assert_eq!(model.take_output(), "a?");
    }

    #[test]
    fn output_services_follow_the_spec_statuses() {
        let (model, console) = setup();
        let out = console.text_output();
        // SAFETY: calling the protocol as an application would.
        unsafe {
            let p = &*out;
            assert_eq!(
                (p.set_attribute)(out, EFI_BLACK | EFI_BACKGROUND_LIGHTGRAY),
                Status::SUCCESS
            );
            assert_eq!((p.set_attribute)(out, 0x100), Status::UNSUPPORTED);
            assert_eq!(mode(out).attribute, 0x70);
            assert_eq!((p.set_cursor_position)(out, 10, 3), Status::SUCCESS);
            assert_eq!((p.set_cursor_position)(out, 80, 3), Status::UNSUPPORTED);
            assert_eq!((mode(out).cursor_column, mode(out).cursor_row), (10, 3));
            assert_eq!((p.enable_cursor)(out, Boolean::FALSE), Status::SUCCESS);
            assert_eq!(mode(out).cursor_visible, Boolean::FALSE);
            assert_eq!(model.take_output(), "\x1b[0;30;47m\x1b[4;11H\x1b[?25l");
            assert_eq!((p.clear_screen)(out), Status::SUCCESS);
            assert_eq!((mode(out).cursor_column, mode(out).cursor_row), (0, 0));

            let (mut columns, mut rows) = (0usize, 0usize);
            assert_eq!((p.query_mode)(out, 1, &mut columns, &mut rows), Status::SUCCESS);
            assert_eq!((columns, rows), (80, 50));
            assert_eq!((p.query_mode)(out, 3, &mut columns, &mut rows), Status::UNSUPPORTED);
            assert_eq!(
                (p.query_mode)(out, 0, core::ptr::null_mut(), &mut rows),
                Status::INVALID_PARAMETER
            );
            assert_eq!((p.set_mode)(out, 1), Status::SUCCESS);
            assert_eq!(mode(out).mode, 1);
            assert_eq!((p.set_mode)(out, 7), Status::UNSUPPORTED);

            let mut ok = ucs2("═║");
            let mut bad = vec![0xdfffu16, 0];
            assert_eq!((p.test_string)(out, ok.as_mut_ptr()), Status::SUCCESS);
            assert_eq!((p.test_string)(out, bad.as_mut_ptr()), Status::UNSUPPORTED);

            model.take_output();
            assert_eq!((p.reset)(out, Boolean::TRUE), Status::SUCCESS);
            assert_eq!(mode(out).mode, 0);
            assert_eq!(mode(out).attribute, 0x07);
            assert_eq!(model.take_output(), "\x1b[0;37;40m\x1b[2J\x1b[H\x1b[?25h");
        }
    }

    #[test]
    fn null_and_foreign_pointers_are_invalid_parameters() {
        let (_model, console) = setup();
        let out = console.text_output();
        let input = console.text_input();
        let input_ex = console.text_input_ex();
        // An output protocol struct the console did not create.
        // SAFETY: copying our own instance's protocol struct to another address.
        let mut foreign = unsafe { core::ptr::read(out) };
        let foreign_ptr: *mut simple_text_output::Protocol = &mut foreign;
        let mut text = ucs2("x");
        let mut key = InputKey::default();
        let mut key_data = KeyData::default();
        // SAFETY: calling the protocols as an application would; the thunks
        // must reject the bad arguments without dereferencing them.
        unsafe {
            let p = &*out;
            assert_eq!((p.output_string)(out, core::ptr::null_mut()), Status::INVALID_PARAMETER);
            assert_eq!(
                (p.output_string)(foreign_ptr, text.as_mut_ptr()),
                Status::INVALID_PARAMETER
            );
            assert_eq!(
                (p.output_string)(core::ptr::null_mut(), text.as_mut_ptr()),
                Status::INVALID_PARAMETER
            );
            assert_eq!((p.test_string)(out, core::ptr::null_mut()), Status::INVALID_PARAMETER);
            // The input protocol's `this` handed to the output protocol.
            assert_eq!(
                (p.clear_screen)(input as *mut simple_text_output::Protocol),
                Status::INVALID_PARAMETER
            );

            let i = &*input;
            assert_eq!(
                (i.read_key_stroke)(input, core::ptr::null_mut()),
                Status::INVALID_PARAMETER
            );
            assert_eq!(
                (i.read_key_stroke)(core::ptr::null_mut(), &mut key),
                Status::INVALID_PARAMETER
            );
            assert_eq!(
                (i.read_key_stroke)(input_ex as *mut simple_text_input::Protocol, &mut key),
                Status::INVALID_PARAMETER
            );

            let x = &*input_ex;
            assert_eq!(
                (x.read_key_stroke_ex)(input_ex, core::ptr::null_mut()),
                Status::INVALID_PARAMETER
            );
            assert_eq!(
                (x.read_key_stroke_ex)(input as *mut simple_text_input_ex::Protocol, &mut key_data),
                Status::INVALID_PARAMETER
            );
            assert_eq!(
                (x.set_state)(input_ex, core::ptr::null_mut()),
                Status::INVALID_PARAMETER
            );
            let mut handle = core::ptr::null_mut();
            assert_eq!(
                (x.register_key_notify)(input_ex, core::ptr::null_mut(), count_notify, &mut handle),
                Status::INVALID_PARAMETER
            );
            assert_eq!(
                (x.register_key_notify)(input_ex, &mut key_data, count_notify, core::ptr::null_mut()),
                Status::INVALID_PARAMETER
            );
            assert_eq!(
                (x.unregister_key_notify)(input_ex, core::ptr::null_mut()),
                Status::INVALID_PARAMETER
            );
            assert_eq!(
                (x.unregister_key_notify)(input_ex, 0x1234 as *mut c_void),
                Status::INVALID_PARAMETER
            );
        }
    }

    #[test]
    fn read_key_stroke_is_not_ready_then_returns_the_arrow() {
        let (model, console) = setup();
        let input = console.text_input();
        let mut key = InputKey::default();
        // SAFETY: calling the protocol as an application would.
        unsafe {
            assert_eq!(((*input).read_key_stroke)(input, &mut key), Status::NOT_READY);
            model.type_bytes(b"\x1b[A");
            assert_eq!(((*input).read_key_stroke)(input, &mut key), Status::SUCCESS);
            assert_eq!((key.scan_code, key.unicode_char), (SCAN_UP, 0));
            assert_eq!(((*input).read_key_stroke)(input, &mut key), Status::NOT_READY);
        }
    }

    #[test]
    fn lone_escape_is_read_after_its_timeout() {
        let (model, console) = setup();
        let input = console.text_input();
        let mut key = InputKey::default();
        model.type_bytes(b"\x1b");
        // SAFETY: calling the protocol as an application would.
        unsafe {
            assert_eq!(((*input).read_key_stroke)(input, &mut key), Status::NOT_READY);
            model.now.store(ESC_TIMEOUT_NS, Ordering::SeqCst);
            assert_eq!(((*input).read_key_stroke)(input, &mut key), Status::SUCCESS);
        }
        assert_eq!(key.scan_code, SCAN_ESC);
    }

    #[test]
    fn poll_and_key_available_drive_wait_for_key() {
        let (model, console) = setup();
        assert_eq!(console.wait_for_key_event(), None);
        console.set_wait_for_key_event(0x0e7e_0000_0005);
        assert_eq!(console.wait_for_key_event(), Some(0x0e7e_0000_0005));
        // SAFETY: reading the installed protocols' event fields.
        unsafe {
            assert_eq!((*console.text_input()).wait_for_key as usize, 0x0e7e_0000_0005);
            assert_eq!((*console.text_input_ex()).wait_for_key_ex as usize, 0x0e7e_0000_0005);
        }
        assert!(!console.key_available());
        model.type_bytes(b"y");
        assert!(!console.key_available(), "bytes wait in the port until a poll");
        console.poll();
        assert!(console.key_available());
    }

    #[test]
    fn read_key_stroke_ex_reports_ctrl_and_toggle_state() {
        let (model, console) = setup();
        let ex = console.text_input_ex();
        let mut data = KeyData::default();
        let mut toggle: KeyToggleState = TOGGLE_STATE_VALID;
        // SAFETY: calling the protocol as an application would.
        unsafe {
            let x = &*ex;
            let mut invalid: KeyToggleState = 0x01;
            assert_eq!((x.set_state)(ex, &mut invalid), Status::UNSUPPORTED);
            assert_eq!((x.set_state)(ex, &mut toggle), Status::SUCCESS);
            assert_eq!((x.read_key_stroke_ex)(ex, &mut data), Status::NOT_READY);
            model.type_bytes(b"\x05");
            assert_eq!((x.read_key_stroke_ex)(ex, &mut data), Status::SUCCESS);
        }
        assert_eq!(data.key.unicode_char, 5);
        assert_eq!(data.key_state.key_shift_state, SHIFT_STATE_VALID | LEFT_CONTROL_PRESSED);
        assert_eq!(data.key_state.key_toggle_state, TOGGLE_STATE_VALID);
    }

    #[test]
    fn input_reset_discards_pending_keys() {
        let (model, console) = setup();
        let input = console.text_input();
        let mut key = InputKey::default();
        model.type_bytes(b"ab");
        console.poll();
        model.type_bytes(b"cd");
        // SAFETY: calling the protocol as an application would.
        unsafe {
            assert_eq!(((*input).reset)(input, Boolean::FALSE), Status::SUCCESS);
            assert_eq!(((*input).read_key_stroke)(input, &mut key), Status::NOT_READY);
        }
    }

    static NOTIFY_CALLS: AtomicUsize = AtomicUsize::new(0);
    static NOTIFY_INPUT: AtomicPtr<simple_text_input::Protocol> = AtomicPtr::new(core::ptr::null_mut());
    static NOTIFY_READ: AtomicUsize = AtomicUsize::new(0);

    unsafe extern "efiapi" fn count_notify(_: *mut KeyData) -> Status {
        Status::SUCCESS
    }

    /// Counts calls and reads a key itself: deadlocks if a lock is held.
    unsafe extern "efiapi" fn reentrant_notify(key_data: *mut KeyData) -> Status {
        NOTIFY_CALLS.fetch_add(1, Ordering::SeqCst);
        // SAFETY: the console passes a valid KeyData.
        assert_eq!(unsafe { (*key_data).key.unicode_char }, 3);
        let input = NOTIFY_INPUT.load(Ordering::SeqCst);
        let mut key = InputKey::default();
        // SAFETY: `input` is the console's installed protocol.
        if unsafe { ((*input).read_key_stroke)(input, &mut key) } == Status::SUCCESS {
            NOTIFY_READ.store(usize::from(key.unicode_char), Ordering::SeqCst);
        }
        Status::SUCCESS
    }

    #[test]
    fn key_notify_runs_without_locks_and_can_be_unregistered() {
        let (model, console) = setup();
        let ex = console.text_input_ex();
        NOTIFY_INPUT.store(console.text_input(), Ordering::SeqCst);
        let mut watched = KeyData {
            key: InputKey {
                scan_code: 0,
                unicode_char: 3,
            },
            key_state: KeyState::default(),
        };
        let mut handle: *mut c_void = core::ptr::null_mut();
        // SAFETY: calling the protocol as an application would.
        unsafe {
            let x = &*ex;
            assert_eq!(
                (x.register_key_notify)(ex, &mut watched, reentrant_notify, &mut handle),
                Status::SUCCESS
            );
            assert!(!handle.is_null());
            model.type_bytes(b"\x03");
            console.poll();
            assert_eq!(NOTIFY_CALLS.load(Ordering::SeqCst), 1);
            // The notify function read the Ctrl-C itself.
            assert_eq!(NOTIFY_READ.load(Ordering::SeqCst), 3);

            model.type_bytes(b"a");
            console.poll();
            assert_eq!(NOTIFY_CALLS.load(Ordering::SeqCst), 1, "other keys do not notify");

            assert_eq!((x.unregister_key_notify)(ex, handle), Status::SUCCESS);
            assert_eq!((x.unregister_key_notify)(ex, handle), Status::INVALID_PARAMETER);
            model.type_bytes(b"\x03");
            console.poll();
            assert_eq!(NOTIFY_CALLS.load(Ordering::SeqCst), 1);
        }
    }
}
