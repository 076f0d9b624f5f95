//! Where console keys come from besides the serial line: keyboards (PS/2,
//! virtio-input). Every source feeds the same key queue ([`super::input`]),
//! so the serial console and the keyboards work at the same time and an
//! application cannot tell which one a key came from.
//!
//! The lock state (Caps, Num, Scroll Lock and whether partial keys are
//! exposed, UEFI 2.10 §12.2.3 EFI_KEY_TOGGLE_STATE) is the console's: a lock
//! key on any keyboard changes it, SetState sets it, and every keyboard is
//! told so that its LEDs and its letters follow.
#![forbid(unsafe_code)]

use super::keys::Key;

/// A source of keys the console polls.
pub trait KeySource: Send + Sync {
    /// Moves the keys that have arrived into `emit`; never blocks. `toggles`
    /// is the console's toggle state (EFI bits); lock keys change it.
    fn poll(&self, toggles: &mut u8, emit: &mut dyn FnMut(Key));
    /// The console's toggle state changed (SetState, another keyboard).
    fn show_toggles(&self, toggles: u8);
    /// Input Reset: forget keys held down and partial sequences.
    fn reset(&self);
}
