//! EFI_TIMESTAMP_PROTOCOL (UEFI 2.10 §37.3): the architecture's free-running
//! counter (the TSC, the generic timer, the `time` CSR) and its rate, so that
//! applications can measure time. The built-in boot manager uses it for the
//! Boot Loader Interface's `LoaderTimeInitUSec`/`LoaderTimeExecUSec`, the
//! counter having run since the machine started.

use r_efi::efi;
use spin::Once;

/// EFI_TIMESTAMP_PROTOCOL_GUID.
pub const PROTOCOL_GUID: efi::Guid = efi::Guid::from_fields(
    0xafbfde41,
    0x2e6e,
    0x4262,
    0xba,
    0x65,
    &[0x62, 0xb9, 0x23, 0x6e, 0x54, 0x95],
);

/// EFI_TIMESTAMP_PROPERTIES.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Properties {
    /// Ticks per second.
    pub frequency: u64,
    /// The counter's last value before it wraps to 0.
    pub end_value: u64,
}

#[repr(C)]
/// EFI_TIMESTAMP_PROTOCOL.
pub struct Protocol {
    /// GetTimestamp: the counter's current value.
    pub get_timestamp: extern "efiapi" fn() -> u64,
    /// GetProperties: the counter's frequency and last value.
    pub get_properties: extern "efiapi" fn(*mut Properties) -> efi::Status,
}

/// The counter and its rate, set once by [`create`].
struct Counter {
    read: fn() -> u64,
    frequency: u64,
}

static COUNTER: Once<Counter> = Once::new();

static PROTOCOL: Protocol = Protocol {
    get_timestamp,
    get_properties,
};

/// The protocol over `read`, a 64-bit counter counting `frequency` ticks per
/// second.
pub fn create(read: fn() -> u64, frequency: u64) -> *mut Protocol {
    COUNTER.call_once(|| Counter { read, frequency });
    core::ptr::from_ref::<Protocol>(&PROTOCOL).cast_mut()
}

extern "efiapi" fn get_timestamp() -> u64 {
    // §37.3: 0 when the counter is unavailable.
    COUNTER.get().map_or(0, |c| (c.read)())
}

extern "efiapi" fn get_properties(properties: *mut Properties) -> efi::Status {
    let Some(counter) = COUNTER.get() else {
        return efi::Status::DEVICE_ERROR;
    };
    // SAFETY: the caller's pointer, checked for null; the specification has
    // it point at an EFI_TIMESTAMP_PROPERTIES.
    match unsafe { properties.as_mut() } {
        Some(out) => {
            *out = Properties {
                frequency: counter.frequency,
                end_value: u64::MAX,
            };
            efi::Status::SUCCESS
        }
        None => efi::Status::INVALID_PARAMETER,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counter() -> u64 {
        42
    }

    #[test]
    fn reports_the_counter_and_its_rate() {
        let protocol = create(counter, 1_000_000);
        // SAFETY: the static protocol just created.
        let protocol = unsafe { &*protocol };
        assert_eq!((protocol.get_timestamp)(), 42);
        let mut properties = Properties {
            frequency: 0,
            end_value: 0,
        };
        assert_eq!((protocol.get_properties)(&mut properties), efi::Status::SUCCESS);
        assert_eq!(properties.frequency, 1_000_000);
        assert_eq!(properties.end_value, u64::MAX);
        assert_eq!(
            (protocol.get_properties)(core::ptr::null_mut()),
            efi::Status::INVALID_PARAMETER
        );
    }
}
