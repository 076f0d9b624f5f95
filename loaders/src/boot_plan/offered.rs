//! Which `Boot####` stands for a target the boot manager found (a
//! removable-media file, the BLS entries), so that the OS sees it and
//! `BootCurrent` names it, as OVMF does: an option with the same device path
//! is reused, else the first free number gets a new one.
#![forbid(unsafe_code)]

use alloc::vec::Vec;

/// `Boot####` numbers searched: 0000 to 00FF.
pub const OFFERED_NUMBERS: u16 = 0x100;

/// The number for a target.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Offer {
    /// An option with the same device path exists.
    Existing(u16),
    /// No option has the path: write a new one under this number.
    New(u16),
}

/// The options found (number and device path) and the offers made so far.
#[derive(Clone, Debug, Default)]
pub struct OfferedOptions {
    options: Vec<(u16, Vec<u8>)>,
}

impl OfferedOptions {
    /// Starts from the readable `Boot####` options below [`OFFERED_NUMBERS`].
    pub fn new(options: Vec<(u16, Vec<u8>)>) -> OfferedOptions {
        OfferedOptions { options }
    }

    /// The number for `path`; `in_use(n)` says whether a `Boot####`
    /// variable exists (unreadable ones included). `None`: every number is taken.
    pub fn offer(&self, path: &[u8], in_use: impl Fn(u16) -> bool) -> Option<Offer> {
        if let Some((n, _)) = self.options.iter().find(|(_, p)| p.as_slice() == path) {
            return Some(Offer::Existing(*n));
        }
        (0..OFFERED_NUMBERS)
            .find(|&n| !self.options.iter().any(|(e, _)| *e == n) && !in_use(n))
            .map(Offer::New)
    }

    /// Records a new option once it is written.
    pub fn written(&mut self, number: u16, path: &[u8]) {
        self.options.push((number, path.to_vec()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    #[test]
    fn an_option_with_the_same_path_is_reused_else_the_first_free_number_is_taken() {
        let mut offered = OfferedOptions::new(vec![(0, vec![1]), (1, vec![2])]);
        assert_eq!(offered.offer(&[2], |_| true), Some(Offer::Existing(1)));
        // Boot0002 exists but does not parse: it is in use all the same.
        let in_use = |n: u16| n <= 2;
        assert_eq!(offered.offer(&[3], in_use), Some(Offer::New(3)));
        offered.written(3, &[3]);
        assert_eq!(offered.offer(&[3], in_use), Some(Offer::Existing(3)));
        assert_eq!(offered.offer(&[4], in_use), Some(Offer::New(4)));
        assert_eq!(offered.offer(&[4], |_| true), None, "every number taken");
    }
}
