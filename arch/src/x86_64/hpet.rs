//! The HPET's main counter as a reference for measuring the TSC (IA-PC HPET
//! Specification 1.0a §2.3: the General Capabilities and ID register at 0x000,
//! whose upper half is COUNTER_CLK_PERIOD in femtoseconds, §2.3.4; the General
//! Configuration register at 0x010, whose bit 0 ENABLE_CNF runs the main
//! counter, §2.3.5; the Main Counter Value at 0x0F0, §2.3.7).
//!
//! Registers are read and written 32 bits at a time, which every HPET accepts;
//! the counter's low half, wrapping at 32 bits, is ample for 1 ms.

use fw_core::clock::{self, MeasureError};

const COUNTER_CLK_PERIOD: u64 = 0x004;
const GENERAL_CONFIGURATION: u64 = 0x010;
const MAIN_COUNTER: u64 = 0x0F0;
const ENABLE_CNF: u32 = 1 << 0;
/// The registers of one timer block.
const REGISTERS_SIZE: u64 = 0x400;
/// The entry code maps the first 4 GiB; nothing maps device memory above it
/// except PCI BARs.
const MAPPED_LIMIT: u64 = 1 << 32;

/// Why the HPET could not serve as a reference.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Error {
    /// The registers are not in the identity-mapped first 4 GiB, or not
    /// aligned for 32-bit accesses.
    Unreachable {
        /// The HPET's register base address.
        base: u64,
    },
    /// COUNTER_CLK_PERIOD is not one the specification allows.
    BadPeriod {
        /// The period of one tick in femtoseconds.
        period_fs: u32,
    },
    /// Counting ticks against the TSC failed.
    Measure(MeasureError),
}

impl core::fmt::Display for Error {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Error::Unreachable { base } => write!(f, "registers at {base:#x} are not mapped or misaligned"),
            Error::BadPeriod { period_fs } => write!(f, "its tick of {period_fs} fs is not a valid HPET period"),
            Error::Measure(e) => write!(f, "{e}"),
        }
    }
}

/// A timer block's registers, where the ACPI HPET table puts them, once checked
/// to be reachable.
struct Registers(u64);

impl Registers {
    fn new(base: u64) -> Result<Registers, Error> {
        let mapped = base.checked_add(REGISTERS_SIZE).is_some_and(|end| end <= MAPPED_LIMIT);
        if mapped && base.is_multiple_of(4) {
            Ok(Registers(base))
        } else {
            Err(Error::Unreachable { base })
        }
    }

    fn read(&self, offset: u64) -> u32 {
        // SAFETY: the registers lie in the identity-mapped first 4 GiB, aligned
        // (checked in `new`), where the ACPI HPET table names an HPET; the
        // registers read here have no read side effects.
        unsafe { core::ptr::read_volatile((self.0 + offset) as *const u32) }
    }

    fn write(&self, offset: u64, value: u32) {
        // SAFETY: as in `read`; only the General Configuration register is
        // written, with its other bits kept, and it is restored after measuring.
        unsafe { core::ptr::write_volatile((self.0 + offset) as *mut u32, value) }
    }
}

/// Measures `counter` (the TSC) over `duration_ns` of the HPET at `base`,
/// starting its main counter if it is stopped and stopping it again after.
pub fn measure(base: u64, counter: impl FnMut() -> u64, duration_ns: u64) -> Result<u64, Error> {
    let hpet = Registers::new(base)?;
    let period_fs = hpet.read(COUNTER_CLK_PERIOD);
    let hz = clock::hpet_frequency(period_fs).ok_or(Error::BadPeriod { period_fs })?;
    let configuration = hpet.read(GENERAL_CONFIGURATION);
    let stopped = configuration & ENABLE_CNF == 0;
    if stopped {
        hpet.write(GENERAL_CONFIGURATION, configuration | ENABLE_CNF);
    }
    let measured = clock::measure(counter, || u64::from(hpet.read(MAIN_COUNTER)), hz, 32, duration_ns);
    if stopped {
        hpet.write(GENERAL_CONFIGURATION, configuration);
    }
    measured.map_err(Error::Measure)
}
