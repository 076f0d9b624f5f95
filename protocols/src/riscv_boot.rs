//! RISCV_EFI_BOOT_PROTOCOL (RISC-V UEFI Protocol Specification 1.0, §1
//! "RISCV_EFI_BOOT_PROTOCOL"): tells an OS loader which hart it runs on.
//! Linux's riscv EFI stub asks for it (the device tree's `/chosen` has no boot
//! hart under UEFI) and stops without it.

use crate::instances::Instances;
use r_efi::efi;

/// RISCV_EFI_BOOT_PROTOCOL_GUID.
pub const PROTOCOL_GUID: efi::Guid = efi::Guid::from_fields(
    0xccd1_5fec,
    0x6f73,
    0x4eec,
    0x83,
    0x95,
    &[0x3e, 0x69, 0xe4, 0xb9, 0x40, 0xbf],
);

/// RISCV_EFI_BOOT_PROTOCOL_REVISION (1.0), also the latest version.
pub const REVISION: u64 = 0x0001_0000;

/// The protocol's interface as the specification lays it out.
#[repr(C)]
pub struct Protocol {
    /// The protocol's revision, [`REVISION`].
    pub revision: u64,
    /// GetBootHartId: the hart the firmware handed over on.
    pub get_boot_hart_id: extern "efiapi" fn(this: *mut Protocol, boot_hart_id: *mut usize) -> efi::Status,
}

#[repr(C)]
/// RISCV_EFI_BOOT_PROTOCOL: the table and the boot hart's id.
pub struct RiscvBootProtocol {
    protocol: Protocol,
    hart_id: usize,
}

/// The instances created, so `this` can be checked before it is read.
static INSTANCES: Instances<RiscvBootProtocol> = Instances::new();

impl RiscvBootProtocol {
    /// Creates the protocol for the hart the firmware was started on (leaked:
    /// it lives as long as boot services).
    pub fn create(hart_id: usize) -> &'static RiscvBootProtocol {
        INSTANCES.leak(RiscvBootProtocol {
            protocol: Protocol {
                revision: REVISION,
                get_boot_hart_id,
            },
            hart_id,
        })
    }

    /// The protocol structure to install.
    pub fn protocol(&self) -> *mut Protocol {
        core::ptr::from_ref::<Protocol>(&self.protocol).cast_mut()
    }
}

/// GetBootHartId: INVALID_PARAMETER when `this` is not the instance or
/// `boot_hart_id` is null.
extern "efiapi" fn get_boot_hart_id(this: *mut Protocol, boot_hart_id: *mut usize) -> efi::Status {
    let Some(instance) = INSTANCES.find(this).filter(|_| !boot_hart_id.is_null()) else {
        return efi::Status::INVALID_PARAMETER;
    };
    // SAFETY: checked non-null; the caller's pointer to a UINTN.
    unsafe { boot_hart_id.write(instance.hart_id) };
    efi::Status::SUCCESS
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reports_the_boot_hart_and_rejects_null_arguments() {
        let boot = RiscvBootProtocol::create(3);
        let protocol = boot.protocol();
        // SAFETY: the protocol was just created.
        let (revision, get) = unsafe { ((*protocol).revision, (*protocol).get_boot_hart_id) };
        assert_eq!(revision, REVISION);
        let mut hart = usize::MAX;
        assert_eq!(get(protocol, &mut hart), efi::Status::SUCCESS);
        assert_eq!(hart, 3);
        assert_eq!(get(protocol, core::ptr::null_mut()), efi::Status::INVALID_PARAMETER);
        assert_eq!(get(core::ptr::null_mut(), &mut hart), efi::Status::INVALID_PARAMETER);
    }
}
