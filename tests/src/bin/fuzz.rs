//! The fuzz driver: `fuzz [--seconds N] [--target NAME] [--seed N]` runs each
//! parser target (see `fw_tests::fuzz`) for N seconds (default 60), prints the
//! executions per target and every crash or hang, and saves those inputs under
//! `tests/fuzz-regressions/<target>/`. `cargo xtask fuzz` builds it in release
//! mode with unwinding panics, overflow checks and debug assertions.

use fw_tests::fuzz;
use std::process::ExitCode;
use std::time::Duration;

const USAGE: &str = "usage: fuzz [--seconds N] [--target NAME] [--seed N]";

fn main() -> ExitCode {
    if !cfg!(panic = "unwind") {
        eprintln!("fuzz: built with panic=abort, so panics cannot be caught; use `cargo xtask fuzz`");
        return ExitCode::FAILURE;
    }
    let mut seconds = 60u64;
    let mut only: Option<String> = None;
    let mut seed = 0x4856_464d_f022u64;
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let mut value = || it.next().cloned().ok_or(format!("{arg} needs a value\n{USAGE}"));
        let parsed = match arg.as_str() {
            "--seconds" => value().and_then(|v| v.parse().map(|n| seconds = n).map_err(|e| format!("--seconds: {e}"))),
            "--target" => value().map(|v| only = Some(v)),
            "--seed" => value().and_then(|v| v.parse().map(|n| seed = n).map_err(|e| format!("--seed: {e}"))),
            _ => Err(format!("unknown argument {arg}\n{USAGE}")),
        };
        if let Err(e) = parsed {
            eprintln!("fuzz: {e}");
            return ExitCode::FAILURE;
        }
    }
    let targets: Vec<fuzz::Target> = fuzz::targets()
        .into_iter()
        .filter(|t| only.as_deref().is_none_or(|o| t.name == o))
        .collect();
    if targets.is_empty() {
        let names: Vec<&str> = fuzz::targets().iter().map(|t| t.name).collect();
        eprintln!("fuzz: no target {only:?}; targets: {}", names.join(", "));
        return ExitCode::FAILURE;
    }
    fuzz::install_quiet_panic_hook();
    let seed_dir = match fw_tests::images::tempdir("fuzz-seeds") {
        Ok(dir) => dir,
        Err(e) => {
            eprintln!("fuzz: {e}");
            return ExitCode::FAILURE;
        }
    };
    let out = fuzz::regressions_dir();
    let mut total_findings = 0;
    println!(
        "{:<12} {:>12} {:>10} {:>8} {:>8}",
        "target", "executions", "exec/s", "corpus", "crashes"
    );
    for target in &targets {
        let report = fuzz::fuzz(target, Duration::from_secs(seconds), seed, &seed_dir, &out);
        let rate = report.executions as f64 / report.elapsed.as_secs_f64().max(1e-9);
        println!(
            "{:<12} {:>12} {:>10.0} {:>8} {:>8}",
            report.target,
            report.executions,
            rate,
            report.corpus,
            report.findings.len()
        );
        for f in &report.findings {
            println!(
                "  {} {}: {}\n    saved as {}",
                f.target,
                f.kind,
                f.message,
                f.file.display()
            );
        }
        total_findings += report.findings.len();
    }
    let _ = std::fs::remove_dir_all(&seed_dir);
    if total_findings > 0 {
        println!(
            "fuzz: {total_findings} crashing or hanging inputs saved under {}",
            out.display()
        );
        return ExitCode::FAILURE;
    }
    println!("fuzz: no crashes");
    ExitCode::SUCCESS
}
