//! The PVH start info (Xen public header `arch-x86/hvm/start_info.h`, version 1),
//! which QEMU and Cloud Hypervisor pass in `%ebx`, turned into a [`BootInfo`].
//!
//! Layout (little endian): magic u32, version u32, flags u32, nr_modules u32,
//! modlist_paddr u64, cmdline_paddr u64, rsdp_paddr u64, then from version 1:
//! memmap_paddr u64, memmap_entries u32, reserved u32. Memory map entries are
//! {addr u64, size u64, type u32, reserved u32}; modules are {paddr u64, size u64,
//! cmdline_paddr u64, reserved u64}.
#![forbid(unsafe_code)]

use core::fmt;
use fw_core::boot_info::{BootInfo, BootInfoError, MemoryKind, MemoryRegion, Module, MAX_CMDLINE};
use fw_drivers::bytes::LeFields;

/// `hvm_start_info.magic` of a valid PVH start info ("xEn3" with bit 7 of the 'E' set).
pub const START_INFO_MAGIC: u32 = 0x336e_c578;
const START_INFO_V1_SIZE: usize = 56;
const MEMMAP_ENTRY_SIZE: usize = 24;
const MODLIST_ENTRY_SIZE: usize = 32;

/// Read access to guest-physical memory (identity mapped in the firmware, a
/// buffer in host tests).
pub trait PhysMemory {
    /// `len` bytes at `addr`, or `None` when that range is not readable.
    fn read(&self, addr: u64, len: usize) -> Option<&[u8]>;
}

/// Why the start info could not be used.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PvhError {
    /// `%ebx` was zero: the VMM did not boot us through PVH.
    NoStartInfo,
    /// A structure of the start info lies outside the identity-mapped memory.
    Unreadable {
        /// Which structure (start info, memory map, command line, module list).
        what: &'static str,
        /// Its address.
        addr: u64,
    },
    /// The start info's magic is not [`START_INFO_MAGIC`].
    BadMagic {
        /// The magic found.
        found: u32,
    },
    /// Version 0 carries no memory map, and the firmware has no other source.
    NoMemoryMap {
        /// The start info's version.
        version: u32,
    },
    /// The command line has no NUL within the longest one read.
    CommandLineUnterminated {
        /// The command line's address.
        addr: u64,
    },
    /// The memory map did not make a usable boot information.
    BootInfo(BootInfoError),
}

impl fmt::Display for PvhError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PvhError::NoStartInfo => write!(f, "no PVH start info (was the firmware booted through PVH?)"),
            PvhError::Unreadable { what, addr } => write!(f, "cannot read the {what} at {addr:#x}"),
            PvhError::BadMagic { found } => {
                write!(f, "start info magic is {found:#x}, expected {START_INFO_MAGIC:#x}")
            }
            PvhError::NoMemoryMap { version } => {
                write!(f, "start info version {version} has no memory map (version 1 needed)")
            }
            PvhError::CommandLineUnterminated { addr } => {
                write!(
                    f,
                    "command line at {addr:#x} has no terminating NUL within {MAX_CMDLINE} bytes"
                )
            }
            PvhError::BootInfo(e) => write!(f, "{e}"),
        }
    }
}

impl From<BootInfoError> for PvhError {
    fn from(e: BootInfoError) -> Self {
        PvhError::BootInfo(e)
    }
}

/// Parses the start info at `addr`. `PhysMemory::read` gives all the bytes
/// asked for or none, so the fixed-offset fields below are always there.
pub fn parse(addr: u64, mem: &impl PhysMemory) -> Result<BootInfo, PvhError> {
    if addr == 0 {
        return Err(PvhError::NoStartInfo);
    }
    let head = mem.read(addr, 8).ok_or(PvhError::Unreadable {
        what: "start info",
        addr,
    })?;
    let magic = head.u32_le(0).unwrap_or(0);
    if magic != START_INFO_MAGIC {
        return Err(PvhError::BadMagic { found: magic });
    }
    let version = head.u32_le(4).unwrap_or(0);
    if version < 1 {
        return Err(PvhError::NoMemoryMap { version });
    }
    let si = mem.read(addr, START_INFO_V1_SIZE).ok_or(PvhError::Unreadable {
        what: "start info",
        addr,
    })?;
    let nr_modules = si.u32_le(12).unwrap_or(0) as usize;
    let modlist = si.u64_le(16).unwrap_or(0);
    let cmdline = si.u64_le(24).unwrap_or(0);
    let rsdp = si.u64_le(32).unwrap_or(0);
    let memmap = si.u64_le(40).unwrap_or(0);
    let memmap_entries = si.u32_le(48).unwrap_or(0) as usize;

    let mut info = BootInfo::new();
    info.rsdp = (rsdp != 0).then_some(rsdp);

    if memmap_entries == 0 {
        return Err(PvhError::NoMemoryMap { version });
    }
    for entry in read_table(mem, "memory map", memmap, memmap_entries, MEMMAP_ENTRY_SIZE)? {
        info.add_region(MemoryRegion {
            start: entry.u64_le(0).unwrap_or(0),
            size: entry.u64_le(8).unwrap_or(0),
            kind: MemoryKind::from_e820(entry.u32_le(16).unwrap_or(0)),
        })?;
    }

    if nr_modules > 0 {
        for entry in read_table(mem, "module list", modlist, nr_modules, MODLIST_ENTRY_SIZE)? {
            info.add_module(Module {
                start: entry.u64_le(0).unwrap_or(0),
                size: entry.u64_le(8).unwrap_or(0),
            })?;
        }
    }

    if cmdline != 0 {
        info.set_cmdline(read_c_string(mem, cmdline)?)?;
    }
    Ok(info)
}

/// Reads a NUL-terminated string of at most [`MAX_CMDLINE`] bytes, a byte at a
/// time so that a string ending just before unreadable memory is still found.
/// The `count` entries of `entry_size` bytes of the table `what` at `addr`.
fn read_table<'m>(
    mem: &'m impl PhysMemory,
    what: &'static str,
    addr: u64,
    count: usize,
    entry_size: usize,
) -> Result<core::slice::ChunksExact<'m, u8>, PvhError> {
    let table = count
        .checked_mul(entry_size)
        .and_then(|len| mem.read(addr, len))
        .ok_or(PvhError::Unreadable { what, addr })?;
    Ok(table.chunks_exact(entry_size))
}

fn read_c_string(mem: &impl PhysMemory, addr: u64) -> Result<&[u8], PvhError> {
    for len in 0..=MAX_CMDLINE {
        let byte = mem.read(addr + len as u64, 1).ok_or(PvhError::Unreadable {
            what: "command line",
            addr,
        })?;
        if byte[0] == 0 {
            return mem.read(addr, len).ok_or(PvhError::Unreadable {
                what: "command line",
                addr,
            });
        }
    }
    Err(PvhError::CommandLineUnterminated { addr })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::vec::Vec;

    /// Guest memory: a buffer that starts at physical address `base`.
    struct Guest {
        base: u64,
        bytes: Vec<u8>,
    }

    impl PhysMemory for Guest {
        fn read(&self, addr: u64, len: usize) -> Option<&[u8]> {
            let start = usize::try_from(addr.checked_sub(self.base)?).ok()?;
            self.bytes.get(start..start.checked_add(len)?)
        }
    }

    const BASE: u64 = 0x6000;

    /// A start info at BASE, memory map at BASE+0x100, cmdline at BASE+0x400,
    /// module list at BASE+0x500.
    fn guest(version: u32, map: &[(u64, u64, u32)], cmdline: &[u8], modules: &[(u64, u64)]) -> Guest {
        let mut bytes = std::vec![0u8; 0x1000];
        let mut put = |off: usize, data: &[u8]| bytes[off..off + data.len()].copy_from_slice(data);
        put(0, &START_INFO_MAGIC.to_le_bytes());
        put(4, &version.to_le_bytes());
        put(12, &(modules.len() as u32).to_le_bytes());
        put(16, &(BASE + 0x500).to_le_bytes());
        put(24, &(if cmdline.is_empty() { 0 } else { BASE + 0x400 }).to_le_bytes());
        put(32, &0xf_5a40u64.to_le_bytes());
        put(40, &(BASE + 0x100).to_le_bytes());
        put(48, &(map.len() as u32).to_le_bytes());
        for (i, (addr, size, kind)) in map.iter().enumerate() {
            let off = 0x100 + i * MEMMAP_ENTRY_SIZE;
            put(off, &addr.to_le_bytes());
            put(off + 8, &size.to_le_bytes());
            put(off + 16, &kind.to_le_bytes());
        }
        put(0x400, cmdline);
        for (i, (addr, size)) in modules.iter().enumerate() {
            let off = 0x500 + i * MODLIST_ENTRY_SIZE;
            put(off, &addr.to_le_bytes());
            put(off + 8, &size.to_le_bytes());
        }
        Guest { base: BASE, bytes }
    }

    #[test]
    fn parses_qemu_style_start_info() {
        let map = [
            (0, 0x9fc00, 1),
            (0x9fc00, 0x400, 2),
            (0x100000, 0x7ee0000, 1),
            (0xfeffc000, 0x4000, 2),
        ];
        let g = guest(1, &map, b"console=ttyS0 hvfw.test=fault\0", &[(0x200_0000, 0x1234)]);
        let info = parse(BASE, &g).unwrap();
        assert_eq!(info.regions().len(), 4);
        assert_eq!(
            info.regions()[2],
            MemoryRegion {
                start: 0x100000,
                size: 0x7ee0000,
                kind: MemoryKind::Ram
            }
        );
        assert_eq!(info.regions()[3].kind, MemoryKind::Reserved);
        assert_eq!(info.rsdp, Some(0xf_5a40));
        assert_eq!(info.cmdline(), "console=ttyS0 hvfw.test=fault");
        assert_eq!(
            info.modules(),
            &[Module {
                start: 0x200_0000,
                size: 0x1234
            }]
        );
    }

    #[test]
    fn rejects_missing_or_foreign_start_info() {
        let g = guest(1, &[(0, 0x1000, 1)], b"", &[]);
        assert_eq!(parse(0, &g).unwrap_err(), PvhError::NoStartInfo);
        assert_eq!(parse(BASE + 4, &g).unwrap_err(), PvhError::BadMagic { found: 1 });
        assert_eq!(
            parse(0x10_0000, &g).unwrap_err(),
            PvhError::Unreadable {
                what: "start info",
                addr: 0x10_0000
            }
        );
    }

    #[test]
    fn requires_a_memory_map() {
        let g = guest(0, &[(0, 0x1000, 1)], b"", &[]);
        assert_eq!(parse(BASE, &g).unwrap_err(), PvhError::NoMemoryMap { version: 0 });
        let g = guest(1, &[], b"", &[]);
        assert_eq!(parse(BASE, &g).unwrap_err(), PvhError::NoMemoryMap { version: 1 });
    }

    #[test]
    fn reports_a_memory_map_outside_readable_memory() {
        let mut g = guest(1, &[(0, 0x1000, 1)], b"", &[]);
        g.bytes[48..52].copy_from_slice(&1000u32.to_le_bytes());
        assert_eq!(
            parse(BASE, &g).unwrap_err(),
            PvhError::Unreadable {
                what: "memory map",
                addr: BASE + 0x100
            }
        );
    }

    #[test]
    fn reports_an_unterminated_command_line() {
        let mut g = guest(1, &[(0, 0x1000, 1)], b"x", &[]);
        for b in &mut g.bytes[0x400..] {
            *b = b'x';
        }
        g.bytes.resize(0x2000, b'x');
        assert_eq!(
            parse(BASE, &g).unwrap_err(),
            PvhError::CommandLineUnterminated { addr: BASE + 0x400 }
        );
    }
}
