//! Device paths from their text form (UEFI 2.10 §10.6.1, read back as §10.7
//! EFI_DEVICE_PATH_FROM_TEXT_PROTOCOL does): every node kind [`super::text`]
//! writes, in its full and its shortcut forms, the generic forms
//! (`Path(type,subtype,hex)`, `HardwarePath`, `AcpiPath`, `Msg`, `MediaPath`,
//! `BbsPath`), and file paths, the text of any node that names no known kind.
//! Nodes are separated by `/`, instances by `,` (outside parentheses); the End
//! Entire node closes every path. Parameters the §10.6.1.6 table calls optional
//! may be left out or empty and take its default.
//!
//! - [`hardware`]: hardware and ACPI nodes;
//! - [`messaging`]: storage and bus messaging nodes;
//! - [`network`]: network messaging nodes;
//! - [`media`]: media and BBS nodes.
//!
//! Numbers are decimal, or hexadecimal with `0x`; so
//! `path_from_text(&path_to_text(p, form)) == p` for every well-formed path and
//! every form that is not display-only.
#![forbid(unsafe_code)]

mod hardware;
mod media;
mod messaging;
mod network;

#[cfg(test)]
mod tests;

use super::{
    ACPI_DEVICE_PATH, BBS_DEVICE_PATH, END_DEVICE_PATH_TYPE, END_ENTIRE_DEVICE_PATH_SUBTYPE,
    END_INSTANCE_DEVICE_PATH_SUBTYPE, HARDWARE_DEVICE_PATH, MEDIA_DEVICE_PATH, MEDIA_FILEPATH_DP,
    MESSAGING_DEVICE_PATH, NODE_HEADER_SIZE,
};
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::fmt;

/// Why a text could not be read as a device path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Error {
    /// The text is empty where a node was expected (`a//b`, a trailing `/`).
    EmptyNode {
        /// Where in the text.
        at: usize,
    },
    /// A parenthesis opened at `at` is not closed, or one closes that never opened.
    Unbalanced {
        /// Where in the text.
        at: usize,
    },
    /// A node's arguments do not fit its kind.
    BadArguments {
        /// The node's text.
        node: String,
    },
    /// A node's data does not fit the 16-bit length field.
    TooLong {
        /// The node's text.
        node: String,
    },
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::EmptyNode { at } => write!(f, "empty device path node at character {at}"),
            Error::Unbalanced { at } => write!(f, "unbalanced parenthesis at character {at}"),
            Error::BadArguments { node } => write!(f, "device path node {node:?} has arguments its kind cannot take"),
            Error::TooLong { node } => write!(f, "device path node {node:?} is too long"),
        }
    }
}

/// A whole path: its nodes, End Instance between instances, End Entire last.
/// The empty text is the path of only End Entire.
pub fn path_from_text(text: &str) -> Result<Vec<u8>, Error> {
    let mut path = Vec::new();
    if !text.is_empty() {
        let tokens = split_top_level(text)?;
        for (i, &(separator, token, at)) in tokens.iter().enumerate() {
            if separator == Some(',') {
                push(
                    &mut path,
                    END_DEVICE_PATH_TYPE,
                    END_INSTANCE_DEVICE_PATH_SUBTYPE,
                    &[],
                    token,
                )?;
            }
            if token.is_empty() {
                // An empty instance (`a,,b`, a path ending in End Instance) is
                // fine; an empty node between `/`s is not.
                let next = tokens.get(i + 1).and_then(|t| t.0);
                if separator == Some('/') || next == Some('/') {
                    return Err(Error::EmptyNode { at });
                }
                continue;
            }
            path.extend_from_slice(&node_from_text(token)?);
        }
    }
    path.extend_from_slice(&[END_DEVICE_PATH_TYPE, END_ENTIRE_DEVICE_PATH_SUBTYPE, 4, 0]);
    Ok(path)
}

/// A token of a path's text: the separator before it (`None` for the first),
/// the token, and its character offset.
type Token<'a> = (Option<char>, &'a str, usize);

/// The tokens between top-level `/` and `,`.
fn split_top_level(text: &str) -> Result<Vec<Token<'_>>, Error> {
    let mut tokens = Vec::new();
    let (mut depth, mut start, mut separator) = (0usize, 0, None);
    let mut opened_at = 0;
    for (at, c) in text.char_indices() {
        match c {
            '(' => {
                if depth == 0 {
                    opened_at = at;
                }
                depth += 1;
            }
            ')' => depth = depth.checked_sub(1).ok_or(Error::Unbalanced { at })?,
            '/' | ',' if depth == 0 => {
                tokens.push((separator, &text[start..at], start));
                separator = Some(c);
                start = at + 1;
            }
            _ => {}
        }
    }
    if depth != 0 {
        return Err(Error::Unbalanced { at: opened_at });
    }
    tokens.push((separator, &text[start..], start));
    Ok(tokens)
}

/// A node made from its arguments: type, subtype and data; `None` when the
/// arguments do not fit.
pub(crate) type Made = Option<(u8, u8, Vec<u8>)>;

/// One node (header and data) from its text.
pub fn node_from_text(text: &str) -> Result<Vec<u8>, Error> {
    let Some((name, inner)) = function(text) else {
        return file_path(text);
    };
    let args = Args::split(name, inner);
    let made = generic(name, &args)
        .or_else(|| hardware::parse(name, &args))
        .or_else(|| messaging::parse(name, &args))
        .or_else(|| network::parse(name, &args))
        .or_else(|| media::parse(name, &args));
    match made {
        Some(Some((kind, sub_type, data))) => {
            let mut node = Vec::with_capacity(NODE_HEADER_SIZE + data.len());
            push(&mut node, kind, sub_type, &data, text)?;
            Ok(node)
        }
        Some(None) => Err(Error::BadArguments { node: text.to_string() }),
        // Not a kind the table names: the text names a file.
        None => file_path(text),
    }
}

/// `Path(type,subtype,hex)` and the per-type generic forms.
fn generic(name: &str, a: &Args<'_>) -> Option<Made> {
    let kind = match name {
        "Path" => None,
        "HardwarePath" => Some(HARDWARE_DEVICE_PATH),
        "AcpiPath" => Some(ACPI_DEVICE_PATH),
        "Msg" => Some(MESSAGING_DEVICE_PATH),
        "MediaPath" => Some(MEDIA_DEVICE_PATH),
        "BbsPath" => Some(BBS_DEVICE_PATH),
        _ => return None,
    };
    Some((|| {
        let (kind, first) = match kind {
            Some(kind) => (kind, 0),
            None => (a.num(0)?, 1),
        };
        a.at_most(first + 2)?;
        let data = match a.raw(first + 1) {
            Some(text) => hex(text)?,
            None => Vec::new(),
        };
        Some((kind, a.num(first)?, data))
    })())
}

/// `Name(args)` split into its name and the text between the parentheses.
fn function(text: &str) -> Option<(&str, &str)> {
    let open = text.find('(')?;
    let inner = text.strip_suffix(')')?.get(open + 1..)?;
    let name = &text[..open];
    (!name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')).then_some((name, inner))
}

fn push(node: &mut Vec<u8>, kind: u8, sub_type: u8, data: &[u8], text: &str) -> Result<(), Error> {
    let length = u16::try_from(NODE_HEADER_SIZE + data.len()).map_err(|_| Error::TooLong { node: text.to_string() })?;
    let [lo, hi] = length.to_le_bytes();
    node.extend_from_slice(&[kind, sub_type, lo, hi]);
    node.extend_from_slice(data);
    Ok(())
}

/// A File Path node: the text as UCS-2 with its NUL.
fn file_path(text: &str) -> Result<Vec<u8>, Error> {
    let mut data = Vec::with_capacity(2 * (text.len() + 1));
    for c in text.chars() {
        let unit = u16::try_from(u32::from(c))
            .ok()
            .filter(|&u| u != 0)
            .ok_or_else(|| Error::BadArguments { node: text.to_string() })?;
        data.extend_from_slice(&unit.to_le_bytes());
    }
    data.extend_from_slice(&[0, 0]);
    let mut node = Vec::new();
    push(&mut node, MEDIA_DEVICE_PATH, MEDIA_FILEPATH_DP, &data, text)?;
    Ok(node)
}

/// A node's arguments, split at `,` and trimmed (`Uri` keeps its text whole).
pub(crate) struct Args<'a> {
    list: Vec<&'a str>,
}

impl<'a> Args<'a> {
    fn split(name: &str, inner: &'a str) -> Args<'a> {
        let list = if inner.is_empty() {
            Vec::new()
        } else if name == "Uri" {
            alloc::vec![inner]
        } else {
            inner.split(',').map(str::trim).collect()
        };
        Args { list }
    }

    pub(crate) fn len(&self) -> usize {
        self.list.len()
    }

    /// Argument `i` as written, possibly empty.
    pub(crate) fn raw(&self, i: usize) -> Option<&'a str> {
        self.list.get(i).copied()
    }

    /// Argument `i` if given and not empty.
    pub(crate) fn get(&self, i: usize) -> Option<&'a str> {
        self.raw(i).filter(|s| !s.is_empty())
    }

    /// A required number.
    pub(crate) fn num<T: TryFrom<u64>>(&self, i: usize) -> Option<T> {
        number(self.get(i)?)
    }

    /// An optional number: `default` when absent or empty.
    pub(crate) fn num_or<T: TryFrom<u64>>(&self, i: usize, default: T) -> Option<T> {
        match self.get(i) {
            Some(text) => number(text),
            None => Some(default),
        }
    }

    /// `Some` when there are no more than `n` arguments.
    pub(crate) fn at_most(&self, n: usize) -> Option<()> {
        (self.list.len() <= n).then_some(())
    }
}

/// A number, decimal or `0x` hexadecimal, that fits `T`.
pub(crate) fn number<T: TryFrom<u64>>(text: &str) -> Option<T> {
    let value = match text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")) {
        Some(digits) => u64::from_str_radix(digits, 16).ok()?,
        None => text.parse::<u64>().ok()?,
    };
    T::try_from(value).ok()
}

/// A keyword from `keywords` (its index is its value), or a number.
pub(crate) fn keyword_or_number<T: TryFrom<u64>>(text: &str, keywords: &[&str]) -> Option<T> {
    match keywords.iter().position(|k| !k.is_empty() && *k == text) {
        Some(i) => T::try_from(i as u64).ok(),
        None => number(text),
    }
}

/// An EISA id as `PNP0501` (three letters, four hex digits) or a number (`0`).
pub(crate) fn eisa_id(text: &str) -> Option<u32> {
    if text.starts_with(|c: char| c.is_ascii_digit()) {
        return number(text);
    }
    let bytes = text.as_bytes();
    if bytes.len() != 7
        || !bytes[..3].iter().all(u8::is_ascii_alphabetic)
        || !text[3..].bytes().all(|b| b.is_ascii_hexdigit())
    {
        return None;
    }
    let vendor = bytes[..3]
        .iter()
        .fold(0u32, |v, &b| (v << 5) | u32::from(b.to_ascii_uppercase() - b'@'));
    let product = u32::from_str_radix(&text[3..], 16).ok()?;
    Some(vendor | (product << 16))
}

/// `XXXXXXXX-XXXX-XXXX-XXXX-XXXXXXXXXXXX` in its stored (mixed-endian) form.
pub(crate) fn guid(text: &str) -> Option<[u8; 16]> {
    let parts: Vec<&str> = text.split('-').collect();
    let [a, b, c, d, e] = parts.as_slice() else {
        return None;
    };
    if [a.len(), b.len(), c.len(), d.len(), e.len()] != [8, 4, 4, 4, 12] || !text.is_ascii() {
        return None;
    }
    let mut bytes = [0u8; 16];
    bytes[..4].copy_from_slice(&u32::from_str_radix(a, 16).ok()?.to_le_bytes());
    bytes[4..6].copy_from_slice(&u16::from_str_radix(b, 16).ok()?.to_le_bytes());
    bytes[6..8].copy_from_slice(&u16::from_str_radix(c, 16).ok()?.to_le_bytes());
    bytes[8..10].copy_from_slice(&hex(d)?);
    bytes[10..].copy_from_slice(&hex(e)?);
    Some(bytes)
}

/// Hex digit pairs as bytes, in order.
pub(crate) fn hex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) || !text.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).ok())
        .collect()
}

/// An 8-byte array written as one number with byte 0 first (SAM-4 LUNs).
pub(crate) fn byte_array(text: &str) -> Option<[u8; 8]> {
    number::<u64>(text).map(u64::to_be_bytes)
}

/// A string argument, without the double quotes it may be written in.
pub(crate) fn unquote(text: &str) -> &str {
    text.strip_prefix('"').and_then(|t| t.strip_suffix('"')).unwrap_or(text)
}
