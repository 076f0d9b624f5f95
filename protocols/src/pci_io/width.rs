//! The width argument both PCI protocols share (UEFI 2.10 §14.2.2
//! `EFI_PCI_ROOT_BRIDGE_IO_PROTOCOL_WIDTH`, §14.4 `EFI_PCI_IO_PROTOCOL_WIDTH`):
//! an access size, and how the address and the buffer move from one access
//! to the next.
#![forbid(unsafe_code)]

use super::Error;
use fw_drivers::pci::AccessWidth;

/// How a multi-access request advances.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    /// Address and buffer both advance by the width.
    Normal,
    /// The address stays, the buffer advances (a FIFO register).
    Fifo,
    /// The address advances, the buffer stays (one value fills a range).
    Fill,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
/// A decoded `EFI_PCI_IO_PROTOCOL_WIDTH`: the size of each access and how the address moves.
pub struct Width {
    /// The size of each access.
    pub access: AccessWidth,
    /// How the address moves between accesses.
    pub step: Step,
}

/// `...WidthMaximum`: the first invalid value.
pub const WIDTH_MAXIMUM: u32 = 12;

impl Width {
    /// Decodes the raw enum: 0-3 normal, 4-7 FIFO, 8-11 fill, each for 1,
    /// 2, 4 and 8 bytes.
    pub fn from_raw(raw: u32) -> Result<Width, Error> {
        if raw >= WIDTH_MAXIMUM {
            return Err(Error::BadWidth(raw));
        }
        let access = [AccessWidth::U8, AccessWidth::U16, AccessWidth::U32, AccessWidth::U64][(raw % 4) as usize];
        let step = [Step::Normal, Step::Fifo, Step::Fill][(raw / 4) as usize];
        Ok(Width { access, step })
    }

    /// Only a plain width (Poll, CopyMem).
    pub fn plain(raw: u32) -> Result<AccessWidth, Error> {
        match Width::from_raw(raw)? {
            Width {
                access,
                step: Step::Normal,
            } => Ok(access),
            _ => Err(Error::BadWidth(raw)),
        }
    }

    /// The bytes of each access.
    pub fn bytes(&self) -> u64 {
        self.access.bytes()
    }

    /// Bytes of the address space `count` accesses touch.
    pub fn span(&self, count: usize) -> Result<u64, Error> {
        match self.step {
            Step::Fifo => Ok(self.bytes()),
            Step::Normal | Step::Fill => (count as u64).checked_mul(self.bytes()).ok_or(Error::TooLong { count }),
        }
    }

    /// Bytes of the caller's buffer `count` accesses use.
    pub fn buffer_len(&self, count: usize) -> Result<usize, Error> {
        let len = match self.step {
            Step::Fill => self.bytes(),
            Step::Normal | Step::Fifo => (count as u64)
                .checked_mul(self.bytes())
                .ok_or(Error::TooLong { count })?,
        };
        usize::try_from(len)
            .ok()
            .filter(|&l| isize::try_from(l).is_ok())
            .ok_or(Error::TooLong { count })
    }

    /// The address of access `i` from `base`, and its place in the buffer.
    pub fn position(&self, base: u64, i: usize) -> (u64, usize) {
        let n = self.bytes();
        match self.step {
            Step::Normal => (base + i as u64 * n, i * n as usize),
            Step::Fifo => (base, i * n as usize),
            Step::Fill => (base + i as u64 * n, 0),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_every_width_and_refuses_maximum() {
        let w = Width::from_raw(6).unwrap();
        assert_eq!((w.access, w.step), (AccessWidth::U32, Step::Fifo));
        let w = Width::from_raw(11).unwrap();
        assert_eq!((w.access, w.step), (AccessWidth::U64, Step::Fill));
        assert_eq!(Width::from_raw(12), Err(Error::BadWidth(12)));
        assert_eq!(Width::plain(1), Ok(AccessWidth::U16));
        assert_eq!(Width::plain(5), Err(Error::BadWidth(5)));
    }

    #[test]
    fn fifo_stays_on_one_address_and_fill_on_one_buffer_element() {
        let fifo = Width::from_raw(5).unwrap();
        assert_eq!((fifo.span(8).unwrap(), fifo.buffer_len(8).unwrap()), (2, 16));
        assert_eq!(fifo.position(0x100, 3), (0x100, 6));
        let fill = Width::from_raw(10).unwrap();
        assert_eq!((fill.span(8).unwrap(), fill.buffer_len(8).unwrap()), (32, 4));
        assert_eq!(fill.position(0x100, 3), (0x10c, 0));
        let normal = Width::from_raw(3).unwrap();
        assert_eq!(normal.position(0x100, 2), (0x110, 16));
        assert!(normal.buffer_len(usize::MAX).is_err());
    }
}
