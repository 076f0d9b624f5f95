//! Where the firmware's own image lies, from the symbols every architecture's
//! linker script defines (`layout.ld`): for the EFI memory map (code as runtime
//! services code, data as runtime services data, the boot stacks and tables as
//! boot services data) and for keeping the heap and loaded images off it.

use core::ops::Range;
use core::ptr::addr_of;

unsafe extern "C" {
    static __image_start: u8;
    static __code_end: u8;
    static __boot_data_start: u8;
    static __boot_data_end: u8;
    static __image_end: u8;
}

/// Where the parts of the firmware image are, for the EFI memory map.
pub struct ImageLayout {
    /// Code and read-only data: runtime services code.
    pub code: Range<u64>,
    /// Data, including what runtime services use: runtime services data.
    pub data: Range<u64>,
    /// The boot stacks (and, with paging, boot page tables) inside `data`:
    /// boot services data.
    pub boot_data: Range<u64>,
}

/// The firmware image's sections, from the linker script's symbols.
pub fn image_layout() -> ImageLayout {
    let start = addr_of!(__image_start) as u64;
    let code_end = addr_of!(__code_end) as u64;
    ImageLayout {
        code: start..code_end,
        data: code_end..addr_of!(__image_end) as u64,
        boot_data: addr_of!(__boot_data_start) as u64..addr_of!(__boot_data_end) as u64,
    }
}

/// The bytes the firmware image occupies, .bss (stacks, page tables) included.
pub fn image_range() -> Range<u64> {
    addr_of!(__image_start) as u64..addr_of!(__image_end) as u64
}
