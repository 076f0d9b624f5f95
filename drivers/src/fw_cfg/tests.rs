use super::padding::{used_lengths, PlacedBlobs};
use super::table_loader::{self, Blob, Environment, ErrorKind, Zone};
use super::*;
use crate::acpi::{Acpi, TableSignature};
use std::cell::Cell;
use std::string::{String, ToString};
use std::vec::Vec;
use std::{format, vec};

/// A fw_cfg device: items by key, the selected item and its read offset, and
/// whether it offers DMA.
struct Model {
    items: Vec<(u16, Vec<u8>)>,
    dma: bool,
    selected: Cell<Option<u16>>,
    offset: Cell<usize>,
    dma_requests: Cell<usize>,
    fail_dma: bool,
    written: std::cell::RefCell<Vec<(u16, Vec<u8>)>>,
}

impl Model {
    fn new(dma: bool, files: &[(&str, Vec<u8>)]) -> Model {
        let features = FW_CFG_FEATURE_TRADITIONAL | if dma { FW_CFG_FEATURE_DMA } else { 0 };
        let mut items = vec![
            (FW_CFG_SIGNATURE, SIGNATURE.to_vec()),
            (FW_CFG_ID, features.to_le_bytes().to_vec()),
        ];
        let mut directory = (files.len() as u32).to_be_bytes().to_vec();
        for (i, (name, data)) in files.iter().enumerate() {
            let key = 0x20 + i as u16;
            directory.extend((data.len() as u32).to_be_bytes());
            directory.extend(key.to_be_bytes());
            directory.extend([0, 0]);
            let mut field = [0u8; 56];
            field[..name.len()].copy_from_slice(name.as_bytes());
            directory.extend(field);
            items.push((key, data.clone()));
        }
        items.push((FW_CFG_FILE_DIR, directory));
        Model {
            items,
            dma,
            selected: Cell::new(None),
            offset: Cell::new(0),
            dma_requests: Cell::new(0),
            fail_dma: false,
            written: Default::default(),
        }
    }

    fn item(&self) -> &[u8] {
        let key = self.selected.get();
        self.items
            .iter()
            .find(|(k, _)| Some(*k) == key)
            .map_or(&[][..], |(_, d)| &d[..])
    }

    fn next(&self, buf: &mut [u8]) {
        let item = self.item();
        for byte in buf {
            *byte = item.get(self.offset.get()).copied().unwrap_or(0);
            self.offset.set(self.offset.get() + 1);
        }
    }
}

impl Transport for &Model {
    fn select(&self, key: u16) {
        self.selected.set(Some(key));
        self.offset.set(0);
    }

    fn read_data(&self, buf: &mut [u8]) {
        self.next(buf);
    }

    fn dma(&self, control: u32, buf: &mut [u8]) -> u32 {
        assert!(self.dma, "DMA used although FW_CFG_ID does not offer it");
        self.dma_requests.set(self.dma_requests.get() + 1);
        if self.fail_dma {
            return FW_CFG_DMA_CTL_ERROR;
        }
        if control & FW_CFG_DMA_CTL_SELECT != 0 {
            self.select((control >> 16) as u16);
        }
        if control & FW_CFG_DMA_CTL_WRITE != 0 {
            let key = self.selected.get().unwrap();
            self.written.borrow_mut().push((key, buf.to_vec()));
            return 0;
        }
        assert_eq!(control & 0xffff & !FW_CFG_DMA_CTL_SELECT, FW_CFG_DMA_CTL_READ);
        self.next(buf);
        0
    }
}

fn tables_blob() -> Vec<u8> {
    (0..300u32).map(|i| i as u8).collect()
}

#[test]
fn reads_named_files_through_dma_when_offered() {
    let model = Model::new(
        true,
        &[("etc/acpi/rsdp", vec![1; 36]), ("etc/acpi/tables", tables_blob())],
    );
    let device = FwCfg::probe(&model).unwrap();
    assert!(device.uses_dma());
    assert_eq!(device.files().len(), 2);
    assert_eq!(device.file("etc/acpi/tables").unwrap().size, 300);
    assert_eq!(device.file("etc/acpi/tables").unwrap().select, 0x21);
    let before = model.dma_requests.get();
    assert_eq!(device.read_file("etc/acpi/tables").unwrap(), tables_blob());
    assert_eq!(model.dma_requests.get(), before + 1);
    assert_eq!(device.read_file("etc/acpi/rsdp").unwrap(), vec![1; 36]);
    assert_eq!(device.read_file("etc/smbios/smbios-tables"), None);
}

#[test]
fn reads_named_files_through_the_data_register_without_dma() {
    let model = Model::new(false, &[("etc/acpi/tables", tables_blob())]);
    let device = FwCfg::probe(&model).unwrap();
    assert!(!device.uses_dma());
    assert_eq!(device.read_file("etc/acpi/tables").unwrap(), tables_blob());
    assert_eq!(model.dma_requests.get(), 0);
}

#[test]
fn a_file_larger_than_the_firmware_reads_is_refused_not_allocated() {
    let mut model = Model::new(true, &[("opt/huge", vec![1; 4])]);
    // The directory claims 4 GiB - 1 for the file.
    let directory = &mut model.items.last_mut().unwrap().1;
    directory[4..8].copy_from_slice(&u32::MAX.to_be_bytes());
    let device = FwCfg::probe(&model).unwrap();
    assert_eq!(device.file("opt/huge").unwrap().size, u32::MAX);
    assert_eq!(device.read_file("opt/huge"), None);
}

#[test]
fn a_device_without_the_signature_is_refused() {
    let mut model = Model::new(true, &[]);
    model.items[0].1 = b"BOCH".to_vec();
    assert_eq!(FwCfg::probe(&model).err(), Some(Error::NoSignature { found: *b"BOCH" }));
}

#[test]
fn a_dma_error_is_reported_not_returned_as_data() {
    let mut model = Model::new(true, &[("etc/acpi/tables", tables_blob())]);
    model.fail_dma = true;
    assert_eq!(
        FwCfg::probe(&model).err(),
        Some(Error::DmaError { key: FW_CFG_FILE_DIR })
    );
}

#[test]
fn directory_entries_are_big_endian_with_nul_terminated_names() {
    let mut bytes = 2u32.to_be_bytes().to_vec();
    for (size, key, name) in [
        (0x0102_0304u32, 0x0020u16, "bootorder"),
        (7, 0x0025, "etc/table-loader"),
    ] {
        bytes.extend(size.to_be_bytes());
        bytes.extend(key.to_be_bytes());
        bytes.extend([0xff, 0xff]);
        let mut field = [0u8; 56];
        field[..name.len()].copy_from_slice(name.as_bytes());
        bytes.extend(field);
    }
    let files = dir::parse(&bytes).unwrap();
    assert_eq!(
        files,
        vec![
            File {
                name: "bootorder".into(),
                size: 0x0102_0304,
                select: 0x20
            },
            File {
                name: "etc/table-loader".into(),
                size: 7,
                select: 0x25
            },
        ]
    );
    assert_eq!(dir::length(&bytes[..4]), Ok(4 + 2 * 64));
}

#[test]
fn malformed_directories_are_refused() {
    let mut bytes = 2u32.to_be_bytes().to_vec();
    bytes.extend([0u8; 64]);
    assert_eq!(dir::parse(&bytes), Err(dir::Error::Truncated { files: 2, length: 68 }));
    assert_eq!(
        dir::length(&0xffff_ffffu32.to_be_bytes()),
        Err(dir::Error::TooManyFiles { files: 0xffff_ffff })
    );
    assert!(dir::parse(&[0, 0]).is_err());
    let mut unterminated = 1u32.to_be_bytes().to_vec();
    unterminated.extend([0u8; 8]);
    unterminated.extend([b'a'; 56]);
    assert_eq!(
        dir::parse(&unterminated),
        Err(dir::Error::NameNotTerminated { index: 0 })
    );
    let mut empty = 1u32.to_be_bytes().to_vec();
    empty.extend([0u8; 64]);
    assert_eq!(dir::parse(&empty), Err(dir::Error::BadName { index: 0 }));
}

// ---- the table-loader ----

fn name_field(name: &str) -> [u8; 56] {
    let mut field = [0u8; 56];
    field[..name.len()].copy_from_slice(name.as_bytes());
    field
}

fn record(command: u32, args: &[&[u8]]) -> Vec<u8> {
    let mut r = command.to_le_bytes().to_vec();
    for a in args {
        r.extend_from_slice(a);
    }
    r.resize(128, 0);
    r
}

fn allocate(name: &str, align: u32, zone: u8) -> Vec<u8> {
    record(1, &[&name_field(name), &align.to_le_bytes(), &[zone]])
}

fn add_pointer(dest: &str, src: &str, offset: u32, size: u8) -> Vec<u8> {
    record(
        2,
        &[&name_field(dest), &name_field(src), &offset.to_le_bytes(), &[size]],
    )
}

fn add_checksum(file: &str, offset: u32, start: u32, length: u32) -> Vec<u8> {
    record(
        3,
        &[
            &name_field(file),
            &offset.to_le_bytes(),
            &start.to_le_bytes(),
            &length.to_le_bytes(),
        ],
    )
}

/// fw_cfg files and a bump allocator from `next`.
struct Env {
    files: Vec<(String, Vec<u8>)>,
    next: u64,
    allocations: Vec<(String, u64, usize, u64, Zone)>,
}

impl Env {
    fn new(files: &[(&str, Vec<u8>)]) -> Env {
        Env {
            files: files.iter().map(|(n, d)| (n.to_string(), d.clone())).collect(),
            next: 0x4800_0000,
            allocations: Vec::new(),
        }
    }
}

impl Environment for Env {
    fn fetch(&mut self, name: &str) -> Option<Vec<u8>> {
        self.files.iter().find(|(n, _)| n == name).map(|(_, d)| d.clone())
    }

    fn allocate(&mut self, name: &str, size: usize, align: u64, zone: Zone) -> Option<u64> {
        let address = self.next.next_multiple_of(align.max(4096));
        self.next = address + size as u64;
        self.allocations.push((name.into(), address, size, align, zone));
        Some(address)
    }
}

fn sum(bytes: &[u8]) -> u8 {
    bytes.iter().fold(0, |s, &b| s.wrapping_add(b))
}

/// An ACPI table: `signature`, `length` bytes, checksum left 0.
fn sdt(signature: &[u8; 4], length: usize) -> Vec<u8> {
    let mut t = vec![0u8; length];
    t[0..4].copy_from_slice(signature);
    t[4..8].copy_from_slice(&(length as u32).to_le_bytes());
    t[8] = 2;
    t
}

/// What QEMU's virt machine sends, in miniature: `etc/acpi/tables` holding an
/// APIC table at 0 and an XSDT at 64 that points at it, `etc/acpi/rsdp` with
/// the XSDT's offset, and the script that links them.
fn qemu_like() -> (Vec<(&'static str, Vec<u8>)>, Vec<u8>) {
    let mut tables = sdt(b"APIC", 64);
    let mut xsdt = sdt(b"XSDT", 36 + 8);
    xsdt[36..44].copy_from_slice(&0u64.to_le_bytes());
    tables.extend(xsdt);
    let mut rsdp = vec![0u8; 36];
    rsdp[0..8].copy_from_slice(b"RSD PTR ");
    rsdp[9..15].copy_from_slice(b"BOCHS ");
    rsdp[15] = 2;
    rsdp[20..24].copy_from_slice(&36u32.to_le_bytes());
    rsdp[24..32].copy_from_slice(&64u64.to_le_bytes());
    let script = [
        allocate("etc/acpi/rsdp", 16, 2),
        allocate("etc/acpi/tables", 64, 1),
        add_checksum("etc/acpi/tables", 9, 0, 64),
        add_pointer("etc/acpi/tables", "etc/acpi/tables", 64 + 36, 8),
        add_checksum("etc/acpi/tables", 64 + 9, 64, 44),
        add_pointer("etc/acpi/rsdp", "etc/acpi/tables", 24, 8),
        add_checksum("etc/acpi/rsdp", 8, 0, 20),
        add_checksum("etc/acpi/rsdp", 32, 0, 36),
    ]
    .concat();
    (vec![("etc/acpi/rsdp", rsdp), ("etc/acpi/tables", tables)], script)
}

#[test]
fn linked_tables_are_found_by_the_acpi_walker() {
    let (files, script) = qemu_like();
    let mut env = Env::new(&files);
    let blobs = table_loader::run(&script, &mut env).unwrap();
    assert_eq!(blobs.len(), 2);
    assert_eq!(env.allocations[0].4, Zone::Fseg);
    assert_eq!(env.allocations[1].4, Zone::High);
    let rsdp = &blobs[0];
    let tables = &blobs[1];
    assert_eq!(rsdp.name, "etc/acpi/rsdp");
    assert_eq!(tables.address % 64, 0);
    assert_eq!(sum(&rsdp.data[..20]), 0);
    assert_eq!(sum(&rsdp.data), 0);
    assert_eq!(sum(&tables.data[..64]), 0);
    assert_eq!(sum(&tables.data[64..]), 0);
    let xsdt = u64::from_le_bytes(rsdp.data[24..32].try_into().unwrap());
    assert_eq!(xsdt, tables.address + 64);
    let rsdp_address = rsdp.address;
    let memory = PlacedBlobs(&blobs);
    let acpi = Acpi::new(&memory, rsdp_address).unwrap();
    let apic = acpi.find_table(TableSignature(*b"APIC")).unwrap();
    assert_eq!(apic.address, memory.0[1].address);
}

#[test]
fn checksums_come_out_right_whatever_the_byte_held() {
    let mut data = vec![5u8, 0xee, 7, 9];
    data[1] = 0xee;
    let script = [allocate("f", 1, 1), add_checksum("f", 1, 0, 4)].concat();
    let mut env = Env::new(&[("f", data)]);
    let blobs = table_loader::run(&script, &mut env).unwrap();
    assert_eq!(sum(&blobs[0].data), 0);
}

#[test]
fn narrow_pointers_are_patched_and_must_fit() {
    let mut dest = vec![0u8; 8];
    dest[2..6].copy_from_slice(&0x10u32.to_le_bytes());
    let files = [("d", dest), ("s", vec![0u8; 0x20])];
    let script = [allocate("d", 1, 1), allocate("s", 1, 1), add_pointer("d", "s", 2, 4)].concat();
    let mut env = Env::new(&files);
    let blobs = table_loader::run(&script, &mut env).unwrap();
    let patched = u32::from_le_bytes(blobs[0].data[2..6].try_into().unwrap());
    assert_eq!(u64::from(patched), blobs[1].address + 0x10);
    // Above 4 GiB, a 4-byte pointer cannot hold the address.
    let mut env = Env::new(&files);
    env.next = 0x1_0000_0000;
    let err = table_loader::run(&script, &mut env).unwrap_err();
    assert_eq!(err.index, 2);
    assert!(matches!(err.kind, ErrorKind::PointerTooWide { size: 4, .. }), "{err}");
}

/// Runs `script` over two small files and returns the error.
fn fails(script: &[Vec<u8>]) -> table_loader::Error {
    let mut dest = vec![0u8; 16];
    dest[0] = 0x40; // an offset past the end of "s"
    let mut env = Env::new(&[("d", dest), ("s", vec![0u8; 0x20]), ("empty", Vec::new())]);
    table_loader::run(&script.concat(), &mut env).unwrap_err()
}

#[test]
fn bad_commands_are_refused_with_their_index_and_reason() {
    let base = || vec![allocate("d", 16, 1), allocate("s", 16, 1)];
    let with = |extra: Vec<u8>| {
        let mut s = base();
        s.push(extra);
        fails(&s)
    };
    let err = with(add_pointer("d", "s", 15, 2));
    assert_eq!(err.index, 2);
    assert_eq!(
        err.kind,
        ErrorKind::OutOfFile {
            name: "d".into(),
            offset: 15,
            length: 2,
            size: 16
        }
    );
    assert_eq!(
        format!("{err}"),
        "table-loader command 2 (ADD_POINTER): bytes 0xf+0x2 are outside d (0x10 bytes)"
    );
    assert!(matches!(
        with(add_pointer("d", "s", 0, 8)).kind,
        ErrorKind::PointerPastSource { value: 0x40, .. }
    ));
    assert_eq!(
        with(add_pointer("d", "s", 0, 3)).kind,
        ErrorKind::BadPointerSize { size: 3 }
    );
    assert_eq!(
        with(add_pointer("d", "x", 0, 8)).kind,
        ErrorKind::NotAllocated { name: "x".into() }
    );
    assert!(matches!(
        with(add_checksum("s", 0x20, 0, 1)).kind,
        ErrorKind::OutOfFile { offset: 0x20, .. }
    ));
    assert!(matches!(
        with(add_checksum("s", 0, 0xffff_fff0, 0x20)).kind,
        ErrorKind::OutOfFile { .. }
    ));
    assert_eq!(
        with(allocate("d", 16, 1)).kind,
        ErrorKind::AlreadyAllocated { name: "d".into() }
    );
    assert_eq!(
        with(allocate("nope", 16, 1)).kind,
        ErrorKind::NoSuchFile { name: "nope".into() }
    );
    assert_eq!(
        with(allocate("empty", 16, 1)).kind,
        ErrorKind::EmptyFile { name: "empty".into() }
    );
    assert_eq!(with(allocate("x", 24, 1)).kind, ErrorKind::BadAlignment { align: 24 });
    assert_eq!(with(allocate("x", 16, 3)).kind, ErrorKind::BadZone { zone: 3 });
    let mut unterminated = allocate("x", 16, 1);
    unterminated[4..60].fill(b'a');
    assert_eq!(with(unterminated).kind, ErrorKind::NameNotTerminated);
    let mut script = base();
    script.push(vec![0; 100]);
    assert!(matches!(fails(&script).kind, ErrorKind::Truncated { length: 356 }));
}

#[test]
fn write_pointer_and_unknown_commands_are_skipped() {
    let (files, mut script) = qemu_like();
    let mut write_pointer = record(4, &[&name_field("etc/vmgenid_addr"), &name_field("etc/acpi/tables")]);
    write_pointer[124] = 8;
    script.extend(write_pointer);
    script.extend(record(0x99, &[]));
    let mut env = Env::new(&files);
    assert_eq!(table_loader::run(&script, &mut env).unwrap().len(), 2);
}

#[test]
fn the_allocator_must_honour_the_alignment() {
    struct Sloppy;
    impl Environment for Sloppy {
        fn fetch(&mut self, _: &str) -> Option<Vec<u8>> {
            Some(vec![0; 4])
        }
        fn allocate(&mut self, _: &str, _: usize, _: u64, _: Zone) -> Option<u64> {
            Some(0x1008)
        }
    }
    let err = table_loader::run(&allocate("f", 64, 1), &mut Sloppy).unwrap_err();
    assert!(matches!(
        err.kind,
        ErrorKind::Misplaced {
            address: 0x1008,
            align: 64,
            ..
        }
    ));
}

#[test]
fn writes_a_file_through_dma() {
    let model = Model::new(true, &[("etc/ramfb", vec![0; 28])]);
    let device = FwCfg::probe(&model).unwrap();
    device.write_file("etc/ramfb", &[7; 28]).unwrap();
    assert_eq!(*model.written.borrow(), vec![(0x20, vec![7; 28])]);
    assert_eq!(
        device.write_file("etc/ramfb", &[7; 29]),
        Err(Error::WriteTooLong {
            key: 0x20,
            size: 29,
            file: 28
        })
    );
    assert_eq!(device.write_file("etc/nothing", &[1]), Err(Error::NoFile));
    let without_dma = Model::new(false, &[("etc/ramfb", vec![0; 28])]);
    let device = FwCfg::probe(&without_dma).unwrap();
    assert_eq!(device.write_file("etc/ramfb", &[7; 28]), Err(Error::NoDma));
}

const TABLES_AT: u64 = 0x4800_0000;
const RSDP_AT: u64 = 0x4900_0000;
const VMGENID_AT: u64 = 0x4a00_0000;

/// Sets byte 9 of the table at `offset` so that its `length` bytes sum to zero.
fn checksum_at(blob: &mut [u8], offset: usize, length: usize) {
    blob[offset + 9] = 0;
    blob[offset + 9] = 0u8.wrapping_sub(sum(&blob[offset..offset + length]));
}

/// The blobs of a linked table-loader run, as QEMU's `q35` sends them: the
/// RSDP; `etc/acpi/tables` with a FACP at 0 pointing (both widths) at a DSDT
/// at 320 and a FACS at 448 (mostly zeros, last), an XSDT at 384 listing the
/// FACP, then `padding` zero bytes; and vmgenid's all-zero buffer.
fn padded_tables(padding: usize) -> Vec<Blob> {
    let mut tables = sdt(b"FACP", 276);
    tables[36..40].copy_from_slice(&((TABLES_AT + 448) as u32).to_le_bytes());
    tables[40..44].copy_from_slice(&((TABLES_AT + 320) as u32).to_le_bytes());
    tables[140..148].copy_from_slice(&(TABLES_AT + 320).to_le_bytes());
    tables.resize(320, 0);
    let mut dsdt = sdt(b"DSDT", 40);
    dsdt[36..40].copy_from_slice(b"AML!");
    tables.extend(dsdt);
    tables.resize(384, 0);
    let mut xsdt = sdt(b"XSDT", 44);
    xsdt[36..44].copy_from_slice(&TABLES_AT.to_le_bytes());
    tables.extend(xsdt);
    tables.resize(448, 0);
    tables.extend(b"FACS");
    tables.extend(64u32.to_le_bytes());
    tables.resize(512 + padding, 0);
    for (offset, length) in [(0, 276), (320, 40), (384, 44)] {
        checksum_at(&mut tables, offset, length);
    }
    let mut rsdp = vec![0u8; 36];
    rsdp[0..8].copy_from_slice(b"RSD PTR ");
    rsdp[15] = 2;
    rsdp[20..24].copy_from_slice(&36u32.to_le_bytes());
    rsdp[24..32].copy_from_slice(&(TABLES_AT + 384).to_le_bytes());
    rsdp[8] = 0u8.wrapping_sub(sum(&rsdp[..20]));
    rsdp[32] = 0u8.wrapping_sub(sum(&rsdp));
    let blob = |name: &str, address, data| Blob {
        name: name.into(),
        address,
        data,
    };
    vec![
        blob("etc/acpi/rsdp", RSDP_AT, rsdp),
        blob("etc/acpi/tables", TABLES_AT, tables),
        blob("etc/vmgenid_guid", VMGENID_AT, vec![0; 4096]),
    ]
}

#[test]
fn the_padding_after_the_tables_is_found_and_buffers_are_kept_whole() {
    let blobs = padded_tables(128 * 1024 - 512);
    // The FACS (zeros after its header) is kept to its length; vmgenid's
    // buffer holds no table and stays whole.
    assert_eq!(used_lengths(&blobs, RSDP_AT), Ok(vec![36, 512, 4096]));
}

#[test]
fn bytes_after_the_tables_that_are_not_zero_are_kept() {
    let mut blobs = padded_tables(4096);
    blobs[1].data[1000] = 0x5a;
    assert_eq!(used_lengths(&blobs, RSDP_AT), Ok(vec![36, 1001, 4096]));
}

#[test]
fn a_pointer_to_no_table_means_nothing_is_trimmed() {
    let mut blobs = padded_tables(4096);
    // The FACP's DSDT now points into the padding.
    blobs[1].data[140..148].copy_from_slice(&(TABLES_AT + 2048).to_le_bytes());
    checksum_at(&mut blobs[1].data, 0, 276);
    assert!(used_lengths(&blobs, RSDP_AT).is_err());
}
