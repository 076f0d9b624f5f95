//! The Linux loaders: how the boot manager hands a kernel, its initrds and a
//! command line to Linux.
//!
//! - [`boot_efi_stub`] (all architectures): the kernel is a PE image with an
//!   EFI stub (every distribution kernel; arm64/riscv64 `Image` files too). It is
//!   loaded with LoadImage, gets the command line as LoadOptions, and finds its
//!   initrd through LoadFile2 on the LINUX_EFI_INITRD_MEDIA device path
//!   (Linux 5.8+). The older `initrd=` command-line convention, where the stub
//!   opens files itself, is deliberately not used: it needs the initrd on a
//!   file system the stub can reach, LoadFile2 serves any bytes.
//! - [`boot_bzimage`] (x86_64 only): the x86 64-bit boot protocol
//!   (`Documentation/arch/x86/boot.rst`): the firmware places the kernel, fills
//!   `boot_params`, exits boot services and jumps to the 64-bit entry. For
//!   kernels without an EFI stub, or when asked for.
//!
//! Arithmetic and parsing live in `#![forbid(unsafe_code)]` modules
//! ([`setup_header`], [`boot_params`], [`e820`], [`placement`], [`cmdline`]);
//! only the calls into the firmware and the final jump are unsafe.

pub mod arm64_placement;
pub mod boot_params;
pub mod bzimage;
pub mod cmdline;
pub mod e820;
pub mod efi_stub;
pub mod initrd;
pub mod placement;
#[cfg(test)]
mod real_kernel;
pub mod setup_header;
pub mod stub_memory;

pub use bzimage::boot_bzimage;
pub use efi_stub::boot_efi_stub;
pub use initrd::InitrdSource;

use crate::status::status_name;
use core::fmt;
use uefi_raw::Status;

/// Why a Linux loader did not start the kernel.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LinuxError {
    /// The bzImage setup header is unusable.
    Header(setup_header::Error),
    /// The command line is longer than the kernel's `cmdline_size`.
    CommandLineTooLong {
        /// The command line's length.
        len: usize,
        /// The kernel's `cmdline_size`.
        max: u32,
    },
    /// The command line contains a NUL byte.
    CommandLineHasNul,
    /// Neither kernel bytes nor a device path to load them from.
    NoKernel,
    /// LoadImage refused the kernel (not a PE image, bad signature, ...).
    LoadImage(Status),
    /// The kernel's LoadedImage could not take the command line.
    LoadOptions(Status),
    /// Another LoadFile2 already serves the LINUX_EFI_INITRD_MEDIA path.
    InitrdProviderExists,
    /// Installing the initrd's device path or LoadFile2 failed.
    InstallInitrd(Status),
    /// Reading an initrd into place failed.
    ReadInitrd(Status),
    /// AllocatePages failed for `what`.
    Allocate {
        /// What the pages were for.
        what: &'static str,
        /// How many pages were asked for.
        pages: u64,
        /// The status AllocatePages returned.
        status: Status,
    },
    /// GetMemoryMap failed.
    MemoryMap(Status),
    /// The memory map needs more than the 128 e820 entries of `boot_params`.
    TooManyE820Entries {
        /// How many regions did not fit.
        dropped: usize,
    },
    /// ExitBootServices failed twice.
    ExitBootServices(Status),
    /// The x86 boot protocol on another architecture.
    UnsupportedArchitecture,
    /// The kernel's EFI stub will not find the block it decompresses into.
    NotEnoughMemory(stub_memory::Shortfall),
}

impl From<setup_header::Error> for LinuxError {
    fn from(e: setup_header::Error) -> LinuxError {
        LinuxError::Header(e)
    }
}

impl fmt::Display for LinuxError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            LinuxError::Header(e) => write!(f, "bzImage header: {e}"),
            LinuxError::CommandLineTooLong { len, max } => {
                write!(f, "command line of {len} bytes exceeds the kernel's limit of {max}")
            }
            LinuxError::CommandLineHasNul => write!(f, "command line contains a NUL byte"),
            LinuxError::NoKernel => write!(f, "no kernel bytes and no device path to load them from"),
            LinuxError::LoadImage(s) => write!(f, "LoadImage of the kernel: {}", status_name(s)),
            LinuxError::LoadOptions(s) => write!(f, "setting the kernel's LoadOptions: {}", status_name(s)),
            LinuxError::InitrdProviderExists => {
                write!(f, "another LoadFile2 already provides the Linux initrd")
            }
            LinuxError::InstallInitrd(s) => write!(f, "installing the initrd LoadFile2: {}", status_name(s)),
            LinuxError::ReadInitrd(s) => write!(f, "reading the initrd: {}", status_name(s)),
            LinuxError::Allocate { what, pages, status } => {
                write!(f, "allocating {pages} pages for the {what}: {}", status_name(status))
            }
            LinuxError::MemoryMap(s) => write!(f, "GetMemoryMap: {}", status_name(s)),
            LinuxError::TooManyE820Entries { dropped } => {
                write!(f, "memory map does not fit 128 e820 entries ({dropped} left over)")
            }
            LinuxError::ExitBootServices(s) => write!(f, "ExitBootServices: {}", status_name(s)),
            LinuxError::UnsupportedArchitecture => {
                write!(f, "the x86 boot protocol is only for x86_64 kernels on x86_64")
            }
            LinuxError::NotEnoughMemory(s) => write!(
                f,
                "not enough memory: the kernel needs {} MiB, the VM has {} MiB ({} MiB in one block above 16 MiB; {} MiB free there)",
                s.needed_mib(),
                s.ram_mib(),
                s.block >> 20,
                s.largest >> 20
            ),
        }
    }
}
