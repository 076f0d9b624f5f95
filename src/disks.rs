//! What is on the disks: partition tables, and the partitions as block devices.

use crate::platform::Disk;
use alloc::sync::Arc;
use alloc::vec::Vec;
use fw_drivers::block::BlockDevice;
use fw_drivers::partition::{self, Partition, PartitionInfo};
use log::{info, warn};

/// A partition of a disk, as a block device of its own.
pub struct Volume {
    /// Index into the disk list.
    pub disk: usize,
    pub info: PartitionInfo,
    pub device: Arc<dyn BlockDevice>,
}

fn mib(blocks: u64, block_size: u32) -> u64 {
    (blocks * u64::from(block_size)) >> 20
}

/// Logs each disk and its partitions, and returns the partitions.
pub fn scan(disks: &[Disk]) -> Vec<Volume> {
    let mut volumes = Vec::new();
    if disks.is_empty() {
        info!("no disks found");
    }
    for (index, disk) in disks.iter().enumerate() {
        let dev = &disk.device;
        dev.set_name(&alloc::format!("disk {index} ({})", disk.location));
        info!(
            "disk {index}: {}, {} MiB ({} blocks of {} bytes){}",
            disk.location,
            mib(dev.block_count(), dev.block_size()),
            dev.block_count(),
            dev.block_size(),
            if dev.read_only() { ", read-only" } else { "" }
        );
        let table = match partition::read_partition_table(dev.as_ref()) {
            Ok(table) => table,
            Err(e) => {
                warn!("disk {index}: no usable partition table: {e}");
                continue;
            }
        };
        if table.used_backup_gpt {
            warn!("disk {index}: primary GPT damaged, using the backup GPT");
        }
        for damage in &table.damage {
            warn!("disk {index}: {damage}");
        }
        for p in table.partitions {
            info!(
                "  partition {}: {} MiB at LBA {}{}{}",
                p.number,
                mib(p.size_lbas, dev.block_size()),
                p.start_lba,
                if p.is_efi_system_partition() {
                    ", EFI system partition"
                } else {
                    ""
                },
                if p.name.is_empty() {
                    alloc::string::String::new()
                } else {
                    alloc::format!(", \"{}\"", p.name)
                }
            );
            match Partition::new(dev.clone(), &p) {
                Ok(view) => volumes.push(Volume {
                    disk: index,
                    info: p,
                    device: Arc::new(view),
                }),
                Err(e) => warn!("  partition {}: {e}", p.number),
            }
        }
    }
    volumes
}
