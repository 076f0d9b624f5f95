//! The Boot Loader Specification (UAPI.1): Type #1 entry files
//! (`/loader/entries/*.conf`) and Type #2 unified kernel images
//! (`/EFI/Linux/*.efi`), their order ("Sorting", with the UAPI "Version Format
//! Specification" comparison), boot counting ("Boot counting" and systemd's
//! "Automatic Boot Assessment") and systemd-boot's `loader.conf`.
//!
//! Pure logic over bytes and names: reading the files, finding PE sections
//! and renaming entry files are the boot manager's job. Typical use:
//! [`parse_loader_conf`], then [`build_menu`] with the files of both
//! directories, then [`BootEntry::renamed_after_attempt`] before booting.
#![forbid(unsafe_code)]

pub mod boot_entry;
pub mod counter;
pub mod entry;
pub mod glob;
pub mod loader_conf;
pub mod order;
pub mod os_release;
pub mod text;
pub mod uki;
pub mod version;

pub use boot_entry::{BootEntry, EntryKind, SkipReason, Skipped, TYPE1_DIR, TYPE2_DIR};
pub use counter::{renamed_after_attempt, BootCounter};
pub use loader_conf::{parse_loader_conf, LoaderConf, Timeout, LOADER_CONF_PATH};
pub use order::{build_menu, compare_entries, select_default, sort_entries, Menu, Type1File, UkiFile};
pub use uki::UkiSections;
pub use version::compare_versions;

/// This firmware's architecture in the EFI vocabulary the `architecture` key
/// uses (Boot Loader Specification, "Type #1 Boot Loader Entry Keys").
pub const LOCAL_ARCHITECTURE: &str = if cfg!(target_arch = "x86_64") {
    "x64"
} else if cfg!(target_arch = "x86") {
    "ia32"
} else if cfg!(target_arch = "aarch64") {
    "aa64"
} else if cfg!(target_arch = "arm") {
    "arm"
} else if cfg!(target_arch = "riscv64") {
    "riscv64"
} else if cfg!(target_arch = "loongarch64") {
    "loongarch64"
} else {
    "unknown"
};
