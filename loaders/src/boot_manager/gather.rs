//! What the boot manager reads before it decides: the FAT volumes, the boot
//! variables, each volume's BLS files and removable-media file. Failures to
//! read are data for the planner, except a volume that will not open, which
//! is reported here and left out.

use super::{status_name, GLOBAL};
use crate::bls;
use crate::boot_plan::{bls_entries, BlsFiles, EntryFile, LoadOptionVariables, Probe, UkiImage, VolumeFacts};
use crate::efi::Efi;
use crate::efi_print;
use crate::fs::Volume;
use crate::load_option;
use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;
use uefi_raw::protocol::file_system::{FileMode, SimpleFileSystemProtocol};

/// One open FAT volume: its device path and root.
pub struct VolumeInfo {
    pub path: Vec<u8>,
    pub volume: Volume,
}

/// Every FAT volume (SimpleFileSystem handle) in the firmware's order.
pub fn volumes(efi: &Efi) -> Vec<VolumeInfo> {
    efi.handles_with(&SimpleFileSystemProtocol::GUID)
        .into_iter()
        .filter_map(|handle| {
            let path = efi.device_path(handle)?;
            let sfs = efi.protocol(handle, &SimpleFileSystemProtocol::GUID)?;
            // SAFETY: the firmware's SimpleFileSystem on this handle.
            match unsafe { Volume::open(sfs) } {
                Ok(volume) => Some(VolumeInfo { path, volume }),
                Err(status) => {
                    efi_print!(
                        efi,
                        "Boot: cannot open {}: {}\n",
                        efi.path_text(&path),
                        status_name(status)
                    );
                    None
                }
            }
        })
        .collect()
}

/// `BootNext`, `BootOrder` and the `Boot####` options they name.
pub fn load_option_variables(efi: &Efi) -> LoadOptionVariables {
    let mut variables = LoadOptionVariables {
        boot_next: efi.get_variable("BootNext", &GLOBAL),
        boot_order: efi.get_variable("BootOrder", &GLOBAL),
        ..LoadOptionVariables::default()
    };
    for (number, _) in variables.requested() {
        if variables.options.contains_key(&number) {
            continue;
        }
        if let Some(bytes) = efi.get_variable(&load_option::boot_variable_name(number), &GLOBAL) {
            variables.options.insert(number, bytes);
        }
    }
    variables
}

/// What the planner needs to know of a volume; BLS files only when `bls`.
pub fn volume_facts(v: &VolumeInfo, bls: bool) -> VolumeFacts {
    VolumeFacts {
        device_path: v.path.clone(),
        bls: if bls { bls_files(&v.volume) } else { BlsFiles::default() },
        removable_file: v.volume.check(crate::boot_plan::REMOVABLE_MEDIA_FILE),
    }
}

/// `loader.conf`, the Type #1 entry files and the unified kernel images' sections.
fn bls_files(volume: &Volume) -> BlsFiles {
    let type1 = volume
        .list(bls::TYPE1_DIR)
        .unwrap_or_default()
        .into_iter()
        .filter(|name| bls_entries::is_type1_file(name))
        .map(|name| {
            let contents = volume.read(&alloc::format!("{}\\{name}", bls::TYPE1_DIR));
            EntryFile { name, contents }
        })
        .collect();
    let ukis = volume
        .list(bls::TYPE2_DIR)
        .unwrap_or_default()
        .into_iter()
        .filter(|name| bls_entries::is_uki_file(name))
        .map(|name| {
            let [osrel, cmdline, uname] = uki_sections(volume, &alloc::format!("{}\\{name}", bls::TYPE2_DIR));
            UkiImage {
                name,
                osrel,
                cmdline,
                uname,
            }
        })
        .collect();
    BlsFiles {
        loader_conf: volume.read(bls::LOADER_CONF_PATH).ok(),
        type1,
        ukis,
    }
}

/// Bytes to read from the start of a unified kernel image to see its section table.
const UKI_HEADER_BYTES: usize = 4096;

/// `.osrel`, `.cmdline` and `.uname` of a unified kernel image, read from its
/// section table without reading the whole file.
fn uki_sections(volume: &Volume, file: &str) -> [Option<Vec<u8>>; 3] {
    // One open for the header and the three sections.
    let Ok(image) = volume.open_file(file, FileMode::READ) else {
        return [None, None, None];
    };
    let mut header = vec![0u8; UKI_HEADER_BYTES];
    let Ok(n) = image.read_at(0, &mut header) else {
        return [None, None, None];
    };
    let header = &header[..n];
    let Some(sections) = fw_pe::CoffHeader::read(header)
        .and_then(|coff| coff.section_headers(header))
        .ok()
    else {
        return [None, None, None];
    };
    [".osrel", ".cmdline", ".uname"].map(|name| {
        let s = sections.iter().find(|s| s.raw_name() == name.as_bytes())?;
        // Section payloads are small text; a huge one is not what we look for.
        let size = s.loaded_size();
        if size > 64 * 1024 {
            return None;
        }
        let mut data = vec![0u8; size as usize];
        let n = image.read_at(u64::from(s.pointer_to_raw_data), &mut data).ok()?;
        data.truncate(n);
        Some(data)
    })
}

/// The planner's questions, answered through the firmware.
pub struct EfiProbe<'a> {
    pub efi: &'a Efi,
    pub volumes: &'a [VolumeInfo],
}

impl Probe for EfiProbe<'_> {
    fn file_exists(&self, volume: usize, file: &str) -> bool {
        self.volumes.get(volume).is_some_and(|v| v.volume.exists(file))
    }

    fn path_text(&self, path: &[u8]) -> String {
        self.efi.path_text(path)
    }
}
