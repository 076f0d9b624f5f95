//! The EFI console over a serial port: Simple Text Input (UEFI 2.10 §12.3),
//! Simple Text Input Ex (§12.2) and Simple Text Output (§12.4), rendered for a
//! VT100/xterm-compatible terminal speaking UTF-8.
//!
//! - [`output`]: the text output model (modes, attributes, cursor) and its ANSI bytes.
//! - [`keys`]: terminal bytes to EFI keys (escape sequences, UTF-8, lone ESC timeout).
//! - [`fifo`]: the queue of keys waiting to be read.
//! - [`input`]: key queue, toggle state and key notifications.
//! - [`key_source`]: keyboards beside the serial line, feeding the same queue.
//! - [`keyboard`]: Linux key codes (PS/2, virtio-input) to EFI keys, US layout.
//! - [`screen`]: the same output drawn on a display's framebuffer (the bytes
//!   sent to serial, mirrored by [`efi`]'s output services and the logger).
//! - [`efi`]: the ABI edge: protocol structs, `extern "efiapi"` thunks, [`SerialConsole`].
//!
//! # Wiring it into the firmware
//!
//! 1. Implement [`SerialPort`] over the UART (write all bytes; `read_byte` must
//!    not block) and [`MonotonicClock`] over the architecture's time source.
//! 2. Create the console once; everything it allocates is leaked on purpose and
//!    lives for the life of the firmware:
//!    ```text
//!    let console: &'static SerialConsole = SerialConsole::create(&UART, &CLOCK);
//!    ```
//! 3. Install on one console handle: `console.text_output()` as
//!    `SIMPLE_TEXT_OUTPUT_PROTOCOL_GUID`, `console.text_input()` as
//!    `SIMPLE_TEXT_INPUT_PROTOCOL_GUID`, `console.text_input_ex()` as
//!    `SIMPLE_TEXT_INPUT_EX_PROTOCOL_GUID`. Put the same handle in the system
//!    table's ConsoleInHandle/ConsoleOutHandle/StandardErrorHandle, and the
//!    pointers in ConIn, ConOut and StdErr.
//! 4. Add the keyboards, if any: `console.add_key_source(source)`.
//! 5. Create the WaitForKey event (EVT_NOTIFY_WAIT is the usual type) and hand
//!    its id over: `console.set_wait_for_key_event(id)`. This stores the id in
//!    both input protocols' `wait_for_key` fields (as the `EFI_EVENT` value
//!    `id as *mut c_void`); [`SerialConsole::wait_for_key_event`] returns it.
//! 6. Poll: whenever the firmware idles or checks events (WaitForEvent, CheckEvent,
//!    the WaitForKey event's notify function, Stall, the boot manager's loop), call
//!    `console.poll()` and then, if `console.key_available()`, signal the
//!    WaitForKey event. `poll` reads the UART, decodes keys, times out a lone ESC
//!    and calls key notification functions (with no console lock held), so call
//!    it with no lock of yours held either, at a TPL at which notifications may
//!    run (TPL_CALLBACK or below). ReadKeyStroke(Ex) also poll by themselves, so
//!    applications that spin on ReadKeyStroke work without the idle loop.
//!    A lone ESC is reported [`keys::ESC_TIMEOUT_NS`] after it arrived, at the
//!    first poll after that: keep polling while waiting for a key. While an
//!    application owns the UART through Serial I/O, idle polls call
//!    `console.poll_keyboards()` instead, which leaves the UART alone.

pub mod efi;
pub mod fifo;
pub mod input;
pub mod key_source;
pub mod keyboard;
pub mod keys;
pub mod output;
pub mod screen;
#[cfg(test)]
pub(crate) mod terminal_model;

pub use efi::SerialConsole;
pub use key_source::KeySource;
pub use keys::Key;

/// The byte transport under the console, implemented by the firmware over its
/// UART (and by models in tests).
pub trait SerialPort: Send + Sync {
    /// Sends all of `bytes`.
    fn write(&self, bytes: &[u8]);
    /// A received byte, if one is waiting; never blocks.
    fn read_byte(&self) -> Option<u8>;
}

/// A monotonic clock in nanoseconds, used to tell a lone ESC key from the start
/// of an escape sequence.
pub trait MonotonicClock: Send + Sync {
    /// Nanoseconds since some fixed point, never going back.
    fn now_ns(&self) -> u64;
}
