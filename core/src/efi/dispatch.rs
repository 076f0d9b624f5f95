//! Running notification functions and timers, with no lock held while an
//! application's function runs (UEFI 2.10 §7.1, "Event, Timer, and Task
//! Priority Services").

use super::{now_ns, platform, BOOT};
use crate::events::EventId;
use r_efi::efi;

/// Signals the timers that are due, and fires the watchdog if it expired.
pub fn poll_timers() {
    let now = now_ns();
    BOOT.lock().events.poll_timers(now);
    super::watchdog::poll();
}

/// Runs every queued notification whose TPL is above the current one, highest
/// first, each at its own TPL.
pub fn run_notifications() {
    loop {
        let (notification, previous) = {
            let mut boot = BOOT.lock();
            let Some(n) = boot.events.next_notification() else {
                return;
            };
            let previous = boot.events.current_tpl();
            boot.events.set_tpl(n.tpl);
            (n, previous)
        };
        // SAFETY: CreateEvent checked that the function pointer is not null; it is
        // the application's EFI_EVENT_NOTIFY and is called with the arguments it
        // registered.
        unsafe {
            let function: efi::EventNotify = core::mem::transmute::<usize, efi::EventNotify>(notification.function);
            function(
                notification.event.0 as efi::Event,
                notification.context as *mut core::ffi::c_void,
            );
        }
        BOOT.lock().events.set_tpl(previous);
    }
}

/// One turn of the idle loop: the platform polls its devices (the console may
/// signal WaitForKey), timers fire, and notifications run.
pub fn idle() {
    (platform().idle)();
    poll_timers();
    run_notifications();
}

/// Signals an event from firmware code (the console's WaitForKey, ...).
pub fn signal(event: EventId) {
    let _ = BOOT.lock().events.signal(event);
    run_notifications();
}
