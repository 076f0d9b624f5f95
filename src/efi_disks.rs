//! EFI handles for the disks: one per disk and one per partition, each with its
//! device path (PciRoot/Pci[/HD]), BlockIo and DiskIo; FAT partitions also get
//! SimpleFileSystem. Handles are created in PCI order, then partition order,
//! which is the order the boot manager tries them in.

use crate::disks::Volume;
use crate::platform::Disk;
use alloc::vec::Vec;
use fw_core::efi::protocol::install;
use fw_core::handles::HandleId;
use fw_protocols::block_io::install_block_handle;
use fw_protocols::device_path::DevicePathBuf;
use log::{debug, warn};

/// The device path of a disk: the PCI function it is (devices on the root bus;
/// VMMs put virtio-blk there).
fn disk_path(disk: &Disk) -> DevicePathBuf {
    let path = DevicePathBuf::new().pci_root(0);
    match disk.pci {
        Some(address) => path.pci(address.device, address.function),
        None => path,
    }
}

/// Installs the handles; returns the partition handles in volume order.
pub fn install_handles(disks: &[Disk], volumes: &[Volume]) -> Vec<Option<HandleId>> {
    for (index, disk) in disks.iter().enumerate() {
        if let Err(e) = install_block_handle(disk.device.clone(), false, disk_path(disk), None, install) {
            warn!("disk {index}: cannot install its EFI handle: {e}");
        }
    }
    volumes
        .iter()
        .map(|v| {
            let path = disk_path(&disks[v.disk]).hard_drive_partition(&v.info);
            match install_block_handle(v.device.clone(), true, path, None, install) {
                Ok(handle) => {
                    debug!("disk {} partition {}: handle {handle}", v.disk, v.info.number);
                    Some(handle)
                }
                Err(e) => {
                    warn!("disk {} partition {}: cannot install its EFI handle: {e}", v.disk, v.info.number);
                    None
                }
            }
        })
        .collect()
}
