//! The state behind one EFI_SERIAL_IO_PROTOCOL (UEFI 2.10 §12.8): the line
//! settings SetAttributes accepts, the control bits, the one-byte look-ahead
//! GetControl needs to report an empty input buffer, software loopback, and
//! Read's per-character timeout.
//!
//! The UART is the console's: its line runs at 115200 8N1 for both, so
//! SetAttributes accepts that line (or "default" for any field) and answers
//! anything else with EFI_INVALID_PARAMETER, as §12.8.3 says for values the
//! device does not support, instead of garbling the firmware's own console.
#![forbid(unsafe_code)]

use crate::console::{MonotonicClock, SerialPort};
use alloc::collections::VecDeque;
use core::fmt;

/// `EFI_SERIAL_DATA_TERMINAL_READY` and the other control bits (§12.8.5).
pub const DATA_TERMINAL_READY: u32 = 0x0001;
/// `EFI_SERIAL_REQUEST_TO_SEND`.
pub const REQUEST_TO_SEND: u32 = 0x0002;
/// `EFI_SERIAL_CLEAR_TO_SEND`.
pub const CLEAR_TO_SEND: u32 = 0x0010;
/// `EFI_SERIAL_DATA_SET_READY`.
pub const DATA_SET_READY: u32 = 0x0020;
/// `EFI_SERIAL_RING_INDICATE`.
pub const RING_INDICATE: u32 = 0x0040;
/// `EFI_SERIAL_CARRIER_DETECT`.
pub const CARRIER_DETECT: u32 = 0x0080;
/// `EFI_SERIAL_INPUT_BUFFER_EMPTY`: no byte is waiting.
pub const INPUT_BUFFER_EMPTY: u32 = 0x0100;
/// `EFI_SERIAL_OUTPUT_BUFFER_EMPTY`: everything written has gone.
pub const OUTPUT_BUFFER_EMPTY: u32 = 0x0200;
/// `EFI_SERIAL_HARDWARE_LOOPBACK_ENABLE`.
pub const HARDWARE_LOOPBACK_ENABLE: u32 = 0x1000;
/// `EFI_SERIAL_SOFTWARE_LOOPBACK_ENABLE`: writes come back as reads.
pub const SOFTWARE_LOOPBACK_ENABLE: u32 = 0x2000;
/// `EFI_SERIAL_HARDWARE_FLOW_CONTROL_ENABLE`.
pub const HARDWARE_FLOW_CONTROL_ENABLE: u32 = 0x4000;

/// The bits SetControl may change here; the spec also lets hardware loopback
/// and flow control be set, which a polled virtual UART does not offer.
const SETTABLE: u32 = DATA_TERMINAL_READY | REQUEST_TO_SEND | SOFTWARE_LOOPBACK_ENABLE;
/// The VMM's line is always connected and ready.
const LINE_READY: u32 = CLEAR_TO_SEND | DATA_SET_READY | CARRIER_DETECT;
/// Mode.ControlMask: every bit GetControl can report.
pub const CONTROL_MASK: u32 = SETTABLE | LINE_READY | INPUT_BUFFER_EMPTY | OUTPUT_BUFFER_EMPTY;

/// EFI_PARITY_TYPE and EFI_STOP_BITS_TYPE values (§12.8.1).
pub const DEFAULT_PARITY: u32 = 0;
/// `NoParity`.
pub const NO_PARITY: u32 = 1;
/// `SpaceParity`.
pub const SPACE_PARITY: u32 = 5;
/// `DefaultStopBits`.
pub const DEFAULT_STOP_BITS: u32 = 0;
/// `OneStopBit`.
pub const ONE_STOP_BIT: u32 = 1;
/// `TwoStopBits`.
pub const TWO_STOP_BITS: u32 = 3;

/// The line the console's UART runs at (drivers/src/uart).
pub const BAUD_RATE: u64 = 115_200;
/// Data bits per character on that line.
pub const DATA_BITS: u32 = 8;
/// Mode.Timeout's default, in microseconds per character (§12.8.1 table).
pub const DEFAULT_TIMEOUT_US: u32 = 1_000_000;
/// The input buffer is the one byte of look-ahead.
pub const RECEIVE_FIFO_DEPTH: u32 = 1;
/// Bytes software loopback holds before Write stops with EFI_TIMEOUT.
pub const LOOPBACK_CAPACITY: usize = 4096;

/// What EFI_SERIAL_IO_MODE reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Settings {
    /// `Timeout`: microseconds to wait for a character.
    pub timeout_us: u32,
    /// `BaudRate`.
    pub baud_rate: u64,
    /// `ReceiveFifoDepth`.
    pub receive_fifo_depth: u32,
    /// `DataBits`.
    pub data_bits: u32,
    /// `Parity`, as `EFI_PARITY_TYPE`.
    pub parity: u32,
    /// `StopBits`, as `EFI_STOP_BITS_TYPE`.
    pub stop_bits: u32,
}

impl Settings {
    /// The settings at reset: the console UART's own line.
    pub const DEFAULT: Settings = Settings {
        timeout_us: DEFAULT_TIMEOUT_US,
        baud_rate: BAUD_RATE,
        receive_fifo_depth: RECEIVE_FIFO_DEPTH,
        data_bits: DATA_BITS,
        parity: NO_PARITY,
        stop_bits: ONE_STOP_BIT,
    };
}

/// Why a request was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Error {
    /// SetAttributes asked for a value outside the spec's range or other than
    /// the shared line's (EFI_INVALID_PARAMETER).
    UnsupportedAttribute {
        /// The attribute's name.
        field: &'static str,
        /// The value asked for.
        value: u64,
    },
    /// SetControl asked for bits this port cannot set (EFI_UNSUPPORTED).
    UnsupportedControl {
        /// The bits asked for.
        bits: u32,
    },
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::UnsupportedAttribute { field, value } => write!(
                f,
                "{field} {value} is not supported: the UART is the console's, at {BAUD_RATE} 8N1"
            ),
            Error::UnsupportedControl { bits } => {
                write!(f, "control bits {bits:#x} cannot be set (settable: {SETTABLE:#x})")
            }
        }
    }
}

/// How a Read or Write ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transfer {
    /// All bytes moved.
    Complete,
    /// Only this many moved before the timeout (EFI_TIMEOUT).
    TimedOut(usize),
}

/// The shared port, as Serial I/O sees it.
pub struct Line {
    port: &'static dyn SerialPort,
    clock: &'static dyn MonotonicClock,
    settings: Settings,
    control: u32,
    lookahead: Option<u8>,
    loopback: VecDeque<u8>,
}

/// `requested`, or `default` when it is 0, if it is one of `allowed`.
fn choose<T: Copy + PartialEq + Into<u64> + Default>(
    field: &'static str,
    requested: T,
    default: T,
    allowed: &[T],
) -> Result<T, Error> {
    let value = if requested == T::default() { default } else { requested };
    if allowed.contains(&value) {
        Ok(value)
    } else {
        Err(Error::UnsupportedAttribute {
            field,
            value: requested.into(),
        })
    }
}

impl Line {
    /// The line over `port`, timed by `clock`, at its reset settings.
    pub fn new(port: &'static dyn SerialPort, clock: &'static dyn MonotonicClock) -> Line {
        Line {
            port,
            clock,
            settings: Settings::DEFAULT,
            control: DATA_TERMINAL_READY | REQUEST_TO_SEND,
            lookahead: None,
            loopback: VecDeque::new(),
        }
    }

    /// The settings SetAttributes left.
    pub fn settings(&self) -> Settings {
        self.settings
    }

    /// Reset (§12.8.2): drops buffered input and loopback, keeps the settings.
    pub fn reset(&mut self) {
        self.lookahead = None;
        self.loopback.clear();
        self.control = DATA_TERMINAL_READY | REQUEST_TO_SEND;
        // The UART's receive FIFO holds at most a few bytes; bound the drain
        // anyway in case the port keeps answering.
        for _ in 0..64 {
            if self.port.read_byte().is_none() {
                break;
            }
        }
    }

    /// SetAttributes (§12.8.3): 0 in a field means its default.
    pub fn set_attributes(
        &mut self,
        baud_rate: u64,
        receive_fifo_depth: u32,
        timeout_us: u32,
        parity: u32,
        data_bits: u8,
        stop_bits: u32,
    ) -> Result<Settings, Error> {
        let baud_rate = choose("baud rate", baud_rate, BAUD_RATE, &[BAUD_RATE])?;
        let receive_fifo_depth = choose(
            "receive FIFO depth",
            receive_fifo_depth,
            RECEIVE_FIFO_DEPTH,
            &[RECEIVE_FIFO_DEPTH],
        )?;
        if parity > SPACE_PARITY {
            return Err(Error::UnsupportedAttribute {
                field: "parity",
                value: parity.into(),
            });
        }
        let parity = choose("parity", parity, NO_PARITY, &[NO_PARITY])?;
        let data_bits = choose("data bits", u32::from(data_bits), DATA_BITS, &[DATA_BITS])?;
        if stop_bits > TWO_STOP_BITS {
            return Err(Error::UnsupportedAttribute {
                field: "stop bits",
                value: stop_bits.into(),
            });
        }
        let stop_bits = choose("stop bits", stop_bits, ONE_STOP_BIT, &[ONE_STOP_BIT])?;
        let timeout_us = if timeout_us == 0 {
            DEFAULT_TIMEOUT_US
        } else {
            timeout_us
        };
        self.settings = Settings {
            timeout_us,
            baud_rate,
            receive_fifo_depth,
            data_bits,
            parity,
            stop_bits,
        };
        Ok(self.settings)
    }

    /// SetControl (§12.8.4).
    pub fn set_control(&mut self, bits: u32) -> Result<(), Error> {
        if bits & !SETTABLE != 0 {
            return Err(Error::UnsupportedControl { bits: bits & !SETTABLE });
        }
        self.control = bits;
        Ok(())
    }

    /// GetControl (§12.8.5). Looking at the input takes a byte from the UART
    /// into the look-ahead, where the next Read finds it.
    pub fn control(&mut self) -> u32 {
        let mut bits = self.control | LINE_READY | OUTPUT_BUFFER_EMPTY;
        let input_empty = if self.loopback_enabled() {
            self.loopback.is_empty()
        } else {
            if self.lookahead.is_none() {
                self.lookahead = self.port.read_byte();
            }
            self.lookahead.is_none()
        };
        if input_empty {
            bits |= INPUT_BUFFER_EMPTY;
        }
        bits
    }

    fn loopback_enabled(&self) -> bool {
        self.control & SOFTWARE_LOOPBACK_ENABLE != 0
    }

    /// Write (§12.8.6): to the UART, or to the loopback buffer.
    pub fn write(&mut self, bytes: &[u8]) -> Transfer {
        if !self.loopback_enabled() {
            self.port.write(bytes);
            return Transfer::Complete;
        }
        let room = LOOPBACK_CAPACITY - self.loopback.len();
        let taken = bytes.len().min(room);
        self.loopback.extend(&bytes[..taken]);
        if taken == bytes.len() {
            Transfer::Complete
        } else {
            Transfer::TimedOut(taken)
        }
    }

    fn next_byte(&mut self) -> Option<u8> {
        if self.loopback_enabled() {
            return self.loopback.pop_front();
        }
        self.lookahead.take().or_else(|| self.port.read_byte())
    }

    /// Read (§12.8.7): each byte may take up to Mode.Timeout microseconds to
    /// arrive; the first that does not ends the read with what came before.
    pub fn read(&mut self, buffer: &mut [u8]) -> Transfer {
        let timeout_ns = u64::from(self.settings.timeout_us) * 1000;
        for (count, slot) in buffer.iter_mut().enumerate() {
            let start = self.clock.now_ns();
            *slot = loop {
                if let Some(byte) = self.next_byte() {
                    break byte;
                }
                if self.clock.now_ns().saturating_sub(start) >= timeout_ns {
                    return Transfer::TimedOut(count);
                }
                core::hint::spin_loop();
            };
        }
        Transfer::Complete
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::console::terminal_model::Terminal;

    fn line() -> (&'static Terminal, Line) {
        let model = Terminal::new(10_000);
        (model, Line::new(model, model))
    }

    #[test]
    fn attributes_accept_the_console_line_and_defaults_only() {
        let (_, mut line) = line();
        let s = line
            .set_attributes(0, 0, 0, DEFAULT_PARITY, 0, DEFAULT_STOP_BITS)
            .unwrap();
        assert_eq!(s, Settings::DEFAULT);
        let s = line
            .set_attributes(115_200, 1, 5000, NO_PARITY, 8, ONE_STOP_BIT)
            .unwrap();
        assert_eq!(s.timeout_us, 5000);
        assert_eq!(line.settings().timeout_us, 5000);
        for (baud, parity, data, stop) in [
            (9600, 0, 0, 0),
            (0, 2, 0, 0),
            (0, 9, 0, 0),
            (0, 0, 7, 0),
            (0, 0, 0, 3),
            (0, 0, 0, 4),
        ] {
            assert!(matches!(
                line.set_attributes(baud, 0, 0, parity, data, stop),
                Err(Error::UnsupportedAttribute { .. })
            ));
        }
        assert_eq!(line.settings().timeout_us, 5000, "a refused call changes nothing");
    }

    #[test]
    fn control_reports_line_state_and_sets_only_what_it_can() {
        let (model, mut line) = line();
        assert_eq!(
            line.control(),
            DATA_TERMINAL_READY | REQUEST_TO_SEND | LINE_READY | OUTPUT_BUFFER_EMPTY | INPUT_BUFFER_EMPTY
        );
        model.rx.lock().unwrap().push_back(b'x');
        assert_eq!(line.control() & INPUT_BUFFER_EMPTY, 0);
        // The byte GetControl saw is the next one read.
        let mut one = [0u8; 1];
        assert_eq!(line.read(&mut one), Transfer::Complete);
        assert_eq!(one, *b"x");
        assert_eq!(
            line.set_control(HARDWARE_FLOW_CONTROL_ENABLE),
            Err(Error::UnsupportedControl {
                bits: HARDWARE_FLOW_CONTROL_ENABLE
            })
        );
        assert!(line.set_control(CLEAR_TO_SEND).is_err());
        line.set_control(0).unwrap();
        assert_eq!(line.control() & (DATA_TERMINAL_READY | REQUEST_TO_SEND), 0);
        assert_eq!(CONTROL_MASK & RING_INDICATE, 0);
    }

    #[test]
    fn read_times_out_per_character_with_the_count_so_far() {
        let (model, mut line) = line();
        line.set_attributes(0, 0, 100, 0, 0, 0).unwrap();
        model.rx.lock().unwrap().extend(b"ab");
        let mut buffer = [0u8; 4];
        assert_eq!(line.read(&mut buffer), Transfer::TimedOut(2));
        assert_eq!(&buffer[..2], b"ab");
        assert_eq!(line.read(&mut []), Transfer::Complete);
        assert_eq!(line.write(b"hello"), Transfer::Complete);
        assert_eq!(*model.tx.lock().unwrap(), b"hello");
    }

    #[test]
    fn software_loopback_returns_what_was_written_and_is_bounded() {
        let (model, mut line) = line();
        line.set_control(SOFTWARE_LOOPBACK_ENABLE | DATA_TERMINAL_READY)
            .unwrap();
        assert_ne!(line.control() & INPUT_BUFFER_EMPTY, 0);
        assert_eq!(line.write(b"ping"), Transfer::Complete);
        assert_eq!(line.control() & INPUT_BUFFER_EMPTY, 0);
        let mut back = [0u8; 4];
        assert_eq!(line.read(&mut back), Transfer::Complete);
        assert_eq!(&back, b"ping");
        assert!(model.tx.lock().unwrap().is_empty(), "nothing reached the wire");
        let big = std::vec![7u8; LOOPBACK_CAPACITY + 10];
        assert_eq!(line.write(&big), Transfer::TimedOut(LOOPBACK_CAPACITY));
        line.reset();
        assert_eq!(line.control() & SOFTWARE_LOOPBACK_ENABLE, 0);
    }
}
