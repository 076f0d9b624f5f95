//! EFI handles for the disks: one per disk and one per partition, each with its
//! device path (PciRoot/Pci/.../Pci[/HD]), BlockIo and DiskIo; partitions also get
//! PartitionInfo and, when they hold FAT, SimpleFileSystem. A PCI disk's BlockIo
//! goes on its function's handle (`efi_pci`), which holds its PCI I/O. Handles
//! are created in PCI order, then partition order, which is the order the boot
//! manager tries them in.

use crate::disks::Volume;
use crate::efi_pci::PciHandles;
use crate::platform::Disk;
use alloc::vec::Vec;
use fw_core::efi::protocol::install;
use fw_core::handles::HandleId;
use fw_drivers::fat::{self, FileSystem};
use fw_protocols::block_io::install_block_handle;
use fw_protocols::device_path::DevicePathBuf;
use fw_protocols::file_system::SimpleFileSystem;
use log::{debug, warn};
use r_efi::protocols::simple_file_system;

/// The device path of a disk: the PCI function it is, with every bridge above
/// it, or its virtio-mmio register block.
fn disk_path(disk: &Disk, pci: &PciHandles) -> DevicePathBuf {
    if let Some(base) = disk.mmio {
        return DevicePathBuf::new().virtio_mmio(base);
    }
    match disk.pci.and_then(|address| pci.find(address)) {
        Some((path, _)) => path.clone(),
        None => DevicePathBuf::new().pci_root(0),
    }
}

/// EFI_DISK_INFO_PROTOCOL on a virtio disk's handle, and the virtio-blk
/// driver's hold on it.
fn install_disk_info(disk: &Disk, handle: HandleId) {
    let info = fw_protocols::disk_info::DiskInfo::create(disk.device.clone());
    if let Err(e) = install(Some(handle), fw_protocols::disk_info::PROTOCOL_GUID, info.protocol()) {
        warn!("{}: cannot install DiskInfo: {e}", disk.location);
    }
    let bytes = disk.device.block_count() * u64::from(disk.device.block_size());
    crate::efi_drivers::disk_started(handle, &disk.location, bytes);
}

/// The time FAT writes into directory entries.
fn rtc_now() -> fat::DateTime {
    crate::platform::rtc_get().unwrap_or(fat::DateTime::FAT_EPOCH)
}

/// SimpleFileSystem on a partition that holds a FAT file system. Partitions
/// that do not are left without one; only a partition typed as an ESP that
/// fails to mount is worth a warning.
fn install_file_system(v: &Volume, handle: HandleId) -> Option<&'static SimpleFileSystem> {
    let fs = match FileSystem::mount(v.device.clone()) {
        Ok(fs) => fs.with_clock(rtc_now),
        Err(e) => {
            if v.info.is_efi_system_partition() {
                warn!(
                    "disk {} partition {}: EFI system partition unreadable: {e}",
                    v.disk, v.info.number
                );
            } else {
                debug!("disk {} partition {}: not FAT: {e}", v.disk, v.info.number);
            }
            return None;
        }
    };
    let kind = match fs.fat_type() {
        fat::FatType::Fat12 => "FAT12",
        fat::FatType::Fat16 => "FAT16",
        fat::FatType::Fat32 => "FAT32",
    };
    let sfs = SimpleFileSystem::create(fs);
    if let Err(e) = install(Some(handle), simple_file_system::PROTOCOL_GUID, sfs.protocol().cast()) {
        warn!(
            "disk {} partition {}: cannot install SimpleFileSystem: {e}",
            v.disk, v.info.number
        );
        return None;
    }
    crate::efi_drivers::file_system_started(handle, kind);
    Some(sfs)
}

/// An EFI system partition with a FAT file system, as installed: the same
/// file system object applications reach through SimpleFileSystem, so that
/// the firmware's own writes and theirs share one cache.
pub struct Esp {
    pub disk: usize,
    pub partition: u32,
    pub fs: &'static FileSystem,
}

/// Installs the handles; returns the EFI system partitions with a FAT file
/// system, in disk and partition order.
pub fn install_handles(disks: &[Disk], volumes: &[Volume], pci: &PciHandles) -> Vec<Esp> {
    let disk_handles: Vec<Option<HandleId>> = disks
        .iter()
        .enumerate()
        .map(|(index, disk)| {
            let on_pci = disk.pci.and_then(|address| pci.find(address)).and_then(|(_, h)| h);
            let (path, handle) = match on_pci {
                Some(handle) => (None, Some(handle)),
                None => (Some(disk_path(disk, pci)), None),
            };
            match install_block_handle(disk.device.clone(), false, path, handle, install) {
                Ok(handle) => {
                    install_disk_info(disk, handle);
                    Some(handle)
                }
                Err(e) => {
                    warn!("disk {index}: cannot install its EFI handle: {e}");
                    None
                }
            }
        })
        .collect();
    for (index, disk) in disk_handles.iter().enumerate() {
        if let Some(disk) = disk.filter(|_| volumes.iter().any(|v| v.disk == index)) {
            crate::efi_drivers::partitions_found(disk);
        }
    }
    volumes
        .iter()
        .filter_map(|v| {
            let path = disk_path(&disks[v.disk], pci).hard_drive_partition(&v.info);
            match install_block_handle(v.device.clone(), true, Some(path), None, install) {
                Ok(handle) => {
                    debug!("disk {} partition {}: handle {handle}", v.disk, v.info.number);
                    if let Some(disk) = disk_handles[v.disk] {
                        crate::efi_drivers::partition_started(disk, handle, &v.info);
                    }
                    let info = fw_protocols::partition_info::create(&v.info);
                    if let Err(e) = install(Some(handle), fw_protocols::partition_info::PROTOCOL_GUID, info) {
                        warn!(
                            "disk {} partition {}: cannot install PartitionInfo: {e}",
                            v.disk, v.info.number
                        );
                    }
                    let sfs = install_file_system(v, handle)?;
                    v.info.is_efi_system_partition().then(|| Esp {
                        disk: v.disk,
                        partition: v.info.number,
                        fs: sfs.file_system(),
                    })
                }
                Err(e) => {
                    warn!(
                        "disk {} partition {}: cannot install its EFI handle: {e}",
                        v.disk, v.info.number
                    );
                    None
                }
            }
        })
        .collect()
}
