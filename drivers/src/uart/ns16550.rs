//! The 16550 UART (the PC's COM1 at port 0x3f8 on QEMU and Cloud Hypervisor;
//! memory-mapped `ns16550a` on QEMU's riscv64 `virt`): 115200 baud, 8 data
//! bits, no parity, one stop bit, FIFOs on, polled.

/// Register access: port I/O on x86, MMIO elsewhere, a model in tests.
pub trait UartRegisters {
    /// The register at index `register` (0-7).
    fn read(&self, register: u8) -> u8;
    /// Writes the register at index `register`.
    fn write(&self, register: u8, value: u8);
}

const DATA: u8 = 0; // RBR/THR, or DLL with DLAB set
const INTERRUPT_ENABLE: u8 = 1; // IER, or DLM with DLAB set
const FIFO_CONTROL: u8 = 2;
const LINE_CONTROL: u8 = 3;
const MODEM_CONTROL: u8 = 4;
const LINE_STATUS: u8 = 5;

const LCR_DLAB: u8 = 0x80;
const LCR_8N1: u8 = 0x03;
const FCR_ENABLE_AND_CLEAR: u8 = 0x07;
const MCR_DTR_RTS_OUT2: u8 = 0x0b;
const LSR_DATA_READY: u8 = 0x01;
const LSR_THR_EMPTY: u8 = 0x20;
/// 115200 baud from the 1.8432 MHz reference clock.
const DIVISOR_115200: u16 = 1;
/// Polls of the line status before a byte is dropped: a port that never drains
/// (no UART at all) must not hang the firmware.
const TX_SPINS: u32 = 100_000;

/// A 16550-compatible UART, polled.
pub struct Ns16550<R: UartRegisters> {
    regs: R,
}

impl<R: UartRegisters> Ns16550<R> {
    /// The UART behind `regs`.
    pub const fn new(regs: R) -> Self {
        Ns16550 { regs }
    }

    /// Programs the line: 115200 8N1, FIFOs enabled, interrupts off.
    pub fn init(&self) {
        self.regs.write(INTERRUPT_ENABLE, 0);
        self.regs.write(LINE_CONTROL, LCR_DLAB);
        self.regs.write(DATA, DIVISOR_115200 as u8);
        self.regs.write(INTERRUPT_ENABLE, (DIVISOR_115200 >> 8) as u8);
        self.regs.write(LINE_CONTROL, LCR_8N1);
        self.regs.write(FIFO_CONTROL, FCR_ENABLE_AND_CLEAR);
        self.regs.write(MODEM_CONTROL, MCR_DTR_RTS_OUT2);
    }

    /// Sends a byte, waiting (a bounded while) for room in the transmitter.
    pub fn write_byte(&self, byte: u8) {
        for _ in 0..TX_SPINS {
            if self.regs.read(LINE_STATUS) & LSR_THR_EMPTY != 0 {
                break;
            }
            core::hint::spin_loop();
        }
        self.regs.write(DATA, byte);
    }

    /// Sends every byte of `bytes`.
    pub fn write_bytes(&self, bytes: &[u8]) {
        for &b in bytes {
            self.write_byte(b);
        }
    }

    /// A received byte, if one is waiting.
    pub fn read_byte(&self) -> Option<u8> {
        (self.regs.read(LINE_STATUS) & LSR_DATA_READY != 0).then(|| self.regs.read(DATA))
    }
}

/// The registers of a 16550 at an x86 I/O port base.
#[cfg(all(target_arch = "x86_64", target_os = "none"))]
pub struct PortRegisters {
    /// The first port (0x3F8 for COM1).
    pub base: u16,
}

#[cfg(all(target_arch = "x86_64", target_os = "none"))]
impl UartRegisters for PortRegisters {
    fn read(&self, register: u8) -> u8 {
        // SAFETY: the platform hands this driver the UART's port range.
        unsafe { fw_port_io::inb(self.base + u16::from(register)) }
    }
    fn write(&self, register: u8, value: u8) {
        // SAFETY: as above.
        unsafe { fw_port_io::outb(self.base + u16::from(register), value) }
    }
}

/// The registers of a memory-mapped 16550 with byte-wide registers, each
/// `1 << shift` bytes apart (the device tree's `reg-shift`, 0 on QEMU `virt`).
pub struct MmioRegisters {
    /// The registers' physical address.
    pub base: usize,
    /// Register spacing as a power of two.
    pub shift: u8,
}

#[cfg(target_os = "none")]
impl UartRegisters for MmioRegisters {
    fn read(&self, register: u8) -> u8 {
        let addr = self.base + ((register as usize) << self.shift);
        // SAFETY: the platform hands this driver the UART's register block,
        // as device memory (or physical addressing); the registers are bytes.
        unsafe { core::ptr::read_volatile(addr as *const u8) }
    }
    fn write(&self, register: u8, value: u8) {
        let addr = self.base + ((register as usize) << self.shift);
        // SAFETY: as above.
        unsafe { core::ptr::write_volatile(addr as *mut u8, value) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::cell::RefCell;
    use std::vec::Vec;

    /// Records writes; the line status says "transmitter empty", plus "data
    /// ready" while `rx` has bytes.
    #[derive(Default)]
    struct Model {
        writes: RefCell<Vec<(u8, u8)>>,
        rx: RefCell<Vec<u8>>,
    }

    impl UartRegisters for &Model {
        fn read(&self, register: u8) -> u8 {
            match register {
                LINE_STATUS => LSR_THR_EMPTY | if self.rx.borrow().is_empty() { 0 } else { LSR_DATA_READY },
                DATA => self.rx.borrow_mut().remove(0),
                _ => 0,
            }
        }
        fn write(&self, register: u8, value: u8) {
            self.writes.borrow_mut().push((register, value));
        }
    }

    #[test]
    fn programs_115200_8n1_with_divisor_latch() {
        let model = Model::default();
        Ns16550::new(&model).init();
        let writes = model.writes.borrow();
        let dlab = writes.iter().position(|&w| w == (LINE_CONTROL, LCR_DLAB)).unwrap();
        assert_eq!(writes[dlab + 1], (DATA, 1));
        assert_eq!(writes[dlab + 2], (INTERRUPT_ENABLE, 0));
        assert_eq!(writes[dlab + 3], (LINE_CONTROL, LCR_8N1));
    }

    #[test]
    fn sends_and_receives_bytes() {
        let model = Model::default();
        let uart = Ns16550::new(&model);
        uart.write_bytes(b"ok");
        assert_eq!(&model.writes.borrow()[..], &[(DATA, b'o'), (DATA, b'k')]);
        assert_eq!(uart.read_byte(), None);
        model.rx.borrow_mut().push(b'x');
        assert_eq!(uart.read_byte(), Some(b'x'));
    }
}
