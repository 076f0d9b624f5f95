//! QEMU tests of the built-in Boot Loader Specification loader, the Linux
//! loaders (EFI stub and x86 boot protocol), the serial menu and boot counting.

use crate::boot_tests::{
    aarch64_firmware, assert_device_tree_mode, assert_efi_rng, assert_memory_attributes_table, proof, proof_value,
    proof_with_acpi, proof_with_memory_share, BootTest, Context, Session,
};
use crate::images::{self, BlsDisk, Source};
use crate::qemu::{QemuConfig, Rng};
use crate::{debian, initramfs};
use std::path::PathBuf;
use std::time::Duration;

const LINUX: Duration = Duration::from_secs(120);
const START: Duration = Duration::from_secs(20);

pub fn tests() -> Vec<BootTest> {
    vec![
        BootTest {
            name: "bls_boots_the_entry_the_specification_picks",
            run: picks_by_specification,
        },
        BootTest {
            name: "bls_memtotal_at_5g_matches_qemus_direct_kernel_boot",
            run: memtotal_at_5g,
        },
        BootTest {
            name: "bls_x86_seeds_linux_from_virtio_rng_without_rdrand",
            run: x86_virtio_rng,
        },
        BootTest {
            name: "bls_default_glob_picks_its_entry",
            run: default_glob,
        },
        BootTest {
            name: "bls_skips_broken_entries_with_reasons",
            run: broken_entries,
        },
        BootTest {
            name: "bls_menu_over_serial_selects_and_edits",
            run: menu,
        },
        BootTest {
            name: "bls_boot_counting_renames_the_entry",
            run: boot_counting,
        },
        BootTest {
            name: "uki_built_with_objcopy_boots",
            run: uki,
        },
        BootTest {
            name: "linux_boots_through_the_x86_boot_protocol",
            run: bzimage,
        },
        BootTest {
            name: "smbios_linux_finds_qemu_smbios_through_32_bit_entry_point",
            run: smbios_32_bit,
        },
        BootTest {
            name: "smbios_linux_finds_qemu_smbios_through_64_bit_entry_point",
            run: smbios_64_bit,
        },
        BootTest {
            name: "smbios_aarch64_linux_finds_qemu_smbios_through_fw_cfg",
            run: smbios_aarch64_fw_cfg,
        },
        BootTest {
            name: "aarch64_bls_boots_debian_arm64_kernel_in_acpi_mode",
            run: aarch64_debian_arm64,
        },
        BootTest {
            name: "aarch64_bls_boots_debian_arm64_kernel_from_virtio_mmio",
            run: aarch64_debian_arm64_mmio,
        },
        BootTest {
            name: "aarch64_bls_boots_debian_arm64_kernel_from_the_device_tree_with_acpi_off",
            run: aarch64_debian_arm64_acpi_off,
        },
        BootTest {
            name: "aarch64_acpi_tables_load_through_the_fw_cfg_data_register_without_dma",
            run: aarch64_debian_arm64_fw_cfg_without_dma,
        },
        BootTest {
            name: "aarch64_bls_entry_devicetree_replaces_the_vmms",
            run: aarch64_entry_devicetree,
        },
        BootTest {
            name: "riscv64_bls_boots_debian_riscv64_kernel",
            run: riscv64_debian,
        },
        BootTest {
            name: "pci_bridge_aarch64_boots_from_a_disk_behind_a_pcie_root_port",
            run: aarch64_behind_root_port,
        },
        BootTest {
            name: "pci_bridge_aarch64_boots_from_a_disk_behind_a_root_port_and_a_pci_bridge",
            run: aarch64_behind_two_bridges,
        },
        BootTest {
            name: "pci_bridge_riscv64_boots_from_a_disk_behind_a_pcie_root_port",
            run: riscv64_behind_root_port,
        },
        BootTest {
            name: "pci_bridge_x86_64_q35_boots_from_a_disk_behind_a_pcie_root_port",
            run: x86_behind_root_port,
        },
        BootTest {
            name: "aarch64_shim_grub_boots_debian_arm64_kernel",
            run: aarch64_shim_grub,
        },
        BootTest {
            name: "aarch64_shim_grub_boots_debian_arm64_kernel_from_virtio_mmio",
            run: aarch64_shim_grub_mmio,
        },
    ]
}

/// Kernel, proof initramfs and a second initrd laid out as kernel-install does.
fn base(name: &str, loader_conf: &str, entries: Vec<(String, String)>) -> Result<BlsDisk, String> {
    let kernel = debian::cloud_kernel()?;
    let extra = initramfs::extra_initramfs("second-initrd-ok")?;
    Ok(BlsDisk {
        name: name.into(),
        esp_mib: 64,
        loader_conf: loader_conf.into(),
        entries,
        files: vec![
            ("/debian/linux".into(), Source::Host(kernel)),
            ("/debian/initrd.img".into(), Source::Host(initramfs::proof_initramfs()?)),
            ("/debian/extra.img".into(), Source::Host(extra)),
        ],
        boot_loader: None,
    })
}

fn entry(sort_key: Option<&str>, machine_id: &str, version: &str, marker: &str) -> String {
    let mut e = format!("title Debian {version}\nversion {version}\nmachine-id {machine_id}\n");
    if let Some(k) = sort_key {
        e.push_str(&format!("sort-key {k}\n"));
    }
    e.push_str(&format!(
        "linux /debian/linux\ninitrd /debian/initrd.img\noptions console=ttyS0 hvfw.marker={marker}\n"
    ));
    e
}

/// Four kinds of entries: the specification orders by sort-key, machine-id,
/// then version, newest first (6.1.0-10 > 6.1.0-10~rc1 > 6.1.0-9); entries
/// for another architecture are dropped. The winner has two initrds and two
/// options lines.
fn spec_entries() -> Vec<(String, String)> {
    let winner =
        "title Debian 6.1.0-10\nversion 6.1.0-10\nmachine-id 11111111111111111111111111111111\nsort-key debian\n\
                  linux /debian/linux\ninitrd /debian/initrd.img\ninitrd /debian/extra.img\n\
                  options console=ttyS0\noptions hvfw.marker=bls-winner\n"
            .to_string();
    let other_arch = "title Arm\nversion 9.9\nsort-key debian\narchitecture aa64\nlinux /debian/linux\noptions hvfw.marker=bls-wrong-arch\n";
    vec![
        (
            "debian-6.1.0-9.conf".into(),
            entry(
                Some("debian"),
                "11111111111111111111111111111111",
                "6.1.0-9",
                "bls-wrong-9",
            ),
        ),
        ("debian-6.1.0-10.conf".into(), winner),
        (
            "debian-6.1.0-10-rc1.conf".into(),
            entry(
                Some("debian"),
                "11111111111111111111111111111111",
                "6.1.0-10~rc1",
                "bls-wrong-rc",
            ),
        ),
        (
            "other-machine.conf".into(),
            entry(
                Some("debian"),
                "22222222222222222222222222222222",
                "7.0",
                "bls-wrong-machine",
            ),
        ),
        (
            "zzz-late-sort-key.conf".into(),
            entry(
                Some("zzz"),
                "00000000000000000000000000000000",
                "99",
                "bls-wrong-sort-key",
            ),
        ),
        (
            "no-sort-key.conf".into(),
            entry(None, "00000000000000000000000000000000", "100", "bls-wrong-no-sort-key"),
        ),
        ("arm.conf".into(), other_arch.into()),
    ]
}

fn boot_disk(ctx: &Context, s: &mut Session, disk: PathBuf, append: Option<&str>) -> Result<(), String> {
    let mut config = QemuConfig::new(&ctx.firmware);
    config.disks.push(disk);
    config.append = append.map(String::from);
    s.boot(&config)?;
    Ok(())
}

fn picks_by_specification(ctx: &Context, s: &mut Session) -> Result<(), String> {
    let disk = images::bls_disk(&base("bls-spec", "timeout 0\n", spec_entries())?)?;
    boot_disk(ctx, s, disk, None)?;
    let qemu = s.qemu()?;
    qemu.wait_for("Boot: skipping arm.conf", START)?;
    qemu.wait_for("Boot: starting Debian 6.1.0-10", START)?;
    let linux = proof(qemu, 512, "console=ttyS0 hvfw.marker=bls-winner", LINUX)?;
    // Both initrds reached Linux, in order.
    if !qemu.log().contains("HVFW-PROOF: initrd-extra=second-initrd-ok") {
        return Err("the second initrd did not reach Linux".into());
    }
    assert_memory_attributes_table(qemu)?;
    // `-cpu max` has RDRAND: the stub seeds Linux from it through EFI_RNG_PROTOCOL.
    assert_efi_rng(qemu)?;
    println!("    Linux version after {:.2}s (BLS, EFI stub)", linux.as_secs_f64());
    Ok(())
}

/// With 5 GiB QEMU q35 splits RAM around the PCI hole (2 GiB below 4 GiB, 3 GiB
/// above): Linux booted through the firmware must see as much of it as when
/// QEMU boots the same kernel and initramfs directly, within 3% (the firmware
/// keeps its runtime image, ACPI NVS and the reserved ranges; Linux frees the
/// rest of the boot services memory).
fn memtotal_at_5g(ctx: &Context, s: &mut Session) -> Result<(), String> {
    const MIB: u64 = 5 * 1024;
    let kernel = debian::cloud_kernel()?;
    let initrd = initramfs::proof_initramfs()?;
    let args: Vec<String> = [
        "-machine",
        "q35,accel=tcg",
        "-cpu",
        "max",
        "-m",
        "5G",
        "-kernel",
        &kernel.to_string_lossy(),
        "-initrd",
        &initrd.to_string_lossy(),
        "-append",
        "console=ttyS0 hvfw.marker=direct-5g",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let direct = images::reference_boot(&args, LINUX)?;
    let direct_kb: u64 = direct
        .console
        .lines()
        .find_map(|l| {
            l.split_once("HVFW-PROOF: memtotal_kb=")
                .map(|(_, v)| v.trim().to_string())
        })
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| format!("QEMU's direct boot printed no MemTotal:\n{}", direct.console))?;
    let disk = images::bls_disk(&base(
        "bls-5g",
        "timeout 0\n",
        vec![(
            "debian.conf".into(),
            entry(None, "11111111111111111111111111111111", "6.1.0-10", "bls-5g"),
        )],
    )?)?;
    let mut config = QemuConfig::new(&ctx.firmware);
    config.memory = "5G".into();
    config.disks.push(disk);
    let qemu = s.boot(&config)?;
    proof(qemu, MIB, "hvfw.marker=bls-5g", LINUX)?;
    let ours_kb: u64 = proof_value(qemu, "memtotal_kb")
        .and_then(|v| v.parse().ok())
        .ok_or("no MemTotal through the firmware")?;
    println!("    MemTotal at -m 5G: {ours_kb} kB through the firmware, {direct_kb} kB by direct kernel boot");
    if ours_kb.abs_diff(direct_kb) * 100 > direct_kb * 3 {
        return Err(format!(
            "MemTotal {ours_kb} kB is not within 3% of the direct boot's {direct_kb} kB"
        ));
    }
    Ok(())
}

/// An x86_64 CPU without RDRAND (`-cpu max,rdrand=off`) and a `virtio-rng-pci`:
/// EFI_RNG_PROTOCOL comes from the device, and Linux's EFI stub seeds the kernel
/// from it (`efi: ... RNG=`).
fn x86_virtio_rng(ctx: &Context, s: &mut Session) -> Result<(), String> {
    let disk = images::bls_disk(&base("bls-spec", "timeout 0\n", spec_entries())?)?;
    let mut config = QemuConfig::new(&ctx.firmware);
    config.disks.push(disk);
    config.cpu = Some("max,rdrand=off".into());
    config.rng = Some(Rng::Pci);
    let qemu = s.boot(&config)?;
    qemu.wait_for("RNG: EFI_RNG_PROTOCOL from virtio-rng", START)?;
    let linux = proof(qemu, 512, "console=ttyS0 hvfw.marker=bls-winner", LINUX)?;
    assert_efi_rng(qemu)?;
    println!(
        "    Linux version after {:.2}s (x86_64 without RDRAND, virtio-rng)",
        linux.as_secs_f64()
    );
    Ok(())
}

fn default_glob(ctx: &Context, s: &mut Session) -> Result<(), String> {
    let disk = images::bls_disk(&base("bls-default-glob", "timeout 0\ndefault *rc1*\n", spec_entries())?)?;
    boot_disk(ctx, s, disk, None)?;
    let qemu = s.qemu()?;
    proof(qemu, 512, "hvfw.marker=bls-wrong-rc", LINUX)?;
    Ok(())
}

fn broken_entries(ctx: &Context, s: &mut Session) -> Result<(), String> {
    let mut garbage = b"title \xff\xfe binary\x00\x01\x02 garbage\nlinux\n".to_vec();
    garbage.extend(std::iter::repeat_n(0x5a, 4096));
    let entries = vec![
        (
            "a-missing-kernel.conf".to_string(),
            "title Missing\nsort-key aaa\nversion 9\nlinux /debian/no-such-kernel\noptions hvfw.marker=bls-missing\n"
                .to_string(),
        ),
        ("b-empty.conf".to_string(), String::new()),
        (
            "ab-not-a-kernel.conf".to_string(),
            "title Not a kernel\nsort-key aab\nversion 9\nlinux /debian/not-a-kernel\noptions hvfw.marker=bls-bad-bzimage\n"
                .to_string(),
        ),
        (
            "c-good.conf".to_string(),
            entry(
                Some("ccc"),
                "00000000000000000000000000000000",
                "1",
                "bls-good-after-broken",
            ),
        ),
    ];
    let mut spec = base("bls-broken", "timeout 0\n", entries)?;
    spec.files
        .push(("/loader/entries/b-garbage.conf".into(), Source::Bytes(garbage)));
    // 10 MB of noise as an entry, and a "kernel" whose bzImage header is bad.
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let noise: Vec<u8> = (0..10_000_000)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        })
        .collect();
    spec.files
        .push(("/loader/entries/b-huge-noise.conf".into(), Source::Bytes(noise)));
    spec.files
        .push(("/debian/not-a-kernel".into(), Source::Bytes(vec![0x4d; 64 * 1024])));
    let disk = images::bls_disk(&spec)?;
    boot_disk(ctx, s, disk, None)?;
    let qemu = s.qemu()?;
    qemu.wait_for("Boot: skipping b-empty.conf", START)?;
    qemu.wait_for("Boot: skipping b-garbage.conf", START)?;
    qemu.wait_for("Boot: skipping b-huge-noise.conf", START)?;
    qemu.wait_for("Boot: Missing kernel \\debian\\no-such-kernel: NOT_FOUND", START)?;
    // Not a PE image: the EFI stub path cannot load it, the boot protocol checks
    // its setup header and says what is wrong, and the next entry boots.
    qemu.wait_for(
        "Boot: Not a kernel bzImage header: boot_flag is 0x4d4d, not 0xaa55",
        START,
    )?;
    proof(qemu, 512, "hvfw.marker=bls-good-after-broken", LINUX)?;
    Ok(())
}

/// Two entries (markers `menu-first`, `menu-second`) and a 30 s menu; the
/// keyboard tests (`keyboard_tests.rs`) drive the same menu.
pub(crate) fn menu_disk() -> Result<PathBuf, String> {
    let entries = vec![
        (
            "a.conf".to_string(),
            entry(Some("a"), "00000000000000000000000000000000", "1", "menu-first"),
        ),
        (
            "b.conf".to_string(),
            entry(Some("b"), "00000000000000000000000000000000", "1", "menu-second"),
        ),
    ];
    images::bls_disk(&base("bls-menu", "timeout 30\n", entries)?)
}

fn menu(ctx: &Context, s: &mut Session) -> Result<(), String> {
    let disk = menu_disk()?;
    boot_disk(ctx, s, disk, None)?;
    let qemu = s.qemu()?;
    qemu.wait_for("hypervisor-fw boot menu", START)?;
    qemu.wait_for("Booting entry 1 in", START)?;
    qemu.send(b"\x1b[B")?;
    qemu.wait_for("> 2. Debian 1", START)?;
    qemu.send(b"e")?;
    qemu.wait_for("Command line (Enter boots, Esc cancels):", START)?;
    qemu.send(b" hvfw.edited=yes\r")?;
    proof(qemu, 512, "hvfw.marker=menu-second hvfw.edited=yes", LINUX)?;
    Ok(())
}

fn boot_counting(ctx: &Context, s: &mut Session) -> Result<(), String> {
    let entries = vec![(
        "counted+3.conf".to_string(),
        entry(None, "00000000000000000000000000000000", "1", "counted"),
    )];
    let cached = images::bls_disk(&base("bls-counting", "timeout 0\n", entries)?)?;
    // This test writes the disk: work on a copy.
    let disk = crate::cache_dir("tmp").join("bls-counting-copy.img");
    std::fs::copy(&cached, &disk).map_err(|e| e.to_string())?;
    let mut config = QemuConfig::new(&ctx.firmware);
    config.disks.push(disk.clone());
    config.snapshot = false;
    s.boot(&config)?;
    let qemu = s.qemu()?;
    proof(qemu, 512, "hvfw.marker=counted", LINUX)?;
    qemu.wait_exit(Duration::from_secs(60))?;
    let target = format!("{}@@{}", disk.display(), images::FIRST_PARTITION_OFFSET);
    let listing = images::run("mdir", &["-b", "-i", &target, "::/loader/entries"])?;
    if !listing.contains("counted+2-1.conf") || listing.contains("counted+3.conf") {
        return Err(format!("the entry was not renamed to counted+2-1.conf: {listing}"));
    }
    // fsck.fat has no offset option: check a copy of the partition instead.
    let esp = crate::cache_dir("tmp").join("bls-counting-esp.img");
    images::run(
        "dd",
        &[
            &format!("if={}", disk.display()),
            &format!("of={}", esp.display()),
            "bs=1M",
            &format!("skip={}", images::FIRST_PARTITION_OFFSET >> 20),
            "count=64",
            "status=none",
        ],
    )?;
    images::run("fsck.fat", &["-n", &esp.to_string_lossy()]).map_err(|e| format!("the ESP is not clean: {e}"))?;
    Ok(())
}

/// A unified kernel image made with objcopy from Debian's systemd stub, as
/// the UAPI UKI specification describes (sections appended after the stub's).
pub fn uki_file() -> Result<PathBuf, String> {
    uki_file_with("debian.efi", debian::cloud_kernel()?)
}

/// The same with `kernel` in its `.linux` section, cached as
/// `target/images/<name>`.
pub fn uki_file_with(name: &str, kernel: PathBuf) -> Result<PathBuf, String> {
    let stub = debian::efi_stub()?;
    let initrd = initramfs::proof_initramfs()?;
    let recipe = format!(
        "uki-objcopy-v2 {} {} {}",
        images::file_identity(&stub)?,
        images::file_identity(&kernel)?,
        images::file_identity(&initrd)?
    );
    images::cached_in("images", name, &recipe, |out| {
        let dir = images::tempdir("uki")?;
        let osrel = dir.join("os-release");
        std::fs::write(
            &osrel,
            "ID=debian\nVERSION_ID=12\nPRETTY_NAME=\"Debian UKI (hypervisor-fw test)\"\n",
        )
        .map_err(|e| e.to_string())?;
        let cmdline = dir.join("cmdline");
        std::fs::write(&cmdline, "console=ttyS0 hvfw.marker=uki-cmdline-ok").map_err(|e| e.to_string())?;
        // Section addresses after the stub's image (ImageBase + SizeOfImage from
        // its PE header), page aligned, as ukify places them.
        let stub_bytes = std::fs::read(&stub).map_err(|e| e.to_string())?;
        let field = |at: usize, len: usize| -> Result<u64, String> {
            let b = stub_bytes
                .get(at..at + len)
                .ok_or("the stub's PE header is truncated")?;
            Ok(b.iter().rev().fold(0u64, |v, &x| (v << 8) | u64::from(x)))
        };
        let pe = field(0x3c, 4)? as usize;
        let image_base = field(pe + 24 + 24, 8)?;
        let size_of_image = field(pe + 24 + 56, 4)?;
        let stub_end = (image_base + size_of_image + 0xfff) & !0xfff;
        let kernel_size = std::fs::metadata(&kernel).map_err(|e| e.to_string())?.len();
        let linux_at = stub_end + 0x20000;
        let initrd_at = (linux_at + kernel_size + 0xffff) & !0xffff;
        let p = |path: &PathBuf| path.to_string_lossy().into_owned();
        images::run(
            "objcopy",
            &[
                "--add-section",
                &format!(".osrel={}", p(&osrel)),
                "--change-section-vma",
                &format!(".osrel={stub_end:#x}"),
                "--add-section",
                &format!(".cmdline={}", p(&cmdline)),
                "--change-section-vma",
                &format!(".cmdline={:#x}", stub_end + 0x10000),
                "--add-section",
                &format!(".linux={}", p(&kernel)),
                "--change-section-vma",
                &format!(".linux={linux_at:#x}"),
                "--add-section",
                &format!(".initrd={}", p(&initrd)),
                "--change-section-vma",
                &format!(".initrd={initrd_at:#x}"),
                &p(&stub),
                &out.to_string_lossy(),
            ],
        )?;
        let _ = std::fs::remove_dir_all(dir);
        Ok(())
    })
}

fn uki(ctx: &Context, s: &mut Session) -> Result<(), String> {
    let uki = uki_file()?;
    let spec = BlsDisk {
        name: "uki".into(),
        esp_mib: 64,
        loader_conf: "timeout 0\n".into(),
        entries: vec![],
        files: vec![("/EFI/Linux/debian.efi".into(), Source::Host(uki))],
        boot_loader: None,
    };
    let disk = images::bls_disk(&spec)?;
    boot_disk(ctx, s, disk, None)?;
    let qemu = s.qemu()?;
    qemu.wait_for("Boot: starting Debian UKI (hypervisor-fw test)", START)?;
    proof(qemu, 512, "hvfw.marker=uki-cmdline-ok", LINUX)?;
    Ok(())
}

fn bzimage(ctx: &Context, s: &mut Session) -> Result<(), String> {
    let entries = vec![(
        "debian.conf".to_string(),
        entry(None, "00000000000000000000000000000000", "1", "bzimage-path"),
    )];
    let disk = images::bls_disk(&base("bls-bzimage", "timeout 0\n", entries)?)?;
    boot_disk(ctx, s, disk, Some("hvfw.linux=bzimage"))?;
    let qemu = s.qemu()?;
    qemu.wait_for("through the Linux x86 boot protocol", START)?;
    let linux = proof(qemu, 512, "hvfw.marker=bzimage-path", LINUX)?;
    println!("    Linux version after {:.2}s (boot protocol)", linux.as_secs_f64());
    Ok(())
}

/// The ACPI tables QEMU's aarch64 `virt` machine offers through fw_cfg that
/// Linux must find when it runs in ACPI mode, as it does under AAVMF: the
/// FADT and DSDT, the MADT (interrupt controller), the generic timer, PCI's
/// ECAM and the serial console.
pub const ARM64_ACPI_TABLES: &[&str] = &["FACP", "DSDT", "APIC", "GTDT", "MCFG", "SPCR"];

/// The system manufacturer and serial number QEMU's `-smbios type=1` sets. A comma
/// in a QEMU option value is written twice; cloud-init's NoCloud reads its
/// `ds=nocloud;...` settings from this serial number.
const SMBIOS_VENDOR: &str = "hvfw-test-vendor";
const SMBIOS_SERIAL: &str = "ds=nocloud;h=hvfw-smbios,i=1";

fn smbios_32_bit(ctx: &Context, s: &mut Session) -> Result<(), String> {
    smbios_reaches_linux(ctx, s, "32", "_SM_")
}

fn smbios_64_bit(ctx: &Context, s: &mut Session) -> Result<(), String> {
    smbios_reaches_linux(ctx, s, "64", "_SM3")
}

/// QEMU hands `-smbios` tables to SeaBIOS (which runs before the firmware on
/// the PVH path) and SeaBIOS writes the entry point of the type QEMU's
/// `smbios-entry-point-type` asks for into the BIOS area; Linux, booted through
/// the firmware, must find the tables through the EFI configuration table with
/// that entry point (`/sys/firmware/dmi/tables/smbios_entry_point` starts with
/// `anchor`) and report the manufacturer and serial number in /sys/class/dmi/id;
/// Debian's dmidecode, run in that Linux, must decode the whole table without a
/// complaint and report the same.
fn smbios_reaches_linux(ctx: &Context, s: &mut Session, entry_point_type: &str, anchor: &str) -> Result<(), String> {
    let entry = "title Debian SMBIOS\nversion 1\nlinux /debian/linux\ninitrd /debian/initrd.img\n\
                 initrd /debian/dmidecode.img\noptions console=ttyS0 hvfw.marker=smbios\n";
    let mut disk = base("bls-smbios", "timeout 0\n", vec![("debian.conf".into(), entry.into())])?;
    disk.files.push((
        "/debian/dmidecode.img".into(),
        Source::Host(initramfs::dmidecode_initramfs()?),
    ));
    let disk = images::bls_disk(&disk)?;
    let mut config = QemuConfig::new(&ctx.firmware);
    config.disks.push(disk);
    config.extra_args = vec!["-machine".into(), format!("smbios-entry-point-type={entry_point_type}")];
    config.extra_args.extend(smbios_type1_args());
    let qemu = s.boot(&config)?;
    let linux = proof(qemu, 512, "hvfw.marker=smbios", LINUX)?;
    let version = assert_qemu_smbios(qemu, anchor)?;
    println!(
        "    Linux found SMBIOS through {anchor}, dmidecode: {version}; Linux version after {:.2}s",
        linux.as_secs_f64()
    );
    Ok(())
}

/// QEMU's `-smbios type=1` arguments for [`SMBIOS_VENDOR`] and [`SMBIOS_SERIAL`].
fn smbios_type1_args() -> Vec<String> {
    vec![
        "-smbios".into(),
        format!(
            "type=1,manufacturer={SMBIOS_VENDOR},serial={}",
            SMBIOS_SERIAL.replace(',', ",,")
        ),
    ]
}

/// What Linux and dmidecode (both in the guest) must report of QEMU's
/// `-smbios type=1` table: the entry point `anchor`, the manufacturer and serial
/// number in /sys/class/dmi/id, and a dmidecode run over every structure without
/// a complaint. Returns dmidecode's version line.
fn assert_qemu_smbios(qemu: &crate::qemu::Qemu, anchor: &str) -> Result<String, String> {
    let expect = |key: &str, wanted: &str| -> Result<(), String> {
        match proof_value(qemu, key) {
            Some(v) if v == wanted => Ok(()),
            other => Err(format!("Linux reports {key}={other:?}, not {wanted:?}")),
        }
    };
    expect("dmi-entry-point", anchor)?;
    expect("dmi-sys-vendor", SMBIOS_VENDOR)?;
    expect("dmi-product-serial", SMBIOS_SERIAL)?;
    // dmidecode reads the same table through /sys/firmware/dmi/tables and decodes
    // every structure, complaining on stderr about anything malformed.
    let version = proof_value(qemu, "dmidecode-version").unwrap_or_default();
    let wanted = if anchor == "_SM3" { "SMBIOS 3." } else { "SMBIOS 2." };
    if !version.starts_with(wanted) || !version.ends_with("present.") {
        return Err(format!("dmidecode reports {version:?}, not {wanted}x present."));
    }
    expect("dmidecode-manufacturer", SMBIOS_VENDOR)?;
    expect("dmidecode-serial", SMBIOS_SERIAL)?;
    expect("dmidecode-complaints", "")?;
    Ok(version)
}

/// On aarch64 `virt` QEMU offers `-smbios` tables only through fw_cfg (an
/// `_SM3_` anchor without address and checksums, and the structures): the
/// arm64 kernel, booted from a BLS entry in ACPI mode, must find them through
/// the EFI configuration table the firmware installed, and Debian's arm64
/// dmidecode must decode them.
fn smbios_aarch64_fw_cfg(_ctx: &Context, s: &mut Session) -> Result<(), String> {
    let options = "console=ttyAMA0 hvfw.marker=arm64-smbios";
    let (disk, _) = one_entry_disk(
        "bls-arm64-smbios",
        "aa64",
        debian::arm64_kernel()?,
        initramfs::arm64_proof_initramfs()?,
        options,
        Some((
            "initrd",
            "/debian/dmidecode.img",
            initramfs::dmidecode_initramfs_for(debian::Arch::Arm64)?,
        )),
    )?;
    let mut config = QemuConfig::aarch64(&aarch64_firmware()?);
    config.disks.push(disk);
    config.extra_args = smbios_type1_args();
    let qemu = s.boot(&config)?;
    let linux = proof_with_acpi(qemu, 512, options, LINUX, ARM64_ACPI_TABLES)?;
    let version = assert_qemu_smbios(qemu, "_SM3")?;
    println!(
        "    arm64 Linux found SMBIOS through fw_cfg, dmidecode: {version}; Linux version after {:.2}s",
        linux.as_secs_f64()
    );
    Ok(())
}

/// Debian's generic arm64 kernel (an uncompressed Image, which is a PE/COFF
/// EFI application) as a BLS entry for `aa64` on the aarch64 `virt` machine:
/// it boots through its EFI stub and sees EFI and all of `-m`. QEMU offers its
/// ACPI tables through fw_cfg, so the firmware installs them and not the
/// device tree: the stub makes an empty tree and Linux runs in ACPI mode.
fn aarch64_debian_arm64(_ctx: &Context, s: &mut Session) -> Result<(), String> {
    aarch64_debian_arm64_from(s, false, &[], ARM64_ACPI_TABLES)
}

/// The same, with the disk on virtio-mmio instead of PCI.
fn aarch64_debian_arm64_mmio(_ctx: &Context, s: &mut Session) -> Result<(), String> {
    aarch64_debian_arm64_from(s, true, &[], ARM64_ACPI_TABLES)
}

/// With fw_cfg's DMA interface switched off (FW_CFG_ID then does not offer
/// it), the firmware reads the tables through the data register, and Linux
/// still runs in ACPI mode on them.
fn aarch64_debian_arm64_fw_cfg_without_dma(_ctx: &Context, s: &mut Session) -> Result<(), String> {
    aarch64_debian_arm64_from(s, false, &["-global", "fw_cfg_mem.dma_enabled=off"], ARM64_ACPI_TABLES)
}

/// With `-machine virt,acpi=off` QEMU offers no tables: the firmware hands
/// on QEMU's device tree and Linux boots from it (its `Machine model:` line
/// is QEMU's, and it lists no ACPI tables).
fn aarch64_debian_arm64_acpi_off(_ctx: &Context, s: &mut Session) -> Result<(), String> {
    aarch64_debian_arm64_from(s, false, &["-machine", "acpi=off"], &[])?;
    let qemu = s.qemu()?;
    assert_device_tree_mode(qemu)?;
    let model = qemu
        .log()
        .lines()
        .find(|l| l.contains("Machine model: "))
        .map(str::to_string)
        .unwrap_or_default();
    if !model.contains("Machine model: linux,dummy-virt") {
        return Err(format!("Linux did not boot with QEMU's device tree: {model:?}"));
    }
    Ok(())
}

/// QEMU virt's `/model` (and root `compatible`), and what the entry's tree
/// says instead: the same length, so the tree's layout is unchanged.
const VIRT_MODEL: &[u8] = b"linux,dummy-virt\0";
const ENTRY_MODEL: &[u8] = b"hvfw,entry-dtb-1\0";

/// The device tree QEMU builds for `config` (`-machine dumpdtb=`), with its
/// model renamed to [`ENTRY_MODEL`]: a tree the kernel can boot with, and
/// whose use the kernel's `Machine model:` line proves.
fn entry_devicetree(config: &QemuConfig) -> Result<PathBuf, String> {
    let dir = crate::firmware::target_dir().join("tmp");
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let path = dir.join("hvfw-entry.dtb");
    let dumped = dir.join("hvfw-entry.dtb.dump");
    let mut args = config.args();
    args.extend(["-machine".into(), format!("dumpdtb={}", dumped.display())]);
    let out = std::process::Command::new(config.program())
        .args(&args)
        .output()
        .map_err(|e| format!("cannot run {}: {e}", config.program()))?;
    let mut tree = std::fs::read(&dumped).map_err(|e| {
        format!(
            "QEMU wrote no device tree ({e}): {}",
            String::from_utf8_lossy(&out.stderr)
        )
    })?;
    let mut renamed = 0;
    let mut at = 0;
    while let Some(found) = tree[at..].windows(VIRT_MODEL.len()).position(|w| w == VIRT_MODEL) {
        let start = at + found;
        tree[start..start + ENTRY_MODEL.len()].copy_from_slice(ENTRY_MODEL);
        renamed += 1;
        at = start + ENTRY_MODEL.len();
    }
    if renamed == 0 {
        return Err("QEMU's virt device tree no longer says linux,dummy-virt".into());
    }
    // Rewritten only when it changes, so the cached disk image stays valid.
    if std::fs::read(&path).ok().as_deref() != Some(&tree[..]) {
        std::fs::write(&path, &tree).map_err(|e| e.to_string())?;
    }
    Ok(path)
}

/// A BLS entry with `devicetree`: the firmware installs that tree instead of
/// the VMM's, and Linux boots with it (its `Machine model:` line names it),
/// in device-tree mode although QEMU's ACPI tables are installed as well.
fn aarch64_entry_devicetree(_ctx: &Context, s: &mut Session) -> Result<(), String> {
    let mut config = QemuConfig::aarch64(&aarch64_firmware()?);
    let tree = entry_devicetree(&config)?;
    let options = "console=ttyAMA0 hvfw.marker=arm64-entry-dtb";
    let (disk, _) = one_entry_disk(
        "bls-arm64-dtb",
        "aa64",
        debian::arm64_kernel()?,
        initramfs::arm64_proof_initramfs()?,
        options,
        Some(("devicetree", "/dtb/hvfw.dtb", tree)),
    )?;
    config.disks.push(disk);
    let qemu = s.boot(&config)?;
    qemu.wait_for("Boot: device tree from \\dtb\\hvfw.dtb", START)?;
    proof_with_acpi(qemu, 512, options, LINUX, &[])?;
    // QEMU's ACPI tables are installed too, but arm64 Linux uses ACPI only
    // when the device tree is empty: the entry's tree wins.
    assert_device_tree_mode(qemu)?;
    // Printed early in setup_arch, from the tree the EFI stub handed over.
    let model = qemu
        .log()
        .lines()
        .find(|l| l.contains("Machine model: "))
        .map(str::to_string)
        .unwrap_or_default();
    if !model.contains("Machine model: hvfw,entry-dtb-1") {
        return Err(format!("Linux did not boot with the entry's device tree: {model:?}"));
    }
    Ok(())
}

/// A disk `name` with one riscv64 BLS entry (Debian 13's kernel, the riscv64
/// proof initramfs, `options`), its kernel's version, and the riscv64 `virt`
/// machine with the release firmware, the disk not yet attached.
fn riscv64_one_entry(name: &str, options: &str) -> Result<(PathBuf, String, QemuConfig), String> {
    let (disk, version) = one_entry_disk(
        name,
        "riscv64",
        debian::riscv64_kernel()?,
        initramfs::riscv64_proof_initramfs()?,
        options,
        None,
    )?;
    let firmware = crate::firmware::build_for(debian::Arch::Riscv64, crate::firmware::Variant::Release)?;
    Ok((disk, version, QemuConfig::riscv64(&firmware)))
}

/// Debian 13's riscv64 kernel from a BLS entry, through its EFI stub, on QEMU
/// virt with OpenSBI: the kernel finds EFI, its variables and all its RAM.
fn riscv64_debian(_ctx: &Context, s: &mut Session) -> Result<(), String> {
    let options = "console=ttyS0 hvfw.marker=riscv64-bls";
    let (disk, version, mut config) = riscv64_one_entry("bls-riscv64", options)?;
    config.disks.push(disk);
    let qemu = s.boot(&config)?;
    qemu.wait_for(&format!("Boot: starting Debian {version}"), START)?;
    // Debian 13's riscv64 kernel keeps about 14% of 512 MiB for itself: QEMU's
    // own -kernel boot of it, without any firmware, shows MemTotal 449696 kB.
    let linux = proof_with_memory_share(qemu, 512, 85, options, LINUX, &[])?;
    // riscv64 has no random instruction: the seed came from QEMU's virtio-rng-pci.
    assert_efi_rng(qemu)?;
    println!(
        "    Linux version after {:.2}s (riscv64, BLS, EFI stub)",
        linux.as_secs_f64()
    );
    Ok(())
}

/// A 96 MiB ESP with one BLS entry, "Debian <version>", for `kernel` on the
/// EFI architecture `arch` (`aa64`, `riscv64`) with `initrd` and `options`,
/// plus an optional (key, path on the ESP, host file) line such as
/// `devicetree`. Returns the disk and the kernel's version.
pub fn one_entry_disk(
    name: &str,
    arch: &str,
    kernel: PathBuf,
    initrd: PathBuf,
    options: &str,
    extra: Option<(&str, &str, PathBuf)>,
) -> Result<(PathBuf, String), String> {
    let version = debian::kernel_release(&kernel);
    let mut entry = format!(
        "title Debian {version}\nversion {version}\narchitecture {arch}\n\
         linux /debian/linux\ninitrd /debian/initrd.img\noptions {options}\n"
    );
    let mut files = vec![
        ("/debian/linux".into(), Source::Host(kernel)),
        ("/debian/initrd.img".into(), Source::Host(initrd)),
    ];
    if let Some((key, path, host)) = extra {
        entry.push_str(&format!("{key} {path}\n"));
        files.push((path.into(), Source::Host(host)));
    }
    let disk = images::bls_disk(&BlsDisk {
        name: name.into(),
        esp_mib: 96,
        loader_conf: "timeout 0\n".into(),
        entries: vec![(format!("debian-{version}.conf"), entry)],
        files,
        boot_loader: None,
    })?;
    Ok((disk, version))
}

/// Boots the arm64 BLS disk with QEMU arguments `extra`; Linux must list the
/// ACPI `tables` and have been seeded through EFI_RNG_PROTOCOL.
fn aarch64_debian_arm64_from(s: &mut Session, mmio: bool, extra: &[&str], tables: &[&str]) -> Result<(), String> {
    let (disk, version) = one_entry_disk(
        "bls-arm64",
        "aa64",
        debian::arm64_kernel()?,
        initramfs::arm64_proof_initramfs()?,
        "console=ttyAMA0 hvfw.marker=arm64-bls",
        None,
    )?;
    let mut config = QemuConfig::aarch64(&aarch64_firmware()?);
    if mmio {
        config.mmio_disks.push(disk);
        config.rng = Some(Rng::Mmio);
    } else {
        config.disks.push(disk);
    }
    config.extra_args.extend(extra.iter().map(|a| a.to_string()));
    let qemu = s.boot(&config)?;
    qemu.wait_for(&format!("Boot: starting Debian {version}"), START)?;
    let linux = proof_with_acpi(qemu, 512, "console=ttyAMA0 hvfw.marker=arm64-bls", LINUX, tables)?;
    assert_memory_attributes_table(qemu)?;
    // QEMU's Cortex-A57 has no RNDR: the seed came from the virtio-rng device
    // (on PCI, or on virtio-mmio next to an MMIO disk).
    assert_efi_rng(qemu)?;
    println!(
        "    Linux version after {:.2}s (aarch64, BLS, EFI stub)",
        linux.as_secs_f64()
    );
    Ok(())
}

/// Debian's arm64 shim and signed GRUB as `\EFI\BOOT\BOOTAA64.EFI`: GRUB
/// reads its configuration from the ext4 root and starts the generic arm64
/// kernel with the proof initramfs, which runs in ACPI mode on the tables the
/// firmware loaded from QEMU's fw_cfg.
fn aarch64_shim_grub(_ctx: &Context, s: &mut Session) -> Result<(), String> {
    aarch64_shim_grub_from(s, false)
}

/// The same, with the disk on virtio-mmio: GRUB reads the ext4 root through
/// the firmware's BlockIo on the virtio-mmio device.
fn aarch64_shim_grub_mmio(_ctx: &Context, s: &mut Session) -> Result<(), String> {
    aarch64_shim_grub_from(s, true)
}

fn aarch64_shim_grub_from(s: &mut Session, mmio: bool) -> Result<(), String> {
    let disk = images::debian_arm64_shim_grub_disk("console=ttyAMA0 hvfw.marker=arm64-grub")?;
    let mut config = QemuConfig::aarch64(&aarch64_firmware()?);
    if mmio {
        config.mmio_disks.push(disk);
    } else {
        config.disks.push(disk);
    }
    let qemu = s.boot(&config)?;
    qemu.wait_for("HVFW-GRUB: loading linux", START)?;
    let linux = proof_with_acpi(
        qemu,
        512,
        "console=ttyAMA0 hvfw.marker=arm64-grub",
        LINUX,
        ARM64_ACPI_TABLES,
    )?;
    println!(
        "    Linux version after {:.2}s (aarch64, shim + GRUB)",
        linux.as_secs_f64()
    );
    Ok(())
}

/// libvirt's layout: `disk` as the machine's only disk, a virtio-blk-pci behind
/// a `pcie-root-port` (and, with `nested`, behind a `pcie-pci-bridge` on that
/// port, as a transitional device with an I/O BAR), next to an empty root port.
pub(crate) fn behind_bridges(config: &mut QemuConfig, disk: &std::path::Path, nested: bool) {
    let mut args = vec![
        "-drive".to_string(),
        format!("if=none,id=bridged,format=raw,file={},snapshot=on", disk.display()),
        "-device".into(),
        "pcie-root-port,id=rp1,chassis=1".into(),
        "-device".into(),
        "pcie-root-port,id=rp2,chassis=2".into(),
    ];
    if nested {
        args.extend([
            "-device".into(),
            "pcie-pci-bridge,id=br1,bus=rp1".into(),
            "-device".into(),
            "virtio-blk-pci,drive=bridged,bus=br1,addr=1".into(),
        ]);
    } else {
        args.extend(["-device".into(), "virtio-blk-pci,drive=bridged,bus=rp1".into()]);
    }
    config.extra_args.extend(args);
}

/// The Debian arm64 BLS disk behind bridges on aarch64 `virt`, where nothing
/// numbers the bridges before the firmware: Linux starting from that disk,
/// with EFI, proves the firmware reached it.
fn aarch64_behind(s: &mut Session, nested: bool) -> Result<(), String> {
    let options = "console=ttyAMA0 hvfw.marker=arm64-bridge";
    let (disk, version) = one_entry_disk(
        "bls-arm64-bridge",
        "aa64",
        debian::arm64_kernel()?,
        initramfs::arm64_proof_initramfs()?,
        options,
        None,
    )?;
    let mut config = QemuConfig::aarch64(&aarch64_firmware()?);
    behind_bridges(&mut config, &disk, nested);
    let qemu = s.boot(&config)?;
    qemu.wait_for(&format!("Boot: starting Debian {version}"), START)?;
    let linux = proof_with_acpi(qemu, 512, options, LINUX, &[])?;
    println!(
        "    Linux version after {:.2}s (aarch64, disk behind {})",
        linux.as_secs_f64(),
        if nested { "root port + PCI bridge" } else { "root port" }
    );
    Ok(())
}

fn aarch64_behind_root_port(_ctx: &Context, s: &mut Session) -> Result<(), String> {
    aarch64_behind(s, false)
}

fn aarch64_behind_two_bridges(_ctx: &Context, s: &mut Session) -> Result<(), String> {
    aarch64_behind(s, true)
}

/// The riscv64 BLS disk behind a `pcie-root-port` on riscv64 `virt`.
fn riscv64_behind_root_port(_ctx: &Context, s: &mut Session) -> Result<(), String> {
    let options = "console=ttyS0 hvfw.marker=riscv64-bridge";
    let (disk, version, mut config) = riscv64_one_entry("bls-riscv64-bridge", options)?;
    behind_bridges(&mut config, &disk, false);
    let qemu = s.boot(&config)?;
    qemu.wait_for(&format!("Boot: starting Debian {version}"), START)?;
    let linux = proof_with_memory_share(qemu, 512, 85, options, LINUX, &[])?;
    println!(
        "    Linux version after {:.2}s (riscv64, disk behind a root port)",
        linux.as_secs_f64()
    );
    Ok(())
}

/// The x86_64 BLS disk behind a `pcie-root-port` on q35 (SeaBIOS's PVH option
/// ROM has numbered the port and placed its windows: the firmware keeps them).
fn x86_behind_root_port(ctx: &Context, s: &mut Session) -> Result<(), String> {
    let disk = images::bls_disk(&base(
        "bls-bridge",
        "timeout 0\n",
        vec![(
            "debian.conf".into(),
            entry(None, "11111111111111111111111111111111", "6.1", "x86-bridge"),
        )],
    )?)?;
    let mut config = QemuConfig::new(&ctx.firmware);
    behind_bridges(&mut config, &disk, false);
    let qemu = s.boot(&config)?;
    qemu.wait_for("Boot: starting Debian 6.1", START)?;
    let linux = proof(qemu, 512, "console=ttyS0 hvfw.marker=x86-bridge", LINUX)?;
    println!(
        "    Linux version after {:.2}s (x86_64 q35, disk behind a root port)",
        linux.as_secs_f64()
    );
    Ok(())
}
