//! The setup header and `boot_params` of Debian's cloud kernel, read from the
//! directory `HVFW_EFI_BINARIES` names (`cargo xtask test` fills it from the
//! Debian package linux-image-cloud-amd64's versioned dependency).

use super::boot_params::BootParams;
use super::placement;
use super::setup_header::*;
use fw_efi_binaries as binaries;

#[test]
#[ignore = "needs HVFW_EFI_BINARIES; run by cargo xtask test"]
fn debian_cloud_kernel_has_a_usable_64_bit_setup_header() {
    let (name, kernel) = binaries::kernel();
    let h = SetupHeader::parse(&kernel).unwrap_or_else(|e| panic!("{name}: {e}"));
    std::eprintln!("{name}: {h:x?}");
    // Distribution kernels carry a PE header for their EFI stub in front.
    assert_eq!(&kernel[..2], b"MZ");
    assert!(h.version >= 0x020F, "protocol {:#x}", h.version);
    assert!(h.xloadflags & XLF_KERNEL_64 != 0);
    assert!(h.xloadflags & XLF_CAN_BE_LOADED_ABOVE_4G != 0);
    assert!(h.xloadflags & XLF_EFI_HANDOVER_64 != 0);
    assert!(h.loadflags & LOADED_HIGH != 0);
    assert!(h.relocatable_kernel);
    assert_eq!(h.kernel_alignment, 0x20_0000);
    assert_eq!(h.pref_address, 0x100_0000);
    assert_eq!(h.initrd_addr_max, 0x7FFF_FFFF);
    assert!(h.cmdline_size >= 255);
    assert!(h.header_end <= SETUP_HEADER_LIMIT && h.header_end > OFF_INIT_SIZE + 4);
    let pm = h.protected_mode(&kernel);
    assert_eq!(pm.len(), kernel.len() - h.setup_len());
    assert!(pm.len() as u64 >= u64::from(h.syssize) * 16);
    assert_eq!(h.load_size(&kernel), u64::from(h.init_size));
    assert_eq!(
        placement::pages_for(h.load_size(&kernel)) * 4096,
        u64::from(h.init_size)
    );
}

#[test]
#[ignore = "needs HVFW_EFI_BINARIES; run by cargo xtask test"]
fn debian_cloud_kernel_header_lands_unchanged_in_boot_params() {
    let (_, kernel) = binaries::kernel();
    let h = SetupHeader::parse(&kernel).unwrap();
    let mut bp = BootParams::new(h.header_bytes(&kernel));
    let page = bp.as_bytes();
    assert_eq!(
        &page[SETUP_HEADER_OFFSET..h.header_end],
        &kernel[SETUP_HEADER_OFFSET..h.header_end]
    );
    assert!(page[..SETUP_HEADER_OFFSET].iter().all(|&b| b == 0));
    assert!(page[h.header_end..].iter().all(|&b| b == 0));
    bp.set_loader();
    assert_eq!(bp.as_bytes()[OFF_TYPE_OF_LOADER], 0xFF);
    assert_eq!(bp.as_bytes()[OFF_LOADFLAGS], h.loadflags | CAN_USE_HEAP);
    // Fields the loader does not touch keep the kernel's values.
    assert_eq!(bp.u32_at(OFF_INIT_SIZE), h.init_size);
    assert_eq!(bp.u32_at(OFF_KERNEL_ALIGNMENT), h.kernel_alignment);
}
