//! The text format shared by BLS Type #1 entries and `loader.conf` (Boot Loader
//! Specification, "Type #1 Boot Loader Specification Entries"; loader.conf(5)):
//! UTF-8, lines separated by newlines, `#` comment lines, a key followed by
//! whitespace and a value. Also the checks that keep binary data out.
#![forbid(unsafe_code)]

use core::fmt;

/// Files larger than this are refused: entries and `loader.conf` are a few
/// hundred bytes, so anything this big is not one.
pub const MAX_TEXT_SIZE: usize = 64 * 1024;

/// Why bytes are not acceptable as a BLS text file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    /// The file is larger than [`MAX_TEXT_SIZE`].
    TooLarge {
        /// The file's size.
        size: usize,
        /// The largest size read.
        max: usize,
    },
    /// The bytes are not UTF-8; `offset` is the first bad byte.
    NotUtf8 {
        /// Where the first invalid byte is.
        offset: usize,
    },
    /// A control character (e.g. NUL) that text never holds: binary data.
    ControlCharacter {
        /// The line it is on, from 1.
        line: usize,
        /// The character.
        byte: u8,
    },
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::TooLarge { size, max } => {
                write!(f, "file is {size} bytes, more than the {max} bytes allowed")
            }
            Error::NotUtf8 { offset } => write!(f, "not UTF-8 text (bad byte at offset {offset})"),
            Error::ControlCharacter { line, byte } => {
                write!(f, "binary data: control byte {byte:#04x} on line {line}")
            }
        }
    }
}

/// `bytes` as text, if it is a plausible text file: not too large, UTF-8, and
/// free of control characters other than tab, CR and LF. A leading UTF-8 byte
/// order mark is dropped.
pub fn checked_text(bytes: &[u8]) -> Result<&str, Error> {
    if bytes.len() > MAX_TEXT_SIZE {
        return Err(Error::TooLarge {
            size: bytes.len(),
            max: MAX_TEXT_SIZE,
        });
    }
    let text = core::str::from_utf8(bytes).map_err(|e| Error::NotUtf8 {
        offset: e.valid_up_to(),
    })?;
    for (index, line) in text.split('\n').enumerate() {
        let bad = line
            .bytes()
            .find(|&b| (b < 0x20 && b != b'\t' && b != b'\r') || b == 0x7f);
        if let Some(byte) = bad {
            return Err(Error::ControlCharacter { line: index + 1, byte });
        }
    }
    Ok(text.strip_prefix('\u{feff}').unwrap_or(text))
}

/// The meaningful lines of `text` with their 1-based line numbers: trimmed of
/// spaces and tabs, without blank lines and `#` comments. A lone CR ends a
/// line too, as in systemd-boot.
pub fn content_lines(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.split('\n')
        .enumerate()
        .flat_map(|(index, line)| line.split('\r').map(move |part| (index + 1, part)))
        .map(|(number, line)| (number, line.trim_matches([' ', '\t'])))
        .filter(|(_, line)| !line.is_empty() && !line.starts_with('#'))
}

/// Splits a content line into key and value at the first run of spaces or
/// tabs. `None` for a line with no value (systemd-boot skips those). A value
/// wholly enclosed in double quotes loses them, as systemd-boot does.
pub fn key_value(line: &str) -> Option<(&str, &str)> {
    let (key, rest) = line.split_once([' ', '\t'])?;
    let value = rest.trim_start_matches([' ', '\t']);
    if value.is_empty() {
        return None;
    }
    let value = match value.strip_prefix('"').and_then(|v| v.strip_suffix('"')) {
        Some(inner) => inner,
        None => value,
    };
    Some((key, value))
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec::Vec;

    #[test]
    fn skips_comments_and_blank_lines_and_trims() {
        let text = "# comment\n\n  title  Debian \r\n\t# indented comment\nlinux\t/vmlinuz\n";
        let lines: Vec<_> = content_lines(text).collect();
        assert_eq!(lines, [(3, "title  Debian"), (5, "linux\t/vmlinuz")]);
    }

    #[test]
    fn splits_key_and_value_at_whitespace() {
        assert_eq!(
            key_value("title  Debian GNU/Linux"),
            Some(("title", "Debian GNU/Linux"))
        );
        assert_eq!(
            key_value("options\t\"quiet splash\""),
            Some(("options", "quiet splash"))
        );
        assert_eq!(key_value("lonely"), None);
    }

    #[test]
    fn refuses_binary_and_non_utf8_and_huge_files() {
        assert_eq!(
            checked_text(b"ok\nbad\0\n"),
            Err(Error::ControlCharacter { line: 2, byte: 0 })
        );
        assert_eq!(checked_text(b"ab\xff"), Err(Error::NotUtf8 { offset: 2 }));
        let huge = alloc::vec![b'a'; MAX_TEXT_SIZE + 1];
        assert!(matches!(checked_text(&huge), Err(Error::TooLarge { .. })));
        assert_eq!(checked_text("\u{feff}title x".as_bytes()), Ok("title x"));
    }
}
