//! Parsing of Type #1 entry files (`/loader/entries/*.conf`): Boot Loader
//! Specification, "Type #1 Boot Loader Specification Entries" and "Type #1
//! Boot Loader Entry Keys".
#![forbid(unsafe_code)]

use super::text;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::fmt;

/// The keys of a Type #1 entry, as written in the file (paths unconverted).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Type1Entry {
    /// `title`: the menu's line.
    pub title: Option<String>,
    /// `version`: a sorting key, and shown with the title.
    pub version: Option<String>,
    /// `machine-id`: the installation the entry belongs to.
    pub machine_id: Option<String>,
    /// `sort-key`: the first sorting key.
    pub sort_key: Option<String>,
    /// `linux`: the kernel's path.
    pub linux: Option<String>,
    /// Every `initrd` line, in order.
    pub initrds: Vec<String>,
    /// `efi`: the path of an EFI program to start.
    pub efi: Option<String>,
    /// Every `options` line, joined with single spaces.
    pub options: Option<String>,
    /// `devicetree`: the path of a flattened device tree for the kernel.
    pub devicetree: Option<String>,
    /// The `devicetree-overlay` paths (space-separated in the file), in order.
    pub devicetree_overlays: Vec<String>,
    /// The EFI architecture name (`x64`, `aa64`, ...), if the entry has one.
    pub architecture: Option<String>,
}

/// Why an entry file is not a valid Type #1 entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    /// Not a text file at all.
    Text(text::Error),
    /// Neither `linux` nor `efi`: the specification requires one of them.
    NoKernel,
    /// Both `linux` and `efi`: systemd-boot refuses such entries as ambiguous.
    LinuxAndEfi,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Text(e) => write!(f, "{e}"),
            Error::NoKernel => f.write_str("entry has neither a 'linux' nor an 'efi' key"),
            Error::LinuxAndEfi => f.write_str("entry has both a 'linux' and an 'efi' key"),
        }
    }
}

impl From<text::Error> for Error {
    fn from(e: text::Error) -> Self {
        Error::Text(e)
    }
}

/// Parses the contents of one entry file. Unknown keys and lines without a
/// value are ignored; a key given twice keeps its last value, except the
/// repeatable `initrd`, `options` and `devicetree-overlay`.
pub fn parse_entry(bytes: &[u8]) -> Result<Type1Entry, Error> {
    let text = text::checked_text(bytes)?;
    let mut entry = Type1Entry::default();
    for (_, line) in text::content_lines(text) {
        let Some((key, value)) = text::key_value(line) else {
            continue;
        };
        let value_owned = || value.to_string();
        match key {
            "title" => entry.title = Some(value_owned()),
            "version" => entry.version = Some(value_owned()),
            "machine-id" => entry.machine_id = Some(value_owned()),
            "sort-key" => entry.sort_key = Some(value_owned()),
            "linux" => entry.linux = Some(value_owned()),
            "initrd" => entry.initrds.push(value_owned()),
            "efi" => entry.efi = Some(value_owned()),
            "options" => match &mut entry.options {
                Some(options) => {
                    options.push(' ');
                    options.push_str(value);
                }
                None => entry.options = Some(value_owned()),
            },
            "devicetree" => entry.devicetree = Some(value_owned()),
            "devicetree-overlay" => entry.devicetree_overlays.extend(
                value
                    .split([' ', '\t'])
                    .filter(|p| !p.is_empty())
                    .map(ToString::to_string),
            ),
            "architecture" => entry.architecture = Some(value_owned()),
            _ => {}
        }
    }
    match (&entry.linux, &entry.efi) {
        (None, None) => Err(Error::NoKernel),
        (Some(_), Some(_)) => Err(Error::LinuxAndEfi),
        _ => Ok(entry),
    }
}

/// A path from an entry (`/`-separated, relative to the root of the partition
/// with or without a leading `/`) as an absolute EFI path (`\`-separated),
/// with repeated separators collapsed (spec: "Paths should be normalized").
pub fn efi_path(path: &str) -> String {
    let mut out = String::with_capacity(path.len() + 1);
    for component in path.split(['/', '\\']).filter(|c| !c.is_empty()) {
        out.push('\\');
        out.push_str(component);
    }
    if out.is_empty() {
        out.push('\\');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    const FULL: &str = "\
# /boot/loader/entries/6a9857a393724b7a981ebb5b8495b9ea-3.8.0-2.fc19.x86_64.conf
title        Fedora 19 (Rawhide)
sort-key     fedora
machine-id   6a9857a393724b7a981ebb5b8495b9ea
version      3.8.0-2.fc19.x86_64

options      root=UUID=6d3376e4-fc93-4509-95ec-a21d68011da2 quiet
options\tconsole=ttyS0
architecture x64
linux        /6a9857a393724b7a981ebb5b8495b9ea/3.8.0-2.fc19.x86_64/linux
initrd       /6a9857a393724b7a981ebb5b8495b9ea/3.8.0-2.fc19.x86_64/ucode
initrd       /6a9857a393724b7a981ebb5b8495b9ea/3.8.0-2.fc19.x86_64/initrd
devicetree   /dtb/board.dtb
devicetree-overlay /dtb/a.dtbo  /dtb/b.dtbo
grub_users   $grub_users
";

    #[test]
    fn parses_every_key_of_the_specification_example() {
        let entry = parse_entry(FULL.as_bytes()).unwrap();
        let base = "/6a9857a393724b7a981ebb5b8495b9ea/3.8.0-2.fc19.x86_64";
        assert_eq!(
            entry,
            Type1Entry {
                title: Some("Fedora 19 (Rawhide)".into()),
                version: Some("3.8.0-2.fc19.x86_64".into()),
                machine_id: Some("6a9857a393724b7a981ebb5b8495b9ea".into()),
                sort_key: Some("fedora".into()),
                linux: Some(alloc::format!("{base}/linux")),
                initrds: vec![alloc::format!("{base}/ucode"), alloc::format!("{base}/initrd")],
                efi: None,
                options: Some("root=UUID=6d3376e4-fc93-4509-95ec-a21d68011da2 quiet console=ttyS0".into()),
                devicetree: Some("/dtb/board.dtb".into()),
                devicetree_overlays: vec!["/dtb/a.dtbo".into(), "/dtb/b.dtbo".into()],
                architecture: Some("x64".into()),
            }
        );
    }

    #[test]
    fn ignores_garbage_lines_and_unknown_keys() {
        let text = "%%%% garbage\nlinux /vmlinuz\njustakey\n  \t \nfrobnicate yes\ntitle A\ntitle B\n";
        let entry = parse_entry(text.as_bytes()).unwrap();
        assert_eq!(entry.linux.as_deref(), Some("/vmlinuz"));
        assert_eq!(entry.title.as_deref(), Some("B"));
    }

    #[test]
    fn accepts_an_efi_program_entry() {
        let entry = parse_entry(b"title Shell\nefi /EFI/tools/shell.efi\n").unwrap();
        assert_eq!(entry.efi.as_deref(), Some("/EFI/tools/shell.efi"));
    }

    #[test]
    fn an_entry_without_linux_or_efi_is_invalid() {
        assert_eq!(parse_entry(b"title Nothing\ninitrd /initrd\n"), Err(Error::NoKernel));
        assert_eq!(parse_entry(b""), Err(Error::NoKernel));
        assert_eq!(parse_entry(b"linux /a\nefi /b\n"), Err(Error::LinuxAndEfi));
        assert_eq!(
            Error::NoKernel.to_string(),
            "entry has neither a 'linux' nor an 'efi' key"
        );
    }

    #[test]
    fn binary_data_is_an_error_not_a_panic() {
        let mut bytes = b"linux /vmlinuz\n".to_vec();
        bytes.extend_from_slice(&[0x7f, b'E', b'L', b'F', 2, 1, 1, 0, 0]);
        assert!(matches!(
            parse_entry(&bytes),
            Err(Error::Text(text::Error::ControlCharacter { line: 2, .. }))
        ));
        let bytes = [b'l', b'i', b'n', b'u', b'x', b' ', 0xc3, 0x28];
        assert_eq!(
            parse_entry(&bytes),
            Err(Error::Text(text::Error::NotUtf8 { offset: 6 }))
        );
    }

    #[test]
    fn a_ten_megabyte_file_is_refused() {
        let mut bytes = b"linux /vmlinuz\n".to_vec();
        bytes.resize(10 * 1024 * 1024, b'#');
        let err = parse_entry(&bytes).unwrap_err();
        assert_eq!(
            err,
            Error::Text(text::Error::TooLarge {
                size: 10 * 1024 * 1024,
                max: 65536
            })
        );
        assert_eq!(
            err.to_string(),
            "file is 10485760 bytes, more than the 65536 bytes allowed"
        );
    }

    #[test]
    fn converts_entry_paths_to_efi_paths() {
        assert_eq!(efi_path("/a/b//linux"), "\\a\\b\\linux");
        assert_eq!(efi_path("a/initrd"), "\\a\\initrd");
        assert_eq!(efi_path(""), "\\");
    }
}
