//! Non-volatile variables survive a power cycle in `\ubootefi.var` on an EFI
//! system partition, in the EBBR file format (`fw_core::variable_file`), the
//! file U-Boot keeps too.
//!
//! - Which ESP: the first one, in disk then partition order, that holds
//!   `\ubootefi.var` (or the copy of an interrupted write, `\ubootefi.new`);
//!   if none does, the first ESP, where the file is created at the first
//!   change.
//! - At start the file is read and checked (CRC); a damaged or foreign file
//!   is reported, the defaults are used, and it is left alone until a
//!   variable is actually set. Secure Boot keys and authenticated variables
//!   are never taken from it.
//! - Each change of a non-volatile variable before ExitBootServices rewrites
//!   the file so that a power cut at any point leaves the old or the new
//!   contents readable: the new contents go to `\ubootefi.new` (flushed),
//!   then `\ubootefi.var` is deleted and the new file renamed over it. A
//!   start that finds no valid `\ubootefi.var` takes a valid `\ubootefi.new`.
//!   The first store on a disk, with no `\ubootefi.var` to lose, is written
//!   in place.
//! - After ExitBootServices the disk belongs to the OS: changes stay in
//!   memory and `VarToFile` carries what the OS writes back (see README).

use crate::efi_disks::Esp;
use alloc::format;
use alloc::vec;
use alloc::vec::Vec;
use fw_core::efi::runtime;
use fw_core::variable_file::{self, FILE_NAME};
use fw_drivers::fat::{self, FileSystem};
use log::{info, warn};
use spin::Mutex;

/// Where a write in progress goes before it replaces [`FILE_NAME`].
const NEW_FILE_NAME: &str = "ubootefi.new";
/// Larger files are not variable stores this firmware wrote (its store holds
/// 64 KiB).
const MAX_FILE_SIZE: u64 = 1 << 20;

/// The ESP that holds the store, once chosen.
struct Store {
    disk: usize,
    partition: u32,
    fs: &'static FileSystem,
}

static STORE: Mutex<Option<Store>> = Mutex::new(None);

/// What is wrong with one copy of the file.
enum CopyError {
    Missing,
    Fat(fat::Error),
    TooLarge(u64),
    Format(variable_file::FileError),
}

impl core::fmt::Display for CopyError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            CopyError::Missing => write!(f, "absent"),
            CopyError::Fat(e) => write!(f, "unreadable: {e}"),
            CopyError::TooLarge(size) => write!(f, "{size} bytes, too large for a variable store"),
            CopyError::Format(e) => write!(f, "damaged or foreign: {e}"),
        }
    }
}

fn read(fs: &FileSystem, name: &str) -> Result<Vec<u8>, CopyError> {
    let mut file = match fs.open(&fs.root(), name) {
        Ok(file) => file,
        Err(fat::Error::NotFound { .. }) => return Err(CopyError::Missing),
        Err(e) => return Err(CopyError::Fat(e)),
    };
    if file.size() > MAX_FILE_SIZE {
        return Err(CopyError::TooLarge(file.size()));
    }
    let mut bytes = vec![0u8; file.size() as usize];
    let n = fs.read(&mut file, 0, &mut bytes).map_err(CopyError::Fat)?;
    bytes.truncate(n);
    variable_file::parse(&bytes).map_err(CopyError::Format)?;
    Ok(bytes)
}

/// Chooses the ESP (see the module documentation), loads its variables into
/// the store, and from now on keeps the store's non-volatile variables there.
pub fn init(esps: &[Esp]) {
    let holds_file = |esp: &&Esp| {
        [FILE_NAME, NEW_FILE_NAME]
            .iter()
            .any(|name| esp.fs.open(&esp.fs.root(), name).is_ok())
    };
    let Some(esp) = esps.iter().find(holds_file).or(esps.first()) else {
        info!("variables: no EFI system partition; non-volatile variables last until power-off");
        return;
    };
    let place = |name: &str| format!("\\{name} on disk {} partition {}", esp.disk, esp.partition);
    let bytes = match read(esp.fs, FILE_NAME) {
        Ok(bytes) => Some(bytes),
        Err(primary) => match read(esp.fs, NEW_FILE_NAME) {
            Ok(bytes) => {
                warn!(
                    "variables: {} is {primary}; using {} (a write was interrupted)",
                    place(FILE_NAME),
                    place(NEW_FILE_NAME)
                );
                Some(bytes)
            }
            Err(_) if matches!(primary, CopyError::Missing) => {
                info!("variables: kept in {} (created at the first change)", place(FILE_NAME));
                None
            }
            Err(_) => {
                warn!(
                    "variables: {} is {primary}; starting with defaults (the file is left as it is until a variable is set)",
                    place(FILE_NAME)
                );
                None
            }
        },
    };
    if let Some(bytes) = bytes {
        // Checked by `read`.
        let variables = variable_file::parse(&bytes).unwrap_or_default();
        let summary = runtime::load_variables(&variables);
        info!("variables: {} loaded from {}", summary.loaded, place(FILE_NAME));
        if let Some(reason) = summary.first_refusal {
            warn!(
                "variables: {} in the file not loaded (first: {reason:?}); the file is not tamper-proof",
                summary.refused
            );
        }
    }
    *STORE.lock() = Some(Store {
        disk: esp.disk,
        partition: esp.partition,
        fs: esp.fs,
    });
    if !runtime::keep_variables_in_file(FILE_NAME, persist) {
        warn!("variables: the runtime is not set up; changes are not kept");
    }
}

/// The steps of a write, after which a test build can cut the power.
#[derive(Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
enum Step {
    /// Half of the new store is in `ubootefi.new`.
    HalfWritten = 1,
    /// `ubootefi.new` is complete and flushed.
    NewComplete = 2,
    /// The old `ubootefi.var` is deleted.
    OldDeleted = 3,
    /// `ubootefi.new` is renamed: the write is done.
    Renamed = 4,
}

/// Test builds: `hvfw.test=variable-write-cut=N` stops the machine after step
/// N of the next write, as a power cut would.
#[cfg(feature = "test-hooks")]
static CUT_AFTER: core::sync::atomic::AtomicU8 = core::sync::atomic::AtomicU8::new(0);

#[cfg(feature = "test-hooks")]
pub fn cut_writes_after(step: u8) {
    CUT_AFTER.store(step, core::sync::atomic::Ordering::Relaxed);
}

fn reached(step: Step) {
    #[cfg(feature = "test-hooks")]
    if CUT_AFTER.load(core::sync::atomic::Ordering::Relaxed) == step as u8 {
        info!(
            "test hook: power cut after step {} of writing the variable file",
            step as u8
        );
        fw_arch::report_failure();
        fw_arch::halt();
    }
    let _ = step;
}

/// Writes `file` as the new store (see the module documentation for the order).
fn write(fs: &FileSystem, file: &[u8]) -> Result<(), fat::Error> {
    let root = fs.root();
    let old = match fs.open(&root, FILE_NAME) {
        Ok(old) => Some(old),
        Err(fat::Error::NotFound { .. }) => None,
        Err(e) => return Err(e),
    };
    // With no store yet there is nothing a cut could lose (a half-written
    // file fails its CRC and the start falls back to what there was: a
    // `.new` from an earlier cut, or the defaults), so the first store is
    // written in place: one file, one flush.
    let target = if old.is_some() { NEW_FILE_NAME } else { FILE_NAME };
    let mut new = match fs.open(&root, target) {
        Ok(existing) => existing,
        Err(fat::Error::NotFound { .. }) => fs.create_file(&root, target)?,
        Err(e) => return Err(e),
    };
    fs.set_size(&mut new, 0)?;
    let half = file.len() / 2;
    fs.write(&mut new, 0, &file[..half])?;
    reached(Step::HalfWritten);
    fs.write(&mut new, half as u64, &file[half..])?;
    fs.flush()?;
    reached(Step::NewComplete);
    let Some(old) = old else {
        return Ok(());
    };
    // The new copy is on the disk before the old one goes.
    fs.delete(old)?;
    fs.flush()?;
    reached(Step::OldDeleted);
    fs.rename(&mut new, FILE_NAME)?;
    fs.flush()?;
    reached(Step::Renamed);
    Ok(())
}

/// The runtime's hook: called after a non-volatile variable changed.
fn persist(file: &[u8]) {
    let guard = STORE.lock();
    let Some(store) = guard.as_ref() else {
        return;
    };
    if let Err(e) = write(store.fs, file) {
        warn!(
            "variables: cannot write \\{FILE_NAME} on disk {} partition {}: {e}; the change lasts until power-off",
            store.disk, store.partition
        );
    }
}
