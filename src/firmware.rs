//! The firmware proper (bare-metal builds only).

use crate::{disks, efi_disks, efi_pci, efi_setup, persistent_variables, platform};

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
    fw_core::logger::init(platform::console_write);
    info!("hypervisor-fw {} ({})", env!("CARGO_PKG_VERSION"), env!("HVFW_TARGET"));

    let info = match boot {
        Ok(info) => info,
        Err(e) => {
            error!("cannot start: {e}");
            fw_arch::report_failure();
            fw_arch::halt();
        }
    };
    log_memory_map(&info);
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
    let volumes = disks::scan(&found);
    #[cfg(feature = "test-hooks")]
    crate::test_hooks::run(&info, &volumes, || {
        found
            .iter()
            .filter_map(|d| d.virtio.as_ref())
            .map(|v| v.requests_sent())
            .sum()
    });
    let pci = efi_pci::install_handles(platform::take_pci());
    let esps = efi_disks::install_handles(&found, &volumes, &pci);
    persistent_variables::init(&esps);
    efi_setup::run_boot_manager();
    info!("nothing left to boot; the machine stays halted (power it off from the VMM)");
    fw_arch::halt()
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
    // SAFETY: the range is RAM from the VMM's map, outside the firmware image and
    // the modules, and nothing else uses it.
    unsafe { HEAP.init(&range) };
    log::debug!("heap at {:#x}-{:#x}", range.start, range.end);
    Ok(range)
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
