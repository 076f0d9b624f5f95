//! PE32+ images: the checks and the placement behind `EFI_BOOT_SERVICES.LoadImage()`
//! (UEFI 2.10 §7.4 and §2.1.1 "UEFI Images"; Microsoft "PE Format": §3 "Section Table",
//! §6.6 ".reloc Section").
//!
//! [`parse`] validates a file and describes it as a [`PeImage`]; [`PeImage::load`] copies
//! the headers and sections into `SizeOfImage` bytes the caller allocated and applies
//! the base relocations for wherever those bytes live. Unified kernel images keep their
//! payloads in named sections ([`UKI_SECTIONS`]); [`PeImage::section_data`] finds them.
//!
//! Nothing here touches memory outside the slices it is given: the ABI layer allocates
//! the pages, turns them into a `&mut [u8]`, and later jumps to the entry point.
#![forbid(unsafe_code)]

mod error;
mod load;
mod parse;
mod relocate;

#[cfg(test)]
mod real_binaries;
#[cfg(test)]
mod tests;

use core::fmt;

use object::pe;

use crate::memory::MemoryType;

pub use error::ImageError;
pub use load::{read_from, ReadAt};
pub use parse::{headers_len, parse, parse_headers, PeImage, RelocationDirectory, Section};

/// Sections of a unified kernel image (UAPI "Unified Kernel Image" specification):
/// the kernel, its initrd and command line, os-release, `uname -r`, a devicetree, and
/// the SBAT metadata every shim-verified image carries.
pub const UKI_SECTIONS: [&str; 7] = [".linux", ".initrd", ".cmdline", ".osrel", ".uname", ".dtb", ".sbat"];

/// A processor a PE image can be built for (PE Format §3.3.1 "Machine Types").
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Machine {
    /// x86_64 (`IMAGE_FILE_MACHINE_AMD64`).
    X86_64,
    /// AArch64 (`IMAGE_FILE_MACHINE_ARM64`).
    Aarch64,
    /// RISC-V 64-bit (`IMAGE_FILE_MACHINE_RISCV64`).
    Riscv64,
}

impl Machine {
    /// The machine this firmware is compiled for.
    #[cfg(target_arch = "x86_64")]
    pub const NATIVE: Machine = Machine::X86_64;
    #[cfg(target_arch = "aarch64")]
    /// The machine this firmware is compiled for.
    pub const NATIVE: Machine = Machine::Aarch64;
    #[cfg(target_arch = "riscv64")]
    /// The machine this firmware is compiled for.
    pub const NATIVE: Machine = Machine::Riscv64;

    /// The COFF header's `Machine` value.
    pub const fn pe_value(self) -> u16 {
        match self {
            Machine::X86_64 => pe::IMAGE_FILE_MACHINE_AMD64.0,
            Machine::Aarch64 => pe::IMAGE_FILE_MACHINE_ARM64.0,
            Machine::Riscv64 => pe::IMAGE_FILE_MACHINE_RISCV64.0,
        }
    }

    /// The machine of a COFF header's `Machine` value, if it is one of these.
    pub const fn from_pe(value: u16) -> Option<Machine> {
        match pe::Machine(value) {
            pe::IMAGE_FILE_MACHINE_AMD64 => Some(Machine::X86_64),
            pe::IMAGE_FILE_MACHINE_ARM64 => Some(Machine::Aarch64),
            pe::IMAGE_FILE_MACHINE_RISCV64 => Some(Machine::Riscv64),
            _ => None,
        }
    }
}

impl fmt::Display for Machine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match self {
            Machine::X86_64 => "x86_64",
            Machine::Aarch64 => "aarch64",
            Machine::Riscv64 => "riscv64",
        };
        write!(f, "{name} ({:#06x})", self.pe_value())
    }
}

/// The kinds of image UEFI runs (UEFI 2.10 §2.1.1): they differ in the memory type
/// their pages get and in whether they survive ExitBootServices.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Subsystem {
    /// An application: loader code and data, unloaded when it exits.
    EfiApplication,
    /// A boot service driver: boot services code and data.
    EfiBootServiceDriver,
    /// A runtime driver: runtime services code and data, kept after ExitBootServices.
    EfiRuntimeDriver,
}

impl Subsystem {
    /// The optional header's `Subsystem` value.
    pub const fn pe_value(self) -> u16 {
        match self {
            Subsystem::EfiApplication => pe::IMAGE_SUBSYSTEM_EFI_APPLICATION.0,
            Subsystem::EfiBootServiceDriver => pe::IMAGE_SUBSYSTEM_EFI_BOOT_SERVICE_DRIVER.0,
            Subsystem::EfiRuntimeDriver => pe::IMAGE_SUBSYSTEM_EFI_RUNTIME_DRIVER.0,
        }
    }

    /// The subsystem of an optional header's `Subsystem` value, if it is one of these.
    pub const fn from_pe(value: u16) -> Option<Subsystem> {
        match pe::Subsystem(value) {
            pe::IMAGE_SUBSYSTEM_EFI_APPLICATION => Some(Subsystem::EfiApplication),
            pe::IMAGE_SUBSYSTEM_EFI_BOOT_SERVICE_DRIVER => Some(Subsystem::EfiBootServiceDriver),
            pe::IMAGE_SUBSYSTEM_EFI_RUNTIME_DRIVER => Some(Subsystem::EfiRuntimeDriver),
            _ => None,
        }
    }

    /// The memory type of the image's pages, which hold its code (UEFI 2.10 §7.2.1,
    /// Table 7-5) and which `LoadedImage.ImageCodeType` reports.
    pub const fn code_type(self) -> MemoryType {
        match self {
            Subsystem::EfiApplication => MemoryType::LoaderCode,
            Subsystem::EfiBootServiceDriver => MemoryType::BootServicesCode,
            Subsystem::EfiRuntimeDriver => MemoryType::RuntimeServicesCode,
        }
    }

    /// The memory type for the image's pool allocations (`LoadedImage.ImageDataType`).
    pub const fn data_type(self) -> MemoryType {
        match self {
            Subsystem::EfiApplication => MemoryType::LoaderData,
            Subsystem::EfiBootServiceDriver => MemoryType::BootServicesData,
            Subsystem::EfiRuntimeDriver => MemoryType::RuntimeServicesData,
        }
    }
}
