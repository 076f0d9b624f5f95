//! `struct boot_params`, the "zero page" of the x86 boot protocol (Linux
//! `Documentation/arch/x86/zero-page.rst` for the layout,
//! `Documentation/arch/x86/boot.rst` for what a boot loader fills in): a
//! 4096-byte page built as bytes at the documented offsets, so its layout does
//! not depend on a Rust struct matching C packing.
#![forbid(unsafe_code)]

use super::e820::{E820Entry, E820_MAX_ENTRIES_ZEROPAGE};
use super::setup_header::{
    CAN_USE_HEAP, OFF_CMD_LINE_PTR, OFF_HEAP_END_PTR, OFF_LOADFLAGS, OFF_RAMDISK_IMAGE, OFF_RAMDISK_SIZE,
    OFF_TYPE_OF_LOADER, SETUP_HEADER_LIMIT, SETUP_HEADER_OFFSET,
};
use fw_bytes::LeFields;

/// The zero page is one page.
pub const BOOT_PARAMS_SIZE: usize = 4096;

/// zero-page.rst offsets.
pub const OFF_ACPI_RSDP_ADDR: usize = 0x070;
/// `ext_ramdisk_image`: the initrd address's high 32 bits.
pub const OFF_EXT_RAMDISK_IMAGE: usize = 0x0C0;
/// `ext_ramdisk_size`: the initrd size's high 32 bits.
pub const OFF_EXT_RAMDISK_SIZE: usize = 0x0C4;
/// `ext_cmd_line_ptr`: the command line address's high 32 bits.
pub const OFF_EXT_CMD_LINE_PTR: usize = 0x0C8;
/// `efi_info`: where the kernel finds the system table and memory map.
pub const OFF_EFI_INFO: usize = 0x1C0;
/// `e820_entries`: how many entries `e820_table` holds.
pub const OFF_E820_ENTRIES: usize = 0x1E8;
/// `sentinel`: the kernel clears `boot_params` if a loader left this non-zero.
pub const OFF_SENTINEL: usize = 0x1EF;
/// `e820_table`: the memory map, up to 128 entries.
pub const OFF_E820_TABLE: usize = 0x2D0;
/// One `struct boot_e820_entry`.
pub const E820_ENTRY_SIZE: usize = 20;

/// `struct efi_info` fields, relative to [`OFF_EFI_INFO`]
/// (`arch/x86/include/uapi/asm/bootparam.h`).
pub const EFI_INFO_LOADER_SIGNATURE: usize = 0x00;
/// `efi_systab`: the system table's address, low 32 bits.
pub const EFI_INFO_SYSTAB: usize = 0x04;
/// `efi_memdesc_size`: one memory descriptor's size.
pub const EFI_INFO_MEMDESC_SIZE: usize = 0x08;
/// `efi_memdesc_version`: the descriptors' version.
pub const EFI_INFO_MEMDESC_VERSION: usize = 0x0C;
/// `efi_memmap`: the memory map's address, low 32 bits.
pub const EFI_INFO_MEMMAP: usize = 0x10;
/// `efi_memmap_size`: the memory map's size in bytes.
pub const EFI_INFO_MEMMAP_SIZE: usize = 0x14;
/// `efi_systab_hi`: the system table address's high 32 bits.
pub const EFI_INFO_SYSTAB_HI: usize = 0x18;
/// `efi_memmap_hi`: the memory map address's high 32 bits.
pub const EFI_INFO_MEMMAP_HI: usize = 0x1C;

/// `efi_loader_signature` of a 64-bit EFI loader (EFI64_LOADER_SIGNATURE).
pub const EFI64_LOADER_SIGNATURE: [u8; 4] = *b"EL64";

/// `type_of_loader` 0xFF: "undefined" loader, no assigned ID (boot.rst).
pub const TYPE_OF_LOADER_UNDEFINED: u8 = 0xFF;
/// `heap_end_ptr`: the end of the setup heap, as an offset from the real-mode
/// code minus 0x200 (boot.rst). Unused by the 64-bit entry, but set as the
/// protocol asks for a loader that sets CAN_USE_HEAP.
pub const HEAP_END_PTR: u16 = 0xFE00;

/// The zero page under construction.
#[derive(Clone, PartialEq, Eq)]
pub struct BootParams {
    bytes: [u8; BOOT_PARAMS_SIZE],
}

impl BootParams {
    /// A zeroed page with the kernel's setup header copied to 0x1F1 (boot.rst,
    /// "64-bit Boot Protocol"); `header` is cut to fit before 0x290.
    pub fn new(header: &[u8]) -> BootParams {
        let mut bytes = [0; BOOT_PARAMS_SIZE];
        let len = header.len().min(SETUP_HEADER_LIMIT - SETUP_HEADER_OFFSET);
        bytes[SETUP_HEADER_OFFSET..SETUP_HEADER_OFFSET + len].copy_from_slice(&header[..len]);
        BootParams { bytes }
    }

    /// The page as the kernel reads it.
    pub fn as_bytes(&self) -> &[u8; BOOT_PARAMS_SIZE] {
        &self.bytes
    }

    fn put(&mut self, off: usize, value: &[u8]) {
        self.bytes[off..off + value.len()].copy_from_slice(value);
    }

    /// A little-endian u32 at `off` (for callers that check the page); 0 past
    /// the page's end.
    pub fn u32_at(&self, off: usize) -> u32 {
        self.bytes.u32_le(off).unwrap_or(0)
    }

    /// The fields every loader writes: type_of_loader, CAN_USE_HEAP, heap_end_ptr.
    pub fn set_loader(&mut self) {
        self.bytes[OFF_TYPE_OF_LOADER] = TYPE_OF_LOADER_UNDEFINED;
        self.bytes[OFF_LOADFLAGS] |= CAN_USE_HEAP;
        self.put(OFF_HEAP_END_PTR, &HEAP_END_PTR.to_le_bytes());
    }

    /// The NUL-terminated command line's address (cmd_line_ptr + ext_cmd_line_ptr).
    pub fn set_cmd_line(&mut self, addr: u64) {
        self.put(OFF_CMD_LINE_PTR, &(addr as u32).to_le_bytes());
        self.put(OFF_EXT_CMD_LINE_PTR, &((addr >> 32) as u32).to_le_bytes());
    }

    /// The initrd's address and size (ramdisk_* + ext_ramdisk_*).
    pub fn set_ramdisk(&mut self, addr: u64, size: u64) {
        self.put(OFF_RAMDISK_IMAGE, &(addr as u32).to_le_bytes());
        self.put(OFF_RAMDISK_SIZE, &(size as u32).to_le_bytes());
        self.put(OFF_EXT_RAMDISK_IMAGE, &((addr >> 32) as u32).to_le_bytes());
        self.put(OFF_EXT_RAMDISK_SIZE, &((size >> 32) as u32).to_le_bytes());
    }

    /// The ACPI RSDP's physical address.
    pub fn set_acpi_rsdp(&mut self, addr: u64) {
        self.put(OFF_ACPI_RSDP_ADDR, &addr.to_le_bytes());
    }

    /// `efi_info`, so the kernel finds the system table (and runtime services)
    /// and the final memory map.
    pub fn set_efi_info(
        &mut self,
        system_table: u64,
        memmap: u64,
        memmap_size: u32,
        desc_size: u32,
        desc_version: u32,
    ) {
        let base = OFF_EFI_INFO;
        self.put(base + EFI_INFO_LOADER_SIGNATURE, &EFI64_LOADER_SIGNATURE);
        self.put(base + EFI_INFO_SYSTAB, &(system_table as u32).to_le_bytes());
        self.put(base + EFI_INFO_SYSTAB_HI, &((system_table >> 32) as u32).to_le_bytes());
        self.put(base + EFI_INFO_MEMDESC_SIZE, &desc_size.to_le_bytes());
        self.put(base + EFI_INFO_MEMDESC_VERSION, &desc_version.to_le_bytes());
        self.put(base + EFI_INFO_MEMMAP, &(memmap as u32).to_le_bytes());
        self.put(base + EFI_INFO_MEMMAP_HI, &((memmap >> 32) as u32).to_le_bytes());
        self.put(base + EFI_INFO_MEMMAP_SIZE, &memmap_size.to_le_bytes());
    }

    /// The e820 table and its count; entries past 128 are left out.
    pub fn set_e820(&mut self, entries: &[E820Entry]) {
        let n = entries.len().min(E820_MAX_ENTRIES_ZEROPAGE);
        for (i, e) in entries[..n].iter().enumerate() {
            self.put(OFF_E820_TABLE + i * E820_ENTRY_SIZE, &e.to_bytes());
        }
        self.bytes[OFF_E820_ENTRIES] = n as u8;
    }
}

#[cfg(test)]
mod tests {
    use super::super::e820::E820_TYPE_RAM;
    use super::*;

    #[test]
    fn zero_page_offsets_match_the_boot_protocol_document() {
        // zero-page.rst "Offset/Size" and boot.rst header table, byte for byte.
        assert_eq!(OFF_ACPI_RSDP_ADDR, 0x070);
        assert_eq!(OFF_EXT_RAMDISK_IMAGE, 0x0C0);
        assert_eq!(OFF_EXT_RAMDISK_SIZE, 0x0C4);
        assert_eq!(OFF_EXT_CMD_LINE_PTR, 0x0C8);
        assert_eq!(OFF_EFI_INFO, 0x1C0);
        assert_eq!(OFF_E820_ENTRIES, 0x1E8);
        assert_eq!(OFF_SENTINEL, 0x1EF);
        assert_eq!(SETUP_HEADER_OFFSET, 0x1F1);
        assert_eq!(OFF_TYPE_OF_LOADER, 0x210);
        assert_eq!(OFF_LOADFLAGS, 0x211);
        assert_eq!(OFF_RAMDISK_IMAGE, 0x218);
        assert_eq!(OFF_RAMDISK_SIZE, 0x21C);
        assert_eq!(OFF_HEAP_END_PTR, 0x224);
        assert_eq!(OFF_CMD_LINE_PTR, 0x228);
        assert_eq!(SETUP_HEADER_LIMIT, 0x290);
        assert_eq!(OFF_E820_TABLE, 0x2D0);
        // e820_table is "2D0/A00": 128 entries of 20 bytes, before eddbuf at 0xD00.
        assert_eq!(E820_MAX_ENTRIES_ZEROPAGE * E820_ENTRY_SIZE, 0xA00);
        assert_eq!(OFF_E820_TABLE + 0xA00, 0xCD0);
        // efi_info is 0x20 bytes, ending at alt_mem_k (0x1E0).
        assert_eq!(OFF_EFI_INFO + EFI_INFO_MEMMAP_HI + 4, 0x1E0);
    }

    #[test]
    fn fills_every_field_at_its_offset() {
        let header = [0xAAu8; 0x26C - 0x1F1];
        let mut bp = BootParams::new(&header);
        bp.set_loader();
        bp.set_cmd_line(0x1_2345_6000);
        bp.set_ramdisk(0x2_0000_0000 + 0x7000, 0x1_0000_0010);
        bp.set_acpi_rsdp(0xF_FFF0_0000);
        bp.set_efi_info(0x1_7FFF_0000, 0x7E00_0000, 0x1E0, 48, 1);
        bp.set_e820(&[
            E820Entry {
                addr: 0,
                size: 0xA0000,
                kind: E820_TYPE_RAM,
            },
            E820Entry {
                addr: 0x10_0000,
                size: 0x1000,
                kind: 3,
            },
        ]);

        let mut want = [0u8; BOOT_PARAMS_SIZE];
        want[0x070..0x078].copy_from_slice(&0xF_FFF0_0000u64.to_le_bytes());
        want[0x0C0..0x0C4].copy_from_slice(&2u32.to_le_bytes());
        want[0x0C4..0x0C8].copy_from_slice(&1u32.to_le_bytes());
        want[0x0C8..0x0CC].copy_from_slice(&1u32.to_le_bytes());
        want[0x1C0..0x1C4].copy_from_slice(b"EL64");
        want[0x1C4..0x1C8].copy_from_slice(&0x7FFF_0000u32.to_le_bytes());
        want[0x1C8..0x1CC].copy_from_slice(&48u32.to_le_bytes());
        want[0x1CC..0x1D0].copy_from_slice(&1u32.to_le_bytes());
        want[0x1D0..0x1D4].copy_from_slice(&0x7E00_0000u32.to_le_bytes());
        want[0x1D4..0x1D8].copy_from_slice(&0x1E0u32.to_le_bytes());
        want[0x1D8..0x1DC].copy_from_slice(&1u32.to_le_bytes());
        want[0x1DC..0x1E0].copy_from_slice(&0u32.to_le_bytes());
        want[0x1E8] = 2;
        want[0x1F1..0x26C].fill(0xAA);
        want[0x210] = 0xFF;
        want[0x211] = 0xAA | 0x80;
        want[0x218..0x21C].copy_from_slice(&0x7000u32.to_le_bytes());
        want[0x21C..0x220].copy_from_slice(&0x10u32.to_le_bytes());
        want[0x224..0x226].copy_from_slice(&0xFE00u16.to_le_bytes());
        want[0x228..0x22C].copy_from_slice(&0x2345_6000u32.to_le_bytes());
        want[0x2D0..0x2D8].copy_from_slice(&0u64.to_le_bytes());
        want[0x2D8..0x2E0].copy_from_slice(&0xA0000u64.to_le_bytes());
        want[0x2E0..0x2E4].copy_from_slice(&1u32.to_le_bytes());
        want[0x2E4..0x2EC].copy_from_slice(&0x10_0000u64.to_le_bytes());
        want[0x2EC..0x2F4].copy_from_slice(&0x1000u64.to_le_bytes());
        want[0x2F4..0x2F8].copy_from_slice(&3u32.to_le_bytes());

        for (i, (got, want)) in bp.as_bytes().iter().zip(want.iter()).enumerate() {
            assert_eq!(got, want, "byte {i:#x}");
        }
    }

    #[test]
    fn a_long_header_stops_before_the_edd_signatures() {
        let bp = BootParams::new(&[0x55; 0x200]);
        assert_eq!(bp.as_bytes()[0x28F], 0x55);
        assert_eq!(bp.as_bytes()[0x290], 0);
        // The sentinel stays zero: the kernel then trusts the fields we left zero.
        assert_eq!(bp.as_bytes()[OFF_SENTINEL], 0);
    }

    #[test]
    fn keeps_at_most_128_e820_entries() {
        let entries = [E820Entry {
            addr: 0,
            size: 0x1000,
            kind: 1,
        }; 130];
        let mut bp = BootParams::new(&[]);
        bp.set_e820(&entries);
        assert_eq!(bp.as_bytes()[OFF_E820_ENTRIES], 128);
    }
}
