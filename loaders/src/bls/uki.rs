//! The sections of a Type #2 unified kernel image the boot menu reads (Boot
//! Loader Specification, "Type #2 EFI Unified Kernel Images"; UAPI.5): `.osrel`
//! (required), `.cmdline` and `.uname`. Finding the sections in the PE file is
//! the caller's job; this module only judges their contents.
#![forbid(unsafe_code)]

use super::os_release::{parse_os_release, OsRelease};
use super::text;
use alloc::string::{String, ToString};
use core::fmt;

/// The raw contents of the sections (as stored in the file: trailing NUL
/// padding is allowed).
#[derive(Debug, Clone, Copy, Default)]
pub struct UkiSections<'a> {
    /// `.osrel`: the os-release text.
    pub osrel: Option<&'a [u8]>,
    /// `.cmdline`: the command line built into the image.
    pub cmdline: Option<&'a [u8]>,
    /// `.uname`: the kernel version.
    pub uname: Option<&'a [u8]>,
}

/// Why an image's sections do not make a boot entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    /// No `.osrel` section: the specification requires it.
    NoOsRelease,
    /// A section is not text.
    Section {
        /// The section's name (`.osrel`, ...).
        name: &'static str,
        /// Why its contents are not text.
        error: text::Error,
    },
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::NoOsRelease => f.write_str("no .osrel section"),
            Error::Section { name, error } => write!(f, "section {name}: {error}"),
        }
    }
}

/// The decoded sections.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UkiInfo {
    /// What `.osrel` says.
    pub os_release: OsRelease,
    /// `.cmdline`, trimmed; `None` if absent or empty.
    pub cmdline: Option<String>,
    /// `.uname` (the kernel release), trimmed; `None` if absent or empty.
    pub uname: Option<String>,
}

/// Decodes the sections of one image.
pub fn read_sections(sections: &UkiSections<'_>) -> Result<UkiInfo, Error> {
    let osrel = sections.osrel.ok_or(Error::NoOsRelease)?;
    let os_release = parse_os_release(section_text(".osrel", osrel)?);
    Ok(UkiInfo {
        os_release,
        cmdline: optional_section(".cmdline", sections.cmdline)?,
        uname: optional_section(".uname", sections.uname)?,
    })
}

fn optional_section(name: &'static str, bytes: Option<&[u8]>) -> Result<Option<String>, Error> {
    let Some(bytes) = bytes else { return Ok(None) };
    let text = section_text(name, bytes)?.trim();
    Ok((!text.is_empty()).then(|| text.to_string()))
}

/// A section's bytes as text, without the NUL padding PE sections carry.
fn section_text<'a>(name: &'static str, bytes: &'a [u8]) -> Result<&'a str, Error> {
    let len = bytes.iter().rposition(|&b| b != 0).map_or(0, |last| last + 1);
    text::checked_text(bytes.get(..len).unwrap_or_default()).map_err(|error| Error::Section { name, error })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_padded_sections() {
        let sections = UkiSections {
            osrel: Some(b"ID=debian\nPRETTY_NAME=\"Debian 12\"\n\0\0\0\0"),
            cmdline: Some(b"root=/dev/vda2 quiet\n\0\0"),
            uname: Some(b"6.1.0-9-amd64\0"),
        };
        let info = read_sections(&sections).unwrap();
        assert_eq!(info.os_release.id.as_deref(), Some("debian"));
        assert_eq!(info.cmdline.as_deref(), Some("root=/dev/vda2 quiet"));
        assert_eq!(info.uname.as_deref(), Some("6.1.0-9-amd64"));
    }

    #[test]
    fn requires_a_text_osrel_section() {
        assert_eq!(read_sections(&UkiSections::default()), Err(Error::NoOsRelease));
        let sections = UkiSections {
            osrel: Some(b"ID=x\0junk"),
            ..UkiSections::default()
        };
        let err = read_sections(&sections).unwrap_err();
        assert_eq!(
            err.to_string(),
            "section .osrel: binary data: control byte 0x00 on line 1"
        );
    }
}
