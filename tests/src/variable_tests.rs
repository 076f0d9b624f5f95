//! Variables that survive a power cycle: each test starts a new QEMU for the
//! next boot, on a writable copy of a cached disk, and asserts on what Linux
//! (or the EFI program) sees.

use crate::boot_tests::{self, BootTest, Context, Session};
use crate::images::{self, ShimGrub};
use crate::qemu::{Qemu, QemuConfig};
use std::path::{Path, PathBuf};
use std::time::Duration;

const LINUX: Duration = Duration::from_secs(120);

pub fn tests() -> Vec<BootTest> {
    vec![
        BootTest {
            name: "variables_fallback_entry_boots_the_second_start_without_fallback",
            run: fallback_entry_persists,
        },
        BootTest {
            name: "variables_set_from_linux_survive_the_documented_write_back",
            run: linux_write_back,
        },
        BootTest {
            name: "variables_store_survives_power_cuts_and_damage",
            run: power_cuts_and_damage,
        },
        BootTest {
            name: "variables_loader_entry_one_shot_boots_that_entry_once",
            run: loader_entry_one_shot,
        },
        BootTest {
            name: "variables_efibootmgr_boot_next_and_new_entry_survive_a_restart",
            run: efibootmgr_boot_next,
        },
        BootTest {
            name: "variables_a_store_written_by_u_boots_tool_is_loaded",
            run: u_boot_store,
        },
    ]
}

/// A copy of `disk` the test may write to (cached images stay pristine).
fn writable_copy(disk: &Path, tag: &str) -> Result<PathBuf, String> {
    let copy = images::tempdir(tag)?.join("disk.img");
    std::fs::copy(disk, &copy).map_err(|e| format!("cannot copy {}: {e}", disk.display()))?;
    Ok(copy)
}

/// Linux's `HVFW-PROOF: key=` value ("" when it printed none).
fn proof_value(qemu: &Qemu, key: &str) -> String {
    boot_tests::proof_value(qemu, key).unwrap_or_default()
}

/// Boots `disk` (written to, not a snapshot) until Linux powered off.
fn boot_to_linux(ctx: &Context, s: &mut Session, disk: &Path, marker: &str) -> Result<(), String> {
    let mut config = QemuConfig::new(&ctx.firmware);
    config.disks.push(disk.to_path_buf());
    config.snapshot = false;
    let qemu = s.boot(&config)?;
    boot_tests::proof(qemu, 512, marker, LINUX)?;
    let status = qemu.wait_exit(Duration::from_secs(60))?;
    if !status.success() {
        return Err(format!("QEMU exited with {status} after Linux powered off"));
    }
    Ok(())
}

/// Ubuntu's cloud layout (shim, fbx64.efi and mmx64.efi in `\EFI\BOOT`,
/// `\EFI\debian\` with BOOTX64.CSV): the first start runs fallback, which
/// writes `Boot####` and `BootOrder`; the second start (a new QEMU) boots that
/// entry, whose path is `\EFI\debian\shimx64.efi`, so fallback does not run
/// again, and Linux sees it as `BootCurrent`.
fn fallback_entry_persists(ctx: &Context, s: &mut Session) -> Result<(), String> {
    let disk = images::shim_grub_disk(&ShimGrub {
        name: "ubuntu-style-shim-fallback".into(),
        fallback_in_boot_dir: true,
        ..Default::default()
    })?;
    let disk = writable_copy(&disk, "fallback-persists")?;
    boot_to_linux(ctx, s, &disk, "hvfw.marker=grub-cmdline-ok")?;
    let first = s.qemu()?;
    let order = proof_value(first, "efi-boot-order");
    let created = order
        .split_whitespace()
        .next()
        .ok_or(format!("fallback put no Boot#### in BootOrder (Linux sees {order:?})"))?
        .to_string();
    // The firmware's own option for the removable-media file it started.
    let current = proof_value(first, "efi-boot-current");
    if current.is_empty() || created.eq_ignore_ascii_case(&format!("Boot{current}")) {
        return Err(format!(
            "on the first start BootCurrent is {current:?}: not the option for \\EFI\\BOOT\\BOOTX64.EFI"
        ));
    }
    println!("    first start: BootCurrent {current} (removable media), fallback created {created}");

    boot_to_linux(ctx, s, &disk, "hvfw.marker=grub-cmdline-ok")?;
    let second = s.qemu()?;
    let current = proof_value(second, "efi-boot-current");
    if !created.eq_ignore_ascii_case(&format!("Boot{current}")) {
        return Err(format!(
            "the second start did not boot fallback's entry {created}: BootCurrent is {current:?}"
        ));
    }
    second.assert_absent("\\EFI\\BOOT\\BOOTX64.EFI")?;
    println!("    second start: BootCurrent {current}, fallback not run");
    Ok(())
}

/// The vendor GUID of the variable the write-back test sets from Linux.
const TEST_GUID: &str = "8a4b7b1e-5b4c-4b8e-9c6f-0d1e2f3a4b5c";
/// What it holds.
const TEST_VALUE: &str = "persisted-from-linux";

/// The README's write-back, as a user runs it after changing variables from
/// Linux (RTStorageVolatile names the file, VarToFile holds its contents;
/// efivarfs puts 4 bytes of attributes first).
pub const WRITE_BACK: &str = "tail -c +5 /sys/firmware/efi/efivars/VarToFile-b2ac5fc9-92b7-4acd-aeac-11e818c3130c \\
    > /boot/efi/ubootefi.new && mv /boot/efi/ubootefi.new /boot/efi/ubootefi.var";

/// An init that, when the test variable is absent, sets it through efivarfs
/// (non-volatile, at runtime: only in the firmware's memory), mounts the ESP
/// and runs [`WRITE_BACK`]; when present, reports it. Then it powers off.
fn write_back_script() -> String {
    let body = format!(
        r#"var=$vars/HvfwTest-{TEST_GUID}
if [ -f $var ]; then
    echo "HVFW-WRITEBACK: found $(tail -c +5 $var)"
else
    storage=$(tail -c +5 $vars/RTStorageVolatile-b2ac5fc9-92b7-4acd-aeac-11e818c3130c | tr -d '\000')
    echo "HVFW-WRITEBACK: RTStorageVolatile=$storage"
    # Non-volatile, boot-services and runtime access (7), in one write.
    printf '\007\000\000\000{TEST_VALUE}' > $var
    write_back
fi
"#
    );
    init_script("HVFW-WRITEBACK", &body)
}

/// An init for the variable tests: mounts, the modules of
/// [`WRITE_BACK_MODULES`] (failures reported with `tag`), efivarfs at
/// `$vars`, a shell function `write_back` that mounts the ESP and runs
/// [`WRITE_BACK`]; then `body`, then `<tag>: done` and power-off.
fn init_script(tag: &str, body: &str) -> String {
    let mut script = format!(
        r#"#!/bin/sh
export PATH=/sbin:/bin:/usr/sbin:/usr/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
for module in virtio_ring virtio virtio_pci_modern_dev virtio_pci_legacy_dev virtio_pci virtio_blk \
        fat vfat nls_cp437 nls_ascii nls_utf8 efivarfs; do
    insmod /lib/modules/$module.ko || echo "{tag}: insmod $module failed"
done
mount -t efivarfs efivarfs /sys/firmware/efi/efivars
vars=/sys/firmware/efi/efivars
tries=0
while [ ! -b /dev/vda1 ] && [ $tries -lt 50 ]; do sleep 0.1; tries=$((tries + 1)); done
write_back() {{
    mkdir -p /boot/efi
    mount -t vfat /dev/vda1 /boot/efi || echo "{tag}: cannot mount the ESP"
    {WRITE_BACK}
    echo "{tag}: wrote $(wc -c < /boot/efi/ubootefi.var) bytes"
    umount /boot/efi
}}
"#
    );
    script.push_str(body);
    script.push_str(&format!("echo \"{tag}: done\"\npoweroff -f\n"));
    script
}

const WRITE_BACK_MODULES: &[&str] = &[
    "kernel/drivers/virtio/virtio_ring.ko",
    "kernel/drivers/virtio/virtio.ko",
    "kernel/drivers/virtio/virtio_pci_modern_dev.ko",
    "kernel/drivers/virtio/virtio_pci_legacy_dev.ko",
    "kernel/drivers/virtio/virtio_pci.ko",
    "kernel/drivers/block/virtio_blk.ko",
    "kernel/fs/fat/fat.ko",
    "kernel/fs/fat/vfat.ko",
    "kernel/fs/nls/nls_cp437.ko",
    "kernel/fs/nls/nls_ascii.ko",
    "kernel/fs/nls/nls_utf8.ko",
    "kernel/fs/efivarfs/efivarfs.ko",
];

/// A variable Linux sets at runtime lives in the firmware's memory only; after
/// the README's write-back (the ESP mounted, VarToFile copied to the file
/// RTStorageVolatile names) a new start has it, and Linux reads it back.
fn linux_write_back(ctx: &Context, s: &mut Session) -> Result<(), String> {
    let kernel = crate::debian::cloud_kernel()?;
    let initrd = crate::initramfs::initramfs_with_modules(
        &kernel,
        crate::debian::Arch::Amd64,
        "write-back",
        &write_back_script(),
        WRITE_BACK_MODULES,
    )?;
    let mut spec = images::cloud_kernel_bls("variables-write-back", "console=ttyS0", None)?;
    for (path, source) in &mut spec.files {
        if path.ends_with("initrd.img") {
            *source = images::Source::Host(initrd.clone());
        }
    }
    let disk = writable_copy(&images::bls_disk(&spec)?, "write-back")?;
    let boot = |s: &mut Session| -> Result<(), String> {
        let mut config = QemuConfig::new(&ctx.firmware);
        config.disks.push(disk.clone());
        config.snapshot = false;
        let qemu = s.boot(&config)?;
        qemu.wait_for("HVFW-WRITEBACK: done", LINUX)?;
        qemu.wait_exit(Duration::from_secs(60))?;
        Ok(())
    };
    boot(s)?;
    let first = s.qemu()?;
    first.assert_absent("HVFW-WRITEBACK: found")?;
    if !first.log().contains("HVFW-WRITEBACK: RTStorageVolatile=ubootefi.var") {
        return Err("Linux does not see RTStorageVolatile naming ubootefi.var".into());
    }
    boot(s)?;
    let second = s.qemu()?;
    if !second.log().contains(&format!("HVFW-WRITEBACK: found {TEST_VALUE}")) {
        return Err("the variable Linux set and wrote back is gone after a restart".into());
    }
    Ok(())
}

/// The vendor of the EFI test application's `HvfwNv` (tests/efi-app/src/nv.rs).
fn nv_vendor() -> r_efi::efi::Guid {
    r_efi::efi::Guid::from_fields(
        0x0f6d4b1a,
        0x3c2e,
        0x4f5a,
        0x8b,
        0x7c,
        &[0x9d, 0x0e, 0x1f, 0x2a, 0x3b, 0x4c],
    )
}

/// A variable file holding `HvfwNv` = `value` (non-volatile, boot-services and
/// runtime access), as the firmware or U-Boot would have written it.
fn store_with(value: &'static [u8]) -> Vec<u8> {
    use fw_core::variable_file::{serialize, FileVariable};
    use r_efi::efi;
    serialize(&[FileVariable {
        name: "HvfwNv".encode_utf16().collect(),
        guid: nv_vendor(),
        attributes: efi::VARIABLE_NON_VOLATILE | efi::VARIABLE_BOOTSERVICE_ACCESS | efi::VARIABLE_RUNTIME_ACCESS,
        time: 0,
        data: value,
    }])
}

/// A writable disk with the EFI test application, `\hvfw-nv` asking it to set
/// `HvfwNv` to `v2`, and `\ubootefi.var` holding `store`.
fn nv_disk(tag: &str, store: Vec<u8>) -> Result<PathBuf, String> {
    let app = crate::firmware::build_efi_test_app()?;
    let files = vec![
        ("EFI/BOOT/BOOTX64.EFI".to_string(), images::Source::Host(app)),
        boot_tests::app_text_file(),
        ("hvfw-nv".to_string(), images::Source::text("v2\n")),
        ("ubootefi.var".to_string(), images::Source::Bytes(store)),
    ];
    let disk = images::custom_disk(&format!("nv-{tag}"), &[images::Partition::esp(48, files)])?;
    writable_copy(&disk, &format!("nv-{tag}"))
}

/// Boots `disk` once with `append` and returns what the application found
/// `HvfwNv` to be.
fn nv_boot(ctx: &Context, s: &mut Session, disk: &Path, append: Option<String>) -> Result<String, String> {
    let mut config = QemuConfig::new(&ctx.firmware);
    config.disks.push(disk.to_path_buf());
    config.snapshot = false;
    config.append = append;
    let qemu = s.boot(&config)?;
    qemu.wait_for("HVFW-APP: HvfwNv=", Duration::from_secs(30))?;
    let from = qemu.cursor();
    qemu.wait_for("\n", Duration::from_secs(5))?;
    Ok(qemu.log()[from..].lines().next().unwrap_or_default().trim().to_string())
}

/// The variable file is written so that a power cut at any step leaves the
/// old or the new store, and a damaged file gives a warning and the defaults.
/// The EFI test application reports `HvfwNv` at each start, then sets it to
/// `v2`; the disk starts with a store holding `v1`.
fn power_cuts_and_damage(ctx: &Context, s: &mut Session) -> Result<(), String> {
    // (step after which the power is cut, what the next start must find)
    for (step, expected) in [(1, "v1"), (2, "v1"), (3, "v2"), (4, "v2")] {
        let disk = nv_disk(&format!("cut-{step}"), store_with(b"v1"))?;
        let found = nv_boot(ctx, s, &disk, Some(format!("hvfw.test=variable-write-cut={step}")))?;
        if found != "v1" {
            return Err(format!("before the cut the application found HvfwNv={found}, not v1"));
        }
        let qemu = s.qemu()?;
        qemu.wait_for(&format!("power cut after step {step}"), Duration::from_secs(30))?;
        qemu.wait_exit(Duration::from_secs(10))?;
        let found = nv_boot(ctx, s, &disk, None)?;
        if found != expected {
            return Err(format!(
                "after a power cut at step {step} of a write, the next start found HvfwNv={found}, not {expected}"
            ));
        }
        println!("    cut after step {step}: the next start has {found}");
    }
    let good = store_with(b"v1");
    let truncated = good[..good.len() - 5].to_vec();
    let mut flipped = good.clone();
    let last = flipped.len() - 10;
    flipped[last] ^= 0x40;
    for (what, store, warning) in [("truncated", truncated, "cut short"), ("bad-crc", flipped, "CRC32")] {
        let disk = nv_disk(what, store)?;
        let found = nv_boot(ctx, s, &disk, None)?;
        if found != "absent" {
            return Err(format!("a {what} store gave HvfwNv={found}, not the defaults"));
        }
        let qemu = s.qemu()?;
        let log = qemu.log();
        if !log
            .lines()
            .any(|l| l.contains("variables: \\ubootefi.var") && l.contains(warning))
        {
            return Err(format!("no warning naming the {what} store ({warning})"));
        }
        // The boot goes on, and the set that follows writes a good store.
        qemu.wait_for("HVFW-APP: done, 0 failed", Duration::from_secs(30))?;
        drop(log);
        let found = nv_boot(ctx, s, &disk, None)?;
        if found != "v2" {
            return Err(format!(
                "after a {what} store, the next write did not take: HvfwNv={found}"
            ));
        }
        println!("    {what} store: warned, defaults, then rewritten");
    }
    Ok(())
}

/// The Boot Loader Interface's vendor (systemd's `LOADER_GUID`).
const LOADER: &str = "4a67b082-0a4c-41cf-b6c7-440b29bb8c4f";

/// An init for the one-shot test. Each start reports what the firmware told
/// Linux (`LoaderEntrySelected`, `LoaderDevicePartUUID`, `LoaderEntries`);
/// the first start then asks for `b.conf` once, as `bootctl set-oneshot`
/// does (`LoaderEntryOneShot`, non-volatile), and writes the store back.
/// `HvfwStage` counts the starts.
fn one_shot_script() -> String {
    let body = format!(
        r#"# A UTF-16 string (list) variable as text: ASCII units, NULs as spaces.
text() {{
    [ -f "$1" ] || return 0
    od -An -v -tu1 "$1" | awk '{{ for (i = 1; i <= NF; i++) {{ n++; if (n > 4 && n % 2 == 1) {{ if ($i == 0) printf " "; else printf "%c", $i }} }} }}' | sed 's/ *$//'
}}
echo "HVFW-BLI: cmdline=$(cat /proc/cmdline)"
echo "HVFW-BLI: selected=$(text $vars/LoaderEntrySelected-{LOADER})"
echo "HVFW-BLI: part-uuid=$(text $vars/LoaderDevicePartUUID-{LOADER})"
echo "HVFW-BLI: entries=$(text $vars/LoaderEntries-{LOADER})"
echo "HVFW-BLI: info=$(text $vars/LoaderInfo-{LOADER})"
echo "HVFW-BLI: times=$(text $vars/LoaderTimeInitUSec-{LOADER}) $(text $vars/LoaderTimeExecUSec-{LOADER})"
global=8be4df61-93ca-11d2-aa0d-00e098032b8c
set -- $(od -An -tx1 $vars/BootCurrent-$global)
echo "HVFW-BLI: boot-current=$6$5 $(tr -d '\000' < $vars/Boot$6$5-$global | tr -c ' -~' '?')"
stage=$(text $vars/HvfwStage-{TEST_GUID})
if [ -z "$stage" ]; then
    printf '\007\000\000\000b\000.\000c\000o\000n\000f\000\000\000' > $vars/LoaderEntryOneShot-{LOADER}
    printf '\007\000\000\0001' > $vars/HvfwStage-{TEST_GUID}
elif [ "$stage" = 1 ]; then
    rm -f $vars/HvfwStage-{TEST_GUID}
    printf '\007\000\000\0002' > $vars/HvfwStage-{TEST_GUID}
fi
write_back
"#
    );
    init_script("HVFW-BLI", &body)
}

/// `bootctl set-oneshot b.conf` (the variable written the way bootctl
/// writes it, then written back): the next start boots `b.conf`, once; the
/// start after it boots the default again. Linux sees the ESP's partition
/// UUID in `LoaderDevicePartUUID`, the entries and the selected one.
fn loader_entry_one_shot(ctx: &Context, s: &mut Session) -> Result<(), String> {
    let kernel = crate::debian::cloud_kernel()?;
    let initrd = crate::initramfs::initramfs_with_modules(
        &kernel,
        crate::debian::Arch::Amd64,
        "bli-one-shot",
        &one_shot_script(),
        WRITE_BACK_MODULES,
    )?;
    let entry = |marker: &str| {
        images::bls_entry(
            "Debian",
            "1",
            "/debian/linux",
            &["/debian/initrd.img"],
            &format!("console=ttyS0 hvfw.marker={marker}"),
        )
    };
    let disk = images::bls_disk(&images::BlsDisk {
        name: "bli-one-shot".into(),
        esp_mib: 64,
        loader_conf: "timeout 0\ndefault a.conf\n".into(),
        entries: vec![("a.conf".into(), entry("bli-a")), ("b.conf".into(), entry("bli-b"))],
        files: vec![
            ("/debian/linux".into(), images::Source::Host(kernel)),
            ("/debian/initrd.img".into(), images::Source::Host(initrd)),
        ],
        boot_loader: None,
    })?;
    let disk = writable_copy(&disk, "bli-one-shot")?;
    let report = |s: &mut Session| -> Result<(String, String), String> {
        let mut config = QemuConfig::new(&ctx.firmware);
        config.disks.push(disk.clone());
        config.snapshot = false;
        let qemu = s.boot(&config)?;
        qemu.wait_for("HVFW-BLI: done", LINUX)?;
        qemu.wait_exit(Duration::from_secs(60))?;
        let value = |key: &str| {
            let prefix = format!("HVFW-BLI: {key}=");
            qemu.log()
                .lines()
                .find_map(|l| l.split_once(&prefix).map(|(_, v)| v.trim().to_string()))
                .unwrap_or_default()
        };
        let part_uuid = value("part-uuid");
        if !part_uuid.eq_ignore_ascii_case(images::ESP_PARTITION_GUID) {
            return Err(format!(
                "LoaderDevicePartUUID is {part_uuid:?}, the ESP's partition UUID is {}",
                images::ESP_PARTITION_GUID
            ));
        }
        let entries = value("entries");
        let mut listed: Vec<&str> = entries.split_whitespace().collect();
        listed.sort_unstable();
        if listed != ["a.conf", "b.conf"] {
            return Err(format!("LoaderEntries is {entries:?}"));
        }
        if !value("info").starts_with("hypervisor-fw ") {
            return Err(format!("LoaderInfo is {:?}", value("info")));
        }
        // systemd-analyze's "firmware" and "loader" times: the boot manager
        // started, then started the entry, within the first minute.
        let times: Vec<u64> = value("times")
            .split_whitespace()
            .filter_map(|t| t.parse().ok())
            .collect();
        match times[..] {
            [init, exec] if 0 < init && init <= exec && exec < 60_000_000 => {}
            _ => return Err(format!("LoaderTimeInitUSec/ExecUSec are {:?}", value("times"))),
        }
        let current = value("boot-current");
        if !current.contains("hypervisor-fw Boot Loader Specification entries") {
            return Err(format!("BootCurrent is not the option for the BLS entries: {current}"));
        }
        Ok((value("selected"), value("cmdline")))
    };
    let expect = |start: usize, (selected, cmdline): (String, String), id: &str, marker: &str| {
        if selected != id || !cmdline.contains(marker) {
            return Err(format!(
                "start {start} booted {selected:?} ({cmdline}), not {id} with {marker}"
            ));
        }
        println!("    start {start}: {id}");
        Ok(())
    };
    expect(1, report(s)?, "a.conf", "hvfw.marker=bli-a")?;
    expect(2, report(s)?, "b.conf", "hvfw.marker=bli-b")?;
    expect(3, report(s)?, "a.conf", "hvfw.marker=bli-a")?;
    Ok(())
}

/// Debian's efibootmgr with the libraries it loads, as (path in the
/// initramfs, package, path in the package): a dynamically linked program
/// in the busybox initramfs.
const EFIBOOTMGR_FILES: &[(&str, &str, &str)] = &[
    ("bin/efibootmgr", "efibootmgr", "bin/efibootmgr"),
    (
        "lib/x86_64-linux-gnu/libefiboot.so.1",
        "libefiboot1",
        "usr/lib/x86_64-linux-gnu/libefiboot.so.1.37",
    ),
    (
        "lib/x86_64-linux-gnu/libefivar.so.1",
        "libefivar1",
        "usr/lib/x86_64-linux-gnu/libefivar.so.1.37",
    ),
    (
        "lib/x86_64-linux-gnu/libc.so.6",
        "libc6",
        "lib/x86_64-linux-gnu/libc.so.6",
    ),
    (
        "lib/x86_64-linux-gnu/libdl.so.2",
        "libc6",
        "lib/x86_64-linux-gnu/libdl.so.2",
    ),
    (
        "lib64/ld-linux-x86-64.so.2",
        "libc6",
        "lib/x86_64-linux-gnu/ld-linux-x86-64.so.2",
    ),
];

/// `base` (a gzip-compressed busybox initramfs) with efibootmgr appended as
/// an uncompressed archive (the kernel reads one after the other).
fn with_efibootmgr(base: &Path) -> Result<PathBuf, String> {
    let mut recipe = format!("efibootmgr-v1 {}\n", images::file_identity(base)?);
    let mut files = Vec::new();
    for (to, package, from) in EFIBOOTMGR_FILES {
        let file = crate::debian::file_in(package, crate::debian::Arch::Amd64, from)?;
        recipe.push_str(&format!("{to} {}\n", images::file_identity(&file)?));
        files.push((to, file));
    }
    let name = format!(
        "{}-efibootmgr.cpio",
        base.file_name().unwrap_or_default().to_string_lossy()
    );
    images::cached_in("initramfs", &name, &recipe, |out| {
        let mut bytes = std::fs::read(base).map_err(|e| e.to_string())?;
        while bytes.len() % 4 != 0 {
            bytes.push(0);
        }
        let mut cpio = crate::initramfs::Cpio::new();
        for (to, file) in &files {
            let data = std::fs::read(file).map_err(|e| format!("cannot read {}: {e}", file.display()))?;
            cpio.file(to, 0o755, &data);
        }
        bytes.extend(cpio.finish());
        std::fs::write(out, bytes).map_err(|e| e.to_string())
    })
}

/// An init for the efibootmgr test; `HvfwStage` counts the starts. The first
/// start makes an entry with efibootmgr that starts the kernel's EFI stub
/// directly (its command line marks it), takes it out of BootOrder again
/// and sets it as BootNext, then writes the store back. Every start reports
/// what booted and the Boot#### entries.
fn efibootmgr_script() -> String {
    let body = format!(
        r#"echo "HVFW-EBM: cmdline=$(cat /proc/cmdline)"
efibootmgr | sed 's/^/HVFW-EBM: listed /'
stage=$(tail -c +5 $vars/HvfwStage-{TEST_GUID} 2>/dev/null)
if [ -z "$stage" ]; then
    efibootmgr -q -c -d /dev/vda -p 1 -L hvfw-next-entry -l '\debian\linux' \
        -u 'console=ttyS0 initrd=\debian\initrd.img hvfw.marker=from-boot-next' || echo "HVFW-EBM: efibootmgr -c failed"
    number=$(efibootmgr | grep hvfw-next-entry | cut -c5-8)
    echo "HVFW-EBM: created Boot$number"
    efibootmgr -q -O
    efibootmgr -q -n $number || echo "HVFW-EBM: efibootmgr -n failed"
    printf '\007\000\000\0001' > $vars/HvfwStage-{TEST_GUID}
else
    chattr -i $vars/HvfwStage-{TEST_GUID} 2>/dev/null
    rm -f $vars/HvfwStage-{TEST_GUID}
    printf '\007\000\000\000%s' $((stage + 1)) > $vars/HvfwStage-{TEST_GUID}
fi
write_back
"#
    );
    init_script("HVFW-EBM", &body)
}

/// efibootmgr (Debian's) makes a new entry and sets BootNext from Linux;
/// after the README's write-back, the next start takes BootNext (the new
/// entry boots, Linux sees it as BootCurrent), the one after it is back to
/// the default, and the new entry is still listed.
fn efibootmgr_boot_next(ctx: &Context, s: &mut Session) -> Result<(), String> {
    let kernel = crate::debian::cloud_kernel()?;
    let base = crate::initramfs::initramfs_with_modules(
        &kernel,
        crate::debian::Arch::Amd64,
        "efibootmgr-test",
        &efibootmgr_script(),
        WRITE_BACK_MODULES,
    )?;
    let initrd = with_efibootmgr(&base)?;
    let disk = images::bls_disk(&images::BlsDisk {
        name: "efibootmgr-boot-next".into(),
        esp_mib: 64,
        loader_conf: "timeout 0\n".into(),
        entries: vec![(
            "a.conf".into(),
            images::bls_entry(
                "Debian",
                "1",
                "/debian/linux",
                &["/debian/initrd.img"],
                "console=ttyS0 hvfw.marker=bls-default",
            ),
        )],
        files: vec![
            ("/debian/linux".into(), images::Source::Host(kernel)),
            ("/debian/initrd.img".into(), images::Source::Host(initrd)),
        ],
        boot_loader: None,
    })?;
    let disk = writable_copy(&disk, "efibootmgr")?;
    let start = |s: &mut Session| -> Result<String, String> {
        let mut config = QemuConfig::new(&ctx.firmware);
        config.disks.push(disk.clone());
        config.snapshot = false;
        let qemu = s.boot(&config)?;
        qemu.wait_for("HVFW-EBM: done", LINUX)?;
        qemu.wait_exit(Duration::from_secs(60))?;
        Ok(qemu.log())
    };
    let cmdline_of = |log: &str| {
        log.lines()
            .find_map(|l| l.split_once("HVFW-EBM: cmdline=").map(|(_, v)| v.to_string()))
            .unwrap_or_default()
    };
    let first = start(s)?;
    let created = first
        .lines()
        .find_map(|l| {
            l.split_once("HVFW-EBM: created Boot")
                .map(|(_, n)| n.trim().to_string())
        })
        .filter(|n| n.len() == 4)
        .ok_or("efibootmgr did not make the entry")?;
    if !cmdline_of(&first).contains("hvfw.marker=bls-default") {
        return Err(format!("the first start booted {:?}", cmdline_of(&first)));
    }
    let second = start(s)?;
    if !cmdline_of(&second).contains("hvfw.marker=from-boot-next") {
        return Err(format!(
            "BootNext (Boot{created}) was not taken: the second start booted {:?}",
            cmdline_of(&second)
        ));
    }
    if !second.contains(&format!("HVFW-EBM: listed BootCurrent: {created}")) {
        return Err(format!(
            "efibootmgr does not show BootCurrent: {created} on the second start"
        ));
    }
    let third = start(s)?;
    if !cmdline_of(&third).contains("hvfw.marker=bls-default") {
        return Err(format!(
            "BootNext was taken twice: the third start booted {:?}",
            cmdline_of(&third)
        ));
    }
    if !third.contains(&format!("HVFW-EBM: listed Boot{created}* hvfw-next-entry")) {
        return Err(format!("the new entry Boot{created} is gone after two restarts"));
    }
    println!("    efibootmgr made Boot{created}; BootNext took it once");
    Ok(())
}

/// A store U-Boot's tools/efivar.py wrote (core/testdata, see the host test
/// beside the format): the EFI test application finds `HvfwNv` with the
/// value the tool stored, and the firmware refuses its `PK`.
fn u_boot_store(ctx: &Context, s: &mut Session) -> Result<(), String> {
    let store = include_bytes!("../../core/testdata/ubootefi-efivar-py.var").to_vec();
    let disk = nv_disk("u-boot", store)?;
    let found = nv_boot(ctx, s, &disk, None)?;
    if found != "from-u-boot-efivar-py" {
        return Err(format!(
            "the application found HvfwNv={found}, not the value U-Boot's tool stored"
        ));
    }
    let qemu = s.qemu()?;
    if !qemu.log().contains("not loaded (first: Authenticated)") {
        return Err("the firmware did not say it left the file's PK out".into());
    }
    Ok(())
}
