//! Built-in EFI applications: the boot manager, the Boot Loader Specification
//! loader and the Linux loaders. Filled in once the EFI runtime exists; empty until then.
#![no_std]
