use super::*;
use std::string::String;

fn ucs2(s: &str) -> Vec<u16> {
    s.encode_utf16().chain([0]).collect()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8(bytes.to_vec()).unwrap()
}

#[test]
fn sgr_for_grub_menu_colours() {
    // GRUB's normal text and highlighted entry.
    assert_eq!(text(&sgr(EFI_LIGHTGRAY | EFI_BACKGROUND_BLACK)), "\x1b[0;37;40m");
    assert_eq!(text(&sgr(EFI_BLACK | EFI_BACKGROUND_LIGHTGRAY)), "\x1b[0;30;47m");
    assert_eq!(text(&sgr(EFI_WHITE | EFI_BACKGROUND_BLACK)), "\x1b[0;97;40m");
    assert_eq!(text(&sgr(EFI_YELLOW | EFI_BACKGROUND_BLUE)), "\x1b[0;93;44m");
    assert_eq!(text(&sgr(EFI_DARKGRAY | EFI_BACKGROUND_BLACK)), "\x1b[0;90;40m");
}

#[test]
fn sgr_maps_every_efi_colour_to_its_ansi_colour() {
    let expected_fg = [30, 34, 32, 36, 31, 35, 33, 37, 90, 94, 92, 96, 91, 95, 93, 97];
    let expected_bg = [40, 44, 42, 46, 41, 45, 43, 47];
    for (fg, fg_code) in expected_fg.iter().enumerate() {
        for (bg, bg_code) in expected_bg.iter().enumerate() {
            let attribute = efi_text_attr(fg, bg);
            assert_eq!(
                text(&sgr(attribute)),
                std::format!("\x1b[0;{fg_code};{bg_code}m"),
                "attribute {attribute:#x}"
            );
        }
    }
}

#[test]
fn set_attribute_rejects_unknown_bits_and_sends_sgr_once() {
    let mut t = TextOutput::new();
    let mut out = Vec::new();
    assert_eq!(
        t.set_attribute(0x80, &mut out),
        Err(Error::UnsupportedAttribute { attribute: 0x80 })
    );
    assert!(out.is_empty());
    t.set_attribute(EFI_BLACK | EFI_BACKGROUND_LIGHTGRAY, &mut out).unwrap();
    assert_eq!(text(&out), "\x1b[0;30;47m");
    out.clear();
    t.output_string(&ucs2("x"), &mut out);
    assert_eq!(text(&out), "x", "the attribute is already in effect");
    assert_eq!(t.mode_state().attribute, 0x70);
}

#[test]
fn first_output_sends_the_attribute() {
    let mut t = TextOutput::new();
    let mut out = Vec::new();
    t.output_string(&ucs2("hi"), &mut out);
    assert_eq!(text(&out), "\x1b[0;37;40mhi");
}

#[test]
fn cursor_tracks_text_and_wraps_at_the_last_column() {
    let mut t = TextOutput::new();
    let mut out = Vec::new();
    t.output_string(&ucs2("abc"), &mut out);
    assert_eq!(t.cursor(), (3, 0));
    let line: String = core::iter::repeat_n('x', 79).collect();
    out.clear();
    t.output_string(&ucs2(&line), &mut out);
    assert_eq!(t.cursor(), (2, 1));
    assert!(text(&out).contains("x\r\nxx"), "wrap is an explicit CR LF");
    t.output_string(&ucs2("\r"), &mut out);
    assert_eq!(t.cursor(), (0, 1));
    t.output_string(&ucs2("ab\n"), &mut out);
    assert_eq!(t.cursor(), (2, 2));
}

#[test]
fn full_line_then_crlf_moves_down_two_rows_like_the_spec_model() {
    let mut t = TextOutput::new();
    let mut out = Vec::new();
    let line: String = core::iter::repeat_n('-', 80).chain("\r\n".chars()).collect();
    t.output_string(&ucs2(&line), &mut out);
    assert_eq!(t.cursor(), (0, 2));
}

#[test]
fn line_feed_at_bottom_row_scrolls() {
    let mut t = TextOutput::new();
    let mut out = Vec::new();
    t.set_cursor_position(5, 24, &mut out).unwrap();
    out.clear();
    t.output_string(&ucs2("\n"), &mut out);
    assert_eq!(t.cursor(), (5, 24));
    assert_eq!(out, b"\x1b[0;37;40m\n");
    t.set_cursor_position(79, 24, &mut out).unwrap();
    t.output_string(&ucs2("z"), &mut out);
    assert_eq!(t.cursor(), (0, 24));
}

#[test]
fn backspace_moves_left_but_not_past_column_zero() {
    let mut t = TextOutput::new();
    let mut out = Vec::new();
    t.output_string(&ucs2("ab\u{8}"), &mut out);
    assert_eq!(t.cursor(), (1, 0));
    t.output_string(&ucs2("\u{8}\u{8}\u{8}"), &mut out);
    assert_eq!(t.cursor(), (0, 0));
    assert_eq!(out.iter().filter(|&&b| b == 0x08).count(), 2);
}

#[test]
fn clear_screen_homes_the_cursor() {
    let mut t = TextOutput::new();
    let mut out = Vec::new();
    t.output_string(&ucs2("hello\nworld"), &mut out);
    out.clear();
    t.clear_screen(&mut out);
    assert_eq!(t.cursor(), (0, 0));
    assert_eq!(out, b"\x1b[2J\x1b[H");
}

#[test]
fn set_cursor_position_is_bounds_checked() {
    let mut t = TextOutput::new();
    let mut out = Vec::new();
    t.set_cursor_position(79, 24, &mut out).unwrap();
    assert_eq!(out, b"\x1b[25;80H");
    assert_eq!(t.cursor(), (79, 24));
    out.clear();
    let err = t.set_cursor_position(80, 0, &mut out).unwrap_err();
    assert_eq!(err.status(), efi::Status::UNSUPPORTED);
    assert!(t.set_cursor_position(0, 25, &mut out).is_err());
    assert!(out.is_empty());
    assert_eq!(t.cursor(), (79, 24));
    t.set_mode(1, &mut out).unwrap();
    t.set_cursor_position(0, 49, &mut out).unwrap();
}

#[test]
fn query_and_set_mode() {
    let mut t = TextOutput::new();
    let mut out = Vec::new();
    assert_eq!(t.query_mode(0), Ok((80, 25)));
    assert_eq!(t.query_mode(1), Ok((80, 50)));
    assert_eq!(t.query_mode(2), Ok((100, 31)));
    assert_eq!(t.query_mode(3), Err(Error::InvalidMode { mode: 3 }));
    assert!(t.set_mode(3, &mut out).is_err());
    t.output_string(&ucs2("abc"), &mut out);
    t.set_mode(2, &mut out).unwrap();
    assert_eq!(t.cursor(), (0, 0));
    assert_eq!(t.mode_state().mode, 2);
    assert_eq!(t.mode_state().max_mode, 3);
}

#[test]
fn enable_cursor_sends_dectcem() {
    let mut t = TextOutput::new();
    let mut out = Vec::new();
    t.enable_cursor(false, &mut out);
    assert_eq!(out, b"\x1b[?25l");
    assert!(!t.mode_state().cursor_visible);
    out.clear();
    t.enable_cursor(true, &mut out);
    assert_eq!(out, b"\x1b[?25h");
}

#[test]
fn box_drawing_passes_through_as_utf8() {
    let mut t = TextOutput::new();
    t.sent_attribute = Some(t.attribute);
    let mut out = Vec::new();
    // BOXDRAW_DOWN_RIGHT, BOXDRAW_HORIZONTAL, BOXDRAW_DOWN_LEFT, ARROW_UP,
    // BLOCKELEMENT_FULL_BLOCK, GEOMETRICSHAPE_RIGHT_TRIANGLE.
    let units = [0x250c, 0x2500, 0x2510, 0x2191, 0x2588, 0x25ba, 0];
    assert_eq!(t.output_string(&units, &mut out), Rendered::All);
    assert_eq!(text(&out), "┌─┐↑█►");
    assert_eq!(t.cursor(), (6, 0));
}

#[test]
fn invalid_units_become_question_marks_with_a_warning() {
    let mut t = TextOutput::new();
    t.sent_attribute = Some(t.attribute);
    let mut out = Vec::new();
    let units = [u16::from(b'a'), 0xd800, u16::from(b'b'), 0xdc00, 0x1b, 0xffff, 0];
    let rendered = t.output_string(&units, &mut out);
    assert_eq!(rendered, Rendered::SomeReplaced);
    assert_eq!(rendered.status(), efi::Status::WARN_UNKNOWN_GLYPH);
    assert_eq!(text(&out), "a?b???");
    assert_eq!(t.cursor(), (6, 0));
}

#[test]
fn surrogate_pairs_and_latin_are_encoded_as_utf8() {
    let mut t = TextOutput::new();
    t.sent_attribute = Some(t.attribute);
    let mut out = Vec::new();
    t.output_string(&ucs2("é😀"), &mut out);
    assert_eq!(text(&out), "é😀");
}

#[test]
fn output_stops_at_nul_and_ignores_bell() {
    let mut t = TextOutput::new();
    t.sent_attribute = Some(t.attribute);
    let mut out = Vec::new();
    t.output_string(&[u16::from(b'a'), 7, 0, u16::from(b'b')], &mut out);
    assert_eq!(out, b"a");
}

#[test]
fn test_string_reports_unrenderable_characters() {
    let t = TextOutput::new();
    assert_eq!(t.test_string(&ucs2("┌─ ok é\r\n")), Ok(()));
    assert_eq!(
        t.test_string(&[u16::from(b'x'), 0xdc01, 0]),
        Err(Error::UnrenderableCharacter { unit: 0xdc01 })
    );
    assert!(t.test_string(&[0x1b, 0]).is_err());
}

#[test]
fn reset_restores_defaults_and_clears() {
    let mut t = TextOutput::new();
    let mut out = Vec::new();
    t.set_mode(1, &mut out).unwrap();
    t.set_attribute(0x1f, &mut out).unwrap();
    t.enable_cursor(false, &mut out);
    t.output_string(&ucs2("abc"), &mut out);
    out.clear();
    t.reset(&mut out);
    assert_eq!(text(&out), "\x1b[0;37;40m\x1b[2J\x1b[H\x1b[?25h");
    let state = t.mode_state();
    assert_eq!(
        (state.mode, state.attribute, state.cursor_column, state.cursor_row),
        (0, 7, 0, 0)
    );
    assert!(state.cursor_visible);
}
