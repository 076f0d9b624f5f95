//! The screen (issue 16): GOP on QEMU's display devices, the console on the
//! framebuffer, and the OS taking the framebuffer over. Each test looks at
//! QEMU's `screendump` as a user would look at the window, and reads the text
//! on it back with the firmware's own font ([`read_text`]).

use crate::boot_tests::{check_app_report, efi_app_disk, proof, BootTest, Context, Session};
use crate::images::{self, BlsDisk, GrubTerminal, ShimGrub, Source};
use crate::qemu::{Qemu, QemuConfig};
use crate::qmp::{scratch_path, Screen};
use crate::{debian, initramfs};
use std::collections::HashMap;
use std::time::Duration;

const START: Duration = Duration::from_secs(20);
const LINUX: Duration = Duration::from_secs(120);
const CELL_WIDTH: usize = 8;
const CELL_HEIGHT: usize = 16;

pub fn tests() -> Vec<BootTest> {
    vec![
        BootTest {
            name: "display_std_vga_shows_the_boot_menu_then_linux_efifb_console",
            run: std_vga_menu_and_linux,
        },
        BootTest {
            name: "display_bochs_display_shows_the_boot_menu_then_linux_efifb_console",
            run: bochs_menu_and_linux,
        },
        BootTest {
            name: "display_virtio_gpu_shows_the_boot_menu",
            run: virtio_gpu_menu,
        },
        BootTest {
            name: "display_grub_default_console_menu_on_screen",
            run: grub_console,
        },
        BootTest {
            name: "display_grub_gfxterm_menu_on_screen_then_linux_in_its_mode",
            run: grub_gfxterm,
        },
        BootTest {
            name: "display_bochs_display_gop_blt_matches_the_framebuffer_and_screen",
            run: bochs_display_efi_app,
        },
        BootTest {
            name: "display_virtio_gpu_gop_blt_reaches_the_screen",
            run: virtio_gpu_efi_app,
        },
        BootTest {
            name: "display_aarch64_virtio_gpu_gop_blt_reaches_the_screen",
            run: aarch64_virtio_gpu_efi_app,
        },
        BootTest {
            name: "display_aarch64_ramfb_gop_blt_matches_the_framebuffer_and_screen",
            run: aarch64_ramfb_efi_app,
        },
        BootTest {
            name: "display_aarch64_bochs_display_gop_blt_matches_the_framebuffer_and_screen",
            run: aarch64_bochs_efi_app,
        },
        BootTest {
            name: "display_aarch64_ramfb_linux_efifb_takes_the_framebuffer",
            run: aarch64_ramfb_linux,
        },
        BootTest {
            name: "display_aarch64_bochs_display_linux_efifb_takes_the_framebuffer",
            run: aarch64_bochs_linux,
        },
        BootTest {
            name: "display_std_vga_without_mmio_bar_gop_through_io_ports",
            run: vga_ports_efi_app,
        },
    ]
}

/// Glyph rows -> character, from the committed font (lowest code point first,
/// so a space reads as ' ' rather than NBSP).
fn glyph_table() -> HashMap<[u8; 16], char> {
    let data = std::fs::read(crate::workspace_root().join("protocols/src/display/font8x16.bin"))
        .expect("the font file is committed");
    let mut table = HashMap::new();
    for record in data.chunks_exact(18) {
        let code = u32::from(u16::from_le_bytes([record[0], record[1]]));
        let rows: [u8; 16] = record[2..].try_into().unwrap();
        if let Some(c) = char::from_u32(code) {
            table.entry(rows).or_insert(c);
        }
    }
    table
}

/// The text a grid of `columns` x `rows` cells at `origin` shows: each cell's
/// pixels split into the colour of its top-left pixel and the rest, matched
/// against every glyph either way round. Unknown cells read as '\u{1}', a
/// cell of one colour (a space, or a full block) as a space.
pub fn read_text(screen: &Screen, origin: (usize, usize), columns: usize, rows: usize) -> Vec<String> {
    let table = glyph_table();
    (0..rows)
        .map(|row| {
            (0..columns)
                .map(|column| {
                    let (x0, y0) = (origin.0 + column * CELL_WIDTH, origin.1 + row * CELL_HEIGHT);
                    let first = screen.pixel(x0, y0);
                    let mut bits = [0u8; 16];
                    for (y, byte) in bits.iter_mut().enumerate() {
                        for x in 0..CELL_WIDTH {
                            if screen.pixel(x0 + x, y0 + y) != first {
                                *byte |= 0x80 >> x;
                            }
                        }
                    }
                    let inverted = bits.map(|b| !b);
                    table
                        .get(&bits)
                        .or_else(|| table.get(&inverted))
                        .copied()
                        .unwrap_or('\u{1}')
                })
                .collect::<String>()
                .trim_end()
                .to_string()
        })
        .collect()
}

/// Where the firmware centres its 80x25 text grid on a `width` x `height` screen.
fn grid_origin(screen: &Screen) -> (usize, usize) {
    (
        (screen.width - 80 * CELL_WIDTH) / 2,
        (screen.height - 25 * CELL_HEIGHT) / 2,
    )
}

fn dump(qemu: &Qemu, name: &str) -> Result<Screen, String> {
    let path = scratch_path(name, "ppm");
    let screen = qemu.qmp()?.screendump(&path)?;
    println!(
        "    screendump {}x{} in {}",
        screen.width,
        screen.height,
        path.display()
    );
    Ok(screen)
}

fn expect_lines(lines: &[String], wanted: &[&str]) -> Result<(), String> {
    for want in wanted {
        if !lines.iter().any(|l| l == want) {
            return Err(format!(
                "the screen does not show the line {want:?}; it reads:\n{}",
                lines.join("\n")
            ));
        }
    }
    Ok(())
}

/// The proof initramfs, but Linux stays up (so its console can be looked at)
/// and also prints on the framebuffer console.
fn staying_initramfs() -> Result<std::path::PathBuf, String> {
    let script = initramfs::proof_script().replace(
        "poweroff -f\n",
        "echo 'HVFW on the Linux console' > /dev/tty1\nsleep 600\n",
    );
    initramfs::proof_initramfs_with_script("proof-stays", &script)
}

/// `-vga std`: the boot menu on the screen at the expected place, then the
/// EFI stub hands the GOP mode to Linux: efifb takes 1280x800, fbcon starts on
/// it, and its text replaces the firmware's picture.
fn std_vga_menu_and_linux(ctx: &Context, s: &mut Session) -> Result<(), String> {
    menu_then_linux(ctx, s, &["-vga", "std"], true)
}

/// `-device bochs-display` (DISPI through MMIO only): the menu, then efifb.
fn bochs_menu_and_linux(ctx: &Context, s: &mut Session) -> Result<(), String> {
    menu_then_linux(ctx, s, &["-device", "bochs-display"], true)
}

/// `-device virtio-gpu-pci`: the menu reaches the screen through the flushes.
/// Linux is not booted: Debian's cloud kernel has no virtio-gpu driver, and
/// the firmware resets the device at ExitBootServices.
fn virtio_gpu_menu(ctx: &Context, s: &mut Session) -> Result<(), String> {
    menu_then_linux(ctx, s, &["-device", "virtio-gpu-pci"], false)
}

/// The boot menu on the screen at the expected place; then, if `linux`, the
/// EFI stub hands the GOP mode to Linux and efifb's console replaces it.
fn menu_then_linux(ctx: &Context, s: &mut Session, display: &[&str], linux: bool) -> Result<(), String> {
    let entry = |n: &str| {
        format!(
            "title Debian {n}\nversion {n}\nlinux /debian/linux\ninitrd /debian/initrd.img\n\
             options console=tty0 console=ttyS0 hvfw.marker=display-{n}\n"
        )
    };
    let disk = images::bls_disk(&BlsDisk {
        name: "display-menu".into(),
        esp_mib: 64,
        loader_conf: "timeout 30\n".into(),
        entries: vec![("a.conf".into(), entry("2")), ("b.conf".into(), entry("1"))],
        files: vec![
            ("/debian/linux".into(), Source::Host(debian::cloud_kernel()?)),
            ("/debian/initrd.img".into(), Source::Host(staying_initramfs()?)),
        ],
        boot_loader: None,
    })?;
    let mut config = QemuConfig::new(&ctx.firmware);
    config.disks.push(disk);
    config.qmp = true;
    config.extra_args.extend(display.iter().map(|a| a.to_string()));
    let qemu = s.boot(&config)?;
    qemu.wait_for("Booting entry 1 in", START)?;
    // The serial line arrives as the screen is drawn: give QEMU a moment.
    std::thread::sleep(Duration::from_millis(300));
    let screen = dump(qemu, "display-menu")?;
    if (screen.width, screen.height) != (1280, 800) {
        return Err(format!(
            "the screen is {}x{}, not 1280x800",
            screen.width, screen.height
        ));
    }
    let origin = grid_origin(&screen);
    let lines = read_text(&screen, origin, 80, 25);
    expect_lines(&lines, &["hypervisor-fw boot menu", "> 1. Debian 1", "  2. Debian 2"])?;
    if !lines.iter().any(|l| l.starts_with("Booting entry 1 in ")) {
        return Err(format!("no countdown line on the screen:\n{}", lines.join("\n")));
    }
    // The selected entry is drawn black on light gray (EFI_BLACK | EFI_BACKGROUND_LIGHTGRAY).
    let row = lines.iter().position(|l| l == "> 1. Debian 1").unwrap();
    let (x, y) = (origin.0 + 3 * CELL_WIDTH, origin.1 + row * CELL_HEIGHT);
    if screen.pixel(x, y) != [0xaa, 0xaa, 0xaa] {
        return Err(format!(
            "the selected entry's background is {:?}, not light gray",
            screen.pixel(x, y)
        ));
    }
    println!(
        "    the menu is on the screen at ({}, {}) in the firmware's font",
        origin.0, origin.1
    );

    if !linux {
        return Ok(());
    }
    qemu.send(b"\r")?;
    proof(qemu, 512, "hvfw.marker=display-1", LINUX)?;
    let log = qemu.log();
    for line in [
        "efifb: probing for efifb",
        "efifb: mode is 1280x800x32",
        "frame buffer device 160x50",
    ] {
        if !log.contains(line) {
            return Err(format!("Linux did not report {line:?}"));
        }
    }
    std::thread::sleep(Duration::from_millis(500));
    let screen = dump(qemu, "display-linux")?;
    // fbcon's 160x50 grid starts at (0, 0): its first rows hold the kernel's
    // messages, where the firmware's centred grid never drew.
    let lit = |y0: usize| {
        (y0..y0 + 16)
            .flat_map(|y| (0..640).map(move |x| (x, y)))
            .filter(|&(x, y)| screen.pixel(x, y) != [0, 0, 0])
            .count()
    };
    let top = lit(0) + lit(16);
    if top < 200 {
        return Err(format!(
            "Linux's console is not on the screen: {top} lit pixels in its first two rows"
        ));
    }
    println!("    Linux's efifb console: {top} lit pixels in its first two text rows");
    Ok(())
}

/// The EFI test application's GOP check (QueryMode, SetMode 800x600, the four
/// Blt operations read back from the framebuffer), then the picture it left,
/// as QEMU shows it.
fn gop_app(s: &mut Session, name: &str, mut config: QemuConfig, display: &[&str]) -> Result<(), String> {
    let disk = match config.arch {
        debian::Arch::Arm64 => efi_app_disk("efi-test-app-aa64", debian::Arch::Arm64, &[])?,
        _ => efi_app_disk("efi-test-app", debian::Arch::Amd64, &[])?,
    };
    config.disks.push(disk);
    config.qmp = true;
    config.extra_args.extend(display.iter().map(|a| a.to_string()));
    let qemu = s.boot(&config)?;
    check_app_report(qemu)?;
    if !qemu.log().contains("HVFW-APP: ok gop") {
        return Err("the application's gop check did not pass".into());
    }
    qemu.wait_for("nothing left to boot", START)?;
    std::thread::sleep(Duration::from_millis(300));
    let screen = dump(qemu, name)?;
    if (screen.width, screen.height) != (800, 600) {
        return Err(format!(
            "the screen is {}x{}, not the 800x600 SetMode chose",
            screen.width, screen.height
        ));
    }
    let expect = |x: usize, y: usize, rgb: [u8; 3], what: &str| {
        if screen.pixel(x, y) == rgb {
            Ok(())
        } else {
            Err(format!(
                "{what}: pixel ({x}, {y}) is {:?}, not {rgb:?}",
                screen.pixel(x, y)
            ))
        }
    };
    expect(10, 10, [0x12, 0x34, 0x56], "VideoFill")?;
    expect(49, 29, [0x12, 0x34, 0x56], "VideoFill")?;
    expect(50, 29, [0, 0, 0], "VideoFill's edge")?;
    for y in 0..8 {
        for x in 0..16 {
            let pattern = [(16 * x) as u8, (32 * y) as u8, 0x80];
            expect(
                108 + x,
                14 + y,
                pattern,
                "the VideoToVideo copy of the BufferToVideo pattern",
            )?;
        }
    }
    for (i, rgb) in [[0xff, 0, 0], [0, 0xff, 0], [0, 0, 0xff], [0xff, 0xff, 0xff]]
        .into_iter()
        .enumerate()
    {
        expect(64 * i + 32, 64, rgb, "colour block")?;
    }
    // The console follows the mode change: its lines continue in the grid
    // centred on 800x600.
    let lines = read_text(&screen, grid_origin(&screen), 80, 25);
    if !lines.iter().any(|l| l.starts_with("HVFW-APP: done, 0 failed")) {
        return Err(format!(
            "the application's last line is not on the screen:\n{}",
            lines.join("\n")
        ));
    }
    println!("    GOP picture and console text found in the screendump");
    Ok(())
}

/// The text on the screen in whichever of the console's modes (80x25, 80x50,
/// 100x31, centred) shows `needle`.
fn find_console_text(screen: &Screen, needle: &str) -> Option<Vec<String>> {
    [(80, 25), (80, 50), (100, 31)].into_iter().find_map(|(columns, rows)| {
        let (w, h) = (columns * CELL_WIDTH, rows * CELL_HEIGHT);
        if w > screen.width || h > screen.height {
            return None;
        }
        let origin = ((screen.width - w) / 2, (screen.height - h) / 2);
        let lines = read_text(screen, origin, columns, rows);
        lines.iter().any(|l| l.contains(needle)).then_some(lines)
    })
}

fn grub_disk(name: &str, terminal: GrubTerminal) -> Result<std::path::PathBuf, String> {
    images::shim_grub_disk(&ShimGrub {
        name: name.into(),
        menu: true,
        terminal: Some(terminal),
        cmdline: "console=tty0 console=ttyS0 hvfw.marker=grub-cmdline-ok".into(),
        ..Default::default()
    })
}

/// GRUB with its default terminal (`console`: ConIn/ConOut): its menu is
/// drawn by the firmware's screen console, in the firmware's font.
fn grub_console(ctx: &Context, s: &mut Session) -> Result<(), String> {
    let disk = grub_disk("display-grub-console", GrubTerminal::Console)?;
    let mut config = QemuConfig::new(&ctx.firmware);
    config.disks.push(disk);
    config.qmp = true;
    config.extra_args.extend(["-vga".into(), "std".into()]);
    let qemu = s.boot(&config)?;
    qemu.wait_for("Second entry (hypervisor-fw menu test)", Duration::from_secs(60))?;
    qemu.wait_for("automatically in", Duration::from_secs(10))?;
    std::thread::sleep(Duration::from_millis(500));
    let screen = dump(qemu, "display-grub-console")?;
    let lines = find_console_text(&screen, "Second entry (hypervisor-fw menu test)")
        .ok_or("GRUB's menu is not on the screen in the firmware's font")?;
    for want in ["GNU GRUB", "Debian GNU/Linux (hypervisor-fw test image)"] {
        if !lines.iter().any(|l| l.contains(want)) {
            return Err(format!("the screen lacks {want:?}:\n{}", lines.join("\n")));
        }
    }
    println!("    GRUB's menu read back from the screen");
    Ok(())
}

/// `terminal_output gfxterm`: GRUB sets 1024x768 and draws its menu itself;
/// Linux then takes over the framebuffer in the mode GRUB leaves.
fn grub_gfxterm(ctx: &Context, s: &mut Session) -> Result<(), String> {
    let disk = grub_disk("display-grub-gfxterm", GrubTerminal::Gfxterm)?;
    let mut config = QemuConfig::new(&ctx.firmware);
    config.disks.push(disk);
    config.qmp = true;
    config.extra_args.extend(["-vga".into(), "std".into()]);
    let qemu = s.boot(&config)?;
    qemu.wait_for("Second entry (hypervisor-fw menu test)", Duration::from_secs(60))?;
    qemu.wait_for("automatically in", Duration::from_secs(10))?;
    std::thread::sleep(Duration::from_millis(500));
    let screen = dump(qemu, "display-grub-gfxterm")?;
    if (screen.width, screen.height) != (1024, 768) {
        return Err(format!(
            "GRUB did not set 1024x768: the screen is {}x{}",
            screen.width, screen.height
        ));
    }
    // GRUB's own font, not ours: its menu box and text light up the screen.
    let lit = screen.pixels.iter().filter(|p| **p != [0, 0, 0]).count();
    if lit < 5_000 {
        return Err(format!("GRUB's gfxterm menu is not on the screen ({lit} lit pixels)"));
    }
    println!("    GRUB's gfxterm menu: {lit} lit pixels at 1024x768");
    qemu.send(b"\r")?;
    proof(qemu, 512, "hvfw.marker=grub-cmdline-ok", LINUX)?;
    // GRUB's linux command programs the card with its own native driver
    // (video_bochs ranks above efi_gop) and hands Linux that mode, so the mode
    // is GRUB's choice; what matters is that efifb takes the framebuffer.
    let log = qemu.log();
    let mode = log
        .lines()
        .find_map(|l| l.split_once("efifb: mode is ").map(|(_, m)| m.trim().to_string()))
        .ok_or("Linux's efifb took no framebuffer after GRUB")?;
    println!("    Linux efifb after GRUB: {mode}");
    Ok(())
}

fn bochs_display_efi_app(ctx: &Context, s: &mut Session) -> Result<(), String> {
    let config = QemuConfig::new(&ctx.firmware);
    gop_app(s, "display-bochs", config, &["-device", "bochs-display"])
}

fn vga_ports_efi_app(ctx: &Context, s: &mut Session) -> Result<(), String> {
    let config = QemuConfig::new(&ctx.firmware);
    gop_app(s, "display-vga-ports", config, &["-device", "VGA,mmio=off"])
}

/// `-device virtio-gpu-pci`: GOP is PixelBltOnly (the picture is the host's
/// copy of the firmware's memory, updated as Blt flushes), so the application
/// checks the pixels through VideoToBltBuffer, and the screendump shows what
/// the flushes carried over.
fn virtio_gpu_efi_app(ctx: &Context, s: &mut Session) -> Result<(), String> {
    let config = QemuConfig::new(&ctx.firmware);
    gop_app(s, "display-virtio-gpu", config, &["-device", "virtio-gpu-pci"])
}

fn aarch64_virtio_gpu_efi_app(_ctx: &Context, s: &mut Session) -> Result<(), String> {
    let config = QemuConfig::aarch64(&crate::boot_tests::aarch64_firmware()?);
    gop_app(s, "display-aarch64-virtio-gpu", config, &["-device", "virtio-gpu-pci"])
}

/// aarch64 `virt` with `-device bochs-display`: DISPI through BAR 2 only (no
/// I/O ports on Arm).
fn aarch64_bochs_efi_app(_ctx: &Context, s: &mut Session) -> Result<(), String> {
    let config = QemuConfig::aarch64(&crate::boot_tests::aarch64_firmware()?);
    gop_app(s, "display-aarch64-bochs", config, &["-device", "bochs-display"])
}

/// aarch64 `virt` with `-device ramfb`: the framebuffer is RAM the firmware
/// reserved, announced through fw_cfg.
fn aarch64_ramfb_efi_app(_ctx: &Context, s: &mut Session) -> Result<(), String> {
    let config = QemuConfig::aarch64(&crate::boot_tests::aarch64_firmware()?);
    gop_app(s, "display-aarch64-ramfb", config, &["-device", "ramfb"])
}

/// aarch64 with ramfb booting Debian's arm64 kernel from a BLS entry: the EFI
/// stub passes the GOP mode on and efifb takes the reserved framebuffer.
fn aarch64_ramfb_linux(_ctx: &Context, s: &mut Session) -> Result<(), String> {
    aarch64_linux_on(s, &["-device", "ramfb"])
}

/// The same with `-device bochs-display`: efifb takes BAR 0.
fn aarch64_bochs_linux(_ctx: &Context, s: &mut Session) -> Result<(), String> {
    aarch64_linux_on(s, &["-device", "bochs-display"])
}

fn aarch64_linux_on(s: &mut Session, display: &[&str]) -> Result<(), String> {
    let options = "console=tty0 console=ttyAMA0 hvfw.marker=arm64-display";
    let (disk, _version) = crate::bls_tests::one_entry_disk(
        "display-arm64",
        "aa64",
        debian::arm64_kernel()?,
        initramfs::arm64_proof_initramfs()?,
        options,
        None,
    )?;
    let mut config = QemuConfig::aarch64(&crate::boot_tests::aarch64_firmware()?);
    config.disks.push(disk);
    config.qmp = true;
    config.extra_args.extend(display.iter().map(|a| a.to_string()));
    let qemu = s.boot(&config)?;
    // Look while Linux runs: the proof script powers off at its end.
    qemu.wait_for("Run /init as init process", LINUX)?;
    let screen = dump(qemu, "display-arm64-linux")?;
    qemu.wait_for(initramfs::PROOF_DONE, LINUX)?;
    if crate::boot_tests::proof_value(qemu, "cmdline").as_deref() != Some(options) {
        return Err("Linux did not get the entry's command line".into());
    }
    let log = qemu.log();
    for line in ["efifb: probing for efifb", "efifb: mode is 1280x800x32"] {
        if !log.contains(line) {
            return Err(format!("Linux did not report {line:?}"));
        }
    }
    let lit = |y0: usize| {
        (y0..y0 + 32)
            .flat_map(|y| (0..640).map(move |x| (x, y)))
            .filter(|&(x, y)| screen.pixel(x, y) != [0, 0, 0])
            .count()
    };
    if lit(0) < 200 {
        return Err(format!(
            "Linux's console is not on the screen ({} lit pixels at the top)",
            lit(0)
        ));
    }
    println!("    Linux's efifb console: {} lit pixels in its first two rows", lit(0));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_back_text_drawn_with_the_font() {
        let font = glyph_table();
        let glyph = |c: char| *font.iter().find(|(_, &v)| v == c).unwrap().0;
        let (width, height) = (40, 20);
        let mut screen = Screen {
            width,
            height,
            pixels: vec![[0, 0, 0]; width * height],
        };
        for (i, c) in "Hi┌".chars().enumerate() {
            for (y, bits) in glyph(c).iter().enumerate() {
                for x in 0..8 {
                    if bits & (0x80 >> x) != 0 {
                        screen.pixels[(2 + y) * width + 4 + i * 8 + x] = [0xaa; 3];
                    }
                }
            }
        }
        assert_eq!(read_text(&screen, (4, 2), 4, 1), vec!["Hi┌".to_string()]);
    }
}
