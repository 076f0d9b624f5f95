//! The os-release format (os-release(5)) as embedded in a unified kernel
//! image's `.osrel` section (Boot Loader Specification, "Type #2 EFI Unified
//! Kernel Images"): `KEY=VALUE` lines, values quoted and escaped shell-style.
#![forbid(unsafe_code)]

use alloc::string::String;

/// The os-release fields the boot menu uses.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OsRelease {
    /// `NAME`: the operating system's name.
    pub name: Option<String>,
    /// `ID`: its lower-case identifier; the sort key when `IMAGE_ID` is absent.
    pub id: Option<String>,
    /// `PRETTY_NAME`: the name for menus.
    pub pretty_name: Option<String>,
    /// `VERSION_ID`: its version; the entry's version when `.uname` and `IMAGE_VERSION` are absent.
    pub version_id: Option<String>,
    /// `BUILD_ID`: the build of a rolling release; the last choice for the entry's version.
    pub build_id: Option<String>,
    /// `IMAGE_ID`: the image's identifier; the preferred sort key.
    pub image_id: Option<String>,
    /// `IMAGE_VERSION`: the image's version; the entry's version when `.uname` is absent.
    pub image_version: Option<String>,
}

/// Parses os-release text. Comments (`#`), blank lines, lines without `=` and
/// unknown keys are ignored; a key given twice keeps its last value; an empty
/// value counts as unset.
pub fn parse_os_release(text: &str) -> OsRelease {
    let mut os = OsRelease::default();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        let value = unquote(value.trim());
        let value = (!value.is_empty()).then_some(value);
        let field = match key.trim() {
            "NAME" => &mut os.name,
            "ID" => &mut os.id,
            "PRETTY_NAME" => &mut os.pretty_name,
            "VERSION_ID" => &mut os.version_id,
            "BUILD_ID" => &mut os.build_id,
            "IMAGE_ID" => &mut os.image_id,
            "IMAGE_VERSION" => &mut os.image_version,
            _ => continue,
        };
        *field = value;
    }
    os
}

/// Removes shell quoting from a value: `"..."` (where `\` escapes `"`, `\`,
/// `$` and `` ` ``), `'...'` (taken literally) and unquoted text (where `\`
/// escapes any character); the parts may be concatenated (`a"b c"'d'`). An
/// unterminated quote runs to the end of the value.
fn unquote(value: &str) -> String {
    #[derive(Clone, Copy)]
    enum Quote {
        None,
        Double,
        Single,
    }
    let mut out = String::with_capacity(value.len());
    let mut quote = Quote::None;
    let mut chars = value.chars().peekable();
    while let Some(c) = chars.next() {
        match (quote, c) {
            (Quote::None, '"') => quote = Quote::Double,
            (Quote::None, '\'') => quote = Quote::Single,
            (Quote::None, '\\') => out.extend(chars.next()),
            (Quote::Double, '"') | (Quote::Single, '\'') => quote = Quote::None,
            (Quote::Double, '\\') => match chars.peek() {
                Some(&escaped @ ('"' | '\\' | '$' | '`')) => {
                    out.push(escaped);
                    chars.next();
                }
                _ => out.push('\\'),
            },
            (_, c) => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_quoted_and_unquoted_values() {
        let text = "\
# os-release of a test image
NAME=\"Debian GNU/Linux\"
ID=debian
PRETTY_NAME='Debian GNU/Linux 12 (bookworm)'
VERSION_ID=\"12\"
HOME_URL=\"https://www.debian.org/\"
not a key value line
";
        let os = parse_os_release(text);
        assert_eq!(os.name.as_deref(), Some("Debian GNU/Linux"));
        assert_eq!(os.id.as_deref(), Some("debian"));
        assert_eq!(os.pretty_name.as_deref(), Some("Debian GNU/Linux 12 (bookworm)"));
        assert_eq!(os.version_id.as_deref(), Some("12"));
        assert_eq!(os.image_id, None);
    }

    #[test]
    fn honours_shell_escapes() {
        let os = parse_os_release("PRETTY_NAME=\"A \\\"quoted\\\" \\$name \\\\ and \\n\"\nNAME=a\\ b\"c d\"'e\\f'\n");
        assert_eq!(os.pretty_name.as_deref(), Some("A \"quoted\" $name \\ and \\n"));
        assert_eq!(os.name.as_deref(), Some("a bc de\\f"));
    }

    #[test]
    fn later_values_win_and_empty_values_are_unset() {
        let os = parse_os_release("ID=a\nID=b\nIMAGE_ID=\"\"\r\nIMAGE_VERSION=1.2\r\n");
        assert_eq!(os.id.as_deref(), Some("b"));
        assert_eq!(os.image_id, None);
        assert_eq!(os.image_version.as_deref(), Some("1.2"));
    }
}
