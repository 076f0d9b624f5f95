//! Drivers behind small traits. Register-level code takes an access trait so that
//! its logic runs on the host against a model of the device.
#![no_std]

extern crate alloc;
#[cfg(test)]
extern crate std;

pub mod block;
pub mod uart;
