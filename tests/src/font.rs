//! Converts a PSF1 console font with a Unicode table (as Debian's
//! `console-setup-linux` ships them, gunzipped) into the firmware's compact
//! 8x16 font file: records of a little-endian u16 code point followed by the
//! glyph's 16 row bytes (bit 7 is the leftmost pixel), sorted by code point.
//! Only the characters the screen console needs are kept (see [`WANTED`]).
//!
//! `cargo xtask font IN.psf OUT.bin` runs it; the committed output is
//! `protocols/src/display/font8x16.bin`.

use std::collections::BTreeMap;

/// The code points kept: Latin-1, general punctuation, arrows, box drawing,
/// block elements and geometric shapes, and the replacement character.
pub const WANTED: &[(u32, u32)] = &[
    (0x20, 0x7e),
    (0xa0, 0xff),
    (0x2010, 0x2027),
    (0x2190, 0x2195),
    (0x2500, 0x259f),
    (0x25a0, 0x25ff),
    (0xfffd, 0xfffd),
];

const PSF1_MAGIC: [u8; 2] = [0x36, 0x04];
const PSF1_MODE512: u8 = 0x01;
const PSF1_HAS_TABLE: u8 = 0x02;
const PSF1_SEPARATOR: u16 = 0xffff;
const PSF1_SEQUENCE_START: u16 = 0xfffe;
const ROWS: usize = 16;

/// The kept glyphs of an 8x16 PSF1 font, by code point.
pub fn glyphs_from_psf1(psf: &[u8]) -> Result<BTreeMap<u16, [u8; ROWS]>, String> {
    if psf.len() < 4 || psf[..2] != PSF1_MAGIC {
        return Err("not a PSF1 font (gunzip it first?)".into());
    }
    let mode = psf[2];
    if usize::from(psf[3]) != ROWS {
        return Err(format!("glyphs are {} rows high, not {ROWS}", psf[3]));
    }
    if mode & PSF1_HAS_TABLE == 0 {
        return Err("the font has no Unicode table".into());
    }
    let count = if mode & PSF1_MODE512 != 0 { 512 } else { 256 };
    let glyphs_end = 4 + count * ROWS;
    let table = psf.get(glyphs_end..).ok_or("the font is shorter than its glyphs")?;
    let mut units = table.chunks_exact(2).map(|c| u16::from_le_bytes([c[0], c[1]]));
    let wanted = |c: u16| WANTED.iter().any(|&(lo, hi)| (lo..=hi).contains(&u32::from(c)));
    let mut out = BTreeMap::new();
    for glyph in 0..count {
        let mut in_sequence = false;
        for unit in units.by_ref() {
            match unit {
                PSF1_SEPARATOR => break,
                PSF1_SEQUENCE_START => in_sequence = true,
                c if !in_sequence && wanted(c) => {
                    let start = 4 + glyph * ROWS;
                    let mut rows = [0u8; ROWS];
                    rows.copy_from_slice(&psf[start..start + ROWS]);
                    out.entry(c).or_insert(rows);
                }
                _ => {}
            }
        }
    }
    Ok(out)
}

/// The firmware's font file for `glyphs`.
pub fn encode(glyphs: &BTreeMap<u16, [u8; ROWS]>) -> Vec<u8> {
    let mut out = Vec::with_capacity(glyphs.len() * (2 + ROWS));
    for (code, rows) in glyphs {
        out.extend_from_slice(&code.to_le_bytes());
        out.extend_from_slice(rows);
    }
    out
}

/// `cargo xtask font IN.psf OUT.bin`.
pub fn convert(input: &std::path::Path, output: &std::path::Path) -> Result<usize, String> {
    let psf = std::fs::read(input).map_err(|e| format!("{}: {e}", input.display()))?;
    let glyphs = glyphs_from_psf1(&psf)?;
    std::fs::write(output, encode(&glyphs)).map_err(|e| format!("{}: {e}", output.display()))?;
    Ok(glyphs.len())
}

/// The glyph rows of `c` in the committed font file (the tests draw expected
/// screens from the same data as the firmware).
pub fn committed_glyph(c: char) -> Option<[u8; ROWS]> {
    let data = std::fs::read(crate::workspace_root().join("protocols/src/display/font8x16.bin")).ok()?;
    data.chunks_exact(2 + ROWS).find_map(|record| {
        (u32::from(u16::from_le_bytes([record[0], record[1]])) == c as u32).then(|| {
            let mut rows = [0u8; ROWS];
            rows.copy_from_slice(&record[2..]);
            rows
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_psf1_with_a_unicode_table() {
        let mut psf = vec![0x36, 0x04, PSF1_HAS_TABLE, 16];
        psf.extend([0x11; 16]); // glyph 0
        psf.extend([0x22; 16]); // glyph 1
        psf.extend(std::iter::repeat_n(0u8, 254 * 16));
        // glyph 0: 'A' and a sequence; glyph 1: U+2500 and an unwanted U+0416.
        for unit in [0x41u16, 0xfffe, 0x42, 0x301, 0xffff, 0x2500, 0x416, 0xffff] {
            psf.extend(unit.to_le_bytes());
        }
        psf.extend(std::iter::repeat_n([0xff, 0xff], 254).flatten());
        let glyphs = glyphs_from_psf1(&psf).unwrap();
        assert_eq!(glyphs.keys().copied().collect::<Vec<_>>(), vec![0x41, 0x2500]);
        assert_eq!(glyphs[&0x2500], [0x22; 16]);
        let file = encode(&glyphs);
        assert_eq!(file.len(), 36);
        assert_eq!(&file[..3], &[0x41, 0, 0x11]);
        assert!(glyphs_from_psf1(b"\x1f\x8b").is_err());
    }
}
