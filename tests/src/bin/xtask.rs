//! The README's commands.
//!
//! - `cargo xtask run [--disk PATH] [--memory SIZE]`: build the firmware and boot a
//!   disk in QEMU with the serial console on this terminal (Ctrl-A X quits).
//! - `cargo xtask test [FILTER]`: the lints (`cargo xtask lint`), host unit tests,
//!   then the QEMU boot tests; with FILTER only the QEMU tests whose name contains it.
//! - `cargo xtask lint`: `cargo fmt --check` and clippy with `-D warnings` for the
//!   host and every firmware target (see [`LINT_RUNS`]).
//! - `cargo xtask build`: just build the firmware.
//! - `cargo xtask images [--verify]`: build the test images from Debian packages
//!   and print their paths; `--verify` boots them without our firmware (QEMU's
//!   direct kernel boot, and Debian's OVMF for the shim+GRUB and systemd-boot disks).
//! - `cargo xtask bench [--runs N] [--scenario NAME]...`: boot time against OVMF and
//!   QEMU's direct kernel boot, disk throughput, size and memory (see `fw_tests::bench`);
//!   a markdown table on stdout, JSON in `target/bench/results.json`. With `--vmm ch`, the
//!   same under Cloud Hypervisor against its direct kernel boot (`fw_tests::bench_ch`).
//! - `cargo xtask fuzz [--seconds N] [--target NAME]`: the parser fuzzer (`fw_tests::fuzz`) in
//!   release mode, N seconds per target (default 60); crashing inputs land in
//!   `tests/fuzz-regressions/`.
//! - `cargo xtask font IN.psf OUT.bin`: the screen console's font file from a
//!   console font (`fw_tests::font`).
//!
//! Each first installs what is missing (rustup targets, Debian packages).

use fw_tests::firmware::{self, Variant};
use fw_tests::qemu::QemuConfig;
use fw_tests::{bench, boot_tests, images, setup, workspace_root};
use std::process::{Command, ExitCode};

const USAGE: &str = "usage:
  cargo xtask run [--disk PATH] [--memory SIZE]   boot a disk in QEMU (default: a generated empty ESP)
  cargo xtask test [FILTER]                       lints, host unit tests, QEMU tests (FILTER: only QEMU tests whose name contains it)
  cargo xtask lint                                cargo fmt --check, and clippy -D warnings for the host and every target
  cargo xtask build                               build target/x86_64-unknown-none/release/hypervisor-fw
  cargo xtask images [--verify]                   build the Debian test images (--verify: boot them with QEMU's loader and OVMF)
  cargo xtask bench [--runs N] [--scenario NAME]  benchmark against OVMF and direct kernel boot (default 5 runs; --scenario
                                                  may repeat: shim-grub, systemd-boot, bls, bls-initrd-128m, uki, bzimage,
                                                  read-rate, smallest-ram); table on stdout, JSON in target/bench/results.json
  cargo xtask bench --vmm ch [--runs N]           the same under Cloud Hypervisor (nested in QEMU) against CH's direct
                                                  kernel boot: direct, bls, shim-grub; table on stdout
  cargo xtask fuzz [--seconds N] [--target NAME]  fuzz the parsers, N seconds per target (default 60)
  cargo xtask font IN.psf OUT.bin                 convert a gunzipped PSF1 console font into the screen font file";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("run") => run(&args[1..]),
        Some("test") => test(&args[1..]),
        Some("lint") => setup::ensure_targets().and_then(|()| lint()),
        Some("build") => setup::ensure_targets()
            .and_then(|_| firmware::build(Variant::Release))
            .map(|path| {
                println!("built {}", path.display());
            }),
        Some("images") => images(&args[1..]),
        Some("fuzz") => fuzz(&args[1..]),
        Some("bench") => bench(&args[1..]),
        Some("font") => match &args[1..] {
            [input, output] => fw_tests::font::convert(input.as_ref(), output.as_ref())
                .map(|n| println!("{n} glyphs written to {output}")),
            _ => Err(USAGE.into()),
        },
        _ => Err(USAGE.into()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: &[String]) -> Result<(), String> {
    let mut disk = None;
    let mut memory = "512M".to_string();
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--disk" => disk = Some(it.next().ok_or("--disk needs a path")?.into()),
            "--memory" => memory = it.next().ok_or("--memory needs a size such as 1G")?.clone(),
            other => return Err(format!("unknown argument {other}\n{USAGE}")),
        }
    }
    setup::ensure_all()?;
    let fw = firmware::build(Variant::Release)?;
    let disk = match disk {
        Some(disk) => disk,
        None => images::default_disk()?,
    };
    let mut config = QemuConfig::new(&fw);
    config.memory = memory;
    config.disks.push(disk);
    // The user's own disk is theirs to change; the generated one is rebuilt on demand.
    config.snapshot = false;
    eprintln!(
        "xtask: booting {} (serial console below; Ctrl-A X quits QEMU)",
        config.disks[0].display()
    );
    let status = Command::new("qemu-system-x86_64")
        .args(config.args())
        .args(["-serial", "mon:stdio"])
        .status()
        .map_err(|e| format!("cannot start qemu-system-x86_64: {e}"))?;
    match status.code() {
        Some(0) => Ok(()),
        Some(3) => Err("the firmware reported a panic or exception".into()),
        _ => Err(format!("QEMU ended with {status}")),
    }
}

fn test(args: &[String]) -> Result<(), String> {
    let filter = args.first().map(String::as_str);
    setup::ensure_all()?;
    if filter.is_none() {
        lint()?;
        println!("== host unit tests: cargo test --workspace");
        run_cargo(&["test", "--workspace"], None)?;
        // The PE loader's tests on Debian's real binaries need them on disk.
        let binaries = fw_tests::debian::efi_binaries_dir()?;
        println!("== PE loader and Secure Boot on Debian's EFI binaries and efitools' payloads");
        run_cargo(
            &[
                "test",
                "-p",
                "fw-core",
                "-p",
                "fw-loaders",
                "--lib",
                // fw-core's image::real_binaries, secure_boot::real_binaries
                // and secure_boot::real_tools (openssl and efitools payloads);
                // fw-loaders' linux::real_kernel (the cloud kernel's header).
                "real_",
                "--",
                "--include-ignored",
            ],
            Some(&binaries),
        )?;
    }
    println!("== QEMU boot tests");
    let (passed, failed) = boot_tests::run(filter)?;
    println!("qemu: {passed} passed, {failed} failed");
    if failed > 0 {
        return Err(format!("{failed} QEMU test(s) failed"));
    }
    if passed == 0 {
        return Err(format!("no QEMU test matches {filter:?}"));
    }
    Ok(())
}

fn images(args: &[String]) -> Result<(), String> {
    let verify = match args {
        [] => false,
        [flag] if flag == "--verify" => true,
        _ => return Err(USAGE.into()),
    };
    setup::ensure_packages()?;
    let started = std::time::Instant::now();
    let built = images::all_debian_images()?;
    for (what, path) in &built {
        println!("{what:>18}: {}", path.display());
    }
    println!("images ready in {:.1}s", started.elapsed().as_secs_f64());
    if !verify {
        return Ok(());
    }
    let report = |what: &str, log: &str, boot: &images::ReferenceBoot| -> Result<(), String> {
        for line in boot
            .console
            .lines()
            .filter(|l| l.contains(fw_tests::initramfs::PROOF_PREFIX))
        {
            println!("  {line}");
        }
        let log = fw_tests::cache_dir("images").join(format!("verify-{log}.log"));
        std::fs::write(&log, &boot.console).map_err(|e| format!("cannot write {}: {e}", log.display()))?;
        println!(
            "{what}: first proof line at {:.1}s, done at {:.1}s, QEMU exited at {:.1}s (console in {})",
            boot.first_proof.as_secs_f64(),
            boot.done.as_secs_f64(),
            boot.exited.as_secs_f64(),
            log.display()
        );
        Ok(())
    };
    println!("== direct kernel boot (QEMU -kernel/-initrd)");
    report("direct boot", "direct", &images::verify_with_direct_boot()?)?;
    println!("== shim + GRUB disk under OVMF");
    let disk = images::debian_shim_grub_disk()?;
    report(
        "shim+GRUB under OVMF",
        "shim-grub",
        &images::verify_with_ovmf(&disk, "hvfw.marker=grub-cmdline-ok")?,
    )?;
    println!("== systemd-boot disk under OVMF");
    let disk = images::systemd_boot_disk()?;
    report(
        "systemd-boot under OVMF",
        "systemd-boot",
        &images::verify_with_ovmf(&disk, "hvfw.marker=sdboot-cmdline-ok")?,
    )?;
    Ok(())
}

fn bench(args: &[String]) -> Result<(), String> {
    let mut options = bench::Options {
        runs: 5,
        only: Vec::new(),
    };
    let mut vmm = "qemu".to_string();
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--vmm" => vmm = it.next().ok_or("--vmm needs qemu or ch")?.clone(),
            "--runs" => {
                let n = it.next().ok_or("--runs needs a number")?;
                options.runs = n
                    .parse()
                    .ok()
                    .filter(|&n| n > 0)
                    .ok_or(format!("--runs needs a positive number, not {n:?}"))?;
            }
            "--scenario" => options.only.push(it.next().ok_or("--scenario needs a name")?.clone()),
            other => return Err(format!("unknown argument {other}\n{USAGE}")),
        }
    }
    setup::ensure_all()?;
    match vmm.as_str() {
        "qemu" => {}
        "ch" => {
            if !options.only.is_empty() {
                return Err("--scenario is for --vmm qemu; --vmm ch runs direct, bls and shim-grub".into());
            }
            let results = fw_tests::bench_ch::run(options.runs)?;
            print!("{}", fw_tests::bench_ch::markdown(&results));
            if !fw_tests::bench_ch::all_passed(&results) {
                return Err("some Cloud Hypervisor runs failed (see the table)".into());
            }
            return Ok(());
        }
        other => return Err(format!("--vmm takes qemu or ch, not {other:?}")),
    }
    let results = bench::run(&options)?;
    print!("{}", bench::markdown(&results));
    let json = bench::write_json(&results)?;
    println!("\nJSON: {}", json.display());
    if !bench::all_expected_passed(&results) {
        return Err("some benchmark runs failed (see the table)".into());
    }
    Ok(())
}

/// What `cargo xtask lint` runs after `cargo fmt --check`: clippy over the host
/// build with its tests, then over each bare-metal build as `cargo xtask test`
/// makes it (the firmware with `test-hooks` on every architecture and without
/// on x86_64, the EFI test application for both UEFI targets). The lints
/// themselves are `[workspace.lints]` in the root Cargo.toml.
const LINT_RUNS: &[&[&str]] = &[
    &["--workspace", "--all-targets"],
    &["--package", "hypervisor-fw", "--target", "x86_64-unknown-none"],
    &[
        "--package",
        "hypervisor-fw",
        "--target",
        "x86_64-unknown-none",
        "--features",
        "test-hooks",
    ],
    &[
        "--package",
        "hypervisor-fw",
        "--target",
        "aarch64-unknown-none",
        "--features",
        "test-hooks",
    ],
    &[
        "--package",
        "hypervisor-fw",
        "--target",
        "riscv64gc-unknown-none-elf",
        "--features",
        "test-hooks",
    ],
    &["--package", "fw-efi-test-app", "--target", "x86_64-unknown-uefi"],
    &["--package", "fw-efi-test-app", "--target", "aarch64-unknown-uefi"],
];

/// `cargo fmt --check`, then clippy with warnings as errors for every entry of
/// [`LINT_RUNS`]; the first failure ends it.
fn lint() -> Result<(), String> {
    println!("== lints: cargo fmt --all --check");
    run_cargo(&["fmt", "--all", "--check"], None)?;
    for run in LINT_RUNS {
        let mut args = vec!["clippy", "--quiet"];
        args.extend_from_slice(run);
        args.extend_from_slice(&["--", "-D", "warnings"]);
        println!("== lints: cargo {}", args.join(" "));
        run_cargo(&args, None)?;
    }
    Ok(())
}

/// Runs `cargo` with `args`, with `HVFW_EFI_BINARIES` set when given.
fn run_cargo(args: &[&str], efi_binaries: Option<&std::path::Path>) -> Result<(), String> {
    let mut cargo = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    cargo.current_dir(workspace_root()).args(args);
    if let Some(dir) = efi_binaries {
        cargo.env("HVFW_EFI_BINARIES", dir);
    }
    let status = cargo.status().map_err(|e| format!("cannot run cargo: {e}"))?;
    if !status.success() {
        return Err(format!("`cargo {}` failed", args.join(" ")));
    }
    Ok(())
}

/// Builds the fuzz driver in release mode, with unwinding panics (the workspace's
/// profiles abort, and the driver catches panics), overflow checks and debug
/// assertions (what `cargo test` would trip on), and runs it.
fn fuzz(args: &[String]) -> Result<(), String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let status = Command::new(&cargo)
        .current_dir(workspace_root())
        .args(["build", "--release", "--package", "fw-tests", "--bin", "fuzz"])
        .args(["--config", "profile.release.panic=\"unwind\""])
        .args(["--config", "profile.release.overflow-checks=true"])
        .args(["--config", "profile.release.debug-assertions=true"])
        .args(["--config", "profile.release.lto=false"])
        .args(["--config", "profile.release.opt-level=3"])
        .status()
        .map_err(|e| format!("cannot run cargo: {e}"))?;
    if !status.success() {
        return Err("building the fuzz driver failed".into());
    }
    // The EFI test application is the PE target's seed.
    let app = firmware::build_efi_test_app()?;
    let driver = firmware::target_dir().join("release/fuzz");
    let status = Command::new(&driver)
        .args(args)
        .env("HVFW_FUZZ_PE_SEEDS", &app)
        .status()
        .map_err(|e| format!("cannot run {}: {e}", driver.display()))?;
    if !status.success() {
        return Err("the fuzzer found crashing inputs (or was given bad arguments)".into());
    }
    Ok(())
}
