use super::super::keys::{ESC_TIMEOUT_NS, SCAN_ESC, SCAN_UP};
use super::super::output::{EFI_BACKGROUND_LIGHTGRAY, EFI_BLACK};
use super::super::terminal_model::Terminal;
use super::*;
use alloc::vec;
use core::sync::atomic::{AtomicPtr, AtomicUsize, Ordering};
use r_efi::protocols::simple_text_input_ex::{KeyState, LEFT_CONTROL_PRESSED, SHIFT_STATE_VALID, TOGGLE_STATE_VALID};

fn setup() -> (&'static Terminal, &'static SerialConsole) {
    // The clock moves only when a test says.
    let model = Terminal::new(0);
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

    let mut bad = vec![u16::from(b'a'), 0xd800, 0];
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
            (p.clear_screen)(input.cast::<simple_text_output::Protocol>()),
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
            (i.read_key_stroke)(input_ex.cast::<simple_text_input::Protocol>(), &mut key),
            Status::INVALID_PARAMETER
        );

        let x = &*input_ex;
        assert_eq!(
            (x.read_key_stroke_ex)(input_ex, core::ptr::null_mut()),
            Status::INVALID_PARAMETER
        );
        assert_eq!(
            (x.read_key_stroke_ex)(input.cast::<simple_text_input_ex::Protocol>(), &mut key_data),
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
