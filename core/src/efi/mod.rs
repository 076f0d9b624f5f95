//! The EFI ABI edge: the system table, boot services and runtime services that
//! applications call (UEFI 2.10 §4, §7, §8).
//!
//! Each `extern "efiapi"` thunk turns raw pointers into checked Rust values once,
//! calls the safe logic in [`crate::memory`], [`crate::events`],
//! [`crate::handles`], [`crate::variables`], and turns the result into a
//! `Status`. Two rules keep it sound on one CPU without interrupts:
//! - boot-services state lives in [`BOOT`], runtime state in [`RUNTIME`]; a
//!   lock is never held while calling into an application (notification
//!   functions, image entry points, protocol functions);
//! - runtime services touch only [`RUNTIME`] and static data, never the heap,
//!   which belongs to the OS after ExitBootServices.

pub mod boot;
pub mod dispatch;
pub mod image;
pub mod memory_attributes;
pub mod protocol;
pub mod reset_notify;
pub mod runtime;
pub mod tables;
pub mod watchdog;

use crate::events::EventTable;
use crate::handles::Database;
use crate::memory::Memory;
use r_efi::efi;
use spin::Mutex;

/// What the platform (the firmware binary) provides to the services.
#[derive(Clone, Copy)]
pub struct Platform {
    /// Monotonic nanoseconds.
    pub now_ns: fn() -> u64,
    /// Called while boot services wait (WaitForEvent, Stall): polls the console.
    pub idle: fn(),
    /// Runs an image's entry point `(entry, handle, system table)`, saving the
    /// caller's registers in the context so that `exit_image` can return from
    /// this call with a status.
    pub enter_image: unsafe fn(u64, efi::Handle, *mut efi::SystemTable, *mut image::JumpContext) -> efi::Status,
    /// Returns from the `enter_image` call that saved the context.
    pub exit_image: unsafe fn(*mut image::JumpContext, efi::Status) -> !,
    /// Quiesces devices (DMA off) just before the OS takes over.
    pub exit_boot_services: fn(),
    /// Makes code just written at `(start, len)` visible to instruction
    /// fetch (LoadImage): aarch64 must clean the data cache and invalidate the
    /// instruction cache; x86 keeps them coherent itself.
    pub sync_code: fn(u64, usize),
    /// Called by StartImage just before a loaded image at `(base, len)` runs:
    /// lets the platform ready the CPU for it (x86_64 under QEMU's TCG grows
    /// the emulator's TLB, see `fw_arch::x86_64::tlb_warmup`).
    pub prepare_image: fn(u64, usize),
}

/// Boot-services state.
pub struct Boot {
    /// The memory map and the pool.
    pub memory: Memory,
    /// Events and timers, and the current TPL.
    pub events: EventTable,
    /// Handles, protocols and their opens.
    pub handles: Database,
    /// The count GetNextMonotonicCount returned last.
    pub monotonic_count: u64,
    /// The EXIT_BOOT_SERVICES group was signalled (only once, even if the
    /// first ExitBootServices call fails on a stale map key).
    pub exited_notified: bool,
    /// ExitBootServices succeeded: boot services are gone.
    pub exited: bool,
}

/// The boot-services state, behind the lock every boot service takes.
pub static BOOT: Mutex<Boot> = Mutex::new(Boot {
    memory: Memory::new(),
    events: EventTable::new(),
    handles: Database::new(),
    monotonic_count: 0,
    exited_notified: false,
    exited: false,
});

static PLATFORM: spin::Once<Platform> = spin::Once::new();

/// Sets the platform hooks; the first call wins.
pub fn set_platform(platform: Platform) {
    PLATFORM.call_once(|| platform);
}

pub(crate) fn platform() -> &'static Platform {
    PLATFORM
        .get()
        .expect("efi::set_platform must run before the services are used")
}

pub(crate) fn now_ns() -> u64 {
    (platform().now_ns)()
}

/// Turns a result into the status an application sees.
pub(crate) fn status_of<E>(result: Result<(), E>, to_status: impl FnOnce(&E) -> efi::Status) -> efi::Status {
    match result {
        Ok(()) => efi::Status::SUCCESS,
        Err(e) => to_status(&e),
    }
}

/// A pointer argument the caller must provide.
///
/// # Safety
/// A non-null `p` must be valid for writes of `T` (the EFI caller's contract).
pub(crate) unsafe fn out<'a, T>(p: *mut T) -> Result<&'a mut T, efi::Status> {
    // SAFETY: the caller's contract.
    unsafe { p.as_mut() }.ok_or(efi::Status::INVALID_PARAMETER)
}
