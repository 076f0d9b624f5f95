//! The protocol instances a module handed out, so that a function called with
//! `This` can tell one of its own instances from any other pointer before it
//! turns the pointer back into its Rust struct (UEFI 2.10 §2.3: the protocol
//! is the first field of a `#[repr(C)]` struct, as in EDK2's CR() macro).
//! Instances are leaked and never freed, so a registered address stays valid.

use alloc::vec::Vec;
use core::marker::PhantomData;
use spin::Mutex;

/// The addresses of leaked `T`s.
pub struct Instances<T> {
    addresses: Mutex<Vec<usize>>,
    _of: PhantomData<fn() -> T>,
}

impl<T: Sync + 'static> Instances<T> {
    pub const fn new() -> Instances<T> {
        Instances {
            addresses: Mutex::new(Vec::new()),
            _of: PhantomData,
        }
    }

    /// Records a leaked instance.
    pub fn register(&self, instance: &'static T) {
        self.addresses.lock().push(core::ptr::from_ref::<T>(instance) as usize);
    }

    /// Leaks `value` (it lives as long as boot services) and records it.
    pub fn leak(&self, value: T) -> &'static T {
        let instance: &'static T = alloc::boxed::Box::leak(alloc::boxed::Box::new(value));
        self.register(instance);
        instance
    }

    /// The instance at `this`, if it was registered here.
    pub fn find<P>(&self, this: *mut P) -> Option<&'static T> {
        if !self.addresses.lock().contains(&(this as usize)) {
            return None;
        }
        // SAFETY: only addresses of leaked, never-freed `T`s are registered,
        // and `this` is one of them.
        Some(unsafe { &*(this as *const T) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::boxed::Box;

    #[test]
    fn only_registered_instances_are_found() {
        static REGISTRY: Instances<u64> = Instances::new();
        let mine: &'static u64 = Box::leak(Box::new(7));
        REGISTRY.register(mine);
        assert_eq!(REGISTRY.find(core::ptr::from_ref::<u64>(mine) as *mut u8), Some(&7));
        let other: &'static u64 = Box::leak(Box::new(7));
        assert!(REGISTRY.find(core::ptr::from_ref::<u64>(other) as *mut u8).is_none());
        assert!(REGISTRY.find(core::ptr::null_mut::<u8>()).is_none());
    }
}
