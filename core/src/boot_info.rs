//! What the VMM tells the firmware at entry, in one architecture-neutral shape.
//!
//! The x86_64 PVH start info and (later) the aarch64 device tree are both turned into
//! a [`BootInfo`] by `arch/`; everything above works from this. It lives in fixed-size
//! storage because it is built before the heap exists.
#![forbid(unsafe_code)]

use core::fmt;

/// How many memory regions a [`BootInfo`] can hold. QEMU and Cloud Hypervisor pass
/// fewer than a dozen; 128 leaves room for fragmented maps.
pub const MAX_MEMORY_REGIONS: usize = 128;
/// Longest kernel command line kept (the VMM's `-append`/`--cmdline`).
pub const MAX_CMDLINE: usize = 1024;
/// How many boot modules (PVH modules, initrds) are kept.
pub const MAX_MODULES: usize = 8;

/// The kind of a physical memory range, as the VMM reported it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MemoryKind {
    /// Usable RAM.
    Ram,
    /// Not to be touched (BIOS areas, MMIO holes the VMM reports).
    Reserved,
    /// ACPI tables; usable by the OS after it read them.
    AcpiReclaimable,
    /// ACPI non-volatile storage; never usable.
    AcpiNvs,
    /// RAM with errors.
    Unusable,
    /// Persistent memory.
    Persistent,
    /// RAM that must not be used: a device tree's `/memreserve/` entries and
    /// `/reserved-memory` nodes. Installed, so [`BootInfo::installed_ram`] counts it.
    ReservedRam,
}

impl MemoryKind {
    /// Maps an E820 type number (also used by the PVH memory map) to a kind.
    pub fn from_e820(kind: u32) -> MemoryKind {
        match kind {
            1 => MemoryKind::Ram,
            3 => MemoryKind::AcpiReclaimable,
            4 => MemoryKind::AcpiNvs,
            5 => MemoryKind::Unusable,
            7 => MemoryKind::Persistent,
            _ => MemoryKind::Reserved,
        }
    }
}

impl fmt::Display for MemoryKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            MemoryKind::Ram => "RAM",
            MemoryKind::Reserved => "reserved",
            MemoryKind::AcpiReclaimable => "ACPI",
            MemoryKind::AcpiNvs => "ACPI NVS",
            MemoryKind::Unusable => "unusable",
            MemoryKind::Persistent => "persistent",
            MemoryKind::ReservedRam => "reserved RAM",
        })
    }
}

/// One physical memory range.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MemoryRegion {
    /// The first byte.
    pub start: u64,
    /// The length in bytes.
    pub size: u64,
    /// What the memory is for.
    pub kind: MemoryKind,
}

impl MemoryRegion {
    /// A region of no bytes, to fill unused slots.
    pub const EMPTY: MemoryRegion = MemoryRegion {
        start: 0,
        size: 0,
        kind: MemoryKind::Reserved,
    };

    /// One past the last byte.
    pub fn end(&self) -> u64 {
        self.start.saturating_add(self.size)
    }
}

/// A module the VMM loaded next to the firmware (PVH `modlist`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Module {
    /// The module's first byte.
    pub start: u64,
    /// Its length in bytes.
    pub size: u64,
}

/// Why a [`BootInfo`] could not take more data.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BootInfoError {
    /// More than [`MAX_MEMORY_REGIONS`] memory regions.
    TooManyRegions,
    /// More than [`MAX_MODULES`] modules.
    TooManyModules,
    /// A command line longer than [`MAX_CMDLINE`] bytes.
    CommandLineTooLong {
        /// Its length.
        len: usize,
    },
}

impl fmt::Display for BootInfoError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BootInfoError::TooManyRegions => {
                write!(f, "more than {MAX_MEMORY_REGIONS} memory regions")
            }
            BootInfoError::TooManyModules => write!(f, "more than {MAX_MODULES} modules"),
            BootInfoError::CommandLineTooLong { len } => {
                write!(f, "command line of {len} bytes is longer than {MAX_CMDLINE}")
            }
        }
    }
}

/// Everything the firmware learned from the VMM at entry.
#[derive(Clone)]
pub struct BootInfo {
    regions: [MemoryRegion; MAX_MEMORY_REGIONS],
    region_count: usize,
    modules: [Module; MAX_MODULES],
    module_count: usize,
    cmdline: [u8; MAX_CMDLINE],
    cmdline_len: usize,
    /// Physical address of the ACPI RSDP, when the VMM gave one.
    pub rsdp: Option<u64>,
    /// Physical address of a flattened device tree, when the VMM gave one.
    pub fdt: Option<u64>,
}

impl fmt::Debug for BootInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BootInfo")
            .field("regions", &self.regions())
            .field("modules", &self.modules())
            .field("cmdline", &self.cmdline())
            .field("rsdp", &self.rsdp)
            .field("fdt", &self.fdt)
            .finish()
    }
}

impl Default for BootInfo {
    fn default() -> Self {
        BootInfo::new()
    }
}

impl BootInfo {
    /// An empty boot information: no regions, modules or command line.
    pub const fn new() -> BootInfo {
        BootInfo {
            regions: [MemoryRegion::EMPTY; MAX_MEMORY_REGIONS],
            region_count: 0,
            modules: [Module { start: 0, size: 0 }; MAX_MODULES],
            module_count: 0,
            cmdline: [0; MAX_CMDLINE],
            cmdline_len: 0,
            rsdp: None,
            fdt: None,
        }
    }

    /// Adds a region; zero-sized regions are dropped.
    pub fn add_region(&mut self, region: MemoryRegion) -> Result<(), BootInfoError> {
        if region.size == 0 {
            return Ok(());
        }
        if self.region_count == MAX_MEMORY_REGIONS {
            return Err(BootInfoError::TooManyRegions);
        }
        self.regions[self.region_count] = region;
        self.region_count += 1;
        Ok(())
    }

    /// Marks `[start, start + size)` as [`MemoryKind::ReservedRam`]: the parts of
    /// `Ram` regions it covers are cut out (a region may split in two) and added
    /// as reserved. Parts outside RAM are left alone.
    pub fn reserve(&mut self, start: u64, size: u64) -> Result<(), BootInfoError> {
        let end = start.saturating_add(size);
        let mut i = 0;
        while i < self.region_count {
            let r = self.regions[i];
            if r.kind != MemoryKind::Ram || r.end() <= start || r.start >= end {
                i += 1;
                continue;
            }
            let cut_start = r.start.max(start);
            let cut_end = r.end().min(end);
            let before = MemoryRegion {
                start: r.start,
                size: cut_start - r.start,
                kind: MemoryKind::Ram,
            };
            let after = MemoryRegion {
                start: cut_end,
                size: r.end() - cut_end,
                kind: MemoryKind::Ram,
            };
            let cut = MemoryRegion {
                start: cut_start,
                size: cut_end - cut_start,
                kind: MemoryKind::ReservedRam,
            };
            // Replace the region in place by the cut, then add what is left of it.
            self.regions[i] = cut;
            self.add_region(before)?;
            self.add_region(after)?;
            i += 1;
        }
        Ok(())
    }

    /// Adds a module the VMM loaded.
    pub fn add_module(&mut self, module: Module) -> Result<(), BootInfoError> {
        if self.module_count == MAX_MODULES {
            return Err(BootInfoError::TooManyModules);
        }
        self.modules[self.module_count] = module;
        self.module_count += 1;
        Ok(())
    }

    /// Records that the module starting at `from` now starts at `to` (the
    /// firmware copied it there); the device tree's address follows when the
    /// module is the tree. Returns whether such a module was found.
    pub fn move_module(&mut self, from: u64, to: u64) -> bool {
        let Some(module) = self.modules[..self.module_count].iter_mut().find(|m| m.start == from) else {
            return false;
        };
        module.start = to;
        if self.fdt == Some(from) {
            self.fdt = Some(to);
        }
        true
    }

    /// Stores the command line. Invalid UTF-8 is kept as bytes; [`BootInfo::cmdline`]
    /// then returns the longest valid prefix.
    pub fn set_cmdline(&mut self, bytes: &[u8]) -> Result<(), BootInfoError> {
        if bytes.len() > MAX_CMDLINE {
            return Err(BootInfoError::CommandLineTooLong { len: bytes.len() });
        }
        self.cmdline[..bytes.len()].copy_from_slice(bytes);
        self.cmdline_len = bytes.len();
        Ok(())
    }

    /// The memory regions, in the order they were added.
    pub fn regions(&self) -> &[MemoryRegion] {
        &self.regions[..self.region_count]
    }

    /// The modules, in the order they were added.
    pub fn modules(&self) -> &[Module] {
        &self.modules[..self.module_count]
    }

    /// The command line (the longest valid UTF-8 prefix of what was stored).
    pub fn cmdline(&self) -> &str {
        let bytes = &self.cmdline[..self.cmdline_len];
        match core::str::from_utf8(bytes) {
            Ok(s) => s,
            Err(e) => core::str::from_utf8(&bytes[..e.valid_up_to()]).unwrap_or(""),
        }
    }

    /// Whether `word` (e.g. `hvfw.test=fault`) appears as a whole word on the command line.
    pub fn cmdline_has(&self, word: &str) -> bool {
        self.cmdline().split_ascii_whitespace().any(|w| w == word)
    }

    /// Bytes in `Ram` regions: what the OS may use.
    pub fn usable_ram(&self) -> u64 {
        self.regions()
            .iter()
            .filter(|r| r.kind == MemoryKind::Ram)
            .map(|r| r.size)
            .sum()
    }

    /// Bytes of RAM the VMM gave the machine (QEMU's `-m`): each RAM region is
    /// rounded out to whole MiB, so the legacy hole below 1 MiB and the pages a
    /// BIOS reserves at the top of low RAM count, and overlapping results merge.
    pub fn installed_ram(&self) -> u64 {
        const MIB: u64 = 1 << 20;
        let mut banks: [(u64, u64); MAX_MEMORY_REGIONS] = [(0, 0); MAX_MEMORY_REGIONS];
        let mut count = 0;
        for r in self
            .regions()
            .iter()
            .filter(|r| matches!(r.kind, MemoryKind::Ram | MemoryKind::ReservedRam))
        {
            banks[count] = (r.start / MIB * MIB, r.end().div_ceil(MIB) * MIB);
            count += 1;
        }
        let banks = &mut banks[..count];
        banks.sort_unstable();
        let mut total = 0;
        let mut covered_to = 0;
        for &(start, end) in banks.iter() {
            let start = start.max(covered_to);
            if end > start {
                total += end - start;
                covered_to = end;
            }
        }
        total
    }

    /// One past the highest RAM byte.
    pub fn ram_top(&self) -> u64 {
        self.regions()
            .iter()
            .filter(|r| r.kind == MemoryKind::Ram)
            .map(|r| r.end())
            .max()
            .unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ram(start: u64, size: u64) -> MemoryRegion {
        MemoryRegion {
            start,
            size,
            kind: MemoryKind::Ram,
        }
    }

    fn reserved(start: u64, size: u64) -> MemoryRegion {
        MemoryRegion {
            start,
            size,
            kind: MemoryKind::Reserved,
        }
    }

    #[test]
    fn moving_the_tree_module_moves_the_tree() {
        let mut info = BootInfo::new();
        info.add_module(Module {
            start: 0x4100_0000,
            size: 0x1000,
        })
        .unwrap();
        info.fdt = Some(0x4100_0000);
        assert!(info.move_module(0x4100_0000, 0x4300_0000));
        assert_eq!(info.modules()[0].start, 0x4300_0000);
        assert_eq!(info.fdt, Some(0x4300_0000));
        assert!(!info.move_module(0x4100_0000, 0x4400_0000));
    }

    #[test]
    fn sums_only_ram_regions() {
        let mut info = BootInfo::new();
        info.add_region(ram(0, 0x9fc00)).unwrap();
        info.add_region(reserved(0x9fc00, 0x400)).unwrap();
        info.add_region(ram(0x100000, 0x7f00000)).unwrap();
        assert_eq!(info.usable_ram(), 0x9fc00 + 0x7f00000);
        assert_eq!(info.ram_top(), 0x8000000);
    }

    #[test]
    fn counts_installed_ram_as_the_vmm_does() {
        // QEMU q35 -m 5G booted through SeaBIOS's PVH path.
        let mut info = BootInfo::new();
        info.add_region(ram(0, 0x9fc00)).unwrap();
        info.add_region(reserved(0x9fc00, 0x400)).unwrap();
        info.add_region(ram(0x100000, 0x7ffdf000 - 0x100000)).unwrap();
        info.add_region(reserved(0x7ffdf000, 0x21000)).unwrap();
        info.add_region(ram(0x1_0000_0000, 0xc000_0000)).unwrap();
        assert_eq!(info.installed_ram(), 5 << 30);
    }

    #[test]
    fn drops_empty_regions_and_refuses_overflow() {
        let mut info = BootInfo::new();
        info.add_region(ram(0x1000, 0)).unwrap();
        assert!(info.regions().is_empty());
        for i in 0..MAX_MEMORY_REGIONS as u64 {
            info.add_region(ram(i * 0x1000, 0x1000)).unwrap();
        }
        assert_eq!(info.add_region(ram(0, 1)), Err(BootInfoError::TooManyRegions));
    }

    #[test]
    fn reserving_splits_ram_and_keeps_it_installed() {
        let mut info = BootInfo::new();
        info.add_region(ram(0x4000_0000, 0x2000_0000)).unwrap();
        info.reserve(0x5f00_0000, 0x10_0000).unwrap();
        info.reserve(0x4000_0000, 0x1000).unwrap();
        // Outside RAM: nothing to cut.
        info.reserve(0x1000, 0x1000).unwrap();
        assert_eq!(info.usable_ram(), 0x2000_0000 - 0x10_0000 - 0x1000);
        assert_eq!(info.installed_ram(), 512 << 20);
        let mut ram: std::vec::Vec<_> = info
            .regions()
            .iter()
            .filter(|r| r.kind == MemoryKind::Ram)
            .map(|r| (r.start, r.end()))
            .collect();
        ram.sort_unstable();
        assert_eq!(ram, [(0x4000_1000, 0x5f00_0000), (0x5f10_0000, 0x6000_0000)]);
    }

    #[test]
    fn finds_whole_words_on_the_command_line() {
        let mut info = BootInfo::new();
        info.set_cmdline(b"console=ttyS0 hvfw.test=fault").unwrap();
        assert!(info.cmdline_has("hvfw.test=fault"));
        assert!(!info.cmdline_has("hvfw.test"));
    }

    #[test]
    fn keeps_valid_prefix_of_non_utf8_command_line() {
        let mut info = BootInfo::new();
        info.set_cmdline(b"ok\xffbad").unwrap();
        assert_eq!(info.cmdline(), "ok");
        let long = [b'a'; MAX_CMDLINE + 1];
        assert_eq!(
            info.set_cmdline(&long),
            Err(BootInfoError::CommandLineTooLong { len: MAX_CMDLINE + 1 })
        );
    }
}
