//! The screen console's 8x16 bitmap font: glyphs derived from Terminus Font
//! (SIL Open Font License 1.1, see `FONT-LICENSE.txt` beside this file),
//! converted by `cargo xtask font`.
//!
//! The file is a run of 18-byte records sorted by code point: the code point
//! as a little-endian u16, then 16 row bytes, top row first, bit 7 leftmost.
#![forbid(unsafe_code)]

/// Glyph width in pixels.
pub const WIDTH: usize = 8;
/// Glyph height in pixels (rows of a glyph).
pub const HEIGHT: usize = 16;

const DATA: &[u8] = include_bytes!("font8x16.bin");
const RECORD: usize = 2 + HEIGHT;

/// A glyph's rows, top first; bit 7 of each byte is the leftmost pixel.
pub type Glyph = [u8; HEIGHT];

fn code_of(index: usize) -> u16 {
    u16::from_le_bytes([DATA[index * RECORD], DATA[index * RECORD + 1]])
}

/// The glyph for `c`, if the font has one.
pub fn glyph(c: char) -> Option<&'static Glyph> {
    let code = u16::try_from(u32::from(c)).ok()?;
    let count = DATA.len() / RECORD;
    let (mut low, mut high) = (0, count);
    while low < high {
        let middle = (low + high) / 2;
        match code_of(middle).cmp(&code) {
            core::cmp::Ordering::Less => low = middle + 1,
            core::cmp::Ordering::Greater => high = middle,
            core::cmp::Ordering::Equal => {
                let start = middle * RECORD + 2;
                return DATA[start..start + HEIGHT].try_into().ok();
            }
        }
    }
    None
}

/// The glyph shown for `c`: its own, else the replacement character's, else '?'.
pub fn glyph_or_replacement(c: char) -> &'static Glyph {
    glyph(c)
        .or_else(|| glyph('\u{fffd}'))
        .or_else(|| glyph('?'))
        .unwrap_or(&[0; HEIGHT])
}

/// Whether the font can show `c`.
pub fn has_glyph(c: char) -> bool {
    glyph(c).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_file_is_sorted_whole_records() {
        assert_eq!(DATA.len() % RECORD, 0);
        let count = DATA.len() / RECORD;
        assert!((1..count).all(|i| code_of(i - 1) < code_of(i)));
    }

    #[test]
    fn covers_latin1_and_box_drawing() {
        for c in (0x20u32..0x7f).chain(0xa0..=0xff).chain(0x2500..=0x257f) {
            assert!(has_glyph(char::from_u32(c).unwrap()), "U+{c:04X}");
        }
        assert_eq!(glyph(' '), Some(&[0; HEIGHT]));
        assert_ne!(glyph('A'), Some(&[0; HEIGHT]));
        assert!(glyph('\u{4e00}').is_none());
        assert_eq!(glyph_or_replacement('\u{4e00}'), glyph('\u{fffd}').unwrap());
    }
}
