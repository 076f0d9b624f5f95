//! EFI_RNG_PROTOCOL (UEFI 2.10 §37.5) over a hardware random source: Linux's
//! EFI stub seeds KASLR and its random pool from it.
//!
//! Only the RAW algorithm is offered: the bytes come straight from a hardware
//! source, which the firmware chooses (the CPU's RDRAND or RNDR, or a virtio
//! entropy device). The firmware installs the protocol only when such a source
//! exists; it never offers predictable bytes as random.

use crate::instances::Instances;
use r_efi::efi;
use r_efi::protocols::rng;

/// Fills a buffer with hardware random bytes; `false` when the hardware
/// failed (RDRAND can run dry, a device can stop answering) even after retries.
pub type FillRandom = fn(&mut [u8]) -> bool;

const SIGNATURE: u64 = u64::from_le_bytes(*b"hvfwRng_");

#[repr(C)]
/// EFI_RNG_PROTOCOL over the platform's random source.
pub struct RngProtocol {
    protocol: rng::Protocol,
    signature: u64,
    fill: FillRandom,
}

/// The instances created, so `this` can be checked before it is read.
static INSTANCES: Instances<RngProtocol> = Instances::new();

impl RngProtocol {
    /// Creates the protocol (leaked: it lives as long as boot services).
    pub fn create(fill: FillRandom) -> &'static RngProtocol {
        INSTANCES.leak(RngProtocol {
            protocol: rng::Protocol { get_info, get_rng },
            signature: SIGNATURE,
            fill,
        })
    }

    /// The protocol structure to install.
    pub fn protocol(&self) -> *mut rng::Protocol {
        core::ptr::from_ref::<rng::Protocol>(&self.protocol).cast_mut()
    }
}

fn instance(this: *mut rng::Protocol) -> Option<&'static RngProtocol> {
    INSTANCES.find(this).filter(|i| i.signature == SIGNATURE)
}

extern "efiapi" fn get_info(this: *mut rng::Protocol, size: *mut usize, list: *mut rng::Algorithm) -> efi::Status {
    if instance(this).is_none() || size.is_null() {
        return efi::Status::INVALID_PARAMETER;
    }
    let needed = core::mem::size_of::<rng::Algorithm>();
    // SAFETY: checked non-null; the caller's pointers.
    unsafe {
        if *size < needed {
            *size = needed;
            return efi::Status::BUFFER_TOO_SMALL;
        }
        if list.is_null() {
            return efi::Status::INVALID_PARAMETER;
        }
        *list = rng::ALGORITHM_RAW;
        *size = needed;
    }
    efi::Status::SUCCESS
}

extern "efiapi" fn get_rng(
    this: *mut rng::Protocol,
    algorithm: *mut rng::Algorithm,
    length: usize,
    value: *mut u8,
) -> efi::Status {
    let Some(instance) = instance(this) else {
        return efi::Status::INVALID_PARAMETER;
    };
    if value.is_null() || length == 0 {
        return efi::Status::INVALID_PARAMETER;
    }
    // SAFETY: a non-null algorithm points to a GUID (the caller's contract).
    if let Some(wanted) = unsafe { algorithm.as_ref() } {
        if *wanted != rng::ALGORITHM_RAW {
            return efi::Status::UNSUPPORTED;
        }
    }
    // SAFETY: the caller gave `length` writable bytes at `value`; the claim is
    // checked first.
    let buffer = match unsafe { fw_core::caller_buffer::slice_mut(value, length) } {
        Ok(buffer) => buffer,
        Err(e) => return e.status(),
    };
    if (instance.fill)(buffer) {
        efi::Status::SUCCESS
    } else {
        efi::Status::DEVICE_ERROR
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counting(buf: &mut [u8]) -> bool {
        for (i, b) in buf.iter_mut().enumerate() {
            *b = i as u8 ^ 0x5a;
        }
        true
    }

    #[test]
    fn offers_raw_and_fills_through_the_protocol() {
        let p = RngProtocol::create(counting).protocol();
        // SAFETY: calling our own thunks through the protocol, as an application would.
        unsafe {
            let mut size = 0usize;
            assert_eq!(
                ((*p).get_info)(p, &mut size, core::ptr::null_mut()),
                efi::Status::BUFFER_TOO_SMALL
            );
            let mut algorithm = rng::ALGORITHM_SP800_90_CTR_256_GUID;
            assert_eq!(((*p).get_info)(p, &mut size, &mut algorithm), efi::Status::SUCCESS);
            assert_eq!(algorithm, rng::ALGORITHM_RAW);
            let mut bytes = [0u8; 16];
            assert_eq!(
                ((*p).get_rng)(p, core::ptr::null_mut(), 16, bytes.as_mut_ptr()),
                efi::Status::SUCCESS
            );
            assert_eq!(bytes[1], 1 ^ 0x5a);
            let mut other = rng::ALGORITHM_SP800_90_HASH_256_GUID;
            assert_eq!(
                ((*p).get_rng)(p, &mut other, 16, bytes.as_mut_ptr()),
                efi::Status::UNSUPPORTED
            );
            assert_eq!(
                ((*p).get_rng)(p, core::ptr::null_mut(), 16, core::ptr::null_mut()),
                efi::Status::INVALID_PARAMETER
            );
            let mut foreign = rng::Protocol { get_info, get_rng };
            assert_eq!(
                get_rng(&mut foreign, core::ptr::null_mut(), 16, bytes.as_mut_ptr()),
                efi::Status::INVALID_PARAMETER
            );
        }
    }
}
