//! The boot manager (UEFI 2.10 §3.1, and the Boot Loader Specification): it
//! builds the list of boot options and tries them in turn, moving on when one
//! fails. The order:
//! 1. `BootNext` (used once), then the `Boot####` options in `BootOrder`;
//! 2. Boot Loader Specification entries of every FAT volume, in disk order:
//!    Type #1 (`\loader\entries\*.conf`) and Type #2 (`\EFI\Linux\*.efi`),
//!    sorted as the specification says, `loader.conf`'s default first;
//! 3. the removable-media file (`\EFI\BOOT\BOOTX64.EFI`) of every volume.
//!
//! A menu on the console appears when `loader.conf` sets a timeout (or
//! `menu-force`), or when a key is waiting when the boot manager starts.

use crate::bls::{self, BootEntry, EntryKind, Timeout, Type1File, UkiFile, UkiSections};
use crate::boot_loader_interface as bli;
use crate::devicetree;
use crate::efi::Efi;
use crate::efi_print;
use crate::fs::Volume;
use crate::linux::{self, LinuxError};
use crate::menu::{self, Action, Key};
use crate::{load_option, path, pe_sections};
use alloc::boxed::Box;
use alloc::string::{String, ToString};
use alloc::vec;
use alloc::vec::Vec;
use core::cell::Cell;
use uefi_raw::protocol::file_system::{FileMode, SimpleFileSystemProtocol};
use uefi_raw::table::boot::{AllocateType, MemoryType};
use uefi_raw::table::system::SystemTable;
use uefi_raw::{guid, Guid, Handle, Status};

/// The removable-media boot file for this architecture (§3.5.1.1).
#[cfg(target_arch = "x86_64")]
pub const REMOVABLE_MEDIA_FILE: &str = "\\EFI\\BOOT\\BOOTX64.EFI";
#[cfg(target_arch = "aarch64")]
pub const REMOVABLE_MEDIA_FILE: &str = "\\EFI\\BOOT\\BOOTAA64.EFI";
#[cfg(target_arch = "riscv64")]
pub const REMOVABLE_MEDIA_FILE: &str = "\\EFI\\BOOT\\BOOTRISCV64.EFI";

/// EFI_GLOBAL_VARIABLE.
const GLOBAL: Guid = guid!("8be4df61-93ca-11d2-aa0d-00e098032b8c");
/// hypervisor-fw's vendor GUID for its own variables.
pub const HVFW_VENDOR: Guid = guid!("4856464d-7e57-4f57-8000-000000000001");
/// `LinuxBootProtocol` = "bzimage" makes Linux entries boot through the x86
/// boot protocol instead of the kernel's EFI stub (set from the VMM's command
/// line `hvfw.linux=bzimage`).
pub const LINUX_BOOT_PROTOCOL_VARIABLE: &str = "LinuxBootProtocol";
/// `BootLoaderSpec` = "off" leaves BLS entries to a boot loader on the disk
/// (set from the VMM's command line `hvfw.bls=off`).
pub const BLS_VARIABLE: &str = "BootLoaderSpec";
const BS_RT: u32 = 0x2 | 0x4;

/// One FAT volume: its handle, device path and root.
struct VolumeInfo {
    path: Vec<u8>,
    volume: Volume,
}

enum Target {
    /// A `Boot####` option: a full device path and its optional data.
    LoadOption { number: u16, path: Vec<u8>, data: Vec<u8> },
    /// A BLS entry on volume `volume` (index into the volume list).
    Bls { volume: usize, entry: Box<BootEntry> },
    /// `\EFI\BOOT\BOOTX64.EFI` on a volume, and the `Boot####` that stands
    /// for it (see [`offer_options`]).
    Removable { path: Vec<u8>, number: Option<u16> },
}

struct BootOption {
    title: String,
    target: Target,
}

impl BootOption {
    /// The command line the menu's editor starts from.
    fn cmdline(&self) -> Option<String> {
        match &self.target {
            Target::Bls { entry, .. } => match &entry.kind {
                EntryKind::Type1 {
                    options,
                    linux: Some(_),
                    ..
                } => Some(options.clone().unwrap_or_default()),
                EntryKind::Type2 { cmdline, .. } => Some(cmdline.clone().unwrap_or_default()),
                _ => None,
            },
            _ => None,
        }
    }
}

/// The boot manager's entry point, started by the firmware like any image.
///
/// # Safety
/// `st` is the system table, as StartImage passes it.
pub unsafe extern "efiapi" fn efi_main(image: Handle, st: *mut SystemTable) -> Status {
    // SAFETY: the firmware starts us with a valid system table.
    let efi = unsafe { Efi::new(image, st) };
    // LoaderTimeInitUSec: when the boot manager started.
    let init_usec = efi.timestamp_usec();
    let volumes = volumes(&efi);
    let mut options = load_options(&efi, &volumes);
    let bls_enabled = efi.get_variable(BLS_VARIABLE, &HVFW_VENDOR).as_deref() != Some(b"off");
    // What the OS asked for through the Boot Loader Interface (bootctl
    // set-default, set-oneshot, set-timeout); left to a boot loader on the
    // disk when the built-in BLS loader is off.
    let requests = if bls_enabled {
        bli::requests(&efi)
    } else {
        bli::Requests::default()
    };
    let (bls_options, conf) = if bls_enabled {
        bls_entries(&efi, &volumes, &requests)
    } else {
        (Vec::new(), None)
    };
    let entry_ids: Vec<&str> = bls_options
        .iter()
        .filter_map(|o| match &o.target {
            Target::Bls { entry, .. } => Some(entry.id.as_str()),
            _ => None,
        })
        .collect();
    if !entry_ids.is_empty() {
        bli::publish(&efi, &entry_ids, &efi.firmware_info(), init_usec);
    }
    options.extend(bls_options);
    // Volumes whose removable-media file cannot even be opened (a damaged file
    // system, a failing disk) are reported and listed with what was tried.
    let mut unreadable: Vec<String> = Vec::new();
    for v in &volumes {
        if let Some(path) = path::with_file(&v.path, REMOVABLE_MEDIA_FILE) {
            match v.volume.check(REMOVABLE_MEDIA_FILE) {
                Ok(()) => options.push(BootOption {
                    title: efi.path_text(&path),
                    target: Target::Removable { path, number: None },
                }),
                Err(Status::NOT_FOUND) => {}
                Err(status) => {
                    let text = alloc::format!("{}: {}", efi.path_text(&path), status_name(status));
                    efi_print!(efi, "Boot: {text}\n");
                    unreadable.push(text);
                }
            }
        }
    }
    if options.is_empty() {
        efi_print!(
            efi,
            "no bootable device found: no disk holds a boot option ({} file systems searched)\n",
            volumes.len()
        );
        for t in &unreadable {
            efi_print!(efi, "  {t}\n");
        }
        return Status::NOT_FOUND;
    }

    let bls_number = offer_options(&efi, &mut options);
    let timeout = match requests.timeout {
        Some(seconds) => Timeout::Seconds(seconds),
        None => conf.as_ref().map_or(Timeout::MenuHidden, |c| c.timeout_or_default()),
    };
    let key_waiting = efi.read_key().is_some();
    let seconds = match timeout {
        Timeout::Seconds(s) if s > 0 => Some(s),
        Timeout::MenuForce => None,
        _ if key_waiting => None,
        _ => Some(0),
    };
    let mut sequence: Vec<(usize, Option<String>)> = (0..options.len()).map(|i| (i, None)).collect();
    if seconds != Some(0) {
        let editor = conf.as_ref().is_none_or(|c| c.editor);
        let (chosen, cmdline) = run_menu(&efi, &options, seconds, editor);
        sequence.retain(|(i, _)| *i != chosen);
        sequence.insert(0, (chosen, cmdline));
    }

    let mut tried: Vec<String> = unreadable;
    for (index, cmdline) in sequence {
        let option = &options[index];
        efi_print!(efi, "Boot: starting {}\n", option.title);
        let outcome = boot(&efi, &volumes, option, cmdline.as_deref(), bls_number);
        efi_print!(efi, "Boot: {} {outcome}\n", option.title);
        tried.push(alloc::format!("{}: {outcome}", option.title));
    }
    efi_print!(efi, "no bootable device found. Tried:\n");
    for t in &tried {
        efi_print!(efi, "  {t}\n");
    }
    Status::NOT_FOUND
}

/// Every FAT volume (SimpleFileSystem handle) in the firmware's order.
fn volumes(efi: &Efi) -> Vec<VolumeInfo> {
    efi.handles_with(&SimpleFileSystemProtocol::GUID)
        .into_iter()
        .filter_map(|handle| {
            let path = efi.device_path(handle)?;
            let sfs = efi.protocol(handle, &SimpleFileSystemProtocol::GUID)?;
            // SAFETY: the firmware's SimpleFileSystem on this handle.
            match unsafe { Volume::open(sfs) } {
                Ok(volume) => Some(VolumeInfo { path, volume }),
                Err(status) => {
                    efi_print!(
                        efi,
                        "Boot: cannot open {}: {}\n",
                        efi.path_text(&path),
                        status_name(status)
                    );
                    None
                }
            }
        })
        .collect()
}

/// BootNext then BootOrder, as boot options with full device paths.
fn load_options(efi: &Efi, volumes: &[VolumeInfo]) -> Vec<BootOption> {
    let mut numbers: Vec<u16> = Vec::new();
    if let Some(next) = efi.get_variable("BootNext", &GLOBAL) {
        numbers.extend(load_option::parse_order(&next).first());
        // BootNext is used once (§3.1.2).
        let _ = efi.set_variable("BootNext", &GLOBAL, 0, &[]);
    }
    if let Some(order) = efi.get_variable("BootOrder", &GLOBAL) {
        numbers.extend(load_option::parse_order(&order));
    }
    let mut out = Vec::new();
    for number in numbers {
        let name = load_option::boot_variable_name(number);
        let Some(bytes) = efi.get_variable(&name, &GLOBAL) else {
            efi_print!(efi, "Boot: {name} is in BootOrder but does not exist\n");
            continue;
        };
        let option = match load_option::parse(&bytes) {
            Ok(o) => o,
            Err(e) => {
                efi_print!(efi, "Boot: {name} is unusable: {e}\n");
                continue;
            }
        };
        if !option.is_active() || !option.is_boot_target() {
            continue;
        }
        match full_path(volumes, &option.file_path) {
            Some(path) => out.push(BootOption {
                title: alloc::format!("{name} {}", option.description),
                target: Target::LoadOption {
                    number,
                    path,
                    data: option.optional_data,
                },
            }),
            None => efi_print!(
                efi,
                "Boot: {name} ({}): no disk matches its device path\n",
                option.description
            ),
        }
    }
    out
}

/// A full device path for an option's path: short forms that start at a
/// partition (HD node) or at a file are matched to a volume (§3.1.2).
fn full_path(volumes: &[VolumeInfo], option_path: &[u8]) -> Option<Vec<u8>> {
    if !load_option::is_short_form(option_path) {
        return Some(option_path.to_vec());
    }
    let first_len = usize::from(u16::from_le_bytes([*option_path.get(2)?, *option_path.get(3)?]));
    let starts_with_file = option_path.get(..2) == Some(&[4, 4]);
    volumes.iter().find_map(|v| {
        let body = path::without_end(&v.path)?;
        if starts_with_file {
            if v.volume.exists(&path::file_text(option_path)?) {
                return Some([body, option_path].concat());
            }
            return None;
        }
        // Partition match: the volume's path ends with the same HD node.
        let hd = option_path.get(..first_len)?;
        body.ends_with(hd).then(|| [body, &option_path[first_len..]].concat())
    })
}

/// BLS entries of every volume, and the first `loader.conf` found.
fn bls_entries(
    efi: &Efi,
    volumes: &[VolumeInfo],
    requests: &bli::Requests,
) -> (Vec<BootOption>, Option<bls::LoaderConf>) {
    let mut options = Vec::new();
    let mut first_conf: Option<bls::LoaderConf> = None;
    for (index, v) in volumes.iter().enumerate() {
        let conf = match v.volume.read(bls::LOADER_CONF_PATH) {
            Ok(bytes) => match bls::parse_loader_conf(&bytes) {
                Ok(conf) => Some(conf),
                Err(e) => {
                    efi_print!(efi, "Boot: {} is unusable: {e}\n", bls::LOADER_CONF_PATH);
                    None
                }
            },
            Err(_) => None,
        };
        let entry_files: Vec<(String, Vec<u8>)> = v
            .volume
            .list(bls::TYPE1_DIR)
            .unwrap_or_default()
            .into_iter()
            .filter(|name| name.to_ascii_lowercase().ends_with(".conf"))
            .filter_map(|name| {
                let contents = v.volume.read(&alloc::format!("{}\\{name}", bls::TYPE1_DIR));
                match contents {
                    Ok(c) => Some((name, c)),
                    Err(s) => {
                        efi_print!(efi, "Boot: cannot read entry {name}: {}\n", status_name(s));
                        None
                    }
                }
            })
            .collect();
        let uki_files: Vec<(String, [Option<Vec<u8>>; 3])> = v
            .volume
            .list(bls::TYPE2_DIR)
            .unwrap_or_default()
            .into_iter()
            .filter(|name| name.to_ascii_lowercase().ends_with(".efi"))
            .map(|name| {
                let sections = uki_sections(&v.volume, &alloc::format!("{}\\{name}", bls::TYPE2_DIR));
                (name, sections)
            })
            .collect();
        if entry_files.is_empty() && uki_files.is_empty() {
            continue;
        }
        let type1: Vec<Type1File> = entry_files
            .iter()
            .map(|(n, c)| Type1File {
                file_name: n,
                contents: c,
            })
            .collect();
        let ukis: Vec<UkiFile> = uki_files
            .iter()
            .map(|(n, [osrel, cmdline, uname])| UkiFile {
                file_name: n,
                sections: UkiSections {
                    osrel: osrel.as_deref(),
                    cmdline: cmdline.as_deref(),
                    uname: uname.as_deref(),
                },
            })
            .collect();
        let default = requests.default_pattern(conf.as_ref().and_then(|c| c.default.as_deref()));
        let mut built = bls::build_menu(&type1, &ukis, bls::LOCAL_ARCHITECTURE, default);
        for skipped in &built.skipped {
            efi_print!(efi, "Boot: skipping {skipped}\n");
        }
        // The default first, the rest in the specification's order.
        if let Some(d) = built.default.filter(|&d| d > 0) {
            let entry = built.entries.remove(d);
            built.entries.insert(0, entry);
        }
        for entry in built.entries {
            options.push(BootOption {
                title: entry.title.clone(),
                target: Target::Bls {
                    volume: index,
                    entry: Box::new(entry),
                },
            });
        }
        if first_conf.is_none() {
            first_conf = conf;
        }
    }
    (options, first_conf)
}

/// `.osrel`, `.cmdline` and `.uname` of a unified kernel image, read from its
/// section table without reading the whole file.
fn uki_sections(volume: &Volume, file: &str) -> [Option<Vec<u8>>; 3] {
    // One open for the header and the three sections.
    let Ok(image) = volume.open_file(file, FileMode::READ) else {
        return [None, None, None];
    };
    let mut header = vec![0u8; pe_sections::HEADER_BYTES];
    let Ok(n) = image.read_at(0, &mut header) else {
        return [None, None, None];
    };
    let Some(sections) = pe_sections::sections(&header[..n]) else {
        return [None, None, None];
    };
    [".osrel", ".cmdline", ".uname"].map(|name| {
        let s = pe_sections::find(&sections, name)?;
        // Section payloads are small text; a huge one is not what we look for.
        if s.size > 64 * 1024 {
            return None;
        }
        let mut data = vec![0u8; s.size as usize];
        let n = image.read_at(u64::from(s.file_offset), &mut data).ok()?;
        data.truncate(n);
        Some(data)
    })
}

/// Shows the menu until the user (or the countdown) picks an entry.
fn run_menu(efi: &Efi, options: &[BootOption], seconds: Option<u32>, editor: bool) -> (usize, Option<String>) {
    let titles = options.iter().map(|o| o.title.clone()).collect();
    let cmdlines = options.iter().map(BootOption::cmdline).collect();
    let mut m = menu::Menu::new(titles, cmdlines, 0, seconds, editor);
    draw(efi, &m);
    // The countdown follows the firmware's clock: a 1 s periodic timer, not a
    // count of polls (each poll of the console costs VM exits, which take
    // far longer nested than on a host).
    let second = efi.periodic_timer(10_000_000);
    let mut polls = 0u32;
    loop {
        let action = match efi.read_key() {
            Some((scan, unicode)) => match Key::from_efi(scan, unicode) {
                Some(key) => m.key(key),
                None => Action::Nothing,
            },
            None => {
                efi.stall(10_000);
                polls += 1;
                let elapsed = match &second {
                    Some(timer) => timer.fired(),
                    // No timer event: count 100 polls of 10 ms as a second.
                    None => polls.is_multiple_of(100),
                };
                if elapsed {
                    m.tick()
                } else {
                    Action::Nothing
                }
            }
        };
        match action {
            Action::Nothing => {}
            Action::Redraw => draw(efi, &m),
            Action::Boot { index, cmdline } => {
                efi.set_attribute(0x07);
                efi.clear_screen();
                return (index, cmdline);
            }
        }
    }
}

fn draw(efi: &Efi, m: &menu::Menu) {
    efi.set_attribute(0x07);
    efi.clear_screen();
    efi_print!(efi, "hypervisor-fw boot menu\n\n");
    for (i, title) in m.titles.iter().enumerate() {
        if i == m.selected {
            efi.set_attribute(0x70);
            efi_print!(efi, "> {}. {title}", i + 1);
            efi.set_attribute(0x07);
            efi_print!(efi, "\n");
        } else {
            efi_print!(efi, "  {}. {title}\n", i + 1);
        }
    }
    efi_print!(efi, "\n");
    if let Some(editor) = &m.editing {
        let text: String = editor.text.iter().collect();
        efi_print!(efi, "Command line (Enter boots, Esc cancels):\n{text}\n");
    } else if let Some(s) = m.countdown {
        efi_print!(
            efi,
            "Booting entry {} in {s} s. Up/Down or 1-9 select, Enter boots, e edits.\n",
            m.selected + 1
        );
    } else {
        efi_print!(efi, "Up/Down or 1-9 select, Enter boots, e edits the command line.\n");
    }
}

/// Boots one option; returns only when it did not take over, with why.
/// `bls_number` is the `Boot####` that stands for the BLS entries.
fn boot(
    efi: &Efi,
    volumes: &[VolumeInfo],
    option: &BootOption,
    cmdline: Option<&str>,
    bls_number: Option<u16>,
) -> String {
    let current = |number: Option<u16>| {
        if let Some(number) = number {
            let _ = efi.set_variable("BootCurrent", &GLOBAL, BS_RT, &number.to_le_bytes());
        }
    };
    match &option.target {
        Target::LoadOption { number, path, data } => {
            current(Some(*number));
            let options: Vec<u16> = data.chunks_exact(2).map(|c| u16::from_le_bytes([c[0], c[1]])).collect();
            start_efi(efi, path, &options)
        }
        Target::Removable { path, number } => {
            current(*number);
            start_efi(efi, path, &[])
        }
        Target::Bls { volume, entry } => {
            current(bls_number);
            boot_bls(efi, &volumes[*volume], entry, cmdline)
        }
    }
}

/// Boot#### numbers searched for options that already stand for a target.
const OFFERED_NUMBERS: u16 = 0x100;
/// The device path of the option standing for the BLS entries: a vendor
/// media node (UEFI 2.10 §10.3.5.3) with hypervisor-fw's GUID, then End.
fn bls_option_path() -> Vec<u8> {
    let mut path = vec![4, 3, 20, 0];
    path.extend_from_slice(HVFW_VENDOR.to_bytes().as_slice());
    path.extend_from_slice(&[0x7f, 0xff, 4, 0]);
    path
}

/// Like OVMF, offers a `Boot####` for what the firmware found, so that the
/// OS (`efibootmgr`) sees the options and `BootCurrent` names what booted:
/// one per removable-media file and one for the BLS entries. An option with
/// the same device path is reused; new ones are volatile (they are made anew
/// at each start, never pile up, and the firmware writes nothing to the
/// disk for them) and are not put in `BootOrder`. Returns the BLS option's
/// number.
fn offer_options(efi: &Efi, options: &mut [BootOption]) -> Option<u16> {
    let mut existing: Vec<(u16, Vec<u8>)> = (0..OFFERED_NUMBERS)
        .filter_map(|n| {
            let bytes = efi.get_variable(&load_option::boot_variable_name(n), &GLOBAL)?;
            Some((n, load_option::parse(&bytes).ok()?.file_path))
        })
        .collect();
    let mut offer = |path: &[u8], description: &str| -> Option<u16> {
        if let Some((n, _)) = existing.iter().find(|(_, p)| p.as_slice() == path) {
            return Some(*n);
        }
        let free = (0..OFFERED_NUMBERS).find(|n| {
            !existing.iter().any(|(e, _)| e == n)
                && efi
                    .get_variable(&load_option::boot_variable_name(*n), &GLOBAL)
                    .is_none()
        })?;
        let bytes = load_option::encode(load_option::LOAD_OPTION_ACTIVE, description, path, &[]);
        let status = efi.set_variable(&load_option::boot_variable_name(free), &GLOBAL, BS_RT, &bytes);
        if status != Status::SUCCESS {
            return None;
        }
        existing.push((free, path.to_vec()));
        Some(free)
    };
    let has_bls = options.iter().any(|o| matches!(o.target, Target::Bls { .. }));
    let bls = if has_bls {
        offer(&bls_option_path(), "hypervisor-fw Boot Loader Specification entries")
    } else {
        None
    };
    for option in options.iter_mut() {
        if let Target::Removable { path, number } = &mut option.target {
            *number = offer(path, &alloc::format!("UEFI {}", option.title));
        }
    }
    bls
}

/// LoadImage + LoadOptions + StartImage of an EFI program.
fn start_efi(efi: &Efi, path: &[u8], options: &[u16]) -> String {
    let image = match efi.load_image(path) {
        Ok(image) => image,
        Err(status) => return alloc::format!("cannot load: {}", status_name(status)),
    };
    if !options.is_empty() {
        // SAFETY: `options` outlives StartImage below.
        let _ = unsafe { efi.set_load_options(image, options) };
    }
    alloc::format!("returned {}", status_name(efi.start_boot_option(image)))
}

fn ucs2(s: &str) -> Vec<u16> {
    s.encode_utf16().chain([0]).collect()
}

/// A BLS entry: Linux through its EFI stub (or the boot protocol when asked),
/// an EFI program, or a unified kernel image. Boot counting is applied first.
fn boot_bls(efi: &Efi, v: &VolumeInfo, entry: &BootEntry, cmdline: Option<&str>) -> String {
    bli::publish_selected(efi, &entry.id, &v.path);
    if let Some(new_name) = entry.renamed_after_attempt() {
        let file = entry.file_path();
        if let Err(status) = v.volume.rename(&file, &new_name) {
            efi_print!(
                efi,
                "Boot: cannot count the attempt on {file}: {}\n",
                status_name(status)
            );
        }
    }
    match &entry.kind {
        EntryKind::Type2 { path: file, .. } => match path::with_file(&v.path, file) {
            Some(full) => start_efi(efi, &full, &cmdline.map(ucs2).unwrap_or_default()),
            None => "bad device path".to_string(),
        },
        EntryKind::Type1 {
            efi: Some(program),
            options,
            ..
        } => match path::with_file(&v.path, program) {
            Some(full) => start_efi(efi, &full, &options.as_deref().map(ucs2).unwrap_or_default()),
            None => "bad device path".to_string(),
        },
        EntryKind::Type1 {
            linux: Some(kernel),
            initrds,
            options,
            devicetree,
            devicetree_overlays,
            ..
        } => {
            let cmdline = cmdline
                .map(String::from)
                .or_else(|| options.clone())
                .unwrap_or_default();
            if !devicetree_overlays.is_empty() {
                efi_print!(
                    efi,
                    "Boot: devicetree-overlay is not supported; booting without {}\n",
                    devicetree_overlays.join(" ")
                );
            }
            let _tree = match devicetree {
                Some(file) if cfg!(target_arch = "x86_64") => {
                    efi_print!(
                        efi,
                        "Boot: devicetree {file} ignored: x86_64 Linux takes no device tree\n"
                    );
                    None
                }
                Some(file) => match install_devicetree(efi, &v.volume, file) {
                    Ok(tree) => Some(tree),
                    Err(e) => return alloc::format!("devicetree {e}"),
                },
                None => None,
            };
            boot_linux(efi, v, kernel, initrds, &cmdline)
        }
        EntryKind::Type1 { .. } => "entry has neither linux nor efi".to_string(),
    }
}

/// Pages holding a file; freed on drop unless the kernel took over.
struct FileInPages<'a> {
    efi: &'a Efi,
    address: u64,
    pages: usize,
    len: usize,
}

impl FileInPages<'_> {
    fn bytes(&self) -> &[u8] {
        // SAFETY: the pages were allocated for `len` bytes and filled by `read_into_pages`.
        unsafe { core::slice::from_raw_parts(self.address as *const u8, self.len) }
    }
}

impl Drop for FileInPages<'_> {
    fn drop(&mut self) {
        let _ = self.efi.free_pages(self.address, self.pages);
    }
}

/// An entry's devicetree, installed as the EFI_DTB_TABLE configuration table
/// in place of the VMM's. Dropping it (the kernel did not take over) puts the
/// previous table back, then frees the pages.
struct InstalledDeviceTree<'a> {
    efi: &'a Efi,
    /// Held, not read: the installed table lives in these pages.
    _tree: FileInPages<'a>,
    previous: Option<*mut core::ffi::c_void>,
}

impl Drop for InstalledDeviceTree<'_> {
    fn drop(&mut self) {
        let previous = self.previous.unwrap_or(core::ptr::null_mut());
        // SAFETY: `previous` is the table the firmware had installed (still
        // where it was), or null to remove ours; ours is unused from here on.
        let _ = unsafe {
            self.efi
                .install_configuration_table(&devicetree::DTB_TABLE_GUID, previous)
        };
    }
}

/// Reads and checks an entry's `devicetree` file and installs it. The pages
/// are ACPI reclaim memory: the OS may reuse them once it has read the tree.
fn install_devicetree<'a>(efi: &'a Efi, volume: &Volume, file: &str) -> Result<InstalledDeviceTree<'a>, String> {
    let tree = read_into_pages(efi, volume, file, MemoryType::ACPI_RECLAIM)?;
    devicetree::check(tree.bytes()).map_err(|e| alloc::format!("{file}: {e}"))?;
    let previous = efi.configuration_table(&devicetree::DTB_TABLE_GUID);
    // SAFETY: the pages stay allocated in `tree` until the guard is dropped,
    // and the guard's Drop uninstalls them first.
    unsafe { efi.install_configuration_table(&devicetree::DTB_TABLE_GUID, tree.address as *mut core::ffi::c_void) }
        .map_err(|s| alloc::format!("{file}: InstallConfigurationTable: {}", status_name(s)))?;
    efi_print!(efi, "Boot: device tree from {file}\n");
    Ok(InstalledDeviceTree {
        efi,
        _tree: tree,
        previous,
    })
}

/// Reads a (possibly large) file into freshly allocated pages of `memory_type`,
/// so kernels never touch the firmware's small heap.
fn read_into_pages<'a>(
    efi: &'a Efi,
    volume: &Volume,
    file: &str,
    memory_type: MemoryType,
) -> Result<FileInPages<'a>, String> {
    let (handle, size) = open_sized(volume, file)?;
    let pages = (size as usize).div_ceil(4096).max(1);
    let address = efi
        .allocate_pages(AllocateType::ANY_PAGES, memory_type, pages, 0)
        .map_err(|s| alloc::format!("{file}: no memory for {size} bytes ({})", status_name(s)))?;
    let buffer = FileInPages {
        efi,
        address,
        pages,
        len: size as usize,
    };
    // SAFETY: the pages were just allocated for this buffer.
    let slice = unsafe { core::slice::from_raw_parts_mut(address as *mut u8, size as usize) };
    let n = handle
        .read_at(0, slice)
        .map_err(|s| alloc::format!("{file}: {}", status_name(s)))?;
    if n as u64 != size {
        return Err(alloc::format!("{file}: read {n} of {size} bytes"));
    }
    Ok(buffer)
}

/// Opens `name` for reading and gives its size, which the loaders accept up
/// to [`crate::fs::MAX_FILE`]. One open: on FAT each open walks the file's
/// cluster chain.
fn open_sized(volume: &Volume, name: &str) -> Result<(crate::fs::File, u64), String> {
    let fail = |s| alloc::format!("{name}: {}", status_name(s));
    let file = volume.open_file(name, FileMode::READ).map_err(fail)?;
    let size = file.size().map_err(fail)?;
    if size > crate::fs::MAX_FILE {
        return Err(alloc::format!("{name}: {size} bytes is too large"));
    }
    Ok((file, size))
}

/// An initrd file, opened and sized before the kernel starts and read only
/// when the kernel asks for it: straight into the kernel's buffer (EFI stub)
/// or the ramdisk pages (boot protocol), never through a copy.
struct InitrdFile {
    name: String,
    file: crate::fs::File,
    len: usize,
    /// Why reading failed, for the boot manager's report: the read happens
    /// inside the kernel's LoadFile2 call, which can only return a status.
    failure: Cell<Option<Status>>,
}

impl InitrdFile {
    fn open(volume: &Volume, name: &str) -> Result<InitrdFile, String> {
        let (file, size) = open_sized(volume, name)?;
        Ok(InitrdFile {
            name: name.into(),
            file,
            len: size as usize,
            failure: Cell::new(None),
        })
    }
}

impl linux::InitrdSource for InitrdFile {
    fn len(&self) -> usize {
        self.len
    }

    fn read_into(&self, buffer: &mut [u8]) -> Result<(), Status> {
        let result = match self.file.read_at(0, buffer) {
            Ok(n) if n == self.len && buffer.len() == self.len => Ok(()),
            // The file changed size since it was opened.
            Ok(_) => Err(Status::END_OF_FILE),
            Err(status) => Err(status),
        };
        if let Err(status) = result {
            self.failure.set(Some(status));
        }
        result
    }
}

fn boot_linux(efi: &Efi, v: &VolumeInfo, kernel_file: &str, initrd_files: &[String], cmdline: &str) -> String {
    let mut initrds = Vec::new();
    for file in initrd_files {
        match InitrdFile::open(&v.volume, file) {
            Ok(i) => initrds.push(i),
            Err(e) => return alloc::format!("initrd {e}"),
        }
    }
    let initrd_failure = |initrds: &[InitrdFile]| {
        initrds.iter().find_map(|i| {
            i.failure
                .get()
                .map(|s| alloc::format!("initrd {}: {}", i.name, status_name(s)))
        })
    };
    let protocol = efi.get_variable(LINUX_BOOT_PROTOCOL_VARIABLE, &HVFW_VENDOR);
    let want_bzimage = protocol.as_deref() == Some(b"bzimage");
    if !want_bzimage {
        let Some(kernel_path) = path::with_file(&v.path, kernel_file) else {
            return alloc::format!("kernel {kernel_file}: cannot make a device path for it");
        };
        // LoadImage reads the kernel from its file, each section straight into place.
        let result = linux::boot_efi_stub(efi, &[], Some(&kernel_path), &initrds, cmdline);
        if let Some(e) = initrd_failure(&initrds) {
            return e;
        }
        match result {
            Ok(status) => return alloc::format!("the kernel returned {}", status_name(status)),
            Err(LinuxError::LoadImage(Status::NOT_FOUND)) => {
                return alloc::format!("kernel {kernel_file}: {}", status_name(Status::NOT_FOUND));
            }
            // No EFI stub (not a PE image): the boot protocol is the way.
            Err(LinuxError::LoadImage(status)) if status == Status::LOAD_ERROR || status == Status::UNSUPPORTED => {
                efi_print!(
                    efi,
                    "Boot: {kernel_file} has no EFI stub; using the Linux boot protocol\n"
                );
            }
            Err(e) => return alloc::format!("{e}"),
        }
    }
    let kernel = match read_into_pages(efi, &v.volume, kernel_file, MemoryType::LOADER_DATA) {
        Ok(k) => k,
        Err(e) => return alloc::format!("kernel {e}"),
    };
    efi_print!(efi, "Boot: {kernel_file} through the Linux x86 boot protocol\n");
    let error = match linux::boot_bzimage(efi, kernel.bytes(), &initrds, cmdline) {
        Ok(never) => match never {},
        Err(e) => alloc::format!("{e}"),
    };
    initrd_failure(&initrds).unwrap_or(error)
}

/// The specification's name for a status.
pub fn status_name(status: Status) -> String {
    let name = match status {
        Status::SUCCESS => "SUCCESS",
        Status::LOAD_ERROR => "LOAD_ERROR",
        Status::INVALID_PARAMETER => "INVALID_PARAMETER",
        Status::UNSUPPORTED => "UNSUPPORTED",
        Status::BAD_BUFFER_SIZE => "BAD_BUFFER_SIZE",
        Status::BUFFER_TOO_SMALL => "BUFFER_TOO_SMALL",
        Status::NOT_FOUND => "NOT_FOUND",
        Status::ACCESS_DENIED => "ACCESS_DENIED",
        Status::SECURITY_VIOLATION => "SECURITY_VIOLATION",
        Status::OUT_OF_RESOURCES => "OUT_OF_RESOURCES",
        Status::ABORTED => "ABORTED",
        Status::DEVICE_ERROR => "DEVICE_ERROR",
        Status::VOLUME_CORRUPTED => "VOLUME_CORRUPTED",
        Status::END_OF_FILE => "END_OF_FILE",
        _ => return alloc::format!("status {:#x}", status.0),
    };
    String::from(name)
}
