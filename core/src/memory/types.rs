//! EFI memory types and their default attributes (UEFI 2.10 §7.2.1, Table 7-5 "Memory
//! Type Usage before ExitBootServices()", and §7.2.3 `EFI_MEMORY_DESCRIPTOR`).
#![forbid(unsafe_code)]

use core::fmt;
use r_efi::efi;

/// The first memory type value reserved for OEMs (UEFI 2.10 §7.2.1, `AllocatePages`).
pub const OEM_MEMORY_TYPE_FIRST: u32 = 0x7000_0000;
/// The last memory type value reserved for OEMs.
pub const OEM_MEMORY_TYPE_LAST: u32 = 0x7FFF_FFFF;
/// The first memory type value reserved for OS loaders and operating systems.
pub const OS_MEMORY_TYPE_FIRST: u32 = 0x8000_0000;

/// Caching capabilities of ordinary RAM: what the descriptor's `Attribute` reports
/// for every RAM-backed type.
pub const RAM_ATTRIBUTES: u64 = efi::MEMORY_UC | efi::MEMORY_WC | efi::MEMORY_WT | efi::MEMORY_WB;

/// An EFI memory type (`EFI_MEMORY_TYPE`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum MemoryType {
    /// 0: not usable.
    ReservedMemoryType,
    /// 1: an OS loader's code.
    LoaderCode,
    /// 2: an OS loader's data, and the default for applications' pool.
    LoaderData,
    /// 3: a boot service driver's code.
    BootServicesCode,
    /// 4: a boot service driver's data, and the firmware's boot-time allocations.
    BootServicesData,
    /// 5: a runtime driver's code, kept after ExitBootServices.
    RuntimeServicesCode,
    /// 6: a runtime driver's data, kept after ExitBootServices.
    RuntimeServicesData,
    /// 7: free memory.
    ConventionalMemory,
    /// 8: memory with errors.
    UnusableMemory,
    /// 9: ACPI tables, free once the OS has read them.
    ACPIReclaimMemory,
    /// 10: ACPI non-volatile storage.
    ACPIMemoryNVS,
    /// 11: memory-mapped I/O the runtime services use.
    MemoryMappedIO,
    /// 12: memory-mapped I/O port space.
    MemoryMappedIOPortSpace,
    /// 13: Itanium PAL code.
    PalCode,
    /// 14: persistent memory.
    PersistentMemory,
    /// 15: memory that must be accepted before use (confidential VMs).
    Unaccepted,
    /// A value in `0x70000000..=0x7FFFFFFF`, reserved for OEM use.
    Oem(u32),
    /// A value in `0x80000000..=0xFFFFFFFF`, reserved for OS loaders and OSes.
    Os(u32),
}

/// A raw memory type value the specification does not define
/// (`EfiMaxMemoryType..0x6FFFFFFF`). Mapped to `EFI_INVALID_PARAMETER`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InvalidMemoryType(pub u32);

impl InvalidMemoryType {
    /// `EFI_INVALID_PARAMETER`, as `AllocatePages` and `AllocatePool` return for such a type.
    pub fn status(&self) -> efi::Status {
        efi::Status::INVALID_PARAMETER
    }
}

impl fmt::Display for InvalidMemoryType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "memory type {:#x} is not defined", self.0)
    }
}

/// The types in the order of their values 0..=15 (`EfiMaxMemoryType` is 16).
const STANDARD: [MemoryType; 16] = [
    MemoryType::ReservedMemoryType,
    MemoryType::LoaderCode,
    MemoryType::LoaderData,
    MemoryType::BootServicesCode,
    MemoryType::BootServicesData,
    MemoryType::RuntimeServicesCode,
    MemoryType::RuntimeServicesData,
    MemoryType::ConventionalMemory,
    MemoryType::UnusableMemory,
    MemoryType::ACPIReclaimMemory,
    MemoryType::ACPIMemoryNVS,
    MemoryType::MemoryMappedIO,
    MemoryType::MemoryMappedIOPortSpace,
    MemoryType::PalCode,
    MemoryType::PersistentMemory,
    MemoryType::Unaccepted,
];

/// Number of slots [`MemoryType::index`] uses: the 16 standard types, OEM, OS.
pub(crate) const TYPE_SLOTS: usize = STANDARD.len() + 2;

impl MemoryType {
    /// Converts a raw `EFI_MEMORY_TYPE`; values between the standard types and the
    /// OEM range are rejected.
    pub fn from_raw(raw: u32) -> Result<MemoryType, InvalidMemoryType> {
        match raw {
            OEM_MEMORY_TYPE_FIRST..=OEM_MEMORY_TYPE_LAST => Ok(MemoryType::Oem(raw)),
            OS_MEMORY_TYPE_FIRST..=u32::MAX => Ok(MemoryType::Os(raw)),
            _ => STANDARD.get(raw as usize).copied().ok_or(InvalidMemoryType(raw)),
        }
    }

    /// The raw `EFI_MEMORY_TYPE` value.
    pub fn raw(self) -> u32 {
        match self {
            MemoryType::ReservedMemoryType => efi::RESERVED_MEMORY_TYPE,
            MemoryType::LoaderCode => efi::LOADER_CODE,
            MemoryType::LoaderData => efi::LOADER_DATA,
            MemoryType::BootServicesCode => efi::BOOT_SERVICES_CODE,
            MemoryType::BootServicesData => efi::BOOT_SERVICES_DATA,
            MemoryType::RuntimeServicesCode => efi::RUNTIME_SERVICES_CODE,
            MemoryType::RuntimeServicesData => efi::RUNTIME_SERVICES_DATA,
            MemoryType::ConventionalMemory => efi::CONVENTIONAL_MEMORY,
            MemoryType::UnusableMemory => efi::UNUSABLE_MEMORY,
            MemoryType::ACPIReclaimMemory => efi::ACPI_RECLAIM_MEMORY,
            MemoryType::ACPIMemoryNVS => efi::ACPI_MEMORY_NVS,
            MemoryType::MemoryMappedIO => efi::MEMORY_MAPPED_IO,
            MemoryType::MemoryMappedIOPortSpace => efi::MEMORY_MAPPED_IO_PORT_SPACE,
            MemoryType::PalCode => efi::PAL_CODE,
            MemoryType::PersistentMemory => efi::PERSISTENT_MEMORY,
            MemoryType::Unaccepted => efi::UNACCEPTED_MEMORY_TYPE,
            MemoryType::Oem(raw) | MemoryType::Os(raw) => raw,
        }
    }

    /// Whether `AllocatePages`/`AllocatePool` may hand out memory of this type.
    /// UEFI 2.10 §7.2 rejects `EfiConventionalMemory` and `EfiPersistentMemory`;
    /// `EfiUnacceptedMemoryType` describes memory not yet usable at all (edk2 rejects it too).
    pub fn is_allocatable(self) -> bool {
        !matches!(
            self,
            MemoryType::ConventionalMemory | MemoryType::PersistentMemory | MemoryType::Unaccepted
        )
    }

    /// Whether the OS must keep this memory mapped for runtime services
    /// (the descriptor carries `EFI_MEMORY_RUNTIME`).
    pub fn is_runtime(self) -> bool {
        matches!(
            self,
            MemoryType::RuntimeServicesCode
                | MemoryType::RuntimeServicesData
                | MemoryType::MemoryMappedIO
                | MemoryType::MemoryMappedIOPortSpace
        )
    }

    /// Whether this is device address space rather than RAM.
    pub fn is_mmio(self) -> bool {
        matches!(self, MemoryType::MemoryMappedIO | MemoryType::MemoryMappedIOPortSpace)
    }

    /// Whether the OS may use this RAM once it has called `ExitBootServices`
    /// (Table 7-6): free memory, loader and boot services memory. ACPI reclaim memory
    /// becomes usable only after the OS has read the tables, so it is not counted.
    pub fn is_free_after_exit_boot_services(self) -> bool {
        matches!(
            self,
            MemoryType::ConventionalMemory
                | MemoryType::LoaderCode
                | MemoryType::LoaderData
                | MemoryType::BootServicesCode
                | MemoryType::BootServicesData
        )
    }

    /// Whether this is memory the firmware's boot services own (freed at `ExitBootServices`).
    pub fn is_boot_services(self) -> bool {
        matches!(self, MemoryType::BootServicesCode | MemoryType::BootServicesData)
    }

    /// The attribute the descriptor of a range of this type reports: the caching
    /// capabilities of RAM (UC|WC|WT|WB) for RAM types, UC for MMIO, plus
    /// `EFI_MEMORY_RUNTIME` for runtime code/data and for MMIO (which only appears in
    /// the map because a runtime service needs it mapped, §7.2.1 Table 7-5) and
    /// `EFI_MEMORY_NV` for persistent memory.
    pub fn default_attribute(self) -> u64 {
        match self {
            MemoryType::MemoryMappedIO | MemoryType::MemoryMappedIOPortSpace => efi::MEMORY_UC | efi::MEMORY_RUNTIME,
            MemoryType::RuntimeServicesCode | MemoryType::RuntimeServicesData => RAM_ATTRIBUTES | efi::MEMORY_RUNTIME,
            MemoryType::PersistentMemory => RAM_ATTRIBUTES | efi::MEMORY_NV,
            _ => RAM_ATTRIBUTES,
        }
    }

    /// All standard types (value 0..=15), for statistics and reports.
    pub fn standard() -> &'static [MemoryType] {
        &STANDARD
    }

    /// A dense index for per-type counters: the raw value for standard types, then one
    /// slot for all OEM types and one for all OS types.
    pub(crate) fn index(self) -> usize {
        match self {
            MemoryType::Oem(_) => STANDARD.len(),
            MemoryType::Os(_) => STANDARD.len() + 1,
            other => other.raw() as usize,
        }
    }
}

impl TryFrom<u32> for MemoryType {
    type Error = InvalidMemoryType;

    fn try_from(raw: u32) -> Result<Self, Self::Error> {
        MemoryType::from_raw(raw)
    }
}

impl From<MemoryType> for u32 {
    fn from(ty: MemoryType) -> u32 {
        ty.raw()
    }
}

impl fmt::Display for MemoryType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MemoryType::Oem(raw) => write!(f, "OEM({raw:#x})"),
            MemoryType::Os(raw) => write!(f, "OS({raw:#x})"),
            other => fmt::Debug::fmt(other, f),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn standard_types_round_trip_through_raw_values() {
        for raw in 0..16u32 {
            let ty = MemoryType::from_raw(raw).unwrap();
            assert_eq!(u32::from(ty), raw);
            assert_eq!(ty.index(), raw as usize);
        }
        assert_eq!(MemoryType::try_from(efi::LOADER_DATA), Ok(MemoryType::LoaderData));
        assert_eq!(
            MemoryType::from_raw(efi::UNACCEPTED_MEMORY_TYPE),
            Ok(MemoryType::Unaccepted)
        );
    }

    #[test]
    fn oem_and_os_types_are_kept_with_their_value() {
        assert_eq!(MemoryType::from_raw(0x7000_0000), Ok(MemoryType::Oem(0x7000_0000)));
        assert_eq!(MemoryType::from_raw(0x7FFF_FFFF), Ok(MemoryType::Oem(0x7FFF_FFFF)));
        assert_eq!(MemoryType::from_raw(0x8000_0000), Ok(MemoryType::Os(0x8000_0000)));
        assert_eq!(MemoryType::from_raw(0xFFFF_FFFF), Ok(MemoryType::Os(0xFFFF_FFFF)));
        assert_eq!(u32::from(MemoryType::Os(0x8000_1234)), 0x8000_1234);
        assert!(MemoryType::Oem(0x7000_0000).is_allocatable());
        assert!(MemoryType::Os(0x8000_0000).is_allocatable());
    }

    #[test]
    fn undefined_types_are_rejected_as_invalid_parameter() {
        for raw in [16, 17, 0x1000, 0x6FFF_FFFF] {
            let err = MemoryType::from_raw(raw).unwrap_err();
            assert_eq!(err, InvalidMemoryType(raw));
            assert_eq!(err.status(), efi::Status::INVALID_PARAMETER);
        }
    }

    #[test]
    fn free_memory_types_cannot_be_allocated() {
        assert!(!MemoryType::ConventionalMemory.is_allocatable());
        assert!(!MemoryType::PersistentMemory.is_allocatable());
        assert!(!MemoryType::Unaccepted.is_allocatable());
        assert!(MemoryType::LoaderData.is_allocatable());
        assert!(MemoryType::ReservedMemoryType.is_allocatable());
    }

    #[test]
    fn runtime_types_carry_the_runtime_attribute() {
        for &ty in MemoryType::standard() {
            let runtime = ty.default_attribute() & efi::MEMORY_RUNTIME != 0;
            assert_eq!(runtime, ty.is_runtime(), "{ty}");
        }
        assert_eq!(MemoryType::ConventionalMemory.default_attribute(), RAM_ATTRIBUTES);
        assert_eq!(
            MemoryType::MemoryMappedIO.default_attribute(),
            efi::MEMORY_UC | efi::MEMORY_RUNTIME
        );
        assert_eq!(
            MemoryType::RuntimeServicesData.default_attribute(),
            RAM_ATTRIBUTES | efi::MEMORY_RUNTIME
        );
    }
}
