//! Built-in EFI applications: the boot manager (its decisions in the pure,
//! host-tested [`boot_plan`], its EFI calls in [`boot_manager`]), the Boot
//! Loader Specification and the Linux loaders.
//!
//! They are compiled into the firmware but see only what an application on disk
//! sees: the image handle and the system table they are started with, through
//! `uefi-raw` types. The firmware starts them with its own StartImage.
#![no_std]

extern crate alloc;
#[cfg(test)]
extern crate std;

pub mod bls;
pub mod boot_loader_interface;
pub mod boot_manager;
pub mod boot_plan;
pub mod devicetree;
pub mod efi;
pub mod fs;
pub mod linux;
pub mod load_option;
pub mod menu;
pub mod path;
pub mod status;
