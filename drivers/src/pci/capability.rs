//! The capability list (PCI 3.0 §6.7): a chain of (id, next) headers starting at
//! offset 0x34 when bit 4 of the status register is set. Vendor-specific
//! capabilities (id 0x09) carry virtio's structure locations (virtio 1.2 §4.1.4).
#![forbid(unsafe_code)]

use super::{ConfigAccess, PciAddress, CAPABILITIES_POINTER, STATUS, STATUS_CAPABILITIES_LIST};
use alloc::vec::Vec;
use log::debug;

/// The capability ID of a vendor-specific capability (virtio's structures).
pub const CAPABILITY_ID_VENDOR_SPECIFIC: u8 = 0x09;
/// A 256-byte space holds at most 48 capabilities after the 64-byte header; a
/// longer chain is a loop.
pub const MAX_CAPABILITIES: usize = 48;
/// Capabilities live after the standard header.
const FIRST_CAPABILITY_OFFSET: u8 = 0x40;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
/// One entry of a function's capability list.
pub struct Capability {
    /// The capability ID.
    pub id: u8,
    /// Offset of the capability header in configuration space.
    pub offset: u8,
}

/// The capabilities of a function, in list order.
pub fn capabilities<C: ConfigAccess>(config: &C, address: PciAddress) -> Vec<Capability> {
    let mut found = Vec::new();
    if config.read16(address, STATUS) & STATUS_CAPABILITIES_LIST == 0 {
        return found;
    }
    let mut pointer = config.read8(address, CAPABILITIES_POINTER) & !3;
    while pointer != 0 {
        if pointer < FIRST_CAPABILITY_OFFSET {
            debug!("pci {address}: capability pointer {pointer:#x} into the header, list cut");
            break;
        }
        if found.len() == MAX_CAPABILITIES {
            debug!("pci {address}: capability list longer than {MAX_CAPABILITIES}, cut");
            break;
        }
        let id = config.read8(address, u16::from(pointer));
        found.push(Capability { id, offset: pointer });
        pointer = config.read8(address, u16::from(pointer) + 1) & !3;
    }
    found
}

/// The vendor-specific capabilities of a function.
pub fn vendor_capabilities<C: ConfigAccess>(config: &C, address: PciAddress) -> Vec<Capability> {
    capabilities(config, address)
        .into_iter()
        .filter(|c| c.id == CAPABILITY_ID_VENDOR_SPECIFIC)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pci::model::ModelConfig;

    const A: PciAddress = PciAddress::new(0, 4, 0);

    #[test]
    fn walks_the_list_and_picks_vendor_capabilities() {
        let mut model = ModelConfig::new();
        model.add_function(A, 0x1AF4, 0x1042, 0x01_00_00);
        model.add_capabilities(
            A,
            &[
                (0x11, &[0u8; 10][..]),
                (0x09, &[16, 1]),
                (0x05, &[0; 12]),
                (0x09, &[16, 2]),
            ],
        );
        let all = capabilities(&model, A);
        assert_eq!(all.iter().map(|c| c.id).collect::<Vec<_>>(), [0x11, 0x09, 0x05, 0x09]);
        let vendor = vendor_capabilities(&model, A);
        assert_eq!(vendor.len(), 2);
        assert_eq!(model.read8(A, u16::from(vendor[1].offset) + 3), 2);
    }

    #[test]
    fn no_capabilities_without_the_status_bit() {
        let mut model = ModelConfig::new();
        model.add_function(A, 0x1AF4, 0x1042, 0x01_00_00);
        model.set8(A, CAPABILITIES_POINTER, 0x40);
        model.set8(A, 0x40, 0x09);
        assert!(capabilities(&model, A).is_empty());
    }

    #[test]
    fn a_looping_list_is_cut_after_48_entries() {
        let mut model = ModelConfig::new();
        model.add_function(A, 0x1AF4, 0x1042, 0x01_00_00);
        model.add_capabilities(A, &[(0x09, &[0u8; 2][..]), (0x09, &[0; 2])]);
        model.set8(A, 0x45, 0x40); // second points back at the first
        assert_eq!(capabilities(&model, A).len(), MAX_CAPABILITIES);
    }
}
