//! A model of the i8042 and its keyboard as the VMMs offer them, for host
//! tests: QEMU's (a full controller, translation on by default), Cloud
//! Hypervisor's (status reads 0, only the reset command does anything), none
//! at all (the bus reads all ones), and a controller with nothing plugged in.
//! Every status read advances the model's clock by a microsecond, so bounded
//! waits end.

use super::*;
use std::sync::{Arc, Mutex};
use std::vec::Vec;

/// The controller and keyboard a VMM offers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Machine {
    /// QEMU's i8042 with a keyboard; `translate` is the configuration's
    /// translation bit as firmware before us left it.
    Qemu { translate: bool },
    /// Cloud Hypervisor's: status reads 0 and commands are ignored.
    ResetOnly,
    /// No controller: the ports read all ones.
    Absent,
    /// A controller (translating) with no keyboard on its port.
    NoKeyboard,
}

/// What the keyboard expects as the argument of its last command.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum KbdArgument {
    None,
    Leds,
    ScanSet,
}

pub struct State {
    pub machine: Machine,
    pub now_ns: u64,
    pub config: u8,
    /// Bytes waiting for the guest, and whether each is from the aux port.
    pub output: VecDeque<(u8, bool)>,
    pub scan_set: u8,
    pub scanning: bool,
    pub leds: u8,
    /// Every byte the guest sent to the keyboard.
    pub keyboard_commands: Vec<u8>,
    /// A set 1 key byte the keyboard sends just before its next ACK.
    pub type_before_next_ack: Option<u8>,
    awaiting_config: bool,
    argument: KbdArgument,
}

#[derive(Clone)]
pub struct ModelPorts(Arc<Mutex<State>>);

impl ModelPorts {
    pub fn new(machine: Machine) -> ModelPorts {
        let translate = matches!(machine, Machine::Qemu { translate: true } | Machine::NoKeyboard);
        ModelPorts(Arc::new(Mutex::new(State {
            machine,
            now_ns: 0,
            // What firmware before us left: interrupts on, keyboard enabled.
            config: 0x01 | 0x04 | if translate { CONFIG_TRANSLATE } else { 0 },
            output: VecDeque::new(),
            scan_set: 2,
            scanning: false,
            leds: 0,
            keyboard_commands: Vec::new(),
            type_before_next_ack: None,
            awaiting_config: false,
            argument: KbdArgument::None,
        })))
    }

    pub fn with<R>(&self, f: impl FnOnce(&mut State) -> R) -> R {
        f(&mut self.0.lock().unwrap())
    }

    /// The keyboard sends these set 2 bytes; the controller translates them
    /// to set 1 when configured to (only the keys the tests use).
    pub fn type_set2(&self, bytes: &[u8]) {
        self.with(|m| {
            if m.config & CONFIG_TRANSLATE == 0 {
                m.output.extend(bytes.iter().map(|&b| (b, false)));
                return;
            }
            let mut release = false;
            for &b in bytes {
                let set1 = match b {
                    0xf0 => {
                        release = true;
                        continue;
                    }
                    0xe0 => 0xe0,
                    0x72 => 0x50,
                    0x1c => 0x1e,
                    0x1a => 0x2c,
                    0x5a => 0x1c,
                    other => panic!("the model has no translation for {other:#04x}"),
                };
                let set1 = if release && set1 != 0xe0 { set1 | 0x80 } else { set1 };
                if set1 != 0xe0 {
                    release = false;
                }
                m.output.push_back((set1, false));
            }
        });
    }
}

impl State {
    fn keyboard_byte(&mut self, byte: u8) {
        self.keyboard_commands.push(byte);
        if self.machine == Machine::NoKeyboard {
            return;
        }
        match core::mem::replace(&mut self.argument, KbdArgument::None) {
            KbdArgument::Leds => self.leds = byte & 7,
            KbdArgument::ScanSet => self.scan_set = byte,
            KbdArgument::None => match byte {
                KBD_SET_LEDS => self.argument = KbdArgument::Leds,
                KBD_SCAN_CODE_SET => self.argument = KbdArgument::ScanSet,
                KBD_ENABLE_SCANNING => self.scanning = true,
                _ => {}
            },
        }
        if let Some(key) = self.type_before_next_ack.take() {
            self.output.push_back((key, false));
        }
        self.output.push_back((KBD_ACK, false));
    }
}

impl Ports for ModelPorts {
    fn read_status(&mut self) -> u8 {
        self.with(|m| {
            m.now_ns += 1_000;
            match m.machine {
                Machine::Absent => 0xff,
                Machine::ResetOnly => 0,
                _ => match m.output.front() {
                    Some((_, aux)) => STATUS_OUTPUT_FULL | if *aux { STATUS_AUX_DATA } else { 0 },
                    None => 0,
                },
            }
        })
    }

    fn read_data(&mut self) -> u8 {
        self.with(|m| match m.machine {
            Machine::Absent => 0xff,
            Machine::ResetOnly => 0,
            _ => m.output.pop_front().map_or(0, |(b, _)| b),
        })
    }

    fn write_command(&mut self, command: u8) {
        self.with(|m| {
            if matches!(m.machine, Machine::Absent | Machine::ResetOnly) {
                return;
            }
            match command {
                CMD_READ_CONFIG => {
                    let config = m.config;
                    m.output.push_back((config, false));
                }
                CMD_WRITE_CONFIG => m.awaiting_config = true,
                CMD_DISABLE_KEYBOARD => m.config |= CONFIG_KEYBOARD_DISABLED,
                CMD_ENABLE_KEYBOARD => m.config &= !CONFIG_KEYBOARD_DISABLED,
                CMD_DISABLE_AUX => m.config |= CONFIG_AUX_DISABLED,
                _ => {}
            }
        })
    }

    fn write_data(&mut self, data: u8) {
        self.with(|m| {
            if matches!(m.machine, Machine::Absent | Machine::ResetOnly) {
                return;
            }
            if core::mem::replace(&mut m.awaiting_config, false) {
                m.config = data;
            } else {
                m.keyboard_byte(data);
            }
        })
    }

    fn now_ns(&self) -> u64 {
        self.with(|m| m.now_ns)
    }
}
