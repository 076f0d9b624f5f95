//! The Arm PrimeCell UART PL011 (Arm DDI 0183G, "PrimeCell UART (PL011)
//! Technical Reference Manual", §3 programmer's model), as QEMU `virt` and Cloud
//! Hypervisor's aarch64 machine provide it: 8 data bits, no parity, one stop
//! bit, FIFOs on, interrupts masked, polled. The VMMs ignore the baud rate, so
//! the divisors are left as they are.

use crate::mmio::Registers32;

const UARTDR: usize = 0x000;
const UARTFR: usize = 0x018;
const UARTLCR_H: usize = 0x02c;
const UARTCR: usize = 0x030;
const UARTIMSC: usize = 0x038;
const UARTICR: usize = 0x044;

const FR_RXFE: u32 = 1 << 4;
const FR_TXFF: u32 = 1 << 5;
const LCR_H_FEN: u32 = 1 << 4;
const LCR_H_WLEN_8: u32 = 0b11 << 5;
const CR_UARTEN: u32 = 1 << 0;
const CR_TXE: u32 = 1 << 8;
const CR_RXE: u32 = 1 << 9;
/// Every interrupt source (UARTICR bits 0..=10).
const ALL_INTERRUPTS: u32 = 0x7ff;
/// Polls of the flag register before a byte is dropped: a UART that never
/// drains must not hang the firmware.
const TX_SPINS: u32 = 100_000;

/// An Arm PL011 UART, polled. Its registers: `mmio::Mmio32` on the
/// machine, a model in tests.
pub struct Pl011<R: Registers32> {
    regs: R,
}

impl<R: Registers32> Pl011<R> {
    /// The UART behind `regs`.
    pub const fn new(regs: R) -> Self {
        Pl011 { regs }
    }

    /// Programs the line: 8N1 with FIFOs, transmit and receive enabled,
    /// interrupts masked and cleared. The UART is disabled while LCR_H changes,
    /// as §3.3.8 requires.
    pub fn init(&self) {
        self.regs.write(UARTCR, 0);
        self.regs.write(UARTIMSC, 0);
        self.regs.write(UARTICR, ALL_INTERRUPTS);
        self.regs.write(UARTLCR_H, LCR_H_WLEN_8 | LCR_H_FEN);
        self.regs.write(UARTCR, CR_UARTEN | CR_TXE | CR_RXE);
    }

    /// Sends a byte, waiting (a bounded while) for room in the transmit FIFO.
    pub fn write_byte(&self, byte: u8) {
        for _ in 0..TX_SPINS {
            if self.regs.read(UARTFR) & FR_TXFF == 0 {
                break;
            }
            core::hint::spin_loop();
        }
        self.regs.write(UARTDR, u32::from(byte));
    }

    /// Sends every byte of `bytes`.
    pub fn write_bytes(&self, bytes: &[u8]) {
        for &b in bytes {
            self.write_byte(b);
        }
    }

    /// A received byte, if one is waiting (error bits 8..11 of UARTDR dropped).
    pub fn read_byte(&self) -> Option<u8> {
        (self.regs.read(UARTFR) & FR_RXFE == 0).then(|| self.regs.read(UARTDR) as u8)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::cell::{Cell, RefCell};
    use std::vec::Vec;

    /// Records writes; the flag register reports "receive FIFO empty" unless
    /// `rx` has bytes, and "transmit FIFO full" while `full_polls` lasts.
    #[derive(Default)]
    struct Model {
        writes: RefCell<Vec<(usize, u32)>>,
        rx: RefCell<Vec<u8>>,
        full_polls: Cell<u32>,
    }

    impl Registers32 for &Model {
        fn read(&self, offset: usize) -> u32 {
            match offset {
                UARTFR => {
                    let full = if self.full_polls.get() > 0 {
                        self.full_polls.set(self.full_polls.get() - 1);
                        FR_TXFF
                    } else {
                        0
                    };
                    full | if self.rx.borrow().is_empty() { FR_RXFE } else { 0 }
                }
                UARTDR => u32::from(self.rx.borrow_mut().remove(0)) | 1 << 8,
                _ => 0,
            }
        }
        fn write(&self, offset: usize, value: u32) {
            self.writes.borrow_mut().push((offset, value));
        }
    }

    #[test]
    fn programs_8n1_with_fifos_while_disabled() {
        let model = Model::default();
        Pl011::new(&model).init();
        let writes = model.writes.borrow();
        assert_eq!(writes.first(), Some(&(UARTCR, 0)));
        let lcr = writes.iter().position(|&(r, _)| r == UARTLCR_H).unwrap();
        assert_eq!(writes[lcr].1, LCR_H_WLEN_8 | LCR_H_FEN);
        assert_eq!(writes.last(), Some(&(UARTCR, CR_UARTEN | CR_TXE | CR_RXE)));
        assert!(writes.contains(&(UARTIMSC, 0)));
    }

    #[test]
    fn waits_for_fifo_space_then_sends() {
        let model = Model::default();
        model.full_polls.set(3);
        Pl011::new(&model).write_bytes(b"ok");
        assert_eq!(
            &model.writes.borrow()[..],
            &[(UARTDR, u32::from(b'o')), (UARTDR, u32::from(b'k'))]
        );
        assert_eq!(model.full_polls.get(), 0);
    }

    #[test]
    fn a_uart_that_never_drains_does_not_hang() {
        let model = Model::default();
        model.full_polls.set(u32::MAX);
        Pl011::new(&model).write_byte(b'x');
        assert_eq!(&model.writes.borrow()[..], &[(UARTDR, u32::from(b'x'))]);
    }

    #[test]
    fn receives_bytes_without_error_bits() {
        let model = Model::default();
        let uart = Pl011::new(&model);
        assert_eq!(uart.read_byte(), None);
        model.rx.borrow_mut().push(b'q');
        assert_eq!(uart.read_byte(), Some(b'q'));
        assert_eq!(uart.read_byte(), None);
    }
}
