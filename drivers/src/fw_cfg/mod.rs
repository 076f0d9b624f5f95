//! QEMU's firmware configuration device (fw_cfg), as QEMU's
//! `docs/specs/fw_cfg.rst` describes it: the signature item (`FW_CFG_SIGNATURE`,
//! "QEMU"), the feature bitmap (`FW_CFG_ID`), the file directory
//! (`FW_CFG_FILE_DIR`, see [`dir`]) and reads of named files, through the DMA
//! interface when the device offers it and through the data register otherwise.
//!
//! The register-level access sits behind [`Transport`]: [`mmio`] on the Arm and
//! RISC-V `virt` machines (`compatible = "qemu,fw-cfg-mmio"`), a model of the
//! device in host tests. fw_cfg is a QEMU convenience: callers use it where it
//! is offered and never depend on it.
//!
//! [`table_loader`] runs QEMU's ACPI linker/loader script (`etc/table-loader`)
//! over the files it names; [`padding`] tells the tables in them from padding.

pub mod dir;
mod dma;
pub mod mmio;
pub mod padding;
#[cfg(all(target_arch = "x86_64", target_os = "none"))]
pub mod port;
pub mod table_loader;
#[cfg(test)]
mod tests;

pub use dir::File;

use alloc::vec::Vec;
use core::fmt;
use log::{debug, warn};

/// Item keys (fw_cfg.rst, "Firmware Configuration Items").
pub const FW_CFG_SIGNATURE: u16 = 0x0000;
/// The interface's feature bits.
pub const FW_CFG_ID: u16 = 0x0001;
/// The file directory.
pub const FW_CFG_FILE_DIR: u16 = 0x0019;

/// What `FW_CFG_SIGNATURE` reads as.
pub const SIGNATURE: [u8; 4] = *b"QEMU";

/// `FW_CFG_ID` feature bits: the traditional data register, and DMA.
pub const FW_CFG_FEATURE_TRADITIONAL: u32 = 1 << 0;
/// The DMA interface exists.
pub const FW_CFG_FEATURE_DMA: u32 = 1 << 1;

/// `FWCfgDmaAccess.control` bits (fw_cfg.rst, "DMA interface").
pub const FW_CFG_DMA_CTL_ERROR: u32 = 0x01;
/// Read: transfer the item's bytes to memory.
pub const FW_CFG_DMA_CTL_READ: u32 = 0x02;
/// Skip: move on in the item without transfer.
pub const FW_CFG_DMA_CTL_SKIP: u32 = 0x04;
/// Select: select the item in the upper 16 bits first.
pub const FW_CFG_DMA_CTL_SELECT: u32 = 0x08;
/// Write: transfer memory to the item.
pub const FW_CFG_DMA_CTL_WRITE: u32 = 0x10;

/// The largest file the driver reads: sizes come from the device, and the
/// firmware's heap is small (ACPI and SMBIOS tables are kilobytes).
pub const MAX_FILE_SIZE: usize = 64 << 20;

/// How the firmware reaches the device's registers.
pub trait Transport {
    /// Writes the selector register: later data-register reads start at the
    /// first byte of item `key`.
    fn select(&self, key: u16);
    /// Reads the next `buf.len()` bytes of the selected item through the data
    /// register (bytes past the item's end read as 0).
    fn read_data(&self, buf: &mut [u8]);
    /// Runs one DMA request with `control` (`FW_CFG_DMA_CTL_*`, the item key in
    /// the upper 16 bits) that transfers `buf.len()` bytes into `buf`, and
    /// returns the control word the device left behind: 0 when it is done,
    /// with [`FW_CFG_DMA_CTL_ERROR`] when it failed, anything else when it did
    /// not finish in time.
    fn dma(&self, control: u32, buf: &mut [u8]) -> u32;
}

/// Why the device or one of its files could not be read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Error {
    /// `FW_CFG_SIGNATURE` did not read "QEMU".
    NoSignature {
        /// The bytes read.
        found: [u8; 4],
    },
    /// The file directory is malformed.
    Dir(dir::Error),
    /// The device set the error bit of a DMA request for item `key`.
    DmaError {
        /// The item.
        key: u16,
    },
    /// A DMA request for item `key` had not finished (`control` was left).
    DmaTimeout {
        /// The item.
        key: u16,
        /// The control word left.
        control: u32,
    },
    /// Item `key` is larger than [`MAX_FILE_SIZE`] or than the free heap.
    TooLarge {
        /// The item.
        key: u16,
        /// Its size.
        size: usize,
    },
    /// No file of that name.
    NoFile,
    /// Writing needs the DMA interface, which this device lacks.
    NoDma,
    /// A write longer than the file.
    WriteTooLong {
        /// The item.
        key: u16,
        /// Bytes to write.
        size: usize,
        /// The file's size.
        file: usize,
    },
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::NoSignature { found } => {
                write!(f, "the signature item reads {found:02x?}, not \"QEMU\"")
            }
            Error::Dir(e) => write!(f, "file directory: {e}"),
            Error::DmaError { key } => write!(f, "the device reported a DMA error reading item {key:#06x}"),
            Error::DmaTimeout { key, control } => {
                write!(f, "a DMA read of item {key:#06x} did not finish (control {control:#x})")
            }
            Error::TooLarge { key, size } => write!(f, "item {key:#06x} has {size} bytes, too many to read"),
            Error::NoFile => write!(f, "no such file"),
            Error::NoDma => write!(f, "writing needs the DMA interface"),
            Error::WriteTooLong { key, size, file } => {
                write!(f, "{size} bytes do not fit item {key:#06x} of {file} bytes")
            }
        }
    }
}

impl From<dir::Error> for Error {
    fn from(e: dir::Error) -> Self {
        Error::Dir(e)
    }
}

/// A probed fw_cfg device and its file directory.
pub struct FwCfg<T> {
    transport: T,
    features: u32,
    files: Vec<File>,
}

impl<T: Transport> FwCfg<T> {
    /// Checks the signature, reads the feature bitmap and the file directory.
    pub fn probe(transport: T) -> Result<FwCfg<T>, Error> {
        let mut signature = [0; 4];
        transport.select(FW_CFG_SIGNATURE);
        transport.read_data(&mut signature);
        if signature != SIGNATURE {
            return Err(Error::NoSignature { found: signature });
        }
        let mut id = [0; 4];
        transport.select(FW_CFG_ID);
        transport.read_data(&mut id);
        let mut device = FwCfg {
            transport,
            // The only little-endian item this driver reads.
            features: u32::from_le_bytes(id),
            files: Vec::new(),
        };
        let count = device.read_item(FW_CFG_FILE_DIR, dir::HEADER_LENGTH)?;
        let length = dir::length(&count)?;
        let directory = device.read_item(FW_CFG_FILE_DIR, length)?;
        device.files = dir::parse(&directory)?;
        debug!(
            "fw_cfg: {} files, {} interface",
            device.files.len(),
            if device.uses_dma() { "DMA" } else { "data register" }
        );
        Ok(device)
    }

    /// Does the device offer the DMA interface (and the driver use it)?
    pub fn uses_dma(&self) -> bool {
        self.features & FW_CFG_FEATURE_DMA != 0
    }

    /// The file directory, in the device's order.
    pub fn files(&self) -> &[File] {
        &self.files
    }

    /// The directory entry of file `name` ("etc/acpi/tables").
    pub fn file(&self, name: &str) -> Option<&File> {
        self.files.iter().find(|f| f.name == name)
    }

    /// The whole of file `name`, or `None` when the device has no such file or
    /// it cannot be read (said on the console).
    pub fn read_file(&self, name: &str) -> Option<Vec<u8>> {
        let file = self.file(name)?;
        match self.read_item(file.select, file.size as usize) {
            Ok(data) => Some(data),
            Err(e) => {
                warn!("fw_cfg: cannot read {name}: {e}");
                None
            }
        }
    }

    /// Writes `data` over the start of file `name` (through DMA: QEMU's data
    /// register is read-only), as `etc/ramfb` is set.
    pub fn write_file(&self, name: &str, data: &[u8]) -> Result<(), Error> {
        let file = self.file(name).ok_or(Error::NoFile)?;
        let key = file.select;
        if data.len() > file.size as usize {
            return Err(Error::WriteTooLong {
                key,
                size: data.len(),
                file: file.size as usize,
            });
        }
        if !self.uses_dma() {
            return Err(Error::NoDma);
        }
        let mut buffer = data.to_vec();
        let control = FW_CFG_DMA_CTL_SELECT | (u32::from(key) << 16) | FW_CFG_DMA_CTL_WRITE;
        match self.transport.dma(control, &mut buffer) {
            0 => Ok(()),
            left if left & FW_CFG_DMA_CTL_ERROR != 0 => Err(Error::DmaError { key }),
            left => Err(Error::DmaTimeout { key, control: left }),
        }
    }

    /// The first `len` bytes of item `key`.
    fn read_item(&self, key: u16, len: usize) -> Result<Vec<u8>, Error> {
        let too_large = Error::TooLarge { key, size: len };
        if len > MAX_FILE_SIZE {
            return Err(too_large);
        }
        let mut data = Vec::new();
        data.try_reserve_exact(len).map_err(|_| too_large)?;
        data.resize(len, 0);
        if !self.uses_dma() {
            self.transport.select(key);
            self.transport.read_data(&mut data);
            return Ok(data);
        }
        // One request: MAX_FILE_SIZE fits DMA's 32-bit length.
        let control = FW_CFG_DMA_CTL_SELECT | (u32::from(key) << 16) | FW_CFG_DMA_CTL_READ;
        match self.transport.dma(control, &mut data) {
            0 => {}
            left if left & FW_CFG_DMA_CTL_ERROR != 0 => return Err(Error::DmaError { key }),
            left => return Err(Error::DmaTimeout { key, control: left }),
        }
        Ok(data)
    }
}
