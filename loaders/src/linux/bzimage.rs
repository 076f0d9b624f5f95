//! Booting a bzImage with the x86 64-bit boot protocol (Linux
//! `Documentation/arch/x86/boot.rst`, "64-bit Boot Protocol"): the firmware
//! itself places the protected-mode kernel, the initrd, the command line and
//! `boot_params`, exits boot services (UEFI 2.10 §7.4.6) and jumps to the
//! 64-bit entry point with %rsi = `boot_params`.
//!
//! The kernel still finds EFI: `boot_params.efi_info` names the system table and
//! the final memory map, so it uses the runtime services and calls
//! SetVirtualAddressMap itself, as after its own EFI stub.
//!
//! Addresses are physical and used as pointers: the firmware identity-maps RAM.
//! What is only arithmetic is in [`super::setup_header`], [`super::boot_params`],
//! [`super::e820`] and [`super::placement`]; this file is the firmware glue.

use super::boot_params::BootParams;
use super::e820::{self, E820Entry, E820_MAX_ENTRIES_ZEROPAGE};
use super::initrd::{self, InitrdSource};
use super::placement::{self, pages_for, BELOW_4G, PAGE_SIZE};
use super::setup_header::{SetupHeader, ENTRY_64_OFFSET};
use super::{cmdline, LinuxError};
use crate::efi::{Efi, MemoryMapInfo};
use crate::efi_print;
use alloc::vec::Vec;
use core::convert::Infallible;
use uefi_raw::table::boot::{AllocateType, MemoryType};
use uefi_raw::{guid, Guid, Status};

/// EFI_ACPI_20_TABLE_GUID (UEFI 2.10 §4.6.1): the RSDP of ACPI 2.0 and later.
pub const ACPI_20_TABLE_GUID: Guid = guid!("8868e871-e4f1-11d3-bc22-0080c73c8881");
/// ACPI_TABLE_GUID: an ACPI 1.0 RSDP.
pub const ACPI_TABLE_GUID: Guid = guid!("eb9d2d30-2d88-11d3-9a16-0090273fc14d");

/// Descriptors of room left in the memory-map buffer: allocating it, and the
/// firmware between GetMemoryMap calls, may add a few.
const MEMORY_MAP_SLACK_DESCRIPTORS: usize = 32;

/// Boots `kernel` (a bzImage) with the x86 64-bit boot protocol.
///
/// - `initrds`: concatenated in order into one ramdisk, below the kernel's
///   `initrd_addr_max` unless it sets XLF_CAN_BE_LOADED_ABOVE_4G.
/// - `cmdline`: passed as bytes, at most the kernel's `cmdline_size`.
///
/// Does not return on success: boot services are gone and the kernel runs. An
/// `Err` comes back only from before ExitBootServices succeeded, with every
/// page allocated here freed again; boot services are then still usable.
/// On anything but x86_64 it returns [`LinuxError::UnsupportedArchitecture`].
///
/// ```text
/// let err = linux::boot_bzimage(&efi, &kernel, &[&initrd], "console=ttyS0 root=/dev/vda1").unwrap_err();
/// ```
pub fn boot_bzimage<P: InitrdSource>(
    efi: &Efi,
    kernel: &[u8],
    initrds: &[P],
    cmdline: &str,
) -> Result<Infallible, LinuxError> {
    if !cfg!(target_arch = "x86_64") {
        return Err(LinuxError::UnsupportedArchitecture);
    }
    let header = SetupHeader::parse(kernel)?;
    let cmd = cmdline::boot_protocol_bytes(cmdline, header.cmdline_size)?;
    let mut pages = Pages { efi, list: Vec::new() };
    let mut bp = BootParams::new(header.header_bytes(kernel));
    bp.set_loader();

    let kernel_addr = place_kernel(&mut pages, &header, kernel)?;
    let protected_mode = header.protected_mode(kernel);
    // SAFETY: `kernel_addr` starts pages we own, at least load_size >= the
    // protected-mode part long, identity-mapped.
    unsafe { core::ptr::copy_nonoverlapping(protected_mode.as_ptr(), kernel_addr as *mut u8, protected_mode.len()) };

    let cmd_addr = pages.allocate(
        "command line",
        AllocateType::MAX_ADDRESS,
        pages_for(cmd.len() as u64),
        BELOW_4G,
    )?;
    // SAFETY: pages we own, at least `cmd.len()` bytes.
    unsafe { core::ptr::copy_nonoverlapping(cmd.as_ptr(), cmd_addr as *mut u8, cmd.len()) };
    bp.set_cmd_line(cmd_addr);

    let initrd_len = initrd::total_len(initrds) as u64;
    if initrd_len > 0 {
        let addr = pages.allocate(
            "initrd",
            AllocateType::MAX_ADDRESS,
            pages_for(initrd_len),
            header.initrd_max_address(),
        )?;
        // SAFETY: pages we own, identity mapped, at least `initrd_len` bytes.
        let ramdisk = unsafe { core::slice::from_raw_parts_mut(addr as *mut u8, initrd_len as usize) };
        initrd::read_all(initrds, ramdisk).map_err(LinuxError::ReadInitrd)?;
        bp.set_ramdisk(addr, initrd_len);
    }

    if let Some(rsdp) = efi
        .configuration_table(&ACPI_20_TABLE_GUID)
        .or_else(|| efi.configuration_table(&ACPI_TABLE_GUID))
    {
        bp.set_acpi_rsdp(rsdp as u64);
    }
    let bp_addr = pages.allocate("boot_params", AllocateType::MAX_ADDRESS, 1, BELOW_4G)?;

    let (map_size, desc_size) = efi.memory_map_size().map_err(LinuxError::MemoryMap)?;
    let map_len = map_size + MEMORY_MAP_SLACK_DESCRIPTORS * desc_size.max(e820::EFI_MEMORY_DESCRIPTOR_MIN_SIZE);
    let map_pages = pages_for(map_len as u64);
    let map_addr = pages.allocate("memory map", AllocateType::ANY_PAGES, map_pages, 0)?;
    // SAFETY: pages we own; they stay ours (as loader data) through the
    // kernel's start, which reads the map from efi_info.
    let map_buf = unsafe { core::slice::from_raw_parts_mut(map_addr as *mut u8, (map_pages * PAGE_SIZE) as usize) };

    // A trial conversion while errors can still be reported.
    let mut table = [E820Entry::default(); E820_MAX_ENTRIES_ZEROPAGE];
    let info = efi.memory_map(map_buf).map_err(LinuxError::MemoryMap)?;
    let trial = e820::from_efi_map(e820::efi_regions(&map_buf[..info.size], info.desc_size), &mut table);
    if trial.dropped > 0 {
        return Err(LinuxError::TooManyE820Entries { dropped: trial.dropped });
    }

    let entry = kernel_addr + ENTRY_64_OFFSET;
    let system_table = efi.system_table_address();
    efi_print!(
        efi,
        "Linux: bzImage protocol {}.{:02} at {kernel_addr:#x}, entry {entry:#x}, boot_params {bp_addr:#x}\n",
        header.version >> 8,
        header.version & 0xff
    );
    drop(cmd);

    let info = exit_boot_services(efi, map_buf)?;
    // Boot services are gone: from here on nothing may allocate, free or fail.
    core::mem::forget(pages);

    let conv = e820::from_efi_map(e820::efi_regions(&map_buf[..info.size], info.desc_size), &mut table);
    bp.set_e820(&table[..conv.count]);
    bp.set_efi_info(
        system_table,
        map_addr,
        info.size as u32,
        info.desc_size as u32,
        info.desc_version,
    );
    // SAFETY: the boot_params page is ours and 4096 bytes long.
    unsafe { core::ptr::copy_nonoverlapping(bp.as_bytes().as_ptr(), bp_addr as *mut u8, bp.as_bytes().len()) };
    // SAFETY: the kernel is in place at `kernel_addr`, `bp_addr` holds its
    // boot_params, boot services have exited and RAM is identity-mapped.
    unsafe { jump_to_kernel(entry, bp_addr) }
}

/// GetMemoryMap + ExitBootServices into `map_buf`, once more if the map
/// changed in between (§7.4.6 allows the retry).
fn exit_boot_services(efi: &Efi, map_buf: &mut [u8]) -> Result<MemoryMapInfo, LinuxError> {
    let info = efi.memory_map(map_buf).map_err(LinuxError::MemoryMap)?;
    if efi.exit_boot_services(info.map_key).is_ok() {
        return Ok(info);
    }
    let info = efi.memory_map(map_buf).map_err(LinuxError::MemoryMap)?;
    efi.exit_boot_services(info.map_key)
        .map_err(LinuxError::ExitBootServices)?;
    Ok(info)
}

/// Loads at `pref_address` if free (required for a non-relocatable kernel),
/// else at any `kernel_alignment`-aligned address below 4 GiB.
fn place_kernel(pages: &mut Pages, header: &SetupHeader, kernel: &[u8]) -> Result<u64, LinuxError> {
    let count = pages_for(header.load_size(kernel));
    let align = u64::from(header.kernel_alignment);
    let pref = header.pref_address;
    let pref_usable = pref != 0 && (placement::is_aligned(pref, align) || !header.relocatable_kernel);
    if pref_usable {
        match pages.allocate(KERNEL, AllocateType::ADDRESS, count, pref) {
            Ok(addr) => return Ok(addr),
            Err(e) if !header.relocatable_kernel => return Err(e),
            Err(_) => {}
        }
    }
    pages.allocate_aligned(KERNEL, count, align, BELOW_4G)
}

/// The name of the kernel's allocation (also in error messages).
const KERNEL: &str = "kernel";

/// Pages allocated for the kernel, freed again unless the kernel starts.
struct Pages<'e> {
    efi: &'e Efi,
    list: Vec<(u64, u64)>,
}

impl Pages<'_> {
    fn allocate(&mut self, what: &'static str, ty: AllocateType, count: u64, address: u64) -> Result<u64, LinuxError> {
        // The kernel is code; everything else it only reads.
        let memory_type = if what == KERNEL {
            MemoryType::LOADER_CODE
        } else {
            MemoryType::LOADER_DATA
        };
        let err = |status| LinuxError::Allocate {
            what,
            pages: count,
            status,
        };
        let n = usize::try_from(count).map_err(|_| err(Status::OUT_OF_RESOURCES))?;
        let addr = self.efi.allocate_pages(ty, memory_type, n, address).map_err(err)?;
        self.list.push((addr, count));
        Ok(addr)
    }

    /// `count` pages aligned to `align`, ending at or below `max_address`:
    /// over-allocate, then give back the unaligned head and the unused tail.
    fn allocate_aligned(
        &mut self,
        what: &'static str,
        count: u64,
        align: u64,
        max_address: u64,
    ) -> Result<u64, LinuxError> {
        let err = |status| LinuxError::Allocate {
            what,
            pages: count,
            status,
        };
        let total = placement::over_allocation(count, align).ok_or(err(Status::OUT_OF_RESOURCES))?;
        let n = usize::try_from(total).map_err(|_| err(Status::OUT_OF_RESOURCES))?;
        let base = self
            .efi
            .allocate_pages(AllocateType::MAX_ADDRESS, MemoryType::LOADER_CODE, n, max_address)
            .map_err(err)?;
        let Some(trim) = placement::trim(base, total, count, align) else {
            let _ = self.efi.free_pages(base, n);
            return Err(err(Status::OUT_OF_RESOURCES));
        };
        if trim.head_pages > 0 {
            let _ = self.efi.free_pages(base, trim.head_pages as usize);
        }
        if trim.tail_pages > 0 {
            let _ = self.efi.free_pages(trim.tail_start, trim.tail_pages as usize);
        }
        self.list.push((trim.aligned, count));
        Ok(trim.aligned)
    }
}

impl Drop for Pages<'_> {
    fn drop(&mut self) {
        for &(addr, count) in &self.list {
            let _ = self.efi.free_pages(addr, count as usize);
        }
    }
}

/// The GDT the 64-bit boot protocol asks for: __BOOT_CS (0x10) a flat 64-bit
/// code segment, __BOOT_DS (0x18) a flat read/write data segment.
#[cfg(target_arch = "x86_64")]
#[repr(C, align(8))]
struct BootGdt([u64; 4]);

#[cfg(target_arch = "x86_64")]
static BOOT_GDT: BootGdt = BootGdt([0, 0, 0x00AF_9A00_0000_FFFF, 0x00CF_9200_0000_FFFF]);

/// Enters the kernel as boot.rst's "64-bit Boot Protocol" says: interrupts
/// off, a GDT with __BOOT_CS = 0x10 and __BOOT_DS = 0x18 loaded, CS = 0x10
/// and DS/ES/SS = 0x18, %rsi = `boot_params`, jump to `entry` (load address +
/// 0x200). The kernel sets up its own stack and GDT at once; ours (a static
/// of the firmware) only has to last its first instructions.
///
/// # Safety
/// The kernel and `boot_params` are in place, boot services have exited, and
/// the current page tables identity-map them.
#[cfg(target_arch = "x86_64")]
unsafe fn jump_to_kernel(entry: u64, boot_params: u64) -> ! {
    let base = core::ptr::from_ref::<BootGdt>(&BOOT_GDT) as u64;
    let limit = (core::mem::size_of::<BootGdt>() - 1) as u16;
    // The 10-byte pseudo-descriptor LGDT reads: limit, then base.
    let gdtr: [u16; 5] = [
        limit,
        base as u16,
        (base >> 16) as u16,
        (base >> 32) as u16,
        (base >> 48) as u16,
    ];
    // SAFETY: the caller's contract; the block never returns, so the registers
    // it changes (rcx as scratch, segments) matter to no Rust code after it.
    unsafe {
        core::arch::asm!(
            "cli",
            "lgdt [{gdtr}]",
            "push 0x10",
            "lea rcx, [rip + 2f]",
            "push rcx",
            "retfq",
            "2:",
            "mov ecx, 0x18",
            "mov ds, ecx",
            "mov es, ecx",
            "mov ss, ecx",
            "jmp {entry}",
            gdtr = in(reg) gdtr.as_ptr(),
            entry = in(reg) entry,
            in("rsi") boot_params,
            in("rcx") 0u64,
            options(noreturn)
        )
    }
}

#[cfg(not(target_arch = "x86_64"))]
unsafe fn jump_to_kernel(_entry: u64, _boot_params: u64) -> ! {
    // boot_bzimage refuses other architectures before getting here.
    loop {
        core::hint::spin_loop();
    }
}
