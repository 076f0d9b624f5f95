//! A Linux Type #1 entry's files: the kernel (through its EFI stub, else the
//! x86 boot protocol), its initrds, opened before the kernel starts and read
//! only when it asks, and its `devicetree`, installed for the kernel's stub.

use super::gather::VolumeInfo;
use super::{GLOBAL, HVFW_VENDOR, LINUX_BOOT_PROTOCOL_VARIABLE};
use crate::boot_plan::{FileError, Outcome};
use crate::devicetree;
use crate::efi::Efi;
use crate::efi_print;
use crate::fs::{File, Volume, MAX_FILE};
use crate::linux::{self, LinuxError};
use crate::path;
use alloc::string::String;
use alloc::vec::Vec;
use core::cell::Cell;
use uefi_raw::protocol::file_system::FileMode;
use uefi_raw::table::boot::{AllocateType, MemoryType};
use uefi_raw::Status;

/// Pages holding a file; freed on drop unless the kernel took over.
struct FileInPages<'a> {
    efi: &'a Efi,
    address: u64,
    pages: usize,
    len: usize,
}

impl FileInPages<'_> {
    fn bytes(&self) -> &[u8] {
        // SAFETY: the pages were allocated for `len` bytes and filled by `read_into_pages`.
        unsafe { core::slice::from_raw_parts(self.address as *const u8, self.len) }
    }
}

impl Drop for FileInPages<'_> {
    fn drop(&mut self) {
        let _ = self.efi.free_pages(self.address, self.pages);
    }
}

/// An entry's devicetree, installed as the EFI_DTB_TABLE configuration table
/// in place of the VMM's. Dropping it (the kernel did not take over) puts the
/// previous table back, then frees the pages.
pub struct InstalledDeviceTree<'a> {
    efi: &'a Efi,
    /// Held, not read: the installed table lives in these pages.
    _tree: FileInPages<'a>,
    previous: Option<*mut core::ffi::c_void>,
}

impl Drop for InstalledDeviceTree<'_> {
    fn drop(&mut self) {
        let previous = self.previous.unwrap_or(core::ptr::null_mut());
        // SAFETY: `previous` is the table the firmware had installed (still
        // where it was), or null to remove ours; ours is unused from here on.
        let _ = unsafe {
            self.efi
                .install_configuration_table(&devicetree::DTB_TABLE_GUID, previous)
        };
    }
}

/// Reads and checks an entry's `devicetree` file and installs it. The pages
/// are ACPI reclaim memory: the OS may reuse them once it has read the tree.
pub fn install_devicetree<'a>(efi: &'a Efi, volume: &Volume, file: &str) -> Result<InstalledDeviceTree<'a>, FileError> {
    let tree = read_into_pages(efi, volume, file, MemoryType::ACPI_RECLAIM)?;
    devicetree::check(tree.bytes()).map_err(|error| FileError::NotADeviceTree {
        file: file.into(),
        error,
    })?;
    let previous = efi.configuration_table(&devicetree::DTB_TABLE_GUID);
    // SAFETY: the pages stay allocated in `tree` until the guard is dropped,
    // and the guard's Drop uninstalls them first.
    unsafe { efi.install_configuration_table(&devicetree::DTB_TABLE_GUID, tree.address as *mut core::ffi::c_void) }
        .map_err(|status| FileError::InstallTable {
            file: file.into(),
            status,
        })?;
    efi_print!(efi, "Boot: device tree from {file}\n");
    Ok(InstalledDeviceTree {
        efi,
        _tree: tree,
        previous,
    })
}

/// Reads a (possibly large) file into freshly allocated pages of `memory_type`,
/// so kernels never touch the firmware's small heap.
fn read_into_pages<'a>(
    efi: &'a Efi,
    volume: &Volume,
    file: &str,
    memory_type: MemoryType,
) -> Result<FileInPages<'a>, FileError> {
    let (handle, size) = open_sized(volume, file)?;
    let pages = (size as usize).div_ceil(4096).max(1);
    let address = efi
        .allocate_pages(AllocateType::ANY_PAGES, memory_type, pages, 0)
        .map_err(|status| FileError::NoMemory {
            file: file.into(),
            size,
            status,
        })?;
    let buffer = FileInPages {
        efi,
        address,
        pages,
        len: size as usize,
    };
    // SAFETY: the pages were just allocated for this buffer.
    let slice = unsafe { core::slice::from_raw_parts_mut(address as *mut u8, size as usize) };
    let read = handle.read_at(0, slice).map_err(|status| FileError::Read {
        file: file.into(),
        status,
    })?;
    if read as u64 != size {
        return Err(FileError::ShortRead {
            file: file.into(),
            read,
            size,
        });
    }
    Ok(buffer)
}

/// Opens `name` for reading and gives its size, which the loaders accept up
/// to [`MAX_FILE`]. One open: on FAT each open walks the file's cluster chain.
fn open_sized(volume: &Volume, name: &str) -> Result<(File, u64), FileError> {
    let fail = |status| FileError::Open {
        file: name.into(),
        status,
    };
    let file = volume.open_file(name, FileMode::READ).map_err(fail)?;
    let size = file.size().map_err(fail)?;
    if size > MAX_FILE {
        return Err(FileError::TooLarge {
            file: name.into(),
            size,
        });
    }
    Ok((file, size))
}

/// An initrd file, opened and sized before the kernel starts and read only
/// when the kernel asks for it: straight into the kernel's buffer (EFI stub)
/// or the ramdisk pages (boot protocol), never through a copy.
struct InitrdFile {
    name: String,
    file: File,
    len: usize,
    /// Why reading failed, for the boot manager's report: the read happens
    /// inside the kernel's LoadFile2 call, which can only return a status.
    failure: Cell<Option<Status>>,
}

impl InitrdFile {
    fn open(volume: &Volume, name: &str) -> Result<InitrdFile, FileError> {
        let (file, size) = open_sized(volume, name)?;
        Ok(InitrdFile {
            name: name.into(),
            file,
            len: size as usize,
            failure: Cell::new(None),
        })
    }
}

impl linux::InitrdSource for InitrdFile {
    fn len(&self) -> usize {
        self.len
    }

    fn read_into(&self, buffer: &mut [u8]) -> Result<(), Status> {
        let result = match self.file.read_at(0, buffer) {
            Ok(n) if n == self.len && buffer.len() == self.len => Ok(()),
            // The file changed size since it was opened.
            Ok(_) => Err(Status::END_OF_FILE),
            Err(status) => Err(status),
        };
        if let Err(status) = result {
            self.failure.set(Some(status));
        }
        result
    }
}

/// The first initrd that failed to read while the kernel asked for it.
fn initrd_failure(initrds: &[InitrdFile]) -> Option<Outcome> {
    initrds.iter().find_map(|i| {
        let status = i.failure.get()?;
        Some(Outcome::Initrd(FileError::Read {
            file: i.name.clone(),
            status,
        }))
    })
}

/// Boots `kernel_file` with its initrds: through the kernel's EFI stub, or
/// the x86 boot protocol when the kernel has none or `LinuxBootProtocol` asks.
pub fn boot_linux(efi: &Efi, v: &VolumeInfo, kernel_file: &str, initrd_files: &[String], cmdline: &str) -> Outcome {
    let mut initrds = Vec::new();
    for file in initrd_files {
        match InitrdFile::open(&v.volume, file) {
            Ok(i) => initrds.push(i),
            Err(e) => return Outcome::Initrd(e),
        }
    }
    let protocol = efi.get_variable(LINUX_BOOT_PROTOCOL_VARIABLE, &HVFW_VENDOR);
    // Under Secure Boot the kernel goes through LoadImage, which verifies it:
    // the Linux boot protocol would start it unchecked, so it is not used.
    let secure_boot = efi.get_variable("SecureBoot", &GLOBAL).as_deref() == Some(&[1]);
    let mut want_bzimage = protocol.as_deref() == Some(b"bzimage");
    if want_bzimage && secure_boot {
        efi_print!(
            efi,
            "Boot: Secure Boot is on: {kernel_file} boots through its verified EFI stub, not the Linux boot protocol\n"
        );
        want_bzimage = false;
    }
    if !want_bzimage {
        let Some(kernel_path) = path::with_file(&v.path, kernel_file) else {
            return Outcome::Kernel(FileError::NoDevicePath {
                file: kernel_file.into(),
            });
        };
        // LoadImage reads the kernel from its file, each section straight into place.
        let result = linux::boot_efi_stub(efi, &[], Some(&kernel_path), &initrds, cmdline);
        if let Some(failure) = initrd_failure(&initrds) {
            return failure;
        }
        match result {
            Ok(status) => return Outcome::KernelReturned(status),
            Err(LinuxError::LoadImage(Status::NOT_FOUND)) => {
                return Outcome::Kernel(FileError::Open {
                    file: kernel_file.into(),
                    status: Status::NOT_FOUND,
                });
            }
            // No EFI stub (not a PE image): the boot protocol is the way.
            Err(LinuxError::LoadImage(status))
                if !secure_boot && (status == Status::LOAD_ERROR || status == Status::UNSUPPORTED) =>
            {
                efi_print!(
                    efi,
                    "Boot: {kernel_file} has no EFI stub; using the Linux boot protocol\n"
                );
            }
            Err(e) => return Outcome::Linux(e),
        }
    }
    let kernel = match read_into_pages(efi, &v.volume, kernel_file, MemoryType::LOADER_DATA) {
        Ok(k) => k,
        Err(e) => return Outcome::Kernel(e),
    };
    efi_print!(efi, "Boot: {kernel_file} through the Linux x86 boot protocol\n");
    let error = match linux::boot_bzimage(efi, kernel.bytes(), &initrds, cmdline) {
        Ok(never) => match never {},
        Err(e) => Outcome::Linux(e),
    };
    initrd_failure(&initrds).unwrap_or(error)
}
