//! Keyboard input (issue 16): keys pressed with QMP `send-key` reach what
//! runs on the firmware, beside the serial console. QEMU's i8042 on x86_64
//! (translating to scan code set 1, as it does by default), virtio-keyboard on
//! aarch64. Each test asserts on what the consumer saw: the EFI test
//! application's report of ReadKeyStrokeEx, the entry Linux says it booted.

use crate::boot_tests::{self, BootTest, Context, Session};
use crate::images::{self, BlsDisk, Source};
use crate::qemu::{Qemu, QemuConfig};
use std::time::Duration;

const LINUX: Duration = Duration::from_secs(120);

const START: Duration = Duration::from_secs(30);
/// Between keys: the firmware polls, and QEMU's i8042 holds one byte at a time
/// (it queues the rest), so a short gap is enough.
const KEY_GAP: Duration = Duration::from_millis(150);

pub fn tests() -> Vec<BootTest> {
    vec![
        BootTest {
            name: "keyboard_ps2_keys_reach_an_efi_app_through_read_key_stroke_ex",
            run: ps2_efi_app,
        },
        BootTest {
            name: "keyboard_ps2_scan_code_set_2_keys_reach_an_efi_app",
            run: ps2_set2_efi_app,
        },
        BootTest {
            name: "keyboard_ps2_selects_edits_and_boots_a_boot_menu_entry",
            run: ps2_menu,
        },
        BootTest {
            name: "keyboard_aarch64_virtio_pci_keys_reach_an_efi_app_through_read_key_stroke_ex",
            run: aarch64_efi_app,
        },
        BootTest {
            name: "keyboard_aarch64_virtio_mmio_selects_edits_and_boots_a_boot_menu_entry",
            run: aarch64_menu,
        },
        BootTest {
            name: "keyboard_riscv64_virtio_pci_selects_edits_and_boots_a_boot_menu_entry",
            run: riscv64_menu,
        },
        BootTest {
            name: "keyboard_ps2_drives_grub_through_con_in",
            run: grub_menu,
        },
    ]
}

/// One `HVFW-KEY:` line the test application printed.
#[derive(Debug, PartialEq, Eq)]
struct SeenKey {
    scan: u16,
    char: u16,
    shift: u32,
    toggle: u8,
}

fn field(line: &str, name: &str) -> Result<u64, String> {
    let value = line
        .split_whitespace()
        .find_map(|w| w.strip_prefix(name).and_then(|w| w.strip_prefix('=')))
        .ok_or_else(|| format!("no {name} in {line:?}"))?;
    u64::from_str_radix(value.trim_start_matches("0x"), 16).map_err(|e| format!("{line:?}: {e}"))
}

fn seen_keys(log: &str) -> Result<Vec<SeenKey>, String> {
    log.lines()
        .filter_map(|l| l.split_once("HVFW-KEY: ").map(|(_, rest)| rest))
        .map(|l| {
            Ok(SeenKey {
                scan: field(l, "scan")? as u16,
                char: field(l, "char")? as u16,
                shift: field(l, "shift")? as u32,
                toggle: field(l, "toggle")? as u8,
            })
        })
        .collect()
}

const VALID_SHIFT: u32 = 0x8000_0000;
const LEFT_SHIFT: u32 = 0x2;
const LEFT_CONTROL: u32 = 0x8;
const VALID_TOGGLE: u8 = 0x80;
const CAPS: u8 = 0x04;
const NUM: u8 = 0x02;

fn key(scan: u16, char: u16, shift: u32, toggle: u8) -> SeenKey {
    SeenKey {
        scan,
        char,
        shift,
        toggle,
    }
}

/// Types keys with QMP while the application reads them, plus one byte on the
/// serial line in the middle, and compares every field of every key.
fn type_and_check(qemu: &mut Qemu) -> Result<(), String> {
    qemu.wait_for("HVFW-KEYS: ready", START)?;
    let mut qmp = qemu.qmp()?;
    let press = |qmp: &mut crate::qmp::Qmp, keys: &[&str]| -> Result<(), String> {
        qmp.send_key(keys)?;
        std::thread::sleep(KEY_GAP);
        Ok(())
    };
    press(&mut qmp, &["a"])?;
    press(&mut qmp, &["shift", "b"])?;
    press(&mut qmp, &["ctrl", "c"])?;
    press(&mut qmp, &["down"])?;
    press(&mut qmp, &["f1"])?;
    press(&mut qmp, &["shift", "up"])?;
    // The serial console keeps working beside the keyboard.
    qemu.send(b"s")?;
    std::thread::sleep(KEY_GAP);
    press(&mut qmp, &["caps_lock"])?;
    press(&mut qmp, &["d"])?;
    press(&mut qmp, &["esc"])?;
    press(&mut qmp, &["ret"])?;
    qemu.wait_for("HVFW-KEYS: num lock on", START)?;
    press(&mut qmp, &["kp_8"])?;
    qemu.wait_for("HVFW-KEYS: done", START)?;
    let seen = seen_keys(&qemu.log())?;
    let v = VALID_SHIFT;
    let t = VALID_TOGGLE;
    let expected = [
        key(0, u16::from(b'a'), v, t),
        // The shifted letter carries no shift bit (UEFI 2.10 §12.2.3).
        key(0, u16::from(b'B'), v, t),
        key(0, 3, v | LEFT_CONTROL, t),
        key(0x02, 0, v, t),
        key(0x0b, 0, v, t),
        key(0x01, 0, v | LEFT_SHIFT, t),
        // From the serial line: a terminal says nothing of shift state.
        key(0, u16::from(b's'), 0, t),
        key(0, u16::from(b'D'), v, t | CAPS),
        key(0x17, 0, v, t | CAPS),
        key(0, 0x0d, v, t | CAPS),
        // After SetState(VALID | NUM_LOCK): the keypad types digits.
        key(0, u16::from(b'8'), v, t | NUM),
    ];
    if seen != expected {
        return Err(format!("the application read\n{seen:#x?}\nexpected\n{expected:#x?}"));
    }
    println!("    EFI application read {} keys as typed", seen.len());
    Ok(())
}

fn ps2_efi_app(ctx: &Context, s: &mut Session) -> Result<(), String> {
    let disk = boot_tests::efi_app_disk(
        "efi-test-app-keyboard",
        crate::debian::Arch::Amd64,
        &[("hvfw-keyboard", "read keys\n")],
    )?;
    let mut config = QemuConfig::new(&ctx.firmware);
    config.disks.push(disk);
    efi_app_reads_keys(s, config)
}

/// The same with the i8042's translation switched off (a test hook): the
/// keyboard's own scan code set 2 is decoded, and the application must read
/// exactly the same keys.
fn ps2_set2_efi_app(ctx: &Context, s: &mut Session) -> Result<(), String> {
    let disk = boot_tests::efi_app_disk(
        "efi-test-app-keyboard",
        crate::debian::Arch::Amd64,
        &[("hvfw-keyboard", "read keys\n")],
    )?;
    let mut config = QemuConfig::new(&ctx.firmware);
    config.disks.push(disk);
    config.append = Some("hvfw.test=i8042-untranslated".into());
    config.qmp = true;
    let qemu = s.boot(&config)?;
    // The precondition, not the result: the hook took effect.
    qemu.wait_for("keyboard: PS/2 on the i8042, scan code set 2", START)?;
    type_and_check(qemu)?;
    qemu.wait_for("HVFW-APP: done, 0 failed", START)?;
    Ok(())
}

/// aarch64 `virt` has no PS/2: a virtio keyboard on PCI.
fn aarch64_efi_app(_ctx: &Context, s: &mut Session) -> Result<(), String> {
    let disk = boot_tests::efi_app_disk(
        "efi-test-app-keyboard-aa64",
        crate::debian::Arch::Arm64,
        &[("hvfw-keyboard", "read keys\n")],
    )?;
    let mut config = QemuConfig::aarch64(&boot_tests::aarch64_firmware()?);
    config.disks.push(disk);
    config
        .extra_args
        .extend(["-device".into(), "virtio-keyboard-pci".into()]);
    efi_app_reads_keys(s, config)
}

fn efi_app_reads_keys(s: &mut Session, mut config: QemuConfig) -> Result<(), String> {
    config.qmp = true;
    let qemu = s.boot(&config)?;
    type_and_check(qemu)?;
    qemu.wait_for("HVFW-APP: done, 0 failed", START)?;
    if !qemu.log().contains("HVFW-APP: ok keyboard") {
        return Err("the keyboard check did not pass".into());
    }
    Ok(())
}

/// The firmware's boot menu driven from the keyboard alone: Down selects the
/// second entry, `e` opens its command line, typed text is appended and Enter
/// boots it. Linux's command line proves which entry ran and what was typed.
fn menu_by_keyboard(qemu: &mut Qemu) -> Result<(), String> {
    pick_second_and_type(qemu, "hvfw.typed=on-the-keyboard")?;
    boot_tests::proof(qemu, 512, "hvfw.marker=menu-second hvfw.typed=on-the-keyboard", LINUX)?;
    // The firmware left the controller usable: Linux's i8042 and atkbd drivers
    // (built into Debian's kernel) find the keyboard after ExitBootServices.
    if !qemu.log().contains("input: AT Translated Set 2 keyboard") {
        return Err("Linux did not find the PS/2 keyboard after the firmware used it".into());
    }
    Ok(())
}

fn ps2_menu(ctx: &Context, s: &mut Session) -> Result<(), String> {
    let mut config = QemuConfig::new(&ctx.firmware);
    config.disks.push(crate::bls_tests::menu_disk()?);
    config.qmp = true;
    let qemu = s.boot(&config)?;
    menu_by_keyboard(qemu)
}

/// Two entries (markers `kbd-first`, `kbd-second`) for `kernel` on the EFI
/// architecture `efi_arch`, with a 30 s menu.
fn menu_disk_for(
    name: &str,
    efi_arch: &str,
    kernel: std::path::PathBuf,
    initrd: std::path::PathBuf,
    console: &str,
) -> Result<std::path::PathBuf, String> {
    let entry = |sort_key: &str, marker: &str| {
        format!(
            "title Debian 1\nsort-key {sort_key}\narchitecture {efi_arch}\nlinux /debian/linux\n\
             initrd /debian/initrd.img\noptions console={console} hvfw.marker={marker}\n"
        )
    };
    images::bls_disk(&BlsDisk {
        name: name.into(),
        esp_mib: 96,
        loader_conf: "timeout 30\n".into(),
        entries: vec![
            ("a.conf".into(), entry("a", "kbd-first")),
            ("b.conf".into(), entry("b", "kbd-second")),
        ],
        files: vec![
            ("/debian/linux".into(), Source::Host(kernel)),
            ("/debian/initrd.img".into(), Source::Host(initrd)),
        ],
        boot_loader: None,
    })
}

/// Down, `e`, typed text and Enter in the firmware's menu, sent with QMP.
fn pick_second_and_type(qemu: &mut Qemu, typed: &str) -> Result<(), String> {
    qemu.wait_for("hypervisor-fw boot menu", START)?;
    qemu.wait_for("Booting entry 1 in", START)?;
    let mut qmp = qemu.qmp()?;
    qmp.send_key(&["down"])?;
    qemu.wait_for("> 2. Debian 1", START)?;
    qmp.send_key(&["e"])?;
    qemu.wait_for("Command line (Enter boots, Esc cancels):", START)?;
    qmp.type_text(&format!(" {typed}\n"), Duration::from_millis(50))
}

/// The boot menu on aarch64 from a virtio keyboard on virtio-mmio (the
/// transport the `virt` machine offers without PCI).
fn aarch64_menu(_ctx: &Context, s: &mut Session) -> Result<(), String> {
    let disk = menu_disk_for(
        "keyboard-menu-arm64",
        "aa64",
        crate::debian::arm64_kernel()?,
        crate::initramfs::arm64_proof_initramfs()?,
        "ttyAMA0",
    )?;
    let mut config = QemuConfig::aarch64(&boot_tests::aarch64_firmware()?);
    config.disks.push(disk);
    // QEMU's virtio-mmio is the legacy interface unless told otherwise.
    config.extra_args.extend(
        [
            "-device",
            "virtio-keyboard-device",
            "-global",
            "virtio-mmio.force-legacy=false",
        ]
        .map(String::from),
    );
    config.qmp = true;
    let qemu = s.boot(&config)?;
    pick_second_and_type(qemu, "hvfw.typed=on-a-virtio-keyboard")?;
    boot_tests::proof_with_acpi(
        qemu,
        512,
        "hvfw.marker=kbd-second hvfw.typed=on-a-virtio-keyboard",
        LINUX,
        &[],
    )?;
    Ok(())
}

/// The same on riscv64 `virt`, with a virtio keyboard on PCI.
fn riscv64_menu(_ctx: &Context, s: &mut Session) -> Result<(), String> {
    let disk = menu_disk_for(
        "keyboard-menu-riscv64",
        "riscv64",
        crate::debian::riscv64_kernel()?,
        crate::initramfs::riscv64_proof_initramfs()?,
        "ttyS0",
    )?;
    let firmware = crate::firmware::build_for(crate::debian::Arch::Riscv64, crate::firmware::Variant::Release)?;
    let mut config = QemuConfig::riscv64(&firmware);
    config.disks.push(disk);
    config
        .extra_args
        .extend(["-device".into(), "virtio-keyboard-pci".into()]);
    config.qmp = true;
    let qemu = s.boot(&config)?;
    pick_second_and_type(qemu, "hvfw.typed=on-riscv64")?;
    // Debian's riscv64 kernel keeps about 14% of 512 MiB for itself.
    boot_tests::proof_with_memory_share(
        qemu,
        512,
        85,
        "hvfw.marker=kbd-second hvfw.typed=on-riscv64",
        LINUX,
        &[],
    )?;
    Ok(())
}

/// Debian's signed GRUB (behind shim) with `terminal_input console
/// serial_efi0`: its `console` terminal reads the firmware's ConIn, so the
/// PS/2 keyboard moves GRUB's menu to the second entry and boots it; Linux's
/// command line says which entry GRUB started.
fn grub_menu(ctx: &Context, s: &mut Session) -> Result<(), String> {
    let disk = images::shim_grub_disk(&images::ShimGrub {
        name: "debian-shim-grub-menu-keyboard".into(),
        menu: true,
        keyboard: true,
        ..Default::default()
    })?;
    let mut config = QemuConfig::new(&ctx.firmware);
    config.disks.push(disk);
    config.qmp = true;
    let qemu = s.boot(&config)?;
    qemu.wait_for("Second entry (hypervisor-fw menu test)", Duration::from_secs(60))?;
    qemu.wait_for("automatically in", Duration::from_secs(10))?;
    let mut qmp = qemu.qmp()?;
    qmp.send_key(&["down"])?;
    std::thread::sleep(Duration::from_millis(500));
    qmp.send_key(&["ret"])?;
    boot_tests::proof(qemu, 512, "hvfw.marker=grub-menu-second", LINUX)?;
    Ok(())
}
