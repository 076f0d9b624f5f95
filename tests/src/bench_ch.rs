//! `cargo xtask bench --vmm ch`: boot times under Cloud Hypervisor (nested in
//! QEMU, see [`crate::cloud_hypervisor`]) against CH's own direct kernel boot
//! of the same kernel and initramfs (`--kernel vmlinuz --initramfs`).
//!
//! Times are measured from level 1's `starting cloud-hypervisor` line, as
//! serial output reaches this harness: the firmware's banner, Linux's
//! `Linux version`, and the proof initramfs's first line (`HVFW-PROOF:
//! cmdline=`: userspace has started). For shim + GRUB, the time GRUB spends
//! between `initrd` and its `no suitable video mode found` (its video drivers
//! probe PCI through port I/O when there is no GOP) is reported too. Runs are
//! interleaved (run 1 of every scenario, then run 2, ...).
//!
//! Targets (issue 14): BLS reaches userspace within 1.1x of the direct boot's
//! median, shim + GRUB within 1.5x.

use crate::bench::{summarize, Summary};
use crate::boot_tests::Session;
use crate::ch_tests::direct_boot_config;
use crate::cloud_hypervisor::{self as ch, ChConfig};
use crate::firmware::{self, Variant};
use crate::images;
use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::Duration;

/// How long one boot may take before it counts as failed.
const BOOT_TIMEOUT: Duration = Duration::from_secs(180);
/// The first line of userspace.
const USERSPACE: &str = "HVFW-PROOF: cmdline=";

/// One scenario: a name, the CH configuration, and the userspace target
/// against the direct boot (none for the direct boot itself).
struct Scenario {
    name: &'static str,
    config: ChConfig,
    target: Option<f64>,
}

/// One boot's times, in seconds after CH started.
#[derive(Clone, Debug, Default)]
pub struct ChRun {
    pub firmware: Option<f64>,
    pub linux: Option<f64>,
    pub userspace: Option<f64>,
    /// shim + GRUB only: GRUB's `initrd` to its video-mode error.
    pub grub_video_probe: Option<f64>,
}

/// A scenario's runs, or why it failed.
pub struct ChResult {
    pub name: &'static str,
    pub target: Option<f64>,
    pub runs: Vec<ChRun>,
    pub failure: Option<String>,
}

fn scenarios() -> Result<Vec<Scenario>, String> {
    let fw = firmware::build(Variant::Release)?;
    let with_disk = |disk: PathBuf| {
        let mut config = ChConfig::firmware(&fw);
        config.disks.push(disk);
        config
    };
    let bls = images::bls_disk(&images::cloud_kernel_bls(
        "ch-bls",
        "console=ttyS0 hvfw.marker=ch-bls",
        None,
    )?)?;
    Ok(vec![
        Scenario {
            name: "direct",
            config: direct_boot_config()?,
            target: None,
        },
        Scenario {
            name: "bls",
            config: with_disk(bls),
            target: Some(1.1),
        },
        Scenario {
            name: "shim-grub",
            config: with_disk(images::debian_shim_grub_disk()?),
            target: Some(1.5),
        },
    ])
}

/// The time of the line holding `needle` after `from` (seconds after `origin`).
fn time_of(qemu: &mut crate::qemu::Qemu, needle: &str, origin: Duration) -> Result<f64, String> {
    let at = qemu.wait_for(needle, BOOT_TIMEOUT)?;
    Ok(at.saturating_sub(origin).as_secs_f64())
}

fn one_boot(scenario: &Scenario) -> Result<ChRun, String> {
    let mut session = Session::default();
    let (qemu, origin) = ch::boot_timed(&mut session, &scenario.config)?;
    let mut run = ChRun::default();
    if scenario.target.is_some() {
        run.firmware = Some(time_of(qemu, "hypervisor-fw ", origin)?);
    }
    if scenario.name == "shim-grub" {
        let start = time_of(qemu, "HVFW-GRUB: loading initrd", origin)?;
        let end = time_of(qemu, "no suitable video mode found", origin)?;
        run.grub_video_probe = Some(end - start);
    }
    run.linux = Some(time_of(qemu, "Linux version ", origin)?);
    run.userspace = Some(time_of(qemu, USERSPACE, origin)?);
    qemu.wait_for("HVFW-PROOF: done", BOOT_TIMEOUT)?;
    Ok(run)
}

/// Boots every scenario `runs` times, interleaved.
pub fn run(runs: usize) -> Result<Vec<ChResult>, String> {
    let scenarios = scenarios()?;
    let mut results: Vec<ChResult> = scenarios
        .iter()
        .map(|s| ChResult {
            name: s.name,
            target: s.target,
            runs: Vec::new(),
            failure: None,
        })
        .collect();
    for round in 0..runs {
        for (scenario, result) in scenarios.iter().zip(results.iter_mut()) {
            if result.failure.is_some() {
                continue;
            }
            match one_boot(scenario) {
                Ok(run) => {
                    eprintln!(
                        "bench ch: {} run {}: userspace at {:.2}s",
                        scenario.name,
                        round + 1,
                        run.userspace.unwrap_or_default()
                    );
                    result.runs.push(run);
                }
                Err(e) => result.failure = Some(e),
            }
        }
    }
    Ok(results)
}

fn summary_of(result: &ChResult, metric: fn(&ChRun) -> Option<f64>) -> Option<Summary> {
    summarize(&result.runs.iter().filter_map(metric).collect::<Vec<_>>())
}

fn cell(summary: Option<Summary>) -> String {
    summary.map_or("-".into(), |s| format!("{:.2} ({:.2}-{:.2})", s.median, s.min, s.max))
}

/// The report: one row per scenario, medians (min-max) in seconds after CH
/// started, and the userspace ratio against the direct boot (median and best run).
pub fn markdown(results: &[ChResult]) -> String {
    let direct = results.iter().find(|r| r.target.is_none());
    let direct_userspace = direct.and_then(|d| summary_of(d, |r| r.userspace));
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Cloud Hypervisor {} (nested in QEMU TCG), seconds after CH started: median (min-max)\n",
        ch::VERSION
    );
    let _ = writeln!(
        out,
        "| scenario | runs | firmware banner | Linux version | userspace | vs direct (median / best) | target | GRUB video probe |"
    );
    let _ = writeln!(out, "|---|---|---|---|---|---|---|---|");
    for r in results {
        if let Some(failure) = &r.failure {
            let _ = writeln!(
                out,
                "| {} | failed: {} |  |  |  |  |  |  |",
                r.name,
                failure.replace('|', "/")
            );
            continue;
        }
        let userspace = summary_of(r, |x| x.userspace);
        let (ratio, verdict) = match (r.target, userspace, direct_userspace) {
            (Some(target), Some(u), Some(d)) => {
                let median = u.median / d.median;
                let best = u.min / d.min;
                (
                    format!("{median:.2}x / {best:.2}x"),
                    format!("{target}x: {}", if median <= target { "met" } else { "NOT met" }),
                )
            }
            _ => ("-".into(), "-".into()),
        };
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} | {} |",
            r.name,
            r.runs.len(),
            cell(summary_of(r, |x| x.firmware)),
            cell(summary_of(r, |x| x.linux)),
            cell(userspace),
            ratio,
            verdict,
            cell(summary_of(r, |x| x.grub_video_probe)),
        );
    }
    out
}

/// Whether every scenario booted every time.
pub fn all_passed(results: &[ChResult]) -> bool {
    results.iter().all(|r| r.failure.is_none())
}
