//! The boot menu's behaviour, separate from the screen: keys in, actions out.
//! Arrows, Home/End and numbers select; Enter boots; `e` edits the selected
//! entry's kernel command line once (Enter boots with the edit, Esc drops it);
//! any key stops the countdown.
#![forbid(unsafe_code)]

use alloc::string::String;
use alloc::vec::Vec;

/// A key as the menu understands it (decoded from EFI_INPUT_KEY).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Key {
    /// Cursor up.
    Up,
    /// Cursor down.
    Down,
    /// Cursor left.
    Left,
    /// Cursor right.
    Right,
    /// Home: start of the line or list.
    Home,
    /// End: end of the line or list.
    End,
    /// Enter (carriage return or line feed).
    Enter,
    /// Escape.
    Escape,
    /// Backspace.
    Backspace,
    /// Delete.
    Delete,
    /// A printable character.
    Char(char),
}

impl Key {
    /// From an EFI_INPUT_KEY (UEFI 2.10 §12.3 scan codes).
    pub fn from_efi(scan_code: u16, unicode: u16) -> Option<Key> {
        Some(match (scan_code, unicode) {
            (0x01, _) => Key::Up,
            (0x02, _) => Key::Down,
            (0x03, _) => Key::Right,
            (0x04, _) => Key::Left,
            (0x05, _) => Key::Home,
            (0x06, _) => Key::End,
            (0x08, _) => Key::Delete,
            (0x17, _) => Key::Escape,
            (0, 0x0d | 0x0a) => Key::Enter,
            (0, 0x08) => Key::Backspace,
            (0, c) if c >= 0x20 => Key::Char(char::from_u32(u32::from(c))?),
            _ => return None,
        })
    }
}

/// What the boot manager should do after a key or a tick.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// Nothing to show or do.
    Nothing,
    /// The screen needs drawing again.
    Redraw,
    /// Boot entry `index`, with the edited command line if the user edited it.
    Boot {
        /// Index into the menu's entries.
        index: usize,
        /// The command line the editor made, if any.
        cmdline: Option<String>,
    },
}

/// The line editor for `e`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Editor {
    /// The command line being edited.
    pub text: Vec<char>,
    /// The cursor's position in `text`, in characters.
    pub cursor: usize,
}

#[derive(Clone, Debug)]
/// The boot menu's state: entries, selection, countdown and editor, changed by keys and ticks.
pub struct Menu {
    /// One line per entry.
    pub titles: Vec<String>,
    /// The command line of each entry, `None` where it cannot be edited.
    pub cmdlines: Vec<Option<String>>,
    /// The entry that is highlighted.
    pub selected: usize,
    /// Seconds left before the selected entry boots; `None` once a key was pressed.
    pub countdown: Option<u32>,
    /// Whether `e` may open the command line editor.
    pub editor_allowed: bool,
    /// The editor, while a command line is being edited.
    pub editing: Option<Editor>,
}

impl Menu {
    /// A menu over `titles` with `default` selected, booting it after `timeout` seconds (`None`: wait).
    pub fn new(
        titles: Vec<String>,
        cmdlines: Vec<Option<String>>,
        default: usize,
        timeout: Option<u32>,
        editor_allowed: bool,
    ) -> Menu {
        let selected = default.min(titles.len().saturating_sub(1));
        Menu {
            titles,
            cmdlines,
            selected,
            countdown: timeout,
            editor_allowed,
            editing: None,
        }
    }

    /// One second passed.
    pub fn tick(&mut self) -> Action {
        match self.countdown {
            Some(0 | 1) => {
                self.countdown = None;
                Action::Boot {
                    index: self.selected,
                    cmdline: None,
                }
            }
            Some(n) => {
                self.countdown = Some(n - 1);
                Action::Redraw
            }
            None => Action::Nothing,
        }
    }

    /// Applies a key press and says what the boot manager should do.
    pub fn key(&mut self, key: Key) -> Action {
        self.countdown = None;
        if let Some(editor) = &mut self.editing {
            return match key {
                Key::Enter => {
                    let cmdline: String = editor.text.iter().collect();
                    self.editing = None;
                    Action::Boot {
                        index: self.selected,
                        cmdline: Some(cmdline),
                    }
                }
                Key::Escape => {
                    self.editing = None;
                    Action::Redraw
                }
                Key::Left => {
                    editor.cursor = editor.cursor.saturating_sub(1);
                    Action::Redraw
                }
                Key::Right => {
                    editor.cursor = (editor.cursor + 1).min(editor.text.len());
                    Action::Redraw
                }
                Key::Home => {
                    editor.cursor = 0;
                    Action::Redraw
                }
                Key::End => {
                    editor.cursor = editor.text.len();
                    Action::Redraw
                }
                Key::Backspace if editor.cursor > 0 => {
                    editor.cursor -= 1;
                    editor.text.remove(editor.cursor);
                    Action::Redraw
                }
                Key::Delete if editor.cursor < editor.text.len() => {
                    editor.text.remove(editor.cursor);
                    Action::Redraw
                }
                Key::Char(c) => {
                    editor.text.insert(editor.cursor, c);
                    editor.cursor += 1;
                    Action::Redraw
                }
                _ => Action::Nothing,
            };
        }
        let count = self.titles.len();
        match key {
            Key::Up if self.selected > 0 => {
                self.selected -= 1;
                Action::Redraw
            }
            Key::Down if self.selected + 1 < count => {
                self.selected += 1;
                Action::Redraw
            }
            Key::Home => {
                self.selected = 0;
                Action::Redraw
            }
            Key::End => {
                self.selected = count.saturating_sub(1);
                Action::Redraw
            }
            Key::Char(c @ '1'..='9') => {
                let index = c as usize - '1' as usize;
                if index < count {
                    self.selected = index;
                }
                Action::Redraw
            }
            Key::Enter if count > 0 => Action::Boot {
                index: self.selected,
                cmdline: None,
            },
            Key::Char('e') if self.editor_allowed => match self.cmdlines.get(self.selected).cloned().flatten() {
                Some(cmdline) => {
                    let text: Vec<char> = cmdline.chars().collect();
                    self.editing = Some(Editor {
                        cursor: text.len(),
                        text,
                    });
                    Action::Redraw
                }
                None => Action::Nothing,
            },
            _ => Action::Redraw,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::ToString;
    use alloc::vec;

    fn menu() -> Menu {
        Menu::new(
            vec!["a".to_string(), "b".to_string(), "c".to_string()],
            vec![Some("root=/dev/vda ro".to_string()), None, Some("x".to_string())],
            0,
            Some(3),
            true,
        )
    }

    #[test]
    fn arrows_and_numbers_select_and_enter_boots() {
        let mut m = menu();
        assert_eq!(m.key(Key::Down), Action::Redraw);
        assert_eq!(m.key(Key::Down), Action::Redraw);
        assert_eq!(m.key(Key::Down), Action::Redraw, "stays on the last entry");
        assert_eq!(m.selected, 2);
        m.key(Key::Char('2'));
        assert_eq!(
            m.key(Key::Enter),
            Action::Boot {
                index: 1,
                cmdline: None
            }
        );
        m.key(Key::Home);
        assert_eq!(m.selected, 0);
        m.key(Key::Char('9'));
        assert_eq!(m.selected, 0, "a number past the list changes nothing");
    }

    #[test]
    fn countdown_boots_the_default_and_keys_stop_it() {
        let mut m = menu();
        assert_eq!(m.tick(), Action::Redraw);
        assert_eq!(m.tick(), Action::Redraw);
        assert_eq!(
            m.tick(),
            Action::Boot {
                index: 0,
                cmdline: None
            }
        );
        let mut m = menu();
        m.key(Key::Down);
        assert_eq!(m.tick(), Action::Nothing);
    }

    #[test]
    fn e_edits_the_command_line_once() {
        let mut m = menu();
        m.key(Key::Char('e'));
        for c in " quiet".chars() {
            m.key(Key::Char(c));
        }
        m.key(Key::Home);
        m.key(Key::Delete);
        m.key(Key::Char('R'));
        m.key(Key::End);
        m.key(Key::Backspace);
        assert_eq!(
            m.key(Key::Enter),
            Action::Boot {
                index: 0,
                cmdline: Some("Root=/dev/vda ro quie".to_string())
            }
        );
        assert!(m.editing.is_none());
        // No command line to edit on entry 1; Escape leaves the editor unchanged.
        m.key(Key::Down);
        assert_eq!(m.key(Key::Char('e')), Action::Nothing);
        m.key(Key::Up);
        m.key(Key::Char('e'));
        assert_eq!(m.key(Key::Escape), Action::Redraw);
        assert!(m.editing.is_none());
    }

    #[test]
    fn editor_can_be_disabled_and_keys_decode() {
        let mut m = Menu::new(vec!["a".to_string()], vec![Some("x".to_string())], 0, None, false);
        m.key(Key::Char('e'));
        assert!(m.editing.is_none());
        assert_eq!(Key::from_efi(0x02, 0), Some(Key::Down));
        assert_eq!(Key::from_efi(0, 0x0d), Some(Key::Enter));
        assert_eq!(Key::from_efi(0, u16::from(b'e')), Some(Key::Char('e')));
        assert_eq!(Key::from_efi(0x17, 0), Some(Key::Escape));
        assert_eq!(Key::from_efi(0, 0x01), None);
    }
}
