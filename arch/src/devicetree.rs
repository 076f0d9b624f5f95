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
    /// The boot register (x0 on aarch64, a1 on riscv64) was zero: the VMM
    /// passed no device tree.
    NoDeviceTree,
    /// The device tree at `addr` could not be read.
    Invalid {
        /// Where the boot register pointed.
        addr: u64,
        /// What the reader found wrong.
        error: fdt::Error,
    },
    /// The device tree lists no memory the firmware could use.
    NoMemory,
    /// The memory found did not make a usable boot information.
    BootInfo(BootInfoError),
}

impl fmt::Display for DeviceTreeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DeviceTreeError::NoDeviceTree => write!(f, "no device tree (its address was 0 at entry)"),
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

/// Reserves the SBI firmware's memory below a RISC-V payload. OpenSBI names
/// its own region in `/reserved-memory` (`mmode_resv*`, no-map); other SBI
/// implementations may not. On the SBI platforms the payload sits after the
/// SBI firmware in the same RAM region (fw_dynamic at the start of RAM, the
/// payload 2 MiB above), so when no reservation ends where the payload's RAM
/// region starts, everything below the payload in that region is reserved.
pub fn reserve_below_payload(info: &mut BootInfo, payload_start: u64) -> Result<(), BootInfoError> {
    let regions = info.regions();
    let below = regions
        .iter()
        .find(|r| r.kind == MemoryKind::Ram && r.start <= payload_start && payload_start < r.end())
        .filter(|ram| {
            !regions
                .iter()
                .any(|r| r.kind == MemoryKind::ReservedRam && r.end() == ram.start)
        })
        .map(|ram| (ram.start, payload_start - ram.start));
    match below {
        Some((start, size)) if size > 0 => info.reserve(start, size),
        _ => Ok(()),
    }
}

/// The real-time clocks the firmware drives on device-tree machines: the PL031
/// of aarch64 `virt` and Cloud Hypervisor, the Goldfish RTC of riscv64 `virt`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RtcModel {
    /// Arm PrimeCell PL031 (`arm,pl031`).
    Pl031,
    /// Goldfish RTC (`google,goldfish-rtc`).
    Goldfish,
}

impl RtcModel {
    /// The models in the order [`rtc`] looks for them.
    pub const ALL: [RtcModel; 2] = [RtcModel::Pl031, RtcModel::Goldfish];

    /// The `compatible` string that names it.
    pub const fn compatible(self) -> &'static str {
        match self {
            RtcModel::Pl031 => "arm,pl031",
            RtcModel::Goldfish => "google,goldfish-rtc",
        }
    }
}

impl fmt::Display for RtcModel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            RtcModel::Pl031 => "PL031",
            RtcModel::Goldfish => "Goldfish",
        })
    }
}

/// A clock the device tree names, and its register block.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rtc {
    /// Which clock it is.
    pub model: RtcModel,
    /// Where its registers are.
    pub base: u64,
    /// The register block's size: what the runtime services keep mapped.
    pub size: u64,
}

/// The clock behind GetTime and SetTime: the first [`RtcModel`] (in
/// [`RtcModel::ALL`] order) that `tree` has a node with registers for.
pub fn rtc(tree: &Fdt) -> Option<Rtc> {
    RtcModel::ALL.into_iter().find_map(|model| {
        let (base, size) = tree.find_compatible(model.compatible())?.first_reg()?;
        Some(Rtc { model, base, size })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const QEMU_VIRT: &[u8] = include_bytes!("../../drivers/src/fdt/qemu-virt.dtb");
    const RESERVED: &[u8] = include_bytes!("../../drivers/src/fdt/reserved.dtb");

    #[test]
    fn qemu_virt_names_its_pl031() {
        let fdt = Fdt::new(QEMU_VIRT).unwrap();
        assert_eq!(
            rtc(&fdt),
            Some(Rtc {
                model: RtcModel::Pl031,
                base: 0x0901_0000,
                size: 0x1000
            })
        );
        assert_eq!(rtc(&Fdt::new(RESERVED).unwrap()), None);
    }

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

    fn reserved(info: &BootInfo) -> std::vec::Vec<(u64, u64)> {
        info.regions()
            .iter()
            .filter(|r| r.kind == MemoryKind::ReservedRam)
            .map(|r| (r.start, r.size))
            .collect()
    }

    #[test]
    fn sbi_memory_below_the_payload_is_reserved_when_the_tree_does_not_say() {
        let fdt = Fdt::new(QEMU_VIRT).unwrap();
        let mut info = boot_info(&fdt, 0x4800_1000).unwrap();
        reserve_below_payload(&mut info, 0x4020_0000).unwrap();
        assert_eq!(reserved(&info), [(0x4000_0000, 0x20_0000)]);
        assert_eq!(info.installed_ram(), 512 << 20);
    }

    #[test]
    fn sbi_reservation_from_the_tree_is_kept_as_it_is() {
        let mut info = BootInfo::new();
        info.add_region(MemoryRegion {
            start: 0x8000_0000,
            size: 0x2000_0000,
            kind: MemoryKind::Ram,
        })
        .unwrap();
        info.reserve(0x8000_0000, 0x8_0000).unwrap();
        reserve_below_payload(&mut info, 0x8020_0000).unwrap();
        assert_eq!(reserved(&info), [(0x8000_0000, 0x8_0000)]);
    }
}
