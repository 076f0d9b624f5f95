//! EFI_MEMORY_ATTRIBUTES_TABLE (UEFI 2.10 §4.6.4) as a configuration table.
//!
//! The table lives in a static of the firmware image, which is runtime services
//! data: it outlives ExitBootServices, and rewriting it never changes the memory
//! map it describes. It is written when installed and again in ExitBootServices,
//! from the map the OS received, so that the entries match that map exactly even
//! when applications allocated runtime memory in between. The entries come from
//! [`crate::memory::attributes`].

use super::tables::{self, Shared};
use super::BOOT;
use crate::memory::attributes::{runtime_permissions, write_table, TABLE_HEADER_SIZE};
use crate::memory::DESCRIPTOR_SIZE;
use core::ffi::c_void;
use core::ops::Range;
use log::{debug, error};
use r_efi::efi;
use spin::Mutex;

/// Runtime regions the table can describe: the firmware's code, its data on
/// either side of the boot stack, the SMBIOS copy, and room for loaders' own.
const CAPACITY: usize = 64;
const TABLE_SIZE: usize = TABLE_HEADER_SIZE + CAPACITY * DESCRIPTOR_SIZE;

/// The table's bytes, 8-byte aligned like the descriptors in it.
#[repr(C, align(8))]
pub struct TableBytes([u8; TABLE_SIZE]);

static TABLE: Shared<TableBytes> = Shared::new(TableBytes([0; TABLE_SIZE]));

/// The firmware's own read-only code and constants (page aligned).
static READ_ONLY_CODE: Mutex<Range<u64>> = Mutex::new(0..0);

/// Writes the table for `read_only_code` and the memory map as it is now, and
/// installs it.
pub fn install(read_only_code: Range<u64>) -> Result<(), efi::Status> {
    *READ_ONLY_CODE.lock() = read_only_code;
    refresh();
    tables::set_configuration_table(efi::MEMORY_ATTRIBUTES_TABLE_GUID, TABLE.get().cast::<c_void>())
}

/// Rewrites the table from the memory map as it is now.
pub fn refresh() {
    let code = READ_ONLY_CODE.lock().clone();
    let entries = runtime_permissions(BOOT.lock().memory.map.descriptors(), code);
    let mut bytes = [0u8; TABLE_SIZE];
    match write_table(&entries, &mut bytes) {
        Ok(_) => {
            // SAFETY: one CPU; the firmware writes the table only here, and
            // readers (applications, the OS) run only between these writes.
            unsafe { (*TABLE.get()).0 = bytes };
            debug!("memory attributes table: {} runtime regions", entries.len());
        }
        Err(e) => {
            // An empty table claims nothing; stale entries could contradict the map.
            error!("memory attributes table left empty: {e}");
            let _ = write_table(&[], &mut bytes);
            // SAFETY: as above.
            unsafe { (*TABLE.get()).0 = bytes };
        }
    }
}
