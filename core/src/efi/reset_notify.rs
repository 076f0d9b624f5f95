//! The functions EFI_RESET_NOTIFICATION_PROTOCOL registers (UEFI 2.10 §8.5.1:
//! RegisterResetNotify, UnregisterResetNotify) and their calls by ResetSystem
//! before the platform resets.
//!
//! The functions live in their programs' boot-services memory, which the OS
//! owns after ExitBootServices: they are called only while boot services run,
//! and the list (on the heap) is not touched afterwards.

use alloc::vec::Vec;
use core::ffi::c_void;
use r_efi::efi;
use spin::Mutex;

/// EFI_RESET_SYSTEM: what a reset notification function looks like.
pub type ResetNotify = extern "efiapi" fn(efi::ResetType, efi::Status, usize, *mut c_void);

/// Why a registration change was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Error {
    /// RegisterResetNotify with a function already registered.
    AlreadyRegistered {
        /// The function's address.
        function: usize,
    },
    /// UnregisterResetNotify with a function not registered.
    NotRegistered {
        /// The function's address.
        function: usize,
    },
}

impl Error {
    /// The status §8.5.1 names for it.
    pub fn status(&self) -> efi::Status {
        match self {
            Error::AlreadyRegistered { .. } => efi::Status::ALREADY_STARTED,
            Error::NotRegistered { .. } => efi::Status::INVALID_PARAMETER,
        }
    }
}

impl core::fmt::Display for Error {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Error::AlreadyRegistered { function } => write!(f, "reset notify {function:#x} is already registered"),
            Error::NotRegistered { function } => write!(f, "reset notify {function:#x} is not registered"),
        }
    }
}

/// Registered functions in registration order, compared by address.
#[derive(Default)]
pub struct ResetNotifications {
    functions: Vec<ResetNotify>,
}

impl ResetNotifications {
    /// No functions registered.
    pub const fn new() -> ResetNotifications {
        ResetNotifications { functions: Vec::new() }
    }

    fn position(&self, function: ResetNotify) -> Option<usize> {
        self.functions.iter().position(|&f| f as usize == function as usize)
    }

    /// RegisterResetNotify: adds `function`, unless it is there already.
    pub fn register(&mut self, function: ResetNotify) -> Result<(), Error> {
        if self.position(function).is_some() {
            return Err(Error::AlreadyRegistered {
                function: function as usize,
            });
        }
        self.functions.push(function);
        Ok(())
    }

    /// UnregisterResetNotify: removes `function`, if it is there.
    pub fn unregister(&mut self, function: ResetNotify) -> Result<(), Error> {
        let index = self.position(function).ok_or(Error::NotRegistered {
            function: function as usize,
        })?;
        self.functions.remove(index);
        Ok(())
    }

    /// A copy to call from, so that no lock is held while they run (and a
    /// function may unregister itself).
    pub fn snapshot(&self) -> Vec<ResetNotify> {
        self.functions.clone()
    }
}

static NOTIFICATIONS: Mutex<ResetNotifications> = Mutex::new(ResetNotifications::new());

/// RegisterResetNotify.
pub fn register(function: ResetNotify) -> Result<(), Error> {
    NOTIFICATIONS.lock().register(function)
}

/// UnregisterResetNotify.
pub fn unregister(function: ResetNotify) -> Result<(), Error> {
    NOTIFICATIONS.lock().unregister(function)
}

/// Calls every registered function with ResetSystem's arguments, with no lock
/// held. Called by ResetSystem only while boot services run.
pub(crate) fn notify(kind: efi::ResetType, status: efi::Status, size: usize, data: *mut c_void) {
    let functions = NOTIFICATIONS.lock().snapshot();
    for function in functions {
        function(kind, status, size, data);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::sync::atomic::{AtomicUsize, Ordering};

    extern "efiapi" fn first(_: efi::ResetType, _: efi::Status, _: usize, _: *mut c_void) {}
    extern "efiapi" fn second(_: efi::ResetType, _: efi::Status, _: usize, _: *mut c_void) {}

    #[test]
    fn a_function_registers_once_and_unregisters_once() {
        let mut list = ResetNotifications::new();
        assert_eq!(list.register(first), Ok(()));
        assert_eq!(
            list.register(first).map_err(|e| e.status()),
            Err(efi::Status::ALREADY_STARTED)
        );
        assert_eq!(list.register(second), Ok(()));
        assert_eq!(list.unregister(first), Ok(()));
        assert_eq!(
            list.unregister(first).map_err(|e| e.status()),
            Err(efi::Status::INVALID_PARAMETER)
        );
        assert_eq!(list.snapshot().len(), 1);
        assert_eq!(list.snapshot()[0] as usize, second as ResetNotify as usize);
    }

    static CALLS: AtomicUsize = AtomicUsize::new(0);
    extern "efiapi" fn counting(kind: efi::ResetType, status: efi::Status, size: usize, _: *mut c_void) {
        assert_eq!((kind, status, size), (efi::RESET_COLD, efi::Status::ABORTED, 0));
        // Unregistering itself must not deadlock: no lock is held here.
        assert_eq!(unregister(counting), Ok(()));
        CALLS.fetch_add(1, Ordering::SeqCst);
    }

    #[test]
    fn notify_calls_registered_functions_without_holding_the_lock() {
        register(counting).unwrap();
        notify(efi::RESET_COLD, efi::Status::ABORTED, 0, core::ptr::null_mut());
        assert_eq!(CALLS.load(Ordering::SeqCst), 1);
        // It unregistered itself: a second reset does not call it.
        notify(efi::RESET_COLD, efi::Status::ABORTED, 0, core::ptr::null_mut());
        assert_eq!(CALLS.load(Ordering::SeqCst), 1);
    }
}
