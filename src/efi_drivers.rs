//! The firmware's own drivers as EFI sees them (UEFI 2.10 §11): a handle per
//! driver with EFI_DRIVER_BINDING_PROTOCOL and EFI_COMPONENT_NAME2_PROTOCOL,
//! and the opens a driver-model driver would hold, so that
//! OpenProtocolInformation tells which driver manages a controller and
//! GetControllerName names it:
//! - the virtio-blk driver holds each disk's DevicePath `BY_DRIVER`;
//! - the partition driver holds each disk's DiskIo `BY_DRIVER`, and
//!   `BY_CHILD_CONTROLLER` for each partition handle it made;
//! - the FAT driver holds each FAT partition's DiskIo `BY_DRIVER`;
//! - the serial driver holds the UART handle's DevicePath `BY_DRIVER`.

use alloc::format;
use fw_core::efi::protocol::{install, open};
use fw_core::handles::HandleId;
use fw_drivers::partition::{PartitionFormat, PartitionInfo};
use fw_protocols::component_name::{self, ComponentName2};
use log::debug;
use r_efi::efi::{Guid, OPEN_PROTOCOL_BY_CHILD_CONTROLLER, OPEN_PROTOCOL_BY_DRIVER};
use r_efi::protocols::{device_path, disk_io};

/// One firmware driver: its handle and its names.
struct Driver {
    handle: HandleId,
    names: &'static ComponentName2,
}

struct Drivers {
    virtio_blk: Option<Driver>,
    partition: Option<Driver>,
    fat: Option<Driver>,
    serial: Option<Driver>,
}

static DRIVERS: spin::Once<Drivers> = spin::Once::new();

/// A driver handle with DriverBinding and ComponentName2.
fn create(name: &str) -> Option<Driver> {
    let names = ComponentName2::create(name);
    let installed = install(None, component_name::PROTOCOL_GUID, names.protocol().cast()).and_then(|handle| {
        let binding = fw_protocols::driver_binding::create(crate::efi_setup::firmware_handle(), handle.to_efi());
        install(
            Some(handle),
            fw_protocols::driver_binding::PROTOCOL_GUID,
            binding.cast(),
        )
    });
    match installed {
        Ok(handle) => Some(Driver { handle, names }),
        Err(e) => {
            log::warn!("cannot install the handle of the {name}: {e}");
            None
        }
    }
}

fn drivers() -> &'static Drivers {
    DRIVERS.call_once(|| Drivers {
        virtio_blk: create("hypervisor-fw virtio-blk driver"),
        partition: create("hypervisor-fw partition driver (GPT, MBR)"),
        fat: create("hypervisor-fw FAT file system driver"),
        serial: create("hypervisor-fw serial console driver"),
    })
}

/// `driver` opens `guid` on `handle` for `controller` and names it.
fn take(driver: &Option<Driver>, handle: HandleId, guid: Guid, controller: HandleId, attributes: u32, name: &str) {
    let Some(driver) = driver else {
        return;
    };
    if let Err(e) = open(handle, guid, driver.handle, controller, attributes) {
        debug!("drivers: {} cannot open {handle}: {e}", driver.handle);
    }
    let child = (controller != handle).then(|| controller.to_efi());
    driver.names.name_controller(handle.to_efi(), child, name);
}

/// A disk the virtio-blk driver drives; `location` as the log says it
/// ("virtio-blk at PCI 00:03.0").
pub fn disk_started(handle: HandleId, location: &str, bytes: u64) {
    let name = format!("{location}, {} MiB", bytes >> 20);
    take(
        &drivers().virtio_blk,
        handle,
        device_path::PROTOCOL_GUID,
        handle,
        OPEN_PROTOCOL_BY_DRIVER,
        &name,
    );
}

/// The disk on `disk` had partitions: the partition driver manages it (once
/// per disk, before its partitions are named).
pub fn partitions_found(disk: HandleId) {
    let Some(driver) = &drivers().partition else {
        return;
    };
    match open(
        disk,
        disk_io::PROTOCOL_GUID,
        driver.handle,
        disk,
        OPEN_PROTOCOL_BY_DRIVER,
    ) {
        Ok(_) => debug!("drivers: partition driver manages {disk}"),
        Err(e) => debug!("drivers: partition driver cannot open {disk}: {e}"),
    }
}

/// A partition handle the partition driver made for the disk on `disk`.
pub fn partition_started(disk: HandleId, partition: HandleId, info: &PartitionInfo) {
    let partition_driver = &drivers().partition;
    let table = match info.format {
        PartitionFormat::Gpt => "GPT",
        PartitionFormat::Mbr => "MBR",
    };
    let kind = if info.is_efi_system_partition() {
        ", EFI system partition"
    } else {
        ""
    };
    let name = format!("Partition {} ({table}{kind})", info.number);
    take(
        partition_driver,
        disk,
        disk_io::PROTOCOL_GUID,
        partition,
        OPEN_PROTOCOL_BY_CHILD_CONTROLLER,
        &name,
    );
}

/// A partition the FAT driver mounted; `kind` is "FAT12", "FAT16" or "FAT32".
pub fn file_system_started(partition: HandleId, kind: &str) {
    let name = format!("{kind} file system");
    take(
        &drivers().fat,
        partition,
        disk_io::PROTOCOL_GUID,
        partition,
        OPEN_PROTOCOL_BY_DRIVER,
        &name,
    );
}

/// The UART handle the serial driver drives (EFI_SERIAL_IO_PROTOCOL).
pub fn serial_started(handle: HandleId, name: &str) {
    take(
        &drivers().serial,
        handle,
        device_path::PROTOCOL_GUID,
        handle,
        OPEN_PROTOCOL_BY_DRIVER,
        name,
    );
}
