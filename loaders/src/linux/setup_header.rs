//! The x86 setup header of a bzImage (Linux `Documentation/arch/x86/boot.rst`,
//! "The real-mode kernel header"): parsed and checked for what the 64-bit boot
//! protocol needs. Offsets are file offsets, which equal the offsets inside
//! `boot_params` because the header is copied there unchanged.
#![forbid(unsafe_code)]

use core::fmt;
use fw_bytes::LeFields;

/// Where the setup header starts (`setup_sects`), in the file and in `boot_params`.
pub const SETUP_HEADER_OFFSET: usize = 0x1F1;
/// `boot_params` holds the header up to here (`edd_mbr_sig_buffer` follows).
pub const SETUP_HEADER_LIMIT: usize = 0x290;
/// The real-mode sector size.
pub const SECTOR_SIZE: usize = 512;
/// `setup_sects` of 0 means 4 (boot.rst, "Details of header fields").
pub const DEFAULT_SETUP_SECTS: u8 = 4;

/// `boot_flag` at 0x1FE.
pub const BOOT_FLAG: u16 = 0xAA55;
/// `header` at 0x202: "HdrS" read as a little-endian u32.
pub const HEADER_MAGIC: u32 = u32::from_le_bytes(*b"HdrS");
/// The first protocol with `xloadflags` (and so XLF_KERNEL_64).
pub const MIN_PROTOCOL_VERSION: u16 = 0x020C;

/// `loadflags` bits.
pub const LOADED_HIGH: u8 = 1 << 0;
/// `KASLR_FLAG`: the kernel randomised its own address (set by the kernel).
pub const KASLR_FLAG: u8 = 1 << 1;
/// `QUIET_FLAG`: the kernel prints less early.
pub const QUIET_FLAG: u8 = 1 << 5;
/// `KEEP_SEGMENTS`: obsolete; the 32-bit entry does not reload segments.
pub const KEEP_SEGMENTS: u8 = 1 << 6;
/// `CAN_USE_HEAP`: `heap_end_ptr` is valid.
pub const CAN_USE_HEAP: u8 = 1 << 7;

/// `xloadflags` bits.
pub const XLF_KERNEL_64: u16 = 1 << 0;
/// `XLF_CAN_BE_LOADED_ABOVE_4G`: the kernel may sit above 4 GiB.
pub const XLF_CAN_BE_LOADED_ABOVE_4G: u16 = 1 << 1;
/// `XLF_EFI_HANDOVER_32`: a 32-bit EFI handover entry exists.
pub const XLF_EFI_HANDOVER_32: u16 = 1 << 2;
/// `XLF_EFI_HANDOVER_64`: a 64-bit EFI handover entry exists.
pub const XLF_EFI_HANDOVER_64: u16 = 1 << 3;
/// `XLF_EFI_KEXEC`: the kernel can be kexec'ed with EFI runtime support.
pub const XLF_EFI_KEXEC: u16 = 1 << 4;

/// Field offsets (boot.rst, "The real-mode kernel header" table).
pub const OFF_SETUP_SECTS: usize = 0x1F1;
/// `syssize`: the protected-mode code's size in 16-byte paragraphs.
pub const OFF_SYSSIZE: usize = 0x1F4;
/// `boot_flag`: 0xAA55.
pub const OFF_BOOT_FLAG: usize = 0x1FE;
/// `jump`: the real-mode entry's jump instruction.
pub const OFF_JUMP: usize = 0x200;
/// `header`: the magic "HdrS".
pub const OFF_HEADER: usize = 0x202;
/// `version`: the boot protocol version.
pub const OFF_VERSION: usize = 0x206;
/// `type_of_loader`: the boot loader's identifier.
pub const OFF_TYPE_OF_LOADER: usize = 0x210;
/// `loadflags`: the `*_FLAG` bits above.
pub const OFF_LOADFLAGS: usize = 0x211;
/// `ramdisk_image`: the initrd address's low 32 bits.
pub const OFF_RAMDISK_IMAGE: usize = 0x218;
/// `ramdisk_size`: the initrd size's low 32 bits.
pub const OFF_RAMDISK_SIZE: usize = 0x21C;
/// `heap_end_ptr`: the end of the real-mode heap.
pub const OFF_HEAP_END_PTR: usize = 0x224;
/// `cmd_line_ptr`: the command line address's low 32 bits.
pub const OFF_CMD_LINE_PTR: usize = 0x228;
/// `initrd_addr_max`: the highest address the initrd may occupy.
pub const OFF_INITRD_ADDR_MAX: usize = 0x22C;
/// `kernel_alignment`: the alignment a relocatable kernel needs.
pub const OFF_KERNEL_ALIGNMENT: usize = 0x230;
/// `relocatable_kernel`: whether the kernel may be loaded anywhere aligned.
pub const OFF_RELOCATABLE_KERNEL: usize = 0x234;
/// `xloadflags`: the `XLF_*` bits above.
pub const OFF_XLOADFLAGS: usize = 0x236;
/// `cmdline_size`: the longest command line.
pub const OFF_CMDLINE_SIZE: usize = 0x238;
/// `pref_address`: where a non-relocatable kernel must be loaded.
pub const OFF_PREF_ADDRESS: usize = 0x258;
/// `init_size`: the memory the kernel needs from its load address on.
pub const OFF_INIT_SIZE: usize = 0x260;

/// The 64-bit entry point is this far into the protected-mode kernel
/// (boot.rst, "64-bit Boot Protocol").
pub const ENTRY_64_OFFSET: u64 = 0x200;

/// Why a kernel cannot be booted with the 64-bit boot protocol.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Error {
    /// The file ends before the setup header does.
    TooShort {
        /// The file's length.
        len: usize,
    },
    /// No 0xAA55 at 0x1FE.
    NoBootFlag {
        /// The two bytes at 0x1FE.
        found: u16,
    },
    /// No "HdrS" at 0x202: a pre-2.00 kernel or not a kernel.
    NoHeaderMagic {
        /// The four bytes at 0x202.
        found: u32,
    },
    /// Older than 2.12: no `xloadflags`, so no 64-bit entry can be assumed.
    ProtocolTooOld {
        /// The header's protocol version.
        version: u16,
    },
    /// `xloadflags` lacks XLF_KERNEL_64.
    No64BitEntry {
        /// The header's `xloadflags`.
        xloadflags: u16,
    },
    /// The setup sectors run past the end of the file.
    SetupPastEnd {
        /// The setup's length in bytes.
        setup_len: usize,
        /// The file's length.
        file_len: usize,
    },
    /// `syssize` is zero.
    EmptyKernel,
    /// `syssize` names more bytes than the file holds after the setup.
    KernelTruncated {
        /// `syssize` in bytes.
        syssize_bytes: u64,
        /// The bytes after the setup.
        available: usize,
    },
    /// `kernel_alignment` is not a power of two of at least a page.
    BadAlignment {
        /// The header's `kernel_alignment`.
        kernel_alignment: u32,
    },
    /// `init_size` is smaller than the kernel it must hold.
    InitSizeTooSmall {
        /// The header's `init_size`.
        init_size: u32,
        /// The protected-mode kernel's length.
        kernel_len: u64,
    },
    /// Not relocatable and no `pref_address` to load it at.
    NoLoadAddress,
    /// `cmdline_size` is zero: no room even for the terminating NUL.
    NoCommandLineRoom,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Error::TooShort { len } => write!(f, "file of {len} bytes ends inside the setup header"),
            Error::NoBootFlag { found } => write!(f, "boot_flag is {found:#06x}, not 0xaa55"),
            Error::NoHeaderMagic { found } => write!(f, "no \"HdrS\" signature (found {found:#010x})"),
            Error::ProtocolTooOld { version } => write!(
                f,
                "boot protocol {}.{:02} is older than 2.12 (no 64-bit entry)",
                version >> 8,
                version & 0xff
            ),
            Error::No64BitEntry { xloadflags } => {
                write!(f, "xloadflags {xloadflags:#x} lacks XLF_KERNEL_64")
            }
            Error::SetupPastEnd { setup_len, file_len } => {
                write!(f, "setup of {setup_len} bytes is longer than the {file_len}-byte file")
            }
            Error::EmptyKernel => write!(f, "syssize is zero"),
            Error::KernelTruncated {
                syssize_bytes,
                available,
            } => write!(
                f,
                "syssize says {syssize_bytes} bytes of kernel, the file holds {available}"
            ),
            Error::BadAlignment { kernel_alignment } => {
                write!(
                    f,
                    "kernel_alignment {kernel_alignment:#x} is not a power of two >= 4 KiB"
                )
            }
            Error::InitSizeTooSmall { init_size, kernel_len } => {
                write!(f, "init_size {init_size:#x} is below the kernel size {kernel_len:#x}")
            }
            Error::NoLoadAddress => write!(f, "kernel is not relocatable and has no pref_address"),
            Error::NoCommandLineRoom => write!(f, "cmdline_size is zero"),
        }
    }
}

/// The checked fields of a setup header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SetupHeader {
    /// Real-mode sectors after the boot sector (0 already turned into 4).
    pub setup_sects: u8,
    /// Boot protocol version, major in the high byte.
    pub version: u16,
    /// The `loadflags` bits (`LOADED_HIGH`, ...).
    pub loadflags: u8,
    /// Protected-mode code size in 16-byte paragraphs.
    pub syssize: u32,
    /// Highest address the initrd may occupy (inclusive).
    pub initrd_addr_max: u32,
    /// The alignment a relocatable kernel needs.
    pub kernel_alignment: u32,
    /// Whether the kernel may be loaded at any suitably aligned address.
    pub relocatable_kernel: bool,
    /// The `XLF_*` bits.
    pub xloadflags: u16,
    /// Longest command line, without the terminating NUL.
    pub cmdline_size: u32,
    /// Where a non-relocatable kernel must be loaded.
    pub pref_address: u64,
    /// Memory the kernel needs from its load address on, for decompression.
    pub init_size: u32,
    /// File offset just past the header (0x202 + the byte at 0x201).
    pub header_end: usize,
}

impl SetupHeader {
    /// Parses and checks the header of the bzImage `kernel`; each failing check
    /// is its own [`Error`], in the order boot.rst introduces the fields.
    pub fn parse(kernel: &[u8]) -> Result<SetupHeader, Error> {
        // Everything up to init_size must be in the file.
        if kernel.len() < OFF_INIT_SIZE + 4 {
            return Err(Error::TooShort { len: kernel.len() });
        }
        let boot_flag = kernel.u16_le(OFF_BOOT_FLAG).unwrap_or(0);
        if boot_flag != BOOT_FLAG {
            return Err(Error::NoBootFlag { found: boot_flag });
        }
        let magic = kernel.u32_le(OFF_HEADER).unwrap_or(0);
        if magic != HEADER_MAGIC {
            return Err(Error::NoHeaderMagic { found: magic });
        }
        let version = kernel.u16_le(OFF_VERSION).unwrap_or(0);
        if version < MIN_PROTOCOL_VERSION {
            return Err(Error::ProtocolTooOld { version });
        }
        let xloadflags = kernel.u16_le(OFF_XLOADFLAGS).unwrap_or(0);
        if xloadflags & XLF_KERNEL_64 == 0 {
            return Err(Error::No64BitEntry { xloadflags });
        }
        let setup_sects = match kernel.u8_at(OFF_SETUP_SECTS).unwrap_or(0) {
            0 => DEFAULT_SETUP_SECTS,
            n => n,
        };
        let setup_len = (usize::from(setup_sects) + 1) * SECTOR_SIZE;
        // The jump at 0x200 is a short jump; its displacement byte marks the
        // end. At most 0x301, so always inside the (at least 1024-byte) setup.
        let header_end = OFF_HEADER + usize::from(kernel.u8_at(OFF_JUMP + 1).unwrap_or(0));
        if setup_len >= kernel.len() {
            return Err(Error::SetupPastEnd {
                setup_len,
                file_len: kernel.len(),
            });
        }
        let syssize = kernel.u32_le(OFF_SYSSIZE).unwrap_or(0);
        if syssize == 0 {
            return Err(Error::EmptyKernel);
        }
        let available = kernel.len() - setup_len;
        let syssize_bytes = u64::from(syssize) * 16;
        if syssize_bytes > available as u64 {
            return Err(Error::KernelTruncated {
                syssize_bytes,
                available,
            });
        }
        let kernel_alignment = kernel.u32_le(OFF_KERNEL_ALIGNMENT).unwrap_or(0);
        if !kernel_alignment.is_power_of_two() || kernel_alignment < 4096 {
            return Err(Error::BadAlignment { kernel_alignment });
        }
        let init_size = kernel.u32_le(OFF_INIT_SIZE).unwrap_or(0);
        if u64::from(init_size) < syssize_bytes {
            return Err(Error::InitSizeTooSmall {
                init_size,
                kernel_len: syssize_bytes,
            });
        }
        let relocatable_kernel = kernel.u8_at(OFF_RELOCATABLE_KERNEL).unwrap_or(0) != 0;
        let pref_address = kernel.u64_le(OFF_PREF_ADDRESS).unwrap_or(0);
        if !relocatable_kernel && pref_address == 0 {
            return Err(Error::NoLoadAddress);
        }
        let cmdline_size = kernel.u32_le(OFF_CMDLINE_SIZE).unwrap_or(0);
        if cmdline_size == 0 {
            return Err(Error::NoCommandLineRoom);
        }
        Ok(SetupHeader {
            setup_sects,
            version,
            loadflags: kernel.u8_at(OFF_LOADFLAGS).unwrap_or(0),
            syssize,
            initrd_addr_max: kernel.u32_le(OFF_INITRD_ADDR_MAX).unwrap_or(0),
            kernel_alignment,
            relocatable_kernel,
            xloadflags,
            cmdline_size,
            pref_address,
            init_size,
            header_end,
        })
    }

    /// Bytes of the boot sector and the real-mode setup.
    pub fn setup_len(&self) -> usize {
        (usize::from(self.setup_sects) + 1) * SECTOR_SIZE
    }

    /// The protected-mode kernel: everything after the setup sectors. The whole
    /// rest of the file is loaded (it may carry more than `syssize` says, such
    /// as signatures appended to the PE image), as other loaders do.
    pub fn protected_mode<'k>(&self, kernel: &'k [u8]) -> &'k [u8] {
        kernel.get(self.setup_len()..).unwrap_or(&[])
    }

    /// The header bytes to copy into `boot_params` at [`SETUP_HEADER_OFFSET`],
    /// cut at [`SETUP_HEADER_LIMIT`] should a future header be longer.
    pub fn header_bytes<'k>(&self, kernel: &'k [u8]) -> &'k [u8] {
        let end = self.header_end.min(SETUP_HEADER_LIMIT);
        kernel.get(SETUP_HEADER_OFFSET..end).unwrap_or(&[])
    }

    /// Bytes to reserve at the load address: `init_size`, or the file's
    /// protected-mode part if that is larger.
    pub fn load_size(&self, kernel: &[u8]) -> u64 {
        u64::from(self.init_size).max(self.protected_mode(kernel).len() as u64)
    }

    /// Whether kernel, initrd, boot_params and command line may live above 4 GiB.
    pub fn can_be_loaded_above_4g(&self) -> bool {
        self.xloadflags & XLF_CAN_BE_LOADED_ABOVE_4G != 0
    }

    /// The highest address (inclusive) the initrd may occupy.
    pub fn initrd_max_address(&self) -> u64 {
        if self.can_be_loaded_above_4g() {
            u64::MAX
        } else {
            u64::from(self.initrd_addr_max)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::vec;
    use std::vec::Vec;

    /// A minimal valid bzImage: 4 setup sectors and 4 KiB of "kernel".
    pub(crate) fn synthetic_kernel() -> Vec<u8> {
        let mut k = vec![0u8; 5 * SECTOR_SIZE + 4096];
        k[OFF_SETUP_SECTS] = 4;
        k[OFF_SYSSIZE..OFF_SYSSIZE + 4].copy_from_slice(&(4096u32 / 16).to_le_bytes());
        k[OFF_BOOT_FLAG..OFF_BOOT_FLAG + 2].copy_from_slice(&BOOT_FLAG.to_le_bytes());
        k[OFF_JUMP] = 0xEB;
        k[OFF_JUMP + 1] = 0x6A; // header ends at 0x26C, as in Linux 6.1
        k[OFF_HEADER..OFF_HEADER + 4].copy_from_slice(b"HdrS");
        k[OFF_VERSION..OFF_VERSION + 2].copy_from_slice(&0x020Fu16.to_le_bytes());
        k[OFF_LOADFLAGS] = LOADED_HIGH;
        k[OFF_INITRD_ADDR_MAX..OFF_INITRD_ADDR_MAX + 4].copy_from_slice(&0x7FFF_FFFFu32.to_le_bytes());
        k[OFF_KERNEL_ALIGNMENT..OFF_KERNEL_ALIGNMENT + 4].copy_from_slice(&0x20_0000u32.to_le_bytes());
        k[OFF_RELOCATABLE_KERNEL] = 1;
        k[OFF_XLOADFLAGS..OFF_XLOADFLAGS + 2]
            .copy_from_slice(&(XLF_KERNEL_64 | XLF_CAN_BE_LOADED_ABOVE_4G).to_le_bytes());
        k[OFF_CMDLINE_SIZE..OFF_CMDLINE_SIZE + 4].copy_from_slice(&0x7FFu32.to_le_bytes());
        k[OFF_PREF_ADDRESS..OFF_PREF_ADDRESS + 8].copy_from_slice(&0x100_0000u64.to_le_bytes());
        k[OFF_INIT_SIZE..OFF_INIT_SIZE + 4].copy_from_slice(&0x10_0000u32.to_le_bytes());
        k
    }

    fn put(k: &mut [u8], off: usize, bytes: &[u8]) {
        k[off..off + bytes.len()].copy_from_slice(bytes);
    }

    #[test]
    fn parses_a_synthetic_header() {
        let k = synthetic_kernel();
        let h = SetupHeader::parse(&k).unwrap();
        assert_eq!(h.setup_sects, 4);
        assert_eq!(h.setup_len(), 2560);
        assert_eq!(h.version, 0x020F);
        assert_eq!(h.header_end, 0x26C);
        assert_eq!(h.protected_mode(&k).len(), 4096);
        assert_eq!(h.header_bytes(&k).len(), 0x26C - 0x1F1);
        assert_eq!(h.load_size(&k), 0x10_0000);
        assert_eq!(h.initrd_max_address(), u64::MAX);
    }

    #[test]
    fn setup_sects_zero_means_four() {
        let mut k = synthetic_kernel();
        k[OFF_SETUP_SECTS] = 0;
        assert_eq!(SetupHeader::parse(&k).unwrap().setup_sects, 4);
    }

    #[test]
    fn initrd_stays_below_initrd_addr_max_without_xlf_above_4g() {
        let mut k = synthetic_kernel();
        put(&mut k, OFF_XLOADFLAGS, &XLF_KERNEL_64.to_le_bytes());
        assert_eq!(SetupHeader::parse(&k).unwrap().initrd_max_address(), 0x7FFF_FFFF);
    }

    #[test]
    fn rejects_each_broken_field_with_its_own_error() {
        let check = |edit: &dyn Fn(&mut Vec<u8>), want: Error| {
            let mut k = synthetic_kernel();
            edit(&mut k);
            assert_eq!(SetupHeader::parse(&k), Err(want));
        };
        check(&|k| k.truncate(0x200), Error::TooShort { len: 0x200 });
        check(&|k| put(k, OFF_BOOT_FLAG, &[0, 0]), Error::NoBootFlag { found: 0 });
        check(
            &|k| put(k, OFF_HEADER, b"MZ\0\0"),
            Error::NoHeaderMagic { found: 0x5A4D },
        );
        check(
            &|k| put(k, OFF_VERSION, &0x020Bu16.to_le_bytes()),
            Error::ProtocolTooOld { version: 0x020B },
        );
        check(
            &|k| put(k, OFF_XLOADFLAGS, &[2, 0]),
            Error::No64BitEntry { xloadflags: 2 },
        );
        check(
            &|k| k[OFF_SETUP_SECTS] = 20,
            Error::SetupPastEnd {
                setup_len: 21 * 512,
                file_len: 6656,
            },
        );
        check(&|k| put(k, OFF_SYSSIZE, &[0; 4]), Error::EmptyKernel);
        check(
            &|k| put(k, OFF_SYSSIZE, &0x1000u32.to_le_bytes()),
            Error::KernelTruncated {
                syssize_bytes: 0x10000,
                available: 4096,
            },
        );
        check(
            &|k| put(k, OFF_KERNEL_ALIGNMENT, &0x3000u32.to_le_bytes()),
            Error::BadAlignment {
                kernel_alignment: 0x3000,
            },
        );
        check(
            &|k| put(k, OFF_KERNEL_ALIGNMENT, &0x200u32.to_le_bytes()),
            Error::BadAlignment {
                kernel_alignment: 0x200,
            },
        );
        check(
            &|k| put(k, OFF_INIT_SIZE, &0x800u32.to_le_bytes()),
            Error::InitSizeTooSmall {
                init_size: 0x800,
                kernel_len: 4096,
            },
        );
        check(
            &|k| {
                k[OFF_RELOCATABLE_KERNEL] = 0;
                put(k, OFF_PREF_ADDRESS, &[0; 8]);
            },
            Error::NoLoadAddress,
        );
        check(&|k| put(k, OFF_CMDLINE_SIZE, &[0; 4]), Error::NoCommandLineRoom);
    }

    #[test]
    fn errors_explain_themselves() {
        let text = std::format!("{}", Error::ProtocolTooOld { version: 0x020B });
        assert_eq!(text, "boot protocol 2.11 is older than 2.12 (no 64-bit entry)");
    }
}
