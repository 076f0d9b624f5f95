use super::*;
use std::vec::Vec;

const BS: u32 = efi::VARIABLE_BOOTSERVICE_ACCESS;
const RT: u32 = efi::VARIABLE_RUNTIME_ACCESS;
const NV: u32 = efi::VARIABLE_NON_VOLATILE;
const VENDOR: efi::Guid = efi::Guid::from_fields(
    0x605dab50,
    0xe046,
    0x4300,
    0xab,
    0xb6,
    &[0x3d, 0xd8, 0x10, 0xdd, 0x8b, 0x23],
);

fn w(s: &str) -> Vec<u16> {
    s.encode_utf16().collect()
}

fn store() -> VariableStore<Vec<u8>> {
    VariableStore::new(std::vec![0u8; 4096])
}

#[test]
fn set_get_and_delete() {
    let mut s = store();
    s.set(&w("MokListRT"), &VENDOR, BS | RT, b"certs", false).unwrap();
    assert_eq!(s.get(&w("MokListRT"), &VENDOR, false), Ok((BS | RT, &b"certs"[..])));
    // A trailing NUL in the caller's name is not part of the name.
    let mut with_nul = w("MokListRT");
    with_nul.push(0);
    assert!(s.get(&with_nul, &VENDOR, false).is_ok());
    s.set(&w("MokListRT"), &VENDOR, BS | RT, b"", false).unwrap();
    assert_eq!(s.get(&w("MokListRT"), &VENDOR, false), Err(VariableError::NotFound));
    assert_eq!(
        s.set(&w("MokListRT"), &VENDOR, BS | RT, b"", false),
        Err(VariableError::NotFound)
    );
}

#[test]
fn replacing_keeps_order_and_other_variables_intact() {
    let mut s = store();
    s.set(&w("A"), &VENDOR, BS, b"1", false).unwrap();
    s.set(&w("B"), &VENDOR, BS, b"2", false).unwrap();
    s.set(&w("A"), &VENDOR, BS, b"longer value", false).unwrap();
    assert_eq!(s.get(&w("A"), &VENDOR, false).unwrap().1, b"longer value");
    assert_eq!(s.get(&w("B"), &VENDOR, false).unwrap().1, b"2");
    s.set(&w("A"), &VENDOR, BS, b"x", false).unwrap();
    assert_eq!(s.get(&w("B"), &VENDOR, false).unwrap().1, b"2");
    let mut out = [0u16; 8];
    assert_eq!(s.next_name(&[], &VENDOR, false, &mut out), Ok(VENDOR));
    assert_eq!(&out[..2], &[u16::from(b'A'), 0]);
}

#[test]
fn file_variables_enter_the_store_unless_authenticated_or_volatile() {
    use crate::variable_file::{parse, serialize, write_file};
    let nv = efi::VARIABLE_NON_VOLATILE | BS | RT;
    let file_var = |name: &str, attributes: u32, data: &'static [u8]| FileVariable {
        name: w(name),
        guid: efi::GLOBAL_VARIABLE,
        attributes,
        time: 0,
        data,
    };
    let file = serialize(&[
        file_var("BootOrder", nv, &[1, 0]),
        file_var("PK", nv, &[7; 8]),
        file_var("Scratch", BS, &[1]),
        file_var("Boot0001", nv, b"option"),
    ]);
    let mut s = store();
    s.set_read_only(&w("SecureBoot"), &efi::GLOBAL_VARIABLE, BS | RT, &[0])
        .unwrap();
    s.set(&w("Volatile"), &VENDOR, BS, b"v", false).unwrap();
    let summary = s.load(&parse(&file).unwrap());
    assert_eq!(summary.loaded, 2);
    assert_eq!(summary.refused, 2);
    assert_eq!(summary.first_refusal, Some(LoadRefusal::Authenticated));
    assert_eq!(
        s.get(&w("BootOrder"), &efi::GLOBAL_VARIABLE, false),
        Ok((nv, &[1u8, 0][..]))
    );
    assert_eq!(
        s.get(&w("PK"), &efi::GLOBAL_VARIABLE, false),
        Err(VariableError::NotFound)
    );
    assert!(s.is_non_volatile(&w("Boot0001"), &efi::GLOBAL_VARIABLE));
    assert!(!s.is_non_volatile(&w("Volatile"), &VENDOR));
    // Written back: only what applications stored as non-volatile.
    let mut out = [0u8; 512];
    let len = write_file(&mut out, s.non_volatile()).unwrap();
    let back = parse(&out[..len]).unwrap();
    let names: Vec<Vec<u16>> = back.iter().map(|v| v.name.clone()).collect();
    assert_eq!(names, [w("BootOrder"), w("Boot0001")]);
}

#[test]
fn append_write_extends_data() {
    let mut s = store();
    s.set(&w("db"), &VENDOR, BS | efi::VARIABLE_APPEND_WRITE, b"ab", false)
        .unwrap();
    s.set(&w("db"), &VENDOR, BS | efi::VARIABLE_APPEND_WRITE, b"cd", false)
        .unwrap();
    s.set(&w("z"), &VENDOR, BS, b"z", false).unwrap();
    s.set(&w("db"), &VENDOR, BS | efi::VARIABLE_APPEND_WRITE, b"ef", false)
        .unwrap();
    assert_eq!(s.get(&w("db"), &VENDOR, false).unwrap(), (BS, &b"abcdef"[..]));
    assert_eq!(s.get(&w("z"), &VENDOR, false).unwrap().1, b"z");
}

#[test]
fn attribute_rules() {
    let mut s = store();
    assert_eq!(
        s.set(&w("X"), &VENDOR, RT, b"1", false).unwrap_err(),
        VariableError::BadAttributes { attributes: RT },
        "runtime access without boot-services access is an invalid combination"
    );
    assert_eq!(
        s.set(&w("X"), &VENDOR, RT, b"1", false).unwrap_err().status(),
        efi::Status::INVALID_PARAMETER
    );
    assert_eq!(
        s.set(&w("X"), &VENDOR, efi::VARIABLE_NON_VOLATILE, b"1", false)
            .unwrap_err(),
        VariableError::NotFound,
        "no access attributes means delete"
    );
    assert_eq!(
        s.set(&w("X"), &VENDOR, BS | 0x1000, b"1", false).unwrap_err().status(),
        efi::Status::INVALID_PARAMETER
    );
    s.set(&w("X"), &VENDOR, BS, b"1", false).unwrap();
    assert_eq!(
        s.set(&w("X"), &VENDOR, BS | RT, b"2", false),
        Err(VariableError::AttributeMismatch {
            existing: BS,
            requested: BS | RT
        })
    );
    assert_eq!(
        s.set(
            &w("X"),
            &VENDOR,
            BS | efi::VARIABLE_TIME_BASED_AUTHENTICATED_WRITE_ACCESS,
            b"2",
            false
        )
        .unwrap_err()
        .status(),
        efi::Status::SECURITY_VIOLATION
    );
    assert_eq!(s.set(&[], &VENDOR, BS, b"2", false), Err(VariableError::InvalidName));
}

#[test]
fn runtime_sees_only_runtime_variables() {
    let mut s = store();
    s.set(&w("Boot"), &VENDOR, BS, b"b", false).unwrap();
    s.set(&w("Run"), &VENDOR, BS | RT | NV, b"r", false).unwrap();
    assert_eq!(
        s.get(&w("Boot"), &VENDOR, true),
        Err(VariableError::NotRuntimeAccessible)
    );
    assert!(s.get(&w("Run"), &VENDOR, true).is_ok());
    let mut out = [0u16; 8];
    s.next_name(&[], &VENDOR, true, &mut out).unwrap();
    assert_eq!(&out[..4], &[u16::from(b'R'), u16::from(b'u'), u16::from(b'n'), 0]);
    assert_eq!(
        s.set(&w("New"), &VENDOR, BS, b"x", true).unwrap_err().status(),
        efi::Status::INVALID_PARAMETER
    );
    s.set(&w("New"), &VENDOR, BS | RT, b"x", true).unwrap();
}

#[test]
fn enumerates_all_names_then_not_found() {
    let mut s = store();
    for n in ["One", "Two", "Three"] {
        s.set(&w(n), &VENDOR, BS, b"v", false).unwrap();
    }
    let mut name: Vec<u16> = std::vec![0];
    let mut guid = VENDOR;
    let mut seen = Vec::new();
    loop {
        let mut out = [0u16; 16];
        match s.next_name(&name, &guid, false, &mut out) {
            Ok(g) => {
                let len = out.iter().position(|&c| c == 0).unwrap();
                name = out[..=len].to_vec();
                guid = g;
                seen.push(std::string::String::from_utf16(&out[..len]).unwrap());
            }
            Err(e) => {
                assert_eq!(e, VariableError::NotFound);
                break;
            }
        }
    }
    assert_eq!(seen, ["One", "Two", "Three"]);
    let mut tiny = [0u16; 2];
    assert_eq!(
        s.next_name(&[], &VENDOR, false, &mut tiny),
        Err(VariableError::BufferTooSmall { needed: 8 })
    );
    assert_eq!(
        s.next_name(&w("Nope"), &VENDOR, false, &mut [0u16; 8]),
        Err(VariableError::InvalidName)
    );
}

#[test]
fn read_only_variables_refuse_writes() {
    let mut s = store();
    s.set_read_only(&w("SecureBoot"), &efi::GLOBAL_VARIABLE, BS | RT, &[0])
        .unwrap();
    assert_eq!(
        s.set(&w("SecureBoot"), &efi::GLOBAL_VARIABLE, BS | RT, &[1], false),
        Err(VariableError::WriteProtected)
    );
    assert_eq!(
        s.set(&w("SecureBoot"), &efi::GLOBAL_VARIABLE, 0, &[], false),
        Err(VariableError::WriteProtected)
    );
    assert_eq!(s.get(&w("SecureBoot"), &efi::GLOBAL_VARIABLE, true).unwrap().1, &[0]);
    assert_eq!(
        s.set_read_only(&[0], &efi::GLOBAL_VARIABLE, BS, &[1]),
        Err(VariableError::InvalidName)
    );
}

#[test]
fn query_info_refuses_invalid_attribute_combinations() {
    let s = store();
    let nv = efi::VARIABLE_NON_VOLATILE;
    assert!(s.info(nv | BS | RT, false).is_ok());
    assert!(s.info(nv | BS, false).is_ok());
    for bad in [0, RT, nv | RT, 0x8000_0000] {
        assert_eq!(
            s.info(bad, false),
            Err(VariableError::BadAttributes { attributes: bad }),
            "{bad:#x}"
        );
    }
    // After ExitBootServices only runtime-access variables can be asked about.
    assert_eq!(
        s.info(nv | BS, true),
        Err(VariableError::BadAttributes { attributes: nv | BS })
    );
    assert!(s.info(nv | BS | RT, true).is_ok());
    assert_eq!(
        s.info(nv | BS | RT | efi::VARIABLE_HARDWARE_ERROR_RECORD, false),
        Err(VariableError::AuthenticationUnsupported)
    );
}

#[test]
fn full_store_reports_out_of_resources_and_stays_consistent() {
    let mut s = VariableStore::new(std::vec![0u8; 256]);
    s.set(&w("A"), &VENDOR, BS, &[1; 100], false).unwrap();
    assert_eq!(
        s.set(&w("B"), &VENDOR, BS, &[2; 200], false),
        Err(VariableError::OutOfResources)
    );
    assert_eq!(
        s.set(&w("A"), &VENDOR, BS, &[3; 300], false),
        Err(VariableError::OutOfResources)
    );
    assert_eq!(s.get(&w("A"), &VENDOR, false).unwrap().1, &[1; 100]);
    let info = s.info(BS, false).unwrap();
    assert_eq!(info.maximum_storage, 256);
    assert_eq!(info.remaining_storage, 256 - HEADER as u64 - 2 - 100);
    // Non-volatile variables share the arena: the same real numbers.
    assert_eq!(s.info(efi::VARIABLE_NON_VOLATILE | BS | RT, false), Ok(info));
    let mut big = VariableStore::new(std::vec![0u8; 128 * 1024]);
    assert_eq!(
        big.set(&w("Huge"), &VENDOR, BS, &std::vec![0; MAX_VARIABLE_SIZE + 1], false),
        Err(VariableError::OutOfResources)
    );
}
