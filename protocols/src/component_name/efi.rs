//! The ABI edge of EFI_COMPONENT_NAME2_PROTOCOL (UEFI 2.10 §11.5): one leaked
//! instance per firmware driver, found again from `This` through a registry.
#![deny(unsafe_op_in_unsafe_fn)]

use super::{is_english, ControllerNames, LANGUAGES, MAX_LANGUAGE};
use crate::instances::Instances;
use alloc::boxed::Box;
use alloc::vec::Vec;
use r_efi::efi::{Guid, Handle, Status};
use spin::Mutex;

/// EFI_COMPONENT_NAME2_PROTOCOL_GUID.
pub const PROTOCOL_GUID: Guid = Guid::from_fields(
    0x6a7a5cff,
    0xe8d9,
    0x4f70,
    0xba,
    0xda,
    &[0x75, 0xab, 0x30, 0x25, 0xce, 0x14],
);

const SIGNATURE: u64 = u64::from_le_bytes(*b"hvfwCmpN");

/// EFI_COMPONENT_NAME2_PROTOCOL as §11.5 lays it out.
#[repr(C)]
pub struct Protocol {
    pub get_driver_name: extern "efiapi" fn(*mut Protocol, *const u8, *mut *const u16) -> Status,
    pub get_controller_name: extern "efiapi" fn(*mut Protocol, Handle, Handle, *const u8, *mut *const u16) -> Status,
    pub supported_languages: *const u8,
}

/// One driver's names behind its protocol.
#[repr(C)]
pub struct ComponentName2 {
    protocol: Protocol,
    signature: u64,
    driver_name: Vec<u16>,
    controllers: Mutex<ControllerNames>,
}

// SAFETY: the protocol's only pointer names a static string; the mutable
// part (the controller names) is behind a lock.
unsafe impl Sync for ComponentName2 {}
// SAFETY: as above; nothing in it is tied to a thread.
unsafe impl Send for ComponentName2 {}

static INSTANCES: Instances<ComponentName2> = Instances::new();

impl ComponentName2 {
    /// The protocol for a driver called `driver_name` (leaked: drivers live as
    /// long as boot services).
    pub fn create(driver_name: &str) -> &'static ComponentName2 {
        let instance: &'static ComponentName2 = Box::leak(Box::new(ComponentName2 {
            protocol: Protocol {
                get_driver_name,
                get_controller_name,
                supported_languages: LANGUAGES.as_ptr(),
            },
            signature: SIGNATURE,
            driver_name: super::ucs2(driver_name),
            controllers: Mutex::new(ControllerNames::default()),
        }));
        INSTANCES.register(instance);
        instance
    }

    /// The interface to install.
    pub fn protocol(&'static self) -> *mut Protocol {
        core::ptr::from_ref::<Protocol>(&self.protocol).cast_mut()
    }

    /// Names a controller this driver manages (`child` `None`), or a child
    /// handle it made for that controller.
    pub fn name_controller(&self, controller: Handle, child: Option<Handle>, name: &str) {
        self.controllers
            .lock()
            .set(controller as usize, child.map(|c| c as usize), name);
    }
}

fn instance(this: *mut Protocol) -> Option<&'static ComponentName2> {
    INSTANCES.find(this).filter(|i| i.signature == SIGNATURE)
}

/// The caller's Language without its NUL; `None` if it is NULL, empty if it
/// is longer than any tag this firmware knows (so it matches none).
///
/// # Safety
/// `language` is NULL or a NUL-terminated ASCII string.
unsafe fn language<'a>(language: *const u8) -> Option<&'a [u8]> {
    if language.is_null() {
        return None;
    }
    let mut len = 0;
    // SAFETY: the caller's contract: bytes up to the NUL are readable; the
    // scan stops after MAX_LANGUAGE of them.
    while len <= MAX_LANGUAGE && unsafe { language.add(len).read() } != 0 {
        len += 1;
    }
    if len > MAX_LANGUAGE {
        return Some(&[]);
    }
    // SAFETY: the `len` bytes before the NUL were just read.
    Some(unsafe { core::slice::from_raw_parts(language, len) })
}

extern "efiapi" fn get_driver_name(this: *mut Protocol, lang: *const u8, name: *mut *const u16) -> Status {
    let Some(instance) = instance(this) else {
        return Status::INVALID_PARAMETER;
    };
    // SAFETY: Language is NULL or a NUL-terminated string (§11.5).
    let Some(lang) = (unsafe { language(lang) }) else {
        return Status::INVALID_PARAMETER;
    };
    if name.is_null() {
        return Status::INVALID_PARAMETER;
    }
    if !is_english(lang) {
        return Status::UNSUPPORTED;
    }
    // SAFETY: checked non-null; the caller's pointer. The name lives as long
    // as the leaked instance.
    unsafe { *name = instance.driver_name.as_ptr() };
    Status::SUCCESS
}

extern "efiapi" fn get_controller_name(
    this: *mut Protocol,
    controller: Handle,
    child: Handle,
    lang: *const u8,
    name: *mut *const u16,
) -> Status {
    let Some(instance) = instance(this) else {
        return Status::INVALID_PARAMETER;
    };
    // SAFETY: Language is NULL or a NUL-terminated string (§11.5).
    let lang = unsafe { language(lang) };
    let Some(lang) = lang.filter(|_| !controller.is_null() && !name.is_null()) else {
        return Status::INVALID_PARAMETER;
    };
    let child = (!child.is_null()).then_some(child as usize);
    let found = instance.controllers.lock().get(controller as usize, child);
    let Some(found) = found else {
        return Status::UNSUPPORTED;
    };
    if !is_english(lang) {
        return Status::UNSUPPORTED;
    }
    // SAFETY: checked non-null; the caller's pointer. Names are leaked.
    unsafe { *name = found.as_ptr() };
    Status::SUCCESS
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::component_name::ucs2;

    fn text(name: *const u16) -> Vec<u16> {
        let mut units = Vec::new();
        // SAFETY: names handed out are NUL-terminated.
        unsafe {
            let mut p = name;
            loop {
                units.push(*p);
                if *p == 0 {
                    return units;
                }
                p = p.add(1);
            }
        }
    }

    #[test]
    fn names_come_back_in_english_only() {
        let driver = ComponentName2::create("Test driver");
        let p = driver.protocol();
        let disk = 0x1000 as Handle;
        let partition = 0x2000 as Handle;
        driver.name_controller(disk, None, "Disk");
        driver.name_controller(disk, Some(partition), "Partition 1");
        let mut name: *const u16 = core::ptr::null();
        assert_eq!(get_driver_name(p, c"en".as_ptr().cast(), &mut name), Status::SUCCESS);
        assert_eq!(text(name), ucs2("Test driver"));
        assert_eq!(
            get_driver_name(p, c"fr".as_ptr().cast(), &mut name),
            Status::UNSUPPORTED
        );
        assert_eq!(
            get_driver_name(p, core::ptr::null(), &mut name),
            Status::INVALID_PARAMETER
        );
        assert_eq!(
            get_driver_name(p, c"en".as_ptr().cast(), core::ptr::null_mut()),
            Status::INVALID_PARAMETER
        );
        let null = core::ptr::null_mut();
        let en = c"en-US".as_ptr().cast();
        assert_eq!(get_controller_name(p, disk, null, en, &mut name), Status::SUCCESS);
        assert_eq!(text(name), ucs2("Disk"));
        assert_eq!(get_controller_name(p, disk, partition, en, &mut name), Status::SUCCESS);
        assert_eq!(text(name), ucs2("Partition 1"));
        assert_eq!(
            get_controller_name(p, partition, null, en, &mut name),
            Status::UNSUPPORTED
        );
        assert_eq!(
            get_controller_name(p, disk, null, c"de".as_ptr().cast(), &mut name),
            Status::UNSUPPORTED
        );
        assert_eq!(
            get_controller_name(p, null, null, en, &mut name),
            Status::INVALID_PARAMETER
        );
        let mut foreign = Protocol {
            get_driver_name,
            get_controller_name,
            supported_languages: LANGUAGES.as_ptr(),
        };
        assert_eq!(
            get_driver_name(&mut foreign, c"en".as_ptr().cast(), &mut name),
            Status::INVALID_PARAMETER
        );
    }

    #[test]
    fn an_overlong_language_is_not_english() {
        let driver = ComponentName2::create("Another driver");
        let mut long = [b'x'; 200];
        long[0] = b'e';
        long[1] = b'n';
        long[2] = b'-';
        long[199] = 0;
        let mut name: *const u16 = core::ptr::null();
        assert_eq!(
            get_driver_name(driver.protocol(), long.as_ptr(), &mut name),
            Status::UNSUPPORTED
        );
    }
}
