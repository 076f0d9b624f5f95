//! The firmware proper (bare-metal builds only).

use crate::{disks, efi_disks, efi_pci, efi_setup, persistent_variables, platform};

use alloc::boxed::Box;
use core::ops::Range;
use fw_arch::{Boot, Caching};
use fw_core::boot_info::{BootInfo, MAX_MODULES};
use fw_core::heap_region::{choose_heap, heap_size};
use log::{error, info};

#[global_allocator]
static HEAP: crate::heap::FirmwareHeap = crate::heap::FirmwareHeap::empty();

#[unsafe(no_mangle)]
fn firmware_main(boot: Boot) -> ! {
    platform::console_init(&boot);
    fw_core::logger::init(log_write);
    info!("hypervisor-fw {} ({})", env!("CARGO_PKG_VERSION"), env!("HVFW_TARGET"));

    #[cfg_attr(target_arch = "x86_64", allow(unused_mut))]
    let mut info = match boot {
        Ok(info) => info,
        Err(e) => {
            error!("cannot start: {e}");
            fw_arch::report_failure();
            fw_arch::halt();
        }
    };
    log_memory_map(&info);
    #[cfg(any(target_arch = "aarch64", target_arch = "riscv64"))]
    move_device_tree_up(&mut info);
    let heap = match init_heap(&info) {
        Ok(heap) => heap,
        Err(e) => {
            error!("cannot start: {e}");
            fw_arch::report_failure();
            fw_arch::halt();
        }
    };
    map_high_memory(&info);
    apply_switches(&info);
    run_test_hooks(&info);

    let found = platform::discover(&info, &mut alloc_page);
    efi_setup::init(&info, &heap);
    HEAP.init_runtime_arena();
    let started = Box::new(Started { info, found });
    #[cfg(target_arch = "x86_64")]
    move_to_big_stack(started);
    #[cfg(not(target_arch = "x86_64"))]
    boot_from_disks(started)
}

/// What the first part of [`firmware_main`] found, handed to [`boot_from_disks`].
struct Started {
    /// For the test hooks.
    #[cfg_attr(not(feature = "test-hooks"), allow(dead_code))]
    info: BootInfo,
    found: alloc::vec::Vec<platform::Disk>,
}

/// The stack the boot manager and EFI applications run on: twice the 128 KiB
/// UEFI 2.10 §2.3.4 promises applications, plus the guard page.
#[cfg(target_arch = "x86_64")]
const BIG_STACK_BYTES: u64 = 256 * 1024 + 4096;

/// On x86_64 the entry stack is small (it sits below 16 MiB, where a small VM's
/// kernel needs the room): the rest of the boot runs on a stack from the memory
/// map, at the top of RAM. If there is no memory for it, the boot goes on where it is.
#[cfg(target_arch = "x86_64")]
fn move_to_big_stack(started: Box<Started>) -> ! {
    use fw_core::memory::{AllocateType, MemoryType};
    let pages = BIG_STACK_BYTES / 4096;
    let base = fw_core::efi::BOOT.lock().memory.allocate_pages(
        AllocateType::MaxAddress(u32::MAX.into()),
        MemoryType::BootServicesData,
        pages,
    );
    match base {
        Ok(base) => {
            log::debug!("stack: moving to {:#x}-{:#x}", base, base + BIG_STACK_BYTES);
            // SAFETY: the pages were just allocated for good, below 4 GiB and
            // identity mapped; `boot_on_new_stack` takes the state through the pointer.
            unsafe {
                fw_arch::stack::run_on_stack(base, BIG_STACK_BYTES, boot_on_new_stack, Box::into_raw(started).cast())
            }
        }
        Err(e) => {
            log::warn!(
                "stack: no memory for a {} KiB stack ({e}); going on with the entry stack",
                BIG_STACK_BYTES >> 10
            );
            boot_from_disks(started)
        }
    }
}

#[cfg(target_arch = "x86_64")]
#[expect(
    clippy::cast_ptr_alignment,
    reason = "the pointer is a Box<Started>'s, passed as the *mut u8 that run_on_stack carries, so it is aligned"
)]
extern "C" fn boot_on_new_stack(started: *mut u8) -> ! {
    // SAFETY: `move_to_big_stack` passed the pointer of a leaked Box<Started>.
    boot_from_disks(unsafe { Box::from_raw(started.cast::<Started>()) })
}

/// The rest of the boot: disks, their EFI handles, variables, the boot manager.
fn boot_from_disks(started: Box<Started>) -> ! {
    let found = &started.found;
    let volumes = disks::scan(found);
    #[cfg(feature = "test-hooks")]
    crate::test_hooks::run(&started.info, &volumes, || {
        found
            .iter()
            .filter_map(|d| d.virtio.as_ref())
            .map(|v| v.requests_sent())
            .sum()
    });
    let pci = efi_pci::install_handles(platform::take_pci());
    let esps = efi_disks::install_handles(found, &volumes, &pci);
    persistent_variables::init(&esps);
    efi_setup::run_boot_manager();
    info!("nothing left to boot; the machine stays halted (power it off from the VMM)");
    fw_arch::halt()
}

/// Log lines go to the serial console and, once there is one, the screen.
fn log_write(bytes: &[u8]) {
    platform::console_write(bytes);
    fw_protocols::console::screen::mirror_log(bytes);
}

fn log_memory_map(info: &BootInfo) {
    info!("memory map from the VMM:");
    for r in info.regions() {
        info!("  {:#014x}-{:#014x} {}", r.start, r.end() - 1, r.kind);
    }
    info!(
        "RAM: {} MiB installed, {} MiB usable",
        info.installed_ram() >> 20,
        info.usable_ram() >> 20
    );
    let image = fw_arch::image_range();
    info!("firmware image at {:#x}-{:#x}", image.start, image.end - 1);
    if let Some(rsdp) = info.rsdp {
        info!("ACPI RSDP at {rsdp:#x}");
    }
    if let Some(fdt) = info.fdt {
        info!("device tree at {fdt:#x}");
    }
    if !info.cmdline().is_empty() {
        info!("command line: {}", info.cmdline());
    }
}

/// Moves a device tree the VMM put in the middle of RAM to the top (QEMU's
/// aarch64 `virt` puts it halfway up a small VM), so the RAM below stays in
/// one block for the kernel. Nothing has read the tree into memory of its
/// own yet, and every later reader asks `device_tree()` afresh.
#[cfg(any(target_arch = "aarch64", target_arch = "riscv64"))]
fn move_device_tree_up(info: &mut BootInfo) {
    let Some(tree) = info.fdt else { return };
    let Some(module) = info.modules().iter().find(|m| m.start == tree).copied() else {
        return;
    };
    let mut in_use: [Range<u64>; 1 + MAX_MODULES] = core::array::from_fn(|_| 0..0);
    in_use[0] = fw_arch::image_range();
    for (slot, m) in in_use[1..].iter_mut().zip(info.modules()) {
        *slot = m.start..m.start + m.size;
    }
    let Some(to) = fw_core::heap_region::device_tree_destination(info.regions(), &in_use, module.size) else {
        return;
    };
    if to.start <= tree {
        return;
    }
    // SAFETY: `to` is free RAM from the VMM's map (outside the image and every
    // module), identity mapped, and the heap that will use RAM is not set up yet.
    if unsafe { fw_arch::boot_tree::move_to(to.start) }.is_some() {
        info.move_module(tree, to.start);
        info!("device tree moved to {:#x} to keep RAM in one block", to.start);
    }
}

#[derive(Debug)]
enum StartError {
    NoHeap { size: u64 },
}

impl core::fmt::Display for StartError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            StartError::NoHeap { size } => {
                write!(f, "no free RAM below 4 GiB for the firmware's {} MiB heap", size >> 20)
            }
        }
    }
}

fn init_heap(info: &BootInfo) -> Result<Range<u64>, StartError> {
    // The heap must not cover the firmware image or a module the VMM loaded.
    let mut in_use: [Range<u64>; 1 + MAX_MODULES] = core::array::from_fn(|_| 0..0);
    in_use[0] = fw_arch::image_range();
    for (slot, m) in in_use[1..].iter_mut().zip(info.modules()) {
        *slot = m.start..m.start + m.size;
    }
    // The firmware's own data structures; EFI allocations come from the memory map.
    let size = heap_size(info.installed_ram());
    let range = choose_heap(info.regions(), &in_use, size).ok_or(StartError::NoHeap { size })?;
    #[cfg(target_arch = "x86_64")]
    clear_translated_code(&range);
    // SAFETY: the range is RAM from the VMM's map, outside the firmware image and
    // the modules, and nothing else uses it.
    unsafe { HEAP.init(&range) };
    log::debug!("heap at {:#x}-{:#x}", range.start, range.end);
    Ok(range)
}

/// Stores zeros over the whole heap once, before anything uses it.
///
/// Under QEMU's TCG, a PVH boot runs SeaBIOS first, and SeaBIOS relocates its
/// init code to the top of RAM, where the heap is. The emulator keeps those
/// pages marked as holding translated code after we start, and every store to
/// such a page takes its self-modifying-code slow path until every translation
/// in the page is gone: measured, the RSA-2048 verification of Secure Boot
/// (big numbers on the heap) took 90-240 ms instead of 2 ms. One store to
/// every byte drops the stale translations, for a few ms over the heap.
/// (SeaBIOS runs only on x86_64's PVH path.)
#[cfg(target_arch = "x86_64")]
fn clear_translated_code(range: &Range<u64>) {
    let len = (range.end - range.start) as usize;
    // SAFETY: the range is RAM from the VMM's map that `init_heap` chose for
    // the heap (outside the image and the modules), identity mapped, and
    // nothing uses it yet.
    unsafe { core::ptr::write_bytes(range.start as *mut u8, 0, len) };
}

/// A zeroed 4 KiB page from the heap, for page tables (never freed).
fn alloc_page() -> Option<u64> {
    let layout = core::alloc::Layout::from_size_align(4096, 4096).ok()?;
    // SAFETY: the layout is not zero-sized.
    let page = unsafe { alloc::alloc::alloc_zeroed(layout) };
    (!page.is_null()).then_some(page as u64)
}

/// On x86_64 makes what is not RAM below 4 GiB uncached. Maps RAM above 4 GiB (the x86_64 entry code mapped the first 4 GiB; the
/// aarch64 one mapped all RAM; riscv64 runs without paging).
fn map_high_memory(info: &BootInfo) {
    let top = info.ram_top();
    #[cfg(target_arch = "x86_64")]
    {
        let decide = |page: Range<u64>| fw_core::caching::page_caching(info.regions(), page);
        match fw_arch::set_low_caching(&decide, &mut alloc_page) {
            Ok(done) => log::debug!(
                "below 4 GiB: {} MiB uncached in 2 MiB pages, {} 2 MiB pages split ({} KiB uncached)",
                done.uncached_large * 2,
                done.split,
                done.uncached_small * 4
            ),
            Err(e) => error!("cannot map the devices below 4 GiB uncached: {e}"),
        }
    }
    if cfg!(target_arch = "x86_64") && top > 1 << 32 {
        if let Err(e) = fw_arch::identity_map(1 << 32, top, Caching::WriteBack, &mut alloc_page) {
            error!("cannot map RAM above 4 GiB: {e}");
        }
    }
}

/// Writes and restores the last 8 bytes of RAM, so the boot tests see that the
/// mapping reaches the top (test builds only: a release build leaves the OS's
/// memory untouched).
fn probe_ram_top(info: &BootInfo) {
    let top = info.ram_top();
    let last = (top - 8) as *mut u64;
    // SAFETY: the last 8 bytes of RAM are identity mapped and unused by anyone
    // else this early; the old value is restored.
    let readable = unsafe {
        let old = last.read_volatile();
        last.write_volatile(0x5a5a_1234_8765_a5a5);
        let ok = last.read_volatile() == 0x5a5a_1234_8765_a5a5;
        last.write_volatile(old);
        ok
    };
    info!(
        "highest RAM byte at {:#x} is {}",
        top - 1,
        if readable { "mapped" } else { "NOT writable" }
    );
}

/// Switches on the VMM's command line that change how the firmware runs (the
/// boot manager's own, `hvfw.linux=` and `hvfw.bls=`, become variables in `efi_setup`).
fn apply_switches(info: &BootInfo) {
    #[cfg(target_arch = "x86_64")]
    {
        use fw_arch::x86_64::tlb_warmup;
        if info.cmdline_has(tlb_warmup::OFF_SWITCH) {
            tlb_warmup::disable();
            info!("{}: images start without readying TCG's TLB", tlb_warmup::OFF_SWITCH);
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = info;
}

/// Test-only behaviour, asked for on the command line of a `test-hooks` build.
fn run_test_hooks(info: &BootInfo) {
    if !cfg!(feature = "test-hooks") {
        return;
    }
    probe_ram_top(info);
    if info.cmdline_has("hvfw.test=page-fault") {
        info!("test hook: reading an unmapped address");
        // SAFETY: deliberately unsound: the test checks the exception report.
        let value = unsafe { core::ptr::read_volatile(0x7e00_0000_0000u64 as *const u64) };
        info!("read {value}");
    }
    if info.cmdline_has("hvfw.test=stack-overflow") {
        info!("test hook: recursing until the stack overflows");
        info!("depth {}", recurse(0));
    }
    if info.cmdline_has("hvfw.test=panic") {
        panic!("test hook: deliberate panic");
    }
}

#[inline(never)]
fn recurse(depth: u64) -> u64 {
    let buffer = core::hint::black_box([depth; 64]);
    if depth == u64::MAX {
        return 0;
    }
    recurse(depth + 1) + buffer[3]
}
