//! EFI_SERIAL_IO_PROTOCOL (UEFI 2.10 §12.8) over the console's UART, for
//! programs that drive a serial port themselves (GRUB's `serial` and
//! `terminal_input serial`, test harnesses).
//!
//! - [`line`]: the settings, control bits, look-ahead, loopback and Read's
//!   per-character timeout, as safe logic over [`SerialPort`](crate::console::SerialPort).
//! - [`efi`]: the ABI edge: the protocol and Mode structs and their functions.
//!
//! # Wiring it into the firmware
//!
//! `let serial = SerialIo::create(&UART, &CLOCK);` with the same port the
//! console uses, then install `serial.protocol()` under [`PROTOCOL_GUID`] on a
//! handle of its own with the port's device path (`Acpi(PNP0501,0)/Uart(...)`
//! for a 16550). Both read the same receive line: once [`SerialIo::claimed`]
//! holds, keep the idle loop from polling the console, so that bytes wait in
//! the UART for the application that reads them through Serial I/O.

pub mod efi;
pub mod line;

pub use efi::{SerialIo, PROTOCOL_GUID};
