//! Text for a console's OutputString (UEFI 2.10 §12.4.3,
//! EFI_SIMPLE_TEXT_OUTPUT_PROTOCOL.OutputString): NUL-terminated UCS-2, with
//! each line break written as CR LF, since a console moves to the start of the
//! line only when told to. The built-in applications (`fw-loaders`) and the EFI
//! test application print this way, as any application would.

/// The units of one piece, its NUL included: small enough for the stack.
pub const PIECE_UNITS: usize = 128;

/// `text` as OutputString takes it: UTF-16 with each `\n` as `\r\n`, cut into
/// NUL-terminated pieces of at most [`PIECE_UNITS`] units, the NUL included,
/// each handed to `output` in order. Empty text gives no piece.
pub fn for_each_piece(text: &str, mut output: impl FnMut(&[u16])) {
    let mut piece = [0u16; PIECE_UNITS];
    let mut len = 0;
    for unit in text.encode_utf16() {
        if unit == u16::from(b'\n') {
            piece[len] = u16::from(b'\r');
            len += 1;
        }
        piece[len] = unit;
        len += 1;
        // The next unit may take two places, and the NUL one more.
        if len > PIECE_UNITS - 3 {
            piece[len] = 0;
            output(&piece[..=len]);
            len = 0;
        }
    }
    if len > 0 {
        piece[len] = 0;
        output(&piece[..=len]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::vec::Vec;

    fn pieces(text: &str) -> Vec<Vec<u16>> {
        let mut found = Vec::new();
        for_each_piece(text, |piece| found.push(piece.to_vec()));
        found
    }

    #[test]
    fn line_breaks_become_cr_lf_and_each_piece_ends_in_nul() {
        let expected: Vec<u16> = "a\r\nb\0".encode_utf16().collect();
        assert_eq!(pieces("a\nb"), [expected]);
        assert!(pieces("").is_empty());
    }

    #[test]
    fn long_text_is_cut_into_pieces_that_fit() {
        let text = "0123456789\n".repeat(40);
        let found = pieces(&text);
        assert!(found.len() > 1);
        assert!(found.iter().all(|p| p.len() <= PIECE_UNITS && p.last() == Some(&0)));
        let joined: Vec<u16> = found.iter().flat_map(|p| &p[..p.len() - 1]).copied().collect();
        let expected: Vec<u16> = text.replace('\n', "\r\n").encode_utf16().collect();
        assert_eq!(joined, expected);
    }
}
