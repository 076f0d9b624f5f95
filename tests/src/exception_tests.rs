//! Exceptions in an EFI application: the EFI test application faults on
//! purpose (tests/efi-app/src/faults.rs) and the firmware must report it from
//! a stack of its own, naming the application's file and the offset of the
//! faulting instruction in it, then end the application so that its
//! StartImage returns and the boot manager finishes: no reset, no hang.

use crate::boot_tests::{aarch64_firmware, efi_app_disk, BootTest, Context, Session};
use crate::debian::Arch;
use crate::qemu::{Qemu, QemuConfig};
use std::time::Duration;

const START: Duration = Duration::from_secs(30);

pub fn tests() -> Vec<BootTest> {
    vec![
        BootTest {
            name: "app_exception_page_fault_names_the_image_and_returns_to_the_boot_manager",
            run: x86_write,
        },
        BootTest {
            name: "app_exception_stack_overflow_is_reported_from_an_exception_stack",
            run: x86_stack,
        },
        BootTest {
            name: "app_exception_corrupt_stack_pointer_is_reported_from_an_exception_stack",
            run: x86_sp,
        },
        BootTest {
            name: "aarch64_app_exception_data_abort_names_the_image_and_returns_to_the_boot_manager",
            run: aarch64_write,
        },
        BootTest {
            name: "aarch64_app_exception_stack_overflow_is_reported_from_an_exception_stack",
            run: aarch64_stack,
        },
        BootTest {
            name: "aarch64_app_exception_corrupt_stack_pointer_is_reported_from_an_exception_stack",
            run: aarch64_sp,
        },
        BootTest {
            name: "riscv64_trap_in_the_firmware_is_reported_and_stops",
            run: riscv64_firmware_trap,
        },
    ]
}

/// Which fault the application makes.
#[derive(Clone, Copy)]
enum Fault {
    /// A write to an unmapped address (`\hvfw-fault-write`).
    Write,
    /// Unbounded recursion (`\hvfw-fault-stack`).
    Stack,
    /// A store through a stack pointer moved to unmapped memory (`\hvfw-fault-sp`).
    StackPointer,
}

impl Fault {
    fn trigger(self) -> &'static str {
        match self {
            Fault::Write => "fault-write",
            Fault::Stack => "fault-stack",
            Fault::StackPointer => "fault-sp",
        }
    }
}

/// The faulting functions are a few dozen instructions: the report's offset
/// must lie within this many bytes from the function's start.
const FUNCTION_SPAN: u64 = 0x400;

/// SizeOfImage from a PE32+ file's optional header (PE format: the PE
/// signature's offset at 0x3c, then the 20-byte COFF header; SizeOfImage is at
/// offset 56 of the optional header).
fn size_of_image(pe: &[u8]) -> Result<u64, String> {
    let read_u32 = |at: usize| {
        pe.get(at..at + 4)
            .map(|b| u32::from_le_bytes(b.try_into().unwrap()))
            .ok_or_else(|| format!("the application file ends before offset {at:#x}"))
    };
    let pe_header = read_u32(0x3c)? as usize;
    if pe.get(pe_header..pe_header + 4) != Some(b"PE\0\0") {
        return Err("the application file has no PE signature".into());
    }
    Ok(u64::from(read_u32(pe_header + 4 + 20 + 56)?))
}

/// The hex number at the start of `text` (after `0x`).
fn hex_prefix(text: &str) -> Result<u64, String> {
    let digits: String = text.chars().take_while(|c| c.is_ascii_hexdigit()).collect();
    u64::from_str_radix(&digits, 16).map_err(|e| format!("not a hex number at {text:?}: {e}"))
}

/// Everything from `needle` to the end of its line, once it has arrived.
fn line_from(qemu: &mut Qemu, needle: &str) -> Result<String, String> {
    qemu.wait_for(needle, START)?;
    qemu.wait_for("\n", START)?;
    let log = qemu.log();
    let at = log.rfind(needle).ok_or("the line went away")?;
    Ok(log[at..].lines().next().unwrap_or_default().trim_end().to_string())
}

fn run(ctx: &Context, s: &mut Session, arch: Arch, fault: Fault) -> Result<(), String> {
    let (file, exception, config) = match arch {
        Arch::Amd64 => (
            "\\EFI\\BOOT\\BOOTX64.EFI",
            "page fault (#PF)",
            QemuConfig::new(&ctx.firmware),
        ),
        Arch::Arm64 => (
            "\\EFI\\BOOT\\BOOTAA64.EFI",
            "data abort",
            QemuConfig::aarch64(&aarch64_firmware()?),
        ),
        Arch::Riscv64 => return Err("no EFI test application for riscv64".into()),
    };
    let trigger = fault.trigger();
    let app = crate::firmware::build_efi_test_app_for(arch)?;
    let pe = std::fs::read(&app).map_err(|e| format!("cannot read {}: {e}", app.display()))?;
    let image_size = size_of_image(&pe)?;
    let disk = efi_app_disk(
        &format!("efi-test-app-{}-{trigger}", arch.efi_suffix()),
        arch,
        &[(&format!("hvfw-{trigger}"), "fault on purpose\n")],
    )?;
    let mut config = config;
    config.disks.push(disk);
    let qemu = s.boot(&config)?;
    qemu.fail_on(
        "firmware stopped",
        "the firmware stopped instead of ending the application",
    );
    qemu.fail_on("while reporting an exception", "the report itself faulted");

    let said = line_from(qemu, &format!("HVFW-APP: {trigger}: code at image offset 0x"))?;
    let function = hex_prefix(said.rsplit("0x").next().unwrap_or_default())?;

    if let Fault::Stack = fault {
        qemu.wait_for(
            "stack overflow: the stack (the firmware's and its applications') ran into its guard page",
            START,
        )?;
    }
    // The application's stack pointer is 0x7e0000001000 before it stores 8
    // bytes (x86 `push`) or 16 (arm64 `str ..., [sp, #-16]!`) below it.
    let sp_fault = if arch == Arch::Amd64 {
        "0x7e0000000ff8"
    } else {
        "0x7e0000000ff0"
    };
    let prefix = match fault {
        Fault::Write => format!("exception: {exception} at 0x7e0000000000 (write) in {file} + 0x"),
        Fault::Stack => format!("exception: {exception} at 0x"),
        Fault::StackPointer => format!("exception: {exception} at {sp_fault} (write) in {file} + 0x"),
    };
    let summary = line_from(qemu, &prefix)?;
    let place = summary
        .split_once(&format!(" (write) in {file} + 0x"))
        .map(|(_, rest)| rest)
        .ok_or_else(|| format!("the report does not name {file} with a write: {summary}"))?;
    let offset = hex_prefix(place)?;
    if !(function..function + FUNCTION_SPAN).contains(&offset) || offset >= image_size {
        return Err(format!(
            "the report places the fault at {file} + {offset:#x}; the faulting function starts at \
             {function:#x} and the image is {image_size:#x} bytes: {summary}"
        ));
    }
    if !summary.ends_with(&format!("running: {file})")) {
        return Err(format!(
            "the report does not name {file} as the running image: {summary}"
        ));
    }
    println!("    report: {summary}");

    qemu.wait_for(
        "the image is ended: its StartImage returns ABORTED to its caller",
        START,
    )?;
    qemu.wait_for("nothing left to boot", START)?;
    // The console wraps the boot manager's long lines at 80 columns.
    if !qemu
        .log()
        .replace(['\r', '\n'], "")
        .contains(&format!("{file} returned ABORTED"))
    {
        return Err(format!(
            "the boot manager did not see StartImage of {file} return ABORTED"
        ));
    }
    if qemu.log().contains(&format!("HVFW-APP: FAIL {trigger}")) {
        return Err("the application ran on past its fault".into());
    }
    // Halted, not reset: QEMU runs with -no-reboot, so a reset would end it,
    // and the firmware started once.
    if qemu.wait_exit(Duration::from_secs(2)).is_ok() {
        return Err("QEMU exited after the boot manager finished: a reset or a crash".into());
    }
    if qemu.log().matches("hypervisor-fw ").count() != 1 {
        return Err("the firmware started more than once".into());
    }
    Ok(())
}

fn x86_write(ctx: &Context, s: &mut Session) -> Result<(), String> {
    run(ctx, s, Arch::Amd64, Fault::Write)
}

fn x86_stack(ctx: &Context, s: &mut Session) -> Result<(), String> {
    run(ctx, s, Arch::Amd64, Fault::Stack)
}

fn aarch64_write(ctx: &Context, s: &mut Session) -> Result<(), String> {
    run(ctx, s, Arch::Arm64, Fault::Write)
}

fn aarch64_stack(ctx: &Context, s: &mut Session) -> Result<(), String> {
    run(ctx, s, Arch::Arm64, Fault::Stack)
}

fn x86_sp(ctx: &Context, s: &mut Session) -> Result<(), String> {
    run(ctx, s, Arch::Amd64, Fault::StackPointer)
}

fn aarch64_sp(ctx: &Context, s: &mut Session) -> Result<(), String> {
    run(ctx, s, Arch::Arm64, Fault::StackPointer)
}

/// riscv64 has no EFI test application (Rust has no riscv64 UEFI target): the
/// firmware's own trap shows the report's line there, naming the firmware.
fn riscv64_firmware_trap(_ctx: &Context, s: &mut Session) -> Result<(), String> {
    let firmware = crate::firmware::build_for(Arch::Riscv64, crate::firmware::Variant::TestHooks)?;
    let mut config = QemuConfig::riscv64(&firmware);
    config.append = Some("hvfw.test=page-fault".into());
    let qemu = s.boot(&config)?;
    qemu.wait_for("TRAP exception: load access fault", START)?;
    let summary = line_from(
        qemu,
        "exception: load access fault at 0x7e0000000000 (read) in the firmware + 0x",
    )?;
    if !summary.ends_with("(no image running)") {
        return Err(format!("the report names a running image: {summary}"));
    }
    qemu.wait_for("firmware stopped", START)?;
    qemu.wait_exit(Duration::from_secs(10))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn size_of_image_is_read_from_the_optional_header() {
        let mut pe = vec![0u8; 0x200];
        pe[0x3c..0x40].copy_from_slice(&0x80u32.to_le_bytes());
        pe[0x80..0x84].copy_from_slice(b"PE\0\0");
        pe[0x80 + 24 + 56..0x80 + 24 + 60].copy_from_slice(&0x1_2000u32.to_le_bytes());
        assert_eq!(size_of_image(&pe), Ok(0x1_2000));
        pe[0x80] = b'X';
        assert!(size_of_image(&pe).is_err());
    }
}
