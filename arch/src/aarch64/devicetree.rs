//! What the device tree tells the firmware at entry, turned into a [`BootInfo`]:
//! RAM from the `/memory` nodes (Devicetree Specification v0.4 §3.4), the
//! reservations of the memory reservation block (§5.3) and `/reserved-memory`
//! (§3.5) carved out of it, and from `/chosen` (§3.6) the command line and the
//! initrd (`linux,initrd-start`/`-end`, kept as a module). The tree itself is
//! kept as a module too, so that nothing overwrites it before the OS reads it.
#![forbid(unsafe_code)]

use core::fmt;
use fw_core::boot_info::{BootInfo, BootInfoError, MemoryKind, MemoryRegion, Module};
use fw_drivers::fdt::{self, Fdt};

/// Why the device tree gave no usable [`BootInfo`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeviceTreeError {
    /// x0 was zero: the VMM passed no device tree.
    NoDeviceTree,
    Invalid {
        addr: u64,
        error: fdt::Error,
    },
    NoMemory,
    BootInfo(BootInfoError),
}

impl fmt::Display for DeviceTreeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DeviceTreeError::NoDeviceTree => write!(f, "no device tree (x0 was 0 at entry)"),
            DeviceTreeError::Invalid { addr, error } => write!(f, "device tree at {addr:#x}: {error}"),
            DeviceTreeError::NoMemory => write!(f, "the device tree has no memory node"),
            DeviceTreeError::BootInfo(e) => write!(f, "device tree: {e}"),
        }
    }
}

impl From<BootInfoError> for DeviceTreeError {
    fn from(e: BootInfoError) -> Self {
        DeviceTreeError::BootInfo(e)
    }
}

/// Builds the [`BootInfo`] from the tree at `addr`.
pub fn boot_info(fdt: &Fdt, addr: u64) -> Result<BootInfo, DeviceTreeError> {
    let mut info = BootInfo::new();
    for (start, size) in fdt.nodes().filter(|n| n.is_memory()).flat_map(|n| n.reg()) {
        info.add_region(MemoryRegion {
            start,
            size,
            kind: MemoryKind::Ram,
        })?;
    }
    if info.regions().is_empty() {
        return Err(DeviceTreeError::NoMemory);
    }
    for r in fdt.reservations() {
        info.reserve(r.address, r.size)?;
    }
    if let Some(reserved) = fdt.find_path("/reserved-memory") {
        for (start, size) in reserved.children().flat_map(|n| n.reg()) {
            info.reserve(start, size)?;
        }
    }
    if let Some(chosen) = fdt.find_path("/chosen") {
        if let Some(bootargs) = chosen.property("bootargs") {
            let bootargs = bootargs.strip_suffix(&[0]).unwrap_or(bootargs);
            info.set_cmdline(bootargs)?;
        }
        let initrd = (
            chosen.number_property("linux,initrd-start"),
            chosen.number_property("linux,initrd-end"),
        );
        if let (Some(start), Some(end)) = initrd {
            if end > start {
                info.add_module(Module {
                    start,
                    size: end - start,
                })?;
            }
        }
    }
    info.add_module(Module {
        start: addr,
        size: fdt.as_bytes().len() as u64,
    })?;
    info.fdt = Some(addr);
    Ok(info)
}

#[cfg(test)]
mod tests {
    use super::*;

    const QEMU_VIRT: &[u8] = include_bytes!("../../../drivers/src/fdt/qemu-virt.dtb");
    const RESERVED: &[u8] = include_bytes!("../../../drivers/src/fdt/reserved.dtb");

    #[test]
    fn qemu_virt_gives_ram_cmdline_initrd_and_the_tree() {
        let fdt = Fdt::new(QEMU_VIRT).unwrap();
        let info = boot_info(&fdt, 0x4800_1000).unwrap();
        assert_eq!(info.installed_ram(), 512 << 20);
        assert_eq!(info.cmdline(), "console=ttyAMA0 hvfw.test=fdt");
        assert_eq!(
            info.modules(),
            [
                Module {
                    start: 0x4800_0000,
                    size: 6
                },
                Module {
                    start: 0x4800_1000,
                    size: QEMU_VIRT.len() as u64
                }
            ]
        );
        assert_eq!(info.fdt, Some(0x4800_1000));
    }

    #[test]
    fn reservations_are_carved_out_of_ram() {
        let fdt = Fdt::new(RESERVED).unwrap();
        let info = boot_info(&fdt, 0x4400_0000).unwrap();
        let reserved: std::vec::Vec<_> = info
            .regions()
            .iter()
            .filter(|r| r.kind == MemoryKind::ReservedRam)
            .map(|r| (r.start, r.size))
            .collect();
        assert_eq!(reserved, [(0x4000_0000, 0x1_0000), (0x5f00_0000, 0x10_0000)]);
        assert_eq!(info.usable_ram(), 0x2000_0000 + 0x4000_0000 - 0x1_0000 - 0x10_0000);
        assert_eq!(info.installed_ram(), 0x2000_0000 + 0x4000_0000);
        assert_eq!(info.cmdline(), "quiet");
    }
}
