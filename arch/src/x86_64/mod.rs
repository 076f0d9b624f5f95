//! x86_64: PVH entry (Xen's `hvm_start_info` ABI as QEMU and Cloud Hypervisor
//! implement it), long mode, GDT/TSS, IDT, identity paging.

pub mod hypervisor;
pub mod kvmclock;
pub mod pvh;

#[cfg(target_os = "none")]
pub mod efi_calls;
#[cfg(target_os = "none")]
mod exceptions;
#[cfg(target_os = "none")]
mod gdt;
#[cfg(target_os = "none")]
pub mod hpet;
#[cfg(target_os = "none")]
pub use fw_port_io as io;
#[cfg(target_os = "none")]
mod msr;
#[cfg(target_os = "none")]
pub mod paging;
#[cfg(target_os = "none")]
pub mod random;
#[cfg(target_os = "none")]
pub mod stack;
#[cfg(target_os = "none")]
mod start;
#[cfg(target_os = "none")]
pub mod time;
pub mod tlb_warmup;

#[cfg(target_os = "none")]
pub use paging::set_low_caching;
#[cfg(target_os = "none")]
pub use start::{halt, report_failure, Boot};

#[cfg(target_os = "none")]
core::arch::global_asm!(include_str!("entry.s"), options(att_syntax));
