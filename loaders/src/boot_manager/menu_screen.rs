//! The boot menu on the console: draws [`crate::menu::Menu`] and feeds it
//! keys and seconds until it picks an entry.

use crate::boot_plan::{Attempt, Candidate};
use crate::efi::Efi;
use crate::efi_print;
use crate::menu::{self, Action, Key};
use alloc::string::String;

/// Shows the menu until the user (or the countdown) picks a candidate.
pub fn run_menu(efi: &Efi, candidates: &[Candidate], countdown: Option<u32>, editor: bool) -> Attempt {
    let titles = candidates.iter().map(|c| c.title.clone()).collect();
    let cmdlines = candidates.iter().map(Candidate::cmdline).collect();
    let mut m = menu::Menu::new(titles, cmdlines, 0, countdown, editor);
    draw(efi, &m);
    // The countdown follows the firmware's clock: a 1 s periodic timer, not a
    // count of polls (each poll of the console costs VM exits, which take
    // far longer nested than on a host).
    let second = efi.periodic_timer(10_000_000);
    let mut polls = 0u32;
    loop {
        let action = match efi.read_key() {
            Some((scan, unicode)) => match Key::from_efi(scan, unicode) {
                Some(key) => m.key(key),
                None => Action::Nothing,
            },
            None => {
                efi.stall(10_000);
                polls += 1;
                let elapsed = match &second {
                    Some(timer) => timer.fired(),
                    // No timer event: count 100 polls of 10 ms as a second.
                    None => polls.is_multiple_of(100),
                };
                if elapsed {
                    m.tick()
                } else {
                    Action::Nothing
                }
            }
        };
        match action {
            Action::Nothing => {}
            Action::Redraw => draw(efi, &m),
            Action::Boot { index, cmdline } => {
                efi.set_attribute(0x07);
                efi.clear_screen();
                return Attempt { index, cmdline };
            }
        }
    }
}

fn draw(efi: &Efi, m: &menu::Menu) {
    efi.set_attribute(0x07);
    efi.clear_screen();
    efi_print!(efi, "hypervisor-fw boot menu\n\n");
    for (i, title) in m.titles.iter().enumerate() {
        if i == m.selected {
            efi.set_attribute(0x70);
            efi_print!(efi, "> {}. {title}", i + 1);
            efi.set_attribute(0x07);
            efi_print!(efi, "\n");
        } else {
            efi_print!(efi, "  {}. {title}\n", i + 1);
        }
    }
    efi_print!(efi, "\n");
    if let Some(editor) = &m.editing {
        let text: String = editor.text.iter().collect();
        efi_print!(efi, "Command line (Enter boots, Esc cancels):\n{text}\n");
    } else if let Some(s) = m.countdown {
        efi_print!(
            efi,
            "Booting entry {} in {s} s. Up/Down or 1-9 select, Enter boots, e edits.\n",
            m.selected + 1
        );
    } else {
        efi_print!(efi, "Up/Down or 1-9 select, Enter boots, e edits the command line.\n");
    }
}
