//! `/loader/loader.conf`, the boot menu's own settings, as systemd-boot's
//! loader.conf(5) defines them: `default` (a glob over entry ids), `timeout`
//! and `editor`. Other keys (`console-mode`, `auto-entries`, ...) are ignored.
#![forbid(unsafe_code)]

use super::text;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

/// The path of the file on the ESP.
pub const LOADER_CONF_PATH: &str = "\\loader\\loader.conf";

/// The `default` value that means "the entry booted last time" (kept in an EFI
/// variable by systemd-boot); treated as unset here.
pub const SAVED_DEFAULT: &str = "@saved";

/// How the menu behaves (loader.conf(5), `timeout`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Timeout {
    /// Show the menu for this many seconds (more than 0), then boot the default.
    Seconds(u32),
    /// `0` or `menu-hidden`: boot the default at once; a key press held at
    /// start still shows the menu.
    MenuHidden,
    /// `menu-force`: show the menu and wait, with no timeout.
    MenuForce,
    /// `menu-disabled`: boot the default at once; the menu cannot be shown.
    MenuDisabled,
}

/// The settings read from `loader.conf`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoaderConf {
    /// The `default` glob, folded to lower case like the entry ids. `None`
    /// when unset or `@saved`.
    pub default: Option<String>,
    /// Whether `default` was `@saved`.
    pub default_saved: bool,
    /// `None` when the file sets no valid `timeout` (systemd-boot then acts as
    /// for [`Timeout::MenuHidden`]; see [`LoaderConf::timeout_or_default`]).
    pub timeout: Option<Timeout>,
    /// Whether the command line may be edited from the menu (default yes).
    pub editor: bool,
    /// Values that were ignored because they did not parse, for the log.
    pub warnings: Vec<String>,
}

impl Default for LoaderConf {
    fn default() -> Self {
        LoaderConf {
            default: None,
            default_saved: false,
            timeout: None,
            editor: true,
            warnings: Vec::new(),
        }
    }
}

impl LoaderConf {
    /// The timeout, with systemd-boot's behaviour when none is set.
    pub fn timeout_or_default(&self) -> Timeout {
        self.timeout.unwrap_or(Timeout::MenuHidden)
    }
}

/// Parses `loader.conf`. Bad values of known keys are skipped with a warning;
/// only a file that is not text at all is an error.
pub fn parse_loader_conf(bytes: &[u8]) -> Result<LoaderConf, text::Error> {
    let text = text::checked_text(bytes)?;
    let mut conf = LoaderConf::default();
    for (line, content) in text::content_lines(text) {
        let Some((key, value)) = text::key_value(content) else {
            continue;
        };
        match key {
            "default" => {
                conf.default_saved = value == SAVED_DEFAULT;
                conf.default = (!conf.default_saved).then(|| value.to_ascii_lowercase());
            }
            "timeout" => match parse_timeout(value) {
                Some(timeout) => conf.timeout = Some(timeout),
                None => conf
                    .warnings
                    .push(format!("line {line}: bad timeout '{value}', ignored")),
            },
            "editor" => match parse_boolean(value) {
                Some(editor) => conf.editor = editor,
                None => conf
                    .warnings
                    .push(format!("line {line}: bad editor '{value}', ignored")),
            },
            _ => {}
        }
    }
    Ok(conf)
}

fn parse_timeout(value: &str) -> Option<Timeout> {
    match value {
        "menu-force" => Some(Timeout::MenuForce),
        "menu-hidden" => Some(Timeout::MenuHidden),
        "menu-disabled" => Some(Timeout::MenuDisabled),
        _ if value.bytes().all(|b| b.is_ascii_digit()) => match value.parse::<u32>().ok()? {
            0 => Some(Timeout::MenuHidden),
            seconds => Some(Timeout::Seconds(seconds)),
        },
        _ => None,
    }
}

/// loader.conf(5): "yes/y/true/t/on/1" or "no/n/false/f/off/0".
fn parse_boolean(value: &str) -> Option<bool> {
    match value {
        "yes" | "y" | "true" | "t" | "on" | "1" => Some(true),
        "no" | "n" | "false" | "f" | "off" | "0" => Some(false),
        _ => None,
    }
}

impl core::fmt::Display for Timeout {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Timeout::Seconds(s) => write!(f, "{s} s"),
            Timeout::MenuHidden => f.write_str("menu-hidden"),
            Timeout::MenuForce => f.write_str("menu-force"),
            Timeout::MenuDisabled => f.write_str("menu-disabled"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_manual_page_example() {
        let conf = parse_loader_conf(
            b"# /boot/efi/loader/loader.conf\ntimeout 0\ndefault 01234567890abcdef1234567890abdf0-*\neditor no\n",
        )
        .unwrap();
        assert_eq!(conf.timeout, Some(Timeout::MenuHidden));
        assert_eq!(conf.default.as_deref(), Some("01234567890abcdef1234567890abdf0-*"));
        assert!(!conf.editor);
        assert!(conf.warnings.is_empty());
    }

    #[test]
    fn understands_every_timeout_form() {
        let timeout = |v: &str| {
            parse_loader_conf(alloc::format!("timeout {v}\n").as_bytes())
                .unwrap()
                .timeout
        };
        assert_eq!(timeout("5"), Some(Timeout::Seconds(5)));
        assert_eq!(timeout("0"), Some(Timeout::MenuHidden));
        assert_eq!(timeout("menu-hidden"), Some(Timeout::MenuHidden));
        assert_eq!(timeout("menu-force"), Some(Timeout::MenuForce));
        assert_eq!(timeout("menu-disabled"), Some(Timeout::MenuDisabled));
        assert_eq!(timeout("soon"), None);
        assert_eq!(timeout("-3"), None);
        assert_eq!(timeout("99999999999"), None);
    }

    #[test]
    fn defaults_hold_when_keys_are_missing_or_bad() {
        let conf = parse_loader_conf(b"console-mode max\nauto-entries no\neditor perhaps\ntimeout x\n").unwrap();
        assert_eq!(conf.default, None);
        assert_eq!(conf.timeout, None);
        assert_eq!(conf.timeout_or_default(), Timeout::MenuHidden);
        assert!(conf.editor);
        assert_eq!(conf.warnings.len(), 2);
        assert_eq!(conf.warnings[0], "line 3: bad editor 'perhaps', ignored");
    }

    #[test]
    fn saved_default_counts_as_unset_and_patterns_fold_case() {
        let conf = parse_loader_conf(b"default @saved\n").unwrap();
        assert_eq!((conf.default, conf.default_saved), (None, true));
        let conf = parse_loader_conf(b"default Debian-*\n").unwrap();
        assert_eq!(conf.default.as_deref(), Some("debian-*"));
    }

    #[test]
    fn binary_file_is_an_error() {
        assert!(parse_loader_conf(b"timeout 3\n\0\0\0").is_err());
    }
}
