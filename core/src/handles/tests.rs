use std::collections::BTreeMap;
use std::string::ToString;
use std::vec;
use std::vec::Vec;

use r_efi::efi::{
    Guid, Status, OPEN_PROTOCOL_BY_CHILD_CONTROLLER, OPEN_PROTOCOL_BY_DRIVER, OPEN_PROTOCOL_BY_HANDLE_PROTOCOL,
    OPEN_PROTOCOL_EXCLUSIVE, OPEN_PROTOCOL_GET_PROTOCOL, OPEN_PROTOCOL_TEST_PROTOCOL,
};
use r_efi::protocols::device_path::PROTOCOL_GUID as DEVICE_PATH_GUID;

use super::device_path::{self, PathError};
use super::*;

const BLOCK_IO: Guid = Guid::from_fields(
    0x964e5b21,
    0x6459,
    0x11d2,
    0x8e,
    0x39,
    &[0x00, 0xa0, 0xc9, 0x69, 0x72, 0x3b],
);
const DISK_IO: Guid = Guid::from_fields(
    0xce345171,
    0xba0b,
    0x11d2,
    0x8e,
    0x4f,
    &[0x00, 0xa0, 0xc9, 0x69, 0x72, 0x3b],
);
const DRIVER_BINDING: Guid = Guid::from_fields(
    0x18a031ab,
    0xb443,
    0x4d1a,
    0xa5,
    0xc0,
    &[0x0c, 0x09, 0x26, 0x1e, 0x9f, 0x71],
);
const BY_DRIVER_EXCLUSIVE: u32 = OPEN_PROTOCOL_BY_DRIVER | OPEN_PROTOCOL_EXCLUSIVE;

fn new_handle(db: &mut Database, guid: Guid, interface: usize) -> HandleId {
    db.install_protocol(None, guid, Interface(interface)).unwrap().handle
}

/// A controller with BlockIo at 0x1000 and two driver images.
struct Fixture {
    db: Database,
    controller: HandleId,
    driver_a: HandleId,
    driver_b: HandleId,
}

fn fixture() -> Fixture {
    let mut db = Database::new();
    let controller = new_handle(&mut db, BLOCK_IO, 0x1000);
    let driver_a = new_handle(&mut db, DRIVER_BINDING, 0xa000);
    let driver_b = new_handle(&mut db, DRIVER_BINDING, 0xb000);
    Fixture {
        db,
        controller,
        driver_a,
        driver_b,
    }
}

impl Fixture {
    fn open(&mut self, agent: HandleId, attributes: u32) -> Result<Interface, Error> {
        self.db.open_protocol(
            self.controller,
            &BLOCK_IO,
            Some(agent),
            Some(self.controller),
            attributes,
        )
    }
}

// ---- device path bytes ----

fn node(kind: u8, sub_type: u8, data: &[u8]) -> Vec<u8> {
    let length = u16::try_from(data.len() + 4).unwrap();
    let mut node = vec![kind, sub_type];
    node.extend_from_slice(&length.to_le_bytes());
    node.extend_from_slice(data);
    node
}

fn end() -> Vec<u8> {
    node(0x7F, 0xFF, &[])
}

fn end_instance() -> Vec<u8> {
    node(0x7F, 0x01, &[])
}

fn pci(device: u8) -> Vec<u8> {
    node(0x01, 0x01, &[0, device])
}

fn acpi_root() -> Vec<u8> {
    node(0x02, 0x01, &[0xd0, 0x41, 0x03, 0x0a, 0, 0, 0, 0])
}

fn partition(number: u8) -> Vec<u8> {
    node(0x04, 0x01, &[number; 38])
}

fn path(nodes: &[Vec<u8>]) -> Vec<u8> {
    nodes.concat()
}

// ---- install ----

#[test]
fn install_creates_a_handle_and_handle_protocol_returns_the_interface() {
    let mut db = Database::new();
    let installed = db.install_protocol(None, BLOCK_IO, Interface(0x1000)).unwrap();
    assert!(installed.events.is_empty());
    assert!(db.is_valid(installed.handle));
    assert_eq!(db.handle_protocol(installed.handle, &BLOCK_IO), Ok(Interface(0x1000)));
    assert_eq!(db.interface(installed.handle, &BLOCK_IO), Some(Interface(0x1000)));
}

#[test]
fn installing_on_an_existing_handle_adds_protocols_in_order() {
    let mut db = Database::new();
    let handle = new_handle(&mut db, BLOCK_IO, 0x1000);
    let again = db.install_protocol(Some(handle), DISK_IO, Interface(0x2000)).unwrap();
    assert_eq!(again.handle, handle);
    assert_eq!(db.protocols_per_handle(handle), Ok(vec![BLOCK_IO, DISK_IO]));
    assert_eq!(db.handle_count(), 1);
}

#[test]
fn a_null_interface_is_legal() {
    let mut db = Database::new();
    let handle = new_handle(&mut db, DISK_IO, 0);
    assert_eq!(db.handle_protocol(handle, &DISK_IO), Ok(Interface::NULL));
    assert_eq!(db.uninstall_protocol(handle, &DISK_IO, Interface::NULL), Ok(()));
}

#[test]
fn installing_a_protocol_twice_on_a_handle_is_an_invalid_parameter() {
    let mut db = Database::new();
    let handle = new_handle(&mut db, BLOCK_IO, 0x1000);
    let error = db
        .install_protocol(Some(handle), BLOCK_IO, Interface(0x3000))
        .unwrap_err();
    assert_eq!(error, Error::AlreadyInstalled { handle, guid: BLOCK_IO });
    assert_eq!(error.status(), Status::INVALID_PARAMETER);
    assert_eq!(db.handle_protocol(handle, &BLOCK_IO), Ok(Interface(0x1000)));
}

#[test]
fn handle_ids_are_far_from_memory_and_never_reused() {
    let mut db = Database::new();
    let first = new_handle(&mut db, BLOCK_IO, 0x1000);
    assert!(first.raw() >= 0xEF1D_0000_0000_0000);
    assert_eq!(HandleId::from_efi(first.to_efi()), Some(first));
    assert_eq!(HandleId::new(0), None);
    db.uninstall_protocol(first, &BLOCK_IO, Interface(0x1000)).unwrap();
    let second = new_handle(&mut db, BLOCK_IO, 0x1000);
    assert_ne!(first, second);
    assert!(!db.is_valid(first));
}

#[test]
fn stale_and_unknown_handles_are_rejected_everywhere() {
    let mut db = Database::new();
    let stale = new_handle(&mut db, BLOCK_IO, 0x1000);
    db.uninstall_protocol(stale, &BLOCK_IO, Interface(0x1000)).unwrap();
    let forged = HandleId::new(0x7fff_1000).unwrap();
    for handle in [stale, forged] {
        let invalid = Error::InvalidHandle { handle };
        assert_eq!(
            db.install_protocol(Some(handle), DISK_IO, Interface(1)),
            Err(invalid.clone())
        );
        assert_eq!(db.handle_protocol(handle, &BLOCK_IO), Err(invalid.clone()));
        assert_eq!(db.protocols_per_handle(handle), Err(invalid.clone()));
        assert_eq!(
            db.uninstall_protocol(handle, &BLOCK_IO, Interface(0x1000)),
            Err(invalid.clone())
        );
        assert_eq!(
            db.reinstall_protocol(handle, &BLOCK_IO, Interface(0x1000), Interface(2)),
            Err(invalid.clone())
        );
        assert_eq!(invalid.status(), Status::INVALID_PARAMETER);
        assert_eq!(
            db.open_protocol_information(handle, &BLOCK_IO).unwrap_err().status(),
            Status::NOT_FOUND
        );
    }
}

#[test]
fn install_multiple_installs_everything_on_one_handle() {
    let mut db = Database::new();
    let installed = db
        .install_multiple(None, &[(BLOCK_IO, Interface(1)), (DISK_IO, Interface(2))], |_| None)
        .unwrap();
    assert_eq!(db.protocols_per_handle(installed.handle), Ok(vec![BLOCK_IO, DISK_IO]));
}

#[test]
fn install_multiple_is_all_or_nothing() {
    let mut db = Database::new();
    let handle = new_handle(&mut db, DISK_IO, 0x2000);
    let error = db
        .install_multiple(
            Some(handle),
            &[(BLOCK_IO, Interface(1)), (DISK_IO, Interface(2))],
            |_| None,
        )
        .unwrap_err();
    assert_eq!(error.status(), Status::INVALID_PARAMETER);
    assert_eq!(db.protocols_per_handle(handle), Ok(vec![DISK_IO]));

    let error = db
        .install_multiple(None, &[(BLOCK_IO, Interface(1)), (BLOCK_IO, Interface(2))], |_| None)
        .unwrap_err();
    assert_eq!(error, Error::DuplicateProtocol { guid: BLOCK_IO });
    assert_eq!(db.handle_count(), 1);
    assert_eq!(
        db.install_multiple(None, &[], |_| None).unwrap_err().status(),
        Status::INVALID_PARAMETER
    );
}

#[test]
fn install_multiple_refuses_a_device_path_that_is_already_installed() {
    let mut paths: BTreeMap<Interface, Vec<u8>> = BTreeMap::new();
    paths.insert(Interface(0x100), path(&[acpi_root(), pci(3), end()]));
    paths.insert(Interface(0x200), path(&[acpi_root(), pci(3), end()]));
    paths.insert(Interface(0x300), path(&[acpi_root(), pci(4), end()]));
    let read = |interface: Interface| paths.get(&interface).map(Vec::as_slice);

    let mut db = Database::new();
    let first = db
        .install_multiple(
            None,
            &[(DEVICE_PATH_GUID, Interface(0x100)), (BLOCK_IO, Interface(1))],
            read,
        )
        .unwrap()
        .handle;
    let error = db
        .install_multiple(
            None,
            &[(BLOCK_IO, Interface(2)), (DEVICE_PATH_GUID, Interface(0x200))],
            read,
        )
        .unwrap_err();
    assert_eq!(error, Error::DevicePathExists { handle: first });
    assert_eq!(error.status(), Status::ALREADY_STARTED);
    assert_eq!(db.handle_count(), 1);

    db.install_multiple(None, &[(DEVICE_PATH_GUID, Interface(0x300))], read)
        .unwrap();
    assert_eq!(db.handle_count(), 2);
}

#[test]
fn install_multiple_refuses_an_unreadable_or_malformed_device_path() {
    let mut db = Database::new();
    let bad = [0x01u8, 0x01, 0x02, 0x00];
    let error = db
        .install_multiple(None, &[(DEVICE_PATH_GUID, Interface(0x100))], |_| Some(&bad[..]))
        .unwrap_err();
    assert_eq!(
        error,
        Error::MalformedDevicePath(PathError::NodeTooShort { offset: 0, length: 2 })
    );
    assert_eq!(error.status(), Status::INVALID_PARAMETER);
    let error = db
        .install_multiple(None, &[(DEVICE_PATH_GUID, Interface::NULL)], |_| None)
        .unwrap_err();
    assert_eq!(error.status(), Status::INVALID_PARAMETER);
    assert_eq!(db.handle_count(), 0);
}

// ---- uninstall / reinstall ----

#[test]
fn uninstall_of_an_absent_protocol_or_another_interface_is_not_found() {
    let mut db = Database::new();
    let handle = new_handle(&mut db, BLOCK_IO, 0x1000);
    let absent = db.uninstall_protocol(handle, &DISK_IO, Interface(0x1000)).unwrap_err();
    assert_eq!(absent, Error::NotInstalled { handle, guid: DISK_IO });
    assert_eq!(absent.status(), Status::NOT_FOUND);
    let wrong = db.uninstall_protocol(handle, &BLOCK_IO, Interface(0x9999)).unwrap_err();
    assert_eq!(wrong.status(), Status::NOT_FOUND);
    assert!(db.is_valid(handle));
}

#[test]
fn uninstalling_the_last_protocol_frees_the_handle() {
    let mut db = Database::new();
    let handle = new_handle(&mut db, BLOCK_IO, 0x1000);
    db.install_protocol(Some(handle), DISK_IO, Interface(0x2000)).unwrap();
    db.uninstall_protocol(handle, &BLOCK_IO, Interface(0x1000)).unwrap();
    assert!(db.is_valid(handle));
    assert_eq!(db.protocols_per_handle(handle), Ok(vec![DISK_IO]));
    db.uninstall_protocol(handle, &DISK_IO, Interface(0x2000)).unwrap();
    assert!(!db.is_valid(handle));
    assert_eq!(db.locate_handle(Search::AllHandles), Err(Error::NothingFound));
}

#[test]
fn uninstall_is_denied_while_a_driver_has_the_protocol_open_and_names_the_driver() {
    let mut f = fixture();
    f.open(f.driver_a, OPEN_PROTOCOL_BY_DRIVER).unwrap();
    let error =
        f.db.uninstall_protocol(f.controller, &BLOCK_IO, Interface(0x1000))
            .unwrap_err();
    assert_eq!(error.status(), Status::ACCESS_DENIED);
    assert_eq!(error.drivers_to_disconnect(), &[f.driver_a]);
    assert!(f.db.is_valid(f.controller));

    // What DisconnectController would make the driver do; then the retry succeeds.
    f.db.close_protocol(f.controller, &BLOCK_IO, Some(f.driver_a), Some(f.controller))
        .unwrap();
    f.db.uninstall_protocol(f.controller, &BLOCK_IO, Interface(0x1000))
        .unwrap();
    assert!(!f.db.is_valid(f.controller));
}

#[test]
fn get_protocol_test_protocol_and_by_handle_opens_do_not_block_uninstall() {
    let mut f = fixture();
    for attributes in [
        OPEN_PROTOCOL_GET_PROTOCOL,
        OPEN_PROTOCOL_TEST_PROTOCOL,
        OPEN_PROTOCOL_BY_HANDLE_PROTOCOL,
    ] {
        f.open(f.driver_a, attributes).unwrap();
    }
    assert_eq!(
        f.db.open_protocol_information(f.controller, &BLOCK_IO).unwrap().len(),
        3
    );
    f.db.uninstall_protocol(f.controller, &BLOCK_IO, Interface(0x1000))
        .unwrap();
}

#[test]
fn an_exclusive_application_open_blocks_uninstall_with_nobody_to_disconnect() {
    let mut f = fixture();
    f.open(f.driver_b, OPEN_PROTOCOL_EXCLUSIVE).unwrap();
    let error =
        f.db.uninstall_protocol(f.controller, &BLOCK_IO, Interface(0x1000))
            .unwrap_err();
    assert_eq!(error.status(), Status::ACCESS_DENIED);
    assert!(error.drivers_to_disconnect().is_empty());
}

#[test]
fn uninstall_multiple_removes_all_or_reports_invalid_parameter() {
    let mut db = Database::new();
    let handle = db
        .install_multiple(None, &[(BLOCK_IO, Interface(1)), (DISK_IO, Interface(2))], |_| None)
        .unwrap()
        .handle;
    let error = db
        .uninstall_multiple(handle, &[(BLOCK_IO, Interface(1)), (DISK_IO, Interface(3))])
        .unwrap_err();
    assert_eq!(error, Error::NotAllInstalled { handle, guid: DISK_IO });
    assert_eq!(error.status(), Status::INVALID_PARAMETER);
    assert_eq!(db.protocols_per_handle(handle), Ok(vec![BLOCK_IO, DISK_IO]));
    db.uninstall_multiple(handle, &[(BLOCK_IO, Interface(1)), (DISK_IO, Interface(2))])
        .unwrap();
    assert!(!db.is_valid(handle));
}

#[test]
fn uninstall_multiple_collects_the_drivers_of_every_protocol() {
    let mut f = fixture();
    f.db.install_protocol(Some(f.controller), DISK_IO, Interface(0x2000))
        .unwrap();
    f.open(f.driver_a, OPEN_PROTOCOL_BY_DRIVER).unwrap();
    f.db.open_protocol(
        f.controller,
        &DISK_IO,
        Some(f.driver_b),
        Some(f.controller),
        OPEN_PROTOCOL_BY_DRIVER,
    )
    .unwrap();
    let error =
        f.db.uninstall_multiple(
            f.controller,
            &[(BLOCK_IO, Interface(0x1000)), (DISK_IO, Interface(0x2000))],
        )
        .unwrap_err();
    assert_eq!(error.drivers_to_disconnect(), &[f.driver_a, f.driver_b]);
    assert_eq!(f.db.protocols_per_handle(f.controller).unwrap().len(), 2);
}

#[test]
fn reinstall_replaces_the_interface_and_closes_get_protocol_opens() {
    let mut f = fixture();
    f.open(f.driver_a, OPEN_PROTOCOL_GET_PROTOCOL).unwrap();
    let events =
        f.db.reinstall_protocol(f.controller, &BLOCK_IO, Interface(0x1000), Interface(0x5000))
            .unwrap();
    assert!(events.is_empty());
    assert_eq!(f.db.handle_protocol(f.controller, &BLOCK_IO), Ok(Interface(0x5000)));
    assert_eq!(f.db.open_protocol_information(f.controller, &BLOCK_IO), Ok(vec![]));
}

#[test]
fn reinstall_of_a_wrong_interface_is_not_found_and_of_a_driven_one_access_denied() {
    let mut f = fixture();
    let error =
        f.db.reinstall_protocol(f.controller, &BLOCK_IO, Interface(0x9), Interface(0x5000))
            .unwrap_err();
    assert_eq!(error.status(), Status::NOT_FOUND);
    let error =
        f.db.reinstall_protocol(f.controller, &DISK_IO, Interface(0x1000), Interface(0x5000))
            .unwrap_err();
    assert_eq!(error.status(), Status::NOT_FOUND);

    f.open(f.driver_b, OPEN_PROTOCOL_BY_DRIVER).unwrap();
    let error =
        f.db.reinstall_protocol(f.controller, &BLOCK_IO, Interface(0x1000), Interface(0x5000))
            .unwrap_err();
    assert_eq!(error.status(), Status::ACCESS_DENIED);
    assert_eq!(error.drivers_to_disconnect(), &[f.driver_b]);
    assert_eq!(f.db.handle_protocol(f.controller, &BLOCK_IO), Ok(Interface(0x1000)));
}

// ---- OpenProtocol attribute matrix ----

#[test]
fn by_driver_twice_by_the_same_agent_is_already_started_with_the_interface() {
    let mut f = fixture();
    assert_eq!(f.open(f.driver_a, OPEN_PROTOCOL_BY_DRIVER), Ok(Interface(0x1000)));
    let error = f.open(f.driver_a, OPEN_PROTOCOL_BY_DRIVER).unwrap_err();
    assert_eq!(
        error,
        Error::AlreadyOpen {
            handle: f.controller,
            guid: BLOCK_IO,
            agent: f.driver_a,
            interface: Interface(0x1000)
        }
    );
    assert_eq!(error.status(), Status::ALREADY_STARTED);
}

#[test]
fn by_driver_by_another_agent_is_access_denied() {
    let mut f = fixture();
    f.open(f.driver_a, OPEN_PROTOCOL_BY_DRIVER).unwrap();
    let error = f.open(f.driver_b, OPEN_PROTOCOL_BY_DRIVER).unwrap_err();
    assert_eq!(
        error,
        Error::OpenByOtherDriver {
            handle: f.controller,
            guid: BLOCK_IO,
            driver: f.driver_a
        }
    );
    assert_eq!(error.status(), Status::ACCESS_DENIED);
}

#[test]
fn by_driver_exclusive_twice_by_the_same_agent_is_already_started() {
    let mut f = fixture();
    f.open(f.driver_a, BY_DRIVER_EXCLUSIVE).unwrap();
    assert_eq!(
        f.open(f.driver_a, BY_DRIVER_EXCLUSIVE).unwrap_err().status(),
        Status::ALREADY_STARTED
    );
    let error = f.open(f.driver_b, BY_DRIVER_EXCLUSIVE).unwrap_err();
    assert_eq!(
        error,
        Error::OpenExclusively {
            handle: f.controller,
            guid: BLOCK_IO,
            agent: f.driver_a
        }
    );
    assert_eq!(error.status(), Status::ACCESS_DENIED);
}

#[test]
fn anything_by_driver_or_exclusive_is_denied_while_the_protocol_is_open_exclusively() {
    for holder in [OPEN_PROTOCOL_EXCLUSIVE, BY_DRIVER_EXCLUSIVE] {
        for attributes in [OPEN_PROTOCOL_BY_DRIVER, OPEN_PROTOCOL_EXCLUSIVE, BY_DRIVER_EXCLUSIVE] {
            let mut f = fixture();
            f.open(f.driver_a, holder).unwrap();
            let error = f.open(f.driver_b, attributes).unwrap_err();
            assert_eq!(error.status(), Status::ACCESS_DENIED, "{holder:#x} {attributes:#x}");
            assert!(error.drivers_to_disconnect().is_empty());
        }
    }
}

#[test]
fn exclusive_over_a_driver_asks_for_that_driver_to_be_disconnected() {
    for attributes in [OPEN_PROTOCOL_EXCLUSIVE, BY_DRIVER_EXCLUSIVE] {
        let mut f = fixture();
        f.open(f.driver_a, OPEN_PROTOCOL_BY_DRIVER).unwrap();
        let error = f.open(f.driver_b, attributes).unwrap_err();
        assert_eq!(error.status(), Status::ACCESS_DENIED);
        assert_eq!(error.drivers_to_disconnect(), &[f.driver_a]);
        // After the disconnect the retry succeeds.
        f.db.close_protocol(f.controller, &BLOCK_IO, Some(f.driver_a), Some(f.controller))
            .unwrap();
        assert_eq!(f.open(f.driver_b, attributes), Ok(Interface(0x1000)));
    }
}

#[test]
fn non_driver_opens_are_allowed_alongside_exclusive_and_counted() {
    let mut f = fixture();
    f.open(f.driver_a, BY_DRIVER_EXCLUSIVE).unwrap();
    for _ in 0..2 {
        assert_eq!(
            f.db.open_protocol(
                f.controller,
                &BLOCK_IO,
                Some(f.driver_b),
                None,
                OPEN_PROTOCOL_GET_PROTOCOL
            ),
            Ok(Interface(0x1000))
        );
    }
    f.db.open_protocol(f.controller, &BLOCK_IO, None, None, OPEN_PROTOCOL_TEST_PROTOCOL)
        .unwrap();
    let info = f.db.open_protocol_information(f.controller, &BLOCK_IO).unwrap();
    assert_eq!(
        info,
        vec![
            OpenInfo {
                agent: f.driver_a,
                controller: Some(f.controller),
                attributes: BY_DRIVER_EXCLUSIVE,
                open_count: 1
            },
            OpenInfo {
                agent: f.driver_b,
                controller: None,
                attributes: OPEN_PROTOCOL_GET_PROTOCOL,
                open_count: 2
            },
        ]
    );
}

#[test]
fn open_rejects_illegal_attributes_and_missing_or_invalid_handles() {
    let mut f = fixture();
    let (h, a) = (f.controller, f.driver_a);
    let stale = new_handle(&mut f.db, DISK_IO, 7);
    f.db.uninstall_protocol(stale, &DISK_IO, Interface(7)).unwrap();
    let cases: [(Option<HandleId>, Option<HandleId>, u32, Error); 9] = [
        (Some(a), Some(h), 0, Error::InvalidAttributes { attributes: 0 }),
        (Some(a), Some(h), 3, Error::InvalidAttributes { attributes: 3 }),
        (Some(a), Some(h), 0x40, Error::InvalidAttributes { attributes: 0x40 }),
        (
            None,
            Some(h),
            OPEN_PROTOCOL_BY_DRIVER,
            Error::MissingAgent {
                attributes: OPEN_PROTOCOL_BY_DRIVER,
            },
        ),
        (
            Some(a),
            None,
            BY_DRIVER_EXCLUSIVE,
            Error::MissingController {
                attributes: BY_DRIVER_EXCLUSIVE,
            },
        ),
        (
            Some(stale),
            Some(h),
            OPEN_PROTOCOL_BY_DRIVER,
            Error::InvalidAgent { agent: stale },
        ),
        (
            None,
            None,
            OPEN_PROTOCOL_EXCLUSIVE,
            Error::MissingAgent {
                attributes: OPEN_PROTOCOL_EXCLUSIVE,
            },
        ),
        (
            Some(a),
            Some(stale),
            OPEN_PROTOCOL_BY_CHILD_CONTROLLER,
            Error::InvalidController { controller: stale },
        ),
        (
            Some(a),
            Some(h),
            OPEN_PROTOCOL_BY_CHILD_CONTROLLER,
            Error::ControllerIsHandle { handle: h },
        ),
    ];
    for (agent, controller, attributes, expected) in cases {
        let error =
            f.db.open_protocol(h, &BLOCK_IO, agent, controller, attributes)
                .unwrap_err();
        assert_eq!(error, expected);
        assert_eq!(error.status(), Status::INVALID_PARAMETER);
    }
    assert_eq!(f.db.open_protocol_information(h, &BLOCK_IO), Ok(vec![]));
}

#[test]
fn opening_a_protocol_the_handle_lacks_is_unsupported() {
    let mut f = fixture();
    let error =
        f.db.open_protocol(
            f.controller,
            &DISK_IO,
            Some(f.driver_a),
            Some(f.controller),
            OPEN_PROTOCOL_BY_DRIVER,
        )
        .unwrap_err();
    assert_eq!(
        error,
        Error::Unsupported {
            handle: f.controller,
            guid: DISK_IO
        }
    );
    assert_eq!(error.status(), Status::UNSUPPORTED);
    assert_eq!(
        f.db.handle_protocol(f.controller, &DISK_IO).unwrap_err().status(),
        Status::UNSUPPORTED
    );
}

// ---- CloseProtocol and the driver-model queries ----

#[test]
fn close_protocol_removes_the_open_and_reports_not_found_otherwise() {
    let mut f = fixture();
    let (h, a, b) = (f.controller, f.driver_a, f.driver_b);
    f.open(a, OPEN_PROTOCOL_BY_DRIVER).unwrap();

    let error = f.db.close_protocol(h, &BLOCK_IO, Some(b), Some(h)).unwrap_err();
    assert_eq!(
        error,
        Error::NotOpened {
            handle: h,
            guid: BLOCK_IO,
            agent: b,
            controller: Some(h)
        }
    );
    assert_eq!(error.status(), Status::NOT_FOUND);
    assert_eq!(
        f.db.close_protocol(h, &DISK_IO, Some(a), Some(h)).unwrap_err().status(),
        Status::NOT_FOUND
    );
    assert_eq!(
        f.db.close_protocol(h, &BLOCK_IO, None, Some(h)).unwrap_err().status(),
        Status::INVALID_PARAMETER
    );

    f.db.close_protocol(h, &BLOCK_IO, Some(a), Some(h)).unwrap();
    assert_eq!(f.db.open_protocol_information(h, &BLOCK_IO), Ok(vec![]));
    assert_eq!(
        f.db.close_protocol(h, &BLOCK_IO, Some(a), Some(h))
            .unwrap_err()
            .status(),
        Status::NOT_FOUND
    );
    // Free to open by another driver now.
    f.open(b, OPEN_PROTOCOL_BY_DRIVER).unwrap();
}

#[test]
fn bus_driver_opens_describe_drivers_and_children() {
    let mut f = fixture();
    let (bus, driver) = (f.controller, f.driver_a);
    f.open(driver, OPEN_PROTOCOL_BY_DRIVER).unwrap();
    let child = new_handle(&mut f.db, DISK_IO, 0x3000);
    f.db.open_protocol(
        bus,
        &BLOCK_IO,
        Some(driver),
        Some(child),
        OPEN_PROTOCOL_BY_CHILD_CONTROLLER,
    )
    .unwrap();
    assert_eq!(f.db.drivers_managing(bus), vec![driver]);
    assert_eq!(f.db.children_of(bus, driver), vec![child]);
    assert_eq!(f.db.children_of(bus, f.driver_b), vec![]);

    f.db.close_opens_by_agent(driver);
    assert_eq!(f.db.drivers_managing(bus), vec![]);
    assert_eq!(f.db.open_protocol_information(bus, &BLOCK_IO), Ok(vec![]));
}

// ---- LocateHandle, notifications, LocateProtocol ----

#[test]
fn locate_handle_lists_handles_in_creation_order() {
    let mut db = Database::new();
    let first = new_handle(&mut db, DISK_IO, 1);
    let second = new_handle(&mut db, BLOCK_IO, 2);
    let third = new_handle(&mut db, BLOCK_IO, 3);
    // Installing later on the first handle does not move it.
    db.install_protocol(Some(first), BLOCK_IO, Interface(4)).unwrap();
    assert_eq!(db.locate_handle(Search::AllHandles), Ok(vec![first, second, third]));
    assert_eq!(
        db.locate_handle(Search::ByProtocol(BLOCK_IO)),
        Ok(vec![first, second, third])
    );
    assert_eq!(db.locate_handle(Search::ByProtocol(DISK_IO)), Ok(vec![first]));
    let error = db.locate_handle(Search::ByProtocol(DRIVER_BINDING)).unwrap_err();
    assert_eq!(error.status(), Status::NOT_FOUND);
    assert_eq!(db.all_handles(), vec![first, second, third]);
}

#[test]
fn register_notify_returns_each_new_installation_once() {
    let mut db = Database::new();
    let before = new_handle(&mut db, BLOCK_IO, 1);
    let registration = db.register_protocol_notify(BLOCK_IO, EventId(0x77)).unwrap();
    assert_eq!(RegistrationId::from_efi(registration.to_efi()), Some(registration));
    // Installed before the registration: not reported.
    assert_eq!(
        db.locate_handle(Search::ByRegisterNotify(registration)),
        Err(Error::NothingFound)
    );

    let a = db.install_protocol(None, BLOCK_IO, Interface(2)).unwrap();
    assert_eq!(a.events, vec![EventId(0x77)]);
    let b = db.install_protocol(Some(before), DISK_IO, Interface(3)).unwrap();
    assert!(b.events.is_empty());
    let c = db.install_protocol(None, BLOCK_IO, Interface(4)).unwrap();

    assert_eq!(db.peek_notified(registration), Ok(a.handle));
    assert_eq!(
        db.locate_handle(Search::ByRegisterNotify(registration)),
        Ok(vec![a.handle])
    );
    assert_eq!(
        db.locate_handle(Search::ByRegisterNotify(registration)),
        Ok(vec![c.handle])
    );
    assert_eq!(
        db.locate_handle(Search::ByRegisterNotify(registration))
            .unwrap_err()
            .status(),
        Status::NOT_FOUND
    );

    // A reinstall is news again.
    let events = db
        .reinstall_protocol(a.handle, &BLOCK_IO, Interface(2), Interface(5))
        .unwrap();
    assert_eq!(events, vec![EventId(0x77)]);
    assert_eq!(db.locate_protocol(&DISK_IO, Some(registration)), Ok(Interface(5)));
    assert_eq!(
        db.locate_protocol(&BLOCK_IO, Some(registration)),
        Err(Error::NothingFound)
    );
}

#[test]
fn an_uninstalled_pending_installation_is_skipped() {
    let mut db = Database::new();
    let registration = db.register_protocol_notify(BLOCK_IO, EventId(1)).unwrap();
    let gone = new_handle(&mut db, BLOCK_IO, 1);
    let kept = new_handle(&mut db, BLOCK_IO, 2);
    db.uninstall_protocol(gone, &BLOCK_IO, Interface(1)).unwrap();
    assert_eq!(db.locate_handle(Search::ByRegisterNotify(registration)), Ok(vec![kept]));
}

#[test]
fn unknown_registrations_are_invalid_and_closed_events_are_not_signalled() {
    let mut db = Database::new();
    let registration = db.register_protocol_notify(BLOCK_IO, EventId(9)).unwrap();
    let second = db.register_protocol_notify(BLOCK_IO, EventId(9)).unwrap();
    assert_ne!(registration, second);
    // One event registered twice is signalled once.
    assert_eq!(
        db.install_protocol(None, BLOCK_IO, Interface(1)).unwrap().events,
        vec![EventId(9)]
    );
    db.unregister_event(EventId(9));
    assert!(db
        .install_protocol(None, BLOCK_IO, Interface(2))
        .unwrap()
        .events
        .is_empty());
    let error = db.locate_handle(Search::ByRegisterNotify(registration)).unwrap_err();
    assert_eq!(error, Error::UnknownRegistration { registration });
    assert_eq!(error.status(), Status::INVALID_PARAMETER);
    assert_eq!(
        db.unregister_protocol_notify(second).unwrap_err().status(),
        Status::INVALID_PARAMETER
    );
}

#[test]
fn locate_protocol_returns_the_first_handles_interface() {
    let mut db = Database::new();
    new_handle(&mut db, DISK_IO, 1);
    new_handle(&mut db, BLOCK_IO, 2);
    new_handle(&mut db, BLOCK_IO, 3);
    assert_eq!(db.locate_protocol(&BLOCK_IO, None), Ok(Interface(2)));
    assert_eq!(
        db.locate_protocol(&DRIVER_BINDING, None).unwrap_err().status(),
        Status::NOT_FOUND
    );
}

// ---- LocateDevicePath ----

struct PathDb {
    db: Database,
    paths: BTreeMap<Interface, Vec<u8>>,
    root: HandleId,
    disk: HandleId,
    part: HandleId,
}

fn path_db() -> PathDb {
    let mut paths = BTreeMap::new();
    paths.insert(Interface(0x100), path(&[acpi_root(), end()]));
    paths.insert(Interface(0x200), path(&[acpi_root(), pci(3), end()]));
    paths.insert(Interface(0x300), path(&[acpi_root(), pci(3), partition(1), end()]));
    let mut db = Database::new();
    let mut add = |dp: usize, extra: &[(Guid, Interface)]| {
        let mut protocols = vec![(DEVICE_PATH_GUID, Interface(dp))];
        protocols.extend_from_slice(extra);
        db.install_multiple(None, &protocols, |i| paths.get(&i).map(Vec::as_slice))
            .unwrap()
            .handle
    };
    let root = add(0x100, &[]);
    let disk = add(0x200, &[(BLOCK_IO, Interface(1))]);
    let part = add(0x300, &[(BLOCK_IO, Interface(2)), (DISK_IO, Interface(3))]);
    PathDb {
        db,
        paths,
        root,
        disk,
        part,
    }
}

impl PathDb {
    fn locate(&self, guid: &Guid, wanted: &[u8]) -> Result<PathMatch, Error> {
        self.db
            .locate_device_path(guid, wanted, |i| self.paths.get(&i).map(Vec::as_slice))
    }
}

#[test]
fn locate_device_path_finds_the_longest_prefix() {
    let p = path_db();
    let file = node(0x04, 0x04, &[b'a', 0, 0, 0]);
    let wanted = path(&[acpi_root(), pci(3), partition(1), file.clone(), end()]);
    let prefix = acpi_root().len() + pci(3).len() + partition(1).len();
    assert_eq!(
        p.locate(&BLOCK_IO, &wanted),
        Ok(PathMatch {
            handle: p.part,
            consumed: prefix
        })
    );
    assert_eq!(wanted.get(prefix..), Some(&path(&[file, end()])[..]));

    // Restricted to handles with the protocol.
    let other = path(&[acpi_root(), pci(3), partition(2), end()]);
    assert_eq!(
        p.locate(&BLOCK_IO, &other),
        Ok(PathMatch {
            handle: p.disk,
            consumed: acpi_root().len() + pci(3).len()
        })
    );
    assert_eq!(
        p.locate(&DEVICE_PATH_GUID, &path(&[acpi_root(), pci(9), end()])),
        Ok(PathMatch {
            handle: p.root,
            consumed: acpi_root().len()
        })
    );
    let error = p.locate(&BLOCK_IO, &path(&[acpi_root(), pci(9), end()])).unwrap_err();
    assert_eq!(error, Error::NoDevicePathMatch { guid: BLOCK_IO });
    assert_eq!(error.status(), Status::NOT_FOUND);
}

#[test]
fn locate_device_path_uses_the_first_instance_only() {
    let p = path_db();
    let wanted = path(&[
        acpi_root(),
        pci(3),
        end_instance(),
        acpi_root(),
        pci(3),
        partition(1),
        end(),
    ]);
    assert_eq!(p.locate(&BLOCK_IO, &wanted).map(|found| found.handle), Ok(p.disk));
}

#[test]
fn locate_device_path_rejects_a_malformed_path() {
    let p = path_db();
    for bad in [
        vec![0x02, 0x01, 0x00, 0x00],
        vec![0x02, 0x01, 0x02, 0x00, 0xff, 0xff],
        path(&[acpi_root(), vec![0x01, 0x01, 0x40, 0x00, 0x00]]),
        path(&[acpi_root(), pci(3)]),
        vec![],
    ] {
        let error = p.locate(&BLOCK_IO, &bad).unwrap_err();
        assert!(matches!(error, Error::MalformedDevicePath(_)), "{error:?}");
        assert_eq!(error.status(), Status::INVALID_PARAMETER);
    }
}

#[test]
fn a_handle_with_a_malformed_device_path_is_skipped() {
    let mut p = path_db();
    p.paths.insert(Interface(0x300), vec![0x01, 0x01, 0x00, 0x00]);
    let wanted = path(&[acpi_root(), pci(3), partition(1), end()]);
    assert_eq!(p.locate(&BLOCK_IO, &wanted).map(|found| found.handle), Ok(p.disk));
}

// ---- device path walking ----

#[test]
fn walks_nodes_up_to_the_end_node() {
    let bytes = path(&[acpi_root(), pci(3), end(), pci(4)]);
    let nodes: Vec<_> = device_path::nodes(&bytes)
        .map(|n| n.map(|n| (n.kind(), n.sub_type(), n.data().len())))
        .collect();
    assert_eq!(nodes, vec![Ok((2, 1, 8)), Ok((1, 1, 2)), Ok((0x7F, 0xFF, 0))]);
    assert_eq!(device_path::size(&bytes), Ok(12 + 6 + 4));
    assert_eq!(device_path::body(&bytes).map(<[u8]>::len), Ok(18));
}

#[test]
fn node_lengths_below_the_header_stop_the_walk() {
    for length in [0u8, 2, 3] {
        let bytes = [0x01, 0x01, length, 0x00, 0x7F, 0xFF, 0x04, 0x00];
        let all: Vec<_> = device_path::nodes(&bytes).collect();
        assert_eq!(
            all,
            vec![Err(PathError::NodeTooShort {
                offset: 0,
                length: u16::from(length)
            })]
        );
    }
}

#[test]
fn a_node_running_past_the_buffer_is_truncated() {
    let bytes = path(&[pci(3), vec![0x04, 0x01, 0x20, 0x00, 0, 0]]);
    assert_eq!(
        device_path::size(&bytes),
        Err(PathError::Truncated { offset: 6, len: 12 })
    );
    // A header cut in half.
    assert_eq!(
        device_path::size(&[0x7F, 0xFF]),
        Err(PathError::Truncated { offset: 0, len: 2 })
    );
}

#[test]
fn sizes_a_path_in_memory_through_a_header_reader() {
    let bytes = path(&[acpi_root(), pci(3), end()]);
    let read = |offset: usize| bytes.get(offset..offset + 4).map(|h| [h[0], h[1], h[2], h[3]]);
    assert_eq!(device_path::size_in_memory(4096, read), Ok(22));
    assert_eq!(
        device_path::size_in_memory(16, read),
        Err(PathError::Truncated { offset: 12, len: 16 })
    );

    // A zero-length node repeated forever must not hang.
    let mut reads = 0;
    let result = device_path::size_in_memory(usize::MAX, |_| {
        reads += 1;
        Some([1, 1, 0, 0])
    });
    assert_eq!(result, Err(PathError::NodeTooShort { offset: 0, length: 0 }));
    assert_eq!(reads, 1);
    // A path without an end node stops at the limit.
    let mut reads = 0;
    let result = device_path::size_in_memory(1 << 16, |_| {
        reads += 1;
        Some([1, 1, 4, 0])
    });
    assert!(matches!(result, Err(PathError::Truncated { .. })));
    assert_eq!(reads, (1 << 16) / 4);
    assert_eq!(
        device_path::size_in_memory(64, |_| None),
        Err(PathError::Unreadable { offset: 0 })
    );
}

#[test]
fn errors_explain_themselves() {
    assert_eq!(GuidText(&BLOCK_IO).to_string(), "964e5b21-6459-11d2-8e39-00a0c969723b");
    let handle = HandleId::new(0xEF1D_0000_0000_0010).unwrap();
    assert_eq!(
        Error::NotInstalled { handle, guid: BLOCK_IO }.to_string(),
        "protocol 964e5b21-6459-11d2-8e39-00a0c969723b is not on handle 0xef1d000000000010"
    );
    assert!(
        Error::MalformedDevicePath(PathError::NodeTooShort { offset: 8, length: 2 })
            .to_string()
            .contains("offset 8")
    );
}
