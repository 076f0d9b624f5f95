//! The QEMU boot tests. Each boots the firmware (built with `test-hooks`, so a
//! panic or exception exits QEMU at once) and asserts on the serial console.

use crate::firmware::{self, Variant};
use crate::images;
use crate::qemu::{Qemu, QemuConfig};
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// Shared by every test in a run.
pub struct Context {
    pub firmware: PathBuf,
}

/// One test's QEMU, kept so that the runner can print its console on failure.
#[derive(Default)]
pub struct Session {
    qemu: Option<Qemu>,
}

impl Session {
    pub fn boot(&mut self, config: &QemuConfig) -> Result<&mut Qemu, String> {
        self.qemu = Some(Qemu::spawn(config)?);
        Ok(self.qemu.as_mut().unwrap())
    }
}

pub struct BootTest {
    pub name: &'static str,
    pub run: fn(&Context, &mut Session) -> Result<(), String>,
}

/// How long the firmware may take to reach its first lines under TCG.
const START: Duration = Duration::from_secs(20);

pub fn all() -> Vec<BootTest> {
    vec![
        BootTest { name: "banner_and_memory_map_match_qemu_m", run: banner_and_memory_map },
        BootTest { name: "ram_above_4g_is_mapped", run: ram_above_4g },
        BootTest { name: "empty_disk_says_no_bootable_device", run: empty_disk },
        BootTest { name: "page_fault_is_reported_and_fails_fast", run: page_fault },
        BootTest { name: "stack_overflow_hits_the_guard_page", run: stack_overflow },
        BootTest { name: "panic_is_reported_and_fails_fast", run: panic },
    ]
}

fn banner_and_memory_map(ctx: &Context, s: &mut Session) -> Result<(), String> {
    let mut config = QemuConfig::new(&ctx.firmware);
    config.memory = "256M".into();
    let qemu = s.boot(&config)?;
    qemu.wait_for(&format!("hypervisor-fw {}", env!("CARGO_PKG_VERSION")), START)?;
    qemu.wait_for("memory map from the VMM:", START)?;
    qemu.wait_for("RAM: 256 MiB installed", START)?;
    qemu.wait_for("ACPI RSDP at 0x", START)?;
    Ok(())
}

fn ram_above_4g(ctx: &Context, s: &mut Session) -> Result<(), String> {
    let mut config = QemuConfig::new(&ctx.firmware);
    config.memory = "5G".into();
    let qemu = s.boot(&config)?;
    qemu.wait_for("RAM: 5120 MiB installed", START)?;
    // q35 puts the first 2 GiB below 4 GiB and the other 3 GiB above it.
    qemu.wait_for("highest RAM byte at 0x1bfffffff is mapped", START)?;
    Ok(())
}

fn empty_disk(ctx: &Context, s: &mut Session) -> Result<(), String> {
    let mut config = QemuConfig::new(&ctx.firmware);
    config.disks.push(images::default_disk()?);
    let qemu = s.boot(&config)?;
    qemu.wait_for("no bootable device found", START)?;
    Ok(())
}

/// A fault must print its diagnosis and end the run (isa-debug-exit status 3)
/// right away, not leave the test to time out.
fn expect_failure_exit(qemu: &mut Qemu) -> Result<(), String> {
    let status = qemu.wait_exit(Duration::from_secs(10))?;
    match status.code() {
        Some(3) => Ok(()),
        other => Err(format!("expected exit status 3 from isa-debug-exit, got {other:?}")),
    }
}

fn page_fault(ctx: &Context, s: &mut Session) -> Result<(), String> {
    let mut config = QemuConfig::new(&ctx.firmware);
    config.append = Some("hvfw.test=page-fault".into());
    let qemu = s.boot(&config)?;
    qemu.wait_for("EXCEPTION 14: page fault (#PF)", START)?;
    qemu.wait_for("CR2 0x00007e0000000000", START)?;
    qemu.wait_for("RAX ", START)?;
    qemu.wait_for("firmware stopped", START)?;
    expect_failure_exit(qemu)
}

fn stack_overflow(ctx: &Context, s: &mut Session) -> Result<(), String> {
    let mut config = QemuConfig::new(&ctx.firmware);
    config.append = Some("hvfw.test=stack-overflow".into());
    let qemu = s.boot(&config)?;
    qemu.wait_for("EXCEPTION 8: double fault (#DF)", START)?;
    qemu.wait_for("stack overflow: the firmware stack ran into its guard page", START)?;
    expect_failure_exit(qemu)
}

fn panic(ctx: &Context, s: &mut Session) -> Result<(), String> {
    let mut config = QemuConfig::new(&ctx.firmware);
    config.append = Some("hvfw.test=panic".into());
    let qemu = s.boot(&config)?;
    qemu.wait_for("PANIC: panicked at src/firmware.rs", START)?;
    qemu.wait_for("test hook: deliberate panic", START)?;
    expect_failure_exit(qemu)
}

/// Runs the tests whose names contain `filter`; returns (passed, failed).
pub fn run(filter: Option<&str>) -> Result<(usize, usize), String> {
    let tests: Vec<BootTest> = all().into_iter().filter(|t| filter.is_none_or(|f| t.name.contains(f))).collect();
    if tests.is_empty() {
        return Ok((0, 0));
    }
    let ctx = Context { firmware: firmware::build(Variant::TestHooks)? };
    let (mut passed, mut failed) = (0, 0);
    for test in &tests {
        let started = Instant::now();
        let mut session = Session::default();
        let result = (test.run)(&ctx, &mut session);
        let took = started.elapsed().as_secs_f64();
        match result {
            Ok(()) => {
                passed += 1;
                println!("qemu test {} ... ok ({took:.1}s)", test.name);
            }
            Err(reason) => {
                failed += 1;
                println!("qemu test {} ... FAILED ({took:.1}s): {reason}", test.name);
                if let Some(qemu) = &session.qemu {
                    println!("---- serial console of {} ----\n{}\n---- end of console ----", test.name, qemu.log());
                }
            }
        }
    }
    Ok((passed, failed))
}
