//! Whether the boot menu is shown, and for how long (loader.conf(5)'s
//! `timeout`, the Boot Loader Interface's `LoaderConfigTimeout[OneShot]`).
#![forbid(unsafe_code)]

use crate::bls::{LoaderConf, Timeout};

/// What happens before the first attempt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MenuDecision {
    /// Start the candidates in the plan's order at once.
    BootAtOnce,
    /// Show the menu; boot the first entry after `countdown` seconds
    /// (`None`: wait for a choice). `editor`: `e` may edit a command line.
    Show {
        /// Seconds until the first entry boots; `None`: wait for a choice.
        countdown: Option<u32>,
        /// Whether `e` may edit a command line.
        editor: bool,
    },
}

/// The menu shows when the OS asked for a timeout, or `loader.conf` sets one
/// (or `menu-force`), or a key was waiting when the boot manager started.
/// The OS's timeout wins over `loader.conf`'s.
pub fn menu_decision(requested_timeout: Option<u32>, conf: Option<&LoaderConf>, key_waiting: bool) -> MenuDecision {
    let timeout = match requested_timeout {
        Some(seconds) => Timeout::Seconds(seconds),
        None => conf.map_or(Timeout::MenuHidden, LoaderConf::timeout_or_default),
    };
    let countdown = match timeout {
        Timeout::Seconds(s) if s > 0 => Some(s),
        Timeout::MenuForce => None,
        // A waiting key shows the menu, even for `menu-disabled` (systemd-boot
        // would not): kept as it always was here.
        _ if key_waiting => None,
        _ => return MenuDecision::BootAtOnce,
    };
    MenuDecision::Show {
        countdown,
        editor: conf.is_none_or(|c| c.editor),
    }
}
