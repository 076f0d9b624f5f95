//! The Bochs VBE extensions ("DISPI") of QEMU's standard VGA (PCI 1234:1111,
//! class 03.00) and `bochs-display` (1234:1111, class 03.80): a set of 16-bit
//! registers that choose a linear-framebuffer mode, and the framebuffer in BAR 0.
//!
//! The registers are reached through the index/data I/O ports 0x1CE/0x1CF
//! (standard VGA on x86) or memory-mapped at BAR 2 + 0x500, one register every
//! two bytes (standard VGA with its MMIO BAR, and `bochs-display`, which has no
//! I/O ports: the only way on machines without port I/O). The standard VGA also
//! maps its legacy VGA ports 0x3C0-0x3DF at BAR 2 + 0x400; its attribute
//! controller must be told to show the picture ("palette address source").
#![forbid(unsafe_code)]

use core::fmt;

// Register indexes, as QEMU's `include/hw/display/bochs-vbe.h` (VBE_DISPI_INDEX_*)
// numbers them.
/// Index of the ID register: the interface version ([`ID_FIRST`]..=[`ID_LAST`]).
pub const INDEX_ID: u16 = 0x0;
/// Index of the horizontal resolution in pixels.
pub const INDEX_XRES: u16 = 0x1;
/// Index of the vertical resolution in pixels.
pub const INDEX_YRES: u16 = 0x2;
/// Index of the bits per pixel (the firmware sets 32).
pub const INDEX_BPP: u16 = 0x3;
/// Index of the enable register ([`ENABLE_ENABLED`], [`ENABLE_LFB`]).
pub const INDEX_ENABLE: u16 = 0x4;
/// Index of the 64 KiB bank shown in the legacy window (0 with a linear framebuffer).
pub const INDEX_BANK: u16 = 0x5;
/// Index of the virtual width: the stride in pixels, at least XRES.
pub const INDEX_VIRT_WIDTH: u16 = 0x6;
/// Index of the virtual height in rows.
pub const INDEX_VIRT_HEIGHT: u16 = 0x7;
/// Index of the first visible column within the virtual screen.
pub const INDEX_X_OFFSET: u16 = 0x8;
/// Index of the first visible row within the virtual screen.
pub const INDEX_Y_OFFSET: u16 = 0x9;
/// Index of the video memory size in 64 KiB units (from version 0xB0C5 on).
pub const INDEX_VIDEO_MEMORY_64K: u16 = 0xa;

/// The first ID of the interface's versions.
pub const ID_FIRST: u16 = 0xb0c0;
/// The last ID of the interface's versions; QEMU reports this one.
pub const ID_LAST: u16 = 0xb0c5;
/// VIDEO_MEMORY_64K exists from this version on.
const ID_WITH_MEMORY_SIZE: u16 = 0xb0c5;

/// ENABLE bit: the mode set in the other registers is on.
pub const ENABLE_ENABLED: u16 = 0x01;
/// ENABLE bit: the framebuffer is linear (in BAR 0), not banked.
pub const ENABLE_LFB: u16 = 0x40;

/// Offset of the DISPI registers in BAR 2.
pub const MMIO_DISPI_OFFSET: u64 = 0x500;
/// Offset of the VGA ports 0x3C0.. in BAR 2.
pub const MMIO_VGA_OFFSET: u64 = 0x400;

// VGA ports for un-blanking: reading the input status resets the attribute
// controller's flip-flop to "index"; index 0x20 sets "palette address source".
/// The VGA attribute controller's index/data port (the first of the ports in
/// BAR 2 at [`MMIO_VGA_OFFSET`]).
pub const VGA_ATTRIBUTE: u16 = 0x3c0;
/// The VGA input status register 1 (colour), read to reset the attribute
/// controller's flip-flop.
pub const VGA_INPUT_STATUS_1: u16 = 0x3da;
const VGA_ATTRIBUTE_PAS: u8 = 0x20;

/// Access to the registers (ports or MMIO) and, on a standard VGA, its ports.
pub trait DispiRegisters: Send {
    /// Reads the DISPI register `index` (an `INDEX_*`).
    fn read(&self, index: u16) -> u16;
    /// Writes `value` to the DISPI register `index` (an `INDEX_*`).
    fn write(&self, index: u16, value: u16);
    /// Reads a legacy VGA port 0x3C0..0x3DF (standard VGA only).
    fn vga_read(&self, port: u16) -> u8;
    /// Writes `value` to a legacy VGA port 0x3C0..0x3DF (standard VGA only).
    fn vga_write(&self, port: u16, value: u8);
}

/// Why the device did not do what was asked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Error {
    /// The ID register does not name a DISPI version.
    NotDispi {
        /// What the ID register read.
        id: u16,
    },
    /// A register read back differently after setting a mode.
    Rejected {
        /// The register's name (`XRES`, `YRES`, `BPP`, `VIRT_WIDTH`).
        register: &'static str,
        /// The value written.
        wrote: u16,
        /// The value read back.
        read: u16,
    },
    /// A mode with a side of 0 or above the registers' range.
    BadSize {
        /// The width asked for, in pixels.
        width: u32,
        /// The height asked for, in pixels.
        height: u32,
    },
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::NotDispi { id } => write!(f, "ID register reads {id:#06x}, not a Bochs DISPI"),
            Error::Rejected { register, wrote, read } => {
                write!(f, "{register} set to {wrote} reads back {read}")
            }
            Error::BadSize { width, height } => write!(f, "{width}x{height} is not a DISPI mode"),
        }
    }
}

/// A DISPI interface.
pub struct Dispi<R: DispiRegisters> {
    registers: R,
    id: u16,
}

impl<R: DispiRegisters> Dispi<R> {
    /// Checks the ID register.
    pub fn new(registers: R) -> Result<Dispi<R>, Error> {
        let id = registers.read(INDEX_ID);
        if !(ID_FIRST..=ID_LAST).contains(&id) {
            return Err(Error::NotDispi { id });
        }
        Ok(Dispi { registers, id })
    }

    /// The interface version the ID register reported (`ID_FIRST..=ID_LAST`).
    pub fn id(&self) -> u16 {
        self.id
    }

    /// Bytes of video memory, if this version says.
    pub fn video_memory(&self) -> Option<u64> {
        (self.id >= ID_WITH_MEMORY_SIZE).then(|| u64::from(self.registers.read(INDEX_VIDEO_MEMORY_64K)) << 16)
    }

    /// Sets a 32-bit linear-framebuffer mode of `width` x `height` and returns
    /// the stride in pixels (the virtual width the device settled on).
    pub fn set_mode(&self, width: u32, height: u32) -> Result<u32, Error> {
        let (Ok(w), Ok(h)) = (u16::try_from(width), u16::try_from(height)) else {
            return Err(Error::BadSize { width, height });
        };
        if w == 0 || h == 0 {
            return Err(Error::BadSize { width, height });
        }
        let r = &self.registers;
        r.write(INDEX_ENABLE, 0);
        r.write(INDEX_BPP, 32);
        r.write(INDEX_XRES, w);
        r.write(INDEX_YRES, h);
        r.write(INDEX_BANK, 0);
        r.write(INDEX_VIRT_WIDTH, w);
        r.write(INDEX_VIRT_HEIGHT, h);
        r.write(INDEX_X_OFFSET, 0);
        r.write(INDEX_Y_OFFSET, 0);
        r.write(INDEX_ENABLE, ENABLE_ENABLED | ENABLE_LFB);
        for (register, index, wrote) in [("XRES", INDEX_XRES, w), ("YRES", INDEX_YRES, h), ("BPP", INDEX_BPP, 32)] {
            let read = r.read(index);
            if read != wrote {
                return Err(Error::Rejected { register, wrote, read });
            }
        }
        let stride = r.read(INDEX_VIRT_WIDTH);
        if stride < w {
            return Err(Error::Rejected {
                register: "VIRT_WIDTH",
                wrote: w,
                read: stride,
            });
        }
        Ok(u32::from(stride))
    }

    /// Lets a standard VGA show the picture (its attribute controller blanks
    /// the screen until "palette address source" is set).
    pub fn unblank_vga(&self) {
        let _ = self.registers.vga_read(VGA_INPUT_STATUS_1);
        self.registers.vga_write(VGA_ATTRIBUTE, VGA_ATTRIBUTE_PAS);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec::Vec;
    use std::sync::Mutex;

    /// The device as QEMU's VGA behaves: registers keep what is written, the
    /// virtual width never goes below XRES, and VGA port writes are recorded.
    struct Model {
        registers: Mutex<[u16; 16]>,
        vga: Mutex<Vec<(u16, Option<u8>)>>,
        /// Refuse sizes above this width (as a device with too little memory would).
        max_width: u16,
    }

    impl Model {
        fn new(id: u16) -> Model {
            let mut registers = [0u16; 16];
            registers[INDEX_ID as usize] = id;
            registers[INDEX_VIDEO_MEMORY_64K as usize] = 256;
            Model {
                registers: Mutex::new(registers),
                vga: Mutex::default(),
                max_width: 2560,
            }
        }
    }

    impl DispiRegisters for &Model {
        fn read(&self, index: u16) -> u16 {
            self.registers.lock().unwrap()[index as usize]
        }
        fn write(&self, index: u16, value: u16) {
            let mut r = self.registers.lock().unwrap();
            match index {
                INDEX_ID | INDEX_VIDEO_MEMORY_64K => {}
                INDEX_XRES => r[1] = value.min(self.max_width),
                INDEX_VIRT_WIDTH => r[6] = value.max(r[1]),
                _ => r[index as usize] = value,
            }
        }
        fn vga_read(&self, port: u16) -> u8 {
            self.vga.lock().unwrap().push((port, None));
            0
        }
        fn vga_write(&self, port: u16, value: u8) {
            self.vga.lock().unwrap().push((port, Some(value)));
        }
    }

    #[test]
    fn sets_a_linear_32_bit_mode() {
        let model = Model::new(ID_LAST);
        let dispi = Dispi::new(&model).unwrap();
        assert_eq!(dispi.video_memory(), Some(16 << 20));
        assert_eq!(dispi.set_mode(1280, 800), Ok(1280));
        let r = *model.registers.lock().unwrap();
        assert_eq!((r[1], r[2], r[3], r[4], r[6], r[7]), (1280, 800, 32, 0x41, 1280, 800));
        dispi.unblank_vga();
        assert_eq!(*model.vga.lock().unwrap(), [(0x3da, None), (0x3c0, Some(0x20))]);
    }

    #[test]
    fn refusals_are_reported() {
        assert_eq!(
            Dispi::new(&Model::new(0xffff)).err(),
            Some(Error::NotDispi { id: 0xffff })
        );
        let model = Model {
            max_width: 1024,
            ..Model::new(0xb0c4)
        };
        let dispi = Dispi::new(&model).unwrap();
        assert_eq!(dispi.video_memory(), None);
        assert_eq!(
            dispi.set_mode(1280, 800),
            Err(Error::Rejected {
                register: "XRES",
                wrote: 1280,
                read: 1024
            })
        );
        assert_eq!(dispi.set_mode(0, 800), Err(Error::BadSize { width: 0, height: 800 }));
        assert_eq!(
            dispi.set_mode(70000, 800),
            Err(Error::BadSize {
                width: 70000,
                height: 800
            })
        );
    }
}
