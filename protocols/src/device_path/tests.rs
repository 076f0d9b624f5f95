//! The device path protocols called as an application calls them.

use super::builder::HardDrive;
use super::{DevicePathBuf, DevicePathProtocols};
use core::cell::Cell;
use r_efi::efi::{Boolean, Char16};
use r_efi::protocols::device_path::Protocol as DevicePath;
use r_efi::protocols::{device_path_from_text, device_path_to_text, device_path_utilities};
use std::boxed::Box;
use std::string::String;
use std::vec;
use std::vec::Vec;

std::thread_local! {
    /// Makes the next pool allocation on this thread fail.
    static FAIL_NEXT_ALLOCATION: Cell<bool> = const { Cell::new(false) };
}

/// A pool for tests: 8-byte aligned like AllocatePool, leaked (tests are short).
fn test_pool(size: usize) -> *mut u8 {
    if FAIL_NEXT_ALLOCATION.with(|fail| fail.replace(false)) {
        return core::ptr::null_mut();
    }
    let words = vec![0u64; size.div_ceil(8).max(1)].into_boxed_slice();
    Box::leak(words).as_mut_ptr().cast()
}

fn protocols() -> (
    &'static device_path_to_text::Protocol,
    &'static device_path_utilities::Protocol,
) {
    let dp = DevicePathProtocols::create(test_pool);
    // SAFETY: the structs are leaked and never freed.
    unsafe { (&*dp.to_text(), &*dp.utilities()) }
}

fn ptr(bytes: &[u8]) -> *const DevicePath {
    bytes.as_ptr().cast()
}

fn read_ucs2(text: *const Char16) -> String {
    assert!(!text.is_null());
    let mut units = Vec::new();
    // SAFETY: `text` is a NUL-terminated string the protocol allocated.
    unsafe {
        let mut at = text;
        while at.read_unaligned() != 0 {
            units.push(at.read_unaligned());
            at = at.add(1);
        }
    }
    String::from_utf16_lossy(&units)
}

/// The bytes of a path the utilities returned.
fn returned(path: *mut DevicePath) -> Vec<u8> {
    assert!(!path.is_null());
    let size = super::node::size_in_memory(1 << 16, |offset| {
        // SAFETY: the path was built by the protocol and is well-formed.
        unsafe { core::ptr::read_unaligned(path.cast::<u8>().add(offset).cast()) }
    })
    .unwrap();
    // SAFETY: as above.
    unsafe { core::slice::from_raw_parts(path.cast::<u8>(), size) }.to_vec()
}

fn boot_file_path() -> DevicePathBuf {
    DevicePathBuf::new()
        .pci_root(0)
        .pci(3, 0)
        .hard_drive(&HardDrive {
            partition_number: 1,
            partition_start: 0x800,
            partition_size: 0x1F000,
            signature: [
                0x28, 0x73, 0x2A, 0xC1, 0x1F, 0xF8, 0xD2, 0x11, 0xBA, 0x4B, 0x00, 0xA0, 0xC9, 0x3E, 0xC9, 0x3B,
            ],
            mbr_type: 2,
            signature_type: 2,
        })
        .file_path("\\EFI\\BOOT\\BOOTX64.EFI")
        .unwrap()
}

fn multi_instance() -> Vec<u8> {
    let mut bytes = DevicePathBuf::new().pci_root(0).pci(1, 0).as_bytes().to_vec();
    let at = bytes.len() - 3;
    bytes[at] = 0x01; // End Instance
    bytes.extend_from_slice(DevicePathBuf::new().pci(2, 0).as_bytes());
    bytes
}

#[test]
fn device_path_to_text_converts_paths_and_nodes_into_pool_strings() {
    let (to_text, _) = protocols();
    let path = boot_file_path();
    // SAFETY: calling the protocol as an application would.
    unsafe {
        let text =
            (to_text.convert_device_path_to_text)(ptr(path.as_bytes()).cast_mut(), Boolean::FALSE, Boolean::TRUE);
        assert_eq!(
            read_ucs2(text),
            "PciRoot(0x0)/Pci(0x3,0x0)/HD(1,GPT,C12A7328-F81F-11D2-BA4B-00A0C93EC93B,0x800,0x1f000)/\\EFI\\BOOT\\BOOTX64.EFI"
        );
        assert_eq!(text as usize % 8, 0, "returned from the pool");
        // DisplayOnly and AllowShortcuts reach the converter.
        let text =
            (to_text.convert_device_path_to_text)(ptr(path.as_bytes()).cast_mut(), Boolean::FALSE, Boolean::FALSE);
        assert!(read_ucs2(text).starts_with("Acpi(PNP0A03,0x0)/Pci(0x3,0x0)/HD("));
        let text = (to_text.convert_device_path_to_text)(ptr(path.as_bytes()).cast_mut(), Boolean::TRUE, Boolean::TRUE);
        assert_eq!(
            read_ucs2(text),
            "PciRoot(0x0)/Pci(0x3,0x0)/HD(1,GPT,C12A7328-F81F-11D2-BA4B-00A0C93EC93B)/\\EFI\\BOOT\\BOOTX64.EFI"
        );
        // Any non-zero byte is TRUE.
        let text = (to_text.convert_device_node_to_text)(ptr(path.as_bytes()).cast_mut(), 2u8.into(), 7u8.into());
        assert_eq!(read_ucs2(text), "PciRoot(0x0)");
        let pci = path.as_bytes()[12..].as_ptr() as *mut DevicePath;
        let text = (to_text.convert_device_node_to_text)(pci, Boolean::TRUE, Boolean::FALSE);
        assert_eq!(read_ucs2(text), "Pci(0x3,0x0)");
        let empty = DevicePathBuf::new();
        let text =
            (to_text.convert_device_path_to_text)(ptr(empty.as_bytes()).cast_mut(), Boolean::FALSE, Boolean::FALSE);
        assert_eq!(read_ucs2(text), "");
    }
}

#[test]
fn device_path_to_text_rejects_null_and_malformed_input() {
    let (to_text, _) = protocols();
    let zero_length = [0x01u8, 0x01, 0x00, 0x00, 0x7F, 0xFF, 0x04, 0x00];
    let no_end = [0x01u8, 0x01, 0x06, 0x00, 0x00, 0x03, 0x00, 0x00];
    // SAFETY: calling the protocol as an application would; the bad paths lie
    // in readable memory, so only the checks stand between them and a loop.
    unsafe {
        for path in [
            core::ptr::null_mut(),
            ptr(&zero_length).cast_mut(),
            ptr(&no_end).cast_mut(),
        ] {
            assert!((to_text.convert_device_path_to_text)(path, Boolean::FALSE, Boolean::FALSE).is_null());
        }
        assert!(
            (to_text.convert_device_node_to_text)(ptr(&zero_length).cast_mut(), Boolean::FALSE, Boolean::FALSE)
                .is_null()
        );
        assert!((to_text.convert_device_node_to_text)(core::ptr::null_mut(), Boolean::FALSE, Boolean::FALSE).is_null());
        let path = boot_file_path();
        FAIL_NEXT_ALLOCATION.with(|fail| fail.set(true));
        assert!(
            (to_text.convert_device_path_to_text)(ptr(path.as_bytes()).cast_mut(), Boolean::FALSE, Boolean::FALSE)
                .is_null()
        );
    }
}

#[test]
fn device_path_utilities_size_and_duplicate() {
    let (_, util) = protocols();
    let path = boot_file_path();
    let zero_length = [0x01u8, 0x01, 0x00, 0x00, 0x7F, 0xFF, 0x04, 0x00];
    // SAFETY: calling the protocol as an application would.
    unsafe {
        assert_eq!((util.get_device_path_size)(ptr(path.as_bytes())), path.as_bytes().len());
        assert_eq!((util.get_device_path_size)(core::ptr::null()), 0);
        assert_eq!((util.get_device_path_size)(ptr(&zero_length)), 0);
        let copy = (util.duplicate_device_path)(ptr(path.as_bytes()));
        assert_ne!(copy.cast_const(), ptr(path.as_bytes()));
        assert_eq!(returned(copy), path.as_bytes());
        assert!((util.duplicate_device_path)(core::ptr::null()).is_null());
        assert!((util.duplicate_device_path)(ptr(&zero_length)).is_null());
    }
}

#[test]
fn device_path_utilities_append_paths_and_nodes() {
    let (_, util) = protocols();
    let disk = DevicePathBuf::new().pci_root(0).pci(3, 0);
    let file = DevicePathBuf::new().file_path("\\vmlinuz").unwrap();
    let joined = disk.clone().append(&file);
    let end = DevicePathBuf::new();
    let zero_length = [0x01u8, 0x01, 0x00, 0x00, 0x7F, 0xFF, 0x04, 0x00];
    // SAFETY: calling the protocol as an application would.
    unsafe {
        let both = (util.append_device_path)(ptr(disk.as_bytes()), ptr(file.as_bytes()));
        assert_eq!(returned(both), joined.as_bytes());
        let first_only = (util.append_device_path)(ptr(disk.as_bytes()), core::ptr::null());
        assert_eq!(returned(first_only), disk.as_bytes());
        let second_only = (util.append_device_path)(core::ptr::null(), ptr(file.as_bytes()));
        assert_eq!(returned(second_only), file.as_bytes());
        let neither = (util.append_device_path)(core::ptr::null(), core::ptr::null());
        assert_eq!(returned(neither), end.as_bytes());
        assert!((util.append_device_path)(ptr(&zero_length), ptr(file.as_bytes())).is_null());

        // The file node alone (its bytes without the end node).
        let file_node = ptr(file.as_bytes());
        let with_node = (util.append_device_node)(ptr(disk.as_bytes()), file_node);
        assert_eq!(returned(with_node), joined.as_bytes());
        let node_only = (util.append_device_node)(core::ptr::null(), file_node);
        assert_eq!(returned(node_only), file.as_bytes());
        let path_only = (util.append_device_node)(ptr(disk.as_bytes()), core::ptr::null());
        assert_eq!(returned(path_only), disk.as_bytes());
        assert!((util.append_device_node)(ptr(disk.as_bytes()), ptr(&zero_length)).is_null());
    }
}

#[test]
fn device_path_utilities_instances() {
    let (_, util) = protocols();
    let first = DevicePathBuf::new().pci_root(0).pci(1, 0);
    let second = DevicePathBuf::new().pci(2, 0);
    let expected = multi_instance();
    // SAFETY: calling the protocol as an application would.
    unsafe {
        let multi = (util.append_device_path_instance)(ptr(first.as_bytes()), ptr(second.as_bytes()));
        assert_eq!(returned(multi), expected);
        assert_eq!((util.is_device_path_multi_instance)(multi), Boolean::TRUE);
        assert_eq!(
            (util.is_device_path_multi_instance)(ptr(first.as_bytes())),
            Boolean::FALSE
        );
        assert_eq!((util.is_device_path_multi_instance)(core::ptr::null()), Boolean::FALSE);
        let only = (util.append_device_path_instance)(core::ptr::null(), ptr(second.as_bytes()));
        assert_eq!(returned(only), second.as_bytes());
        assert!((util.append_device_path_instance)(ptr(first.as_bytes()), core::ptr::null()).is_null());

        // Walk the instances: each comes back closed by End Entire, with its size.
        let mut cursor = multi;
        let mut size = 0usize;
        let one = (util.get_next_device_path_instance)(&mut cursor, &mut size);
        assert_eq!(returned(one), first.as_bytes());
        assert_eq!(size, first.as_bytes().len());
        assert_eq!(cursor.cast::<u8>(), multi.cast::<u8>().add(first.as_bytes().len()));
        let two = (util.get_next_device_path_instance)(&mut cursor, &mut size);
        assert_eq!(returned(two), second.as_bytes());
        assert_eq!(size, second.as_bytes().len());
        assert!(cursor.is_null());
        assert!((util.get_next_device_path_instance)(&mut cursor, &mut size).is_null());
        assert!((util.get_next_device_path_instance)(core::ptr::null_mut(), &mut size).is_null());

        let zero_length = [0x01u8, 0x01, 0x00, 0x00, 0x7F, 0xFF, 0x04, 0x00];
        let mut bad = ptr(&zero_length).cast_mut();
        size = 99;
        assert!((util.get_next_device_path_instance)(&mut bad, &mut size).is_null());
        assert_eq!(size, 0);
    }
}

#[test]
fn device_path_utilities_create_device_node() {
    let (_, util) = protocols();
    // SAFETY: calling the protocol as an application would.
    unsafe {
        let node = (util.create_device_node)(0x04, 0x04, 10);
        assert!(!node.is_null());
        let bytes = core::slice::from_raw_parts(node.cast::<u8>(), 10);
        assert_eq!(bytes, &[0x04, 0x04, 10, 0, 0, 0, 0, 0, 0, 0]);
        assert!((util.create_device_node)(0x04, 0x04, 3).is_null());
        FAIL_NEXT_ALLOCATION.with(|fail| fail.set(true));
        assert!((util.create_device_node)(0x04, 0x04, 4).is_null());
    }
}

#[test]
fn device_path_protocols_install_all_three_on_one_handle() {
    let dp = DevicePathProtocols::create(test_pool);
    let mut installed = Vec::new();
    let handle = dp
        .install(None, |handle: Option<u32>, guid, interface| {
            installed.push((handle, guid, interface as usize));
            Ok::<u32, ()>(7)
        })
        .unwrap();
    assert_eq!(handle, 7);
    assert_eq!(
        installed,
        vec![
            (None, device_path_to_text::PROTOCOL_GUID, dp.to_text() as usize),
            (Some(7), device_path_from_text::PROTOCOL_GUID, dp.from_text() as usize),
            (Some(7), device_path_utilities::PROTOCOL_GUID, dp.utilities() as usize),
        ]
    );
}

#[test]
fn serial_port_paths_read_as_acpi_and_uart_nodes() {
    use super::{UartNode, EISA_PNP0501, PL011_UART_GUID};
    let line = UartNode {
        baud_rate: 115_200,
        data_bits: 8,
        parity: 1,
        stop_bits: 1,
    };
    let com1 = DevicePathBuf::new().acpi(EISA_PNP0501, 0).uart(&line);
    assert_eq!(
        super::path_to_text(com1.as_bytes(), super::TextForm::PARSEABLE).unwrap(),
        "Acpi(PNP0501,0x0)/Uart(115200,8,N,1)"
    );
    let odd = UartNode {
        baud_rate: 9600,
        data_bits: 7,
        parity: 3,
        stop_bits: 2,
    };
    let pl011 = DevicePathBuf::new()
        .vendor_hardware(&PL011_UART_GUID, &0x0900_0000u64.to_le_bytes())
        .unwrap()
        .uart(&odd);
    assert_eq!(
        super::path_to_text(pl011.as_bytes(), super::TextForm::PARSEABLE).unwrap(),
        "VenHw(962C98C4-4800-490F-965E-9B26054F6458,0000000900000000)/Uart(9600,7,O,1.5)"
    );
    // A UART node's body is 15 bytes: 19 with its header.
    assert_eq!(com1.as_bytes().len(), 12 + 19 + 4);
}

fn ucs2z(text: &str) -> Vec<u16> {
    text.encode_utf16().chain([0]).collect()
}

#[test]
fn device_path_from_text_gives_back_the_path_to_text_read() {
    let dp = DevicePathProtocols::create(test_pool);
    // SAFETY: the structs are leaked and never freed.
    let (to_text, from_text) = unsafe { (&*dp.to_text(), &*dp.from_text()) };
    let path = DevicePathBuf::new()
        .pci_root(0)
        .pci(4, 0)
        .hard_drive(&HardDrive {
            partition_number: 1,
            partition_start: 2048,
            partition_size: 98304,
            signature: [0x5a; 16],
            mbr_type: 2,
            signature_type: 2,
        })
        .file_path("\\EFI\\BOOT\\BOOTX64.EFI")
        .unwrap();
    // SAFETY: the functions are called as an application calls them.
    unsafe {
        let text =
            (to_text.convert_device_path_to_text)(ptr(path.as_bytes()).cast_mut(), Boolean::FALSE, Boolean::FALSE);
        let back = (from_text.convert_text_to_device_path)(text);
        assert_eq!(returned(back), path.as_bytes());
        let node = (from_text.convert_text_to_device_node)(ucs2z("Pci(0x4,0x0)").as_ptr());
        assert!(!node.is_null());
        assert_eq!(core::slice::from_raw_parts(node.cast::<u8>(), 6), &[1, 1, 6, 0, 0, 4]);
        assert!((from_text.convert_text_to_device_path)(core::ptr::null()).is_null());
        assert!((from_text.convert_text_to_device_path)(ucs2z("Pci(0x4").as_ptr()).is_null());
        assert!((from_text.convert_text_to_device_node)(ucs2z("HD(1,GPT)").as_ptr()).is_null());
        // An unpaired surrogate is no text.
        assert!((from_text.convert_text_to_device_path)([0xd800u16, 0].as_ptr()).is_null());
    }
}
