//! Cloud Hypervisor's aarch64 boot, reproduced on QEMU `virt` under TCG:
//! Cloud Hypervisor needs arm64 KVM, which the machines here lack.
//!
//! What Cloud Hypervisor (v53) does with `--kernel` on aarch64, from its
//! source (`cloud-hypervisor/cloud-hypervisor`):
//!
//! - RAM starts at 1 GiB (`RAM_START = 0x4000_0000`), and the device tree is
//!   written at the start of RAM (`FDT_START = RAM_START`, at most
//!   `FDT_MAX_SIZE = 2 MiB`); ACPI tables follow at `RAM_START + 2 MiB`, SMBIOS
//!   below `KERNEL_START = 0x4040_0000` (`arch/src/aarch64/layout.rs`).
//! - `Vm::load_kernel` loads an arm64 Image with linux-loader's `PE::load` at
//!   `KERNEL_START` rounded up to 2 MiB, plus the header's `text_offset`
//!   (0x80000 when `image_size` is 0), and starts the vCPU at its first byte
//!   (`vmm/src/vm.rs`; `src/loader/pe/mod.rs` in rust-vmm/linux-loader). Only
//!   the file is copied: the Image zeroes its own `.bss`. This firmware's
//!   header says `text_offset` 0, so it runs at 0x4040_0000.
//! - `--firmware` (and `--kernel` with a file that is not an arm64 Image)
//!   goes through `Vm::load_firmware`: the raw file is copied to the 4 MiB
//!   UEFI flash at `UEFI_START = 0` and the vCPU starts at 0. This firmware
//!   maps the first GiB as device memory and expects to run from RAM, so on
//!   Cloud Hypervisor it is booted with `--kernel`.
//! - The boot vCPU starts at EL1h with D, A, I and F masked
//!   (`PSTATE_FAULT_BITS_64`), PC at the entry, x0 = `FDT_START`, the other
//!   registers as KVM's vCPU reset leaves them, zero (`setup_regs`:
//!   `arch/src/aarch64/regs.rs`, later `hypervisor/src/kvm/mod.rs`, called
//!   from `configure_vcpu` in `arch/src/aarch64/mod.rs`).
//! - The tree (`create_fdt` in `arch/src/aarch64/fdt.rs`): the root is
//!   `compatible = "linux,dummy-virt"` with 2 address and 2 size cells and
//!   `interrupt-parent` the GIC (phandle 1); `cpus/cpu@0` is `arm,arm-v8`
//!   (phandle 8, `enable-method = "psci"` only with several vCPUs);
//!   `memory@40000000`; `chosen` holds `bootargs` (`--cmdline`) and no
//!   `stdout-path`; `intc` is `arm,gic-v3` (phandle 1) with its ITS as child
//!   `msic` (`arm,gic-v3-its`, phandle 2); `timer` is `arm,armv8-timer` on
//!   PPIs 13, 14, 11, 10; `apb-pclk` a 24 MHz `fixed-clock` (phandle 3);
//!   `psci` is `arm,psci-0.2` over `hvc`; the console `pl011@9000000`
//!   (`arm,pl011`, `arm,primecell`) and the clock `rtc@9010000` (`arm,pl031`,
//!   `arm,primecell`); and one `pci@<ECAM>` per PCI segment:
//!   `pci-host-ecam-generic` whose `reg` covers bus 0 only (1 MiB), with
//!   `bus-range = <0 0>`, I/O, 32-bit and 64-bit windows in `ranges`, an
//!   empty `interrupt-map` and MSIs through `msi-map`/`msi-parent` to the ITS.
//!   Its devices are modern virtio-pci functions on bus 0.
//!
//! The test builds that tree with the node names, compatibles and
//! properties Cloud Hypervisor writes, but with the addresses and
//! interrupt wiring QEMU `virt` really has (`-machine
//! gic-version=3,highmem=off`, so that the ECAM is below RAM as on Cloud
//! Hypervisor): GIC distributor 0x0800_0000 (Cloud Hypervisor: 0x08ff_0000),
//! one redistributor frame at 0x080a_0000, ITS 0x0808_0000, PL011 0x0900_0000
//! and PL031 0x0901_0000 (the same addresses as Cloud Hypervisor's), ECAM
//! 0x3f00_0000 (Cloud Hypervisor: 0x3000_0000), Cloud Hypervisor's 32-bit
//! window 0x1000_0000-0x2fff_ffff (inside QEMU's), QEMU's I/O window, and no
//! 64-bit window (QEMU has none with `highmem=off`). The PL011 and PL031
//! interrupts are QEMU's SPIs 1 and 2, level-triggered as QEMU wires them
//! (Cloud Hypervisor declares its PL011 edge-triggered). Cloud Hypervisor's
//! PL061 GPIO, PMU and cache nodes are left out: nothing here reads them.
//!
//! QEMU then stands in for Cloud Hypervisor's loader. Without `-kernel`,
//! QEMU copies its own tree to the start of RAM at reset, so the generic
//! loader cannot put one there (QEMU refuses overlapping ROM regions), and
//! `-dtb` would not do either: QEMU rewrites `/memory` and replaces `/psci`
//! (with `arm,psci-1.0`) in a tree it is given. So `-device loader` puts
//! the firmware at 0x4040_0000 and, at 0 (where Cloud Hypervisor has its
//! UEFI flash and QEMU its flash), a stub carrying the tree; the loader
//! starts the CPU there. The stub copies the tree over QEMU's at the start of
//! RAM, sets the registers as Cloud Hypervisor does and jumps to the
//! firmware. QEMU `virt` without `virtualization=on` starts the CPU at EL1h
//! with D, A, I and F masked, as Cloud Hypervisor does.

use crate::boot_tests::{aarch64_firmware, assert_device_tree_mode, proof_with_acpi, BootTest, Context, Session};
use crate::fdt_writer::FdtWriter;
use crate::qemu::{Loading, QemuConfig};
use crate::{bls_tests, debian, initramfs};
use std::time::Duration;

/// Cloud Hypervisor's `RAM_START` and `FDT_START`.
pub const RAM_START: u64 = 0x4000_0000;
pub const FDT_START: u64 = RAM_START;
/// Cloud Hypervisor's `KERNEL_START` (already 2 MiB aligned) plus this
/// firmware's `text_offset` (0): where `--kernel` puts it.
pub const PAYLOAD_START: u64 = 0x4040_0000;
/// Where the register set-up stub goes: the start of QEMU's flash, which is
/// Cloud Hypervisor's UEFI area (`UEFI_START`): outside RAM, where nothing
/// the firmware owns is.
pub const STUB_START: u64 = 0;

/// QEMU `virt`'s devices (`-machine gic-version=3,highmem=off`), as
/// `-machine dumpdtb=` shows them.
const GIC_DIST: (u64, u64) = (0x0800_0000, 0x1_0000);
/// One vCPU's redistributor frame (Cloud Hypervisor: 128 KiB per vCPU).
const GIC_REDIST: (u64, u64) = (0x080a_0000, 0x2_0000);
const GIC_ITS: (u64, u64) = (0x0808_0000, 0x2_0000);
const PL011: (u64, u64) = (0x0900_0000, 0x1000);
const PL031: (u64, u64) = (0x0901_0000, 0x1000);
/// The ECAM QEMU decodes below 4 GiB; the tree gives bus 0 only, as Cloud
/// Hypervisor's `PCI_MMIO_CONFIG_SIZE_PER_SEGMENT` does.
const ECAM: (u64, u64) = (0x3f00_0000, 0x10_0000);
const PCI_IO: (u64, u64) = (0x3eff_0000, 0x1_0000);
/// Cloud Hypervisor's `MEM_32BIT_DEVICES_START`/`_SIZE`, which QEMU's own
/// 32-bit window (0x1000_0000-0x3efe_ffff) covers.
const PCI_MMIO32: (u64, u64) = (0x1000_0000, 0x2000_0000);
/// QEMU's wiring of the PL011 and PL031 (SPI numbers).
const PL011_SPI: u32 = 1;
const PL031_SPI: u32 = 2;

/// Cloud Hypervisor's phandles (`arch/src/aarch64/fdt.rs`).
const GIC_PHANDLE: u32 = 1;
const MSI_PHANDLE: u32 = 2;
const CLOCK_PHANDLE: u32 = 3;
const FIRST_VCPU_PHANDLE: u32 = 8;

/// Interrupt specifiers (Linux's GIC binding): type, number, flags.
const GIC_SPI: u32 = 0;
const GIC_PPI: u32 = 1;
const IRQ_TYPE_LEVEL_HIGH: u32 = 4;
/// Cloud Hypervisor's GICv3 maintenance interrupt, a PPI
/// (`KvmGicV3Its::ARCH_GIC_V3_MAINT_IRQ`).
const GIC_V3_MAINT_IRQ: u32 = 9;
/// The architected timers: secure and non-secure physical, virtual, hypervisor.
const TIMER_PPIS: [u32; 4] = [13, 14, 11, 10];

/// `phys.hi` of a PCI address (Open Firmware PCI bus binding): the space.
const PCI_SPACE_IO: u32 = 0x0100_0000;
const PCI_SPACE_MEM32: u32 = 0x0200_0000;

fn hi(v: u64) -> u32 {
    (v >> 32) as u32
}

fn lo(v: u64) -> u32 {
    v as u32
}

/// The device tree Cloud Hypervisor would write for one vCPU, `ram_size`
/// bytes of RAM, `bootargs` and one PCI segment, with QEMU's addresses.
/// Nodes and properties come in Cloud Hypervisor's order.
pub fn device_tree(ram_size: u64, bootargs: &str) -> Vec<u8> {
    let mut t = FdtWriter::new();
    t.begin_node("");
    t.property_string("compatible", "linux,dummy-virt");
    t.property_u32("#address-cells", 2);
    t.property_u32("#size-cells", 2);
    t.property_u32("interrupt-parent", GIC_PHANDLE);

    t.begin_node("cpus");
    t.property_u32("#address-cells", 1);
    t.property_u32("#size-cells", 0);
    t.begin_node("cpu@0");
    t.property_string("device_type", "cpu");
    t.property_string("compatible", "arm,arm-v8");
    // MPIDR_EL1 affinity of vCPU 0.
    t.property_u32("reg", 0);
    t.property_u32("phandle", FIRST_VCPU_PHANDLE);
    t.end_node();
    t.end_node();

    t.begin_node(&format!("memory@{RAM_START:x}"));
    t.property_string("device_type", "memory");
    t.property_u64s("reg", &[RAM_START, ram_size]);
    t.end_node();

    t.begin_node("chosen");
    t.property_string("bootargs", bootargs);
    t.end_node();

    t.begin_node("intc");
    t.property_string("compatible", "arm,gic-v3");
    t.property_null("interrupt-controller");
    t.property_u32("#interrupt-cells", 3);
    t.property_u64s("reg", &[GIC_DIST.0, GIC_DIST.1, GIC_REDIST.0, GIC_REDIST.1]);
    t.property_u32("phandle", GIC_PHANDLE);
    t.property_u32("#address-cells", 2);
    t.property_u32("#size-cells", 2);
    t.property_null("ranges");
    t.property_u32s("interrupts", &[GIC_PPI, GIC_V3_MAINT_IRQ, IRQ_TYPE_LEVEL_HIGH]);
    t.begin_node("msic");
    t.property_string("compatible", "arm,gic-v3-its");
    t.property_null("msi-controller");
    t.property_u32("phandle", MSI_PHANDLE);
    t.property_u64s("reg", &[GIC_ITS.0, GIC_ITS.1]);
    t.end_node();
    t.end_node();

    t.begin_node("timer");
    t.property_string("compatible", "arm,armv8-timer");
    t.property_null("always-on");
    let timer: Vec<u32> = TIMER_PPIS
        .iter()
        .flat_map(|&ppi| [GIC_PPI, ppi, IRQ_TYPE_LEVEL_HIGH])
        .collect();
    t.property_u32s("interrupts", &timer);
    t.end_node();

    t.begin_node("apb-pclk");
    t.property_string("compatible", "fixed-clock");
    t.property_u32("#clock-cells", 0);
    t.property_u32("clock-frequency", 24_000_000);
    t.property_string("clock-output-names", "clk24mhz");
    t.property_u32("phandle", CLOCK_PHANDLE);
    t.end_node();

    t.begin_node("psci");
    t.property_string("compatible", "arm,psci-0.2");
    t.property_string("method", "hvc");
    t.end_node();

    t.begin_node(&format!("pl011@{:x}", PL011.0));
    t.property_strings("compatible", &["arm,pl011", "arm,primecell"]);
    t.property_u64s("reg", &[PL011.0, PL011.1]);
    t.property_u32("clocks", CLOCK_PHANDLE);
    t.property_string("clock-names", "apb_pclk");
    t.property_u32s("interrupts", &[GIC_SPI, PL011_SPI, IRQ_TYPE_LEVEL_HIGH]);
    t.end_node();

    t.begin_node(&format!("rtc@{:x}", PL031.0));
    t.property_strings("compatible", &["arm,pl031", "arm,primecell"]);
    t.property_u64s("reg", &[PL031.0, PL031.1]);
    t.property_u32s("interrupts", &[GIC_SPI, PL031_SPI, IRQ_TYPE_LEVEL_HIGH]);
    t.property_u32("clocks", CLOCK_PHANDLE);
    t.property_string("clock-names", "apb_pclk");
    t.end_node();

    t.begin_node(&format!("pci@{:x}", ECAM.0));
    t.property_string("compatible", "pci-host-ecam-generic");
    t.property_string("device_type", "pci");
    // (PCI address: 3 cells, CPU address: 2 cells, size: 2 cells) per window.
    t.property_u32s(
        "ranges",
        &[
            PCI_SPACE_IO,
            0,
            0,
            hi(PCI_IO.0),
            lo(PCI_IO.0),
            hi(PCI_IO.1),
            lo(PCI_IO.1),
            PCI_SPACE_MEM32,
            hi(PCI_MMIO32.0),
            lo(PCI_MMIO32.0),
            hi(PCI_MMIO32.0),
            lo(PCI_MMIO32.0),
            hi(PCI_MMIO32.1),
            lo(PCI_MMIO32.1),
        ],
    );
    t.property_u32s("bus-range", &[0, 0]);
    t.property_u32("linux,pci-domain", 0);
    t.property_u32("#address-cells", 3);
    t.property_u32("#size-cells", 2);
    t.property_u64s("reg", &[ECAM.0, ECAM.1]);
    t.property_u32("#interrupt-cells", 1);
    t.property_null("interrupt-map");
    t.property_null("interrupt-map-mask");
    t.property_null("dma-coherent");
    // Requester IDs 0-255 of segment 0 to the ITS.
    t.property_u32s("msi-map", &[0, MSI_PHANDLE, 0, 0x100]);
    t.property_u32("msi-parent", MSI_PHANDLE);
    t.end_node();

    t.end_node();
    t.finish()
}

/// The instructions of [`boot_stub`], each checked with `llvm-mc
/// --triple=aarch64 --show-encoding`. Three literals and the tree follow.
const STUB_CODE: [u32; 14] = [
    0x1000_0285, // 0x00: adr  x5, #0x50        x5 = the tree, after the literals
    0x5800_01a6, // 0x04: ldr  x6, #0x34        x6 = its length, a multiple of 8 (literal at 0x38)
    0x5800_01c0, // 0x08: ldr  x0, #0x38        x0 = FDT_START (literal at 0x40)
    0xaa00_03e7, // 0x0c: mov  x7, x0
    0xf840_84a8, // 0x10: ldr  x8, [x5], #8     copy 8 bytes (aligned: the MMU is off)
    0xf800_84e8, // 0x14: str  x8, [x7], #8
    0xf100_20c6, // 0x18: subs x6, x6, #8
    0x54ff_ffa1, // 0x1c: b.ne 0x10
    0xaa1f_03e1, // 0x20: mov  x1, xzr          x1-x3 = 0, as the arm64 boot protocol asks
    0xaa1f_03e2, // 0x24: mov  x2, xzr
    0xaa1f_03e3, // 0x28: mov  x3, xzr
    0x5800_00e4, // 0x2c: ldr  x4, #0x1c        x4 = the entry (literal at 0x48)
    0xd61f_0080, // 0x30: br   x4
    0xd503_201f, // 0x34: nop                   aligns the literals to 8 bytes
];

/// What Cloud Hypervisor does before the boot vCPU runs, as code for that
/// vCPU: copy `tree` to `fdt` (`write_fdt_to_memory`; it overwrites the tree
/// QEMU put there), set x0 = `fdt` and x1-x3 = 0 (`setup_regs`), branch to
/// `entry`. Position independent; x4-x8 are left non-zero (Cloud Hypervisor
/// leaves them 0; the boot protocol says nothing of them).
pub fn boot_stub(fdt: u64, entry: u64, tree: &[u8]) -> Vec<u8> {
    let mut tree = tree.to_vec();
    tree.resize(tree.len().next_multiple_of(8), 0);
    let mut stub: Vec<u8> = STUB_CODE.iter().flat_map(|w| w.to_le_bytes()).collect();
    stub.extend_from_slice(&(tree.len() as u64).to_le_bytes()); // 0x38
    stub.extend_from_slice(&fdt.to_le_bytes()); // 0x40
    stub.extend_from_slice(&entry.to_le_bytes()); // 0x48
    stub.extend_from_slice(&tree); // 0x50
    stub
}

/// QEMU's arguments that reproduce Cloud Hypervisor's layout around
/// `firmware`, with `stub` (which carries the tree) written to a file.
fn layout_args(firmware: &std::path::Path, stub: &[u8]) -> Result<Vec<String>, String> {
    let dir = crate::firmware::target_dir().join("tmp");
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let stub_file = dir.join("cloud-hypervisor-aarch64-stub.bin");
    std::fs::write(&stub_file, stub).map_err(|e| format!("cannot write {}: {e}", stub_file.display()))?;
    Ok(vec![
        "-machine".into(),
        "gic-version=3,highmem=off".into(),
        // Cloud Hypervisor adds no network device unless asked (QEMU does).
        "-nic".into(),
        "none".into(),
        "-device".into(),
        format!(
            "loader,file={},addr={PAYLOAD_START:#x},force-raw=on",
            firmware.display()
        ),
        "-device".into(),
        format!(
            "loader,file={},addr={STUB_START:#x},cpu-num=0,force-raw=on",
            stub_file.display()
        ),
    ])
}

pub fn tests() -> Vec<BootTest> {
    vec![BootTest {
        name: "aarch64_cloud_hypervisor_layout_boots_debian_from_pci",
        run: layout_boots_debian,
    }]
}

const START: Duration = Duration::from_secs(20);
const LINUX: Duration = Duration::from_secs(120);

/// The firmware where Cloud Hypervisor's `--kernel` puts it, with a tree like
/// Cloud Hypervisor's at the start of RAM and x0 pointing at it: it finds the
/// PL011 without `stdout-path`, the PL031 and the bus-0-only ECAM in the
/// tree, places the BARs of a modern virtio-blk-pci in the tree's 32-bit
/// window, and boots Debian's arm64 kernel from a BLS entry, which finds EFI,
/// its variables and all of RAM.
fn layout_boots_debian(_ctx: &Context, s: &mut Session) -> Result<(), String> {
    let options = "console=ttyAMA0 hvfw.marker=ch-aarch64-layout";
    let (disk, version) = bls_tests::one_entry_disk(
        "bls-arm64-ch-layout",
        "aa64",
        debian::arm64_kernel()?,
        initramfs::arm64_proof_initramfs()?,
        options,
        None,
    )?;
    let firmware = aarch64_firmware()?;
    let mut config = QemuConfig::aarch64(&firmware);
    config.loading = Loading::ExtraArgs;
    config.disks.push(disk);
    // No --cmdline: the README's command line gives none.
    let tree = device_tree(512 << 20, "");
    config.extra_args = layout_args(&firmware, &boot_stub(FDT_START, PAYLOAD_START, &tree))?;
    let qemu = s.boot(&config)?;
    qemu.wait_for(
        &format!("hypervisor-fw {} (aarch64-unknown-none)", env!("CARGO_PKG_VERSION")),
        START,
    )?;
    qemu.wait_for("RAM: 512 MiB installed", START)?;
    qemu.wait_for(&format!("firmware image at {PAYLOAD_START:#x}-"), START)?;
    qemu.wait_for(&format!("device tree at {FDT_START:#x}"), START)?;
    qemu.wait_for(
        &format!(
            "console: PL011 at {:#x}, the first arm,pl011 in the device tree, which names no stdout-path",
            PL011.0
        ),
        START,
    )?;
    qemu.wait_for(&format!("RTC: PL031 at {:#x}, from the device tree", PL031.0), START)?;
    qemu.wait_for(&format!("PCI: ECAM at {:#x}, buses 0-0", ECAM.0), START)?;
    qemu.wait_for("disk 0: virtio-blk at PCI 00:", START)?;
    qemu.wait_for(&format!("Boot: starting Debian {version}"), START)?;
    let linux = proof_with_acpi(qemu, 512, options, LINUX, &[])?;
    // The tree names no fw_cfg (QEMU's device is there, unnamed): the firmware
    // loads no ACPI tables and Linux boots from the tree.
    assert_device_tree_mode(qemu)?;
    qemu.assert_absent("!!!!")?;
    println!(
        "    Linux version after {:.2}s (aarch64, Cloud Hypervisor's layout)",
        linux.as_secs_f64()
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use fw_drivers::fdt::{Fdt, PciSpace};

    #[test]
    fn the_tree_reads_as_cloud_hypervisors_with_qemus_addresses() {
        let blob = device_tree(512 << 20, "");
        let fdt = Fdt::new(&blob).unwrap();
        let memory: Vec<_> = fdt.nodes().filter(|n| n.is_memory()).flat_map(|n| n.reg()).collect();
        assert_eq!(memory, [(RAM_START, 512 << 20)]);
        // No stdout-path: the firmware must fall back to the first PL011.
        assert!(fdt.stdout().is_none());
        assert_eq!(fdt.find_path("/chosen").unwrap().property("bootargs"), Some(&b"\0"[..]));
        assert_eq!(fdt.find_compatible("arm,pl011").unwrap().first_reg(), Some(PL011));
        assert_eq!(fdt.find_compatible("arm,pl031").unwrap().name(), "rtc@9010000");
        let psci = fdt.find_compatible("arm,psci-0.2").unwrap();
        assert_eq!(psci.str_property("method"), Some("hvc"));
        let pci = fdt.find_compatible("pci-host-ecam-generic").unwrap();
        assert_eq!(pci.name(), "pci@3f000000");
        assert_eq!(pci.first_reg(), Some(ECAM));
        assert_eq!(pci.bus_range(), (0, 0));
        let windows: Vec<_> = pci.pci_ranges().map(|r| (r.space, r.cpu_address, r.size)).collect();
        assert_eq!(
            windows,
            [
                (PciSpace::Io, PCI_IO.0, PCI_IO.1),
                (PciSpace::Memory32, PCI_MMIO32.0, PCI_MMIO32.1)
            ]
        );
        let its = fdt.find_compatible("arm,gic-v3-its").unwrap();
        assert_eq!(its.name(), "msic");
        assert_eq!(its.u32_property("phandle"), Some(MSI_PHANDLE));
    }

    #[test]
    fn the_stub_copies_the_tree_then_branches_with_x0_set() {
        let tree = device_tree(512 << 20, "");
        let stub = boot_stub(FDT_START, PAYLOAD_START, &tree);
        let word = |at: usize| u32::from_le_bytes(stub[at..at + 4].try_into().unwrap());
        let quad = |at: usize| u64::from_le_bytes(stub[at..at + 8].try_into().unwrap());
        // ldr (literal): register, and the value at its own address + imm19 * 4.
        let literal = |at: usize| {
            assert_eq!(
                word(at) & 0xff00_0000,
                0x5800_0000,
                "not a 64-bit ldr (literal) at {at:#x}"
            );
            (word(at) & 0x1f, quad(at + ((word(at) >> 5) & 0x7_ffff) as usize * 4))
        };
        // adr: immhi (bits 5-23) and immlo (bits 29-30).
        let adr = |at: usize| {
            assert_eq!(word(at) & 0x9f00_0000, 0x1000_0000, "not adr at {at:#x}");
            at + ((((word(at) >> 5) & 0x7_ffff) << 2) | ((word(at) >> 29) & 3)) as usize
        };
        let source = adr(0x00);
        let (length_reg, length) = literal(0x04);
        assert_eq!(length_reg, 6);
        assert_eq!(length as usize, tree.len().next_multiple_of(8));
        assert_eq!(&stub[source..source + tree.len()], &tree[..]);
        assert_eq!(stub.len(), source + length as usize);
        assert_eq!(literal(0x08), (0, FDT_START));
        assert_eq!(literal(0x2c), (4, PAYLOAD_START));
        // b.ne back to the copy's first load (imm19 = -3 words), then br x4.
        assert_eq!(word(0x1c), 0x5400_0001 | ((-3i32 as u32 & 0x7_ffff) << 5));
        assert_eq!(word(0x30), 0xd61f_0080);
    }
}
