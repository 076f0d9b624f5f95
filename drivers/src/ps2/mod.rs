//! The PC keyboard controller (Intel 8042 and its emulations) and the PS/2
//! keyboard behind it, polled.
//!
//! The controller has a data port (0x60) and a status/command port (0x64).
//! Status bit 0 says a byte waits in the output buffer (bit 5: from the
//! auxiliary, mouse, port), bit 1 that the controller has not yet taken the
//! last byte written. Commands to the controller go to 0x64 (their argument
//! and any byte meant for the keyboard to 0x60); answers come back through
//! the output buffer. The configuration byte (commands 0x20/0x60) enables the
//! interrupts, the ports, and translation of the keyboard's scan code set 2
//! into set 1.
//!
//! [`I8042::probe`] brings the keyboard up with every wait bounded: a machine
//! without a controller (all ones on the bus) is recognised at once, and one
//! whose controller does not answer (Cloud Hypervisor's i8042 only implements
//! the reset line) after [`ANSWER_TIMEOUT_NS`]. Interrupts stay off (the
//! firmware polls); the OS's driver sets the controller up again for itself.
#![forbid(unsafe_code)]

#[cfg(test)]
pub(crate) mod model;
pub mod scancode;

use crate::input::{KeyEvent, Keyboard, Leds};
use alloc::collections::VecDeque;
use core::fmt;
use log::debug;
use scancode::{ScanCodeSet, ScanDecoder};

// I/O ports.
/// Data port: bytes from the output buffer are read here, and arguments of
/// controller commands and bytes for the keyboard are written here.
pub const DATA_PORT: u16 = 0x60;
/// Status register (read side of port 0x64).
pub const STATUS_PORT: u16 = 0x64;
/// Command register (write side of port 0x64).
pub const COMMAND_PORT: u16 = 0x64;

// Status register bits.
/// A byte waits in the output buffer, to be read from [`DATA_PORT`].
pub const STATUS_OUTPUT_FULL: u8 = 0x01;
/// The controller has not yet taken the last byte written to it.
pub const STATUS_INPUT_FULL: u8 = 0x02;
/// The byte in the output buffer comes from the auxiliary (mouse) port.
pub const STATUS_AUX_DATA: u8 = 0x20;

// Controller commands.
/// Read the configuration byte; it comes back through the output buffer.
pub const CMD_READ_CONFIG: u8 = 0x20;
/// Write the configuration byte, which follows on [`DATA_PORT`].
pub const CMD_WRITE_CONFIG: u8 = 0x60;
/// Disable the auxiliary (mouse) port.
pub const CMD_DISABLE_AUX: u8 = 0xa7;
/// Disable the keyboard port.
pub const CMD_DISABLE_KEYBOARD: u8 = 0xad;
/// Enable the keyboard port.
pub const CMD_ENABLE_KEYBOARD: u8 = 0xae;

// Configuration byte bits.
/// Interrupt (IRQ 1) when a keyboard byte arrives.
pub const CONFIG_KEYBOARD_INTERRUPT: u8 = 0x01;
/// Interrupt (IRQ 12) when a mouse byte arrives.
pub const CONFIG_AUX_INTERRUPT: u8 = 0x02;
/// The keyboard port's clock is off (port disabled).
pub const CONFIG_KEYBOARD_DISABLED: u8 = 0x10;
/// The auxiliary (mouse) port's clock is off (port disabled).
pub const CONFIG_AUX_DISABLED: u8 = 0x20;
/// The controller translates the keyboard's scan code set 2 into set 1.
pub const CONFIG_TRANSLATE: u8 = 0x40;

// Keyboard commands and answers.
/// Set the lock LEDs; the LED bits (scroll 0, num 1, caps 2) follow.
pub const KBD_SET_LEDS: u8 = 0xed;
/// Get or set the scan code set; the set's number (or 0 to ask) follows.
pub const KBD_SCAN_CODE_SET: u8 = 0xf0;
/// Start sending scan codes.
pub const KBD_ENABLE_SCANNING: u8 = 0xf4;
/// The keyboard's acknowledgement of a command or argument byte.
pub const KBD_ACK: u8 = 0xfa;
/// The keyboard asks for the last byte again.
pub const KBD_RESEND: u8 = 0xfe;

/// How long the controller may take to answer a command or take a byte. An
/// emulated controller answers at once; real ones within microseconds. This is
/// also what a machine with a silent controller (Cloud Hypervisor) costs: once.
pub const ANSWER_TIMEOUT_NS: u64 = 2_000_000;
/// How long the keyboard may take to acknowledge a command (it sits behind a
/// slow serial line on real hardware; emulated ones answer at once).
pub const KEYBOARD_ACK_TIMEOUT_NS: u64 = 25_000_000;
/// Stale bytes drained from the output buffer at most before set-up.
const MAX_FLUSH: usize = 32;
/// Bytes read per poll at most, so a stuck status bit cannot hang the firmware.
pub const MAX_BYTES_PER_POLL: usize = 32;
/// Key bytes that arrived while waiting for an ACK, kept for the next poll.
const MAX_HELD_BYTES: usize = 32;

/// Access to the controller's two ports and a clock for the timeouts.
pub trait Ports: Send {
    /// Reads the status register ([`STATUS_PORT`]).
    fn read_status(&mut self) -> u8;
    /// Reads the output buffer ([`DATA_PORT`]).
    fn read_data(&mut self) -> u8;
    /// Writes a controller command ([`COMMAND_PORT`]).
    fn write_command(&mut self, command: u8);
    /// Writes a command's argument or a byte for the keyboard ([`DATA_PORT`]).
    fn write_data(&mut self, data: u8);
    /// A monotonic clock in nanoseconds.
    fn now_ns(&self) -> u64;
}

/// Why there is no PS/2 keyboard to use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Error {
    /// The status port reads all ones: nothing decodes the ports.
    NoController {
        /// What the status port read.
        status: u8,
    },
    /// The controller did not take a byte written to it in time.
    InputBufferStuck {
        /// The command or data byte it did not take.
        byte: u8,
    },
    /// The controller did not answer `command` in time.
    NoAnswer {
        /// The controller command left unanswered.
        command: u8,
    },
    /// The keyboard did not acknowledge `command`; `answer` is what came instead.
    KeyboardNoAck {
        /// The keyboard command or argument byte sent.
        command: u8,
        /// The byte the keyboard sent instead of an ACK; `None` if nothing came in time.
        answer: Option<u8>,
    },
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::NoController { status } => write!(f, "no i8042 controller (status {status:#04x})"),
            Error::InputBufferStuck { byte } => {
                write!(
                    f,
                    "the i8042 did not take {byte:#04x} within {} ms",
                    ANSWER_TIMEOUT_NS / 1_000_000
                )
            }
            Error::NoAnswer { command } => write!(
                f,
                "the i8042 did not answer command {command:#04x} within {} ms",
                ANSWER_TIMEOUT_NS / 1_000_000
            ),
            Error::KeyboardNoAck {
                command,
                answer: Some(answer),
            } => write!(f, "the keyboard answered {answer:#04x} to {command:#04x}, not ACK"),
            Error::KeyboardNoAck { command, answer: None } => write!(
                f,
                "no keyboard acknowledged {command:#04x} within {} ms",
                KEYBOARD_ACK_TIMEOUT_NS / 1_000_000
            ),
        }
    }
}

/// Whether the controller's translation to set 1 is kept as found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Translation {
    /// As the VMM (or firmware before us) left it: QEMU translates.
    AsFound,
    /// Switched off, so the keyboard's own set 2 reaches the firmware (for
    /// tests of that path on a VMM that translates).
    Off,
}

/// A PS/2 keyboard behind an i8042, set up for polling.
pub struct I8042<P: Ports> {
    ports: P,
    decoder: ScanDecoder,
    /// Key bytes read while waiting for an acknowledgement.
    held: VecDeque<u8>,
    leds: Leds,
}

impl<P: Ports> I8042<P> {
    /// Finds the controller and the keyboard and enables it with interrupts
    /// off. The keyboard then sends set 1 codes if the controller translates
    /// (QEMU's default), else it is switched to set 2.
    pub fn probe(ports: P) -> Result<I8042<P>, Error> {
        Self::probe_with(ports, Translation::AsFound)
    }

    /// [`probe`](Self::probe), choosing what becomes of translation.
    pub fn probe_with(mut ports: P, translation: Translation) -> Result<I8042<P>, Error> {
        let status = ports.read_status();
        if status == 0xff {
            return Err(Error::NoController { status });
        }
        let mut ctl = I8042 {
            ports,
            decoder: ScanDecoder::new(ScanCodeSet::Set1),
            held: VecDeque::new(),
            leds: Leds::default(),
        };
        ctl.command(CMD_DISABLE_KEYBOARD)?;
        ctl.command(CMD_DISABLE_AUX)?;
        ctl.flush();
        ctl.command(CMD_READ_CONFIG)?;
        let config = ctl.answer(CMD_READ_CONFIG)?;
        let mut new_config = (config & !(CONFIG_KEYBOARD_INTERRUPT | CONFIG_AUX_INTERRUPT | CONFIG_KEYBOARD_DISABLED))
            | CONFIG_AUX_DISABLED;
        if translation == Translation::Off {
            new_config &= !CONFIG_TRANSLATE;
        }
        ctl.command(CMD_WRITE_CONFIG)?;
        ctl.write(new_config)?;
        ctl.command(CMD_ENABLE_KEYBOARD)?;
        let set = if new_config & CONFIG_TRANSLATE != 0 {
            ScanCodeSet::Set1
        } else {
            ScanCodeSet::Set2
        };
        if let Err(e) = ctl.start_keyboard(set) {
            // No keyboard to use: give the controller back its interrupts and
            // translation as found (the configuration read with both ports
            // disabled for the probe).
            let _ = ctl.command(CMD_WRITE_CONFIG).and_then(|()| ctl.write(config));
            return Err(e);
        }
        ctl.decoder = ScanDecoder::new(set);
        ctl.held.clear();
        debug!("i8042: keyboard ready, config {config:#04x} -> {new_config:#04x}, {set}");
        Ok(ctl)
    }

    /// Has the keyboard send `set` (set 2 needs asking: set 1 is the
    /// controller's translation of it) and start scanning.
    fn start_keyboard(&mut self, set: ScanCodeSet) -> Result<(), Error> {
        if set == ScanCodeSet::Set2 {
            self.keyboard_command(KBD_SCAN_CODE_SET)?;
            self.keyboard_command(2)?;
        }
        self.keyboard_command(KBD_ENABLE_SCANNING)
    }

    /// The scan code set the keyboard's bytes are decoded as.
    pub fn scan_code_set(&self) -> ScanCodeSet {
        self.decoder.set()
    }

    fn wait_input_empty(&mut self, byte: u8) -> Result<(), Error> {
        let start = self.ports.now_ns();
        while self.ports.read_status() & STATUS_INPUT_FULL != 0 {
            if self.ports.now_ns().saturating_sub(start) >= ANSWER_TIMEOUT_NS {
                return Err(Error::InputBufferStuck { byte });
            }
            core::hint::spin_loop();
        }
        Ok(())
    }

    fn command(&mut self, command: u8) -> Result<(), Error> {
        self.wait_input_empty(command)?;
        self.ports.write_command(command);
        Ok(())
    }

    fn write(&mut self, data: u8) -> Result<(), Error> {
        self.wait_input_empty(data)?;
        self.ports.write_data(data);
        Ok(())
    }

    /// The next byte from the output buffer within `timeout_ns`, if any.
    fn read_within(&mut self, timeout_ns: u64) -> Option<u8> {
        let start = self.ports.now_ns();
        loop {
            if self.ports.read_status() & STATUS_OUTPUT_FULL != 0 {
                return Some(self.ports.read_data());
            }
            if self.ports.now_ns().saturating_sub(start) >= timeout_ns {
                return None;
            }
            core::hint::spin_loop();
        }
    }

    fn answer(&mut self, command: u8) -> Result<u8, Error> {
        self.read_within(ANSWER_TIMEOUT_NS).ok_or(Error::NoAnswer { command })
    }

    fn flush(&mut self) {
        for _ in 0..MAX_FLUSH {
            if self.ports.read_status() & STATUS_OUTPUT_FULL == 0 {
                return;
            }
            let _ = self.ports.read_data();
        }
    }

    /// Sends `byte` to the keyboard and waits for its ACK; key bytes that
    /// arrive first are kept for [`Keyboard::poll_event`]. One resend is
    /// honoured.
    fn keyboard_command(&mut self, byte: u8) -> Result<(), Error> {
        let mut resent = false;
        self.write(byte)?;
        let start = self.ports.now_ns();
        loop {
            let left = KEYBOARD_ACK_TIMEOUT_NS.saturating_sub(self.ports.now_ns().saturating_sub(start));
            let Some(answer) = self.read_within(left) else {
                return Err(Error::KeyboardNoAck {
                    command: byte,
                    answer: None,
                });
            };
            match answer {
                KBD_ACK => return Ok(()),
                KBD_RESEND if !resent => {
                    resent = true;
                    self.write(byte)?;
                }
                KBD_RESEND => {
                    return Err(Error::KeyboardNoAck {
                        command: byte,
                        answer: Some(answer),
                    })
                }
                key => {
                    if self.held.len() < MAX_HELD_BYTES {
                        self.held.push_back(key);
                    }
                }
            }
        }
    }
}

impl<P: Ports> Keyboard for I8042<P> {
    fn poll_event(&mut self) -> Option<KeyEvent> {
        for _ in 0..MAX_BYTES_PER_POLL {
            let byte = match self.held.pop_front() {
                Some(byte) => byte,
                None => {
                    let status = self.ports.read_status();
                    if status & STATUS_OUTPUT_FULL == 0 || status == 0xff {
                        return None;
                    }
                    let byte = self.ports.read_data();
                    if status & STATUS_AUX_DATA != 0 {
                        // A mouse byte (the port is disabled, but one may have been queued).
                        continue;
                    }
                    byte
                }
            };
            if let Some(event) = self.decoder.feed(byte) {
                return Some(event);
            }
        }
        None
    }

    fn set_leds(&mut self, leds: Leds) {
        if leds == self.leds {
            return;
        }
        self.leds = leds;
        let bits = u8::from(leds.scroll_lock) | u8::from(leds.num_lock) << 1 | u8::from(leds.caps_lock) << 2;
        let result = self
            .keyboard_command(KBD_SET_LEDS)
            .and_then(|()| self.keyboard_command(bits));
        if let Err(e) = result {
            debug!("i8042: setting the LEDs: {e}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::model::{Machine, ModelPorts};
    use super::*;
    use crate::input::code::*;
    use std::vec::Vec;

    fn events(kbd: &mut I8042<ModelPorts>) -> Vec<KeyEvent> {
        core::iter::from_fn(|| kbd.poll_event()).collect()
    }

    #[test]
    fn qemu_controller_translates_and_the_keyboard_types_in_set_1() {
        let ports = ModelPorts::new(Machine::Qemu { translate: true });
        let mut kbd = I8042::probe(ports.clone()).unwrap();
        assert_eq!(kbd.scan_code_set(), ScanCodeSet::Set1);
        ports.with(|m| {
            assert_eq!(m.config & (CONFIG_KEYBOARD_INTERRUPT | CONFIG_AUX_INTERRUPT), 0);
            assert_ne!(m.config & CONFIG_TRANSLATE, 0);
            assert!(m.scanning);
        });
        assert_eq!(events(&mut kbd), []);
        ports.type_set2(&[0xe0, 0x72, 0xe0, 0xf0, 0x72, 0x1c]);
        assert_eq!(
            events(&mut kbd),
            [
                KeyEvent::press(KEY_DOWN),
                KeyEvent::release(KEY_DOWN),
                KeyEvent::press(KEY_A)
            ]
        );
    }

    #[test]
    fn without_translation_the_keyboard_is_switched_to_set_2() {
        let ports = ModelPorts::new(Machine::Qemu { translate: false });
        let mut kbd = I8042::probe(ports.clone()).unwrap();
        assert_eq!(kbd.scan_code_set(), ScanCodeSet::Set2);
        ports.with(|m| assert_eq!(m.scan_set, 2));
        ports.type_set2(&[0x5a, 0xf0, 0x5a]);
        assert_eq!(
            events(&mut kbd),
            [KeyEvent::press(KEY_ENTER), KeyEvent::release(KEY_ENTER)]
        );
    }

    #[test]
    fn translation_can_be_switched_off_for_set_2() {
        let ports = ModelPorts::new(Machine::Qemu { translate: true });
        let mut kbd = I8042::probe_with(ports.clone(), Translation::Off).unwrap();
        assert_eq!(kbd.scan_code_set(), ScanCodeSet::Set2);
        ports.with(|m| {
            assert_eq!(m.config & CONFIG_TRANSLATE, 0);
            assert_eq!(m.scan_set, 2);
        });
        ports.type_set2(&[0xe0, 0x75]);
        assert_eq!(events(&mut kbd), [KeyEvent::press(KEY_UP)]);
    }

    #[test]
    fn stale_bytes_before_set_up_are_drained() {
        let ports = ModelPorts::new(Machine::Qemu { translate: true });
        ports.type_set2(&[0x1c, 0xf0, 0x1c]);
        let mut kbd = I8042::probe(ports.clone()).unwrap();
        assert_eq!(events(&mut kbd), []);
    }

    #[test]
    fn leds_follow_the_lock_state_and_keys_typed_meanwhile_survive() {
        let ports = ModelPorts::new(Machine::Qemu { translate: true });
        let mut kbd = I8042::probe(ports.clone()).unwrap();
        // A key arrives just before the LED command's ACK.
        ports.with(|m| m.type_before_next_ack = Some(0x2c));
        kbd.set_leds(Leds {
            caps_lock: true,
            num_lock: true,
            scroll_lock: false,
        });
        ports.with(|m| assert_eq!(m.leds, 0b110));
        assert_eq!(events(&mut kbd), [KeyEvent::press(KEY_Z)]);
        let commands = ports.with(|m| m.keyboard_commands.len());
        kbd.set_leds(Leds {
            caps_lock: true,
            num_lock: true,
            scroll_lock: false,
        });
        assert_eq!(
            ports.with(|m| m.keyboard_commands.len()),
            commands,
            "no change, no command"
        );
    }

    #[test]
    fn mouse_bytes_are_not_keys() {
        let ports = ModelPorts::new(Machine::Qemu { translate: true });
        let mut kbd = I8042::probe(ports.clone()).unwrap();
        ports.with(|m| m.output.push_back((0x1e, true)));
        ports.type_set2(&[0x1c]);
        assert_eq!(events(&mut kbd), [KeyEvent::press(KEY_A)]);
    }

    #[test]
    fn an_absent_controller_is_recognised_without_waiting() {
        let ports = ModelPorts::new(Machine::Absent);
        assert_eq!(
            I8042::probe(ports.clone()).err(),
            Some(Error::NoController { status: 0xff })
        );
        assert_eq!(ports.with(|m| m.now_ns), 1_000, "one status read");
    }

    #[test]
    fn a_reset_only_controller_costs_one_short_timeout() {
        // Cloud Hypervisor: status reads 0, commands are ignored.
        let ports = ModelPorts::new(Machine::ResetOnly);
        assert_eq!(
            I8042::probe(ports.clone()).err(),
            Some(Error::NoAnswer {
                command: CMD_READ_CONFIG
            })
        );
        let spent = ports.with(|m| m.now_ns);
        assert!(
            (ANSWER_TIMEOUT_NS..ANSWER_TIMEOUT_NS + 1_000_000).contains(&spent),
            "{spent} ns"
        );
    }

    #[test]
    fn a_controller_without_keyboard_fails_on_the_missing_ack() {
        let ports = ModelPorts::new(Machine::NoKeyboard);
        let found = ports.with(|m| m.config);
        assert_eq!(
            I8042::probe(ports.clone()).err(),
            Some(Error::KeyboardNoAck {
                command: KBD_ENABLE_SCANNING,
                answer: None
            })
        );
        assert!(ports.with(|m| m.now_ns) <= KEYBOARD_ACK_TIMEOUT_NS + 1_000_000);
        // Interrupts and translation are left as they were found.
        let kept = CONFIG_KEYBOARD_INTERRUPT | CONFIG_AUX_INTERRUPT | CONFIG_TRANSLATE;
        assert_eq!(ports.with(|m| m.config) & kept, found & kept);
    }
}
