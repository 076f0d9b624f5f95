//! A small client for QEMU's machine protocol (QMP): what a test needs to
//! look at the screen (`screendump`) and type on the keyboard (`send-key`).
//!
//! QMP is one JSON object per line. The client reads the greeting, enters
//! command mode, and for each command skips asynchronous events until the
//! command's `return` or `error` arrives. The answers the tests need are
//! simple enough to read without a JSON library: `return` is taken as text.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;
use std::time::{Duration, Instant};

/// A connection to one QEMU's QMP socket, in command mode.
pub struct Qmp {
    reader: BufReader<UnixStream>,
    writer: UnixStream,
}

impl Qmp {
    /// Connects to the socket QEMU listens on (`-qmp unix:PATH,server=on,wait=off`),
    /// waiting up to five seconds for QEMU to create it.
    pub fn connect(socket: &Path) -> Result<Qmp, String> {
        let deadline = Instant::now() + Duration::from_secs(5);
        let stream = loop {
            match UnixStream::connect(socket) {
                Ok(stream) => break stream,
                Err(e) if Instant::now() >= deadline => return Err(format!("QMP socket {}: {e}", socket.display())),
                Err(_) => thread::sleep(Duration::from_millis(50)),
            }
        };
        stream
            .set_read_timeout(Some(Duration::from_secs(60)))
            .map_err(|e| format!("QMP socket: {e}"))?;
        let writer = stream.try_clone().map_err(|e| format!("QMP socket: {e}"))?;
        let mut qmp = Qmp {
            reader: BufReader::new(stream),
            writer,
        };
        let greeting = qmp.read_line()?;
        if !greeting.contains("\"QMP\"") {
            return Err(format!("not a QMP greeting: {greeting}"));
        }
        qmp.execute("qmp_capabilities", None)?;
        Ok(qmp)
    }

    fn read_line(&mut self) -> Result<String, String> {
        let mut line = String::new();
        match self.reader.read_line(&mut line) {
            Ok(0) => Err("QMP: QEMU closed the connection".into()),
            Ok(_) => Ok(line.trim_end().to_string()),
            Err(e) => Err(format!("QMP: {e}")),
        }
    }

    /// Runs `command` with `arguments` (a JSON object, as text) and returns
    /// the `return` line; an `error` answer becomes `Err` with QEMU's message.
    pub fn execute(&mut self, command: &str, arguments: Option<&str>) -> Result<String, String> {
        let request = match arguments {
            Some(arguments) => format!("{{\"execute\":\"{command}\",\"arguments\":{arguments}}}\n"),
            None => format!("{{\"execute\":\"{command}\"}}\n"),
        };
        self.writer
            .write_all(request.as_bytes())
            .map_err(|e| format!("QMP {command}: {e}"))?;
        loop {
            let line = self.read_line()?;
            if line.starts_with("{\"return\"") {
                return Ok(line);
            }
            if line.starts_with("{\"error\"") {
                return Err(format!("QMP {command} failed: {line}"));
            }
            // Anything else is an asynchronous event: skip it.
        }
    }

    /// Saves the guest's screen as a PPM file and reads it back.
    pub fn screendump(&mut self, file: &Path) -> Result<Screen, String> {
        let _ = std::fs::remove_file(file);
        let arguments = format!("{{\"filename\":{}}}", json_string(&file.to_string_lossy()));
        self.execute("screendump", Some(&arguments))?;
        let bytes = std::fs::read(file).map_err(|e| format!("{}: {e}", file.display()))?;
        Screen::from_ppm(&bytes).map_err(|e| format!("{}: {e}", file.display()))
    }

    /// Presses and releases `keys` together, as QEMU's `sendkey` does: each
    /// is a QKeyCode name (`ret`, `down`, `a`, `shift`, `f2`, ...).
    pub fn send_key(&mut self, keys: &[&str]) -> Result<(), String> {
        let keys: Vec<String> = keys
            .iter()
            .map(|key| format!("{{\"type\":\"qcode\",\"data\":{}}}", json_string(key)))
            .collect();
        let arguments = format!("{{\"keys\":[{}]}}", keys.join(","));
        self.execute("send-key", Some(&arguments)).map(|_| ())
    }

    /// Types `text` one key at a time (lower-case letters, digits, space and
    /// a few punctuation keys), pausing `gap` between keys so the guest's
    /// polling sees each one.
    pub fn type_text(&mut self, text: &str, gap: Duration) -> Result<(), String> {
        for c in text.chars() {
            let key = qcode_for(c).ok_or_else(|| format!("no QKeyCode for {c:?}"))?;
            match key {
                (name, false) => self.send_key(&[name])?,
                (name, true) => self.send_key(&["shift", name])?,
            }
            thread::sleep(gap);
        }
        Ok(())
    }
}

/// The QKeyCode for a character, and whether it needs shift.
pub fn qcode_for(c: char) -> Option<(&'static str, bool)> {
    const LETTERS: [&str; 26] = [
        "a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k", "l", "m", "n", "o", "p", "q", "r", "s", "t", "u", "v",
        "w", "x", "y", "z",
    ];
    const DIGITS: [&str; 10] = ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"];
    Some(match c {
        'a'..='z' => (LETTERS[c as usize - 'a' as usize], false),
        'A'..='Z' => (LETTERS[c as usize - 'A' as usize], true),
        '0'..='9' => (DIGITS[c as usize - '0' as usize], false),
        ' ' => ("spc", false),
        '\n' => ("ret", false),
        '-' => ("minus", false),
        '_' => ("minus", true),
        '=' => ("equal", false),
        '.' => ("dot", false),
        ',' => ("comma", false),
        '/' => ("slash", false),
        ';' => ("semicolon", false),
        ':' => ("semicolon", true),
        _ => return None,
    })
}

/// `text` as a JSON string literal.
fn json_string(text: &str) -> String {
    let mut out = String::from("\"");
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A screen as QEMU's `screendump` saved it: 8-bit RGB pixels, row by row.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Screen {
    pub width: usize,
    pub height: usize,
    /// `width * height` pixels, each `[r, g, b]`.
    pub pixels: Vec<[u8; 3]>,
}

impl Screen {
    /// Reads a binary PPM (`P6`, maximum value 255), the format of `screendump`.
    pub fn from_ppm(bytes: &[u8]) -> Result<Screen, String> {
        // The header is four whitespace-separated fields: P6 width height maxval,
        // then one whitespace byte, then the pixels. Comments start with '#'.
        let mut fields = Vec::new();
        let mut at = 0;
        while fields.len() < 4 {
            while at < bytes.len() && (bytes[at].is_ascii_whitespace() || bytes[at] == b'#') {
                if bytes[at] == b'#' {
                    while at < bytes.len() && bytes[at] != b'\n' {
                        at += 1;
                    }
                } else {
                    at += 1;
                }
            }
            let start = at;
            while at < bytes.len() && !bytes[at].is_ascii_whitespace() {
                at += 1;
            }
            if start == at {
                return Err("PPM header ends early".into());
            }
            fields.push(String::from_utf8_lossy(&bytes[start..at]).into_owned());
        }
        at += 1;
        if fields[0] != "P6" {
            return Err(format!("not a binary PPM ({})", fields[0]));
        }
        let number = |s: &str| s.parse::<usize>().map_err(|_| format!("bad PPM number {s:?}"));
        let (width, height, max) = (number(&fields[1])?, number(&fields[2])?, number(&fields[3])?);
        if max != 255 {
            return Err(format!("PPM maximum value {max}, expected 255"));
        }
        let data = bytes.get(at..).unwrap_or(&[]);
        if data.len() < width * height * 3 {
            return Err(format!(
                "PPM {width}x{height} needs {} bytes of pixels, has {}",
                width * height * 3,
                data.len()
            ));
        }
        let pixels = data[..width * height * 3]
            .chunks_exact(3)
            .map(|p| [p[0], p[1], p[2]])
            .collect();
        Ok(Screen { width, height, pixels })
    }

    /// The pixel at column `x`, row `y`.
    pub fn pixel(&self, x: usize, y: usize) -> [u8; 3] {
        self.pixels[y * self.width + x]
    }
}

/// A fresh path for a QMP socket (or a screendump) of this test run.
pub fn scratch_path(name: &str, extension: &str) -> PathBuf {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let dir = crate::cache_dir("tmp");
    let _ = std::fs::create_dir_all(&dir);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    dir.join(format!("{name}-{}-{n}.{extension}", std::process::id()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_ppm_with_a_comment() {
        let mut bytes = b"P6\n# made by a test\n2 1\n255\n".to_vec();
        bytes.extend_from_slice(&[1, 2, 3, 4, 5, 6]);
        let screen = Screen::from_ppm(&bytes).unwrap();
        assert_eq!((screen.width, screen.height), (2, 1));
        assert_eq!(screen.pixel(1, 0), [4, 5, 6]);
    }

    #[test]
    fn refuses_short_pixels() {
        let bytes = b"P6 2 2 255\n\x00\x00\x00".to_vec();
        assert!(Screen::from_ppm(&bytes).unwrap_err().contains("needs 12 bytes"));
    }

    #[test]
    fn quotes_json() {
        assert_eq!(json_string("a\"b\\c"), "\"a\\\"b\\\\c\"");
    }

    #[test]
    fn keys_for_text() {
        assert_eq!(qcode_for('B'), Some(("b", true)));
        assert_eq!(qcode_for(' '), Some(("spc", false)));
        assert_eq!(qcode_for('é'), None);
    }
}
