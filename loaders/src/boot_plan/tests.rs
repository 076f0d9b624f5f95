//! The planner's rules, each test one rule: which candidates, in which order,
//! what is left out and said, and what happens after each attempt.

use super::*;
use crate::bls::{self, LoaderConf, Timeout};
use crate::linux::{stub_memory::Shortfall, LinuxError};
use crate::load_option::{encode, LOAD_OPTION_ACTIVE, LOAD_OPTION_CATEGORY_APP};
use crate::path;
use alloc::string::{String, ToString};
use alloc::vec;
use alloc::vec::Vec;
use uefi_raw::Status;

// ---- building inputs ----

const END: [u8; 4] = [0x7f, 0xff, 4, 0];

/// A Hard Drive node for GPT partition `partition` with a GUID ending in `tag`.
fn hd_node(partition: u32, tag: u8) -> Vec<u8> {
    let mut node = vec![4, 1, 42, 0];
    node.extend_from_slice(&partition.to_le_bytes());
    node.extend_from_slice(&2048u64.to_le_bytes());
    node.extend_from_slice(&0x20000u64.to_le_bytes());
    node.extend_from_slice(&[0x4d, 0x46, 0x56, 0x48, 0, 0, 0, 0x40, 0x80, 0, 0, 0, 0, 0, 0, tag]);
    node.extend_from_slice(&[2, 2]);
    node
}

/// The device path of disk `disk`'s partition 1: ACPI PNP0A03 with UID
/// `disk`, then the partition's Hard Drive node, then End.
fn volume_path(disk: u8) -> Vec<u8> {
    let mut p = vec![2, 1, 12, 0, 0xd0, 0x41, 3, 0x0a, disk, 0, 0, 0];
    p.extend_from_slice(&hd_node(1, disk));
    p.extend_from_slice(&END);
    p
}

/// A file path node for `file`.
fn file_node(file: &str) -> Vec<u8> {
    let name: Vec<u8> = file.encode_utf16().chain([0]).flat_map(u16::to_le_bytes).collect();
    let mut node = vec![4, 4];
    node.extend_from_slice(&((4 + name.len()) as u16).to_le_bytes());
    node.extend_from_slice(&name);
    node
}

/// A full device path to `file` on disk `disk`.
fn full_file_path(disk: u8, file: &str) -> Vec<u8> {
    path::with_file(&volume_path(disk), file).unwrap()
}

fn option(description: &str, path: &[u8]) -> Vec<u8> {
    encode(LOAD_OPTION_ACTIVE, description, path, &[])
}

fn order(numbers: &[u16]) -> Vec<u8> {
    numbers.iter().flat_map(|n| n.to_le_bytes()).collect()
}

/// A volume on disk `disk` without BLS files or removable-media file.
fn volume(disk: u8) -> VolumeFacts {
    VolumeFacts {
        device_path: volume_path(disk),
        bls: BlsFiles::default(),
        removable_file: Err(Status::NOT_FOUND),
    }
}

fn with_removable(mut v: VolumeFacts) -> VolumeFacts {
    v.removable_file = Ok(());
    v
}

fn type1(name: &str, text: &str) -> EntryFile {
    EntryFile {
        name: name.to_string(),
        contents: Ok(text.as_bytes().to_vec()),
    }
}

fn linux_entry(name: &str, title: &str) -> EntryFile {
    type1(
        name,
        &alloc::format!("title {title}\nlinux /vmlinuz\noptions root=/dev/vda\n"),
    )
}

fn with_entries(mut v: VolumeFacts, entries: Vec<EntryFile>) -> VolumeFacts {
    v.bls.type1 = entries;
    v
}

/// Files on volumes, and device paths as `disk<N><file>`.
struct FakeProbe {
    files: Vec<(usize, &'static str)>,
    volumes: Vec<Vec<u8>>,
}

impl FakeProbe {
    fn new(inputs: &Inputs) -> FakeProbe {
        FakeProbe {
            files: Vec::new(),
            volumes: inputs.volumes.iter().map(|v| v.device_path.clone()).collect(),
        }
    }
}

impl Probe for FakeProbe {
    fn file_exists(&self, volume: usize, file: &str) -> bool {
        self.files
            .iter()
            .any(|&(v, f)| v == volume && f.eq_ignore_ascii_case(file))
    }

    fn path_text(&self, p: &[u8]) -> String {
        let disk = self
            .volumes
            .iter()
            .position(|v| p.starts_with(path::without_end(v).unwrap()))
            .map_or("?".to_string(), |d| d.to_string());
        alloc::format!("disk{disk}{}", path::file_text(p).unwrap_or_default())
    }
}

fn plan_of(inputs: &Inputs) -> Plan {
    plan(inputs, &FakeProbe::new(inputs))
}

fn titles(plan: &Plan) -> Vec<&str> {
    plan.candidates.iter().map(|c| c.title.as_str()).collect()
}

fn notes(plan: &Plan) -> Vec<String> {
    plan.notes.iter().map(|n| n.to_string()).collect()
}

/// Boot0001..Boot0003 with full paths on disk 0, BootOrder 1, 2, 3.
fn three_options() -> LoadOptionVariables {
    let mut variables = LoadOptionVariables {
        boot_order: Some(order(&[1, 2, 3])),
        ..LoadOptionVariables::default()
    };
    for (n, name) in [(1, "one"), (2, "two"), (3, "three")] {
        variables
            .options
            .insert(n, option(name, &full_file_path(0, &alloc::format!("\\{name}.efi"))));
    }
    variables
}

// ---- BootNext and BootOrder ----

#[test]
fn boot_order_is_tried_in_its_order() {
    let mut inputs = Inputs {
        load_options: three_options(),
        volumes: vec![volume(0)],
        ..Inputs::default()
    };
    inputs.load_options.boot_order = Some(order(&[3, 1, 2]));
    let plan = plan_of(&inputs);
    assert_eq!(titles(&plan), ["Boot0003 three", "Boot0001 one", "Boot0002 two"]);
    assert!(!plan.consume_boot_next);
    assert_eq!(
        plan.candidates[0].target,
        Target::LoadOption {
            number: 3,
            path: full_file_path(0, "\\three.efi"),
            data: Vec::new(),
        }
    );
}

#[test]
fn boot_next_goes_first_once_and_is_deleted_before_anything_starts() {
    let mut inputs = Inputs {
        load_options: three_options(),
        volumes: vec![volume(0)],
        ..Inputs::default()
    };
    // Only BootNext's first number counts; an option also in BootOrder is
    // tried there again.
    inputs.load_options.boot_next = Some(order(&[2, 3]));
    let plan = plan_of(&inputs);
    assert_eq!(
        titles(&plan),
        ["Boot0002 two", "Boot0001 one", "Boot0002 two", "Boot0003 three"]
    );
    assert!(plan.consume_boot_next);
    assert_eq!(
        inputs.load_options.requested()[0],
        (2, Source::BootNext),
        "BootNext's option is read first"
    );
    // An empty BootNext names nothing but is still used up.
    inputs.load_options.boot_next = Some(Vec::new());
    let plan = plan_of(&inputs);
    assert_eq!(titles(&plan), ["Boot0001 one", "Boot0002 two", "Boot0003 three"]);
    assert!(plan.consume_boot_next);
}

#[test]
fn boot_next_naming_a_missing_option_is_said_and_boot_order_follows() {
    let mut inputs = Inputs {
        load_options: three_options(),
        volumes: vec![volume(0)],
        ..Inputs::default()
    };
    inputs.load_options.boot_next = Some(order(&[9]));
    inputs.load_options.boot_order = Some(order(&[1, 8]));
    let plan = plan_of(&inputs);
    assert_eq!(titles(&plan), ["Boot0001 one"]);
    assert!(plan.consume_boot_next);
    assert_eq!(
        notes(&plan),
        [
            "Boot0009 is in BootNext but does not exist",
            "Boot0008 is in BootOrder but does not exist"
        ]
    );
}

#[test]
fn inactive_options_and_applications_are_left_out_and_broken_ones_said() {
    let mut inputs = Inputs {
        load_options: three_options(),
        volumes: vec![volume(0)],
        ..Inputs::default()
    };
    let path = full_file_path(0, "\\x.efi");
    let options = &mut inputs.load_options.options;
    options.insert(1, encode(0, "inactive", &path, &[]));
    options.insert(
        2,
        encode(LOAD_OPTION_ACTIVE | LOAD_OPTION_CATEGORY_APP, "shell", &path, &[]),
    );
    options.insert(3, vec![1, 0, 0]);
    let plan = plan_of(&inputs);
    assert!(plan.candidates.is_empty());
    assert_eq!(
        notes(&plan),
        ["Boot0003 is unusable: load option is 3 bytes, needs at least 6"]
    );
}

#[test]
fn short_form_paths_are_completed_by_the_volume_they_name() {
    let mut inputs = Inputs {
        volumes: vec![volume(0), volume(1)],
        ..Inputs::default()
    };
    // A partition short form: HD(1,GPT,...1)/\shim.efi matches disk 1.
    let hd_form = [hd_node(1, 1), file_node("\\shim.efi"), END.to_vec()].concat();
    // A file short form: the first volume holding the file.
    let file_form = [file_node("\\EFI\\x\\grub.efi"), END.to_vec()].concat();
    // A partition no disk has.
    let nowhere = [hd_node(1, 7), file_node("\\a.efi"), END.to_vec()].concat();
    let variables = &mut inputs.load_options;
    variables.boot_order = Some(order(&[1, 2, 3]));
    variables.options.insert(1, option("hd", &hd_form));
    variables.options.insert(2, option("file", &file_form));
    variables.options.insert(3, option("lost", &nowhere));
    let mut probe = FakeProbe::new(&inputs);
    probe.files.push((1, "\\EFI\\x\\grub.efi"));
    let plan = plan(&inputs, &probe);
    let paths: Vec<&[u8]> = plan
        .candidates
        .iter()
        .map(|c| match &c.target {
            Target::LoadOption { path, .. } => path.as_slice(),
            _ => panic!("not a load option"),
        })
        .collect();
    assert_eq!(
        paths,
        [
            full_file_path(1, "\\shim.efi").as_slice(),
            full_file_path(1, "\\EFI\\x\\grub.efi").as_slice()
        ]
    );
    assert_eq!(notes(&plan), ["Boot0003 (lost): no disk matches its device path"]);
}

// ---- BLS entries ----

#[test]
fn bls_entries_come_after_boot_order_sorted_with_the_default_first() {
    let mut disk0 = with_entries(
        volume(0),
        vec![
            linux_entry("debian-1.conf", "Debian 1"),
            linux_entry("debian-3.conf", "Debian 3"),
            linux_entry("debian-2.conf", "Debian 2"),
        ],
    );
    disk0.bls.loader_conf = Some(b"default debian-1*\ntimeout 5\n".to_vec());
    let mut inputs = Inputs {
        load_options: three_options(),
        volumes: vec![disk0],
        ..Inputs::default()
    };
    inputs.load_options.boot_order = Some(order(&[2]));
    let plan = plan_of(&inputs);
    assert_eq!(titles(&plan), ["Boot0002 two", "Debian 1", "Debian 3", "Debian 2"]);
    assert_eq!(
        plan.bls_entry_ids(),
        ["debian-1.conf", "debian-3.conf", "debian-2.conf"]
    );
    assert!(plan.has_bls());
    assert_eq!(
        plan.loader_conf.as_ref().and_then(|c| c.timeout),
        Some(Timeout::Seconds(5))
    );
}

#[test]
fn the_one_shot_entry_beats_the_os_default_which_beats_loader_conf() {
    let mut disk0 = with_entries(
        volume(0),
        vec![
            linux_entry("a.conf", "A"),
            linux_entry("b.conf", "B"),
            linux_entry("c.conf", "C"),
        ],
    );
    disk0.bls.loader_conf = Some(b"default a.conf\n".to_vec());
    let mut inputs = Inputs {
        volumes: vec![disk0],
        ..Inputs::default()
    };
    assert_eq!(titles(&plan_of(&inputs)), ["A", "C", "B"]);
    inputs.requests.default = Some("b.conf".into());
    assert_eq!(titles(&plan_of(&inputs)), ["B", "C", "A"]);
    inputs.requests.one_shot = Some("a".into());
    assert_eq!(titles(&plan_of(&inputs)), ["A", "C", "B"]);
}

#[test]
fn bls_entries_go_volume_by_volume_and_loader_conf_comes_from_the_first_with_entries() {
    let mut empty = volume(0);
    empty.bls.loader_conf = Some(b"timeout 9\n".to_vec());
    let mut disk1 = with_entries(volume(1), vec![linux_entry("one.conf", "On disk 1")]);
    disk1.bls.loader_conf = Some(b"timeout 2\n".to_vec());
    let mut disk2 = with_entries(volume(2), vec![type1("arm.conf", "linux /Image\narchitecture other\n")]);
    disk2.bls.ukis.push(UkiImage {
        name: "uki.efi".into(),
        osrel: Some(b"PRETTY_NAME=\"Debian UKI\"\nID=debian\n".to_vec()),
        cmdline: Some(b"quiet".to_vec()),
        ..UkiImage::default()
    });
    disk2.bls.type1.push(EntryFile {
        name: "broken.conf".into(),
        contents: Err(Status::DEVICE_ERROR),
    });
    let inputs = Inputs {
        volumes: vec![empty, disk1, disk2],
        ..Inputs::default()
    };
    let plan = plan_of(&inputs);
    assert_eq!(titles(&plan), ["On disk 1", "Debian UKI"]);
    let volumes: Vec<usize> = plan
        .candidates
        .iter()
        .map(|c| match &c.target {
            Target::Bls { volume, .. } => *volume,
            _ => panic!("not a BLS entry"),
        })
        .collect();
    assert_eq!(volumes, [1, 2]);
    assert_eq!(
        plan.loader_conf.as_ref().and_then(|c| c.timeout),
        Some(Timeout::Seconds(2))
    );
    assert_eq!(
        notes(&plan),
        [
            "cannot read entry broken.conf: DEVICE_ERROR".to_string(),
            alloc::format!(
                "skipping arm.conf: entry is for architecture 'other', this is '{}'",
                bls::LOCAL_ARCHITECTURE
            )
        ]
    );
    // The menu's editor starts from each entry's command line.
    assert_eq!(plan.candidates[0].cmdline().as_deref(), Some("root=/dev/vda"));
    assert_eq!(plan.candidates[1].cmdline().as_deref(), Some("quiet"));
}

#[test]
fn an_unusable_loader_conf_is_said_and_ignored() {
    let mut disk0 = with_entries(volume(0), vec![linux_entry("a.conf", "A")]);
    disk0.bls.loader_conf = Some(vec![0, 1, 2]);
    let plan = plan_of(&Inputs {
        volumes: vec![disk0],
        ..Inputs::default()
    });
    assert_eq!(titles(&plan), ["A"]);
    assert!(plan.loader_conf.is_none());
    assert_eq!(plan.notes.len(), 1);
    assert!(notes(&plan)[0].starts_with("\\loader\\loader.conf is unusable: "));
}

#[test]
fn bls_is_on_unless_the_variable_says_off() {
    assert!(bls_entries::enabled(None));
    assert!(bls_entries::enabled(Some(b"on")));
    assert!(!bls_entries::enabled(Some(b"off")));
    assert!(bls_entries::is_type1_file("Debian.CONF"));
    assert!(!bls_entries::is_type1_file("notes.txt"));
    assert!(bls_entries::is_uki_file("linux.EFI"));
}

// ---- removable media ----

#[test]
fn removable_files_come_last_one_per_volume_in_disk_order() {
    let disk0 = with_removable(with_entries(volume(0), vec![linux_entry("a.conf", "A")]));
    let mut disk1 = volume(1);
    disk1.removable_file = Err(Status::VOLUME_CORRUPTED);
    let disk2 = with_removable(volume(2));
    let inputs = Inputs {
        load_options: three_options(),
        volumes: vec![disk0, disk1, disk2, volume(3)],
        ..Inputs::default()
    };
    let plan = plan_of(&inputs);
    let file = REMOVABLE_MEDIA_FILE;
    assert_eq!(
        titles(&plan),
        [
            "Boot0001 one".to_string(),
            "Boot0002 two".to_string(),
            "Boot0003 three".to_string(),
            "A".to_string(),
            alloc::format!("disk0{file}"),
            alloc::format!("disk2{file}"),
        ]
    );
    assert_eq!(
        plan.candidates[4].target,
        Target::Removable {
            path: full_file_path(0, file),
            number: None
        }
    );
    assert_eq!(notes(&plan), [alloc::format!("disk1{file}: VOLUME_CORRUPTED")]);
    assert_eq!(plan.unreadable.len(), 1);
    assert!(plan.nothing_to_boot().is_none());
}

#[test]
fn with_nothing_to_boot_the_volumes_searched_and_unreadable_files_are_said() {
    let mut broken = volume(1);
    broken.removable_file = Err(Status::DEVICE_ERROR);
    let plan = plan_of(&Inputs {
        volumes: vec![volume(0), broken],
        ..Inputs::default()
    });
    let message = plan.nothing_to_boot().unwrap().to_string();
    assert_eq!(
        message,
        alloc::format!(
            "no bootable device found: no disk holds a boot option (2 file systems searched)\n  disk1{REMOVABLE_MEDIA_FILE}: DEVICE_ERROR\n"
        )
    );
}

// ---- the menu ----

fn conf(timeout: Option<Timeout>, editor: bool) -> LoaderConf {
    LoaderConf {
        timeout,
        editor,
        ..LoaderConf::default()
    }
}

#[test]
fn the_menu_shows_for_a_timeout_menu_force_or_a_waiting_key() {
    use MenuDecision::*;
    assert_eq!(menu_decision(None, None, false), BootAtOnce);
    assert_eq!(
        menu_decision(None, None, true),
        Show {
            countdown: None,
            editor: true
        }
    );
    let five = conf(Some(Timeout::Seconds(5)), false);
    assert_eq!(
        menu_decision(None, Some(&five), false),
        Show {
            countdown: Some(5),
            editor: false
        }
    );
    // The OS's LoaderConfigTimeout wins over loader.conf.
    assert_eq!(menu_decision(Some(0), Some(&five), false), BootAtOnce);
    assert_eq!(
        menu_decision(Some(3), None, false),
        Show {
            countdown: Some(3),
            editor: true
        }
    );
    let force = conf(Some(Timeout::MenuForce), true);
    assert_eq!(
        menu_decision(None, Some(&force), false),
        Show {
            countdown: None,
            editor: true
        }
    );
    let hidden = conf(Some(Timeout::MenuHidden), true);
    assert_eq!(menu_decision(None, Some(&hidden), false), BootAtOnce);
    assert_eq!(
        menu_decision(None, Some(&hidden), true),
        Show {
            countdown: None,
            editor: true
        }
    );
}

// ---- attempts ----

fn three_candidates_plan() -> Plan {
    plan_of(&Inputs {
        load_options: three_options(),
        volumes: vec![volume(0)],
        ..Inputs::default()
    })
}

#[test]
fn failures_move_on_to_the_next_candidate_and_the_summary_says_what_was_tried() {
    let plan = three_candidates_plan();
    let mut run = BootRun::new(&plan, None);
    let outcomes = [
        Outcome::CannotLoad(Status::NOT_FOUND),
        Outcome::Returned(Status::SUCCESS),
        Outcome::Linux(LinuxError::NotEnoughMemory(Shortfall {
            block: 52 << 20,
            largest: 44 << 20,
            ram: 64 << 20,
        })),
    ];
    let mut order = Vec::new();
    for outcome in outcomes {
        let attempt = run.next_attempt().expect("a candidate is left");
        order.push(attempt.index);
        run.record(&attempt, outcome);
    }
    assert_eq!(order, [0, 1, 2]);
    assert_eq!(run.next_attempt(), None, "stop when the candidates run out");
    assert_eq!(
        run.summary().to_string(),
        "no bootable device found. Tried:\n\
         \x20 Boot0001 one: cannot load: NOT_FOUND\n\
         \x20 Boot0002 two: returned SUCCESS\n\
         \x20 Boot0003 three: not enough memory: the kernel needs 72 MiB, the VM has 64 MiB (52 MiB in one block above 16 MiB; 44 MiB free there)\n"
    );
}

#[test]
fn the_menu_choice_goes_first_with_its_command_line_then_the_rest_in_order() {
    let plan = three_candidates_plan();
    let choice = Attempt {
        index: 1,
        cmdline: Some("quiet".into()),
    };
    let mut run = BootRun::new(&plan, Some(choice.clone()));
    assert_eq!(run.next_attempt(), Some(choice));
    assert_eq!(run.next_attempt().map(|a| a.index), Some(0));
    assert_eq!(
        run.next_attempt(),
        Some(Attempt {
            index: 2,
            cmdline: None
        })
    );
    assert_eq!(run.next_attempt(), None);
}

#[test]
fn unreadable_removable_files_open_the_summary() {
    let mut broken = with_removable(volume(0));
    broken.removable_file = Err(Status::DEVICE_ERROR);
    let plan = plan_of(&Inputs {
        volumes: vec![broken, with_removable(volume(1))],
        ..Inputs::default()
    });
    let mut run = BootRun::new(&plan, None);
    let attempt = run.next_attempt().unwrap();
    run.record(&attempt, Outcome::Returned(Status::ABORTED));
    let file = REMOVABLE_MEDIA_FILE;
    assert_eq!(
        run.summary().to_string(),
        alloc::format!(
            "no bootable device found. Tried:\n  disk0{file}: DEVICE_ERROR\n  disk1{file}: returned ABORTED\n"
        )
    );
}

#[test]
fn boot_current_names_the_option_that_runs() {
    let mut plan = plan_of(&Inputs {
        load_options: three_options(),
        volumes: vec![with_removable(with_entries(
            volume(0),
            vec![linux_entry("a.conf", "A")],
        ))],
        ..Inputs::default()
    });
    if let Target::Removable { number, .. } = &mut plan.candidates[4].target {
        *number = Some(0x10);
    }
    let current: Vec<Option<u16>> = plan.candidates.iter().map(|c| c.boot_current(Some(0x11))).collect();
    assert_eq!(current, [Some(1), Some(2), Some(3), Some(0x11), Some(0x10)]);
    assert_eq!(plan.candidates[0].cmdline(), None);
}

#[test]
fn outcomes_say_which_file_failed_and_why() {
    let cases = [
        (
            Outcome::Kernel(FileError::Open {
                file: "\\vmlinuz".into(),
                status: Status::NOT_FOUND,
            }),
            "kernel \\vmlinuz: NOT_FOUND",
        ),
        (
            Outcome::Initrd(FileError::TooLarge {
                file: "\\initrd".into(),
                size: 3 << 30,
            }),
            "initrd \\initrd: 3221225472 bytes is too large",
        ),
        (
            Outcome::DeviceTree(FileError::InstallTable {
                file: "\\dtb".into(),
                status: Status::OUT_OF_RESOURCES,
            }),
            "devicetree \\dtb: InstallConfigurationTable: OUT_OF_RESOURCES",
        ),
        (
            Outcome::KernelReturned(Status::LOAD_ERROR),
            "the kernel returned LOAD_ERROR",
        ),
        (
            Outcome::NoDevicePath {
                file: bls::TYPE2_DIR.to_string(),
            },
            "\\EFI\\Linux: cannot make a device path for it",
        ),
    ];
    for (outcome, text) in cases {
        assert_eq!(outcome.to_string(), text);
    }
}
