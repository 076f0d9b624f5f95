//! The `log` backend: every record goes to the console the platform registered
//! (the serial port), one line each.
//!
//! The level is chosen at build time with the `HVFW_LOG` environment variable
//! (`error`, `warn`, `info`, `debug`, `trace`); `info` when unset.

use core::fmt::{self, Write};
use log::{LevelFilter, Log, Metadata, Record};
use spin::Mutex;

/// Writes raw bytes to the console.
pub type ConsoleWrite = fn(&[u8]);

struct Logger {
    sink: Mutex<Option<ConsoleWrite>>,
}

static LOGGER: Logger = Logger { sink: Mutex::new(None) };

/// The level the firmware was built with.
pub fn build_level() -> LevelFilter {
    parse_level(option_env!("HVFW_LOG").unwrap_or("info"))
}

/// Parses a level name; anything unknown is `info`.
pub fn parse_level(name: &str) -> LevelFilter {
    let name = name.trim();
    [
        ("off", LevelFilter::Off),
        ("error", LevelFilter::Error),
        ("warn", LevelFilter::Warn),
        ("debug", LevelFilter::Debug),
        ("trace", LevelFilter::Trace),
    ]
    .into_iter()
    .find(|(n, _)| n.eq_ignore_ascii_case(name))
    .map_or(LevelFilter::Info, |(_, level)| level)
}

/// Installs the logger writing to `sink` at the build-time level.
pub fn init(sink: ConsoleWrite) {
    *LOGGER.sink.lock() = Some(sink);
    // A second call (only possible in tests) keeps the first logger.
    let _ = log::set_logger(&LOGGER);
    log::set_max_level(build_level());
}

/// Writes text straight to the console, bypassing levels: for panics and
/// exception reports that must come out even if a log call was interrupted.
pub fn write_raw(args: fmt::Arguments) {
    if let Some(sink) = current_sink() {
        let _ = SinkWriter(sink).write_fmt(args);
    }
}

fn current_sink() -> Option<ConsoleWrite> {
    // One CPU and no interrupts: the lock is only ever contended when a fault
    // interrupted a log call, and then the holder will never run again.
    match LOGGER.sink.try_lock() {
        Some(guard) => *guard,
        None => {
            // SAFETY: see above; the interrupted holder cannot resume.
            unsafe { LOGGER.sink.force_unlock() };
            *LOGGER.sink.lock()
        }
    }
}

struct SinkWriter(ConsoleWrite);

impl Write for SinkWriter {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        // Serial terminals want CR LF.
        for (i, line) in s.split('\n').enumerate() {
            if i > 0 {
                (self.0)(b"\r\n");
            }
            (self.0)(line.as_bytes());
        }
        Ok(())
    }
}

impl Log for Logger {
    fn enabled(&self, metadata: &Metadata) -> bool {
        metadata.level() <= log::max_level()
    }

    fn log(&self, record: &Record) {
        if !self.enabled(record.metadata()) {
            return;
        }
        let Some(sink) = current_sink() else { return };
        let mut out = SinkWriter(sink);
        let _ = match record.level() {
            log::Level::Info => writeln!(out, "{}", record.args()),
            level if log::max_level() >= LevelFilter::Debug => writeln!(
                out,
                "{level:<5} [{}] {}",
                record.module_path().unwrap_or("?"),
                record.args()
            ),
            level => writeln!(out, "{level}: {}", record.args()),
        };
    }

    fn flush(&self) {}
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_level_names() {
        assert_eq!(parse_level("debug"), LevelFilter::Debug);
        assert_eq!(parse_level(" WARN "), LevelFilter::Warn);
        assert_eq!(parse_level("nonsense"), LevelFilter::Info);
    }
}
