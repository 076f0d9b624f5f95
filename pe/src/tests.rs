use super::*;
use alloc::vec;

const NT: usize = 0x80;
const OPTIONAL_SIZE: usize = 240;
const TABLE: usize = NT + 24 + OPTIONAL_SIZE;

fn put16(f: &mut [u8], at: usize, value: u16) {
    f[at..at + 2].copy_from_slice(&value.to_le_bytes());
}

fn put32(f: &mut [u8], at: usize, value: u32) {
    f[at..at + 4].copy_from_slice(&value.to_le_bytes());
}

/// A PE32+ file with the given sections: (name, VirtualSize, SizeOfRawData, PointerToRawData).
fn pe_with(sections: &[(&[u8], u32, u32, u32)]) -> Vec<u8> {
    let mut f = vec![0u8; 1024];
    f[..2].copy_from_slice(b"MZ");
    put32(&mut f, 0x3c, NT as u32);
    f[NT..NT + 4].copy_from_slice(b"PE\0\0");
    put16(&mut f, NT + 4, 0x8664);
    put16(&mut f, NT + 6, sections.len() as u16);
    put16(&mut f, NT + 20, OPTIONAL_SIZE as u16);
    put16(&mut f, NT + 22, RELOCS_STRIPPED);
    let optional = NT + 24;
    put16(&mut f, optional, PE32_PLUS_MAGIC);
    put32(&mut f, optional + 16, 0x1000);
    put32(&mut f, optional + 32, 0x1000);
    put32(&mut f, optional + 56, 0x4000);
    put32(&mut f, optional + 60, 0x400);
    put16(&mut f, optional + 68, 10);
    put32(&mut f, optional + 108, 16);
    for (i, (name, virtual_size, raw_size, offset)) in sections.iter().enumerate() {
        let e = TABLE + 40 * i;
        f[e..e + name.len()].copy_from_slice(name);
        put32(&mut f, e + 8, *virtual_size);
        put32(&mut f, e + 12, 0x1000 * (i as u32 + 1));
        put32(&mut f, e + 16, *raw_size);
        put32(&mut f, e + 20, *offset);
    }
    f
}

#[test]
fn section_sizes_follow_virtual_and_raw_size() {
    let f = pe_with(&[(b".text", 100, 512, 0x400), (b".cmdline", 0, 512, 0x800)]);
    let coff = CoffHeader::read(&f).unwrap();
    let sections = coff.section_headers(&f).unwrap();
    assert_eq!(sections[0].raw_name(), b".text");
    assert_eq!((sections[0].size_in_memory(), sections[0].loaded_size()), (100, 100));
    assert_eq!(
        (sections[1].size_in_memory(), sections[1].loaded_size()),
        (512, 512),
        "virtual size 0 means the raw size"
    );
    assert_eq!(sections[1].pointer_to_raw_data, 0x800);
}

#[test]
fn reads_the_pe32_plus_optional_header() {
    let mut f = pe_with(&[(b".text", 100, 512, 0x400)]);
    put32(&mut f, NT + 24 + 112 + 5 * 8, 0x3000);
    put32(&mut f, NT + 24 + 112 + 5 * 8 + 4, 0x20);
    let headers = Headers::read(&f, CoffHeader::read(&f).unwrap()).unwrap();
    assert_eq!(headers.coff.machine, 0x8664);
    assert_eq!(headers.coff.characteristics, RELOCS_STRIPPED);
    let optional = headers.optional;
    assert_eq!(
        (
            optional.address_of_entry_point,
            optional.size_of_image,
            optional.size_of_headers
        ),
        (0x1000, 0x4000, 0x400)
    );
    assert_eq!(optional.subsystem, 10);
    assert_eq!(
        optional.base_relocations,
        Some(DataDirectory {
            rva: 0x3000,
            size: 0x20
        })
    );
    assert_eq!(headers.sections.len(), 1);
    assert_eq!(headers_len(&f), Ok(0x400));
}

#[test]
fn a_relocation_directory_at_address_zero_or_beyond_the_count_is_none() {
    let mut f = pe_with(&[]);
    put32(&mut f, NT + 24 + 112 + 5 * 8 + 4, 0x20);
    let headers = Headers::read(&f, CoffHeader::read(&f).unwrap()).unwrap();
    assert_eq!(headers.optional.base_relocations, None);
    put32(&mut f, NT + 24 + 112 + 5 * 8, 0x3000);
    put32(&mut f, NT + 24 + 108, 5);
    let headers = Headers::read(&f, CoffHeader::read(&f).unwrap()).unwrap();
    assert_eq!(headers.optional.base_relocations, None);
}

#[test]
fn refuses_wrong_signatures_and_magic() {
    let f = pe_with(&[]);
    let mut bad = f.clone();
    bad[0] = b'X';
    assert_eq!(
        CoffHeader::read(&bad),
        Err(HeaderError::BadDosSignature { found: 0x5a58 })
    );
    let mut bad = f.clone();
    bad[NT] = b'X';
    assert!(matches!(
        CoffHeader::read(&bad),
        Err(HeaderError::BadPeSignature { offset: 0x80, .. })
    ));
    let mut bad = f.clone();
    put16(&mut bad, NT + 24, 0x10b);
    assert_eq!(
        Headers::read(&bad, CoffHeader::read(&bad).unwrap()),
        Err(HeaderError::NotPe32Plus { magic: 0x10b })
    );
}

#[test]
fn refuses_malformed_optional_headers() {
    let mut f = pe_with(&[]);
    put32(&mut f, NT + 24 + 108, 17);
    assert_eq!(
        Headers::read(&f, CoffHeader::read(&f).unwrap()),
        Err(HeaderError::TooManyDataDirectories { count: 17 })
    );
    put16(&mut f, NT + 20, 100);
    assert_eq!(
        Headers::read(&f, CoffHeader::read(&f).unwrap()),
        Err(HeaderError::OptionalHeaderTooSmall { size: 100 })
    );
}

fn truncated<T>(what: &'static str) -> Result<T, HeaderError> {
    Err(HeaderError::Truncated { what })
}

#[test]
fn truncations_name_the_structure() {
    let f = pe_with(&[(b".osrel", 1, 1, 1)]);
    assert_eq!(CoffHeader::read(&f[..10]), truncated("DOS header"));
    assert_eq!(CoffHeader::read(&f[..NT + 2]), truncated("PE signature"));
    assert_eq!(CoffHeader::read(&f[..NT + 10]), truncated("COFF file header"));
    let coff = CoffHeader::read(&f).unwrap();
    assert_eq!(Headers::read(&f[..NT + 24], coff), truncated("optional header"));
    assert_eq!(Headers::read(&f[..NT + 100], coff), truncated("optional header"));
    assert_eq!(coff.section_headers(&f[..TABLE + 20]), truncated("section table"));
    assert_eq!(Headers::read(&f[..TABLE + 20], coff), truncated("section table"));
    assert_eq!(headers_len(&f[..NT + 30]), truncated("optional header"));
    let mut far = f.clone();
    put32(&mut far, 0x3c, 0xffff_fff0);
    assert_eq!(CoffHeader::read(&far), truncated("PE signature"));
    // Every shorter prefix fails without a panic.
    for len in 0..TABLE + 40 {
        assert!(CoffHeader::read(&f[..len])
            .and_then(|coff| Headers::read(&f[..len], coff))
            .is_err());
    }
}

#[test]
fn long_names_come_from_the_string_table() {
    let mut f = pe_with(&[
        (b"/4", 0, 0, 0),
        (b"//AAAAAE", 0, 0, 0),
        (b"/99", 0, 0, 0),
        (b".short", 0, 0, 0),
    ]);
    // No symbols, then the string table: its length, then the names.
    let strings_at = 0x300;
    put32(&mut f, NT + 12, strings_at as u32);
    let table: &[u8] = b"\x10\0\0\0.sbatlevel\0\0";
    f[strings_at..strings_at + table.len()].copy_from_slice(table);
    let coff = CoffHeader::read(&f).unwrap();
    let strings = StringTable::read(&f, &coff);
    assert!(strings.is_some());
    let sections = coff.section_headers(&f).unwrap();
    let names: Vec<&[u8]> = sections.iter().map(|s| s.name(strings)).collect();
    assert_eq!(names, [&b".sbatlevel"[..], b".sbatlevel", b"/99", b".short"]);
    assert_eq!(
        sections[0].name(None),
        b"/4",
        "without a string table the raw name stays"
    );
}
